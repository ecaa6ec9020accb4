"""Latency of one SMB level (200 columns): in-process vs over gRPC, and time to the first chunk.

    python benchmarks/latency.py [--n 200] [--width 200] [--model levels/smb]

Both paths run in this one process against the same registry (the server on a loopback port),
so the ratio between them is the cost of the wire, not of the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time

import numpy as np

from gamegen.client import Client
from gamegen.generators.events import LevelChunk
from gamegen.server.app import GameGenServer
from gamegen.server.registry import load_registry


def pct(xs, q):
    return float(np.percentile(np.asarray(xs) * 1e3, q))


def measure(run_once, n):
    total, first = [], []
    for i in range(n):
        t0 = time.perf_counter()
        t_first = None
        for ev in run_once(i):
            if t_first is None and isinstance(ev, LevelChunk):
                t_first = time.perf_counter()
        total.append(time.perf_counter() - t0)
        first.append(t_first - t0)
    return total, first


def main() -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--width", type=int, default=200)
    ap.add_argument("--model", default="levels/smb")
    ap.add_argument("--formats", default="txt,tmj,png")
    args = ap.parse_args()
    formats = args.formats.split(",")
    params = {"width": args.width}

    reg = load_registry(device="cpu")
    gen = reg.resolve(args.model)
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    server = GameGenServer(reg, port=0)
    port = asyncio.run_coroutine_threadsafe(server.start(), loop).result()

    rows = []
    with Client(f"127.0.0.1:{port}") as client:
        paths = {
            "in-process": lambda i: gen.generate(i, params, formats),
            "gRPC (loopback)": lambda i: client.generate(args.model, i, params, formats),
        }
        for name, fn in paths.items():
            measure(fn, 10)  # warm-up
            total, first = measure(fn, args.n)
            rows.append((name, pct(total, 50), pct(total, 99), pct(first, 50), pct(first, 99)))
    asyncio.run_coroutine_threadsafe(server.stop(0), loop).result()

    print(f"{args.model}, width {args.width}, formats {','.join(formats)}, n={args.n}, CPU provider")
    print("| path | p50 ms | p99 ms | first chunk p50 ms | first chunk p99 ms |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]:.1f} | {r[2]:.1f} | {r[3]:.1f} | {r[4]:.1f} |")
    print(f"gRPC / in-process p50 ratio: {rows[1][1] / rows[0][1]:.2f}")
    return {"rows": rows}


if __name__ == "__main__":
    main()
