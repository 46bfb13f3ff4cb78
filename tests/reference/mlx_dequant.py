"""Independent decoder of MLX quantized checkpoints (affine, mxfp4, nvfp4, mxfp8), written from
the format descriptions: turns a quantized MLX-layout directory into an equivalent float32 one.

    /usr/bin/python3 mlx_dequant.py QUANTIZED_DIR OUT_DIR
"""
import json
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_np import SafetensorsFile, save, to_f64  # noqa: E402

E2M1 = np.array([0, .5, 1, 1.5, 2, 3, 4, 6, -0.0, -.5, -1, -1.5, -2, -3, -4, -6])
DEFAULTS = {"affine": (4, 64), "mxfp4": (4, 32), "nvfp4": (4, 16), "mxfp8": (8, 32)}


def e4m3(code):
    """OCP FP8 E4M3 (fn variant: no infinities, 0x7f/0xff are NaN)."""
    code = code.astype(np.int64)
    sign = np.where(code & 0x80, -1.0, 1.0)
    exp = (code >> 3) & 0xF
    man = code & 0x7
    normal = (1 + man / 8.0) * np.exp2(exp - 7.0)
    sub = man / 8.0 * np.exp2(-6.0)
    v = sign * np.where(exp == 0, sub, normal)
    return np.where((code & 0x7F) == 0x7F, np.nan, v)


def codes(words, bits, cols):
    """Element i of each row is stream bits [i*bits, (i+1)*bits), little-endian from bit 0."""
    rows = words.shape[0]
    bitplane = np.unpackbits(words.view(np.uint8).reshape(rows, -1), axis=1, bitorder="little")
    bitplane = bitplane[:, : cols * bits].reshape(rows, cols, bits).astype(np.int64)
    return (bitplane << np.arange(bits)).sum(axis=2)


def dequantize(words, scales, biases, mode, bits, group, cols, global_scale=None):
    q = codes(words, bits, cols)
    rep = lambda a: np.repeat(a, group, axis=1)  # noqa: E731
    if mode == "affine":
        return q * rep(scales) + rep(biases)
    if mode in ("mxfp4", "nvfp4"):
        values = E2M1[q]
    else:
        values = e4m3(q)
    if mode == "nvfp4":
        out = values * rep(e4m3(scales))
        return out * (global_scale * 6 * 448 if global_scale is not None else 1.0)
    return values * rep(np.exp2(scales.astype(np.float64) - 127))


def main(src, dst):
    config = json.load(open(os.path.join(src, "config.json")))
    quant = config.get("quantization") or {}
    index = os.path.join(src, "model.safetensors.index.json")
    files = sorted(set(json.load(open(index))["weight_map"].values())) if os.path.exists(index) else ["model.safetensors"]
    tensors = {}
    for f in files:
        st = SafetensorsFile(os.path.join(src, f))
        for name in st.names():
            tensors[name] = (st, name)

    def raw(name):
        st, n = tensors[name]
        return to_f64(st.raw(n), st.dtype(n)) if st.dtype(n) in ("BF16", "F16", "F32") else st.raw(n)

    out = {}
    for name in tensors:
        if name.endswith((".scales", ".biases", ".weight_scale_2")):
            continue
        module = name[: -len(".weight")] if name.endswith(".weight") else None
        if module is not None and module + ".scales" in tensors:
            spec = quant.get(module, quant)
            mode = spec.get("mode") or ("affine" if module in quant else quant.get("mode", "affine"))
            bits = spec.get("bits") or DEFAULTS[mode][0]
            group = spec.get("group_size") or DEFAULTS[mode][1]
            words = raw(name)
            cols = words.shape[1] * 32 // bits
            scales = raw(module + ".scales")
            biases = raw(module + ".biases") if mode == "affine" else None
            gs = raw(module + ".weight_scale_2").reshape(-1)[0] if module + ".weight_scale_2" in tensors else None
            out[name] = dequantize(words, scales, biases, mode, bits, group, cols, gs)
        else:
            out[name] = raw(name)
    os.makedirs(dst, exist_ok=True)
    save(os.path.join(dst, "model.safetensors"), {k: v.astype(np.float32) for k, v in out.items()})
    config.pop("quantization", None)
    config.pop("quantization_config", None)
    json.dump(config, open(os.path.join(dst, "config.json"), "w"), indent=2)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
