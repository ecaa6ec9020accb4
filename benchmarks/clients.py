"""Engine clients: the C++ client against the Python gRPC client and in-process generation.

For a 200-column SMB level (tmj + png) and a 16-bar music piece (mid + wav), measured on one
server process (`gamegen serve --device cpu` on a loopback port):

- time to first event and end-to-end time (median and fastest of --n runs after a warm-up)
  through the C++ client (examples/gamegen_cli, timed inside the C++ process on one warm channel),
  the Python gRPC client (one warm channel) and the generator called in this process, taking turns
  run by run; ratios are of medians, against in-process;
- bytes on the wire (TCP payload in both directions, counted by a loopback proxy, one fresh
  connection per request) for the level and a 512 px PBR texture set (6 maps), next to the bytes
  of the assets themselves (with partials on, as both clients default, the level's column chunks and
  the texture's preview travel too; the last row per request turns partials off).

- an NPC scene's tick round trip over the Session stream (8 agents, typed observations, argmax):
  the C++ client's `Session` (examples/gamegen_cli session, timed inside the C++ process from
  Send to the input's end), the Python client's session, and the same session opened in this
  process (`Generator.open_session` + `step`), in rounds of --ticks ticks, the order rotating.

    python benchmarks/clients.py [--n 20] [--ticks 100]

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
    proc = subprocess.Popen([sys.executable, "-m", "gamegen.server.cli", "serve", "--port", "0", "--no-http", "--device", "cpu"],
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


def once(make_iter) -> tuple[float, float]:
    t0 = time.perf_counter()
    t1 = None
    for _ in make_iter():
        if t1 is None:
            t1 = time.perf_counter()
    return (t1 - t0) * 1000, (time.perf_counter() - t0) * 1000


class PacedCpp:
    """The C++ CLI on one warm channel, running one generation per line it is sent."""

    def __init__(self, target: str, case, n: int):
        self.proc = subprocess.Popen(cli_args(target, case, "--timings", "--paced", "--repeat", str(n)),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def __call__(self) -> tuple[float, float]:
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        r = json.loads(self.proc.stdout.readline())
        return r["first_event_ms"], r["end_ms"]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(30)


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


NPC_AGENTS = [{"agent_id": f"npc-{i}", "archetype": ("guard", "chase", "flee", "search", "wander")[i % 5],
               "aggression": 0.7, "caution": 0.4} for i in range(8)]
NPC_TICK = {"observations": [{"agent_id": a["agent_id"], "position": {"x": 3.0 + 2 * i, "y": 5.0}, "health": 1.0,
                              "heading": {"x": 1.0, "y": 0.0}, "player_visible": True,
                              "player_position": {"x": 12.0, "y": 6.0}, "goal_position": {"x": 8.0, "y": 8.0},
                              "nav_to_goal": {"x": 0.0, "y": 1.0}, "goal_path": 4.0, "nav_away": {"x": -1.0, "y": 0.0},
                              "wall_rays": [4.0] * 8} for i, a in enumerate(NPC_AGENTS)]}


def npc_ticks(target: str, registry, ticks: int, rounds: int = 3) -> dict[str, list[float]]:
    """Tick round trips (ms) of one NPC scene per client; the first tick of each block is a warm-up."""
    from google.protobuf import json_format

    from gamegen.client import Client
    from gamegen.v1 import gamegen_pb2 as pb

    gen = registry.resolve("npc/npc-mlp")
    open_params = {"mode": "argmax", "agents": NPC_AGENTS}
    value = json_format.MessageToDict(json_format.ParseDict(NPC_TICK, pb.NpcTick()), preserving_proto_field_name=True)
    params = json_format.MessageToDict(json_format.ParseDict(open_params, pb.NpcOpen()),
                                       preserving_proto_field_name=True)

    def in_process() -> list[float]:
        session = gen.open_session(7, params)
        try:
            out = []
            for _ in range(ticks + 1):
                t0 = time.perf_counter()
                for _e in session.step(value):
                    pass
                out.append((time.perf_counter() - t0) * 1000)
            return out[1:]
        finally:
            session.close()

    def python() -> list[float]:
        with Client(target) as c, c.open_session("npc/npc-mlp", seed=7, params=open_params) as s:
            out = []
            for _ in range(ticks + 1):
                t0 = time.perf_counter()
                for _e in s.send(NPC_TICK):
                    pass
                out.append((time.perf_counter() - t0) * 1000)
            return out[1:]

    def cpp() -> list[float]:
        r = subprocess.run([str(CLI), "--server", target, "session", "npc/npc-mlp", "--seed", "7", "--open",
                            json.dumps(open_params), "--ticks", str(ticks + 1), "--quiet", "--timings"],
                           input=json.dumps(NPC_TICK) + "\n", capture_output=True, text=True, timeout=300, check=True)
        return json.loads(r.stdout.splitlines()[-1])["input_ms"][1:]

    clients = {"in-process": in_process, "Python gRPC": python, "C++ gRPC": cpp}
    rows: dict[str, list[float]] = {name: [] for name in clients}
    names = list(clients)
    for i in range(rounds):
        for name in names[i % 3:] + names[:i % 3]:
            rows[name] += clients[name]()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20, help="timed runs per client and request (after one warm-up)")
    ap.add_argument("--ticks", type=int, default=100, help="NPC ticks per client and round (3 rounds)")
    args = ap.parse_args()

    from gamegen.client import Client
    from gamegen.generators.events import Asset
    from gamegen.server.registry import load_registry

    build_cli()
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    registry = load_registry(device="cpu")
    server, target = start_server()
    try:
        print(f"| request | client | first event ms (median, min) | end to end ms (median, min) | "
              f"first event vs in-process | end to end vs in-process |")
        print("|---|---|---|---|---|---|")
        with Client(target) as py:
            for label, case in (("SMB level, 200 columns (tmj+png)", LEVEL), ("music, 16 bars (mid+wav)", MUSIC)):
                model, seed, params, formats = case
                gen = registry.resolve(model)
                cpp = PacedCpp(target, case, args.n + 1)
                clients = {
                    "in-process": lambda: once(lambda: gen.generate(seed, params, formats)),
                    "Python gRPC": lambda: once(lambda: py.generate(model, seed=seed, params=params, formats=formats)),
                    "C++ gRPC": cpp,
                }
                for timed in clients.values():  # warm-up
                    timed()
                # The clients take turns run by run (the order rotating), so that load from other
                # work on the machine falls on every client alike.
                rows = {name: ([], []) for name in clients}
                names = list(clients)
                for i in range(args.n):
                    for name in names[i % 3:] + names[:i % 3]:
                        first, end = clients[name]()
                        rows[name][0].append(first)
                        rows[name][1].append(end)
                cpp.close()
                base_first = statistics.median(rows["in-process"][0])
                base_end = statistics.median(rows["in-process"][1])
                for name, (first, end) in rows.items():
                    f, e = statistics.median(first), statistics.median(end)
                    print(f"| {label} | {name} | {f:.1f}, {min(first):.1f} | {e:.1f}, {min(end):.1f} | "
                          f"{f / base_first:.2f}x | {e / base_end:.2f}x |")

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
        print()
        print(f"| NPC scene, {len(NPC_AGENTS)} agents, tick round trip | ms (median) | ms (p95) | median vs in-process |")
        print("|---|---|---|---|")
        rows = npc_ticks(target, registry, args.ticks)
        base = statistics.median(rows["in-process"])
        for name, ms in rows.items():
            p95 = statistics.quantiles(ms, n=20)[-1]
            print(f"| {name} | {statistics.median(ms):.2f} | {p95:.2f} | {statistics.median(ms) / base:.2f}x |")
        print(f"\nload average at end: {os.getloadavg()[0]:.1f}")
    finally:
        server.terminate()
        server.wait(15)


if __name__ == "__main__":
    main()
