"""The games we generate levels for: size, tile legend and tile colours.

The legends follow the Video Game Level Corpus encodings (one ASCII character per tile, with
tags); they are restated here so that the server needs no corpus at run time. Grids are numpy
``uint8`` arrays of those ASCII codes, shape ``(height, width)``, top row first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GameSpec:
    id: str                                   # "smb", "loderunner"
    title: str
    height: int                               # rows
    width: int | None                         # fixed width (single screen) or None (any width)
    empty: str                                # the empty/passable background tile
    legend: tuple[tuple[str, tuple[str, ...]], ...]   # (symbol, tags) in tileset order
    colors: tuple[tuple[str, tuple[int, int, int]], ...]  # symbol -> RGB for previews/tilesets
    corpus_dirs: tuple[str, ...]              # under ../shared/data/vglc, for training & tests

    @property
    def symbols(self) -> str:
        return "".join(s for s, _ in self.legend)

    def tags(self, symbol: str) -> tuple[str, ...]:
        return dict(self.legend)[symbol]

    def with_tag(self, tag: str) -> str:
        """Symbols carrying ``tag`` (e.g. ``"solid"``)."""
        return "".join(s for s, tags in self.legend if tag in tags)

    def color(self, symbol: str) -> tuple[int, int, int]:
        return dict(self.colors)[symbol]


SMB = GameSpec(
    id="smb",
    title="Super Mario Bros (side-scroller)",
    height=14,
    width=None,
    empty="-",
    legend=(
        ("-", ("passable", "empty")),
        ("X", ("solid", "ground")),
        ("S", ("solid", "breakable")),
        ("?", ("solid", "question block", "full question block")),
        ("Q", ("solid", "question block", "empty question block")),
        ("E", ("enemy", "damaging", "hazard", "moving")),
        ("<", ("solid", "top-left pipe", "pipe")),
        (">", ("solid", "top-right pipe", "pipe")),
        ("[", ("solid", "left pipe", "pipe")),
        ("]", ("solid", "right pipe", "pipe")),
        ("o", ("coin", "collectable", "passable")),
        ("B", ("cannon top", "cannon", "solid", "hazard")),
        ("b", ("cannon bottom", "cannon", "solid")),
    ),
    colors=(
        ("-", (107, 140, 255)),
        ("X", (160, 82, 45)),
        ("S", (200, 76, 12)),
        ("?", (252, 188, 60)),
        ("Q", (150, 110, 60)),
        ("E", (220, 30, 30)),
        ("<", (0, 168, 0)),
        (">", (0, 168, 0)),
        ("[", (0, 128, 0)),
        ("]", (0, 128, 0)),
        ("o", (255, 230, 0)),
        ("B", (40, 40, 40)),
        ("b", (90, 90, 90)),
    ),
    corpus_dirs=("Super_Mario_Bros/Processed", "Super_Mario_Bros_2_Japan/Processed"),
)

LODE_RUNNER = GameSpec(
    id="loderunner",
    title="Lode Runner (single 22x32 screen)",
    height=22,
    width=32,
    empty=".",
    legend=(
        (".", ("passable", "empty")),
        ("B", ("solid", "ground")),
        ("b", ("solid", "diggable", "ground")),
        ("-", ("passable", "climbable", "rope")),
        ("#", ("passable", "climbable", "ladder")),
        ("G", ("passable", "pickupable", "gold")),
        ("E", ("damaging", "enemy")),
        ("M", ("passable", "spawn")),
    ),
    colors=(
        (".", (10, 10, 30)),
        ("B", (120, 120, 140)),
        ("b", (170, 90, 50)),
        ("-", (230, 230, 230)),
        ("#", (240, 200, 80)),
        ("G", (255, 215, 0)),
        ("E", (220, 40, 40)),
        ("M", (60, 200, 255)),
    ),
    corpus_dirs=("Lode_Runner/Processed",),
)

GAMES: dict[str, GameSpec] = {g.id: g for g in (SMB, LODE_RUNNER)}


def to_grid(rows: list[str] | tuple[str, ...]) -> np.ndarray:
    """Text rows -> ``uint8`` grid of ASCII codes."""
    return np.frombuffer("".join(rows).encode("ascii"), dtype=np.uint8).reshape(len(rows), -1).copy()


def to_rows(grid: np.ndarray) -> list[str]:
    """``uint8`` grid -> text rows."""
    return [bytes(r).decode("ascii") for r in np.ascontiguousarray(grid, dtype=np.uint8)]


def mask(grid: np.ndarray, symbols: str) -> np.ndarray:
    """Boolean mask of cells whose tile is any of ``symbols``."""
    return np.isin(grid, np.frombuffer(symbols.encode("ascii"), dtype=np.uint8))
