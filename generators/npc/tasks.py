"""Task episodes and their figures: how an archetype is judged (benchmarks, tests, training curves).

One focal agent per episode, seeded; ``policy.act(arena) -> actions`` decides every tick.

=======  ====================================================================================
chase    the player evades (2.6 m/s vs 3.0); figures: captured (contact within 60 s), seconds
         to capture
flee     the player hunts (2.6 m/s vs 3.0); figure: seconds survived before the first hit
         (60 s cap)
search   the agent remembers a last-seen spot >= 10 m away by path, the player stands hidden
         elsewhere; figures: reached (within 1 m of the spot, or touching the player found on the
         way; 40 s cap), seconds to reach
guard    the player walks to the guard's post from 8-14 m away; figure: stopped (the guard
         touches the player before it reaches the post)
wander   no threat; figure: coverage, the fraction of free cells visited in 60 s
=======  ====================================================================================
"""

from __future__ import annotations

import numpy as np

from .arena import DT, Arena, AgentSpec

TASKS = ("guard", "chase", "flee", "search", "wander")
DEFAULT_PARAMS = {"guard": (0.7, 0.5), "chase": (1.0, 0.0), "flee": (0.5, 0.8), "search": (1.0, 0.5),
                  "wander": (0.5, 0.5)}


def _path_len(arena: Arena, a: np.ndarray, b: np.ndarray) -> float:
    return float(arena.nav.field(int(arena.nav.cell_of(b[None])[0]))[int(a[1]), int(a[0])])


def setup(task: str, seed: int, aggression: float | None = None, caution: float | None = None,
          player_mode: str | None = None) -> tuple[Arena, int]:
    """A seeded scene for ``task``; returns (arena, max ticks)."""
    a0, c0 = DEFAULT_PARAMS[task]
    spec = AgentSpec(task, a0 if aggression is None else aggression, c0 if caution is None else caution)
    mode = player_mode or {"chase": "evade", "flee": "hunt", "search": "idle", "guard": "intrude",
                           "wander": "wander"}[task]
    arena = Arena()
    rng = np.random.default_rng(seed)
    for attempt in range(200):
        arena.reset([spec], seed=int(rng.integers(2**31)), player_mode=mode)
        p, me = arena.player, arena.pos[0]
        d = _path_len(arena, me, p)
        if task == "chase" and not 8.0 <= d <= 16.0:
            continue
        if task == "flee" and not 6.0 <= d <= 10.0:
            continue
        if task == "guard" and not 8.0 <= d <= 14.0:
            continue
        break
    if task == "flee":
        arena.player_last_seen = arena.pos[0].copy()
        arena.last_seen[0], arena.seen_age[0] = arena.player, 0.0
    if task == "guard":
        arena.objective = arena.post[0].copy()
    if task == "search":
        for attempt in range(200):
            target = arena.random_free_point()
            if _path_len(arena, arena.pos[0], target) >= 10.0:
                break
        hidden = set(arena.hidden_cells(target).tolist()) & set(arena.hidden_cells(arena.pos[0]).tolist())
        hidden_list = sorted(hidden)
        if hidden_list:
            c = hidden_list[int(rng.integers(len(hidden_list)))]
            arena.player = np.array([c % arena.width + 0.5, c // arena.width + 0.5])
        arena.last_seen[0], arena.seen_age[0] = target, 0.0
        arena.search_target = target.copy()
        arena._update_perception()
    return arena, 300 if task != "search" else 200


def run_episode(task: str, policy, seed: int, aggression: float | None = None, caution: float | None = None,
                player_mode: str | None = None, trace: list | None = None, max_ticks: int | None = None,
                play_on: bool = False) -> dict:
    """Play one episode; returns the task's figures (see module doc) plus ``ticks``.

    ``max_ticks`` shortens the episode (tests); the figures' caps shrink with it. ``play_on`` keeps
    playing after the task is decided (parameter probes measure behaviour over the whole episode);
    ``late_dist_visible`` is the mean distance to the player while seen in the episode's second half."""
    arena, ticks = setup(task, seed, aggression, caution, player_mode)
    ticks = min(ticks, max_ticks or ticks)
    if hasattr(policy, "reset"):
        policy.reset()
    out: dict = {"task": task}
    visible_ticks, dist_vis, late, post_dist = 0, [], [], 0.0
    target = getattr(arena, "search_target", None)
    for t in range(ticks):
        if trace is not None:
            trace.append((arena.pos.copy(), arena.player.copy(), arena.visible.copy()))
        info = arena.step(policy.act(arena))
        visible_ticks += int(arena.visible[0])
        if arena.visible[0]:
            dist_vis.append(float(np.linalg.norm(arena.player - arena.pos[0])))
            if t >= ticks // 2:
                late.append(dist_vis[-1])
        post_dist = max(post_dist, float(np.linalg.norm(arena.pos[0] - arena.post[0])))
        if task == "chase" and info["captured"][0]:
            out.setdefault("captured", True)
            out.setdefault("time", (t + 1) * DT)
            if not play_on:
                break
        if task == "flee" and info["hit"][0]:
            out.setdefault("survived", (t + 1) * DT)
            out.setdefault("caught", True)
            if not play_on:
                break
        if task == "search" and (np.linalg.norm(arena.pos[0] - target) < 1.0 or info["captured"][0]):
            out.setdefault("reached", True)
            out.setdefault("time", (t + 1) * DT)
            if not play_on:
                break
        if task == "guard":
            if info["captured"][0]:
                out.setdefault("stopped", True)
                out.setdefault("time", (t + 1) * DT)
                if not play_on:
                    break
            if np.linalg.norm(arena.player - arena.objective) < 1.0:
                out.setdefault("stopped", False)
                if not play_on:
                    break
    else:
        t = ticks - 1
    out["ticks"] = t + 1
    if task == "chase":
        out.setdefault("captured", False)
        out.setdefault("time", ticks * DT)
    if task == "flee":
        out.setdefault("survived", ticks * DT)
        out.setdefault("caught", False)
    if task == "search":
        out.setdefault("reached", False)
        out.setdefault("time", ticks * DT)
    if task == "guard":
        out.setdefault("stopped", False)
    if task == "wander":
        out["coverage"] = float(arena.visited[0].sum() / arena.nav.free.sum())
    out["visible_fraction"] = visible_ticks / (t + 1)
    out["mean_dist_visible"] = float(np.mean(dist_vis)) if dist_vis else float("nan")
    out["late_dist_visible"] = float(np.mean(late)) if late else float("nan")
    out["max_post_dist"] = post_dist
    return out


def headline(task: str, results: list[dict]) -> dict:
    """The task figures over episodes."""
    if task == "chase":
        caps = [r for r in results if r["captured"]]
        return {"capture_rate": len(caps) / len(results), "time_to_capture": [r["time"] for r in caps]}
    if task == "flee":
        return {"survival_s": [r["survived"] for r in results]}
    if task == "search":
        return {"reach_rate": np.mean([r["reached"] for r in results]), "time_to_reach": [r["time"] for r in results]}
    if task == "guard":
        return {"stop_rate": np.mean([r["stopped"] for r in results])}
    return {"coverage": [r["coverage"] for r in results]}
