"""Material layouts and the layered procedural teacher (numpy only: this runs when serving).

A material is made in two steps:

1. :func:`layout` draws the *structure* of a tile from the seed — brick courses in running bond,
   planks with butt joints, ring phase and knots, stone slabs split by cracks (a warped Voronoi on
   the torus), metal panels with rivets and scratches — plus a wear mask and two noise fields. It
   returns :data:`CHANNELS` float32 planes, all periodic on the tile (distances wrap, noise is
   built in the Fourier basis, cell counts divide the tile), so whatever is computed from them
   tiles by construction.
2. :func:`render` (the *teacher*) shades a layout into albedo, height and roughness: per-brick
   colour variation, burnt bricks, recessed mortar, chipped edges, late-wood rings running along
   the planks, knots, two-scale mineral grain, hairline cracks, brushed steel, dirt and weathering
   that grow with ``wear``. The learned model (``materials-net``) is trained to do this step from
   the same layout; the teacher is also served as ``textures/materials-layered``.

Sizes are in pixels of the tile the layout is drawn at (``scale`` is applied outside, by resizing);
``pattern`` multiplies the size of bricks, planks, slabs and panels without changing the grain.
"""

from __future__ import annotations

import colorsys
from functools import lru_cache

import numpy as np
import scipy.fft

from .. import cancel
from . import maps
from .procedural import _smoothstep

CLASSES = ("brick", "wood", "stone", "metal")
# the planes of a layout, in order (what the learned model reads)
CHANNELS = ("edge", "tone", "a", "b", "extra", "wear", "broad", "fine", "palette_hue", "palette_value", "grain")
COURSE_PX = 32      # brick course height at pattern 1
PLANK_PX = 48       # plank width at pattern 1
SLAB_PX = 96        # stone slab size at pattern 1
PANEL_PX = 160      # metal panel size at pattern 1


class Canvas:
    """A periodic tile of ``n`` logical pixels, sampled every ``step`` pixels (``m = n / step`` samples a
    side, at the centres of ``step × step`` blocks). Everything a layout draws is placed in logical
    pixels and every random number it takes is the same whatever the step, so a layout drawn at
    step 4 is the full one seen at a quarter of the resolution (the preview's)."""

    def __init__(self, n: int, step: int = 1):
        if step < 1 or n % step:
            raise ValueError(f"step {step} must divide the tile size {n}")
        self.n, self.step, self.m = n, step, n // step

    def coords(self) -> np.ndarray:
        """Logical coordinates of the samples along one axis."""
        return ((np.arange(self.m) + 0.5) * self.step - 0.5).astype(np.float32)

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        c = self.coords()
        return np.broadcast_to(c[:, None], (self.m, self.m)).copy(), np.broadcast_to(c[None, :], (self.m, self.m)).copy()

    def window(self, centre: float, half: float) -> tuple[np.ndarray, np.ndarray]:
        """(sample indices mod m, their logical offsets from ``centre``) within ``half`` px of it."""
        k = self.step
        lo = int(np.floor((centre - half + 0.5) / k - 0.5))
        hi = int(np.ceil((centre + half + 0.5) / k - 0.5))
        j = np.arange(lo, hi + 1)
        return j % self.m, ((j + 0.5) * k - 0.5 - centre).astype(np.float32)


@lru_cache(maxsize=32)
def _shells(m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The integer frequencies a field of ``m`` samples a side holds (|ky|, kx < m/2, kx ≥ 0), in
    one fixed order — by shell max(|ky|, kx), then ky, then kx — so a lower resolution draws a
    prefix of a higher one's coefficients: (ky, kx, row index in rfft2 layout, column index)."""
    h = m // 2
    ky, kx = np.meshgrid(np.arange(-h + 1, h, dtype=np.int32), np.arange(0, h, dtype=np.int32), indexing="ij")
    ky, kx = ky.ravel(), kx.ravel()
    order = np.lexsort((kx, ky, np.maximum(np.abs(ky), kx)))
    ky, kx = ky[order], kx[order]
    for v in (ky, kx):
        v.setflags(write=False)
    return ky, kx, ky % m, kx


@lru_cache(maxsize=32)
def _flat_index(m: int) -> np.ndarray:
    """:func:`_shells`' frequencies as flat indices into an ``m × (m/2 + 1)`` rfft2 array."""
    _, _, iy, ix = _shells(m)
    flat = iy.astype(np.int64) * (m // 2 + 1) + ix
    flat.setflags(write=False)
    return flat


@lru_cache(maxsize=128)
def _amplitude(n: int, m: int, size: float, beta: float, stretch: tuple[float, float]):
    """The spectral amplitude of :func:`noise` at the frequencies of :func:`_shells` (cycles per tile
    ``n``), and the expected energy of the frequencies a field of ``m`` samples cannot hold."""
    ky, kx, _, _ = _shells(m)

    def amp(fy, fx):
        f = np.sqrt((fy * stretch[0]) ** 2 + (fx * stretch[1]) ** 2)
        f0 = 1.0 / max(size, 1.0)
        a = np.where(f > 0, (np.maximum(f, f0) / f0) ** (-beta), 0.0)
        a *= np.exp(-((f0 / np.maximum(f, 1e-9)) ** 2) * 0.5)      # soft cut below 1/size
        a *= np.exp(-((f / (f0 * 16)) ** 2))                        # and four octaves above it
        return a

    a = amp(ky / n, kx / n).astype(np.float32)
    a.setflags(write=False)
    rest = 0.0
    if m < n:      # what the full tile holds beyond these: its expected energy (for the normalisation)
        fky, fkx, _, _ = _shells(n)
        outside = np.maximum(np.abs(fky), fkx) >= m // 2
        w = np.where(fkx[outside] == 0, 0.5, 2.0)
        rest = float((w * 2.0 * amp(fky[outside] / n, fkx[outside] / n) ** 2).sum())
    return a, rest


def noise(rng: np.random.Generator, cv: Canvas, size: float, beta: float = 2.0,
          stretch: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Zero-mean, unit-std fractal noise on the torus, ``size`` in logical pixels, sampled on ``cv``.

    Takes one number from ``rng`` (the seed of its own generator), and draws its Fourier
    coefficients frequency shell by shell, so the field at a coarser step is the full one without
    the frequencies the coarser grid cannot hold (the normalisation counts their expected energy)."""
    cancel.check()
    sub = np.random.default_rng(int(rng.integers(2**63)))
    n, m, k = cv.n, cv.m, cv.step
    ky, kx, iy, ix = _shells(m)
    amp, rest = _amplitude(n, m, float(size), float(beta), tuple(float(v) for v in stretch))
    c = sub.standard_normal((len(ky), 2), dtype=np.float32)
    coef = (c[:, 0] + 1j * c[:, 1]) * amp
    if k > 1:    # samples sit at block centres, (step - 1) / 2 logical px from the block's corner
        coef = coef * np.exp(2j * np.pi * (ky + kx) * ((k - 1) / 2) / n)
    spec = np.zeros((m, m // 2 + 1), np.complex64)
    spec.reshape(-1)[_flat_index(m)] = coef
    # scipy's pocketfft keeps complex64 in single precision: 3-4x numpy's irfft2 at 512 px
    out = scipy.fft.irfft2(spec, s=(m, m), norm="forward", overwrite_x=True).astype(np.float32, copy=False)
    if k == 1:
        sd = out.std()
    else:
        w = np.where(kx == 0, 0.5, 2.0)
        sd = float(np.sqrt((w * np.abs(coef) ** 2).sum() + rest))
    return out / sd if sd > 0 else out


def lnoise(rng: np.random.Generator, cv: Canvas, size: float, beta: float = 2.0,
           stretch: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """:func:`noise` for broad features, drawn at a lower resolution and resized on the torus
    (4-64x cheaper at 512 px; the same image up to interpolation)."""
    n = cv.n
    f = 1
    while size / (2 * f) >= 4 and n % (2 * f) == 0 and n // (2 * f) >= 16 and 2 * f <= 8:
        f *= 2
    if f <= cv.step:
        return noise(rng, cv, size, beta=beta, stretch=stretch)
    x = noise(rng, Canvas(n, f), size, beta=beta, stretch=stretch)
    return maps.wrap_resize(x, cv.m)


def _mod(a: np.ndarray, period: float) -> np.ndarray:
    """``a % period`` for a positive ``period``, as ``a - period * floor(a / period)``: numpy's float
    modulo (fmod plus sign fix-ups) costs ~5x as much at 512 px; for a power-of-two period the
    two are bit-identical (for others a value a hair under a multiple may come out a hair under 0)."""
    y = np.floor(a / period)
    y *= -period
    y += a
    return y


def _wrapd(a: np.ndarray, period: float) -> np.ndarray:
    """Signed wrap-around difference in ``[-period/2, period/2)``.

    ``y - period * floor(y / period)`` rather than ``y % period``: numpy's float modulo (fmod plus
    sign fix-ups) was 40 % of a stone layout; for a power-of-two period the two are bit-identical."""
    y = a + np.float32(period / 2) if np.isscalar(period) else a + period / 2
    y -= period * np.floor(y / period)
    y -= period / 2
    return y


def _wear_mask(rng, cv, wear):
    # mostly even with age, heavier in broad patches
    return (wear * (0.45 + 0.55 * _smoothstep(-0.6, 1.0, lnoise(rng, cv, 48, beta=3.0)))).astype(np.float32)


def _signed_edge(dist_px: np.ndarray, gap: float, cv: "Canvas | None" = None) -> np.ndarray:
    """Distance to a joint minus its half width, in units of 4 px, clipped to -1..1 (<0: in the joint).

    On a coarser canvas a joint is at least half a step wide each side, so every row and column of samples it crosses
    holds a joint sample: thin cracks and seams stay continuous lines in the preview, not dots."""
    if cv is not None and cv.step > 1:
        gap = max(gap, 0.5 * cv.step)
    return np.clip((dist_px - gap) / 4.0, -1.0, 1.0)


def layout(name: str, rng: np.random.Generator, n: int, pattern: float = 1.0, wear: float = 0.3,
           step: int = 1) -> np.ndarray:
    """The structure of one ``n × n`` tile: float32 ``[len(CHANNELS), n / step, n / step]``.

    ``step`` > 1 samples the same tile every ``step`` pixels (the same seed gives the same courses,
    planks, slabs, panels, tones and broad noise; grain finer than the step averages out): a
    quarter-resolution layout for the preview costs about 1/16 of the full one."""
    if name not in CLASSES:
        raise ValueError(f"unknown material {name!r}; known: {', '.join(CLASSES)}")
    cv = Canvas(n, step)
    out = np.zeros((len(CHANNELS), cv.m, cv.m), np.float32)
    pal = rng.uniform(-1, 1, 2)
    _LAYOUT[name](rng, cv, float(pattern), float(wear), out)
    out[8], out[9] = pal[0], pal[1]
    out[10] = noise(rng, cv, 1.2, beta=0.5)      # the network's own grain (the teacher does not use it)
    return out


def _brick_layout(rng, cv, pattern, wear, out):
    n = cv.n
    rows = max(2, int(round(n / (COURSE_PX * pattern))))
    rows += rows % 2                              # running bond wraps only with an even row count
    bh = n / rows
    cols = max(1, int(round(n / (bh * rng.uniform(1.9, 2.4)))))
    bw = n / cols
    y, x = cv.grid()
    # a little waviness in the courses (hand-laid), periodic
    y = _mod(y + rng.uniform(0, n) + 0.8 * lnoise(rng, cv, 64, beta=3.0), n)
    x = _mod(x + rng.uniform(0, n), n)
    row = np.floor(y / bh).astype(np.int32)
    xs = _mod(x + (row % 2) * bw / 2, n)
    col = np.floor(xs / bw).astype(np.int32) % cols
    dy = np.minimum(y - row * bh, (row + 1) * bh - y)
    fx = xs - np.floor(xs / bw) * bw
    dx = np.minimum(fx, bw - fx)
    chips = np.maximum(noise(rng, cv, 3.0, beta=1.4), 0)
    dist = np.minimum(dx, dy) - (0.4 + 2.2 * wear) * chips
    mortar = rng.uniform(1.2, 2.0) + 0.6 * wear
    ids = (row % rows) * cols + col
    tone = rng.uniform(-1, 1, rows * cols).astype(np.float32)
    second = rng.uniform(-1, 1, rows * cols).astype(np.float32)
    out[0] = _signed_edge(dist, mortar, cv)
    out[1] = tone[ids]
    out[2] = second[ids]
    # extra: distance from the brick's centre line (0 centre .. 1 edge), for a slightly domed face
    out[4] = 1 - np.clip(np.minimum(dx / (bw / 2), dy / (bh / 2)), 0, 1)
    out[5] = _wear_mask(rng, cv, wear)
    out[6] = lnoise(rng, cv, 20, beta=2.6)
    out[7] = noise(rng, cv, 2.5, beta=1.0)


def _wood_layout(rng, cv, pattern, wear, out):
    n, m = cv.n, cv.m
    rows = max(1, int(round(n / (PLANK_PX * pattern))))
    ph = n / rows
    y, x = cv.grid()
    y = _mod(y + rng.uniform(0, n), n)
    row = np.floor(y / ph).astype(np.int32)
    dy = np.minimum(y - row * ph, (row + 1) * ph - y)
    # butt joints: each row of planks has its own board length (a whole number per tile) and offset
    counts = np.maximum(1, np.round(n / (ph * rng.uniform(3.5, 7.0, rows)))).astype(np.int32)
    offs = rng.uniform(0, n, rows)
    blen = n / counts
    xr = _mod(x + offs[row], n)
    board = np.floor(xr / blen[row]).astype(np.int32)
    fx = xr - board * blen[row]
    dx = np.minimum(fx, blen[row] - fx)
    bid = row * 64 + board
    nb = rows * 64
    tone = rng.uniform(-1, 1, nb).astype(np.float32)
    spacing = rng.uniform(3.5, 6.5, nb).astype(np.float32)        # ring spacing per board (px)
    centre = rng.uniform(-1.5, 1.5, nb).astype(np.float32) * ph    # where the board's pith was
    curve = rng.uniform(-1, 1, nb).astype(np.float32) / (ph * 6)   # flat-sawn arcs ("cathedrals")
    yl = y - row * ph
    xc = _wrapd(fx - blen[row] / 2, blen[row])
    warp = lnoise(rng, cv, 48, beta=3.2, stretch=(1.0, 0.12))
    r = np.abs(yl - centre[bid] + curve[bid] * xc ** 2 / 4)
    phase = 2 * np.pi * r / spacing[bid] + 2.2 * warp
    # knots: a few per tile; rings swirl round them, a dark core
    k = rng.poisson(max(0.5, 2.0 * (n / 256) ** 2 / pattern))
    knot = np.zeros((m, m), np.float32)
    swirl = np.zeros((m, m), np.float32)
    for _ in range(int(min(k, 12))):
        cy, cx, rad = rng.uniform(0, n), rng.uniform(0, n), rng.uniform(2.5, 6.0) * min(pattern, 1.5)
        hy = min(int(rad * 7.5) + 2, n // 2 - 1)          # the swirl is < 2e-3 beyond 2.5 x 3 radii
        hx = min(int(rad * 7.5 / 0.6) + 2, n // 2 - 1)
        jy, oy = cv.window(cy, hy)
        jx, ox = cv.window(cx, hx)
        d = np.sqrt((oy[:, None]) ** 2 + (0.6 * ox[None, :]) ** 2).astype(np.float32)
        iy, ix = np.ix_(jy, jx)
        knot[iy, ix] = np.maximum(knot[iy, ix], _smoothstep(rad * 1.3, rad * 0.6, d))
        swirl[iy, ix] += np.exp(-(d / (rad * 3.0)) ** 2) * (1.0 - 0.5 * np.exp(-(d / rad) ** 2))
    phase = phase + 2 * np.pi * 1.6 * swirl
    out[0] = _signed_edge(np.minimum(dx, dy), 0.7 + 0.5 * wear, cv)
    out[1] = tone[bid]
    # rings closer than the sample step cannot be drawn (they would alias into blotches): on a coarser
    # canvas each plane is its block average, sin/cos of the phase times sinc(step / ring spacing)
    fade = np.sinc(cv.step / spacing[bid]) if cv.step > 1 else 1.0
    out[2] = np.sin(phase) * fade
    out[3] = np.cos(phase) * fade
    out[4] = knot
    out[5] = _wear_mask(rng, cv, wear)
    out[6] = lnoise(rng, cv, 24, beta=2.6, stretch=(1.0, 0.3))
    out[7] = noise(rng, cv, 2.5, beta=1.0, stretch=(1.0, 0.15))   # pores, long along the grain


def _voronoi(rng, cv, cells, warp_size=40.0, warp_px=7.0):
    """Warped Voronoi on the torus: (F1, F2 - F1, nearest cell index, number of cells), ``n × n``.

    The nearest and second-nearest points are found at 1/8 to 1/2 of the resolution;
    the two distances are then measured at full resolution, so crack lines stay sharp."""
    n = cv.n
    f = 8 if cv.m >= 1024 else 4 if cv.m >= 256 else 2 if cv.m >= 64 else 1
    m = cv.m // f
    # points no closer than ~60 % of their mean spacing (a sliver cell would be all crack)
    cand = rng.uniform(0, n, (cells * 4, 2)).astype(np.float32)
    min_d = 0.6 * n / np.sqrt(cells)
    pts = cand[:1]
    for p in cand[1:]:
        if len(pts) == cells:
            break
        if (np.hypot(*_wrapd(p[None] - pts, n).T) >= min_d).all():
            pts = np.concatenate([pts, p[None]])
    wy = lnoise(rng, cv, warp_size, beta=3.0) * warp_px
    wx = lnoise(rng, cv, warp_size, beta=3.0) * warp_px
    y, x = cv.grid()
    y, x = y + wy, x + wx
    ys, xs = y[::f, ::f], x[::f, ::f]
    # squared distances to every point at once, (points, m, m): only the order matters. argmin
    # takes the first of equal distances, so i1 / i2 are the nearest and second-nearest points with
    # ties going to the lower index (the order the points were drawn in).
    d = (_wrapd(ys[None] - pts[:, 0, None, None], n) ** 2
         + _wrapd(xs[None] - pts[:, 1, None, None], n) ** 2)
    i1 = d.argmin(axis=0)
    np.put_along_axis(d, i1[None], np.inf, axis=0)
    i2 = d.argmin(axis=0)
    cancel.check()
    if f > 1:
        i1 = np.repeat(np.repeat(i1, f, 0), f, 1)
        i2 = np.repeat(np.repeat(i2, f, 0), f, 1)
    d1 = np.sqrt(_wrapd(y - pts[i1, 0], n) ** 2 + _wrapd(x - pts[i1, 1], n) ** 2)
    d2 = np.sqrt(_wrapd(y - pts[i2, 0], n) ** 2 + _wrapd(x - pts[i2, 1], n) ** 2)
    idx = np.where(d1 <= d2, i1, i2)
    return np.minimum(d1, d2), np.abs(d2 - d1), idx, len(pts)


def _stone_layout(rng, cv, pattern, wear, out):
    n = cv.n
    cells = max(3, int(round((n / (SLAB_PX * pattern)) ** 2 * 1.6)))
    f1, gap, idx, cells = _voronoi(rng, cv, cells)
    jag = noise(rng, cv, 3.0, beta=1.5)
    tone = rng.uniform(-1, 1, cells).astype(np.float32)
    cell_r = n / np.sqrt(cells) * 0.6
    out[0] = _signed_edge(gap / 2 + 0.5 * jag, 1.3 + 1.2 * wear, cv)
    out[1] = tone[idx]
    hair = lnoise(rng, cv, 14, beta=2.2)
    hair_gate = _smoothstep(0.2, 0.9, lnoise(rng, cv, 40, beta=3.0) + wear)
    out[2] = np.exp(-(hair / 0.07) ** 2) * hair_gate                     # hairline cracks
    out[3] = np.clip(f1 / cell_r, 0, 1)
    out[5] = _wear_mask(rng, cv, wear)
    out[6] = lnoise(rng, cv, 18, beta=2.4)
    out[7] = noise(rng, cv, 2.0, beta=0.8)


def _segments(rng, cv, count, wear):
    """Thin scratches: random segments on the torus, drawn in their bounding boxes (wrapping)."""
    n = cv.n
    img = np.zeros((cv.m, cv.m), np.float32)
    for _ in range(count):
        ang = rng.normal(0.0, 0.5) if rng.random() < 0.6 else rng.uniform(0, np.pi)
        length = min(rng.uniform(15, 90), n / 2 - 4)
        cy, cx = rng.uniform(0, n, 2)
        depth = rng.uniform(0.3, 1.0)
        dyv, dxv = np.sin(ang), np.cos(ang)
        half = int(length / 2 + 3)
        jy, oy = cv.window(cy, half)
        jx, ox = cv.window(cx, half)
        py, px = np.meshgrid(oy, ox, indexing="ij")
        t = np.clip(py * dyv + px * dxv, -length / 2, length / 2)
        d = np.sqrt((py - t * dyv) ** 2 + (px - t * dxv) ** 2)
        s = depth * np.exp(-(d / 0.7) ** 2).astype(np.float32)
        iy, ix = np.ix_(jy, jx)
        img[iy, ix] = np.maximum(img[iy, ix], s)
    return img


def _metal_layout(rng, cv, pattern, wear, out):
    n = cv.n
    k = max(1, int(round(n / (PANEL_PX * pattern))))
    p = n / k
    y, x = cv.grid()
    y = _mod(y + rng.uniform(0, n), n)
    x = _mod(x + rng.uniform(0, n), n)
    fy, fx = _mod(y, p), _mod(x, p)
    dy, dx = np.minimum(fy, p - fy), np.minimum(fx, p - fx)
    pid = (np.floor(y / p).astype(np.int32) % k) * k + (np.floor(x / p).astype(np.int32) % k)
    tone = rng.uniform(-1, 1, k * k).astype(np.float32)
    inset = min(9.0, p / 6)
    # rivets near each panel corner and along the edges
    per_side = max(1, int(round(p / 48)))
    ry = np.abs(dy - inset)
    along = _mod(fx / (p / per_side), 1.0)
    rx_edge = np.abs(along - 0.5) * (p / per_side)
    rv1 = np.sqrt(ry ** 2 + rx_edge ** 2)
    alongy = _mod(fy / (p / per_side), 1.0)
    rv2 = np.sqrt((dx - inset) ** 2 + (np.abs(alongy - 0.5) * (p / per_side)) ** 2)
    rad = 3.2
    rivet = np.clip(1 - (np.minimum(rv1, rv2) / rad) ** 2, 0, 1)
    out[0] = _signed_edge(np.minimum(dx, dy), 1.0, cv)
    out[1] = tone[pid]
    out[2] = noise(rng, cv, 10, beta=1.4, stretch=(1.0, 0.03))          # brushing along x
    out[3] = _segments(rng, cv, int(rng.integers(6, 12) + 60 * wear * (n / 256) ** 2), wear)
    out[4] = np.sqrt(rivet)
    out[5] = _wear_mask(rng, cv, wear)
    out[6] = lnoise(rng, cv, 32, beta=2.8)
    out[7] = noise(rng, cv, 2.0, beta=0.8)


_LAYOUT = {"brick": _brick_layout, "wood": _wood_layout, "stone": _stone_layout, "metal": _metal_layout}


# -- the teacher ------------------------------------------------------------------------------

def _palette(rgb, hue: float, value: float):
    h, s, v = colorsys.rgb_to_hsv(*rgb)
    return np.array(colorsys.hsv_to_rgb((h + hue) % 1.0, s, min(1.0, v * (1 + value))), np.float32)


def _lerp(a, b, t):
    return a + (b - a) * t[..., None]


def render(name: str, lay: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shade a layout: (albedo HxWx3 sRGB 0..1, height HxW 0..1, roughness HxW 0..1), float32."""
    if name not in CLASSES:
        raise ValueError(f"unknown material {name!r}; known: {', '.join(CLASSES)}")
    edge, tone, a, b, extra, wear, broad, fine, ph, pv = lay[:10]
    ph, pv = float(ph.flat[0]), float(pv.flat[0])
    alb, hgt, rough = _RENDER[name](edge, tone, a, b, extra, wear, broad, fine, ph, pv)
    return (np.clip(alb, 0, 1).astype(np.float32), np.clip(hgt, 0, 1).astype(np.float32),
            np.clip(rough, 0, 1).astype(np.float32))


def _brick(edge, tone, second, _b, dome, wear, broad, fine, ph, pv):
    body = _smoothstep(-0.15, 0.35, edge)              # 0 in the mortar, 1 on the brick face
    c = _palette((0.56, 0.27, 0.19), 0.025 * ph, 0.15 * pv)
    burnt = _smoothstep(0.55, 0.8, second)
    col = c * (1 + 0.16 * tone + 0.05 * second)[..., None]
    col = _lerp(col, c * np.array([0.55, 0.5, 0.55], np.float32), burnt * 0.8)
    col = col * (1 + 0.06 * broad + 0.05 * fine)[..., None]
    col = col * (1 - 0.35 * _smoothstep(1.6, 2.6, fine))[..., None]     # dark inclusions
    col = col * (0.86 + 0.14 * _smoothstep(0.0, 0.8, edge))[..., None]  # edges catch less light
    mortar = _palette((0.70, 0.68, 0.62), 0.01 * ph, 0.05 * pv) * (1 + 0.07 * fine + 0.05 * broad)[..., None]
    alb = _lerp(mortar, col, body)
    # weathering: soot and grime, heavier in the mortar; pale efflorescence on some brick faces
    alb = alb * (1 - 0.45 * wear * (1 - 0.4 * body))[..., None]
    bloom = wear * _smoothstep(0.4, 1.6, broad) * body
    alb = _lerp(alb, np.array([0.78, 0.76, 0.72], np.float32), 0.35 * bloom)
    hgt = 0.2 + 0.02 * fine + body * (0.5 + 0.06 * (1 - dome) + 0.05 * broad + 0.02 * fine)
    rough = 0.78 + 0.14 * (1 - body) + 0.04 * fine + 0.05 * wear
    return alb, hgt, rough


def _wood(edge, tone, s, c, knot, wear, broad, fine, ph, pv):
    light = _palette((0.68, 0.49, 0.29), 0.02 * ph, 0.12 * pv)
    dark = _palette((0.44, 0.27, 0.14), 0.02 * ph, 0.12 * pv)
    late = ((0.5 + 0.5 * s) ** 3)                       # thin dark late-wood lines
    col = _lerp(light, dark, np.clip(0.75 * late + 0.1 * broad, 0, 1))
    col = col * (1 + 0.12 * tone + 0.04 * broad)[..., None]
    col = col * (1 - 0.18 * _smoothstep(0.8, 2.0, -fine))[..., None]    # pores
    col = _lerp(col, np.array([0.22, 0.13, 0.07], np.float32), 0.85 * knot)
    body = _smoothstep(-0.2, 0.3, edge)
    col = _lerp(np.array([0.10, 0.07, 0.05], np.float32), col, body)
    # weathering turns wood grey and lifts the late wood
    grey = np.array([0.56, 0.54, 0.50], np.float32) * (1 + 0.1 * tone)[..., None]
    alb = _lerp(col, grey, 0.7 * wear * (1 - 0.5 * late))
    hgt = body * (0.6 + (0.02 + 0.08 * wear) * late - 0.03 * _smoothstep(0.8, 2.0, -fine) + 0.04 * knot
                  + 0.02 * tone) + 0.1
    rough = 0.5 + 0.12 * late + 0.25 * wear + 0.3 * (1 - body)
    return alb, hgt, rough


def _stone(edge, tone, hair, f1, _x, wear, broad, fine, ph, pv):
    body = _smoothstep(-0.4, 0.15, edge)
    c0 = _palette((0.47, 0.45, 0.42), 0.03 * ph, 0.12 * pv)
    c1 = _palette((0.64, 0.61, 0.56), 0.03 * ph, 0.12 * pv)
    mott = np.clip(0.5 + 0.3 * broad + 0.2 * tone, 0, 1)                 # medium-scale mottling
    col = _lerp(c0, c1, mott)
    grain = fine
    col = col * (1 + 0.07 * grain)[..., None]
    col = _lerp(col, np.array([0.2, 0.19, 0.18], np.float32), 0.6 * _smoothstep(1.5, 2.5, grain))   # dark minerals
    col = _lerp(col, np.array([0.85, 0.83, 0.8], np.float32), 0.5 * _smoothstep(1.7, 2.7, -grain))  # pale quartz
    col = col * (1 - 0.35 * hair)[..., None]
    crack = np.array([0.16, 0.15, 0.14], np.float32)
    alb = _lerp(crack, col, body)
    alb = alb * (1 - 0.35 * wear * (1 - 0.5 * body) - 0.15 * wear * _smoothstep(-0.5, 1.0, -broad))[..., None]
    hgt = 0.08 + body * (0.4 + 0.08 * np.clip(edge, 0, 1) + 0.2 * (1 - f1 ** 2) + 0.07 * broad + 0.025 * fine
                         - 0.12 * hair)
    rough = 0.82 + 0.05 * fine + 0.08 * (1 - body) + 0.03 * wear
    return alb, hgt, rough


def _metal(edge, tone, brushed, scratch, rivet, wear, broad, fine, ph, pv):
    steel = _palette((0.60, 0.61, 0.63), 0.01 * ph, 0.12 * pv)
    body = _smoothstep(-0.2, 0.4, edge)
    col = steel * (1 + 0.05 * tone + 0.035 * brushed + 0.02 * broad + 0.015 * fine)[..., None]
    col = col * (1 + 0.25 * scratch)[..., None]
    dirt = np.clip(0.8 * wear * (0.6 + 0.4 * _smoothstep(-1.0, 1.5, broad))
                   + 0.6 * wear * (1 - _smoothstep(0.0, 1.0, edge)), 0, 1)
    col = _lerp(col, np.array([0.25, 0.22, 0.2], np.float32), 0.55 * dirt)
    col = col * (1 + 0.12 * rivet * (1 - dirt))[..., None]
    alb = _lerp(np.array([0.12, 0.12, 0.13], np.float32), col, body)
    hgt = 0.15 + body * (0.5 + 0.01 * brushed - 0.08 * scratch) + 0.25 * rivet
    rough = 0.3 + 0.04 * brushed + 0.4 * dirt - 0.12 * scratch + 0.2 * (1 - body)
    return alb, hgt, rough


_RENDER = {"brick": _brick, "wood": _wood, "stone": _stone, "metal": _metal}


def material(name: str, rng: np.random.Generator, n: int, pattern: float = 1.0, wear: float = 0.3):
    """Layout + teacher in one call: (albedo, height, roughness, layout)."""
    lay = layout(name, rng, n, pattern, wear)
    return (*render(name, lay), lay)
