"""The Unity package's C# core (Mono) through the HTTP gateway, against the Python gRPC client and
in-process generation, for the requests of benchmarks/clients.py: a 200-column SMB level (tmj + png)
and a 16-bar music piece (mid + wav).

Time to first event and end-to-end time, median and fastest of --n runs after two warm-up runs:
the C# core timed inside its own process on one warm HttpClient (unity_client/Tests/Console~
driver, --repeat), the Python gRPC client on one warm channel, the generator called in this
process. One `gamegen serve --device cpu --port 0 --http-port 0` serves both clients. Blocks of runs,
not interleaved run by run: compare within one invocation, and rerun on a busy machine.

    python benchmarks/unity_client.py [--n 20]

Needs Mono (mono-mcs, libmono-system-net-http4.0-cil).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "unity_client"
EXE = ROOT / "build" / "unity-client" / "gamegen-cs-bench.exe"

LEVEL = ("levels/smb", 11, {"width": 200}, ["tmj", "png"])
MUSIC = ("music/music-lstm", 5, {"bars": 16}, ["mid", "wav"])


def build() -> None:
    EXE.parent.mkdir(parents=True, exist_ok=True)
    sources = sorted(str(p) for p in (PACKAGE / "Runtime" / "Core").glob("*.cs"))
    subprocess.run(["mcs", "-langversion:7.2", "-optimize+", "-r:System.Net.Http.dll", f"-out:{EXE}", *sources,
                    str(PACKAGE / "Tests" / "Console~" / "GameGenCli.cs")], check=True, stdout=subprocess.DEVNULL)


def start_server() -> tuple[subprocess.Popen, str, str]:
    proc = subprocess.Popen([sys.executable, "-m", "gamegen.server.cli", "serve", "--port", "0", "--http-port", "0",
                             "--device", "cpu"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    target = http = None
    for line in proc.stdout:
        m = re.search(r"serving on [\d.]+:(\d+)", line)
        if m:
            target = f"127.0.0.1:{m.group(1)}"
        m = re.search(r"gateway on http://[\d.]+:(\d+)", line)
        if m:
            http = f"http://127.0.0.1:{m.group(1)}"
            return proc, target, http
    raise RuntimeError("server (with its HTTP gateway) did not start")


def csharp(http: str, request, n: int) -> tuple[list[float], list[float]]:
    model, seed, params, formats = request
    args = ["mono", str(EXE), "--server", http, "generate", model, "--seed", str(seed), "--quiet", "--repeat", str(n + 2)]
    for k, v in params.items():
        args += ["--set", f"{k}={v}"]
    for f in formats:
        args += ["-f", f]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    runs = [tuple(float(x) for x in m) for m in re.findall(r"first_event_ms=([\d.]+) total_ms=([\d.]+)", out)][2:]
    return [r[0] for r in runs], [r[1] for r in runs]


def timed(events) -> tuple[float, float]:
    t0 = time.perf_counter()
    first = None
    for _ in events:
        if first is None:
            first = time.perf_counter()
    return (first - t0) * 1000, (time.perf_counter() - t0) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20)
    a = ap.parse_args()
    build()
    from gamegen.client import Client
    from gamegen.server.registry import load_registry

    registry = load_registry(ROOT / "models", device="cpu")
    proc, target, http = start_server()
    try:
        with Client(target, timeout=60) as client:
            print(f"load average {os.getloadavg()[0]:.2f}; n = {a.n}, medians (fastest) in ms")
            print("| request | path | first event | end to end | first / in-process | end to end / in-process |")
            print("|---|---|---|---|---|---|")
            for label, request in (("SMB level, 200 columns (tmj, png)", LEVEL), ("music, 16 bars (mid, wav)", MUSIC)):
                model, seed, params, formats = request
                gen = registry.resolve(model)
                rows = {}
                runs = [timed(gen.generate(seed, params, formats)) for _ in range(a.n + 2)][2:]
                rows["in-process"] = ([r[0] for r in runs], [r[1] for r in runs])
                runs = [timed(client.generate(model, seed=seed, params=params, formats=formats)) for _ in range(a.n + 2)][2:]
                rows["Python, gRPC"] = ([r[0] for r in runs], [r[1] for r in runs])
                rows["C# core (Mono), HTTP gateway"] = csharp(http, request, a.n)
                base_first = statistics.median(rows["in-process"][0])
                base_total = statistics.median(rows["in-process"][1])
                for path, (first, total) in rows.items():
                    mf, mt = statistics.median(first), statistics.median(total)
                    print(f"| {label} | {path} | {mf:.1f} ({min(first):.1f}) | {mt:.1f} ({min(total):.1f}) | "
                          f"{mf / base_first:.2f}x | {mt / base_total:.2f}x |")
    finally:
        proc.terminate()
        proc.wait(15)


if __name__ == "__main__":
    main()
