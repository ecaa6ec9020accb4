"""The learned erosion network (torch; training and export only, never imported when serving).

A small U-Net over one height tile: ``eroded = h + net((h - mean(h)) * gain) / gain``. It is fully
convolutional (any tile size; the generator uses 192 x 192), downsamples three times (receptive
field about 100 samples, enough for the valleys the simulator carves) and predicts the change
the simulators make, so an untrained net starts as "no erosion".
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, padding_mode="replicate"), nn.ReLU(),
                         nn.Conv2d(cout, cout, 3, padding=1, padding_mode="replicate"), nn.ReLU())


class ErosionNet(nn.Module):
    def __init__(self, channels: int = 16, gain: float = 20.0):
        super().__init__()
        c = channels
        self.gain = gain
        self.enc1, self.enc2, self.enc3, self.enc4 = _block(1, c), _block(c, 2 * c), _block(2 * c, 2 * c), _block(2 * c, 2 * c)
        self.dec3, self.dec2, self.dec1 = _block(4 * c, 2 * c), _block(4 * c, c), _block(2 * c, c)
        self.out = nn.Conv2d(c, 1, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    @staticmethod
    def _up(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, size=like.shape[-2:], mode="nearest")

    def forward(self, heights: torch.Tensor) -> torch.Tensor:
        mean = heights.mean(dim=(2, 3), keepdim=True)
        x = (heights - mean) * self.gain
        e1 = self.enc1(x)
        e2 = self.enc2(F.avg_pool2d(e1, 2))
        e3 = self.enc3(F.avg_pool2d(e2, 2))
        e4 = self.enc4(F.avg_pool2d(e3, 2))
        d3 = self.dec3(torch.cat([self._up(e4, e3), e3], 1))
        d2 = self.dec2(torch.cat([self._up(d3, e2), e2], 1))
        d1 = self.dec1(torch.cat([self._up(d2, e1), e1], 1))
        return heights + self.out(d1) / self.gain


def build(config: dict) -> ErosionNet:
    return ErosionNet(channels=int(config["channels"]), gain=float(config["gain"]))
