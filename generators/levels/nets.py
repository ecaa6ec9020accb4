"""Level model families (torch; training and export side only — the server never imports this).

Families (``family`` in checkpoints and manifests):

``lstm``
    * ``smb`` — :class:`ColumnLSTM`: autoregressive over *column tokens* (the vocabulary is the
      set of distinct 14-tile columns in the training levels, plus a start token). The exported
      graph is the single step :class:`ColumnLSTMStep` ``(token, h, c) -> (logits, h_out, c_out)``
      so each generated column is one ONNX Runtime call.
    * ``loderunner`` — :class:`TileLSTM`: autoregressive over tiles in row-major order (704
      steps), each step conditioned on the tile to the left, the tile above and the position.
      Exported step: ``(left, above, pos, h, c) -> (logits, h_out, c_out)``.
``masked`` (Lode Runner)
    :class:`MaskedTileCNN`: a masked-token model over the whole grid (as MaskGIT, Chang et al.
    2022, with a small dilated residual CNN instead of a transformer): tiles ``0..tiles-1`` plus
    a mask token ``tiles``; trained to predict masked tiles from every unmasked one (above,
    below, left, right: the 2D structure an LSTM in row-major order only sees one way). Sampled
    by iterative parallel decoding from an all-mask grid (:class:`samplers.MaskedSampler`).
    Exported graph ``tokens (batch, h, w) -> logits (batch, tiles, h, w)``.
``transformer`` (Lode Runner)
    :class:`TileTransformer`: a small causal transformer over the 704 tiles in row-major order
    (the LSTM's order and exact factorisation, but every earlier tile of the screen in view by
    attention instead of through one state vector). Each position's input is its already-drawn
    neighbours (``context`` offsets: left, above, above-left, above-right; start token outside
    the screen) plus learned row and column embeddings.
    Exported graph: one KV-cache step, so a screen is 704 small ONNX Runtime calls (a batch of
    candidate screens per call). Since 1.1.0 :class:`TileTransformerSlotStep` ``(context, pos,
    cache_k0.., cache_v0..) -> (logits, k_new, v_new)`` over fixed-size per-layer caches the
    sampler writes into; 1.0.0 was :class:`TileTransformerStep` ``(context, pos, past_k, past_v)
    -> (logits, k_out, v_out)`` with a dynamic past length (the cache copied out each call).
``dcgan``
    :class:`DCGANGenerator` as in MarioGAN (Volz et al. 2018): latent ``z`` → one-hot tile logits
    on a 32×32 canvas, cropped to the segment (SMB 14×28, stitched side by side; Lode Runner the
    22×32 screen). Exported graph ``z -> logits (batch, tiles, h, w)``.

Every family exposes :func:`build` (module from config); what to export for each family (names,
example inputs, dynamic axes, parity inputs) is in :mod:`.export`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

FAMILIES = ("lstm", "dcgan", "masked", "transformer")


# ---------------------------------------------------------------------------------------------
# LSTM cell maths shared by the step modules (same weights as nn.LSTM, gate order i, f, g, o)


def _lstm_cell(lstm: nn.LSTM, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
    gates = F.linear(x, lstm.weight_ih_l0, lstm.bias_ih_l0) + F.linear(h, lstm.weight_hh_l0, lstm.bias_hh_l0)
    i, f, g, o = gates.chunk(4, dim=-1)
    c2 = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h2 = torch.sigmoid(o) * torch.tanh(c2)
    return h2, c2


# ---------------------------------------------------------------------------------------------
# SMB: column-token LSTM


class ColumnLSTM(nn.Module):
    """Tokens are column ids ``0..vocab-1``; ``vocab`` itself is the start token.

    With ``styles`` > 0 the model is conditioned on a level kind (``style`` index, one per
    sequence): its embedding is concatenated to every step's input, so the kind cannot fade
    over a long level.
    """

    def __init__(self, vocab: int, embed: int = 64, hidden: int = 256, dropout: float = 0.2,
                 styles: int = 0, style_embed: int = 16):
        super().__init__()
        self.vocab, self.hidden, self.styles = vocab, hidden, styles
        self.embed = nn.Embedding(vocab + 1, embed)
        self.style = nn.Embedding(styles, style_embed) if styles else None
        self.lstm = nn.LSTM(embed + (style_embed if styles else 0), hidden, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, vocab)

    def inputs(self, tokens: torch.Tensor, style: torch.Tensor | None) -> torch.Tensor:
        x = self.embed(tokens)
        if self.style is not None:
            s = self.style(style)                                     # (B, E)
            s = s.unsqueeze(-2).expand(*x.shape[:-1], s.shape[-1]) if x.dim() == 3 else s
            x = torch.cat([x, s], dim=-1)
        return x

    def forward(self, tokens: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        y, _ = self.lstm(self.drop(self.inputs(tokens, style)))       # (B, T) -> (B, T, vocab)
        return self.out(self.drop(y))


class ColumnLSTMStep(nn.Module):
    def __init__(self, model: ColumnLSTM):
        super().__init__()
        self.m = model

    def forward(self, token: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
        h2, c2 = _lstm_cell(self.m.lstm, self.m.inputs(token, None), h, c)
        return self.m.out(h2), h2, c2


class StyledColumnLSTMStep(nn.Module):
    def __init__(self, model: ColumnLSTM):
        super().__init__()
        self.m = model

    def forward(self, token: torch.Tensor, style: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
        h2, c2 = _lstm_cell(self.m.lstm, self.m.inputs(token, style), h, c)
        return self.m.out(h2), h2, c2


# ---------------------------------------------------------------------------------------------
# Lode Runner: tile LSTM in row-major order


class TileLSTM(nn.Module):
    """Predicts tile t from (tile left, tile above, position). ``tiles`` = start/border token."""

    def __init__(self, tiles: int, height: int, width: int, embed: int = 16, pos_embed: int = 16,
                 hidden: int = 128, dropout: float = 0.1):
        super().__init__()
        self.tiles, self.height, self.width, self.hidden = tiles, height, width, hidden
        self.left = nn.Embedding(tiles + 1, embed)
        self.above = nn.Embedding(tiles + 1, embed)
        self.row = nn.Embedding(height, pos_embed)
        self.col = nn.Embedding(width, pos_embed)
        self.lstm = nn.LSTM(2 * embed + 2 * pos_embed, hidden, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, tiles)

    def features(self, left, above, pos):
        return torch.cat([self.left(left), self.above(above), self.row(pos // self.width),
                          self.col(pos % self.width)], dim=-1)

    def forward(self, left, above, pos):                            # (B, T) each -> (B, T, tiles)
        y, _ = self.lstm(self.drop(self.features(left, above, pos)))
        return self.out(self.drop(y))


class TileLSTMStep(nn.Module):
    def __init__(self, model: TileLSTM):
        super().__init__()
        self.m = model

    def forward(self, left, above, pos, h, c):
        h2, c2 = _lstm_cell(self.m.lstm, self.m.features(left, above, pos), h, c)
        return self.m.out(h2), h2, c2


def tile_lstm_inputs(grids: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Teacher-forcing inputs for tile indices ``grids`` (N, H, W): left, above, pos (N, H*W)."""
    n, h, w = grids.shape
    left = np.full_like(grids, start)
    left[:, :, 1:] = grids[:, :, :-1]
    above = np.full_like(grids, start)
    above[:, 1:, :] = grids[:, :-1, :]
    pos = np.broadcast_to(np.arange(h * w).reshape(1, h, w), grids.shape)
    return left.reshape(n, -1), above.reshape(n, -1), pos.reshape(n, -1).copy()


# ---------------------------------------------------------------------------------------------
# DCGAN (MarioGAN-style)


class DCGANGenerator(nn.Module):
    def __init__(self, tiles: int, latent: int = 32, ngf: int = 64, out_h: int = 14, out_w: int = 28):
        super().__init__()
        self.tiles, self.latent, self.out_h, self.out_w = tiles, latent, out_h, out_w
        self.net = nn.Sequential(
            nn.ConvTranspose2d(latent, ngf * 4, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),   # 4x4
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),  # 8x8
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),          # 16x16
            nn.ConvTranspose2d(ngf, tiles, 4, 2, 1, bias=True),                                                  # 32x32
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:            # (B, latent) -> (B, tiles, h, w)
        y = self.net(z.reshape(z.shape[0], self.latent, 1, 1))
        return y[:, :, : self.out_h, : self.out_w]


class DCGANDiscriminator(nn.Module):
    def __init__(self, tiles: int, ndf: int = 64, out_h: int = 14, out_w: int = 28):
        super().__init__()
        self.out_h, self.out_w = out_h, out_w
        self.net = nn.Sequential(
            nn.Conv2d(tiles, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True),                                  # 16
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, True),       # 8
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, True),   # 4
            nn.Conv2d(ndf * 4, 1, 4, 1, 0),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:            # (B, tiles, h, w) -> (B,)
        x = F.pad(x, (0, 32 - x.shape[-1], 0, 32 - x.shape[-2]))
        return self.net(x).reshape(-1)


# ---------------------------------------------------------------------------------------------
# Lode Runner: masked-token CNN over the whole grid


class MaskedTileCNN(nn.Module):
    """Residual 3×3 convolutions with growing dilations (receptive field radius = sum of the
    dilations: 23 tiles for the 1.0.0 default, 47 for 2.0.0's — the whole 22×32 screen from any
    cell) plus a learned per-row embedding. ``dropout`` (training only) drops channels of each
    residual branch; it has no weights, so checkpoints without it load unchanged."""

    def __init__(self, tiles: int, height: int, width: int, ch: int = 48, dilations: tuple = (1, 2, 4, 8, 1, 2, 4, 1),
                 dropout: float = 0.0):
        super().__init__()
        self.tiles, self.height, self.width = tiles, height, width
        self.embed = nn.Embedding(tiles + 1, ch)
        self.row = nn.Parameter(torch.zeros(1, ch, height, 1))
        self.convs = nn.ModuleList(nn.Conv2d(ch, ch, 3, padding=d, dilation=d) for d in dilations)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Conv2d(ch, tiles, 1)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:       # (B, h, w) int64 -> (B, tiles, h, w)
        x = self.embed(tokens).permute(0, 3, 1, 2) + self.row
        for conv in self.convs:
            x = x + self.drop(conv(F.relu(x)))
        return self.out(F.relu(x))


# ---------------------------------------------------------------------------------------------
# Lode Runner: causal transformer over the tiles in row-major order


class _Block(nn.Module):
    """Pre-norm transformer block; attention through ``F.scaled_dot_product_attention``."""

    def __init__(self, d: int, heads: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ff = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
        self.drop = nn.Dropout(dropout)

    def _split(self, x):                                          # (B, T, d) -> (B, heads, T, d/heads)
        b, t, d = x.shape
        return x.reshape(b, t, self.heads, d // self.heads).transpose(1, 2)

    def forward(self, x, bias=None):                              # whole sequences, causal
        q, k, v = (self._split(a) for a in self.qkv(self.ln1(x)).chunk(3, dim=-1))
        # no attention-weight dropout: with it torch falls back to the unfused path (10x slower on
        # CPU); ``bias`` (1, heads, T, T) is a fixed additive mask, causal included
        if bias is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        x = x + self.drop(self.proj(y.transpose(1, 2).reshape(x.shape)))
        return x + self.drop(self.ff(self.ln2(x)))

    def step(self, x, past_k, past_v, bias=None):
        """One new position ``x`` (B, 1, d) attending to the cached keys/values (B, heads, P, dh)
        and itself (``bias`` (B, heads, 1, P + 1)); returns the output and the caches with this
        position appended."""
        q, k, v = (self._split(a) for a in self.qkv(self.ln1(x)).chunk(3, dim=-1))
        k = torch.cat([past_k, k], dim=2)
        v = torch.cat([past_v, v], dim=2)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        x = x + self.proj(y.transpose(1, 2).reshape(x.shape))
        return x + self.ff(self.ln2(x)), k, v

    def slot_step(self, x, cache_kt, cache_v, bias):
        """:meth:`step` against a fixed-size cache: keys stored transposed ``cache_kt`` (B, heads,
        dh, N) and values ``cache_v`` (B, heads, N, dh), slots not yet written masked by ``bias``
        (B, heads, 1, N) = -inf. The new position attends to the slots and to itself (score bias 0,
        as ALiBi's distance 0); returns the output and this position's key and value (B, heads, dh)
        for the caller to write into its slot. The same softmax as :meth:`step`, with the scores of
        the slots and of itself kept apart so that no cache is concatenated or copied."""
        q, k, v = (self._split(a) for a in self.qkv(self.ln1(x)).chunk(3, dim=-1))   # (B, heads, 1, dh)
        scale = 1.0 / float(q.shape[-1]) ** 0.5
        s_cache = torch.matmul(q, cache_kt) * scale + bias                         # (B, heads, 1, N)
        s_self = (q * k).sum(-1, keepdim=True) * scale                             # (B, heads, 1, 1)
        top = torch.maximum(s_cache.amax(-1, keepdim=True), s_self)
        e_cache, e_self = torch.exp(s_cache - top), torch.exp(s_self - top)
        y = (torch.matmul(e_cache, cache_v) + e_self * v) / (e_cache.sum(-1, keepdim=True) + e_self)
        x = x + self.proj(y.transpose(1, 2).reshape(x.shape))
        return x + self.ff(self.ln2(x)), k[:, :, 0], v[:, :, 0]


#: (dy, dx) of the already-drawn neighbours each transformer position is given (row-major: every
#: one is earlier than the tile itself): left, above, above-left, above-right.
CONTEXT = ((0, -1), (-1, 0), (-1, -1), (-1, 1))


def context_inputs(grids: np.ndarray, start: int, offsets=CONTEXT) -> tuple[np.ndarray, np.ndarray]:
    """Teacher-forcing inputs of :class:`TileTransformer` for tile indices ``grids`` (N, H, W):
    ``context`` (N, H*W, K) — the tile at each offset, ``start`` outside the screen — and ``pos``
    (N, H*W)."""
    n, h, w = grids.shape
    pad = np.full((n, h + 2, w + 2), start, dtype=np.int64)
    pad[:, 1:-1, 1:-1] = grids
    ctx = np.stack([pad[:, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w] for dy, dx in offsets], axis=-1)
    pos = np.broadcast_to(np.arange(h * w), (n, h * w)).copy()
    return ctx.reshape(n, h * w, len(offsets)), pos


def context_of(grid: np.ndarray, r: int, x: int, start: int, offsets=CONTEXT) -> list[int]:
    """The context of one cell of a partly drawn ``grid`` (the sampler's side of
    :func:`context_inputs`)."""
    h, w = grid.shape
    return [int(grid[r + dy, x + dx]) if 0 <= r + dy < h and 0 <= x + dx < w else start for dy, dx in offsets]


class TileTransformer(nn.Module):
    """Predicts tile ``t`` (row-major) from every earlier tile: causal self-attention over inputs
    (the tiles at the ``context`` offsets, row, column; :func:`context_inputs`). ``tiles`` =
    start/border token. Offsets must point to earlier tiles (dy < 0, or dy = 0 and dx < 0).

    ``slopes`` (one per head, or empty): a fixed 2D ALiBi bias (Press et al. 2022, on the grid):
    head ``h`` adds ``-slopes[h] * (|row_i - row_j| + |col_i - col_j|)`` to the attention score
    of position ``i`` on ``j``, so some heads look near (the tiles around, above) and others far
    by construction. Without it the model has only the absolute row/column embeddings and must
    learn per position where "above" is; on 135 screens it memorised them instead (BENCHMARKS.md).
    The bias has no weights (so it costs no fused-attention speed in training)."""

    def __init__(self, tiles: int, height: int, width: int, d: int = 64, layers: int = 4, heads: int = 4,
                 dropout: float = 0.1, slopes: tuple = (), context: tuple = CONTEXT):
        super().__init__()
        self.tiles, self.height, self.width = tiles, height, width
        self.d, self.layers, self.heads = d, layers, heads
        self.context = tuple((int(dy), int(dx)) for dy, dx in context)
        if any(dy > 0 or (dy == 0 and dx >= 0) for dy, dx in self.context):
            raise ValueError(f"context offsets must be earlier tiles in row-major order, got {self.context}")
        if slopes and len(slopes) != heads:
            raise ValueError(f"slopes must have one value per head ({heads}), got {len(slopes)}")
        self.slopes = tuple(float(s) for s in slopes)
        # one table per offset, stacked: offset k's tile t is row k * (tiles + 1) + t
        self.ctx = nn.Embedding(len(self.context) * (tiles + 1), d)
        self.register_buffer("ctx_base", torch.arange(len(self.context)) * (tiles + 1), persistent=False)
        self.row = nn.Embedding(height, d)
        self.col = nn.Embedding(width, d)
        self.blocks = nn.ModuleList(_Block(d, heads, dropout) for _ in range(layers))
        self.drop = nn.Dropout(dropout)
        self.ln = nn.LayerNorm(d)
        self.out = nn.Linear(d, tiles)

    def features(self, context, pos):                             # (..., K), (...) -> (..., d)
        return self.ctx(context + self.ctx_base).sum(-2) + self.row(pos // self.width) + self.col(pos % self.width)

    def bias(self, qpos: torch.Tensor, kpos: torch.Tensor) -> torch.Tensor:
        """Fixed 2D ALiBi bias for query positions ``qpos`` (..., Tq) against key positions
        ``kpos`` (Tk,): (..., heads, Tq, Tk)."""
        w = self.width
        dist = ((qpos // w).unsqueeze(-1) - kpos // w).abs() + ((qpos % w).unsqueeze(-1) - kpos % w).abs()
        slopes = torch.tensor(self.slopes, dtype=torch.float32).reshape(-1, 1, 1)
        return -slopes * dist.unsqueeze(-3).to(torch.float32)

    def forward(self, context, pos):                              # (B, T, K), (B, T) -> (B, T, tiles)
        x = self.drop(self.features(context, pos))
        bias = None
        if self.slopes:                                           # positions are 0..T-1 (row-major)
            t = torch.arange(x.shape[1])
            causal = torch.ones(x.shape[1], x.shape[1], dtype=torch.bool).tril()
            bias = self.bias(t, t).masked_fill(~causal, float("-inf")).unsqueeze(0)
        for b in self.blocks:
            x = b(x, bias)
        return self.out(self.ln(x))


class TileTransformerStep(nn.Module):
    """KV-cache step: ``context`` (B, K), ``pos`` (B,) and ``past_k, past_v`` (layers, B, heads, P,
    d/heads) -> ``logits`` (B, tiles) and the caches with this position appended (P + 1). P may
    be 0."""

    def __init__(self, model: TileTransformer):
        super().__init__()
        self.m = model

    def forward(self, context, pos, past_k, past_v):
        x = self.m.features(context, pos).unsqueeze(1)
        bias = None
        if self.m.slopes:                                         # the cache holds positions 0..P-1
            kpos = torch.arange(past_k.shape[3] + 1)
            bias = self.m.bias(pos.unsqueeze(-1), kpos)           # (B, heads, 1, P + 1)
        ks, vs = [], []
        for i, b in enumerate(self.m.blocks):
            x, k, v = b.step(x, past_k[i], past_v[i], bias)
            ks.append(k)
            vs.append(v)
        return self.m.out(self.m.ln(x[:, 0])), torch.stack(ks), torch.stack(vs)


class TileTransformerSlotStep(nn.Module):
    """KV-cache step over a fixed-size cache (what the sampler serves since loderunner-transformer
    1.1.0): ``context`` (B, K), ``pos`` (B,), then one key cache per layer (B, heads, dh, N) — stored
    transposed, so the scores are one plain matmul — and one value cache per layer (B, heads, N, dh),
    N = height * width, where slot ``j`` holds position ``j`` once it is drawn (slots ``>= pos`` are
    masked, whatever they hold) -> ``logits`` (B, tiles) and this position's ``k_new``, ``v_new``
    (layers, B, heads, dh), which the caller writes into slot ``pos``. The caches go in and nothing
    of their size comes out (:class:`TileTransformerStep` returns them grown by one, a copy of the
    whole cache per tile), and one input per layer, since slicing a stacked cache copies it in ONNX
    Runtime. The same function as that step up to float rounding (tests)."""

    def __init__(self, model: TileTransformer):
        super().__init__()
        self.m = model

    def forward(self, context, pos, *caches):
        L = len(self.m.blocks)
        x = self.m.features(context, pos).unsqueeze(1)
        kpos = torch.arange(caches[L].shape[2])
        bias = torch.zeros(pos.shape[0], self.m.heads, 1, kpos.shape[0])
        if self.m.slopes:
            bias = self.m.bias(pos.unsqueeze(-1), kpos)                     # (B, heads, 1, N)
        bias = bias.masked_fill((kpos >= pos.unsqueeze(-1)).reshape(pos.shape[0], 1, 1, -1), float("-inf"))
        ks, vs = [], []
        for i, b in enumerate(self.m.blocks):
            x, k, v = b.slot_step(x, caches[i], caches[L + i], bias)
            ks.append(k)
            vs.append(v)
        return self.m.out(self.m.ln(x[:, 0])), torch.stack(ks), torch.stack(vs)


# ---------------------------------------------------------------------------------------------
# build / export


def build(family: str, game: str, config: dict) -> nn.Module:
    """The trained module (what ``state_dict`` in a checkpoint belongs to)."""
    if family == "lstm" and game == "smb":
        return ColumnLSTM(**config["model"])
    if family == "lstm" and game == "loderunner":
        return TileLSTM(**config["model"])
    if family == "transformer" and game == "loderunner":
        return TileTransformer(**config["model"])
    if family == "dcgan":
        return DCGANGenerator(**config["model"])
    if family == "masked" and game == "loderunner":
        return MaskedTileCNN(**config["model"])
    raise ValueError(f"unknown family/game {family!r}/{game!r}; families: {', '.join(FAMILIES)}")
