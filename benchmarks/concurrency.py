"""Many concurrent callers (a running game): throughput and latency vs number of callers.

    python benchmarks/concurrency.py [--requests 64] [--width 100] [--callers 1,2,4,8,16]

Starts `gamegen serve` as its own process (max-concurrent 8), then from this process runs C
asyncio callers at once, each asking for levels back to back (txt only, no partials: small
payloads, as a game would), and reports levels/s and per-request p50/p99. Past the server's
limit callers get RESOURCE_EXHAUSTED; those are counted, not retried.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import time

import grpc
import numpy as np

from gamegen.client import AsyncClient, GameGenError


async def caller(client, ids, width, lat, errors):
    for i in ids:
        t = time.perf_counter()
        try:
            async for _ in client.generate("levels/smb", seed=i, params={"width": width}, formats=["txt"],
                                           partials=False):
                pass
            lat.append(time.perf_counter() - t)
        except GameGenError as e:
            errors[e.code.name] = errors.get(e.code.name, 0) + 1


async def run(target, callers, requests, width):
    lat, errors = [], {}
    async with AsyncClient(target) as client:
        await client.list_models()
        per = [list(range(c, requests, callers)) for c in range(callers)]
        t0 = time.perf_counter()
        await asyncio.gather(*(caller(client, ids, width, lat, errors) for ids in per))
        wall = time.perf_counter() - t0
    ms = np.asarray(lat) * 1e3
    return len(lat) / wall, np.percentile(ms, 50), np.percentile(ms, 99), errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=64)
    ap.add_argument("--width", type=int, default=100)
    ap.add_argument("--callers", default="1,2,4,8,16")
    ap.add_argument("--serve-args", default="", help="extra `gamegen serve` options, e.g. '--ort-threads 0'")
    a = ap.parse_args()
    proc = subprocess.Popen([sys.executable, "-m", "gamegen.server.cli", "serve", "--port", "0", "--no-http",
                             "--max-concurrent", "8", "--log-level", "warning", *a.serve_args.split()],
                            stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    try:
        line = proc.stdout.readline()
        port = re.search(r":(\d+):", line).group(1)
        target = f"127.0.0.1:{port}"
        print(f"levels/smb width {a.width}, txt only, {a.requests} requests per row, "
              f"server --max-concurrent 8 {a.serve_args}")
        print("| callers | levels/s | p50 ms | p99 ms | refused |")
        print("|---|---|---|---|---|")
        for c in (int(x) for x in a.callers.split(",")):
            asyncio.run(run(target, c, 8, a.width))  # warm-up
            rate, p50, p99, errors = asyncio.run(run(target, c, a.requests, a.width))
            print(f"| {c} | {rate:.1f} | {p50:.1f} | {p99:.1f} | {errors or '-'} |")
    finally:
        proc.terminate()
        proc.wait(15)


if __name__ == "__main__":
    main()
