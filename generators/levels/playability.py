"""Playability checkers: can an agent get through a level?

Both checkers encode our own physics (the server has no corpus) and are deliberately a little
conservative: a level they accept is playable under these rules; a few hard corpus levels that
need tricks we do not model (moving lifts, springboards, digging) are rejected.

Super Mario Bros (``smb_reach``)
    Mario is one tile tall. A *standing position* is a non-solid cell whose cell below is solid.
    Enemies ``E`` and coins ``o`` are passable; ground, bricks, question blocks, pipes and cannons
    are solid. From a standing position Mario can walk one tile left/right, or follow one of the
    jump arcs in :data:`SMB_ARCS` (mirrored for the left): straight jumps up to
    :data:`MAX_JUMP` = 4 tiles high, running jumps that clear pits up to :data:`MAX_GAP` = 4
    columns wide at equal height. An arc stops when it would enter a solid tile (head bump or
    wall) and Mario then falls straight down; it lands on the first standing position it meets
    while not rising. After an arc (or walking off a ledge) Mario falls either straight down or
    drifting one column per row (at most :data:`MAX_DRIFT` = 3) in the jump's direction, then
    straight down. Falling below the bottom row kills.
    Rows above the top of the map are open sky (one may walk on top of a ceiling).
    Start: the lowest standing position in the leftmost of the first :data:`START_COLS` columns
    that has one. Playable: a standing position in the last :data:`END_COLS` columns is reachable.

Lode Runner (``lr_reach``)
    ``B``/``b`` are solid, everything else passable (enemies are ignored). The player is held
    when on a ladder ``#``, hanging on a rope ``-``, on the bottom row, or above a solid or
    ladder tile. When held: move left/right into non-solid cells; on a ladder move up into a
    non-solid cell (so one climbs off a ladder's top onto the floor); move down into a non-solid
    cell when on/above a ladder or hanging on a rope (dropping off). When not held the player
    falls one cell straight down. Digging is not modelled (conservative). Playable: exactly one
    spawn ``M``, at least one gold ``G``, and every gold reachable from the spawn.

Both are vectorised/tight: a 200-column SMB level checks in a few milliseconds.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from .games import GAMES, LODE_RUNNER, SMB, GameSpec, mask

# --------------------------------------------------------------------------------------------
# Super Mario Bros
# --------------------------------------------------------------------------------------------

#: Tiles Mario cannot enter (ground, bricks, question blocks, pipes, cannons).
SMB_SOLID = "XS?Q<>[]Bb"
#: Highest ledge Mario can jump onto, in tiles above the tile he stands on.
MAX_JUMP = 4
#: Widest pit (in columns) a running jump clears between two grounds of equal height.
MAX_GAP = 4
#: After a jump (or walking off a ledge) Mario drifts at most this many columns (one per row)
#: in his direction before falling straight.
MAX_DRIFT = 3
#: Mario starts in the leftmost of these first columns that has a standing position.
START_COLS = 3
#: The level is finished by reaching a standing position in one of these last columns.
END_COLS = 3
#: Open-sky rows added above the map so that jumps may leave the top of the screen.
PAD = MAX_JUMP + 1

_SOLID_LUT = np.zeros(256, dtype=bool)
_SOLID_LUT[np.frombuffer(SMB_SOLID.encode(), dtype=np.uint8)] = True


def _build_arcs() -> list[list[tuple[int, int]]]:
    """Right-facing jump arcs as cumulative ``(dx, dy)`` offsets from the start (dy < 0 is up)."""
    arcs: list[list[tuple[int, int]]] = [[(1, 0)]]  # walk one tile
    for h in range(1, MAX_JUMP + 1):
        up = [(0, -k) for k in range(1, h + 1)]
        arcs.append(up + [(1, -h)])  # straight up, then onto a ledge one column over
        arcs.append(up + [(1, -h), (2, -h)])  # ... or two columns over
        # Running jumps of apex height h landing d columns further at equal height: the
        # furthest one (h = MAX_JUMP) clears a pit of d - 1 = MAX_GAP columns.
        ys = list(range(-1, -h - 1, -1)) + [-h] + list(range(-h + 1, 1))
        for d in range(1, min(h + 1, MAX_GAP + 1) + 1):
            path: list[tuple[int, int]] = []
            for i, y in enumerate(ys):
                x = int(math.floor(d * (i + 1) / len(ys) + 0.5))
                if not path or path[-1] != (x, y):
                    path.append((x, y))
            arcs.append(path)
    return arcs


#: The right-facing arc table (mirrored for the left). After each arc Mario falls straight or
#: drifting one column per row in the arc's direction.
SMB_ARCS: tuple[tuple[tuple[int, int], ...], ...] = tuple(tuple(a) for a in _build_arcs())


def _arc_arrays():
    arcs = [a for a in SMB_ARCS] + [tuple((-dx, dy) for dx, dy in a) for a in SMB_ARCS]
    n, t = len(arcs), max(len(a) for a in arcs)
    dx = np.zeros((n, t), dtype=np.int64)
    dy = np.zeros((n, t), dtype=np.int64)
    length = np.array([len(a) for a in arcs])
    for i, a in enumerate(arcs):
        for j, (x, y) in enumerate(a):
            dx[i, j], dy[i, j] = x, y
        dx[i, len(a):], dy[i, len(a):] = dx[i, len(a) - 1], dy[i, len(a) - 1]
    pdx = np.diff(np.concatenate([np.zeros((n, 1), np.int64), dx], axis=1), axis=1)
    pdy = np.diff(np.concatenate([np.zeros((n, 1), np.int64), dy], axis=1), axis=1)
    rising = pdy < 0
    diagonal = (pdx != 0) & (pdy != 0)
    right = np.array([True] * len(SMB_ARCS) + [False] * len(SMB_ARCS))
    return dx, dy, pdx, pdy, length, rising, diagonal, right


_ARC_DX, _ARC_DY, _ARC_PDX, _ARC_PDY, _ARC_LEN, _ARC_RISING, _ARC_DIAG, _ARC_RIGHT = _arc_arrays()
# The same table flattened to K steps (arc after arc) for the vectorised evaluation.
_VALID = np.arange(_ARC_DX.shape[1])[None, :] < _ARC_LEN[:, None]
_STEP_DX, _STEP_DY = _ARC_DX[_VALID], _ARC_DY[_VALID]
_STEP_NOT_RISING = ~_ARC_RISING[_VALID]
_STEP_K = np.arange(len(_STEP_DX))
_ARC_START = np.concatenate([[0], np.cumsum(_ARC_LEN)[:-1]])
_DIAG_K = np.flatnonzero(_ARC_DIAG[_VALID])
_DIAG_PDX, _DIAG_PDY = _ARC_PDX[_VALID][_DIAG_K], _ARC_PDY[_VALID][_DIAG_K]


@dataclass(frozen=True)
class SMBReach:
    """Result of :func:`smb_reach`. Masks have the grid's shape ``(height, width)``."""

    standing: np.ndarray        #: bool: non-solid cell with a solid cell below
    reachable: np.ndarray       #: bool: standing positions Mario can reach from the start/seeds
    top_standing: np.ndarray    #: bool (width,): standing on top of a solid tile in row 0
    top_reachable: np.ndarray   #: bool (width,): such positions that are reachable
    start: tuple[int, int] | None  #: (row, col) of the start position (None if seeded/none)
    max_col: int                #: rightmost column with a reachable standing position (-1: none)
    playable: bool              #: a standing position in the last END_COLS columns is reachable

    def reachable_in_col(self, col: int) -> np.ndarray:
        """Rows (top row first, -1 = on top of the map) of reachable positions in ``col``."""
        rows = np.flatnonzero(self.reachable[:, col])
        return np.concatenate([[-1], rows]) if self.top_reachable[col] else rows


def _next_at_or_below(flag: np.ndarray) -> np.ndarray:
    """For each cell, the first row >= its own whose ``flag`` is set, in its column (hp if none)."""
    hp = flag.shape[0]
    rows = np.where(flag, np.arange(hp)[:, None], hp)
    return np.minimum.accumulate(rows[::-1], axis=0)[::-1]


def _smb_tables(grid: np.ndarray):
    """Solid/standing masks (with PAD sky rows) and the fall tables, all vectorised.

    ``fall[i]``: flat index of the standing cell reached by falling straight from free cell i
    (-1: falls out of the map). ``drift_r``/``drift_l``: the same while drifting one column per
    row to the right/left for at most MAX_DRIFT rows, falling straight after that or once the
    diagonal is blocked.
    """
    h, w = grid.shape
    hp = h + PAD
    solid = np.zeros((hp, w), dtype=bool)
    solid[PAD:] = _SOLID_LUT[grid]
    free = ~solid
    standing = np.zeros_like(solid)
    standing[:-1] = free[:-1] & solid[1:]
    # straight fall: the first solid strictly below, minus one row
    nxt = np.full((hp, w), hp, dtype=np.int64)
    nxt[:-1] = _next_at_or_below(solid)[1:]
    cols = np.arange(w)
    fall = np.where(free & (nxt < hp), (nxt - 1) * w + cols, -1).ravel()
    rr = np.arange(hp)[:, None]
    out = []
    for step in (1, -1):
        # stop where the drift cannot continue: standing, bottom row, or the diagonal is blocked
        stop = standing.copy()
        stop[-1] = True
        nc = cols + step
        okc = (nc >= 0) & (nc < w)
        diag_solid = np.ones((hp, w), dtype=bool)
        diag_solid[:-1, okc] = solid[1:, nc[okc]]
        stop |= diag_solid
        # shear so each diagonal (r, c + step*r) becomes a column, then find the next stop
        d = cols[None, :] - step * rr + (hp - 1 if step == 1 else 0)
        sheared = np.ones((hp, w + hp), dtype=bool)
        sheared[rr, d] = stop
        first = _next_at_or_below(sheared)[rr, d]          # row of the stop cell
        first = np.minimum(first, rr + MAX_DRIFT)           # drift at most MAX_DRIFT columns
        stop_c = cols[None, :] + step * (first - rr)
        stop_idx = first * w + stop_c
        out.append(np.where(free, fall[stop_idx.ravel()].reshape(hp, w), -1).ravel())
    return solid, standing, fall, out[0], out[1]


def _smb_edges(solid, standing, fall, drift_r, drift_l, starts: np.ndarray) -> np.ndarray:
    """Landing cells of every move from each start (flat index of a standing cell): (S, 2A).

    All steps of all arcs are evaluated at once ((S, K) arrays, K = total arc steps): the first
    step of an arc that is blocked (solid, off the map sideways, or a diagonal cutting a corner)
    or that lands on a standing position while not rising decides the move; an arc without such
    a step ends in a straight fall (column 0..A-1) or a drifting fall (column A..2A-1) from its
    last cell.
    """
    hp, w = solid.shape
    code = (solid.ravel().astype(np.uint8) | (standing.ravel().astype(np.uint8) << 1))
    last = hp * w - 1
    starts = starts.astype(np.int64)
    c0 = starts % w
    off = _STEP_DY * w + _STEP_DX                                  # (K,)
    nc = c0[:, None] + _STEP_DX[None, :]                           # (S, K)
    inb = (nc >= 0) & (nc < w)
    cells = np.where(inb, starts[:, None] + off[None, :], 0)
    cc = code[cells]
    blocked = ~inb | (cc & 1).astype(bool)
    if len(_DIAG_K):
        dc = cells[:, _DIAG_K]
        s1 = code[np.clip(dc - _DIAG_PDY * w, 0, last)] & 1
        s2 = code[np.clip(dc - _DIAG_PDX, 0, last)] & 1
        blocked[:, _DIAG_K] |= (s1 & s2).astype(bool)
    event = blocked | (((cc >> 1) & 1).astype(bool) & _STEP_NOT_RISING[None, :])
    big = len(_STEP_DX)
    first = np.minimum.reduceat(np.where(event, _STEP_K[None, :], big), _ARC_START, axis=1)  # (S, A)
    has = first < big
    fk = np.where(has, first, 0)
    rows = np.arange(len(starts))[:, None]
    ev_cell = cells[rows, fk]
    ev_block = blocked[rows, fk]
    prev = np.where(fk == _ARC_START[None, :], starts[:, None], cells[rows, np.maximum(fk - 1, 0)])
    end_cell = cells[:, _ARC_START + _ARC_LEN - 1]
    land = np.where(has, np.where(ev_block, fall[prev], ev_cell), fall[end_cell])
    drift = np.where(_ARC_RIGHT[None, :], drift_r[end_cell], drift_l[end_cell])
    land2 = np.where(has, -1, drift)
    return np.concatenate([land, land2], axis=1)


def smb_reach(
    grid: np.ndarray,
    seeds: np.ndarray | None = None,
    seeds_top: np.ndarray | None = None,
    end_cols: int = END_COLS,
) -> SMBReach:
    """Reachable standing positions of an SMB grid (uint8 ASCII, shape (14, width)).

    ``seeds`` (bool, grid shape) and ``seeds_top`` (bool, (width,)) replace the default start:
    every seeded standing position is a start. This is how streaming repair checks a window
    (tail of the already-emitted prefix + new chunk) incrementally.
    """
    grid = np.asarray(grid, dtype=np.uint8)
    h, w = grid.shape
    solid, standing, fall, drift_r, drift_l = _smb_tables(grid)
    start = None
    if seeds is None and seeds_top is None:
        st_grid = standing[PAD:]
        seed_flat = np.zeros(0, dtype=np.int64)
        for c in range(min(START_COLS, w)):
            rows = np.flatnonzero(st_grid[:, c])
            if len(rows):
                start = (int(rows[-1]), c)
                seed_flat = np.array([(rows[-1] + PAD) * w + c], dtype=np.int64)
                break
    else:
        sm = np.zeros((h + PAD, w), dtype=bool)
        if seeds is not None:
            sm[PAD:] = seeds
        if seeds_top is not None:
            sm[PAD - 1] = seeds_top
        seed_flat = np.flatnonzero(sm.ravel() & standing.ravel())

    nodes = np.flatnonzero(standing.ravel())
    reached = np.zeros((h + PAD) * w, dtype=bool)
    if len(seed_flat) and len(nodes):
        res = _smb_edges(solid, standing, fall, drift_r, drift_l, nodes)
        res.sort(axis=1)
        keep = res >= 0
        keep[:, 1:] &= res[:, 1:] != res[:, :-1]
        dst = res[keep].tolist()                       # compact adjacency (CSR) of unique edges
        ptr = np.concatenate([[0], np.cumsum(keep.sum(axis=1))]).tolist()
        row_of = np.full((h + PAD) * w, -1, dtype=np.int64)
        row_of[nodes] = np.arange(len(nodes))
        rof = row_of.tolist()
        seen = reached.tolist()
        queue = deque(int(x) for x in seed_flat)
        for x in queue:
            seen[x] = True
        while queue:
            x = queue.popleft()
            i = rof[x]
            for y in dst[ptr[i]:ptr[i + 1]]:
                if not seen[y]:
                    seen[y] = True
                    queue.append(y)
        reached = np.array(seen, dtype=bool)
    reached = reached.reshape(h + PAD, w)
    reachable = reached[PAD:]
    top_reach = reached[PAD - 1]
    cols = np.flatnonzero(reachable.any(axis=0) | top_reach)
    max_col = int(cols[-1]) if len(cols) else -1
    return SMBReach(
        standing=standing[PAD:].copy(),
        reachable=reachable.copy(),
        top_standing=standing[PAD - 1].copy(),
        top_reachable=top_reach.copy(),
        start=start,
        max_col=max_col,
        playable=bool(max_col >= w - end_cols),
    )


# --------------------------------------------------------------------------------------------
# Lode Runner
# --------------------------------------------------------------------------------------------

LR_SOLID = "Bb"


def lr_standing(grid: np.ndarray) -> np.ndarray:
    """Empty ``.`` cells the player can stand in: above solid ground or a ladder, or on the bottom row."""
    solid_or_ladder = mask(grid, LR_SOLID + "#")
    st = np.zeros(grid.shape, dtype=bool)
    st[:-1] = solid_or_ladder[1:]
    st[-1] = True
    return st & (grid == ord("."))


@dataclass(frozen=True)
class LRReach:
    """Result of :func:`lr_reach`. Masks have the grid's shape (22, 32)."""

    reachable: np.ndarray        #: bool: cells the player can occupy starting from the spawn
    spawns: int                  #: number of spawn tiles ``M``
    gold: int                    #: number of gold tiles ``G``
    unreachable_gold: list[tuple[int, int]]  #: (row, col) of gold not reachable from the spawn
    playable: bool               #: one spawn, >= 1 gold, every gold reachable


def lr_reach(grid: np.ndarray, spawn: tuple[int, int] | None = None, dig: bool = False) -> LRReach:
    """Cells reachable from the single spawn ``M`` (or from ``spawn`` when given).

    ``dig=True`` is an optimistic analysis mode (not used by :func:`check`): a held player may
    dig the diggable brick ``b`` diagonally below-left/right when the cell above that brick is
    free and not a ladder or rope; dug bricks stay open (refilling is not modelled).
    """
    grid = np.asarray(grid, dtype=np.uint8)
    h, w = grid.shape
    solid = mask(grid, LR_SOLID)
    ladder = grid == ord("#")
    rope = grid == ord("-")
    spawns = np.argwhere(grid == ord("M"))
    golds = np.argwhere(grid == ord("G"))
    reach = np.zeros((h, w), dtype=bool)
    if spawn is None and len(spawns) >= 1:
        spawn = (int(spawns[0][0]), int(spawns[0][1]))
    if spawn is not None and not solid[spawn]:
        below_solid = np.ones((h, w), dtype=bool)   # bottom row stands on the screen's floor
        below_solid[:-1] = solid[1:]
        below_ladder = np.zeros((h, w), dtype=bool)
        below_ladder[:-1] = ladder[1:]
        held = (ladder | rope | below_solid | below_ladder).ravel().tolist()
        free = (~solid).ravel().tolist()
        diggable = (grid == ord("b")).ravel().tolist() if dig else None
        nodig_above = (ladder | rope).ravel().tolist()
        lad = ladder.ravel().tolist()
        canup = lad
        candown = (ladder | rope | below_ladder).ravel().tolist()
        seen = [False] * (h * w)
        s0 = spawn[0] * w + spawn[1]
        seen[s0] = True
        queue = deque([s0])
        n = h * w
        while queue:
            x = queue.popleft()
            c = x % w
            if held[x]:
                nbrs = []
                if c > 0:
                    nbrs.append(x - 1)
                if c < w - 1:
                    nbrs.append(x + 1)
                if canup[x] and x >= w:
                    nbrs.append(x - w)
                if candown[x] and x + w < n:
                    nbrs.append(x + w)
                if dig and x + w < n:
                    for side in ((x + w - 1) if c > 0 else -1, (x + w + 1) if c < w - 1 else -1):
                        if side >= 0 and diggable[side] and not free[side] \
                                and free[side - w] and not nodig_above[side - w]:
                            free[side] = True   # dug: the player drops into the hole
                            nbrs.append(side)
            else:
                nbrs = [x + w] if x + w < n else []
            for y in nbrs:
                if free[y] and not seen[y]:
                    seen[y] = True
                    queue.append(y)
        reach = np.array(seen, dtype=bool).reshape(h, w)
    unreachable = [(int(r), int(c)) for r, c in golds if not reach[r, c]]
    return LRReach(
        reachable=reach,
        spawns=len(spawns),
        gold=len(golds),
        unreachable_gold=unreachable,
        playable=bool(len(spawns) == 1 and len(golds) >= 1 and not unreachable),
    )


# --------------------------------------------------------------------------------------------
# One entry point
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    playable: bool
    reason: str     #: "ok" or a sentence a person can act on


def check(game_id: str | GameSpec, grid: np.ndarray, *, dig: bool = False) -> Verdict:
    """Is ``grid`` playable for ``game_id`` ("smb" or "loderunner")? Never raises on content.

    ``dig`` (Lode Runner only) switches on the optimistic digging analysis; the server's
    guarantee uses the default, conservative ``dig=False``.
    """
    game = game_id if isinstance(game_id, GameSpec) else GAMES.get(game_id)
    if game is None:
        raise ValueError(f"unknown game {game_id!r}; known: {', '.join(GAMES)}")
    grid = np.asarray(grid)
    if grid.ndim != 2 or grid.shape[0] != game.height or (game.width and grid.shape[1] != game.width):
        want = f"({game.height}, {game.width or 'any'})"
        return Verdict(False, f"grid shape {grid.shape} is not {want} for {game.id}")
    grid = grid.astype(np.uint8, copy=False)
    bad = ~mask(grid, game.symbols)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        return Verdict(False, f"unknown tile {chr(grid[r, c])!r} at row {r}, column {c}")
    if game.id == SMB.id:
        res = smb_reach(grid)
        if res.start is None:
            return Verdict(False, f"no standing position in the first {START_COLS} columns to start from")
        if not res.playable:
            return Verdict(
                False,
                f"the end is unreachable: Mario gets no further than column {res.max_col} "
                f"of {grid.shape[1]} (stuck before column {res.max_col + 1})",
            )
        return Verdict(True, "ok")
    if game.id == LODE_RUNNER.id:
        res = lr_reach(grid, dig=dig)
        if res.spawns != 1:
            return Verdict(False, f"expected exactly one spawn 'M', found {res.spawns}")
        if res.gold == 0:
            return Verdict(False, "no gold 'G' to collect")
        if res.unreachable_gold:
            cells = ", ".join(f"(row {r}, col {c})" for r, c in res.unreachable_gold[:5])
            more = "" if len(res.unreachable_gold) <= 5 else f" and {len(res.unreachable_gold) - 5} more"
            return Verdict(False, f"{len(res.unreachable_gold)} of {res.gold} gold unreachable "
                                  f"{'even with' if dig else 'without'} digging: {cells}{more}")
        return Verdict(True, "ok")
    raise ValueError(f"no playability rule for game {game.id!r}")
