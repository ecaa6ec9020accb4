"""The ``npc`` kind: behaviour trees at build time, decisions for many agents per tick at runtime.

* ``Generate`` (build time): a behaviour tree for an archetype and its parameters in
  BehaviorTree.CPP v4 XML (Groot) and JSON (:mod:`.btree`), and a top-down strip of the bundled
  arena played by the policy (:mod:`.render`) — what designers read and edit.
* ``Session`` (runtime, learned policies only): a scene. Agents join (archetype, parameters, a
  seed) and leave; each input is one tick with the observations of all its agents, answered with
  one action per agent. Every session of a model shares one :class:`Batcher`, which runs **one**
  ONNX Runtime call for the agents of all sessions that ticked within ``max_delay`` (Triton's
  dynamic batching), so 500 agents across scenes cost about one call.

``npc/scripted`` (the FSM + A* baseline) answers Generate only: it plans on the arena's own map,
which a game does not send.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np

from ..base import Encoder, Generator, GeneratorInfo, Product
from ..errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from ..events import Asset, Event, InputEnd, NpcAction, NpcActionBlock, NpcActions, Progress
from ..params import Param
from . import arena as A
from .runtime import InputError, PolicyRunner

GENERATOR_VERSION = 1
FORMATS = ("xml", "json", "png")
MODES = ("argmax", "sample")
DEFAULT_MAX_AGENTS = 4096   # per session; a server sets its own (`gamegen serve --max-npc-agents`)


def npc_params(archetypes) -> tuple[Param, ...]:
    return (
        Param("archetype", "choice", archetypes[0], "what the NPC is for", choices=tuple(archetypes)),
        Param("aggression", "float", 0.5, "how far it pursues and how long it remembers (0..1)", lo=0.0, hi=1.0),
        Param("caution", "float", 0.5, "how early it hides or backs off (0..1)", lo=0.0, hi=1.0),
    )


# -- observations in world units -> the policy's vector ------------------------------------------

def _v(o: Mapping, key: str) -> np.ndarray:
    v = o.get(key) or {}
    return np.array([float(v.get("x", 0.0)), float(v.get("y", 0.0))])


def observation_vector(o: Mapping, archetype: str, aggression: float, caution: float) -> np.ndarray:
    """One agent's typed observation (metres, seconds) scaled into the 46-value layout of
    :data:`arena.OBS_FIELDS` — the same numbers the arena computes for its own agents."""
    x = np.zeros(A.OBS_SIZE, np.float64)
    pos = _v(o, "position")
    x[A.OBS["position"]] = pos / A.ARENA_SCALE
    x[A.OBS["velocity"]] = _v(o, "velocity") / 4.0
    x[A.OBS["heading"]] = _v(o, "heading")
    x[A.OBS["health"]] = float(o.get("health", 0.0))
    if o.get("player_visible"):
        rel = _v(o, "player_position") - pos
        x[A.OBS["player_visible"]] = 1.0
        x[A.OBS["player_rel"]] = rel / A.VIEW_RANGE
        x[A.OBS["player_dist"]] = np.linalg.norm(rel) / A.VIEW_RANGE
    else:
        x[A.OBS["player_dist"]] = 1.0
    x[A.OBS["last_seen_age"]] = 1.0
    x[A.OBS["last_seen_path"]] = 1.0
    if o.get("has_last_seen"):
        x[A.OBS["has_last_seen"]] = 1.0
        x[A.OBS["last_seen_rel"]] = (_v(o, "last_seen_position") - pos) / A.ARENA_SCALE
        x[A.OBS["last_seen_age"]] = min(float(o.get("last_seen_age", 0.0)) / A.AGE_SCALE, 1.0)
        x[A.OBS["nav_to_last_seen"]] = _v(o, "nav_to_last_seen")
        x[A.OBS["last_seen_path"]] = min(float(o.get("last_seen_path", 0.0)) / A.ARENA_SCALE, 1.0)
    if o.get("has_nearest_agent"):
        x[A.OBS["nearest_agent_rel"]] = (_v(o, "nearest_agent_position") - pos) / A.NEIGHBOUR_RANGE
    x[A.OBS["goal_rel"]] = (_v(o, "goal_position") - pos) / A.ARENA_SCALE
    x[A.OBS["nav_to_goal"]] = _v(o, "nav_to_goal")
    x[A.OBS["goal_path"]] = min(float(o.get("goal_path", 0.0)) / A.ARENA_SCALE, 1.0)
    x[A.OBS["cover_path"]] = 1.0
    if o.get("has_cover"):
        x[A.OBS["nav_to_cover"]] = _v(o, "nav_to_cover")
        x[A.OBS["cover_path"]] = min(float(o.get("cover_path", 0.0)) / A.ARENA_SCALE, 1.0)
    x[A.OBS["nav_away"]] = _v(o, "nav_away")
    x[A.OBS["in_cover"]] = 1.0 if o.get("in_cover") else 0.0
    rays = o.get("wall_rays") or []
    if rays:
        if len(rays) != 8:
            raise InvalidArgument(f"observations[{o.get('agent_id', '')!r}].wall_rays has {len(rays)} values; "
                                  "it takes 8 distances in metres (e, ne, n, nw, w, sw, s, se)", field="wall_rays")
        x[A.OBS["wall_rays"]] = np.minimum(np.asarray(rays, np.float64) / A.RAY_RANGE, 1.0)
    else:
        x[A.OBS["wall_rays"]] = 1.0
    x[A.OBS["archetype"]][A.ARCHETYPES.index(archetype)] = 1.0
    x[A.OBS["params"]] = (aggression, caution)
    return x.astype(np.float32)


VEC_FIELDS = ("position", "velocity", "heading", "player_position", "last_seen_position", "nav_to_last_seen",
              "nearest_agent_position", "goal_position", "nav_to_goal", "nav_to_cover", "nav_away")
NUM_FIELDS = ("health", "last_seen_age", "last_seen_path", "goal_path", "cover_path")
FLAG_FIELDS = ("player_visible", "has_last_seen", "has_nearest_agent", "has_cover", "in_cover")


def observation_matrix(observations: list[Mapping], specs: list[tuple[str, float, float]]) -> np.ndarray:
    """:func:`observation_vector` for many agents at once (one tick), as float32 (n, 46): the same
    numbers, computed column by column (numpy over the agents) instead of agent by agent."""
    n = len(observations)
    none: dict = {}
    cols: dict[str, np.ndarray] = {}
    for key in VEC_FIELDS:
        vs = [o.get(key) or none for o in observations]
        cols[key] = np.array([(float(v.get("x", 0.0)), float(v.get("y", 0.0))) for v in vs], np.float64).reshape(n, 2)
    for key in NUM_FIELDS:
        cols[key] = np.array([float(o.get(key, 0.0)) for o in observations], np.float64)
    for key in FLAG_FIELDS:
        cols[key] = np.array([bool(o.get(key)) for o in observations], bool)
    rays = np.full((n, 8), A.RAY_RANGE)
    for i, o in enumerate(observations):
        r = o.get("wall_rays")
        if r:
            if len(r) != 8:
                raise InvalidArgument(f"observations[{o.get('agent_id', '')!r}].wall_rays has {len(r)} values; "
                                      "it takes 8 distances in metres (e, ne, n, nw, w, sw, s, se)", field="wall_rays")
            rays[i] = r
    cols["wall_rays"] = rays
    arch = np.array([A.ARCHETYPES.index(s[0]) for s in specs], np.int64)
    params = np.array([s[1:] for s in specs], np.float64).reshape(n, 2)
    return scaled_observations(cols, arch, params)


def scaled_observations(cols: Mapping[str, np.ndarray], arch: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Typed observations of n agents, one array per field (Vec2 fields (n, 2), wall_rays (n, 8) in
    metres, flags bool), scaled into the policy's (n, 46) float32 rows (:data:`arena.OBS_FIELDS`)."""
    n = len(arch)
    x = np.zeros((n, A.OBS_SIZE), np.float64)

    def vec(key: str) -> np.ndarray:
        return np.asarray(cols[key], np.float64)

    num = vec

    def flag(key: str) -> np.ndarray:
        return np.asarray(cols[key], bool)

    pos = vec("position")
    x[:, A.OBS["position"]] = pos / A.ARENA_SCALE
    x[:, A.OBS["velocity"]] = vec("velocity") / 4.0
    x[:, A.OBS["heading"]] = vec("heading")
    x[:, A.OBS["health"]] = num("health")[:, None]
    vis = flag("player_visible")
    rel = vec("player_position") - pos
    x[:, A.OBS["player_visible"]] = vis[:, None]
    x[:, A.OBS["player_rel"]] = np.where(vis[:, None], rel / A.VIEW_RANGE, 0.0)
    x[:, A.OBS["player_dist"]] = np.where(vis, np.linalg.norm(rel, axis=1) / A.VIEW_RANGE, 1.0)[:, None]
    has = flag("has_last_seen")[:, None]
    x[:, A.OBS["has_last_seen"]] = has
    x[:, A.OBS["last_seen_rel"]] = np.where(has, (vec("last_seen_position") - pos) / A.ARENA_SCALE, 0.0)
    x[:, A.OBS["last_seen_age"]] = np.where(has, np.minimum(num("last_seen_age")[:, None] / A.AGE_SCALE, 1.0), 1.0)
    x[:, A.OBS["nav_to_last_seen"]] = np.where(has, vec("nav_to_last_seen"), 0.0)
    x[:, A.OBS["last_seen_path"]] = np.where(has, np.minimum(num("last_seen_path")[:, None] / A.ARENA_SCALE, 1.0), 1.0)
    near = flag("has_nearest_agent")[:, None]
    x[:, A.OBS["nearest_agent_rel"]] = np.where(near, (vec("nearest_agent_position") - pos) / A.NEIGHBOUR_RANGE, 0.0)
    x[:, A.OBS["goal_rel"]] = (vec("goal_position") - pos) / A.ARENA_SCALE
    x[:, A.OBS["nav_to_goal"]] = vec("nav_to_goal")
    x[:, A.OBS["goal_path"]] = np.minimum(num("goal_path") / A.ARENA_SCALE, 1.0)[:, None]
    cover = flag("has_cover")[:, None]
    x[:, A.OBS["nav_to_cover"]] = np.where(cover, vec("nav_to_cover"), 0.0)
    x[:, A.OBS["cover_path"]] = np.where(cover, np.minimum(num("cover_path")[:, None] / A.ARENA_SCALE, 1.0), 1.0)
    x[:, A.OBS["nav_away"]] = vec("nav_away")
    x[:, A.OBS["in_cover"]] = flag("in_cover")[:, None]
    x[:, A.OBS["wall_rays"]] = np.minimum(np.asarray(cols["wall_rays"], np.float64) / A.RAY_RANGE, 1.0)
    x[np.arange(n), A.OBS["archetype"].start + arch] = 1.0
    x[:, A.OBS["params"]] = params
    return x.astype(np.float32)


# -- dynamic batching across sessions -------------------------------------------------------------

class Batcher:
    """One :class:`PolicyRunner` shared by every session of a model.

    ``decide`` may be called from many threads at once (one per session tick). The first request
    of a batch waits up to ``max_delay`` seconds for others (or until ``max_batch`` agents are
    waiting, or until every open scene has a tick waiting: a lone scene never waits), then one
    ONNX Runtime call per mode decides for all of them; each caller gets its own rows. Join and
    leave go through the same lock, so the runner is never used by two threads.
    """

    def __init__(self, runner: PolicyRunner, max_delay: float = 0.002, max_batch: int = 8192):
        self.runner, self.max_delay, self.max_batch = runner, max_delay, max_batch
        self.lock = threading.Lock()
        self._cv = threading.Condition()
        self._pending: list[tuple[list, np.ndarray, np.ndarray | None, str, Future, tuple | None]] = []
        self._leader = False
        self.calls = 0          # ONNX Runtime calls made (benchmarks and tests read it)
        self.batches = 0
        self.scenes = 0         # open scenes on this batcher (Scene counts itself in and out)

    def scene_opened(self) -> None:
        with self._cv:
            self.scenes += 1

    def scene_closed(self) -> None:
        with self._cv:
            self.scenes -= 1
            self._cv.notify_all()    # a leader waiting for this scene's tick need not wait longer

    def join(self, agent_id, seed: int) -> None:
        with self.lock:
            self.runner.join(agent_id, seed)

    def leave(self, agent_id) -> None:
        with self.lock:
            if agent_id in self.runner:
                self.runner.leave(agent_id)

    def resolve(self, ids: list) -> tuple[list, int]:
        """:meth:`PolicyRunner.resolve` under the lock (a scene keeps it while its agents stay)."""
        with self.lock:
            return self.runner.resolve(ids)

    def decide(self, ids: list, obs: np.ndarray, mask: np.ndarray | None, mode: str,
               resolved: tuple[list, int] | None = None):
        fut: Future = Future()
        with self._cv:
            self._pending.append((ids, obs, mask, mode, fut, resolved))
            lead = not self._leader
            if lead:
                self._leader = True
            else:
                self._cv.notify_all()
        if lead:
            self._lead()
        return fut.result()

    def _lead(self) -> None:
        deadline = time.perf_counter() + self.max_delay
        with self._cv:
            while (sum(len(p[0]) for p in self._pending) < self.max_batch
                   and len(self._pending) < self.scenes):
                left = deadline - time.perf_counter()
                if left <= 0:
                    break
                self._cv.wait(left)
            batch, self._pending, self._leader = self._pending, [], False
        self.batches += 1
        for mode in MODES:
            group = [p for p in batch if p[3] == mode]
            if group:
                self._run(group, mode)

    def _run(self, group, mode: str) -> None:
        ids = [i for p in group for i in p[0]]
        obs = np.concatenate([p[1] for p in group])
        masks = [p[2] if p[2] is not None else np.ones((len(p[0]), self.runner.n_actions), np.float32)
                 for p in group]
        try:
            with self.lock:
                resolved = None
                if all(p[5] is not None and p[5][1] == self.runner.leaves for p in group):
                    resolved = (group[0][5][0] if len(group) == 1 else [a for p in group for a in p[5][0]],
                                self.runner.leaves)
                decision = self.runner.decide(ids, obs, np.concatenate(masks), mode=mode, resolved=resolved)
                self.calls += 1
        except Exception as e:   # one bad row must not fail the other sessions: retry them alone
            if len(group) == 1:
                group[0][4].set_exception(e)
                return
            for p in group:
                self._run([p], mode)
            return
        start = 0
        for p in group:
            n = len(p[0])
            p[4].set_result(_rows(decision, start, start + n))
            start += n


def _rows(d, a: int, b: int):
    from .runtime import Decision

    return Decision(d.discrete[a:b], d.continuous[a:b], None if d.probs is None else d.probs[a:b])


_ALL = object()       # no action_mask sent: every action allowed
_DIRS = [tuple(float(v) for v in d) for d in A.DIRS]


def _action(aid: str, disc: tuple, cont: tuple, gamegen: bool) -> NpcAction:
    a = int(disc[0]) if disc else 0
    named = gamegen and a < len(A.ACTIONS)
    return NpcAction(agent_id=aid, action=a, name=A.ACTIONS[a] if named else "",
                     direction=_DIRS[a] if named else (0.0, 0.0), discrete=disc, continuous=cont)


_DIR_TABLE = np.asarray(A.DIRS, np.float32).reshape(-1, 2)


def _action_block(discrete, continuous, gamegen: bool) -> NpcActionBlock:
    disc = np.asarray(discrete, np.int64)
    n = disc.shape[0]
    disc = disc.reshape(n, -1)
    cont = np.asarray(continuous, np.float32).reshape(n, -1)
    act = disc[:, 0] if disc.shape[1] else np.zeros(n, np.int64)
    if gamegen:
        direction = _DIR_TABLE[np.minimum(act, len(_DIR_TABLE) - 1)] * (act < len(_DIR_TABLE))[:, None]
    else:
        direction = np.zeros((n, 2), np.float32)
    return NpcActionBlock(action=act.astype(np.uint32), direction=direction.astype(np.float32),
                          discrete=disc.astype(np.int32), continuous=cont,
                          names=tuple(A.ACTIONS) if gamegen else ())


# -- the session --------------------------------------------------------------------------------

class Scene:
    """One game scene's agents on a shared :class:`Batcher` (what ``open_session`` returns)."""

    def __init__(self, gen: "NpcGenerator", seed: int, params: Mapping[str, Any],
                 max_agents: int = DEFAULT_MAX_AGENTS):
        self.gen, self.batcher, self.max_agents = gen, gen.batcher, max_agents
        self.mode = params.get("mode") or "argmax"
        if self.mode not in MODES:
            raise InvalidArgument(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}", field="mode")
        self.seed = seed
        self.tag = object()            # agent ids are (tag, agent_id): sessions never collide
        self.agents: dict[str, tuple[str, float, float]] = {}
        self._version = 0       # bumped by every join and leave: a packed tick's cached lookups are kept while it stays
        self._packed: tuple | None = None
        self._open = True
        self.batcher.scene_opened()
        try:
            self._join(params.get("agents", []), "agents")
        except BaseException:
            self.close()
            raise

    def _join(self, agents, where: str, leaving: int = 0) -> None:
        """Validate every agent first, then join them all: a refused join leaves the scene as it was.
        ``leaving`` agents leave in the same tick (after the join), so they do not count."""
        after = len(self.agents) - leaving + len(agents)
        if after > self.max_agents:
            raise ResourceExhausted(
                f"{where}: {len(agents)} agents would make {after} in this session "
                f"({len(self.agents)} already joined, {leaving} leaving); this server allows at most "
                f"{self.max_agents} agents per session (`gamegen serve --max-npc-agents`); split the scene "
                "over several sessions")
        checked: list[tuple[str, tuple[str, float, float], int]] = []
        ids: set[str] = set()
        for k, a in enumerate(agents):
            aid = str(a.get("agent_id", ""))
            if not aid:
                raise InvalidArgument(f"{where}[{k}].agent_id is empty; every agent needs an id unique in the "
                                      "session", field="agent_id")
            if aid in self.agents or aid in ids:
                raise InvalidArgument(f"{where}[{k}]: agent {aid!r} has already joined", field="agent_id")
            arch = a.get("archetype", "")
            offered = self.gen.archetypes
            if arch not in offered:
                raise InvalidArgument(f"{where}[{k}].archetype {arch!r} is not offered by {self.gen.info.ref}; "
                                      f"offered: {', '.join(offered)}", field="archetype")
            vals = []
            for p in ("aggression", "caution"):
                v = float(a.get(p, 0.5))      # optional in the contract: unset = 0.5
                if not (0.0 <= v <= 1.0):
                    raise InvalidArgument(f"{where}[{k}].{p} must be from 0 to 1, got {v:g}", field=p)
                vals.append(v)
            seed = int(a.get("seed", 0)) ^ (self.seed * 0x9E3779B97F4A7C15 & (2**64 - 1))
            ids.add(aid)
            checked.append((aid, (arch, vals[0], vals[1]), seed))
        joined = []
        try:
            for aid, spec, seed in checked:
                self.batcher.join((self.tag, aid), seed)
                joined.append(aid)
        except InputError as e:
            for aid in joined:
                self.batcher.leave((self.tag, aid))
            raise ResourceExhausted(str(e)) from None
        for aid, spec, _ in checked:
            self.agents[aid] = spec
        self._version += bool(checked)

    def step(self, value: Mapping[str, Any]) -> Iterator[Event]:
        t0 = time.perf_counter()
        for k, aid in enumerate(value.get("leave", [])):
            if aid not in self.agents:
                raise NotFound(f"leave[{k}]: agent {aid!r} is not in this session", field="leave")
        self._join(value.get("join", []), "join", leaving=len(set(value.get("leave", []))))
        for aid in value.get("leave", []):
            self.batcher.leave((self.tag, aid))
            del self.agents[aid]
            self._version += 1
        observations = value.get("observations", [])
        block = value.get("block")
        if block is not None:
            if observations:
                raise InvalidArgument("a tick sets `observations` or `block`, not both", field="block")
            yield from self._step_block(block, t0)
            return
        if not observations:
            yield NpcActions(())
            yield InputEnd("tick", (("tick", (time.perf_counter() - t0) * 1e3),))
            return
        ids, masks = [], []
        runner = self.batcher.runner
        typed = runner.contract == "gamegen" and runner.obs_size == A.OBS_SIZE
        rows = np.zeros((len(observations), runner.obs_size), np.float32)
        typed_at: list[int] = []
        for k, o in enumerate(observations):
            aid = o.get("agent_id", "")
            if aid not in self.agents:
                raise NotFound(f"observations[{k}]: agent {aid!r} has not joined this session (send it in "
                               "`join` first)", field="agent_id")
            if o.get("features"):
                row = np.asarray(o["features"], np.float32)
                if row.shape != (runner.obs_size,):
                    raise InvalidArgument(f"observations[{k}].features has {row.size} values; {self.gen.info.ref} "
                                          f"takes {runner.obs_size}", field="features")
                rows[k] = row
            elif typed:
                typed_at.append(k)
            else:
                raise InvalidArgument(f"observations[{k}]: {self.gen.info.ref} takes its raw observation "
                                      f"vector in `features` ({runner.obs_size} values)", field="features")
            m = o.get("action_mask")
            if m:
                if len(m) != runner.n_actions:
                    raise InvalidArgument(f"observations[{k}].action_mask has {len(m)} values; the model has "
                                          f"{runner.n_actions} actions", field="action_mask")
                if not any(m):
                    raise InvalidArgument(f"observations[{k}].action_mask allows no action", field="action_mask")
            masks.append(m if m else _ALL)
            ids.append((self.tag, aid))
        if typed_at:
            picked = [observations[k] for k in typed_at]
            rows[typed_at] = observation_matrix(picked, [self.agents[o["agent_id"]] for o in picked])
        bad_rows = ~np.isfinite(rows)
        if bad_rows.any():
            k, bad = (int(v) for v in np.argwhere(bad_rows)[0])
            raise InvalidArgument(f"observations[{k}] (agent {ids[k][1]!r}) has a value that is not finite at "
                                  f"index {bad}; observations must be finite numbers", field="observations")
        masks = np.array([[1.0] * runner.n_actions if m is _ALL else m for m in masks], np.float32)
        try:
            d = self.batcher.decide(ids, rows, masks, self.mode)
        except InputError as e:
            raise InvalidArgument(str(e)) from None
        gamegen = self.batcher.runner.contract == "gamegen"
        yield NpcActions(tuple(_action(aid[1], tuple(disc), tuple(cont), gamegen) for aid, disc, cont in
                               zip(ids, np.asarray(d.discrete).tolist(), np.asarray(d.continuous, np.float64).tolist())))
        yield InputEnd("tick", (("tick", (time.perf_counter() - t0) * 1e3),))

    def _step_block(self, block: Mapping[str, Any], t0: float) -> Iterator[Event]:
        """A tick packed by field (``NpcObservationBlock``): arrays in, arrays out, no per-agent
        messages. Same checks, same scaling (:func:`scaled_observations`), same batcher."""
        names = [str(a) for a in block.get("agent_ids", ())]
        n = len(names)
        runner = self.batcher.runner
        gamegen = runner.contract == "gamegen"
        if n == 0:
            yield NpcActions((), block=_action_block(np.zeros((0, 1), np.int64), np.zeros((0, 0), np.float32),
                                                     gamegen))
            yield InputEnd("tick", (("tick", (time.perf_counter() - t0) * 1e3),))
            return
        cached = self._packed
        # kept while this scene's agents stay; re-resolved after any agent of any scene leaves
        if (cached is None or cached[0] != self._version or cached[1] != names
                or cached[5][1] != runner.leaves):
            self._packed = cached = self._pack_agents(names)
        _, _, ids, arch, params, resolved = cached
        typed = gamegen and runner.obs_size == A.OBS_SIZE

        def packed(key: str, width: int, dtype=np.float32) -> np.ndarray | None:
            v = block.get(key)
            a = np.asarray(v if v is not None else (), dtype)
            if a.size == 0:
                return None
            if a.size != n * width:
                each = f"{width} per agent" if width > 1 else "one per agent"
                raise InvalidArgument(f"block.{key} has {a.size} values; {n} agents take {n * width} ({each})",
                                      field=key)
            return a.reshape(n, width) if width > 1 else a.reshape(n)

        feats = packed("features", runner.obs_size)
        if feats is not None:
            rows = feats
        elif typed:
            cols: dict[str, np.ndarray] = {}
            for key in VEC_FIELDS:
                v = packed(key, 2)
                cols[key] = np.zeros((n, 2), np.float32) if v is None else v
            for key in NUM_FIELDS:
                v = packed(key, 1)
                cols[key] = np.zeros(n, np.float32) if v is None else v
            for key in FLAG_FIELDS:
                v = packed(key, 1, bool)
                cols[key] = np.zeros(n, bool) if v is None else v
            rays = packed("wall_rays", 8)
            cols["wall_rays"] = np.full((n, 8), A.RAY_RANGE, np.float32) if rays is None else rays
            rows = scaled_observations(cols, arch, params)
        else:
            raise InvalidArgument(f"block: {self.gen.info.ref} takes its raw observation vector in "
                                  f"`block.features` ({runner.obs_size} values per agent)", field="features")
        bad = ~np.isfinite(rows)
        if bad.any():
            k, c = (int(v) for v in np.argwhere(bad)[0])
            raise InvalidArgument(f"block: agent {names[k]!r} (index {k}) has a value that is not finite at "
                                  f"observation index {c}; observations must be finite numbers", field="block")
        mask = packed("action_mask", runner.n_actions, bool)
        if mask is None:
            mask = np.ones((n, runner.n_actions), np.float32)
        else:
            none = ~mask.any(1)
            if none.any():
                k = int(np.flatnonzero(none)[0])
                raise InvalidArgument(f"block.action_mask allows no action for agent {names[k]!r} (index {k})",
                                      field="action_mask")
            mask = mask.astype(np.float32)
        try:
            d = self.batcher.decide(ids, rows, mask, self.mode, resolved)
        except InputError as e:
            raise InvalidArgument(str(e)) from None
        yield NpcActions((), block=_action_block(d.discrete, d.continuous, gamegen))
        yield InputEnd("tick", (("tick", (time.perf_counter() - t0) * 1e3),))

    def _pack_agents(self, names: list[str]) -> tuple:
        """What a packed tick of these agents needs besides its arrays, looked up once and kept while
        the scene's agents stay the same (a game sends the same agents in the same order every tick)."""
        if not self.agents.keys() >= set(names):
            k = next(k for k, a in enumerate(names) if a not in self.agents)
            raise NotFound(f"block.agent_ids[{k}]: agent {names[k]!r} has not joined this session (send it in "
                           "`join` first)", field="agent_ids")
        if len(set(names)) != len(names):
            seen: set[str] = set()
            k = next(k for k, a in enumerate(names) if a in seen or seen.add(a))
            raise InvalidArgument(f"block.agent_ids[{k}]: agent {names[k]!r} appears twice in this tick",
                                  field="agent_ids")
        specs = [self.agents[a] for a in names]
        arch = np.array([A.ARCHETYPES.index(s[0]) if s[0] in A.ARCHETYPES else 0 for s in specs], np.int64)
        params = np.array([s[1:] for s in specs], np.float64).reshape(len(names), 2)
        ids = [(self.tag, a) for a in names]
        return self._version, list(names), ids, arch, params, self.batcher.resolve(ids)

    def close(self) -> None:
        for aid in list(self.agents):
            self.batcher.leave((self.tag, aid))
        self.agents.clear()
        if self._open:
            self._open = False
            self.batcher.scene_closed()


# -- the generators -------------------------------------------------------------------------------

class NpcGenerator(Generator):
    """A learned policy (``npc/npc-mlp``, or an ML-Agents export served as it is) or the scripted
    baseline (``npc/scripted``, no model, Generate only)."""

    def __init__(self, info: GeneratorInfo, runner: PolicyRunner | None, archetypes):
        self.info, self.runner, self.archetypes = info, runner, tuple(archetypes)
        self.batcher = Batcher(runner) if runner is not None else None

    @classmethod
    def from_model(cls, model_dir: Path, manifest: dict, session_factory: Callable) -> "NpcGenerator":
        session = session_factory(model_dir / manifest["file"])
        runner = PolicyRunner(session, max_agents=1_000_000)
        runner.manifest = manifest
        runner.archetypes = manifest.get("extra", {}).get("archetypes")
        archetypes = tuple(runner.archetypes or A.ARCHETYPES)
        info = GeneratorInfo(
            kind="npc", name=manifest["name"], version=str(manifest["version"]), family=manifest.get("family", ""),
            description=manifest.get("description", ""), params=npc_params(archetypes),
            formats=FORMATS if runner.contract == "gamegen" else ("xml", "json"),
            generator_version=GENERATOR_VERSION, sha256=manifest["sha256"])
        return cls(info, runner, archetypes)

    @property
    def holds_sessions(self) -> bool:
        return self.runner is not None

    def open_session(self, seed: int, params: Mapping[str, Any], *, max_agents: int = DEFAULT_MAX_AGENTS) -> Scene:
        if self.runner is None:
            raise FailedPrecondition(f"{self.info.ref} plans on the arena's own map and answers Generate only")
        return Scene(self, seed, params, max_agents=max_agents)

    def produce(self, seed, params, formats, *, partials, timings) -> Iterator[Event]:
        from . import btree

        with timings.stage("tree"):
            tree = btree.tree(params["archetype"], params["aggression"], params["caution"])
        yield Progress(0.5, "tree", params["archetype"])
        return Product(tree)

    @property
    def encoders(self) -> dict[str, Encoder]:
        from . import btree

        return {
            "xml": Encoder(lambda tree, params: Asset("tree.xml", "application/xml", btree.to_xml(tree).encode(), "xml")),
            "json": Encoder(lambda tree, params: Asset("tree.json", "application/json", btree.to_json(tree).encode(),
                                                       "json")),
            "png": Encoder(self._scene_png, "render"),
        }

    def _scene_png(self, tree, params) -> Asset:
        """The bundled arena's scene (one agent per archetype) played by this policy, seeded."""
        import io

        from . import render
        from .runtime import RunnerPolicy
        from .scripted import ScriptedPolicy

        policy = ScriptedPolicy() if self.runner is None else RunnerPolicy(PolicyRunner(self.runner.session))
        buf = io.BytesIO()
        render.strip(policy, seed=3).save(buf, format="PNG")
        return Asset("scene.png", "image/png", buf.getvalue(), "png")


def builtins() -> list[NpcGenerator]:
    info = GeneratorInfo(
        kind="npc", name="scripted", version="1.0.0", family="fsm-astar",
        description="finite-state machines with A* path-finding per archetype (classical baseline; Generate only)",
        params=npc_params(A.ARCHETYPES), formats=FORMATS, generator_version=GENERATOR_VERSION)
    return [NpcGenerator(info, None, A.ARCHETYPES)]
