"""Effects a particle system or a material can use: sprite flipbooks and animated surfaces.

Two families, both built so that their timing holds *by construction*:

* **Sprite effects** (:data:`SPRITES`): RGBA frames with straight alpha, a shape centred in the
  frame and a soft edge (alpha is 0 on and near the frame border whatever the noise does: every
  frame is multiplied by a window that is 0 on the outer 8 % of the frame). ``fire`` and
  ``magic`` loop (:data:`LOOPING`); ``smoke`` (a puff), ``explosion`` and ``splash`` are one-shot
  life cycles spread over the sheet (play once over a particle's lifetime).
* **Tileable animated surfaces** (:data:`SURFACES`): opaque RGB frames that tile in space and
  repeat in time exactly after the last frame, and not before.

Motion is advection, never re-randomised noise:

* Looping sprites and lava sample static periodic fields at coordinates that move (up for
  fire, outward for magic); to loop, two copies of the moving field half a period apart are
  cross-faded (the flow-map technique): each copy fades out exactly when it jumps back, so frame
  ``frames`` is frame 0 again, and the blend is renormalised so contrast does not pulse.
* One-shot sprites attach the field to the growing shape (texture coordinates scale with the
  puff's radius) and move the shape itself (rising, expanding, droplets on ballistic paths).
* Water and caustics: a height made of two fields translating by whole tiles per loop in different
  directions (so tileable, periodic in time, and no frame inside the loop repeats, not even
  shifted); caustics are the light under that surface, found by refracting a grid of rays through
  it and splatting them on the floor (on the torus).

The texture detail comes from a *field source*: :class:`NoiseSource` (Fourier-domain fractal
noise, the procedural generator) or a learned one (:class:`LearnedSource` in the flipbook GAN
generator, which runs the network). The shapes, motion and colour ramps are the same for both.
"""

from __future__ import annotations

import numpy as np

from .. import cancel
from . import procedural

SPRITES = ("fire", "smoke", "explosion", "magic", "splash")
SURFACES = ("water", "lava", "caustics")
EFFECTS = SPRITES + SURFACES
LOOPING = frozenset({"fire", "magic"} | set(SURFACES))
ALPHA_MODES = ("straight", "premultiplied")
BORDER = 0.08          # the outer fraction of a sprite frame where alpha is forced to 0
# blend mode an engine should use (Unreal material blend mode / Unity particle shader)
BLEND = {"fire": "additive", "magic": "additive", "explosion": "translucent", "smoke": "translucent",
         "splash": "translucent", "water": "opaque", "lava": "opaque", "caustics": "opaque"}
# where the effect's origin sits in the frame (x, y as fractions from the top-left): a flame's base
PIVOT = {"fire": (0.5, 0.88), "splash": (0.5, 0.78)}
# which learned class supplies each effect's detail field (the GAN was trained on these four)
SOURCE_CLASS = {"fire": "fire", "explosion": "fire", "lava": "fire", "smoke": "smoke", "magic": "caustics",
                "caustics": "water", "water": "water", "splash": "water"}


class NoiseSource:
    """Periodic fractal noise fields (zero mean, unit std), one per ``key``, from ``seed``."""

    learned = False

    def __init__(self, seed: int, effect: str):
        self.seed, self.effect = seed & (2**64 - 1), effect

    def field(self, key: int, n: int, feature: float, stretch=(1.0, 1.0), beta: float = 2.4) -> np.ndarray:
        """An ``n × n`` periodic field with features of about ``feature`` px; ``beta`` = spectral
        slope (higher = smoother); ``stretch`` as in :func:`procedural.noise`."""
        rng = np.random.default_rng([self.seed, 1000 + key])
        return procedural.noise(rng, n, n, feature, beta=beta, stretch=stretch, octaves_above=3.0)


def wavelength(f: np.ndarray) -> float:
    """Power-weighted mean wavelength of a periodic field, in pixels (the field's feature size)."""
    p = np.abs(np.fft.rfft2(f - f.mean())) ** 2
    fy = np.fft.fftfreq(f.shape[0])[:, None]
    fx = np.fft.rfftfreq(f.shape[1])[None, :]
    k = np.sqrt(fy * fy + fx * fx)
    k[0, 0] = 1.0
    return float((p / k).sum() / max(p.sum(), 1e-12))


def fourier_resize(f: np.ndarray, h: int, w: int) -> np.ndarray:
    """Enlarge a periodic field to ``h × w`` by zero-padding its spectrum (band-limited
    interpolation: smooth, exact on the torus, no facets). ``h, w`` at least the field's size."""
    h0, w0 = f.shape
    spec = np.fft.fft2(f)
    big = np.zeros((h, w), complex)
    ky = np.fft.fftfreq(h0) * h0
    kx = np.fft.fftfreq(w0) * w0
    big[np.ix_((ky % h).astype(int), (kx % w).astype(int))] = spec
    return np.fft.ifft2(big).real * (h * w) / (h0 * w0)


def _std(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    s = x.std()
    return (x - x.mean()) / (s if s > 0 else 1.0)


# -- sampling and motion ----------------------------------------------------------------------

def _sample(f: np.ndarray, py: np.ndarray, px: np.ndarray) -> np.ndarray:
    """Bilinear sample of the periodic field ``f`` at pixel coordinates (wrapping)."""
    h, w = f.shape
    y0, x0 = np.floor(py), np.floor(px)
    fy, fx = py - y0, px - x0
    y0 = y0.astype(np.int64) % h
    x0 = x0.astype(np.int64) % w
    y1, x1 = (y0 + 1) % h, (x0 + 1) % w
    top = f[y0, x0] * (1 - fx) + f[y0, x1] * fx
    bot = f[y1, x0] * (1 - fx) + f[y1, x1] * fx
    return top * (1 - fy) + bot * fy


def _translate(f: np.ndarray, dy: float, dx: float) -> np.ndarray:
    """``f`` moved by (dy, dx) pixels on the torus, bilinear: the same as :func:`_sample` at the pixel
    grid minus (dy, dx), from four whole-pixel rolls (no gather)."""
    iy, ix = int(np.floor(dy)), int(np.floor(dx))
    fy, fx = dy - iy, dx - ix
    a = np.roll(f, (iy, ix), axis=(0, 1))
    b = np.roll(a, 1, axis=1)
    top = a * (1 - fx) + b * fx
    bot = np.roll(top, 1, axis=0)
    return top * (1 - fy) + bot * fy


def _flow(f0, f1, t: float, py, px, dy: float, dx: float) -> np.ndarray:
    """Two copies of a field advected by (dy, dx) pixels per cycle, half a cycle apart, cross-faded:
    period 1 in ``t``; each copy's weight is 0 when it jumps back. Renormalised: unit variance.
    ``py, px``: where to sample (pixel coordinates in the field), or None for the field's own grid."""
    p0, p1 = t % 1.0, (t + 0.5) % 1.0
    w0 = 1.0 - abs(2.0 * p0 - 1.0)
    w1 = 1.0 - w0
    if py is None:
        a, b = _translate(f0, dy * p0, dx * p0), _translate(f1, dy * p1, dx * p1)
    else:
        a = _sample(f0, py - dy * p0, px - dx * p0)
        b = _sample(f1, py - dy * p1, px - dx * p1)
    return (w0 * a + w1 * b) / np.sqrt(w0 * w0 + w1 * w1)


def _smooth(e0: float, e1: float, x):
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _ramp(t: np.ndarray, stops) -> np.ndarray:
    """Piecewise-linear colour (or colour + alpha) ramp: stops = [(position, (r, g, b[, a])), ...]."""
    xs = np.array([p for p, _ in stops])
    cols = np.array([c for _, c in stops], np.float64)
    t = np.clip(t, 0, 1)
    return np.stack([np.interp(t, xs, cols[:, i]) for i in range(cols.shape[1])], -1)


def _grid(n: int):
    """Frame coordinates: X right and Y up, both -1..1 at the pixel centres' extent; pixel rows/cols."""
    c = (np.arange(n) + 0.5) / n * 2 - 1
    X = np.broadcast_to(c[None, :], (n, n))
    Y = np.broadcast_to(-c[:, None], (n, n))
    rows, cols = np.mgrid[0:n, 0:n].astype(np.float64)
    return X, Y, rows, cols


def window(n: int) -> np.ndarray:
    """1 inside, 0 on the outer :data:`BORDER` of the frame, a smooth ramp between."""
    X, Y, _, _ = _grid(n)
    e = np.maximum(np.abs(X), np.abs(Y))
    return _smooth(1.0 - BORDER, 0.72, e)


# -- sprites ----------------------------------------------------------------------------------

FIRE_RAMP = [(0.0, (0.35, 0.04, 0.0, 0.0)), (0.12, (0.55, 0.07, 0.01, 0.35)), (0.3, (0.85, 0.18, 0.02, 0.85)),
             (0.5, (1.0, 0.45, 0.05, 1.0)), (0.72, (1.0, 0.75, 0.2, 1.0)), (0.9, (1.0, 0.95, 0.65, 1.0)),
             (1.0, (1.0, 1.0, 0.92, 1.0))]


def _fire(src, n, frames, rng):
    X, Y, rows, cols = _grid(n)
    big0, big1 = src.field(0, n, n / 5, (1.0, 0.55)), src.field(1, n, n / 5, (1.0, 0.55))
    det0, det1 = src.field(2, n, n / 14, (1.0, 0.6)), src.field(3, n, n / 14, (1.0, 0.6))
    wob0, wob1 = src.field(4, n, n / 3), src.field(5, n, n / 3)
    base, top = -0.62, 0.78
    h = np.clip((Y - base) / (top - base), 0, 1)                      # 0 at the base, 1 at the tip
    out = np.empty((frames, n, n, 4))
    for i in range(frames):
        cancel.check()
        t = i / frames
        # content rises: fields are sampled lower down as time goes on (dy < 0: up the image)
        big = _flow(big0, big1, t, None, None, -0.75 * n, 0.0)
        det = _flow(det0, det1, t, None, None, -1.2 * n, 0.0)
        wob = _flow(wob0, wob1, t, None, None, -0.5 * n, 0.0)
        xw = X + 0.10 * h ** 1.2 * wob + 0.03 * h * det                # flicker: sideways sway grows with height
        half = 0.36 * (1 - h) ** 0.75 * (0.55 + 0.45 * _smooth(0.0, 0.16, h)) + 0.02
        body = np.exp(-(xw / half) ** 2 * 1.6) * _smooth(base - 0.06, base + 0.1, Y)
        heat = body * (1.05 - 0.75 * h) + 0.22 * (0.35 + h) * (big * 0.75 + det * 0.45) * body ** 0.5
        heat -= 0.18 * h * np.clip(-big, 0, None)                       # tongues tear off near the tip
        out[i] = _ramp(heat, FIRE_RAMP)
    return out


def _smoke(src, n, frames, rng):
    X, Y, rows, cols = _grid(n)
    f0, f1 = src.field(0, n, n / 4, beta=3.0), src.field(1, n, n / 10, beta=2.6)
    out = np.empty((frames, n, n, 4))
    for i in range(frames):
        cancel.check()
        t = (i + 0.5) / frames
        cy = -0.4 + 0.45 * t                                            # the puff rises ...
        R = 0.2 + 0.42 * (1 - (1 - t) ** 2)                             # ... and grows
        dx, dy = X, Y - cy
        r = np.sqrt(dx * dx + dy * dy) / R
        # the texture is attached to the puff (scales with it) and rolls upward inside it
        u, v = dx / R * n / 3.2, -dy / R * n / 3.2 + 0.25 * n * t
        bill = 0.7 * _sample(f0, v, u) + 0.35 * _sample(f1, 1.8 * v, 1.8 * u)
        dens = _smooth(1.15, 0.35, r + 0.22 * bill)
        fade = _smooth(0.0, 0.12, t) * (1 - t) ** 0.8
        shade = 0.56 + 0.2 * np.clip(dy / R, -1, 1) + 0.06 * bill       # lit from above
        rgb = np.clip(shade, 0, 1)[..., None] * np.array([0.96, 0.96, 1.0])
        out[i, ..., :3] = rgb
        out[i, ..., 3] = np.clip(dens * 1.5, 0, 1) * fade
    return out


def _explosion(src, n, frames, rng):
    X, Y, rows, cols = _grid(n)
    f0, f1 = src.field(0, n, n / 4, beta=3.0), src.field(1, n, n / 10, beta=2.6)
    smoke_col = np.array([0.44, 0.41, 0.38])
    out = np.empty((frames, n, n, 4))
    for i in range(frames):
        cancel.check()
        t = (i + 0.5) / frames
        cy = -0.05 + 0.22 * t
        R = 0.14 + 0.55 * (1 - (1 - t) ** 3)                            # fast burst, then slows
        dx, dy = X, Y - cy
        r = np.sqrt(dx * dx + dy * dy) / R
        u, v = dx / R * n / 3.0, -dy / R * n / 3.0 + 0.15 * n * t
        bill = 0.8 * _sample(f0, v, u) + 0.2 * _sample(f1, 1.7 * v, 1.7 * u)
        dens = _smooth(1.12, 0.45, r + 0.25 * bill)
        cool = np.clip(t * 1.15 + 0.3 * r + 0.15 * bill, 0, 1)            # the rim and later frames cool first
        heat = np.clip(1.0 - cool, 0, 1)
        fire = _ramp(heat, FIRE_RAMP)[..., :3]
        mix = _smooth(0.15, 0.55, heat)[..., None]
        rgb = fire * mix + smoke_col * (0.8 + 0.25 * bill[..., None]) * (1 - mix)
        fade = _smooth(0.0, 0.05, t) * (1 - t) ** 0.5
        out[i, ..., :3] = np.clip(rgb, 0, 1)
        out[i, ..., 3] = np.clip(1.3 * dens, 0, 1) * fade
    return out


MAGIC_RAMP = [(0.0, (0.25, 0.1, 0.6, 0.0)), (0.25, (0.5, 0.25, 1.0, 0.35)), (0.55, (0.3, 0.65, 1.0, 0.9)),
              (0.8, (0.7, 0.95, 1.0, 1.0)), (1.0, (1.0, 1.0, 1.0, 1.0))]


def _magic(src, n, frames, rng):
    X, Y, _, _ = _grid(n)
    r = np.sqrt(X * X + Y * Y)
    ang = (np.arctan2(Y, X) / (2 * np.pi)) % 1.0
    # polar texture space: around = columns (the field wraps, so the angle wraps), out = rows
    f0, f1 = src.field(0, n, n / 10, (1.0, 0.25)), src.field(1, n, n / 10, (1.0, 0.25))
    g0, g1 = src.field(2, n, n / 6), src.field(3, n, n / 6)
    pu, pv = ang * n, r * n * 0.9
    out = np.empty((frames, n, n, 4))
    for i in range(frames):
        cancel.check()
        t = i / frames
        rays = _flow(f0, f1, t, pv, pu, 0.9 * n, 0.0)                  # streaks flow outward
        puffs = _flow(g0, g1, t, pv, pu, 0.6 * n, 0.0)
        env = _smooth(0.78, 0.3, r)
        spark = _smooth(0.9, 2.4, rays + 0.35 * puffs) * env
        glow = np.exp(-(r / 0.16) ** 2) * (0.9 + 0.1 * np.cos(2 * np.pi * t))
        halo = 0.35 * np.exp(-(r / 0.42) ** 2) * _smooth(-1.0, 1.0, puffs)
        out[i] = _ramp(np.clip(glow + 0.85 * spark + halo, 0, 1), MAGIC_RAMP)
    return out


def _splash(src, n, frames, rng):
    X, Y, rows, cols = _grid(n)
    brk = src.field(0, n, n / 12)
    base = -0.5
    k = 80
    ang = rng.uniform(-1.05, 1.05, k) + np.pi / 2                        # launch directions, mostly up
    speed = rng.uniform(1.1, 2.3, k)
    size = rng.uniform(0.028, 0.06, k)
    x0 = rng.uniform(-0.12, 0.12, k)
    g = -4.2
    water = np.array([0.62, 0.82, 0.95])
    out = np.empty((frames, n, n, 4))
    for i in range(frames):
        cancel.check()
        t = (i + 0.5) / frames
        T = 0.9 * t
        # the crown: two sheets thrown up and out from the impact, breaking up at the rim
        cw = 0.12 + 0.6 * np.sqrt(t)
        ch = 0.85 * np.sin(np.pi * min(1.0, t * 1.25)) * (1 - 0.5 * t)
        edge = np.abs(np.abs(X) - cw * (0.6 + 0.4 * _smooth(base, base + ch + 1e-6, Y)))
        crown = _smooth(0.09, 0.02, edge + 0.02 * _sample(brk, rows, cols)) * \
            _smooth(base + ch + 0.05, base + ch - 0.08, Y + 0.06 * _sample(brk, rows * 0.5, cols)) * \
            _smooth(base - 0.05, base + 0.02, Y)
        pool = np.exp(-(X / (0.2 + 0.5 * t)) ** 2 - ((Y - base) / 0.05) ** 2) * 0.8
        px = x0 + np.cos(ang) * speed * T
        py = base + np.sin(ang) * speed * T + 0.5 * g * T * T
        rad = size * (1 - 0.5 * t)
        drops = np.zeros((n, n))
        for j in range(k):
            if py[j] < base - 0.02:
                continue
            # only the droplet's neighbourhood (3 radii: exp(-13.5) beyond), in pixels
            c0, r0 = (px[j] + 1) * n / 2 - 0.5, (1 - py[j]) * n / 2 - 0.5
            m = int(np.ceil(3 * rad[j] * n / 2)) + 1
            ra, rb = max(0, int(r0) - m), min(n, int(r0) + m + 1)
            ca, cb = max(0, int(c0) - m), min(n, int(c0) + m + 1)
            if ra >= rb or ca >= cb:
                continue
            d2 = ((X[ra:rb, ca:cb] - px[j]) ** 2 + (Y[ra:rb, ca:cb] - py[j]) ** 2) / rad[j] ** 2
            drops[ra:rb, ca:cb] = np.maximum(drops[ra:rb, ca:cb], np.exp(-d2 * 1.5))
        a = np.clip(np.maximum.reduce([crown, pool, drops]), 0, 1)
        fade = _smooth(0.0, 0.06, t) * (1 - t ** 2)
        light = 0.85 + 0.15 * np.clip(Y - base, 0, 1)
        out[i, ..., :3] = np.clip(water * light[..., None] + 0.25 * drops[..., None], 0, 1)
        out[i, ..., 3] = a * fade
    return out


# -- surfaces ---------------------------------------------------------------------------------

def _waves(src, n, frames, feature):
    """Water height frames, (frames, n, n), unit variance: two fields (the second finer) translate
    on the torus by whole tiles per loop in different directions — right, and down-right — and
    interfere (the two-scrolling-layers water of game shaders). Periodic in time and space by
    construction; no frame repeats inside the loop, not even shifted (the layers' offset
    (1, 0) tile × t is whole only at t = 1); each layer's structure is carried, not re-randomised."""
    a = src.field(0, n, n / feature, beta=3.2)
    b = src.field(1, n, n / feature * 0.6, beta=3.2)
    out = np.empty((frames, n, n))
    for i in range(frames):
        cancel.check()
        t = i / frames
        out[i] = _shift(a, 0.0, t * n) + 0.7 * _shift(b, t * n, t * n)
    return out / out.std()


def _shift(f: np.ndarray, dy: float, dx: float) -> np.ndarray:
    """Translate a periodic field by (dy, dx) pixels (Fourier shift: exact on the torus, sub-pixel)."""
    h, w = f.shape
    ky = np.fft.fftfreq(h)[:, None]
    kx = np.fft.rfftfreq(w)[None, :]
    return np.fft.irfft2(np.fft.rfft2(f) * np.exp(-2j * np.pi * (ky * dy + kx * dx)), s=(h, w))


def _grad(h: np.ndarray):
    """Spectral (exact on the torus) gradient of a periodic height: (d/drow, d/dcol)."""
    n0, n1 = h.shape
    H = np.fft.fft2(h)
    ky = 2j * np.pi * np.fft.fftfreq(n0)[:, None]
    kx = 2j * np.pi * np.fft.fftfreq(n1)[None, :]
    return np.fft.ifft2(H * ky).real, np.fft.ifft2(H * kx).real


WATER_RAMP = [(0.0, (0.01, 0.09, 0.2)), (0.45, (0.03, 0.25, 0.42)), (0.75, (0.1, 0.48, 0.62)),
              (1.0, (0.55, 0.85, 0.92))]


def _water(src, n, frames, rng):
    h = _waves(src, n, frames, 7.0)
    out = np.empty((frames, n, n, 3))
    for i in range(frames):
        gy, gx = _grad(h[i])
        s = np.sqrt(gx.var() + gy.var()) + 1e-9
        spec = np.clip((0.6 * gx - 0.8 * gy) / s - 1.2, 0, None) ** 2      # sun glints on the steep faces               # sun glints on the slopes
        base = _ramp(_smooth(-2.4, 2.4, h[i]), WATER_RAMP)
        crest = np.exp(-((h[i] - 0.2) / 0.22) ** 2) * _smooth(-0.5, 1.5, gx / s)
        out[i] = np.clip(base + 0.12 * spec[..., None] + 0.22 * crest[..., None] * np.array([0.8, 0.95, 1.0]), 0, 1)
    return out


def _caustics(src, n, frames, rng):
    h = _waves(src, n, frames, 5.0)
    # a water surface is smooth at the scale of its waves: blur on the torus (σ = 1/12 of the wave
    # size) so a field with flat plateaus and sharp steps (the GAN's) still bends light into lines
    fy, fx = np.fft.fftfreq(n)[:, None], np.fft.rfftfreq(n)[None, :]
    sig = n / 5.0 / 12.0
    h = np.fft.irfft2(np.fft.rfft2(h) * np.exp(-2 * (np.pi * sig) ** 2 * (fy * fy + fx * fx)), s=(n, n))
    r, c = np.mgrid[0:n, 0:n].astype(np.float64)                          # one ray per pixel
    lap = np.fft.ifft2(np.fft.fft2(h[0]) * -(2 * np.pi) ** 2 * (np.fft.fftfreq(n)[:, None] ** 2
                                                                   + np.fft.fftfreq(n)[None, :] ** 2)).real
    depth = 1.3 / lap.std()                       # floor distance: rays cross (lines form) at typical curvature
    # splat grain off: a σ = 0.75 px blur on the torus (what four rays per pixel, bilinear, gave)
    soft = np.exp(-2 * (np.pi * 0.75) ** 2 * (fy * fy + fx * fx))
    out = np.empty((frames, n, n, 3))
    for i in range(frames):
        cancel.check()
        gy, gx = _grad(h[i])
        ty, tx = r - depth * gy, c - depth * gx                          # refracted ray hits the floor here
        y0, x0 = np.floor(ty), np.floor(tx)
        wy, wx = ty - y0, tx - x0
        y0 = y0.astype(np.int64) % n
        x0 = x0.astype(np.int64) % n
        y1, x1 = (y0 + 1) % n, (x0 + 1) % n
        idx = np.concatenate([(y0 * n + x0).ravel(), (y1 * n + x0).ravel(), (y0 * n + x1).ravel(),
                              (y1 * n + x1).ravel()])
        wgt = np.concatenate([((1 - wy) * (1 - wx)).ravel(), (wy * (1 - wx)).ravel(), ((1 - wy) * wx).ravel(),
                              (wy * wx).ravel()])
        light = np.bincount(idx, weights=wgt, minlength=n * n).reshape(n, n)   # 1 = unfocused light
        light = np.fft.irfft2(np.fft.rfft2(light) * soft, s=(n, n))
        lum = np.clip((light - 0.35) / 2.4, 0, 1) ** 0.8
        out[i] = _ramp(lum, [(0.0, (0.02, 0.2, 0.32)), (0.35, (0.12, 0.45, 0.58)), (0.7, (0.55, 0.85, 0.9)),
                             (1.0, (0.95, 1.0, 1.0))])
    return out


LAVA_RAMP = [(0.0, (0.05, 0.03, 0.03)), (0.35, (0.16, 0.05, 0.03)), (0.55, (0.55, 0.08, 0.02)),
             (0.75, (0.95, 0.35, 0.03)), (0.9, (1.0, 0.7, 0.15)), (1.0, (1.0, 0.95, 0.6))]


def _lava(src, n, frames, rng):
    _, _, rows, cols = _grid(n)
    c0, c1 = src.field(0, n, n / 3.5, beta=3.0), src.field(1, n, n / 3.5, beta=3.0)
    d0, d1 = src.field(2, n, n / 10), src.field(3, n, n / 10)
    out = np.empty((frames, n, n, 3))
    for i in range(frames):
        cancel.check()
        t = i / frames
        crust = _flow(c0, c1, t, None, None, 0.25 * n, 0.4 * n)          # slow drift of the crust plates
        fine = _flow(d0, d1, t, None, None, 0.35 * n, 0.5 * n)
        cracks = np.exp(-((crust + 0.15 * fine) / 0.25) ** 2)            # glowing seams where the crust parts
        heat = 0.3 + 0.65 * cracks + 0.05 * fine
        out[i] = _ramp(np.clip(heat, 0, 1), LAVA_RAMP)
    return out


_RENDER = {"fire": _fire, "smoke": _smoke, "explosion": _explosion, "magic": _magic, "splash": _splash,
           "water": _water, "lava": _lava, "caustics": _caustics}


def render(name: str, src, n: int, frames: int, seed: int) -> np.ndarray:
    """(frames, n, n, 4) straight-alpha RGBA for sprites, (frames, n, n, 3) RGB for surfaces; 0..1."""
    if name not in _RENDER:
        raise ValueError(f"unknown effect {name!r}; known: {', '.join(EFFECTS)}")
    rng = np.random.default_rng([seed & (2**64 - 1), 77])
    out = _RENDER[name](src, n, frames, rng)
    if name in SPRITES:
        out[..., 3] *= window(n)
    return np.clip(out, 0, 1).astype(np.float32)


def metadata(name: str, frames: int, alpha_mode: str) -> dict:
    """What an engine needs beside the sheet for this effect (the generator adds the sheet's layout)."""
    sprite = name in SPRITES
    meta = {
        "family": "sprite" if sprite else "surface",
        "loop": name in LOOPING,
        "playback": ("loop" if name in LOOPING else "once over the particle's lifetime") if sprite else "loop",
        "tileable": not sprite,
        "alpha": (alpha_mode if sprite else "none"),
        "channels": 4 if sprite else 3,
        "color_space": "sRGB",
        "blend": BLEND[name],
    }
    if sprite:
        meta["pivot"] = list(PIVOT.get(name, (0.5, 0.5)))
    return meta


def png(sheet: np.ndarray) -> bytes:
    """An 8-bit sRGB PNG: RGBA when the sheet has an alpha channel, else RGB."""
    from . import images
    return images.png_rgb(sheet) if sheet.shape[-1] == 3 else images.png_rgba(sheet)
