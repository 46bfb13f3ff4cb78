#!/usr/bin/python3
"""Independent numpy reference of the Qwen3.5/3.6 text-model forward pass.

Spec: shared/reference/qwen35-architecture.md (sections 1-5, 7, 9). All math
in float64; the DeltaNet uses the plain token-by-token recurrence (the engine
uses the chunked form, so this is an independent check).

  /usr/bin/python3 tests/reference/qwen35_ref.py MODEL_DIR --tokens 1,2,3 --out logits.npy

writes float32 logits of every position, shape [T, vocab].
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_np import SafetensorsFile, to_f64  # noqa: E402


# ----------------------------------------------------------------- config ---
def load_config(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        top = json.load(f)
    tc = top.get("text_config") or top

    def get(key, default=None):
        return tc.get(key, top.get(key, default))

    rp = tc.get("rope_parameters") or top.get("rope_parameters") or \
        tc.get("rope_scaling") or top.get("rope_scaling") or {}
    if rp.get("rope_type", rp.get("type", "default")) not in ("default", None):
        raise NotImplementedError(f"rope_type {rp.get('rope_type')}")
    n_layers = get("num_hidden_layers")
    layer_types = get("layer_types")
    if layer_types is None:
        interval = get("full_attention_interval", 4)
        layer_types = ["full_attention" if (i + 1) % interval == 0 else "linear_attention"
                       for i in range(n_layers)]
    assert len(layer_types) == n_layers
    hidden, heads = get("hidden_size"), get("num_attention_heads")
    return dict(
        hidden=hidden, n_layers=n_layers, layer_types=layer_types,
        vocab=get("vocab_size"), eps=get("rms_norm_eps", 1e-6),
        H=heads, Hkv=get("num_key_value_heads", heads), D=get("head_dim") or hidden // heads,
        theta=rp.get("rope_theta", get("rope_theta", 1e7)),
        partial=rp.get("partial_rotary_factor", get("partial_rotary_factor", 0.25)),
        Hk=get("linear_num_key_heads"), Hv=get("linear_num_value_heads"),
        Dk=get("linear_key_head_dim"), Dv=get("linear_value_head_dim"),
        K=get("linear_conv_kernel_dim", 4),
        tie=tc["tie_word_embeddings"] if "tie_word_embeddings" in tc
        else top.get("tie_word_embeddings", False),
    )


# ------------------------------------------------------------- checkpoint ---
class Checkpoint:
    """Tensor access for the raw HF and the MLX layouts (section 9).
    Returns float64, conv1d as [C, K], zero-centred norms as effective weights."""

    def __init__(self, model_dir):
        index = os.path.join(model_dir, "model.safetensors.index.json")
        if os.path.exists(index):
            with open(index) as f:
                files = sorted(set(json.load(f)["weight_map"].values()))
        else:
            files = ["model.safetensors"]
        self.where = {}
        for fn in files:
            st = SafetensorsFile(os.path.join(model_dir, fn))
            for n in st.names():
                self.where[n] = st
        names = list(self.where)
        self.mlx = any(n.startswith("language_model.model.") for n in names)
        if self.mlx:
            self.prefix, self.head_name = "language_model.model.", "language_model.lm_head.weight"
        elif any(n.startswith("model.language_model.") for n in names):
            self.prefix, self.head_name = "model.language_model.", "lm_head.weight"
        else:  # text-only Qwen3_5ForCausalLM
            self.prefix, self.head_name = "model.", "lm_head.weight"

    def raw(self, name):
        st = self.where[name]
        return st.raw(name), st.dtype(name)

    def get(self, name):
        return to_f64(*self.raw(name))

    def lm(self, name):
        return self.get(self.prefix + name)

    def norm(self, name):
        """Zero-centred RMSNorm weight: HF stores w (apply 1+w), MLX stores 1+w."""
        w = self.lm(name)
        return w if self.mlx else 1.0 + w

    def embed_rows(self, tokens):  # [T, hidden]
        raw, dt = self.raw(self.prefix + "embed_tokens.weight")
        return to_f64(raw[np.asarray(tokens)], dt)

    def logits(self, x, tie, rows=8192):  # x [T, hidden] -> [T, vocab], head read in slices
        raw, dt = self.raw(self.prefix + "embed_tokens.weight" if tie else self.head_name)
        return np.concatenate([x @ to_f64(raw[i:i + rows], dt).T
                               for i in range(0, raw.shape[0], rows)], axis=1)

    def layer(self, i, kind):
        p = f"layers.{i}."
        w = dict(in_norm=self.norm(p + "input_layernorm.weight"),
                 post_norm=self.norm(p + "post_attention_layernorm.weight"),
                 gate=self.lm(p + "mlp.gate_proj.weight"), up=self.lm(p + "mlp.up_proj.weight"),
                 down=self.lm(p + "mlp.down_proj.weight"))
        if kind == "full_attention":
            a = p + "self_attn."
            for k in ("q_proj", "k_proj", "v_proj", "o_proj"):
                w[k] = self.lm(a + k + ".weight")
            w["q_norm"], w["k_norm"] = self.norm(a + "q_norm.weight"), self.norm(a + "k_norm.weight")
        else:
            a = p + "linear_attn."
            for k in ("in_proj_qkv", "in_proj_z", "in_proj_b", "in_proj_a", "out_proj"):
                w[k] = self.lm(a + k + ".weight")
            w["dt_bias"], w["A_log"] = self.lm(a + "dt_bias"), self.lm(a + "A_log")
            w["norm"] = self.lm(a + "norm.weight")  # gated norm: plain weight in both layouts
            conv = self.lm(a + "conv1d.weight")  # HF [C,1,K], MLX [C,K,1]
            w["conv"] = conv[:, :, 0] if self.mlx else conv[:, 0, :]  # [C, K]
        return w


# ------------------------------------------------------------------ blocks ---
def silu(x):
    return x / (1.0 + np.exp(-x))


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def softplus(x):
    return np.logaddexp(0.0, x)


def rms_norm(x, w, eps):
    """x [..., n] * rsqrt(mean(x^2) + eps) * w; w is the EFFECTIVE weight (1+w already applied)."""
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def l2norm(x, eps=1e-6):
    return x / np.sqrt(np.sum(x * x, axis=-1, keepdims=True) + eps)


def rope(x, pos, rotary_dim, theta):
    """Partial NeoX RoPE. x [T, heads, D], pos [T]; dims [0, rotary_dim) rotated,
    dim j pairs with j + rotary_dim/2; inv_freq[i] = theta^(-2i/rotary_dim)."""
    half = rotary_dim // 2
    inv_freq = theta ** (-np.arange(half, dtype=np.float64) * 2.0 / rotary_dim)  # [half]
    ang = np.asarray(pos, dtype=np.float64)[:, None] * inv_freq[None, :]     # [T, half]
    cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]              # [T, 1, half]
    x1, x2 = x[..., :half], x[..., half:rotary_dim]
    return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin, x[..., rotary_dim:]], axis=-1)


def causal_attention(q, k, v, scale):
    """q [T, H, D], k/v [T, Hkv, D] -> [T, H, D]; q head h uses kv head h // (H/Hkv)."""
    T, H, _ = q.shape
    kv_of = np.arange(H) // (H // k.shape[1])
    kh, vh = k[:, kv_of], v[:, kv_of]                             # [T, H, D]
    s = np.einsum("thd,shd->hts", q, kh) * scale                 # [H, T, T]
    s = np.where(np.tril(np.ones((T, T), dtype=bool))[None], s, -np.inf)
    p = np.exp(s - s.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    return np.einsum("hts,shd->thd", p, vh)


def attention_layer(x, w, c):
    """Gated full attention (section 4). x [T, hidden] -> [T, hidden]."""
    T, H, Hkv, D = x.shape[0], c["H"], c["Hkv"], c["D"]
    qg = (x @ w["q_proj"].T).reshape(T, H, 2 * D)       # per head [q_h | gate_h]
    q, gate = qg[..., :D], qg[..., D:].reshape(T, H * D)
    k = (x @ w["k_proj"].T).reshape(T, Hkv, D)
    v = (x @ w["v_proj"].T).reshape(T, Hkv, D)
    q, k = rms_norm(q, w["q_norm"], c["eps"]), rms_norm(k, w["k_norm"], c["eps"])
    pos, rd = np.arange(T), int(D * c["partial"])
    q, k = rope(q, pos, rd, c["theta"]), rope(k, pos, rd, c["theta"])
    o = causal_attention(q, k, v, D ** -0.5).reshape(T, H * D) * sigmoid(gate)
    return o @ w["o_proj"].T


def causal_conv_silu(x, wc):
    """Depthwise causal conv over time + SiLU. x [T, C], wc [C, K]; wc[:, K-1] hits token t."""
    T, K = x.shape[0], wc.shape[1]
    xp = np.concatenate([np.zeros((K - 1, x.shape[1])), x], axis=0)  # [T+K-1, C]
    return silu(sum(wc[:, j] * xp[j:j + T] for j in range(K)))


def delta_rule_recurrent(q, k, v, g, beta):
    """Gated delta rule, token by token. q/k [T, Hv, Dk] (already grouped to value
    heads), v [T, Hv, Dv], g/beta [T, Hv] -> o [T, Hv, Dv]. State S [Hv, Dk, Dv], zero init."""
    T, Hv, Dk = k.shape
    S = np.zeros((Hv, Dk, v.shape[2]))
    o = np.zeros_like(v)
    for t in range(T):
        S = np.exp(g[t])[:, None, None] * S
        kv = np.einsum("hkv,hk->hv", S, k[t])               # S^T k   [Hv, Dv]
        delta = beta[t][:, None] * (v[t] - kv)               # [Hv, Dv]
        S = S + k[t][:, :, None] * delta[:, None, :]         # S += k delta^T
        o[t] = np.einsum("hkv,hk->hv", S, q[t])             # S^T q (updated state)
    return o


def delta_net_layer(x, w, c):
    """Gated DeltaNet (section 5). x [T, hidden] -> [T, hidden]."""
    T, Hk, Hv, Dk, Dv = x.shape[0], c["Hk"], c["Hv"], c["Dk"], c["Dv"]
    qkv = causal_conv_silu(x @ w["in_proj_qkv"].T, w["conv"])  # [T, 2*Hk*Dk + Hv*Dv]
    q = qkv[:, :Hk * Dk].reshape(T, Hk, Dk)
    k = qkv[:, Hk * Dk:2 * Hk * Dk].reshape(T, Hk, Dk)
    v = qkv[:, 2 * Hk * Dk:].reshape(T, Hv, Dv)
    z = (x @ w["in_proj_z"].T).reshape(T, Hv, Dv)
    beta = sigmoid(x @ w["in_proj_b"].T)                                       # [T, Hv]
    g = -np.exp(w["A_log"]) * softplus(x @ w["in_proj_a"].T + w["dt_bias"])    # [T, Hv]
    q, k = l2norm(q) * Dk ** -0.5, l2norm(k)
    key_of = np.arange(Hv) // (Hv // Hk)                     # value head h -> key head h // r
    o = delta_rule_recurrent(q[:, key_of], k[:, key_of], v, g, beta)          # [T, Hv, Dv]
    o = rms_norm(o, w["norm"], c["eps"]) * silu(z)           # gated norm, plain weight
    return o.reshape(T, Hv * Dv) @ w["out_proj"].T


def mlp(x, w):
    """SwiGLU: down(silu(gate x) * up x)."""
    return (silu(x @ w["gate"].T) * (x @ w["up"].T)) @ w["down"].T


def forward(model_dir, tokens):
    """Logits of every position, float64 [T, vocab]."""
    c = load_config(model_dir)
    ck = Checkpoint(model_dir)
    x = ck.embed_rows(tokens)                                # [T, hidden]
    for i, kind in enumerate(c["layer_types"]):
        w = ck.layer(i, kind)
        mixer = attention_layer if kind == "full_attention" else delta_net_layer
        x = x + mixer(rms_norm(x, w["in_norm"], c["eps"]), w, c)
        x = x + mlp(rms_norm(x, w["post_norm"], c["eps"]), w)
    x = rms_norm(x, ck.norm("norm.weight"), c["eps"])
    return ck.logits(x, c["tie"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("--tokens", required=True, help="comma-separated token ids")
    ap.add_argument("--out", required=True, help="output .npy, float32 [T, vocab]")
    a = ap.parse_args(argv)
    tokens = [int(t) for t in a.tokens.split(",") if t.strip()]
    logits = forward(a.model_dir, tokens)
    np.save(a.out, logits.astype(np.float32))
    print(f"wrote {a.out}: {logits.shape}, argmax last = {int(np.argmax(logits[-1]))}")


if __name__ == "__main__":
    main()
