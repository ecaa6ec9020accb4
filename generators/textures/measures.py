"""Measures of a material that see what a person sees (issue 15); used by
``benchmarks/materials_quality.py`` and the tests. All on periodic tiles (wrap-around)."""

from __future__ import annotations

import numpy as np

from . import maps


def lum(rgb: np.ndarray) -> np.ndarray:
    return maps.luminance(rgb.astype(np.float64))


def lattice(rgb: np.ndarray, min_lag: int = 6) -> tuple[float, int]:
    """The first peak of the normalised vertical autocorrelation of luminance after it first falls
    below zero (the course period for brick): (its value, its lag). Mottle or worms: a low peak."""
    x = lum(rgb)
    x = x - x.mean()
    f = np.fft.fft(x, axis=0)
    ac = np.fft.ifft(np.abs(f) ** 2, axis=0).real.mean(axis=1)
    ac = ac / ac[0] if ac[0] > 0 else ac
    half = x.shape[0] // 2
    below = np.flatnonzero(ac[1:half] < 0)
    start = max(min_lag, int(below[0]) + 1 if len(below) else min_lag)
    seg = ac[start:half + 1]
    peaks = [i for i in range(1, len(seg) - 1) if seg[i] >= seg[i - 1] and seg[i] >= seg[i + 1]]
    k = start + (peaks[0] if peaks else int(np.argmax(seg)))
    return float(ac[k]), k


def coherence(rgb: np.ndarray, r: int = 4) -> float:
    x = lum(rgb).astype(np.float32)
    gx = (np.roll(x, -1, 1) - np.roll(x, 1, 1)) * 0.5
    gy = (np.roll(x, -1, 0) - np.roll(x, 1, 0)) * 0.5
    jxx, jyy, jxy = (maps.box_blur_wrap(v, r) for v in (gx * gx, gy * gy, gx * gy))
    tr = jxx + jyy
    coh = np.sqrt((jxx - jyy) ** 2 + 4 * jxy ** 2) / (tr + 1e-12)
    return float((coh * tr).sum() / (tr.sum() + 1e-12))


def two_scale(rgb: np.ndarray) -> float:
    x = lum(rgb).astype(np.float32)
    fine = x - maps.box_blur_wrap(x, 1)
    b4, b16 = maps.box_blur_wrap(x, 4), maps.box_blur_wrap(x, 16)
    coarse = b4 - b16
    return float(np.sqrt(fine.std() * coarse.std()))


def chroma_hf(rgb: np.ndarray) -> float:
    x = rgb.astype(np.float32)
    y = maps.luminance(x)
    out = []
    for c in (x[..., 2] - y, x[..., 0] - y):
        out.append((c - maps.box_blur_wrap(c, 2)).std())
    return float(np.mean(out))


def seam_rank(img: np.ndarray) -> float:
    """Where the wrap-around pair ranks among all neighbouring pairs, in percent (rows and columns
    averaged): mean |row 0 − row n−1| against every mean |row k − row k+1|, the same for columns.
    A periodic tile's wrap pair is an ordinary pair: about 50 on average over seeds, whatever joints
    or cracks the tile has; a cut that does not wrap: near 100. (The seam *ratio* of strongly
    structured tiles swings with whether a joint happens to fall on the edge.)"""
    x = img.astype(np.float64)
    if x.ndim == 2:
        x = x[..., None]
    out = []
    for axis in (0, 1):
        d = np.abs(np.diff(x, axis=axis)).mean(axis=tuple(a for a in range(x.ndim) if a != axis))
        first, last = np.take(x, 0, axis=axis), np.take(x, -1, axis=axis)
        wrap = np.abs(first - last).mean()
        out.append(100.0 * (np.sum(d < wrap) + 0.5 * np.sum(d == wrap)) / len(d))
    return float(np.mean(out))
