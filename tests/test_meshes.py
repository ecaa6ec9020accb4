"""Levels as meshes: the `glb` format of the levels kind, over gRPC and from the CLI."""

from __future__ import annotations

import io
import subprocess

import numpy as np
import pytest
import trimesh

from gamegen.generators.events import Asset, Final
from gamegen.generators.levels.games import GAMES, to_grid
from gamegen.generators.levels.mesh import DEPTH, level_glb

from .conftest import gamegen_cmd


def level_and_mesh(client, ref, seed, params):
    events = list(client.generate(ref, seed=seed, params=params, formats=["txt", "glb"]))
    assert isinstance(events[-1], Final)
    assets = {e.name: e for e in events if isinstance(e, Asset)}
    assert assets["level.glb"].media_type == "model/gltf-binary"
    grid = to_grid(assets["level.txt"].data.decode().splitlines())
    return grid, assets["level.glb"].data


def assert_closed_blocks(game, grid, glb):
    scene = trimesh.load(io.BytesIO(glb), file_type="glb")
    solids = [(i, s, tags) for i, (s, tags) in enumerate(game.legend) if "solid" in tags]
    present = [(i, s) for i, s, _ in solids if (grid == ord(s)).any()]
    assert len(scene.geometry) == len(present)
    rows, cols = grid.shape
    for (i, symbol), (name, mesh) in zip(present, sorted(scene.geometry.items())):
        assert name.startswith(f"{i:02d}_")
        cells = int((grid == ord(symbol)).sum())
        # each face has its own vertices (UVs); a solid is closed once vertices merge by position
        solid = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)
        solid.merge_vertices()
        assert solid.is_watertight and solid.is_winding_consistent, name
        assert solid.volume == pytest.approx(cells * DEPTH, rel=1e-3), "outward winding: volume = tiles x DEPTH"
        assert mesh.visual.uv.shape == (len(mesh.vertices), 2)
        n = mesh.vertex_normals
        assert np.allclose(np.abs(n).sum(1), 1), "flat, axis-aligned face normals"
        lo, hi = solid.bounds
        assert lo.min() >= 0 and hi[0] <= cols and hi[1] <= rows and hi[2] == pytest.approx(DEPTH)


@pytest.mark.parametrize("ref,params", [
    ("levels/loderunner", {"gold": 6}), ("levels/loderunner-rules", {}), ("levels/smb", {"width": 150}),
])
def test_levels_extrude_into_closed_consistent_meshes(client, ref, params):
    game = GAMES["smb" if "smb" in ref else "loderunner"]
    for seed in (1, 2, 3):
        grid, glb = level_and_mesh(client, ref, seed, params)
        assert_closed_blocks(game, grid, glb)


def test_level_mesh_places_tiles_at_one_metre_per_tile():
    rows = ["....", ".B..", "BBbB"]
    game = GAMES["loderunner"]
    scene = trimesh.load(io.BytesIO(level_glb(game, to_grid(rows))), file_type="glb")
    names = sorted(scene.geometry)
    assert names == ["01_ground", "02_diggable"]
    ground = scene.geometry["01_ground"]
    # row 0 is the top: the floor (row 2) is at y 0..1, the block above it (row 1) at y 1..2
    assert np.allclose(ground.bounds, [[0, 0, 0], [4, 2, DEPTH]])
    assert np.allclose(scene.geometry["02_diggable"].bounds, [[2, 0, 0], [3, 1, DEPTH]])


def test_glb_is_deterministic_and_other_formats_are_unchanged_by_asking_for_it(client):
    a = list(client.generate("levels/loderunner", seed=4, params={}, formats=["txt", "tmj", "png"]))
    b = list(client.generate("levels/loderunner", seed=4, params={}, formats=["txt", "tmj", "png", "glb"]))
    c = list(client.generate("levels/loderunner", seed=4, params={}, formats=["glb"]))
    data = lambda evs: {e.name: e.data for e in evs if isinstance(e, Asset)}  # noqa: E731
    assert {k: v for k, v in data(b).items() if k != "level.glb"} == data(a)
    assert data(c)["level.glb"] == data(b)["level.glb"]


def test_cli_writes_a_level_glb(tmp_path):
    r = subprocess.run(gamegen_cmd("generate", "levels/loderunner", "--seed", "2", "-f", "glb", "-f", "txt",
                                   "--out", str(tmp_path)), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    grid = to_grid((tmp_path / "level.txt").read_text().splitlines())
    assert_closed_blocks(GAMES["loderunner"], grid, (tmp_path / "level.glb").read_bytes())
