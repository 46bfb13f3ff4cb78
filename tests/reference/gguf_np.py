"""Minimal GGUF reader with numpy only, written from the format description (llama.cpp's
docs/gguf.md): metadata of every type and F32 tensors. Used to check mxlm's GGUF writer
independently, and to read importance matrices in the AWQ test.

    /usr/bin/python3 gguf_np.py FILE     # prints metadata and tensor shapes
"""
import struct
import sys

import numpy as np

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


class GGUF:
    def __init__(self, path):
        self.data = open(path, "rb").read()
        self.pos = 0
        assert self.data[:4] == b"GGUF", "bad magic"
        self.pos = 4
        self.version = self._u(4)
        n_tensors, n_kv = self._u(8), self._u(8)
        self.metadata = {}
        for _ in range(n_kv):
            key = self._str()
            self.metadata[key] = self._value(self._u(4))
        infos = []
        for _ in range(n_tensors):
            name = self._str()
            ne = [self._u(8) for _ in range(self._u(4))]
            infos.append((name, ne, self._u(4), self._u(8)))
        align = self.metadata.get("general.alignment", 32)
        base = (self.pos + align - 1) // align * align
        self.tensors = {}
        for name, ne, ggml_type, off in infos:
            assert ggml_type == 0, f"{name}: only F32 tensors are read here"
            count = int(np.prod(ne))
            # GGUF lists dimensions fastest first; numpy wants them slowest first.
            arr = np.frombuffer(self.data, dtype="<f4", count=count, offset=base + off)
            self.tensors[name] = arr.reshape(list(reversed(ne)))

    def _u(self, n):
        v = int.from_bytes(self.data[self.pos:self.pos + n], "little")
        self.pos += n
        return v

    def _str(self):
        n = self._u(8)
        s = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def _value(self, t):
        if t == 8:
            return self._str()
        if t == 9:
            et, n = self._u(4), self._u(8)
            return [self._value(et) for _ in range(n)]
        fmt = _SCALARS[t]
        (v,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return v

    def importance(self, weight):
        """E[x²] per input channel of matrix 0, as llama-quantize computes it."""
        return self.tensors[weight + ".in_sum2"][0] / self.tensors[weight + ".counts"][0, 0]


if __name__ == "__main__":
    g = GGUF(sys.argv[1])
    for k, v in g.metadata.items():
        print(k, "=", v)
    for k, v in g.tensors.items():
        print(k, list(v.shape))
