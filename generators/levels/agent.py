"""A Super Mario Bros agent that plays a level with continuous physics and enemies (numpy-free
pure Python; benchmarks and tests only — the server uses the tile checker in playability.py).

It is an independent second opinion on :func:`playability.check`: frame-by-frame physics in tile
units, searched with A* over short action sequences, in the spirit of the Mario AI benchmark's
A* agent (Baumgarten 2009), but far simpler.

Physics (small Mario, hitbox 0.8 × 0.95 tiles), calibrated on the corpus's jump data
(``vglc/Super_Mario_Bros/SMB_estimated_jumps.json``: the highest jump rises 4 tiles, the longest
running jump lands 9 columns on at its take-off height):

* running speed :data:`RUN` tiles/frame, reached with :data:`ACCEL` per frame (less in the air);
* a jump starts at :data:`JUMP_V` upwards; while the button is held and Mario rises, gravity is
  :data:`G_HOLD`, otherwise :data:`G_FALL` (releasing early gives a lower jump), falling speed
  capped at :data:`MAX_FALL`. Peak :data:`JUMP_V`² / 2 :data:`G_HOLD` = 4.2 tiles; a running jump
  from a standstill ground lands ~8.5 columns on;
* solids as in :data:`playability.SMB_SOLID`; the map's top is open sky; falling below the
  bottom row kills.

Enemies: every ``E`` becomes a goomba-sized enemy (0.9 tiles) that first falls to the floor
under it (one that falls out of the map is gone) and then patrols the floor segment it lands on
at :data:`ENEMY_V` tiles/frame, turning at walls and ledges (like a red Koopa; timing depends
only on the frame number, so the search stays exact). Landing on one from above while falling
stomps it (Mario bounces); any other contact kills. Cannons do not fire (not modelled).

``play(grid, enemies=True)`` returns an :class:`AgentResult`; a level is *finished* when Mario's
box reaches the last 3 columns. ``enemies=False`` plays the geometry alone: a failure there is a
*structural* failure (no timing or skill can fix it within these physics).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from .playability import SMB_SOLID

RUN = 0.17          # tiles / frame (SMB running ~2.5-2.7 px/frame at 16 px/tile)
ACCEL = 0.012
AIR_ACCEL = 0.008
APEX = 4.6          # tiles: a standing jump lands on a 4-tile ledge, as the corpus jumps do
JUMP_V = 0.25       # tiles / frame
G_HOLD = JUMP_V * JUMP_V / (2 * APEX)
G_FALL = 0.03
MAX_FALL = 0.3
W, H = 0.8, 0.95    # Mario's box
ENEMY_V = 0.03
ENEMY_W = 0.9
FRAMES = 3          # frames per search step (one action held)
END_COLS = 3
HEURISTIC_WEIGHT = 3.0   # weighted A*: greedier than optimal, far fewer nodes
KEY_RES = 6              # states closer than 1/6 tile (and similar speeds) count as one
_ACTIONS = ((1, True), (1, False), (0, False), (-1, True), (-1, False), (0, True))


@dataclass(frozen=True)
class AgentResult:
    finished: bool
    max_x: float          #: furthest column Mario's box reached
    frames: int           #: frames to the finish (or of the furthest node)
    expanded: int         #: search nodes expanded
    reason: str           #: "" when finished; else what stopped it


class _Level:
    def __init__(self, grid: np.ndarray, enemies: bool):
        g = np.asarray(grid, dtype=np.uint8)
        self.h, self.w = g.shape
        lut = np.zeros(256, dtype=bool)
        lut[np.frombuffer(SMB_SOLID.encode(), dtype=np.uint8)] = True
        self.solid = lut[g].tolist()
        self.enemies: list[tuple[float, float, float, float]] = []    # (row, x0, x1 range of x, phase)
        if enemies:
            for r, c in np.argwhere(g == ord("E")):
                self._add_enemy(int(r), int(c))
        # enemies by column bucket for quick lookup
        self.by_col: dict[int, list[int]] = {}
        for i, (row, a, b, _) in enumerate(self.enemies):
            for c in range(int(a) - 1, int(b) + 3):
                self.by_col.setdefault(c, []).append(i)

    def is_solid(self, r: int, c: int) -> bool:
        if c < 0 or c >= self.w:
            return True              # the level's sides are walls
        if r < 0 or r >= self.h:
            return False             # open sky above, the pit below
        return self.solid[r][c]

    def _add_enemy(self, r: int, c: int) -> None:
        while r + 1 < self.h and not self.solid[r + 1][c]:
            r += 1
        if r + 1 >= self.h:
            return                   # falls out of the map
        a = c
        while a - 1 >= 0 and not self.solid[r][a - 1] and self.solid[r + 1][a - 1] and r + 1 < self.h:
            a -= 1
        b = c
        while b + 1 < self.w and not self.solid[r][b + 1] and self.solid[r + 1][b + 1]:
            b += 1
        # patrol x in [a, b + 1 - ENEMY_W], starting at c walking left
        self.enemies.append((float(r), float(a), float(b + 1 - ENEMY_W), float(c)))

    def enemy_x(self, i: int, t: int) -> float:
        row, a, b, x0 = self.enemies[i]
        span = b - a
        if span <= 0:
            return a
        # walking left from x0, bouncing between a and b: a triangle wave of period 2 span
        d = (x0 - a) + 2 * span - (ENEMY_V * t) % (2 * span)      # position along the unfolded path
        d = d % (2 * span)
        return a + (d if d <= span else 2 * span - d)


def _collide_x(lv: _Level, x: float, y: float, nx: float) -> float:
    """Move horizontally from x to nx at height y; stop at walls."""
    r0, r1 = int(math.floor(y + 1e-6)), int(math.floor(y + H - 1e-6))
    if nx > x:
        c = int(math.floor(nx + W - 1e-6))
        for r in range(r0, r1 + 1):
            if lv.is_solid(r, c):
                return c - W
    elif nx < x:
        c = int(math.floor(nx + 1e-6))
        for r in range(r0, r1 + 1):
            if lv.is_solid(r, c):
                return float(c + 1)
    return nx


def _collide_y(lv: _Level, x: float, y: float, ny: float) -> tuple[float, bool, bool]:
    """Move vertically; return (y, landed, bumped)."""
    c0, c1 = int(math.floor(x + 1e-6)), int(math.floor(x + W - 1e-6))
    if ny > y:
        r = int(math.floor(ny + H - 1e-6))
        for c in range(c0, c1 + 1):
            if lv.is_solid(r, c):
                return r - H, True, False
    elif ny < y:
        r = int(math.floor(ny + 1e-6))
        for c in range(c0, c1 + 1):
            if lv.is_solid(r, c):
                return float(r + 1), False, True
    return ny, False, False


def _on_ground(lv: _Level, x: float, y: float) -> bool:
    r = int(math.floor(y + H + 0.02))
    c0, c1 = int(math.floor(x + 1e-6)), int(math.floor(x + W - 1e-6))
    return any(lv.is_solid(r, c) for c in range(c0, c1 + 1)) and abs((y + H) - r) < 0.03


def play(grid: np.ndarray, enemies: bool = True, max_nodes: int | None = None,
         start_cell: tuple[int, int] | None = None) -> AgentResult:
    """Search for a way through ``grid`` (uint8 ASCII, (14, width)); see the module docstring.
    ``start_cell`` (row, column) of a standing cell overrides the start (for probing)."""
    lv = _Level(grid, enemies)
    w = lv.w
    goal = w - END_COLS
    # start: the lowest standing cell in the first 3 columns
    start = None
    for c in range(min(3, w)):
        for r in range(lv.h - 2, -1, -1):
            if not lv.solid[r][c] and lv.solid[r + 1][c]:
                start = (c + 0.1, r + 1 - H)
                break
        if start:
            break
    if start_cell is not None:
        start = (start_cell[1] + 0.1, start_cell[0] + 1 - H)
    if start is None:
        return AgentResult(False, 0.0, 0, 0, "no place to start")
    budget = max_nodes if max_nodes is not None else 1000 * w
    x0, y0 = start
    # state: (x, y, vx, vy, ground, held, killed(frozenset), t)
    s0 = (x0, y0, 0.0, 0.0, True, False, frozenset(), 0)
    heap = [(0.0, 0, s0)]
    seen: set = set()
    best_x, best_t, n, tie = x0, 0, 0, 1
    died_enemy = died_pit = 0
    while heap and n < budget:
        _, _, s = heapq.heappop(heap)
        x, y, vx, vy, ground, held, killed, t = s
        key = (round(x * KEY_RES), round(y * KEY_RES), round(vx * 40), round(vy * 30), held, killed)
        if key in seen:
            continue
        seen.add(key)
        n += 1
        for d, jump in _ACTIONS:
            ns = _step(lv, s, d, jump)
            if ns is None:
                continue
            if ns == "enemy":
                died_enemy += 1
                continue
            if ns == "pit":
                died_pit += 1
                continue
            nx = ns[0]
            if nx > best_x:
                best_x, best_t = nx, ns[7]
            if nx + W >= goal:
                return AgentResult(True, nx + W, ns[7], n, "")
            f = ns[7] + HEURISTIC_WEIGHT * (goal - nx - W) / RUN
            tie += 1
            heapq.heappush(heap, (f, tie, ns))
    if not heap:
        why = "no way on" + (f" (enemies killed Mario {died_enemy}x)" if died_enemy else "")
    else:
        why = f"search budget of {budget} nodes spent"
    return AgentResult(False, best_x + W, best_t, n, f"{why}; furthest column {best_x + W:.1f}")


def _step(lv: _Level, s, d: int, jump: bool):
    x, y, vx, vy, ground, held, killed, t = s
    for _ in range(FRAMES):
        # horizontal
        acc = ACCEL if ground else AIR_ACCEL
        target = d * RUN
        if vx < target:
            vx = min(target, vx + acc)
        elif vx > target:
            vx = max(target, vx - acc)
        # jump
        if ground and jump and not held:
            vy = -JUMP_V
            held = True
            ground = False
        if not jump:
            held = False
        g = G_HOLD if (held and vy < 0) else G_FALL
        vy = min(MAX_FALL, vy + g)
        nx = _collide_x(lv, x, y, x + vx)
        if nx != x + vx:
            vx = 0.0
        x = nx
        ny, landed, bumped = _collide_y(lv, x, y, y + vy)
        y = ny
        if landed:
            vy = 0.0
            ground = True
        elif bumped:
            vy = 0.0
            held = False
            ground = False
        else:
            ground = vy >= 0 and _on_ground(lv, x, y)
            if ground:
                vy = 0.0
        t += 1
        if y > lv.h:
            return "pit"
        # enemies
        if lv.enemies:
            for i in lv.by_col.get(int(x), ()):
                if i in killed:
                    continue
                row = lv.enemies[i][0]
                ex = lv.enemy_x(i, t)
                ey = row + 1 - ENEMY_W
                if x + W > ex and x < ex + ENEMY_W and y + H > ey and y < row + 1:
                    if vy > 0 and y + H - ey < 0.5:
                        killed = killed | {i}
                        vy = -0.12
                        held = False
                        ground = False
                    else:
                        return "enemy"
    if jump and ground:
        held = True          # must release to jump again
    return (x, y, vx, vy, ground, held, killed, t)
