#!/usr/bin/env bash
# `mxlm sensitivity` and `mxlm convert -q --q-recipe auto` on the trained tiny model:
#   1. 8-bit affine costs every class less KLD than 3-bit.
#   2. The KLD measured in memory for one class equals `mxlm kld` on a checkpoint with only that
#      class quantized, assembled in numpy from a uniformly converted one (down_proj, and the
#      tied embedding, which is the output head too).
#   3. auto stays within --target-bpw, counted from the files it wrote, and its quantization
#      dict loads, from a table file or measuring one itself (-f); impossible targets, missing
#      inputs and quantized sources are errors that say so.
set -euo pipefail
py=/usr/bin/python3
$py -c "import numpy" 2>/dev/null || { echo "numpy for /usr/bin/python3 not installed: skipped"; exit 77; }
rm -rf "$MXLM_WORK" && mkdir -p "$MXLM_WORK" && cd "$MXLM_WORK"
export PYTHONPATH="$MXLM_SOURCE_DIR/tests/reference"
text=text.txt
cat "$MXLM_SOURCE_DIR/README.md" "$MXLM_SOURCE_DIR"/docs/*.md > $text
"$MXLM" convert -i "$MXLM_SOURCE_DIR/assets/qwen35-tiny" -o bf16 -d bf16 >/dev/null
"$MXLM" sensitivity -m bf16 -f $text --mode affine --bits 3,8 --ctx 128 --chunks 2 -o table.json >/dev/null 2>sensitivity.log
"$MXLM" convert -i bf16 -o q3 -q --q-mode affine --q-bits 3 --q-group-size 64 >/dev/null

$py - <<'PY'
import json
t = json.load(open("table.json"))
by = {(e["class"], e["format"]): e for e in t["entries"]}
classes = sorted({e["class"] for e in t["entries"]})
assert classes == sorted(["gate_up", "down", "qkv", "in_proj", "o_proj", "out_proj", "embed"]), classes
for c in classes:
    k3, k8 = by[(c, "affine3g64")]["kld"], by[(c, "affine8g64")]["kld"]
    assert 0 < k8 < k3, (c, k8, k3)
print("8-bit < 3-bit KLD for", ", ".join(classes))
PY

# Only one class quantized: its packed tensors from q3, everything else from bf16.
for cls in down embed; do
  $py - "$cls" <<'PY'
import json, os, shutil, sys
from safetensors_np import SafetensorsFile, save, bf16_bits_to_f32
cls = sys.argv[1]
suffix = {"down": ".mlp.down_proj", "embed": "embed_tokens"}[cls]
out = f"only-{cls}"
os.makedirs(out, exist_ok=True)
for f in os.listdir("bf16"):
    if not f.endswith(".safetensors"):
        shutil.copy(f"bf16/{f}", f"{out}/{f}")
base, q = SafetensorsFile("bf16/model.safetensors"), SafetensorsFile("q3/model.safetensors")
tensors, dtypes, swapped = {}, {}, 0
for name in base.names():
    module = name[: -len(".weight")] if name.endswith(".weight") else None
    if module and module.endswith(suffix):
        for part in (".weight", ".scales", ".biases"):
            raw = q.raw(module + part)
            tensors[module + part] = bf16_bits_to_f32(raw) if q.dtype(module + part) == "BF16" else raw
            dtypes[module + part] = q.dtype(module + part)
        swapped += 1
        continue
    raw = base.raw(name)
    tensors[name] = bf16_bits_to_f32(raw) if base.dtype(name) == "BF16" else raw
    dtypes[name] = base.dtype(name)
assert swapped > 0, cls
save(f"{out}/model.safetensors", tensors, dtypes)
config = json.load(open("bf16/config.json"))
config["quantization"] = {"group_size": 64, "bits": 3, "mode": "affine"}
json.dump(config, open(f"{out}/config.json", "w"), indent=1)
PY
  "$MXLM" kld -m only-$cls --base bf16 -f $text --ctx 128 --chunks 2 > only-$cls.kld
  $py - "$cls" <<'PY'
import json, re, sys
cls = sys.argv[1]
measured = float(re.search(r"Mean KLD\s+([0-9.]+)", open(f"only-{cls}.kld").read()).group(1))
table = next(e["kld"] for e in json.load(open("table.json"))["entries"] if e["class"] == cls and e["format"] == "affine3g64")
print(f"{cls}: sensitivity {table:.6f}, mxlm kld of the assembled checkpoint {measured:.6f}")
assert measured > 1e-4 and abs(measured - table) <= 1e-6 + 1e-4 * table, (measured, table)
PY
done

# Bits/weight from the files: 8 × bytes of the safetensors files / weights of the source.
bpw() {
  $py - "$1" <<'PY'
import json, os, struct, sys
def params(d):
    n = 0
    for f in os.listdir(d):
        if f.endswith(".safetensors"):
            with open(os.path.join(d, f), "rb") as fh:
                (h,) = struct.unpack("<Q", fh.read(8))
                for k, v in json.loads(fh.read(h)).items():
                    if k != "__metadata__":
                        c = 1
                        for s in v["shape"]:
                            c *= s
                        n += c
    return n
d = sys.argv[1]
size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d) if f.endswith(".safetensors"))
print(f"{8 * size / params('bf16'):.5f}")
PY
}
for target in 5.0 7.5; do
  "$MXLM" convert -i bf16 -o auto-$target -q --q-recipe auto --target-bpw $target --sensitivity table.json > auto-$target.log
  got=$(bpw auto-$target)
  echo "auto at --target-bpw $target: $got bits/weight"
  $py -c "assert $got <= $target and $got > $target - 1.5, ($got, $target)"
  grep -q "auto recipe: predicted KLD" auto-$target.log
  "$MXLM" kld -m auto-$target --base bf16 -f $text --ctx 128 --chunks 2 | grep "Mean KLD"
done

# Measuring the table inside convert (-f): the convert's mode, ctx 512, every window of the text.
head -c 9000 $text > short.txt
"$MXLM" convert -i bf16 -o auto-f -q --q-mode nvfp4 --q-recipe auto --target-bpw 6 -f short.txt > auto-f.log
grep -q "^sensitivity: down .* nvfp4 " auto-f.log
got=$(bpw auto-f)
echo "auto measured in convert at --target-bpw 6: $got bits/weight"
$py -c "assert $got <= 6, $got"
$py -c "
import json
q = json.load(open('auto-f/config.json'))['quantization']
assert q['mode'] == 'nvfp4' and any(isinstance(v, dict) for v in q.values()), q"

expect_error() {  # expect_error MESSAGE-PART COMMAND...
  local want=$1
  shift
  if "$@" > err.out 2>&1; then echo "expected failure: $*"; exit 1; fi
  grep -q -- "$want" err.out || { echo "wrong message for $*:"; cat err.out; exit 1; }
}
expect_error "below the smallest reachable" "$MXLM" convert -i bf16 -o x -q --q-recipe auto --target-bpw 2 --sensitivity table.json
expect_error "needs a sensitivity table" "$MXLM" convert -i bf16 -o x -q --q-recipe auto --target-bpw 5
expect_error "needs --target-bpw" "$MXLM" convert -i bf16 -o x -q --q-recipe auto --sensitivity table.json
$py -c "
import json
t = json.load(open('table.json'))
t['entries'] = [e for e in t['entries'] if e['class'] != 'out_proj']
json.dump(t, open('partial.json', 'w'))"
expect_error "no measurement of out_proj" "$MXLM" convert -i bf16 -o x -q --q-recipe auto --target-bpw 5 --sensitivity partial.json
test ! -e x
expect_error "is already quantized" "$MXLM" sensitivity -m q3 -f $text --ctx 128 --chunks 1
echo "sensitivity and auto recipe: ok"
