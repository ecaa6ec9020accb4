"""The arena as a gymnasium environment: one learning agent, optional scripted companions.

``ArenaEnv(task="chase")`` plays the task's scene (tasks.py) with the learning agent as agent 0;
``companions=k`` adds k scripted agents of random archetypes that move by their FSMs (so the
learner sees other agents). Observation ``Box(OBS_SIZE)`` laid out by ``arena.OBS_FIELDS``; action
``Discrete(9)``; the mask of possible actions is ``info["action_mask"]`` (and
:meth:`ArenaEnv.action_masks` for libraries that ask for it). Reward is the task's:

* chase/guard: +1 on touching the player (ends), -0.01 a tick; guard also -1 if the intruder
  reaches the post (ends)
* flee: +0.01 a tick survived, -1 when hit (ends)
* search: +1 on reaching the last-seen spot or the player (ends), -0.01 a tick
* wander: +0.05 per new cell visited

Truncated at the task's tick cap. Seeded through ``reset(seed=...)``.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from . import tasks
from .arena import ARCHETYPES, N_ACTIONS, OBS_SIZE, AgentSpec, Arena
from .scripted import ScriptedPolicy


class ArenaEnv(gym.Env):
    metadata = {"render_modes": []}

    def __init__(self, task: str = "chase", aggression: float | None = None, caution: float | None = None,
                 companions: int = 0):
        if task not in tasks.TASKS:
            raise ValueError(f"task {task!r} is not one of {', '.join(tasks.TASKS)}")
        self.task, self.aggression, self.caution, self.companions = task, aggression, caution, companions
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (OBS_SIZE,), np.float32)
        self.action_space = gym.spaces.Discrete(N_ACTIONS)
        self._scripted = ScriptedPolicy()
        self.arena: Arena | None = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        scene_seed = int(self.np_random.integers(2**31))
        arena, self.max_ticks = tasks.setup(self.task, scene_seed, self.aggression, self.caution)
        if self.companions:
            rng = np.random.default_rng(scene_seed)
            specs = arena.specs + [AgentSpec(ARCHETYPES[int(rng.integers(5))], float(rng.random()),
                                             float(rng.random())) for _ in range(self.companions)]
            keep = {k: getattr(arena, k).copy() for k in ("grid", "player")}
            pos = np.concatenate([arena.pos, [arena.random_free_point() for _ in range(self.companions)]])
            state = (arena.last_seen[0].copy(), arena.seen_age[0], arena.objective.copy(),
                     getattr(arena, "search_target", None), arena.player_last_seen)
            arena.reset(specs, seed=scene_seed, player_mode=arena.player_mode, grid=keep["grid"], positions=pos,
                        player_pos=keep["player"])
            arena.last_seen[0], arena.seen_age[0], arena.objective = state[0], state[1], state[2]
            if state[3] is not None:
                arena.search_target = state[3]
            arena.player_last_seen = state[4]
        self.arena = arena
        self._scripted.reset()
        self._visited = int(arena.visited[0].sum())
        self._t = 0
        obs, mask = arena.observe()
        self._mask = mask[0]
        return obs[0], {"action_mask": mask[0]}

    def action_masks(self) -> np.ndarray:
        return self._mask

    def step(self, action):
        a = self.arena
        if not self.action_space.contains(int(action)):
            raise ValueError(f"action {action!r} is not in [0, {N_ACTIONS})")
        actions = self._scripted.act(a) if len(a.pos) > 1 else np.zeros(1, np.int64)
        actions[0] = int(action)
        info = a.step(actions)
        self._t += 1
        reward, done = -0.01, False
        if self.task in ("chase", "guard") and info["captured"][0]:
            reward, done = 1.0, True
        elif self.task == "guard" and np.linalg.norm(a.player - a.objective) < 1.0:
            reward, done = -1.0, True
        elif self.task == "flee":
            reward, done = (-1.0, True) if info["hit"][0] else (0.01, False)
        elif self.task == "search" and (np.linalg.norm(a.pos[0] - a.search_target) < 1.0 or info["captured"][0]):
            reward, done = 1.0, True
        elif self.task == "wander":
            v = int(a.visited[0].sum())
            reward, self._visited = 0.05 * (v - self._visited), v
        obs, mask = a.observe()
        self._mask = mask[0]
        return obs[0], float(reward), done, self._t >= self.max_ticks, {"action_mask": mask[0]}
