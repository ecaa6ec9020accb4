"""Quality of the textures models against their classical baselines.

    python benchmarks/textures_quality.py            # about 2-3 minutes on 2 cores
    python benchmarks/textures_quality.py --quick    # fewer samples

* seam error (wrap-around edge difference / interior neighbour difference; ~1.0 = seamless) of
  every model's albedo and height, and of a naive non-tiling crop;
* albedo → maps on held-out procedural pairs (seeds from HELD_OUT_SEED, never rendered in
  training): height error, normal angular error in degrees, roughness error; U-Net vs the Sobel /
  luminance baseline (its normal strength fitted on training pairs) and flat normals;
* texture-statistics distance of exemplar synthesis to the exemplar (histogram, spectrum, random-
  filter Gram): patch-based (exemplar-unet) vs random-phase (exemplar-spectral) vs a naive crop;
  exemplars: scikit-image's CC0 brick, grass and gravel photos and three held-out procedural tiles;
* materials: texture distance of the GAN's albedo to fresh procedural renders of the same class vs
  the procedural generator's own (floor) and vs other classes (ceiling);
* flipbooks: loop seam (|last − first| / mean |consecutive step|) for the GAN, the procedural
  loops and a naive non-looping animation, and the random-filter Gram distance of every 4th frame
  to the same frame of a fresh procedural loop of the same effect.
"""

from __future__ import annotations

import argparse
import io
import os
from pathlib import Path

import numpy as np
from PIL import Image

from gamegen.generators import kinds
from gamegen.generators.events import Asset
from gamegen.generators.textures import exemplar, images, maps, procedural
from gamegen.generators.textures.generator import RELIEF_STRENGTH, builtins
from gamegen.generators.textures.train import HELD_OUT_SEED
from gamegen.exporters.manifest import load_manifest
from gamegen.server.registry import SessionFactory

ROOT = Path(__file__).resolve().parent.parent


def load(models: Path) -> dict:
    gens = {g.info.ref: g for g in builtins()}
    factory = SessionFactory("cpu")
    for m in sorted(models.glob("*/*/manifest.json")):
        man = load_manifest(m.parent)
        if man["kind"] == "textures":
            g = kinds.from_manifest(m.parent, man, factory)
            gens[g.info.ref] = g
    return gens


def assets(gen, seed, params, formats) -> dict[str, np.ndarray]:
    out = {}
    for e in gen.generate(seed, params, formats, partials=False):
        if isinstance(e, Asset):
            with Image.open(io.BytesIO(e.data)) as im:
                a = np.asarray(im)
            out[e.format] = a.astype(np.float32) / (65535.0 if a.dtype == np.uint16 else 255.0)
    return out


def angular_error(got: np.ndarray, want: np.ndarray) -> float:
    cos = (got * want).sum(-1) / (np.linalg.norm(got, axis=-1) * np.linalg.norm(want, axis=-1))
    return float(np.degrees(np.arccos(np.clip(cos, -1, 1))).mean())


def zscore(x):
    return (x - x.mean()) / (x.std() + 1e-8)


def seams(gens, n) -> list[str]:
    rows = []
    for ref in ("textures/materials-gan", "textures/materials-procedural"):
        if ref not in gens:
            continue
        a, h = [], []
        for i, mat in enumerate(procedural.MATERIALS):
            for s in range(n):
                m = assets(gens[ref], 100 + s, {"material": mat, "size": 256}, ["albedo", "height"])
                a.append(maps.seam_error(m["albedo"]))
                h.append(maps.seam_error(m["height"]))
        rows.append(f"| {ref} | {np.mean(a):.3f} | {np.mean(h):.3f} | {len(a)} tiles, 6 classes, 256 px |")
    a, h = [], []
    for i, mat in enumerate(procedural.MATERIALS):  # naive: crop a bigger render, so nothing wraps
        for s in range(n):
            alb, hgt, _ = procedural.material(mat, np.random.default_rng(HELD_OUT_SEED + 500 + i * 100 + s), 384)
            a.append(maps.seam_error(alb[:256, :256]))
            h.append(maps.seam_error(hgt[:256, :256]))
    rows.append(f"| naive: 256 px crop of a 384 px procedural tile (does not wrap) | {np.mean(a):.3f} | "
                f"{np.mean(h):.3f} | {len(a)} tiles |")
    return rows


def pbr(gens, n) -> list[str]:
    # fit the Sobel baseline's normal strength on *training* pairs (fair to the baseline)
    train = [procedural.material(m, np.random.default_rng(i * 100_000 + s), 128)
             for i, m in enumerate(procedural.MATERIALS) for s in range(3)]
    strengths = np.geomspace(0.25, 32, 22)
    fit = [np.mean([angular_error(maps.sobel_normals(a, k), maps.normals(h, RELIEF_STRENGTH)) for a, h, _ in train])
           for k in strengths]
    k_best = float(strengths[int(np.argmin(fit))])
    held = [procedural.material(m, np.random.default_rng(HELD_OUT_SEED + i * 100_000 + s), 128)
            for i, m in enumerate(procedural.MATERIALS) for s in range(n)]
    rows = []
    results = {}
    for name in ("textures/pbr-unet", "sobel", "flat"):
        he, hz, ang, rough = [], [], [], []
        for alb, hgt, rgh in held:
            want = maps.normals(hgt, RELIEF_STRENGTH)
            if name == "textures/pbr-unet":
                m = assets(gens[name], 0, {"albedo": images.png_rgb(alb)}, ["height", "normal_gl", "roughness"])
                ph, pr = m["height"], m["roughness"]
                pn = m["normal_gl"] * 2 - 1
            elif name == "sobel":
                ph, pr, pn = maps.sobel_height(alb), maps.sobel_roughness(alb), maps.sobel_normals(alb, k_best)
            else:
                ph, pr = np.full_like(hgt, 0.5), np.full_like(hgt, float(rgh.mean()))
                pn = np.broadcast_to(np.array([0, 0, 1.0]), want.shape)
            he.append(np.abs(ph - hgt).mean())
            hz.append(np.abs(zscore(ph) - zscore(hgt)).mean() if ph.std() > 0 else np.abs(zscore(hgt)).mean())
            ang.append(angular_error(pn, want))
            rough.append(np.abs(pr - rgh).mean())
        results[name] = np.mean(ang)
        label = {"sobel": f"Sobel of luminance (strength {k_best:.2f}, fitted on training pairs)",
                 "flat": "flat normals, height 0.5, mean roughness (trivial floor)"}.get(name, name)
        rows.append(f"| {label} | {np.mean(he):.3f} | {np.mean(hz):.3f} | {np.mean(ang):.1f}° | {np.mean(rough):.3f} |")
    return rows


def skimage_exemplars() -> list[tuple[str, np.ndarray]]:
    try:
        import skimage
    except ImportError:
        return []
    d = Path(os.path.dirname(skimage.__file__)) / "data"
    out = []
    for n in ("brick", "grass", "gravel"):
        with Image.open(d / f"{n}.png") as im:
            out.append((f"scikit-image {n} (CC0)", np.asarray(im.convert("RGB").resize((256, 256)),
                                                               np.float32) / 255))
    return out


def exemplars(gens, n) -> list[str]:
    exs = skimage_exemplars()
    for i, m in enumerate(("stone", "wood", "sand")):
        alb, _, _ = procedural.material(m, np.random.default_rng(HELD_OUT_SEED + 900 + i), 256)
        exs.append((f"procedural {m} (held-out seed)", alb))
    rows = []
    for name in ("textures/exemplar-unet", "textures/exemplar-spectral", "naive", "floor"):
        d = {"histogram": [], "spectrum": [], "gram": []}
        seam = []
        for label, ex in exs:
            data = images.png_rgb(ex)
            for s in range(n):
                if name.startswith("textures/"):
                    out = assets(gens[name], s, {"exemplar": data, "size": 256}, ["albedo"])["albedo"]
                    ref = ex
                elif name == "naive":  # the exemplar's left half, stretched back: not seamless
                    out = np.tile(ex[:, :128], (1, 2, 1))
                    ref = ex
                else:  # floor: one half of the exemplar against the other (natural variation)
                    out, ref = ex[:, :128], ex[:, 128:]
                for k, v in exemplar.texture_distance(out, ref).items():
                    d[k].append(v)
                seam.append(maps.seam_error(out))
        label = {"naive": "naive: the exemplar's left half tiled twice",
                 "floor": "floor: left half vs right half of the exemplar"}.get(name, name)
        rows.append(f"| {label} | {np.mean(d['histogram']):.4f} | {np.mean(d['spectrum']):.3f} | "
                    f"{np.mean(d['gram']):.4f} | {np.mean(seam):.2f} |")
    return rows


def materials_match(gens, n) -> list[str]:
    if "textures/materials-gan" not in gens:
        return []
    rows = []
    fresh = {m: [procedural.material(m, np.random.default_rng(HELD_OUT_SEED + 700 + i * 10 + s), 128)[0]
                 for s in range(n)] for i, m in enumerate(procedural.MATERIALS)}
    for ref in ("textures/materials-gan", "textures/materials-procedural"):
        same, other = [], []
        for i, m in enumerate(procedural.MATERIALS):
            for s in range(n):
                alb = assets(gens[ref], 300 + s, {"material": m, "size": 128}, ["albedo"])["albedo"]
                same.append(exemplar.texture_distance(alb, fresh[m][s])["gram"])
                o = procedural.MATERIALS[(i + 1) % len(procedural.MATERIALS)]
                other.append(exemplar.texture_distance(alb, fresh[o][s])["gram"])
        rows.append(f"| {ref} | {np.mean(same):.4f} | {np.mean(other):.4f} |")
    return rows


def flipbooks(gens, n) -> list[str]:
    rows = []
    for ref in ("textures/flipbook-gan", "textures/flipbook-procedural", "naive"):
        seams_, steps, tiles, grams = [], [], [], []
        for i, e in enumerate(procedural.EFFECTS):
            for s in range(n):
                fresh = procedural.effect(e, np.random.default_rng(HELD_OUT_SEED + 900 + i * 10 + s), 64, 16)
                if ref == "naive":
                    f = procedural.effect(e, np.random.default_rng(HELD_OUT_SEED + s), 64, 16, loop=False)
                else:
                    if ref not in gens:
                        break
                    g = gens[ref]
                    # the generator-version-2 animation (full-frame tileable RGB); the effects that
                    # replaced it are measured in benchmarks/effects_quality.py
                    f = g.latent_loop(s, {"effect": e, "frames": 16, "frame_size": 64})
                seams_.append(maps.loop_seam(f))
                steps.append(np.abs(np.diff(f, axis=0)).mean())
                tiles.append(np.mean([maps.seam_error(x) for x in f[::4]]))
                grams.append(np.mean([exemplar.texture_distance(x, y)["gram"] for x, y in zip(f[::4], fresh[::4])]))
        if seams_:
            label = "naive: procedural noise scrolled by a non-whole tile (does not loop)" if ref == "naive" else ref
            rows.append(f"| {label} | {np.mean(seams_):.3f} | {np.max(seams_):.3f} | {np.mean(steps):.4f} | "
                        f"{np.mean(tiles):.3f} | {np.mean(grams):.4f} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=Path, default=ROOT / "models")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    n = 2 if a.quick else 5
    gens = load(a.models)
    print("## Seam error (albedo, height; 1.0 = seamless)\n")
    print("| generator | albedo | height | samples |\n|---|---|---|---|")
    print("\n".join(seams(gens, n)))
    print("\n## Albedo → maps on held-out procedural pairs (128 px, "
          f"{6 * n} pairs)\n")
    print("| method | height MAE | height MAE (z-scored) | normal angular error | roughness MAE |\n|---|---|---|---|---|")
    print("\n".join(pbr(gens, n)))
    print("\n## Exemplar synthesis: texture-statistics distance to the exemplar (256 px; lower = more alike)\n")
    print("| method | histogram W1 | log-spectrum | random-filter Gram | seam error |\n|---|---|---|---|---|")
    print("\n".join(exemplars(gens, max(1, n // 2))))
    print("\n## Materials: Gram distance of the albedo to fresh procedural renders (128 px)\n")
    print("| generator | same class | next class |\n|---|---|---|")
    print("\n".join(materials_match(gens, n)))
    print("\n## Flipbooks: loop seam (16 frames of 64 px; ~1.0 loops smoothly)\n")
    print("| generator | loop seam mean | worst | mean step | frame seam error | Gram distance to fresh procedural frames |\n"
          "|---|---|---|---|---|---|")
    print("\n".join(flipbooks(gens, n)))


if __name__ == "__main__":
    main()
