#!/usr/bin/env bash
# `mxlm serve` against failing loads, signals and hostile clients: a load that fails exits 1 with
# one line naming the culprit; SIGTERM and SIGINT stop the server while the model loads (a hub
# download that never answers), while idle and mid-stream; and tests/server/transport_client.py
# checks API-key schemes, bodies that are not JSON, slow and idle connections, the metrics of
# requests whose clients leave, and that memory levels off over passes of malformed requests.
# Uses the trained model in assets/qwen35-tiny. Skips (77) without python3.
set -euo pipefail
python=/usr/bin/python3
[ -x "$python" ] || { echo "$python not found: skipped"; exit 77; }
command -v curl >/dev/null || { echo "curl not installed: skipped"; exit 77; }
client="$MXLM_SOURCE_DIR/tests/server/transport_client.py"
model="$MXLM_SOURCE_DIR/assets/qwen35-tiny"
work="$MXLM_WORK"
rm -rf "$work" && mkdir -p "$work"
unset MXLM_API_KEY

fail() { echo "FAIL: $*"; [ -f "$work/serve.log" ] && tail -n 20 "$work/serve.log"; exit 1; }

# exits_within SECONDS PID: waits for PID to exit (hang guard) and sets $rc to its status.
exits_within() {
  local limit=$(($1 * 10)) i
  for ((i = 0; i < limit; i++)); do
    kill -0 "$2" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$2" 2>/dev/null && { kill -KILL "$2"; fail "the server did not exit within $1 s"; }
  rc=0
  wait "$2" || rc=$?
}

# start_server ARGS...: starts `mxlm serve` on a free port in the background; sets $server, $url.
start_server() {
  "$MXLM" serve --port 0 --threads 1 "$@" 2>"$work/serve.log" &
  server=$!
  url=""
  for _ in $(seq 200); do
    url=$(grep -o 'GET http://[0-9.:]*' "$work/serve.log" | grep -o 'http://.*' || true)
    [ -n "$url" ] && break
    kill -0 $server 2>/dev/null || break
    sleep 0.05
  done
}

wait_ready() {
  for _ in $(seq 200); do
    grep -q "ready; listening" "$work/serve.log" && return
    kill -0 $server 2>/dev/null || fail "the server exited while loading"
    sleep 0.05
  done
  fail "the server did not become ready"
}

# A load that fails exits 1 at once with the culprit named, also while clients poll /health.
mkdir -p "$work/broken"
cp "$model"/* "$work/broken/"
echo '{"model_type": "qwen3_5", "text_config": ' >"$work/broken/config.json"
for dir in "$work/broken" "$work/absent"; do
  start_server -m "$dir"
  [ -n "$url" ] && curl -s -o /dev/null "$url/health" || true
  exits_within 5 $server
  [ $rc -eq 1 ] || fail "serve -m $dir exited $rc, want 1"
  errors=$(grep -c '^mxlm: error: ' "$work/serve.log" || true)
  [ "$errors" -eq 1 ] || fail "serve -m $dir printed $errors error lines"
  want=$([ "$dir" = "$work/broken" ] && echo "config.json" || echo "$dir")
  grep '^mxlm: error: ' "$work/serve.log" | grep -qF "$want" || fail "the error does not name $want"
done
echo "failed loads: exit 1 naming the culprit"

# A signal while the model loads stops the server: here the load is a download from a hub that
# accepts connections and never answers.
"$python" -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True); time.sleep(120)' >"$work/hub_port" &
hub=$!
trap 'kill $hub 2>/dev/null || true; kill ${server:-} 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$work/hub_port" ] && break; sleep 0.05; done
for signal in TERM INT; do
  HF_HOME="$work/hf" HF_ENDPOINT="http://127.0.0.1:$(cat "$work/hub_port")" start_server -m org/never-answers
  [ -n "$url" ] || fail "the server did not start listening"
  status=$(curl -s -o /dev/null -w '%{http_code}' "$url/health")
  [ "$status" = 503 ] || fail "/health answered $status while loading, want 503"
  kill -$signal $server
  exits_within 5 $server
  [ $rc -eq 0 ] || fail "SIG$signal while loading: exit $rc, want 0"
done
kill $hub
echo "SIGTERM and SIGINT while loading: the server stops"

# The hostile clients, then a stop mid-stream with idle and slow connections open.
start_server -m "$model" --api-key test-key --parallel 1 --ctx 16384
wait_ready
for check in auth bad_json slow_clients cancel_metrics memory; do
  "$python" "$client" $check "$url" test-key $server "$model" || fail "$check"
done
"$python" -c 'import socket, sys, time
idle = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(20)]
slow = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); slow.sendall(b"GET /health HTTP/1.1\r\nX: ")
time.sleep(60)' "${url##*:}" &
holder=$!
curl -sN -H 'Authorization: Bearer test-key' "$url/v1/chat/completions" \
  -d '{"messages": [{"role": "user", "content": "Write a long story."}], "max_tokens": 15000, "seed": 0, "stream": true}' \
  >"$work/stream.out" &
for _ in $(seq 100); do [ -s "$work/stream.out" ] && break; sleep 0.05; done
[ -s "$work/stream.out" ] || fail "the stream did not start"
kill -TERM $server
exits_within 5 $server
kill $holder 2>/dev/null || true
[ $rc -eq 0 ] || fail "SIGTERM mid-stream: exit $rc, want 0"
echo "SIGTERM mid-stream with idle and slow connections open: the server stops"
trap - EXIT
echo "server transport e2e: ok"
