"""Train a level model and write a checkpoint for :mod:`gamegen.exporters.onnx_export`.

    python -m gamegen.generators.levels.train --game smb --family lstm --out runs/smb-lstm.pt
    python -m gamegen.generators.levels.train --game loderunner --family dcgan --out runs/lr-gan.pt --epochs 300
    python -m gamegen.generators.levels.train --game loderunner --family transformer --out runs/lr-tf.pt

``--tiny`` trains a very small model for a few steps (seconds; used by the export test).
Seeding is explicit (``--seed``, default 0) and training runs single-threaded by default, so the
same command gives the same checkpoint on the same machine/torch version.

Checkpoint (``torch.save`` dict): ``family``, ``game``, ``config`` (``model`` constructor kwargs
plus family data such as the column vocabulary), ``state_dict`` (the generator/sequence model
only) and ``training`` (data folders, held-out level names, command, epochs, seed, seconds).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from . import nets
from .corpus import HELD_OUT, SMB_STYLES, load_split, smb_style
from .games import GAMES, GameSpec

DEFAULT_EPOCHS = {("smb", "lstm"): 120, ("loderunner", "lstm"): 40, ("smb", "dcgan"): 6, ("loderunner", "dcgan"): 120,
                  ("loderunner", "masked"): 300, ("loderunner", "transformer"): 36}


def tile_indices(grid: np.ndarray, game: GameSpec) -> np.ndarray:
    lut = np.full(256, 255, dtype=np.uint8)
    for i, s in enumerate(game.symbols):
        lut[ord(s)] = i
    out = lut[grid]
    assert (out != 255).all()
    return out


# ---------------------------------------------------------------------------------------------


def train_smb_lstm(train_grids, epochs, rng, tiny, log, styles=None):
    """Column-token LSTM; with ``styles`` (one kind index per level) conditioned on the kind."""
    cols = Counter(bytes(c).decode("ascii") for g in train_grids for c in g.T)
    vocab = sorted(cols, key=lambda s: (-cols[s], s))
    index = {s: i for i, s in enumerate(vocab)}
    seqs = [np.array([len(vocab)] + [index[bytes(c).decode("ascii")] for c in g.T], dtype=np.int64) for g in train_grids]
    cfg_model = {"vocab": len(vocab), "embed": 8, "hidden": 16} if tiny else {"vocab": len(vocab), "embed": 64, "hidden": 256}
    if styles is not None:
        cfg_model["styles"] = len(SMB_STYLES)
    model = nets.ColumnLSTM(**cfg_model)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    bs = 8
    for ep in range(epochs):
        model.train()
        order = rng.permutation(len(seqs))
        total, count = 0.0, 0
        for b in range(0, len(order), bs):
            batch = [seqs[i] for i in order[b:b + bs]]
            if tiny:
                batch = [s[:40] for s in batch]
            T = max(len(s) for s in batch) - 1
            x = np.zeros((len(batch), T), dtype=np.int64)
            y = np.full((len(batch), T), -100, dtype=np.int64)
            for k, s in enumerate(batch):
                x[k, : len(s) - 1] = s[:-1]
                y[k, : len(s) - 1] = s[1:]
            st = None if styles is None else torch.tensor([styles[i] for i in order[b:b + bs]])
            logits = model(torch.from_numpy(x), st)
            loss = F.cross_entropy(logits.reshape(-1, len(vocab)), torch.from_numpy(y).reshape(-1), ignore_index=-100)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            n = int((y != -100).sum())
            total += loss.item() * n
            count += n
        if ep % 10 == 0 or ep == epochs - 1:
            log(f"epoch {ep} nll/column {total / count:.3f}")
    cfg = {"model": cfg_model, "vocab": vocab}
    if styles is not None:
        cfg["styles"] = list(SMB_STYLES)
    return model, cfg


def train_tile_lstm(train_grids, game, epochs, rng, tiny, log):
    idx = np.stack([tile_indices(g, game) for g in train_grids]).astype(np.int64)
    idx = np.concatenate([idx, idx[:, :, ::-1]])                  # horizontal mirror: still Lode Runner
    C = len(game.symbols)
    left, above, pos = nets.tile_lstm_inputs(idx, C)
    target = idx.reshape(len(idx), -1)
    cfg_model = {"tiles": C, "height": game.height, "width": game.width}
    cfg_model.update({"embed": 4, "pos_embed": 4, "hidden": 8} if tiny else {"hidden": 128})
    model = nets.TileLSTM(**cfg_model)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    bs = 30
    for ep in range(epochs):
        model.train()
        order = rng.permutation(len(idx))
        if tiny:
            order = order[:bs]
        total = 0.0
        for b in range(0, len(order), bs):
            sel = order[b:b + bs]
            T = 64 if tiny else target.shape[1]
            logits = model(*(torch.from_numpy(a[sel, :T]) for a in (left, above, pos)))
            loss = F.cross_entropy(logits.reshape(-1, C), torch.from_numpy(target[sel, :T]).reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            total += loss.item() * len(sel)
        if ep % 5 == 0 or ep == epochs - 1:
            log(f"epoch {ep} nll/tile {total / len(order):.4f}")
    return model, {"model": cfg_model, "tiles": game.symbols}


def train_dcgan(train_grids, game, epochs, rng, tiny, log):
    C = len(game.symbols)
    if game.width is None:
        seg_w = 28
        segs = [tile_indices(g[:, x:x + seg_w], game) for g in train_grids for x in range(0, g.shape[1] - seg_w + 1)]
    else:
        seg_w = game.width
        segs = [tile_indices(g, game) for g in train_grids]
        segs += [s[:, ::-1] for s in segs]
    data = torch.from_numpy(np.stack(segs).astype(np.int64))
    onehot = F.one_hot(data, C).permute(0, 3, 1, 2).float()          # (N, C, h, w)
    latent = 32
    ngf = 8 if tiny else 32
    cfg_model = {"tiles": C, "latent": latent, "ngf": ngf, "out_h": game.height, "out_w": seg_w}
    G = nets.DCGANGenerator(**cfg_model)
    D = nets.DCGANDiscriminator(C, ndf=ngf, out_h=game.height, out_w=seg_w)
    og = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bs = 64
    gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
    steps = 0
    for ep in range(epochs):
        order = rng.permutation(len(onehot))
        if tiny:
            order = order[: 2 * bs]
        for b in range(0, len(order) - bs + 1 if len(order) >= bs else 1, bs):
            real = onehot[torch.from_numpy(order[b:b + bs])]
            n = real.shape[0]
            z = torch.randn(n, latent, generator=gen)
            soft = torch.softmax(G(z), dim=1)
            # Straight-through one-hot: the critic sees hard tiles like the real data (a soft
            # softmax output is trivially told apart from one-hot reals), gradients flow via soft.
            hard = F.one_hot(soft.argmax(dim=1), C).permute(0, 3, 1, 2).float()
            fake = hard + soft - soft.detach()
            d_real, d_fake = D(real), D(fake.detach())
            ld = F.binary_cross_entropy_with_logits(d_real, torch.full_like(d_real, 0.9)) + \
                F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
            od.zero_grad()
            ld.backward()
            od.step()
            d_fake = D(fake)
            lg = F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))
            og.zero_grad()
            lg.backward()
            og.step()
            steps += 1
        if ep % max(1, epochs // 10) == 0 or ep == epochs - 1:
            log(f"epoch {ep} steps {steps} loss_d {ld.item():.3f} loss_g {lg.item():.3f}")
    return G, {"model": cfg_model, "tiles": game.symbols}


#: Masked fractions at which :func:`masked_nll` scores screens (each with ``MASK_DRAWS`` masks).
MASK_FRACTIONS = (0.1, 0.3, 0.5, 0.7, 0.9)
MASK_DRAWS = 4


def masked_nll(logits_fn, idx: np.ndarray, mask_token: int, seed: int = 1234) -> float:
    """Mean NLL per masked tile of screens ``idx`` (N, h, w) under ``logits_fn(tokens) -> logits
    (N, tiles, h, w)`` (numpy in, numpy out: a torch model or an ONNX session), over fixed masks
    (``MASK_FRACTIONS`` × ``MASK_DRAWS``, drawn from ``seed``: the same masks on every call, so
    figures compare across epochs and models)."""
    rng = np.random.default_rng(seed)
    total, count = 0.0, 0
    for r in MASK_FRACTIONS:
        for _ in range(MASK_DRAWS):
            m = rng.random(idx.shape) < r
            logits = logits_fn(np.where(m, mask_token, idx).astype(np.int64)).astype(np.float64)
            logits -= logits.max(axis=1, keepdims=True)
            logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
            picked = np.take_along_axis(logp, idx[:, None].astype(np.int64), axis=1)[:, 0]
            total -= float(picked[m].sum())
            count += int(m.sum())
    return total / max(1, count)


def _epoch_end(ep: int, epochs: int, every: int, train_figure: str, sched, t0: float, max_seconds, extra, log) -> bool:
    """End of a masked / transformer training epoch: log every ``every`` epochs and the last (the
    training figure, the learning rate and ``extra()``'s held-out figures); True when the time
    budget is spent (the schedule then stops unfinished, and the log says so)."""
    if ep % every == 0 or ep == epochs - 1:
        log(f"epoch {ep} {train_figure} lr {sched.get_last_lr()[0]:.2e} "
            + " ".join(f"{k} {v:.4f}" for k, v in extra().items()) + f" ({time.perf_counter() - t0:.0f} s)")
    if max_seconds and time.perf_counter() - t0 > max_seconds:
        log(f"stopping after epoch {ep} of {epochs}: --max-seconds {max_seconds} reached (schedule not finished)")
        return True
    return False


def _finished(model, cfg_model: dict, game, ep: int, check) -> dict:
    """The trained model in eval mode, and its config: architecture, legend, epochs run and (with a
    held-out set) the final held-out figures."""
    model.eval()
    config = {"model": cfg_model, "tiles": game.symbols, "epochs_run": ep + 1}
    if check is not None:
        config["nll"] = check()
        model.eval()
    return config


def train_masked(train_grids, game, epochs, rng, tiny, log, max_seconds=None, held_grids=(), channels=None,
                 decoder=None):
    """Masked-token CNN (Lode Runner): each step masks a random fraction (cosine schedule, as
    MaskGIT) of every screen and learns the masked tiles (cross-entropy on masked cells only).

    The learning rate follows a cosine over ``epochs`` (the schedule a run is meant to finish;
    ``max_seconds`` is only a safety stop, logged — 1.0.0 was stopped at 70 of 90 epochs, before
    its rate annealed). Every ``epochs // 15`` epochs the NLL per masked tile of the held-out
    screens (``held_grids``) and of as many training screens is logged on fixed masks
    (:func:`masked_nll`), to see under- or over-fitting; the final figures go to the config."""
    idx = np.stack([tile_indices(g, game) for g in train_grids]).astype(np.int64)
    idx = np.concatenate([idx, idx[:, :, ::-1]])                  # horizontal mirror: still Lode Runner
    C = len(game.symbols)
    cfg_model = {"tiles": C, "height": game.height, "width": game.width}
    if tiny:
        cfg_model.update({"ch": 8, "dilations": [1, 2]})
    else:
        cfg_model.update({"ch": channels or 64, "dilations": [1, 2, 4, 8, 16, 1, 2, 4, 8, 1], "dropout": 0.1})
    model = nets.MaskedTileCNN(**cfg_model)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, epochs))
    data = torch.from_numpy(idx)
    held = np.stack([tile_indices(g, game) for g in held_grids]).astype(np.int64) if len(held_grids) else None
    seen = idx[: len(held)] if held is not None else None

    def logits_np(tokens):
        with torch.no_grad():
            return model(torch.from_numpy(tokens)).numpy()

    def check():
        model.eval()
        out = {"heldout_nll": round(masked_nll(logits_np, held, C), 4), "train_nll": round(masked_nll(logits_np, seen, C), 4)}
        model.train()
        return out

    every = max(1, epochs // 15)
    bs = 16
    t0 = time.perf_counter()
    for ep in range(epochs):
        model.train()
        order = rng.permutation(len(idx))
        if tiny:
            order = order[:bs]
        total, count = 0.0, 0
        for b in range(0, len(order), bs):
            x = data[torch.from_numpy(order[b:b + bs])]
            r = np.cos(np.pi / 2 * rng.random(len(x)))            # masked fraction per screen
            m = torch.from_numpy(rng.random(x.shape) < r[:, None, None])
            logits = model(torch.where(m, torch.full_like(x, C), x))
            loss = F.cross_entropy(logits.permute(0, 2, 3, 1)[m], x[m])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * int(m.sum())
            count += int(m.sum())
        sched.step()
        if _epoch_end(ep, epochs, every, f"nll/masked tile {total / max(1, count):.4f}", sched, t0, max_seconds,
                      (lambda: check()) if held is not None and not tiny else dict, log):
            break
    config = _finished(model, cfg_model, game, ep, check if held is not None else None)
    if decoder:
        config["decoder"] = dict(decoder)
    return model, config


def row_major_nll(model, idx: np.ndarray, start: int, batch: int = 16) -> float:
    """Exact NLL per tile of screens ``idx`` (N, h, w) in row-major order under a
    :class:`nets.TileTransformer` — the figure ``benchmarks/levels_design.py --nll-only``
    computes through the served ONNX graphs."""
    ctx, pos = nets.context_inputs(idx, start, model.context)
    target = torch.from_numpy(idx.reshape(len(idx), -1).astype(np.int64))
    total = 0.0
    with torch.no_grad():
        for b in range(0, len(idx), batch):
            lg = model(*(torch.from_numpy(a[b:b + batch]) for a in (ctx, pos)))
            total += float(F.cross_entropy(lg.reshape(-1, lg.shape[-1]), target[b:b + batch].reshape(-1),
                                           reduction="sum"))
    return total / idx.size


#: A row is a floor where a screen may be cut and another screen's rows stacked on it
#: (:func:`splice`): this many of its 32 tiles are solid or ladder.
FLOOR_MIN = 21


def splice(idx: np.ndarray, n: int, rng: np.random.Generator, solid_ladder: tuple[int, ...]) -> np.ndarray:
    """``n`` screens (n, h, w) made of two screens of ``idx`` (N, h, w): the rows above a floor row
    of one (one with ``FLOOR_MIN`` or more solid or ladder tiles, not the top rows or the ground)
    stacked on that floor and the rows below it of another. A Lode Runner screen is built in bands
    between floors, so the rows of the first screen stand on the second's floor; the model sees
    new combinations of real bands, cut only where designers' own bands meet."""
    h = idx.shape[1]
    floor = np.isin(idx, solid_ladder).sum(-1) >= FLOOR_MIN                    # (N, h)
    floor[:, :3] = False
    floor[:, h - 1] = False
    cuts = np.argwhere(floor)                                                  # (screen, row) pairs
    out = np.empty((n, *idx.shape[1:]), idx.dtype)
    for i in range(n):
        b, c = cuts[rng.integers(len(cuts))]
        a = rng.integers(len(idx))
        out[i, :c] = idx[a, :c]
        out[i, c:] = idx[b, c:]
    return out


#: Fixed 2D ALiBi slopes of the transformer's 4 heads (:class:`nets.TileTransformer`): near to far.
ALIBI_SLOPES = (1.0, 0.5, 0.25, 0.0625)


def train_transformer(train_grids, game, epochs, rng, tiny, log, max_seconds=None, held_grids=(), width=None,
                      layers=None, dropout=None, lr=2e-3, alibi=True, splice_share=0.0):
    """Causal tile transformer (Lode Runner), row-major like the tile LSTM, mirrored screens as
    the other families. AdamW; the learning rate warms up over 2 epochs and then follows a cosine
    over ``epochs`` (``max_seconds`` is only a safety stop, logged). Every ``epochs // 15`` epochs
    the row-major NLL per tile of the held-out screens and of as many training screens is logged
    (:func:`row_major_nll`); the final figures go to the config (``nll``).

    ``splice_share``: every epoch, that share (of the mirrored training screens) more screens
    spliced from two at a floor row (:func:`splice`), new each epoch."""
    idx = np.stack([tile_indices(g, game) for g in train_grids]).astype(np.int64)
    idx = np.concatenate([idx, idx[:, :, ::-1]])                  # horizontal mirror: still Lode Runner
    C = len(game.symbols)
    ctx, pos = nets.context_inputs(idx, C)
    target = idx.reshape(len(idx), -1)
    cfg_model = {"tiles": C, "height": game.height, "width": game.width, "context": [list(o) for o in nets.CONTEXT]}
    if tiny:
        cfg_model.update({"d": 16, "layers": 1, "heads": 2, "dropout": 0.0, "slopes": list(ALIBI_SLOPES[:2])})
    else:
        cfg_model.update({"d": width or 64, "layers": layers or 4, "heads": 4,
                          "dropout": 0.2 if dropout is None else dropout,
                          "slopes": list(ALIBI_SLOPES) if alibi else []})
    model = nets.TileTransformer(**cfg_model)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05, betas=(0.9, 0.98))
    bs = 16
    steps_per_epoch = -(-(len(idx) + int(round(splice_share * len(idx)))) // bs)
    warm = 2 * steps_per_epoch
    total_steps = max(1, epochs * steps_per_epoch)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (
        1 + np.cos(np.pi * min(1.0, s / total_steps))))
    held = np.stack([tile_indices(g, game) for g in held_grids]).astype(np.int64) if len(held_grids) else None
    seen = idx[: len(held)] if held is not None else None

    def check():
        model.eval()
        out = {"heldout_nll": round(row_major_nll(model, held, C), 4), "train_nll": round(row_major_nll(model, seen, C), 4)}
        model.train()
        return out

    every = max(1, epochs // 15)
    t0 = time.perf_counter()
    sym = game.symbols
    base = (ctx, pos, target)
    for ep in range(epochs):
        model.train()
        ctx, pos, target = base
        if splice_share:                # this epoch's spliced screens after the real ones
            sp = splice(idx, int(round(splice_share * len(idx))), rng, (sym.index("b"), sym.index("B"), sym.index("#")))
            c2, p2 = nets.context_inputs(sp, C)
            ctx, pos, target = (np.concatenate([a, b]) for a, b in zip(base, (c2, p2, sp.reshape(len(sp), -1))))
        order = rng.permutation(len(target))
        if tiny:
            order = order[:bs]
        total = 0.0
        for b in range(0, len(order), bs):
            sel = order[b:b + bs]
            T = 96 if tiny else target.shape[1]
            logits = model(*(torch.from_numpy(a[sel, :T]) for a in (ctx, pos)))
            loss = F.cross_entropy(logits.reshape(-1, C), torch.from_numpy(target[sel, :T]).reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            total += loss.item() * len(sel)
        if _epoch_end(ep, epochs, every, f"nll/tile {total / len(order):.4f}", sched, t0, max_seconds,
                      (lambda: check()) if held is not None and not tiny else dict, log):
            break
    return model, _finished(model, cfg_model, game, ep, check if held is not None else None)


# ---------------------------------------------------------------------------------------------


def train(game_id: str, family: str, out: Path, epochs: int | None = None, seed: int = 0, tiny: bool = False,
          threads: int = 1, command: str | None = None, log=print, style: bool = False,
          max_seconds: float | None = None, channels: int | None = None, decoder: dict | None = None,
          layers: int | None = None, dropout: float | None = None, alibi: bool = True,
          splice_share: float = 0.0) -> Path:
    if family not in nets.FAMILIES:
        raise SystemExit(f"--family must be one of {', '.join(nets.FAMILIES)}, got {family!r}")
    if game_id not in GAMES:
        raise SystemExit(f"--game must be one of {', '.join(GAMES)}, got {game_id!r}")
    game = GAMES[game_id]
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    if epochs is None:
        epochs = 2 if tiny else DEFAULT_EPOCHS[(game_id, family)]
    t0 = time.perf_counter()
    train_levels, held = load_split(game_id)
    grids = [lv.grid for lv in train_levels]
    if family == "lstm" and game_id == "smb":
        kinds = [SMB_STYLES.index(smb_style(lv.name)) for lv in train_levels] if style else None
        model, config = train_smb_lstm(grids, epochs, rng, tiny, log, kinds)
    elif family == "lstm":
        model, config = train_tile_lstm(grids, game, epochs, rng, tiny, log)
    elif family == "masked":
        if game_id != "loderunner":
            raise SystemExit("--family masked is for --game loderunner")
        model, config = train_masked(grids, game, epochs, rng, tiny, log, max_seconds, [lv.grid for lv in held],
                                     channels, decoder)
    elif family == "transformer":
        if game_id != "loderunner":
            raise SystemExit("--family transformer is for --game loderunner")
        model, config = train_transformer(grids, game, epochs, rng, tiny, log, max_seconds, [lv.grid for lv in held],
                                          channels, layers, dropout, alibi=alibi, splice_share=splice_share)
    else:
        model, config = train_dcgan(grids, game, epochs, rng, tiny, log)
    seconds = time.perf_counter() - t0
    ckpt = {
        "family": family,
        "game": game_id,
        "config": config,
        "state_dict": model.state_dict(),
        "training": {
            "data": [f"vglc/{d}" for d in game.corpus_dirs],
            "train_levels": len(train_levels),
            "held_out": list(HELD_OUT[game_id]),
            "command": command or "python -m gamegen.generators.levels.train " + " ".join(
                shlex.quote(a) for a in [f"--game={game_id}", f"--family={family}", f"--epochs={epochs}", f"--seed={seed}"]
                + (["--tiny"] if tiny else []) + (["--style"] if style else [])),
            "epochs": epochs,
            "seed": seed,
            "seconds": round(seconds, 1),
            "torch": str(torch.__version__),
            "tiny": tiny,
        },
    }
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, out)
    log(f"wrote {out} ({seconds:.1f} s)")
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m gamegen.generators.levels.train", description=__doc__.split("\n")[0])
    p.add_argument("--game", required=True, choices=sorted(GAMES))
    p.add_argument("--family", required=True, choices=nets.FAMILIES)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tiny", action="store_true", help="very small model, a few steps (tests)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--max-seconds", type=float, default=None,
                   help="masked, transformer: safety stop after the epoch that passes it (the schedule is set by --epochs)")
    p.add_argument("--channels", type=int, default=None,
                   help="masked: CNN width (default 64); transformer: model width d (default 64)")
    p.add_argument("--layers", type=int, default=None, help="transformer: blocks (default 4)")
    p.add_argument("--dropout", type=float, default=None, help="transformer: dropout (default 0.2)")
    p.add_argument("--no-alibi", action="store_true",
                   help="transformer: absolute row/column embeddings only, no fixed 2D ALiBi attention bias")
    p.add_argument("--splice", type=float, default=0.0,
                   help="transformer: per epoch, this share (of the training screens) more screens spliced at floor rows from two")
    p.add_argument("--decode-steps", type=int, default=None,
                   help="masked: parallel decoding steps written to the manifest (sampling only, not the weights)")
    p.add_argument("--decode-greedy", type=float, default=None,
                   help="masked: confidence weight of the unmasking order written to the manifest")
    p.add_argument("--decode-temperature", type=float, default=None,
                   help="masked: the model's scale of the request's temperature, written to the manifest")
    p.add_argument("--decode-epsilon", type=float, default=None,
                   help="masked: tiles under this probability are never drawn (manifest)")
    p.add_argument("--style", action="store_true",
                   help="SMB lstm: condition on the corpus levels' kinds (overworld, underground, athletic)")
    a = p.parse_args(argv)
    args = sys.argv[1:] if argv is None else argv
    cmd = "python -m gamegen.generators.levels.train " + " ".join(shlex.quote(x) for x in args)
    if a.style and (a.game, a.family) != ("smb", "lstm"):
        raise SystemExit("--style is for --game smb --family lstm")
    decoder = {k: v for k, v in (("steps", a.decode_steps), ("greedy", a.decode_greedy),
                                 ("temperature", a.decode_temperature), ("epsilon", a.decode_epsilon)) if v is not None}
    if decoder and a.family != "masked":
        raise SystemExit("--decode-* are for --family masked")
    if a.channels and a.family not in ("masked", "transformer"):
        raise SystemExit("--channels is for --family masked or transformer")
    if (a.layers or a.dropout is not None or a.no_alibi or a.splice) and a.family != "transformer":
        raise SystemExit("--layers, --dropout, --no-alibi and --splice are for --family transformer")
    if not 0.0 <= a.splice <= 4.0:
        raise SystemExit(f"--splice must be from 0 to 4, got {a.splice}")
    train(a.game, a.family, a.out, a.epochs, a.seed, a.tiny, a.threads, command=cmd, style=a.style,
          max_seconds=a.max_seconds, channels=a.channels, decoder=decoder or None, layers=a.layers,
          dropout=a.dropout, alibi=not a.no_alibi,
          splice_share=a.splice)


if __name__ == "__main__":
    main()
