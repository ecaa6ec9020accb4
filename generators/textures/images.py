"""PNG encoders (byte-deterministic: Pillow writes no timestamps) and guarded image uploads."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from .. import cancel
from ..params import ParamError

MIN_SIDE = 32          # smallest accepted upload side, pixels
MAX_SIDE = 2048        # largest accepted upload side, pixels
FORMATS = {"PNG": b"\x89PNG\r\n\x1a\n", "JPEG": b"\xff\xd8\xff"}
PNG_LEVEL = 1          # zlib level: maps are regenerated from a seed, speed matters more than bytes


def _png(img: Image.Image) -> bytes:
    buf = cancel.Sink()  # a BytesIO that stops the encoder at its next buffer once the request is cancelled
    img.save(buf, format="PNG", compress_level=PNG_LEVEL)
    return buf.getvalue()


def to_u8(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def png_rgb(rgb: np.ndarray) -> bytes:
    """HxWx3 floats 0..1 → 8-bit RGB PNG."""
    return _png(Image.fromarray(to_u8(rgb), "RGB"))


def png_gray(x: np.ndarray) -> bytes:
    """HxW floats 0..1 → 8-bit greyscale PNG."""
    return _png(Image.fromarray(to_u8(x), "L"))


def png_gray16(x: np.ndarray) -> bytes:
    """HxW floats 0..1 → 16-bit greyscale PNG (height maps: 65536 levels, no terracing)."""
    u16 = (np.clip(x, 0.0, 1.0) * 65535.0 + 0.5).astype(np.uint16)
    return _png(Image.fromarray(u16))  # uint16 → mode "I;16"


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
