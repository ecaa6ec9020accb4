"""Level grids -> glTF binary (GLB) meshes of the level's solid tiles, extruded into blocks.

Scale and axes: one tile is one metre; glTF axes with y up. The levels we serve are side views,
so column ``c`` spans x = c .. c+1, row ``r`` spans y = (H-1-r) .. (H-r) (row 0 is at the top),
and every solid tile (floors, walls, bricks, pipes ...) is extruded DEPTH metres along z, from
z = 0 (back) to z = DEPTH (front, facing a default glTF camera). Passable tiles (air, ladders,
ropes, coins, enemies, the spawn) make no geometry; engines place those from the Tiled map.

One mesh per solid tile symbol (node ``<legend index>_<first tag but solid>``, e.g. ``01_ground``), each with a
PBR material of the tile's preview colour. Each is a closed surface: a face is emitted wherever a
tile borders a cell that is not the same symbol, with outward, counter-clockwise winding and flat
normals. Vertices are not shared between faces (each face has its own UVs), so a solid is closed
once vertices are merged by position; where two blocks of a symbol touch only at a corner, their
corner vertices sit :data:`PINCH` apart so the surface stays 2-manifold there. UVs are in metres on the face's plane (x/y on the front and
back, z/y on the sides, x/z on tops and bottoms), so a tiling texture repeats once per tile.
"""

from __future__ import annotations

import numpy as np
import trimesh

from .games import GameSpec

DEPTH = 1.0
PINCH = 1e-3     # metres: blocks that touch only at a corner are pulled apart this much there

# (neighbour (drow, dcol) or None for the front/back faces, corners of the unit cube in CCW order
# seen from outside, the two axes the face's UVs come from)
_FACES = (
    ((0, 1), ((1, 0, 1), (1, 0, 0), (1, 1, 0), (1, 1, 1)), (2, 1)),    # +x
    ((0, -1), ((0, 0, 0), (0, 0, 1), (0, 1, 1), (0, 1, 0)), (2, 1)),   # -x
    ((-1, 0), ((0, 1, 1), (1, 1, 1), (1, 1, 0), (0, 1, 0)), (0, 2)),   # +y (the row above)
    ((1, 0), ((0, 0, 0), (1, 0, 0), (1, 0, 1), (0, 0, 1)), (0, 2)),    # -y (the row below)
    (None, ((0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1)), (0, 1)),      # +z, front
    (None, ((1, 0, 0), (0, 0, 0), (0, 1, 0), (1, 1, 0)), (0, 1)),      # -z, back
)


def _solid_mesh(cells: np.ndarray, height: int, rgb: tuple[int, int, int]) -> trimesh.Trimesh:
    """Closed block mesh of the True cells of a boolean (rows, cols) mask."""
    padded = np.pad(cells, 1, constant_values=False)
    verts, normals, uvs, owner = [], [], [], []
    for nb, corners, (ua, va) in _FACES:
        if nb is None:
            rr, cc = np.nonzero(cells)
        else:
            dr, dc = nb
            rows, cols = cells.shape
            open_side = cells & ~padded[1 + dr:1 + dr + rows, 1 + dc:1 + dc + cols]
            rr, cc = np.nonzero(open_side)
        if rr.size == 0:
            continue
        origin = np.stack([cc, height - 1 - rr, np.zeros_like(rr)], 1).astype(np.float64)   # (k, 3)
        corner = np.array(corners, dtype=np.float64) * np.array([1.0, 1.0, DEPTH])          # (4, 3)
        v = origin[:, None, :] + corner[None, :, :]                                        # (k, 4, 3)
        n = np.cross(corner[1] - corner[0], corner[2] - corner[0])
        verts.append(v.reshape(-1, 3))
        owner.append(np.repeat(np.stack([rr, cc], 1), 4, axis=0))
        normals.append(np.broadcast_to(n / np.linalg.norm(n), (v.shape[0] * 4, 3)))
        uvs.append(np.stack([v[..., ua], v[..., va]], -1).reshape(-1, 2))
    vertices = np.concatenate(verts)
    owners = np.concatenate(owner)
    # Two blocks touching only at a corner (a 2x2 checkerboard) would share an edge between four
    # faces. Their vertices there move PINCH metres towards their own block's centre, so each
    # block stays a closed 2-manifold surface once vertices are merged by position.
    rows, cols = cells.shape
    a, b = padded[:-1, :-1], padded[:-1, 1:]
    c, d = padded[1:, :-1], padded[1:, 1:]
    pinch = (a & d & ~b & ~c) | (b & c & ~a & ~d)                       # (rows+1, cols+1) corner points
    pr = np.rint(height - vertices[:, 1]).astype(np.int64)
    pc = np.rint(vertices[:, 0]).astype(np.int64)
    hit = pinch[pr, pc]
    if hit.any():
        centre = np.stack([owners[:, 1] + 0.5, height - 1 - owners[:, 0] + 0.5], 1)
        vertices[hit, :2] += PINCH * np.sign(centre[hit] - vertices[hit, :2])
    quads = np.arange(len(vertices)).reshape(-1, 4)
    faces = np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]], 1).reshape(-1, 3)
    material = trimesh.visual.material.PBRMaterial(
        baseColorFactor=[rgb[0] / 255, rgb[1] / 255, rgb[2] / 255, 1.0], metallicFactor=0.0, roughnessFactor=0.9)
    return trimesh.Trimesh(vertices=vertices.astype(np.float32), faces=faces,
                           vertex_normals=np.concatenate(normals).astype(np.float32),
                           visual=trimesh.visual.TextureVisuals(uv=np.concatenate(uvs), material=material),
                           process=False)


def level_glb(game: GameSpec, grid: np.ndarray) -> bytes:
    """GLB of the level's solid tiles (see the module docstring for scale, axes and UVs)."""
    grid = np.asarray(grid, dtype=np.uint8)
    scene = trimesh.Scene()
    for i, (symbol, tags) in enumerate(game.legend):
        if "solid" not in tags:
            continue
        cells = grid == ord(symbol)
        if not cells.any():
            continue
        tag = next((t for t in tags if t != "solid"), "solid")
        name = f"{i:02d}_{tag.replace(' ', '-')}"
        scene.add_geometry(_solid_mesh(cells, grid.shape[0], game.color(symbol)), geom_name=name, node_name=name)
    return scene.export(file_type="glb", include_normals=True)
