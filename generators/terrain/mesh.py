"""Height grids -> glTF binary meshes (via trimesh).

Axes follow glTF: y is up; x runs along the chunk's columns (world x) and z along its rows
(world y). One sample is ``cell_size`` metres. Vertices are in chunk-local metres: the chunk's
first sample is at the origin, so a game places chunk ``(cx, cy)`` at
``(cx*(N-1)*cell_size, 0, cy*(N-1)*cell_size)``. Triangles wind counter-clockwise seen from
above (+y), two per grid cell. UVs span the whole chunk (u along x, v along z with v = 0 at the
first row, the top of ``splat.png``), so one splat texture covers every tile of a chunk. The mesh
is an open sheet (a chunk surface, not a solid): it has a boundary and is not watertight.
"""

from __future__ import annotations

import numpy as np
import trimesh

MATERIAL = dict(name="terrain", baseColorFactor=[0.55, 0.6, 0.45, 1.0], metallicFactor=0.0, roughnessFactor=0.95)


def grid_faces(rows: int, cols: int) -> np.ndarray:
    """Two counter-clockwise (seen from +y) triangles per cell of a rows x cols vertex grid."""
    r, c = np.meshgrid(np.arange(rows - 1), np.arange(cols - 1), indexing="ij")
    a = (r * cols + c).ravel()
    b, d = a + 1, a + cols
    e = d + 1
    return np.stack([np.stack([a, d, b], 1), np.stack([b, d, e], 1)], 1).reshape(-1, 3).astype(np.int64)


def grid_glb(heights_m: np.ndarray, normals: np.ndarray, row0: int, col0: int, chunk_size: int,
             cell_size: float, step: int = 1) -> bytes:
    """GLB of a (rows, cols) grid whose first vertex is chunk sample (row0, col0), every ``step``."""
    rows, cols = heights_m.shape
    rr = (row0 + step * np.arange(rows, dtype=np.float64))[:, None] * np.ones((1, cols))
    cc = np.ones((rows, 1)) * (col0 + step * np.arange(cols, dtype=np.float64))[None, :]
    verts = np.stack([cc * cell_size, heights_m.astype(np.float64), rr * cell_size], -1).reshape(-1, 3)
    span = float(chunk_size - 1)
    # trimesh stores UVs with v up (OpenGL) and flips v when writing glTF; v_gltf = row / (N - 1)
    uv = np.stack([cc / span, 1.0 - rr / span], -1).reshape(-1, 2)
    material = trimesh.visual.material.PBRMaterial(**MATERIAL)
    mesh = trimesh.Trimesh(vertices=verts.astype(np.float32), faces=grid_faces(rows, cols),
                           vertex_normals=normals.reshape(-1, 3).astype(np.float32),
                           visual=trimesh.visual.TextureVisuals(uv=uv, material=material), process=False)
    return mesh.export(file_type="glb", include_normals=True)
