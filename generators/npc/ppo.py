"""A short PPO fine-tune of the cloned policy on one task's reward (an experiment, measured).

Starts from a ``train.py`` checkpoint, adds a value network, and runs clipped PPO (GAE, masked
categorical) in ``gym_env.ArenaEnv(task)``. Writes a checkpoint of the same form, so the same
export and benchmarks apply. Whether it ships is decided by ``benchmarks/npc_quality.py``.

    python -m gamegen.generators.npc.ppo --init runs/npc-mlp.pt --task flee --updates 20 --out runs/npc-ppo.pt
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import nets
from .arena import OBS_SIZE
from .gym_env import ArenaEnv
from .train import TorchPolicy, evaluate


def _masked_dist(model, obs, mask):
    return torch.distributions.Categorical(logits=model(obs, mask))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--init", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--task", default="flee")
    ap.add_argument("--updates", type=int, default=20)
    ap.add_argument("--steps", type=int, default=2048, help="env steps per update")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--eval-seeds", type=int, default=6, help="task scenes per archetype judged at the end (0: none)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    ckpt = torch.load(args.init, map_location="cpu", weights_only=True)
    policy = nets.build(ckpt["config"])
    policy.load_state_dict(ckpt["state_dict"])
    value = nn.Sequential(nn.Linear(OBS_SIZE, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 1))
    opt = torch.optim.Adam([{"params": policy.parameters(), "lr": args.lr},
                            {"params": value.parameters(), "lr": 1e-3}])
    env = ArenaEnv(args.task)
    obs, info = env.reset(seed=args.seed)
    ep_ret, returns, curve = 0.0, [], []
    t0 = time.perf_counter()
    total = 0
    for update in range(args.updates):
        buf = {k: [] for k in ("obs", "mask", "act", "logp", "rew", "done", "val")}
        policy.eval()
        for _ in range(args.steps):
            o = torch.from_numpy(obs)[None]
            m = torch.from_numpy(info["action_mask"].astype(np.float32))[None]
            with torch.no_grad():
                dist = _masked_dist(policy, o, m)
                a = dist.sample()
                v = value(o)[0, 0]
            obs2, r, done, trunc, info2 = env.step(int(a))
            for k, x in (("obs", o[0]), ("mask", m[0]), ("act", a[0]), ("logp", dist.log_prob(a)[0]),
                         ("rew", torch.tensor(r)), ("done", torch.tensor(float(done))), ("val", v)):
                buf[k].append(x)
            ep_ret += r
            if done or trunc:
                returns.append(ep_ret)
                ep_ret = 0.0
                obs2, info2 = env.reset()
                if trunc and not done:      # bootstrap a time-limit cut like a continuing state
                    buf["done"][-1] = torch.tensor(0.0)
            obs, info = obs2, info2
        total += args.steps
        b = {k: torch.stack(v) for k, v in buf.items()}
        with torch.no_grad():
            last_v = value(torch.from_numpy(obs)[None])[0, 0]
        adv = torch.zeros(args.steps)
        gae = 0.0
        for t in reversed(range(args.steps)):
            nxt = last_v if t == args.steps - 1 else b["val"][t + 1]
            delta = b["rew"][t] + 0.99 * nxt * (1 - b["done"][t]) - b["val"][t]
            gae = delta + 0.99 * 0.95 * (1 - b["done"][t]) * gae
            adv[t] = gae
        ret = adv + b["val"]
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        policy.train()
        for _ in range(4):
            perm = torch.randperm(args.steps)
            for s in range(0, args.steps, 256):
                idx = perm[s:s + 256]
                dist = _masked_dist(policy, b["obs"][idx], b["mask"][idx])
                ratio = torch.exp(dist.log_prob(b["act"][idx]) - b["logp"][idx])
                pg = -torch.min(ratio * adv[idx], ratio.clamp(0.8, 1.2) * adv[idx]).mean()
                vl = ((value(b["obs"][idx])[:, 0] - ret[idx]) ** 2).mean()
                opt.zero_grad()
                (pg + 0.5 * vl).backward()
                nn.utils.clip_grad_norm_(list(policy.parameters()) + list(value.parameters()), 0.5)
                opt.step()
        policy.eval()
        point = {"update": update, "steps": total, "mean_return": round(float(np.mean(returns[-20:])), 3) if returns else None,
                 "seconds": round(time.perf_counter() - t0, 1)}
        curve.append(point)
        print(point, flush=True)
    out = copy.deepcopy(ckpt)
    out["state_dict"] = policy.state_dict()
    out["name"] = ckpt["name"] + f"-ppo-{args.task}"
    out["training"] = dict(ckpt["training"])
    out["training"]["ppo"] = {"task": args.task, "steps": total, "updates": args.updates, "lr": args.lr,
                              "seconds": round(time.perf_counter() - t0)}
    out["metrics"] = dict(ckpt.get("metrics", {}))
    out["metrics"]["ppo_curve"] = curve
    if args.eval_seeds:
        out["metrics"]["ppo_eval"] = evaluate(TorchPolicy(policy), range(args.eval_seeds))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(out, args.out)
    print(f"wrote {args.out}; eval {out['metrics'].get('ppo_eval')}")


if __name__ == "__main__":
    main()
