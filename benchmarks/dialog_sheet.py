"""A contact sheet of dialog: the model-written tree and barks beside the Tracery baseline's, and
structured replies, rendered as one PNG to read the way a writer would.

    python benchmarks/dialog_sheet.py [--models DIR] [--seed 7] [--depth 3]

Left: ``dialog/tracery``; right: the dialog LLM on the *same* skeleton (same seed: same node ids,
choices, conditions and effects; only the NPC lines differ). Below: barks of the four shipped
cards, then a structured conversation (emotion and action by constrained decoding).
Writes ``benchmarks/results/dialog_sheet.png`` and the same text as ``dialog_sheet.md``.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

import numpy as np

from gamegen.generators.dialog import trees
from gamegen.generators.dialog.build import NAME, VERSION
from gamegen.generators.dialog.engine import DialogModel
from gamegen.generators.dialog.llm import Chat
from gamegen.generators.dialog.llm_content import card_dict, write_barks, write_tree
from gamegen.generators.dialog.persona import parse_personas
from gamegen.generators.dialog.tracery import make_barks, make_tree
from gamegen.generators.events import DialogReply
from gamegen.server.registry import default_models_dir

ROOT = Path(__file__).resolve().parent.parent
CARDS = ("guard", "innkeeper", "blacksmith", "merchant")
SITUATIONS = ("spotted_player", "low_health", "idle")
CHAT = ["Halt? I only want to pass through the gate.", "Give me the shipment or I draw my sword!",
        "Fine, fine. Can I help you find the smugglers?", "What do you know about Captain Aldric?"]
WIDTH = 78


def wrap(text: str, width: int = WIDTH) -> list[str]:
    out = []
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip())
        out += textwrap.wrap(line, width, subsequent_indent=" " * (indent + 4)) or [""]
    return out


def run(gen):
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        return stop.value


def render(blocks: list[tuple[str, list[str], list[str]]], path: Path) -> None:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=13)
    bold = ImageFont.load_default(size=16)
    lh, cw = 16, 7.9
    col = int(cw * (WIDTH + 4))
    height = 20 + sum(30 + lh * max(len(l), len(r)) + 16 for _, l, r in blocks)
    img = Image.new("RGB", (2 * col + 40, height), "white")
    d = ImageDraw.Draw(img)
    y = 10
    for title, left, right in blocks:
        d.text((14, y), title, fill=(20, 20, 120), font=bold)
        y += 30
        for i, (x, lines) in enumerate(((14, left), (14 + col + 12, right))):
            for k, line in enumerate(lines):
                d.text((x, y + k * lh), line, fill=(0, 0, 0) if not line.startswith("#") else (120, 40, 40),
                       font=font)
        d.line((col + 18, y - 4, col + 18, y + lh * max(len(left), len(right))), fill=(200, 200, 200))
        y += lh * max(len(left), len(right)) + 16
        d.line((10, y - 8, 2 * col + 30, y - 8), fill=(180, 180, 180))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, optimize=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=Path, default=None)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "dialog_sheet.png")
    a = ap.parse_args()
    model = DialogModel.load((a.models or default_models_dir()) / NAME / VERSION, threads=1)
    cards = [parse_personas((ROOT / "generators" / "dialog" / "personas" / f"{n}.toml").read_bytes())[0]
             for n in CARDS]
    guard = cards[0]
    topic = "the missing shipment"
    base = make_tree(guard, topic, a.depth, 2, np.random.default_rng(a.seed))
    mine = run(write_tree(model, guard, topic, a.depth, 2, a.seed, 48))
    blocks = [(f"Tree: {guard.name}, topic {topic!r}, depth {a.depth}, seed {a.seed}: left dialog/tracery, "
               f"right {NAME} (same skeleton)",
               ["# dialog/tracery"] + wrap(trees.tree_txt(base).decode()),
               [f"# {NAME}"] + wrap(trees.tree_txt(mine).decode()))]
    b0 = make_barks(cards, SITUATIONS, 1, np.random.default_rng(a.seed))
    b1 = run(write_barks(model, cards, SITUATIONS, 1, a.seed, 24))

    def bark_lines(b):
        out = []
        for s in b.speakers:
            out.append(f"{s.name}, {s.role}")
            for sit in b.situations:
                out += wrap(f"  {sit}: {b.barks[s.id][sit][0]}")
        return out

    blocks.append(("Barks, one line per situation", ["# dialog/tracery"] + bark_lines(b0),
                   [f"# {NAME}"] + bark_lines(b1)))
    left, right = [], []
    for structured, side in ((False, left), (True, right)):
        chat = Chat(model, a.seed, {"persona": card_dict(guard, secrets=True), "structured": structured,
                                    "emotions": list(guard.emotions), "actions": list(guard.actions),
                                    "sampling": {"max_tokens": 40}})
        side.append(f"# {'structured: [emotion, action] + line' if structured else 'free replies'}")
        for line in CHAT:
            r = next(e for e in chat.step({"player_line": line}) if isinstance(e, DialogReply))
            side += wrap(f"> {line}") + wrap(f"  {guard.name}: {r.line}" + (f"  [{r.emotion}, {r.action}]"
                                                                               if structured else ""))
    blocks.append((f"Conversation with {guard.name} (seed {a.seed}): free vs structured (card emotions "
                   f"{', '.join(guard.emotions)}; actions {', '.join(guard.actions)})", left, right))
    render(blocks, a.out)
    md = a.out.with_suffix(".md")
    md.write_text("\n\n".join(f"## {t}\n\n```\n" + "\n".join(l) + "\n```\n\n```\n" + "\n".join(r) + "\n```"
                              for t, l, r in blocks) + "\n")
    print(a.out, md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
