"""Terrain chunks end to end: seams in any order, outputs engines read, bad input, determinism, baking."""

from __future__ import annotations

import io
import json
import subprocess

import grpc
import numpy as np
import pytest
import trimesh
from PIL import Image

from gamegen.client import GameGenError
from gamegen.generators.events import Asset, Final
from gamegen.generators.terrain import chunks
from gamegen.server.backends import LocalBackend
from gamegen.server.bake import Baker, load_bake_file

from .conftest import MODELS, gamegen_cmd

ALL = ["png", "heightmap", "raw", "splat", "glb"]
ERODED = {"hydraulic_iterations": 12, "thermal_iterations": 4}


def assets_of(events) -> tuple[dict[str, Asset], Final]:
    events = list(events)
    assert isinstance(events[-1], Final)
    return {e.name: e for e in events if isinstance(e, Asset)}, events[-1]


def glb_mesh(data: bytes) -> trimesh.Trimesh:
    """The one mesh of a GLB, with the normals stored in the file (force="mesh" would recompute them)."""
    scene = trimesh.load(io.BytesIO(data), file_type="glb", process=False)
    (mesh,) = scene.geometry.values()
    return mesh


def fields(assets: dict[str, Asset], size: int) -> dict[str, np.ndarray]:
    """Heights (uint16), splat (uint8 x4) and mesh normals of one chunk, decoded as an engine would."""
    raw = np.frombuffer(assets["heightmap.raw"].data, dtype="<u2").reshape(size, size)
    png = np.asarray(Image.open(io.BytesIO(assets["heightmap.png"].data)))
    assert np.array_equal(raw, png), "raw and 16-bit PNG hold the same heights"
    splat = np.asarray(Image.open(io.BytesIO(assets["splat.png"].data)))
    mesh = glb_mesh(assets["terrain.glb"].data)
    normals = np.asarray(mesh.vertex_normals).reshape(size, size, 3)
    return {"heights": raw, "splat": splat, "normals": normals}


def edges(f: dict[str, np.ndarray], side: str) -> dict[str, np.ndarray]:
    pick = {"left": np.s_[:, 0], "right": np.s_[:, -1], "top": np.s_[0], "bottom": np.s_[-1]}[side]
    return {k: v[pick] for k, v in f.items()}


def assert_same(a: dict, b: dict):
    for k in a:
        assert np.array_equal(a[k], b[k]), f"{k} differ along the shared edge"


@pytest.mark.parametrize("ref,params", [
    ("terrain/noise", {}),
    ("terrain/noise", {**ERODED, "noise": "ridged", "warp": 0.5}),
    ("terrain/terrain-erosion", {"noise": "ridged"}),
], ids=["noise", "simulated-erosion", "learned-erosion"])
def test_neighbouring_chunks_join_exactly_in_any_order(registry, ref, params):
    gen = registry.resolve(ref)
    size = 65

    def chunk(cx, cy):
        a, _ = assets_of(gen.generate(11, {**params, "size": size, "chunk_x": cx, "chunk_y": cy},
                                      ["heightmap", "raw", "splat", "glb"]))
        return fields(a, size)

    # a 2x2 block around the world origin (negative coordinates too), asked for in two orders
    order1 = {(cx, cy): chunk(cx, cy) for cx, cy in [(-1, -1), (0, -1), (-1, 0), (0, 0)]}
    order2 = {(cx, cy): chunk(cx, cy) for cx, cy in [(0, 0), (-1, 0), (0, -1), (-1, -1)]}
    for key in order1:
        for k in order1[key]:
            assert np.array_equal(order1[key][k], order2[key][k])
    c = order1
    assert_same(edges(c[(-1, -1)], "right"), edges(c[(0, -1)], "left"))
    assert_same(edges(c[(-1, 0)], "right"), edges(c[(0, 0)], "left"))
    assert_same(edges(c[(-1, -1)], "bottom"), edges(c[(-1, 0)], "top"))
    assert_same(edges(c[(0, -1)], "bottom"), edges(c[(0, 0)], "top"))
    # not trivially equal: the chunks differ inside, and heights vary along the edge
    assert not np.array_equal(c[(0, 0)]["heights"], c[(-1, -1)]["heights"])
    assert len(np.unique(c[(0, 0)]["heights"][:, 0])) > 10


def test_chunks_of_different_sizes_agree_where_they_overlap(registry):
    """The world is one function: a 129 chunk's first 65x65 samples are the 65 chunk (0, 0)."""
    gen = registry.resolve("terrain/noise")
    small, _ = assets_of(gen.generate(4, {**ERODED, "size": 65}, ["raw"]))
    big, _ = assets_of(gen.generate(4, {**ERODED, "size": 129}, ["raw"]))
    a = np.frombuffer(small["heightmap.raw"].data, "<u2").reshape(65, 65)
    b = np.frombuffer(big["heightmap.raw"].data, "<u2").reshape(129, 129)
    assert np.array_equal(a, b[:65, :65])


def test_seams_and_bytes_over_grpc_match_in_process(registry, client):
    gen = registry.resolve("terrain/terrain-erosion")
    got = {}
    for cx in (3, 4):
        params = {"size": 65, "chunk_x": cx, "chunk_y": -2}
        remote, rf = assets_of(client.generate("terrain/terrain-erosion", seed=3, params=params, formats=ALL))
        local, lf = assets_of(gen.generate(3, params, ALL))
        assert {k: v.data for k, v in remote.items()} == {k: v.data for k, v in local.items()}
        assert rf.content_hash == lf.content_hash
        got[cx] = fields(remote, 65)
    assert_same(edges(got[3], "right"), edges(got[4], "left"))


def test_outputs_are_what_engines_read(registry):
    size = 129
    a, final = assets_of(registry.resolve("terrain/noise").generate(
        2, {"size": size, "sea_level": 0.3, "height_range": 250.0, "cell_size": 2.0, **ERODED}, ALL))
    assert [n for n in a] == ["terrain.png", "heightmap.png", "heightmap.raw", "splat.png", "terrain.glb"]
    assert len(a["heightmap.raw"].data) == 2 * size * size
    hp = Image.open(io.BytesIO(a["heightmap.png"].data))
    assert hp.size == (size, size) and hp.mode.startswith("I;16")
    splat = np.asarray(Image.open(io.BytesIO(a["splat.png"].data)))
    assert splat.shape == (size, size, 4) and np.all(splat.astype(int).sum(-1) == 255)
    assert all(splat[..., c].max() > 0 for c in range(3)), "sand, grass and rock all appear"
    preview = Image.open(io.BytesIO(a["terrain.png"].data))
    assert preview.size == (size, size) and preview.mode == "RGB"

    mesh = glb_mesh(a["terrain.glb"].data)
    heights = np.frombuffer(a["heightmap.raw"].data, "<u2").reshape(size, size) / 65535 * 250.0
    assert mesh.vertices.shape == (size * size, 3) and len(mesh.faces) == 2 * (size - 1) ** 2
    assert np.allclose(mesh.vertices[:, 1].reshape(size, size), heights, atol=250 / 65535)
    assert np.isclose(mesh.vertices[:, 0].max(), (size - 1) * 2.0) and np.isclose(mesh.vertices[:, 2].max(), (size - 1) * 2.0)
    uv = mesh.visual.uv
    assert uv.shape == (size * size, 2) and uv.min() >= 0 and uv.max() <= 1
    # an open sheet: consistent winding, every face up, one boundary loop of 4(N-1) edges, no holes
    assert mesh.is_winding_consistent and not mesh.is_watertight
    assert mesh.face_normals[:, 1].min() > 0
    edge_count = np.unique(mesh.edges_sorted, axis=0, return_counts=True)[1]
    assert (edge_count == 1).sum() == 4 * (size - 1) and set(edge_count) <= {1, 2}
    vn = mesh.vertex_normals
    assert np.allclose(np.linalg.norm(vn, axis=1), 1, atol=1e-5) and vn[:, 1].min() > 0
    assert dict(final.timings_ms).keys() >= {"heights", "images", "mesh"}


def test_big_chunks_stream_mesh_tiles_with_levels_of_detail(registry):
    events = list(registry.resolve("terrain/noise").generate(8, {"size": 513}, ["raw", "glb"]))
    names = [e.name for e in events if isinstance(e, Asset)]
    assert names[0] == "heightmap.raw"
    tiles = [n for n in names if n.endswith(".glb")]
    assert tiles == [f"mesh_lod{lod}_x{x}_y{y}.glb" for lod in (2, 1, 0) for y in (0, 1) for x in (0, 1)]
    meshes = {e.name: glb_mesh(e.data)
              for e in events if isinstance(e, Asset) and e.name.endswith(".glb")}
    for lod, n in ((0, 257), (1, 129), (2, 65)):
        m = meshes[f"mesh_lod{lod}_x1_y0.glb"]
        assert len(m.vertices) == n * n and m.is_winding_consistent and m.face_normals[:, 1].min() > 0
    # neighbouring tiles of one LOD share their edge vertices exactly
    a = meshes["mesh_lod0_x0_y0.glb"].vertices.reshape(257, 257, 3)
    b = meshes["mesh_lod0_x1_y0.glb"].vertices.reshape(257, 257, 3)
    assert np.array_equal(a[:, -1], b[:, 0])


def test_same_seed_same_bytes_other_seed_other_terrain(registry):
    gen = registry.resolve("terrain/noise")
    p = {"size": 65, **ERODED}
    one, f1 = assets_of(gen.generate(5, p, ALL))
    two, f2 = assets_of(gen.generate(5, p, ALL))
    other, f3 = assets_of(gen.generate(6, p, ALL))
    assert {k: v.data for k, v in one.items()} == {k: v.data for k, v in two.items()}
    assert f1.content_hash == f2.content_hash != f3.content_hash
    assert one["heightmap.raw"].data != other["heightmap.raw"].data


def test_parameters_change_the_terrain(registry):
    gen = registry.resolve("terrain/noise")

    def heights(**p):
        a, _ = assets_of(gen.generate(1, {"size": 65, **p}, ["raw"]))
        return np.frombuffer(a["heightmap.raw"].data, "<u2").astype(float)

    base = heights()
    for change in ({"noise": "ridged"}, {"warp": 1.0}, {"octaves": 2}, {"scale": 100.0}, {"hydraulic_iterations": 20},
                   {"thermal_iterations": 20}):
        assert not np.array_equal(heights(**change), base), change
    # thermal erosion flattens slopes steeper than the talus angle
    steep = {"scale": 40.0}
    assert np.abs(np.diff(heights(**steep, thermal_iterations=50))).max() < np.abs(np.diff(heights(**steep))).max()


def test_learned_erosion_zero_is_the_noise_baseline_and_one_is_not(registry):
    learned, noise = registry.resolve("terrain/terrain-erosion"), registry.resolve("terrain/noise")
    p = {"size": 65, "chunk_x": -3}
    zero, _ = assets_of(learned.generate(9, {**p, "erosion": 0.0}, ["raw"]))
    plain, _ = assets_of(noise.generate(9, p, ["raw"]))
    full, _ = assets_of(learned.generate(9, p, ["raw"]))
    assert zero["heightmap.raw"].data == plain["heightmap.raw"].data
    assert full["heightmap.raw"].data != plain["heightmap.raw"].data


def test_learned_model_is_small_and_says_what_it_imitates():
    manifest = json.loads((MODELS / "terrain-erosion" / "1.0.0" / "manifest.json").read_text())
    assert manifest["kind"] == "terrain" and manifest["bytes"] < 2_000_000
    assert manifest["parity"]["max_abs_diff"] <= manifest["parity"]["tolerance"]
    sim = manifest["extra"]["simulator"]
    assert sim["hydraulic_iterations"] > 0 and sim["thermal_iterations"] > 0
    metrics = manifest["extra"]["metrics"]
    assert metrics["rmse_learned_vs_simulator"] < metrics["rmse_noise_vs_simulator"]


BAD = [
    ({"size": 300}, ["size", "33, 65, 129, 257, 513, 1025", "300"]),
    ({"size": 2049}, ["size", "1025", "2049"]),
    ({"chunk_x": 600}, ["chunk_x", "-512", "511", "600"]),
    ({"chunk_y": -513}, ["chunk_y", "-512", "511", "-513"]),
    ({"hydraulic_iterations": 10000}, ["hydraulic_iterations", "0", "300", "10000"]),
    ({"thermal_iterations": 301}, ["thermal_iterations", "300", "301"]),
    ({"noise": "cellular"}, ["noise", "fbm", "ridged", "cellular"]),
    ({"erosion": 0.5}, ["erosion", "not a parameter", "hydraulic_iterations"]),
]


@pytest.mark.parametrize("params,words", BAD, ids=[next(iter(p)) + str(i) for i, (p, _) in enumerate(BAD)])
def test_bad_input_is_invalid_argument_naming_field_and_allowed(client, params, words):
    with pytest.raises(GameGenError) as e:
        list(client.generate("terrain/noise", seed=1, params=params, formats=["raw"]))
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    for w in words:
        assert w in str(e.value), (w, str(e.value))


def test_bad_input_through_the_cli(tmp_path):
    for args, words in ((["--set", "size=300"], ["size", "257", "300"]),
                        (["--set", "chunk_x=9999"], ["chunk_x", "511"]),
                        (["--set", "hydraulic_iterations=5000"], ["hydraulic_iterations", "300"]),
                        (["--format", "fbx"], ["fbx", "glb", "raw"])):
        r = subprocess.run(gamegen_cmd("generate", "terrain/noise", *args, "--out", str(tmp_path / "o")),
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        for w in words:
            assert w in r.stderr, (w, r.stderr)
        assert not (tmp_path / "o").exists()


def test_bake_file_with_terrain_bakes_and_rebakes_as_up_to_date(tmp_path):
    (tmp_path / "bake.toml").write_text(
        '[[asset]]\nname = "chunk-0-0"\nmodel = "terrain/noise"\nseed = 3\n'
        'formats = ["raw", "splat", "glb"]\n'
        'params = { size = 65, chunk_x = 0, chunk_y = 0, hydraulic_iterations = 10 }\n'
        '[[asset]]\nname = "chunk-1-0"\nmodel = "terrain/terrain-erosion"\nseed = 3\n'
        'params = { size = 65, chunk_x = 1, chunk_y = 0 }\n')
    backend = LocalBackend(MODELS, device="cpu")
    items = load_bake_file(tmp_path / "bake.toml", backend)
    out = tmp_path / "out"
    first = Baker(backend, out, jobs=2).run(items)
    assert sorted(first.baked) == ["chunk-0-0", "chunk-1-0"] and not first.failed
    assert sorted(p.name for p in (out / "chunk-0-0").iterdir()) == ["heightmap.raw", "splat.png", "terrain.glb"]
    assert (out / "chunk-1-0" / "terrain.glb").exists() and (out / "chunk-1-0" / "heightmap.png").exists()
    again = Baker(backend, out, jobs=2).run(load_bake_file(tmp_path / "bake.toml", backend))
    assert sorted(again.skipped) == ["chunk-0-0", "chunk-1-0"] and not again.baked


def test_tile_lattice_weights_sum_to_one():
    x0, width = -300, 700
    total = np.zeros(width)
    for k in chunks._tile_range(x0, x0 + width - 1):
        lo = k * chunks.TILE_STEP - chunks.TILE_HALF
        for i in range(width):
            d = x0 + i - lo
            if 0 <= d < chunks.TILE:
                total[i] += chunks.TILE_WEIGHT[d]
    assert np.allclose(total, 1.0)


@pytest.mark.slow
def test_tiny_training_exports_and_serves_over_grpc(tmp_path):
    """train (seconds) -> gamegen export (dynamo + parity) -> registry -> Generate over gRPC."""
    from gamegen.client import Client
    from gamegen.exporters.onnx_export import export_checkpoint
    from gamegen.generators.terrain import train
    from gamegen.server.registry import load_registry

    from .conftest import ServerThread

    ckpt = tmp_path / "tiny.pt"
    train.main(["--out", str(ckpt), "--tiles", "2", "--held-out", "1", "--minutes", "0.01", "--crop", "64",
                "--channels", "4", "--name", "terrain-tiny"])
    folder = export_checkpoint(ckpt, tmp_path / "models")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["kind"] == "terrain" and manifest["name"] == "terrain-tiny"
    assert manifest["parity"]["max_abs_diff"] <= 1e-4 and manifest["inputs"][0]["name"] == "heights"
    reg = load_registry(tmp_path / "models", device="cpu", builtins=False)
    assert reg.refs() == ["terrain/terrain-tiny"] and not reg.refused
    server = ServerThread(reg)
    try:
        with Client(server.target, timeout=60) as c:
            a, final = assets_of(c.generate("terrain/terrain-tiny", seed=1, params={"size": 33}, formats=["raw"]))
    finally:
        server.stop()
    assert len(a["heightmap.raw"].data) == 2 * 33 * 33 and final.model == "terrain/terrain-tiny"


def test_deadline_stops_a_long_erosion_between_tile_batches(registry):
    """A 1025 chunk with 300 simulator iterations takes minutes; a 1 s deadline ends it within a batch."""
    import dataclasses
    import threading
    import time

    from gamegen.client import Client
    from gamegen.generators.base import Generator
    from gamegen.server.registry import Registry

    from .conftest import ServerThread

    inner = registry.resolve("terrain/noise")

    class Watched(Generator):
        info = dataclasses.replace(inner.info, name="watched")
        pulled = 0
        closed = threading.Event()

        def run(self, seed, params, formats, *, partials):
            try:
                for e in inner.run(seed, params, formats, partials=partials):
                    Watched.pulled += 1
                    yield e
            finally:
                Watched.closed.set()

    reg = Registry()
    reg.add(Watched())
    server = ServerThread(reg, max_concurrent=1)
    try:
        with Client(server.target) as c, pytest.raises(GameGenError) as ei:
            list(c.generate("terrain/watched", seed=1, formats=["raw"], timeout=1.0,
                            params={"size": 1025, "hydraulic_iterations": 300}))
        assert ei.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
        t = time.time()
        assert Watched.closed.wait(60), "generator still running after the deadline"
        waited = time.time() - t
        # 81 tiles in batches of 8: stopping at the first batch boundary means at most 2 progress events
        assert Watched.pulled <= 3, Watched.pulled
        assert waited < 30, waited
    finally:
        server.stop()
