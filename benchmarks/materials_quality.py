"""Materials: figures that see what a person sees, and the contact sheets (issue 15).

    python benchmarks/materials_quality.py                # figures + contact sheets (a few minutes)
    python benchmarks/materials_quality.py --quick        # fewer seeds
    python benchmarks/materials_quality.py --no-sheets    # figures only

Every generator of materials is asked for the same classes on held-out seeds (1000+, never used
in training) at 256 px, default parameters; figures are on the served albedo (luminance where
the figure is about structure):

* **lattice**: brick lattice strength — the first peak of the normalised vertical autocorrelation
  of the luminance after it first drops below zero (courses repeat: a high peak at the course
  period; worms and mottle: low); the lag is reported.
* **coherence**: wood orientation coherence — structure tensor (wrap-around gradients, 9 px
  window), (λ1 − λ2) / (λ1 + λ2) averaged with gradient-energy weights (grain running one way: near
  1; isotropic noise: near 0).
* **two-scale**: stone multi-scale energy — the geometric mean of the luminance energy in a fine
  band (1-3 px) and a coarse band (8-32 px) (grain at two scales: both present).
* **chroma HF**: high-frequency chroma energy — std of (Cb, Cr) minus their 5 px box blur (rainbow
  speckle: high).
* **diversity**: mean pairwise random-filter Gram distance between seeds of one class (seeds that
  differ in look, not only in pixels: high).
* **to held-out**: Gram distance to held-out renders of the class by the layered teacher
  (``materials-layered`` at seeds from ``HELD_OUT_SEED``), and for brick to scikit-image's CC0
  brick photograph (luminance, as the photo is grey).
* **seam rank**: where the wrap-around row/column pair ranks among all neighbouring pairs, percent,
  mean over seeds and maps (periodic: ~50; a crop that does not wrap: near 100).
* **seam**: wrap-around seam ratio of albedo and height (~1 = seamless), the median over seeds: a
  mortar, plank or panel joint that happens to fall on the edge row makes that one tile score high
  (the edge pair is then a joint pair), periodic or not, so the mean is dominated by chance.

Contact sheets (``benchmarks/results/materials_*.png``): each material tiled 2×2 (256 px tiles,
so the 512 px cell shows four repeats), learned ``materials-net`` (2.0.0, then 1.0.0) beside the
layered teacher, the old procedural baseline and the old GAN, then normal maps (``compare``); the
same tiles at 1:1, net 2.0.0 | net 1.0.0 | teacher (``detail``); the streamed 128 px preview of a
512 px tile beside the finished albedo (``preview``); and a sheet of the controls (wear and
pattern_scale) of ``materials-net`` (``controls``).
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from textures_quality import assets, load  # noqa: E402

from gamegen.generators.events import Asset  # noqa: E402
from gamegen.generators.textures import exemplar, maps  # noqa: E402
from gamegen.generators.textures.measures import chroma_hf, coherence, lattice, lum, seam_rank, two_scale  # noqa: E402
from gamegen.generators.textures.train import HELD_OUT_SEED  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CLASSES = ("brick", "wood", "stone", "metal")
GENERATORS = ("textures/materials-net", "textures/materials-net@1.0.0", "textures/materials-layered",
              "textures/materials-procedural", "textures/materials-gan")
SHORT = {"textures/materials-net": "materials-net 2.0.0 (learned, new)",
         "textures/materials-net@1.0.0": "materials-net 1.0.0 (before)",
         "textures/materials-layered": "materials-layered (teacher)",
         "textures/materials-procedural": "materials-procedural (old baseline)",
         "textures/materials-gan": "materials-gan (old GAN)"}


# -- figures ------------------------------------------------------------------------------------

def gram(a: np.ndarray, b: np.ndarray) -> float:
    return exemplar.texture_distance(a, b)["gram"]


def brick_photo() -> np.ndarray | None:
    try:
        import skimage
    except ImportError:
        return None
    with Image.open(Path(os.path.dirname(skimage.__file__)) / "data" / "brick.png") as im:
        return np.asarray(im.convert("RGB").resize((256, 256)), np.float32) / 255


def load_all(models: Path) -> dict:
    """Every textures generator (newest versions), plus materials-net 1.0.0 (the "before") when shipped."""
    from gamegen.exporters.manifest import load_manifest
    from gamegen.generators import kinds
    from gamegen.server.registry import SessionFactory

    gens = load(models)
    old = models / "materials-net" / "1.0.0"
    if old.is_dir():
        gens["textures/materials-net@1.0.0"] = kinds.from_manifest(old, load_manifest(old), SessionFactory("cpu"))
    return gens


def measure(outs: list[dict], held: list[np.ndarray], photo: np.ndarray | None) -> dict:
    """The figures of one generator on one class: ``outs`` its maps (``albedo``, ``height``) at the
    benchmark's seeds, ``held`` the teacher's held-out renders of the class, ``photo`` (brick only)."""
    alb = [o["albedo"] for o in outs]
    lat = [lattice(a) for a in alb]
    return {
        "lattice": float(np.mean([v for v, _ in lat])), "lag": int(np.median([k for _, k in lat])),
        "coherence": float(np.mean([coherence(a) for a in alb])),
        "two_scale": float(np.mean([two_scale(a) for a in alb])),
        "chroma": float(np.mean([chroma_hf(a) for a in alb])),
        "diversity": float(np.mean([gram(a, b) for a, b in itertools.combinations(alb, 2)])),
        "held": float(np.mean([gram(a, h) for a, h in zip(alb, held)])),
        "photo": (float(np.mean([gram(np.repeat(lum(a)[..., None], 3, -1).astype(np.float32), photo)
                                 for a in alb])) if photo is not None else None),
        "seam_a": float(np.median([maps.seam_error(o["albedo"]) for o in outs])),
        "seam_h": float(np.median([maps.seam_error(o["height"]) for o in outs])),
        "rank": float(np.mean([seam_rank(o["albedo"]) for o in outs] + [seam_rank(o["height"]) for o in outs])),
    }


def row(m: str, label: str, r: dict) -> str:
    photo_s = f"{r['photo']:.3f}" if r["photo"] is not None else "–"
    return (f"| {m} | {label} | {r['lattice']:.3f} (lag {r['lag']}) | {r['coherence']:.3f} | "
            f"{r['two_scale']:.4f} | {r['chroma']:.4f} | {r['diversity']:.3f} | {r['held']:.3f} | "
            f"{photo_s} | {r['seam_a']:.2f} / {r['seam_h']:.2f} | {r['rank']:.0f} |")


def figures(gens: dict, n: int) -> tuple[list[str], dict]:
    teacher = gens["textures/materials-layered"]
    held = {m: [assets(teacher, HELD_OUT_SEED + i, {"material": m, "size": 256}, ["albedo"])["albedo"]
                for i in range(n)] for m in CLASSES}
    photo = brick_photo()
    rows, table = [], {}
    for ref in GENERATORS:
        if ref not in gens:
            continue
        g = gens[ref]
        choices = next(p.choices for p in g.info.params if p.name == "material")
        for m in CLASSES:
            if m not in choices:
                continue
            outs = [assets(g, 1000 + s, {"material": m, "size": 256}, ["albedo", "height"]) for s in range(n)]
            r = measure(outs, held[m], photo if m == "brick" else None)
            table[(ref, m)] = r
            rows.append(row(m, SHORT[ref], r))
    rows.sort(key=lambda s: CLASSES.index(s.split(" | ")[0][2:]))
    return rows, table


# -- contact sheets ------------------------------------------------------------------------------

def _tile2(img: np.ndarray) -> np.ndarray:
    return np.tile(img, (2, 2, 1) if img.ndim == 3 else (2, 2))


def _label(img: np.ndarray, text: str) -> np.ndarray:
    from PIL import ImageDraw

    im = Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8))
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, 7 * len(text) + 6, 14], fill=(0, 0, 0))
    d.text((3, 2), text, fill=(255, 255, 255))
    return np.asarray(im).astype(np.float32) / 255


def _save(sheet: np.ndarray, path: Path, cell: int) -> None:
    im = Image.fromarray((np.clip(sheet, 0, 1) * 255).astype(np.uint8))
    im.save(path, optimize=True)
    if path.stat().st_size > 1_500_000:   # keep the repository light: an adaptive palette
        im.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)


def _preview_pair(g, seed: int, m: str) -> np.ndarray:
    """The streamed preview of a 512 px tile (128 px, shown 2x with nearest pixels) beside the
    finished albedo shrunk to 256 px: the preview should be the same tile."""
    prev = final = None
    for e in g.generate(seed, {"material": m, "size": 512}, ["albedo"], partials=True):
        if isinstance(e, Asset):
            with Image.open(io.BytesIO(e.data)) as im:
                a = np.asarray(im.convert("RGB"), np.float32) / 255
            if e.format == "preview":
                prev = a
            else:
                final = a
    big = np.repeat(np.repeat(prev, 2, 0), 2, 1)
    return np.concatenate([_label(big, f"{m}: preview (128 px, first event)"),
                           _label(maps.wrap_resize(final, 256), f"{m}: finished albedo (512 px, shrunk)")], 1)


def sheets(gens: dict, out_dir: Path, seed: int = 1001, cell: int = 320) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    rows = []
    previews = []
    for m in CLASSES:
        cells = []
        for ref in GENERATORS:
            g = gens.get(ref)
            choices = next(p.choices for p in g.info.params if p.name == "material") if g else ()
            if g is None or m not in choices:
                cells.append(np.zeros((cell, cell, 3), np.float32))
                continue
            a = assets(g, seed, {"material": m, "size": 256}, ["albedo", "normal_gl"])
            cells.append(_label(maps.wrap_resize(_tile2(a["albedo"]), cell), f"{m}: {ref.split('/')[1]}"))
            if ref == "textures/materials-net":
                previews.append(_preview_pair(g, seed, m))
            if ref == "textures/materials-net":
                net_normal = _label(maps.wrap_resize(_tile2(a["normal_gl"]), cell), "materials-net normal (GL)")
            if ref == "textures/materials-gan":
                gan_normal = _label(maps.wrap_resize(_tile2(a["normal_gl"]), cell), "materials-gan normal (GL)")
        rows.append(np.concatenate(cells + [net_normal, gan_normal], 1))
    p = out_dir / "materials_compare.png"
    _save(np.concatenate(rows, 0), p, cell)
    written.append(p)
    p = out_dir / "materials_preview.png"
    _save(np.concatenate(previews, 0), p, 256)
    written.append(p)
    # grain at 1:1 (no resizing): the learned model now and before, beside its teacher
    rows = []
    refs = [r for r in ("textures/materials-net", "textures/materials-net@1.0.0", "textures/materials-layered")
            if r in gens]
    for m in CLASSES:
        rows.append(np.concatenate([_label(assets(gens[r], seed, {"material": m, "size": 256}, ["albedo"])["albedo"],
                                           f"{m}: {r.split('/')[1]}") for r in refs], 1))
    p = out_dir / "materials_detail.png"
    _save(np.concatenate(rows, 0), p, 256)
    written.append(p)
    # controls of the learned model: wear across, pattern_scale down (brick and wood), seeds (all)
    g = gens["textures/materials-net"]
    rows = []
    for m in ("brick", "wood", "stone", "metal"):
        cells = []
        for wear, pat in ((0.0, 1.0), (0.5, 1.0), (1.0, 1.0), (0.3, 0.6), (0.3, 1.8)):
            a = assets(g, seed, {"material": m, "size": 256, "wear": wear, "pattern_scale": pat}, ["albedo"])
            cells.append(_label(maps.wrap_resize(_tile2(a["albedo"]), 256), f"{m} wear {wear:g} pattern {pat:g}"))
        for s in (2002, 3003):
            a = assets(g, s, {"material": m, "size": 256}, ["albedo"])
            cells.append(_label(maps.wrap_resize(_tile2(a["albedo"]), 256), f"{m} seed {s}"))
        rows.append(np.concatenate(cells, 1))
    p = out_dir / "materials_controls.png"
    _save(np.concatenate(rows, 0), p, 256)
    written.append(p)
    return written


def chroma_spread(gens: dict, n: int) -> None:
    print(f"| class | generator | chroma HF, mean ± s.e. over {n} held-out seeds |\n|---|---|---|")
    for m in CLASSES:
        for ref in ("textures/materials-net", "textures/materials-layered", "textures/materials-procedural"):
            v = np.array([chroma_hf(assets(gens[ref], 1000 + i, {"material": m, "size": 256}, ["albedo"])
                                             ["albedo"]) for i in range(n)])
            print(f"| {m} | {ref} | {v.mean():.5f} ± {v.std(ddof=1) / np.sqrt(n):.5f} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=Path, default=ROOT / "models")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-sheets", action="store_true")
    ap.add_argument("--chroma-seeds", type=int, metavar="N",
                    help="only: chroma HF per class, mean ± standard error over N held-out seeds (is a "
                         "difference in the table's chroma column bigger than the seed-to-seed spread?)")
    a = ap.parse_args()
    if a.chroma_seeds:
        chroma_spread(load_all(a.models), a.chroma_seeds)
        return
    n = 3 if a.quick else 6
    gens = load_all(a.models)
    if "textures/materials-net" in gens:      # the served version (2.1.0: 2.0.0's weights, faster graphs)
        SHORT["textures/materials-net"] = f"materials-net {gens['textures/materials-net'].info.version} (learned, new)"
    print(f"## Materials: structure, colour artefacts, diversity, distance (256 px albedo, {n} held-out seeds "
          "per class)\n")
    print("| class | generator | lattice (lag) | coherence | two-scale | chroma HF | diversity | to held-out "
          "teacher | to brick photo | seam albedo / height | seam rank |\n|---|---|---|---|---|---|---|---|---|---|---|")
    rows, _ = figures(gens, n)
    print("\n".join(rows))
    # the reference for the seam columns: crops of a bigger teacher tile, which do not wrap
    teacher = gens["textures/materials-layered"]
    ratio, rank = [], []
    for m in CLASSES:
        for s in range(n):
            big = assets(teacher, 1000 + s, {"material": m, "size": 384}, ["albedo"])["albedo"][:256, :256]
            ratio.append(maps.seam_error(big))
            rank.append(seam_rank(big))
    print(f"\nNaive (a 256 px crop of a 384 px teacher tile, does not wrap): seam ratio median "
          f"{np.median(ratio):.2f}, seam rank {np.mean(rank):.0f}")
    if not a.no_sheets:
        for p in sheets(gens, ROOT / "benchmarks" / "results"):
            print(f"\nwrote {p.relative_to(ROOT)} ({p.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
