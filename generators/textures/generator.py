"""The textures generators: materials, albedo → PBR maps, exemplar synthesis and flipbooks.

Each generator is a plain iterator of events. Learned ones run ONNX graphs exported by
:mod:`.export`; the model-free builtins are the classical baselines they are compared against.
Full-resolution maps are streamed one asset at a time as each is finished; with ``partials`` a
low-resolution ``preview.png`` (format ``preview``) comes first: a quarter of the output size a
side (128 px for a 512 px material at any ``scale``; a quarter of the frame for flipbooks). The
preview is a partial result: it is not one of the model's formats and is not part of the content
hash (the CLI writes it only for ``--format preview``).
"""

from __future__ import annotations

import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from .. import cancel
from ..base import Encoder, Generator, GeneratorInfo, Product
from ..events import Asset, Event, Progress
from ..params import Param
from . import exemplar as exemplar_mod
from . import effects, images, layout, maps, procedural

# Bump when the bytes produced for the same model + seed + parameters change.
# 2: hue turns the asked way (+90 = red towards green; it turned about -111 before): bytes change
#    for hue != 0 only.
# 3: flipbooks are effects (generators/textures/effects.py): RGBA sprite sheets (fire, smoke, explosion,
#    magic, splash) and tileable animated surfaces (water, lava, caustics) moved by advection; the
#    flipbook GAN supplies their detail fields. Flipbook bytes change; materials/PBR/exemplar do not.
# 4: layouts draw their noise fields shell by shell in Fourier space (so a quarter-resolution layout is the
#    same tile, for the fast preview) and gain a grain plane: materials-layered and materials-net bytes change.
# 5: PNGs are written by images.encode_png (a fixed Sub filter and RLE deflate instead of Pillow's
#    per-row filter search): every texture's bytes change, its decoded pixels do not.
GENERATOR_VERSION = 5

MAP_FORMATS = ("albedo", "height", "normal_gl", "normal_dx", "roughness", "ao")
DERIVED_FORMATS = MAP_FORMATS[1:]          # what albedo → PBR returns
FLIPBOOK_FORMATS = ("png", "json")
PREVIEW = "preview"
MEDIA = {"png": "image/png", "json": "application/json"}
SIZE_LO, SIZE_HI, SIZE_STEP = 64, 2048, 16
RELIEF_STRENGTH = 6.0     # normal-map strength at relief = 1 (pixels of rise per unit height)

# -- parameters (stated once) --------------------------------------------------------------------

P_MATERIAL = Param("material", "choice", "stone", "material class", choices=procedural.MATERIALS)
P_SIZE = Param("size", "int", 512, "tile size in pixels (square)", lo=SIZE_LO, hi=SIZE_HI, multiple_of=SIZE_STEP,
               hint="e.g. 256, 512, 1024")
P_SCALE = Param("scale", "float", 1.0, "feature size: 1 = the model's native scale, 2 = features twice as big",
                lo=1.0, hi=4.0)
P_HUE = Param("hue", "float", 0.0, "tint: hue rotation in degrees (0 = the material's own colour)", lo=-180.0, hi=180.0)
P_SAT = Param("saturation", "float", 1.0, "tint: colour saturation multiplier (0 = grey)", lo=0.0, hi=2.0)
P_BRIGHT = Param("brightness", "float", 1.0, "tint: albedo brightness multiplier", lo=0.25, hi=2.0)
P_ROUGH = Param("roughness", "float", 1.0, "roughness multiplier (0 = mirror-smooth, 2 = twice as rough)",
                lo=0.0, hi=2.0)
P_RELIEF = Param("relief", "float", 1.0, "normal-map strength (0 = flat)", lo=0.0, hi=4.0)
UPLOAD = dict(lo=1, hi=8 << 20, what="a PNG or JPEG image", required=True, sniff=images.check_image)
P_EXEMPLAR = Param("exemplar", "bytes", None, f"the image to imitate ({images.MIN_SIDE} to {images.MAX_SIDE} px "
                   "a side)", **UPLOAD)
P_ALBEDO = Param("albedo", "bytes", None, f"the albedo texture to derive maps from ({images.MIN_SIDE} to "
                 f"{images.MAX_SIDE} px a side, treated as tileable)", **UPLOAD)
P_EFFECT = Param("effect", "choice", "fire", "effect: sprites (RGBA, centred, soft edge) fire, smoke, explosion, "
                 "magic, splash; tileable surfaces (RGB) water, lava, caustics", choices=effects.EFFECTS)
P_FRAMES = Param("frames", "int", 16, "frames per loop", lo=8, hi=32)
P_FRAME_SIZE = Param("frame_size", "int", 128, "frame size in pixels (square)", lo=64, hi=256,
                     multiple_of=SIZE_STEP, hint="e.g. 64, 128, 256")
P_FPS = Param("fps", "int", 16, "playback rate written to the metadata", lo=1, hi=60)
P_FX_HUE = Param("hue", "float", 0.0, "tint: hue rotation in degrees (0 = the effect's own colours)",
                 lo=-180.0, hi=180.0)

MATERIAL_PARAMS = (P_MATERIAL, P_SIZE, P_SCALE, P_HUE, P_SAT, P_BRIGHT, P_ROUGH, P_RELIEF)
P_LAYOUT_MATERIAL = Param("material", "choice", "brick", "material class", choices=layout.CLASSES)
P_PATTERN = Param("pattern_scale", "float", 1.0, "size of bricks / planks / stone slabs / metal panels (1 = a "
                  f"{layout.COURSE_PX} px brick course, {layout.PLANK_PX} px plank); grain size stays",
                  lo=0.5, hi=3.0)
P_WEAR = Param("wear", "float", 0.3, "age: 0 = new, 1 = weathered (chipped edges, grime, greyed wood, scratches)",
               lo=0.0, hi=1.0)
LAYOUT_PARAMS = (P_LAYOUT_MATERIAL, P_SIZE, P_SCALE, P_PATTERN, P_WEAR, P_HUE, P_SAT, P_BRIGHT, P_ROUGH, P_RELIEF)
PBR_PARAMS = (P_ALBEDO, P_RELIEF)
EXEMPLAR_PARAMS = (P_EXEMPLAR, P_SIZE, P_RELIEF)
P_ALPHA = Param("alpha", "choice", "straight", "sprite alpha: straight, or premultiplied (colour × alpha; for "
                "additive/premultiplied blending); surfaces are opaque", choices=effects.ALPHA_MODES)
FLIPBOOK_PARAMS = (P_EFFECT, P_FRAMES, P_FRAME_SIZE, P_FPS, P_FX_HUE, P_ALPHA)


@dataclass
class MapSet:
    """A finished material before encoding: float maps at the requested size."""

    albedo: np.ndarray
    height: np.ndarray
    rough: np.ndarray
    start_fraction: float = 0.5      # where encoding progress starts (progress events only)


class TextureGenerator(Generator):
    """Shared plumbing: a cheap warm-up (one small request)."""

    warm: dict[str, Any] = {}

    def warm_params(self) -> dict[str, Any]:
        """One small request (64 px), so the first real call is fast and a broken model fails at load."""
        return dict(self.warm)


class MapsGenerator(TextureGenerator):
    """Generators whose content is a :class:`MapSet`: the PBR map formats, derived and encoded in
    parallel."""

    def encode(self, content: MapSet, params, formats, timings) -> Iterator[Asset | Progress]:
        """Derive and encode the requested maps (two at a time: zlib and numpy release the GIL) and
        yield each, in format order, as soon as it is ready."""
        t = time.perf_counter()
        albedo, height, rough, relief = content.albedo, content.height, content.rough, params["relief"]
        wanted = [f for f in MAP_FORMATS if f in formats]
        normals = None
        if "normal_gl" in wanted or "normal_dx" in wanted:
            normals = cancel.submit(_POOL, maps.normals, height, RELIEF_STRENGTH * relief)

        def normal_png(convention):
            rgb = maps.normal_rgb(normals.result(), convention)
            cancel.check()
            return images.png_rgb(rgb)

        def ao_png():
            ao = maps.ambient_occlusion(height)
            cancel.check()
            return images.png_gray(ao)

        jobs = {
            "albedo": lambda: images.png_rgb(albedo),
            "height": lambda: images.png_gray16(height),
            "normal_gl": lambda: normal_png("gl"),
            "normal_dx": lambda: normal_png("dx"),
            "roughness": lambda: images.png_gray(rough),
            "ao": ao_png,
        }
        # Jobs carry the request's cancel token into the pool; when the request is cancelled or this
        # generator is closed, jobs not yet started are dropped so they never delay another request.
        futures = [(f, cancel.submit(_POOL, jobs[f])) for f in wanted]
        start = content.start_fraction
        try:
            for k, (f, fut) in enumerate(futures):
                yield Asset(f"{f}.png", "image/png", fut.result(), f)
                yield Progress(start + (1 - start) * (k + 1) / len(wanted), "encoding", f"{f}.png")
        finally:
            cancel.cancel_pending([fut for _, fut in futures] + ([normals] if normals is not None else []))
        timings.add("maps_and_encode", time.perf_counter() - t)


# Map derivation and PNG encoding run two at a time (the machine this was tuned on has 2 cores).
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="textures-encode")


def _preview_asset(rgb: np.ndarray) -> Asset:
    return Asset("preview.png", "image/png", images.png_rgb(rgb), PREVIEW)


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed & (2**64 - 1), stream])


def _apply_controls(albedo, rough, params):
    albedo = procedural.hue_shift(albedo, params["hue"], params["saturation"], params["brightness"])
    rough = np.clip(rough * params["roughness"], 0, 1)
    return albedo, rough


def _preview_size(size: int) -> int:
    return max(16, size // 4)


def _base_size(size: int, scale: float) -> int:
    """Resolution the generator runs at before the wrap-around resize to ``size`` (feature scale)."""
    return max(SIZE_STEP * 4, int(round(size / scale / SIZE_STEP)) * SIZE_STEP)


# -- materials -----------------------------------------------------------------------------------

class MaterialGenerator(MapsGenerator):
    """Parameter-driven PBR set: learned (spatial GAN, two ONNX graphs) or procedural (baseline)."""

    warm = {"size": 64}

    def __init__(self, info, trunk=None, head=None, classes=procedural.MATERIALS, zc: int = 16):
        self.info, self.trunk, self.head, self.classes, self.zc = info, trunk, head, tuple(classes), zc

    @classmethod
    def from_model(cls, model_dir: Path, manifest: dict, session_factory: Callable) -> "MaterialGenerator":
        if manifest.get("model") != "materials":
            raise ValueError(f"{model_dir}: not a materials model")
        trunk = session_factory(model_dir / manifest["file"])
        head = session_factory(model_dir / manifest["files"]["head"]["file"])
        classes = tuple(manifest["extra"]["classes"])
        params = (Param("material", "choice", classes[0], "material class", choices=classes),) + MATERIAL_PARAMS[1:]
        return cls(_info(manifest, params, MAP_FORMATS), trunk, head, classes, int(manifest["extra"]["zc"]))

    def produce(self, seed, params, formats, *, partials, timings) -> Iterator[Event]:
        t0 = time.perf_counter()
        size, scale = params["size"], params["scale"]
        base = _base_size(size, scale)
        yield Progress(0.0, "sampling", f"{params['material']} {base}px")
        if self.trunk is not None:
            r = base // 16
            z = _rng(seed, 0).standard_normal((1, self.zc, r, r), dtype=np.float32)
            onehot = np.zeros((1, len(self.classes)), np.float32)
            onehot[0, self.classes.index(params["material"])] = 1
            feat, pre, preview = self.trunk.run(None, {"z": z, "cls": onehot})
            timings.add("trunk", time.perf_counter() - t0)
            if partials:  # the trunk's preview is base/4; shown at size/4 whatever the scale
                prev_alb, _ = _apply_controls(preview[0, :3].transpose(1, 2, 0), preview[0, 4], params)
                if prev_alb.shape[0] != _preview_size(size):
                    prev_alb = maps.wrap_resize(np.ascontiguousarray(prev_alb), _preview_size(size))
                yield _preview_asset(prev_alb)
            yield Progress(0.3, "sampling", "full resolution")
            t1 = time.perf_counter()
            out = self.head.run(None, {"feat": feat, "pre": pre})[0][0]
            timings.add("head", time.perf_counter() - t1)
            albedo, height, rough = out[:3].transpose(1, 2, 0), out[3], out[4]
        else:
            albedo, height, rough = procedural.material(params["material"], _rng(seed, 0), base)
            timings.add("procedural", time.perf_counter() - t0)
            if partials:
                yield _preview_asset(maps.wrap_resize(
                    procedural.hue_shift(albedo, params["hue"], params["saturation"], params["brightness"]),
                    _preview_size(size)))
        t2 = time.perf_counter()
        if base != size:
            albedo, height, rough = (maps.wrap_resize(x, size) for x in (albedo, height, rough))
        albedo, rough = _apply_controls(np.ascontiguousarray(albedo), rough, params)
        timings.add("resize_and_tint", time.perf_counter() - t2)
        return Product(MapSet(albedo, height, rough))


class LayoutMaterialGenerator(MapsGenerator):
    """Materials from a seeded layout (:mod:`.layout`): bricks in courses, planks with grain and
    knots, cracked stone slabs, riveted metal panels, with ``pattern_scale`` and ``wear``.

    Learned (``materials-net``): the layout-conditioned CNN, ONNX graphs trunk → preview, head →
    full maps; from 2.1.0 one head graph per class (``head_<class>.onnx``, its per-pixel MLP as
    constant convolutions), before that one head taking the class as input. Builtin (``materials-layered``): the layered procedural teacher it was
    trained on. Both tile by construction (periodic layout, circular padding).
    """

    warm = {"size": 64}

    def __init__(self, info, trunk=None, head=None, classes=layout.CLASSES, n_in: int = len(layout.CHANNELS)):
        # head: one session taking the class as input, or {class: session} (per-class heads, 2.1.0 on)
        self.info, self.trunk, self.head, self.classes, self.n_in = info, trunk, head, tuple(classes), n_in

    @classmethod
    def from_model(cls, model_dir: Path, manifest: dict, session_factory: Callable) -> "LayoutMaterialGenerator":
        if manifest.get("model") != "layout":
            raise ValueError(f"{model_dir}: not a layout materials model")
        extra = manifest["extra"]
        n_in = len(extra["channels"])
        if tuple(extra["channels"]) != layout.CHANNELS[:n_in]:    # 1.0.0 reads the first 10 (no grain)
            raise ValueError(f"{model_dir}: layout channels {extra['channels']} do not match this server's "
                             f"{list(layout.CHANNELS)}")
        classes = tuple(extra["classes"])
        unknown = set(classes) - set(layout.CLASSES)
        if unknown:
            raise ValueError(f"{model_dir}: no layout for {sorted(unknown)}")
        trunk = session_factory(model_dir / manifest["file"])
        files = manifest["files"]
        if "head" in files:
            head = session_factory(model_dir / files["head"]["file"])
        else:
            missing = [c for c in classes if f"head_{c}" not in files]
            if missing:
                raise ValueError(f"{model_dir}: manifest lists no head graph for {missing}")
            head = {c: session_factory(model_dir / files[f"head_{c}"]["file"]) for c in classes}
        params = (Param("material", "choice", classes[0], "material class", choices=classes),) + LAYOUT_PARAMS[1:]
        return cls(_info(manifest, params, MAP_FORMATS), trunk, head, classes, n_in)

    def _maps(self, name: str, lay: np.ndarray, timings, stage: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        t0 = time.perf_counter()
        if self.trunk is None:
            out = layout.render(name, lay)
            timings.add(f"{stage}render", time.perf_counter() - t0)
            return out
        onehot = np.zeros((1, len(self.classes)), np.float32)
        onehot[0, self.classes.index(name)] = 1
        x = np.ascontiguousarray(lay[None, :self.n_in])
        n = x.shape[2]
        # per-class heads (2.1.0 on): the full-resolution pass runs both graphs as two bands at once
        # (not the preview's: the full layout may be holding a pool thread then)
        banded = (isinstance(self.head, dict) and not stage and BAND_MIN <= n <= BAND_MAX and n % 8 == 0
                  and x.shape[3] == n)
        if banded:
            e2, mid, pre, _ = _banded(self.trunk, {"layout": (x, 1), "cls": (onehot, None)}, (2, 4, 4, 4), n)
        else:
            e2, mid, pre, _ = self.trunk.run(None, {"layout": x, "cls": onehot})
        t1 = time.perf_counter()
        timings.add(f"{stage}trunk", t1 - t0)
        if banded:
            out = _banded(self.head[name], {"layout": (x, 1), "e2": (e2, 2), "mid": (mid, 4), "pre": (pre, 4)},
                          (1,), n)[0][0]
        elif isinstance(self.head, dict):
            out = self.head[name].run(None, {"layout": x, "e2": e2, "mid": mid, "pre": pre})[0][0]
        else:
            out = self.head.run(None, {"layout": x, "cls": onehot, "e2": e2, "mid": mid, "pre": pre})[0][0]
        timings.add(f"{stage}head", time.perf_counter() - t1)
        return out[:3].transpose(1, 2, 0), out[3], out[4]

    def produce(self, seed, params, formats, *, partials, timings) -> Iterator[Event]:
        size, scale, name = params["size"], params["scale"], params["material"]
        base = _base_size(size, scale)
        yield Progress(0.0, "layout", f"{name} {base}px")
        full = None
        try:
            if partials:
                # the full-resolution layout is drawn on the other core while the preview is made
                full = cancel.submit(_POOL, _timed_layout, name, seed, base, params["pattern_scale"], params["wear"])
                # the same tile at a quarter of the resolution: the same seed draws the same courses,
                # planks, slabs, tones and broad noise (layout.layout's step), run through the same
                # network (or teacher) — about 1/16 of the work, so the preview comes first and fast
                t0 = time.perf_counter()
                lay = layout.layout(name, _rng(seed, 0), base, params["pattern_scale"], params["wear"], step=4)
                timings.add("preview_layout", time.perf_counter() - t0)
                prev_alb, _, prev_rough = self._maps(name, lay, timings, "preview_")
                prev_alb, _ = _apply_controls(np.ascontiguousarray(prev_alb), prev_rough, params)
                if prev_alb.shape[0] != _preview_size(size):
                    prev_alb = maps.wrap_resize(prev_alb, _preview_size(size))
                yield _preview_asset(prev_alb)
                yield Progress(0.1, "layout", f"{name} {base}px, full resolution")
            t0 = time.perf_counter()
            if full is not None and full.cancel():    # still queued behind other requests' work
                full = None
            lay, spent = (full.result() if full is not None else
                          _timed_layout(name, seed, base, params["pattern_scale"], params["wear"]))
        finally:
            if full is not None:      # a preview that failed or a stream closed early: drop or stop it
                cancel.cancel_pending([full])
        # the layout's own time, and (when it ran beside the preview) how long it was still waited for
        timings.add("layout", spent)
        if full is not None:
            timings.add("layout_wait", time.perf_counter() - t0)
        albedo, height, rough = self._maps(name, lay, timings, "")
        t3 = time.perf_counter()
        if base != size:
            albedo, height, rough = (maps.wrap_resize(np.ascontiguousarray(x), size) for x in (albedo, height, rough))
        albedo, rough = _apply_controls(np.ascontiguousarray(albedo), rough, params)
        timings.add("resize_and_tint", time.perf_counter() - t3)
        return Product(MapSet(albedo, height, rough))


def _timed_layout(name: str, seed: int, base: int, pattern: float, wear: float) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    return layout.layout(name, _rng(seed, 0), base, pattern, wear), time.perf_counter() - t0


BAND_MIN = 256          # layouts this big (px a side) run trunk and head as two bands at once ...
BAND_MAX = 1024         # ... up to this: at 2048 px two bands in flight cost ~400 MB more peak for ~10 %
BAND_HALO = 32          # rows of context each band carries beyond its half (the trunk sees ~20, the head ~10)


def _banded(sess, feeds: dict, out_scales: tuple[int, ...], n: int) -> list[np.ndarray]:
    """``sess``' outputs for an ``n``-row tile computed as its top and bottom halves at once, one on
    the encode pool, one on the calling thread. ``feeds`` maps an input name to (array, its row scale: 1 full, 2 half,
    4 quarter resolution; None for inputs without rows); ``out_scales`` gives the outputs' scales.
    Each half carries ``BAND_HALO`` rows of wrap-around context each side: the graphs pad
    circularly, so a band's own wrap is wrong at its cut, and those rows are dropped. With the halo
    beyond the receptive field the bands give the whole-tile outputs exactly (tested), for 1.25x the
    work spread over two cores."""
    half = n // 2

    def band(start: int) -> list[np.ndarray]:
        def rows(a, k):      # the band's rows of a map at 1/k resolution, wrapping around the tile
            r = np.arange((start - BAND_HALO) // k, (start + half + BAND_HALO) // k) % a.shape[2]
            return np.ascontiguousarray(a[:, :, r])
        outs = sess.run(None, {name: a if k is None else rows(a, k) for name, (a, k) in feeds.items()})
        return [o[:, :, BAND_HALO // k:(BAND_HALO + half) // k] for o, k in zip(outs, out_scales)]

    # the top band goes to the pool, the bottom one runs here; a top band still queued behind
    # other requests' work when the bottom one is done runs here too (never slower than 1.25x)
    job = cancel.submit(_POOL, band, 0)
    try:
        bottom = band(half)
        top = band(0) if job.cancel() else job.result()
    finally:
        cancel.cancel_pending([job])
    return [np.concatenate([a, b], axis=2) for a, b in zip(top, bottom)]


# -- albedo → PBR ----------------------------------------------------------------------------------

class PBRGenerator(MapsGenerator):
    """An existing albedo → height, normals (GL and DX), roughness, AO. Learned U-Net or Sobel."""

    def __init__(self, info, session=None):
        self.info, self.session = info, session
        rng = np.random.default_rng(0)
        alb, _, _ = procedural.material("brick", rng, 64)
        self.warm = {"albedo": images.png_rgb(alb)}

    @classmethod
    def from_model(cls, model_dir: Path, manifest: dict, session_factory: Callable) -> "PBRGenerator":
        if manifest.get("model") != "pbr":
            raise ValueError(f"{model_dir}: not an albedo-to-PBR model")
        return cls(_info(manifest, PBR_PARAMS, DERIVED_FORMATS), session_factory(model_dir / manifest["file"]))

    def derive(self, albedo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return derive_maps(self.session, albedo)

    def produce(self, seed, params, formats, *, partials, timings) -> Iterator[Event]:
        t0 = time.perf_counter()
        albedo = images.decode_image("albedo", params["albedo"])
        timings.add("decode", time.perf_counter() - t0)
        yield Progress(0.1, "inferring", f"{albedo.shape[1]}x{albedo.shape[0]}")
        t1 = time.perf_counter()
        height, rough = self.derive(albedo)
        timings.add("maps_net" if self.session is not None else "sobel", time.perf_counter() - t1)
        if partials:
            yield _preview_asset(maps.wrap_resize(np.repeat(height[..., None], 3, -1), max(16, min(height.shape) // 4)))
        return Product(MapSet(albedo, height, rough))


def derive_maps(session, albedo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(height, roughness) from an albedo: the U-Net when ``session`` is given, else Sobel/luminance."""
    if session is None:
        return maps.sobel_height(albedo), maps.sobel_roughness(albedo)
    h, w = albedo.shape[:2]
    h8, w8 = max(32, int(round(h / 8)) * 8), max(32, int(round(w / 8)) * 8)
    x = albedo if (h8, w8) == (h, w) else maps.wrap_resize(albedo, h8, w8)
    out = session.run(None, {"albedo": np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)})[0][0]
    height, rough = out[0], out[1]
    if (h8, w8) != (h, w):
        height, rough = maps.wrap_resize(height, h, w), maps.wrap_resize(rough, h, w)
    return height, rough


# -- exemplar --------------------------------------------------------------------------------------

class ExemplarGenerator(MapsGenerator):
    """A seamless texture like an uploaded image, plus its maps.

    Learned variant: patch-based synthesis on the torus, maps from the U-Net. Baseline
    (``exemplar-spectral``): random-phase synthesis with histogram matching, Sobel maps.
    """

    def __init__(self, info, session=None, method: str = "patch"):
        self.info, self.session, self.method = info, session, method
        rng = np.random.default_rng(0)
        alb, _, _ = procedural.material("stone", rng, 64)
        self.warm = {"exemplar": images.png_rgb(alb), "size": 64}

    def produce(self, seed, params, formats, *, partials, timings) -> Iterator[Event]:
        t0 = time.perf_counter()
        ex = images.decode_image("exemplar", params["exemplar"])
        timings.add("decode", time.perf_counter() - t0)
        size = params["size"]
        rng = _rng(seed, 1)
        t1 = time.perf_counter()
        if partials:  # a quick low-resolution look first: the random-phase texture at 1/4 size
            small = maps.wrap_resize(exemplar_mod.square(ex, 1024), max(32, min(ex.shape[:2]) // 4)) \
                if min(ex.shape[:2]) >= 128 else ex
            yield _preview_asset(exemplar_mod.spectral(small, max(32, size // 4), _rng(seed, 2)))
        yield Progress(0.1, "synthesising", f"{self.method} {size}px")
        albedo = exemplar_mod.quilt(ex, size, rng) if self.method == "patch" else exemplar_mod.spectral(ex, size, rng)
        timings.add("synthesis", time.perf_counter() - t1)
        yield Progress(0.5, "inferring", "maps")
        t2 = time.perf_counter()
        height, rough = derive_maps(self.session, albedo)
        timings.add("maps_net" if self.session is not None else "sobel", time.perf_counter() - t2)
        return Product(MapSet(albedo, height, rough, start_fraction=0.6))


# -- flipbooks ------------------------------------------------------------------------------------

class LearnedSource:
    """Detail fields from the flipbook GAN: each field is one network sample (trunk + head) of the
    effect's class (:data:`effects.SOURCE_CLASS`), its luminance standardised. The network runs at
    the resolution that makes its features the size the effect asks for — measured, not assumed:
    the power-weighted mean wavelength of the class's output at its native scale (one fixed sample
    per class, cached) against that of the procedural field the effect would use — and the result
    is resized on the torus, so the field still tiles. How smooth the detail is, is the network's."""

    learned = True

    def __init__(self, gen: "FlipbookGenerator", seed: int, effect: str):
        self.gen, self.seed, self.cls = gen, seed, effects.SOURCE_CLASS[effect]

    def _sample(self, key_rng: np.random.Generator, ry: int, rx: int) -> np.ndarray:
        z = key_rng.standard_normal((1, self.gen.zc, ry // 16, rx // 16), dtype=np.float32)
        onehot = np.zeros((1, len(self.gen.classes)), np.float32)
        onehot[0, self.gen.classes.index(self.cls)] = 1
        feat, pre, _ = self.gen.trunk.run(None, {"z": z, "cls": onehot})
        rgb = self.gen.head.run(None, {"feat": feat, "pre": pre})[0][0]
        return np.ascontiguousarray(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2])

    def native_wavelength(self) -> float:
        cache = self.gen.native
        if self.cls not in cache:
            cache[self.cls] = effects.wavelength(self._sample(np.random.default_rng(0), 128, 128))
        return cache[self.cls]

    def field(self, key: int, n: int, feature: float, stretch=(1.0, 1.0), beta: float = 2.4) -> np.ndarray:
        want = effects.wavelength(effects.NoiseSource(0, "").field(0, n, feature, beta=beta))
        scale = self.native_wavelength() / want        # network pixels per output pixel

        def side(s):
            return int(min(4 * n, max(32, round(n * scale * s / 16) * 16)))
        lum = self._sample(_rng(self.seed, 2000 + key), side(stretch[1]), side(stretch[0]))
        if lum.shape[0] < n or lum.shape[1] < n:
            # enlarging: band-limited (Fourier) interpolation on the torus — bilinear would magnify
            # the network's pixels into a visible grid of facets
            lum = effects.fourier_resize(lum, max(n, lum.shape[0]), max(n, lum.shape[1]))
        return effects._std(maps.wrap_resize(np.ascontiguousarray(lum), n, n))


class FlipbookGenerator(TextureGenerator):
    """Effects as a sprite sheet + JSON metadata: RGBA sprite effects (fire, smoke, explosion, magic,
    splash) and tileable animated surfaces (water, lava, caustics), moved by advection and looping
    (or playing once) by construction (:mod:`.effects`).

    Learned (``flipbook-gan``): the spatial GAN generator supplies the detail fields the effect is
    advected from (:class:`LearnedSource`). Baseline: Fourier-domain fractal noise fields. Shapes,
    motion and colour ramps are the same. The GAN's own animation (a latent circle,
    :meth:`latent_loop`) is kept for the benchmark's old-vs-new comparison.
    """

    warm = {"frames": 8, "frame_size": 64}

    def __init__(self, info, trunk=None, head=None, classes=procedural.EFFECTS, zc: int = 16):
        self.info, self.trunk, self.head, self.classes, self.zc = info, trunk, head, tuple(classes), zc
        self.native: dict[str, float] = {}     # class → the network's feature wavelength, px (LearnedSource)

    @classmethod
    def from_model(cls, model_dir: Path, manifest: dict, session_factory: Callable) -> "FlipbookGenerator":
        trunk = session_factory(model_dir / manifest["file"])
        head = session_factory(model_dir / manifest["files"]["head"]["file"])
        classes = tuple(manifest["extra"]["classes"])
        missing = sorted({effects.SOURCE_CLASS[e] for e in effects.EFFECTS} - set(classes))
        if missing:
            raise ValueError(f"{model_dir}: flipbook model lacks the classes {missing} the effects draw on")
        return cls(_info(manifest, FLIPBOOK_PARAMS, FLIPBOOK_FORMATS), trunk, head, classes,
                   int(manifest["extra"]["zc"]))

    def source(self, seed: int, effect: str):
        return effects.NoiseSource(seed, effect) if self.trunk is None else LearnedSource(self, seed, effect)

    def frames(self, seed: int, params: dict) -> np.ndarray:
        """(frames, size, size, 4) straight-alpha RGBA (sprites) or (frames, size, size, 3) RGB (surfaces)."""
        e = params["effect"]
        return effects.render(e, self.source(seed, e), params["frame_size"], params["frames"], seed)

    def latent_loop(self, seed: int, params: dict, partials: bool = False, sink: list | None = None) -> np.ndarray:
        """The previous animation (generator version 2), for comparison: full-frame tileable RGB,
        the GAN driven around a latent circle, or the procedural phase-rotated noise loops."""
        n, fs = params["frames"], params["frame_size"]
        if self.trunk is None:
            return procedural.effect(params["effect"], _rng(seed, 0), fs, n)
        r = fs // 16
        za, zb = _rng(seed, 0).standard_normal((2, 1, self.zc, r, r), dtype=np.float32)
        th = 2 * np.pi * np.arange(n, dtype=np.float64) / n
        z = (np.cos(th)[:, None, None, None] * za + np.sin(th)[:, None, None, None] * zb).astype(np.float32)
        onehot = np.zeros((n, len(self.classes)), np.float32)
        onehot[:, self.classes.index(params["effect"])] = 1
        feat, pre, preview = self.trunk.run(None, {"z": z, "cls": onehot})
        if partials and sink is not None:
            sink.append(preview[0].transpose(1, 2, 0))
        out = self.head.run(None, {"feat": feat, "pre": pre})[0]
        return out.transpose(0, 2, 3, 1)

    def produce(self, seed, params, formats, *, partials, timings) -> Iterator[Event]:
        t0 = time.perf_counter()
        n, fs, name = params["frames"], params["frame_size"], params["effect"]
        yield Progress(0.0, "sampling", f"{name} {n} frames")
        frames = self.frames(seed, params)
        sprite = frames.shape[-1] == 4
        if params["hue"]:
            frames[..., :3] = procedural.hue_shift(frames[..., :3], params["hue"], 1.0, 1.0)
        seam = maps.loop_seam(frames) if name in effects.LOOPING else None
        if sprite and params["alpha"] == "premultiplied":
            frames[..., :3] *= frames[..., 3:]
        timings.add("frames", time.perf_counter() - t0)
        if partials:  # a quarter-size look at one frame (sprites over dark grey: alpha made visible)
            k = 0 if name in effects.LOOPING else n // 3
            first = frames[k]
            if sprite:
                a = first[..., 3:]
                first = (first[..., :3] if params["alpha"] == "premultiplied" else first[..., :3] * a) + 0.2 * (1 - a)
            yield _preview_asset(maps.wrap_resize(np.ascontiguousarray(first), fs // 4))
        t1 = time.perf_counter()
        cols = math.ceil(math.sqrt(n))
        rows = math.ceil(n / cols)
        sheet = np.zeros((rows * fs, cols * fs, frames.shape[-1]), np.float32)
        for i in range(n):
            y, x = divmod(i, cols)
            sheet[y * fs:(y + 1) * fs, x * fs:(x + 1) * fs] = frames[i]
        meta = {
            "image": "flipbook.png", "rows": rows, "columns": cols, "frame_count": n, "fps": params["fps"],
            "frame_width": fs, "frame_height": fs, "order": "row-major from the top-left cell",
            "effect": name, "duration_s": round(n / params["fps"], 4),
            **effects.metadata(name, n, params["alpha"]),
        }
        extra = {}
        if seam is not None:
            meta["loop_seam"] = extra["loop_seam"] = round(seam, 4)
        timings.add("sheet", time.perf_counter() - t1)
        return Product((sheet, meta), extra=extra)

    def encode_order(self, formats: list[str]) -> list[str]:
        return [f for f in FLIPBOOK_FORMATS if f in formats]

    encoders = {
        "png": Encoder(lambda content, params: Asset("flipbook.png", MEDIA["png"], effects.png(content[0]), "png")),
        "json": Encoder(lambda content, params: Asset(
            "flipbook.json", MEDIA["json"], (json.dumps(content[1], indent=2, sort_keys=True) + "\n").encode(), "json")),
    }


# -- construction -----------------------------------------------------------------------------------

def _info(manifest: dict, params, formats) -> GeneratorInfo:
    return GeneratorInfo(
        kind="textures", name=manifest["name"], version=str(manifest["version"]),
        family=manifest.get("family", ""), description=manifest.get("description", ""), params=tuple(params),
        formats=tuple(formats), generator_version=GENERATOR_VERSION, sha256=manifest["sha256"],
    )


def _builtin_info(name: str, family: str, description: str, params, formats) -> GeneratorInfo:
    return GeneratorInfo(kind="textures", name=name, version="1.0.0", family=family, description=description,
                         params=tuple(params), formats=tuple(formats), generator_version=GENERATOR_VERSION)


class TextureModel:
    """``KIND_TABLE`` entry: builds the right generator(s) for a textures manifest."""

    @classmethod
    def from_model(cls, model_dir: Path, manifest: dict, session_factory: Callable) -> Generator:
        model = manifest.get("model")
        if model == "materials":
            return MaterialGenerator.from_model(model_dir, manifest, session_factory)
        if model == "layout":
            return LayoutMaterialGenerator.from_model(model_dir, manifest, session_factory)
        if model == "flipbook":
            return FlipbookGenerator.from_model(model_dir, manifest, session_factory)
        if model == "pbr":
            return PBRGenerator.from_model(model_dir, manifest, session_factory)
        if model == "exemplar":
            return ExemplarGenerator(_info(manifest, EXEMPLAR_PARAMS, MAP_FORMATS),
                                     session_factory(model_dir / manifest["file"]), "patch")
        raise ValueError(f"{model_dir}: unknown textures model {model!r} (known: materials, layout, pbr, exemplar, "
                         "flipbook)")


def builtins() -> list[Generator]:
    """The model-free textures generators: the classical baselines."""
    return [
        MaterialGenerator(_builtin_info(
            "materials-procedural", "procedural", "procedural noise materials with their known height (classical baseline; "
            "also the training data)", MATERIAL_PARAMS, MAP_FORMATS)),
        LayoutMaterialGenerator(_builtin_info(
            "materials-layered", "procedural", "layered procedural materials on a seeded layout: brick courses, "
            "planks with grain and knots, cracked stone, riveted metal, with wear (classical baseline; the teacher "
            "of materials-net)", LAYOUT_PARAMS, MAP_FORMATS)),
        PBRGenerator(_builtin_info(
            "pbr-sobel", "sobel", "albedo → height = luminance, normals = Sobel of luminance (classical baseline)",
            PBR_PARAMS, DERIVED_FORMATS)),
        ExemplarGenerator(_builtin_info(
            "exemplar-spectral", "random-phase", "seamless texture like an uploaded image: random-phase synthesis "
            "with histogram matching, Sobel maps (classical baseline)", EXEMPLAR_PARAMS, MAP_FORMATS), None, "spectral"),
        FlipbookGenerator(_builtin_info(
            "flipbook-procedural", "procedural", "effect flipbooks (RGBA sprites: fire, smoke, explosion, magic, splash; "
            "tileable surfaces: water, lava, caustics) advected from Fourier-noise fields (classical baseline)",
            FLIPBOOK_PARAMS, FLIPBOOK_FORMATS)),
    ]
