"""Policy networks (torch; training and export only, never imported by the runtime).

Graph contract (what ``runtime.PolicyRunner`` feeds and reads):

* inputs  ``obs`` float32 [batch, OBS_SIZE] laid out by ``arena.OBS_FIELDS``;
  ``action_mask`` float32 [batch, 9], 1 = allowed; for ``gru`` also ``state_in`` float32 [batch, hidden]
* outputs ``logits`` float32 [batch, 9], masked actions at -1e9; for ``gru`` also ``state_out``
"""

from __future__ import annotations

import torch
from torch import nn

from .arena import N_ACTIONS, OBS_SIZE

MASKED = -1e9


class PolicyMLP(nn.Module):
    def __init__(self, hidden: int = 128, obs_size: int = OBS_SIZE, n_actions: int = N_ACTIONS):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(obs_size, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                                 nn.Linear(hidden, n_actions))

    def forward(self, obs: torch.Tensor, action_mask: torch.Tensor) -> torch.Tensor:
        return torch.where(action_mask > 0.5, self.net(obs), torch.full_like(action_mask, MASKED))


class PolicyGRU(nn.Module):
    """One GRU cell step; the recurrent state is an explicit input/output the server keeps per agent."""

    def __init__(self, hidden: int = 64, obs_size: int = OBS_SIZE, n_actions: int = N_ACTIONS):
        super().__init__()
        self.hidden = hidden
        self.inp = nn.Linear(obs_size, hidden)
        self.cell = nn.GRUCell(hidden, hidden)
        self.head = nn.Linear(hidden, n_actions)

    def forward(self, obs, action_mask, state_in):
        h = self.cell(torch.tanh(self.inp(obs)), state_in)
        logits = torch.where(action_mask > 0.5, self.head(h), torch.full_like(action_mask, MASKED))
        return logits, h


def build(config: dict) -> nn.Module:
    family = config.get("family", "mlp")
    if family == "mlp":
        return PolicyMLP(config.get("hidden", 128))
    if family == "gru":
        return PolicyGRU(config.get("hidden", 64))
    raise ValueError(f"npc policy family {family!r} is not one of mlp, gru")
