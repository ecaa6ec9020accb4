"""A small game-like 2D arena for NPC behaviour: walls, cover, line of sight, a player, agents.

Engine-neutral: positions are metres in the arena's plane (x right, y up), the arena is a grid of
1 m cells. Everything is numpy and seeded (``numpy.random.Generator`` passed in, never global
state), vectorised over agents where the work allows. :class:`Arena` is the multi-agent core the
scripted baseline, training, the quality benchmark and the renderer drive; ``gym_env.ArenaEnv``
wraps it as a gymnasium environment for one learning agent among others.

The observation an agent gets is a float32 vector laid out by :data:`OBS_FIELDS` (name, width,
what an engine fills it with, scale); the action is one of :data:`ACTIONS` with a mask of the
ones that are possible (:func:`Arena.observe`). An engine integration fills the same vector from
its own world: LOS from its physics raycast, the ``nav_*`` fields from its navmesh's first path
corner (Unity ``NavMesh.CalculatePath``, Unreal ``FindPathToLocationSynchronously``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

# --------------------------------------------------------------------------------------------
# Contract: archetypes, parameters, actions, observation layout
# --------------------------------------------------------------------------------------------

ARCHETYPES = ("guard", "chase", "flee", "search", "wander")
PARAMS = ("aggression", "caution")  # each in [0, 1]; what each archetype does with them: scripted.py

FREE, WALL, COVER = 0, 1, 2
DT = 0.2                 # seconds per tick
AGENT_SPEED = 3.0        # m/s
PLAYER_SPEED = 2.6       # m/s, every player mode
RADIUS = 0.3             # body radius, metres
CAPTURE = 0.8            # metres between centres that count as a capture / a hit
VIEW_RANGE = 12.0        # metres; LOS beyond this does not count as seeing
RAY_RANGE = 8.0          # metres, wall rays
ARENA_SCALE = 32.0       # metres, divides absolute positions and path lengths
AGE_SCALE = 10.0         # seconds, divides last-seen age
NEIGHBOUR_RANGE = 8.0    # metres, nearest other agent

# Action 0 stops; 1..8 move at full speed toward angle (k-1)*45 degrees (1 = +x/east, 3 = +y/north).
ACTIONS = ("stop", "e", "ne", "n", "nw", "w", "sw", "s", "se")
N_ACTIONS = len(ACTIONS)
_ANG = np.arange(8) * (np.pi / 4)
DIRS = np.concatenate([np.zeros((1, 2)), np.stack([np.cos(_ANG), np.sin(_ANG)], 1)]).astype(np.float64)
_STEP8 = np.array([[1, 0], [1, 1], [0, 1], [-1, 1], [-1, 0], [-1, -1], [0, -1], [1, -1]])  # grid (dx, dy)


class Field(NamedTuple):
    name: str
    width: int
    doc: str


OBS_FIELDS: tuple[Field, ...] = (
    Field("position", 2, "own position (x, y) in metres / 32"),
    Field("velocity", 2, "own velocity (vx, vy) in m/s / 4"),
    Field("heading", 2, "unit vector of the last non-zero velocity (cos, sin)"),
    Field("health", 1, "own health, 1 = full, 0 = down"),
    Field("player_visible", 1, "1 when the player is within 12 m with clear line of sight, else 0"),
    Field("player_rel", 2, "(player - self) in metres / 12 when visible, else 0"),
    Field("player_dist", 1, "distance to the player in metres / 12 when visible, else 1"),
    Field("last_seen_rel", 2, "(last-seen player position - self) in metres / 32; 0 when none"),
    Field("last_seen_age", 1, "seconds since the player was last seen / 10, clipped to 1; 1 when none"),
    Field("has_last_seen", 1, "1 while the agent remembers a last-seen position, else 0"),
    Field("nav_to_last_seen", 2, "unit direction to the first path corner toward the last-seen position; 0 when none"),
    Field("last_seen_path", 1, "path length to the last-seen position in metres / 32, clipped to 1; 1 when none"),
    Field("nearest_agent_rel", 2, "(nearest other agent - self) in metres / 8 when within 8 m, else 0"),
    Field("goal_rel", 2, "(designer goal - self) in metres / 32: guard post / patrol waypoint / roam target"),
    Field("nav_to_goal", 2, "unit direction to the first path corner toward the goal"),
    Field("goal_path", 1, "path length to the goal in metres / 32, clipped to 1"),
    Field("nav_to_cover", 2, "unit direction to the first path corner toward the nearest cell hidden from the "
                             "player's last-known position; 0 when none known or already hidden"),
    Field("cover_path", 1, "path length to that cover in metres / 32, clipped to 1; 1 when none"),
    Field("nav_away", 2, "unit direction of the neighbouring cell farthest (by path) from the player's "
                         "last-known position; 0 when none known"),
    Field("in_cover", 1, "1 when the agent's cell is hidden from the player's last-known position, else 0"),
    Field("wall_rays", 8, "distance to the first wall or cover along the 8 compass directions "
                          "(e, ne, n, nw, w, sw, s, se) in metres / 8, clipped to 1"),
    Field("archetype", len(ARCHETYPES), "one-hot over " + ", ".join(ARCHETYPES)),
    Field("params", len(PARAMS), "archetype parameters " + ", ".join(PARAMS) + ", each in [0, 1]"),
)


def _offsets(fields) -> dict[str, slice]:
    out, i = {}, 0
    for f in fields:
        out[f.name] = slice(i, i + f.width)
        i += f.width
    return out


OBS = _offsets(OBS_FIELDS)
OBS_SIZE = sum(f.width for f in OBS_FIELDS)


def layout_doc() -> list[dict]:
    """The observation layout as data (for manifests, docs and engine integrations)."""
    return [{"name": f.name, "offset": OBS[f.name].start, "width": f.width, "doc": f.doc} for f in OBS_FIELDS]


def layout_markdown() -> str:
    """The observation layout as a markdown table (``python -m gamegen.generators.npc.arena``)."""
    rows = ["| offset | width | field | what the engine fills in |", "|---:|---:|---|---|"]
    rows += [f"| {d['offset']} | {d['width']} | `{d['name']}` | {d['doc']} |" for d in layout_doc()]
    return "\n".join(rows) + "\n"



# --------------------------------------------------------------------------------------------
# Maps
# --------------------------------------------------------------------------------------------

def make_map(rng: np.random.Generator, width: int = 24, height: int = 24) -> np.ndarray:
    """A walled arena with wall segments and cover pillars; every free cell reachable from every other.

    Returns ``grid[y, x]`` with FREE/WALL/COVER.
    """
    g = np.zeros((height, width), np.int8)
    g[0, :] = g[-1, :] = g[:, 0] = g[:, -1] = WALL
    for _ in range(int(rng.integers(4, 8))):           # wall segments
        length = int(rng.integers(3, 9))
        x, y = int(rng.integers(2, width - 2)), int(rng.integers(2, height - 2))
        if rng.random() < 0.5:
            g[y, x:min(width - 1, x + length)] = WALL
        else:
            g[y:min(height - 1, y + length), x] = WALL
    for _ in range(int(rng.integers(8, 14))):          # cover pillars (1x1 or 2x1)
        x, y = int(rng.integers(2, width - 3)), int(rng.integers(2, height - 3))
        g[y, x] = COVER
        if rng.random() < 0.5:
            g[y + int(rng.random() < 0.5), x + 1] = COVER
    # keep the largest 4-connected free region, fill the rest
    free = g == FREE
    label = -np.ones(g.shape, np.int32)
    best, best_n, n_lab = -1, 0, 0
    for y0, x0 in zip(*np.nonzero(free)):
        if label[y0, x0] >= 0:
            continue
        stack, count = [(y0, x0)], 0
        label[y0, x0] = n_lab
        while stack:
            y, x = stack.pop()
            count += 1
            for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                yy, xx = y + dy, x + dx
                if free[yy, xx] and label[yy, xx] < 0:
                    label[yy, xx] = n_lab
                    stack.append((yy, xx))
        if count > best_n:
            best, best_n = n_lab, count
        n_lab += 1
    g[free & (label != best)] = WALL
    return g


class NavGraph:
    """8-connected grid graph (no corner cutting) with cached single-source path-length fields."""

    def __init__(self, grid: np.ndarray):
        self.grid = grid
        self.h, self.w = grid.shape
        self.free = grid == FREE
        n = self.h * self.w
        rows, cols, wts = [], [], []
        ys, xs = np.nonzero(self.free)
        for (dx, dy) in _STEP8:
            yy, xx = ys + dy, xs + dx
            ok = self.free[yy, xx]
            if dx and dy:  # diagonal: both orthogonal neighbours must be free
                ok &= self.free[ys, xs + dx] & self.free[ys + dy, xs]
            rows.append((ys * self.w + xs)[ok])
            cols.append((yy * self.w + xx)[ok])
            wts.append(np.full(ok.sum(), np.hypot(dx, dy)))
        self.rows, self.cols, self.wts = np.concatenate(rows), np.concatenate(cols), np.concatenate(wts)
        self.n = n
        self.graph = csr_matrix((self.wts, (self.rows, self.cols)), shape=(n, n))
        self._cache: dict[int, np.ndarray] = {}
        self.free_cells = np.flatnonzero(self.free.ravel())
        # neighbour table: nbr[cell, k] = the cell one allowed step along _STEP8[k], else -1
        self.nbr = -np.ones((n, 8), np.int64)
        for k, (dx, dy) in enumerate(_STEP8):
            sel = (self.cols - self.rows) == dy * self.w + dx
            sel &= np.isclose(self.wts, np.hypot(dx, dy))
            self.nbr[self.rows[sel], k] = self.cols[sel]
        self.step_cost = np.hypot(_STEP8[:, 0], _STEP8[:, 1])

    def field(self, cell: int) -> np.ndarray:
        """Path length (metres) from every cell to ``cell`` (inf where unreachable)."""
        f = self._cache.get(cell)
        if f is None:
            f = dijkstra(self.graph, directed=False, indices=cell).reshape(self.h, self.w)
            if len(self._cache) > 512:
                self._cache.clear()
            self._cache[cell] = f
        return f

    def multi_field(self, cells: np.ndarray) -> np.ndarray:
        """Path length from every cell to the nearest of ``cells`` (a virtual source joined to each)."""
        if len(cells) == 0:
            return np.full((self.h, self.w), np.inf)
        n = self.n
        rows = np.concatenate([self.rows, np.full(len(cells), n)])
        cols = np.concatenate([self.cols, cells])
        wts = np.concatenate([self.wts, np.full(len(cells), 1e-6)])
        g = csr_matrix((wts, (rows, cols)), shape=(n + 1, n + 1))
        return dijkstra(g, directed=False, indices=n)[:n].reshape(self.h, self.w)

    def cell_of(self, pos: np.ndarray) -> np.ndarray:
        c = np.clip(np.floor(pos).astype(np.int64), 0, [self.w - 1, self.h - 1])
        return c[..., 1] * self.w + c[..., 0]

    def descend(self, field: np.ndarray, pos: np.ndarray, ascend: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """First step of the shortest path down ``field`` from each position (N, 2).

        Returns (unit directions (N, 2), path length from the position). A position already in the
        target cell steers to the target cell's centre; unreachable gives 0 and inf.
        """
        cell = self.cell_of(pos)
        flat = field.ravel()
        here = flat[cell]
        nb = self.nbr[cell]                                   # (N, 8), -1 where the step is not allowed
        val = np.where(nb >= 0, flat[np.maximum(nb, 0)], np.nan)
        if ascend:
            val = np.where(np.isfinite(val), val, -np.inf)
            k = np.argmax(val, axis=1)
            pick = val[np.arange(len(cell)), k] > here
        else:
            val = np.where(np.isfinite(val), val + self.step_cost, np.inf)
            k = np.argmin(val, axis=1)
            pick = (here > 0) & np.isfinite(val[np.arange(len(cell)), k])
        tcell = np.where(pick, nb[np.arange(len(cell)), k], cell)
        tgt = np.stack([tcell % self.w + 0.5, tcell // self.w + 0.5], 1)
        d = tgt - pos
        norm = np.linalg.norm(d, axis=1, keepdims=True)
        dirs = np.where(norm > 0.05, d / np.maximum(norm, 1e-9), 0.0)
        if not ascend:
            dirs[~np.isfinite(here)] = 0.0
        return dirs, here + 0.0


# --------------------------------------------------------------------------------------------
# Geometry helpers (vectorised)
# --------------------------------------------------------------------------------------------

def blocked_at(grid: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """True where a point (..., 2) lies in a WALL/COVER cell or outside the grid."""
    h, w = grid.shape
    x, y = np.floor(pts[..., 0]).astype(np.int64), np.floor(pts[..., 1]).astype(np.int64)
    inside = (x >= 0) & (x < w) & (y >= 0) & (y < h)
    out = np.ones(pts.shape[:-1], bool)
    out[inside] = grid[y[inside], x[inside]] != FREE
    return out


def line_of_sight(grid: np.ndarray, a: np.ndarray, b: np.ndarray, step: float = 0.1) -> np.ndarray:
    """Grid raycast: True where the segment a->b (M, 2) crosses no WALL/COVER cell.

    The segment is sampled every ``step`` metres (0.1 m, a third of a body radius), so a ray that
    only grazes a cell corner by less than that may pass.
    """
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    if len(a) == 0:
        return np.zeros(0, bool)
    d = b - a
    k = int(np.ceil(np.max(np.linalg.norm(d, axis=1)) / step)) + 1
    t = np.linspace(0.0, 1.0, max(k, 2))
    pts = a[:, None, :] + d[:, None, :] * t[None, :, None]
    return ~blocked_at(grid, pts).any(axis=1)


def ray_lengths(grid: np.ndarray, pos: np.ndarray, max_range: float = RAY_RANGE, step: float = 0.1) -> np.ndarray:
    """Distance to the first blocked cell along the 8 compass directions, (N, 8), clipped to max_range."""
    t = np.arange(1, int(max_range / step) + 1) * step
    pts = pos[:, None, None, :] + DIRS[None, 1:, None, :] * t[None, None, :, None]
    hit = blocked_at(grid, pts)
    first = np.where(hit.any(-1), hit.argmax(-1), len(t))
    return np.where(first < len(t), t[np.minimum(first, len(t) - 1)] - step, max_range)


def can_stand(grid: np.ndarray, pts: np.ndarray, r: float = RADIUS) -> np.ndarray:
    corners = np.array([[-r, -r], [r, -r], [-r, r], [r, r]])
    return ~blocked_at(grid, pts[..., None, :] + corners).any(-1)


def move(grid: np.ndarray, pos: np.ndarray, vel: np.ndarray) -> np.ndarray:
    """Move bodies by vel*DT, sliding along walls (x then y) when the full move is blocked."""
    full = pos + vel * DT
    ok = can_stand(grid, full)
    xo = pos + np.stack([vel[:, 0] * DT, np.zeros(len(pos))], 1)
    yo = pos + np.stack([np.zeros(len(pos)), vel[:, 1] * DT], 1)
    okx, oky = can_stand(grid, xo), can_stand(grid, yo)
    return np.where(ok[:, None], full, np.where(okx[:, None], xo, np.where(oky[:, None], yo, pos)))


def action_mask(grid: np.ndarray, pos: np.ndarray, speed: float = AGENT_SPEED) -> np.ndarray:
    """(N, 9) bool: stop always; a move when its full step is free (no slide)."""
    cand = pos[:, None, :] + DIRS[None, 1:, :] * speed * DT
    return np.concatenate([np.ones((len(pos), 1), bool), can_stand(grid, cand)], 1)


# --------------------------------------------------------------------------------------------
# The arena
# --------------------------------------------------------------------------------------------

PLAYER_MODES = ("wander", "evade", "hunt", "intrude", "idle")


@dataclass
class AgentSpec:
    archetype: str
    aggression: float = 0.5
    caution: float = 0.5

    def __post_init__(self):
        if self.archetype not in ARCHETYPES:
            raise ValueError(f"archetype {self.archetype!r} is not one of {', '.join(ARCHETYPES)}")
        for p in PARAMS:
            v = getattr(self, p)
            if not (0.0 <= float(v) <= 1.0):
                raise ValueError(f"{p}={v!r} is outside the allowed range [0, 1]")


class Arena:
    """Multi-agent arena: N agents, one scripted player, a seeded map.

    ``reset(specs, seed, player_mode=...)`` lays out the scene; each tick call :meth:`observe` then
    :meth:`step` with one action per agent. State lives in plain numpy arrays (``pos``, ``vel``,
    ``health``, ``last_seen``, ...) that the scripted baseline reads.
    """

    def __init__(self, width: int = 24, height: int = 24):
        self.width, self.height = width, height

    # --- setup --------------------------------------------------------------------------
    def reset(self, specs: list[AgentSpec], seed: int, player_mode: str = "wander",
              grid: np.ndarray | None = None, positions: np.ndarray | None = None,
              player_pos: np.ndarray | None = None) -> None:
        if player_mode not in PLAYER_MODES:
            raise ValueError(f"player_mode {player_mode!r} is not one of {', '.join(PLAYER_MODES)}")
        self.rng = np.random.default_rng(seed)
        self.grid = make_map(self.rng, self.width, self.height) if grid is None else grid.copy()
        self.nav = NavGraph(self.grid)
        self.specs = list(specs)
        n = len(specs)
        self.arch = np.array([ARCHETYPES.index(s.archetype) for s in specs], np.int64)
        self.params = np.array([[s.aggression, s.caution] for s in specs], np.float64).reshape(n, 2)
        free = self.nav.free_cells
        if positions is None:
            cells = self.rng.choice(free, size=n + 1, replace=len(free) < n + 1)
            pts = np.stack([cells % self.width, cells // self.width], 1) + 0.5
            self.pos = pts[:n].astype(np.float64)
            pp = pts[n]
        else:
            self.pos = np.asarray(positions, np.float64).reshape(n, 2).copy()
            pp = self.random_free_point()
        self.player = np.asarray(pp if player_pos is None else player_pos, np.float64).copy()
        self.player_mode = player_mode
        self.player_vel = np.zeros(2)
        self.player_goal = self.random_free_point()
        self.player_last_seen: np.ndarray | None = None   # where the hunting player last saw its prey
        self.objective = self.pos[0].copy() if n else self.player.copy()  # what an intruder heads for
        self.vel = np.zeros((n, 2))
        self.heading = np.tile([1.0, 0.0], (n, 1))
        self.health = np.ones(n)
        self.alive = np.ones(n, bool)
        self.last_seen = np.zeros((n, 2))
        self.seen_age = np.full(n, np.inf)               # seconds; inf = no memory
        self.post = self.pos.copy()                      # guard posts = spawn points
        self.waypoint_i = np.zeros(n, np.int64)
        self.patrol = [self._patrol_loop(p) for p in self.post]
        self.goal = self.pos.copy()
        self.goal_timer = np.zeros(n)
        for i in range(n):
            self._next_goal(i)
        self.t = 0
        self._hidden_cache = {}
        self.visited = np.zeros((n, self.height, self.width), bool)
        self._mark_visited()
        self._update_perception()

    def random_free_point(self) -> np.ndarray:
        c = int(self.rng.choice(self.nav.free_cells))
        return np.array([c % self.width + 0.5, c // self.width + 0.5])

    def _patrol_loop(self, post: np.ndarray) -> np.ndarray:
        """Four reachable patrol points around a post (within 3 m), visited in order."""
        field = self.nav.field(int(self.nav.cell_of(post[None])[0]))
        pts = []
        for ang in (0.25, 0.75, 1.25, 1.75):
            want = post + 3.0 * np.array([np.cos(np.pi * ang), np.sin(np.pi * ang)])
            cells = self.nav.free_cells
            cx, cy = cells % self.width + 0.5, cells // self.width + 0.5
            ok = np.isfinite(field.ravel()[cells]) & (field.ravel()[cells] <= 5.0)
            d = np.where(ok, np.hypot(cx - want[0], cy - want[1]), np.inf)
            j = int(np.argmin(d))
            pts.append([cx[j], cy[j]])
        return np.array(pts)

    def _next_goal(self, i: int) -> None:
        if self.arch[i] == ARCHETYPES.index("guard"):
            self.waypoint_i[i] = (self.waypoint_i[i] + 1) % 4
            self.goal[i] = self.patrol[i][self.waypoint_i[i]]
        else:
            self.goal[i] = self.random_free_point()
        self.goal_timer[i] = 0.0

    # --- perception ----------------------------------------------------------------------
    def _update_perception(self) -> None:
        n = len(self.pos)
        d = np.linalg.norm(self.player[None] - self.pos, axis=1) if n else np.zeros(0)
        los = line_of_sight(self.grid, self.pos, np.tile(self.player, (n, 1))) if n else np.zeros(0, bool)
        self.visible = los & (d <= VIEW_RANGE) & self.alive
        self.last_seen[self.visible] = self.player
        self.seen_age[self.visible] = 0.0

    def _mark_visited(self) -> None:
        c = self.nav.cell_of(self.pos)
        self.visited.reshape(len(self.pos), -1)[np.arange(len(self.pos)), c] = True

    # --- observation ---------------------------------------------------------------------
    def observe(self) -> tuple[np.ndarray, np.ndarray]:
        """(obs (N, OBS_SIZE) float32, mask (N, 9) bool) for every agent, laid out by OBS_FIELDS."""
        n = len(self.pos)
        o = np.zeros((n, OBS_SIZE), np.float64)
        o[:, OBS["position"]] = self.pos / ARENA_SCALE
        o[:, OBS["velocity"]] = self.vel / 4.0
        o[:, OBS["heading"]] = self.heading
        o[:, OBS["health"]] = self.health[:, None]
        vis = self.visible
        rel = self.player[None] - self.pos
        o[:, OBS["player_visible"]] = vis[:, None]
        o[:, OBS["player_rel"]] = np.where(vis[:, None], rel / VIEW_RANGE, 0.0)
        o[:, OBS["player_dist"]] = np.where(vis, np.linalg.norm(rel, axis=1) / VIEW_RANGE, 1.0)[:, None]
        has = np.isfinite(self.seen_age)
        o[:, OBS["has_last_seen"]] = has[:, None]
        o[:, OBS["last_seen_rel"]] = np.where(has[:, None], (self.last_seen - self.pos) / ARENA_SCALE, 0.0)
        o[:, OBS["last_seen_age"]] = np.minimum(self.seen_age / AGE_SCALE, 1.0)[:, None]
        o[:, OBS["last_seen_path"]] = 1.0
        o[:, OBS["cover_path"]] = 1.0
        cells = self.nav.cell_of(self.last_seen)
        for c in np.unique(cells[has]):
            idx = np.flatnonzero(has & (cells == c))
            dirs, length = self.nav.descend(self.nav.field(int(c)), self.pos[idx])
            o[idx, OBS["nav_to_last_seen"]] = dirs
            o[idx, OBS["last_seen_path"]] = np.minimum(length / ARENA_SCALE, 1.0)[:, None]
            # cover and "away" are relative to where the agent believes the player is
            cover = self._hidden_cells(self.last_seen[idx[0]])[1]
            cdir, clen = self.nav.descend(cover, self.pos[idx])
            incover = clen < 0.01
            o[idx, OBS["nav_to_cover"]] = np.where(incover[:, None], 0.0, cdir)
            o[idx, OBS["cover_path"]] = np.minimum(clen / ARENA_SCALE, 1.0)[:, None]
            o[idx, OBS["in_cover"]] = incover[:, None]
            adir, _ = self.nav.descend(self.nav.field(int(c)), self.pos[idx], ascend=True)
            o[idx, OBS["nav_away"]] = adir
        if n > 1:
            dd = np.linalg.norm(self.pos[:, None] - self.pos[None], axis=2)
            dd[np.arange(n), np.arange(n)] = np.inf
            dd[:, ~self.alive] = np.inf
            j = np.argmin(dd, axis=1)
            near = dd[np.arange(n), j] <= NEIGHBOUR_RANGE
            o[:, OBS["nearest_agent_rel"]] = np.where(near[:, None], (self.pos[j] - self.pos) / NEIGHBOUR_RANGE, 0.0)
        gcells = self.nav.cell_of(self.goal)
        o[:, OBS["goal_rel"]] = (self.goal - self.pos) / ARENA_SCALE
        for c in np.unique(gcells):
            idx = np.flatnonzero(gcells == c)
            dirs, length = self.nav.descend(self.nav.field(int(c)), self.pos[idx])
            o[idx, OBS["nav_to_goal"]] = dirs
            o[idx, OBS["goal_path"]] = np.minimum(length / ARENA_SCALE, 1.0)[:, None]
        o[:, OBS["wall_rays"]] = ray_lengths(self.grid, self.pos) / RAY_RANGE
        o[np.arange(n), OBS["archetype"].start + self.arch] = 1.0
        o[:, OBS["params"]] = self.params
        return o.astype(np.float32), action_mask(self.grid, self.pos)

    def _hidden_cells(self, viewer: np.ndarray) -> np.ndarray:
        cell = int(self.nav.cell_of(np.asarray(viewer, np.float64)[None])[0])
        cache = self.__dict__.setdefault("_hidden_cache", {})
        if cell not in cache:
            eye = np.array([cell % self.width + 0.5, cell // self.width + 0.5])
            cells = self.nav.free_cells
            pts = np.stack([cells % self.width + 0.5, cells // self.width + 0.5], 1)
            vis = line_of_sight(self.grid, np.tile(eye, (len(cells), 1)), pts, step=0.2)
            vis &= np.linalg.norm(pts - eye, axis=1) <= VIEW_RANGE
            hidden = cells[~vis]
            cache[cell] = (hidden, self.nav.multi_field(hidden))
        return cache[cell]

    def hidden_cells(self, viewer: np.ndarray) -> np.ndarray:
        """Free cells (flat indices) hidden from the centre of the viewer's cell (blocked LOS or beyond
        view range)."""
        return self._hidden_cells(np.asarray(viewer, np.float64))[0]

    # --- dynamics ------------------------------------------------------------------------
    def step(self, actions: np.ndarray) -> dict:
        """Advance one tick. Returns {"captured": (N,) bool agent reached the player,
        "hit": (N,) bool player reached the agent}."""
        actions = np.asarray(actions, np.int64).reshape(-1)
        n = len(self.pos)
        if actions.shape != (n,) or (n and (actions.min() < 0 or actions.max() >= N_ACTIONS)):
            raise ValueError(f"actions: expected {n} ints in [0, {N_ACTIONS}), got shape {actions.shape}")
        vel = DIRS[actions] * AGENT_SPEED * self.alive[:, None]
        new = move(self.grid, self.pos, vel)
        self.vel = (new - self.pos) / DT
        moving = np.linalg.norm(self.vel, axis=1) > 1e-6
        self.heading[moving] = self.vel[moving] / np.linalg.norm(self.vel[moving], axis=1, keepdims=True)
        self.pos = new
        self._step_player()
        d = np.linalg.norm(self.player[None] - self.pos, axis=1)
        contact = (d <= CAPTURE) & self.alive
        hit = contact if self.player_mode == "hunt" else np.zeros(n, bool)
        if hit.any():
            self.health[hit] = np.maximum(0.0, self.health[hit] - 0.5)
            self.alive &= self.health > 0
        self.seen_age = self.seen_age + DT
        # an agent that reaches the last-seen spot and does not see the player there forgets it
        searched = np.isfinite(self.seen_age) & (np.linalg.norm(self.last_seen - self.pos, axis=1) < 1.0)
        self.seen_age[searched & ~self.visible] = np.inf
        self.goal_timer += DT
        reached = np.linalg.norm(self.goal - self.pos, axis=1) < 1.0
        for i in np.flatnonzero(reached | (self.goal_timer > 20.0)):
            self._next_goal(i)
        self.t += 1
        self._mark_visited()
        self._update_perception()
        return {"captured": contact & (self.player_mode != "hunt"), "hit": hit}

    def _step_player(self) -> None:
        mode, nav, p = self.player_mode, self.nav, self.player[None]
        speed = PLAYER_SPEED
        target_field, ascend = None, False
        n = len(self.pos)
        alive = np.flatnonzero(self.alive)
        if mode == "idle":
            self.player_vel = np.zeros(2)
            return
        if len(alive):
            d = np.linalg.norm(self.pos[alive] - p, axis=1)
            sees = line_of_sight(self.grid, np.tile(self.player, (len(alive), 1)), self.pos[alive]) & (d <= VIEW_RANGE)
        else:
            d, sees = np.zeros(0), np.zeros(0, bool)
        if mode == "hunt":
            if sees.any():
                j = alive[np.flatnonzero(sees)[np.argmin(d[sees])]]
                self.player_last_seen = self.pos[j].copy()
            if self.player_last_seen is not None:
                target_field = nav.field(int(nav.cell_of(self.player_last_seen[None])[0]))
                if np.linalg.norm(self.player_last_seen - self.player) < 0.5:
                    self.player_last_seen = None
        elif mode == "evade" and sees.any() and np.min(d[sees]) < 8.0:
            threats = self.pos[alive[sees]]
            # step to the reachable neighbour that maximises the distance to the nearest threat
            best, bestv = np.zeros(2), -np.inf
            for k in range(1, 9):
                q = self.player + DIRS[k] * speed * DT
                if not can_stand(self.grid, q[None])[0]:
                    continue
                v = np.min(np.linalg.norm(threats - q, axis=1)) + 0.3 * self.rng.random()
                if v > bestv:
                    best, bestv = DIRS[k], v
            self._player_move(best * speed)
            return
        elif mode == "intrude":
            target_field = nav.field(int(nav.cell_of(self.objective[None])[0]))
        if target_field is None:                  # wander (and evade with no threat near)
            if np.linalg.norm(self.player_goal - self.player) < 1.0:
                self.player_goal = self.random_free_point()
            target_field = nav.field(int(nav.cell_of(self.player_goal[None])[0]))
        dirs, _ = nav.descend(target_field, p, ascend=ascend)
        self._player_move(dirs[0] * speed)

    def _player_move(self, vel: np.ndarray) -> None:
        new = move(self.grid, self.player[None], vel[None])[0]
        self.player_vel = (new - self.player) / DT
        self.player = new


if __name__ == "__main__":
    print(layout_markdown(), end="")
