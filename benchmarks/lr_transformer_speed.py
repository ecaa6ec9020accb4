"""What the KV-cache step buys the Lode Runner tile transformer: one screen (704 tiles, row-major)
drawn three ways in one process, one thread each, same weights and the same draws:

* the served path: the exported KV-cache step in ONNX Runtime (``levels/loderunner-transformer``'s
  sampler, controls at their defaults, without the generator's gold / repair / encoding);
* the same KV-cache step in PyTorch eager;
* no cache: the whole drawn prefix through the full model in PyTorch eager for every tile (what a
  graph without past keys/values would cost).

    python benchmarks/lr_transformer_speed.py --checkpoint runs/lr-tf64d.pt --repeat 3
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from gamegen.generators.levels import nets
from gamegen.server.registry import load_registry

ROOT = Path(__file__).resolve().parent.parent


def draw(logits: np.ndarray, u: float) -> int:
    p = np.exp(logits - logits.max())
    c = np.cumsum(p)
    return min(int(np.searchsorted(c, u * c[-1], side="right")), len(c) - 1)


def screen_torch(model: nets.TileTransformer, u: np.ndarray, cache: bool) -> np.ndarray:
    h, w, start = model.height, model.width, model.tiles
    grid = np.empty((h, w), np.int64)
    pad = np.full((h + 2, w + 2), start, np.int64)
    step = nets.TileTransformerStep(model)
    dh = model.d // model.heads
    k = torch.zeros(model.layers, 1, model.heads, 0, dh)
    v = k.clone()
    ctx_all = np.zeros((1, h * w, len(model.context)), np.int64)
    with torch.no_grad():
        for p in range(h * w):
            r, x = divmod(p, w)
            ctx = [pad[1 + r + dy, 1 + x + dx] for dy, dx in model.context]
            ctx_all[0, p] = ctx
            if cache:
                lg, k, v = step(torch.tensor([ctx]), torch.tensor([p]), k, v)
                lg = lg[0].numpy()
            else:
                lg = model(torch.from_numpy(ctx_all[:, :p + 1]), torch.arange(p + 1)[None])[0, -1].numpy()
            t = draw(lg, u[p])
            grid[r, x] = t
            pad[1 + r, 1 + x] = t
    return grid


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", type=Path, required=True, help="the shipped model's checkpoint (same weights)")
    ap.add_argument("--ref", default="levels/loderunner-transformer")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(1)
    ck = torch.load(a.checkpoint, weights_only=False)
    model = nets.build("transformer", "loderunner", ck["config"])
    model.load_state_dict(ck["state_dict"])
    model.eval()
    gen = load_registry(device="cpu").resolve(a.ref)
    sampler = gen.sampler
    times = {"ONNX Runtime, KV-cache step (served)": [], "PyTorch eager, KV-cache step": [],
             "PyTorch eager, whole prefix per tile (no cache)": []}
    same = True
    for rep in range(a.repeat):
        rng = np.random.default_rng(rep)
        t0 = time.perf_counter()
        sampler._screen(rng, {"enemies": 0.0, "temperature": 1.0})
        times["ONNX Runtime, KV-cache step (served)"].append(time.perf_counter() - t0)
        u = np.random.default_rng(rep).random(704)
        t0 = time.perf_counter()
        g1 = screen_torch(model, u, cache=True)
        times["PyTorch eager, KV-cache step"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        g2 = screen_torch(model, u, cache=False)
        times["PyTorch eager, whole prefix per tile (no cache)"].append(time.perf_counter() - t0)
        same &= bool((g1 == g2).all())
    base = np.median(times["ONNX Runtime, KV-cache step (served)"])
    print(f"\n{gen.info.name} {gen.info.version}: one 22×32 screen (704 tiles), median of {a.repeat}\n")
    print("| how | ms per screen | vs served |")
    print("|---|---|---|")
    for k, ts in times.items():
        print(f"| {k} | {1000 * np.median(ts):.0f} | {np.median(ts) / base:.1f}× |")
    print(f"\ncache and no-cache PyTorch screens identical: {same}")


if __name__ == "__main__":
    main()
