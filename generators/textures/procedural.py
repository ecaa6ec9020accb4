"""Procedural materials and effects on the torus: training data and the classical baseline.

Everything here is periodic by construction: noise is white noise filtered in the Fourier domain
(so it wraps), stripes and ripples use whole numbers of cycles per tile, brick rows and columns
divide the tile. A material is rendered with its *known* height, so (albedo, height) pairs for the
image-to-image model come for free. Feature sizes are in pixels (``scale`` multiplies them), so a
64-pixel training crop and a 512-pixel baseline tile show features of the same size.
"""

from __future__ import annotations

import colorsys

import numpy as np

from .. import cancel

MATERIALS = ("stone", "brick", "wood", "grass", "sand", "metal")
EFFECTS = ("fire", "water", "smoke", "caustics")


# -- periodic noise ---------------------------------------------------------------------------

def _freqs(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    return fy, fx


def noise(rng: np.random.Generator, h: int, w: int, size: float, beta: float = 2.0,
          stretch: tuple[float, float] = (1.0, 1.0), octaves_above: float = 4.0) -> np.ndarray:
    """Zero-mean, unit-std fractal noise on an ``h × w`` torus with features of about ``size`` px.

    Amplitude falls as ``f^-beta`` above ``1/size`` and is cut below it; ``stretch`` = (sy, sx)
    weights the frequency axes: a small ``sy`` makes features long along x, a small ``sx`` long
    along y. Periodic because it is built in the FFT basis.
    """
    cancel.check()   # a material is several of these: a cancelled request stops between them
    fy, fx = _freqs(h, w)
    f = np.sqrt((fy * stretch[0]) ** 2 + (fx * stretch[1]) ** 2)
    f0 = 1.0 / max(size, 1.0)
    amp = np.where(f > 0, (np.maximum(f, f0) / f0) ** (-beta), 0.0)
    amp *= np.exp(-((f0 / np.maximum(f, 1e-9)) ** 2) * 0.5)  # soft cut below 1/size
    amp *= np.exp(-((f / (f0 * 2 ** octaves_above)) ** 2))  # and above `octaves_above` octaves
    spec = np.fft.rfft2(rng.standard_normal((h, w))) * amp
    out = np.fft.irfft2(spec, s=(h, w))
    s = out.std()
    return (out - out.mean()) / (s if s > 0 else 1.0)


def _smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _mix(a, b, t):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return a + (b - a) * t[..., None]


def _jitter_colour(rng: np.random.Generator, rgb, hue: float = 0.03, sat: float = 0.15, val: float = 0.12):
    h, s, v = colorsys.rgb_to_hsv(*rgb)
    h = (h + rng.uniform(-hue, hue)) % 1.0
    s = float(np.clip(s * (1 + rng.uniform(-sat, sat)), 0, 1))
    v = float(np.clip(v * (1 + rng.uniform(-val, val)), 0, 1))
    return np.array(colorsys.hsv_to_rgb(h, s, v))


def _norm01(x: np.ndarray) -> np.ndarray:
    lo, hi = x.min(), x.max()
    return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)


# -- materials --------------------------------------------------------------------------------

def material(name: str, rng: np.random.Generator, size: int, scale: float = 1.0):
    """Render one tileable material: (albedo HxWx3 sRGB 0..1, height HxW 0..1, roughness HxW 0..1)."""
    if name not in MATERIALS:
        raise ValueError(f"unknown material {name!r}; known: {', '.join(MATERIALS)}")
    alb, hgt, rough = _RENDER[name](rng, size, size, scale)
    return (np.clip(alb, 0, 1).astype(np.float32), np.clip(hgt, 0, 1).astype(np.float32),
            np.clip(rough, 0, 1).astype(np.float32))


def _stone(rng, h, w, s):
    base = noise(rng, h, w, 24 * s, beta=3.2)
    detail = noise(rng, h, w, 4 * s, beta=2.0)
    crack_n = noise(rng, h, w, 16 * s, beta=3.0)
    cracks = np.exp(-(crack_n / 0.12) ** 2)
    height = _norm01(base + 0.25 * detail - 1.2 * cracks)
    c0 = _jitter_colour(rng, (0.42, 0.40, 0.37), hue=0.05)
    c1 = _jitter_colour(rng, (0.62, 0.60, 0.55), hue=0.05)
    tone = _norm01(base + 0.5 * noise(rng, h, w, 10 * s, beta=2.5))
    alb = _mix(c0, c1, tone) * (0.75 + 0.35 * height[..., None])
    alb *= (1 - 0.5 * cracks)[..., None]
    alb += 0.03 * noise(rng, h, w, 2 * s, beta=1.0)[..., None]
    rough = 0.78 + 0.08 * detail - 0.1 * (height - 0.5)
    return alb, height, rough


def _brick(rng, h, w, s):
    rows = max(2, int(round(h / (16 * s))))
    rows += rows % 2  # running bond needs an even row count to wrap
    bh = h / rows
    cols = max(1, int(round(w / (bh * rng.uniform(1.8, 2.4)))))
    bw = w / cols
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    y = (y + rng.uniform(0, h)) % h  # random phase, so the tile edge is not always a mortar line
    x = (x + rng.uniform(0, w)) % w
    row = np.floor(y / bh).astype(int)
    xs = (x + (row % 2) * bw / 2) % w
    col = np.floor(xs / bw).astype(int) % cols
    mortar = rng.uniform(1.2, 2.2) * s
    dy = np.minimum(y - row * bh, (row + 1) * bh - y)
    dx = np.minimum(xs - np.floor(xs / bw) * bw, (np.floor(xs / bw) + 1) * bw - xs)
    edge = np.minimum(dx, dy) + 0.8 * noise(rng, h, w, 3 * s, beta=2.0)
    brick = _smoothstep(mortar, mortar + 2.0 * s, edge)
    ids = (row % rows) * cols + col
    tones = rng.uniform(-1, 1, rows * cols)[ids]
    c_brick = _jitter_colour(rng, (0.56, 0.26, 0.18), hue=0.02)
    c_mortar = _jitter_colour(rng, (0.72, 0.70, 0.64), hue=0.02)
    grain = noise(rng, h, w, 3 * s, beta=1.5)
    brick_col = c_brick[None, None] * (1 + 0.16 * tones[..., None] + 0.06 * grain[..., None])
    alb = brick_col * brick[..., None] + c_mortar[None, None] * (1 - brick[..., None]) * (
        1 + 0.05 * grain[..., None])
    height = 0.25 + 0.6 * brick + 0.06 * grain * brick + 0.04 * noise(rng, h, w, 2 * s, beta=1.0)
    rough = 0.72 + 0.18 * (1 - brick) + 0.04 * grain
    return alb, _norm01(height), rough


def _wood(rng, h, w, s):
    k = max(1, int(round(w / (18 * s * rng.uniform(0.8, 1.3)))))
    warp = noise(rng, h, w, 40 * s, beta=3.5, stretch=(0.2, 1.0))
    fine = noise(rng, h, w, 3 * s, beta=2.0, stretch=(0.08, 1.0))
    x = np.arange(w)[None, :] / w
    phase = 2 * np.pi * k * x + 2.5 * warp
    rings = 0.5 + 0.5 * np.sin(phase)
    rings = rings ** 2.5
    c0 = _jitter_colour(rng, (0.62, 0.42, 0.24), hue=0.02)
    c1 = _jitter_colour(rng, (0.40, 0.24, 0.12), hue=0.02)
    alb = _mix(c0, c1, np.clip(rings + 0.08 * fine, 0, 1))
    height = _norm01(-0.6 * rings + 0.15 * fine)
    rough = 0.55 + 0.12 * rings + 0.03 * fine
    return alb, height, rough


def _grass(rng, h, w, s):
    blades = noise(rng, h, w, 8 * s, beta=2.2, stretch=(1.0, 0.3))
    clumps = noise(rng, h, w, 30 * s, beta=3.0)
    height = _norm01(blades + 0.4 * clumps)
    c0 = _jitter_colour(rng, (0.10, 0.20, 0.05), hue=0.03)
    c1 = _jitter_colour(rng, (0.40, 0.58, 0.18), hue=0.04)
    dry = _jitter_colour(rng, (0.55, 0.52, 0.28), hue=0.02)
    alb = _mix(c0, c1, height ** 0.8)
    drymask = _smoothstep(0.6, 1.4, noise(rng, h, w, 24 * s, beta=3.0))
    alb = alb * (1 - 0.5 * drymask[..., None]) + dry * 0.5 * drymask[..., None] * height[..., None]
    rough = 0.7 - 0.1 * height + 0.05 * clumps
    return alb, height, rough


def _sand(rng, h, w, s):
    period = 20 * s * rng.uniform(0.8, 1.3)
    ang = rng.uniform(0, np.pi)
    kx = int(round(np.cos(ang) * w / period))
    ky = int(round(np.sin(ang) * h / period))
    if kx == 0 and ky == 0:
        ky = 1
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    warp = noise(rng, h, w, 40 * s, beta=3.0)
    ph = 2 * np.pi * (kx * x / w + ky * y / h) + 1.5 * warp
    ripple = 0.5 + 0.5 * np.sin(ph + 0.35 * np.sin(ph))  # asymmetric dune profile
    grain = noise(rng, h, w, 1.5 * s, beta=0.5)
    height = _norm01(ripple + 0.12 * grain)
    c0 = _jitter_colour(rng, (0.78, 0.67, 0.47), hue=0.02)
    alb = c0[None, None] * (0.86 + 0.16 * ripple[..., None] + 0.06 * grain[..., None])
    rough = 0.88 + 0.04 * grain
    return alb, height, rough


def _metal(rng, h, w, s):
    brushed = noise(rng, h, w, 12 * s, beta=1.6, stretch=(1.0, 0.04))
    smudge = noise(rng, h, w, 40 * s, beta=3.0)
    scratches = np.clip(noise(rng, h, w, 8 * s, beta=1.0, stretch=(1.0, 0.08)) - 2.0, 0, None)
    c0 = _jitter_colour(rng, (0.62, 0.62, 0.64), hue=0.02, sat=0.5)
    alb = c0[None, None] * (0.9 + 0.05 * brushed[..., None] + 0.04 * smudge[..., None]
                            + 0.2 * scratches[..., None])
    height = _norm01(0.2 * brushed + 0.3 * smudge - 1.5 * scratches)
    rough = 0.28 + 0.05 * brushed + 0.12 * _smoothstep(0.5, 2.0, smudge) + 0.2 * scratches
    return alb, height, rough


_RENDER = {"stone": _stone, "brick": _brick, "wood": _wood, "grass": _grass, "sand": _sand, "metal": _metal}


# -- looping effects --------------------------------------------------------------------------

def _shift(img: np.ndarray, dy: float, dx: float) -> np.ndarray:
    """Sub-pixel periodic shift (Fourier): exact on the torus, whole-tile shifts give back ``img``."""
    h, w = img.shape
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    spec = np.fft.rfft2(img) * np.exp(-2j * np.pi * (fy * dy + fx * dx))
    return np.fft.irfft2(spec, s=(h, w))


def _ramp(t: np.ndarray, stops) -> np.ndarray:
    xs = np.array([p for p, _ in stops])
    cols = np.array([c for _, c in stops])
    t = np.clip(t, 0, 1)
    return np.stack([np.interp(t, xs, cols[:, i]) for i in range(3)], -1)


def effect(name: str, rng: np.random.Generator, size: int, frames: int, scale: float = 1.0,
           loop: bool = True) -> np.ndarray:
    """A tileable, looping animation: (frames, size, size, 3) sRGB 0..1.

    Layers of periodic noise scroll by whole tiles per loop (or by phase-rotated pairs), so frame
    ``frames`` would equal frame 0: the last frame flows into the first. ``loop=False`` scrolls by
    a non-whole amount instead (the naive baseline for the loop-seam measure).
    """
    if name not in EFFECTS:
        raise ValueError(f"unknown effect {name!r}; known: {', '.join(EFFECTS)}")
    n, s = size, scale
    cyc = 1.0 if loop else 0.63

    def pair(sz, beta, stretch=(1.0, 1.0)):
        a = noise(rng, n, n, sz * s, beta=beta, stretch=stretch)
        b = noise(rng, n, n, sz * s, beta=beta, stretch=stretch)
        return a, b

    def rot(p, th):  # a phase-rotated pair: unit variance every frame, back to the start at 2π
        return np.cos(th) * p[0] + np.sin(th) * p[1]

    out = np.empty((frames, n, n, 3), np.float32)
    if name == "fire":
        big, small = pair(16, 2.8, (1.0, 0.6)), pair(6, 2.0, (1.0, 0.6))
        for i in range(frames):
            t = i / frames * cyc
            th = 2 * np.pi * t
            v = 0.75 * _shift(rot(big, th), -t * n, 0) + 0.45 * rot(small, 2 * th)
            heat = _smoothstep(-0.5, 1.7, v)
            out[i] = _ramp(heat, [(0, (0, 0, 0)), (0.35, (0.55, 0.05, 0.0)), (0.6, (0.95, 0.35, 0.02)),
                                  (0.85, (1.0, 0.75, 0.2)), (1.0, (1.0, 0.97, 0.8))])
    elif name == "water":
        big, small = pair(20, 3.0), pair(8, 2.4)
        for i in range(frames):
            t = i / frames * cyc
            th = 2 * np.pi * t
            v = 0.7 * _shift(rot(big, th), t * n, t * n) + 0.4 * rot(small, 2 * th)
            lum = _smoothstep(-1.8, 2.2, v)
            out[i] = _ramp(lum, [(0, (0.02, 0.12, 0.25)), (0.55, (0.05, 0.35, 0.55)), (0.8, (0.3, 0.65, 0.8)),
                                 (1.0, (0.85, 0.95, 1.0))])
    elif name == "smoke":
        big, small = pair(24, 3.0), pair(10, 2.5)
        for i in range(frames):
            t = i / frames * cyc
            th = 2 * np.pi * t
            v = 0.8 * _shift(rot(big, th), -t * n, 0) + 0.4 * rot(small, th)
            dens = _smoothstep(-1.0, 2.0, v)
            out[i] = (0.08 + 0.8 * dens)[..., None] * np.array([0.92, 0.92, 0.95])
    else:  # caustics: bright lines where two slowly turning noise fields cross zero
        p1, p2 = pair(16, 2.6), pair(16, 2.6)
        for i in range(frames):
            t = i / frames * cyc
            th = 2 * np.pi * t
            lines = np.exp(-(rot(p1, th) / 0.18) ** 2) + np.exp(-(rot(p2, th + np.pi / 2) / 0.18) ** 2)
            lum = np.clip(lines, 0, 1.4) / 1.4
            out[i] = _ramp(lum, [(0, (0.0, 0.18, 0.3)), (0.5, (0.3, 0.6, 0.7)), (1.0, (0.9, 1.0, 1.0))])
    return np.clip(out, 0, 1)


def hue_shift(rgb: np.ndarray, degrees: float, saturation: float, brightness: float) -> np.ndarray:
    """The tint control: rotate hue by ``degrees`` (positive = red → yellow → green, as HSV hue),
    then scale saturation and brightness (vectorised, one 3×3 matrix).

    The hue turns about the grey axis of RGB (Rodrigues rotation about (1, 1, 1)/√3): HSV hue
    moves by the asked angle within about 2° for any colour. Saturation and brightness scale
    YIQ's chroma and luma as before.
    """
    if degrees == 0 and saturation == 1 and brightness == 1:
        return rgb
    m = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
    minv = np.linalg.inv(m)
    th = np.deg2rad(degrees)
    c, s, k, r = np.cos(th), np.sin(th), 1.0 / 3.0, np.sqrt(1.0 / 3.0)
    rot = np.array([[c + (1 - c) * k, (1 - c) * k - r * s, (1 - c) * k + r * s],
                    [(1 - c) * k + r * s, c + (1 - c) * k, (1 - c) * k - r * s],
                    [(1 - c) * k - r * s, (1 - c) * k + r * s, c + (1 - c) * k]])
    sat = np.diag([brightness, brightness * saturation, brightness * saturation])
    t = (minv @ sat @ m @ rot).astype(np.float32)
    return np.clip(rgb @ t.T, 0, 1)
