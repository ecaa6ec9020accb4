"""Dialog sessions at once: aggregate tokens/s, token intervals and memory per session.

    python benchmarks/dialog_concurrency.py [--sessions 1,4,16] [--tokens 48] [--workers 0] [--model dialog/dialog-smollm2]

Needs the built dialog model (`make dialog-model`). Starts `gamegen serve` as its own process (so
its RSS is the server's alone), then for N = 1, 4, 16 opens N sessions with the guard's persona
card, and from N client threads sends one player line to each at the same moment (sampling,
`max_tokens` fixed, EOS allowed). Each text delta's arrival time is recorded. Reported per N:

* aggregate tokens/s: all tokens decoded / wall time from the first send to the last end;
* time to first token (p50, max) and the interval between consecutive tokens of one session
  (p50, p99): what a player watching one NPC sees;
* server RSS growth per open session after its first turn (`/proc/<pid>/status` VmRSS), over the
  server's RSS with the model loaded and no session open.

The server runs `--workers` session inputs at once (0 = its default, one per core); the other
sessions' turns wait their turn, which is what the token interval and first-token times show.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

import numpy as np

from gamegen.client import Client
from gamegen.generators.events import InputEnd, TextDelta

ROOT = Path(__file__).resolve().parent.parent
CARD = ROOT / "generators" / "dialog" / "personas" / "guard.toml"
LINES = ["What do you guard here?", "Have you seen anything strange tonight?", "Can I pass through the gate?",
         "Who is your captain?"]


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def round_of(client: Client, model: str, n: int, tokens: int, base_kb: int, pid: int) -> dict:
    card = tomllib.loads(CARD.read_text())
    persona = {k: card[k] for k in ("name", "role", "traits", "mood", "speech_style") if k in card}
    persona["knowledge"] = card.get("knowledge", {}).get("facts", [])
    persona["secrets"] = card.get("knowledge", {}).get("secrets", [])
    sessions = [client.open_session(model, seed=100 + k, params={
        "persona": persona, "sampling": {"temperature": 0.7, "max_tokens": tokens}}) for k in range(n)]
    start = threading.Barrier(n + 1)
    arrivals: list[list[float]] = [[] for _ in range(n)]
    sent: list[float] = [0.0] * n
    counts = [0] * n
    errors: list[BaseException] = []

    def run(k: int) -> None:
        try:
            start.wait()
            sent[k] = time.perf_counter()
            for ev in sessions[k].send({"player_line": LINES[k % len(LINES)]}):
                if isinstance(ev, TextDelta):
                    arrivals[k].append(time.perf_counter())
                elif isinstance(ev, InputEnd):
                    counts[k] = ev.tokens
        except BaseException as e:   # reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join(600)
    wall = max(a[-1] for a in arrivals if a) - t0
    after_kb = rss_kb(pid)
    for s in sessions:
        s.close()
    if errors:
        raise errors[0]
    first = np.array([a[0] - s for a, s in zip(arrivals, sent) if a]) * 1e3
    gaps = np.concatenate([np.diff(a) for a in arrivals if len(a) > 1]) * 1e3
    return {"sessions": n, "tokens": int(sum(counts)), "wall_s": wall, "tok_s": sum(counts) / wall,
            "ttft_p50": float(np.median(first)), "ttft_max": float(first.max()),
            "gap_p50": float(np.median(gaps)), "gap_p99": float(np.percentile(gaps, 99)),
            "mb_per_session": (after_kb - base_kb) / 1024 / n}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", default="1,4,16")
    ap.add_argument("--tokens", type=int, default=48, help="max_tokens of each reply")
    ap.add_argument("--workers", type=int, default=0, help="the server's --workers (0 = one per core)")
    ap.add_argument("--model", default="dialog/dialog-smollm2")
    a = ap.parse_args()
    sizes = [int(s) for s in a.sessions.split(",")]
    cmd = [sys.executable, "-m", "gamegen.server.cli", "serve", "--port", "0", "--no-http", "--device", "cpu",
           "--max-sessions", str(max(sizes) + 4), "--log-level", "warning"]
    if a.workers:
        cmd += ["--workers", str(a.workers)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    try:
        port = re.search(r":(\d+):", proc.stdout.readline()).group(1)
        with Client(f"127.0.0.1:{port}", timeout=600) as client:
            round_of(client, a.model, 1, 8, rss_kb(proc.pid), proc.pid)     # warm: first session, first turn
            base = rss_kb(proc.pid)
            rows = [round_of(client, a.model, n, a.tokens, base, proc.pid) for n in sizes]
    finally:
        proc.terminate()
        proc.wait(15)
    load = os.getloadavg()
    print(f"{a.model}, max_tokens {a.tokens}, server workers {a.workers or 'default (one per core)'}, "
          f"{os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} (1 / 5 min); server RSS with the "
          f"model loaded, no session open: {base / 1024:.0f} MB")
    print("\n| sessions | tokens | wall s | aggregate tok/s | first token p50 / max ms | token interval p50 / p99 ms "
          "| RSS per session MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['sessions']} | {r['tokens']} | {r['wall_s']:.2f} | {r['tok_s']:.1f} | {r['ttft_p50']:.0f} / "
              f"{r['ttft_max']:.0f} | {r['gap_p50']:.1f} / {r['gap_p99']:.1f} | {r['mb_per_session']:.1f} |")


if __name__ == "__main__":
    main()
