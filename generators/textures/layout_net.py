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


# luminance weights (as maps.luminance): albedo is predicted as luminance + two chroma offsets
_WR, _WG, _WB = 0.2126, 0.7152, 0.0722


class LayoutNet(nn.Module):
    """``chroma="half"`` (2.0.0 on): the full-resolution paths (pixel-shuffled decoder, 1x1 skip,
    per-pixel MLP) predict luminance, height and roughness; the two chroma offsets (R − Y, B − Y) come
    from the half-resolution decoder, upsampled bilinearly on the torus, so the colour cannot carry
    finer detail than 2 px (the teacher's colour speckle-free look; luminance keeps every pixel).
    ``chroma="full"`` is the 1.0.0 network (albedo RGB logits at full resolution)."""

    def __init__(self, cin: int, n_cls: int, out: int = 5, widths=(16, 32), dec: int = 16, pix: int = 0,
                 chroma: str = "full", pix_layers: int = 0):
        super().__init__()
        self.cin, self.n_cls, self.out, self.chroma = cin, n_cls, out, chroma
        c = cin + n_cls
        w0, w1 = widths
        full = out if chroma == "full" else out - 2        # channels the full-resolution paths predict
        # 1/2 resolution: a 1x1 mix of the unshuffled 2x2 blocks, then one 3x3
        self.e2 = nn.Sequential(nn.Conv2d(4 * c, 24, 1), _act(), cconv(24, w0), _act())
        self.down = nn.Sequential(cconv(w0, w1, 3, 2), _act())                               # 1/4
        self.mid = nn.Sequential(cconv(w1, w1), _act(), cconv(w1, w1), _act(), cconv(w1, w1), _act())
        self.to_pre = nn.Conv2d(w1, out, 1)
        self.dec = nn.Sequential(cconv(w1 + w0, dec), _act(), cconv(dec, dec), _act())       # 1/2
        self.to_out = nn.Conv2d(dec, 4 * full, 1)
        self.to_chroma = nn.Conv2d(dec, 2, 1) if chroma == "half" else None                  # 1/2
        self.skip = nn.Conv2d(c, full, 1)                                                    # full
        # a per-pixel MLP at full resolution (pix hidden units): thresholds of the fine noise
        # (inclusions, pores, grain), thin scratches and knot cores, which the half-resolution
        # path blurs
        self.pix = None
        self.pix_w = None
        if pix and pix_layers:
            # 2.0.0: the per-pixel MLP has its own weights per class (the one-hot picks them once per
            # request), ``pix_layers`` hidden layers of ``pix`` units: the teacher's shading is a
            # different per-pixel function for each material, which one shared 16-unit layer blurred
            dims = [cin] + [pix] * pix_layers + [full]
            self.pix_w = nn.ParameterList([nn.Parameter(torch.randn(n_cls, o, i) * (2.0 / i) ** 0.5)
                                           for i, o in zip(dims[:-1], dims[1:])])
            self.pix_b = nn.ParameterList([nn.Parameter(torch.zeros(n_cls, o)) for o in dims[1:]])
            with torch.no_grad():
                self.pix_w[-1].mul_(0.1)
        elif pix:
            self.pix = nn.Sequential(nn.Conv2d(c, pix, 1), _act(), nn.Conv2d(pix, full, 1))

    def _pixel_mlp(self, lay, cls):
        b, _, h, w = lay.shape
        x = lay.flatten(2)                                                   # [B, C, HW]
        last = len(self.pix_w) - 1
        for i, (wt, bias) in enumerate(zip(self.pix_w, self.pix_b)):
            wb = torch.einsum("bk,koi->boi", cls, wt)
            bb = torch.einsum("bk,ko->bo", cls, bias)
            x = torch.bmm(wb, x) + bb[:, :, None]
            if i < last:
                x = F.leaky_relu(x, 0.2)
        return x.reshape(b, -1, h, w)

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
        """Full-resolution maps in 0..1 (albedo RGB, height, roughness)."""
        x = self._input(lay, cls)
        d = self.dec(torch.cat([up2_smooth(m), e2], 1))
        skip = up2_smooth(up2_smooth(pre))
        if self.chroma == "full":
            y = F.pixel_shuffle(self.to_out(d), 2) + self.skip(x) + skip
            return torch.sigmoid(y + self.pix(x) if self.pix is not None else y)
        lin = self.skip(x)
        if self.pix is not None:
            lin = lin + self.pix(x)
        if self.pix_w is not None:
            lin = lin + self._pixel_mlp(lay, cls)
        return self._decode(lin, d, skip)

    def _decode(self, lin, d, skip):
        """``chroma="half"``: the maps from the full-resolution linear terms ``lin`` (1x1 skip and
        per-pixel MLP), the half-resolution decoder's features ``d`` and the upsampled preview
        logits ``skip``."""
        # luminance / height / roughness logits at full resolution; the preview's skip gives them
        # the preview's luminance logit (a weighted mean of its RGB logits) as a start
        skip_y = _WR * skip[:, 0:1] + _WG * skip[:, 1:2] + _WB * skip[:, 2:3]
        y = torch.sigmoid(F.pixel_shuffle(self.to_out(d), 2) + lin + torch.cat([skip_y, skip[:, 3:]], 1))
        lum = y[:, 0:1]
        ch = 0.5 * torch.tanh(up2_smooth(self.to_chroma(d)))             # (R − Y, B − Y)
        r = lum + ch[:, 0:1]
        b = lum + ch[:, 1:2]
        g = (lum - _WR * r - _WB * b) / _WG
        return torch.cat([torch.cat([r, g, b], 1).clamp(0, 1), y[:, 1:]], 1)

    def forward(self, lay, cls):
        e2, m, pre = self.trunk(lay, cls)
        return self.head(lay, cls, e2, m, pre), torch.sigmoid(pre)


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
        return self.net.head(lay, cls, e2, m, pre)


class FastTrunkGraph(nn.Module):
    """:class:`TrunkGraph`'s function, written for serving (2.1.0 on): the pixel unshuffle and the
    first 1x1 convolution are one 2x2 stride-2 convolution over the layout (the same weights, laid
    out as a kernel; ONNX Runtime spent 40 % of the trunk transposing the unshuffled planes), and the
    class planes, constant over the tile, become a per-class bias instead of concatenated planes."""

    def __init__(self, net: LayoutNet):
        super().__init__()
        self.net = net
        conv = net.e2[0]
        w = conv.weight.detach().reshape(conv.out_channels, net.cin + net.n_cls, 2, 2)
        self.register_buffer("w_lay", w[:, :net.cin].contiguous())
        self.register_buffer("w_cls", w[:, net.cin:].sum((2, 3)).t().contiguous())     # [n_cls, out]
        self.register_buffer("b", conv.bias.detach().clone())

    def forward(self, lay, cls):
        n = self.net
        e = F.conv2d(lay, self.w_lay, stride=2) + (cls @ self.w_cls + self.b)[:, :, None, None]
        e2 = n.e2[1:](e)
        d = n.down(e2)
        m = n.mid(d) + d
        pre = n.to_pre(m)
        return e2, m, pre, torch.sigmoid(pre)


class ClassHeadGraph(nn.Module):
    """:class:`HeadGraph`'s function for one material class, written for serving (2.1.0 on): with the
    class fixed, the per-class per-pixel MLP is a chain of 1x1 convolutions with constant weights
    (ONNX Runtime fuses each with its activation; as batched matrix products with weights picked by
    the one-hot it was half the head's time) and the 1x1 skip's class planes are a constant bias.
    One graph per class; the layout, not the class, is the input."""

    def __init__(self, net: LayoutNet, k: int):
        super().__init__()
        if net.chroma != "half" or net.pix_w is None:
            raise ValueError("ClassHeadGraph needs chroma='half' and a per-class pixel MLP (2.0.0 on)")
        self.net = net
        ws = net.skip.weight.detach()[:, :, 0, 0]
        self.register_buffer("w_skip", ws[:, :net.cin, None, None].contiguous())
        self.register_buffer("b_skip", net.skip.bias.detach() + ws[:, net.cin + k])
        self.register_buffer("mix", torch.tensor([[1.0, 0.0], [-_WR / _WG, -_WB / _WG], [0.0, 1.0]])[:, :, None, None])
        self.layers = len(net.pix_w)
        for i, (wt, bias) in enumerate(zip(net.pix_w, net.pix_b)):
            self.register_buffer(f"pw{i}", wt.detach()[k][:, :, None, None].contiguous())
            self.register_buffer(f"pb{i}", bias.detach()[k].clone())

    def forward(self, lay, e2, m, pre):
        n = self.net
        h = lay
        for i in range(self.layers):
            h = F.conv2d(h, getattr(self, f"pw{i}"), getattr(self, f"pb{i}"))
            if i < self.layers - 1:
                h = F.leaky_relu(h, 0.2)
        lin = F.conv2d(lay, self.w_skip, self.b_skip) + h
        d = n.dec(torch.cat([up2_smooth(m), e2], 1))
        # LayoutNet._decode with its linear steps moved to where they are cheapest (the same
        # function up to rounding): the preview's luminance logit is mixed at quarter resolution,
        # before the two upsamplings (both linear, per channel), and G = Y − (wr (R − Y) + wb (B − Y)) / wg
        # is one 2→3 mix of the chroma offsets instead of six full-resolution operations
        pre_y = torch.cat([_WR * pre[:, 0:1] + _WG * pre[:, 1:2] + _WB * pre[:, 2:3], pre[:, 3:]], 1)
        y = torch.sigmoid(F.pixel_shuffle(n.to_out(d), 2) + lin + up2_smooth(up2_smooth(pre_y)))
        ch = 0.5 * torch.tanh(up2_smooth(n.to_chroma(d)))             # (R − Y, B − Y)
        rgb = y[:, 0:1] + F.conv2d(ch, self.mix)
        return torch.cat([rgb.clamp(0, 1), y[:, 1:]], 1)


def checkpoint_from_onnx(model_dir) -> dict:
    """A checkpoint rebuilt from a shipped model's ONNX weights (``trunk.onnx`` + ``head.onnx``, whose
    initialisers keep the torch parameter names): re-exporting a model as a faster graph needs no
    training run. The configuration is read back from the weights' shapes."""
    import json
    from pathlib import Path

    import numpy as np
    import onnx
    from onnx import numpy_helper

    model_dir = Path(model_dir)
    manifest = json.loads((model_dir / "manifest.json").read_text())
    if "head" not in manifest.get("files", {}):
        raise ValueError(f"{model_dir}: not a two-graph model (trunk.onnx + head.onnx); per-class heads hold "
                         "folded weights — rebuild from materials-net 2.0.0's folder or a training checkpoint")
    files = [manifest["file"], manifest["files"]["head"]["file"]]
    sd = {}
    for f in files:
        for init in onnx.load(str(model_dir / f)).graph.initializer:
            if init.name.startswith("net."):
                sd[init.name[4:]] = torch.from_numpy(np.array(numpy_helper.to_array(init)))
    extra = manifest["extra"]
    pix_layers = sum(1 for k in sd if k.startswith("pix_w.")) - 1
    config = {"cin": len(extra["channels"]), "n_cls": len(extra["classes"]), "out": int(sd["to_pre.weight"].shape[0]),
              "widths": [int(sd["e2.2.weight"].shape[0]), int(sd["mid.0.weight"].shape[0])],
              "dec": int(sd["dec.0.weight"].shape[0]), "pix": int(sd["pix_w.0"].shape[1]) if pix_layers > 0 else 0,
              "chroma": "half" if "to_chroma.weight" in sd else "full", "pix_layers": max(pix_layers, 0)}
    net = LayoutNet(config["cin"], config["n_cls"], config["out"], tuple(config["widths"]), config["dec"],
                    config["pix"], config["chroma"], config["pix_layers"])
    net.load_state_dict(sd)        # strict: every parameter is in the files, nothing else
    return {"state_dict": net.state_dict(), "config": config, "classes": list(extra["classes"]),
            "channels": list(extra["channels"]), "training": dict(manifest["training"]),
            "version": manifest["version"]}


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


def _spectrum(x):
    """Magnitude of the orthonormal 2-D Fourier transform (whole periodic tiles: exact, no window)."""
    return torch.fft.rfft2(x, norm="ortho").abs()


def _highpass(x):
    """x minus its 3x3 wrap-around box mean (the 1-3 px band)."""
    return x - F.avg_pool2d(F.pad(x[:, None], (1, 1, 1, 1), mode="circular"), 3, 1)[:, 0]


def train_layout(seed: int, steps: int, batch: int, per_class: int, log, lr: float = 2e-3,
                 max_seconds: float | None = None, pix: int = 32, chroma: str = "half",
                 spectral: float = 1.0, fine: float = 2.0, colour: float = 1.0,
                 pix_layers: int = 2, init: dict | None = None) -> tuple[dict, dict]:
    import time

    import numpy as np

    from . import layout
    from .train import HELD_OUT_SEED

    torch.manual_seed(seed)
    # a continued run draws other batches from the same tiles
    rng = np.random.default_rng(seed if init is None else [seed, int(init["training"]["steps"])])
    t0 = time.perf_counter()
    lays, tgts, ids = layout_bank(seed, per_class)
    log(f"layout: rendered {len(lays)} teacher tiles in {time.perf_counter() - t0:.1f} s")
    n_cls = len(layout.CLASSES)
    config = {"cin": len(layout.CHANNELS), "n_cls": n_cls, "out": 5, "widths": [16, 32], "dec": 16, "pix": pix,
              "chroma": chroma, "pix_layers": pix_layers}
    net = LayoutNet(config["cin"], n_cls, 5, tuple(config["widths"]), config["dec"], pix, chroma, pix_layers)
    if init is not None:      # continue from a checkpoint of the same configuration
        if init["config"] != config:
            raise ValueError(f"--init checkpoint's config {init['config']} differs from {config}")
        net.load_state_dict(init["state_dict"])
        log(f"layout: continuing from a checkpoint trained {init['training']['steps']} steps")
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
        # the spectrum's magnitude, not its phase: fine grain the network cannot place pixel for
        # pixel (L1 would average it to grey) still has to be there with the teacher's energy
        lum_o = _WR * out[:, 0] + _WG * out[:, 1] + _WB * out[:, 2]
        lum_t = _WR * tgt[:, 0] + _WG * tgt[:, 1] + _WB * tgt[:, 2]
        spec = (F.l1_loss(_spectrum(lum_o), _spectrum(lum_t)) + F.l1_loss(_spectrum(out[:, 3]), _spectrum(tgt[:, 3])))
        # the finest band of luminance and height, pixel for pixel (grain, inclusions, pores), and the
        # colour offsets R − Y, B − Y (small next to luminance in a plain RGB L1)
        hf = F.l1_loss(_highpass(lum_o), _highpass(lum_t)) + F.l1_loss(_highpass(out[:, 3]), _highpass(tgt[:, 3]))
        col = F.l1_loss(out[:, 0] - lum_o, tgt[:, 0] - lum_t) + F.l1_loss(out[:, 2] - lum_o, tgt[:, 2] - lum_t)
        loss = rec + grad + 0.5 * pre_loss + spectral * spec + fine * hf + colour * col
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % log_every == 0 or step == steps:
            log(f"layout step {step}/{steps} l1 {rec.item():.4f} grad {grad.item():.4f} preview "
                f"{pre_loss.item():.4f} spectrum {spec.item():.4f} fine {hf.item():.4f} colour {col.item():.4f} "
                f"({time.perf_counter() - t0:.0f} s)")
    net.eval()
    steps = done
    data = (f"layered procedural teacher (gamegen.generators.textures.layout.render) on its own layouts: "
            f"{', '.join(layout.CLASSES)}, {per_class} per class ({len(lays)} in all), whole {TILE}x{TILE} "
            f"periodic tiles, pattern scale uniform {PATTERN[0]}..{PATTERN[1]}, wear uniform(0,1)^0.8, random "
            f"wrap-around shifts; render seeds {seed * 1000}+class*100000+i; no photographs; losses: L1 of "
            f"albedo/height/roughness + L1 of their wrap-around gradients + 0.5 x L1 of the quarter-resolution "
            f"preview + {spectral:g} x L1 of the Fourier magnitude of albedo luminance and height + {fine:g} x L1 of "
            f"their 1-3 px band (minus a 3x3 box mean) + {colour:g} x L1 of R-Y, B-Y; chroma "
            f"{chroma}-resolution, per-pixel MLP {pix_layers} x {pix} units per class; Adam lr {lr:g}, cosine decay"
            + (f"; continued from a checkpoint trained {init['training']['steps']} steps ({init['training']['command']})"
               if init is not None else ""))
    return {"state_dict": net.state_dict(), "config": config, "classes": list(layout.CLASSES),
            "channels": list(layout.CHANNELS)}, {
        "data": data, "held_out": f"teacher tiles from seed {HELD_OUT_SEED} upwards (benchmarks/materials_quality.py)",
        "epochs": steps, "steps": steps, "batch": batch, "seconds": round(time.perf_counter() - t0, 1)}
