"""Do generated levels look designed? Metrics that see what a person sees, and contact sheets.

    python benchmarks/levels_design.py                    # all tables + contact sheets
    python benchmarks/levels_design.py --no-sheets --reps 1
    python benchmarks/levels_design.py --game loderunner --no-c2st   # structure statistics only

Per model (as the server returns its levels: sampled, controlled, repaired), its rules
baseline, and a held-out real split:

* **Classifier two-sample test (C2ST).** A small CNN (torch, one thread) learns to tell real
  windows (SMB: 14×16 tiles, stride 2; Lode Runner: half screens, 22×16 at stride 4, mirrored in
  training — whole screens gave the classifier too few examples to see an empty screen)
  of the *training* levels from windows of the candidate set; its accuracy on windows of levels
  it did not train on is reported (50% = indistinguishable, 100% = always told apart).
  Folds are by level: the candidate set is as many levels as the held-out split has (SMB 5
  levels of ~220 columns, Lode Runner 15 screens), 5-fold, each class balanced by subsampling;
  ``--reps`` repetitions with other seeds (other generated levels), mean ± sd.
* **Structural validator** (``generators/levels/structure.py``, learned from the training
  levels): defects per 100 columns — unseen 3×3 tile windows, pipes taller than the corpus's
  tallest, ungrounded pipes/cannons, cannon stacks, lone floating coins / blocks.
* **Style agreement** (when a model takes ``style``): a style classifier (same CNN on 14×16
  windows, majority vote over a level) trained on the corpus levels' own kinds; how often it
  agrees with the requested style on generated levels vs on held-out real levels.
* Lode Runner structure statistics: bricks, rope / ladder run lengths, empty rows, playable
  with and without digging.

Contact sheets go to ``benchmarks/results/levels_*.png``.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import nn
from torch.nn import functional as F

from gamegen.generators.events import Asset
from gamegen.generators.levels import corpus, playability, structure
from gamegen.generators.levels.games import GAMES, to_grid
from gamegen.server.registry import load_registry

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results"
SMB_W, SMB_STRIDE = 16, 2
LR_W, LR_STRIDE = 16, 4


# ---------------------------------------------------------------------------------------------
# data


def lut(game) -> np.ndarray:
    t = np.zeros(256, dtype=np.int64)
    for i, s in enumerate(game.symbols):
        t[ord(s)] = i
    return t


def windows(game, grid: np.ndarray) -> np.ndarray:
    """(n, h, w) tile-index windows of one level (SMB) or the screen itself (Lode Runner)."""
    idx = lut(game)[grid]
    if game.width is not None:                     # Lode Runner: half screens (22×16), stride 4
        v = np.lib.stride_tricks.sliding_window_view(idx, (game.height, LR_W))[0, ::LR_STRIDE]
        return np.ascontiguousarray(v)
    if idx.shape[1] < SMB_W:
        return np.zeros((0, game.height, SMB_W), dtype=np.int64)
    v = np.lib.stride_tricks.sliding_window_view(idx, (game.height, SMB_W))[0, ::SMB_STRIDE]
    return np.ascontiguousarray(v)


def generate(gen, game, seeds, extra: dict | None = None) -> list[np.ndarray]:
    out = []
    for s in seeds:
        p = dict(extra or {})
        if game.width is None:
            p.setdefault("width", 220)
        events = list(gen.generate(int(s), p, ["txt"], partials=False))
        out.append(to_grid(next(e for e in events if isinstance(e, Asset)).data.decode().splitlines()))
    return out


# ---------------------------------------------------------------------------------------------
# the classifier


class WindowCNN(nn.Module):
    def __init__(self, tiles: int, h: int, w: int, classes: int = 1):
        super().__init__()
        self.tiles = tiles
        self.conv = nn.Sequential(
            nn.Conv2d(tiles, 32, 3, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(64, 64, 3, stride=2, padding=1), nn.ReLU(),
        )
        with torch.no_grad():
            n = self.conv(torch.zeros(1, tiles, h, w)).numel()
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(n, classes))

    def forward(self, x):
        x = F.one_hot(x, self.tiles).permute(0, 3, 1, 2).float()
        return self.head(self.conv(x).flatten(1))


def fit(x: np.ndarray, y: np.ndarray, tiles: int, classes: int, seed: int, epochs: int = 12,
        mirror: bool = False) -> WindowCNN:
    torch.manual_seed(seed)
    if mirror:
        x = np.concatenate([x, x[:, :, ::-1]])
        y = np.concatenate([y, y])
    x = torch.from_numpy(np.ascontiguousarray(x))
    y = torch.from_numpy(y)
    m = WindowCNN(tiles, x.shape[1], x.shape[2], 1 if classes == 2 else classes)
    opt = torch.optim.Adam(m.parameters(), lr=2e-3, weight_decay=1e-4)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        m.train()
        for b in torch.randperm(len(x), generator=g).split(64):
            out = m(x[b])
            if classes == 2:
                loss = F.binary_cross_entropy_with_logits(out[:, 0], y[b].float())
            else:
                loss = F.cross_entropy(out, y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
    m.eval()
    return m


def predict(m: WindowCNN, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        out = m(torch.from_numpy(np.ascontiguousarray(x)))
    return (out[:, 0] > 0).long().numpy() if out.shape[1] == 1 else out.argmax(1).numpy()


def _balanced(a: np.ndarray, b: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    n = min(len(a), len(b))
    return a[rng.choice(len(a), n, replace=False)], b[rng.choice(len(b), n, replace=False)]


def c2st(game, real: list[np.ndarray], cand: list[np.ndarray], seed: int, folds: int = 5) -> float:
    """Held-out accuracy of telling ``real`` (training levels) from ``cand`` levels, by level folds."""
    rng = np.random.default_rng(seed)
    correct = total = 0
    pr = rng.permutation(len(real))
    for f in range(folds):
        q_te = [cand[i] for i in range(len(cand)) if i % folds == f]
        q_tr = [cand[i] for i in range(len(cand)) if i % folds != f]
        p_te = [real[i] for k, i in enumerate(pr) if k % folds == f]
        p_tr = [real[i] for k, i in enumerate(pr) if k % folds != f]
        P_tr, Q_tr = (np.concatenate([windows(game, g) for g in s]) for s in (p_tr, q_tr))
        P_te, Q_te = (np.concatenate([windows(game, g) for g in s]) for s in (p_te, q_te))
        P_tr, Q_tr = _balanced(P_tr, Q_tr, rng)
        P_te, Q_te = _balanced(P_te, Q_te, rng)
        x = np.concatenate([P_tr, Q_tr])
        y = np.concatenate([np.zeros(len(P_tr), np.int64), np.ones(len(Q_tr), np.int64)])
        m = fit(x, y, len(game.symbols), 2, seed * 100 + f, mirror=game.width is not None)
        xt = np.concatenate([P_te, Q_te])
        yt = np.concatenate([np.zeros(len(P_te), np.int64), np.ones(len(Q_te), np.int64)])
        correct += int((predict(m, xt) == yt).sum())
        total += len(yt)
    return correct / total


# ---------------------------------------------------------------------------------------------
# style


def style_classifier(train_levels, seed: int = 0):
    game = GAMES["smb"]
    names = corpus.SMB_STYLES
    x = np.concatenate([windows(game, lv.grid) for lv in train_levels])
    y = np.concatenate([np.full(len(windows(game, lv.grid)), names.index(corpus.smb_style(lv.name)), np.int64)
                        for lv in train_levels])
    # balance the kinds (overworld dominates) by repeating the rarer ones
    counts = np.bincount(y, minlength=len(names))
    reps = [np.flatnonzero(y == k) for k in range(len(names)) if counts[k]]
    idx = np.concatenate([np.resize(r, counts.max()) for r in reps])
    return fit(x[idx], y[idx], len(game.symbols), len(names), seed, epochs=8)


def style_votes(m, grid: np.ndarray) -> np.ndarray:
    return np.bincount(predict(m, windows(GAMES["smb"], grid)), minlength=len(corpus.SMB_STYLES))


def style_of(m, grid: np.ndarray) -> tuple[str, float]:
    """(majority kind over the level's windows, share of windows that agree with it)."""
    v = style_votes(m, grid)
    return corpus.SMB_STYLES[int(v.argmax())], float(v.max() / max(1, v.sum()))


def style_table(reg, refs, n_per_style: int) -> None:
    """Style agreement: real levels by 4-fold CV (stratified by kind), generated by a classifier
    trained on all training levels."""
    levels = corpus.load_levels("smb")
    train, _ = corpus.split(levels, "smb")
    names = corpus.SMB_STYLES
    print(f"\n### SMB style: a style classifier (CNN on 14×16 windows, majority vote per level) "
          f"agrees with the level's kind\n")
    print("| levels | " + " | ".join(names) + " | all | windows agreeing with the level's majority |")
    print("|---|" + "---|" * (len(names) + 2))
    # real: 4 folds, each kind spread over the folds
    fold = {}
    for k in names:
        ls = [lv for lv in levels if corpus.smb_style(lv.name) == k]
        for i, lv in enumerate(ls):
            fold[lv.name] = i % 4
    hits = {k: [] for k in names}
    share = []
    for f in range(4):
        m = style_classifier([lv for lv in levels if fold[lv.name] != f], seed=f)
        for lv in levels:
            if fold[lv.name] == f:
                got, sh = style_of(m, lv.grid)
                hits[corpus.smb_style(lv.name)].append(got == corpus.smb_style(lv.name))
                share.append(sh)
    allh = sum(hits.values(), [])
    print(f"| real (4-fold CV, {len(levels)} levels) | " + " | ".join(
        f"{np.mean(hits[k]):.0%} ({len(hits[k])})" for k in names) + f" | {np.mean(allh):.0%} | {np.mean(share):.0%} |")
    m = style_classifier(train, seed=0)
    game = GAMES["smb"]
    for ref in refs:
        gen = reg.resolve(ref)
        pnames = [p.name for p in gen.info.params]
        hits = {k: [] for k in names}
        share = []
        mix = np.zeros(len(names))
        for k in names:
            if "style" not in pnames and k != names[0]:
                continue
            extra = {"width": 200, **({"style": k} if "style" in pnames else {})}
            for g in generate(gen, game, range(n_per_style), extra):
                got, sh = style_of(m, g)
                hits[k].append(got == k)
                share.append(sh)
                mix[names.index(got)] += 1
        cells = [f"{np.mean(hits[k]):.0%} ({len(hits[k])})" if hits[k] else "—" for k in names]
        allh = sum(hits.values(), [])
        note = "" if "style" in pnames else f" (no style control; its levels classified as {', '.join(f'{n} {int(c)}' for n, c in zip(names, mix))})"
        print(f"| {ref}{note} | " + " | ".join(cells) + f" | {np.mean(allh):.0%} | {np.mean(share):.0%} |", flush=True)


# ---------------------------------------------------------------------------------------------
# Lode Runner structure


def runs(mask_: np.ndarray, axis: int) -> list[int]:
    out = []
    m = mask_ if axis == 1 else mask_.T
    for row in m:
        n = 0
        for v in list(row) + [False]:
            if v:
                n += 1
            elif n:
                out.append(n)
                n = 0
    return out


def lr_stats(grids: list[np.ndarray], ref: structure.CorpusStats | None = None) -> dict[str, float]:
    """Structure statistics per screen; with ``ref`` (:func:`structure.learn` of the reference
    screens) also the 3×3 tile windows the reference never has, per screen."""
    bricks, ropes, ladders, rope_n, empty_rows, dig, unseen = [], [], [], [], [], [], []
    for g in grids:
        if ref is not None:
            unseen.append(structure.defects(g, ref)["unseen_3x3"])
        bricks.append(int(np.isin(g, [ord("b"), ord("B")]).sum()))
        r = runs(g == ord("-"), 1)
        ropes += r
        rope_n.append(len(r))
        ladders += runs(g == ord("#"), 0)
        empty_rows.append(int((g == ord(".")).all(axis=1).sum()))
        dig.append(playability.check("loderunner", g, dig=True).playable)
    return {"bricks": np.mean(bricks), "rope runs": np.mean(rope_n), "rope len": np.mean(ropes) if ropes else 0.0,
            "ladder len": np.mean(ladders) if ladders else 0.0, "empty rows": np.mean(empty_rows),
            "playable (dig)": np.mean(dig), "unseen 3x3": np.mean(unseen) if unseen else float("nan")}


def lr_variety(grids: list[np.ndarray], ref: list[np.ndarray]) -> tuple[float, float]:
    """How alike a set of screens is, and how near each lies to the reference screens, on their
    architecture (bricks, blocks, ladders, ropes; not the floor row, gold, guards or the spawn):
    the share of tiles that differ between two screens of the set (mean over pairs), and the
    share that differ from the nearest reference screen or its mirror image (median over the
    set). The rules' "all alike" screens score low on the first; copies of corpus screens would
    score near 0 on the second."""
    lut_ = np.zeros(256, np.int8)
    for v, ch in enumerate(b"bB#-", 1):
        lut_[ch] = v

    def arch(g):
        return lut_[np.asarray(g)][:-1]

    x = np.array([arch(g).ravel() for g in grids])
    r = np.array([arch(g).ravel() for g in ref])
    rm = np.array([arch(g)[:, ::-1].ravel() for g in ref])
    iu = np.triu_indices(len(x), 1)
    pairwise = float((x[:, None, :] != x[None, :, :]).mean(-1)[iu].mean())
    nearest = np.minimum((x[:, None, :] != r[None]).mean(-1), (x[:, None, :] != rm[None]).mean(-1)).min(1)
    return pairwise, float(np.median(nearest))


# ---------------------------------------------------------------------------------------------
# contact sheets


def render(game, grid: np.ndarray, scale: int = 6) -> Image.Image:
    rgb = np.zeros((256, 3), dtype=np.uint8)
    for s in game.symbols:
        rgb[ord(s)] = game.color(s)
    img = rgb[grid]
    img = np.repeat(np.repeat(img, scale, axis=0), scale, axis=1)
    img[::scale, :] = (img[::scale, :] * 0.85).astype(np.uint8)
    img[:, ::scale] = (img[:, ::scale] * 0.85).astype(np.uint8)
    return Image.fromarray(img, "RGB")


def sheet(game, rows: list[tuple[str, np.ndarray]], path: Path, scale: int) -> None:
    imgs = [(label, render(game, g, scale)) for label, g in rows]
    W = max(i.width for _, i in imgs)
    H = sum(i.height + 14 for _, i in imgs)
    out = Image.new("RGB", (W, H), (255, 255, 255))
    d = ImageDraw.Draw(out)
    y = 0
    for label, im in imgs:
        d.text((2, y + 1), label, fill=(0, 0, 0))
        out.paste(im, (0, y + 13))
        y += im.height + 14
    out.save(path, optimize=True)


def grid_sheet(game, cols: list[tuple[str, list[np.ndarray]]], path: Path, scale: int) -> None:
    """Lode Runner: one column per source, screens stacked."""
    imgs = [(label, [render(game, g, scale) for g in gs]) for label, gs in cols]
    cw = imgs[0][1][0].width + 8
    ch = imgs[0][1][0].height + 8
    n = max(len(v) for _, v in imgs)
    out = Image.new("RGB", (cw * len(imgs), 14 + ch * n), (255, 255, 255))
    d = ImageDraw.Draw(out)
    for i, (label, ims) in enumerate(imgs):
        d.text((i * cw + 2, 1), label, fill=(0, 0, 0))
        for j, im in enumerate(ims):
            out.paste(im, (i * cw, 14 + j * ch))
    out.save(path, optimize=True)


# ---------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--game", choices=("smb", "loderunner", "all"), default="all")
    ap.add_argument("--no-sheets", action="store_true")
    ap.add_argument("--sheets-only", action="store_true", help="only the contact sheets (no tables)")
    ap.add_argument("--sheet", default="levels_lr_sheet.png",
                    help="Lode Runner --sheets-only: file name in benchmarks/results")
    ap.add_argument("--sheet-seeds", type=int, nargs=2, default=(0, 6), metavar=("FIRST", "COUNT"),
                    help="Lode Runner --sheets-only: the seeds drawn (rows; real: that many held-out screens)")
    ap.add_argument("--models", nargs="*", default=None)
    ap.add_argument("--nll-only", action="store_true", help="Lode Runner: only the held-out likelihoods")
    ap.add_argument("--no-c2st", action="store_true",
                    help="Lode Runner: structure statistics only, no classifier (to choose models and decoders by)")
    ap.add_argument("--models-dir", type=Path, default=None, help="model repository (default: the shipped models/)")
    ap.add_argument("--style-levels", type=int, default=6, help="generated levels per style (style table)")
    ap.add_argument("--screen-ranges", type=int, metavar="N", default=0,
                    help="Lode Runner only: per-screen structure ranges of the 150 corpus screens, and the share of "
                         "N generated screens per learned model outside them (would a range gate catch the screens "
                         "that look broken?)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    reg = load_registry(a.models_dir, device="cpu")
    t_all = time.perf_counter()
    if a.screen_ranges:
        screen_ranges(reg, a.screen_ranges, a.models)
        return
    if a.game in ("smb", "all"):
        smb(reg, a)
    if a.game in ("loderunner", "all"):
        loderunner(reg, a)
    print(f"\n({time.perf_counter() - t_all:.0f} s)")


def screen_features(g: np.ndarray) -> dict[str, float]:
    """Per-screen figures of the failure looks a designer named (near-empty screens, walls of
    ladders, brick masses): empty rows, empty rows from the top, ladder share, empty share, the
    largest 4-connected brick mass, and bricks whose four neighbours are bricks (slab interiors)."""
    from scipy import ndimage

    brick = np.isin(g, [ord("b"), ord("B")])
    lab, n = ndimage.label(brick)
    empty_row = (g == ord(".")).all(axis=1)
    inner = brick[1:-1, 1:-1] & brick[:-2, 1:-1] & brick[2:, 1:-1] & brick[1:-1, :-2] & brick[1:-1, 2:]
    return {"empty rows": int(empty_row.sum()), "empty rows from the top": int(np.argmin(empty_row)) if not
            empty_row.all() else len(empty_row), "ladder share": float((g == ord("#")).mean()),
            "empty share": float((g == ord(".")).mean()),
            "largest brick mass": int(np.bincount(lab.ravel())[1:].max()) if n else 0, "slab interior": int(inner.sum())}


def screen_ranges(reg, n: int, refs) -> None:
    real = [screen_features(lv.grid) for lv in corpus.load_levels("loderunner")]
    keys = list(real[0])
    rv = {k: np.array([r[k] for r in real]) for k in keys}
    print(f"| figure | corpus ({len(real)} screens): mean / p95 / max | " + " | ".join(
        f"{ref}: mean, share > corpus p95, share > corpus max ({n} screens)" for ref in refs or LR_LEARNED) + " |")
    print("|---|---|" + "---|" * len(refs or LR_LEARNED))
    got = {ref: [screen_features(x) for x in generate(reg.resolve(ref), GAMES["loderunner"], range(n))]
           for ref in refs or LR_LEARNED}
    for k in keys:
        cells = []
        for ref in refs or LR_LEARNED:
            v = np.array([f[k] for f in got[ref]])
            cells.append(f"{v.mean():.2f}, {np.mean(v > np.percentile(rv[k], 95)):.2f}, {np.mean(v > rv[k].max()):.2f}")
        print(f"| {k} | {rv[k].mean():.2f} / {np.percentile(rv[k], 95):.2f} / {rv[k].max():.2f} | " + " | ".join(cells) + " |")


LR_LEARNED = ("levels/loderunner@1.0.0", "levels/loderunner-transformer")   # the tile LSTM, the transformer (levels/loderunner 2.0.0 is the latter)


def smb(reg, a):
    game = GAMES["smb"]
    train, held = corpus.load_split("smb")
    tr = [lv.grid for lv in train]
    ho = [lv.grid for lv in held]
    stats = structure.learn(tr)
    refs = [r for r in (a.models or []) if "smb" in r] or ["levels/smb", "levels/smb@1.0.0", "levels/smb-rules"]
    n = len(ho)
    if a.sheets_only:
        smb_sheets(reg, refs, train, held, {ref: generate(reg.resolve(ref), game, range(3)) for ref in refs})
        return
    print(f"\n### SMB: does it look real? ({n} levels of 220 columns per candidate set, 5-fold by level, "
          f"{a.reps} reps; structure per 100 columns; default parameters)\n")
    print("| levels | C2ST accuracy (50% = indistinguishable) | " + " | ".join(structure.DEFECTS) + " |")
    print("|---|---|" + "---|" * len(structure.DEFECTS))

    def row(label, accs, grids):
        r = structure.defect_rates(grids, stats)
        print(f"| {label} | {100 * np.mean(accs):.1f}% ± {100 * np.std(accs):.1f} | "
              + " | ".join(f"{r[k]:.2f}" for k in structure.DEFECTS) + " |", flush=True)

    row("held-out real (5 levels)", [c2st(game, tr, ho, seed=rep) for rep in range(a.reps)], ho)
    samples = {}
    for ref in refs:
        gen, extra = resolve_with_params(reg, ref)
        accs, allg = [], []
        for rep in range(a.reps):
            gs = generate(gen, game, range(rep * n, rep * n + n), extra)
            allg += gs
            accs.append(c2st(game, tr, gs, seed=rep))
        samples[ref] = allg
        row(f"{ref} ({gen.info.version})", accs, allg)

    dense = {"width": 1000, "gaps": 0.8, "enemies": 0.8}
    gen = reg.resolve(refs[0])
    big = generate(gen, game, range(3), dense)
    row(f"{refs[0]} width=1000 gaps=0.8 enemies=0.8 (3 levels, no C2ST)", [float("nan")], big)

    style_table(reg, refs, a.style_levels)

    if not a.no_sheets:
        smb_sheets(reg, refs, train, held, samples)


def smb_sheets(reg, refs, train, held, samples):
    game = GAMES["smb"]
    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(3):
        rows.append((f"real (held-out) {held[i].name}", held[i].grid))
        for ref in refs:
            rows.append((f"{ref} - seed {i}", samples[ref][i]))
    sheet(game, rows, OUT / "levels_smb_sheet.png", 5)
    gen = reg.resolve(refs[0])
    if "style" in [p.name for p in gen.info.params]:
        rows = []
        for k in corpus.SMB_STYLES:
            real = [lv for lv in train if corpus.smb_style(lv.name) == k][:2]
            for lv in real:
                rows.append((f"real {k}: {lv.name}", lv.grid[:, :200]))
            for i, g in enumerate(generate(gen, game, range(3), {"width": 200, "style": k})):
                rows.append((f"{refs[0]} - style={k} - seed {i}", g))
        sheet(game, rows, OUT / "levels_smb_styles.png", 5)
    print("\nwrote benchmarks/results/levels_smb_sheet.png, levels_smb_styles.png")


def _log_softmax(lg: np.ndarray) -> np.ndarray:
    lg = lg - lg.max(axis=1, keepdims=True)
    return lg - np.log(np.exp(lg).sum(axis=1, keepdims=True))


def row_major_nll(gen, idx: np.ndarray) -> float:
    """Held-out NLL per tile of screens ``idx`` (n, h, w) in row-major order — an exact likelihood
    for every family: the tile LSTM's and the tile transformer's own factorisation (the
    transformer through its KV-cache step), and a masked model asked for each tile with every
    earlier tile given and every later one masked (one ONNX call per tile, batch n)."""
    sess = gen.sampler.session
    n, h, w = idx.shape
    rows = np.arange(n)
    total = 0.0
    if gen.info.family == "masked":
        tok = np.full_like(idx, gen.sampler.mask)
        for p in range(h * w):
            y, x = divmod(p, w)
            lg = sess.run(None, {"tokens": tok})[0][:, :, y, x]
            total -= float(_log_softmax(lg)[rows, idx[:, y, x]].sum())
            tok[:, y, x] = idx[:, y, x]
        return total / idx.size
    return gen.sampler.nll(idx.astype(np.int64))   # the tile LSTM and transformer: their own row-major steps


def masked_nll_lines(reg, refs, held) -> None:
    """Held-out likelihoods (15 held-out screens): masked-token models per masked tile on the
    training script's fixed masks (``train.masked_nll``), and every learned model per tile in
    row-major order (:func:`row_major_nll`), through the served ONNX sessions."""
    from gamegen.generators.levels.train import masked_nll, tile_indices

    game = GAMES["loderunner"]
    idx = np.stack([tile_indices(lv.grid, game) for lv in held]).astype(np.int64)
    print("\n| model | held-out NLL per masked tile (fixed masks) | held-out NLL per tile, row-major order |")
    print("|---|---|---|")
    for ref in refs:
        if "+" in ref:                      # the same model at other request settings
            continue
        gen = reg.resolve(ref)
        if gen.info.family not in ("masked", "lstm", "transformer"):
            continue
        m = ""
        if gen.info.family == "masked":
            sess = gen.sampler.session
            m = f"{masked_nll(lambda t: sess.run(None, {'tokens': t})[0], idx, len(game.symbols)):.4f}"
        print(f"| {ref} ({gen.info.version}) | {m} | {row_major_nll(gen, idx):.4f} |", flush=True)


def resolve_with_params(reg, ref: str):
    """``levels/loderunner+candidates=1,symmetry=0``: the generator and the request parameters
    after ``+`` (numbers), so one table can hold a model at several settings."""
    name, _, query = ref.partition("+")
    extra = {k: float(v) if "." in v else int(v) for k, v in (kv.split("=") for kv in query.split(",") if kv)}
    return reg.resolve(name), extra


def sheet_label(reg, ref: str) -> str:
    """A short column label: the model without the game, its number of candidates and, when the
    ref sets them, its symmetry and any other request setting (``temperature 0.85``)."""
    gen, extra = resolve_with_params(reg, ref)
    base = ref.split("/")[1].partition("+")[0]
    name = gen.info.family + (f"@{base.partition('@')[2]}" if "@" in base else "")
    k = extra.get("candidates", {p.name: p.default for p in gen.info.params}.get("candidates"))
    label = name if k is None else f"{name}, {'1 draw' if k == 1 else f'best of {k}'}"
    label = label if "symmetry" not in extra else f"{label}, sym {extra['symmetry']:g}"
    others = [f"{key} {v:g}" for key, v in extra.items() if key not in ("candidates", "symmetry")]
    return ", ".join([label, *others])


def loderunner(reg, a):
    game = GAMES["loderunner"]
    train, held = corpus.load_split("loderunner")
    # the reference is 105 training screens; the real candidate set is the 15 held-out screens
    # plus the other 30 training screens (45, as many as each generated set)
    order = np.random.default_rng(0).permutation(len(train))
    tr = [train[i].grid for i in order[30:]]
    ho = [lv.grid for lv in held] + [train[i].grid for i in order[:30]]
    refs = [r for r in (a.models or []) if "loderunner" in r] or [
        "levels/loderunner@1.0.0", "levels/loderunner-transformer", "levels/loderunner-masked",
        "levels/loderunner-masked@1.0.0", "levels/loderunner-rules"]
    n = len(ho)
    if a.nll_only:
        masked_nll_lines(reg, refs, held)
        return
    if a.sheets_only:
        first, count = a.sheet_seeds
        cols = [("real (held-out)", ho[:count])]
        for ref in refs:
            gen, extra = resolve_with_params(reg, ref)
            cols.append((sheet_label(reg, ref), generate(gen, game, range(first, first + count), extra)))
        grid_sheet(game, cols, OUT / a.sheet, 4)
        print(f"wrote benchmarks/results/{a.sheet}")
        return
    print(f"\n### Lode Runner ({n} screens per candidate set, reference: 105 training screens, 5-fold by screen, {a.reps} reps)\n")
    print("| screens | C2ST accuracy | bricks | rope runs | rope run length | ladder run length | empty rows "
          "| playable with digging | unseen 3×3 windows per screen | tiles differing between two screens "
          "| tiles differing from the nearest reference screen |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    ref_windows = structure.learn(tr)

    def c2st_or_skip(grids, rep):
        return float("nan") if a.no_c2st else c2st(game, tr, grids, seed=rep)

    def row(label, accs, grids):
        s = lr_stats(grids, ref_windows)
        pairwise, nearest = lr_variety(grids, tr)
        print(f"| {label} | {100 * np.mean(accs):.1f}% ± {100 * np.std(accs):.1f} | {s['bricks']:.0f} | "
              f"{s['rope runs']:.1f} | {s['rope len']:.1f} | {s['ladder len']:.1f} | {s['empty rows']:.1f} | "
              f"{s['playable (dig)']:.0%} | {s['unseen 3x3']:.0f} | {pairwise:.2f} | {nearest:.2f} |", flush=True)

    row("held-out real (15) + 30 other training screens", [c2st_or_skip(ho, rep) for rep in range(a.reps)], ho)
    samples = {}
    for ref in refs:
        gen, extra = resolve_with_params(reg, ref)
        accs, allg = [], []
        for rep in range(a.reps):
            gs = generate(gen, game, range(rep * n, rep * n + n), extra)
            allg += gs
            accs.append(c2st_or_skip(gs, rep))
        samples[ref] = allg
        row(f"{ref} ({gen.info.version})", accs, allg)
    if a.no_c2st:
        return
    masked_nll_lines(reg, refs, held)
    if not a.no_sheets:
        cols = [("real (held-out)", ho[:6])] + [(sheet_label(reg, ref), samples[ref][:6]) for ref in refs]
        grid_sheet(game, cols, OUT / "levels_lr_sheet.png", 4)
        print("\nwrote benchmarks/results/levels_lr_sheet.png")


if __name__ == "__main__":
    main()
