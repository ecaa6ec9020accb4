"""Train the textures models on procedurally rendered data (torch; one CPU thread by default).

    python -m gamegen.generators.textures.train --model pbr       --out runs/textures-pbr.pt
    python -m gamegen.generators.textures.train --model materials --out runs/textures-materials.pt
    python -m gamegen.generators.textures.train --model flipbook  --out runs/textures-flipbook.pt
    python -m gamegen.generators.textures.train --model exemplar  --from runs/textures-pbr.pt \
        --out runs/textures-exemplar.pt          # no training: packages the pbr U-Net
    gamegen export runs/textures-materials.pt --models models    # -> models/materials-gan/1.0.0

Data (all rendered here by :mod:`.procedural`, nothing downloaded): tileable materials (stone,
brick, wood, grass, sand, metal) with their known height and roughness, and looping effects
(fire, water, smoke, caustics). Training seeds are ``seed*1000 + i``; evaluation uses seeds from
``HELD_OUT_SEED`` upwards, which training never renders.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from . import procedural

HELD_OUT_SEED = 10_000_000
TILE = 128     # rendered training tiles
CROP = 64      # training crops (random wrap-around crops of a tile)
ZC = 16        # latent channels of the spatial GAN generators
FRAMES = 16    # frames per loop in the flipbook training data

# The defaults reproduce the shipped models. upsample/fine: see nets.TileGenerator.
DEFAULTS = {"materials": dict(steps=3384, batch=16, per_class=100, upsample="bilinear", fine=1,
                              head_upsample="bilinear", gram=1.0, ema=0.999, lr_g=1e-4, lr_d=3e-4),
            "pbr": dict(steps=2000, batch=16, per_class=100),
            "flipbook": dict(steps=600, batch=12, per_class=40, upsample="bilinear", fine=4),
            # materials-net: the layout-conditioned network (layout_net.py)
            "layout": dict(steps=3000, batch=8, per_class=150)}
# GAN training options where DEFAULTS does not set them (the flipbook keeps these plain ones): head
# feature upsampling, weight of the random-filter Gram loss against same-class real crops (for the
# flipbook: single frames of the same effect), generator weight EMA (with ema_warmup the decay ramps
# up as min(ema, (1+t)/(10+t)), so a short run does not ship a remnant of the initial weights),
# learning rates. The shipped materials model was trained with the materials defaults
# (run with --steps 6000 --max-seconds 1260, which stopped after 3384 steps)
GAN_DEFAULTS = {"head_upsample": "nearest", "gram": 0.0, "ema": 0.0, "ema_warmup": False, "lr_g": 2e-4,
                "lr_d": 2e-4}
GRAM_FILTERS = 32


def _gram_bank(channels: int):
    """Fixed random 5x5 filters (their own seed, not the benchmark's) over all output channels."""
    import torch

    g = torch.Generator().manual_seed(12345)
    w = torch.randn(GRAM_FILTERS, channels, 5, 5, generator=g)
    return w / w.flatten(1).norm(dim=1)[:, None, None, None]


def _grams(x, bank):
    """Per-sample Gram matrices of ReLU(random filters) at three scales (circular padding)."""
    import torch
    import torch.nn.functional as F

    out = []
    for _ in range(3):
        f = F.relu(F.conv2d(F.pad(x * 2 - 1, (2, 2, 2, 2), mode="circular"), bank))
        f = f.flatten(2)
        out.append(torch.bmm(f, f.transpose(1, 2)) / f.shape[2])
        x = F.avg_pool2d(x, 2)
    return torch.stack(out, 1)


def material_bank(seed: int, per_class: int, size: int = TILE, held_out: bool = False):
    """(albedo+height+roughness [N,5,S,S] float32, class ids [N]) rendered procedurally."""
    xs, ys = [], []
    for c, name in enumerate(procedural.MATERIALS):
        for i in range(per_class):
            s = (HELD_OUT_SEED if held_out else seed * 1000) + c * 100_000 + i
            rng = np.random.default_rng(s)
            alb, hgt, rough = procedural.material(name, rng, size, scale=float(rng.uniform(0.8, 1.25)))
            xs.append(np.concatenate([alb.transpose(2, 0, 1), hgt[None], rough[None]], 0))
            ys.append(c)
    return np.stack(xs).astype(np.float32), np.array(ys)


def effect_bank(seed: int, per_class: int, size: int = CROP):
    """(frames [N,F,3,S,S] float32, effect ids [N])."""
    xs, ys = [], []
    for c, name in enumerate(procedural.EFFECTS):
        for i in range(per_class):
            rng = np.random.default_rng(seed * 1000 + c * 100_000 + i)
            f = procedural.effect(name, rng, size, FRAMES, scale=float(rng.uniform(0.8, 1.25)))
            xs.append(f.transpose(0, 3, 1, 2))
            ys.append(c)
    return np.stack(xs).astype(np.float32), np.array(ys)


def _crops(rng, x: np.ndarray, n: int):
    """Random wrap-around crops (a rolled tile is still the same periodic texture) and flips."""
    out = np.empty((len(x), x.shape[-3], n, n), np.float32) if x.ndim == 4 else None
    for i in range(len(x)):
        dy, dx = rng.integers(0, x.shape[-2]), rng.integers(0, x.shape[-1])
        t = np.roll(x[i], (dy, dx), axis=(-2, -1))[..., :n, :n]
        if rng.random() < 0.5:
            t = t[..., ::-1]
        out[i] = t
    return out


def _one_hot(ids, n):
    import torch

    return torch.nn.functional.one_hot(torch.as_tensor(ids), n).float()


def train_gan(kind: str, seed: int, steps: int, batch: int, per_class: int, log, upsample: str = "bilinear",
              fine: int = 4, head_upsample: str = "nearest", gram: float = 0.0, ema: float = 0.0,
              ema_warmup: bool = False, lr_g: float = 2e-4, lr_d: float = 2e-4,
              max_seconds: float | None = None) -> tuple[dict, dict]:
    import torch
    import torch.nn.functional as F

    from . import nets

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    if kind == "materials":
        data, ids = material_bank(seed, per_class)
        classes, out = procedural.MATERIALS, 5
    else:
        data, ids = effect_bank(seed, per_class)
        classes, out = procedural.EFFECTS, 3
    log(f"{kind}: rendered {len(data)} training tiles in {time.perf_counter() - t0:.1f} s")
    n_cls = len(classes)
    # bilinear (wrap-padded) upsampling in the trunk and skip leaves no blocks from the 16-pixel
    # latent cells (nearest leaves a visible grid); fine noise (channels at 1/4 resolution) gives
    # the stochastic detail the coarse grid lacks
    config = {"zc": ZC, "n_cls": n_cls, "out": out, "trunk": [64, 48, 32], "head": [24, 12],
              "upsample": upsample, "fine": fine}
    if head_upsample != "nearest":
        config["head_upsample"] = head_upsample
    G = nets.TileGenerator(config["zc"], n_cls, out, tuple(config["trunk"]), tuple(config["head"]),
                           config["upsample"], config["fine"], head_upsample)
    G_ema = None
    if ema > 0:  # an exponential moving average of the generator's weights is what ships
        import copy

        G_ema = copy.deepcopy(G).eval()
        for p in G_ema.parameters():
            p.requires_grad_(False)
    bank = _gram_bank(out) if gram > 0 else None
    zch = G.z_channels
    D = nets.Critic(out, n_cls)
    Dp = nets.Critic(2 * out, n_cls) if kind == "flipbook" else None
    opt_g = torch.optim.Adam(G.parameters(), lr=lr_g, betas=(0.0, 0.99))
    d_params = list(D.parameters()) + (list(Dp.parameters()) if Dp else [])
    opt_d = torch.optim.Adam(d_params, lr=lr_d, betas=(0.0, 0.99))
    r = CROP // 16
    dtheta = 2 * math.pi / FRAMES
    by_class = [np.flatnonzero(ids == c) for c in range(n_cls)]

    def real_batch(cls_ids):
        pick = np.array([rng.choice(by_class[c]) for c in cls_ids])
        if kind == "materials":
            return torch.from_numpy(_crops(rng, data[pick], CROP)), None
        fi = rng.integers(0, FRAMES, len(pick))
        a = data[pick, fi]
        b = data[pick, (fi + 1) % FRAMES]
        both = _crops(rng, np.concatenate([a, b], 1), CROP)
        return torch.from_numpy(both[:, :out].copy()), torch.from_numpy(both)

    def fake_batch(cls):
        if kind == "materials":
            z = torch.randn(len(cls), zch, r, r)
            img, pre = G(z, cls)
            return img, pre, None
        za, zb = torch.randn(2, len(cls), zch, r, r)
        th = torch.rand(len(cls), 1, 1, 1) * 2 * math.pi
        img, pre = G(torch.cos(th) * za + torch.sin(th) * zb, cls)
        img2, _ = G(torch.cos(th + dtheta) * za + torch.sin(th + dtheta) * zb, cls)
        return img, pre, torch.cat([img, img2], 1)

    def stats(x):
        return torch.cat([x.mean(dim=(2, 3)), x.std(dim=(2, 3))], 1)

    log_every = max(1, steps // 20)
    done = 0
    for step in range(1, steps + 1):
        if max_seconds is not None and time.perf_counter() - t0 > max_seconds:
            log(f"{kind}: time budget of {max_seconds:.0f} s reached after {done} steps")
            break
        done = step
        cls_ids = rng.integers(0, n_cls, batch)
        cls = _one_hot(cls_ids, n_cls)
        real, real_pair = real_batch(cls_ids)
        # critic
        with torch.no_grad():
            fake, _, fake_pair = fake_batch(cls)
        d_loss = F.relu(1 - D(real, cls)).mean() + F.relu(1 + D(fake, cls)).mean()
        if Dp is not None:
            d_loss = d_loss + F.relu(1 - Dp(real_pair, cls)).mean() + F.relu(1 + Dp(fake_pair, cls)).mean()
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        # generator: adversarial + preview consistency + per-sample colour statistics
        fake, pre, fake_pair = fake_batch(cls)
        adv = -D(fake, cls).mean()
        if Dp is not None:
            adv = adv - Dp(fake_pair, cls).mean()
        pre_loss = F.l1_loss(pre, F.avg_pool2d(fake, 4).detach())
        mom = F.l1_loss(stats(fake), stats(real))
        g_loss = adv + pre_loss + mom
        gl = torch.zeros(())
        if bank is not None:  # texture statistics of each fake vs a real crop of the same class
            gf, gr = _grams(fake, bank), _grams(real, bank)
            gl = ((gf - gr).flatten(1).norm(dim=1) / (gr.flatten(1).norm(dim=1) + 1e-6)).mean()
            g_loss = g_loss + gram * gl
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        if G_ema is not None:
            decay = min(ema, (1 + step) / (10 + step)) if ema_warmup else ema
            with torch.no_grad():
                for pe, p in zip(G_ema.parameters(), G.parameters()):
                    pe.lerp_(p, 1 - decay)
        if step % log_every == 0 or step == steps:
            log(f"{kind} step {step}/{steps} d {d_loss.item():.3f} adv {adv.item():.3f} "
                f"preview {pre_loss.item():.4f} stats {mom.item():.4f} gram {gl.item():.4f} "
                f"({time.perf_counter() - t0:.0f} s)")
    steps = done
    G.eval()
    if G_ema is not None:
        G = G_ema
    data_doc = (
        f"procedurally rendered tileable {'materials' if kind == 'materials' else 'looping effects'} "
        f"({', '.join(classes)}), {per_class} per class ({len(data)} in all) "
        + (f"{TILE}x{TILE} albedo+height+roughness" if kind == "materials" else f"{FRAMES} frames of {CROP}x{CROP}")
        + f", random {CROP}x{CROP} wrap-around crops and flips; render seeds {seed * 1000}+class*100000+i"
        + (f"; losses: hinge + preview L1 + colour moments" + (f" + {gram:g} x random-filter Gram vs same-class "
           f"real crops" if gram > 0 else "")
           + (f"; EMA {ema:g}{' (warm-up)' if ema_warmup else ''} of the generator weights shipped" if ema > 0 else "")
           + f"; Adam lr G {lr_g:g} / D {lr_d:g}" if (gram > 0 or ema > 0 or lr_g != lr_d) else "")
    )
    return {"state_dict": G.state_dict(), "config": config, "classes": list(classes)}, {
        "data": data_doc, "held_out": f"none for the GAN (scored against fresh procedural renders from seed "
                                      f"{HELD_OUT_SEED})", "epochs": steps, "steps": steps, "batch": batch,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def train_pbr(seed: int, steps: int, batch: int, per_class: int, log) -> tuple[dict, dict]:
    import torch
    import torch.nn.functional as F

    from . import nets

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    data, _ = material_bank(seed, per_class)
    log(f"pbr: rendered {len(data)} training tiles in {time.perf_counter() - t0:.1f} s")
    net = nets.PBRNet()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)

    def grads(h):
        return h - torch.roll(h, 1, 3), h - torch.roll(h, 1, 2)

    log_every = max(1, steps // 20)
    for step in range(1, steps + 1):
        x = torch.from_numpy(_crops(rng, data[rng.integers(0, len(data), batch)], CROP))
        albedo = x[:, :3]
        # colour augmentation: tints, brightness and saturation the shipped tiles never had, so
        # the net reads relief from structure and shading rather than from the palette
        if rng.random() < 0.7:
            perm = torch.from_numpy(rng.permutation(3))
            gain = torch.from_numpy(rng.uniform(0.6, 1.3, (batch, 3, 1, 1)).astype(np.float32))
            albedo = (albedo[:, perm] * gain).clamp(0, 1)
        target = x[:, 3:5]
        pred = net(albedo)
        gx, gy = grads(pred[:, :1])
        tx, ty = grads(target[:, :1])
        loss = F.l1_loss(pred, target) + 4.0 * (F.l1_loss(gx, tx) + F.l1_loss(gy, ty))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % log_every == 0 or step == steps:
            log(f"pbr step {step}/{steps} loss {loss.item():.4f} ({time.perf_counter() - t0:.0f} s)")
    net.eval()
    return {"state_dict": net.state_dict(), "config": {"widths": [8, 16, 32, 48]}}, {
        "data": f"procedural (albedo -> height, roughness) pairs: tileable materials "
                f"({', '.join(procedural.MATERIALS)}), {per_class} per class ({len(data)} in all) at {TILE}x{TILE}, "
                f"random {CROP}x{CROP} wrap-around crops, flips, random channel swaps and gains; render seeds "
                f"{seed * 1000}+class*100000+i",
        "held_out": f"procedural pairs rendered from seed {HELD_OUT_SEED} upwards (benchmarks/textures_quality.py)",
        "epochs": steps, "steps": steps, "batch": batch, "seconds": round(time.perf_counter() - t0, 1),
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=tuple(DEFAULTS) + ("exemplar",), required=True)
    ap.add_argument("--from", dest="source", type=Path,
                    help="exemplar: the trained pbr checkpoint whose U-Net makes the exemplar's maps; layout: a "
                         "shipped materials-net folder whose ONNX weights become the checkpoint (no training; "
                         "to re-export a model as a newer graph)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int)
    ap.add_argument("--batch", type=int)
    ap.add_argument("--per-class", type=int)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--upsample", choices=("nearest", "bilinear"), help="GAN generators: upsampling")
    ap.add_argument("--fine", type=int, help="GAN generators: fine-noise channels at 1/4 resolution")
    ap.add_argument("--head-upsample", choices=("nearest", "bilinear"), help="GAN generators: head feature upsampling")
    ap.add_argument("--gram", type=float, help="GAN generators: weight of the random-filter Gram loss")
    ap.add_argument("--ema", type=float, help="GAN generators: EMA decay of the shipped generator weights (0 = off)")
    ap.add_argument("--ema-warmup", action=argparse.BooleanOptionalAction, default=None,
                    help="GAN generators: ramp the EMA decay up over the first steps")
    ap.add_argument("--lr-g", type=float)
    ap.add_argument("--lr-d", type=float)
    ap.add_argument("--max-seconds", type=float, help="stop training after this many seconds (steps recorded)")
    ap.add_argument("--pix", type=int, default=32, help="layout: hidden units of the per-class per-pixel MLP")
    ap.add_argument("--pix-layers", type=int, default=2, help="layout: hidden layers of the per-pixel MLP")
    ap.add_argument("--init", type=Path, help="layout: continue from this checkpoint (same configuration)")
    ap.add_argument("--lr", type=float, default=2e-3, help="layout: peak learning rate (cosine decay)")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    import sys

    import torch

    torch.set_num_threads(a.threads)
    log = (lambda m: None) if a.quiet else (lambda m: print(m, flush=True))
    if a.model == "exemplar":  # no training: the exemplar model's learned part is the pbr U-Net
        if a.source is None:
            ap.error("--model exemplar needs --from runs/textures-pbr.pt")
        src = torch.load(a.source, map_location="cpu", weights_only=True)
        if src.get("model") != "pbr":
            ap.error(f"{a.source} is not a pbr checkpoint")
        body = {"state_dict": src["state_dict"], "config": src["config"]}
        training = {**src["training"], "data": "synthesis is patch-based (no training); maps: " + src["training"]["data"]}
        a.seed = src["training"]["seed"]
    elif a.model == "layout" and a.source is not None:  # no training: the weights of a shipped model
        from .layout_net import checkpoint_from_onnx

        src = checkpoint_from_onnx(a.source)
        body = {k: src[k] for k in ("state_dict", "config", "classes", "channels")}
        training = {**src["training"], "data": src["training"]["data"] + f"; weights of materials-net {src['version']} "
                    "(re-exported, not retrained)"}
        a.seed = src["training"]["seed"]
    else:
        d = DEFAULTS[a.model]
        steps, batch, per_class = a.steps or d["steps"], a.batch or d["batch"], a.per_class or d["per_class"]
        if a.model == "pbr":
            body, training = train_pbr(a.seed, steps, batch, per_class, log)
        elif a.model == "layout":
            from .layout_net import train_layout

            init = torch.load(a.init, map_location="cpu", weights_only=False) if a.init else None
            body, training = train_layout(a.seed, steps, batch, per_class, log, max_seconds=a.max_seconds,
                                          pix=a.pix, pix_layers=a.pix_layers, init=init, lr=a.lr)
            if init is not None:
                training["steps"] += init["training"]["steps"]
                training["epochs"] = training["steps"]
                training["seconds"] = round(training["seconds"] + init["training"]["seconds"], 1)
        else:
            g = {k: (d.get(k, v) if getattr(a, k) is None else getattr(a, k)) for k, v in GAN_DEFAULTS.items()}
            body, training = train_gan(a.model, a.seed, steps, batch, per_class, log,
                                       a.upsample or d["upsample"], d["fine"] if a.fine is None else a.fine,
                                       max_seconds=a.max_seconds, **g)
    cmd = "python -m gamegen.generators.textures.train " + " ".join(sys.argv[1:] if argv is None else argv)
    if a.model == "exemplar" or (a.model == "layout" and a.source is not None):
        cmd = training["command"] + " && " + cmd
    ckpt = {"kind": "textures", "model": a.model, **body, "training": {**training, "command": cmd, "seed": a.seed}}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = a.out.with_suffix(a.out.suffix + ".tmp")
    torch.save(ckpt, tmp)
    tmp.replace(a.out)
    log(f"wrote {a.out}")


if __name__ == "__main__":
    main()
