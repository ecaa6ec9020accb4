"""NPC decisions served over gRPC on loopback vs the same scene stepped in-process.

    python benchmarks/npc_serving.py [--seconds 3] [--sizes 1,64,512,4096] [--workers N] [--json out.json]

A real server (``GameGenServer``, the one ``gamegen serve`` runs, on a free loopback port in a
thread of this process, so the Batcher's counters can be read) serves ``npc/npc-mlp``; the Python
client's ``Session`` sends ticks of typed observations in world units (real arena observations:
``demo.typed_observations``), action masks included, mode argmax.

For 1, 64, 512 and 4096 agents in one scene:

* **batched**: one tick carries every agent; p50/p99 tick latency and decisions/s (agents / median
  tick time: one tick in flight at a time, as a game loop waits for its actions);
* **one tick per agent**: the same agents, one ``NpcTick`` each (timed on up to 64 agents and
  scaled); the ratio is what batching buys;
* the same two through ``Scene.step`` in-process (no gRPC, no protobuf), so the transport's share
  is visible;
* **packed**: the same observations as one ``NpcObservationBlock`` (an array per field,
  ``demo.pack_observations``), answered with an ``NpcActionBlock``, in-process and over gRPC.

Then 4 scenes of 128 agents ticking at once (a thread and a Session each, ticks released
together): tick latency and the Batcher's ONNX Runtime calls per round of 4 ticks
(``gen.batcher.calls``; 1.0 = every round shared one call), with typed and with packed ticks.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gamegen.client import Client  # noqa: E402
from gamegen.generators.npc import arena as A  # noqa: E402
from gamegen.generators.npc.demo import pack_observations, typed_observations  # noqa: E402
from gamegen.server.registry import load_registry  # noqa: E402
from gamegen.server.sessions import SessionLimits  # noqa: E402

MODEL = "npc/npc-mlp"


def scene_ticks(n: int, seed: int = 0):
    """Agents (join messages) and one tick of n typed observations from real arena scenes of 32 agents."""
    arena = A.Arena()
    specs = [A.AgentSpec(A.ARCHETYPES[i % 5], (i * 0.13) % 1, (i * 0.29) % 1) for i in range(32)]
    arena.reset(specs, seed=seed, player_mode="wander")
    rng = np.random.default_rng(seed)
    obs = []
    while len(obs) < n:
        obs += typed_observations(arena, [""] * 32)
        arena.step(rng.integers(0, 9, 32))
    agents, tick = [], []
    for i in range(n):
        s = specs[i % 32]
        agents.append({"agent_id": f"a{i}", "archetype": s.archetype, "aggression": s.aggression,
                       "caution": s.caution, "seed": str(i)})
        tick.append({**obs[i], "agent_id": f"a{i}"})
    return agents, tick


def timed(fn, seconds: float, min_reps: int = 20, max_reps: int = 100_000) -> np.ndarray:
    fn()  # warm
    out = []
    t_end = time.perf_counter() + seconds
    while len(out) < min_reps or (time.perf_counter() < t_end and len(out) < max_reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return np.array(out)


def drain(events) -> None:
    for _ in events:
        pass


def row(n: int, lat: np.ndarray, single: np.ndarray) -> dict:
    med = float(np.median(lat))
    return {"agents": n, "p50_ms": 1e3 * med, "p99_ms": 1e3 * float(np.percentile(lat, 99)),
            "decisions_per_s": n / med, "per_agent_ms": 1e3 * float(np.median(single)),
            "per_agent_decisions_per_s": n / float(np.median(single)),
            "batched_speedup": float(np.median(single)) / med, "reps": len(lat)}


def bench_size(gen, client: Client, n: int, seconds: float) -> dict:
    agents, tick = scene_ticks(n)
    block = {"block": pack_observations(tick)}
    m = min(n, 64)
    out = {}
    # in-process: the Scene the servicer would hold, stepped directly
    scene = gen.open_session(1, {"mode": "argmax", "agents": agents})
    try:
        lat = timed(lambda: drain(scene.step({"observations": tick})), seconds)
        single = timed(lambda: [drain(scene.step({"observations": [tick[i]]})) for i in range(m)],
                       seconds, min_reps=2) * (n / m)
        out["in_process"] = row(n, lat, single)
        out["in_process_packed"] = row(n, timed(lambda: drain(scene.step(block)), seconds), single)
    finally:
        scene.close()
    with client.open_session(MODEL, seed=1, params={"mode": "argmax", "agents": agents}) as s:
        lat = timed(lambda: drain(s.send({"observations": tick})), seconds)
        single = timed(lambda: [drain(s.send({"observations": [tick[i]]})) for i in range(m)],
                       seconds, min_reps=2) * (n / m)
        out["grpc"] = row(n, lat, single)
        out["grpc_packed"] = row(n, timed(lambda: drain(s.send(block)), seconds), single)
    return out


def bench_concurrent(gen, client: Client, scenes: int, n: int, seconds: float, packed: bool = False) -> dict:
    agents, tick = scene_ticks(n)
    message = {"block": pack_observations(tick)} if packed else {"observations": tick}
    sessions = [client.open_session(MODEL, seed=k, params={"mode": "argmax", "agents": agents})
                for k in range(scenes)]
    try:
        for s in sessions:                  # warm
            drain(s.send(message))
        start, done = threading.Barrier(scenes + 1), threading.Barrier(scenes + 1)
        lat: list[list[float]] = [[] for _ in range(scenes)]
        stop = [False]

        def run(k: int) -> None:
            while True:
                start.wait()
                if stop[0]:
                    return
                t0 = time.perf_counter()
                drain(sessions[k].send(message))
                lat[k].append(time.perf_counter() - t0)
                done.wait()

        threads = [threading.Thread(target=run, args=(k,), daemon=True) for k in range(scenes)]
        for t in threads:
            t.start()
        calls0, batches0, rounds = gen.batcher.calls, gen.batcher.batches, 0
        t_end = time.perf_counter() + seconds
        t_start = time.perf_counter()
        while rounds < 5 or time.perf_counter() < t_end:
            start.wait()
            done.wait()
            rounds += 1
        wall = time.perf_counter() - t_start
        calls, batches = gen.batcher.calls - calls0, gen.batcher.batches - batches0
        stop[0] = True
        start.wait()
        for t in threads:
            t.join(10)
    finally:
        for s in sessions:
            s.close()
    all_lat = np.concatenate([np.array(x) for x in lat])
    return {"scenes": scenes, "agents_per_scene": n, "rounds": rounds, "packed": packed,
            "p50_ms": 1e3 * float(np.median(all_lat)), "p99_ms": 1e3 * float(np.percentile(all_lat, 99)),
            "ort_calls_per_round": calls / rounds, "batches_per_round": batches / rounds,
            "decisions_per_s": scenes * n * rounds / wall}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    ap.add_argument("--sizes", default="1,64,512,4096")
    ap.add_argument("--workers", type=int, default=0,
                    help="the server's --workers (session inputs run at once); 0 = its default, one per core")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import ServerThread  # a real GameGenServer on a free loopback port, in a thread

    registry = load_registry(ROOT / "models", device="cpu")
    gen = registry.resolve(MODEL)
    server = ServerThread(registry, workers=args.workers or None,
                          session_limits=SessionLimits(max_npc_agents=max(sizes + [4096])))
    results = {"sizes": [], "concurrent": []}
    try:
        with Client(server.target, timeout=120) as client:
            for n in sizes:
                results["sizes"].append(bench_size(gen, client, n, args.seconds))
                print(f"  {n} agents done (load {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)
            for packed in (False, True):
                results["concurrent"].append(bench_concurrent(gen, client, 4, 128, args.seconds, packed))
    finally:
        server.stop()
    load = os.getloadavg()
    print(f"{MODEL}, ORT threads 1, server workers {server.server.servicer.workers}, cpu count {os.cpu_count()}, load average {load[0]:.1f} / {load[1]:.1f} (1 / 5 min)")
    print("\n| agents | path | tick p50 ms | tick p99 ms | decisions/s (one tick, all agents) | one tick per agent, ms "
          "| decisions/s (tick per agent) | batched speed-up |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    paths = (("in_process", "in-process `Scene.step`, typed"), ("in_process_packed", "in-process `Scene.step`, packed"),
             ("grpc", "gRPC `Session`, typed"), ("grpc_packed", "gRPC `Session`, packed"))
    for r in results["sizes"]:
        for path, label in paths:
            x = r[path]
            print(f"| {x['agents']} | {label} | {x['p50_ms']:.2f} | {x['p99_ms']:.2f} | {x['decisions_per_s']:,.0f} | "
                  f"{x['per_agent_ms']:.1f} | {x['per_agent_decisions_per_s']:,.0f} | {x['batched_speedup']:.1f}x |")
    print("\n| agents | gRPC / in-process, tick p50 (typed) | (packed) | typed / packed, in-process | typed / packed, gRPC |")
    print("|---:|---:|---:|---:|---:|")
    for r in results["sizes"]:
        p = {k: r[k]["p50_ms"] for k, _ in paths}
        print(f"| {r['grpc']['agents']} | {p['grpc'] / p['in_process']:.1f}x | {p['grpc_packed'] / p['in_process_packed']:.1f}x "
              f"| {p['in_process'] / p['in_process_packed']:.1f}x | {p['grpc'] / p['grpc_packed']:.1f}x |")
    for c in results["concurrent"]:
        print(f"\n{c['scenes']} scenes x {c['agents_per_scene']} agents over gRPC ({'packed' if c['packed'] else 'typed'} ticks), "
              f"ticks released together, {c['rounds']} rounds: tick p50 {c['p50_ms']:.2f} ms, p99 {c['p99_ms']:.2f} ms, "
              f"{c['decisions_per_s']:,.0f} decisions/s, ONNX Runtime calls per round {c['ort_calls_per_round']:.2f} "
              f"(batches per round {c['batches_per_round']:.2f})")
    if args.json:
        args.json.write_text(json.dumps({**results, "load_average": load}, indent=2))


if __name__ == "__main__":
    main()
