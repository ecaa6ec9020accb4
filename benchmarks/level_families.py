"""Compare level model families per game against held-out VGLC levels.

    python benchmarks/level_families.py                       # 50 samples per family, writes the table
    python benchmarks/level_families.py --samples 20 --no-write

For each game it evaluates every checkpoint ``runs/<game>-<family>.pt`` (exported to a temporary
model folder with the same exporter as the shipped models), the shipped model
``models/<game>/1.0.0``, the classical rules baseline (``generators/levels/classic.py``) when it
exists, and — as a floor — the training levels themselves:

* pattern KL(held-out || generated) over 2×2 and 3×3 tile windows (lower is better),
* diversity: mean pairwise normalised Hamming distance (SMB samples are 200 columns),
* raw playability before repair (``generators/levels/playability.py`` ``check``) when it exists,
* ms per level (CPU, one intra-op thread, controls at their neutral values).

It also measures one forward pass of each shipped model in ONNX Runtime vs PyTorch eager
(batch 1, one thread, same weights from the checkpoint) and the whole-level sampling time.
Needs the training extras (torch, onnxscript) and the corpus at ``../shared/data/vglc``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SMB_WIDTH = 200
NEUTRAL = {"enemies": 0.4, "gaps": 0.4, "temperature": 1.0}   # 0.4 = corpus rate (controls.py)


def session_factory(path: Path):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def optional(module: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def sample_many(sampler, game, n: int, seed: int) -> tuple[list[np.ndarray], float]:
    width = SMB_WIDTH if game.width is None else game.width
    out, t0 = [], time.perf_counter()
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        out.append(np.concatenate(list(sampler.sample(rng, width, dict(NEUTRAL), 16)), axis=1))
    return out, (time.perf_counter() - t0) * 1000 / n


def playable_fraction(play, game_id: str, grids: list[np.ndarray]) -> float | None:
    if play is None or not hasattr(play, "check"):
        return None
    ok = 0
    for g in grids:
        r = play.check(game_id, g)
        for attr in ("ok", "playable", "passed", "solvable"):
            if hasattr(r, attr):
                r = getattr(r, attr)
                break
        if isinstance(r, tuple):
            r = r[0]
        ok += bool(r)
    return ok / len(grids)


def crops(levels, width: int, n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    wide = [lv.grid for lv in levels if lv.grid.shape[1] >= width]
    out = []
    for _ in range(n):
        g = wide[int(rng.integers(len(wide)))]
        x = int(rng.integers(g.shape[1] - width + 1))
        out.append(g[:, x:x + width])
    return out


def forward_ratio(ckpt_path: Path, model_dir: Path, reps: int = 2000) -> dict:
    """ONNX Runtime vs PyTorch eager, one forward at batch 1 (same inputs, one thread each)."""
    import torch

    from gamegen.exporters.manifest import load_manifest
    from gamegen.generators.levels import export, nets

    torch.set_num_threads(1)
    with torch.serialization.safe_globals([torch.torch_version.TorchVersion]):
        ck = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    model = nets.build(ck["family"], ck["game"], ck["config"])
    model.load_state_dict(ck["state_dict"])
    spec = export.export_spec(ck["family"], ck["game"], model, ck["config"])
    inputs = spec.make_inputs(torch.Generator().manual_seed(0), {"batch": 1})
    feeds = {n: t.numpy() for n, t in zip(spec.input_names, inputs)}
    manifest = load_manifest(model_dir)
    sess = session_factory(model_dir / manifest["file"])
    for _ in range(50):
        sess.run(None, feeds)
    t0 = time.perf_counter()
    for _ in range(reps):
        sess.run(None, feeds)
    ort_us = (time.perf_counter() - t0) * 1e6 / reps
    with torch.inference_mode():
        for _ in range(50):
            spec.module(*inputs)
        t0 = time.perf_counter()
        for _ in range(reps):
            spec.module(*inputs)
    eager_us = (time.perf_counter() - t0) * 1e6 / reps
    return {"ort_us": ort_us, "eager_us": eager_us, "speedup": eager_us / ort_us}


def control_effect(sampler, game, n: int, seed: int) -> list[str]:
    """Mean enemies (and SMB pit starts) per level at control values 0, 0.4, 1 (others neutral)."""
    width = SMB_WIDTH if game.width is None else game.width
    out = []
    for key in ("enemies", "gaps") if game.width is None else ("enemies",):
        vals = []
        for v in (0.0, 0.4, 1.0):
            ctl = dict(NEUTRAL, **{key: v})
            tot = 0.0
            for i in range(n):
                g = np.concatenate(list(sampler.sample(np.random.default_rng([seed, i]), width, ctl, 16)), axis=1)
                if key == "enemies":
                    tot += float((g == ord("E")).sum())
                else:
                    solid = np.isin(g[-1], np.frombuffer(game.with_tag("solid").encode(), np.uint8))
                    tot += float((~solid[1:] & solid[:-1]).sum())
            vals.append(tot / n)
        what = "enemies per level" if key == "enemies" else "pit starts per level"
        out.append(f"| {game.id} | {key} | {what} | {vals[0]:.1f} | {vals[1]:.1f} | {vals[2]:.1f} |")
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=50)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--runs", type=Path, default=ROOT / "runs")
    ap.add_argument("--models", type=Path, default=ROOT / "models")
    ap.add_argument("--games", nargs="*", default=["smb", "loderunner"])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "level_families.md")
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args(argv)

    import onnxruntime as ort

    ort.set_default_logger_severity(3)
    from gamegen.exporters.manifest import load_manifest
    from gamegen.exporters.onnx_export import export_checkpoint
    from gamegen.generators.levels.corpus import load_split
    from gamegen.generators.levels.games import GAMES
    from gamegen.generators.levels.metrics import diversity, pattern_kl
    from gamegen.generators.levels.samplers import load_sampler

    classic = optional("gamegen.generators.levels.classic")
    play = optional("gamegen.generators.levels.playability")
    tmp = Path(tempfile.mkdtemp(prefix="level-families-"))
    lines = ["| game | model | 2×2 KL ↓ | 3×3 KL ↓ | diversity | raw playable | ms/level |", "|---|---|---|---|---|---|---|"]
    ctl_rows = ["| game | control | measured | at 0 | at 0.4 (neutral) | at 1 |", "|---|---|---|---|---|---|"]
    speed = ["| game | shipped family | ORT forward µs | eager forward µs | eager/ORT | level sample ms (ORT) |", "|---|---|---|---|---|---|"]

    for game_id in a.games:
        game = GAMES[game_id]
        train_lv, held = load_split(game_id)
        ref = [lv.grid for lv in held]
        shipped_dir = a.models / game_id / "1.0.0"
        shipped = load_manifest(shipped_dir) if (shipped_dir / "manifest.json").exists() else None
        rows: list[tuple[str, list[np.ndarray], float | None]] = []
        floor = crops(train_lv, SMB_WIDTH, a.samples, a.seed) if game.width is None else [lv.grid for lv in train_lv][: a.samples]
        rows.append(("training levels (floor)", floor, None))
        for family in ("lstm", "dcgan"):
            ck = a.runs / f"{game_id}-{family}.pt"
            if not ck.exists():
                print(f"skip {ck}: not trained", file=sys.stderr)
                continue
            d = export_checkpoint(ck, tmp / f"{game_id}-{family}", version="eval")
            s = load_sampler(d, load_manifest(d), session_factory)
            grids, ms = sample_many(s, game, a.samples, a.seed)
            tag = " (shipped)" if shipped and shipped["family"] == family else ""
            rows.append((f"{family}{tag}", grids, ms))
        if classic is not None:
            try:
                cs = classic.RulesSampler(game)
                grids, ms = sample_many(cs, game, a.samples, a.seed)
                rows.append(("classic rules", grids, ms))
            except Exception as e:  # a baseline that does not fit is reported, not fatal
                print(f"classic baseline for {game_id} not evaluated: {e!r}", file=sys.stderr)
        for name, grids, ms in rows:
            k2, k3 = pattern_kl(grids, ref, 2), pattern_kl(grids, ref, 3)
            div = diversity(grids)
            pf = playable_fraction(play, game_id, grids)
            lines.append(f"| {game_id} | {name} | {k2:.3f} | {k3:.3f} | {div:.3f} | "
                         f"{'n/a' if pf is None else f'{100 * pf:.0f}%'} | {'' if ms is None else f'{ms:.1f}'} |")
            print(lines[-1], flush=True)
        if shipped:
            ck = a.runs / f"{game_id}-{shipped['family']}.pt"
            if ck.exists():
                r = forward_ratio(ck, shipped_dir)
                s = load_sampler(shipped_dir, shipped, session_factory)
                _, ms = sample_many(s, game, 10, a.seed)
                speed.append(f"| {game_id} | {shipped['family']} | {r['ort_us']:.1f} | {r['eager_us']:.1f} | "
                             f"{r['speedup']:.1f}× | {ms:.1f} |")
                print(speed[-1], flush=True)
                new = control_effect(s, game, 20, a.seed)
                ctl_rows += new
                print("\n".join(new), flush=True)

    text = "\n".join([
        "# Level model families",
        "",
        f"`python benchmarks/level_families.py --samples {a.samples} --seed {a.seed}` "
        f"(CPU, 1 thread; {a.samples} samples per row; SMB samples {SMB_WIDTH} columns; "
        "reference = held-out levels listed in `generators/levels/corpus.py`; controls neutral: "
        "enemies = gaps = 0.4, temperature 1).",
        "",
        "Checkpoints: `python -m gamegen.generators.levels.train --game GAME --family FAMILY --out runs/GAME-FAMILY.pt` "
        "(default epochs and seed 0; single-threaded, bit-for-bit reproducible); each is exported with "
        "`gamegen.exporters.onnx_export.export_checkpoint` and sampled through ONNX Runtime. "
        "Classic rules = `generators/levels/classic.py` `RulesSampler`.",
        "",
        "KL = KL(held-out || generated) over n×n tile windows, eps 1e-6 (lower is better). Diversity = mean "
        "pairwise fraction of differing tiles. Raw playable = `playability.check` before any repair.",
        "",
        *lines,
        "",
        "## ONNX Runtime vs PyTorch eager (shipped models, one forward pass, batch 1)",
        "",
        *speed,
        "",
        "## Controls on the shipped samplers (20 levels per value, other controls neutral, before repair)",
        "",
        *ctl_rows,
        "",
    ])
    if not a.no_write:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(text)
        print(f"wrote {a.out}")
    else:
        print(text)


if __name__ == "__main__":
    main()
