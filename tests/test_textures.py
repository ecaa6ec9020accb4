"""textures kind: seamless PBR sets, exemplar synthesis, albedo → maps, flipbooks — over real gRPC."""

from __future__ import annotations

import io
import json

import grpc
import numpy as np
import pytest
from PIL import Image

from gamegen.client import GameGenError
from gamegen.generators.events import Asset, Final
from gamegen.generators.textures import images, maps, procedural
from gamegen.server.backends import LocalBackend
from gamegen.server.bake import Baker, load_bake_file

from .conftest import MODELS

MAPS = ["albedo", "height", "normal_gl", "normal_dx", "roughness", "ao"]


def run(client, model, seed, params, formats, partials=True):
    events = list(client.generate(model, seed=seed, params=params, formats=formats, partials=partials))
    assert isinstance(events[-1], Final)
    return events, {e.name: e for e in events if isinstance(e, Asset)}, events[-1]


def png(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "PNG"
        return np.asarray(im)


def png_bytes(rgb: np.ndarray) -> bytes:
    return images.png_rgb(rgb)


def test_textures_models_are_listed(client):
    refs = {f"{m.kind}/{m.name}": m for m in client.list_models("textures")}
    for ref in ("textures/materials-gan", "textures/pbr-unet", "textures/exemplar-unet", "textures/flipbook-gan",
                "textures/materials-procedural", "textures/pbr-sobel", "textures/exemplar-spectral",
                "textures/flipbook-procedural"):
        assert ref in refs, sorted(refs)
    mat = refs["textures/materials-gan"]
    assert set(mat.output_formats) == set(MAPS)
    assert {p.name for p in mat.parameters} >= {"material", "size", "scale", "hue", "roughness"}
    choices = next(p for p in mat.parameters if p.name == "material").choices
    assert set(choices) >= {"stone", "brick", "wood", "grass", "sand", "metal"}
    assert refs["textures/materials-procedural"].execution_provider == "none"


def test_material_set_over_grpc_is_complete_seamless_and_streams_preview_first(client):
    events, assets, final = run(client, "textures/materials-gan", 5, {"material": "stone", "size": 256}, MAPS)
    kinds = [e.name for e in events if isinstance(e, Asset)]
    assert kinds[0] == "preview.png" and set(kinds[1:]) == {f"{m}.png" for m in MAPS}
    prev = png(assets["preview.png"].data)
    assert prev.shape == (64, 64, 3)
    albedo = png(assets["albedo.png"].data)
    assert albedo.shape == (256, 256, 3) and albedo.dtype == np.uint8
    height = png(assets["height.png"].data)
    assert height.shape == (256, 256) and height.dtype == np.uint16 and height.max() > 255  # really 16-bit
    gl, dx = png(assets["normal_gl.png"].data).astype(int), png(assets["normal_dx.png"].data).astype(int)
    assert (gl[..., 0] == dx[..., 0]).all() and (gl[..., 2] == dx[..., 2]).all()
    assert np.abs(gl[..., 1] + dx[..., 1] - 255).max() <= 1            # green flipped, nothing else
    assert png(assets["roughness.png"].data).shape == (256, 256)
    assert png(assets["ao.png"].data).shape == (256, 256)
    # seamless by construction: the wrap-around edge looks like any interior neighbour pair
    for name in ("albedo.png", "height.png", "roughness.png"):
        assert maps.seam_error(png(assets[name].data)) < 1.3, name
    naive = albedo[:200, :200]                                          # a crop does not tile
    assert maps.seam_error(naive) > maps.seam_error(albedo)
    # the content hash covers the requested maps, not the preview
    assert dict(final.parameters)["material"] == "stone" and final.execution_provider.endswith("ExecutionProvider")


def test_material_generator_is_periodic_by_construction(registry):
    # circular padding everywhere: shifting the latent grid by one cell (16 px) shifts the tile by
    # exactly 16 px with wrap-around, so every column, the wrapped one included, is an ordinary one
    gen = registry.resolve("textures/materials-gan")
    z = np.random.default_rng(0).standard_normal((1, gen.zc, 4, 5), dtype=np.float32)
    cls = np.eye(len(gen.classes), dtype=np.float32)[[1]]

    def tile(z):
        feat, pre, _ = gen.trunk.run(None, {"z": z, "cls": cls})
        return gen.head.run(None, {"feat": feat, "pre": pre})[0][0]

    a, b = tile(z), tile(np.roll(z, 1, axis=3))
    assert a.shape == (5, 64, 80)
    assert np.abs(np.roll(a, 16, axis=2) - b).max() < 1e-4


def test_material_is_deterministic_in_process_and_over_grpc(client, registry):
    params = {"material": "brick", "size": 128, "hue": 30.0, "roughness": 0.5}
    _, assets, final = run(client, "textures/materials-gan", 11, params, MAPS, partials=False)
    gen = registry.resolve("textures/materials-gan")
    local = list(gen.generate(11, params, MAPS, partials=False))
    assert local[-1].content_hash == final.content_hash
    assert {e.name: e.data for e in local if isinstance(e, Asset)} == {k: a.data for k, a in assets.items()}
    _, other, _ = run(client, "textures/materials-gan", 12, params, ["albedo"], partials=False)
    assert other["albedo.png"].data != assets["albedo.png"].data


def test_controls_change_the_maps(registry):
    gen = registry.resolve("textures/materials-gan")

    def maps_of(**kw):
        params = {"material": "grass", "size": 128, **kw}
        return {e.format: e.data for e in gen.generate(3, params, MAPS, partials=False) if isinstance(e, Asset)}

    base = maps_of()
    alb = png(base["albedo"]).astype(float)
    tinted = png(maps_of(hue=180.0)["albedo"]).astype(float)
    assert np.abs(alb.mean((0, 1)) - tinted.mean((0, 1))).max() > 10   # hue moved
    rough = png(base["roughness"]).mean()
    assert png(maps_of(roughness=0.5)["roughness"]).mean() == pytest.approx(rough * 0.5, abs=2)
    big = maps_of(scale=2.0)
    assert png(big["albedo"]).shape == (128, 128, 3)
    # bigger features: less energy between neighbouring pixels
    assert np.abs(np.diff(png(big["height"]).astype(float), axis=1)).mean() < \
        np.abs(np.diff(png(base["height"]).astype(float), axis=1)).mean()


def test_normal_conventions_on_a_known_bump():
    # a round bump in the middle: its upper flank (towards row 0) faces up, its right flank right.
    # OpenGL / Unity (green up): green > 0.5 on the upper flank; DirectX / Unreal: green < 0.5.
    yy, xx = np.mgrid[0:64, 0:64]
    h = np.exp(-((yy - 32) ** 2 + (xx - 32) ** 2) / 60.0).astype(np.float32)
    n = maps.normals(h)
    gl, dx = maps.normal_rgb(n, "gl"), maps.normal_rgb(n, "dx")
    upper, right = (26, 32), (32, 38)
    assert gl[upper][1] > 0.55 and dx[upper][1] < 0.45
    assert gl[right][0] > 0.55 and dx[right][0] == gl[right][0]
    assert abs(gl[upper][0] - 0.5) < 1e-6
    assert np.allclose(np.linalg.norm(n, axis=-1), 1)


def test_pbr_net_maps_any_albedo_size(client):
    alb, _, _ = procedural.material("brick", np.random.default_rng(7), 128)
    odd = alb[:100, :60]
    _, assets, final = run(client, "textures/pbr-unet", 0, {"albedo": png_bytes(odd)},
                           ["height", "normal_gl", "normal_dx", "roughness"])
    assert png(assets["height.png"].data).shape == (100, 60)
    assert png(assets["normal_dx.png"].data).shape == (100, 60, 3)
    assert "albedo.png" not in assets and final.model == "textures/pbr-unet"


def test_pbr_net_beats_sobel_on_a_held_out_pair(client):
    from gamegen.generators.textures.train import HELD_OUT_SEED

    errs = {}
    for model in ("textures/pbr-unet", "textures/pbr-sobel"):
        total = 0.0
        for i, mat in enumerate(("brick", "stone", "sand")):
            alb, hgt, _ = procedural.material(mat, np.random.default_rng(HELD_OUT_SEED + 7 + i), 128)
            _, assets, _ = run(client, model, 0, {"albedo": png_bytes(alb)}, ["normal_gl"], partials=False)
            got = png(assets["normal_gl.png"].data).astype(float) / 255 * 2 - 1
            want = maps.normals(hgt, 6.0)
            cos = (got * want).sum(-1) / np.linalg.norm(got, axis=-1)
            total += np.degrees(np.arccos(np.clip(cos, -1, 1))).mean()
        errs[model] = total / 3
    assert errs["textures/pbr-unet"] < errs["textures/pbr-sobel"], errs


@pytest.mark.parametrize("model", ["textures/exemplar-unet", "textures/exemplar-spectral"])
def test_exemplar_gives_a_seamless_texture_of_any_size(client, model):
    alb, _, _ = procedural.material("sand", np.random.default_rng(3), 96)
    ex = alb[:80, :96]                                                  # not square, not tileable
    _, assets, final = run(client, model, 4, {"exemplar": png_bytes(ex), "size": 192}, MAPS)
    out = png(assets["albedo.png"].data)
    assert out.shape == (192, 192, 3)
    assert maps.seam_error(out) < 1.5
    # it looks like the exemplar: colour means within a few levels
    assert np.abs(out.reshape(-1, 3).mean(0) - ex.reshape(-1, 3).mean(0) * 255).max() < 12
    assert png(assets["preview.png"].data).shape[0] < 192
    assert dict(final.parameters)["exemplar"].startswith("sha256:")


@pytest.mark.parametrize("model", ["textures/flipbook-gan", "textures/flipbook-procedural"])
def test_flipbook_sheet_and_metadata_loop(client, model):
    _, assets, final = run(client, model, 2, {"effect": "water", "frames": 12, "frame_size": 64, "fps": 24},
                           ["png", "json"])
    meta = json.loads(assets["flipbook.json"].data)
    assert (meta["rows"], meta["columns"], meta["frame_count"], meta["fps"]) == (3, 4, 12, 24)
    assert meta["frame_width"] == meta["frame_height"] == 64
    sheet = png(assets["flipbook.png"].data).astype(float)
    assert sheet.shape == (3 * 64, 4 * 64, 3)
    frames = np.stack([sheet[r * 64:(r + 1) * 64, c * 64:(c + 1) * 64] for r in range(3) for c in range(4)])
    assert maps.loop_seam(frames) < 1.35                      # last → first is like any other step
    assert meta["loop_seam"] == pytest.approx(maps.loop_seam(frames / 255), abs=0.05)
    assert np.abs(np.diff(frames, axis=0)).mean() > 0.5       # it moves
    assert all(maps.seam_error(f) < 1.5 for f in frames[:3])  # and each frame tiles


BAD = [
    ("textures/materials-gan", {"size": 100}, "size", "multiple of 16"),
    ("textures/materials-gan", {"size": 4096}, "size", "2048"),
    ("textures/materials-gan", {"material": "lava"}, "material", "stone"),
    ("textures/exemplar-unet", {"exemplar": b"definitely not an image"}, "exemplar", "not a PNG or JPEG"),
    ("textures/exemplar-unet", {"exemplar": b""}, "exemplar", "empty"),
    ("textures/exemplar-unet", {}, "exemplar", "required"),
    ("textures/pbr-unet", {"albedo": b"\x89PNG\r\n\x1a\n" + b"\0" * 40}, "albedo", "could not be decoded"),
    ("textures/flipbook-gan", {"effect": "lasers"}, "effect", "fire"),
]


@pytest.mark.parametrize("model,params,field,words", BAD)
def test_bad_input_is_invalid_argument_naming_the_field(client, model, params, field, words):
    formats = ["png"] if "flipbook" in model else ["height"]
    with pytest.raises(GameGenError) as e:
        list(client.generate(model, seed=1, params=params, formats=formats))
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in e.value.details and words in e.value.details, e.value.details


@pytest.mark.parametrize("w,h,words", [(16, 16, "16x16 pixels"), (4096, 40, "4096x40 pixels"),
                                        (30000, 30000, "30000x30000 pixels")])
def test_images_too_small_or_too_large_are_refused_before_decoding(client, w, h, words):
    if w * h > 10_000_000:  # a decompression bomb: a tiny file claiming a huge image
        buf = io.BytesIO()
        Image.new("1", (w, h)).save(buf, "PNG")
        data = buf.getvalue()
        assert len(data) < 200_000
    else:
        data = png_bytes(np.zeros((h, w, 3)))
    with pytest.raises(GameGenError) as e:
        list(client.generate("textures/exemplar-unet", seed=1, params={"exemplar": data}, formats=["albedo"]))
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "exemplar" in e.value.details and words in e.value.details and "32 to 2048" in e.value.details


def test_bake_with_exemplar_path_is_reproducible_and_cached(tmp_path):
    alb, _, _ = procedural.material("wood", np.random.default_rng(1), 64)
    (tmp_path / "art").mkdir()
    (tmp_path / "art" / "wood.png").write_bytes(png_bytes(alb))
    (tmp_path / "bake.toml").write_text(
        '[[asset]]\nname = "wood"\nmodel = "textures/exemplar-unet"\nseed = 3\n'
        'params = { exemplar = "art/wood.png", size = 128 }\nformats = ["albedo", "normal_dx"]\n\n'
        '[[asset]]\nname = "bricks"\nmodel = "textures/materials-gan"\nseed = 5\n'
        'params = { material = "brick", size = 128 }\nformats = ["albedo", "height", "normal_gl"]\n')
    backend = LocalBackend(MODELS)
    out = tmp_path / "out"
    report = Baker(backend, out, jobs=1).run(load_bake_file(tmp_path / "bake.toml", backend))
    assert sorted(report.baked) == ["bricks", "wood"] and not report.failed
    files = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*.png")}
    assert set(files) == {"wood/albedo.png", "wood/normal_dx.png", "bricks/albedo.png", "bricks/height.png",
                          "bricks/normal_gl.png"}
    report = Baker(backend, out, jobs=1).run(load_bake_file(tmp_path / "bake.toml", backend))
    assert report.baked == [] and sorted(report.skipped) == ["bricks", "wood"]
    # a changed exemplar file re-bakes exactly that asset
    (tmp_path / "art" / "wood.png").write_bytes(png_bytes(alb[:, ::-1]))
    report = Baker(backend, out, jobs=1).run(load_bake_file(tmp_path / "bake.toml", backend))
    assert report.baked == ["wood"]


def _train_export_load(tmp_path, model: str, ref: str, args: list[str]):
    """Train a tiny model with the real training CLI, export it, load it: (folder, manifest, generator)."""
    pytest.importorskip("torch")
    from gamegen.exporters.manifest import load_manifest
    from gamegen.exporters.onnx_export import export_checkpoint
    from gamegen.generators.textures import train
    from gamegen.server.registry import load_registry

    ck = tmp_path / f"{model}.pt"
    train.main(["--model", model, "--out", str(ck), "--batch", "2", "--per-class", "1", "--quiet", *args])
    folder = export_checkpoint(ck, tmp_path / "models")
    gen = load_registry(tmp_path / "models", device="cpu", builtins=False).resolve(ref)
    return folder, load_manifest(folder), gen


def _latent_shift_is_pixel_shift(gen, cls_index: int, z_axis: int, img_axis: int) -> None:
    """A one-cell shift of the latent grid shifts the output by exactly 16 pixels, wrapping."""
    z = np.random.default_rng(0).standard_normal((1, gen.zc, 3, 4), dtype=np.float32)
    cls = np.eye(len(gen.classes), dtype=np.float32)[[cls_index]]

    def image(z):
        feat, pre, _ = gen.trunk.run(None, {"z": z, "cls": cls})
        return gen.head.run(None, {"feat": feat, "pre": pre})[0][0]

    a, b = image(z), image(np.roll(z, 1, axis=z_axis))
    assert np.abs(np.roll(a, 16, axis=img_axis) - b).max() < 1e-4


@pytest.mark.slow
def test_tiny_train_export_load_generate(tmp_path):
    folder, manifest, gen = _train_export_load(tmp_path, "pbr", "textures/pbr-unet", ["--steps", "2"])
    assert folder.name == "1.0.0" and folder.parent.name == "pbr-unet"
    assert manifest["parity"]["max_abs_diff"] <= 1e-4 and manifest["training"]["steps"] == 2
    alb, _, _ = procedural.material("stone", np.random.default_rng(0), 64)
    events = list(gen.generate(0, {"albedo": png_bytes(alb)}, ["height"]))
    assert isinstance(events[-1], Final) and any(isinstance(e, Asset) and e.name == "height.png" for e in events)


@pytest.mark.slow
def test_tiny_materials_train_with_gram_ema_and_smooth_head_exports_periodic_graphs(tmp_path):
    _, manifest, gen = _train_export_load(tmp_path, "materials", "textures/materials-gan", [
        "--steps", "3", "--fine", "1", "--head-upsample", "bilinear", "--gram", "1", "--ema", "0.9"])
    assert manifest["training"]["steps"] == 3 and "Gram" in manifest["training"]["data"]
    _latent_shift_is_pixel_shift(gen, 2, z_axis=2, img_axis=1)


@pytest.mark.slow
def test_tiny_flipbook_train_with_gram_ema_and_smooth_head_exports_time_and_space_periodic_graphs(tmp_path):
    from gamegen.generators.textures import train

    folder, manifest, gen = _train_export_load(tmp_path, "flipbook", "textures/flipbook-gan", [
        "--steps", "3", "--fine", "1", "--head-upsample", "bilinear", "--gram", "1", "--ema", "0.999",
        "--ema-warmup"])
    assert folder.parent.name == "flipbook-gan" and manifest["extra"]["zc"] == train.ZC + 16
    assert "Gram" in manifest["training"]["data"] and "EMA 0.999 (warm-up)" in manifest["training"]["data"]
    params = {"effect": "smoke", "frames": 8, "frame_size": 48, "fps": 16, "hue": 0.0}
    f = gen.latent_loop(5, params)
    assert f.shape == (8, 48, 48, 3)
    # time: frame 8 of the latent circle is frame 0 (a 16-frame loop's even frames are the 8-frame loop)
    assert np.abs(gen.latent_loop(5, {**params, "frames": 16})[::2] - f).max() < 1e-5
    # space: a one-cell shift of the latent grid shifts the frame by exactly 16 pixels, wrapping
    _latent_shift_is_pixel_shift(gen, 1, z_axis=3, img_axis=2)
    # what is served: the freshly exported network supplies the detail of the effects
    fire = gen.frames(5, {"effect": "fire", "frames": 8, "frame_size": 64})
    assert fire.shape == (8, 64, 64, 4) and fire[..., 3].max() > 0.5 and fire[:, :3, :, 3].max() == 0


def test_oversized_upload_is_refused_by_size(client):
    data = images.FORMATS["PNG"] + bytes(9 << 20)
    with pytest.raises(GameGenError) as e:
        list(client.generate("textures/pbr-unet", seed=1, params={"albedo": data}, formats=["height"]))
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "albedo is 9437192 bytes" in e.value.details and "8 MiB" in e.value.details


def test_cli_generate_writes_maps_and_refuses_a_bad_upload(tmp_path):
    import subprocess

    from .conftest import gamegen_cmd

    out = tmp_path / "stone"
    r = subprocess.run(gamegen_cmd("generate", "textures/materials-gan", "--seed", "5", "--set", "material=stone",
                                   "--set", "size=128", "--format", "albedo", "--format", "normal_dx",
                                   "--out", str(out)), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert {p.name for p in out.iterdir()} == {"albedo.png", "normal_dx.png"}   # a preview only with -f preview
    (tmp_path / "notes.txt").write_text("not an image")
    bad = tmp_path / "bad"
    r = subprocess.run(gamegen_cmd("generate", "textures/exemplar-unet", "--set", f"exemplar=@{tmp_path / 'notes.txt'}",
                                   "--out", str(bad)), capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "exemplar is not a PNG or JPEG image" in r.stderr and "Traceback" not in r.stderr
    assert not bad.exists()
