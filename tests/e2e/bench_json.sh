#!/usr/bin/env bash
# `mxlm bench --json` on a small synthesized model: every field is present and consistent —
# token counts as asked, rates equal to tokens / time, fractions of the rooflines equal to the
# rates over the probes, bytes per token equal to the stored matrices, cache reuse in the chat
# turns — and unknown models or bad flags fail with a clear message.
set -euo pipefail
/usr/bin/python3 -c "import json" 2>/dev/null || { echo "python3 missing: skipped"; exit 77; }
rm -rf "$MXLM_WORK" && mkdir -p "$MXLM_WORK" && cd "$MXLM_WORK"
"$MXLM" synth --preset tiny --layers 4 -o m >/dev/null
"$MXLM" bench -m m -p 16,40 -n 6 --depth 24 --chat-turns 3 --parallel 1,2 -t 2 --json > bench.json
/usr/bin/python3 - m <<'PY'
import json, struct, sys, glob
r = json.load(open("bench.json"))
close = lambda a, b: abs(a - b) <= 1e-6 * max(abs(a), abs(b))
assert r["threads"] == 2 and r["isa"] in ("scalar", "avx2", "avx512"), r
assert r["probe_read_GB_s"] > 0.1 and r["probe_fma_GFLOP_s"] > 0.1 and r["probe_amx_GFLOP_s"] >= 0, r
# Bytes per decoded token: every stored matrix the decode step reads — at least all of the
# safetensors' 2-D weights apart from the embedding (read one row per token), at most the files.
total, embed = 0, 0
for f in glob.glob(sys.argv[1] + "/*.safetensors"):
    with open(f, "rb") as fh:
        (h,) = struct.unpack("<Q", fh.read(8))
        for k, v in json.loads(fh.read(h)).items():
            if k == "__metadata__": continue
            n = v["data_offsets"][1] - v["data_offsets"][0]
            total += n
            if "embed_tokens" in k: embed = n
assert total - embed <= r["weight_bytes_per_token"] * 1.05 and r["weight_bytes_per_token"] <= total, (r["weight_bytes_per_token"], total, embed)
assert [p["tokens"] for p in r["prefill"]] == [16, 40], r["prefill"]
for p in r["prefill"]:
    assert p["ttft_s"] > 0 and close(p["tok_s"], p["tokens"] / p["ttft_s"]), p
    assert close(p["fraction_of_fma_peak"], p["GFLOP_s"] / r["probe_fma_GFLOP_s"]), p
    amx = r["probe_amx_GFLOP_s"]
    assert close(p["fraction_of_amx_peak"], p["GFLOP_s"] / amx) if amx > 0 else p["fraction_of_amx_peak"] == 0, p
assert [(d["depth"], d["tokens"]) for d in r["decode"]] == [(0, 6), (24, 6)], r["decode"]
for d in r["decode"]:
    assert d["tok_s"] > 0 and close(d["GB_s"], r["weight_bytes_per_token"] * d["tok_s"] / 1e9), d
    assert close(d["fraction_of_read_probe"], d["GB_s"] / r["probe_read_GB_s"]), d
assert [p["streams"] for p in r["decode_parallel"]] == [1, 2], r["decode_parallel"]
for p in r["decode_parallel"]:
    assert close(p["per_stream_tok_s"], p["tok_s"] / p["streams"]) and p["tokens_per_stream"] == 6, p
turns = r["chat_turns"]
assert [t["turn"] for t in turns] == [1, 2, 3], turns
assert turns[0]["cached_tokens"] == 0 and turns[0]["prompt_tokens"] == 40, turns[0]
for a, b in zip(turns, turns[1:]):
    # Each turn adds the answer (6 tokens) and a 64-token user message; everything before the
    # new message comes from the cache.
    assert b["prompt_tokens"] == a["prompt_tokens"] + 6 + 64, (a, b)
    assert b["cached_tokens"] >= a["prompt_tokens"], (a, b)
assert close(r["chat_steady_decode_tok_s"], max(t["decode_tok_s"] for t in turns[1:])), r
assert r["peak_rss_MiB"] > 1, r
PY
out=$("$MXLM" bench -m does-not-exist -p 8 -n 2 2>&1) && { echo "FAIL: missing model accepted"; exit 1; }
echo "$out" | grep -q "does-not-exist" || { echo "FAIL: error does not name the model: $out"; exit 1; }
out=$("$MXLM" bench -m m --frobnicate 2>&1) && { echo "FAIL: unknown flag accepted"; exit 1; }
echo "$out" | grep -q "frobnicate" || { echo "FAIL: error does not name the flag: $out"; exit 1; }
echo ok
