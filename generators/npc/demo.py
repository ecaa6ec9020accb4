"""The bundled arena played as a game whose NPCs are decided by a gamegen server.

    python -m gamegen.generators.npc.demo --server HOST:PORT [--out scene.png] [--seed 5] [--ticks 125]

The arena stands in for the game engine. Each tick, :class:`ServedPolicy` builds every agent's typed
observation in world units (metres, seconds) from the arena's state, exactly what an engine sends,
and sends it as one ``NpcTick`` through the Python client's ``Session``. It applies the returned
actions with ``arena.step``. The frames are drawn with :func:`.render.frame` into a top-down strip.

Where each field comes from, as an engine would fill it:

* from the game state: position, velocity, heading, health, the player's position when visible,
  the remembered last-seen position and its age, the nearest other agent, the designer goal;
* from a raycast: the 8 wall rays (``arena.ray_lengths``);
* from the navigation query (the engine's navmesh; here the arena's grid paths): the first-corner
  directions and path lengths to the goal, the last-seen spot and cover, the way away, in-cover.
  These are read from ``arena.observe()`` and scaled back to metres.

This module imports no torch and needs only the client: numpy, grpcio, Pillow.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from . import arena as A

#: the scene the demo plays: two agents per archetype with different parameters
DEMO_SPECS = [A.AgentSpec("guard", 0.7, 0.5), A.AgentSpec("guard", 0.2, 0.5), A.AgentSpec("chase", 0.9, 0.2),
              A.AgentSpec("chase", 0.3, 0.6), A.AgentSpec("flee", 0.3, 0.8), A.AgentSpec("flee", 0.5, 0.2),
              A.AgentSpec("search", 0.8, 0.5), A.AgentSpec("search", 0.2, 0.5), A.AgentSpec("wander", 0.5, 0.5),
              A.AgentSpec("wander", 0.5, 1.0)]


def _xy(p) -> dict[str, float]:
    return {"x": float(p[0]), "y": float(p[1])}


def typed_observations(arena: A.Arena, ids: list[str], masks: bool = True) -> list[dict[str, Any]]:
    """One ``NpcObservation`` (as a dict) per agent of ``arena``, in world units."""
    obs, mask = arena.observe()      # the navigation-query fields below; everything else from the state
    g = lambda i, name: obs[i, A.OBS[name]]
    rays = A.ray_lengths(arena.grid, arena.pos)
    n = len(arena.pos)
    near = np.full(n, -1)
    if n > 1:
        dd = np.linalg.norm(arena.pos[:, None] - arena.pos[None], axis=2)
        dd[np.arange(n), np.arange(n)] = np.inf
        dd[:, ~arena.alive] = np.inf
        j = np.argmin(dd, axis=1)
        near = np.where(dd[np.arange(n), j] <= A.NEIGHBOUR_RANGE, j, -1)
    out = []
    for i, aid in enumerate(ids):
        o: dict[str, Any] = {
            "agent_id": aid, "position": _xy(arena.pos[i]), "velocity": _xy(arena.vel[i]),
            "heading": _xy(arena.heading[i]), "health": float(arena.health[i]),
            "goal_position": _xy(arena.goal[i]), "nav_to_goal": _xy(g(i, "nav_to_goal")),
            "goal_path": float(g(i, "goal_path")[0]) * A.ARENA_SCALE, "nav_away": _xy(g(i, "nav_away")),
            "in_cover": bool(g(i, "in_cover")[0]), "wall_rays": [float(r) for r in rays[i]]}
        if arena.visible[i]:
            o.update(player_visible=True, player_position=_xy(arena.player))
        if np.isfinite(arena.seen_age[i]):
            o.update(has_last_seen=True, last_seen_position=_xy(arena.last_seen[i]),
                     last_seen_age=float(arena.seen_age[i]), nav_to_last_seen=_xy(g(i, "nav_to_last_seen")),
                     last_seen_path=float(g(i, "last_seen_path")[0]) * A.ARENA_SCALE,
                     # cover is sought from where the agent believes the player is
                     has_cover=True, nav_to_cover=_xy(g(i, "nav_to_cover")),
                     cover_path=float(g(i, "cover_path")[0]) * A.ARENA_SCALE)
        if near[i] >= 0:
            o.update(has_nearest_agent=True, nearest_agent_position=_xy(arena.pos[near[i]]))
        if masks:
            o["action_mask"] = [bool(m) for m in mask[i]]
        out.append(o)
    return out


class ServedPolicy:
    """Decides for every agent of an arena through an open ``npc`` Session (one tick per ``act``).

    Agents join in the first tick (their archetype and parameters from ``arena.specs``), named
    ``<archetype>-<index>``. ``last`` holds the last tick's actions as the server named them.
    """

    name = "served"

    def __init__(self, session):
        self.session = session
        self.ids: list[str] = []
        self.last: tuple = ()

    def act(self, arena: A.Arena) -> np.ndarray:
        from ..events import NpcActions

        tick: dict[str, Any] = {}
        if not self.ids:
            self.ids = [f"{s.archetype}-{i}" for i, s in enumerate(arena.specs)]
            tick["join"] = [{"agent_id": aid, "archetype": s.archetype, "aggression": s.aggression,
                             "caution": s.caution, "seed": str(i)}
                            for i, (aid, s) in enumerate(zip(self.ids, arena.specs))]
        tick["observations"] = typed_observations(arena, self.ids)
        actions = next(e for e in self.session.send(tick) if isinstance(e, NpcActions)).actions
        self.last = actions
        by_id = {a.agent_id: a.action for a in actions}
        return np.array([by_id[aid] for aid in self.ids], np.int64)


def play(session, seed: int = 5, ticks: tuple[int, ...] = (0, 25, 50, 75, 100, 125), specs=None,
         player_mode: str = "wander"):
    """Play the demo scene through ``session`` and return the strip (a Pillow image)."""
    from .render import strip

    return strip(ServedPolicy(session), seed=seed, ticks=ticks, specs=specs or DEMO_SPECS, player_mode=player_mode)


def main(argv: list[str] | None = None) -> None:
    from gamegen.client import Client

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", required=True, help="HOST:PORT of a running `gamegen serve`")
    ap.add_argument("--model", default="npc/npc-mlp")
    ap.add_argument("--out", type=Path, default=Path("scene.png"))
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--ticks", type=int, default=125, help="ticks to play (0.2 s each); a frame every 25")
    ap.add_argument("--player", choices=A.PLAYER_MODES, default="wander", help="what the scripted player does")
    args = ap.parse_args(argv)
    frames = tuple(range(0, args.ticks + 1, 25))
    with Client(args.server, timeout=60) as c, c.open_session(args.model, seed=args.seed,
                                                              params={"mode": "argmax"}) as session:
        img = play(session, seed=args.seed, ticks=frames, player_mode=args.player)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    img.save(args.out, optimize=True)
    print(f"wrote {args.out} {img.size}: {len(DEMO_SPECS)} agents, {args.ticks} ticks over {args.server}")


if __name__ == "__main__":
    main()


def pack_observations(observations: list[dict[str, Any]]) -> dict[str, Any]:
    """Typed observations (dicts, as :func:`typed_observations` makes them) as one
    ``NpcObservationBlock`` (a dict of numpy arrays, one per field): what a game sends for a large
    scene, filled straight from its own arrays."""
    from .generator import FLAG_FIELDS, NUM_FIELDS, VEC_FIELDS

    n = len(observations)
    block: dict[str, Any] = {"agent_ids": [o["agent_id"] for o in observations]}
    for key in VEC_FIELDS:
        block[key] = np.array([[(o.get(key) or {}).get(c, 0.0) for c in "xy"] for o in observations],
                              np.float32).reshape(n, 2)
    for key in NUM_FIELDS:
        block[key] = np.array([o.get(key, 0.0) for o in observations], np.float32)
    for key in FLAG_FIELDS:
        block[key] = np.array([bool(o.get(key)) for o in observations], bool)
    block["wall_rays"] = np.array([o.get("wall_rays") or [A.RAY_RANGE] * 8 for o in observations],
                                  np.float32).reshape(n, 8)
    if any(o.get("action_mask") for o in observations):
        block["action_mask"] = np.array([o.get("action_mask") or [True] * A.N_ACTIONS for o in observations], bool)
    return block
