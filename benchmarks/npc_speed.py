"""NPC policy decisions per second and batch latency, in-process: one batched call vs one call per agent.

    python benchmarks/npc_speed.py [--model models/npc-mlp/1.0.0] [--threads 1] [--seconds 2]

For 1, 64, 512 and 4096 agents: p50/p99 latency of one ``PolicyRunner.decide`` over all agents
(validation, one ONNX Runtime call, masked argmax), decisions per second, and the same agents
decided one call each (the ratio is what batching buys). Observations are real arena observations,
masks real. Then the arena's own cost per tick. Prints markdown tables; ``--json`` writes the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from gamegen.generators.npc.arena import AgentSpec, Arena, ARCHETYPES
from gamegen.generators.npc.runtime import PolicyRunner

ROOT = Path(__file__).resolve().parent.parent


def real_observations(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    arena = Arena()
    specs = [AgentSpec(ARCHETYPES[i % 5], (i * 0.13) % 1, (i * 0.29) % 1) for i in range(32)]
    arena.reset(specs, seed=seed, player_mode="wander")
    rows, masks = [], []
    rng = np.random.default_rng(seed)
    while sum(len(r) for r in rows) < n:
        obs, mask = arena.observe()
        rows.append(obs)
        masks.append(mask)
        arena.step(rng.integers(0, 9, len(arena.pos)))
    return np.concatenate(rows)[:n], np.concatenate(masks)[:n]


def timed(fn, seconds: float, min_reps: int = 5) -> np.ndarray:
    fn()  # warm
    out = []
    t_end = time.perf_counter() + seconds
    while len(out) < min_reps or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return np.array(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "npc-mlp" / "1.0.0")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--sizes", default="1,64,512,4096")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    obs_all, mask_all = real_observations(max(sizes))
    rows = []
    for n in sizes:
        runner = PolicyRunner(args.model, threads=args.threads, max_agents=max(sizes))
        ids = list(range(n))
        for i in ids:
            runner.join(i, seed=i)
        obs, mask = obs_all[:n], mask_all[:n]
        lat = timed(lambda: runner.decide(ids, obs, mask), args.seconds)
        m = min(n, 256)   # one call per agent: time m of them, scale to n
        single = timed(lambda: [runner.decide([i], obs[i:i + 1], mask[i:i + 1]) for i in range(m)],
                       args.seconds, min_reps=2) * (n / m)
        row = {"agents": n, "p50_ms": 1e3 * np.percentile(lat, 50), "p99_ms": 1e3 * np.percentile(lat, 99),
               "decisions_per_s": n / np.median(lat), "per_agent_calls_ms": 1e3 * np.median(single),
               "per_agent_decisions_per_s": n / np.median(single), "reps": len(lat)}
        row["batched_speedup"] = row["per_agent_calls_ms"] / (1e3 * np.median(lat))
        rows.append(row)
    print(f"model {args.model.relative_to(ROOT) if args.model.is_relative_to(ROOT) else args.model}, "
          f"ORT threads {args.threads}, cpu count {os.cpu_count()}, load avg {os.getloadavg()[0]:.1f}")
    print("| agents | p50 ms | p99 ms | decisions/s (batched) | one call per agent, ms | decisions/s (per agent) | batched speed-up |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['agents']} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {r['decisions_per_s']:,.0f} | "
              f"{r['per_agent_calls_ms']:.2f} | {r['per_agent_decisions_per_s']:,.0f} | {r['batched_speedup']:.1f}x |")
    print("\nArena (the simulation, numpy): observe + step with random actions, per tick")
    print("| agents | ms per tick | agent-ticks/s |")
    print("|---:|---:|---:|")
    sim = []
    for n in (8, 64):
        arena = Arena()
        arena.reset([AgentSpec(ARCHETYPES[i % 5], 0.5, 0.5) for i in range(n)], seed=1, player_mode="wander")
        rng = np.random.default_rng(0)

        def tick():
            arena.observe()
            arena.step(rng.integers(0, 9, n))

        lat = timed(tick, args.seconds / 2)
        sim.append({"agents": n, "ms_per_tick": 1e3 * np.median(lat), "agent_ticks_per_s": n / np.median(lat)})
        print(f"| {n} | {sim[-1]['ms_per_tick']:.2f} | {sim[-1]['agent_ticks_per_s']:,.0f} |")
    if args.json:
        args.json.write_text(json.dumps({"runtime": rows, "arena": sim}, indent=2))


if __name__ == "__main__":
    main()
