"""Materials: generative families compared (issue 15, "pick by measurement").

    python benchmarks/materials_families.py --flow class=runs/flow-class.pt --flow layout=runs/flow-layout.pt
    python benchmarks/materials_families.py --flow class@600=runs/flow-class-600.pt ... --no-sheets

A flow-matching (rectified flow) U-Net on the torus (``gamegen.generators.textures.flow``; trained
by its ``train`` entry point, not shipped) sampled with a few Euler steps, beside what is served:
``materials-net`` 2.0.0 (layout + regression CNN), its teacher ``materials-layered``, the old
``materials-procedural`` and the old spatial GAN ``materials-gan``. The figures are those of
``benchmarks/materials_quality.py`` (same definitions, same held-out seeds: generators at seeds
1000+, the teacher's held-out renders from ``HELD_OUT_SEED``; 256 px, default parameters: pattern 1,
wear 0.3), on the albedo quantised to 8 bits and the height to 16 bits as the served PNGs are.

Each ``--flow label=path`` is one checkpoint; ``--euler 4 8 16`` samples each with those step
counts, except snapshots (a label with ``@``, e.g. ``class@600``: the same run earlier), which use
``--default-steps`` and stay off the contact sheets. Sample times: one thread, median of 3, the flow
in PyTorch eager (numpy noise → maps, no encoding) and, for comparison, ``materials-net`` through
its served generator with albedo only (ONNX Runtime, one thread, includes the PNG encoding).

Contact sheet ``benchmarks/results/materials_families.png``: per material (seed 1001), each cell a
256 px tile repeated 2×2: the flow checkpoints (not the snapshots) | materials-net 2.0.0 | teacher | procedural;
``materials_families_detail.png``: the same tiles at 1:1.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from materials_quality import CLASSES, _label, _save, _tile2, brick_photo, load_all, measure, row  # noqa: E402
from textures_quality import assets  # noqa: E402

from gamegen.generators.textures import maps  # noqa: E402
from gamegen.generators.textures.train import HELD_OUT_SEED  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SERVED = (("textures/materials-net", "materials-net 2.0.0 (layout + CNN, served)"),
          ("textures/materials-layered", "materials-layered (teacher)"),
          ("textures/materials-procedural", "materials-procedural (old baseline)"),
          ("textures/materials-gan", "materials-gan (old spatial GAN)"))


def flow_maps(net, m: str, seed: int, size: int, steps: int) -> dict:
    """A flow sample as the served PNGs would hold it (albedo 8-bit, height 16-bit)."""
    from gamegen.generators.textures import flow

    alb, hgt, _ = flow.sample(net, m, seed, size, steps)
    return {"albedo": np.round(alb * 255) / 255, "height": np.round(hgt * 65535) / 65535}


def median_time(fn, runs: int = 3) -> float:
    fn()
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=Path, default=ROOT / "models")
    ap.add_argument("--flow", action="append", default=[], help="label=checkpoint (repeatable)")
    ap.add_argument("--euler", type=int, nargs="*", default=(4, 8, 16), help="Euler steps (not for snapshots)")
    ap.add_argument("--default-steps", type=int, default=8)
    ap.add_argument("--n", type=int, default=6, help="seeds per class")
    ap.add_argument("--no-sheets", action="store_true")
    ap.add_argument("--no-served", action="store_true", help="flow rows only")
    ap.add_argument("--no-times", action="store_true")
    a = ap.parse_args()
    import torch

    from gamegen.generators.textures import flow

    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    gens = load_all(a.models)
    teacher = gens["textures/materials-layered"]
    held = {m: [assets(teacher, HELD_OUT_SEED + i, {"material": m, "size": 256}, ["albedo"])["albedo"]
                for i in range(a.n)] for m in CLASSES}
    photo = brick_photo()
    flows = []
    for spec in a.flow:
        label, path = spec.split("=", 1)
        ck = torch.load(path, map_location="cpu", weights_only=False)
        net = flow.load(Path(path))
        tr = ck["training"]
        flows.append((label, net, tr))
        print(f"- flow `{label}`: {path}, conditioning {tr['cond']}, {tr['steps']} steps of {tr['batch']}, "
              f"{tr['seconds']:.0f} s training, {sum(p.numel() for p in net.parameters()) / 1e6:.2f} M parameters")
    print(f"\n## Generative families (256 px albedo, {a.n} seeds per class, default parameters)\n")
    print("| class | generator | lattice (lag) | coherence | two-scale | chroma HF | diversity | to held-out "
          "teacher | to brick photo | seam albedo / height | seam rank |\n|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for m in CLASSES:
        for label, net, _ in flows:
            for k in (a.euler if "@" not in label else (a.default_steps,)):
                outs = [flow_maps(net, m, 1000 + s, 256, k) for s in range(a.n)]
                rows.append(row(m, f"flow {label}, {k} Euler steps", measure(outs, held[m], photo if m == "brick" else None)))
                print(rows[-1], flush=True)
        if not a.no_served:
            for ref, label in SERVED:
                outs = [assets(gens[ref], 1000 + s, {"material": m, "size": 256}, ["albedo", "height"])
                        for s in range(a.n)]
                rows.append(row(m, label, measure(outs, held[m], photo if m == "brick" else None)))
                print(rows[-1], flush=True)
    if not a.no_times and flows:
        print("\n| sample time (ms, one thread, median of 3) | 256 px | 512 px |\n|---|---|---|")
        label, net, _ = flows[0]
        for k in a.euler:
            t = [median_time(lambda n=n: flow.sample(net, "brick", 1, n, k)) for n in (256, 512)]
            print(f"| flow `{label}` ({net.cond and 'layout + ' or ''}class), {k} Euler steps, PyTorch eager | "
                  f"{t[0]:.0f} | {t[1]:.0f} |", flush=True)
        for label, net, _ in flows[1:]:
            if net.cond:
                t = [median_time(lambda n=n: flow.sample(net, "brick", 1, n, a.default_steps)) for n in (256, 512)]
                print(f"| flow `{label}` (layout + class; layout drawn inside), {a.default_steps} Euler steps | "
                      f"{t[0]:.0f} | {t[1]:.0f} |", flush=True)
                break
        g = gens["textures/materials-net"]
        t = [median_time(lambda n=n: assets(g, 1, {"material": "brick", "size": n}, ["albedo"])) for n in (256, 512)]
        print(f"| materials-net 2.0.0 served generator (layout + ORT + PNG), albedo | {t[0]:.0f} | {t[1]:.0f} |")
    if not a.no_sheets:
        seed, cell = 1001, 320
        sheet, detail = [], []
        for m in CLASSES:
            cells, ones = [], []
            for label, net, _ in [f for f in flows if "@" not in f[0]]:
                alb = flow_maps(net, m, seed, 256, a.default_steps)["albedo"]
                cells.append(_label(maps.wrap_resize(_tile2(alb), cell), f"{m}: flow {label}"))
                ones.append(_label(alb, f"{m}: flow {label}"))
            for ref, label in SERVED[:3]:
                alb = assets(gens[ref], seed, {"material": m, "size": 256}, ["albedo"])["albedo"]
                cells.append(_label(maps.wrap_resize(_tile2(alb), cell), f"{m}: {ref.split('/')[1]}"))
                ones.append(_label(alb, f"{m}: {ref.split('/')[1]}"))
            sheet.append(np.concatenate(cells, 1))
            detail.append(np.concatenate(ones, 1))
        out = ROOT / "benchmarks" / "results"
        for name, img, c in (("materials_families.png", sheet, cell), ("materials_families_detail.png", detail, 256)):
            p = out / name
            _save(np.concatenate(img, 0), p, c)
            print(f"\nwrote {p.relative_to(ROOT)} ({p.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
