"""Level encoders: txt / Tiled JSON (.tmj + .tsj + tileset PNG) / PNG preview."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from gamegen.generators.levels.encoders import FORMATS, PREVIEW_SCALE, TILE_SIZE, encode
from gamegen.generators.levels.games import LODE_RUNNER, SMB, to_grid, to_rows

# Small hand-made grids (not corpus files).
SMB_ROWS = [
    "----------------",
    "----------------",
    "----------------",
    "----------------",
    "----------------",
    "-----?-S?S------",
    "----------------",
    "----------------",
    "-----------o----",
    "---------B--Q---",
    "-------<>-b-----",
    "---E---[]-b--E--",
    "XXXXXXXXXXXX--XX",
    "XXXXXXXXXXXX--XX",
]
LR_ROWS = [
    "........",
    ".G..E...",
    "bbb#bbbb",
    "...#----",
    "...#..G.",
    ".M.#....",
    "BBBBBBBB",
]

CASES = [(SMB, SMB_ROWS), (LODE_RUNNER, LR_ROWS)]
IDS = ["smb", "loderunner"]


def _by_name(assets):
    return {a.name: a for a in assets}


def _decode_tmj(tmj: dict, tsj: dict) -> list[str]:
    """Rebuild the text rows from the map's gids via the tileset's ``symbol`` properties."""
    (ts,) = tmj["tilesets"]
    symbol = {t["id"]: next(p["value"] for p in t["properties"] if p["name"] == "symbol") for t in tsj["tiles"]}
    empty = next(p["value"] for p in tmj["properties"] if p["name"] == "empty_symbol")
    layer = next(l for l in tmj["layers"] if l["type"] == "tilelayer")
    w, h = layer["width"], layer["height"]
    cells = [empty if g == 0 else symbol[g - ts["firstgid"]] for g in layer["data"]]
    assert len(cells) == w * h
    return ["".join(cells[r * w:(r + 1) * w]) for r in range(h)]


@pytest.mark.parametrize("game,rows", CASES, ids=IDS)
def test_asset_names_and_types(game, rows):
    assets = encode(game, to_grid(rows), FORMATS, basename="lvl")
    assert [(a.name, a.media_type, a.format) for a in assets] == [
        ("lvl.txt", "text/plain", "txt"),
        ("lvl.tmj", "application/json", "tmj"),
        (f"{game.id}.tsj", "application/json", "tmj"),
        (f"{game.id}-tiles.png", "image/png", "tmj"),
        ("lvl.png", "image/png", "png"),
    ]
    assert [a.name for a in encode(game, to_grid(rows), ["png", "txt", "png"])] == ["level.png", "level.txt"]
    assert encode(game, to_grid(rows), []) == []


@pytest.mark.parametrize("game,rows", CASES, ids=IDS)
def test_txt_round_trip(game, rows):
    (txt,) = encode(game, to_grid(rows), ["txt"])
    text = txt.data.decode("ascii")
    assert text == "\n".join(rows) + "\n"
    assert np.array_equal(to_grid(text.splitlines()), to_grid(rows))


@pytest.mark.parametrize("game,rows", CASES, ids=IDS)
def test_tmj_decodes_to_the_grid(game, rows):
    assets = _by_name(encode(game, to_grid(rows), ["tmj"]))
    tmj = json.loads(assets["level.tmj"].data)
    tsj = json.loads(assets[f"{game.id}.tsj"].data)
    assert tmj["type"] == "map" and tmj["orientation"] == "orthogonal" and tmj["renderorder"] == "right-down"
    assert (tmj["width"], tmj["height"]) == (len(rows[0]), len(rows))
    assert (tmj["tilewidth"], tmj["tileheight"], tmj["infinite"]) == (16, 16, False)
    assert tmj["tilesets"] == [{"firstgid": 1, "source": f"{game.id}.tsj"}]
    assert tmj["nextlayerid"] > max(l["id"] for l in tmj["layers"])
    assert _decode_tmj(tmj, tsj) == rows
    data = next(l for l in tmj["layers"] if l["name"] == "tiles")["data"]
    # the empty tile is "no tile" (gid 0)
    assert all((g == 0) == (c == game.empty) for g, c in zip(data, "".join(rows)))
    # legend tags are custom properties
    for t, (sym, tags) in zip(tsj["tiles"], game.legend):
        props = {p["name"]: p["value"] for p in t["properties"]}
        assert props["symbol"] == sym and props["tags"] == ",".join(tags)
        assert all(props[tag] is True for tag in tags)


@pytest.mark.parametrize("game,rows", CASES, ids=IDS)
def test_tileset_image_matches_tsj(game, rows):
    assets = _by_name(encode(game, to_grid(rows), ["tmj"]))
    tsj = json.loads(assets[f"{game.id}.tsj"].data)
    assert tsj["type"] == "tileset" and tsj["tilecount"] == len(game.legend)
    assert tsj["image"] == f"{game.id}-tiles.png"
    img = Image.open(io.BytesIO(assets[tsj["image"]].data))
    assert img.size == (tsj["imagewidth"], tsj["imageheight"])
    assert tsj["imagewidth"] * tsj["imageheight"] == tsj["tilecount"] * TILE_SIZE * TILE_SIZE
    assert tsj["columns"] * TILE_SIZE == tsj["imagewidth"]
    # every tile looks different
    a = np.asarray(img.convert("RGB"))
    tiles = {a[:, i * 16:(i + 1) * 16].tobytes() for i in range(tsj["tilecount"])}
    assert len(tiles) == tsj["tilecount"]


def test_markers_layer():
    assets = _by_name(encode(LODE_RUNNER, to_grid(LR_ROWS), ["tmj"]))
    tmj = json.loads(assets["level.tmj"].data)
    objs = next(l for l in tmj["layers"] if l["name"] == "markers")["objects"]
    spawn = [o for o in objs if o["name"] == "spawn"]
    enemies = [o for o in objs if o["name"] == "enemy"]
    assert len(spawn) == 1 and spawn[0]["point"] is True
    assert (spawn[0]["x"], spawn[0]["y"]) == (1 * 16 + 8, 5 * 16 + 8)
    assert len(enemies) == 1 and (enemies[0]["x"], enemies[0]["y"]) == (4 * 16 + 8, 1 * 16 + 8)
    assert sorted(o["id"] for o in objs) == list(range(1, len(objs) + 1))
    assert tmj["nextobjectid"] == len(objs) + 1


@pytest.mark.parametrize("game,rows", CASES, ids=IDS)
def test_png_preview(game, rows):
    (png,) = encode(game, to_grid(rows), ["png"])
    img = Image.open(io.BytesIO(png.data))
    assert img.format == "PNG"
    assert img.size == (len(rows[0]) * PREVIEW_SCALE, len(rows) * PREVIEW_SCALE)
    a = np.asarray(img.convert("RGB"))
    for y, row in enumerate(rows):
        for x, s in enumerate(row):
            assert tuple(a[y * PREVIEW_SCALE + 3, x * PREVIEW_SCALE + 3]) == game.color(s)


@pytest.mark.parametrize("game,rows", CASES, ids=IDS)
def test_deterministic(game, rows):
    first = encode(game, to_grid(rows), FORMATS)
    again = encode(game, np.array(to_grid(rows), dtype=np.int64), FORMATS)
    assert [(a.name, a.data) for a in first] == [(a.name, a.data) for a in again]
    other = encode(game, to_grid(rows[::-1]), FORMATS)
    assert first[0].data != other[0].data and first[1].data != other[1].data


def test_unknown_symbol_and_format():
    grid = to_grid(SMB_ROWS)
    grid[3, 4] = ord("Z")
    with pytest.raises(ValueError, match="'Z'"):
        encode(SMB, grid, ["txt"])
    with pytest.raises(ValueError, match="'M'"):
        encode(SMB, to_grid(["--M-"]), ["png"])
    with pytest.raises(ValueError, match="format"):
        encode(SMB, to_grid(SMB_ROWS), ["gif"])


@pytest.mark.parametrize("game,rows", CASES, ids=IDS)
def test_tiled_parser_loads_the_map(game, rows, tmp_path):
    """Independent check with a Tiled JSON reader (pytiled-parser; pytmx only reads XML .tmx)."""
    pytiled_parser = pytest.importorskip("pytiled_parser")
    for a in encode(game, to_grid(rows), ["tmj"]):
        (tmp_path / a.name).write_bytes(a.data)
    m = pytiled_parser.parse_map(tmp_path / "level.tmj")
    assert (m.map_size.width, m.map_size.height) == (len(rows[0]), len(rows))
    ts = m.tilesets[1]
    assert ts.tile_count == len(game.legend) and ts.image.name == f"{game.id}-tiles.png"
    symbol = {tid: t.properties["symbol"] for tid, t in ts.tiles.items()}
    layer = next(l for l in m.layers if l.name == "tiles")
    got = ["".join(game.empty if g == 0 else symbol[g - 1] for g in r) for r in layer.data]
    assert got == rows
    assert to_rows(to_grid(got)) == rows
