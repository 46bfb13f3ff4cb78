#!/usr/bin/env bash
# Every quantized format end to end on a synthesized tiny model: `mxlm convert -q` writes it,
# mxlm runs it, and its logits are compared with those of the same checkpoint decoded to
# float32 by an independent numpy decoder (tests/reference/mlx_dequant.py) — which checks
# packing, loading and the quantized kernels together. Prints the KLD of each format against
# the unquantized model (a random model: figures show relative, not absolute, quality).
set -euo pipefail
# Exact prefill (no AMX, kernels/prefill.h): against float64 references on a random model, the
# bf16 rounding of AMX prefill grows through the layers past these tolerances; that path is
# checked per kernel (tests/kernels) and on the trained model (Qwen35TinyGolden).
export MXLM_AMX=0
py=/usr/bin/python3
$py -c "import numpy" 2>/dev/null || { echo "numpy for /usr/bin/python3 not installed: skipped"; exit 77; }
rm -rf "$MXLM_WORK" && mkdir -p "$MXLM_WORK" && cd "$MXLM_WORK"
"$MXLM" synth --preset tiny --vocab 2048 --seed 9 -o base >/dev/null
tokens=$($py -c "import random; random.seed(4); print(','.join(str(random.randrange(2048)) for _ in range(96)))")
"$MXLM" run -m base --tokens "$tokens" --dump-logits base.npy
formats=("affine 8 64" "affine 6 64" "affine 5 32" "affine 4 128" "affine 3 64" "affine 2 32" "mxfp4 4 32" "nvfp4 4 16" "mxfp8 8 32")
for f in "${formats[@]}"; do
  read -r mode bits group <<<"$f"
  name="$mode-$bits-$group"
  "$MXLM" convert -i base -o "$name" -q --q-mode "$mode" --q-bits "$bits" --q-group-size "$group" >/dev/null
  "$MXLM" run -m "$name" --tokens "$tokens" --dump-logits "$name.npy"
  MXLM_ISA=scalar "$MXLM" run -m "$name" --tokens "$tokens" --dump-logits "$name-scalar.npy"
  $py "$MXLM_SOURCE_DIR/tests/reference/mlx_dequant.py" "$name" "$name-decoded"
  "$MXLM" run -m "$name-decoded" --tokens "$tokens" --dump-logits "$name-decoded.npy"
  $py - "$name" <<'PY'
import sys
import numpy as np
name = sys.argv[1]
def logp(x):
    x = x.astype(np.float64) - x.max(1, keepdims=True)
    return x - np.log(np.exp(x).sum(1, keepdims=True))
files = ("base.npy", f"{name}.npy", f"{name}-scalar.npy", f"{name}-decoded.npy")
base, got, scalar, ref = (logp(np.load(f)) for f in files)
kld = lambda p, q: (np.exp(p) * (p - q)).sum(1).mean()
fmt_kld, exact, engine = kld(base, ref), kld(ref, scalar), kld(ref, got)
print(f"{name:14s} KLD vs bf16 {fmt_kld:.4f}  same top {100 * (base.argmax(1) == got.argmax(1)).mean():5.1f}%  "
      f"| vs decoded reference: scalar kernels {exact:.1e}, SIMD kernels {engine:.1e}")
# The scalar kernels decode exactly; the SIMD ones may round activations to int8 for integer
# dot products (docs/quantization.md), which must stay below the format's own error.
assert exact < 1e-6, f"{name}: scalar kernels disagree with the decoded checkpoint (KLD {exact})"
assert engine < fmt_kld, f"{name}: SIMD kernel rounding ({engine}) exceeds the format's error ({fmt_kld})"
PY
done
