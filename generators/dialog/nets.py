"""The Llama decoder in PyTorch, built from GGUF weights, with the KV cache as explicit tensors.

One forward serves prefill and decode: ``input_ids`` [batch, seq] are new tokens, ``past`` holds
per layer ``(key, value)`` of shape [batch, kv_heads, past, head_dim], ``attention_mask`` [batch,
past + seq] marks real (1) and padding (0) positions, ``position_ids`` [batch, seq] their RoPE
positions. It returns the logits of the **last** position only (what decoding needs; prefill
skips a [seq, vocab] projection) and the presents (past + new).

Attention is ``scaled_dot_product_attention`` with an explicit additive mask rather than
``is_causal``: PyTorch's ``is_causal`` aligns the triangle top-left, which is wrong as soon as
there is a past (a 1-token query would see only key 0). The mask is built from ``arange`` on the
dynamic lengths, so the ONNX graph keeps batch, sequence and past dynamic. GQA repeats the KV
heads. RoPE is the rotate-half form (Q/K rows are un-permuted from llama.cpp's order on load).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .config import LlamaConfig


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


class Block(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        d, hd = cfg.dim, cfg.head_dim
        self.n_heads, self.n_kv, self.hd = cfg.n_heads, cfg.n_kv_heads, hd
        self.attn_norm = RMSNorm(d, cfg.rms_eps)
        self.wq = nn.Linear(d, cfg.n_heads * hd, bias=False)
        self.wk = nn.Linear(d, cfg.n_kv_heads * hd, bias=False)
        self.wv = nn.Linear(d, cfg.n_kv_heads * hd, bias=False)
        self.wo = nn.Linear(cfg.n_heads * hd, d, bias=False)
        self.ffn_norm = RMSNorm(d, cfg.rms_eps)
        self.w_gate = nn.Linear(d, cfg.ffn_dim, bias=False)
        self.w_up = nn.Linear(d, cfg.ffn_dim, bias=False)
        self.w_down = nn.Linear(cfg.ffn_dim, d, bias=False)

    def forward(self, x, cos, sin, mask, past_k, past_v):
        b, s, _ = x.shape
        h = self.attn_norm(x)
        q = self.wq(h).view(b, s, self.n_heads, self.hd).transpose(1, 2)
        k = self.wk(h).view(b, s, self.n_kv, self.hd).transpose(1, 2)
        v = self.wv(h).view(b, s, self.n_kv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = torch.cat([past_k, k], dim=2)
        v = torch.cat([past_v, v], dim=2)
        g = self.n_heads // self.n_kv
        t = k.shape[2]
        kr = k[:, :, None].expand(b, self.n_kv, g, t, self.hd).reshape(b, self.n_heads, t, self.hd)
        vr = v[:, :, None].expand(b, self.n_kv, g, t, self.hd).reshape(b, self.n_heads, t, self.hd)
        a = F.scaled_dot_product_attention(q, kr, vr, attn_mask=mask)
        x = x + self.wo(a.transpose(1, 2).reshape(b, s, self.n_heads * self.hd))
        h = self.ffn_norm(x)
        x = x + self.w_down(F.silu(self.w_gate(h)) * self.w_up(h))
        return x, k, v


class Llama(nn.Module):
    """``forward(input_ids, attention_mask, position_ids, past)`` -> ``(logits_last, *presents)``.

    ``past`` is a flat tuple ``(k0, v0, k1, v1, ...)``. With ``untie=True`` the output layer gets
    its own copy of the embedding so that weight-only quantisation can reach it (a tied output
    layer would stay fp32 and cost a fifth of each decode step).
    """

    def __init__(self, cfg: LlamaConfig, untie: bool = True):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm = RMSNorm(cfg.dim, cfg.rms_eps)
        self.lm_head = nn.Linear(cfg.dim, cfg.vocab_size, bias=False) if (untie or not cfg.tied_embeddings) else None
        hd = cfg.head_dim
        inv = 1.0 / (cfg.rope_base ** (np.arange(0, hd, 2, dtype=np.float64) / hd))
        self.register_buffer("inv_freq", torch.tensor(inv, dtype=torch.float32), persistent=False)

    def forward(self, input_ids, attention_mask, position_ids, past):
        b, s = input_ids.shape
        x = self.embed(input_ids)
        freqs = position_ids.to(torch.float32)[..., None] * self.inv_freq  # [b, s, hd/2]
        emb = torch.cat([freqs, freqs], dim=-1)[:, None]                      # [b, 1, s, hd]
        cos, sin = emb.cos(), emb.sin()
        p = past[0].shape[2]
        t = p + s
        q_idx = torch.arange(s, device=input_ids.device)[:, None] + p
        k_idx = torch.arange(t, device=input_ids.device)[None, :]
        allowed = (k_idx <= q_idx)[None, None] & (attention_mask[:, None, None, :] > 0)  # [b, 1, s, t]
        mask = torch.zeros(allowed.shape, dtype=x.dtype).masked_fill(~allowed, torch.finfo(x.dtype).min)
        presents = []
        for i, layer in enumerate(self.layers):
            x, k, v = layer(x, cos, sin, mask, past[2 * i], past[2 * i + 1])
            presents += [k, v]
        h = self.norm(x[:, -1:, :])
        logits = self.lm_head(h) if self.lm_head is not None else h @ self.embed.weight.T
        return (logits, *presents)

    def empty_past(self, batch: int = 1) -> tuple:
        c = self.cfg
        z = torch.zeros(batch, c.n_kv_heads, 0, c.head_dim)
        return tuple(z for _ in range(2 * c.n_layers))


def from_weights(cfg: LlamaConfig, weights: dict[str, np.ndarray], untie: bool = True) -> Llama:
    """A :class:`Llama` holding ``weights`` (names from :func:`.gguf_io.read_gguf`), in eval mode."""
    model = Llama(cfg, untie=untie)
    sd = {"embed.weight": weights["embed"], "norm.weight": weights["norm"]}
    if model.lm_head is not None:
        sd["lm_head.weight"] = weights.get("lm_head", weights["embed"])
    for i in range(cfg.n_layers):
        for n in ("attn_norm", "ffn_norm"):
            sd[f"layers.{i}.{n}.weight"] = weights[f"layers.{i}.{n}"]
        for n in ("wq", "wk", "wv", "wo", "w_gate", "w_up", "w_down"):
            sd[f"layers.{i}.{n}.weight"] = weights[f"layers.{i}.{n}"]
    model.load_state_dict({k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in sd.items()}, strict=True)
    return model.eval()


def io_names(cfg: LlamaConfig) -> tuple[list[str], list[str]]:
    """ONNX input and output names, in the order of :meth:`Llama.forward`."""
    past = [f"past_key_values.{i}.{kv}" for i in range(cfg.n_layers) for kv in ("key", "value")]
    present = [f"present.{i}.{kv}" for i in range(cfg.n_layers) for kv in ("key", "value")]
    return ["input_ids", "attention_mask", "position_ids", *past], ["logits", *present]
