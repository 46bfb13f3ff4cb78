#!/usr/bin/env bash
# The hub commands end to end against tests/hub/fake_hub.py on 127.0.0.1: `mxlm pull` into the
# cache and into a folder, `mxlm run -m ORG/NAME` (download on first use, then offline), `mxlm
# list`, `mxlm rm`, and the messages and exit codes of 401 / 404 / offline misses and of servers
# whose answers cannot be trusted (a listed size they do not have, a body that cannot be checked).
set -euo pipefail
python=/usr/bin/python3
[ -x "$python" ] || { echo "$python not found: skipped"; exit 77; }
work="$MXLM_WORK"
rm -rf "$work"
mkdir -p "$work/repos/org"
export HF_HOME="$work/hf" HF_TOKEN=secret
unset HF_HUB_CACHE HUGGINGFACE_HUB_CACHE HF_HUB_OFFLINE HF_TOKEN_PATH

"$MXLM" synth --preset tiny --vocab 512 --seed 7 -o "$work/repos/org/tiny" >/dev/null

server=
trap '[ -z "$server" ] || kill $server 2>/dev/null || true' EXIT
start_hub() {  # start_hub SWITCHES...: a fresh fake hub in place of the last one, as HF_ENDPOINT
  stop_hub
  rm -f "$work/port"
  "$python" "$MXLM_SOURCE_DIR/tests/hub/fake_hub.py" --root "$work/repos" "$@" >"$work/port" &
  server=$!
  for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
  export HF_ENDPOINT="http://127.0.0.1:$(cat "$work/port")"
}
stop_hub() {
  [ -z "$server" ] || { kill $server; wait $server 2>/dev/null || true; }
  server=
}

fails() {  # fails EXPECTED_TEXT CMD...: the command exits 1 and says EXPECTED_TEXT
  local want="$1"; shift
  local rc=0
  "$@" >"$work/out" 2>"$work/err" || rc=$?
  [ $rc -eq 1 ] || { echo "FAIL: '$*' exited $rc, not 1:"; cat "$work/err"; exit 1; }
  grep -qF -- "$want" "$work/err" || { echo "FAIL: '$*' did not say '$want':"; cat "$work/err"; exit 1; }
}

start_hub --token secret

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
stop_hub
got=$(HF_HUB_OFFLINE=1 "$MXLM" run -m org/tiny --tokens 1,2,3 -n 4 2>/dev/null)
[ "$got" = "$want" ] || { echo "FAIL: offline run gave '$got'"; exit 1; }

"$MXLM" rm org/tiny 2>/dev/null
[ ! -e "$HF_HOME/hub/models--org--tiny" ] || { echo "FAIL: rm left the folder"; exit 1; }
fails "'org/tiny' is not in the hub cache" "$MXLM" rm org/tiny

# A listed size the server does not have ends the pull at once, naming the file.
start_hub --claim-size model.safetensors=1152921504606846976 --max-bodies 20
fails "org/tiny: 'model.safetensors'" timeout 60 "$MXLM" pull org/tiny --dir "$work/huge"
grep -qF "the listing gives 1152921504606846976 bytes, but the server sends" "$work/err" ||
  { echo "FAIL: claimed size:"; cat "$work/err"; exit 1; }
[ ! -e "$work/huge/model.safetensors" ] || { echo "FAIL: a file the hub lied about was installed"; exit 1; }

# With no size or hash listed and no Content-Length sent, a body cut short cannot be told from a
# whole one: it is refused, and nothing is left at the file's place.
start_hub --opaque-etags --no-length config.json --truncate config.json
fails "no Content-Length" timeout 60 "$MXLM" pull org/tiny --include config.json
[ ! -e "$HF_HOME/hub/models--org--tiny/refs/main" ] || { echo "FAIL: the revision was recorded"; exit 1; }
[ -z "$(find "$HF_HOME/hub/models--org--tiny" -name config.json)" ] || { echo "FAIL: config.json installed"; exit 1; }
fails "no Content-Length" timeout 60 "$MXLM" pull org/tiny --include config.json --dir "$work/cut"
[ ! -e "$work/cut/config.json" ] || { echo "FAIL: half a config.json installed in --dir"; exit 1; }
stop_hub
echo "hub e2e: ok"
