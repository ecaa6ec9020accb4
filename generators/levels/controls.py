"""Exact, measurable level controls (deterministic given the ``rng``).

Each control maps a user-facing value to an exact tile count and a ``set_*`` function that
edits a grid to hit that count (randomly choosing where, with the caller's ``rng`` only).

Calibration (VGLC Super Mario Bros, 15 levels, 2923 columns): 275 enemies, i.e.
:data:`SMB_ENEMY_DENSITY` = 0.094 enemies per column; pit columns (ground row missing) in the
11 ground levels (the athletic levels 1-3, 3-3, 5-3, 6-3 have no ground row and are left out):
:data:`SMB_PIT_DENSITY` = 0.092 per column. A control value of 0.4 gives the corpus density,
1.0 gives :data:`SCALE` = 2.5 times it, 0 gives none. Lode Runner (150 screens): gold 4..131
per screen (median 16, mean 19.5); enemies 1..5 (mean 3.3), so ``enemies`` 0.4 -> 3 enemies.

Suggested order in the generator (what keeps every count exact in the emitted level):

* SMB chunk: ``set_gaps`` -> ``SMBStreamRepair.push`` -> ``set_enemies``. Enemies are passable
  for the checker, so placing them after repair cannot break playability; repair fills a pit
  only when it is impassable (rare for the 1-3 column pits ``set_gaps`` carves).
* Lode Runner screen: ``set_gold`` -> ``lr_repair`` (moves unreachable gold, keeps the count)
  -> ``set_enemies`` (keeps enemies away from the spawn; does not touch gold or spawn).
"""

from __future__ import annotations

import math

import numpy as np

from .games import GAMES, LODE_RUNNER, SMB, GameSpec, mask
from .playability import SMB_SOLID, lr_standing

SMB_ENEMY_DENSITY = 275 / 2923   #: corpus enemies per column (SMB)
SMB_PIT_DENSITY = 213 / 2309     #: corpus pit columns per column (SMB ground levels)
SCALE = 2.5                      #: control value 1.0 = SCALE x corpus density (0.4 = corpus)
SMB_MAX_PIT = 3                  #: pits carved by set_gaps are 1..3 columns wide
#: Widths of the pits (bottom-row runs) in the corpus's 25 overworld and underground levels, 1..
#: SMB_MAX_PIT (53, 67 and 30 pits; 75 more are wider): set_gaps carves pits of these widths.
SMB_PIT_WIDTHS = {1: 53, 2: 67, 3: 30}
#: SMB: when fewer editable columns than this would be left after a chunk, that chunk takes their
#: enemies and pits too (a 4-column tail may have no floor to stand on, and nothing comes after it)
TAIL = 10
LR_MAX_ENEMIES = 8               #: Lode Runner enemies at control value 1.0
LR_GOLD_RANGE = (1, 30)          #: allowed Lode Runner gold counts
LR_ENEMY_SPAWN_DISTANCE = 4      #: enemies are placed at least this far (Chebyshev) from M

#: One-line docs, as shown to users.
DOCS = {
    ("smb", "enemies"): "Enemy density 0..1: exactly round(enemies * 0.235 * width) enemies "
                        "per level (0.4 = the original game's density, 1 = 2.5x, 0 = none).",
    ("smb", "gaps"): "Pit density 0..1: round(gaps * 0.231 * width) pit columns, rarely one off "
                     "(bottom row open) in 1-3 wide pits (0.4 = the original game, 1 = 2.5x, 0 = none).",
    ("loderunner", "gold"): "Exact number of gold pieces on the screen, 1..30 (original levels: 4..131, median 16); "
                            "all reachable (without digging unless digging is true).",
    ("loderunner", "enemies"): "Enemy amount 0..1: exactly round(enemies * 8) guards "
                               "(0.4 = 3, about the original levels' average).",
}


def _round(x: float) -> int:
    """Round half up (deterministic, unlike banker's rounding)."""
    return int(math.floor(x + 0.5))


def _game(game: str | GameSpec) -> GameSpec:
    return game if isinstance(game, GameSpec) else GAMES[game]


def chunk_count(rate_per_column: float, x0: int, width: int) -> int:
    """Count for columns ``[x0, x0 + width)`` at ``rate_per_column``, rounded cumulatively so the
    chunks of a level add up to exactly ``round(rate * level_width)``."""
    return _round(rate_per_column * (x0 + width)) - _round(rate_per_column * x0)


def smb_enemy_rate(enemies: float) -> float:
    """Enemies per column for the SMB ``enemies`` control (0..1)."""
    return float(enemies) * SCALE * SMB_ENEMY_DENSITY


def smb_pit_rate(gaps: float) -> float:
    """Pit columns per column for the SMB ``gaps`` control (0..1)."""
    return float(gaps) * SCALE * SMB_PIT_DENSITY


def smb_enemy_target(enemies: float, x0: int, width: int) -> int:
    """Exact enemy count for the chunk at columns ``[x0, x0 + width)``."""
    return chunk_count(smb_enemy_rate(enemies), x0, width)


def smb_gap_target(gaps: float, x0: int, width: int) -> int:
    """Exact pit-column count for the chunk at columns ``[x0, x0 + width)``."""
    return chunk_count(smb_pit_rate(gaps), x0, width)


def lr_enemy_count(enemies: float) -> int:
    """Exact Lode Runner enemy count for the ``enemies`` control (0..1): 0..8."""
    return _round(float(enemies) * LR_MAX_ENEMIES)


# --------------------------------------------------------------------------------------------


def _pick(rng: np.random.Generator, cells: np.ndarray, n: int) -> np.ndarray:
    if n <= 0 or len(cells) == 0:
        return cells[:0]
    return cells[np.sort(rng.choice(len(cells), size=min(n, len(cells)), replace=False))]


def _set_count(g: np.ndarray, symbol: str, empty: str, n: int, rng: np.random.Generator,
               *candidates) -> tuple[np.ndarray, int]:
    """Bring ``g`` (edited in place) to ``n`` tiles of ``symbol``: extras become ``empty`` at random;
    missing ones go on random cells of ``candidates[0](g)``, then ``candidates[1](g)`` ... (masks
    evaluated as they are needed). Returns (g, achieved count)."""
    sym = ord(symbol)
    n = max(0, int(n))
    have = np.argwhere(g == sym)
    if len(have) > n:
        for r, c in _pick(rng, have, len(have) - n):
            g[r, c] = ord(empty)
    else:
        for cells in candidates:
            need = n - int((g == sym).sum())
            if need <= 0:
                break
            for r, c in _pick(rng, np.argwhere(cells(g)), need):
                g[r, c] = sym
    return g, int((g == sym).sum())


def set_enemies(grid: np.ndarray, target_count: int, rng: np.random.Generator,
                game: str | GameSpec = "smb") -> tuple[np.ndarray, int]:
    """Return (copy of ``grid`` with exactly ``target_count`` enemies ``E``, achieved count).

    Extras are removed (turned into empty tiles) at random. New enemies go on empty tiles
    directly above a solid tile (SMB: first where the floor is flat — solid below-left and
    below-right, air beside and above, where the corpus puts enemies; that halves the tile
    combinations the corpus never has) / on empty standing cells at least 4 cells from the spawn
    (Lode Runner), chosen at random. The achieved count is lower than the target only when
    there are not enough such cells.
    """
    g_spec = _game(game)
    g = np.asarray(grid).astype(np.uint8, copy=True)

    def places(g: np.ndarray) -> np.ndarray:
        if g_spec.id != LODE_RUNNER.id:
            ok = np.zeros(g.shape, dtype=bool)
            ok[:-1] = mask(g, SMB_SOLID)[1:]
            return ok & (g == ord(g_spec.empty))
        ok = lr_standing(g)
        for r, c in np.argwhere(g == ord("M")):
            r0, c0 = max(0, r - LR_ENEMY_SPAWN_DISTANCE + 1), max(0, c - LR_ENEMY_SPAWN_DISTANCE + 1)
            ok[r0:r + LR_ENEMY_SPAWN_DISTANCE, c0:c + LR_ENEMY_SPAWN_DISTANCE] = False
        return ok

    def flat(g: np.ndarray) -> np.ndarray:
        """SMB: empty cells on a flat floor, with air beside and above (enemies' usual spot)."""
        ok = places(g)
        solid = mask(g, SMB_SOLID)
        empty = g == ord(g_spec.empty)
        below = solid[np.r_[1:g.shape[0], g.shape[0] - 1]]          # the row under each cell
        ok[:, 1:-1] &= below[:, :-2] & below[:, 2:]
        ok[:, 1:-1] &= empty[:, :-2] & empty[:, 2:]
        ok[1:] &= empty[:-1]
        ok[:, [0, -1]] = False
        ok[-1] = False
        return ok

    if g_spec.id == LODE_RUNNER.id:
        return _set_count(g, "E", g_spec.empty, target_count, rng, places)
    return _set_count(g, "E", g_spec.empty, target_count, rng, flat, places)


def _pit_runs(pit: np.ndarray) -> list[tuple[int, int]]:
    runs, start = [], None
    for c, p in enumerate(pit.tolist() + [False]):
        if p and start is None:
            start = c
        elif not p and start is not None:
            runs.append((start, c - 1))
            start = None
    return runs


def set_gaps(chunk: np.ndarray, target_pit_cols: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Return (copy of an SMB ``chunk`` with exactly ``target_pit_cols`` pit columns, achieved).

    A pit column is one whose bottom-row tile is not solid. Pits keep the widths they have in
    the corpus (not a scatter of one-tile holes, which no designed level has):

    * surplus pit columns first fill whole pits no wider than the surplus (the narrowest first,
      ties at random), then shrink a random pit from an edge;
    * missing ones are carved as whole pits, their width drawn from the corpus's pit widths
      (:data:`SMB_PIT_WIDTHS`, at most :data:`SMB_MAX_PIT`) and cut to what is still missing;
      a shortfall smaller than the drawn width widens an existing narrow pit when it can.
      Carved columns are ground ``X`` with nothing standing on them (no pipe, stair or enemy
      above), never the chunk's first or last column; a new or widened pit has flat ground on
      both sides (a run-up and a landing), and no pit grows wider than :data:`SMB_MAX_PIT` or
      touches another.

    The achieved count is lower than the target only when no such column is left.
    """
    g = np.asarray(chunk).astype(np.uint8, copy=True)
    if g.ndim != 2 or g.shape[0] != SMB.height:
        raise ValueError(f"SMB chunk must have shape ({SMB.height}, k), got {g.shape}")
    h, w = g.shape
    solid_lut = np.zeros(256, dtype=bool)
    solid_lut[np.frombuffer(SMB_SOLID.encode(), dtype=np.uint8)] = True
    X, EMPTY = ord("X"), ord("-")
    target = max(0, int(target_pit_cols))
    pit = ~solid_lut[g[-1]]
    while pit.sum() > target:
        surplus = int(pit.sum()) - target
        runs = _pit_runs(pit)
        whole = [(b - a + 1, i) for i, (a, b) in enumerate(runs) if b - a + 1 <= surplus]
        if whole:
            narrow = min(n for n, _ in whole)
            pick = [i for n, i in whole if n == narrow]
            a, b = runs[pick[int(rng.integers(len(pick)))]]
            g[-1, a:b + 1] = X
            pit[a:b + 1] = False
            continue
        edges = [c for c in np.flatnonzero(pit)
                 if c == 0 or c == w - 1 or not pit[c - 1] or not pit[c + 1]]
        c = int(edges[int(rng.integers(len(edges)))])
        g[-1, c] = X
        pit[c] = False

    empty_on_ground = ~solid_lut[g[-2]] & (g[-2] != ord("E"))
    ground = (g[-1] == X).tolist()
    standable = (solid_lut[g[-1]] & ~solid_lut[g[-2]]).tolist()   # bottom row only changes to pits
    clear = empty_on_ground.tolist()

    def flat(c: int) -> bool:
        """Ground at ``c`` with nothing on it: a run-up / landing beside a new pit (the jump over it
        then never needs more than the pit's width; the repair pass need not fill it again)."""
        return 0 <= c < w and standable[c] and not pit[c]

    def carvable(c: int) -> bool:
        return 1 <= c <= w - 2 and not pit[c] and ground[c] and clear[c]

    widths = np.array(sorted(SMB_PIT_WIDTHS), dtype=np.int64)
    weights = np.array([SMB_PIT_WIDTHS[k] for k in widths], dtype=np.float64)
    cum = np.cumsum(weights / weights.sum())
    cum[-1] = 1.0 + 1e-9                              # ends above any draw
    while pit.sum() < target:
        need = target - int(pit.sum())
        draw = int(widths[int(np.searchsorted(cum, rng.random(), side="right"))])
        want = min(draw, need)
        runs = _pit_runs(pit)
        # new pits: `want` carvable columns in a row, with ground on both sides (not merging)
        starts = [a for a in range(1, w - want)
                  if all(carvable(c) for c in range(a, a + want)) and flat(a - 1) and flat(a + want)]
        # or widen a pit by `want` columns on one side, staying within SMB_MAX_PIT and apart
        grow = []
        for a, b in runs:
            if b - a + 1 + want > SMB_MAX_PIT:
                continue
            if all(carvable(c) for c in range(b + 1, b + 1 + want)) and flat(b + want + 1):
                grow.append(b + 1)
            if all(carvable(c) for c in range(a - want, a)) and flat(a - want - 1):
                grow.append(a - want)
        drawn_cut = want < draw                        # the last columns still missing: prefer widening
        cands = (grow or starts) if drawn_cut else (starts or grow)
        if not cands:                                  # nothing of that width fits: one column (as before)
            want = 1
            cands = [c for c in range(1, w - 1) if carvable(c) and _fits(pit, c)]
            if not cands:
                break
        a = int(cands[int(rng.integers(len(cands)))])
        g[-1, a:a + want] = EMPTY
        pit[a:a + want] = True
    return g, int(pit.sum())


def _fits(pit: np.ndarray, c: int) -> bool:
    """Whether making column ``c`` a pit keeps its pit within :data:`SMB_MAX_PIT` columns."""
    lo = hi = c
    while lo - 1 >= 0 and pit[lo - 1]:
        lo -= 1
    while hi + 1 < len(pit) and pit[hi + 1]:
        hi += 1
    return hi - lo + 1 <= SMB_MAX_PIT and lo >= 1 and hi <= len(pit) - 2


def set_gold(grid: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Return (copy of a Lode Runner ``grid`` with exactly ``n`` gold ``G``, achieved count).

    Extras are removed at random; new gold goes on random empty standing cells (above solid
    ground or a ladder, or on the bottom row), then on any empty cell if those run out.
    Reachability is not considered here: run :func:`repair.lr_repair` afterwards (it moves
    unreachable gold and keeps the count).
    """
    g = np.asarray(grid).astype(np.uint8, copy=True)
    if g.shape != (LODE_RUNNER.height, LODE_RUNNER.width):
        raise ValueError(f"Lode Runner grid must have shape (22, 32), got {g.shape}")
    return _set_count(g, "G", ".", n, rng, lr_standing, lambda g: g == ord("."))


def smb_pit_count(grid: np.ndarray) -> int:
    """Pit columns of an SMB grid: columns whose bottom-row tile is not solid."""
    return int((~mask(np.asarray(grid, dtype=np.uint8)[-1], SMB_SOLID)).sum())


class SMBChunkControls:
    """Apply the SMB ``gaps`` and ``enemies`` controls chunk by chunk, exactly over the level.

    Targets are cumulative: after the chunk ending at column x the level so far holds
    ``round(smb_pit_rate(gaps) * width * F(x))`` pit columns and as many enemies by the enemy
    rate, where ``F`` is the share of the level's total due by column x: linear (``pacing`` 0,
    the same rate everywhere) or rising (``pacing`` p: density ``(1 - p) + 2 p t`` at the
    fraction ``t`` of the way through the span, so the last part is the hardest). Only columns
    in ``[lo, hi)`` (the part between a level's opening and its end set piece) receive or lose
    pits and enemies; without ``width`` it is the whole level at a flat rate, as before. A chunk
    that cannot take its share (no eligible column) leaves the shortfall to the next ones.
    ``gaps=None`` leaves pits as sampled (athletic levels: platforms over open air). Use::

        ctl = SMBChunkControls(enemies=0.4, gaps=0.4)
        for chunk in sampler:
            chunk = ctl.before_repair(chunk, rng)        # carve / fill pits
            chunk, n = repair.push(chunk, last)
            chunk = ctl.after_repair(chunk, rng)         # place / remove enemies
    """

    def __init__(self, enemies: float, gaps: float | None, width: int | None = None, pacing: float = 0.0,
                 lo: int = 0, hi: int | None = None):
        self.enemy_rate = smb_enemy_rate(enemies)
        self.pit_rate = None if gaps is None else smb_pit_rate(gaps)   # None: pits left as sampled
        self.width = width
        self.pacing = float(pacing)
        self.lo = lo if width is not None else 0
        self.hi = (hi if hi is not None else width) if width is not None else None
        self.x = 0              #: columns done
        self.pits = 0           #: pit columns emitted so far
        self.enemies = 0        #: enemies emitted so far

    def due(self, rate: float, x: int) -> int:
        """Cumulative target after column ``x`` for a per-column ``rate``."""
        if self.width is None:
            return _round(rate * x)
        span = max(1, self.hi - self.lo)
        t = min(max((x - self.lo) / span, 0.0), 1.0)
        p = self.pacing
        return _round(rate * self.width * ((1 - p) * t + p * t * t))

    def density(self, width: int) -> np.ndarray:
        """Per-column multiplier of the average rate that :meth:`due` asks for (float32, ``width``
        long): 0 outside ``[lo, hi)``, ``(1 - p) + 2 p t`` inside (normalised to the level, so
        the totals match). The generator hands it to the sampler (``enemy_density``,
        ``gap_density``) so that the model already places pits and enemies about where the exact
        counts will want them, and the controls edit less of what it drew."""
        x = np.arange(width, dtype=np.float64) + 0.5
        if self.width is None:
            return np.ones(width, np.float32)
        span = max(1, self.hi - self.lo)
        t = np.clip((x - self.lo) / span, 0.0, 1.0)
        d = ((1 - self.pacing) + 2 * self.pacing * t) * (self.width / span)
        d[(x < self.lo) | (x >= self.hi)] = 0.0
        return d.astype(np.float32)

    def _span(self, w: int) -> tuple[int, int]:
        """The chunk's columns (local indices a..b) that controls may edit."""
        if self.width is None:
            return 0, w
        return min(max(self.lo - self.x, 0), w), min(max(self.hi - self.x, 0), w)

    def before_repair(self, chunk: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        w = chunk.shape[1]
        if self.pit_rate is None:
            return np.array(chunk, dtype=np.uint8, copy=True)
        x_end = self.x + w
        if self.width is not None and 0 < self.hi - x_end < TAIL:
            x_end = self.hi                  # as after_repair: the short tail's pits go here
        want = self.due(self.pit_rate, x_end) - self.pits
        a, b = self._span(w)
        out = np.array(chunk, dtype=np.uint8, copy=True)
        if b > a:
            fixed = smb_pit_count(out) - smb_pit_count(out[:, a:b])
            out[:, a:b], _ = set_gaps(out[:, a:b], want - fixed, rng)
        return out

    def after_repair(self, chunk: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        w = chunk.shape[1]
        self.pits += smb_pit_count(chunk)
        x_end = self.x + w
        if self.width is not None and 0 < self.hi - x_end < TAIL:
            x_end = self.hi                  # a few editable columns left: this chunk takes their share
        want = self.due(self.enemy_rate, x_end) - self.enemies
        a, b = self._span(w)
        out = np.array(chunk, dtype=np.uint8, copy=True)
        if b > a:
            fixed = int((out == ord("E")).sum()) - int((out[:, a:b] == ord("E")).sum())
            out[:, a:b], _ = set_enemies(out[:, a:b], want - fixed, rng, SMB)
        self.enemies += int((out == ord("E")).sum())
        self.x += w
        return out
