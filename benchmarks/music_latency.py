"""Music latency: 16 bars in-process and over gRPC, first bar, cached vs uncached, ORT vs PyTorch.

    python benchmarks/music_latency.py [--n 30]

* in-process: ``MusicGenerator.generate`` for 16 bars of 4/4 (``mid`` only, and ``mid``+``wav``),
  median of ``--n`` seeds; "first bar" is the time until the first MusicBar event.
* over gRPC: the same request through a loopback server (first bar as the client sees it).
* cached vs uncached: the same token sequence (a generated 16-bar piece) decoded with the
  one-token step graph (state carried) and with the sequence graph re-run over the whole prefix
  for every token (both ONNX Runtime, one thread).
* ONNX Runtime vs PyTorch eager: the step graph vs :class:`MelodyStep` in torch (one thread),
  needs the training checkpoint ``runs/music/lstm.pt``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

from gamegen.generators.events import MusicBar
from gamegen.generators.music import encoding as enc
from gamegen.server.registry import SessionFactory, load_registry

ROOT = Path(__file__).resolve().parent.parent


def cpu_seconds() -> float:
    """This process's CPU time plus its finished children's (FluidSynth runs as a child)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed_generate(gen, seed, params, formats):
    t0, c0 = time.perf_counter(), cpu_seconds()
    first = None
    for e in gen.generate(seed, params, formats):
        if first is None and isinstance(e, MusicBar):
            first = time.perf_counter() - t0
    return (time.perf_counter() - t0) * 1e3, first * 1e3, (cpu_seconds() - c0) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=30)
    a = ap.parse_args()
    reg = load_registry(device="cpu")
    params = {"bars": 16, "meter": "4/4", "tempo": 120}
    print(f"16 bars of 4/4 at 120 bpm, median over {a.n} seeds (FluidSynth rows: {max(5, a.n // 5)}) after "
          "warm-up; CPU, ORT intra-op threads 1\n")
    print("| model | formats | in-process total (ms) | CPU time incl. FluidSynth (ms) | first bar streamed (ms) | "
          "melody tokens |")
    print("|---|---|---|---|---|---|")
    from gamegen.generators.music import synth

    fluid = synth.fluidsynth() is not None
    rows = [(["mid"], {}), (["mid"], {"style": "battle", "drums": True}), (["mid", "wav"], {"synth": "builtin"})]
    if fluid:
        rows += [(["mid", "wav"], {"synth": "auto"}), (["mid", "wav", "stems"], {"synth": "auto", "drums": True})]
    for ref in ("music/music-lstm", "music/music-markov"):
        gen = reg.resolve(ref)
        names = {p.name for p in gen.info.params}
        for formats, extra in rows:
            if any(k not in names for k in extra):
                continue                   # an older generator without these controls
            n = a.n if "wav" not in formats or extra.get("synth") == "builtin" else max(5, a.n // 5)
            tot, first, toks, cpu = [], [], [], []
            for s in range(n):
                t, f, c = timed_generate(gen, s, {**params, **extra}, formats)
                tot.append(t)
                first.append(f)
                cpu.append(c)
            for s in range(3):
                final = list(gen.generate(s, params, ["mid"]))[-1]
                toks.append(sum(1 + 2 * len(b) for b in final.extra["melody_bars"]))
            label = "+".join(formats) + "".join(f", {k}={v}" for k, v in extra.items())
            if extra.get("synth") == "auto":
                label += " (FluidSynth)"
            print(f"| {ref} | {label} | {statistics.median(tot):.1f} | {statistics.median(cpu):.1f} | "
                  f"{statistics.median(first):.2f} | {int(np.mean(toks))} |")

    # over gRPC
    import sys

    sys.path.insert(0, str(ROOT))
    from gamegen.client import Client
    from tests.conftest import ServerThread

    srv = ServerThread(reg)
    try:
        with Client(srv.target, timeout=60) as c:
            tot, first = [], []
            for s in range(a.n):
                t0 = time.perf_counter()
                f = None
                for e in c.generate("music/music-lstm", s, params, ["mid"]):
                    if f is None and isinstance(e, MusicBar):
                        f = time.perf_counter() - t0
                tot.append((time.perf_counter() - t0) * 1e3)
                first.append(f * 1e3)
        print(f"| music/music-lstm over gRPC (loopback) | mid | {statistics.median(tot):.1f} | | "
              f"{statistics.median(first):.2f} | |")
    finally:
        srv.stop()

    # cached vs uncached decoding, ORT vs torch
    gen = reg.resolve("music/music-lstm")
    model_dir = next((ROOT / "models" / "music-lstm").glob("*/manifest.json")).parent
    import json

    manifest = json.loads((model_dir / "manifest.json").read_text())
    final = list(gen.generate(0, params, ["mid"]))[-1]
    toks, pos, ph = enc.encode(final.extra["melody_bars"], "major", "4/4")
    n = len(toks)
    factory = SessionFactory("cpu", threads=1)
    step = factory(model_dir / manifest["file"])
    seq = factory(model_dir / manifest["files"]["sequence"]["file"])
    L, H = manifest["extra"]["layers"], manifest["extra"]["hidden"]

    def cached():
        h = c = np.zeros((L, 1, H), np.float32)
        out = []
        for i in range(n):
            lg, h, c = step.run(None, {"token": toks[i:i + 1], "pos": pos[i:i + 1], "phrase": ph[i:i + 1],
                                       "h": h, "c": c})
            out.append(lg[0])
        return np.array(out)

    def uncached():
        out = []
        for i in range(n):
            out.append(seq.run(None, {"tokens": toks[None, :i + 1], "pos": pos[None, :i + 1],
                                      "phrase": ph[None, :i + 1]})[0][0])
        return np.array(out)

    def best(fn, k=5):
        ts = []
        for _ in range(k):
            t0 = time.perf_counter()
            r = fn()
            ts.append(time.perf_counter() - t0)
        return min(ts) * 1e3, r

    tc, rc = best(cached)
    tu, ru = best(uncached, 3)
    print(f"\n### Decoding {n} tokens (one 16-bar melody), ONNX Runtime, 1 thread\n")
    print("| decoder | total (ms) | per token (ms) | ratio |")
    print("|---|---|---|---|")
    print(f"| cached (step graph, LSTM state carried) | {tc:.1f} | {tc / n:.3f} | 1 |")
    print(f"| uncached (sequence graph over the whole prefix per token) | {tu:.1f} | {tu / n:.3f} | "
          f"{tu / tc:.1f}x slower |")
    print(f"\n(max |logit difference| cached vs uncached: {np.abs(rc - ru).max():.2e})")

    ckpt = ROOT / "runs" / "music" / "lstm.pt"
    if not ckpt.exists():
        print(f"\n{ckpt} missing: PyTorch eager comparison skipped (train it: see README)")
        return
    import torch

    from gamegen.generators.music import nets

    torch.set_num_threads(1)
    ck = torch.load(ckpt, map_location="cpu", weights_only=True)
    model = nets.build(ck["config"])
    model.load_state_dict(ck["state_dict"])
    model.eval()
    tstep = nets.MelodyStep(model)
    tt = torch.from_numpy(toks)
    tp, tph = torch.from_numpy(pos), torch.from_numpy(ph)

    def eager():
        h = c = torch.zeros(L, 1, H)
        out = []
        with torch.inference_mode():
            for i in range(n):
                lg, h, c = tstep(tt[i:i + 1], tp[i:i + 1], tph[i:i + 1], h, c)
                out.append(lg[0].numpy())
        return np.array(out)

    te, re_ = best(eager)
    print("\n| step decoder, same tokens | total (ms) | per token (ms) | ratio |")
    print("|---|---|---|---|")
    print(f"| ONNX Runtime | {tc:.1f} | {tc / n:.3f} | 1 |")
    print(f"| PyTorch eager | {te:.1f} | {te / n:.3f} | {te / tc:.1f}x slower |")
    diff = float(np.abs(rc - re_).max())
    print(f"\n(max |logit difference| ORT vs torch: {diff:.2e})")
    if diff > 1e-3:
        print(f"note: {ckpt} is not the checkpoint the shipped model was exported from (retrained?); "
              "the timing comparison holds (same architecture), the difference does not")


if __name__ == "__main__":
    main()
