"""Train the NPC policy: behaviour cloning from the scripted teacher, with DAgger rounds.

Round 0 rolls the teacher out and records (observation, mask, teacher action) for every living
agent; each later round rolls the *learner* out (the teacher acts on a fraction ``beta = 0.5**r``
of the ticks) and labels what the learner visited with what the teacher would have done there, so
the policy learns to recover from its own mistakes. Scenes mix the five task set-ups (see
tasks.py) with crowded scenes of 2-6 agents of random archetypes and parameters against a player
in a random mode. After every round the learner plays the task episodes of fixed seeds, giving the
learning curve written into the checkpoint.

    python -m gamegen.generators.npc.train --out runs/npc-mlp.pt --rounds 4 --ticks 20000
    gamegen export runs/npc-mlp.pt        # -> models/npc-mlp/1.0.0/
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import nets, tasks
from .arena import ARCHETYPES, PLAYER_MODES, AgentSpec, Arena
from .scripted import ScriptedPolicy


class TorchPolicy:
    """Argmax of a torch policy over ``arena.observe()`` (training-time evaluation)."""

    name = "learned"

    def __init__(self, model):
        self.model = model

    def act(self, arena: Arena) -> np.ndarray:
        obs, mask = arena.observe()
        with torch.no_grad():
            logits = self.model(torch.from_numpy(obs), torch.from_numpy(mask.astype(np.float32)))
        return logits.argmax(1).numpy()


def _scene(rng: np.random.Generator) -> Arena:
    if rng.random() < 0.5:
        task = ARCHETYPES[int(rng.integers(len(ARCHETYPES)))]
        arena, _ = tasks.setup(task, int(rng.integers(2**31)), float(rng.random()), float(rng.random()))
        return arena
    k = int(rng.integers(2, 7))
    specs = [AgentSpec(ARCHETYPES[int(rng.integers(len(ARCHETYPES)))], float(rng.random()), float(rng.random()))
             for _ in range(k)]
    arena = Arena()
    arena.reset(specs, seed=int(rng.integers(2**31)), player_mode=PLAYER_MODES[int(rng.integers(len(PLAYER_MODES)))])
    for i in range(k):  # some agents start with a memory of the player somewhere
        if rng.random() < 0.4:
            arena.last_seen[i] = arena.random_free_point()
            arena.seen_age[i] = float(rng.random() * 12.0)
    return arena


def collect(rng: np.random.Generator, n_samples: int, learner=None, beta: float = 1.0, scene_ticks: int = 150):
    """(obs, mask, teacher action) for about ``n_samples`` agent-ticks."""
    teacher = ScriptedPolicy()
    obs_l, mask_l, act_l = [], [], []
    total = 0
    while total < n_samples:
        arena = _scene(rng)
        teacher.reset()
        for _ in range(scene_ticks):
            obs, mask = arena.observe()
            label = teacher.act(arena)
            alive = arena.alive
            obs_l.append(obs[alive])
            mask_l.append(mask[alive])
            act_l.append(label[alive])
            total += int(alive.sum())
            if learner is not None and rng.random() >= beta:
                with torch.no_grad():
                    logits = learner(torch.from_numpy(obs), torch.from_numpy(mask.astype(np.float32)))
                action = logits.argmax(1).numpy()
            else:
                action = label
            arena.step(action)
            if not alive.any():
                break
    return np.concatenate(obs_l), np.concatenate(mask_l), np.concatenate(act_l)


def fit(model, data, epochs: int, rng: np.random.Generator, lr: float = 2e-3, batch: int = 512) -> float:
    obs, mask, act = (torch.from_numpy(data[0]), torch.from_numpy(data[1].astype(np.float32)),
                      torch.from_numpy(data[2].astype(np.int64)))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n = len(obs)
    loss = torch.zeros(())
    model.train()
    for _ in range(epochs):
        perm = torch.from_numpy(rng.permutation(n))
        for s in range(0, n, batch):
            idx = perm[s:s + batch]
            loss = F.cross_entropy(model(obs[idx], mask[idx]), act[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    return float(loss.detach())


def accuracy(model, data) -> float:
    with torch.no_grad():
        logits = model(torch.from_numpy(data[0]), torch.from_numpy(data[1].astype(np.float32)))
    return float((logits.argmax(1).numpy() == data[2]).mean())


def evaluate(policy, seeds: range) -> dict:
    """Per task, the headline figure over the given seeds (learning-curve points)."""
    out = {}
    for task in tasks.TASKS:
        rs = [tasks.run_episode(task, policy, 10_000 + s) for s in seeds]
        h = tasks.headline(task, rs)
        key, val = next(iter(h.items()))
        out[f"{task}:{key}"] = float(np.mean(val))
    return out


def gate(ckpt: dict, seeds: int) -> dict:
    """Ship only the archetypes whose learned figure beats random on the evaluation seeds.

    Adds ``metrics.random_baseline`` and ``metrics.gate`` and sets ``archetypes`` to the ones that
    pass; a policy that does not beat random on its task is not offered for that archetype."""
    from .scripted import RandomPolicy

    model = nets.build(ckpt["config"])
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    learned = ckpt["metrics"]["learning_curve"][-1]
    rand = evaluate(RandomPolicy(7), range(seeds))
    verdict = {}
    for key, r in rand.items():
        task = key.split(":")[0]
        verdict[task] = bool(learned[key] > r)
    ckpt["metrics"]["random_baseline"] = {k: round(v, 3) for k, v in rand.items()}
    ckpt["metrics"]["gate"] = verdict
    ckpt["archetypes"] = [a for a in ARCHETYPES if verdict.get(a)]
    return ckpt


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--name", default="npc-mlp")
    ap.add_argument("--family", default="mlp", choices=["mlp"])
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=4, help="DAgger rounds after the first teacher-only round")
    ap.add_argument("--ticks", type=int, default=20000, help="agent-ticks collected per round")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--eval-seeds", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    rng = np.random.default_rng(args.seed)
    config = {"family": args.family, "hidden": args.hidden}
    model = nets.build(config)
    model.eval()
    t0 = time.perf_counter()
    val = collect(np.random.default_rng(10**6 + args.seed), max(2000, args.ticks // 5))
    data = collect(rng, args.ticks)
    curve = []
    for r in range(args.rounds + 1):
        if r > 0:
            new = collect(rng, args.ticks, learner=model, beta=0.5 ** r)
            data = tuple(np.concatenate([a, b]) for a, b in zip(data, new))
        loss = fit(model, data, args.epochs, rng)
        point = {"round": r, "samples": int(len(data[0])), "loss": round(loss, 4),
                 "val_accuracy": round(accuracy(model, val), 4),
                 "seconds": round(time.perf_counter() - t0, 1)}
        point.update({k: round(v, 3) for k, v in evaluate(TorchPolicy(model), range(args.eval_seeds)).items()})
        curve.append(point)
        print(point, flush=True)
    seconds = time.perf_counter() - t0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    ckpt = {
        "kind": "npc", "name": args.name, "config": config, "state_dict": model.state_dict(),
        "archetypes": list(ARCHETYPES),
        "training": {
            "data": (f"scripted FSM+A* teacher in the bundled arena: {args.ticks} agent-ticks per round, "
                     f"1 + {args.rounds} DAgger rounds (beta = 0.5**round)"),
            "held_out": f"{len(val[0])} teacher-labelled agent-ticks from seed {10**6 + args.seed}; task "
                        f"episodes of seeds 10000..{10000 + args.eval_seeds - 1}",
            "command": "python -m gamegen.generators.npc.train " + " ".join(
                f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()),
            "epochs": args.epochs * (args.rounds + 1), "seed": args.seed, "seconds": round(seconds),
            "samples": int(len(data[0])),
        },
        "metrics": {"learning_curve": curve},
    }
    ckpt = gate(ckpt, args.eval_seeds)
    torch.save(ckpt, args.out)
    print(f"wrote {args.out} in {seconds:.0f} s; ships {ckpt['archetypes']} (gate {ckpt['metrics']['gate']})")


if __name__ == "__main__":
    main()
