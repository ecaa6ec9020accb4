"""PNG encoders (byte-deterministic, no timestamps) and guarded image uploads.

Maps are encoded by :func:`encode_png`: every row uses the PNG *Sub* filter and deflate runs at
level 1 with the run-length strategy (the "fast" settings OpenCV and libpng users pick). Pillow,
which decodes uploads here, has no way to fix the filter: its encoder tries four filters on every
row, and at level 1 that search was most of a 512 px PBR set's encode time (an RGB map: ~35 ms
against ~12 ms, and the files come out smaller; ``benchmarks/textures_latency.py``). The writer
is a PNG signature, an ``IHDR``, ``IDAT`` chunks and an ``IEND`` (zlib does the compression and the
CRCs), fed through :class:`cancel.Sink` strip by strip, so a cancelled 2048 px encode stops within
one strip of rows.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

from .. import cancel
from ..params import ParamError

MIN_SIDE = 32          # smallest accepted upload side, pixels
MAX_SIDE = 2048        # largest accepted upload side, pixels
FORMATS = {"PNG": b"\x89PNG\r\n\x1a\n", "JPEG": b"\xff\xd8\xff"}
PNG_LEVEL = 1          # zlib level: maps are regenerated from a seed, speed matters more than bytes
STRIP_BYTES = 1 << 16  # filtered bytes handed to zlib at a time (the cancellation granularity)
_COLOUR = {1: 0, 3: 2, 4: 6}   # channels → PNG colour type (grey, RGB, RGBA)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


def encode_png(a: np.ndarray) -> bytes:
    """``uint8`` H×W (grey), H×W×3 (RGB), H×W×4 (RGBA, straight alpha) or ``uint16`` H×W (16-bit
    grey) → PNG bytes. Stops with :class:`cancel.Cancelled` at the next strip once the request's
    token is set."""
    if a.dtype not in (np.uint8, np.uint16) or a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in _COLOUR) \
            or (a.dtype == np.uint16 and a.ndim != 2):
        raise ValueError(f"encode_png takes uint8 grey/RGB/RGBA or uint16 grey, got {a.dtype} {a.shape}")
    h, w = a.shape[:2]
    channels = 1 if a.ndim == 2 else a.shape[2]
    depth = 16 if a.dtype == np.uint16 else 8
    rows = np.ascontiguousarray(a, dtype=">u2" if depth == 16 else np.uint8).view(np.uint8).reshape(h, -1)
    bpp = channels * depth // 8          # the Sub filter subtracts the byte one pixel to the left
    filtered = np.empty((h, rows.shape[1] + 1), np.uint8)
    filtered[:, 0] = 1                   # filter type 1: Sub
    filtered[:, 1:bpp + 1] = rows[:, :bpp]
    np.subtract(rows[:, bpp:], rows[:, :-bpp], out=filtered[:, bpp + 1:])
    flat = memoryview(filtered.reshape(-1))
    step = max(1, STRIP_BYTES // filtered.shape[1]) * filtered.shape[1]
    sink = cancel.Sink()
    sink.write(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, _COLOUR[channels], 0, 0, 0)))
    z = zlib.compressobj(PNG_LEVEL, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    for i in range(0, len(flat), step):
        out = z.compress(flat[i:i + step])
        if out:
            sink.write(_chunk(b"IDAT", out))      # raises Cancelled once the token is set
    sink.write(_chunk(b"IDAT", z.flush()) + _chunk(b"IEND", b""))
    return sink.getvalue()


def to_u8(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def png_rgb(rgb: np.ndarray) -> bytes:
    """HxWx3 floats 0..1 → 8-bit RGB PNG."""
    return encode_png(to_u8(rgb))


def png_rgba(rgba: np.ndarray) -> bytes:
    """HxWx4 floats 0..1 → 8-bit RGBA PNG (straight alpha)."""
    return encode_png(to_u8(rgba))


def png_gray(x: np.ndarray) -> bytes:
    """HxW floats 0..1 → 8-bit greyscale PNG."""
    return encode_png(to_u8(x))


def png_gray16(x: np.ndarray) -> bytes:
    """HxW floats 0..1 → 16-bit greyscale PNG (height maps: 65536 levels, no terracing)."""
    return encode_png((np.clip(x, 0.0, 1.0) * 65535.0 + 0.5).astype(np.uint16))


def check_image(field: str, data: bytes, min_side: int = MIN_SIDE, max_side: int = MAX_SIDE) -> None:
    """The upload sniff: a PNG or JPEG (magic bytes) whose header says each side is within limits.

    Reads the header only — no pixel is decoded — so it is cheap enough to run on every request
    and for every asset of a bake file before any work, and a decompression bomb is refused
    without being inflated. Raises :class:`ParamError` naming ``field``.
    """
    _open_checked(field, data, min_side, max_side).close()


def _open_checked(field: str, data: bytes, min_side: int, max_side: int) -> Image.Image:
    if not data:
        raise ParamError(field, f"{field} is empty (0 bytes); send a PNG or JPEG image")
    if not any(data.startswith(m) for m in FORMATS.values()):
        raise ParamError(field, f"{field} is not a PNG or JPEG image (it starts with {data[:8]!r}); "
                                "send the bytes of a .png or .jpg file")

    def check(w: int, h: int) -> None:
        if min(w, h) < min_side or max(w, h) > max_side:
            raise ParamError(field, f"{field} is {w}x{h} pixels; each side must be from {min_side} to "
                                    f"{max_side} pixels")

    if data.startswith(FORMATS["PNG"]) and len(data) >= 24 and data[12:16] == b"IHDR":
        check(int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big"))  # before Pillow looks
    try:
        im = Image.open(io.BytesIO(data), formats=list(FORMATS))
    except Image.DecompressionBombError as e:
        raise ParamError(field, f"{field} is far too large ({e}); each side must be from {min_side} to "
                                f"{max_side} pixels") from None
    except (OSError, ValueError, SyntaxError) as e:
        raise ParamError(field, f"{field} could not be decoded as a PNG or JPEG image: {e}") from None
    try:
        check(*im.size)
    except ParamError:
        im.close()
        raise
    return im


def decode_image(field: str, data: bytes, min_side: int = MIN_SIDE, max_side: int = MAX_SIDE) -> np.ndarray:
    """An uploaded PNG or JPEG → HxWx3 float32 sRGB 0..1, or :class:`ParamError` naming ``field``.

    The format is checked from the magic bytes and the size from the header *before* any pixel is
    decoded (:func:`check_image`), so a decompression bomb is refused without being inflated.
    """
    try:
        with _open_checked(field, data, min_side, max_side) as im:
            im.load()
            rgb = im.convert("RGB")
    except ParamError:
        raise
    except (OSError, ValueError, SyntaxError) as e:
        raise ParamError(field, f"{field} could not be decoded as a PNG or JPEG image: {e}") from None
    return np.asarray(rgb, dtype=np.float32) / 255.0
