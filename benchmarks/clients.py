"""Engine clients: the C++ client against the Python gRPC client and in-process generation.

For a 200-column SMB level (tmj + png) and a 16-bar music piece (mid + wav), measured on one
server process (`gamegen serve --device cpu` on a loopback port):

- time to first event and end-to-end time, medians over --n runs after one warm-up, through
  the C++ client (examples/gamegen_cli, timed inside the C++ process on one warm channel), the
  Python gRPC client (one warm channel) and the generator called in this process; ratios are
  against in-process;
- bytes on the wire (TCP payload in both directions, counted by a loopback proxy, one fresh
  connection per request) for the level and a 512 px PBR texture set (6 maps), next to the bytes
  of the assets themselves (with partials on, as both clients default, the level's column chunks and
  the texture's preview travel too; the last row per request turns partials off).

    python benchmarks/clients.py [--n 20]

Builds the C++ client into build/cpp-client first when needed (CMake; see clients/cpp).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "cpp-client"
CLI = BUILD / "gamegen_cli"

LEVEL = ("levels/smb", 11, {"width": 200}, ["tmj", "png"])
MUSIC = ("music/music-lstm", 5, {"bars": 16}, ["mid", "wav"])
TEXTURE = ("textures/materials-gan", 3, {"size": 512},
           ["albedo", "height", "normal_gl", "normal_dx", "roughness", "ao"])


def build_cli() -> None:
    if not (BUILD / "CMakeCache.txt").exists():
        subprocess.run(["cmake", "-S", str(ROOT / "clients" / "cpp"), "-B", str(BUILD), "-DCMAKE_BUILD_TYPE=Release"],
                       check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", str(BUILD), "-j", str(os.cpu_count() or 1)], check=True,
                   stdout=subprocess.DEVNULL)


def start_server() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "gamegen.server.cli", "serve", "--port", "0", "--device", "cpu"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    for line in proc.stdout:
        m = re.search(r"serving on [\d.]+:(\d+)", line)
        if m:
            return proc, f"127.0.0.1:{m.group(1)}"
    raise RuntimeError("server did not start")


def set_args(params: dict) -> list[str]:
    out = []
    for k, v in params.items():
        out += ["--set", f"{k}={v}"]
    return out


def cli_args(target: str, case, *extra: str) -> list[str]:
    model, seed, params, formats = case
    fmts = [a for f in formats for a in ("-f", f)]
    return [str(CLI), "--server", target, "generate", model, "--seed", str(seed), "--no-list", "--quiet",
            *set_args(params), *fmts, *extra]


def time_cpp(target: str, case, n: int) -> tuple[list[float], list[float]]:
    out = subprocess.run(cli_args(target, case, "--timings", "--repeat", str(n + 1)), check=True,
                         capture_output=True, text=True).stdout
    runs = [json.loads(line) for line in out.splitlines()][1:]  # run 0 warms up
    return [r["first_event_ms"] for r in runs], [r["end_ms"] for r in runs]


def time_iter(make_iter, n: int) -> tuple[list[float], list[float]]:
    first, end = [], []
    for i in range(n + 1):
        t0 = time.perf_counter()
        t1 = None
        for _ in make_iter():
            if t1 is None:
                t1 = time.perf_counter()
        t2 = time.perf_counter()
        if i:  # run 0 warms up
            first.append((t1 - t0) * 1000)
            end.append((t2 - t0) * 1000)
    return first, end


class CountingProxy:
    """A loopback TCP proxy that counts the bytes each way; one instance per measured connection."""

    def __init__(self, upstream: str):
        host, port = upstream.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.target = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.up = self.down = 0
        self.lock = threading.Lock()
        self.pumps: list[threading.Thread] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            for src, dst, way in ((conn, upstream, "up"), (upstream, conn, "down")):
                t = threading.Thread(target=self._pump, args=(src, dst, way), daemon=True)
                t.start()
                self.pumps.append(t)

    def _pump(self, src: socket.socket, dst: socket.socket, way: str) -> None:
        try:
            while data := src.recv(1 << 16):
                dst.sendall(data)
                with self.lock:
                    setattr(self, way, getattr(self, way) + len(data))
        except OSError:
            pass
        finally:
            for s in (dst, src):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> tuple[int, int]:
        for t in self.pumps:
            t.join(10)
        self.listener.close()
        return self.up, self.down


def wire_cpp(target: str, case, *extra: str) -> tuple[int, int]:
    proxy = CountingProxy(target)
    subprocess.run(cli_args(proxy.target, case, *extra), check=True, stdout=subprocess.DEVNULL)
    return proxy.close()


def wire_python(target: str, case) -> tuple[int, int]:
    from gamegen.client import Client

    model, seed, params, formats = case
    proxy = CountingProxy(target)
    with Client(proxy.target) as c:
        for _ in c.generate(model, seed=seed, params=params, formats=formats):
            pass
    return proxy.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20, help="timed runs per client and request (after one warm-up)")
    args = ap.parse_args()

    from gamegen.client import Client
    from gamegen.generators.events import Asset
    from gamegen.server.registry import load_registry

    build_cli()
    registry = load_registry(device="cpu")
    server, target = start_server()
    try:
        print(f"| request | client | first event ms (median) | end to end ms (median) | first event vs in-process | "
              f"end to end vs in-process |")
        print("|---|---|---|---|---|---|")
        with Client(target) as py:
            for label, case in (("SMB level, 200 columns (tmj+png)", LEVEL), ("music, 16 bars (mid+wav)", MUSIC)):
                model, seed, params, formats = case
                gen = registry.resolve(model)
                rows = {
                    "in-process": time_iter(lambda: gen.generate(seed, params, formats), args.n),
                    "Python gRPC": time_iter(lambda: py.generate(model, seed=seed, params=params, formats=formats),
                                             args.n),
                    "C++ gRPC": time_cpp(target, case, args.n),
                }
                base_first = statistics.median(rows["in-process"][0])
                base_end = statistics.median(rows["in-process"][1])
                for name, (first, end) in rows.items():
                    f, e = statistics.median(first), statistics.median(end)
                    print(f"| {label} | {name} | {f:.1f} | {e:.1f} | {f / base_first:.2f}x | {e / base_end:.2f}x |")

        print()
        print("| request | asset bytes | client | bytes client->server | bytes server->client | overhead over assets |")
        print("|---|---|---|---|---|---|")
        for label, case in (("SMB level, 200 columns (tmj+png)", LEVEL), ("textures 512 px PBR set (6 maps)", TEXTURE)):
            model, seed, params, formats = case
            gen = registry.resolve(model)
            asset_bytes = sum(len(e.data) for e in gen.generate(seed, params, formats)
                              if isinstance(e, Asset) and e.format != "preview")  # the requested files
            for name, fn in (("C++ gRPC", wire_cpp), ("Python gRPC", wire_python),
                             ("C++ gRPC, partials off", lambda t, c: wire_cpp(t, c, "--no-partials"))):
                up, down = fn(target, case)
                print(f"| {label} | {asset_bytes:,} | {name} | {up:,} | {down:,} | "
                      f"{(up + down - asset_bytes) / asset_bytes * 100:.1f}% |")
    finally:
        server.terminate()
        server.wait(15)


if __name__ == "__main__":
    main()
