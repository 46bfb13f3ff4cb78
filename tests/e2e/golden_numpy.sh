#!/usr/bin/env bash
# End-to-end golden test: mxlm's logits on a synthesized tiny model (160 tokens) against the
# independent numpy implementation in tests/reference (float64, token-by-token recurrence),
# for the Hugging Face layout and for the MLX layout written by `mxlm convert`.
set -euo pipefail
# Exact prefill (no AMX, kernels/prefill.h): against float64 references on a random model, the
# bf16 rounding of AMX prefill grows through the layers past these tolerances; that path is
# checked per kernel (tests/kernels) and on the trained model (Qwen35TinyGolden).
export MXLM_AMX=0
py=/usr/bin/python3
$py -c "import numpy" 2>/dev/null || { echo "numpy for /usr/bin/python3 not installed: skipped"; exit 77; }
rm -rf "$MXLM_WORK" && mkdir -p "$MXLM_WORK" && cd "$MXLM_WORK"
"$MXLM" synth --preset tiny --vocab 4096 --seed 5 -o hf >/dev/null
"$MXLM" convert -i hf -o mlx >/dev/null
tokens=$($py -c "import random; random.seed(3); print(','.join(str(random.randrange(4096)) for _ in range(160)))")
$py "$MXLM_SOURCE_DIR/tests/reference/test_qwen35_ref.py" >/dev/null
for layout in hf mlx; do
  $py "$MXLM_SOURCE_DIR/tests/reference/qwen35_ref.py" $layout --tokens "$tokens" --out ref-$layout.npy
  "$MXLM" run -m $layout --tokens "$tokens" --dump-logits $layout.npy
done
$py - <<'PY'
import numpy as np
for layout in ("hf", "mlx"):
    ref = np.load(f"ref-{layout}.npy").astype(np.float64)
    got = np.load(f"{layout}.npy").astype(np.float64)
    assert got.shape == ref.shape, (layout, got.shape, ref.shape)
    diff = np.abs(got - ref).max()
    rel = diff / ref.std()
    same_top = (got.argmax(1) == ref.argmax(1)).mean()
    print(f"{layout}: max|diff| {diff:.2e} = {100 * rel:.3f}% of the logits' std {ref.std():.3f}; same argmax {100 * same_top:.1f}%")
    assert rel <= 0.01, f"{layout} logits differ from the reference"
PY
