"""A server that lets go: cancel, memory, stalled readers, shutdown and garbage, against `gamegen serve`.

    python benchmarks/server_abuse.py [--only cancel,memory,stall,shutdown,garbled] [--n 10]
                                      [--serve-args '...']

Each section starts `gamegen serve --port 0` as its own process (stderr to a file, so log lines
can be counted) and measures it from outside, as an operator would:

* cancel: requests cancelled (or past their deadline) at a given stage; when the server says the
  request's worker thread (and the encode jobs it waits for) stopped, from its debug log; the CPU seconds the
  server burns after the cancel and how long it stays busy (from /proc/PID/stat, sampled every
  20 ms in 10 ms ticks: the last tick that followed another within 100 ms; the watch ends once the
  server used under 5% of a core for 1.5 s); then how long a small request takes right after four
  abandoned 2048 px requests.
* memory: resident memory (VmRSS) after start-up (models loaded and warmed up), the peak while
  serving N requests of a kind one after another, and the idle figure 2 s after the last one.
* stall: eight callers each read one event of a 1025 terrain chunk and stop reading; what a ninth
  caller gets, and the server's memory meanwhile.
* shutdown: SIGTERM with four long streams (grace 2 s): seconds to exit and traceback lines logged;
  then a second SIGTERM 0.3 s after the first.
* garbled: 2000 undecodable Generate requests: status codes and log lines.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import grpc
import numpy as np

from gamegen.client import CHANNEL_OPTIONS
from gamegen.server import convert
from gamegen.v1 import gamegen_pb2 as pb
from gamegen.v1 import gamegen_pb2_grpc as pb_grpc

TICK = os.sysconf("SC_CLK_TCK")


class Server:
    def __init__(self, *args: str):
        self.log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
        self.proc = subprocess.Popen([sys.executable, "-m", "gamegen.server.cli", "serve", "--port", "0", *args],
                                     stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     env=dict(os.environ, PYTHONUNBUFFERED="1"))
        line = self.proc.stdout.readline()
        m = re.search(r"serving on [^:]+:(\d+)", line)
        if not m:
            raise RuntimeError(f"server did not start: {line!r} {Path(self.log.name).read_text()[-2000:]}")
        self.target = f"127.0.0.1:{m.group(1)}"
        self.channel = grpc.insecure_channel(self.target, options=CHANNEL_OPTIONS)
        self.stub = pb_grpc.GameGenStub(self.channel)

    def cpu(self) -> float:
        f = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / TICK

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def log_lines(self) -> list[str]:
        return Path(self.log.name).read_text(errors="replace").splitlines()

    def stop(self) -> None:
        self.channel.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        os.unlink(self.log.name)


FORMATS = {  # every format each model offers (what `gamegen generate` asks for by default)
    "textures": ["albedo", "height", "normal_gl", "normal_dx", "roughness", "ao"],
    "terrain": ["png", "heightmap", "raw", "splat", "glb"],
}


def request(model: str, seed: int = 1, formats=(), **params) -> pb.GenerateRequest:
    kind = model.split("/")[0]
    return convert.request_for(model, seed, params, list(formats) or FORMATS[kind], kind, True)


BUSY = 0.05      # share of one core above which the server counts as working (idle: ~0.01)
WINDOW = 0.2     # seconds per measurement window
QUIET = 1.5      # seconds below BUSY that end the watch


def busy_after(server: Server, t_cancel: float, cpu_at_cancel: float, watch: float = 30.0) -> tuple[float, float]:
    """(ms until the server's last busy window after t_cancel, CPU seconds it used after t_cancel).

    On a loaded machine a starved thread still gets well over BUSY of a core, so the watch only
    ends when the server's own threads have stopped."""
    samples = [(t_cancel, cpu_at_cancel)]
    last_busy = t_cancel
    while time.perf_counter() - t_cancel < watch:
        time.sleep(0.02)
        t, c = time.perf_counter(), server.cpu()
        samples.append((t, c))
        old = next((s for s in reversed(samples) if t - s[0] >= WINDOW), None)
        if old is None:
            continue
        if (c - old[1]) / (t - old[0]) > BUSY:
            last_busy = t
        elif t - last_busy > QUIET:
            break
    # The end of the work: the last 10 ms tick that followed another within 100 ms (an idle
    # server's threads tick alone, seconds apart). Resolution: one sample (~20 ms) plus a tick.
    rises = [t for (t0, c0), (t, c) in zip(samples, samples[1:]) if c > c0]
    end = t_cancel
    for a, b in zip(rises, rises[1:]):
        if b - a <= 0.1:
            end = b
    return (end - t_cancel) * 1e3, samples[-1][1] - cpu_at_cancel


STOPPED = re.compile(r"work stopped (\d+) ms after")


def stopped_ms(server: Server, since: int) -> str:
    """What the server logs (at debug level) when a given-up request's worker thread is done."""
    found = [m.group(1) for line in server.log_lines()[since:] if (m := STOPPED.search(line))]
    return ", ".join(found) or "-"


def cancel_at(server: Server, req: pb.GenerateRequest, stop_when) -> tuple[float, float, str]:
    since = len(server.log_lines())
    call = server.stub.Generate(req)
    for msg in call:
        if stop_when(msg):
            break
    t, c = time.perf_counter(), server.cpu()
    call.cancel()
    ms, cpu = busy_after(server, t, c)
    return ms, cpu, stopped_ms(server, since)


def is_asset(name_prefix: str):
    return lambda m: m.WhichOneof("event") == "asset" and m.asset.name.startswith(name_prefix)


def is_progress(stage: str):
    return lambda m: m.WhichOneof("event") == "progress" and m.progress.stage == stage


def exemplar_png() -> bytes:
    from gamegen.generators.textures import images, procedural

    alb, _, _ = procedural.material("stone", np.random.default_rng(0), 256)
    return images.png_rgb(alb)


def section_cancel(serve_args: list[str]) -> None:
    s = Server(*serve_args, "--log-level", "debug")   # the servicer logs when given-up work stopped
    try:
        print("\n### Cancel and deadline: server CPU after the request is given up\n")
        print("| request | given up at | server: work stopped after (ms) | CPU busy after (ms) | CPU s used after |")
        print("|---|---|---|---|---|")
        rows = [
            ("textures/materials-gan 2048 px", request("textures/materials-gan", size=2048),
             "preview (full-resolution head running)", is_asset("preview")),
            ("textures/materials-gan 2048 px", request("textures/materials-gan", size=2048),
             "first map (encoding)", is_asset("albedo")),
            ("textures/exemplar-unet 2048 px", request("textures/exemplar-unet", size=2048, exemplar=exemplar_png()),
             "synthesis (patch quilting)", is_progress("synthesising")),
            ("terrain/noise 1025, 200+40 iterations", request("terrain/noise", size=1025, hydraulic_iterations=200,
                                                              thermal_iterations=40),
             "first erosion batch", is_progress("erosion")),
        ]
        for name, req, stage, when in rows:
            ms, cpu, stopped = cancel_at(s, req, when)
            print(f"| {name} | cancel after {stage} | {stopped} | {ms:.0f} | {cpu:.2f} |", flush=True)
        # deadline: the client's timeout passes mid-erosion
        req = request("terrain/noise", size=1025, hydraulic_iterations=200, thermal_iterations=40)
        since = len(s.log_lines())
        t_start = time.perf_counter()
        code = ""
        try:
            for _ in s.stub.Generate(req, timeout=1.5):
                pass
        except grpc.RpcError as e:
            code = e.code().name
        t, c = max(time.perf_counter(), t_start + 1.5), s.cpu()
        ms, cpu = busy_after(s, t, c)
        print(f"| terrain/noise 1025, 200+40 iterations | deadline 1.5 s ({code}) | {stopped_ms(s, since)} | "
              f"{ms:.0f} | {cpu:.2f} |")

        # four abandoned 2048 px requests, then a small one
        small = request("textures/materials-gan", size=64)
        t = time.perf_counter()
        list(s.stub.Generate(small))
        alone = time.perf_counter() - t
        c0 = s.cpu()
        threads = []
        stamps = []

        def abandon(seed):
            call = s.stub.Generate(request("textures/materials-gan", seed=seed, size=2048))
            for m in call:
                if is_asset("preview")(m):
                    break
            call.cancel()
            stamps.append(time.perf_counter())

        since = len(s.log_lines())
        for seed in range(4):
            th = threading.Thread(target=abandon, args=(seed,))
            th.start()
            threads.append(th)
        for th in threads:
            th.join()
        t, c = time.perf_counter(), s.cpu()
        list(s.stub.Generate(small))
        after = time.perf_counter() - t
        ms, cpu = busy_after(s, t, c)
        print(f"\nA 64 px materials-gan request alone: {alone * 1e3:.0f} ms; right after four 2048 px requests "
              f"were cancelled at their preview: {after * 1e3:.0f} ms (server CPU busy {ms:.0f} ms after the last "
              f"cancel; {s.cpu() - c0:.1f} CPU s in all; server: work stopped {stopped_ms(s, since)} ms after each cancel)")
    finally:
        s.stop()


class RSSWatch:
    def __init__(self, server: Server):
        self.server, self.peak, self.stop = server, 0.0, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, self.server.rss_mb())
            time.sleep(0.02)

    def done(self) -> float:
        self.stop.set()
        self.thread.join()
        return self.peak


def section_memory(serve_args: list[str], n: int) -> None:
    s = Server(*serve_args)
    try:
        time.sleep(1.0)
        start = s.rss_mb()
        print(f"\n### Memory: resident set of `gamegen serve` (start-up, models warmed up: {start:.0f} MB)\n")
        print("| requests, one after another | peak RSS (MB) | idle RSS 2 s after (MB) | idle / start-up |")
        print("|---|---|---|---|")
        kinds = [
            (f"{n} × textures/materials-gan 2048 px (all maps)", lambda i: request("textures/materials-gan", seed=i,
                                                                                 size=2048)),
            (f"{n} × terrain/terrain-erosion 1025 (all formats)", lambda i: request("terrain/terrain-erosion", seed=i,
                                                                                  size=1025)),
            (f"{n} × textures/exemplar-unet 1024 px (all maps)", lambda i: request("textures/exemplar-unet", seed=i,
                                                                                 size=1024, exemplar=exemplar_png())),
        ]
        for name, make in kinds:
            watch = RSSWatch(s)
            for i in range(n):
                for _ in s.stub.Generate(make(i)):
                    pass
            peak = watch.done()
            time.sleep(2.0)
            idle = s.rss_mb()
            print(f"| {name} | {peak:.0f} | {idle:.0f} | {idle / start:.2f} |", flush=True)
    finally:
        s.stop()


def section_stall(serve_args: list[str]) -> None:
    s = Server("--max-concurrent", "8", *serve_args)
    try:
        rss0 = s.rss_mb()
        print("\n### Stalled readers: 8 callers read one event of a 1025 terrain chunk, then stop reading\n")
        calls = []
        for i in range(8):
            call = s.stub.Generate(request("terrain/terrain-erosion", seed=i, size=1025))
            next(call)
            calls.append(call)
        print("| seconds after the stall | ninth caller (levels/smb-rules, 50 columns) | server RSS (MB) |")
        print("|---|---|---|")
        t0 = time.perf_counter()
        for at in (2.0, 8.0, 15.0):
            time.sleep(max(0.0, t0 + at - time.perf_counter()))
            t = time.perf_counter()
            try:
                list(s.stub.Generate(request("levels/smb-rules", seed=1, width=50, formats=["txt"]), timeout=10))
                got = f"OK in {(time.perf_counter() - t) * 1e3:.0f} ms"
            except grpc.RpcError as e:
                got = f"{e.code().name} after {(time.perf_counter() - t) * 1e3:.0f} ms"
            print(f"| {at:.0f} | {got} | {s.rss_mb():.0f} (start {rss0:.0f}) |", flush=True)
        codes = Counter()
        for call in calls:   # the stalled callers read on: what do they get?
            try:
                for _ in call:
                    pass
                codes["OK"] += 1
            except grpc.RpcError as e:
                codes[f"{e.code().name}: {e.details()[:90]}"] += 1
        print(f"\nThe stalled callers, when they read on: {dict(codes)}")
    finally:
        s.stop()


def long_streams(s: Server, n: int) -> list[threading.Thread]:
    def read(i):
        try:
            for _ in s.stub.Generate(request("terrain/noise", seed=i, size=1025, hydraulic_iterations=300,
                                             thermal_iterations=300)):
                pass
        except grpc.RpcError:
            pass

    threads = [threading.Thread(target=read, args=(i,), daemon=True) for i in range(n)]
    for th in threads:
        th.start()
    return threads


def section_shutdown(serve_args: list[str]) -> None:
    print("\n### Shutdown with four long streams in flight (`--grace 2`)\n")
    print("| signals | seconds from the first signal to exit | exit code | traceback lines in the log |")
    print("|---|---|---|---|")
    for second in (False, True):
        s = Server("--grace", "2", *serve_args)
        long_streams(s, 4)
        time.sleep(1.5)
        t = time.perf_counter()
        s.proc.send_signal(signal.SIGTERM)
        if second:
            time.sleep(0.3)
            s.proc.send_signal(signal.SIGTERM)
        try:
            rc = s.proc.wait(60)
        except subprocess.TimeoutExpired:
            rc = "still running after 60 s"
            s.proc.kill()
        took = time.perf_counter() - t
        tb = sum(1 for line in s.log_lines() if line.startswith("Traceback") or line.startswith("  File "))
        print(f"| {'SIGTERM, SIGTERM 0.3 s later' if second else 'SIGTERM'} | {took:.1f} | {rc} | {tb} |", flush=True)
        s.stop()


def section_garbled(serve_args: list[str], n: int = 2000) -> None:
    s = Server(*serve_args)
    try:
        before = len(s.log_lines())
        call = s.channel.unary_stream("/gamegen.v1.GameGen/Generate", request_serializer=None,
                                      response_deserializer=None)
        rng = np.random.default_rng(0)
        codes = Counter()
        t = time.perf_counter()
        for i in range(n):
            junk = b"\x0a\xff\xff\xff\x0f" + rng.bytes(int(rng.integers(0, 40)))  # field 1, length past the end
            try:
                list(call(junk, timeout=10))
                codes["OK"] += 1
            except grpc.RpcError as e:
                codes[e.code().name] += 1
        took = time.perf_counter() - t
        time.sleep(1.0)
        lines = len(s.log_lines()) - before
        print(f"\n### Undecodable requests\n\n{n} garbled Generate requests in {took:.1f} s: {dict(codes)}; "
              f"{lines} server log lines")
    finally:
        s.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="cancel,memory,stall,shutdown,garbled")
    ap.add_argument("--n", type=int, default=10, help="requests per kind in the memory section")
    ap.add_argument("--serve-args", default="", help="extra `gamegen serve` options")
    a = ap.parse_args()
    serve_args = ["--log-level", "info", *a.serve_args.split()]
    only = a.only.split(",")
    print(f"gamegen serve {' '.join(serve_args)} on {os.cpu_count()} cores")
    if "cancel" in only:
        section_cancel(serve_args)
    if "memory" in only:
        section_memory(serve_args, a.n)
    if "stall" in only:
        section_stall(serve_args)
    if "shutdown" in only:
        section_shutdown(serve_args)
    if "garbled" in only:
        section_garbled(serve_args)


if __name__ == "__main__":
    main()
