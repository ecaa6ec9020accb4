"""What ``candidates`` buys the learned Lode Runner models, and what it costs.

For each learned model (and version) and each number of candidates, N served screens (the
generator in-process: sampled, ranked, gold / enemies set, repaired; ``digging`` on) are
measured against the 15 held-out real screens:

* seconds per screen (one thread, the whole generator call);
* the design distance (``generators/levels/screen_design.py``: Mahalanobis distance of the
  screen's figures from the training screens'): median, and the share of screens beyond the
  training screens' 90th percentile (10% of training screens are, by definition);
* the failure looks a designer named, per screen: near-empty (8 or more empty rows, or under 60
  solid tiles), a brick mass (a 4-connected solid area over 200 tiles), a ladder wall (over a
  quarter of the ladder tiles with a ladder beside them);
* mirror-symmetric screens: the share whose architecture (gold, guards and the spawn as empty)
  matches its mirror image on 80% of the cells or more (the ``symmetry`` control; 1 in 5 corpus
  screens).

    python benchmarks/lr_candidates.py                       # 45 screens, candidates 1 / 4 / 8
    python benchmarks/lr_candidates.py --n 20 --candidates 1 8 --models levels/loderunner
    python benchmarks/lr_candidates.py --candidates 8 --symmetry 0 0.5 1   # the symmetry control
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from gamegen.generators.events import Asset
from gamegen.generators.levels import corpus, screen_design
from gamegen.generators.levels.games import to_grid
from gamegen.server.registry import load_registry
from scipy import ndimage

MODELS = ("levels/loderunner@1.0.0", "levels/loderunner-transformer", "levels/loderunner-transformer@1.0.0",
          "levels/loderunner-masked")


def looks(g: np.ndarray) -> dict[str, bool]:
    solid = np.isin(g, np.frombuffer(b"bB", np.uint8))
    ladder = g == ord("#")
    free = ~(solid | ladder | (g == ord("-")))
    lab, n = ndimage.label(solid)
    mass = np.bincount(lab.ravel())[1:].max() if n else 0
    wall = (ladder[:, 1:] & ladder[:, :-1]).sum() / max(1, ladder.sum())
    return {"near-empty": bool(free.all(axis=1).sum() >= 8 or solid.sum() < 60), "brick mass": bool(mass > 200),
            "ladder wall": bool(wall > 0.25)}


def mirror_match(g: np.ndarray) -> float:
    """Share of the cells whose architecture tile matches the mirror image's."""
    a = np.where(np.isin(g, np.frombuffer(b"GEM", np.uint8)), ord("."), g)
    return float((a == a[:, ::-1]).mean())


def row(label: str, grids: list[np.ndarray], seconds: float | None, p90: float) -> None:
    d = np.array([screen_design.distance(g) for g in grids])
    lk = [looks(g) for g in grids]
    fails = np.mean([any(x.values()) for x in lk])
    per = ", ".join(f"{k} {np.mean([x[k] for x in lk]):.0%}" for k in lk[0])
    sec = "" if seconds is None else f"{seconds:.2f}"
    sym = np.mean([mirror_match(g) >= 0.8 for g in grids])
    print(f"| {label} | {sec} | {np.median(d):.1f} | {np.mean(d > p90):.0%} | {fails:.0%} ({per}) | {sym:.0%} |",
          flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=45, help="screens per model and setting (seeds 0..n-1)")
    ap.add_argument("--candidates", type=int, nargs="+", default=[1, 4, 8])
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--symmetry", type=float, nargs="+", default=[None],
                    help="values of the symmetry request parameter (default: the model's own)")
    a = ap.parse_args()
    reg = load_registry(None, device="cpu")
    p90 = json.loads(screen_design.REFERENCE.read_text())["corpus_distance"]["p90"]
    train, held = corpus.load_split("loderunner")
    print(f"\n{a.n} screens per row; design distance: training screens' median "
          f"{np.median([screen_design.distance(lv.grid) for lv in train]):.1f}, p90 {p90:.1f}\n")
    print("| screens | s / screen | design distance, median | beyond the corpus p90 | failure looks "
          "| mirror-symmetric |")
    print("|---|---|---|---|---|---|")
    row("held-out real (15)", [lv.grid for lv in held], None, p90)
    row("all corpus screens (150)", [lv.grid for lv in train + held], None, p90)
    for ref in a.models:
        gen = reg.resolve(ref)
        takes = {p.name for p in gen.info.params}
        for k in a.candidates:
            for sym in a.symmetry if "symmetry" in takes else [None]:
                params = {"candidates": k, "digging": True, **({} if sym is None else {"symmetry": sym})}
                grids, t0 = [], time.perf_counter()
                for seed in range(a.n):
                    events = gen.generate(seed, params, ["txt"], partials=False)
                    asset = next(e for e in events if isinstance(e, Asset))
                    grids.append(to_grid(asset.data.decode().splitlines()))
                label = f"{ref} ({gen.info.version}), candidates {k}" + ("" if sym is None else f", symmetry {sym:g}")
                row(label, grids, (time.perf_counter() - t0) / a.n, p90)


if __name__ == "__main__":
    main()
