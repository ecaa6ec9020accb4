"""Batched NPC policy runner (numpy + ONNX Runtime; no torch): N agents' observations -> one call.

:class:`PolicyRunner` serves one policy graph for many agents. Agents :meth:`~PolicyRunner.join`
with an id and a seed and :meth:`~PolicyRunner.leave` at any time; each tick
:meth:`~PolicyRunner.decide` takes the observations (and action masks) of any subset of the joined
agents, runs **one** ``InferenceSession.run`` for all of them and returns one action per agent.

* ``mode="argmax"`` picks the most likely allowed action; ``mode="sample"`` draws from the masked
  softmax with the agent's own ``numpy.random.Generator`` (seeded at join), one draw per decision,
  so an agent's actions depend only on its seed and its inputs, never on which other agents share
  the batch.
* A recurrent graph's state (gamegen ``state_in``/``state_out``, ML-Agents ``recurrent_in``/
  ``recurrent_out``) is kept per agent in a slot array: zeros at join, updated after each decision,
  freed at leave.
* Masked actions are never returned. Bad input raises :class:`InputError` (a ``ValueError``)
  naming the field, the offending value or shape, and what is allowed.

Two graph contracts are recognised from the input/output names:

``gamegen``   inputs ``obs`` [batch, D], ``action_mask`` [batch, A] (float, 1 = allowed), optional
              ``state_in`` [batch, H]; outputs ``logits`` [batch, A], optional ``state_out``.
``mlagents``  the Unity ML-Agents export (``MODEL_EXPORT_VERSION`` 3): inputs ``obs_0``...
              ``obs_k`` (one per sensor, concatenated here in order), ``action_masks`` [batch, sum
              of branch sizes], optional ``recurrent_in`` [batch, 1, memory]; outputs
              ``discrete_actions`` / ``deterministic_discrete_actions`` [batch, branches],
              ``continuous_actions`` / ``deterministic_continuous_actions``, ``version_number``,
              ``memory_size``, ``discrete_action_output_shape``, ``recurrent_out``. ``argmax`` uses
              the deterministic outputs; ``sample`` uses the graph's own sampled outputs (ML-Agents
              samples inside the graph, so those are not reproducible by our seed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Hashable, Sequence

import numpy as np

MODES = ("argmax", "sample")


class InputError(ValueError):
    """Observations, masks or agent ids that the policy cannot take; the message says which and why."""


@dataclass
class Decision:
    """What :meth:`PolicyRunner.decide` returns for a batch (rows in the order of the ids given)."""

    discrete: np.ndarray                  # int64 [n, branches]; for gamegen graphs branches == 1
    continuous: np.ndarray                # float32 [n, c]; c == 0 without continuous actions
    probs: np.ndarray | None = None       # float32 [n, A] masked softmax (gamegen graphs only)

    @property
    def actions(self) -> np.ndarray:
        """First (for gamegen: the only) discrete branch as int64 [n]."""
        return self.discrete[:, 0] if self.discrete.shape[1] else np.zeros(len(self.discrete), np.int64)


class _Agent:
    __slots__ = ("seed", "rng", "slot")

    def __init__(self, seed: int, slot: int):
        self.seed, self.rng, self.slot = seed, np.random.default_rng(seed), slot


def _dim(d) -> int | None:
    return d if isinstance(d, int) else None


class PolicyRunner:
    """Serve one policy graph for many agents, one ONNX Runtime call per :meth:`decide`.

    ``model`` is a model folder (``manifest.json`` + its ``file``, checksum verified), an ``.onnx``
    path, or an existing ``onnxruntime.InferenceSession``. ``max_agents`` bounds how many may be joined at once.
    ``field_names`` (gamegen graphs: from the manifest's observation layout) name the observation
    columns in error messages.
    """

    def __init__(self, model: Any, *, max_agents: int = 100_000, threads: int = 1,
                 providers: Sequence[str] = ("CPUExecutionProvider",), field_names: list[str] | None = None):
        import onnxruntime as ort

        self.manifest: dict = {}
        if hasattr(model, "run") and hasattr(model, "get_inputs"):   # an InferenceSession (or a wrapper)
            self.session = model
        else:
            path = Path(model)
            if path.is_dir():
                from gamegen.exporters.manifest import verify_checksum

                self.manifest = json.loads((path / "manifest.json").read_text())
                verify_checksum(path, self.manifest)   # ChecksumError: the file is not what was shipped
                path = path / self.manifest["file"]
            so = ort.SessionOptions()
            so.intra_op_num_threads = threads
            so.inter_op_num_threads = 1
            so.log_severity_level = 3
            self.session = ort.InferenceSession(str(path), so, providers=list(providers))
        self.max_agents = int(max_agents)
        ins = {i.name: i for i in self.session.get_inputs()}
        outs = {o.name: o for o in self.session.get_outputs()}
        self.input_names, self.output_names = list(ins), list(outs)
        if "obs" in ins and "logits" in outs:
            self.contract = "gamegen"
            self.obs_inputs = ["obs"]
            self.mask_input = "action_mask" if "action_mask" in ins else None
            self.state_in = "state_in" if "state_in" in ins else None
            self.state_out = "state_out" if self.state_in else None
            self.branches = [int(outs["logits"].shape[1])]
        elif any(n.startswith("obs_") for n in ins) and "version_number" in outs:
            self.contract = "mlagents"
            self.obs_inputs = sorted((n for n in ins if n.startswith("obs_")), key=lambda n: int(n[4:]))
            self.mask_input = "action_masks" if "action_masks" in ins else None
            self.state_in = "recurrent_in" if "recurrent_in" in ins else None
            self.state_out = "recurrent_out" if self.state_in else None
            consts = self._mlagents_constants()
            self.version = int(np.ravel(consts["version_number"])[0])
            if self.version not in (2, 3):
                raise ValueError(f"ML-Agents model export version {self.version} is not supported (2 or 3)")
            self.memory_size = int(np.ravel(consts.get("memory_size", [0]))[0])
            shape = consts.get("discrete_action_output_shape")
            self.branches = [int(x) for x in np.ravel(shape)] if shape is not None else []
            self.continuous_size = int(np.ravel(consts.get("continuous_action_output_shape", [0]))[0])
        else:
            raise ValueError(f"graph inputs {self.input_names} / outputs {self.output_names} match neither the "
                             "gamegen policy contract (obs, action_mask -> logits) nor the ML-Agents one "
                             "(obs_0.., action_masks -> version_number, discrete_actions/continuous_actions)")
        self.obs_sizes = []
        for n in self.obs_inputs:
            shape = ins[n].shape
            if len(shape) != 2 or _dim(shape[1]) is None:
                raise ValueError(f"input {n} has shape {shape}; only vector observations [batch, size] are served")
            self.obs_sizes.append(int(shape[1]))
        self.obs_size = sum(self.obs_sizes)
        self.n_actions = sum(self.branches)
        if self.state_in:
            shape = ins[self.state_in].shape
            self.state_shape = tuple(int(d) for d in shape[1:])
        else:
            self.state_shape = ()
        self.field_names = field_names or self._layout_names()
        # archetypes the policy is offered for (those that beat random at training time); None = any
        self.archetypes: list[str] | None = self.manifest.get("extra", {}).get("archetypes")
        self._agents: dict[Hashable, _Agent] = {}
        self.leaves = 0        # agents that have left so far: a list from resolve() is valid while it stays
        self._free_slots: list[int] = []
        self._state = np.zeros((0,) + self.state_shape, np.float32)

    # --- model facts ------------------------------------------------------------------------
    def _mlagents_constants(self) -> dict:
        """Run once with a batch of one zero observation, as ML-Agents' own loader does, to read the
        constant outputs (version, memory size, action shapes)."""
        feed = {}
        for i in self.session.get_inputs():
            shape = [1 if not isinstance(d, int) else d for d in i.shape]
            feed[i.name] = np.zeros(shape, np.float32) if i.name != "action_masks" else np.ones(shape, np.float32)
        names = [n for n in ("version_number", "memory_size", "discrete_action_output_shape",
                             "continuous_action_output_shape") if n in self.output_names]
        return dict(zip(names, (np.asarray(v) for v in self.session.run(names, feed))))

    def _layout_names(self) -> list[str]:
        layout = self.manifest.get("extra", {}).get("observation")
        if not layout:
            return []
        names = []
        for f in layout:
            names += [f["name"]] if f["width"] == 1 else [f"{f['name']}[{k}]" for k in range(f["width"])]
        return names

    # --- agents -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._agents)

    def __contains__(self, agent_id) -> bool:
        return agent_id in self._agents

    def join(self, agent_id: Hashable, seed: int = 0) -> None:
        """Register an agent: its sampling stream starts from ``seed``; its recurrent state is zero."""
        if agent_id in self._agents:
            raise InputError(f"agent_id {agent_id!r} has already joined; ids must be unique")
        if len(self._agents) >= self.max_agents:
            raise InputError(f"agent limit reached: {len(self._agents)} agents joined, max_agents={self.max_agents}")
        if not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**64:
            raise InputError(f"seed={seed!r} for agent {agent_id!r}: expected an integer in [0, 2**64)")
        if self._free_slots:
            slot = self._free_slots.pop()
        else:
            slot = len(self._state)
            grow = max(16, slot)
            self._state = np.concatenate([self._state, np.zeros((grow,) + self.state_shape, np.float32)])
            self._free_slots.extend(range(slot + grow - 1, slot, -1))
        self._state[slot] = 0.0
        self._agents[agent_id] = _Agent(int(seed), slot)

    def leave(self, agent_id: Hashable) -> None:
        agent = self._agents.pop(agent_id, None)
        if agent is None:
            raise InputError(f"agent_id {agent_id!r} is not joined")
        self.leaves += 1
        self._free_slots.append(agent.slot)

    def state(self, agent_id: Hashable) -> np.ndarray:
        """A copy of the agent's recurrent state (empty for a feed-forward graph)."""
        return self._state[self._get(agent_id).slot].copy()

    def _get(self, agent_id):
        try:
            return self._agents[agent_id]
        except (KeyError, TypeError):
            raise InputError(f"agent_id {agent_id!r} is not joined (join it before its first decision)") from None

    # --- validation ---------------------------------------------------------------------------
    def _field(self, col: int) -> str:
        return f" (field {self.field_names[col]!r})" if col < len(self.field_names) else ""

    def resolve(self, agent_ids: Sequence[Hashable]) -> tuple[list, int]:
        """The joined agents behind ``agent_ids``, each once, and the :attr:`leaves` count they are
        valid for: :meth:`decide` takes both (``agents=``) to skip looking the ids up again, as
        long as no agent has left since."""
        agents = [self._get(a) for a in agent_ids]
        if len(set(map(id, agents))) != len(agents):
            raise InputError("agent_ids: each agent may appear once per decision")
        return agents, self.leaves

    def _check(self, ids, obs, mask, resolved=None) -> tuple[list, np.ndarray, np.ndarray | None]:
        ids = list(ids)
        n = len(ids)
        if resolved is not None and resolved[1] == self.leaves and len(resolved[0]) == n:
            agents = resolved[0]
        else:
            agents = self.resolve(ids)[0]
        try:
            obs = np.asarray(obs, dtype=np.float32)
        except (TypeError, ValueError) as e:
            raise InputError(f"obs: expected a float array of shape ({n}, {self.obs_size}); {e}") from None
        if obs.shape != (n, self.obs_size):
            raise InputError(f"obs: expected shape ({n}, {self.obs_size}) (one row of {self.obs_size} floats per "
                             f"agent id given), got {obs.shape}")
        bad = ~np.isfinite(obs)
        if bad.any():
            r, c = map(int, np.argwhere(bad)[0])
            raise InputError(f"obs[{r}, {c}]{self._field(c)} of agent {ids[r]!r} is {obs[r, c]}; observations "
                             f"must be finite ({int(bad.sum())} non-finite value(s) in shape {obs.shape})")
        if mask is None:
            m = np.ones((n, self.n_actions), np.float32)
        else:
            m = np.asarray(mask)
            if m.shape != (n, self.n_actions):
                raise InputError(f"action_mask: expected shape ({n}, {self.n_actions}) (1 = allowed), got {m.shape}")
            if m.dtype != bool:
                if not np.isin(m, (0, 1)).all():
                    raise InputError("action_mask: values must be 0 or 1 (or bool)")
            m = m.astype(np.float32)
            start = 0
            for b, size in enumerate(self.branches):
                none = ~(m[:, start:start + size] > 0).any(1)
                if none.any():
                    r = int(np.flatnonzero(none)[0])
                    raise InputError(f"action_mask row {r} (agent {ids[r]!r}) allows no action in branch {b}; "
                                     "at least one action must be allowed")
                start += size
        return agents, obs, m

    # --- decisions ----------------------------------------------------------------------------
    def decide(self, agent_ids: Sequence[Hashable], obs, action_mask=None, mode: str = "argmax",
               resolved: tuple[list, int] | None = None) -> Decision:
        """One decision for each agent in ``agent_ids`` (rows of ``obs``/``action_mask`` in that order).
        ``resolved``: what :meth:`resolve` returned for the same ids, kept by the caller (a scene
        whose agents did not change); ignored once any agent has left since."""
        if mode not in MODES:
            raise InputError(f"mode {mode!r} is not one of {', '.join(MODES)}")
        agents, obs, mask = self._check(agent_ids, obs, action_mask, resolved)
        n = len(agents)
        if n == 0:
            return Decision(np.zeros((0, len(self.branches)), np.int64), np.zeros((0, 0), np.float32))
        slots = np.fromiter((a.slot for a in agents), np.int64, n) if self.state_in or self.state_out else None
        feed = {}
        start = 0
        for name, size in zip(self.obs_inputs, self.obs_sizes):
            feed[name] = obs[:, start:start + size]
            start += size
        if self.mask_input:
            feed[self.mask_input] = mask
        if self.state_in:
            feed[self.state_in] = self._state[slots]
        if self.contract == "gamegen":
            outs = ["logits"] + ([self.state_out] if self.state_out else [])
            res = self.session.run(outs, feed)
            logits = res[0].astype(np.float64)
            logits = np.where(mask > 0, logits, -np.inf)
            z = np.exp(logits - logits.max(1, keepdims=True))
            probs = z / z.sum(1, keepdims=True)
            if mode == "argmax":
                act = np.argmax(logits, 1)
            else:
                u = np.fromiter((a.rng.random() for a in agents), np.float64, n)
                act = np.minimum((np.cumsum(probs, 1) < u[:, None]).sum(1), probs.shape[1] - 1)
                # never land on a masked action through rounding at the top of the cdf
                act = np.where(mask[np.arange(n), act] > 0, act, np.argmax(logits, 1))
            state = res[1] if self.state_out else None
            decision = Decision(act[:, None].astype(np.int64), np.zeros((n, 0), np.float32), probs.astype(np.float32))
        else:
            det = mode == "argmax"
            want = []
            if self.branches:
                want.append("deterministic_discrete_actions" if det and "deterministic_discrete_actions"
                            in self.output_names else "discrete_actions")
            if self.continuous_size:
                want.append("deterministic_continuous_actions" if det and "deterministic_continuous_actions"
                            in self.output_names else "continuous_actions")
            if self.state_out:
                want.append(self.state_out)
            res = dict(zip(want, self.session.run(want, feed)))
            disc = next((v for k, v in res.items() if k.endswith("discrete_actions")), np.zeros((n, 0)))
            cont = next((v for k, v in res.items() if k.endswith("continuous_actions")), np.zeros((n, 0)))
            state = res.get(self.state_out) if self.state_out else None
            decision = Decision(np.asarray(disc).astype(np.int64).reshape(n, -1),
                                np.asarray(cont, np.float32).reshape(n, -1))
        if state is not None:
            self._state[slots] = np.asarray(state, np.float32).reshape((n,) + self.state_shape)
        return decision


class RunnerPolicy:
    """Drive every agent of an ``arena.Arena`` through a :class:`PolicyRunner` (one call per tick)."""

    name = "learned"

    _instances = 0

    def __init__(self, runner: PolicyRunner, mode: str = "argmax", seed: int = 0):
        self.runner, self.mode, self.seed = runner, mode, seed
        self._ids: list = []
        RunnerPolicy._instances += 1
        self._prefix = f"arena{RunnerPolicy._instances}"

    def reset(self) -> None:
        for a in self._ids:
            if a in self.runner:
                self.runner.leave(a)
        self._ids = []

    def act(self, arena) -> np.ndarray:
        n = len(arena.pos)
        if len(self._ids) != n:
            self.reset()
            self._ids = [f"{self._prefix}-agent-{i}" for i in range(n)]
            for i, a in enumerate(self._ids):
                self.runner.join(a, seed=self.seed + i)
        obs, mask = arena.observe()
        return self.runner.decide(self._ids, obs, mask, mode=self.mode).actions
