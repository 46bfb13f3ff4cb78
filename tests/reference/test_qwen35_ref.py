#!/usr/bin/python3
"""Self test of qwen35_ref.py. Run: /usr/bin/python3 tests/reference/test_qwen35_ref.py

(1) HF and MLX layouts of one tiny random model give the same logits (also covers
    BF16/F16/F32 reading, sharded checkpoints, nested vs flat config, tied head);
(2) causality: logits of a prefix equal the first rows of the full sequence;
(3) hand-worked delta-rule, RoPE and attention cases;
(4) the chunked delta rule (section 5, chunk 64 and 4) equals the recurrence.
"""
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qwen35_ref as R  # noqa: E402
from safetensors_np import save, f32_to_bf16_bits, bf16_bits_to_f32  # noqa: E402

TEXT = dict(hidden_size=64, num_hidden_layers=4, intermediate_size=96, vocab_size=100,
            num_attention_heads=4, num_key_value_heads=2, head_dim=32,
            linear_num_key_heads=2, linear_num_value_heads=4, linear_key_head_dim=16,
            linear_value_head_dim=16, linear_conv_kernel_dim=4, rms_norm_eps=1e-6)
ZERO_CENTRED = ("input_layernorm", "post_attention_layernorm", "q_norm", "k_norm")


def bf16_round(a):
    return bf16_bits_to_f32(f32_to_bf16_bits(a))


def random_hf_weights(rng):
    """HF names/shapes. Values are exact in the dtypes used, so layouts compare exactly."""
    h, v, f = 64, 100, 96
    W = lambda *s: bf16_round((rng.standard_normal(s) * 0.15).astype(np.float32))
    N = lambda n: (np.round(rng.standard_normal(n) * 0.1 * 1024) / 1024).astype(np.float32)
    p = "model.language_model."
    t = {p + "embed_tokens.weight": W(v, h), p + "norm.weight": N(h), "lm_head.weight": W(v, h)}
    for i in range(4):
        L = f"{p}layers.{i}."
        t.update({L + "input_layernorm.weight": N(h), L + "post_attention_layernorm.weight": N(h),
                  L + "mlp.gate_proj.weight": W(f, h), L + "mlp.up_proj.weight": W(f, h),
                  L + "mlp.down_proj.weight": W(h, f)})
        if i == 3:
            a = L + "self_attn."
            t.update({a + "q_proj.weight": W(4 * 64, h), a + "k_proj.weight": W(2 * 32, h),
                      a + "v_proj.weight": W(2 * 32, h), a + "o_proj.weight": W(h, 4 * 32),
                      a + "q_norm.weight": N(32), a + "k_norm.weight": N(32)})
        else:
            a = L + "linear_attn."
            t.update({a + "in_proj_qkv.weight": W(2 * 32 + 64, h), a + "in_proj_z.weight": W(64, h),
                      a + "in_proj_b.weight": W(4, h), a + "in_proj_a.weight": W(4, h),
                      a + "conv1d.weight": bf16_round(W(128, 1, 4) * 3), a + "out_proj.weight": W(h, 64),
                      a + "dt_bias": (rng.standard_normal(4)).astype(np.float16).astype(np.float32),
                      a + "A_log": bf16_round(rng.standard_normal(4).astype(np.float32)),
                      a + "norm.weight": 1 + N(16)})
    return t


def write_hf(d, t, text_cfg):
    os.makedirs(d, exist_ok=True)
    dtypes = {n: ("F16" if n.endswith("dt_bias") else "F32" if "norm" in n else "BF16") for n in t}
    save(os.path.join(d, "model.safetensors"), t, dtypes)
    cfg = {"model_type": "qwen3_5", "text_config": dict(text_cfg, model_type="qwen3_5_text")}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f)


def write_mlx(d, t, text_cfg):
    """MLX layout (section 9): renamed, conv [C,K,1], zero-centred norms stored as 1+w,
    two shards + index, flat config with full_attention_interval."""
    os.makedirs(d, exist_ok=True)
    m = {}
    for n, a in t.items():
        n2 = ("language_model.model." + n[len("model.language_model."):]
              if n.startswith("model.language_model.") else "language_model." + n)
        if n.endswith("conv1d.weight"):
            a = np.moveaxis(a, 2, 1)
        if any(z in n for z in ZERO_CENTRED) or n == "model.language_model.norm.weight":
            a = 1.0 + a
        m[n2] = a
    names = sorted(m)
    wmap = {}
    for s, part in enumerate((names[::2], names[1::2])):
        fn = f"model-0000{s + 1}-of-00002.safetensors"
        save(os.path.join(d, fn), {n: m[n] for n in part})
        wmap.update({n: fn for n in part})
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": wmap}, f)
    cfg = dict(text_cfg, model_type="qwen3_5_text", full_attention_interval=4,
               rope_theta=1e7, partial_rotary_factor=0.25)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f)


def chunked_delta_rule(q, k, v, g, beta, C):
    """Section 5 'Chunked prefill', written independently, per head. Shapes as the recurrence."""
    T, Hv, Dk = k.shape
    Tp = -(-T // C) * C
    pad = lambda a: np.concatenate([a, np.zeros((Tp - T,) + a.shape[1:])], axis=0)
    q, k, v, g, beta = map(pad, (q, k, v, g, beta))      # padding: k=0, beta=0, g=0 -> no-op
    out = np.zeros_like(v)
    tril = np.tril(np.ones((C, C), dtype=bool))
    for h in range(Hv):
        S = np.zeros((Dk, v.shape[2]))
        for c0 in range(0, Tp, C):
            sl = slice(c0, c0 + C)
            Q, K, V, b = q[sl, h], k[sl, h], v[sl, h], beta[sl, h]
            gam = np.cumsum(g[sl, h])                                       # [C]
            P = np.exp(np.where(tril, gam[:, None] - gam[None, :], -np.inf))  # [C, C]
            Kb, Vb = b[:, None] * K, b[:, None] * V
            A = (Kb @ K.T) * P
            Tm = np.linalg.inv(np.eye(C) + np.tril(A, -1))
            U, W = Tm @ Vb, Tm @ (Kb * np.exp(gam)[:, None])
            Vp = U - W @ S
            out[sl, h] = (Q * np.exp(gam)[:, None]) @ S + ((Q @ K.T) * P) @ Vp
            S = np.exp(gam[-1]) * S + (K * np.exp(gam[-1] - gam)[:, None]).T @ Vp
    return out[:T]


def test_layouts_and_causality(tmp):
    rng = np.random.default_rng(0)
    t = random_hf_weights(rng)
    text = dict(TEXT, layer_types=["linear_attention"] * 3 + ["full_attention"],
                rope_parameters={"rope_type": "default", "rope_theta": 1e7,
                                 "partial_rotary_factor": 0.25})
    hf, mlx = os.path.join(tmp, "hf"), os.path.join(tmp, "mlx")
    write_hf(hf, t, text)
    write_mlx(mlx, t, TEXT)
    assert R.Checkpoint(mlx).mlx and not R.Checkpoint(hf).mlx
    tokens = list(rng.integers(0, 100, size=23))
    a, b = R.forward(hf, tokens), R.forward(mlx, tokens)
    assert a.shape == (23, 100) and np.isfinite(a).all() and a.std() > 0.1
    assert np.allclose(a, b, rtol=0, atol=1e-12), np.abs(a - b).max()          # (1)
    pre = R.forward(hf, tokens[:9])
    assert np.allclose(pre, a[:9], rtol=0, atol=1e-11), np.abs(pre - a[:9]).max()  # (2)
    # tied head: no lm_head, text_config.tie_word_embeddings wins over top level
    tied = os.path.join(tmp, "tied")
    t2 = {n: x for n, x in t.items() if n != "lm_head.weight"}
    write_hf(tied, t2, dict(text, tie_word_embeddings=True))
    with open(os.path.join(tied, "config.json")) as f:
        cfg = json.load(f)
    cfg["tie_word_embeddings"] = False
    with open(os.path.join(tied, "config.json"), "w") as f:
        json.dump(cfg, f)
    t["lm_head.weight"] = t["model.language_model.embed_tokens.weight"]
    untied = os.path.join(tmp, "untied")
    write_hf(untied, t, text)
    assert np.allclose(R.forward(tied, tokens[:5]), R.forward(untied, tokens[:5]), rtol=0, atol=1e-12)
    # CLI writes float32 [T, vocab]
    out = os.path.join(tmp, "l.npy")
    R.main([hf, "--tokens", ",".join(map(str, tokens)), "--out", out])
    l32 = np.load(out)
    assert l32.dtype == np.float32 and l32.shape == (23, 100) and np.allclose(l32, a, atol=1e-5)
    print("ok: HF == MLX layout, causality, tied head, CLI")


def test_hand_worked():
    # delta rule, one head, Dk = Dv = 2.  t0: S = 0 -> S = k0 (b0 v0)^T, o0 = b0 v0 (k0.q0)
    q = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    k = np.array([[[0.6, 0.8]], [[1.0, 0.0]]])
    v = np.array([[[1.0, 2.0]], [[0.0, 1.0]]])
    g = np.array([[0.3], [np.log(0.5)]])
    beta = np.array([[0.5], [1.0]])
    o = R.delta_rule_recurrent(q, k, v, g, beta)
    # o0 = 0.5*0.6*[1,2] = [0.3,0.6].  t1: S = 0.5*[[.3,.6],[.4,.8]] = [[.15,.3],[.2,.4]];
    # S^T k1 = [.15,.3]; delta = [0,1]-[.15,.3] = [-.15,.7]; S row0 += delta -> [[0,1],[.2,.4]];
    # o1 = S^T q1 = row1 = [.2,.4]
    assert np.allclose(o[:, 0], [[0.3, 0.6], [0.2, 0.4]], atol=1e-15), o
    # RoPE, D = rotary_dim = 4, theta 100 -> inv_freq [1, 0.1]; pairs (0,2), (1,3); position 1
    r = R.rope(np.array([[[1.0, 0.0, 0.0, 1.0]]]), [1], 4, 100.0)[0, 0]
    assert np.allclose(r, [np.cos(1), -np.sin(0.1), np.sin(1), np.cos(0.1)], atol=1e-15), r
    # partial: dims past rotary_dim pass through; position 0 is identity
    x = np.arange(8.0).reshape(1, 1, 8)
    assert np.allclose(R.rope(x, [3], 4, 1e4)[..., 4:], x[..., 4:])
    assert np.allclose(R.rope(x, [0], 4, 1e4), x)
    # causal attention, 2 tokens, 1 head, D = 2, scale 1: row 0 = v0; row 1 = softmax([1, 2]) v
    qa = np.array([[[5.0, 5.0]], [[1.0, 2.0]]])
    ka = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    va = np.array([[[1.0, 0.0]], [[0.0, 3.0]]])
    oa = R.causal_attention(qa, ka, va, 1.0)
    e1, e2 = np.exp(1.0), np.exp(2.0)
    assert np.allclose(oa[:, 0], [[1.0, 0.0], [e1 / (e1 + e2), 3 * e2 / (e1 + e2)]], atol=1e-15)
    # GQA: 4 q heads, 2 kv heads -> q heads 0,1 use kv 0 and 2,3 use kv 1 (single token: o = v)
    vg = np.array([[[1.0, 1.0], [2.0, 2.0]]])
    og = R.causal_attention(np.ones((1, 4, 2)), np.ones((1, 2, 2)), vg, 1.0)
    assert np.allclose(og[0], [[1, 1], [1, 1], [2, 2], [2, 2]])

    # single-token layers, from the formulas: attention over one key is v * sigmoid(gate)
    rng = np.random.default_rng(1)
    c = dict(H=2, Hkv=1, D=4, eps=1e-6, theta=1e7, partial=0.5)
    w = dict(q_proj=rng.standard_normal((16, 6)), k_proj=rng.standard_normal((4, 6)),
             v_proj=rng.standard_normal((4, 6)), o_proj=rng.standard_normal((6, 8)),
             q_norm=rng.standard_normal(4), k_norm=rng.standard_normal(4))
    x = rng.standard_normal((1, 6))
    qg = w["q_proj"] @ x[0]
    gate = np.concatenate([qg[4:8], qg[12:16]])           # per-head [q_h | gate_h]
    vv = w["v_proj"] @ x[0]
    want = w["o_proj"] @ (np.concatenate([vv, vv]) / (1 + np.exp(-gate)))
    assert np.allclose(R.attention_layer(x, w, c)[0], want, atol=1e-12)
    # single-token DeltaNet: S = k (beta v)^T, o = beta (k.q) v; conv uses only tap K-1;
    # Hk = 2, Hv = 4: value heads 0,1 use key head 0 and 2,3 use key head 1
    c = dict(Hk=2, Hv=4, Dk=3, Dv=2, eps=1e-6)
    w = dict(in_proj_qkv=rng.standard_normal((20, 6)), in_proj_z=rng.standard_normal((8, 6)),
             in_proj_b=rng.standard_normal((4, 6)), in_proj_a=rng.standard_normal((4, 6)),
             out_proj=rng.standard_normal((6, 8)), conv=rng.standard_normal((20, 4)),
             dt_bias=rng.standard_normal(4), A_log=rng.standard_normal(4), norm=rng.standard_normal(2))
    s = w["conv"][:, 3] * (w["in_proj_qkv"] @ x[0])
    s = s / (1 + np.exp(-s))
    qv, kv_, vv = s[:6].reshape(2, 3), s[6:12].reshape(2, 3), s[12:].reshape(4, 2)
    qv = qv / np.sqrt((qv * qv).sum(-1, keepdims=True) + 1e-6) / np.sqrt(3)
    kv_ = kv_ / np.sqrt((kv_ * kv_).sum(-1, keepdims=True) + 1e-6)
    b = 1 / (1 + np.exp(-(w["in_proj_b"] @ x[0])))
    kq = (kv_ * qv).sum(-1)[[0, 0, 1, 1]]                   # key head of value head h = h // 2
    o = (b * kq)[:, None] * vv
    z = (w["in_proj_z"] @ x[0]).reshape(4, 2)
    o = w["norm"] * o / np.sqrt((o * o).mean(-1, keepdims=True) + 1e-6) * z / (1 + np.exp(-z))
    assert np.allclose(R.delta_net_layer(x, w, c)[0], w["out_proj"] @ o.reshape(8), atol=1e-12)
    print("ok: hand-worked delta rule, RoPE, attention, single-token layers")


def test_chunked_equals_recurrent():
    rng = np.random.default_rng(2)
    T, Hv, Dk, Dv = 70, 3, 16, 8
    q = R.l2norm(rng.standard_normal((T, Hv, Dk))) * Dk ** -0.5
    k = R.l2norm(rng.standard_normal((T, Hv, Dk)))
    v = rng.standard_normal((T, Hv, Dv))
    beta = R.sigmoid(rng.standard_normal((T, Hv)))
    g = -np.exp(rng.standard_normal(Hv)) * R.softplus(rng.standard_normal((T, Hv)) - 1)
    ref = R.delta_rule_recurrent(q, k, v, g, beta)
    for C in (64, 4):
        err = np.abs(chunked_delta_rule(q, k, v, g, beta, C) - ref).max()
        assert err < 1e-10, (C, err)
        print(f"ok: chunked (C={C}) == recurrent, max err {err:.1e}")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        test_layouts_and_causality(tmp)
    test_hand_worked()
    test_chunked_equals_recurrent()
    print("ALL OK")
