"""NPC policy quality per archetype: learned (ONNX, batched runtime) vs scripted FSM+A* vs random.

    python benchmarks/npc_quality.py [--model models/npc-mlp/1.0.0] [--seeds 30] [--json out.json]

Task figures per archetype (see generators/npc/tasks.py) over the same seeded scenes for every
policy, with 95% intervals (Wilson for rates, t for means). Then whether the parameters are
honoured: chase stand-off distance vs aggression, guard leash vs aggression, wander avoidance vs
caution, for the scripted and the learned policy. Prints markdown; the rows go to BENCHMARKS.md.
A learned archetype ships (manifest ``extra.archetypes``) only if it beats random on its figure.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from gamegen.generators.npc import tasks
from gamegen.generators.npc.runtime import PolicyRunner, RunnerPolicy
from gamegen.generators.npc.scripted import RandomPolicy, ScriptedPolicy

ROOT = Path(__file__).resolve().parent.parent
T95 = {2: 12.71, 3: 4.30, 4: 3.18, 5: 2.78, 6: 2.57, 8: 2.36, 10: 2.26, 15: 2.14, 20: 2.09, 30: 2.05, 40: 2.02}


def mean_ci(xs) -> tuple[float, float]:
    xs = np.asarray([x for x in xs if np.isfinite(x)], np.float64)
    n = len(xs)
    if n < 2:
        return (float(xs.mean()) if n else float("nan")), float("nan")
    t = T95[min(T95, key=lambda k: abs(k - n))] if n <= 40 else 1.96
    return float(xs.mean()), float(t * xs.std(ddof=1) / math.sqrt(n))


def wilson(k: int, n: int) -> tuple[float, float, float]:
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    p, z = k / n, 1.96
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return p, max(0.0, mid - half), min(1.0, mid + half)


def figure(task: str, rs: list[dict]) -> dict:
    n = len(rs)
    if task == "chase":
        k = sum(r["captured"] for r in rs)
        return {"rate": wilson(k, n), "time": mean_ci([r["time"] for r in rs if r["captured"]])}
    if task == "guard":
        return {"rate": wilson(sum(r["stopped"] for r in rs), n)}
    if task == "search":
        return {"rate": wilson(sum(r["reached"] for r in rs), n), "time": mean_ci([r["time"] for r in rs])}
    if task == "flee":
        return {"time": mean_ci([r["survived"] for r in rs])}
    return {"coverage": mean_ci([r["coverage"] for r in rs])}


def fmt(task: str, f: dict) -> str:
    parts = []
    if "rate" in f:
        p, lo, hi = f["rate"]
        parts.append(f"{100 * p:.0f}% [{100 * lo:.0f}, {100 * hi:.0f}]")
    if "time" in f:
        m, h = f["time"]
        parts.append(f"{m:.1f} ± {h:.1f} s" if np.isfinite(m) else "n/a")
    if "coverage" in f:
        m, h = f["coverage"]
        parts.append(f"{m:.3f} ± {h:.3f}")
    return "; ".join(parts)


HEAD = {"chase": "capture rate [95% CI]; time to capture", "guard": "intrusions stopped [95% CI]",
        "search": "reached [95% CI]; time to reach (40 s cap counts)", "flee": "survival (60 s cap)",
        "wander": "coverage of free cells in 60 s"}


def beats(task: str, a: dict, b: dict) -> bool:
    """Whether figure ``a`` is better than ``b`` beyond both 95% intervals' overlap (one-sided by design)."""
    if "rate" in a:
        return a["rate"][1] > b["rate"][2] or (a["rate"][0] > b["rate"][0] and "time" in a and task == "search"
                                               and a["time"][0] + a["time"][1] < b["time"][0] - b["time"][1])
    key = "time" if "time" in a else "coverage"
    return a[key][0] - a[key][1] > b[key][0] + b[key][1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "npc-mlp" / "1.0.0")
    ap.add_argument("--seeds", type=int, default=30)
    ap.add_argument("--param-seeds", type=int, default=10)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--only", choices=["tasks", "params"], help="run one of the two parts")
    ap.add_argument("--tasks", default=",".join(tasks.TASKS), help="comma-separated archetypes to judge")
    args = ap.parse_args()
    t0 = time.perf_counter()
    runner = PolicyRunner(args.model)
    policies = {"learned": lambda: RunnerPolicy(runner), "scripted": ScriptedPolicy, "random": lambda: RandomPolicy(7)}
    seeds = range(20_000, 20_000 + args.seeds)   # not the training curve's seeds
    out: dict = {"seeds": args.seeds, "model": str(args.model), "tasks": {}, "params": {}}
    print(f"### Task figures, {args.seeds} seeded scenes per archetype (same scenes for every policy)\n")
    print("| archetype | figure | learned | scripted | random | learned beats random | learned vs scripted |")
    print("|---|---|---|---|---|---|---|")
    for task in args.tasks.split(",") if args.only != "params" else ():
        figs = {}
        for name, make in policies.items():
            pol = make()
            figs[name] = figure(task, [tasks.run_episode(task, pol, s) for s in seeds])
        b_rand = beats(task, figs["learned"], figs["random"])
        vs = ("better" if beats(task, figs["learned"], figs["scripted"]) else
              "trails" if beats(task, figs["scripted"], figs["learned"]) else "within intervals")
        out["tasks"][task] = {"figures": figs, "beats_random": b_rand, "vs_scripted": vs}
        print(f"| {task} | {HEAD[task]} | {fmt(task, figs['learned'])} | {fmt(task, figs['scripted'])} | "
              f"{fmt(task, figs['random'])} | {'yes' if b_rand else 'NO'} | {vs} |", flush=True)

    print(f"\n### Parameters honoured ({args.param_seeds} scenes per value; mean ± 95% CI)\n")
    print("| archetype | parameter | measured | value | scripted | learned |")
    print("|---|---|---|---|---|---|")
    pseeds = range(30_000, 30_000 + args.param_seeds)
    probes = [
        ("chase", "aggression", "distance kept to a standing player (second half of 60 s), m", "late_dist_visible",
         [0.0, 0.5, 1.0], {"player_mode": "idle", "play_on": True}),
        ("guard", "aggression", "farthest distance from the post while stopping an intruder, m", "max_post_dist",
         [0.0, 1.0], {}),
        ("wander", "caution", "mean distance to the (wandering) player while seen, m", "mean_dist_visible",
         [0.0, 1.0], {}),
        ("flee", "caution", "share of ticks in sight of a wandering player (60 s)", "visible_fraction",
         [0.0, 1.0], {"player_mode": "wander", "play_on": True}),
    ]
    for task, pname, what, key, values, kw in probes if args.only != "tasks" else ():
        for v in values:
            row = {}
            for name in ("scripted", "learned"):
                pol = policies[name]()
                rs = [tasks.run_episode(task, pol, s, **{pname: v}, **kw) for s in pseeds]
                row[name] = mean_ci([r[key] for r in rs])
            out["params"].setdefault(task, {}).setdefault(pname, {})[str(v)] = row
            print(f"| {task} | {pname} | {what} | {v:g} | {row['scripted'][0]:.2f} ± {row['scripted'][1]:.2f} | "
                  f"{row['learned'][0]:.2f} ± {row['learned'][1]:.2f} |", flush=True)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    print(f"\n({out['seconds']:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=float) + "\n")


if __name__ == "__main__":
    main()
