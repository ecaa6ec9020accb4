"""Train the one-pass erosion network on pairs the erosion simulator produces.

    python -m gamegen.generators.terrain.train --out runs/terrain-erosion.pt --minutes 6
    gamegen export runs/terrain-erosion.pt --models models

Data: 192 x 192 world tiles exactly as the generator cuts them (same noise, same tile lattice),
with random noise settings (fbm / ridged, scale, octaves, persistence, warp) per tile; the target
is :func:`erosion.erode` with :data:`HYDRAULIC` + :data:`THERMAL` iterations. Training tiles use
seeds 0 .. n-1; held-out tiles use seeds from 1,000,000 up (never trained on). Single thread.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from . import chunks, erosion

HYDRAULIC = 200
THERMAL = 40
HELD_OUT_SEED = 1_000_000


def tile_settings(seed: int) -> tuple[chunks.Shape, int, int]:
    """Random noise settings and a tile position for a data seed."""
    rng = np.random.default_rng(seed)
    shape = chunks.Shape(
        seed=seed, noise=str(rng.choice(["fbm", "ridged"])), scale=float(np.round(rng.uniform(160, 768))),
        octaves=int(rng.integers(4, 9)), persistence=float(np.round(rng.uniform(0.4, 0.6), 2)),
        warp=float(np.round(rng.uniform(0.0, 0.8), 2)) if rng.random() < 0.4 else 0.0,
    )
    return shape, int(rng.integers(-200, 200)), int(rng.integers(-200, 200))


def tile_inputs(seeds) -> np.ndarray:
    """Un-eroded world tiles for data seeds, cut exactly as the generator cuts them: (n, 192, 192)."""
    inputs = []
    for s in seeds:
        shape, kx, ky = tile_settings(s)
        inputs.append(shape.base(kx * chunks.TILE_STEP - chunks.TILE_HALF, ky * chunks.TILE_STEP - chunks.TILE_HALF,
                                 chunks.TILE, chunks.TILE))
    return np.stack(inputs)


def make_pairs(seeds, batch: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets), each (n, 192, 192) float32."""
    x = tile_inputs(seeds)
    y = np.concatenate([erosion.erode(x[i:i + batch], HYDRAULIC, THERMAL) for i in range(0, len(x), batch)])
    return x, y


def terrain_stats(h: np.ndarray) -> dict[str, float]:
    """Slope and curvature figures of (n, H, W) normalised heights (per-sample units)."""
    gy, gx = np.gradient(h.astype(np.float64), axis=(-2, -1))
    slope = np.hypot(gx, gy)
    lap = 4 * h[..., 1:-1, 1:-1] - h[..., 2:, 1:-1] - h[..., :-2, 1:-1] - h[..., 1:-1, 2:] - h[..., 1:-1, :-2]
    return {"slope_mean": float(slope.mean()), "slope_p90": float(np.percentile(slope, 90)),
            "curvature_mean": float(np.abs(lap).mean())}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("runs/terrain-erosion.pt"))
    ap.add_argument("--tiles", type=int, default=256, help="training tiles")
    ap.add_argument("--held-out", type=int, default=32)
    ap.add_argument("--minutes", type=float, default=6.0, help="training time budget")
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--name", default="terrain-erosion")
    args = ap.parse_args(argv)

    import torch

    from . import nets

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    t0 = time.time()
    x, y = make_pairs(range(args.tiles))
    hx, hy = make_pairs(range(HELD_OUT_SEED, HELD_OUT_SEED + args.held_out))
    data_s = time.time() - t0
    print(f"data: {len(x)} training + {len(hx)} held-out tiles in {data_s:.0f} s", flush=True)

    config = {"channels": args.channels, "gain": 20.0}
    model = nets.build(config)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    rng = np.random.default_rng(args.seed)
    budget = args.minutes * 60
    t1 = time.time()
    step = 0
    gain = config["gain"]
    while time.time() - t1 < budget:
        frac = (time.time() - t1) / budget
        for g in opt.param_groups:
            g["lr"] = 2e-3 * 0.5 * (1 + np.cos(np.pi * min(frac, 1.0)))
        idx = rng.integers(0, len(x), args.batch)
        oy, ox = rng.integers(0, chunks.TILE - args.crop + 1, 2)
        k, flip = int(rng.integers(0, 4)), bool(rng.integers(0, 2))   # the simulators are D4-symmetric
        xb = x[idx, oy:oy + args.crop, ox:ox + args.crop]
        yb = y[idx, oy:oy + args.crop, ox:ox + args.crop]
        xb, yb = np.rot90(xb, k, axes=(1, 2)), np.rot90(yb, k, axes=(1, 2))
        if flip:
            xb, yb = xb[:, :, ::-1], yb[:, :, ::-1]
        xt = torch.from_numpy(np.ascontiguousarray(xb)[:, None])
        yt = torch.from_numpy(np.ascontiguousarray(yb)[:, None])
        loss = torch.mean(((model(xt) - yt) * gain) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 100 == 0:
            print(f"step {step} loss {loss.item():.5f} ({time.time() - t1:.0f} s)", flush=True)
    train_s = time.time() - t1

    model.eval()
    with torch.no_grad():
        pred = np.concatenate([model(torch.from_numpy(hx[i:i + 4][:, None])).numpy()[:, 0]
                               for i in range(0, len(hx), 4)])
    metrics = {
        "held_out_tiles": len(hx),
        "rmse_noise_vs_simulator": float(np.sqrt(np.mean((hx - hy) ** 2))),
        "rmse_learned_vs_simulator": float(np.sqrt(np.mean((pred - hy) ** 2))),
        "simulator": terrain_stats(hy), "noise": terrain_stats(hx), "learned": terrain_stats(pred),
    }
    print(metrics, flush=True)
    ckpt = {
        "kind": "terrain", "name": args.name, "config": config, "state_dict": model.state_dict(),
        "simulator": {"hydraulic_iterations": HYDRAULIC, "thermal_iterations": THERMAL},
        "metrics": metrics,
        "training": {
            "data": (f"{args.tiles} 192x192 noise tiles (seeds 0..{args.tiles - 1}, random fbm/ridged settings) "
                     f"eroded by the simulator ({HYDRAULIC} hydraulic + {THERMAL} thermal iterations)"),
            "held_out": f"{args.held_out} tiles, seeds {HELD_OUT_SEED}..{HELD_OUT_SEED + args.held_out - 1}",
            "command": (f"python -m gamegen.generators.terrain.train --out {args.out} --tiles {args.tiles} "
                        f"--minutes {args.minutes:g} --channels {args.channels} --crop {args.crop} "
                        f"--batch {args.batch} --seed {args.seed}"),
            "epochs": step, "seed": args.seed, "seconds": round(data_s + train_s),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    torch.save(ckpt, tmp)
    tmp.replace(args.out)
    print(f"wrote {args.out} after {step} steps", flush=True)


if __name__ == "__main__":
    main()
