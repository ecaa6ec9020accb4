"""Policy networks (torch; training and export only, never imported by the runtime).

Graph contract (what ``runtime.PolicyRunner`` feeds and reads):

* inputs  ``obs`` float32 [batch, OBS_SIZE] laid out by ``arena.OBS_FIELDS``;
  ``action_mask`` float32 [batch, 9], 1 = allowed
* outputs ``logits`` float32 [batch, 9], masked actions at -1e9

(The runtime also serves graphs with a recurrent ``state_in``/``state_out`` pair; the shipped
policy needs none: the agent's memory of the player is part of the observation.)
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


def build(config: dict) -> nn.Module:
    family = config.get("family", "mlp")
    if family == "mlp":
        return PolicyMLP(config.get("hidden", 128))
    raise ValueError(f"npc policy family {family!r} is not one of: mlp")
