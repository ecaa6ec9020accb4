"""Torch networks of the textures kind (training and export only; never imported when serving).

Every convolution pads circularly and every upsampling is nearest-neighbour, so each network maps
a periodic input to a periodic output: the generated tiles wrap *by construction*.

- :class:`TileGenerator` — a spatial GAN generator (DCGAN family, as in Spatial/Periodic GAN):
  a grid of latent noise plus a class one-hot → maps. With ``upsample="bilinear"`` the trunk and
  the coarse skip upsample bilinearly on the torus (wrap-padded), so the 16-pixel latent cells
  leave no blocks; the head's feature upsampling is nearest unless ``head_upsample="bilinear"``
  (the shipped materials model: nearest left a faint 4-pixel pattern). It is split in two graphs so a preview can
  be streamed early: ``trunk`` (noise → features at 1/4 resolution + a 1/4-resolution preview) and
  ``head`` (features + preview → full resolution; the preview is the coarse skip of the output).
  Used for materials (5 channels: albedo RGB, height, roughness) and flipbook frames (3: RGB).
- :class:`Critic` — the discriminator (spectral norm, class channels), for images or frame pairs.
- :class:`PBRNet` — a small U-Net (the pix2pix generator): albedo → height + roughness.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def cconv(cin: int, cout: int, k: int = 3, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, padding_mode="circular" if k > 1 else "zeros")


class PixelNorm(nn.Module):
    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


def block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(cconv(cin, cout), nn.LeakyReLU(0.2), PixelNorm())


def up2(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="nearest")


def up2_smooth(x: torch.Tensor) -> torch.Tensor:
    """Bilinear 2x upsampling on the torus: pad one wrapped pixel, interpolate, crop."""
    y = F.interpolate(F.pad(x, (1, 1, 1, 1), mode="circular"), scale_factor=2.0, mode="bilinear",
                      align_corners=False)
    return y[:, :, 2:-2, 2:-2]


UPSAMPLE = {"nearest": up2, "bilinear": up2_smooth}


def up_to(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Nearest upsampling to ``ref``'s spatial size (2x for the sizes we use: multiples of 8)."""
    return F.interpolate(x, size=(ref.shape[2], ref.shape[3]), mode="nearest")


class Trunk(nn.Module):
    """(z [B,zc+16*fine,r,r], cls [B,n]) → (features [B,C,4r,4r], preview logits [B,out,4r,4r])."""

    def __init__(self, zc: int, n_cls: int, out: int, widths=(64, 48, 32), upsample: str = "nearest",
                 fine: int = 0):
        super().__init__()
        self.up = UPSAMPLE[upsample]
        self.zc, self.fine = zc, fine
        self.b0 = block(zc + n_cls, widths[0])
        self.b1 = block(widths[0], widths[1])
        self.b2 = block(widths[1] + fine, widths[2])
        self.to_out = nn.Conv2d(widths[2], out, 1)

    def forward(self, z, cls):
        # z carries zc coarse channels and, when fine > 0, fine * 16 channels that a pixel shuffle
        # turns into `fine` noise channels at 4x the latent resolution (detail the coarse grid
        # cannot give), so the graph keeps one latent input whose size follows the tile
        c = cls[:, :, None, None].expand(-1, -1, z.shape[2], z.shape[3])
        x = self.b0(torch.cat([z[:, : self.zc], c], 1))
        x = self.up(self.b1(self.up(x)))
        if self.fine:
            x = torch.cat([x, F.pixel_shuffle(z[:, self.zc:], 4)], 1)
        x = self.b2(x)
        return x, self.to_out(x)


class Head(nn.Module):
    """(features at 4r, preview logits at 4r) → output logits at 16r (preview upsampled + residual)."""

    def __init__(self, cin: int, out: int, widths=(24, 12), upsample: str = "nearest",
                 feat_upsample: str = "nearest"):
        super().__init__()
        # features: nearest by default (cheaper at full resolution), bilinear on the torus when the
        # checkpoint says so (nearest leaves a faint 4-pixel pattern); the coarse skip: bilinear on
        # the torus unless the checkpoint says nearest
        self.smooth = upsample != "nearest"
        self.fup = UPSAMPLE[feat_upsample]
        self.b0 = block(cin, widths[0])
        self.b1 = block(widths[0], widths[1])
        self.to_out = nn.Conv2d(widths[1], out, 1)

    def forward(self, feat, preview):
        x = self.b0(self.fup(feat))
        x = self.b1(self.fup(x))
        skip = up2_smooth(up2_smooth(preview)) if self.smooth else F.interpolate(preview, scale_factor=4.0,
                                                                                  mode="nearest")
        return self.to_out(x) + skip


class TileGenerator(nn.Module):
    def __init__(self, zc: int = 16, n_cls: int = 6, out: int = 5, trunk=(64, 48, 32), head=(24, 12),
                 upsample: str = "nearest", fine: int = 0, head_upsample: str = "nearest"):
        super().__init__()
        self.zc, self.n_cls, self.out = zc, n_cls, out
        self.z_channels = zc + 16 * fine          # what the latent input carries
        self.trunk = Trunk(zc, n_cls, out, trunk, upsample, fine)
        self.head = Head(trunk[-1], out, head, upsample, head_upsample)

    def forward(self, z, cls):
        feat, pre = self.trunk(z, cls)
        return torch.sigmoid(self.head(feat, pre)), torch.sigmoid(pre)


class TrunkGraph(nn.Module):
    """Export wrapper: features + preview in 0..1."""

    def __init__(self, gen: TileGenerator):
        super().__init__()
        self.trunk = gen.trunk

    def forward(self, z, cls):
        feat, pre = self.trunk(z, cls)
        return feat, pre, torch.sigmoid(pre)


class HeadGraph(nn.Module):
    def __init__(self, gen: TileGenerator):
        super().__init__()
        self.head = gen.head

    def forward(self, feat, pre):
        return torch.sigmoid(self.head(feat, pre))


class Critic(nn.Module):
    """Class-conditional patch discriminator with spectral norm; input channels ``cin``."""

    def __init__(self, cin: int, n_cls: int, widths=(32, 64, 128)):
        super().__init__()
        sn = nn.utils.spectral_norm
        layers: list[nn.Module] = []
        c = cin + n_cls
        for w in widths:
            layers += [sn(nn.Conv2d(c, w, 4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
            c = w
        layers += [sn(nn.Conv2d(c, 1, 3, padding=1))]
        self.net = nn.Sequential(*layers)

    def forward(self, x, cls):
        c = cls[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
        return self.net(torch.cat([x, c], 1)).mean(dim=(1, 2, 3))


class PBRNet(nn.Module):
    """pix2pix-style U-Net with circular padding: albedo [B,3,H,W] (0..1) → [B,2,H,W] height,
    roughness (0..1). H and W must be multiples of 8."""

    def __init__(self, w=(8, 16, 32, 48)):
        super().__init__()
        self.e1 = block(3, w[0])
        self.e2 = nn.Sequential(cconv(w[0], w[1], 3, 2), nn.LeakyReLU(0.2))
        self.e3 = nn.Sequential(cconv(w[1], w[2], 3, 2), nn.LeakyReLU(0.2))
        self.e4 = nn.Sequential(cconv(w[2], w[3], 3, 2), nn.LeakyReLU(0.2), cconv(w[3], w[3]), nn.LeakyReLU(0.2))
        self.d3 = nn.Sequential(cconv(w[3] + w[2], w[2]), nn.LeakyReLU(0.2))
        self.d2 = nn.Sequential(cconv(w[2] + w[1], w[1]), nn.LeakyReLU(0.2))
        self.d1 = nn.Sequential(cconv(w[1] + w[0], w[0]), nn.LeakyReLU(0.2))
        self.out = nn.Conv2d(w[0], 2, 1)

    def forward(self, albedo):
        x = albedo * 2 - 1
        e1 = self.e1(x)
        e2 = self.e2(e1)
        e3 = self.e3(e2)
        e4 = self.e4(e3)
        d3 = self.d3(torch.cat([up_to(e4, e3), e3], 1))
        d2 = self.d2(torch.cat([up_to(d3, e2), e2], 1))
        d1 = self.d1(torch.cat([up_to(d2, e1), e1], 1))
        return torch.sigmoid(self.out(d1))
