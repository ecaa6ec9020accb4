"""Dialog quality of the model-free baseline (dialog/tracery), with the metrics every dialog model uses.

    python benchmarks/dialog_quality.py [--seeds 20] [--yarn 24]

* Trees: every shipped persona x depth 1..6 x choices 1..3 x seeds — schema-valid (JSON Schema
  draft 2020-12, ``jsonschema``) and structurally valid (:func:`check_tree`), both as a share.
* Yarn: a sample of those trees (and the barks) parsed and played by yarn-bound (tests/yarn,
  ``npm ci --prefix tests/yarn``): every node entered, every option path played to its end.
* Diversity: distinct-2 of each NPC's barks pooled over seeds, and of tree lines over seeds.
* Between NPCs: self-BLEU-4 of each NPC's barks against the other NPCs' barks (same seed); lower
  means the NPCs sound less alike. For scale: the same NPC against itself at another seed.
* Persona: share of lines using a content word of the NPC's own card; who-said-it accuracy of a
  bag-of-words nearest-centroid classifier trained on half the seeds, scored on the other half.
* Secrets: lines containing any secret's content words in sequence (must be 0).
* Time: one tree (depth 3 and 6) and one bark request for four NPCs, in-process, median of 20.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jsonschema
import numpy as np

from gamegen.generators.dialog import metrics as M
from gamegen.generators.dialog import trees
from gamegen.generators.dialog.generator import DialogGenerator
from gamegen.generators.dialog.persona import parse_personas
from gamegen.generators.dialog.tracery import SITUATIONS, make_barks, make_tree, voice_of

ROOT = Path(__file__).resolve().parent.parent
PERSONAS = ROOT / "generators" / "dialog" / "personas"
NAMES = ("guard", "innkeeper", "blacksmith", "merchant")
TOPICS = ("the missing shipment", "the old mill", "the night watch", "foreign gold")
CHECK_JS = ROOT / "tests" / "yarn" / "check.js"


def yarn_ok(data: bytes, start: str | None) -> tuple[bool, int]:
    with tempfile.NamedTemporaryFile("wb", suffix=".yarn", delete=False) as f:
        f.write(data)
    r = subprocess.run(["node", str(CHECK_JS), f.name, *([start] if start else [])], capture_output=True,
                       text=True, timeout=120)
    Path(f.name).unlink()
    out = json.loads(r.stdout or "{}")
    return r.returncode == 0 and not out.get("truncated", False), out.get("paths", 0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--yarn", type=int, default=24, help="trees to parse and play with yarn-bound")
    args = ap.parse_args()
    personas = [parse_personas((PERSONAS / f"{n}.toml").read_bytes())[0] for n in NAMES]
    validator = jsonschema.Draft202012Validator(trees.schema())
    rng_pick = np.random.default_rng(0)

    # trees: schema + structure
    n = schema_ok = struct_ok = 0
    samples: list[bytes] = []
    tree_lines: dict[str, list[str]] = {p.id: [] for p in personas}
    for p in personas:
        for depth in range(1, 7):
            for choices in (1, 2, 3):
                for seed in range(args.seeds // 4 or 1):
                    t = make_tree(p, TOPICS[seed % len(TOPICS)], depth, choices, np.random.default_rng(seed))
                    n += 1
                    schema_ok += validator.is_valid(json.loads(trees.tree_json(t)))
                    try:
                        trees.check_tree(t, max_depth=depth)
                        struct_ok += trees.depth(t) == depth
                    except trees.TreeError:
                        pass
                    if depth == 3 and choices == 2:
                        tree_lines[p.id] += [nd.line for nd in t.nodes]
                    samples.append(trees.tree_yarn(t))
    print(f"trees: {n}; schema-valid {schema_ok / n:.1%}; structurally valid at the requested depth {struct_ok / n:.1%}")

    # yarn
    if shutil.which("node") and (CHECK_JS.parent / "node_modules" / "yarn-bound").is_dir():
        pick = rng_pick.choice(len(samples), size=min(args.yarn, len(samples)), replace=False)
        res = [yarn_ok(samples[i], "Start") for i in pick]
        barks = make_barks(personas, SITUATIONS, 3, np.random.default_rng(0))
        bark_ok, _ = yarn_ok(trees.barks_yarn(barks), None)
        print(f"yarn (yarn-bound): {sum(ok for ok, _ in res)}/{len(res)} trees parse and every path ends "
              f"({sum(p for _, p in res)} paths played); barks script parses: {bark_ok}")
    else:
        print("yarn: skipped (npm ci --prefix tests/yarn)")

    # barks over seeds
    by_seed = {s: make_barks(personas, SITUATIONS, 3, np.random.default_rng(s)) for s in range(args.seeds)}
    pooled = {p.id: [l for s in by_seed for sit in SITUATIONS for l in by_seed[s].barks[p.id][sit]] for p in personas}
    print("\nNPC | voice | distinct-2 barks (all seeds) | distinct-2 tree lines | own-card word use (barks / tree)")
    for p in personas:
        print(f"{p.name} | {voice_of(p)} | {M.distinct_n(pooled[p.id], 2):.3f} | {M.distinct_n(tree_lines[p.id], 2):.3f} | "
              f"{M.persona_word_usage(p, pooled[p.id]):.1%} / {M.persona_word_usage(p, tree_lines[p.id]):.1%}")
    between = statistics.mean(
        M.self_bleu({p.id: [l for sit in SITUATIONS for l in by_seed[s].barks[p.id][sit]] for p in personas})
        for s in range(min(5, args.seeds)))
    within = statistics.mean(
        statistics.mean(M.bleu(l, [x for sit in SITUATIONS for x in by_seed[s + 1].barks[p.id][sit]])
                        for sit in SITUATIONS for l in by_seed[s].barks[p.id][sit])
        for p in personas for s in range(min(5, args.seeds - 1)))
    half = args.seeds // 2
    train = {p.id: [l for s in range(half) for sit in SITUATIONS for l in by_seed[s].barks[p.id][sit]] for p in personas}
    test = {p.id: [l for s in range(half, args.seeds) for sit in SITUATIONS for l in by_seed[s].barks[p.id][sit]]
            for p in personas}
    print(f"\nself-BLEU-4 between NPCs (barks, same seed): {between:.3f}; same NPC at another seed: {within:.3f}")
    print(f"who said it (nearest centroid, {half} seeds train / {args.seeds - half} test): "
          f"{M.attribution_accuracy(train, test):.1%} (chance {1 / len(personas):.0%})")

    leaks = 0
    everything = [l for ls in pooled.values() for l in ls] + [l for ls in tree_lines.values() for l in ls]
    for p in personas:
        for secret in p.secrets:
            key = " ".join(w for w in M.words(secret) if w not in M.STOP)
            leaks += sum(key in " ".join(w for w in M.words(l) if w not in M.STOP) for l in everything)
    print(f"secret leaks: {leaks} of {len(everything)} lines")

    gen = DialogGenerator.tracery()
    guard = (PERSONAS / "guard.toml").read_bytes()
    roster = b"\n".join(b"[[persona]]\n" + (PERSONAS / f"{n}.toml").read_bytes().replace(b"[knowledge]", b"[persona.knowledge]")
                        for n in NAMES)
    for label, params in (("tree depth 3", {"persona": guard, "topic": "the missing shipment", "depth": 3}),
                          ("tree depth 6, 3 choices", {"persona": guard, "topic": "the missing shipment", "depth": 6,
                                                       "choices": 3}),
                          ("barks, 4 NPCs x 9 situations x 3", {"persona": roster, "mode": "barks"})):
        ms = []
        for s in range(20):
            t0 = time.perf_counter()
            list(gen.generate(s, params, ["json", "yarn", "txt"]))
            ms.append((time.perf_counter() - t0) * 1e3)
        print(f"time, {label} (json+yarn+txt): median {statistics.median(ms):.1f} ms")


if __name__ == "__main__":
    sys.exit(main())
