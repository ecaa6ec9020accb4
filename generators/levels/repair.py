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
from .structure import MAX_CANNON_HEIGHT, MAX_PIPE_HEIGHT
from .playability import LR_SOLID, MAX_JUMP, SMB_SOLID, START_COLS, lr_reach, lr_standing, smb_reach

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
# SMB structures: pipes and cannons
# --------------------------------------------------------------------------------------------

_LEFT_HALF, _RIGHT_HALF = frozenset(b"<["), frozenset(b">]")
_PIPE_TILES = _LEFT_HALF | _RIGHT_HALF
_MATCH_LEFT = {ord(">"): ord("<"), ord("]"): ord("[")}   # right-half tile -> its left partner
_GROUNDISH = frozenset(b"XS")                             # tiles copied under a pipe's short column
_STRUCTURE_LUT = np.zeros(256, dtype=bool)
_STRUCTURE_LUT[np.frombuffer(b"<>[]Bb", dtype=np.uint8)] = True


def _runs(col: list[int], tiles: frozenset) -> list[tuple[int, int]]:
    """Maximal vertical runs (first row, last row) of ``tiles`` in one column."""
    runs, start = [], None
    for r, t in enumerate(col + [-1]):
        if t in tiles and start is None:
            start = r
        elif t not in tiles and start is not None:
            runs.append((start, r - 1))
            start = None
    return runs


def _ground_below(g: list[list[int]], r: int, c: int) -> bool:
    """Whether a pipe cell at (r, c) rests on something: the bottom row or a non-pipe solid tile."""
    return r + 1 >= len(g) or (_SOLID_LUT[g[r + 1][c]] and g[r + 1][c] not in _PIPE_TILES)


def malformed_pipes(grid: np.ndarray, cannons: bool = True) -> list[tuple[int, int, str]]:
    """Structural problems of SMB pipes (and cannons): ``(row, column, what)`` per bad tile.

    A well-formed pipe is two adjacent columns: ``<`` ``>`` on top, then ``[`` ``]`` down to a
    solid non-pipe tile or the bottom row. A cannon ``B`` stands on ``b``, a solid tile or the
    bottom row; ``b`` has ``B`` or ``b`` above it. The VGLC levels have no such problems (a
    cannon body in 7-1 ends in the air, which this check, like the tidy pass, accepts).
    """
    g = np.asarray(grid, dtype=np.uint8).tolist()
    h, w = len(g), len(g[0]) if g else 0
    out: list[tuple[int, int, str]] = []
    lt, rt, lb, rb = ord("<"), ord(">"), ord("["), ord("]")
    for r in range(h):
        for c in range(w):
            t = g[r][c]
            if t in _PIPE_TILES:
                left = t in _LEFT_HALF
                pc = c + 1 if left else c - 1
                want = {lt: rt, lb: rb, rt: lt, rb: lb}[t]
                if not (0 <= pc < w and g[r][pc] == want):
                    out.append((r, c, "half pipe"))
                if t in (lb, rb) and (r == 0 or g[r - 1][c] not in ((lt, lb) if left else (rt, rb))):
                    out.append((r, c, "pipe body without a top"))
                below = lb if left else rb
                if not (r + 1 < h and g[r + 1][c] == below) and not _ground_below(g, r, c):
                    out.append((r, c, "floating pipe"))
            elif cannons and t == ord("B"):
                if not (r + 1 >= h or _SOLID_LUT[g[r + 1][c]]):
                    out.append((r, c, "floating cannon"))
            elif cannons and t == ord("b"):
                if r == 0 or g[r - 1][c] not in (ord("B"), ord("b")):
                    out.append((r, c, "cannon body without a top"))
    return out


def tidy_smb_structures(chunk: np.ndarray, prev_last_col: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Make the pipes and cannons of an SMB chunk well-formed; return (new chunk, tiles changed).

    Deterministic, never modifies ``chunk``; a chunk with well-formed structures comes back
    unchanged. Meant for each streamed chunk before :meth:`SMBStreamRepair.push` (which then
    re-checks playability). Pipes (see :func:`malformed_pipes`):

    * Every vertical run of left-half tiles (``<`` ``[``), with the right-half runs next to it,
      is one pipe; a right-half run with no left half beside it is one too. Pipes are taken
      left to right, then top down. A pipe's top is its run's highest row; it goes down both
      columns to the first solid non-pipe tile in either (or the bottom row). It is redrawn
      there (``<>`` then ``[]``: a missing partner half is completed, a body gets its top, the
      body is extended) when every cell on the way is empty (or a stray pipe tile) and not
      taken by a pipe kept before it; otherwise it is removed. Where only one column reached
      ground, the cell under the other gets ground too (a copy of ``X`` / ``S``, else ``X``).
    * Pipes never straddle chunks: a left half in the chunk's last column is taken as a pipe one
      column to the left (so removed when that does not fit), and a right half in the first
      column is kept as it is only when ``prev_last_col`` (the previous chunk's last column,
      already emitted) has the matching left half beside every tile of it, else removed.
    * Pipe tiles that belong to no kept pipe become empty ``-``.

    * A pipe taller than :data:`structure.MAX_PIPE_HEIGHT` (the corpus's tallest) is cut to that
      height from its foot (its top moves down).

    Cannons: a ``b`` run without ``B`` on top gets one (its top tile becomes ``B``); a ``B`` with
    nothing solid below gets ``b`` down to the first solid tile (or the bottom row); a cannon
    column taller than :data:`structure.MAX_CANNON_HEIGHT` is cut from the top (from its foot
    when something solid rests on it).
    """
    src = _check_chunk(chunk)
    if not _STRUCTURE_LUT[src].any():
        return src, 0
    g = src.tolist()
    h, w = src.shape
    out = [row[:] for row in g]
    cols = [[g[r][c] for r in range(h)] for c in range(w)]
    taken = [[False] * w for _ in range(h)]
    lt, rt, lb, rb, empty = ord("<"), ord(">"), ord("["), ord("]"), EMPTY

    def free(r: int, c: int) -> bool:
        return not taken[r][c] and (g[r][c] in _PIPE_TILES or not _SOLID_LUT[g[r][c]])

    # candidate pipes: (left column, top row, left run, right run), left to right then top down
    right_runs = [_runs(cols[c], _RIGHT_HALF) for c in range(w)]
    used = [[False] * len(rr) for rr in right_runs]
    cands = []
    for c in range(w):
        for a, b in _runs(cols[c], _LEFT_HALF):
            top = a
            if c + 1 < w:
                for i, (a2, b2) in enumerate(right_runs[c + 1]):
                    if not used[c + 1][i] and a2 <= b and b2 >= a:
                        used[c + 1][i] = True
                        top = min(top, a2)
            cands.append((c, top, a, b))
    for c in range(w):
        for i, (a, b) in enumerate(right_runs[c]):
            if not used[c][i]:
                cands.append((c - 1, a, a, b))
    cands.sort()

    fills: list[tuple[int, int, int]] = []
    for c, top, a, b in cands:
        if c < 0:
            # right half in column 0: its left half would be in the chunk already emitted
            prev = None if prev_last_col is None else np.asarray(prev_last_col).tolist()
            if prev is not None and len(prev) == h and all(prev[r] == _MATCH_LEFT[g[r][0]] for r in range(a, b + 1)):
                for r in range(a, b + 1):
                    taken[r][0] = True
            continue
        if c + 1 >= w:                                 # left half in the last column: one column left
            c -= 1
            if c < 0:
                continue
        if not (free(top, c) and free(top, c + 1)):
            continue
        bottom = top
        ok = True
        while bottom + 1 < h:
            r = bottom + 1
            if taken[r][c] or taken[r][c + 1]:
                ok = False
                break
            if not (free(r, c) and free(r, c + 1)):
                break
            bottom = r
        if not ok:
            continue
        if bottom - top + 1 > MAX_PIPE_HEIGHT:          # no pipe taller than the corpus's tallest
            top = bottom - MAX_PIPE_HEIGHT + 1
        for r in range(top, bottom + 1):
            out[r][c], out[r][c + 1] = (lt, rt) if r == top else (lb, rb)
            taken[r][c] = taken[r][c + 1] = True
        r = bottom + 1
        for x, y in ((c, c + 1), (c + 1, c)):           # one column reached ground: the other gets some
            if r < h and free(r, x):
                fills.append((r, x, g[r][y] if g[r][y] in _GROUNDISH else GROUND))
                taken[r][x] = True

    for r in range(h):
        for c in range(w):
            if g[r][c] in _PIPE_TILES and not taken[r][c]:
                out[r][c] = empty
    for r, x, t in fills:
        out[r][x] = t

    # cannons
    B, b_ = ord("B"), ord("b")
    for c in range(w):
        col = [out[r][c] for r in range(h)]
        for a, b in _runs(col, frozenset((B, b_))):
            if col[a] == b_:
                out[a][c] = B
            if col[b] == B or a == b:
                r = b + 1
                while r < h and not _SOLID_LUT[out[r][c]]:
                    out[r][c] = b_
                    r += 1
        col = [out[r][c] for r in range(h)]
        for a, b in _runs(col, frozenset((B, b_))):   # runs again: an extended body may join the next
            if b - a + 1 > MAX_CANNON_HEIGHT:           # no cannon stack taller than the corpus's
                if a > 0 and _SOLID_LUT[out[a - 1][c]]:  # something stands on it: shorten its foot
                    for r in range(a + MAX_CANNON_HEIGHT, b + 1):
                        out[r][c] = empty
                    if a + MAX_CANNON_HEIGHT - 1 > a:        # its new foot is body, never a hovering top
                        out[a + MAX_CANNON_HEIGHT - 1][c] = b_
                else:
                    for r in range(a, b - MAX_CANNON_HEIGHT + 1):
                        out[r][c] = empty
                    out[b - MAX_CANNON_HEIGHT + 1][c] = B

    res = np.array(out, dtype=np.uint8)
    return res, int((res != src).sum())


# --------------------------------------------------------------------------------------------
# Lode Runner
# --------------------------------------------------------------------------------------------

_SPAWN_CANDIDATES = 48
_LADDER_BUDGET = 8
_LADDER_CANDIDATES = 24


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


def lr_repair(grid: np.ndarray, rng: np.random.Generator, dig: bool = False) -> tuple[np.ndarray, int]:
    """Make a Lode Runner screen playable; return (grid, tiles changed).

    ``dig=True``: reachable means reachable when the player may dig (``playability.lr_reach``
    ``dig``), as the game allows; the default is reachable without digging.

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
        r = lr_reach(g, spawn=p, dig=dig)
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

    res = lr_reach(g, dig=dig)
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
                cres = lr_reach(cand, dig=dig)
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
    final = lr_reach(g, dig=dig)
    if not final.playable:  # guard: moving gold never changes reachability
        raise GenerationFailed(
            f"Lode Runner repair failed: {len(final.unreachable_gold)} of {final.gold} gold still "
            f"unreachable, {final.spawns} spawn(s)"
        )
    return g, int((g != before).sum())
