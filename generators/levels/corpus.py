"""Training corpus: VGLC levels per game, normalised to the game's height, with a fixed split.

The corpus lives outside the repository (``../shared/data/vglc`` relative to the repo root, or
``$GAMEGEN_VGLC``); nothing here copies it. Levels are ``uint8`` grids of ASCII codes shape
``(game.height, width)`` (see :mod:`gamegen.generators.levels.games`).

Height normalisation (Super Mario Bros 2 Japan levels are 12 to 16 rows; SMB levels 14):
the VGLC SMB convention is 14 rows whose last row is the top ground row. A taller level loses,
one row at a time, its bottom row when that row holds no more solid tiles than the row above it
(a duplicated second ground row), otherwise its top row (empty sky). A shorter level is padded
with empty rows on top.

Held-out split (fixed names, so a benchmark always compares against the same unseen levels):

* ``smb``: ``mario-2-1``, ``mario-6-1``, ``SuperMarioBros2(J)-World2-2``,
  ``SuperMarioBros2(J)-World5-1``, ``SuperMarioBros2(J)-WorldB-1`` (5 of 37 levels, all
  overground levels of the common kind).
* ``loderunner``: ``Level 10``, ``Level 20``, ... ``Level 150`` (every level whose number is a
  multiple of 10: 15 of 150).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import FailedPrecondition
from .games import GAMES, GameSpec, mask, to_grid

HELD_OUT: dict[str, tuple[str, ...]] = {
    "smb": (
        "mario-2-1",
        "mario-6-1",
        "SuperMarioBros2(J)-World2-2",
        "SuperMarioBros2(J)-World5-1",
        "SuperMarioBros2(J)-WorldB-1",
    ),
    "loderunner": tuple(f"Level {i}" for i in range(10, 151, 10)),
}


#: SMB level kinds the corpus has, in the order of the ``style`` control. The VGLC has no castle
#: levels (no x-4 files in either game), so "castle" cannot be learned and is not offered.
SMB_STYLES: tuple[str, ...] = ("overworld", "underground", "athletic")

#: Each SMB corpus level's kind, checked against its tiles: underground levels have a brick
#: ceiling (top rows > 50% solid); athletic (treetop / bridge) levels have little ground
#: (bottom row < 45% solid) — exactly the x-3 levels plus SMB2J C-2; every other level is
#: overworld (SMB2J 2-2 is a water level in the game, but its VGLC tiles read as overworld).
SMB_STYLE_OF: dict[str, str] = {
    **{f"mario-{n}": "overworld" for n in ("1-1", "2-1", "3-1", "4-1", "5-1", "6-1", "6-2", "7-1", "8-1")},
    **{f"mario-{n}": "underground" for n in ("1-2", "4-2")},
    **{f"mario-{n}": "athletic" for n in ("1-3", "3-3", "5-3", "6-3")},
    **{f"SuperMarioBros2(J)-World{n}": "overworld"
       for n in ("1-1", "2-1", "2-2", "3-1", "4-1", "4-2", "5-1", "6-1", "8-1", "A-1", "B-1", "D-1")},
    **{f"SuperMarioBros2(J)-World{n}": "underground" for n in ("1-2", "5-2")},
    **{f"SuperMarioBros2(J)-World{n}": "athletic"
       for n in ("1-3", "2-3", "3-3", "4-3", "6-3", "A-3", "B-3", "C-2")},
}


def smb_style(name: str) -> str:
    """The kind of an SMB corpus level (:data:`SMB_STYLE_OF`); KeyError for an unknown name."""
    return SMB_STYLE_OF[name]


class CorpusMissing(FailedPrecondition, FileNotFoundError):
    """The VGLC corpus directory (or one game's folder in it) is not there."""


@dataclass(frozen=True)
class Level:
    name: str          # file stem, e.g. "mario-1-1", "Level 7"
    source: str        # corpus-relative folder, e.g. "Super_Mario_Bros/Processed"
    grid: np.ndarray   # uint8 (game.height, width)


def default_root() -> Path:
    """``$GAMEGEN_VGLC`` or ``<repo>/../shared/data/vglc``."""
    env = os.environ.get("GAMEGEN_VGLC")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[2]
    return repo.parent / "shared" / "data" / "vglc"


def normalise_height(grid: np.ndarray, game: GameSpec) -> np.ndarray:
    """Crop or pad a level to ``game.height`` rows (rule in the module docstring)."""
    solid = game.with_tag("solid")
    empty = ord(game.empty)
    g = grid
    while g.shape[0] > game.height:
        bottom, above = mask(g[-1], solid).sum(), mask(g[-2], solid).sum()
        if bottom <= above or not (g[0] == empty).all():
            g = g[:-1]
        else:
            g = g[1:]
    if g.shape[0] < game.height:
        pad = np.full((game.height - g.shape[0], g.shape[1]), empty, dtype=np.uint8)
        g = np.concatenate([pad, g], axis=0)
    return np.ascontiguousarray(g)


def _read(path: Path) -> list[str]:
    return [r for r in path.read_text(encoding="ascii").splitlines() if r.strip()]


def load_levels(game_id: str, root: Path | None = None) -> list[Level]:
    """All levels of one game, sorted by (folder, name), normalised to the game's height."""
    game = GAMES[game_id]
    root = Path(root) if root is not None else default_root()
    levels: list[Level] = []
    for sub in game.corpus_dirs:
        folder = root / sub
        if not folder.is_dir():
            raise CorpusMissing(f"VGLC corpus folder not found: {folder} (set GAMEGEN_VGLC or put the corpus at ../shared/data/vglc)")
        for path in sorted(folder.glob("*.txt")):
            rows = _read(path)
            width = len(rows[0])
            if any(len(r) != width for r in rows):
                raise ValueError(f"{path}: rows of unequal length")
            grid = normalise_height(to_grid(rows), game)
            bad = set(bytes(np.unique(grid)).decode("ascii")) - set(game.symbols)
            if bad:
                raise ValueError(f"{path}: symbols {sorted(bad)} not in the {game_id} legend {game.symbols!r}")
            if game.width is not None and grid.shape[1] != game.width:
                raise ValueError(f"{path}: width {grid.shape[1]}, expected {game.width}")
            levels.append(Level(path.stem, sub, grid))
    if not levels:
        raise CorpusMissing(f"no levels for {game_id} under {root}")
    return levels


def split(levels: list[Level], game_id: str) -> tuple[list[Level], list[Level]]:
    """(train, held_out) by the fixed :data:`HELD_OUT` names."""
    held = set(HELD_OUT[game_id])
    train = [lv for lv in levels if lv.name not in held]
    out = [lv for lv in levels if lv.name in held]
    missing = held - {lv.name for lv in out}
    if missing:
        raise CorpusMissing(f"held-out levels missing from the corpus: {sorted(missing)}")
    return train, out


def load_split(game_id: str, root: Path | None = None) -> tuple[list[Level], list[Level]]:
    return split(load_levels(game_id, root), game_id)
