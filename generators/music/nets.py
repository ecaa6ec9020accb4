"""The melody model (torch; training and export only — the server never imports this).

:class:`MelodyLSTM` is a 2-layer LSTM over the tokens of :mod:`.encoding`, each step's input the
sum of three embeddings: the token, the tick position in the bar after it (``pos``) and the bar's
place in an 8-bar phrase (``phrase``). Two graphs are exported from the same weights:

``step`` (:class:`MelodyStep`, shipped as ``model.onnx``)
    ``(token, pos, phrase, h, c) -> (logits, h_out, c_out)``: the recurrent state *is* the cache,
    so each new token costs one step.
``sequence`` (:class:`MelodySequence`, ``sequence.onnx``)
    ``(tokens, pos, phrase) -> logits`` of the last position, recomputing the whole prefix: the
    uncached decoder the benchmark compares against.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from . import encoding as enc


class MelodyLSTM(nn.Module):
    def __init__(self, embed: int = 128, hidden: int = 256, layers: int = 2, dropout: float = 0.2):
        super().__init__()
        self.hidden, self.layers = hidden, layers
        self.tok = nn.Embedding(enc.VOCAB, embed)
        self.pos = nn.Embedding(enc.MAX_POS + 1, embed)
        self.phrase = nn.Embedding(enc.PHRASE, embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=layers, batch_first=True, dropout=dropout)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, enc.VOCAB)

    def features(self, tokens, pos, phrase):
        return self.tok(tokens) + self.pos(pos) + self.phrase(phrase)

    def forward(self, tokens, pos, phrase):                       # (B, T) each -> (B, T, VOCAB)
        y, _ = self.lstm(self.drop(self.features(tokens, pos, phrase)))
        return self.out(self.drop(y))


def _cell(lstm: nn.LSTM, layer: int, x, h, c):
    w_ih, w_hh = getattr(lstm, f"weight_ih_l{layer}"), getattr(lstm, f"weight_hh_l{layer}")
    b_ih, b_hh = getattr(lstm, f"bias_ih_l{layer}"), getattr(lstm, f"bias_hh_l{layer}")
    i, f, g, o = (F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)).chunk(4, dim=-1)
    c2 = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c2), c2


class MelodyStep(nn.Module):
    """One token: ``h``/``c`` are (layers, batch, hidden); same maths as nn.LSTM (gates i, f, g, o)."""

    def __init__(self, model: MelodyLSTM):
        super().__init__()
        self.m = model

    def forward(self, token, pos, phrase, h, c):
        x = self.m.features(token, pos, phrase)
        hs, cs = [], []
        for layer in range(self.m.layers):
            x, c2 = _cell(self.m.lstm, layer, x, h[layer], c[layer])
            hs.append(x)
            cs.append(c2)
        return self.m.out(x), torch.stack(hs), torch.stack(cs)


class MelodySequence(nn.Module):
    """The uncached decoder: the whole prefix in, the next token's logits out."""

    def __init__(self, model: MelodyLSTM):
        super().__init__()
        self.m = model

    def forward(self, tokens, pos, phrase):
        y, _ = self.m.lstm(self.m.features(tokens, pos, phrase))
        return self.m.out(y[:, -1])


def build(config: dict) -> MelodyLSTM:
    return MelodyLSTM(**config)
