#!/usr/bin/env bash
# Importance matrix and AWQ end to end on a synthesized tiny model whose activations have
# outlier channels (a few norm channels scaled up, as trained models have):
#   1. `mxlm imatrix` writes llama.cpp's GGUF; an independent numpy reader checks names,
#      metadata, counts and Σx² of layer 0 against the model's own embedding and norm.
#   2. AWQ without quantization (-d f32) changes the logits only by fp32 rounding, while the
#      norms did change.
#   3. With quantization (affine 3-bit, nvfp4), AWQ, with and without the MLP group, lowers
#      both the imatrix-weighted weight error (recomputed in numpy from the decoded checkpoints:
#      s = norm without AWQ / norm with AWQ) and the KLD against the unquantized model.
#   4. A mismatched imatrix is a hard error that names the entries, and writes nothing.
set -euo pipefail
py=/usr/bin/python3
$py -c "import numpy" 2>/dev/null || { echo "numpy for /usr/bin/python3 not installed: skipped"; exit 77; }
ref="$MXLM_SOURCE_DIR/tests/reference"
rm -rf "$MXLM_WORK" && mkdir -p "$MXLM_WORK" && cd "$MXLM_WORK"

"$MXLM" synth --preset tiny --vocab 4096 --seed 11 -o synth >/dev/null
$py - <<'PY'
import os, shutil, sys
sys.path.insert(0, os.environ["MXLM_SOURCE_DIR"] + "/tests/reference")
import numpy as np
from safetensors_np import SafetensorsFile, save, to_f64
os.makedirs("base")
for f in os.listdir("synth"):
    if not f.endswith(".safetensors"):
        shutil.copy(f"synth/{f}", f"base/{f}")
src = SafetensorsFile("synth/model.safetensors")
tensors, dtypes = {}, {}
outliers = [5, 47, 90]  # of 128 hidden channels
for name in src.names():
    w = to_f64(src.raw(name), src.dtype(name))
    if name.endswith(("input_layernorm.weight", "post_attention_layernorm.weight")):
        w = w.copy()
        w[outliers] = 8 * (1 + w[outliers]) - 1  # zero-centred: the effective weight 1 + w grows 8×
    tensors[name], dtypes[name] = w, src.dtype(name)
save("base/model.safetensors", tensors, dtypes)
PY
ids() { $py -c "import random; random.seed($1); print(' '.join(str(random.randrange(4096)) for _ in range($2)))"; }
ids 1 2048 > calib.txt
eval_tokens=$(ids 2 192 | tr ' ' ',')

# 1. The imatrix.
"$MXLM" imatrix -m base -f calib.txt --ids --chunk 256 -o imatrix.gguf
$py - <<'PY'
import os, sys
sys.path.insert(0, os.environ["MXLM_SOURCE_DIR"] + "/tests/reference")
import numpy as np
from gguf_np import GGUF
from safetensors_np import SafetensorsFile, to_f64
g = GGUF("imatrix.gguf")
assert g.metadata["general.type"] == "imatrix" and g.metadata["imatrix.chunk_count"] == 8
assert g.metadata["imatrix.chunk_size"] == 256 and g.metadata["imatrix.datasets"] == ["calib.txt"]
want = {f"blk.{i}.{k}.weight" for i in range(8) for k in ("ffn_gate", "ffn_up", "ffn_down")}
want |= {f"blk.{i}.{k}.weight" for i in (3, 7) for k in ("attn_q", "attn_k", "attn_v", "attn_output")}
want |= {f"blk.{i}.{k}.weight" for i in (0, 1, 2, 4, 5, 6) for k in ("attn_qkv", "attn_gate", "ssm_alpha", "ssm_beta", "ssm_out")}
got = {n[: -len(".in_sum2")] for n in g.tensors if n.endswith(".in_sum2")}
assert got == want, sorted(got ^ want)
assert all(g.tensors[w + ".counts"][0, 0] == 2048 for w in want)
# Layer 0's input: rms_norm(embedding rows) · (1 + w), summed over the calibration tokens.
st = SafetensorsFile("base/model.safetensors")
emb = to_f64(st.raw("model.language_model.embed_tokens.weight"), st.dtype("model.language_model.embed_tokens.weight"))
norm = 1 + to_f64(st.raw("model.language_model.layers.0.input_layernorm.weight"), "BF16")
x = emb[np.array(open("calib.txt").read().split(), dtype=np.int64)]
x = x / np.sqrt((x * x).mean(1, keepdims=True) + 1e-6) * norm
want = (x * x).sum(0)
got = g.tensors["blk.0.attn_qkv.weight.in_sum2"][0]
assert np.allclose(got, want, rtol=1e-4), np.abs(got / want - 1).max()
assert np.array_equal(got, g.tensors["blk.0.ssm_beta.weight.in_sum2"][0])
print(f"imatrix: {len(want)} channels of layer 0 match numpy (max rel err {np.abs(got / want - 1).max():.1e})")
PY

# 2. AWQ alone is exact up to fp32 rounding.
"$MXLM" convert -i base -o f32 -d f32 >/dev/null
"$MXLM" convert -i base -o f32-awq -d f32 --imatrix-path imatrix.gguf | tee f32-awq.log
grep -q "AWQ: rescaled 38 tensors" f32-awq.log
"$MXLM" run -m f32 --tokens "$eval_tokens" --dump-logits f32.npy
"$MXLM" run -m f32-awq --tokens "$eval_tokens" --dump-logits f32-awq.npy
# The yardstick of fp32 rounding: the same model through the scalar kernels, which add in
# another order.
MXLM_ISA=scalar "$MXLM" run -m f32 --tokens "$eval_tokens" --dump-logits f32-scalar.npy
$py - <<'PY'
import os, sys
sys.path.insert(0, os.environ["MXLM_SOURCE_DIR"] + "/tests/reference")
import numpy as np
from safetensors_np import SafetensorsFile
a, b, c = np.load("f32.npy"), np.load("f32-awq.npy"), np.load("f32-scalar.npy")
rel = np.abs(a - b).max() / np.abs(a).max()
floor = np.abs(a - c).max() / np.abs(a).max()
n = "language_model.model.layers.0.input_layernorm.weight"
changed = np.abs(SafetensorsFile("f32/model.safetensors").raw(n) / SafetensorsFile("f32-awq/model.safetensors").raw(n) - 1).max()
print(f"AWQ without quantization: max |Δlogit| / max |logit| = {rel:.1e}; fp32 summation order alone: {floor:.1e} "
      f"(norm weights changed by up to {100 * changed:.0f}%)")
assert changed > 0.1, "AWQ did not rescale the norms"
# (Where SIMD and scalar kernels coincide, the floor reads 0; this random model amplifies fp32
# rounding to about 5e-5, hence the lower bound on the yardstick.)
assert rel < 4 * max(floor, 2e-5), f"AWQ changed the float model by more than fp32 rounding ({rel} vs {floor})"
PY

# 3. With quantization AWQ lowers the weighted error and the KLD.
"$MXLM" run -m base --tokens "$eval_tokens" --dump-logits base.npy
for q in "affine 3 64" "nvfp4 4 16"; do
  read -r mode bits group <<<"$q"
  for v in plain awq awq-mlp; do
    extra=(); [ $v = awq ] && extra=(--imatrix-path imatrix.gguf)
    [ $v = awq-mlp ] && extra=(--imatrix-path imatrix.gguf --awq-mlp)
    "$MXLM" convert -i base -o "$mode-$v" -d f32 -q --q-mode "$mode" --q-bits "$bits" --q-group-size "$group" "${extra[@]}" | tee "$mode-$v.log"
    "$MXLM" run -m "$mode-$v" --tokens "$eval_tokens" --dump-logits "$mode-$v.npy"
    $py "$ref/mlx_dequant.py" "$mode-$v" "$mode-$v-decoded"
  done
  $py - "$mode" <<'PY'
import os, sys
sys.path.insert(0, os.environ["MXLM_SOURCE_DIR"] + "/tests/reference")
import numpy as np
from gguf_np import GGUF
from safetensors_np import SafetensorsFile, to_f64
mode = sys.argv[1]
g = GGUF("imatrix.gguf")
ref, plain = SafetensorsFile("f32/model.safetensors"), SafetensorsFile(f"{mode}-plain-decoded/model.safetensors")
get = lambda f, n: to_f64(f.raw(n), f.dtype(n))
P = "language_model.model.layers"
groups = {"attn_qkv": ("input_layernorm", "linear_attn.in_proj_qkv"), "attn_gate": ("input_layernorm", "linear_attn.in_proj_z"),
          "attn_q": ("input_layernorm", "self_attn.q_proj"), "attn_k": ("input_layernorm", "self_attn.k_proj"),
          "attn_v": ("input_layernorm", "self_attn.v_proj"), "ffn_gate": ("post_attention_layernorm", "mlp.gate_proj"),
          "ffn_up": ("post_attention_layernorm", "mlp.up_proj")}
def weighted_error(f):
    """Σ imp·(W − Ŵ/s)² over every weight that follows a norm; s = norm without AWQ / norm with."""
    e = 0.0
    for i in range(8):
        for kind, (norm, module) in groups.items():
            entry = f"blk.{i}.{kind}.weight"
            if entry + ".in_sum2" not in g.tensors:
                continue
            s = get(ref, f"{P}.{i}.{norm}.weight") / get(f, f"{P}.{i}.{norm}.weight")
            w = get(ref, f"{P}.{i}.{module}.weight")
            e += (g.importance(entry) * (w - get(f, f"{P}.{i}.{module}.weight") / s) ** 2).sum()
    return e
def logp(x):
    x = x.astype(np.float64) - x.max(1, keepdims=True)
    return x - np.log(np.exp(x).sum(1, keepdims=True))
base = logp(np.load("base.npy"))
kld = lambda v: (np.exp(base) * (base - logp(np.load(f"{mode}-{v}.npy")))).sum(1).mean()
err0, kld0 = weighted_error(plain), kld("plain")
for v in ("awq", "awq-mlp"):
    err, k = weighted_error(SafetensorsFile(f"{mode}-{v}-decoded/model.safetensors")), kld(v)
    print(f"{mode} {v:8s}: imatrix-weighted error {err0:.4g} → {err:.4g} ({100 * (err / err0 - 1):+.1f}%), "
          f"KLD vs unquantized {kld0:.5f} → {k:.5f} ({100 * (k / kld0 - 1):+.1f}%)")
    assert err < err0, f"{v}: AWQ did not lower the imatrix-weighted error"
    assert k < kld0, f"{v}: AWQ did not lower the KLD"
PY
done

# 4. Mismatched imatrices.
"$MXLM" synth --preset tiny --vocab 4096 --layers 4 --seed 3 -o small >/dev/null
if "$MXLM" convert -i small -o bad -q --imatrix-path imatrix.gguf 2>err.txt; then echo "accepted another model's imatrix"; exit 1; fi
grep -q "does not fit this model" err.txt && grep -q "blk.4." err.txt && [ ! -e bad ] && [ ! -e bad.partial ]
cat err.txt
echo "not an imatrix" > junk.dat
if "$MXLM" convert -i base -o bad -q --imatrix-path junk.dat 2>err.txt; then echo "accepted junk"; exit 1; fi
grep -q "junk.dat" err.txt && [ ! -e bad ]
cat err.txt
