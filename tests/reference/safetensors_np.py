"""Minimal safetensors reader/writer with numpy only (float dtypes).

File format: 8-byte little-endian header length N, N bytes of JSON header
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}},
then the raw little-endian tensor bytes (offsets are relative to 8 + N).
"""
import json
import struct

import numpy as np

# raw storage dtype per safetensors dtype (BF16 is kept as uint16 bits)
_RAW = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "U32": "<u4", "U8": "u1"}


def bf16_bits_to_f32(bits):
    """uint16 BF16 bits -> float32 (shift into the high half of the f32 bits)."""
    return (np.asarray(bits).astype(np.uint32) << 16).view(np.float32)


def f32_to_bf16_bits(x):
    """float32 -> uint16 BF16 bits, round to nearest even (no NaN handling)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


class SafetensorsFile:
    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(n))
        header.pop("__metadata__", None)
        self.header = header
        self.base = 8 + n

    def names(self):
        return list(self.header)

    def dtype(self, name):
        return self.header[name]["dtype"]

    def raw(self, name):
        """Memory-mapped tensor in its storage dtype (BF16 as uint16 bits)."""
        info = self.header[name]
        if info["dtype"] not in _RAW:
            raise ValueError(f"{name}: unsupported dtype {info['dtype']}")
        shape = tuple(info["shape"])
        count = int(np.prod(shape, dtype=np.int64))
        if count == 0:
            return np.zeros(shape, dtype=_RAW[info["dtype"]])
        begin, end = info["data_offsets"]
        dt = np.dtype(_RAW[info["dtype"]])
        assert end - begin == count * dt.itemsize, name
        mm = np.memmap(self.path, dtype=dt, mode="r", offset=self.base + begin, shape=(count,))
        return mm.reshape(shape)


def to_f64(raw, dtype):
    """Convert a raw tensor (or a slice of one) of safetensors `dtype` to float64."""
    if dtype == "BF16":
        return bf16_bits_to_f32(raw).astype(np.float64)
    return np.asarray(raw).astype(np.float64)


def save(path, tensors, dtypes=None):
    """Write {name: ndarray}. dtypes: optional {name: "F32"|"F16"|"BF16"|"F64"}
    (default F32). Values are converted from the given array."""
    dtypes = dtypes or {}
    header, blobs, off = {}, [], 0
    for name, arr in tensors.items():
        dt = dtypes.get(name, "F32")
        a = np.asarray(arr)
        if dt == "BF16":
            data = f32_to_bf16_bits(a.astype(np.float32))
        else:
            data = np.ascontiguousarray(a.astype(_RAW[dt]))
        b = data.tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
