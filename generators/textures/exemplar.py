"""Seamless textures that look like an exemplar, and texture-statistics distances.

- :func:`spectral` — random-phase synthesis (asymptotic discrete spot noise, Galerne et al. 2011)
  with per-channel histogram matching. The exemplar (mean removed) is the "spot"; circular
  convolution with white noise at the requested size gives an output that is periodic by
  construction, with the exemplar's colour covariance and autocorrelation. Fast (FFTs).
- :func:`quilt` — the classical patch-based baseline: image quilting (Efros & Freeman 2001) on a
  torus. Blocks are placed in raster order, each chosen among random exemplar blocks by its error
  over the already written overlap (wrap-around included, so the last column/row also matches the
  first) and blended in the overlap.
- :func:`texture_distance` — histogram, spectrum and random-filter Gram distances between two
  textures (lower = more alike), used by the benchmarks.
"""

from __future__ import annotations

import numpy as np

from .. import cancel


def square(img: np.ndarray, max_side: int) -> np.ndarray:
    """The central square of ``img``, at most ``max_side`` pixels on a side."""
    h, w = img.shape[:2]
    s = min(h, w, max_side)
    y, x = (h - s) // 2, (w - s) // 2
    return img[y:y + s, x:x + s]


def match_histogram(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Give each channel of ``x`` the value distribution of the same channel of ``ref`` (ranks)."""
    out = np.empty_like(x, dtype=np.float32)
    for c in range(x.shape[2]):
        src = x[..., c].ravel()
        order = np.argsort(src)
        q = np.sort(ref[..., c].ravel())
        idx = (np.arange(src.size) + 0.5) * q.size / src.size
        vals = q[np.minimum(idx.astype(np.int64), q.size - 1)]
        res = np.empty(src.size, np.float32)
        res[order] = vals
        out[..., c] = res.reshape(x.shape[:2])
    return out


def spectral(ex: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Random-phase (spot-noise) synthesis of a ``size × size`` periodic texture like ``ex``."""
    ex = square(ex, size).astype(np.float64)
    e = ex.shape[0]
    mean = ex.mean(axis=(0, 1))
    # smooth the spot's border a little so its edges add no spurious cross shape to the spectrum
    ramp = np.minimum(1.0, np.minimum(np.arange(e) + 1, e - np.arange(e)) / max(2, e // 16))
    win = np.outer(ramp, ramp)[..., None]
    spot = np.zeros((size, size, 3))
    spot[:e, :e] = (ex - mean) * win / np.sqrt((win ** 2).mean() * e * e)
    noise = np.fft.rfft2(rng.standard_normal((size, size)))
    out = np.fft.irfft2(np.fft.rfft2(spot, axes=(0, 1)) * noise[..., None], s=(size, size), axes=(0, 1))
    return np.clip(match_histogram(out + mean, ex), 0, 1).astype(np.float32)


def quilt(ex: np.ndarray, size: int, rng: np.random.Generator, candidates: int = 64) -> np.ndarray:
    """Patch-based synthesis on the torus (the classical baseline); ``size`` a multiple of 16."""
    ex = square(ex, 512).astype(np.float32)
    e = ex.shape[0]
    step = 32 if e >= 96 and size % 32 == 0 else 16
    ov = step // 4
    b = step + ov
    n = size // step
    out = np.zeros((size, size, 3), np.float32)
    written = np.zeros((size, size), bool)
    ramp = (np.arange(ov, dtype=np.float32) + 0.5) / ov
    windows = np.lib.stride_tricks.sliding_window_view(ex, (b, b), axis=(0, 1))
    check = cancel.current().check     # a cancelled request stops within one row of patches
    for i in range(n):
        check()
        for j in range(n):
            ys = (np.arange(b) + i * step - ov) % size
            xs = (np.arange(b) + j * step - ov) % size
            mask = written[np.ix_(ys, xs)]
            cy = rng.integers(0, e - b + 1, candidates)
            cx = rng.integers(0, e - b + 1, candidates)
            cand = windows[cy, cx]                                   # candidates, 3, b, b
            cand = cand.transpose(0, 2, 3, 1)
            if mask.any():
                idx = np.flatnonzero(mask)
                diff = cand.reshape(candidates, -1, 3)[:, idx] - out[np.ix_(ys, xs)].reshape(-1, 3)[idx]
                err = np.einsum("kpc,kpc->k", diff, diff)
                ok = np.flatnonzero(err <= err.min() * 1.1 + 1e-9)
                pick = cand[rng.choice(ok)]
            else:
                pick = cand[0]
            # alpha: 1 outside the overlap; ramps in where something is already written
            ay = np.ones(b, np.float32)
            ax = np.ones(b, np.float32)
            ay[:ov] = ramp
            ax[:ov] = ramp
            if j == n - 1:
                ax[-ov:] = ramp[::-1]
            if i == n - 1:
                ay[-ov:] = ramp[::-1]
            alpha = np.where(mask, np.minimum.outer(ay, ax), 1.0)[..., None]
            cur = out[np.ix_(ys, xs)]
            out[np.ix_(ys, xs)] = alpha * pick + (1 - alpha) * cur
            written[np.ix_(ys, xs)] = True
    return out


# -- texture statistics ------------------------------------------------------------------------

def _lum(x):
    return x[..., 0] * 0.2126 + x[..., 1] * 0.7152 + x[..., 2] * 0.0722


def _radial_spectrum(x: np.ndarray, bins: int = 24) -> np.ndarray:
    """Log power of luminance, averaged in rings of normalised frequency (so sizes compare)."""
    lum = _lum(x) - _lum(x).mean()
    h, w = lum.shape
    p = np.abs(np.fft.fft2(lum)) ** 2
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[None, :]
    f = np.sqrt(fy ** 2 + fx ** 2)
    edges = np.geomspace(1 / 64, 0.5, bins + 1)
    tot = p.sum() + 1e-12
    out = np.empty(bins)
    for k in range(bins):
        m = (f >= edges[k]) & (f < edges[k + 1])
        out[k] = np.log10(p[m].mean() / tot * h * w + 1e-12) if m.any() else 0.0
    return out


_FILTERS = np.random.default_rng(0).standard_normal((16, 5, 5, 3)).astype(np.float32)


def _gram(x: np.ndarray) -> np.ndarray:
    """Gram matrix of a fixed bank of random 5x5 filters after a ReLU, at three scales."""
    from numpy.lib.stride_tricks import sliding_window_view

    grams = []
    img = x.astype(np.float32)
    for _ in range(3):
        win = sliding_window_view(img, (5, 5), axis=(0, 1))      # H', W', 3, 5, 5
        win = win[::2, ::2].transpose(0, 1, 3, 4, 2).reshape(-1, 75)
        f = np.maximum(win @ _FILTERS.reshape(16, 75).T, 0)
        grams.append(f.T @ f / len(f))
        img = img[: img.shape[0] // 2 * 2, : img.shape[1] // 2 * 2]
        img = img.reshape(img.shape[0] // 2, 2, img.shape[1] // 2, 2, 3).mean((1, 3))
    return np.stack(grams)


def texture_distance(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """How unlike two textures are (0 = same statistics): colour histograms (mean 1-D Wasserstein
    per channel), radially averaged log power spectrum (mean abs difference, decades) and the
    random-filter Gram matrices (relative Frobenius difference)."""
    q = np.linspace(0.005, 0.995, 199)
    hist = float(np.mean([np.abs(np.quantile(a[..., c], q) - np.quantile(b[..., c], q)).mean() for c in range(3)]))
    spec = float(np.abs(_radial_spectrum(a) - _radial_spectrum(b)).mean())
    ga, gb = _gram(a), _gram(b)
    gram = float(np.linalg.norm(ga - gb) / (np.linalg.norm(gb) + 1e-12))
    return {"histogram": hist, "spectrum": spec, "gram": gram}
