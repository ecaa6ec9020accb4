"""What the server returns, per model: playability (must be 100%), repair effort, control accuracy.

    python benchmarks/levels_quality.py [--seeds 100]

Raw (before-repair) playability and pattern KL per model family are in level_families.py.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from gamegen.generators.events import Asset, Final
from gamegen.generators.levels import controls, playability
from gamegen.generators.levels.games import to_grid
from gamegen.server.registry import load_registry


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--models", nargs="+", default=["levels/smb", "levels/smb-rules", "levels/loderunner",
                                                    "levels/loderunner@1.0.0", "levels/loderunner-rules"])
    args = ap.parse_args()
    reg = load_registry(device="cpu")
    print(f"{args.seeds} seeds per row; parameters drawn at random per seed (np.random.default_rng(0))")
    print("| model | returned playable | mean attempts | mean repaired tiles | control | requested vs got |")
    print("|---|---|---|---|---|---|")
    for ref in args.models:
        gen = reg.resolve(ref)
        rng = np.random.default_rng(0)
        ok = 0
        attempts, repaired, errs_e, errs_p, errs_g = [], [], [], [], []
        t0 = time.perf_counter()
        for seed in range(args.seeds):
            if "smb" in ref:
                p = {"width": int(rng.integers(50, 1001)), "enemies": float(rng.random()), "gaps": float(rng.random())}
            else:
                p = {"gold": int(rng.integers(1, 31)), "enemies": float(rng.random())}
            events = list(gen.generate(seed, p, ["txt"]))
            final = events[-1]
            assert isinstance(final, Final)
            grid = to_grid(next(e for e in events if isinstance(e, Asset)).data.decode().splitlines())
            game = "smb" if "smb" in ref else "loderunner"
            ok += playability.check(game, grid).playable
            attempts.append(final.attempts)
            repaired.append(final.repaired_tiles)
            if game == "smb":
                errs_e.append(int((grid == ord("E")).sum()) - controls.smb_enemy_target(p["enemies"], 0, p["width"]))
                errs_p.append(controls.smb_pit_count(grid) - controls.smb_gap_target(p["gaps"], 0, p["width"]))
            else:
                errs_g.append(int((grid == ord("G")).sum()) - p["gold"])
                errs_e.append(int((grid == ord("E")).sum()) - controls.lr_enemy_count(p["enemies"]))
        dt = (time.perf_counter() - t0) / args.seeds * 1e3

        def acc(errs):
            e = np.abs(np.asarray(errs))
            return f"exact {np.mean(e == 0):.0%}, mean abs error {e.mean():.2f}"

        ctl = [("enemies", acc(errs_e))] + ([("pit columns", acc(errs_p))] if errs_p else [("gold", acc(errs_g))])
        for i, (name, text) in enumerate(ctl):
            head = (f"| {ref} | {ok}/{args.seeds} | {np.mean(attempts):.2f} | {np.mean(repaired):.1f} "
                    if i == 0 else "| | | | ")
            print(f"{head}| {name} | {text} |")
        print(f"|  | ({dt:.1f} ms per level incl. txt encoding) | | | | |")


if __name__ == "__main__":
    main()
