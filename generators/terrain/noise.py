"""Base height fields: fBm / ridged gradient noise with optional domain warping.

Everything is a pure function of integer world sample coordinates, so two chunks that share an
edge compute bit-identical values there. Noise comes from FastNoise Lite (``pyfastnoiselite``,
a Cython wrapper of the C library): it evaluates a 1025x1025, 6-octave fBm in about 0.1 s on
one core, where a per-sample Python loop over ``noise.pnoise2`` takes about 1.6 s (see
``benchmarks/terrain_noise.py``). FastNoise Lite takes float32 coordinates; world sample indices
stay below 2^20 (see :data:`WORLD_LIMIT`), so every coordinate is an exact float32 integer.
"""

from __future__ import annotations

import numpy as np
from pyfastnoiselite.pyfastnoiselite import FastNoiseLite, FractalType, NoiseType

WORLD_LIMIT = 1 << 20          # |world sample coordinate| stays below this (exact in float32)

_MASK64 = (1 << 64) - 1


def sub_seed(seed: int, stream: int) -> int:
    """A 31-bit FastNoise seed for one noise field of a request seed (splitmix64 mix)."""
    z = (seed + 0x9E3779B97F4A7C15 * (stream + 1)) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    z ^= z >> 31
    return int(z & 0x7FFFFFFF)


def _fnl(seed: int, kind: str, octaves: int, scale: float, persistence: float) -> FastNoiseLite:
    n = FastNoiseLite(seed)
    n.noise_type = NoiseType.NoiseType_Perlin
    n.fractal_type = FractalType.FractalType_Ridged if kind == "ridged" else FractalType.FractalType_FBm
    n.fractal_octaves = int(octaves)
    n.fractal_gain = float(persistence)
    n.fractal_lacunarity = 2.0
    n.frequency = float(1.0 / scale)
    return n


def world_grid(x0: int, y0: int, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """float32 world coordinates (exact integers) of a window, each of shape (height, width)."""
    if max(abs(x0), abs(y0), abs(x0 + width), abs(y0 + height)) >= WORLD_LIMIT:
        raise ValueError(f"world window ({x0}, {y0}) + {width}x{height} is beyond +-{WORLD_LIMIT}")
    xs = np.arange(x0, x0 + width, dtype=np.float32)
    ys = np.arange(y0, y0 + height, dtype=np.float32)
    return np.broadcast_to(xs[None, :], (height, width)), np.broadcast_to(ys[:, None], (height, width))


def _eval(n: FastNoiseLite, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    coords = np.stack([np.ascontiguousarray(x, dtype=np.float32).ravel(),
                       np.ascontiguousarray(y, dtype=np.float32).ravel()])
    return np.asarray(n.gen_from_coords(coords), dtype=np.float32).reshape(x.shape)


def fractal(seed: int, x: np.ndarray, y: np.ndarray, *, kind: str = "fbm", octaves: int = 6,
            scale: float = 256.0, persistence: float = 0.5) -> np.ndarray:
    """Raw fractal noise (FastNoise Lite's normalisation) at float32 coordinates."""
    return _eval(_fnl(seed, kind, octaves, scale, persistence), x, y)


def base_heights(seed: int, x0: int, y0: int, width: int, height: int, *, noise: str = "fbm",
                 octaves: int = 6, scale: float = 256.0, persistence: float = 0.5,
                 warp: float = 0.0) -> np.ndarray:
    """Heights in [0, 1] (float32) of the world window, before erosion.

    ``noise``: ``"fbm"`` (rolling hills) or ``"ridged"`` (mountain ridges). ``warp`` > 0 displaces
    the sample positions by a 3-octave fBm field of amplitude ``warp * scale`` samples (domain
    warping: twisted, flowing shapes).
    """
    x, y = world_grid(x0, y0, width, height)
    if warp > 0:
        amp = np.float32(warp * scale)
        dx = fractal(sub_seed(seed, 1), x, y, octaves=3, scale=scale, persistence=0.5)
        dy = fractal(sub_seed(seed, 2), x, y, octaves=3, scale=scale, persistence=0.5)
        x = x + dx * amp
        y = y + dy * amp
    n = fractal(sub_seed(seed, 0), x, y, kind=noise, octaves=octaves, scale=scale, persistence=persistence)
    if noise == "ridged":
        h = (n + 0.4) / 1.3      # FastNoise ridged: about -0.38 .. 0.9, peaks along the ridges
    else:
        h = 0.5 + 1.3 * n       # FastNoise Perlin fBm: about -0.38 .. 0.38
    return np.clip(h, 0.0, 1.0).astype(np.float32)


def moisture(seed: int, x0: int, y0: int, width: int, height: int, scale: float) -> np.ndarray:
    """A slow moisture field in [0, 1] used by the splat rules (wetter: more grass, lower snow)."""
    x, y = world_grid(x0, y0, width, height)
    n = fractal(sub_seed(seed, 3), x, y, octaves=3, scale=scale * 2.0, persistence=0.5)
    return np.clip(0.5 + 1.3 * n, 0.0, 1.0).astype(np.float32)
