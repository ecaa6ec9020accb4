"""Layout materials (issue 15): materials-net (learned) and materials-layered (its teacher), over real
gRPC where the textures tests do: controls honoured measurably, determinism, tiling, bad input."""

from __future__ import annotations

import io

import grpc
import numpy as np
import pytest
from PIL import Image

from gamegen.client import GameGenError
from gamegen.generators.events import Asset, Final
from gamegen.generators.textures import layout, maps, measures

NET, LAYERED = "textures/materials-net", "textures/materials-layered"


def png(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        a = np.asarray(im)
    return a.astype(np.float32) / (65535.0 if a.dtype == np.uint16 else 255.0)


def maps_of(gen, seed, formats=("albedo",), **params):
    events = list(gen.generate(seed, params, list(formats), partials=False))
    assert isinstance(events[-1], Final)
    return {e.format: png(e.data) for e in events if isinstance(e, Asset)}


@pytest.mark.parametrize("ref", [NET, LAYERED])
def test_pattern_scale_sets_the_brick_course_period(registry, ref):
    # the autocorrelation's first peak is the course: 32 px at pattern 1, twice that at pattern 2
    gen = registry.resolve(ref)
    lags = {}
    for pat in (1.0, 2.0):
        alb = maps_of(gen, 7, material="brick", size=256, pattern_scale=pat)["albedo"]
        strength, lags[pat] = measures.lattice(alb)
        assert strength > 0.3, (ref, pat, strength)          # courses, not worms
    assert abs(lags[1.0] - 32) <= 3 and abs(lags[2.0] - 64) <= 6, lags


@pytest.mark.parametrize("ref", [NET, LAYERED])
def test_wear_ages_the_material(registry, ref):
    gen = registry.resolve(ref)
    new = maps_of(gen, 4, ("albedo", "roughness"), material="metal", size=128, wear=0.0)
    old = maps_of(gen, 4, ("albedo", "roughness"), material="metal", size=128, wear=1.0)
    assert old["roughness"].mean() > new["roughness"].mean() + 0.05          # grime is rough
    assert measures.lum(old["albedo"]).mean() < measures.lum(new["albedo"]).mean() - 0.03   # and dark


def test_wood_grain_runs_one_way_and_seeds_differ_in_look(registry):
    gen = registry.resolve(NET)
    a = maps_of(gen, 1, material="wood", size=256)["albedo"]
    b = maps_of(gen, 2, material="wood", size=256)["albedo"]
    assert measures.coherence(a) > 0.4 and measures.coherence(b) > 0.4
    # a different seed is a different layout: planks and joints elsewhere, not just other pixels
    assert np.abs(a - b).mean() > 0.03


def test_net_over_grpc_streams_preview_first_and_is_deterministic(client, registry):
    params = {"material": "stone", "size": 128, "wear": 0.6, "pattern_scale": 0.8, "hue": 20.0}
    formats = ["albedo", "height", "normal_gl", "roughness"]
    events = list(client.generate(NET, seed=9, params=params, formats=formats))
    names = [e.name for e in events if isinstance(e, Asset)]
    assert names[0] == "preview.png" and png(events[[isinstance(e, Asset) for e in events].index(True)].data
                                              ).shape == (32, 32, 3)
    assert set(names[1:]) == {f"{f}.png" for f in formats}
    final = events[-1]
    local = list(registry.resolve(NET).generate(9, params, formats, partials=False))
    assert local[-1].content_hash == final.content_hash
    assert float(dict(final.parameters)["wear"]) == pytest.approx(0.6)


def test_net_tiles_by_construction(registry):
    # circular padding and a periodic layout: rolling the layout rolls the maps exactly, so the
    # wrapped edge is an ordinary interior seam
    gen = registry.resolve(NET)
    lay = layout.layout("brick", np.random.default_rng(3), 64)[None]
    cls = np.eye(len(gen.classes), dtype=np.float32)[[gen.classes.index("brick")]]

    def run(x):
        e2, mid, pre, _ = gen.trunk.run(None, {"layout": x, "cls": cls})
        return gen.head["brick"].run(None, {"layout": x, "e2": e2, "mid": mid, "pre": pre})[0][0]

    a, b = run(lay), run(np.ascontiguousarray(np.roll(lay, (20, 36), axis=(2, 3))))
    assert np.abs(np.roll(a, (20, 36), axis=(1, 2)) - b).max() < 1e-4
    # and served tiles are seamless: median seam ratio over seeds, a non-wrapping crop far above it
    seams, crops = [], []
    for s in range(4):
        alb = maps_of(gen, s, material="brick", size=128)["albedo"]
        seams.append(maps.seam_error(alb))
        crops.append(maps.seam_error(np.tile(alb, (2, 2, 1))[40:168, 20:148]))
    assert np.median(seams) < 1.3 and np.median(crops) > 0.6    # (a crop of a tile still tiles ...)
    naive = layout.material("brick", np.random.default_rng(0), 192)[0][:128, :128]
    assert maps.seam_error(naive) > np.median(seams)              # ... a crop of a bigger tile does not


def test_a_coarser_step_draws_the_same_tile():
    # the preview's layout (step 4) is the full layout seen at a quarter of the resolution: the same
    # courses, slabs, tones and broad noise from the same seed, for 1/16 of the samples
    for name in layout.CLASSES:
        full = layout.layout(name, np.random.default_rng(11), 256, 1.2, 0.5)
        quarter = layout.layout(name, np.random.default_rng(11), 256, 1.2, 0.5, step=4)
        assert quarter.shape == (len(layout.CHANNELS), 64, 64)
        down = full.reshape(len(layout.CHANNELS), 64, 4, 64, 4).mean(axis=(2, 4))
        for c in ("edge", "tone", "wear", "broad"):
            i = layout.CHANNELS.index(c)
            if down[i].std() < 1e-6:                      # one panel or slab: one tone
                assert np.allclose(quarter[i], down[i]), (name, c)
                continue
            r = np.corrcoef(down[i].ravel(), quarter[i].ravel())[0, 1]
            assert r > 0.9, (name, c, r)
    with pytest.raises(ValueError, match="step 3"):
        layout.layout("brick", np.random.default_rng(0), 64, step=3)


@pytest.mark.parametrize("ref", [NET, LAYERED])
def test_preview_is_the_same_tile_and_leaves_the_bytes_alone(registry, ref):
    gen = registry.resolve(ref)
    params = {"material": "brick", "size": 256, "pattern_scale": 1.5, "scale": 2.0}
    with_preview = list(gen.generate(5, params, ["albedo"], partials=True))
    without = list(gen.generate(5, params, ["albedo"], partials=False))
    assets = [e for e in with_preview if isinstance(e, Asset)]
    assert assets[0].name == "preview.png" and assets[1].name == "albedo.png"
    assert with_preview[-1].content_hash == without[-1].content_hash     # the preview draws apart
    preview, final = png(assets[0].data), png(assets[1].data)
    assert preview.shape == (64, 64, 3)
    small = maps.wrap_resize(final, 64)
    r = np.corrcoef(measures.lum(small).ravel(), measures.lum(preview).ravel())[0, 1]
    assert r > 0.8, r                                    # the same courses and bricks, a quarter the size
    assert np.abs(small - preview).mean() < 0.06


def test_colour_is_no_noisier_than_the_teacher(registry):
    # materials-net 2.0.0 predicts chroma at half resolution: its high-frequency colour energy stays
    # at or below the teacher's on every class (1.0.0 was above it on stone and metal)
    net, teacher = registry.resolve(NET), registry.resolve(LAYERED)
    for m in layout.CLASSES:
        got = [measures.chroma_hf(maps_of(net, s, material=m, size=128)["albedo"]) for s in (1, 2)]
        ref = [measures.chroma_hf(maps_of(teacher, s, material=m, size=128)["albedo"]) for s in (1, 2)]
        assert np.mean(got) <= np.mean(ref) * 1.02, (m, got, ref)


def test_the_previous_models_are_still_served(registry):
    # 1.0.0 reads the first ten layout planes (it has no grain plane)
    old = registry.resolve(NET + "@1.0.0")
    assert old.info.version == "1.0.0" and registry.resolve(NET).info.version == "2.1.0"
    alb = maps_of(old, 3, material="wood", size=64)["albedo"]
    assert alb.shape == (64, 64, 3) and measures.coherence(alb) > 0.4
    # 2.1.0 is 2.0.0's weights as faster graphs (per-class heads): the same maps up to 8-bit rounding
    two, new = registry.resolve(NET + "@2.0.0"), registry.resolve(NET)
    assert isinstance(new.head, dict) and not isinstance(two.head, dict)
    for m in layout.CLASSES:
        a = maps_of(two, 5, ("albedo", "height", "roughness"), material=m, size=64, wear=0.4)
        b = maps_of(new, 5, ("albedo", "height", "roughness"), material=m, size=64, wear=0.4)
        for f in a:
            assert np.abs(a[f] - b[f]).max() <= 1.5 / 255, (m, f, np.abs(a[f] - b[f]).max())


def test_serving_graphs_compute_the_two_graph_function():
    """FastTrunkGraph / ClassHeadGraph (2.1.0's graphs) against TrunkGraph / HeadGraph on the weights
    rebuilt from the shipped 2.0.0 ONNX files (checkpoint_from_onnx), and against 2.0.0's ORT output."""
    torch = pytest.importorskip("torch")
    import onnxruntime as ort

    from gamegen.generators.textures import layout_net

    from .conftest import MODELS

    folder = MODELS / "materials-net" / "2.0.0"
    ck = layout_net.checkpoint_from_onnx(folder)
    c = ck["config"]
    net = layout_net.LayoutNet(c["cin"], c["n_cls"], c["out"], tuple(c["widths"]), c["dec"], c["pix"], c["chroma"],
                               c["pix_layers"])
    net.load_state_dict(ck["state_dict"])
    net.eval()
    so = ort.SessionOptions()
    so.log_severity_level = 3
    trunk = ort.InferenceSession(str(folder / "trunk.onnx"), so, providers=["CPUExecutionProvider"])
    head = ort.InferenceSession(str(folder / "head.onnx"), so, providers=["CPUExecutionProvider"])
    for k, name in enumerate(ck["classes"]):
        lay = layout.layout(name, np.random.default_rng(k), 64, 1.1, 0.5)[None]
        cls = np.eye(c["n_cls"], dtype=np.float32)[[k]]
        e2, mid, pre, prev = trunk.run(None, {"layout": lay, "cls": cls})
        ref = head.run(None, {"layout": lay, "cls": cls, "e2": e2, "mid": mid, "pre": pre})[0]
        with torch.no_grad():
            t = layout_net.FastTrunkGraph(net)(torch.from_numpy(lay), torch.from_numpy(cls))
            got = layout_net.ClassHeadGraph(net, k)(torch.from_numpy(lay), *t[:3]).numpy()
        for a, b in zip(t, (e2, mid, pre, prev)):
            assert np.abs(a.numpy() - b).max() < 1e-5
        assert np.abs(got - ref).max() < 1e-5, name


BAD = [
    (NET, {"wear": 1.5}, "wear", "0 to 1"),
    (NET, {"pattern_scale": 0.1}, "pattern_scale", "0.5 to 3"),
    (NET, {"material": "grass"}, "material", "brick"),
    (LAYERED, {"size": 100}, "size", "multiple of 16"),
    ("textures/materials-procedural", {"wear": 0.5}, "wear", ""),
]


@pytest.mark.parametrize("model,params,field,words", BAD)
def test_bad_values_are_invalid_argument_naming_the_field(client, model, params, field, words):
    with pytest.raises(GameGenError) as e:
        list(client.generate(model, seed=1, params=params, formats=["albedo"]))
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in e.value.details and words in e.value.details, e.value.details


def test_shipped_manifest_documents_data_and_parity(registry):
    import json

    from .conftest import MODELS

    man = json.loads((MODELS / "materials-net" / "2.1.0" / "manifest.json").read_text())
    assert man["parity"]["max_abs_diff"] <= 1e-4
    assert all(man["files"][f"head_{c}"]["parity"]["max_abs_diff"] <= 1e-4 for c in layout.CLASSES)
    assert "teacher" in man["training"]["data"] and man["extra"]["channels"] == list(layout.CHANNELS)
    assert "re-exported, not retrained" in man["training"]["data"] and "--from models/materials-net/2.0.0" in \
        man["training"]["command"]


@pytest.mark.slow
def test_tiny_layout_train_export_load(tmp_path):
    pytest.importorskip("torch")
    from gamegen.exporters.manifest import load_manifest
    from gamegen.exporters.onnx_export import export_checkpoint
    from gamegen.generators.textures import train
    from gamegen.server.registry import load_registry

    ck = tmp_path / "layout.pt"
    train.main(["--model", "layout", "--out", str(ck), "--batch", "2", "--per-class", "1", "--steps", "2", "--quiet"])
    folder = export_checkpoint(ck, tmp_path / "models")
    man = load_manifest(folder)
    assert folder.parent.name == "materials-net" and man["training"]["steps"] == 2
    assert man["parity"]["max_abs_diff"] <= 1e-4
    gen = load_registry(tmp_path / "models", device="cpu", builtins=False).resolve(NET)
    out = maps_of(gen, 0, ("albedo", "height"), material="wood", size=64)
    assert out["albedo"].shape == (64, 64, 3) and out["height"].shape == (64, 64)


def test_banded_graphs_give_the_whole_tile_outputs_exactly(registry):
    # at 256-1024 px the trunk and the per-class head run as two bands at once, each with
    # wrap-around context rows (the graphs pad circularly): the bands must give the whole-tile
    # outputs exactly, the trunk's features and preview and the head's maps
    from gamegen.generators.textures import generator as tg

    gen = registry.resolve(NET)
    for k, name in enumerate(gen.classes):
        lay = layout.layout(name, np.random.default_rng(20 + k), 256, 0.9, 0.5)[None]
        cls = np.eye(len(gen.classes), dtype=np.float32)[[k]]
        assert tg.BAND_MIN <= lay.shape[2] <= tg.BAND_MAX
        whole = gen.trunk.run(None, {"layout": lay, "cls": cls})
        bands = tg._banded(gen.trunk, {"layout": (lay, 1), "cls": (cls, None)}, (2, 4, 4, 4), 256)
        assert all(np.array_equal(a, b) for a, b in zip(whole, bands)), name
        e2, mid, pre, _ = whole
        maps_whole = gen.head[name].run(None, {"layout": lay, "e2": e2, "mid": mid, "pre": pre})[0]
        maps_bands = tg._banded(gen.head[name], {"layout": (lay, 1), "e2": (e2, 2), "mid": (mid, 4), "pre": (pre, 4)},
                                (1,), 256)[0]
        assert np.array_equal(maps_bands, maps_whole), name
