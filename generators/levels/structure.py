"""A structural validator for Super Mario Bros levels, learned from the corpus (numpy only).

What a designer objects to when looking at a generated level, counted per level:

``unseen_3x3``
    3×3 tile windows that never occur in the reference (training) levels — tile combinations
    the corpus does not have (a pipe through a platform, an enemy inside the floor, a pipe top
    on ground, ...). Counted per window position.
``tall_pipe``
    pipes (top ``<>`` plus body ``[]``) taller than the tallest pipe of the reference levels.
``ungrounded``
    pipes or cannons that do not stand on something: a pipe column ending in the air, a half
    pipe, a pipe body without a top, a cannon with air below it (:func:`repair.malformed_pipes`).
``cannon_stack``
    cannon columns (``B``/``b`` run) taller than the reference levels' tallest.
``lone_coin`` / ``lone_block``
    a coin, or a block (``S`` ``?`` ``Q``), floating alone: nothing but air in its 8 neighbours
    and air below it down to at least 3 rows. Real levels have some (the first ``?`` of 1-1), so
    the number to compare is the rate against held-out real levels, not zero.

:class:`CorpusStats` holds what is learned (pattern set, tallest pipe, tallest cannon); build it
with :func:`learn` from training grids. :data:`MAX_PIPE_HEIGHT` and :data:`MAX_CANNON_HEIGHT`
are those two numbers for the VGLC SMB training split, restated so the server (which has no
corpus) can enforce them; ``tests/test_level_design.py`` checks they match the corpus.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Tallest pipe (top + body, in tiles) in the VGLC SMB + SMB2J training levels.
MAX_PIPE_HEIGHT = 8
#: Tallest cannon column (``B`` + ``b`` run) in the training levels.
MAX_CANNON_HEIGHT = 4

DEFECTS = ("unseen_3x3", "tall_pipe", "ungrounded", "cannon_stack", "lone_coin", "lone_block")

_E = ord("-")
_SOLIDS = np.zeros(256, dtype=bool)
_SOLIDS[np.frombuffer(b"XS?Q<>[]Bb", dtype=np.uint8)] = True


def _windows3(grid: np.ndarray) -> np.ndarray:
    """Every 3×3 window of ``grid`` as one int64 key (9 tiles in 4 bits... packed as bytes)."""
    g = np.ascontiguousarray(grid, dtype=np.uint8)
    if g.shape[0] < 3 or g.shape[1] < 3:
        return np.zeros((0,), dtype="V9")
    w = np.lib.stride_tricks.sliding_window_view(g, (3, 3))          # (h-2, w-2, 3, 3)
    flat = np.ascontiguousarray(w.reshape(w.shape[0], w.shape[1], 9))
    return flat.view("V9").reshape(w.shape[0], w.shape[1])


def pipe_heights(grid: np.ndarray) -> list[tuple[int, int, int]]:
    """``(column, top row, height)`` of each pipe: a ``<`` and the ``[`` run below it."""
    g = np.asarray(grid, dtype=np.uint8)
    h = g.shape[0]
    out = []
    for r, c in np.argwhere(g == ord("<")):
        k = r + 1
        while k < h and g[k, c] == ord("["):
            k += 1
        out.append((int(c), int(r), int(k - r)))
    return out


def cannon_heights(grid: np.ndarray) -> list[tuple[int, int, int]]:
    """``(column, top row, height)`` of each vertical run of cannon tiles ``B``/``b``."""
    g = np.asarray(grid, dtype=np.uint8)
    cannon = (g == ord("B")) | (g == ord("b"))
    out = []
    for c in np.flatnonzero(cannon.any(axis=0)):
        col = cannon[:, c]
        r = 0
        while r < len(col):
            if col[r]:
                s = r
                while r < len(col) and col[r]:
                    r += 1
                out.append((int(c), s, r - s))
            else:
                r += 1
    return out


@dataclass
class CorpusStats:
    patterns: set = field(default_factory=set)       # 3x3 windows seen in the reference levels
    max_pipe: int = MAX_PIPE_HEIGHT
    max_cannon: int = MAX_CANNON_HEIGHT


def learn(grids: list[np.ndarray]) -> CorpusStats:
    pats: set = set()
    max_pipe = max_cannon = 0
    for g in grids:
        pats.update(bytes(v) for v in _windows3(g).ravel())
        max_pipe = max([max_pipe] + [h for _, _, h in pipe_heights(g)])
        max_cannon = max([max_cannon] + [h for _, _, h in cannon_heights(g)])
    return CorpusStats(pats, max_pipe, max_cannon)


def _lone(g: np.ndarray, tiles: bytes) -> int:
    """Tiles of ``tiles`` with only air around them (8 neighbours) and air 3 rows below."""
    h, w = g.shape
    pad = np.full((h + 4, w + 2), _E, dtype=np.uint8)
    pad[1:h + 1, 1:w + 1] = g
    target = np.isin(g, np.frombuffer(tiles, dtype=np.uint8))
    empty = pad == _E
    around = np.ones((h, w), dtype=bool)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                around &= empty[1 + dy:h + 1 + dy, 1 + dx:w + 1 + dx]
    below = empty[3:h + 3, 1:w + 1] & empty[4:h + 4, 1:w + 1]
    return int((target & around & below).sum())


def defects(grid: np.ndarray, stats: CorpusStats) -> dict[str, int]:
    """Defect counts of one SMB level (keys :data:`DEFECTS`)."""
    from .repair import malformed_pipes

    g = np.asarray(grid, dtype=np.uint8)
    keys = _windows3(g).ravel()
    unseen = sum(1 for v in keys if bytes(v) not in stats.patterns) if stats.patterns else 0
    return {
        "unseen_3x3": int(unseen),
        "tall_pipe": sum(1 for _, _, h in pipe_heights(g) if h > stats.max_pipe),
        "ungrounded": len({(r, c) for r, c, what in malformed_pipes(g)}),
        "cannon_stack": sum(1 for _, _, h in cannon_heights(g) if h > stats.max_cannon),
        "lone_coin": _lone(g, b"o"),
        "lone_block": _lone(g, b"S?Q"),
    }


def defect_rates(grids: list[np.ndarray], stats: CorpusStats) -> dict[str, float]:
    """Per 100 columns, summed over ``grids`` (so levels of any width compare)."""
    cols = sum(g.shape[1] for g in grids)
    tot = dict.fromkeys(DEFECTS, 0)
    for g in grids:
        for k, v in defects(g, stats).items():
            tot[k] += v
    return {k: 100.0 * v / cols for k, v in tot.items()}
