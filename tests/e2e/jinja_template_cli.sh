#!/usr/bin/env bash
# `mxlm template` renders a checkpoint's chat template: the Qwen3.6 fixture as chat_template.jinja
# in a model directory, a conversation with a tool call, --tools and --kw. The output must equal
# Python Jinja2's rendering (tests/jinja/render_jinja2.py) byte for byte, and a conversation the
# template rejects must fail with the template's own message. Skips (77) without ../shared.
set -euo pipefail
fixture="$MXLM_SOURCE_DIR/../shared/fixtures/chat_templates/qwen3.6.jinja"
[ -f "$fixture" ] || { echo "no ../shared fixtures: skipped"; exit 77; }
model="$MXLM_WORK/model"
rm -rf "$MXLM_WORK" && mkdir -p "$model"
cp "$fixture" "$model/chat_template.jinja"
echo '{"eos_token": {"content": "<|im_end|>"}, "pad_token": "<|endoftext|>", "bos_token": null}' > "$model/tokenizer_config.json"
cat > "$MXLM_WORK/messages.json" <<'JSON'
[{"role": "system", "content": "You are terse."},
 {"role": "user", "content": "Weather in Paris?"},
 {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}}]},
 {"role": "tool", "content": "{\"temp\": 21.5}"}]
JSON
cat > "$MXLM_WORK/tools.json" <<'JSON'
[{"type": "function", "function": {"name": "get_weather", "description": "Weather — ünïcode", "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}}}}]
JSON
"$MXLM" template -m "$model" --messages "$MXLM_WORK/messages.json" --tools "$MXLM_WORK/tools.json" \
  --kw enable_thinking=false > "$MXLM_WORK/got.txt"
grep -q '<parameter=city>' "$MXLM_WORK/got.txt"
tail -c 40 "$MXLM_WORK/got.txt" | grep -q '<think>'

if /usr/bin/python3 -c 'import jinja2' 2>/dev/null; then
  /usr/bin/python3 - "$fixture" "$MXLM_WORK" <<'PY'
import json, sys
fixture, work = sys.argv[1], sys.argv[2]
case = {"template": open(fixture).read(), "chat": {
    "messages": json.load(open(work + "/messages.json")), "tools": json.load(open(work + "/tools.json")),
    "add_generation_prompt": True, "kwargs": {"enable_thinking": False},
    "special_tokens": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"}}}
json.dump({"cases": [case]}, open(work + "/in.json", "w"))
PY
  /usr/bin/python3 "$MXLM_SOURCE_DIR/tests/jinja/render_jinja2.py" "$MXLM_WORK/in.json" "$MXLM_WORK/out.json"
  /usr/bin/python3 -c 'import json,sys; sys.stdout.write(json.load(open(sys.argv[1]))[0]["output"])' \
    "$MXLM_WORK/out.json" > "$MXLM_WORK/want.txt"
  cmp "$MXLM_WORK/want.txt" "$MXLM_WORK/got.txt"
fi

echo '[{"role": "user", "content": "Hi"}, {"role": "system", "content": "late"}]' > "$MXLM_WORK/bad.json"
if "$MXLM" template -m "$model" --messages "$MXLM_WORK/bad.json" 2> "$MXLM_WORK/err.txt"; then
  echo "a system message after the first was accepted"; exit 1
fi
grep -q 'System message must be at the beginning' "$MXLM_WORK/err.txt"
echo "ok"
