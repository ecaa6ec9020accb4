"""Does the playability checker agree with a physics agent? (SMB)

    python benchmarks/levels_agent.py [--seeds 12] [--wide 2]

For each model, levels as the server returns them at the densest settings (``gaps=0.8
enemies=0.8``, width 300, ``--seeds`` seeds; and width 1000, ``--wide`` seeds), plus the
corpus levels as they are:

* the tile checker's verdict (``playability.check``; every returned level must pass it),
* the agent (``generators/levels/agent.py``: continuous physics from the corpus's jump data, A*)
  on the geometry alone — a failure here is *structural* — and with patrolling, stompable enemies,
* **disagreements**: levels the checker passes that the agent cannot finish structurally (the
  issue's requirement is zero), and the reverse (the checker is stricter than the agent).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from gamegen.generators.events import Asset
from gamegen.generators.levels import agent, corpus, playability
from gamegen.generators.levels.games import to_grid
from gamegen.server.registry import load_registry


def level(gen, seed, params):
    ev = list(gen.generate(seed, params, ["txt"], partials=False))
    return to_grid(next(e for e in ev if isinstance(e, Asset)).data.decode().splitlines())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=12)
    ap.add_argument("--wide", type=int, default=2)
    ap.add_argument("--models", nargs="*", default=["levels/smb", "levels/smb-rules"])
    a = ap.parse_args()
    reg = load_registry(device="cpu")
    print("| levels | n | checker passes | agent finishes, geometry only | agent finishes, with enemies "
          "| mean completion with enemies | checker pass, agent structural fail | checker fail, agent finishes |")
    print("|---|---|---|---|---|---|---|---|")
    sets = []
    for ref in a.models:
        gen = reg.resolve(ref)
        sets.append((f"{ref} width=300 gaps=0.8 enemies=0.8",
                     [level(gen, s, {"width": 300, "gaps": 0.8, "enemies": 0.8}) for s in range(a.seeds)]))
        if a.wide:
            sets.append((f"{ref} width=1000 gaps=0.8 enemies=0.8",
                         [level(gen, s, {"width": 1000, "gaps": 0.8, "enemies": 0.8}) for s in range(a.wide)]))
    sets.append(("corpus levels (all 37, as they are)", [lv.grid for lv in corpus.load_levels("smb")]))
    for label, grids in sets:
        t0 = time.perf_counter()
        chk = [playability.check("smb", g).playable for g in grids]
        geo = [agent.play(g, enemies=False) for g in grids]
        full = [agent.play(g, enemies=True) for g in grids]
        bad = [i for i in range(len(grids)) if chk[i] and not geo[i].finished]
        rev = [i for i in range(len(grids)) if not chk[i] and geo[i].finished]
        comp = np.mean([min(1.0, r.max_x / g.shape[1]) for r, g in zip(full, grids)])
        print(f"| {label} | {len(grids)} | {sum(chk)} | {sum(r.finished for r in geo)} | "
              f"{sum(r.finished for r in full)} | {comp:.2f} | {len(bad)} | {len(rev)} |", flush=True)
        for i in bad:
            print(f"|  | seed/level {i}: {geo[i].reason} | | | | | | |")
        for i, r in enumerate(full):
            if not r.finished and geo[i].finished:
                print(f"|  | with enemies, #{i}: {r.reason} | | | | | | |")
        print(f"|  | ({time.perf_counter() - t0:.0f} s) | | | | | | |", flush=True)


if __name__ == "__main__":
    main()
