"""Repair: make sampled levels pass :func:`playability.check` with few tile changes.

SMB levels are repaired while they stream (:class:`SMBStreamRepair`): chunks arrive left to
right, earlier chunks are already on the client, so only the newest chunk may change. Lode
Runner screens are repaired whole (:func:`lr_repair`). Both work within a bounded budget and
raise :class:`GenerationFailed` when they cannot succeed (which the fallbacks make unreachable
for well-formed input; the check stays as a guard).
"""

from __future__ import annotations

import numpy as np

from ..events import GenerationFailed
from .games import LODE_RUNNER, SMB, mask
from .playability import LR_SOLID, MAX_JUMP, SMB_SOLID, START_COLS, lr_reach, smb_reach

_SOLID_LUT = np.zeros(256, dtype=bool)
_SOLID_LUT[np.frombuffer(SMB_SOLID.encode(), dtype=np.uint8)] = True
_KNOWN_SMB = np.zeros(256, dtype=bool)
_KNOWN_SMB[np.frombuffer(SMB.symbols.encode(), dtype=np.uint8)] = True

EMPTY, GROUND = ord("-"), ord("X")
_PIPE_PARTNER = {ord("<"): 1, ord("["): 1, ord(">"): -1, ord("]"): -1}
_RETOP = {ord("["): ord("<"), ord("]"): ord(">"), ord("b"): ord("B")}

#: Widest pit repair leaves (one less than the physics' limit, for headroom and landings).
MAX_PIT = 3


def _check_chunk(chunk: np.ndarray) -> np.ndarray:
    chunk = np.asarray(chunk)
    if chunk.ndim != 2 or chunk.shape[0] != SMB.height or chunk.shape[1] < 1:
        raise ValueError(f"SMB chunk must have shape ({SMB.height}, k>=1), got {chunk.shape}")
    chunk = chunk.astype(np.uint8, copy=True)
    bad = ~_KNOWN_SMB[chunk]
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise ValueError(f"SMB chunk has unknown tile {chr(chunk[r, c])!r} at row {r}, column {c}")
    return chunk


class SMBStreamRepair:
    """Streaming playability repair for Super Mario Bros, one chunk at a time.

    Invariant after every :meth:`push`: from the start, Mario can reach a standing position in
    the last column emitted so far. So the next chunk can always be connected by changing that
    chunk alone, and after the ``last=True`` push the whole level passes ``check("smb", level)``.

    Repairs, cheapest first, each followed by an incremental re-check of a window (the last
    :attr:`WINDOW` emitted columns, seeded with their reachable positions, plus the new chunk):

    * a wall (pipe, stairs, ground) too tall to jump right after the furthest reachable column
      is lowered to :data:`MAX_JUMP` tiles (pipes and cannons keep their tops);
    * a pit Mario cannot cross is narrowed to :data:`MAX_PIT` columns by filling ground from its
      left side, and a pit that runs into the chunk's end gets ground in the last column;
    * at most :attr:`MAX_FIXES` of those; then a fallback lays a walkway (ground under, air in)
      from the furthest reachable position to the chunk's end, which always succeeds.
    """

    WINDOW = 12
    MAX_FIXES = 8

    def __init__(self, rng: np.random.Generator | None = None):
        self.rng = rng if rng is not None else np.random.default_rng(0)  # unused: repairs are deterministic
        self._tail: np.ndarray | None = None
        self._tail_reach: np.ndarray | None = None
        self._tail_top: np.ndarray | None = None
        self.columns = 0          #: columns emitted so far
        self.changed = 0          #: tiles changed so far
        self.finished = False

    # -- public -------------------------------------------------------------------------------

    def push(self, chunk: np.ndarray, last: bool = False) -> tuple[np.ndarray, int]:
        """Repair the next chunk (uint8, shape (14, k)); return it and the number of tiles changed."""
        if self.finished:
            raise RuntimeError("push() after the last chunk")
        work = _check_chunk(chunk)
        before = work.copy()
        first = self._tail is None
        if first:
            self._ensure_start(work)
        k = 0 if first else self._tail.shape[1]
        reach, win = self._reach(work)
        fixes = 0
        while not self._ok(reach) and fixes < self.MAX_FIXES:
            if not self._fix_once(win, reach, k):
                break
            work = win[:, k:]
            reach, win = self._reach(work)
            fixes += 1
        if not self._ok(reach):
            self._walkway(win, reach, k)
            work = win[:, k:]
            reach, win = self._reach(work)
        if not self._ok(reach):
            raise GenerationFailed(
                f"SMB repair could not connect columns {self.columns}..{self.columns + work.shape[1] - 1} "
                f"to the level so far (Mario gets no further than window column {reach.max_col})"
            )
        work = np.ascontiguousarray(work)
        n = int((work != before).sum())
        keep = min(self.WINDOW, win.shape[1])
        self._tail = win[:, -keep:].copy()
        self._tail_reach = reach.reachable[:, -keep:].copy()
        self._tail_top = reach.top_reachable[-keep:].copy()
        self.columns += work.shape[1]
        self.changed += n
        self.finished = bool(last)
        return work, n

    # -- internals ----------------------------------------------------------------------------

    @staticmethod
    def _ensure_start(work: np.ndarray) -> None:
        st = ~_SOLID_LUT[work[:-1]] & _SOLID_LUT[work[1:]]
        if st[:, : min(START_COLS, work.shape[1])].any():
            return
        work[-1, 0] = GROUND
        if _SOLID_LUT[work[-2, 0]]:
            work[-2, 0] = EMPTY

    def _reach(self, work: np.ndarray):
        if self._tail is None:
            return smb_reach(work, end_cols=1), work
        win = np.concatenate([self._tail, work], axis=1)
        seeds = np.zeros(win.shape, dtype=bool)
        seeds[:, : self._tail.shape[1]] = self._tail_reach
        top = np.zeros(win.shape[1], dtype=bool)
        top[: self._tail.shape[1]] = self._tail_top
        return smb_reach(win, seeds=seeds, seeds_top=top, end_cols=1), win

    @staticmethod
    def _ok(reach) -> bool:
        return bool(reach.reachable[:, -1].any() or reach.top_reachable[-1])

    @staticmethod
    def _frontier(reach) -> tuple[int, int]:
        f = reach.max_col
        rows = reach.reachable_in_col(f)
        return int(rows.max()), f

    @staticmethod
    def _clear(win: np.ndarray, rows: range, col: int, k: int) -> None:
        """Clear ``rows`` of ``col`` (and of a pipe's other half inside the chunk), re-topping pipes/cannons."""
        cols = [col]
        for r in rows:
            d = _PIPE_PARTNER.get(int(win[r, col]))
            if d is not None and k <= col + d < win.shape[1] and int(win[r, col + d]) in _PIPE_PARTNER:
                cols.append(col + d)
                break
        for c in cols:
            for r in rows:
                win[r, c] = EMPTY
            below = rows.stop
            if below < win.shape[0] and int(win[below, c]) in _RETOP:
                win[below, c] = _RETOP[int(win[below, c])]

    def _fix_once(self, win: np.ndarray, reach, k: int) -> bool:
        if reach.max_col < 0:
            return False
        r, f = self._frontier(reach)
        j = f + 1
        if r < 0 or j >= win.shape[1] or j < k:
            return False
        solid = _SOLID_LUT[win]
        h = win.shape[0]
        if solid[r, j]:
            # a wall: lower it to MAX_JUMP above Mario's floor (or by one if it is low but blocked)
            t = r
            while t > 0 and solid[t - 1, j]:
                t -= 1
            height = r - t + 1
            new_height = MAX_JUMP if height > MAX_JUMP else height - 1
            self._clear(win, range(t, r - new_height + 1), j, k)
            return True
        if r + 1 >= h:
            return False
        # a pit (or drop) Mario cannot cross: run of columns without floor at his level
        e = j
        while e + 1 < win.shape[1] and not solid[r + 1, e + 1] and not solid[r, e + 1]:
            e += 1
        fill: list[int] = []
        if e == win.shape[1] - 1:
            fill.append(e)
            e -= 1
        length = e - j + 1
        if length > MAX_PIT:
            fill.extend(range(j, j + length - MAX_PIT))
        elif not fill:
            fill.extend(range(j, e + 1))   # narrow enough but still blocked: bridge it
        for c in fill:
            win[r + 1, c] = GROUND
            if solid[r, c]:
                win[r, c] = EMPTY
        return bool(fill)

    @staticmethod
    def _walkway(win: np.ndarray, reach, k: int) -> None:
        """Fallback: floor under and air in Mario's row from the frontier to the window's end."""
        if reach.max_col < 0:
            raise GenerationFailed("SMB repair: no reachable position to continue from (no start)")
        f = reach.max_col
        r = int(reach.reachable_in_col(f).max())
        for c in range(max(f + 1, k), win.shape[1]):
            if r >= 0 and _SOLID_LUT[win[r, c]]:
                SMBStreamRepair._clear(win, range(r, r + 1), c, k)
            if not _SOLID_LUT[win[r + 1, c]]:
                win[r + 1, c] = GROUND


def smb_repair(level: np.ndarray, rng: np.random.Generator | None = None,
               chunk: int = 25) -> tuple[np.ndarray, int]:
    """Repair a whole SMB level by streaming it through :class:`SMBStreamRepair` in chunks."""
    level = np.asarray(level, dtype=np.uint8)
    rep = SMBStreamRepair(rng)
    parts = []
    w = level.shape[1]
    for x in range(0, w, chunk):
        part, _ = rep.push(level[:, x:x + chunk], last=x + chunk >= w)
        parts.append(part)
    return np.concatenate(parts, axis=1), rep.changed


# --------------------------------------------------------------------------------------------
# Lode Runner
# --------------------------------------------------------------------------------------------

_SPAWN_CANDIDATES = 48
_LADDER_BUDGET = 8
_LADDER_CANDIDATES = 24


def lr_standing(grid: np.ndarray) -> np.ndarray:
    """Empty ``.`` cells the player can stand in: above solid ground or a ladder, or on the bottom row."""
    solid_or_ladder = mask(grid, LR_SOLID + "#")
    st = np.zeros(grid.shape, dtype=bool)
    st[:-1] = solid_or_ladder[1:]
    st[-1] = True
    return st & (grid == ord("."))


def _lr_capacity(g: np.ndarray, res) -> int:
    """Cells that can hold gold: reachable empty or gold cells."""
    return int((res.reachable & ((g == ord(".")) | (g == ord("G")))).sum())


def _lr_ladder(g: np.ndarray, r: int, c: int, up: bool) -> np.ndarray | None:
    """A copy of ``g`` with a ladder from (r, c) to the top (``up``) or down to the floor."""
    rows = range(r, -1, -1) if up else range(r, g.shape[0] - 1)
    out = g.copy()
    for y in rows:
        if out[y, c] in (ord("G"), ord("M"), ord("E")):
            return None
        out[y, c] = ord("#")
    return out


def lr_repair(grid: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Make a Lode Runner screen playable; return (grid, tiles changed).

    1. Exactly one spawn ``M`` on a standing cell: an existing standing spawn whose reachable
       area can hold all the gold is kept (among several, the one reaching most gold); else the
       best of up to 48 standing cells drawn with ``rng``.
    2. While the reachable area is too small for the gold, add a full-height ladder (up from or
       down from a reachable cell, the best of 24 drawn with ``rng``; at most 8 ladders).
    3. Every unreachable gold moves to a reachable empty standing cell drawn with ``rng`` (any
       reachable empty cell if those run out). The gold count is kept; a screen without gold
       gets one.

    Raises :class:`GenerationFailed` when there is no standing cell for the spawn or the gold
    cannot all be made reachable within that budget.
    """
    g = np.asarray(grid)
    if g.shape != (LODE_RUNNER.height, LODE_RUNNER.width):
        raise ValueError(f"Lode Runner grid must have shape (22, 32), got {g.shape}")
    g = g.astype(np.uint8, copy=True)
    before = g.copy()
    M, G, DOT = ord("M"), ord("G"), ord(".")
    total_gold = max(1, int((g == G).sum()))

    spawns = [tuple(int(v) for v in p) for p in np.argwhere(g == M)]
    held_below = np.zeros(g.shape, dtype=bool)
    held_below[:-1] = mask(g, LR_SOLID + "#")[1:]
    held_below[-1] = True
    good = [p for p in spawns if held_below[p]]
    for p in spawns:
        g[p] = DOT

    def score(p):
        r = lr_reach(g, spawn=p)
        return (r.gold - len(r.unreachable_gold), min(_lr_capacity(g, r), total_gold), int(r.reachable.sum()))

    spawn = max(good, key=score) if good else None
    if spawn is None or score(spawn)[1] < total_gold:
        st = np.argwhere(lr_standing(g))
        if len(st) == 0 and spawn is None:
            raise GenerationFailed("Lode Runner repair: no empty standing cell to place the spawn on")
        pick = rng.choice(len(st), size=min(_SPAWN_CANDIDATES, len(st)), replace=False) if len(st) else []
        cands = ([spawn] if spawn is not None else []) + [tuple(int(v) for v in st[i]) for i in sorted(pick)]
        spawn = max(cands, key=score)
    g[spawn] = M

    res = lr_reach(g)
    for _ in range(_LADDER_BUDGET):
        if _lr_capacity(g, res) >= total_gold:
            break
        cells = np.argwhere(res.reachable & held_below)
        best = None
        for i in rng.choice(len(cells), size=min(_LADDER_CANDIDATES, len(cells)), replace=False):
            r, c = (int(v) for v in cells[i])
            for up in (True, False):
                cand = _lr_ladder(g, r, c, up)
                if cand is None:
                    continue
                cres = lr_reach(cand)
                key = _lr_capacity(cand, cres)
                if best is None or key > best[0]:
                    best = (key, cand, cres)
        if best is None or best[0] <= _lr_capacity(g, res):
            break
        _, g, res = best
        held_below[:-1] = mask(g, LR_SOLID + "#")[1:]

    moves = res.unreachable_gold
    need = len(moves) + (1 if res.gold == 0 else 0)
    if need:
        for (r, c) in moves:
            g[r, c] = DOT
        free = lr_standing(g) & res.reachable
        targets = np.argwhere(free)
        if len(targets) < need:
            targets = np.argwhere((g == DOT) & res.reachable)
        if len(targets) < need:
            raise GenerationFailed(
                f"Lode Runner repair: {need} gold to place but only {len(targets)} reachable empty "
                f"cells, even after adding ladders"
            )
        pick = rng.choice(len(targets), size=need, replace=False)
        for i in pick:
            g[tuple(targets[i])] = G
    final = lr_reach(g)
    if not final.playable:  # guard: moving gold never changes reachability
        raise GenerationFailed(
            f"Lode Runner repair failed: {len(final.unreachable_gold)} of {final.gold} gold still "
            f"unreachable, {final.spawns} spawn(s)"
        )
    return g, int((g != before).sum())
