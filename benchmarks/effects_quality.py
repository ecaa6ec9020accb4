"""Effects flipbooks (issue 15): figures that see what a person sees, old vs new, both generators.

    python benchmarks/effects_quality.py            # about 2 minutes on 2 busy cores
    python benchmarks/effects_quality.py --quick    # one seed per effect

For every effect, on held-out seeds (from 1,000,000; the tests use small seeds), 16 frames of
128 px as served (``FlipbookGenerator.frames``), and for the animation they replaced (generator
version 2: ``latent_loop`` — the GAN's latent circle and the procedural phase-rotated noise):

* **coverage**: mean fraction of the frame with alpha > 0.05 (1.0 = full-frame, no shape);
* **border α**: the largest alpha on the outer 2-pixel ring of any frame (0 = soft edge, nothing
  touches the frame border; an effect without alpha counts as 1);
* **up px/frame**: mean vertical optical flow (scikit-image's iterative Lucas-Kanade, on luminance
  × alpha), weighted by alpha, in pixels per frame, positive = up the frame;
* **mc corr**: temporal coherence — the Pearson correlation of frame i+1 with frame i warped by
  that flow, averaged over the consecutive pairs (a moving, persistent pattern ≈ 1; noise that
  re-randomises or morphs in place is lower), and **raw corr** the same without the warp;
* **loop seam**: |last − first| / mean |consecutive step| (≈ 1 loops smoothly; one-shot effects:
  not applicable);
* **min repeat**: the smallest mean |frame i − frame j| over non-neighbouring pairs inside the loop,
  over the mean step (0 = some frame comes back before the loop ends).

It also renders the contact sheets ``benchmarks/results/effects_sprites.png`` (6 of the 16 frames of
each sprite effect over a checkerboard, so alpha shows; procedural and GAN rows, and the old fire)
and ``benchmarks/results/effects_surfaces.png`` (surfaces: 5 frames and frame 0 tiled 2 × 2, shown at
96 px to keep the file small).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from skimage.registration import optical_flow_ilk
from skimage.transform import warp

from gamegen.generators.textures import effects, maps

sys.path.insert(0, str(Path(__file__).resolve().parent))
from textures_quality import load  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEED = 1_000_000
N, F = 128, 16
GENS = ("textures/flipbook-procedural", "textures/flipbook-gan")
OLD_EFFECTS = ("fire", "water", "smoke", "caustics")


def rgba(frames: np.ndarray) -> np.ndarray:
    return frames if frames.shape[-1] == 4 else np.concatenate([frames, np.ones_like(frames[..., :1])], -1)


def metrics(frames: np.ndarray, looping: bool) -> dict:
    f = rgba(frames.astype(np.float64))
    a = f[..., 3]
    lum = f[..., :3].mean(-1) * a
    ring = np.concatenate([a[:, :2].ravel(), a[:, -2:].ravel(), a[:, :, :2].ravel(), a[:, :, -2:].ravel()])
    ups, mc, raw = [], [], []
    rows, cols = np.mgrid[0:N, 0:N].astype(np.float64)
    pairs = range(len(f)) if looping else range(len(f) - 1)
    for i in pairs:
        x0, x1 = lum[i], lum[(i + 1) % len(f)]
        if x0.std() < 1e-4 or x1.std() < 1e-4:
            continue
        v, u = optical_flow_ilk(x1, x0, radius=5)            # x0 warped by (v, u) ≈ x1
        w = (a[i] + a[(i + 1) % len(f)]) / 2
        if w.sum() > 0:
            ups.append(float((v * w).sum() / w.sum()))       # content moved by -v rows: +v = up
        pred = warp(x0, np.array([rows + v, cols + u]), mode="wrap" if a.min() > 0.99 else "constant")
        mc.append(float(np.corrcoef(pred.ravel(), x1.ravel())[0, 1]))
        raw.append(float(np.corrcoef(x0.ravel(), x1.ravel())[0, 1]))
    step = np.abs(np.diff(f, axis=0)).mean()
    n = len(f)
    rep = min(np.abs(f[i] - f[j]).mean() for i in range(n) for j in range(i + 2, n) if (j - i) < n - 1)
    return {"coverage": float((a > 0.05).mean()), "border": float(ring.max()), "up": float(np.mean(ups)),
            "mc": float(np.mean(mc)), "raw": float(np.mean(raw)),
            "seam": maps.loop_seam(f) if looping else None, "repeat": float(rep / step) if step > 0 else 0.0}


def table(gens, seeds: int) -> list[str]:
    rows = []
    for e in effects.EFFECTS + OLD_EFFECTS:
        old = len(rows) >= len(effects.EFFECTS) * len(GENS)
        for ref in GENS:
            ms = []
            for s in range(seeds):
                g = gens[ref]
                if old:
                    fr = g.latent_loop(SEED + s, {"effect": e, "frames": F, "frame_size": N})
                    ms.append(metrics(fr, True))
                else:
                    fr = g.frames(SEED + s, {"effect": e, "frames": F, "frame_size": N})
                    ms.append(metrics(fr, e in effects.LOOPING))

            def col(k, fmt):
                vals = [m[k] for m in ms if m[k] is not None]
                return format(np.mean(vals), fmt) if vals else "—"
            label = f"{e} (old: v2 {'latent circle' if 'gan' in ref else 'phase-rotated noise'})" if old else e
            rows.append(f"| {label} | {ref.split('/')[1]} | {col('coverage', '.2f')} | {col('border', '.2f')} | "
                        f"{col('up', '+.2f')} | {col('mc', '.3f')} | {col('raw', '.3f')} | {col('seam', '.2f')} | "
                        f"{col('repeat', '.2f')} |")
    return rows


def speed(gens, runs: int) -> list[str]:
    """Median ms for 16 frames of 128 px: the new frames, the whole served request (frames + sheet +
    PNG/JSON), and the v2 animation's frames (same process, same seeds)."""
    import time

    rows = []
    for e in effects.EFFECTS:
        cells = []
        for ref in GENS:
            g = gens[ref]
            p = {"effect": e, "frames": F, "frame_size": N}
            t_new, t_req, t_old = [], [], []
            for s in range(runs):
                t0 = time.perf_counter()
                g.frames(SEED + s, p)
                t1 = time.perf_counter()
                list(g.generate(SEED + s, p, ["png", "json"], partials=False))
                t2 = time.perf_counter()
                t_new.append(t1 - t0)
                t_req.append(t2 - t1)
                if e in OLD_EFFECTS:
                    t3 = time.perf_counter()
                    g.latent_loop(SEED + s, p)
                    t_old.append(time.perf_counter() - t3)
            old = f"{1000 * np.median(t_old):.0f}" if t_old else "—"
            cells.append(f"{1000 * np.median(t_new):.0f} / {1000 * np.median(t_req):.0f} / {old}")
        rows.append(f"| {e} | " + " | ".join(cells) + " |")
    return rows


def checker(n: int) -> np.ndarray:
    y, x = np.mgrid[0:n, 0:n]
    return (np.where(((y // 16) + (x // 16)) % 2, 0.16, 0.27)[..., None] * np.ones(3))


def over(frame: np.ndarray) -> np.ndarray:
    if frame.shape[-1] == 3:
        return frame
    a = frame[..., 3:]
    return frame[..., :3] * a + checker(frame.shape[0]) * (1 - a)


def sheet(rows: list[tuple[str, list[np.ndarray]]], path: Path, cell: int = N) -> None:
    """One row per entry, cells of ``cell`` px (surfaces resampled on the torus to keep the PNG small)."""
    label_w = 190
    h = max(cell, 80) * len(rows)
    rh = h // len(rows)
    w = label_w + cell * max(len(r[1]) for r in rows)
    img = np.full((h, w, 3), 0.08)
    for k, (_, cells) in enumerate(rows):
        for j, c in enumerate(cells):
            img[k * rh:k * rh + cell, label_w + j * cell:label_w + (j + 1) * cell] = maps.wrap_resize(c, cell)
    im = Image.fromarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8))
    d = ImageDraw.Draw(im)
    for k, (label, _) in enumerate(rows):
        for li, line in enumerate(label.split("\n")):
            d.text((6, k * rh + 8 + 14 * li), line, fill=(235, 235, 235))
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, optimize=True)


def contact_sheets(gens, out: Path) -> None:
    pick = [0, 3, 6, 9, 12, 15]
    sprites, surfaces = [], []
    for e in effects.SPRITES:
        for ref in GENS:
            fr = gens[ref].frames(SEED, {"effect": e, "frames": F, "frame_size": N})
            mode = "loop" if e in effects.LOOPING else "one-shot"
            sprites.append((f"{e} ({mode})\n{ref.split('/')[1]}", [over(fr[i]) for i in pick]))
    for ref in GENS:
        fr = gens[ref].latent_loop(SEED, {"effect": "fire", "frames": F, "frame_size": N})
        sprites.append((f"OLD fire (v2)\n{ref.split('/')[1]}", [fr[i] for i in pick]))
    for e in effects.SURFACES:
        for ref in GENS:
            fr = gens[ref].frames(SEED, {"effect": e, "frames": F, "frame_size": N})
            tiled = maps.wrap_resize(np.tile(fr[0], (2, 2, 1)), N)
            surfaces.append((f"{e}\n{ref.split('/')[1]}\n(last: frame 0\n tiled 2x2)", [fr[i] for i in pick[:5]] + [tiled]))
    for e in ("water", "caustics"):
        for ref in GENS:
            fr = gens[ref].latent_loop(SEED, {"effect": e, "frames": F, "frame_size": N})
            surfaces.append((f"OLD {e} (v2)\n{ref.split('/')[1]}", [fr[i] for i in pick]))
    sheet(sprites, out / "effects_sprites.png")
    sheet(surfaces, out / "effects_surfaces.png", cell=96)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=Path, default=ROOT / "models")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    a = ap.parse_args()
    gens = load(a.models)
    seeds = 1 if a.quick else 3
    print(f"## Effects: what a person sees ({F} frames of {N} px, {seeds} held-out seed(s) each)\n")
    print("| effect | generator | coverage | border α | up px/frame | mc corr | raw corr | loop seam | min repeat |\n"
          "|---|---|---|---|---|---|---|---|---|")
    print("\n".join(table(gens, seeds)), flush=True)
    print(f"\n## Effects: speed (ms, median of {seeds + 2} runs; frames / whole request with PNG + JSON / "
          "v2 frames)\n")
    print("| effect | " + " | ".join(r.split("/")[1] for r in GENS) + " |\n|---|---|---|")
    print("\n".join(speed(gens, seeds + 2)), flush=True)
    contact_sheets(gens, a.out)
    for p in ("effects_sprites.png", "effects_surfaces.png"):
        print(f"\n{a.out / p}: {(a.out / p).stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
