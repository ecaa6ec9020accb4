"""Chunks of an endless world: heights (noise + erosion), normals and splat weights.

Chunk ``(cx, cy)`` of size ``N = 2^n + 1`` covers the world samples ``x = cx*(N-1) .. cx*(N-1)+N-1``
and ``y = cy*(N-1) .. cy*(N-1)+N-1``, so neighbouring chunks share an edge row or column. Every
value of a chunk is a pure function of integer world coordinates (and the request), computed
the same way in every chunk, so shared edges are bit-identical whatever order chunks are asked in:

* base heights: noise at exact float32 world coordinates (:mod:`.noise`);
* erosion is not local (water runs far), so it runs on **fixed world-aligned tiles**: tile
  ``(kx, ky)`` covers world samples ``[128k-96, 128k+96)`` on each axis (192 x 192). Each tile is
  eroded on its own, from its own base heights, and the tiles are cross-faded with weights that
  ramp linearly from 0 at a tile's border to 1 in its 64-sample centre plateau (the weights of
  overlapping tiles sum to 1). A chunk erodes every tile that touches it and sums them in a fixed
  order; its neighbour erodes the same tiles from the same inputs, so the shared edge matches;
* normals need the heights one sample beyond the chunk, so heights are computed with a 1-sample
  halo; splat weights use height, slope (from those normals) and a moisture noise field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Generator, Iterator

import numpy as np

from .. import cancel
from . import noise as noise_mod

TILE_STEP = 128        # world samples between erosion tile centres
TILE_HALF = 96         # a tile covers [step*k - 96, step*k + 96)
TILE = 2 * TILE_HALF   # 192 samples
RAMP = 64              # cross-fade width
TILE_BATCH = 8         # tiles eroded per call (bounds memory for big chunks)

SIZES = (33, 65, 129, 257, 513, 1025)   # 2^n + 1: the resolutions Unity's terrain importer reads
CHUNK_LIMIT = 512                        # chunk coordinates are in [-512, 511]

# 1-D weight of a tile at offsets d = -96 .. 95 from its centre.
_D = np.arange(-TILE_HALF, TILE_HALF)
TILE_WEIGHT = np.clip((TILE_HALF - np.abs(_D)) / RAMP, 0.0, 1.0).astype(np.float32)

Eroder = Callable[[np.ndarray], np.ndarray]   # (B, 192, 192) float32 -> (B, 192, 192) float32


@dataclass(frozen=True)
class Shape:
    """The request's shape of the world (everything but position and erosion)."""

    seed: int
    noise: str = "fbm"
    scale: float = 384.0
    octaves: int = 6
    persistence: float = 0.5
    warp: float = 0.0

    def base(self, x0: int, y0: int, width: int, height: int) -> np.ndarray:
        return noise_mod.base_heights(self.seed, x0, y0, width, height, noise=self.noise, octaves=self.octaves,
                                      scale=self.scale, persistence=self.persistence, warp=self.warp)


def chunk_origin(cx: int, cy: int, size: int) -> tuple[int, int]:
    return cx * (size - 1), cy * (size - 1)


def _tile_range(a0: int, a1: int) -> range:
    """Tile indices whose weight is positive somewhere in world samples a0..a1 (inclusive)."""
    kmin = (a0 - TILE_HALF) // TILE_STEP + 1
    kmax = -((-(a1 + TILE_HALF)) // TILE_STEP) - 1
    return range(kmin, kmax + 1)


def tiles_for(x0: int, y0: int, width: int, height: int) -> list[tuple[int, int]]:
    """The erosion tiles (ky, kx) a world window needs, in the fixed summation order."""
    return [(ky, kx) for ky in _tile_range(y0, y0 + height - 1) for kx in _tile_range(x0, x0 + width - 1)]


def eroded_heights(shape: Shape, eroder: Eroder, x0: int, y0: int, width: int, height: int
                   ) -> Generator[tuple[int, int], None, np.ndarray]:
    """Eroded heights of a world window: the cross-fade of the eroded world tiles over it.

    A generator: yields (tiles done, tiles in all) after each batch, so callers can report
    progress and stop early; returns the heights.
    """
    tiles = tiles_for(x0, y0, width, height)
    acc = np.zeros((height, width), dtype=np.float32)
    wsum = np.zeros((height, width), dtype=np.float32)
    check = cancel.current().check
    for start in range(0, len(tiles), TILE_BATCH):
        batch = tiles[start:start + TILE_BATCH]
        check()   # a cancelled request stops between batches (the simulators check every iteration)
        inputs = np.stack([shape.base(kx * TILE_STEP - TILE_HALF, ky * TILE_STEP - TILE_HALF, TILE, TILE)
                           for ky, kx in batch])
        outputs = np.asarray(eroder(inputs), dtype=np.float32)
        for (ky, kx), out in zip(batch, outputs):
            tx0, ty0 = kx * TILE_STEP - TILE_HALF, ky * TILE_STEP - TILE_HALF
            # overlap of the tile with the window, in window and tile coordinates
            wx0, wx1 = max(x0, tx0), min(x0 + width, tx0 + TILE)
            wy0, wy1 = max(y0, ty0), min(y0 + height, ty0 + TILE)
            wgt = TILE_WEIGHT[wy0 - ty0:wy1 - ty0, None] * TILE_WEIGHT[None, wx0 - tx0:wx1 - tx0]
            acc[wy0 - y0:wy1 - y0, wx0 - x0:wx1 - x0] += wgt * out[wy0 - ty0:wy1 - ty0, wx0 - tx0:wx1 - tx0]
            wsum[wy0 - y0:wy1 - y0, wx0 - x0:wx1 - x0] += wgt
        yield min(start + TILE_BATCH, len(tiles)), len(tiles)
    return np.clip(acc / wsum, 0.0, 1.0).astype(np.float32)


@dataclass
class Chunk:
    """One chunk's fields. ``heights`` is (N, N) in [0, 1]; ``halo`` is (N+2, N+2)."""

    cx: int
    cy: int
    size: int
    halo: np.ndarray
    normals: np.ndarray      # (N, N, 3) unit normals, mesh axes: x = east (columns), y = up, z = rows
    splat: np.ndarray        # (N, N, 4) float32 weights sand, grass, rock, snow; sum 1

    @property
    def heights(self) -> np.ndarray:
        return self.halo[1:-1, 1:-1]


def heights_with_halo(shape: Shape, cx: int, cy: int, size: int, eroder: Eroder | None
                      ) -> Generator[tuple[int, int], None, np.ndarray]:
    """The chunk's heights with a 1-sample halo, (N+2, N+2); yields erosion progress."""
    x0, y0 = chunk_origin(cx, cy, size)
    if eroder is None:
        return shape.base(x0 - 1, y0 - 1, size + 2, size + 2)
    return (yield from eroded_heights(shape, eroder, x0 - 1, y0 - 1, size + 2, size + 2))


def normals_from(halo: np.ndarray, height_range: float, cell_size: float) -> np.ndarray:
    """Unit normals (N, N, 3) from central differences of the haloed heights (metres)."""
    k = np.float32(height_range / (2.0 * cell_size))
    dx = (halo[1:-1, 2:] - halo[1:-1, :-2]) * k
    dz = (halo[2:, 1:-1] - halo[:-2, 1:-1]) * k
    n = np.stack([-dx, np.ones_like(dx), -dz], axis=-1)
    return (n / np.sqrt(np.sum(n * n, axis=-1, keepdims=True))).astype(np.float32)


def _ramp(v: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """0 at ``lo``, 1 at ``hi`` (either order), linear between."""
    return np.clip((v - np.float32(lo)) / np.float32(hi - lo), 0.0, 1.0)


def splat_weights(heights: np.ndarray, normals: np.ndarray, wet: np.ndarray, sea_level: float) -> np.ndarray:
    """Sand / grass / rock / snow weights (N, N, 4), summing to 1, from height, slope and moisture.

    Sand on shores and below sea level and on dry lowland; rock where slopes pass ~35 degrees;
    snow above a snow line that drops where it is wet; grass everywhere else.
    """
    h = heights
    steep = np.sqrt(np.maximum(np.float32(1) - normals[..., 1] ** 2, 0)) / normals[..., 1]   # tan(slope)
    beach = _ramp(h, sea_level + 0.03, sea_level)
    dry = _ramp(wet, 0.3, 0.0) * _ramp(h, 0.75, 0.5)
    snowline = np.float32(0.8) - np.float32(0.15) * wet
    snow = np.clip((h - snowline) / np.float32(0.05), 0.0, 1.0)
    rock = _ramp(steep, 0.6, 1.0)
    sand = np.maximum(beach, dry)
    rock = rock * (1 - beach)
    snow = snow * (1 - np.float32(0.8) * rock) * (1 - beach)
    grass = np.maximum(np.float32(1) - sand - rock - snow, np.float32(0.0))
    w = np.stack([sand, grass, rock, snow], axis=-1).astype(np.float32)
    return w / np.sum(w, axis=-1, keepdims=True)


def build_chunk_steps(shape: Shape, cx: int, cy: int, size: int, *, eroder: Eroder | None, height_range: float,
                      cell_size: float, sea_level: float, moisture: float
                      ) -> Generator[tuple[int, int], None, Chunk]:
    """Build one chunk; yields (erosion tiles done, tiles in all) on the way, returns the Chunk."""
    halo = yield from heights_with_halo(shape, cx, cy, size, eroder)
    normals = normals_from(halo, height_range, cell_size)
    x0, y0 = chunk_origin(cx, cy, size)
    wet = np.clip(noise_mod.moisture(shape.seed, x0, y0, size, size, shape.scale)
                  + np.float32(moisture - 0.5), 0.0, 1.0)
    splat = splat_weights(halo[1:-1, 1:-1], normals, wet, sea_level)
    return Chunk(cx, cy, size, halo, normals, splat)


def build_chunk(shape: Shape, cx: int, cy: int, size: int, **kw) -> Chunk:
    """:func:`build_chunk_steps` run to the end."""
    steps = build_chunk_steps(shape, cx, cy, size, **kw)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def iter_tiles(size: int, tile: int = 257) -> Iterator[tuple[int, int, slice, slice]]:
    """Mesh tiles of a chunk: (tx, ty, rows, cols); tiles share their edge vertices."""
    step = tile - 1
    n = max(1, (size - 1) // step)
    for ty in range(n):
        for tx in range(n):
            yield tx, ty, slice(ty * step, ty * step + tile), slice(tx * step, tx * step + tile)
