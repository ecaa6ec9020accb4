"""Iterative erosion simulators (numpy, vectorised over a batch of tiles) — the classical path.

Heights are normalised to [0, 1]; one sample step is one unit horizontally. Both simulators are
explicit grid schemes: each iteration moves water, sediment or material only between 4-neighbours,
so they are deterministic (the same input array gives the same bytes) and cost O(cells) per step.

* :func:`hydraulic` — rain falls on every cell, water flows downhill to the lower 4-neighbours
  in proportion to the drop of the water surface, picks up sediment up to a capacity that grows
  with flow and slope, drops it where the flow slows, and evaporates. Water and sediment flowing
  out over the tile border leave the tile (the border is extrapolated so slopes continue).
* :func:`thermal` — material on slopes steeper than the talus angle slides to lower neighbours.

The :mod:`~gamegen.generators.terrain.chunks` module runs them on fixed world-aligned tiles and
cross-fades the tiles, so chunks stay seamless whatever the erosion does inside a tile.
"""

from __future__ import annotations

import numpy as np

from .. import cancel

# Constants of the simulators (normalised heights; tuned for terrain whose relief is ~1/250 of
# its width per sample, i.e. the default height range over 1 m samples).
RAIN = 2e-4            # water added per cell per iteration
EVAPORATION = 0.03     # fraction of water that evaporates per iteration
CAPACITY = 2.0         # sediment capacity per unit of (outflow x drop)
ERODE = 0.05           # fraction of the capacity deficit taken from the ground per iteration
DEPOSIT = 0.05         # fraction of the excess sediment dropped per iteration
MAX_STEP = 1e-4        # most ground one cell can lose or gain in one iteration
TALUS = 4e-3           # thermal: steepest stable height difference between neighbours
THERMAL_RATE = 0.25    # thermal: fraction of the excess moved per iteration

_EPS = np.float32(1e-12)


def _neighbours(a: np.ndarray, mode: str) -> list[np.ndarray]:
    """The 4-neighbours of every cell (up, down, left, right) of a (B, H, W) array."""
    if mode == "extrapolate":
        p = np.pad(a, ((0, 0), (1, 1), (1, 1)), mode="reflect", reflect_type="odd")
    else:
        p = np.pad(a, ((0, 0), (1, 1), (1, 1)), mode="edge")
    return [p[:, :-2, 1:-1], p[:, 2:, 1:-1], p[:, 1:-1, :-2], p[:, 1:-1, 2:]]


def _incoming(flows: list[np.ndarray]) -> np.ndarray:
    """Sum what flows into each cell, given what each cell sends up, down, left and right."""
    up, down, left, right = flows
    inc = np.zeros_like(up)
    inc[:, :-1, :] += up[:, 1:, :]        # a cell receives what its lower neighbour sends up
    inc[:, 1:, :] += down[:, :-1, :]
    inc[:, :, :-1] += left[:, :, 1:]
    inc[:, :, 1:] += right[:, :, :-1]
    return inc


def hydraulic(heights: np.ndarray, iterations: int) -> np.ndarray:
    """Hydraulic erosion of a (B, H, W) or (H, W) float32 height batch; returns a new array."""
    h = np.array(heights, dtype=np.float32, copy=True)
    squeeze = h.ndim == 2
    if squeeze:
        h = h[None]
    w = np.zeros_like(h)
    s = np.zeros_like(h)
    f32 = np.float32
    check = cancel.current().check     # a cancelled request stops within one iteration
    for _ in range(int(iterations)):
        check()
        w += f32(RAIN)
        surf = h + w
        drops = [np.maximum(surf - n, f32(0)) for n in _neighbours(surf, "extrapolate")]
        total = drops[0] + drops[1] + drops[2] + drops[3]
        out = np.minimum(w, total * f32(0.5))                  # water leaving each cell
        cap = f32(CAPACITY) * out * total
        delta = cap - s
        change = np.where(delta > 0, f32(ERODE) * delta, f32(DEPOSIT) * delta)
        change = np.clip(change, f32(-MAX_STEP), f32(MAX_STEP))
        change = np.maximum(change, -s)                        # cannot drop more than is carried
        h -= change
        s += change
        share = [d / (total + _EPS) for d in drops]
        leave = out / (w + _EPS)                               # fraction of water (and sediment) leaving
        s_out = s * leave
        w = w - out + _incoming([out * f for f in share])
        s = s - s_out + _incoming([s_out * f for f in share])
        w *= f32(1.0 - EVAPORATION)
    h += s                                                     # what is still carried settles
    return h[0] if squeeze else h


def thermal(heights: np.ndarray, iterations: int) -> np.ndarray:
    """Thermal (talus) erosion of a (B, H, W) or (H, W) float32 height batch; returns a new array."""
    h = np.array(heights, dtype=np.float32, copy=True)
    squeeze = h.ndim == 2
    if squeeze:
        h = h[None]
    f32 = np.float32
    check = cancel.current().check
    for _ in range(int(iterations)):
        check()
        excess = [np.maximum(h - n - f32(TALUS), f32(0)) for n in _neighbours(h, "edge")]
        total = excess[0] + excess[1] + excess[2] + excess[3]
        biggest = np.maximum(np.maximum(excess[0], excess[1]), np.maximum(excess[2], excess[3]))
        moved = f32(THERMAL_RATE) * biggest
        flows = [moved * e / (total + _EPS) for e in excess]
        h = h - moved + _incoming(flows)
    return h[0] if squeeze else h


def erode(heights: np.ndarray, hydraulic_iterations: int, thermal_iterations: int) -> np.ndarray:
    """Hydraulic then thermal erosion (the simulator the learned model is trained to imitate)."""
    h = hydraulic(heights, hydraulic_iterations) if hydraulic_iterations else np.asarray(heights, np.float32)
    return thermal(h, thermal_iterations) if thermal_iterations else h
