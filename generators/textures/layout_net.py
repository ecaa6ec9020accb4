"""``materials-net``: a layout-conditioned convolutional network (torch; training and export only).

The structure of a material (courses, planks, slabs, panels, knots, cracks, scratches, a wear mask
and two noise fields) is drawn by :func:`.layout.layout` from the seed; this network learns to turn
that layout into albedo, height and roughness, trained on the layered teacher (:func:`.layout.render`).
Bricks therefore come in courses and planks carry grain one way *by construction*, and a seed
changes the look (its own layout), not just the pixels.

Every convolution pads circularly and the one upsampling is bilinear on the torus, so a periodic
layout gives periodic maps. The network works at half resolution (pixel unshuffle in, pixel
shuffle out) with a quarter-resolution middle, which keeps a 512 px set inside the latency budget.
It is split in two graphs so a preview streams early:

- ``trunk`` (layout, class) → half-resolution features, quarter-resolution features, preview logits
  and the preview (quarter resolution, 0..1);
- ``head`` (layout, class, both features, preview logits) → full-resolution maps (0..1).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .nets import cconv, up2_smooth


def _act():
    return nn.LeakyReLU(0.2)


class LayoutNet(nn.Module):
    def __init__(self, cin: int, n_cls: int, out: int = 5, widths=(16, 32), dec: int = 16, pix: int = 0):
        super().__init__()
        self.cin, self.n_cls, self.out = cin, n_cls, out
        c = cin + n_cls
        w0, w1 = widths
        # 1/2 resolution: a 1x1 mix of the unshuffled 2x2 blocks, then one 3x3
        self.e2 = nn.Sequential(nn.Conv2d(4 * c, 24, 1), _act(), cconv(24, w0), _act())
        self.down = nn.Sequential(cconv(w0, w1, 3, 2), _act())                               # 1/4
        self.mid = nn.Sequential(cconv(w1, w1), _act(), cconv(w1, w1), _act(), cconv(w1, w1), _act())
        self.to_pre = nn.Conv2d(w1, out, 1)
        self.dec = nn.Sequential(cconv(w1 + w0, dec), _act(), cconv(dec, dec), _act())       # 1/2
        self.to_out = nn.Conv2d(dec, 4 * out, 1)
        self.skip = nn.Conv2d(c, out, 1)                                                     # full
        # a per-pixel MLP at full resolution (pix hidden units): thresholds of the fine noise
        # (inclusions, pores, grain), thin scratches and knot cores, which the half-resolution
        # path blurs
        self.pix = nn.Sequential(nn.Conv2d(c, pix, 1), _act(), nn.Conv2d(pix, out, 1)) if pix else None

    def _input(self, lay, cls):
        c = cls[:, :, None, None].expand(-1, -1, lay.shape[2], lay.shape[3])
        return torch.cat([lay, c], 1)

    def trunk(self, lay, cls):
        x = self._input(lay, cls)
        e2 = self.e2(F.pixel_unshuffle(x, 2))
        d = self.down(e2)
        m = self.mid(d) + d
        return e2, m, self.to_pre(m)

    def head(self, lay, cls, e2, m, pre):
        x = self._input(lay, cls)
        d = self.dec(torch.cat([up2_smooth(m), e2], 1))
        skip = up2_smooth(up2_smooth(pre))
        y = F.pixel_shuffle(self.to_out(d), 2) + self.skip(x) + skip
        return y + self.pix(x) if self.pix is not None else y

    def forward(self, lay, cls):
        e2, m, pre = self.trunk(lay, cls)
        return torch.sigmoid(self.head(lay, cls, e2, m, pre)), torch.sigmoid(pre)


class TrunkGraph(nn.Module):
    def __init__(self, net: LayoutNet):
        super().__init__()
        self.net = net

    def forward(self, lay, cls):
        e2, m, pre = self.net.trunk(lay, cls)
        return e2, m, pre, torch.sigmoid(pre)


class HeadGraph(nn.Module):
    def __init__(self, net: LayoutNet):
        super().__init__()
        self.net = net

    def forward(self, lay, cls, e2, m, pre):
        return torch.sigmoid(self.net.head(lay, cls, e2, m, pre))


# -- training -----------------------------------------------------------------------------------

TILE = 96           # training tiles: whole periodic tiles (no crops, so circular padding is exact)
PATTERN = (0.45, 1.5)   # pattern scales drawn for training (tiles of 128 px hold 2-8 courses)


def layout_bank(seed: int, per_class: int, size: int = TILE, held_out: bool = False):
    """(layouts [N,C,S,S], targets [N,5,S,S], class ids [N]) rendered by the teacher."""
    import numpy as np

    from . import layout
    from .train import HELD_OUT_SEED

    lays, tgts, ids = [], [], []
    for c, name in enumerate(layout.CLASSES):
        for i in range(per_class):
            s = (HELD_OUT_SEED if held_out else seed * 1000) + c * 100_000 + i
            rng = np.random.default_rng(s)
            pattern, wear = float(rng.uniform(*PATTERN)), float(rng.uniform(0, 1) ** 0.8)
            alb, hgt, rough, lay = layout.material(name, rng, size, pattern, wear)
            lays.append(lay)
            tgts.append(np.concatenate([alb.transpose(2, 0, 1), hgt[None], rough[None]], 0))
            ids.append(c)
    return np.stack(lays).astype(np.float32), np.stack(tgts).astype(np.float32), np.array(ids)


def train_layout(seed: int, steps: int, batch: int, per_class: int, log, lr: float = 2e-3,
                 max_seconds: float | None = None, pix: int = 16) -> tuple[dict, dict]:
    import time

    import numpy as np

    from . import layout
    from .train import HELD_OUT_SEED

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    lays, tgts, ids = layout_bank(seed, per_class)
    log(f"layout: rendered {len(lays)} teacher tiles in {time.perf_counter() - t0:.1f} s")
    n_cls = len(layout.CLASSES)
    config = {"cin": len(layout.CHANNELS), "n_cls": n_cls, "out": 5, "widths": [16, 32], "dec": 16, "pix": pix}
    net = LayoutNet(config["cin"], n_cls, 5, tuple(config["widths"]), config["dec"], pix)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)

    def grads(x):
        return x - torch.roll(x, 1, 3), x - torch.roll(x, 1, 2)

    log_every = max(1, steps // 20)
    done = 0
    for step in range(1, steps + 1):
        if max_seconds is not None and time.perf_counter() - t0 > max_seconds:
            log(f"layout: time budget of {max_seconds:.0f} s reached after {done} steps")
            break
        done = step
        pick = rng.integers(0, len(lays), batch)
        dy, dx = rng.integers(0, TILE, 2)
        # a rolled tile is the same periodic tile: the shift is exact augmentation
        lay = torch.from_numpy(np.roll(lays[pick], (dy, dx), axis=(2, 3)).copy())
        tgt = torch.from_numpy(np.roll(tgts[pick], (dy, dx), axis=(2, 3)).copy())
        cls = F.one_hot(torch.as_tensor(ids[pick]), n_cls).float()
        out, pre = net(lay, cls)
        gx, gy = grads(out)
        tx, ty = grads(tgt)
        rec = F.l1_loss(out, tgt)
        grad = F.l1_loss(gx, tx) + F.l1_loss(gy, ty)
        pre_loss = F.l1_loss(pre, F.avg_pool2d(tgt, 4))
        loss = rec + grad + 0.5 * pre_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % log_every == 0 or step == steps:
            log(f"layout step {step}/{steps} l1 {rec.item():.4f} grad {grad.item():.4f} preview "
                f"{pre_loss.item():.4f} ({time.perf_counter() - t0:.0f} s)")
    net.eval()
    steps = done
    data = (f"layered procedural teacher (gamegen.generators.textures.layout.render) on its own layouts: "
            f"{', '.join(layout.CLASSES)}, {per_class} per class ({len(lays)} in all), whole {TILE}x{TILE} "
            f"periodic tiles, pattern scale uniform {PATTERN[0]}..{PATTERN[1]}, wear uniform(0,1)^0.8, random "
            f"wrap-around shifts; render seeds {seed * 1000}+class*100000+i; no photographs; losses: L1 of "
            f"albedo/height/roughness + L1 of their wrap-around gradients + 0.5 x L1 of the quarter-resolution "
            f"preview; Adam lr {lr:g}, cosine decay")
    return {"state_dict": net.state_dict(), "config": config, "classes": list(layout.CLASSES),
            "channels": list(layout.CHANNELS)}, {
        "data": data, "held_out": f"teacher tiles from seed {HELD_OUT_SEED} upwards (benchmarks/materials_quality.py)",
        "epochs": steps, "steps": steps, "batch": batch, "seconds": round(time.perf_counter() - t0, 1)}
