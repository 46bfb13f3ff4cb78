#!/usr/bin/env bash
# The hub commands end to end against tests/hub/fake_hub.py on 127.0.0.1: `mxlm pull` into the
# cache and into a folder, `mxlm run -m ORG/NAME` (download on first use, then offline), `mxlm
# list`, `mxlm rm`, and the messages and exit codes of 401 / 404 / offline misses.
set -euo pipefail
python=/usr/bin/python3
[ -x "$python" ] || { echo "$python not found: skipped"; exit 77; }
work="$MXLM_WORK"
rm -rf "$work"
mkdir -p "$work/repos/org"
export HF_HOME="$work/hf" HF_TOKEN=secret
unset HF_HUB_CACHE HUGGINGFACE_HUB_CACHE HF_HUB_OFFLINE HF_TOKEN_PATH

"$MXLM" synth --preset tiny --vocab 512 --seed 7 -o "$work/repos/org/tiny" >/dev/null

"$python" "$MXLM_SOURCE_DIR/tests/hub/fake_hub.py" --root "$work/repos" --token secret >"$work/port" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
export HF_ENDPOINT="http://127.0.0.1:$(cat "$work/port")"

fails() {  # fails EXPECTED_TEXT CMD...: the command exits 1 and says EXPECTED_TEXT
  local want="$1"; shift
  if "$@" >"$work/out" 2>"$work/err"; then echo "FAIL: '$*' succeeded"; exit 1; fi
  grep -qF -- "$want" "$work/err" || { echo "FAIL: '$*' did not say '$want':"; cat "$work/err"; exit 1; }
}

# run with a hub id downloads the model and gives what the local folder gives.
want=$("$MXLM" run -m "$work/repos/org/tiny" --tokens 1,2,3 -n 4 2>/dev/null)
got=$("$MXLM" run -m org/tiny --tokens 1,2,3 -n 4 2>"$work/err")
[ "$got" = "$want" ] || { echo "FAIL: run -m org/tiny gave '$got', want '$want'"; cat "$work/err"; exit 1; }
snapshot=$(HF_HUB_OFFLINE=1 "$MXLM" pull org/tiny)
[ -L "$snapshot/model.safetensors" ] || { echo "FAIL: $snapshot/model.safetensors is not a link"; exit 1; }
[ "$(readlink "$snapshot/config.json" | cut -c1-12)" = "../../blobs/" ] || { echo "FAIL: link target"; exit 1; }

# A second pull fetches nothing; --dir writes plain files.
"$MXLM" pull org/tiny 2>"$work/err" >/dev/null
grep -q "0 downloaded" "$work/err" || { echo "FAIL: second pull downloaded:"; cat "$work/err"; exit 1; }
"$MXLM" pull org/tiny --include '*.json' --dir "$work/plain" >/dev/null 2>&1
[ -f "$work/plain/config.json" ] && [ ! -e "$work/plain/model.safetensors" ] || { echo "FAIL: --dir/--include"; exit 1; }

"$MXLM" list >"$work/out"
grep -q "^org/tiny .* bfloat16" "$work/out" || { echo "FAIL: list:"; cat "$work/out"; exit 1; }

fails "set HF_TOKEN" env -u HF_TOKEN "$MXLM" pull org/tiny
fails "rejected the token in HF_TOKEN" env HF_TOKEN=wrong "$MXLM" pull org/tiny
fails "org/absent: repository not found" "$MXLM" pull org/absent
fails "HF_HUB_OFFLINE is set" env HF_HUB_OFFLINE=1 "$MXLM" run -m org/absent --tokens 1
# Offline, the cached model still runs without the server.
kill $server; wait $server 2>/dev/null || true
got=$(HF_HUB_OFFLINE=1 "$MXLM" run -m org/tiny --tokens 1,2,3 -n 4 2>/dev/null)
[ "$got" = "$want" ] || { echo "FAIL: offline run gave '$got'"; exit 1; }

"$MXLM" rm org/tiny 2>/dev/null
[ ! -e "$HF_HOME/hub/models--org--tiny" ] || { echo "FAIL: rm left the folder"; exit 1; }
fails "'org/tiny' is not in the hub cache" "$MXLM" rm org/tiny
echo "hub e2e: ok"
