"""A flow-matching (rectified flow) material model: the generative family measured against
``materials-net`` (issue 15, "pick by measurement"). Torch; training, sampling and the benchmark
only — it is not served (see BENCHMARKS.md "Generative families compared" for why).

The model is a small U-Net on the torus: every convolution pads circularly and the upsampling is
bilinear on the torus, so a periodic input gives a periodic output and a sample started from
periodic noise tiles by construction. It works on the pixel-unshuffled tile (2×2 blocks → channels,
as ``materials-net`` does), is conditioned on the material class (an embedding added to the time
embedding, FiLM in every block) and, in the ``layout`` variant, on the coarse planes of the
material's layout (:data:`COARSE`: joints, tones, rings, knots, wear, broad noise, palette — not the
``fine`` and ``grain`` noise planes), so the structure comes from the layout and the noise carries
only the fine detail.

Rectified flow: ``x_t = (1 − t)·z + t·x`` with ``z`` standard normal and ``x`` the maps scaled to
−1..1; the network predicts the velocity ``x − z``; training draws ``t`` from a logit-normal. A
sample is ``N`` Euler steps from ``t = 0`` (noise drawn with numpy from the seed) to ``t = 1``; the
same model, seed, steps and size give the same bytes (CPU, one thread).

Train (the commands in BENCHMARKS.md)::

    python -m gamegen.generators.textures.flow train --out runs/flow-class.pt --steps 2400 --max-seconds 1850 \
        --widths 32 64 128 --snapshots 600 1200
    python -m gamegen.generators.textures.flow train --cond layout --out runs/flow-layout.pt --steps 1800 \
        --max-seconds 1400 --widths 32 64 128 --snapshots 600
    python -m gamegen.generators.textures.flow sample --ckpt runs/flow-class.pt --material brick --seed 1 --out x.png

Training data: the layered teacher (:func:`.layout.render`) on its own layouts, whole periodic
``TILE``-px tiles (no crops, so circular padding is exact), render seeds ``seed*1000 +
class*100000 + i`` — never the benchmark's (1000+ drawn as ``default_rng([seed, 0])``, held-out
teacher renders from ``HELD_OUT_SEED``).
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import layout
from .nets import cconv, up2_smooth

TILE = 128                  # training tiles (whole periodic tiles; at pattern 1 they hold the 256 px tile's
                            # course, plank, slab and panel sizes)
PATTERN = (0.85, 1.2)       # pattern scales drawn for training (the benchmark asks for 1)
WEAR = (0.1, 0.5)           # wear drawn for training (the benchmark asks for the default, 0.3)
OUT = 5                     # albedo RGB, height, roughness
COARSE = tuple(i for i, c in enumerate(layout.CHANNELS) if c not in ("fine", "grain"))


def _groups(c: int) -> int:
    return 8 if c % 8 == 0 else 1


class Block(nn.Module):
    """Residual block: GroupNorm, SiLU, circular 3×3, FiLM from the embedding, again, + skip."""

    def __init__(self, cin: int, cout: int, emb: int):
        super().__init__()
        self.n1, self.c1 = nn.GroupNorm(_groups(cin), cin), cconv(cin, cout)
        self.film = nn.Linear(emb, 2 * cout)
        self.n2, self.c2 = nn.GroupNorm(_groups(cout), cout), cconv(cout, cout)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()
        nn.init.zeros_(self.c2.weight)
        nn.init.zeros_(self.c2.bias)

    def forward(self, x, e):
        h = self.c1(F.silu(self.n1(x)))
        s, b = self.film(e)[:, :, None, None].chunk(2, 1)
        h = self.n2(h) * (1 + s) + b
        return self.skip(x) + self.c2(F.silu(h))


class FlowUNet(nn.Module):
    """(x_t [B,5,H,W], t [B], class [B] int64, cond [B,C,H,W] or None) → velocity [B,5,H,W].

    Levels at 1/2, 1/4 and 1/8 of the tile (H, W multiples of 16)."""

    def __init__(self, n_cls: int = 4, cond: int = 0, widths=(32, 64, 128), emb: int = 128):
        super().__init__()
        self.n_cls, self.cond, self.widths, self.emb_dim = n_cls, cond, tuple(widths), emb
        w0, w1, w2 = widths
        self.cls = nn.Embedding(n_cls, emb)
        self.temb = nn.Sequential(nn.Linear(64, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.inp = cconv(4 * (OUT + cond), w0)
        self.e0 = Block(w0, w0, emb)
        self.d1 = cconv(w0, w1, 3, 2)
        self.e1 = Block(w1, w1, emb)
        self.d2 = cconv(w1, w2, 3, 2)
        self.m1, self.m2 = Block(w2, w2, emb), Block(w2, w2, emb)
        self.u1 = Block(w2 + w1, w1, emb)
        self.u0 = Block(w1 + w0, w0, emb)
        self.out_n = nn.GroupNorm(_groups(w0), w0)
        self.out = nn.Conv2d(w0, 4 * OUT, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def embed(self, t, cls):
        half = torch.arange(32, dtype=torch.float32, device=t.device)
        freqs = torch.exp(-math.log(1000.0) * half / 32) * 1000.0
        a = t[:, None].float() * freqs[None]
        return self.temb(torch.cat([torch.sin(a), torch.cos(a)], 1)) + self.cls(cls)

    def forward(self, x, t, cls, cond=None):
        e = F.silu(self.embed(t, cls))
        if self.cond:
            x = torch.cat([x, cond], 1)
        h0 = self.e0(self.inp(F.pixel_unshuffle(x, 2)), e)            # 1/2
        h1 = self.e1(self.d1(h0), e)                                   # 1/4
        m = self.m2(self.m1(self.d2(h1), e), e)                        # 1/8
        u = self.u1(torch.cat([up2_smooth(m), h1], 1), e)
        u = self.u0(torch.cat([up2_smooth(u), h0], 1), e)
        return F.pixel_shuffle(self.out(F.silu(self.out_n(u))), 2)


def build(config: dict) -> FlowUNet:
    return FlowUNet(config["n_cls"], config["cond"], tuple(config["widths"]), config["emb"])


# -- sampling --------------------------------------------------------------------------------------

def noise(seed: int, size: int) -> np.ndarray:
    """The starting noise of a sample: numpy from the seed (the same on every machine)."""
    return np.random.default_rng([seed & (2**64 - 1), 7]).standard_normal((1, OUT, size, size), dtype=np.float32)


def cond_planes(name: str, seed: int, size: int, pattern: float = 1.0, wear: float = 0.3) -> np.ndarray:
    """The coarse layout planes of (material, seed): the same layout materials-net and the teacher
    draw for that seed (``default_rng([seed, 0])``), without its fine noise planes."""
    lay = layout.layout(name, np.random.default_rng([seed & (2**64 - 1), 0]), size, pattern, wear)
    return lay[list(COARSE)][None]


@torch.no_grad()
def sample(net: FlowUNet, name: str, seed: int, size: int, steps: int = 8, cond: np.ndarray | None = None):
    """``steps`` Euler steps of the flow from seeded noise: (albedo HxWx3, height, roughness), 0..1."""
    if size % 16:
        raise ValueError(f"size {size} must be a multiple of 16")
    if steps < 1:
        raise ValueError(f"steps {steps} must be at least 1")
    if name not in layout.CLASSES:
        raise ValueError(f"unknown material {name!r}; known: {', '.join(layout.CLASSES)}")
    net.eval()
    x = torch.from_numpy(noise(seed, size))
    cls = torch.tensor([layout.CLASSES.index(name)])
    c = None
    if net.cond:
        c = torch.from_numpy(cond if cond is not None else cond_planes(name, seed, size))
    for i in range(steps):
        t = torch.full((1,), i / steps)
        x = x + net(x, t, cls, c) / steps
    m = ((x[0].clamp(-1, 1) + 1) / 2).numpy()
    return m[:3].transpose(1, 2, 0).copy(), m[3].copy(), m[4].copy()


def load(path: Path) -> FlowUNet:
    ck = torch.load(path, map_location="cpu", weights_only=False)
    net = build(ck["config"])
    net.load_state_dict(ck["ema"])
    net.eval()
    return net


# -- training --------------------------------------------------------------------------------------

def bank(seed: int, per_class: int, size: int = TILE, cond: bool = False):
    """(targets [N,5,S,S] in −1..1, class ids [N], coarse planes [N,C,S,S] or None)."""
    tg, ids, cs = [], [], []
    for c, name in enumerate(layout.CLASSES):
        for i in range(per_class):
            rng = np.random.default_rng(seed * 1000 + c * 100_000 + i)
            pattern, wear = float(rng.uniform(*PATTERN)), float(rng.uniform(*WEAR))
            alb, hgt, rough, lay = layout.material(name, rng, size, pattern, wear)
            tg.append(np.concatenate([alb.transpose(2, 0, 1), hgt[None], rough[None]], 0) * 2 - 1)
            ids.append(c)
            if cond:
                cs.append(lay[list(COARSE)])
    return (np.stack(tg).astype(np.float16), np.array(ids),
            np.stack(cs).astype(np.float16) if cond else None)


def train(seed: int, steps: int, batch: int, per_class: int, log, cond: str = "class", lr: float = 1e-3,
          max_seconds: float | None = None, widths=(32, 64, 128), ema: float = 0.999,
          snapshots: tuple[int, ...] = (), snapshot_path: Path | None = None, init: dict | None = None) -> dict:
    torch.manual_seed(seed)
    # a continued run draws other batches and noise from the same tiles
    rng = np.random.default_rng(seed if init is None else [seed, int(init["training"]["steps"])])
    t0 = time.perf_counter()
    tg, ids, cs = bank(seed, per_class, cond=cond == "layout")
    log(f"flow: rendered {len(tg)} teacher tiles of {TILE} px in {time.perf_counter() - t0:.1f} s")
    config = {"n_cls": len(layout.CLASSES), "cond": len(COARSE) if cond == "layout" else 0,
              "widths": list(widths), "emb": 128, "tile": TILE}
    net = build(config)
    if init is not None:      # continue from a checkpoint's (EMA) weights, with a fresh optimiser and schedule
        if init["config"] != config:
            raise ValueError(f"--init checkpoint's config {init['config']} differs from {config}")
        net.load_state_dict(init["ema"])
        log(f"flow: continuing from a checkpoint trained {init['training']['steps']} steps")
    avg = copy.deepcopy(net)
    for p in avg.parameters():
        p.requires_grad_(False)
    log(f"flow: {sum(p.numel() for p in net.parameters()) / 1e6:.2f} M parameters, conditioning {cond}")
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=0.0)
    warm = 200
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps))))
    log_every = max(1, steps // 40)
    done, run = 0, []

    def checkpoint(step):
        before = init["training"] if init is not None else {"steps": 0, "seconds": 0.0}
        return {"kind": "textures", "model": "flow", "config": config, "ema": copy.deepcopy(avg.state_dict()),
                "classes": list(layout.CLASSES), "training": {
                    "steps": step + before["steps"], "batch": batch, "per_class": per_class, "seed": seed, "cond": cond,
                    "seconds": round(time.perf_counter() - t0 + before["seconds"], 1), "ema": ema,
                    "continued_from": before.get("command"),
                    "data": (f"layered teacher (layout.render) on its own layouts, {per_class} per class, whole "
                             f"{TILE} px periodic tiles, pattern uniform{PATTERN}, wear uniform{WEAR}, random "
                             f"wrap-around shifts and flips; render seeds {seed * 1000}+class*100000+i")}}

    for step in range(1, steps + 1):
        if max_seconds is not None and time.perf_counter() - t0 > max_seconds:
            log(f"flow: time budget of {max_seconds:.0f} s reached after {done} steps")
            break
        done = step
        pick = rng.integers(0, len(tg), batch)
        dy, dx = rng.integers(0, TILE, 2)
        flip = bool(rng.integers(2))        # a mirror image of a material is a material (rows stay rows)
        x1 = np.roll(tg[pick], (dy, dx), axis=(2, 3)).astype(np.float32)
        c = np.roll(cs[pick], (dy, dx), axis=(2, 3)).astype(np.float32) if cs is not None else None
        if flip:
            x1 = x1[..., ::-1]
            c = c[..., ::-1] if c is not None else None
        x1 = torch.from_numpy(x1.copy())
        c = torch.from_numpy(c.copy()) if c is not None else None
        z = torch.from_numpy(rng.standard_normal(x1.shape, dtype=np.float32))
        t = torch.sigmoid(torch.from_numpy(rng.standard_normal(batch).astype(np.float32)))   # logit-normal
        xt = (1 - t[:, None, None, None]) * z + t[:, None, None, None] * x1
        v = net(xt, t, torch.as_tensor(ids[pick]), c)
        loss = F.mse_loss(v, x1 - z)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        sched.step()
        d = min(ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for pa, pn in zip(avg.parameters(), net.parameters()):
                pa.lerp_(pn, 1 - d)
        run.append(loss.item())
        if step % log_every == 0:
            log(f"flow step {step}/{steps} loss {np.mean(run):.4f} lr {sched.get_last_lr()[0]:.2e} "
                f"({time.perf_counter() - t0:.0f} s)")
            run = []
        if step in snapshots and snapshot_path is not None:
            p = snapshot_path.with_name(f"{snapshot_path.stem}-{step}{snapshot_path.suffix}")
            torch.save(checkpoint(step), p)
            log(f"flow: snapshot {p}")
    return checkpoint(done)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="flow-matching materials: train or sample")
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--cond", choices=("class", "layout"), default="class",
                   help="class: class only; layout: class + the layout's coarse planes")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--steps", type=int, default=4000, help="length of the schedule")
    t.add_argument("--batch", type=int, default=8)
    t.add_argument("--per-class", type=int, default=300)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--ema", type=float, default=0.999)
    t.add_argument("--widths", type=int, nargs=3, default=(32, 64, 128))
    t.add_argument("--max-seconds", type=float)
    t.add_argument("--snapshots", type=int, nargs="*", default=(), help="also save the EMA weights at these steps")
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--init", type=Path, help="continue from this checkpoint's weights (same configuration)")
    s = sub.add_parser("sample")
    s.add_argument("--ckpt", type=Path, required=True)
    s.add_argument("--material", choices=layout.CLASSES, default="brick")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--size", type=int, default=256)
    s.add_argument("--steps", type=int, default=8)
    s.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    if a.cmd == "train":
        torch.set_num_threads(a.threads)
        ck = train(a.seed, a.steps, a.batch, a.per_class, lambda m: print(m, flush=True), cond=a.cond, lr=a.lr,
                   max_seconds=a.max_seconds, widths=tuple(a.widths), ema=a.ema, snapshots=tuple(a.snapshots),
                   snapshot_path=a.out,
                   init=torch.load(a.init, map_location="cpu", weights_only=False) if a.init else None)
        ck["training"]["command"] = "python -m gamegen.generators.textures.flow " + " ".join(
            sys.argv[1:] if argv is None else argv)
        a.out.parent.mkdir(parents=True, exist_ok=True)
        torch.save(ck, a.out)
        print(f"wrote {a.out} ({ck['training']['steps']} steps, {ck['training']['seconds']} s)", flush=True)
    else:
        from PIL import Image

        torch.set_num_threads(1)
        alb, _, _ = sample(load(a.ckpt), a.material, a.seed, a.size, a.steps)
        Image.fromarray((alb * 255 + 0.5).astype(np.uint8)).save(a.out)
        print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
