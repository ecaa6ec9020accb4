"""Flipbook effects (issue 15): RGBA sprite sheets with a shape and a soft edge, tileable animated
surfaces, advection, looping by construction, engine metadata — over real gRPC, both generators.

Small on purpose (64 px frames, 8-16 frames); the shipped sizes are measured in
benchmarks/effects_quality.py.
"""

from __future__ import annotations

import io
import json

import grpc
import numpy as np
import pytest
from PIL import Image

from gamegen.client import GameGenError
from gamegen.generators.events import Asset, Final
from gamegen.generators.textures import effects, maps

MODELS = ["textures/flipbook-gan", "textures/flipbook-procedural"]
FS = 64


def sheet(client, model, seed=4, formats=("png", "json"), **params):
    params = {"frame_size": FS, "frames": 8, **params}
    events = list(client.generate(model, seed=seed, params=params, formats=list(formats), partials=False))
    assert isinstance(events[-1], Final)
    assets = {e.name: e for e in events if isinstance(e, Asset)}
    meta = json.loads(assets["flipbook.json"].data) if "flipbook.json" in assets else None
    with Image.open(io.BytesIO(assets["flipbook.png"].data)) as im:
        mode, px = im.mode, np.asarray(im).astype(np.float64) / 255
    n, c = params["frames"], (meta or {}).get("columns", int(np.ceil(np.sqrt(params["frames"]))))
    frames = np.stack([px[(i // c) * FS:(i // c + 1) * FS, (i % c) * FS:(i % c + 1) * FS] for i in range(n)])
    return frames, meta, mode, events[-1]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("effect", effects.SPRITES)
def test_sprites_are_rgba_with_a_centred_shape_and_a_transparent_border(client, model, effect):
    frames, meta, mode, _ = sheet(client, model, effect=effect)
    assert mode == "RGBA" and frames.shape == (8, FS, FS, 4)
    a = frames[..., 3]
    ring = np.concatenate([a[:, :3].ravel(), a[:, -3:].ravel(), a[:, :, :3].ravel(), a[:, :, -3:].ravel()])
    assert ring.max() == 0                                   # soft edge: nothing touches the frame border
    assert a.max() > 0.7                                     # there is something opaque
    cover = (a > 0.05).mean(axis=(1, 2))
    assert cover.max() > 0.03 and cover.mean() < 0.6         # a shape, not full-frame noise
    ys, xs = np.mgrid[0:FS, 0:FS]
    busiest = int(np.argmax(a.sum(axis=(1, 2))))
    w = a[busiest] / a[busiest].sum()
    assert abs((w * xs).sum() - FS / 2) < FS * 0.12          # centred left-right
    assert meta["family"] == "sprite" and meta["channels"] == 4 and meta["alpha"] == "straight"
    assert meta["tileable"] is False and meta["loop"] is (effect in ("fire", "magic"))
    assert ("loop_seam" in meta) is meta["loop"]


def _vertical_motion(frames: np.ndarray, max_shift: int = 8) -> list[int]:
    """Per consecutive pair, the row shift (negative = up) that best maps frame i onto frame i+1,
    on the moving part (luminance × alpha minus its mean over the loop: the fixed envelope drops out)."""
    x = frames[..., :3].mean(-1) * frames[..., 3]
    x = x - x.mean(0)
    shifts = []
    for a, b in zip(x, np.roll(x, -1, axis=0)):
        err = [np.abs(np.roll(a, s, axis=0) - b)[max_shift:-max_shift].mean() for s in range(-max_shift, max_shift + 1)]
        shifts.append(int(np.argmin(err)) - max_shift)
    return shifts


@pytest.mark.parametrize("model", MODELS)
def test_fire_flows_up_and_the_smoke_puff_rises_and_grows(client, model):
    fire, _, _, _ = sheet(client, model, effect="fire", frames=16)
    shifts = _vertical_motion(fire)
    assert sum(s < 0 for s in shifts) >= 12, shifts         # content moves up the frame (rows decrease)
    smoke, meta, _, _ = sheet(client, model, effect="smoke", frames=16)
    a = smoke[..., 3]
    rows = np.arange(FS)[None, :, None]
    centre = (a * rows).sum(axis=(1, 2)) / a.sum(axis=(1, 2))
    assert centre[12] < centre[3] - 2                        # rises (row index falls)
    spread = (a > 0.05).sum(axis=(1, 2))
    assert spread[10] > spread[2]                            # grows
    assert a[-1].max() < a[5].max()                          # and fades: a life cycle, played once
    assert meta["loop"] is False and meta["playback"].startswith("once")


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("effect", sorted(effects.LOOPING))
def test_loops_close_by_construction_and_never_repeat_inside(client, model, effect):
    frames16, meta, _, _ = sheet(client, model, effect=effect, frames=16, formats=("png", "json"))
    frames8, _, _, _ = sheet(client, model, effect=effect, frames=8, formats=("png",))
    # periodic time: the 8-frame loop is every other frame of the 16-frame loop (PNG rounding only)
    assert np.abs(frames16[::2] - frames8).max() <= 1.5 / 255
    assert maps.loop_seam(frames16) < 1.35                   # last → first is like any other step
    assert meta["loop"] is True and meta["loop_seam"] == pytest.approx(maps.loop_seam(frames16), abs=0.05)
    step = np.abs(np.diff(frames16, axis=0)).mean()
    assert step > 0.004                                      # it moves
    dist = [np.abs(frames16[i] - frames16[j]).mean() for i in range(16) for j in range(i + 2, 16)
            if (j - i) < 15]
    assert min(dist) > 0.5 * step                            # no frame comes back inside the loop


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("effect", effects.SURFACES)
def test_surfaces_are_opaque_and_tile_in_space(client, model, effect):
    frames, meta, mode, _ = sheet(client, model, effect=effect)
    assert mode == "RGB" and frames.shape == (8, FS, FS, 3)
    assert np.mean([maps.seam_error(f) for f in frames]) < 1.35    # the wrap-around pair is an ordinary pair
    assert np.abs(np.roll(frames[0], FS // 2, axis=(0, 1)) - frames[0]).mean() > 0.02   # not flat
    assert meta["family"] == "surface" and meta["tileable"] is True and meta["alpha"] == "none"


def test_same_seed_same_bytes_other_seed_other_bytes(client):
    for model in MODELS:
        a = sheet(client, model, seed=9, effect="explosion")[3].content_hash
        b = sheet(client, model, seed=9, effect="explosion")[3].content_hash
        c = sheet(client, model, seed=10, effect="explosion")[3].content_hash
        assert a == b != c


def test_metadata_and_premultiplied_alpha(client):
    straight, meta, _, _ = sheet(client, "textures/flipbook-gan", effect="magic", frames=12, fps=24)
    assert (meta["rows"], meta["columns"], meta["frame_count"], meta["fps"]) == (3, 4, 12, 24)
    assert meta["frame_width"] == meta["frame_height"] == FS and meta["image"] == "flipbook.png"
    assert meta["duration_s"] == 0.5 and meta["blend"] == "additive" and meta["color_space"] == "sRGB"
    premul, meta_p, _, _ = sheet(client, "textures/flipbook-gan", effect="magic", frames=12, fps=24,
                                 alpha="premultiplied")
    assert meta_p["alpha"] == "premultiplied"
    a = premul[..., 3]
    assert np.array_equal(a, straight[..., 3])               # same alpha
    assert (premul[..., :3] <= a[..., None] + 1.5 / 255).all()   # colour never exceeds alpha
    assert (straight[..., :3] > a[..., None] + 0.1).any()    # straight colour is not premultiplied
    want = straight[..., :3] * a[..., None]
    assert np.abs(premul[..., :3] - want).max() <= 2 / 255


@pytest.mark.parametrize("params,field,words", [
    ({"effect": "lasers"}, "effect", ["fire", "smoke", "explosion", "magic", "splash", "water", "lava", "caustics"]),
    ({"effect": "fire", "alpha": "both"}, "alpha", ["straight", "premultiplied"]),
])
def test_bad_effect_or_alpha_names_the_field_and_the_allowed_values(client, params, field, words):
    for model in MODELS:
        with pytest.raises(GameGenError) as e:
            list(client.generate(model, seed=1, params=params, formats=["png"]))
        assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert field in e.value.details and all(w in e.value.details for w in words), e.value.details


class _Rolled:
    """A field source whose every field is shifted on the torus by (dy, dx) whole pixels."""

    def __init__(self, src, dy, dx):
        self.src, self.dy, self.dx = src, dy, dx

    def field(self, *a, **k):
        return np.roll(self.src.field(*a, **k), (self.dy, self.dx), axis=(0, 1))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("effect", effects.SURFACES)
def test_surfaces_tile_by_construction(registry, model, effect):
    """Every step after the fields (advection, waves, refraction, splatting, ramps) is shift-equivariant
    on the torus: rolling the fields rolls each frame the same way, so the frame edge is an ordinary
    row and column of an endless surface."""
    gen = registry.resolve(model)
    src = gen.source(7, effect)
    a = effects.render(effect, src, FS, 4, 7)
    b = effects.render(effect, _Rolled(src, 21, -13), FS, 4, 7)
    assert np.abs(np.roll(a, (21, -13), axis=(1, 2)) - b).max() < 1e-4


def test_preview_first_and_hue_tints_the_sprite_not_its_alpha(client):
    events = list(client.generate("textures/flipbook-procedural", seed=3, params={
        "effect": "fire", "frames": 8, "frame_size": FS, "hue": 120.0}, formats=["png"], partials=True))
    assets = [e for e in events if isinstance(e, Asset)]
    assert [a.name for a in assets] == ["preview.png", "flipbook.png"]
    with Image.open(io.BytesIO(assets[0].data)) as im:
        assert im.mode == "RGB" and im.size == (FS // 4, FS // 4)
    green, _, _, _ = sheet(client, "textures/flipbook-procedural", seed=3, effect="fire", hue=120.0)
    plain, _, _, _ = sheet(client, "textures/flipbook-procedural", seed=3, effect="fire")
    assert np.array_equal(green[..., 3], plain[..., 3])
    lit = plain[..., 3] > 0.5
    assert plain[..., 0][lit].mean() > plain[..., 1][lit].mean() + 0.1     # fire is red-orange ...
    assert green[..., 1][lit].mean() > green[..., 0][lit].mean() + 0.1     # ... +120° turns it green
