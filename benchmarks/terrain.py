"""Terrain numbers for BENCHMARKS.md: noise speed, learned vs simulated erosion, mesh export, seams.

    python benchmarks/terrain.py [--repeat 3] [--tiles 16] [--section noise|erosion|mesh|seams|errors]

Every comparison is run in this one process, one thread (ORT intra-op threads = 1), so the
ratios compare methods, not machines. Held-out erosion tiles use seeds the model never saw.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

import numpy as np


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times), out


def noise_section(repeat):
    import noise

    from gamegen.generators.terrain import noise as tnoise

    n = 1025
    print("## Noise: 1025x1025 heightmap, 6 octaves of Perlin fBm (one thread)\n")
    print("| method | best of runs | median | vs per-sample loop |\n|---|---|---|---|")

    def loop(rows):
        out = np.empty((rows, n), dtype=np.float32)
        for y in range(rows):
            for x in range(n):
                out[y, x] = noise.pnoise2(x / 384.0, y / 384.0, octaves=6, base=3)
        return out

    t_loop, m_loop, _ = best(lambda: loop(n), 1)
    print(f"| per-sample Python loop over `noise.pnoise2` (octaves=6), one run | "
          f"{t_loop * 1e3:.0f} ms | {m_loop * 1e3:.0f} ms | 1x |")
    x, y = tnoise.world_grid(0, 0, n, n)
    t, m, _ = best(lambda: tnoise.fractal(7, x, y, octaves=6, scale=384.0), repeat)
    print(f"| FastNoise Lite fBm (`pyfastnoiselite`), float32 coordinates | {t * 1e3:.0f} ms | {m * 1e3:.0f} ms "
          f"| {t_loop / t:.0f}x |")
    t, m, _ = best(lambda: tnoise.base_heights(7, 0, 0, n, n, octaves=6), repeat)
    print(f"| `base_heights` (coordinates + fBm + scaling to [0, 1]), the generator's path | {t * 1e3:.0f} ms | "
          f"{m * 1e3:.0f} ms | {t_loop / t:.0f}x |")
    t, m, _ = best(lambda: tnoise.base_heights(7, 0, 0, n, n, octaves=6, noise="ridged"), repeat)
    print(f"| `base_heights`, ridged | {t * 1e3:.0f} ms | {m * 1e3:.0f} ms | {t_loop / t:.0f}x |")
    t, m, _ = best(lambda: tnoise.base_heights(7, 0, 0, n, n, octaves=6, warp=0.5), repeat)
    print(f"| `base_heights`, domain-warped (two extra 3-octave fields) | {t * 1e3:.0f} ms | {m * 1e3:.0f} ms "
          f"| {t_loop / t:.0f}x |")
    print()


def erosion_section(repeat, tiles):
    from gamegen.generators.terrain import erosion
    from gamegen.generators.terrain.train import HELD_OUT_SEED, terrain_stats, tile_inputs
    from gamegen.server.registry import load_registry

    reg = load_registry(device="cpu", warmup=False)
    learned = reg.resolve("terrain/terrain-erosion")
    sim = learned.info.extra["simulator"]
    hyd, th = sim["hydraulic_iterations"], sim["thermal_iterations"]
    seeds = range(HELD_OUT_SEED + 500, HELD_OUT_SEED + 500 + tiles)   # not in training, not in the manifest's set
    x = tile_inputs(seeds)
    run_learned = learned.eroder({"erosion": 1.0})
    t_sim, _, y_sim = best(lambda: np.concatenate([erosion.erode(x[i:i + 8], hyd, th) for i in range(0, len(x), 8)]),
                           1)
    t_net, _, y_net = best(lambda: np.concatenate([run_learned(x[i:i + 8]) for i in range(0, len(x), 8)]), repeat)
    rmse = lambda a, b: float(np.sqrt(np.mean((a - b) ** 2)))  # noqa: E731
    print(f"## Erosion: learned one pass vs the simulator ({hyd} hydraulic + {th} thermal iterations)\n")
    print(f"{len(x)} held-out 192x192 tiles (seeds {seeds.start}..{seeds.stop - 1}), heights in [0, 1].\n")
    print("| | time per tile | speed-up | RMSE vs simulator | slope mean | slope p90 | curvature mean |")
    print("|---|---|---|---|---|---|---|")
    sx, sn, ss = terrain_stats(x), terrain_stats(y_net), terrain_stats(y_sim)
    print(f"| simulator (numpy) | {t_sim / len(x) * 1e3:.0f} ms | 1x | 0 | {ss['slope_mean']:.5f} | "
          f"{ss['slope_p90']:.5f} | {ss['curvature_mean']:.6f} |")
    print(f"| learned (ONNX Runtime, 1 thread) | {t_net / len(x) * 1e3:.1f} ms | {t_sim / t_net:.1f}x | "
          f"{rmse(y_net, y_sim):.5f} | {sn['slope_mean']:.5f} | {sn['slope_p90']:.5f} | {sn['curvature_mean']:.6f} |")
    print(f"| no erosion (noise baseline) | 0 | - | {rmse(x, y_sim):.5f} | {sx['slope_mean']:.5f} | "
          f"{sx['slope_p90']:.5f} | {sx['curvature_mean']:.6f} |")
    # how much of the simulator's change does the net reproduce?
    change = y_sim - x
    explained = 1 - np.sum((y_net - y_sim) ** 2) / np.sum(change ** 2)
    print(f"\nShare of the simulator's height change reproduced (1 - SSE/SS of the change): {explained:.3f}\n")

    noise_gen = reg.resolve("terrain/noise")
    p = {"size": 257, "chunk_x": 5, "chunk_y": -3}
    t_c_sim, _, _ = best(lambda: list(noise_gen.generate(4, {**p, "hydraulic_iterations": hyd,
                                                            "thermal_iterations": th}, ["raw"])), 1)
    t_c_net, _, _ = best(lambda: list(learned.generate(4, p, ["raw"])), repeat)
    t_c_none, _, _ = best(lambda: list(noise_gen.generate(4, p, ["raw"])), repeat)
    print("Whole 257x257 chunk (9 erosion tiles, cross-faded), `raw` output:\n")
    print("| path | time | vs simulator |\n|---|---|---|")
    print(f"| terrain/noise, {hyd}+{th} simulator iterations | {t_c_sim:.2f} s | 1x |")
    print(f"| terrain/terrain-erosion (learned) | {t_c_net:.2f} s | {t_c_sim / t_c_net:.1f}x |")
    print(f"| terrain/noise, no erosion | {t_c_none:.2f} s | {t_c_sim / t_c_none:.0f}x |")
    print()


def mesh_section(repeat):
    from gamegen.generators.terrain.generator import TerrainGenerator

    gen = TerrainGenerator.classic()
    print("## Mesh export (GLB via trimesh)\n")
    print("| chunk | assets | time (mesh stage) | bytes |\n|---|---|---|---|")
    for size in (257, 1025):
        times = []
        for _ in range(repeat):
            ev = list(gen.generate(1, {"size": size}, ["glb"]))
            times.append(dict(ev[-1].timings_ms)["mesh"])
        glbs = [e for e in ev if getattr(e, "name", "").endswith(".glb")]
        print(f"| {size}x{size} | {len(glbs)} GLB | {min(times):.0f} ms | {sum(len(e.data) for e in glbs):,} |")
    # time to the first mesh tile of a 1025 chunk
    t0 = time.perf_counter()
    for e in gen.generate(1, {"size": 1025}, ["glb"]):
        if getattr(e, "name", "").endswith(".glb"):
            first = time.perf_counter() - t0
            print(f"\n1025x1025: first mesh tile (`{e.name}`) after {first * 1e3:.0f} ms")
            break
    print()


def seams_section():
    from PIL import Image

    import trimesh

    from gamegen.server.registry import load_registry

    reg = load_registry(device="cpu", warmup=False)
    print("## Seams: 3x3 chunks of 129, every shared edge (max abs difference)\n")
    print("| model | parameters | heights (16-bit) | normals | splat weights |\n|---|---|---|---|---|")
    for ref, extra in (("terrain/noise", {}), ("terrain/noise", {"hydraulic_iterations": 60, "thermal_iterations": 20,
                                                                   "warp": 0.5}),
                       ("terrain/terrain-erosion", {"noise": "ridged"})):
        gen = reg.resolve(ref)
        got = {}
        order = [(cx, cy) for cy in (-1, 0, 1) for cx in (-1, 0, 1)]
        for cx, cy in reversed(order):
            ev = list(gen.generate(9, {**extra, "size": 129, "chunk_x": cx, "chunk_y": cy}, ["raw", "splat", "glb"]))
            a = {e.name: e.data for e in ev if hasattr(e, "data")}
            h = np.frombuffer(a["heightmap.raw"], "<u2").reshape(129, 129).astype(np.int64)
            s = np.asarray(Image.open(io.BytesIO(a["splat.png"]))).astype(np.int64)
            (m,) = trimesh.load(io.BytesIO(a["terrain.glb"]), file_type="glb", process=False).geometry.values()
            got[cx, cy] = (h, np.asarray(m.vertex_normals).reshape(129, 129, 3), s)
        worst = [0.0, 0.0, 0.0]
        for (cx, cy), f in got.items():
            for nb, mine, theirs in (((cx + 1, cy), np.s_[:, -1], np.s_[:, 0]), ((cx, cy + 1), np.s_[-1], np.s_[0])):
                if nb in got:
                    for i in range(3):
                        worst[i] = max(worst[i], float(np.abs(f[i][mine] - got[nb][i][theirs]).max()))
        print(f"| {ref} | {extra or 'defaults'} | {worst[0]:g} | {worst[1]:g} | {worst[2]:g} |")
    print()


def errors_section():
    from gamegen.generators.params import ParamError
    from gamegen.generators.terrain.generator import TerrainGenerator

    gen = TerrainGenerator.classic()
    print("## Bad input (gRPC INVALID_ARGUMENT carries these messages)\n")
    print("| request | message |\n|---|---|")
    for p in ({"size": 300}, {"chunk_x": 600}, {"hydraulic_iterations": 10000}, {"thermal_iterations": 301}):
        try:
            gen.generate(1, p, ["raw"])
        except ParamError as e:
            print(f"| `{p}` | {e} |")
    print()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tiles", type=int, default=16)
    ap.add_argument("--section", action="append", choices=["noise", "erosion", "mesh", "seams", "errors"])
    args = ap.parse_args()
    sections = args.section or ["noise", "erosion", "mesh", "seams", "errors"]
    if "noise" in sections:
        noise_section(args.repeat)
    if "erosion" in sections:
        erosion_section(args.repeat, args.tiles)
    if "mesh" in sections:
        mesh_section(args.repeat)
    if "seams" in sections:
        seams_section()
    if "errors" in sections:
        errors_section()


if __name__ == "__main__":
    main()
