"""The scripted baseline: one finite-state machine per archetype, path-finding by A* on the grid.

Each FSM reads the arena's state (what the agent perceives: the player when visible, its memory of
the last-seen position, its goal) and its parameters, picks a target, plans to it with A*
(octile heuristic, 8-connected, no corner cutting) and steers toward the next path cell with the
allowed action closest in direction. These are the teachers the learned policies imitate and the
floor they must beat.

States and parameters (aggression ``a``, caution ``c``, both in [0, 1]):

==========  =====================================================================================
guard       PATROL the four waypoints around the post; CHASE the player while it is visible and
            within the leash ``3 + 7a`` m of the post; INVESTIGATE the last-seen spot while it is
            younger than ``2 + 4a`` s and inside the leash; else back to PATROL.
chase       PURSUE a visible player down to the stand-off distance ``3.5 (1 - a)`` m (backs off
            when closer, holds inside the band); INVESTIGATE the last-seen spot (< 10 s old);
            else ROAM to its goal. Retreats like flee when health < ``c``.
flee        Threatened when the player is visible within ``4 + 8c`` m, or was seen there less
            than ``1 + 4c`` s ago: HIDE in the nearest cell hidden from the player when ``c >= 0.5``,
            else RUN to the reachable cell farthest (by path) from the player; else ROAM.
search      APPROACH a visible player; INVESTIGATE the last-seen spot while its memory is younger
            than ``5 + 25a`` s; else ROAM.
wander      ROAM goal to goal; AVOID a visible player closer than ``2 + 6c`` m.
==========  =====================================================================================
"""

from __future__ import annotations

import heapq

import numpy as np

from .arena import ARCHETYPES, DIRS, N_ACTIONS, VIEW_RANGE, Arena, action_mask

_NEIGH = [(1, 0, 1.0), (-1, 0, 1.0), (0, 1, 1.0), (0, -1, 1.0),
          (1, 1, 2 ** 0.5), (1, -1, 2 ** 0.5), (-1, 1, 2 ** 0.5), (-1, -1, 2 ** 0.5)]


def astar(free: np.ndarray, start: tuple[int, int], goal: tuple[int, int]) -> list[tuple[int, int]] | None:
    """Shortest 8-connected path of (x, y) cells from start to goal on ``free[y, x]``, or None.

    Octile-distance heuristic (admissible and consistent for these step costs); a diagonal step
    needs both orthogonal neighbours free, so a body does not clip wall corners.
    """
    h, w = free.shape
    if not (0 <= goal[0] < w and 0 <= goal[1] < h) or not free[goal[1], goal[0]]:
        return None
    gx, gy = goal

    def heur(x, y):
        dx, dy = abs(x - gx), abs(y - gy)
        return (dx + dy) + (2 ** 0.5 - 2) * min(dx, dy)

    g = {start: 0.0}
    came: dict = {}
    openq = [(heur(*start), 0.0, start)]
    closed = set()
    while openq:
        _, cost, cur = heapq.heappop(openq)
        if cur == goal:
            path = [cur]
            while cur in came:
                cur = came[cur]
                path.append(cur)
            return path[::-1]
        if cur in closed:
            continue
        closed.add(cur)
        x, y = cur
        for dx, dy, c in _NEIGH:
            nx, ny = x + dx, y + dy
            if not free[ny, nx]:
                continue
            if dx and dy and not (free[y, nx] and free[ny, x]):
                continue
            nc = cost + c
            if nc < g.get((nx, ny), np.inf):
                g[(nx, ny)] = nc
                came[(nx, ny)] = cur
                heapq.heappush(openq, (nc + heur(nx, ny), nc, (nx, ny)))
    return None


def steer(direction: np.ndarray, mask: np.ndarray) -> int:
    """The allowed move action closest in angle to ``direction`` (stop when it is ~zero)."""
    n = np.linalg.norm(direction)
    if n < 1e-6:
        return 0
    score = DIRS[1:] @ (direction / n)
    score[~mask[1:]] = -np.inf
    k = int(np.argmax(score))
    return k + 1 if np.isfinite(score[k]) else 0


def thresholds(archetype: str, aggression: float, caution: float) -> dict[str, float]:
    """The numbers an archetype's parameters set (the FSMs and the behaviour trees share them)."""
    a, c = float(aggression), float(caution)
    return {
        "guard": {"leash_m": 3.0 + 7.0 * a, "memory_s": 2.0 + 4.0 * a},
        "chase": {"standoff_m": 3.5 * (1.0 - a), "band_m": 0.5, "memory_s": 10.0, "retreat_health": c},
        "flee": {"threat_m": 4.0 + 8.0 * c, "memory_s": 1.0 + 4.0 * c, "hide": float(c >= 0.5), "run_radius_m": 6.0},
        "search": {"memory_s": 5.0 + 25.0 * a},
        "wander": {"avoid_m": 2.0 + 6.0 * c},
    }[archetype]


class ScriptedPolicy:
    """Decides for every agent of an :class:`Arena` by its archetype's FSM (see module doc)."""

    name = "scripted"

    def __init__(self):
        self._paths: dict[int, tuple[tuple[int, int], list]] = {}
        self.state: list[str] = []

    def reset(self) -> None:
        self._paths.clear()

    def act(self, arena: Arena) -> np.ndarray:
        mask = action_mask(arena.grid, arena.pos)
        out = np.zeros(len(arena.pos), np.int64)
        self.state = []
        for i in range(len(arena.pos)):
            if not arena.alive[i]:
                self.state.append("down")
                continue
            state, direction = self._decide(arena, i)
            self.state.append(state)
            out[i] = steer(direction, mask[i])
        return out

    # --- path following ----------------------------------------------------------------------
    def _toward(self, arena: Arena, i: int, target: np.ndarray) -> np.ndarray:
        """Direction to the next A* path cell toward ``target`` (metres); zero when there."""
        pos = arena.pos[i]
        here = (int(pos[0]), int(pos[1]))
        goal = (int(target[0]), int(target[1]))
        if here == goal:
            d = target - pos
            return d if np.linalg.norm(d) > 0.3 else np.zeros(2)
        cached = self._paths.get(i)
        path = None
        if cached is not None and cached[0] == goal and here in cached[1]:
            path = cached[1][cached[1].index(here):]
        if path is None:
            path = astar(arena.nav.free, here, goal)
            if path is None:
                return np.zeros(2)
            self._paths[i] = (goal, path)
        nxt = path[1] if len(path) > 1 else path[0]
        return np.array([nxt[0] + 0.5, nxt[1] + 0.5]) - pos

    @staticmethod
    def _away(arena: Arena, i: int, threat: np.ndarray) -> np.ndarray:
        return arena.pos[i] - threat

    def _run(self, arena: Arena, i: int, threat: np.ndarray) -> np.ndarray:
        """Toward the cell within 6 m that is farthest by path from the threat."""
        nav = arena.nav
        field = nav.field(int(nav.cell_of(threat[None])[0])).ravel()
        cells = nav.free_cells
        pts = np.stack([cells % arena.width + 0.5, cells // arena.width + 0.5], 1)
        near = np.linalg.norm(pts - arena.pos[i], axis=1)
        score = np.where((near <= thresholds("flee", 0, 0)["run_radius_m"]) & np.isfinite(field[cells]), field[cells] - 0.3 * near, -np.inf)
        return self._toward(arena, i, pts[int(np.argmax(score))])

    def _hide(self, arena: Arena, i: int, threat: np.ndarray) -> tuple[str, np.ndarray]:
        hidden = arena.hidden_cells(threat)
        if len(hidden) == 0:
            return "run", self._run(arena, i, threat)
        here = int(arena.nav.cell_of(arena.pos[i][None])[0])
        if here in set(hidden.tolist()):
            return "hide", np.zeros(2)
        pts = np.stack([hidden % arena.width + 0.5, hidden // arena.width + 0.5], 1)
        # cover I reach well before the threat does, as far from the threat as that allows
        nav = arena.nav
        mine = nav.field(here).ravel()[hidden]
        theirs = nav.field(int(nav.cell_of(threat[None])[0])).ravel()[hidden]
        score = np.where(np.isfinite(mine), mine - theirs, np.inf)
        return "take-cover", self._toward(arena, i, pts[int(np.argmin(score))])

    # --- the FSMs -----------------------------------------------------------------------------
    def _decide(self, arena: Arena, i: int) -> tuple[str, np.ndarray]:
        arch = ARCHETYPES[arena.arch[i]]
        a, c = arena.params[i]
        pos, vis = arena.pos[i], bool(arena.visible[i])
        player = arena.player
        d = float(np.linalg.norm(player - pos))
        has = bool(np.isfinite(arena.seen_age[i]))
        age = float(arena.seen_age[i])
        last = arena.last_seen[i]

        th = thresholds(arch, a, c)
        if arch == "guard":
            leash = th["leash_m"]
            post = arena.post[i]
            if vis and np.linalg.norm(player - post) <= leash:
                return "chase", self._toward(arena, i, player)
            if has and age < th["memory_s"] and np.linalg.norm(last - post) <= leash:
                return "investigate", self._toward(arena, i, last)
            return "patrol", self._toward(arena, i, arena.goal[i])

        if arch == "chase":
            if arena.health[i] < c:
                return self._flee(arena, i, c, vis, d, has, age, last)
            standoff = th["standoff_m"]
            if vis:
                if d > standoff + th["band_m"]:
                    return "pursue", self._toward(arena, i, player)
                if d < standoff - th["band_m"]:
                    return "back-off", self._away(arena, i, player)
                return "hold", np.zeros(2)
            if has and age < th["memory_s"]:
                return "investigate", self._toward(arena, i, last)
            return "roam", self._toward(arena, i, arena.goal[i])

        if arch == "flee":
            return self._flee(arena, i, c, vis, d, has, age, last)

        if arch == "search":
            if vis:
                return "approach", self._toward(arena, i, player)
            if has and age < th["memory_s"]:
                return "investigate", self._toward(arena, i, last)
            return "roam", self._toward(arena, i, arena.goal[i])

        # wander
        if vis and d < th["avoid_m"]:
            return "avoid", self._away(arena, i, player)
        return "roam", self._toward(arena, i, arena.goal[i])

    def _flee(self, arena, i, c, vis, d, has, age, last) -> tuple[str, np.ndarray]:
        th = thresholds("flee", 0.0, c)
        threat_range = th["threat_m"]
        threatened = (vis and d < threat_range) or (
            has and age < th["memory_s"] and np.linalg.norm(last - arena.pos[i]) < threat_range)
        if threatened:
            if th["hide"]:
                return self._hide(arena, i, last)
            return "run", self._run(arena, i, last)
        return "roam", self._toward(arena, i, arena.goal[i])


class RandomPolicy:
    """Uniform over the allowed actions, seeded."""

    name = "random"

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)

    def reset(self) -> None:
        pass

    def act(self, arena: Arena) -> np.ndarray:
        mask = action_mask(arena.grid, arena.pos)
        u = self.rng.random((len(mask), N_ACTIONS))
        return np.argmax(np.where(mask, u, -1.0), axis=1)


__all__ = ["astar", "steer", "ScriptedPolicy", "RandomPolicy", "VIEW_RANGE"]
