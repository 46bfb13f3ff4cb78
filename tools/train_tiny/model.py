"""Qwen3.5 text architecture in PyTorch, exactly as ../../../shared/reference/qwen35-architecture.md
(sections 3-5) describes it, at a size a 2-core CPU can train.

Parameter names mirror the HF checkpoint (`model.language_model.*` minus the prefix), so export is
a rename plus a dtype cast. Everything computes in fp32 here: training on CPU in fp32 is faster
than bf16, and the exported bf16 weights are re-loaded for the golden logits.
"""
from dataclasses import dataclass, field
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    vocab_size: int = 8192
    hidden_size: int = 256
    num_hidden_layers: int = 8
    intermediate_size: int = 768
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    head_dim: int = 64
    linear_num_key_heads: int = 2
    linear_num_value_heads: int = 4
    linear_key_head_dim: int = 64
    linear_value_head_dim: int = 64
    linear_conv_kernel_dim: int = 4
    full_attention_interval: int = 4
    rms_norm_eps: float = 1e-6
    rope_theta: float = 1e7
    partial_rotary_factor: float = 0.25
    chunk_size: int = 64

    def layer_types(self):
        return ["full_attention" if (i + 1) % self.full_attention_interval == 0 else "linear_attention"
                for i in range(self.num_hidden_layers)]


class RMSNorm(nn.Module):
    """Zero-centred RMSNorm: y = x·rsqrt(mean(x²)+eps)·(1+w), weight initialised to 0 (§3)."""

    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(dim))
        self.eps = eps

    def forward(self, x):
        xf = x.float()
        y = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return (y * (1.0 + self.weight.float())).to(x.dtype)


class RMSNormGated(nn.Module):
    """The DeltaNet output norm: plain weight (initialised to 1) times silu(z) (§3)."""

    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x, z):
        xf = x.float()
        y = (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype)
        return (self.weight * y * F.silu(z.float())).to(x.dtype)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rope_cos_sin(positions, rot_dim, theta):
    """NeoX-style tables for the rotated slice: cos/sin are cat(freqs, freqs), so dim j pairs with
    j + rot_dim/2. Text-only interleaved MRoPE reduces exactly to this (§4)."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, rot_dim, 2, dtype=torch.float32) / rot_dim))
    freqs = positions.float()[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def apply_partial_rope(x, cos, sin):
    """x: [B, H, T, D]; rotates dims [0, rot) and passes the rest through."""
    rot = cos.shape[-1]
    xr, xp = x[..., :rot], x[..., rot:]
    xr = xr * cos + rotate_half(xr) * sin
    return torch.cat((xr, xp), dim=-1)


class GatedAttention(nn.Module):
    """Full attention with a sigmoid output gate; q_proj rows are per-head [query_h | gate_h] (§4)."""

    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        H, Hkv, D, E = c.num_attention_heads, c.num_key_value_heads, c.head_dim, c.hidden_size
        self.q_proj = nn.Linear(E, H * D * 2, bias=False)
        self.k_proj = nn.Linear(E, Hkv * D, bias=False)
        self.v_proj = nn.Linear(E, Hkv * D, bias=False)
        self.o_proj = nn.Linear(H * D, E, bias=False)
        self.q_norm = RMSNorm(D, c.rms_norm_eps)
        self.k_norm = RMSNorm(D, c.rms_norm_eps)

    def forward(self, x, cos, sin):
        c = self.c
        B, T, _ = x.shape
        H, Hkv, D = c.num_attention_heads, c.num_key_value_heads, c.head_dim
        qg = self.q_proj(x).view(B, T, H, 2 * D)
        q, gate = qg[..., :D], qg[..., D:]
        gate = gate.reshape(B, T, H * D)
        q = self.q_norm(q).transpose(1, 2)                                   # [B, H, T, D]
        k = self.k_norm(self.k_proj(x).view(B, T, Hkv, D)).transpose(1, 2)
        v = self.v_proj(x).view(B, T, Hkv, D).transpose(1, 2)
        q, k = apply_partial_rope(q, cos, sin), apply_partial_rope(k, cos, sin)
        # GQA: query head h reads kv head h // (H/Hkv).
        k = k.repeat_interleave(H // Hkv, dim=1)
        v = v.repeat_interleave(H // Hkv, dim=1)
        scores = (q @ k.transpose(-1, -2)) * D ** -0.5
        causal = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
        scores = scores.masked_fill(causal, float("-inf"))
        o = scores.softmax(-1) @ v                                           # [B, H, T, D]
        o = o.transpose(1, 2).reshape(B, T, H * D) * torch.sigmoid(gate)
        return self.o_proj(o)


def l2norm(x, eps=1e-6):
    return x * torch.rsqrt(x.pow(2).sum(-1, keepdim=True) + eps)


def recurrent_gated_delta_rule(q, k, v, g, beta, state=None):
    """Per-token reference (§5 "Recurrence"). q,k: [B,H,T,Dk], v: [B,H,T,Dv], g,beta: [B,H,T].
    Returns outputs [B,H,T,Dv] and the final fp32 state [B,H,Dk,Dv]."""
    B, H, T, Dk = k.shape
    Dv = v.shape[-1]
    S = torch.zeros(B, H, Dk, Dv, dtype=torch.float32) if state is None else state
    outs = []
    for t in range(T):
        S = S * g[:, :, t].exp()[..., None, None]
        kv = (S * k[:, :, t, :, None]).sum(-2)                       # Sᵀ k_t  [B,H,Dv]
        delta = beta[:, :, t, None] * (v[:, :, t] - kv)
        S = S + k[:, :, t, :, None] * delta[:, :, None, :]           # S += k δᵀ
        outs.append((S * q[:, :, t, :, None]).sum(-2))               # Sᵀ q_t, updated state
    return torch.stack(outs, dim=2), S


def chunk_gated_delta_rule(q, k, v, g, beta, chunk=64, state=None):
    """Chunked (WY) form of the same recurrence (§5 "Chunked prefill"): all work inside a chunk is
    dense matmuls, and only the chunk-to-chunk state carry is sequential, so T/64 Python steps
    instead of T. Same shapes and result as recurrent_gated_delta_rule."""
    B, H, T, Dk = k.shape
    Dv = v.shape[-1]
    pad = (-T) % chunk
    if pad:
        # Padding with k = v = 0, beta = 0, g = 0 leaves the state untouched.
        q, k, v = (F.pad(t, (0, 0, 0, pad)) for t in (q, k, v))
        g, beta = (F.pad(t, (0, pad)) for t in (g, beta))
    n = (T + pad) // chunk
    q, k, v = (t.reshape(B, H, n, chunk, t.shape[-1]) for t in (q, k, v))
    g, beta = (t.reshape(B, H, n, chunk) for t in (g, beta))

    gam = g.cumsum(-1)                                               # γ within each chunk
    lower = torch.ones(chunk, chunk, dtype=torch.bool).tril()
    # P_ij = exp(γ_i − γ_j) for i ≥ j; mask BEFORE exp so the upper triangle cannot overflow.
    P = (gam[..., :, None] - gam[..., None, :]).masked_fill(~lower, float("-inf")).exp()
    kb = k * beta[..., None]
    vb = v * beta[..., None]
    A = (kb @ k.transpose(-1, -2)) * P
    eye = torch.eye(chunk, dtype=q.dtype)
    # T = (I + tril(A, −1))⁻¹, a unit lower-triangular solve.
    Tm = torch.linalg.solve_triangular(eye + A.tril(-1), eye.expand_as(A), upper=False, unitriangular=True)
    U = Tm @ vb
    W = Tm @ (kb * gam.exp()[..., None])
    intra = (q @ k.transpose(-1, -2)) * P                            # includes the diagonal
    q_decay = q * gam.exp()[..., None]
    g_last = gam[..., -1]                                            # [B,H,n]
    k_tail = k * (g_last[..., None] - gam).exp()[..., None]          # k_j · e^{γ_C − γ_j}

    S = torch.zeros(B, H, Dk, Dv, dtype=torch.float32) if state is None else state
    outs = []
    for c in range(n):
        Vp = U[:, :, c] - W[:, :, c] @ S
        outs.append(q_decay[:, :, c] @ S + intra[:, :, c] @ Vp)
        S = g_last[:, :, c].exp()[..., None, None] * S + k_tail[:, :, c].transpose(-1, -2) @ Vp
    o = torch.stack(outs, dim=2).reshape(B, H, n * chunk, Dv)[:, :, :T]
    return o, S


class GatedDeltaNet(nn.Module):
    """Linear-attention mixer (§5)."""

    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        E = c.hidden_size
        self.key_dim = c.linear_num_key_heads * c.linear_key_head_dim
        self.value_dim = c.linear_num_value_heads * c.linear_value_head_dim
        conv_dim = 2 * self.key_dim + self.value_dim
        Hv = c.linear_num_value_heads
        self.in_proj_qkv = nn.Linear(E, conv_dim, bias=False)
        self.in_proj_z = nn.Linear(E, self.value_dim, bias=False)
        self.in_proj_b = nn.Linear(E, Hv, bias=False)
        self.in_proj_a = nn.Linear(E, Hv, bias=False)
        # Depthwise causal conv, weight [C, 1, K], no bias.
        self.conv1d = nn.Conv1d(conv_dim, conv_dim, c.linear_conv_kernel_dim, groups=conv_dim, bias=False)
        self.dt_bias = nn.Parameter(torch.ones(Hv))
        # HF initialises A = U(0, 16) and stores its log.
        self.A_log = nn.Parameter(torch.empty(Hv).uniform_(0, 16).clamp_min(1e-3).log())
        self.norm = RMSNormGated(c.linear_value_head_dim, c.rms_norm_eps)
        self.out_proj = nn.Linear(self.value_dim, E, bias=False)

    def forward(self, x, use_chunked=True):
        c = self.c
        B, T, _ = x.shape
        Hk, Hv, Dk, Dv = c.linear_num_key_heads, c.linear_num_value_heads, c.linear_key_head_dim, c.linear_value_head_dim
        K = c.linear_conv_kernel_dim
        qkv = self.in_proj_qkv(x)                                        # [B, T, C], pre-conv
        z = self.in_proj_z(x).view(B, T, Hv, Dv)
        b = self.in_proj_b(x)
        a = self.in_proj_a(x)
        # Causal conv over time on the concatenated channels, then SiLU (v is convolved too).
        qkv = F.silu(F.conv1d(F.pad(qkv.transpose(1, 2), (K - 1, 0)), self.conv1d.weight, groups=qkv.shape[-1]))
        qkv = qkv.transpose(1, 2)
        q, k, v = torch.split(qkv, [self.key_dim, self.key_dim, self.value_dim], dim=-1)
        q = q.reshape(B, T, Hk, Dk).float()
        k = k.reshape(B, T, Hk, Dk).float()
        v = v.reshape(B, T, Hv, Dv).float()
        beta = torch.sigmoid(b.float())
        g = -self.A_log.float().exp() * F.softplus(a.float() + self.dt_bias.float())
        q = l2norm(q) * Dk ** -0.5
        k = l2norm(k)
        # Value head h uses key head h // (Hv/Hk): consecutive grouping.
        q = q.repeat_interleave(Hv // Hk, dim=2)
        k = k.repeat_interleave(Hv // Hk, dim=2)
        args = (q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), g.transpose(1, 2), beta.transpose(1, 2))
        if use_chunked:
            o, _ = chunk_gated_delta_rule(*args, chunk=c.chunk_size)
        else:
            o, _ = recurrent_gated_delta_rule(*args)
        o = o.transpose(1, 2).to(x.dtype)                                # [B, T, Hv, Dv]
        o = self.norm(o, z).reshape(B, T, self.value_dim)
        return self.out_proj(o)


class MLP(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.gate_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.up_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.down_proj = nn.Linear(c.intermediate_size, c.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, c: Config, layer_type: str):
        super().__init__()
        self.layer_type = layer_type
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        if layer_type == "full_attention":
            self.self_attn = GatedAttention(c)
        else:
            self.linear_attn = GatedDeltaNet(c)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.mlp = MLP(c)

    def forward(self, x, cos, sin, use_chunked=True):
        h = self.input_layernorm(x)
        if self.layer_type == "full_attention":
            h = self.self_attn(h, cos, sin)
        else:
            h = self.linear_attn(h, use_chunked)
        x = x + h
        return x + self.mlp(self.post_attention_layernorm(x))


class Qwen35Model(nn.Module):
    """The text model; lm_head is tied to embed_tokens, so logits = norm(h) @ Eᵀ."""

    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(c, t) for t in c.layer_types())
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self._init_weights()

    def _init_weights(self):
        # GPT-2 style: N(0, 0.02) everywhere, residual-branch outputs shrunk by 1/sqrt(2·layers)
        # so the residual stream does not grow with depth. Norm weights, A_log, dt_bias keep
        # their architecture-defined initial values.
        std = 0.02
        for name, p in self.named_parameters():
            if name.endswith("proj.weight") or name.endswith("embed_tokens.weight"):
                nn.init.normal_(p, 0.0, std)
                if name.endswith(("o_proj.weight", "out_proj.weight", "down_proj.weight")):
                    p.data.mul_(1.0 / math.sqrt(2 * self.c.num_hidden_layers))

    def forward(self, ids, use_chunked=True):
        T = ids.shape[1]
        rot = int(self.c.head_dim * self.c.partial_rotary_factor)
        cos, sin = rope_cos_sin(torch.arange(T), rot, self.c.rope_theta)
        x = self.embed_tokens(ids)
        for layer in self.layers:
            x = layer(x, cos, sin, use_chunked)
        return self.norm(x) @ self.embed_tokens.weight.t()


def _bench_delta_rule(batch=8, heads=4, T=256, dim=64, repeats=3):
    """Checks the chunked delta rule against the per-token loop and times both (forward +
    backward, the training cost) at one DeltaNet layer's training shape."""
    import time
    torch.manual_seed(0)
    def inputs():
        q = l2norm(torch.randn(batch, heads, T, dim)) * dim ** -0.5
        k = l2norm(torch.randn(batch, heads, T, dim))
        v = torch.randn(batch, heads, T, dim)
        g = -F.softplus(torch.randn(batch, heads, T))
        beta = torch.rand(batch, heads, T)
        return [t.requires_grad_() for t in (q, k, v, g, beta)]
    xs = inputs()
    o1, s1 = recurrent_gated_delta_rule(*xs)
    o2, s2 = chunk_gated_delta_rule(*xs)
    g1 = torch.autograd.grad(o1.square().sum(), xs)
    g2 = torch.autograd.grad(o2.square().sum(), xs)
    print(f"max |chunked - per-token|: output {(o1 - o2).abs().max():.2e}, state {(s1 - s2).abs().max():.2e}, "
          f"grads {max((a - b).abs().max().item() for a, b in zip(g1, g2)):.2e}")
    for name, fn in (("per-token loop", recurrent_gated_delta_rule), ("chunked (C=64)", chunk_gated_delta_rule)):
        best = float("inf")
        for _ in range(repeats):
            xs = inputs()
            t0 = time.perf_counter()
            o, _ = fn(*xs)
            o.square().sum().backward()
            best = min(best, time.perf_counter() - t0)
        print(f"{name:15s} fwd+bwd B={batch} H={heads} T={T} D={dim}: {best * 1e3:8.1f} ms "
              f"({batch * T / best:,.0f} tokens/s)")


if __name__ == "__main__":
    torch.set_num_threads(1)
    _bench_delta_rule()
