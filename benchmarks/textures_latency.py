"""Latency of the textures generators, and ONNX Runtime vs PyTorch eager per network.

    python benchmarks/textures_latency.py              # 512 px sets, 15 runs each
    python benchmarks/textures_latency.py --runs 5
    python benchmarks/textures_latency.py --large      # 1024 and 2048 px: one request each, peak memory

In-process (the generator the server runs, CPU provider, one intra-op thread — the server
default): the full 512×512 PBR set (albedo, height, normal GL + DX, roughness, AO, all encoded as
PNG) and the time until the low-resolution preview arrives. Then each network alone, ONNX Runtime
vs PyTorch eager on the same weights (checkpoints in runs/; skipped when absent), one thread each.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from textures_quality import load  # noqa: E402

from gamegen.generators.events import Asset, Final  # noqa: E402
from gamegen.generators.textures import images, procedural  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MAPS = ["albedo", "height", "normal_gl", "normal_dx", "roughness", "ao"]


def timed(gen, seed, params, formats):
    t0 = time.perf_counter()
    first = None
    stages = {}
    for e in gen.generate(seed, params, formats, partials=True):
        if isinstance(e, Asset) and e.format == "preview" and first is None:
            first = time.perf_counter() - t0
        if isinstance(e, Final):
            stages = dict(e.timings_ms)
    return time.perf_counter() - t0, first, stages


def pct(xs, q):
    return float(np.percentile(np.array(xs) * 1e3, q))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=Path, default=ROOT / "models")
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--large", action="store_true", help="time 1024/2048 px requests in fresh processes")
    ap.add_argument("--only", help="only the rows whose generator name contains this (e.g. materials)")
    a = ap.parse_args()
    if a.large:
        large(a.models)
        return
    gens = load(a.models)
    alb, _, _ = procedural.material("brick", np.random.default_rng(1), 512)
    ex, _, _ = procedural.material("stone", np.random.default_rng(2), 256)
    jobs = [
        ("textures/materials-gan", {"material": "stone", "size": 512}, MAPS),
        ("textures/materials-procedural", {"material": "stone", "size": 512}, MAPS),
        ("textures/materials-net", {"material": "stone", "size": 512}, MAPS),
        ("textures/materials-layered", {"material": "stone", "size": 512}, MAPS),
        ("textures/materials-net", {"material": "brick", "size": 512}, MAPS),
        ("textures/materials-layered", {"material": "brick", "size": 512}, MAPS),
        ("textures/materials-net", {"material": "wood", "size": 512}, MAPS),
        ("textures/materials-net", {"material": "metal", "size": 512}, MAPS),
        ("textures/pbr-unet", {"albedo": images.png_rgb(alb)}, MAPS[1:]),
        ("textures/pbr-sobel", {"albedo": images.png_rgb(alb)}, MAPS[1:]),
        ("textures/exemplar-unet", {"exemplar": images.png_rgb(ex), "size": 512}, MAPS),
        ("textures/exemplar-spectral", {"exemplar": images.png_rgb(ex), "size": 512}, MAPS),
        ("textures/flipbook-gan", {"effect": "fire", "frames": 16, "frame_size": 128}, ["png", "json"]),
        ("textures/flipbook-procedural", {"effect": "fire", "frames": 16, "frame_size": 128}, ["png", "json"]),
    ]
    print("| generator | request | total p50 | total p90 | first preview p50 | stages (p50 run) |")
    print("|---|---|---|---|---|---|")
    for ref, params, formats in jobs:
        if ref not in gens or (a.only and a.only not in ref):
            continue
        g = gens[ref]
        timed(g, 0, params, formats)
        runs = [timed(g, s, params, formats) for s in range(a.runs)]
        tot = [r[0] for r in runs]
        first = [r[1] for r in runs if r[1] is not None]
        mid = runs[int(np.argsort(tot)[len(tot) // 2])][2]
        stages = ", ".join(f"{k} {v:.0f}" for k, v in mid.items() if k != "total")
        what = {"textures/pbr-unet": "512 px albedo → 5 maps", "textures/pbr-sobel": "512 px albedo → 5 maps"}.get(
            ref, "16 frames of 128 px" if "flipbook" in ref else f"512 px {params.get('material')}, 6 maps")
        print(f"| {ref} | {what} | {pct(tot, 50):.0f} ms | {pct(tot, 90):.0f} ms | "
              f"{pct(first, 50):.1f} ms | {stages} |")
    print()
    if "textures/materials-net" in gens and (not a.only or a.only in "textures/materials-net"):
        preview_before_after(gens["textures/materials-net"], a.runs)
    if not a.only:
        ort_vs_torch()


def preview_before_after(g, runs: int) -> None:
    """materials-net's preview, the two ways, in this run: as generator version 3 made it (the
    full-resolution layout, then the trunk's quarter-resolution output) and as it is made now (a
    layout drawn at a quarter of the resolution, trunk + head on it)."""
    from gamegen.generators.textures import layout
    from gamegen.generators.textures.generator import _rng

    def before(seed, name):
        t0 = time.perf_counter()
        lay = layout.layout(name, _rng(seed, 0), 512, 1.0, 0.3)[None, :g.n_in]
        onehot = np.eye(len(g.classes), dtype=np.float32)[[g.classes.index(name)]]
        preview = g.trunk.run(None, {"layout": lay, "cls": onehot})[3]
        images.png_rgb(np.ascontiguousarray(preview[0, :3].transpose(1, 2, 0)))
        return time.perf_counter() - t0

    print("| materials-net, 512 px | preview as in 1.0.0 (full layout + trunk) p50 | preview now (quarter "
          "layout + trunk + head) p50 | ratio |\n|---|---|---|---|")
    for name in ("stone", "brick", "wood", "metal"):
        before(0, name)
        timed(g, 0, {"material": name, "size": 512}, ["albedo"])
        old = [before(s, name) for s in range(runs)]
        new = [timed(g, s, {"material": name, "size": 512}, ["albedo"])[1] for s in range(runs)]
        print(f"| {name} | {pct(old, 50):.1f} ms | {pct(new, 50):.1f} ms | {pct(old, 50) / pct(new, 50):.1f}x |")
    print()


LARGE = """
import resource, sys, time
import numpy as np
sys.path.insert(0, {bench!r})
from textures_quality import load
from gamegen.generators.textures import images, procedural
g = load(__import__("pathlib").Path({models!r}))[{ref!r}]
params = {{"material": "wood", "size": {size}}}
if "exemplar" in {ref!r}:
    params = {{"exemplar": images.png_rgb(procedural.material("stone", np.random.default_rng(0), 512)[0]),
              "size": {size}}}
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
ev = list(g.generate(1, params, list(g.info.formats)))
print(f"{{time.perf_counter() - t:.2f}} {{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}} "
      f"{{base / 1024:.0f}}")
"""


def large(models: Path) -> None:
    """One request per size in a fresh process: wall time and the process's peak memory."""
    import subprocess

    print("| generator | size | time | peak RSS of the process (before the request) |\n|---|---|---|---|")
    for ref in ("textures/materials-gan", "textures/materials-net", "textures/exemplar-unet"):
        for size in (1024, 2048):
            code = LARGE.format(bench=str(Path(__file__).resolve().parent), models=str(models), ref=ref, size=size)
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
            print(f"| {ref} | {size} px, all 6 maps | {float(out[0]):.1f} s | {int(out[1])} MB ({int(out[2])} MB) |")


def ort_vs_torch() -> None:
    try:
        import torch
    except ImportError:
        print("(torch not installed: ORT vs eager skipped)")
        return
    import onnxruntime as ort

    from gamegen.generators.textures import nets

    torch.set_num_threads(1)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 3

    def bench(f, n=10):
        f()
        ts = []
        for _ in range(n):
            t = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t)
        return float(np.median(ts)) * 1e3

    print("| network | input | ONNX Runtime | PyTorch eager | eager / ORT |\n|---|---|---|---|---|")
    for model, folder in (("materials", "materials-gan"), ("flipbook", "flipbook-gan"), ("pbr", "pbr-unet")):
        ck = ROOT / "runs" / f"textures-{model}.pt"
        mdir = ROOT / "models" / folder / "1.0.0"
        if not ck.exists() or not mdir.exists():
            continue
        c = torch.load(ck, map_location="cpu", weights_only=True)
        if model == "pbr":
            net = nets.PBRNet(tuple(c["config"]["widths"]))
            net.load_state_dict(c["state_dict"])
            net.eval()
            x = torch.rand(1, 3, 512, 512)
            s = ort.InferenceSession(str(mdir / "model.onnx"), so, providers=["CPUExecutionProvider"])
            t_ort = bench(lambda: s.run(None, {"albedo": x.numpy()}))
            with torch.no_grad():
                t_pt = bench(lambda: net(x))
            print(f"| pbr-unet | 1×3×512×512 | {t_ort:.1f} ms | {t_pt:.1f} ms | {t_pt / t_ort:.2f}× |")
            continue
        cfg = c["config"]
        g = nets.TileGenerator(cfg["zc"], cfg["n_cls"], cfg["out"], tuple(cfg["trunk"]), tuple(cfg["head"]),
                               cfg.get("upsample", "nearest"), cfg.get("fine", 0),
                               cfg.get("head_upsample", "nearest"))
        g.load_state_dict(c["state_dict"])
        g.eval()
        b, r = (1, 32) if model == "materials" else (16, 8)
        z = torch.randn(b, g.z_channels, r, r)
        cls = torch.zeros(b, cfg["n_cls"])
        cls[:, 0] = 1
        trunk = ort.InferenceSession(str(mdir / "trunk.onnx"), so, providers=["CPUExecutionProvider"])
        head = ort.InferenceSession(str(mdir / "head.onnx"), so, providers=["CPUExecutionProvider"])

        def run_ort():
            feat, pre, _ = trunk.run(None, {"z": z.numpy(), "cls": cls.numpy()})
            head.run(None, {"feat": feat, "pre": pre})

        t_ort = bench(run_ort)
        t_trunk = bench(lambda: trunk.run(None, {"z": z.numpy(), "cls": cls.numpy()}))
        with torch.no_grad():
            t_pt = bench(lambda: g(z, cls))
            t_pt_trunk = bench(lambda: g.trunk(z, cls))
        size = r * 16
        print(f"| {folder} (trunk + head) | {b}×{g.z_channels}×{r}×{r} latent → {b}×{cfg['out']}×{size}×{size} | "
              f"{t_ort:.1f} ms | {t_pt:.1f} ms | {t_pt / t_ort:.2f}× |")
        print(f"| {folder} trunk only (preview) | → {b}×{cfg['out']}×{size // 4}×{size // 4} | {t_trunk:.1f} ms | "
              f"{t_pt_trunk:.1f} ms | {t_pt_trunk / t_trunk:.2f}× |")


if __name__ == "__main__":
    main()
