"""Train the melody LSTM on the cached corpus and write a checkpoint for ``gamegen export``.

    python -m gamegen.generators.music.corpus --out runs/music/corpus.jsonl      # once, minutes
    python -m gamegen.generators.music.train --corpus runs/music/corpus.jsonl --out runs/music/lstm.pt
    gamegen export runs/music/lstm.pt --models models

Pieces are normalised to C major / A minor and augmented by octave transposition (every copy that
stays inside the pitch vocabulary); the held-out split (by piece, see :mod:`.corpus`) is never
trained on. Training is single-threaded and seeded; it stops after ``--epochs`` or ``--minutes``,
whichever comes first (the learning rate decays over the time budget), keeping the weights with
the best held-out loss.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from . import encoding as enc
from . import nets
from .corpus import SOURCES, load

WINDOW = 160


def windows(pieces: list[dict], octaves, window: int = WINDOW):
    """Training windows: mode+meter prefix, then ``window`` tokens starting at a bar."""
    out = []
    for piece in pieces:
        for toks, pos, ph in enc.piece_tokens(piece, octaves):
            body = slice(2, None)
            t, p, h = toks[body], pos[body], ph[body]
            bar_starts = np.flatnonzero(t == enc.BAR)
            step = max(1, len(bar_starts) // max(1, len(t) // window))    # windows about tile the piece
            for b in bar_starts[::step]:
                sl = slice(b, b + window)
                if len(t[sl]) < 16:
                    continue
                out.append((np.concatenate([toks[:2], t[sl], [enc.EOS] if b + window >= len(t) else []]).astype(np.int64),
                            np.concatenate([pos[:2], p[sl], [0] if b + window >= len(t) else []]).astype(np.int64),
                            np.concatenate([ph[:2], h[sl], [0] if b + window >= len(t) else []]).astype(np.int64)))
    return out


def batches(items, bs, rng):
    order = rng.permutation(len(items)) if rng is not None else np.arange(len(items))
    for i in range(0, len(order), bs):
        chunk = [items[j] for j in order[i:i + bs]]
        T = max(len(c[0]) for c in chunk)
        x = np.zeros((3, len(chunk), T - 1), dtype=np.int64)
        y = np.full((len(chunk), T - 1), -100, dtype=np.int64)
        for k, (t, p, h) in enumerate(chunk):
            n = len(t)
            x[0, k, :n - 1], x[1, k, :n - 1], x[2, k, :n - 1] = t[:-1], p[:-1], h[:-1]
            y[k, :n - 1] = t[1:]
        y[:, 0] = -100  # the meter token is given with the mode, not predicted
        yield tuple(torch.from_numpy(a) for a in (x[0], x[1], x[2], y))


def evaluate(model, items, bs=64) -> float:
    model.eval()
    total = count = 0.0
    with torch.no_grad():
        for t, p, h, y in batches(items, bs, None):
            logits = model(t, p, h)
            loss = F.cross_entropy(logits.reshape(-1, enc.VOCAB), y.reshape(-1), ignore_index=-100, reduction="sum")
            total += loss.item()
            count += int((y != -100).sum())
    return total / max(count, 1)


def train(corpus: Path, out: Path, epochs: int = 20, minutes: float = 7.0, seed: int = 0, tiny: bool = False,
          threads: int = 1, log=print) -> dict:
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    pieces = load(corpus)
    train_p = [p for p in pieces if not p["held_out"]]
    held_p = [p for p in pieces if p["held_out"]]
    if tiny:
        train_p, held_p = train_p[:12], held_p[:4]
    tr = windows(train_p, (-1, 0, 1))
    va = windows(held_p, (0,))
    config = {"embed": 16, "hidden": 32, "layers": 2} if tiny else {"embed": 96, "hidden": 192, "layers": 2}
    model = nets.build(config)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    budget = minutes * 60

    def set_lr(step: int, elapsed: float) -> None:
        # warm-up over 100 steps, then linear decay to 10 % over the time budget
        lr = 3e-3 * min(1.0, (step + 1) / 100) * (1.0 - 0.9 * min(1.0, elapsed / budget))
        for g in opt.param_groups:
            g["lr"] = lr

    log(f"{len(train_p)} training pieces ({len(tr)} windows), {len(held_p)} held out ({len(va)} windows); "
        f"{sum(p.numel() for p in model.parameters())} parameters")
    t0 = time.time()
    best, best_state, done, step = float("inf"), None, 0, 0
    for ep in range(1 if tiny else epochs):
        model.train()
        total = count = 0.0
        for i, (t, p, h, y) in enumerate(batches(tr, 32, rng)):
            if tiny and i >= 3:
                break
            logits = model(t, p, h)
            loss = F.cross_entropy(logits.reshape(-1, enc.VOCAB), y.reshape(-1), ignore_index=-100)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            set_lr(step, time.time() - t0)
            opt.step()
            step += 1
            n = int((y != -100).sum())
            total += loss.item() * n
            count += n
            if i % 200 == 0:
                log(f"  batch {i} loss {loss.item():.3f} ({time.time() - t0:.0f} s)")
            if time.time() - t0 > budget:
                break
        val = evaluate(model, va if not tiny else va[:8])
        done = ep + 1
        log(f"epoch {ep} train nll/token {total / max(count, 1):.3f} held-out {val:.3f} ({time.time() - t0:.0f} s)")
        if val < best:
            best, best_state = val, {k: v.clone() for k, v in model.state_dict().items()}
        if time.time() - t0 > budget:
            break
    model.load_state_dict(best_state)
    seconds = round(time.time() - t0, 1)
    ckpt = {
        "kind": "music", "family": "lstm", "name": "music-lstm", "config": config,
        "state_dict": model.state_dict(),
        "training": {
            "data": "music21 corpus (public domain): " + ", ".join(SOURCES) +
                    f"; {len(train_p)} pieces normalised to C major / A minor, octave-transposed copies",
            "held_out": f"{len(held_p)} pieces (10 % by piece-id hash); held-out nll/token {best:.4f}",
            "command": "python -m gamegen.generators.music.train " + shlex.join(sys.argv[1:]),
            "epochs": done, "seed": seed, "seconds": seconds,
        },
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, out)
    return ckpt["training"]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m gamegen.generators.music.train", description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=Path("runs/music/corpus.jsonl"))
    ap.add_argument("--out", type=Path, default=Path("runs/music/lstm.pt"))
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--minutes", type=float, default=7.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--tiny", action="store_true", help="a very small model for a few steps (tests)")
    a = ap.parse_args(argv)
    print(train(a.corpus, a.out, a.epochs, a.minutes, a.seed, a.tiny, a.threads,
                log=lambda m: print(m, file=sys.stderr, flush=True)))


if __name__ == "__main__":
    main()
