"""Level grids -> engine-ready assets: plain text, Tiled JSON (.tmj + .tsj + tileset PNG), PNG preview.

``encode(game, grid, formats, basename)`` returns :class:`~gamegen.generators.events.Asset` s in
the order of ``formats``:

* ``"txt"``  -> ``<basename>.txt`` (``text/plain``): one legend character per tile, rows joined by
  ``"\\n"`` with a trailing newline (the Video Game Level Corpus layout).
* ``"tmj"``  -> ``<basename>.tmj``, ``<game.id>.tsj`` and ``<game.id>-tiles.png`` (all format
  ``"tmj"``): a Tiled 1.10 JSON map referencing the external tileset ``<game.id>.tsj`` (one per
  game, shared by all its levels), which references the tileset image ``<game.id>-tiles.png``.
* ``"png"``  -> ``<basename>.png`` (``image/png``): a flat-colour preview, :data:`PREVIEW_SCALE`
  pixels per tile.

Tiled conventions used here:

* Tile ``i`` of the tileset is the ``i``-th legend symbol (``game.legend`` order), so its global
  id (gid) in the map is ``i + 1`` (the tileset's ``firstgid`` is 1).
* **The empty tile (``game.empty``) is written as gid 0** ("no tile"), so Tiled and engine importers
  create nothing for background cells; the map's ``backgroundcolor`` is the empty tile's colour.
  The empty tile is still in the tileset (for engines that want to paint it). Decoding: gid 0 ->
  ``game.empty``, gid ``k`` -> legend symbol ``k - 1``.
* Every tileset tile has custom properties: ``symbol`` (string, the legend character), ``tags``
  (string, comma-joined legend tags) and one ``bool`` property per tag set to ``true`` (e.g.
  ``solid``), so Tiled importers (SuperTiled2Unity, Unreal Tiled importers, Godot) can map
  collisions and prefabs from them.
* An object layer ``markers`` holds a point object for every tile tagged ``spawn`` (named
  ``"spawn"``, e.g. the Lode Runner player start) or ``enemy`` (named ``"enemy"``), at the tile's
  centre in pixels, with ``symbol``/``col``/``row`` properties. The tiles stay in the tile layer
  too; the markers are a convenience for engines that place actors from objects.

Bytes are deterministic: JSON with a fixed key order and fixed separators and no timestamps;
PNGs written by Pillow from numpy arrays (no metadata). The per-game tileset (.tsj and image) is
built once per :class:`GameSpec` and cached.
"""

from __future__ import annotations

import functools
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..events import Asset
from .games import GameSpec

FORMATS = ("txt", "tmj", "png")

TILE_SIZE = 16          # Tiled tile size in pixels (tileset image and map)
PREVIEW_SCALE = 8       # preview pixels per tile
TILED_VERSION = "1.10.2"
TILED_FORMAT_VERSION = "1.10"
MARKER_TAGS = ("spawn", "enemy")   # tiles that also get a point object in the "markers" layer

_JSON_KW = dict(ensure_ascii=False, separators=(",", ":"), sort_keys=False)


# -- per-game tables (cached) ------------------------------------------------------------------


@dataclass(frozen=True)
class _Tables:
    index: np.ndarray        # (256,) int16: ASCII code -> legend index, -1 for unknown symbols
    gid: np.ndarray          # (256,) uint32: ASCII code -> Tiled gid (0 for the empty tile)
    rgb: np.ndarray          # (256, 3) uint8: ASCII code -> preview colour
    tileset: Asset           # <game.id>.tsj
    tileset_image: Asset     # <game.id>-tiles.png
    background: str          # "#rrggbb" of the empty tile


@functools.lru_cache(maxsize=32)
def _tables(game: GameSpec) -> _Tables:
    symbols = game.symbols
    if game.empty not in symbols:
        raise ValueError(f"{game.id}: empty tile {game.empty!r} is not in the legend")
    index = np.full(256, -1, dtype=np.int16)
    gid = np.zeros(256, dtype=np.uint32)
    rgb = np.zeros((256, 3), dtype=np.uint8)
    for i, s in enumerate(symbols):
        c = ord(s)
        index[c] = i
        gid[c] = 0 if s == game.empty else i + 1
        rgb[c] = game.color(s)
    for a in (index, gid, rgb):
        a.setflags(write=False)
    image = _tileset_image(game)
    tsj = _tileset_json(game, image.width, image.height)
    r, g, b = game.color(game.empty)
    return _Tables(
        index=index, gid=gid, rgb=rgb,
        tileset=Asset(f"{game.id}.tsj", "application/json", tsj, "tmj"),
        tileset_image=Asset(f"{game.id}-tiles.png", "image/png", _png_bytes(image), "tmj"),
        background=f"#{r:02x}{g:02x}{b:02x}",
    )


def _png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


# -- tileset image -------------------------------------------------------------------------------

_YY, _XX = np.mgrid[0:TILE_SIZE, 0:TILE_SIZE]

# 5x7 "?" glyph for question blocks.
_QUESTION = np.array([
    [0, 1, 1, 1, 0],
    [1, 0, 0, 0, 1],
    [0, 0, 0, 0, 1],
    [0, 0, 1, 1, 0],
    [0, 0, 1, 0, 0],
    [0, 0, 0, 0, 0],
    [0, 0, 1, 0, 0],
], dtype=bool)


def _shade(rgb, f: float) -> np.ndarray:
    """f < 0 darkens towards black, f > 0 lightens towards white."""
    c = np.asarray(rgb, dtype=np.float64)
    c = c * (1 + f) if f < 0 else c + (255 - c) * f
    return np.clip(np.rint(c), 0, 255).astype(np.uint8)


def _disc(cy: float, cx: float, r: float) -> np.ndarray:
    return (_YY - cy) ** 2 + (_XX - cx) ** 2 <= r * r


def _tile(game: GameSpec, symbol: str, tags: tuple[str, ...]) -> np.ndarray:
    """One 16x16 RGB tile: the symbol's flat colour with a small mark that tells tiles apart."""
    color = np.array(game.color(symbol), dtype=np.uint8)
    dark, light = _shade(color, -0.45), _shade(color, 0.45)
    t = np.empty((TILE_SIZE, TILE_SIZE, 3), dtype=np.uint8)
    n = TILE_SIZE - 1
    if symbol == game.empty:
        t[:] = color
        return t
    if "solid" in tags:
        t[:] = color
        if "breakable" in tags or "diggable" in tags:          # bricks
            t[_YY % 4 == 3] = dark
            t[(_YY // 4 % 2 == 0) & (_XX % 8 == 7)] = dark
            t[(_YY // 4 % 2 == 1) & (_XX % 8 == 3)] = dark
        if "full question block" in tags:                      # "?"
            gy, gx = np.nonzero(_QUESTION)
            for dy, dx in ((1, 1), (0, 0)):
                t[4 + gy + dy, 5 + gx + dx] = dark if dy else _shade(color, 0.85)
        elif "empty question block" in tags:                   # rivets
            for y, x in ((3, 3), (3, 12), (12, 3), (12, 12)):
                t[y, x] = dark
        if "pipe" in tags:                                     # highlight stripe
            left = "left" in " ".join(tags)
            t[:, (4, 5) if left else (1, 2)] = light
            t[:, n if not left else 0] = dark
            if "top-left pipe" in tags or "top-right pipe" in tags:
                t[n] = dark
        if "cannon top" in tags:
            t[_disc(7.5, 7.5, 4.5)] = _shade(color, -0.8)
            t[_disc(6, 6, 1.2)] = light
        # bevel: light top/left, dark bottom/right
        t[0, :] = light
        t[:, 0] = light
        t[n, :] = dark
        t[:, n] = dark
        return t
    # Things in open space: drawn in their colour over the empty tile's colour.
    t[:] = game.color(game.empty)
    if "ladder" in tags:
        t[:, (3, 4, 11, 12)] = color
        t[(_YY % 4 == 1) & (_XX > 4) & (_XX < 11)] = color
    elif "rope" in tags:
        t[2:4, :] = color
    elif "enemy" in tags:
        t[_disc(8, 7.5, 6.5) & (_YY < 14)] = color
        t[14:16, 2:6] = dark
        t[14:16, 10:14] = dark
        for x in (5, 9):
            t[5:8, x:x + 2] = (255, 255, 255)
            t[6:8, x + 1] = (0, 0, 0)
    elif "spawn" in tags:                                      # stick figure
        t[_disc(3, 7.5, 2.2)] = color
        t[5:11, 7:9] = color
        t[7, 3:13] = color
        t[11:16, 5:7] = color
        t[11:16, 9:11] = color
    elif {"coin", "gold", "collectable", "pickupable"} & set(tags):
        t[_disc(8.5, 7.5, 5.5)] = dark
        t[_disc(8.5, 7.5, 4.5)] = color
        t[5:12, 7:9] = light
    else:
        t[4:12, 4:12] = color
    return t


def _tileset_image(game: GameSpec) -> Image.Image:
    tiles = [_tile(game, s, tags) for s, tags in game.legend]
    return Image.fromarray(np.concatenate(tiles, axis=1), mode="RGB")


def _tileset_json(game: GameSpec, image_width: int, image_height: int) -> bytes:
    tiles = []
    for i, (symbol, tags) in enumerate(game.legend):
        props = [
            {"name": "symbol", "type": "string", "value": symbol},
            {"name": "tags", "type": "string", "value": ",".join(tags)},
        ]
        props += [{"name": tag, "type": "bool", "value": True} for tag in tags if tag not in ("symbol", "tags")]
        tiles.append({"id": i, "properties": props})
    doc = {
        "type": "tileset",
        "version": TILED_FORMAT_VERSION,
        "tiledversion": TILED_VERSION,
        "name": game.id,
        "tilewidth": TILE_SIZE,
        "tileheight": TILE_SIZE,
        "tilecount": len(game.legend),
        "columns": len(game.legend),
        "spacing": 0,
        "margin": 0,
        "image": f"{game.id}-tiles.png",
        "imagewidth": image_width,
        "imageheight": image_height,
        "properties": [
            {"name": "empty_symbol", "type": "string", "value": game.empty},
            {"name": "game", "type": "string", "value": game.id},
        ],
        "tiles": tiles,
    }
    return json.dumps(doc, **_JSON_KW).encode("utf-8")


# -- encoders ------------------------------------------------------------------------------------


def _validate(game: GameSpec, grid: np.ndarray) -> np.ndarray:
    grid = np.asarray(grid)
    if grid.ndim != 2 or grid.shape[0] == 0 or grid.shape[1] == 0:
        raise ValueError(f"level grid must be a non-empty 2-D array, got shape {grid.shape}")
    if grid.dtype != np.uint8:
        if not np.issubdtype(grid.dtype, np.integer) or grid.min() < 0 or grid.max() > 255:
            raise ValueError(f"level grid must hold ASCII codes (uint8), got dtype {grid.dtype}")
        grid = grid.astype(np.uint8)
    bad = _tables(game).index[grid] < 0
    if bad.any():
        codes = np.unique(grid[bad])
        shown = ", ".join(repr(chr(int(c))) for c in codes[:8])
        y, x = (int(v) for v in np.argwhere(bad)[0])
        raise ValueError(f"{game.id}: unknown tile symbol(s) {shown} in level grid (first at row {y}, column {x})")
    return np.ascontiguousarray(grid)


def _txt(grid: np.ndarray, basename: str) -> Asset:
    h, w = grid.shape
    out = np.full((h, w + 1), ord("\n"), dtype=np.uint8)
    out[:, :w] = grid
    return Asset(f"{basename}.txt", "text/plain", out.tobytes(), "txt")


def _tmj(game: GameSpec, grid: np.ndarray, basename: str) -> list[Asset]:
    tables = _tables(game)
    h, w = grid.shape
    objects = []
    marker_symbols = {s: tag for tag in reversed(MARKER_TAGS) for s in game.with_tag(tag)}
    if marker_symbols:
        codes = np.frombuffer("".join(marker_symbols).encode("ascii"), dtype=np.uint8)
        for y, x in np.argwhere(np.isin(grid, codes)):                 # row-major order
            symbol = chr(int(grid[y, x]))
            name = marker_symbols[symbol]
            objects.append({
                "id": len(objects) + 1,
                "name": name,
                "type": name,
                "x": int(x) * TILE_SIZE + TILE_SIZE // 2,
                "y": int(y) * TILE_SIZE + TILE_SIZE // 2,
                "width": 0,
                "height": 0,
                "rotation": 0,
                "visible": True,
                "point": True,
                "properties": [
                    {"name": "col", "type": "int", "value": int(x)},
                    {"name": "row", "type": "int", "value": int(y)},
                    {"name": "symbol", "type": "string", "value": symbol},
                ],
            })
    doc = {
        "type": "map",
        "version": TILED_FORMAT_VERSION,
        "tiledversion": TILED_VERSION,
        "orientation": "orthogonal",
        "renderorder": "right-down",
        "width": w,
        "height": h,
        "tilewidth": TILE_SIZE,
        "tileheight": TILE_SIZE,
        "infinite": False,
        "backgroundcolor": tables.background,
        "compressionlevel": -1,
        "nextlayerid": 3,
        "nextobjectid": len(objects) + 1,
        "properties": [
            {"name": "empty_symbol", "type": "string", "value": game.empty},
            {"name": "game", "type": "string", "value": game.id},
        ],
        "tilesets": [{"firstgid": 1, "source": tables.tileset.name}],
        "layers": [
            {
                "id": 1, "name": "tiles", "type": "tilelayer",
                "x": 0, "y": 0, "width": w, "height": h,
                "opacity": 1, "visible": True,
                "data": tables.gid[grid].ravel().tolist(),
            },
            {
                "id": 2, "name": "markers", "type": "objectgroup", "draworder": "topdown",
                "x": 0, "y": 0, "opacity": 1, "visible": True,
                "objects": objects,
            },
        ],
    }
    data = json.dumps(doc, **_JSON_KW).encode("utf-8")
    return [Asset(f"{basename}.tmj", "application/json", data, "tmj"), tables.tileset, tables.tileset_image]


def _png(game: GameSpec, grid: np.ndarray, basename: str) -> Asset:
    rgb = _tables(game).rgb[grid]
    rgb = np.repeat(np.repeat(rgb, PREVIEW_SCALE, axis=0), PREVIEW_SCALE, axis=1)
    return Asset(f"{basename}.png", "image/png", _png_bytes(Image.fromarray(rgb, mode="RGB")), "png")


def encode(game: GameSpec, grid: np.ndarray, formats: Sequence[str], basename: str = "level") -> list[Asset]:
    """Encode ``grid`` (uint8 ASCII codes, ``(height, width)``, top row first) in ``formats``.

    Assets come in the order of ``formats`` (duplicates ignored); ``"tmj"`` yields three assets
    (map, tileset, tileset image). Raises ``ValueError`` for an unknown format or a grid cell whose
    symbol is not in ``game``'s legend.
    """
    if isinstance(formats, str):
        formats = (formats,)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown level format(s) {unknown}; levels offer {list(FORMATS)}")
    grid = _validate(game, grid)
    assets: list[Asset] = []
    for fmt in dict.fromkeys(formats):
        if fmt == "txt":
            assets.append(_txt(grid, basename))
        elif fmt == "tmj":
            assets.extend(_tmj(game, grid, basename))
        else:
            assets.append(_png(game, grid, basename))
    return assets
