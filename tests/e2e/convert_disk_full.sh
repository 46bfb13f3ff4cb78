#!/usr/bin/env bash
# `mxlm convert` when writes fail: every write is checked, so a conversion that cannot write a
# file ends with one error line naming it and exit 1, and leaves no output (nor staging
# directory) that could pass for a complete one; an output being replaced with --force stays.
#  1. A file size limit (RLIMIT_FSIZE with SIGXFSZ ignored, so a write past it fails with EFBIG):
#     the weights cannot be written. Works unprivileged.
#  2. A full disk, as a tmpfs just large enough for the weights: config.json, written after them,
#     cannot be. Needs root (mount); skipped otherwise.
set -euo pipefail
py=/usr/bin/python3
[ -x "$py" ] || { echo "$py not found: skipped"; exit 77; }
rm -rf "$MXLM_WORK" && mkdir -p "$MXLM_WORK" && cd "$MXLM_WORK"
"$MXLM" synth --preset tiny --vocab 2048 --seed 6 -o base >/dev/null

expect_entries() {
  local got
  got=$(ls -A "$1" | sort | tr '\n' ' ')
  [ "$got" = "$2" ] || { echo "$1 holds '$got', expected '$2'"; exit 1; }
}

# expect_write_error CULPRIT REASON COMMAND...: exit 1 with one error line naming both.
expect_write_error() {
  local culprit=$1 reason=$2 rc=0
  shift 2
  "$@" >/dev/null 2>err.txt || rc=$?
  [ "$rc" = 1 ] || { echo "$*: exit $rc, expected 1"; cat err.txt; exit 1; }
  [ "$(wc -l <err.txt)" = 1 ] && grep -q '^mxlm: error: writing .*'"$culprit"'.* failed: '"$reason"'$' err.txt ||
    { echo "$*: expected one error about writing $culprit ($reason):"; cat err.txt; exit 1; }
  rm err.txt
}

# with_file_limit BYTES COMMAND...
with_file_limit() {
  $py -c '
import os, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # inherited through exec: writes fail with EFBIG
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
os.execv(sys.argv[2], sys.argv[2:])' "$@"
}

# --- 1. A file size limit below the size of the weights. ---
"$MXLM" convert -i base -o plain >/dev/null
weights=$(stat -c %s plain/model.safetensors)
expect_write_error model.safetensors "File too large" with_file_limit $((weights / 2)) "$MXLM" convert -i base -o limited
expect_entries . "base plain "
# Replacing an output: the old one stays as it was.
sums=$(cd plain && sha256sum * | sha256sum)
expect_write_error model.safetensors "File too large" with_file_limit $((weights / 2)) "$MXLM" convert -i base -o plain --force
[ "$(cd plain && sha256sum * | sha256sum)" = "$sums" ] || { echo "a failed --force run changed plain/"; exit 1; }
expect_entries . "base plain "

# --- 2. A disk that fills after the weights. ---
if [ "$(id -u)" != 0 ]; then echo "not root: the full-disk case (tmpfs) is not run"; echo "convert disk full: ok"; exit 0; fi
mkdir disk
pages=$(( (weights + 4095) / 4096 ))
if ! mount -t tmpfs -o size=$((pages * 4))k tmpfs disk 2>/dev/null; then
  rmdir disk
  echo "no tmpfs mount here: the full-disk case is not run"
  echo "convert disk full: ok"
  exit 0
fi
trap 'umount "$MXLM_WORK/disk" 2>/dev/null || true' EXIT
expect_write_error config.json "No space left on device" "$MXLM" convert -i base -o disk/out
expect_entries disk ""
# Room for one output: the first conversion fits, replacing it does not, and it stays whole.
umount disk
mount -t tmpfs -o size=$(((pages + 64) * 4))k tmpfs disk
"$MXLM" convert -i base -o disk/out >/dev/null
sums=$(cd disk/out && sha256sum * | sha256sum)
expect_write_error model.safetensors "No space left on device" "$MXLM" convert -i base -o disk/out --force
[ "$(cd disk/out && sha256sum * | sha256sum)" = "$sums" ] || { echo "a failed --force run changed disk/out"; exit 1; }
expect_entries disk "out "
"$MXLM" run -m disk/out --tokens 1,2,3 -n 1 >/dev/null
echo "convert disk full: ok"
