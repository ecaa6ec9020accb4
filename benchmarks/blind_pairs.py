"""A blind side-by-side judgment of two level models, for the person looking at the screens.

Contact sheets with labelled columns invite the eye to find what it expects: the same 12 Lode
Runner screens were judged "6-7 of 12 plausible" in one session and "2-3 of 12" in another. This
script takes the labels away. For each seed it draws one screen from model A and one from model
B (served as a caller gets them: the generator in-process, with the request parameters given),
and puts them side by side in an order drawn from a fixed seed, six pairs per sheet. The person
writes down, for every pair, which side looks more like a designed level (L or R); ``score``
then reveals how often each model was chosen. Under "no difference" each choice is a coin flip,
so the one-sided binomial p-value is printed too.

    python benchmarks/blind_pairs.py make --seeds 2000 24 \\
        --a levels/loderunner-transformer@1.1.0+symmetry=0.0 --b levels/loderunner-transformer+symmetry=0.0 \\
        --out /tmp/pairs      # writes /tmp/pairs_0.png .., /tmp/pairs.html and /tmp/pairs.key.json
    python benchmarks/blind_pairs.py score --out /tmp/pairs --picks "R L R R ..." [--picks "..." per judge]

The key file holds the order; do not open it before writing the picks down. ``F.html`` is the
same pairs as one page for a person to judge in a browser: a click per pair, and the picks line
to paste into ``score`` appears when every pair has one. ``refs`` take the
``+name=value`` request settings of ``levels_design.py``; ``real`` stands for real Lode Runner
screens (the two-sample test's real set) or SMB levels, so a model can be judged against the
corpus itself. SMB levels are judged a stretch at a time (``--window 48``). Lode Runner screens by default; any
level model works (SMB levels come out as long strips).

For Lode Runner the key also records which screens are mirror-symmetric (``mirrored``: their
bricks, blocks, ladders and ropes match their mirror image on over 95% of the cells; gold, guards
and repair ladders need not), and ``score`` splits each side's count by it: the judges' picks
depend on it more than on anything else measured (BENCHMARKS.md, "Why the default is mirrored").
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
import levels_design as ld  # noqa: E402

from gamegen.generators.levels import corpus  # noqa: E402
from gamegen.server.registry import load_registry  # noqa: E402

PER_SHEET = 6
MIRRORED = 0.95     # share of architecture cells equal to their mirror image for a "mirrored" screen


def mirrored(grid: np.ndarray) -> bool:
    """A Lode Runner screen whose architecture (bricks, blocks, ladders, ropes; not the floor row)
    is its own mirror image, up to the gold, guards and ladders that the controls and repair
    place after drawing: the ``symmetry`` control's screens, and the corpus's few exact ones."""
    arch = np.isin(np.asarray(grid)[:-1], np.frombuffer(b"bB#-", np.uint8))
    return bool((arch == arch[:, ::-1]).mean() > MIRRORED)


def real_screens(game_id: str, count: int, start: int) -> list[np.ndarray]:
    """``count`` real levels from ``start``, of the corpus in a fixed order: the held-out levels,
    then the training levels in the order the two-sample test draws them (Lode Runner: its real
    set is the first 45 of the 150 screens). The contact sheets show the first 12 Lode Runner
    screens, which a judge may remember; ``--real-start`` skips them, and a second judgment should
    start past the screens the first one showed. SMB has 37 levels; with ``--window`` they are
    taken in turn (level ``start + i`` modulo 37), each pair a different stretch."""
    train, held = corpus.load_split(game_id)
    order = np.random.default_rng(0).permutation(len(train))
    real = [lv.grid for lv in held] + [train[i].grid for i in order]
    if game_id == "smb":
        return [real[(start + i) % len(real)] for i in range(count)]
    if start + count > len(real):
        raise SystemExit(f"--real-start + COUNT must be at most {len(real)} with real screens, got {start + count}")
    return real[start:start + count]


def crop(levels: list[np.ndarray], width: int, rng: np.random.Generator) -> list[np.ndarray]:
    """A ``width``-column stretch of each level, where it starts drawn from ``rng`` (SMB: a whole
    level is too long to judge at a glance)."""
    out = []
    for g in levels:
        if g.shape[1] < width:
            raise SystemExit(f"--window {width} is wider than a level of {g.shape[1]} columns")
        x = int(rng.integers(0, g.shape[1] - width + 1))
        out.append(g[:, x:x + width])
    return out


def make(a) -> None:
    reg = load_registry(a.models_dir, device="cpu")
    first, count = a.seeds
    seeds = range(first, first + count)
    models = {ref: ld.resolve_with_params(reg, ref) for ref in (a.a, a.b) if ref != "real"}
    if not models:
        raise SystemExit("--a and --b cannot both be real")
    game = next(iter(models.values()))[0].game
    screens = []
    for ref in (a.a, a.b):
        if ref == "real":
            screens.append(real_screens(game.id, count, a.real_start))
            continue
        gen, extra = models[ref]
        if gen.game.id != game.id:
            raise SystemExit(f"--a and --b must be levels of one game, got {a.a} and {a.b}")
        screens.append(ld.generate(gen, game, seeds, extra))
    if a.window:
        screens = [crop(levels, a.window, np.random.default_rng(a.order_seed + first + 1 + k))
                   for k, levels in enumerate(screens)]
    flip = np.random.default_rng(a.order_seed + first).random(count) < 0.5
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    key = {"a": a.a, "b": a.b, "seeds": [first, count], "b_on_left": flip.tolist()}
    if game.id == "loderunner":
        key["mirrored"] = {"a": [mirrored(g) for g in screens[0]], "b": [mirrored(g) for g in screens[1]]}
    Path(f"{out}.key.json").write_text(json.dumps(key))
    pairs = [(screens[1][i], screens[0][i]) if flip[i] else (screens[0][i], screens[1][i]) for i in range(count)]
    tiles = [(ld.render(game, left, a.scale), ld.render(game, right, a.scale)) for left, right in pairs]
    w, h = tiles[0][0].size
    for s in range(0, count, PER_SHEET):
        part = tiles[s:s + PER_SHEET]
        img = Image.new("RGB", (2 * w + 30, len(part) * (h + 16)), "white")
        d = ImageDraw.Draw(img)
        for j, (left, right) in enumerate(part):
            y = j * (h + 16)
            d.text((2, y + 2), f"pair {s + j}", fill=(0, 0, 0))
            img.paste(left, (0, y + 14))
            img.paste(right, (w + 30, y + 14))
        img.save(f"{out}_{s // PER_SHEET}.png")
    Path(f"{out}.html").write_text(judging_page(tiles))
    print(f"wrote {-(-count // PER_SHEET)} sheets {out}_*.png ({count} pairs), the judging page {out}.html "
          f"and the key {out}.key.json")


def _png_data_uri(img: Image.Image) -> str:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def judging_page(tiles: list[tuple[Image.Image, Image.Image]]) -> str:
    """One self-contained HTML page for a person to judge the pairs in a browser: the two screens
    of each pair side by side, a click on the one that looks designed, and the picks line to paste
    into ``score --picks`` once every pair has one. Nothing in it says which side is which (not
    even the file name the sheets were made under), and it sends nothing anywhere."""
    rows = "\n".join(
        f'<div class="pair" id="p{i}"><div class="n">pair {i}</div>'
        f'<img src="{_png_data_uri(left)}" data-i="{i}" data-side="L" alt="pair {i}, left">'
        f'<img src="{_png_data_uri(right)}" data-i="{i}" data-side="R" alt="pair {i}, right"></div>'
        for i, (left, right) in enumerate(tiles))
    return f"""<!doctype html>
<meta charset="utf-8"><title>Blind pairs</title>
<style>
 body {{ font-family: sans-serif; margin: 1.5em; }}
 .pair {{ margin: 0 0 1.2em; }} .n {{ font-size: 90%; color: #555; }}
 img {{ image-rendering: pixelated; border: 4px solid transparent; margin-right: 1.5em; cursor: pointer; }}
 img.picked {{ border-color: #2a7; }}
 #out {{ position: sticky; top: 0; background: #fff; padding: .5em 0; font-family: monospace; }}
</style>
<p>For each pair, click the screen that looks more like a level a human designer made on purpose.
Every pair needs a pick, even a close one.</p>
<div id="out">picks: <span id="line"></span> <span id="left"></span></div>
{rows}
<script>
const n = {len(tiles)}, picks = new Array(n).fill(null);
function show() {{
  const missing = picks.filter(p => p === null).length;
  document.getElementById("line").textContent = missing ? "" : picks.join(" ");
  document.getElementById("left").textContent = missing ? missing + " pair(s) to go" : "(paste into score --picks)";
}}
document.querySelectorAll("img").forEach(img => img.addEventListener("click", () => {{
  const i = +img.dataset.i; picks[i] = img.dataset.side;
  document.querySelectorAll(`#p${{i}} img`).forEach(o => o.classList.toggle("picked", o === img));
  show();
}}));
show();
</script>
"""


def _p_one_sided(k: int, n: int) -> float:
    """P(at least ``k`` of ``n`` fair coin flips): how surprising the more chosen side's count is."""
    return sum(math.comb(n, i) for i in range(k, n + 1)) / 2 ** n


def score(a) -> None:
    """Reveal how often each side was chosen: per judge (``--picks`` once per judge) and, with
    more than one, all judges together."""
    key = json.loads(Path(f"{a.out}.key.json").read_text())
    flip = key["b_on_left"]
    counts, rows = [], []
    for j, line in enumerate(a.picks, 1):
        picks = line.upper().replace(",", " ").split()
        if len(picks) != len(flip) or any(p not in ("L", "R") for p in picks):
            raise SystemExit(f"--picks (judge {j}) must be {len(flip)} of L or R, got {len(picks)}: {line!r}")
        counts.append(sum((p == "L") == f for p, f in zip(picks, flip)))
        rows.append(picks)
    n = len(flip)
    for j, b in enumerate(counts, 1):
        who = f"judge {j}: " if len(counts) > 1 else ""
        print(f"{who}A = {key['a']}: chosen {n - b} of {n}; B = {key['b']}: chosen {b} of {n}; "
              f"one-sided binomial p (the more chosen one, under no difference): {_p_one_sided(max(b, n - b), n):.3f}")
    if len(counts) > 1:
        b, total = sum(counts), n * len(counts)
        print(f"all {len(counts)} judges: A chosen {total - b} of {total}, B chosen {b} of {total}; "
              f"p {_p_one_sided(max(b, total - b), total):.3f} (picks of one pair by several judges are not "
              "independent: read it as a summary)")
    if "mirrored" in key:
        print(by_mirroring(key, rows))


def by_mirroring(key: dict, rows: list[list[str]]) -> str:
    """Each side's picks over all judges, split by whether that side's screen was mirrored."""
    flip = key["b_on_left"]
    lines = []
    for side, name in (("a", key["a"]), ("b", key["b"])):
        chosen = {True: 0, False: 0}
        shown = {True: 0, False: 0}
        for i, f in enumerate(flip):
            m = key["mirrored"][side][i]
            on_left = f if side == "b" else not f
            shown[m] += len(rows)
            chosen[m] += sum((picks[i] == "L") == on_left for picks in rows)
        lines.append(f"{side.upper()} = {name}: chosen {chosen[True]} of {shown[True]} where its screen was "
                     f"mirrored, {chosen[False]} of {shown[False]} where it was not")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("--a", required=True)
    m.add_argument("--b", required=True)
    m.add_argument("--seeds", type=int, nargs=2, default=(2000, 24), metavar=("FIRST", "COUNT"))
    m.add_argument("--out", required=True)
    m.add_argument("--real-start", type=int, default=12)
    m.add_argument("--order-seed", type=int, default=12345)
    m.add_argument("--scale", type=int, default=5)
    m.add_argument("--window", type=int, default=0,
                   help="judge a stretch of this many columns of each level (SMB; 0 = the whole level)")
    m.add_argument("--models-dir", default=None)
    s = sub.add_parser("score")
    s.add_argument("--out", required=True)
    s.add_argument("--picks", required=True, action="append",
                   help="the judge's L/R per pair, in pair order; once per judge")
    a = ap.parse_args()
    make(a) if a.cmd == "make" else score(a)


if __name__ == "__main__":
    main()
