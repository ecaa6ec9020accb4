"""Quality metrics for generated levels (numpy only).

``pattern_kl`` follows the tile-pattern KL of Lucas & Volz (2019, "Tile pattern KL-divergence for
analysing and evolving game levels"): the distribution of all n×n windows in a set of levels,
compared between generated and reference sets. **Direction: KL(reference || generated)** — it is
large when patterns common in the real (held-out) levels are rare or missing in the generated
ones, i.e. it penalises missing structure more than novel structure. Both distributions are
smoothed with ``eps`` over the union of patterns seen in either set, then renormalised, so the
value is finite. 0 means identical distributions; lower is better.

``diversity`` is the mean pairwise normalised Hamming distance (fraction of differing tiles) over
all pairs of equally shaped grids: 0 = all identical, higher = more varied.
"""

from __future__ import annotations

from collections import Counter
from itertools import combinations

import numpy as np


def _windows(grid: np.ndarray, n: int) -> list[bytes]:
    g = np.ascontiguousarray(grid, dtype=np.uint8)
    h, w = g.shape
    if h < n or w < n:
        return []
    win = np.lib.stride_tricks.sliding_window_view(g, (n, n)).reshape(-1, n * n)
    return [bytes(r) for r in win]


def pattern_counts(grids: list[np.ndarray], n: int) -> Counter:
    """Counts of every n×n window (as raw bytes, row-major) over all grids."""
    c: Counter = Counter()
    for g in grids:
        c.update(_windows(g, n))
    return c


def pattern_kl(generated: list[np.ndarray], reference: list[np.ndarray], n: int, eps: float = 1e-6) -> float:
    """KL(reference || generated) over n×n tile-window distributions (nats), eps-smoothed."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    p_counts = pattern_counts(reference, n)
    q_counts = pattern_counts(generated, n)
    if not p_counts:
        raise ValueError(f"reference levels have no {n}x{n} windows")
    if not q_counts:
        raise ValueError(f"generated levels have no {n}x{n} windows")
    keys = list(p_counts.keys() | q_counts.keys())
    p = np.array([p_counts.get(k, 0) for k in keys], dtype=np.float64)
    q = np.array([q_counts.get(k, 0) for k in keys], dtype=np.float64)
    p = p / p.sum() + eps
    q = q / q.sum() + eps
    p /= p.sum()
    q /= q.sum()
    return float(np.sum(p * np.log(p / q)))


def diversity(grids: list[np.ndarray]) -> float:
    """Mean pairwise fraction of differing tiles (all grids must share one shape)."""
    if len(grids) < 2:
        return 0.0
    shape = grids[0].shape
    for g in grids:
        if g.shape != shape:
            raise ValueError(f"diversity needs equal shapes, got {shape} and {g.shape}")
    flat = np.stack([np.asarray(g, dtype=np.uint8).ravel() for g in grids])
    total = 0.0
    pairs = 0
    for i, j in combinations(range(len(flat)), 2):
        total += float(np.mean(flat[i] != flat[j]))
        pairs += 1
    return total / pairs
