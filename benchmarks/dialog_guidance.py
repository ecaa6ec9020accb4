"""Structured vs free decoding on the dialog model: what the llguidance mask costs per token.

    python benchmarks/dialog_guidance.py [--models DIR] [--replies 8] [--threads 1] [--max-tokens 40]

The served code path: :class:`~gamegen.generators.dialog.decode.Conversation` with and without the
structured-reply constraint (:meth:`~gamegen.generators.dialog.constrain.Guide.reply`: the reply
JSON with emotion and action enums and the line, masked per step by llguidance). Both modes use
the *same* system prompt (the structured one, which asks for JSON) and the same player lines and
seeds, run interleaved (the order flips every reply) so that machine load hits both alike.

Reported: decode ms per token (median over replies of each reply's mean time per token after
the first) free vs structured, their ratio; when the player would see the line's first character
(structured: after emotion and action, whose forced JSON keys are fed without steps of their own); the constraint's own time per token (mask + apply +
consume: median / p99 / max); replies that parse with emotion and action in their lists (must be
all); the one-off costs (llguidance tokenizer, first grammar compile). Writes the table and the
replies to ``benchmarks/results/dialog_guidance.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from gamegen.generators.dialog import decode as dd
from gamegen.generators.dialog.build import NAME, VERSION
from gamegen.generators.dialog.constrain import DEFAULT_ACTIONS, DEFAULT_EMOTIONS, ReplyText, guide_for
from gamegen.generators.dialog.engine import DialogModel
from gamegen.generators.dialog.llm import persona_prompt
from gamegen.server.registry import default_models_dir

ROOT = Path(__file__).resolve().parent.parent
PERSONA = {"name": "Torvald", "role": "blacksmith of Eastwatch", "traits": ["proud", "stubborn"],
           "knowledge": ["The mine closed last winter.", "Good steel costs five silver a bar."]}
LINES = ["Give me your best sword!", "I will burn your forge down.", "Can I follow you to the mine?",
         "Want to trade this gem for an axe?", "Hello there.", "There is a dragon behind you!",
         "Nice weather today.", "I lost my horse."]


def valid_reply(text: str) -> bool:
    """The reply JSON with emotion and action from the lists and a line (what the game needs)."""
    try:
        obj = json.loads(text)
        return (obj["emotion"] in DEFAULT_EMOTIONS and obj["action"] in DEFAULT_ACTIONS
                and isinstance(obj["line"], str) and bool(obj["line"].strip()))
    except (ValueError, KeyError, TypeError):
        return False


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=Path, default=None)
    ap.add_argument("--replies", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-tokens", type=int, default=40, help="free reply / structured line budget")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "dialog_guidance.md")
    a = ap.parse_args()
    import llguidance

    model = DialogModel.load((a.models or default_models_dir()) / NAME / VERSION, threads=a.threads)
    t0 = time.perf_counter()
    guide = guide_for(model)
    tok_ms = (time.perf_counter() - t0) * 1e3
    t0 = time.perf_counter()
    guide.reply(DEFAULT_EMOTIONS, DEFAULT_ACTIONS, a.max_tokens)
    compile_ms = (time.perf_counter() - t0) * 1e3
    prompt = persona_prompt(PERSONA, (DEFAULT_EMOTIONS, DEFAULT_ACTIONS))
    params = dd.SamplingParams(temperature=0.7, max_new_tokens=a.max_tokens)
    step = {"free": [], "structured": []}
    tokens = {"free": 0, "structured": 0}
    per_token, valid, free_valid, shown = [], 0, 0, []
    first = {"free": [], "structured": []}
    forced = 0
    for i in range(a.replies):
        line = LINES[i % len(LINES)]
        for mode in (("free", "structured") if i % 2 == 0 else ("structured", "free")):
            conv = dd.Conversation(model.engine, model.tokenizer, prompt, seed=i)
            conv.prime()
            c = guide.reply(DEFAULT_EMOTIONS, DEFAULT_ACTIONS, a.max_tokens) if mode == "structured" else None
            t0 = time.perf_counter()
            turn = (conv.say(line, replace(params, max_new_tokens=c.max_new_tokens), processors=[c]) if c
                    else conv.say(line, params))
            text, seen, shown_text = "", None, ReplyText()
            for d in turn:                 # when would the player see the first character of the line?
                text += d.text
                new = shown_text.push(text) if c else d.text
                if seen is None and new.strip():
                    seen = (time.perf_counter() - t0) * 1e3
            r = turn.result
            if seen is not None:
                first[mode].append(seen)
            if c:
                per_token += c.seconds
                forced += c.ff_tokens
                valid += valid_reply(r.text)
            else:
                free_valid += valid_reply(r.text)
            shown.append((line, r.text, len(r.tokens)))
            if r.decode_tokens_per_s:
                step[mode].append(1e3 / r.decode_tokens_per_s)
            tokens[mode] += len(r.tokens)
        print(f"reply {i + 1}/{a.replies}", file=sys.stderr, flush=True)
    us = np.array(per_token) * 1e6
    free, st = statistics.median(step["free"]), statistics.median(step["structured"])
    out = [f"llguidance {llguidance.__version__ if hasattr(llguidance, '__version__') else ''} over "
           f"`{NAME}/{VERSION}` (q8), {a.threads} thread(s), {a.replies} replies per mode, temperature 0.7, "
           f"budget {a.max_tokens} tokens; llguidance tokenizer {tok_ms:.0f} ms once per model, "
           f"first grammar compile {compile_ms:.1f} ms (then cached)\n",
           "| mode | tokens | decode ms/token (median of replies) | vs free | first character of the line shown (median ms) "
           "| replies that are valid reply JSON |",
           "|---|---|---|---|---|---|",
           f"| free (the prompt asks for JSON) | {tokens['free']} | {free:.1f} | 1.00x | "
           f"{statistics.median(first['free']):.0f} | {free_valid}/{a.replies} |",
           f"| structured (mask every step; {forced} of the tokens forced, fed without a step of their own) | "
           f"{tokens['structured']} | {st:.1f} | {st / free:.2f}x | {statistics.median(first['structured']):.0f} | "
           f"{valid}/{a.replies} |",
           "",
           "| constraint per token: median / p99 / max (µs) | share of a free step |",
           "|---|---|",
           f"| {np.median(us):.0f} / {np.percentile(us, 99):.0f} / {us.max():.0f} | "
           f"{np.median(us) / 1e3 / free:.1%} |",
           "", "Replies (player line -> reply, tokens):", ""]
    out += [f"- {line!r} -> `{text}` ({n})" for line, text, n in shown]
    text = "\n".join(out) + "\n"
    print(text)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text("`python benchmarks/dialog_guidance.py " + " ".join(sys.argv[1:]) + "`\n\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
