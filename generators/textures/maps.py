"""Maps derived from height, the classical Sobel baseline, and the seam / loop measures.

All derivatives use wrap-around differences (``np.roll``), so a tileable height gives tileable
normals and AO. Normal maps come in both green conventions: OpenGL / Unity (green = +Y, "up") and
DirectX / Unreal (green = −Y, "down"); they differ only in the sign of the green channel.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .. import cancel


def normals(height: np.ndarray, strength: float = 4.0) -> np.ndarray:
    """Unit tangent-space normals (HxWx3, components in −1..1), OpenGL convention (+Y up).

    ``height`` is 0..1 over the tile; ``strength`` is how many pixels of rise a full 0→1 step
    is worth per pixel of run (relief depth). Central differences with wrap-around.
    """
    h = height.astype(np.float32) * strength
    dx = (np.roll(h, -1, axis=1) - np.roll(h, 1, axis=1)) * 0.5
    dy = (np.roll(h, -1, axis=0) - np.roll(h, 1, axis=0)) * 0.5
    cancel.check()   # 2048 px: each half of this takes ~0.2 s on a busy machine
    # image rows grow downwards; +Y (up) in tangent space is towards row 0
    inv = 1.0 / np.sqrt(dx * dx + dy * dy + 1.0)
    return np.stack([-dx * inv, dy * inv, inv], -1)


def normal_rgb(n: np.ndarray, convention: str) -> np.ndarray:
    """Encode normals to 0..1 RGB. ``gl``: green up (Unity/OpenGL); ``dx``: green down (Unreal/DirectX)."""
    if convention not in ("gl", "dx"):
        raise ValueError(f"normal convention must be gl or dx, got {convention!r}")
    m = n.copy()
    if convention == "dx":
        m[..., 1] = -m[..., 1]
    return m * 0.5 + 0.5


def box_blur_wrap(x: np.ndarray, r: int) -> np.ndarray:
    """Periodic box blur of radius ``r`` (separable; scipy's running mean over the wrapped axis,
    about twice the speed of cumulative sums over a wrap-padded copy)."""
    if r <= 0:
        return x
    out = x.astype(np.float32)
    for axis in (0, 1):
        cancel.check()   # AO of a 2048 px map is six of these passes: stop between them
        n = out.shape[axis]
        k = 2 * r + 1
        if k >= n:
            out = np.broadcast_to(out.mean(axis=axis, keepdims=True), out.shape).copy()
            continue
        out = ndimage.uniform_filter1d(out, k, axis=axis, mode="wrap")
    return out


def ambient_occlusion(height: np.ndarray, strength: float = 2.5) -> np.ndarray:
    """Cheap multi-scale AO (0 = occluded, 1 = open): how far a point sits below its surroundings."""
    h = height.astype(np.float32)
    n = min(h.shape)
    occ = np.zeros_like(h)
    wsum = 0.0
    for r, w in ((2, 1.0), (6, 0.7), (16, 0.5)):
        r = max(1, int(round(r * n / 256)))
        occ += w * np.clip(box_blur_wrap(h, r) - h, 0, None)
        wsum += w
    return np.clip(1.0 - strength * occ / wsum, 0.0, 1.0)


def luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * 0.2126 + rgb[..., 1] * 0.7152 + rgb[..., 2] * 0.0722


def sobel_height(rgb: np.ndarray) -> np.ndarray:
    """The classical baseline's height: luminance, normalised to 0..1 (bright = high)."""
    lum = luminance(rgb.astype(np.float32))
    lo, hi = float(lum.min()), float(lum.max())
    return (lum - lo) / (hi - lo) if hi > lo else np.zeros_like(lum)


def sobel_normals(rgb: np.ndarray, strength: float = 2.0) -> np.ndarray:
    """Classical baseline: Sobel gradients of luminance (wrap-around) → unit normals (OpenGL)."""
    lum = luminance(rgb.astype(np.float32)) * strength
    r = lambda a, dy, dx: np.roll(np.roll(a, dy, axis=0), dx, axis=1)  # noqa: E731
    gx = (r(lum, 1, -1) + 2 * r(lum, 0, -1) + r(lum, -1, -1) - r(lum, 1, 1) - 2 * r(lum, 0, 1) - r(lum, -1, 1)) / 8
    gy = (r(lum, -1, 1) + 2 * r(lum, -1, 0) + r(lum, -1, -1) - r(lum, 1, 1) - 2 * r(lum, 1, 0) - r(lum, 1, -1)) / 8
    n = np.stack([-gx, gy, np.ones_like(lum)], -1)
    return n / np.linalg.norm(n, axis=-1, keepdims=True)


def sobel_roughness(rgb: np.ndarray) -> np.ndarray:
    """Classical baseline roughness: inverted luminance squeezed into 0.4..0.9."""
    return (0.9 - 0.5 * sobel_height(rgb)).astype(np.float32)


def wrap_resize(img: np.ndarray, size: int, width: int | None = None) -> np.ndarray:
    """Resample a periodic image (HxW or HxWxC) to ``size × size`` (or ``size × width``) with
    wrap-around bilinear interpolation, so the result still tiles. Used for the ``scale`` control,
    previews and feeding networks sizes they take."""
    h, w = img.shape[:2]
    width = size if width is None else width
    if (h, w) == (size, width):
        return img
    ys = (np.arange(size) + 0.5) * h / size - 0.5
    xs = (np.arange(width) + 0.5) * w / width - 0.5
    y0 = np.floor(ys).astype(int)
    x0 = np.floor(xs).astype(int)
    fy = (ys - y0).astype(np.float32)
    fx = (xs - x0).astype(np.float32)
    if size == width and h == w and size < h:  # square downsampling: average first so nothing aliases
        f = h // size
        if f > 1 and h % size == 0:
            return img.reshape(size, f, size, f, *img.shape[2:]).mean(axis=(1, 3)).astype(img.dtype)
    a = img[y0 % h]
    b = img[(y0 + 1) % h]
    fy = fy.reshape(-1, *([1] * (img.ndim - 1)))
    rows = a * (1 - fy) + b * fy
    c = rows[:, x0 % w]
    d = rows[:, (x0 + 1) % w]
    fx = fx.reshape(1, -1, *([1] * (img.ndim - 2)))
    return (c * (1 - fx) + d * fx).astype(img.dtype)


# -- measures ---------------------------------------------------------------------------------

def seam_error(img: np.ndarray) -> float:
    """Mean |difference| across the wrap-around edges divided by the same across interior rows and
    columns. About 1.0: the seam looks like any other neighbouring pair (seamless); a tile that
    does not wrap scores well above 1."""
    x = img.astype(np.float64)
    if x.ndim == 2:
        x = x[..., None]
    wrap = np.concatenate([np.abs(x[0] - x[-1]).ravel(), np.abs(x[:, 0] - x[:, -1]).ravel()]).mean()
    inner = np.concatenate([np.abs(np.diff(x, axis=0)).ravel(), np.abs(np.diff(x, axis=1)).ravel()]).mean()
    return float(wrap / inner) if inner > 0 else float("inf") if wrap > 0 else 1.0


def loop_seam(frames: np.ndarray) -> float:
    """Mean |last − first| divided by the mean |frame i+1 − frame i|: about 1.0 loops smoothly."""
    x = frames.astype(np.float64)
    step = np.abs(np.diff(x, axis=0)).mean()
    wrap = np.abs(x[0] - x[-1]).mean()
    return float(wrap / step) if step > 0 else float("inf") if wrap > 0 else 1.0
