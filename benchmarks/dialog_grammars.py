"""Constrained-decoding libraries side by side on the structured reply: llguidance vs outlines-core.

    pip install outlines-core        # benchmark only; llguidance is the runtime dependency
    python benchmarks/dialog_grammars.py [--replies 8] [--max-tokens 120]

Both get the same JSON Schema (:func:`~gamegen.generators.dialog.constrain.reply_schema`: emotion
and action enums, a line of at most 200 characters), the same model (the built dialog LLM, q8, one
thread), prompts, seeds and sampling (temperature 0.7 over the allowed tokens), in one run, replies
interleaved. Reported per library: the one-off cost (tokenizer/vocabulary, grammar compile), the
mask's time per token (compute the allowed set as a boolean mask over the vocabulary, then
advance by the chosen token: median / p99), the model step's time per token for scale, and how
many replies parse as the reply JSON. xgrammar is not compared: its wheel requires torch, triton
and transformers at run time, which the server must not need.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from gamegen.generators.dialog.build import NAME, VERSION
from gamegen.generators.dialog.constrain import DEFAULT_ACTIONS, DEFAULT_EMOTIONS, reply_schema
from gamegen.generators.dialog.engine import DialogModel
from gamegen.generators.dialog.llm import persona_prompt
from gamegen.server.registry import default_models_dir

PERSONA = {"name": "Torvald", "role": "blacksmith of Eastwatch", "traits": ["proud", "stubborn"],
           "knowledge": ["The mine closed last winter.", "Good steel costs five silver a bar."]}
LINES = ["Give me your best sword!", "I will burn your forge down.", "Can I follow you to the mine?",
         "Want to trade this gem for an axe?", "Hello there.", "There is a dragon behind you!",
         "Nice weather today.", "I lost my horse."]


class LLGuidance:
    name = "llguidance"

    def __init__(self, model, schema: str):
        import llguidance

        t0 = time.perf_counter()
        path = model.folder / model.manifest["files"]["tokenizer"]["file"]
        self.tok = llguidance.LLTokenizer(str(path), n_vocab=model.engine.vocab_size, eos_token=model.tokenizer.eos_id)
        t1 = time.perf_counter()
        self.grammar = llguidance.LLMatcher.grammar_from_json_schema(schema, defaults={"whitespace_flexible": False})
        llguidance.LLMatcher(self.tok, self.grammar)
        self.setup = {"tokenizer_s": t1 - t0, "compile_s": time.perf_counter() - t1}
        self.ll, self.n = llguidance, model.engine.vocab_size
        self.buf = np.zeros((self.n + 31) // 32, np.int32)

    def start(self):
        self.m = self.ll.LLMatcher(self.tok, self.grammar)

    def mask(self) -> np.ndarray:
        self.m.unsafe_compute_mask_ptr(self.buf.ctypes.data, self.buf.nbytes)
        return np.unpackbits(self.buf.view(np.uint8), bitorder="little")[: self.n].astype(bool)

    def advance(self, tok: int) -> bool:
        self.m.consume_token(tok)
        return not self.m.is_stopped()


class OutlinesCore:
    name = "outlines-core"

    def __init__(self, model, schema: str):
        from outlines_core import Index, Vocabulary
        from outlines_core.json_schema import build_regex_from_schema

        t0 = time.perf_counter()
        tok, eos = model.tokenizer, model.tokenizer.eos_id
        vocab: dict[bytes, list[int]] = {}
        for i in range(model.engine.vocab_size):
            b = tok.token_bytes(i)
            if i != eos and b:
                vocab.setdefault(b, []).append(i)
        v = Vocabulary(eos, vocab)
        t1 = time.perf_counter()
        self.index = Index(build_regex_from_schema(schema), v)
        self.setup = {"tokenizer_s": t1 - t0, "compile_s": time.perf_counter() - t1}
        self.n, self.eos = model.engine.vocab_size, eos

    def start(self):
        from outlines_core import Guide

        self.g = Guide(self.index)

    def mask(self) -> np.ndarray:
        m = np.zeros(self.n, bool)
        m[np.fromiter(self.g.get_tokens(), np.int64)] = True
        return m

    def advance(self, tok: int) -> bool:
        if tok == self.eos:
            return False
        self.g.advance(tok)
        return not self.g.is_finished()


def reply(lib, model, prompt_cache, rng, max_tokens):
    """One sampled reply under ``lib``'s mask; (text, mask seconds per token, step seconds per token)."""
    eng, tok = model.engine, model.tokenizer
    lib.start()
    logits, cache = prompt_cache
    out, mask_s, step_s = [], [], []
    for _ in range(max_tokens):
        t0 = time.perf_counter()
        allowed = lib.mask()
        t1 = time.perf_counter()
        z = np.where(allowed, logits / 0.7, -np.inf)
        p = np.exp(z - z.max())
        t = int(rng.choice(len(p), p=p / p.sum()))
        t2 = time.perf_counter()
        going = lib.advance(t)
        mask_s.append((t1 - t0) + (time.perf_counter() - t2))
        if t == tok.eos_id or not going:
            if t != tok.eos_id:
                out.append(t)
            break
        out.append(t)
        t3 = time.perf_counter()
        logits, cache = eng.step([t], cache)
        step_s.append(time.perf_counter() - t3)
    return tok.decode(out), mask_s, step_s


def valid(text: str) -> bool:
    try:
        o = json.loads(text)
        return o["emotion"] in DEFAULT_EMOTIONS and o["action"] in DEFAULT_ACTIONS and bool(o["line"].strip())
    except (ValueError, KeyError, TypeError, AttributeError):
        return False


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=Path, default=None)
    ap.add_argument("--replies", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=120)
    a = ap.parse_args()
    model = DialogModel.load((a.models or default_models_dir()) / NAME / VERSION, threads=1)
    schema = json.dumps(reply_schema(DEFAULT_EMOTIONS, DEFAULT_ACTIONS))
    libs = [LLGuidance(model, schema), OutlinesCore(model, schema)]
    tok = model.tokenizer
    system = persona_prompt(PERSONA, (DEFAULT_EMOTIONS, DEFAULT_ACTIONS))
    res = {lib.name: {"mask": [], "step": [], "valid": 0, "texts": []} for lib in libs}
    for i in range(a.replies):
        ids = tok.encode_parts(tok.chat.system(system) + tok.chat.user(LINES[i % len(LINES)]))
        prompt = model.engine.step(ids, model.engine.new_cache())
        for lib in (libs if i % 2 == 0 else libs[::-1]):
            text, m, s = reply(lib, model, prompt, np.random.default_rng(i), a.max_tokens)
            r = res[lib.name]
            r["mask"] += m
            r["step"] += s
            r["valid"] += valid(text)
            r["texts"].append(text)
    print(f"`python benchmarks/dialog_grammars.py --replies {a.replies}` — `{NAME}/{VERSION}` (q8), 1 thread, "
          f"temperature 0.7, the reply schema (emotion of {len(DEFAULT_EMOTIONS)}, action of {len(DEFAULT_ACTIONS)}, "
          "a line of at most 200 characters)\n")
    print("| library | tokenizer setup (s) | schema compile (s) | mask + advance per token, median / p99 (ms) "
          "| model step per token, median (ms) | replies that parse |")
    print("|---|---|---|---|---|---|")
    for lib in libs:
        r = res[lib.name]
        ms = sorted(r["mask"])
        print(f"| {lib.name} | {lib.setup['tokenizer_s']:.2f} | {lib.setup['compile_s']:.2f} | "
              f"{statistics.median(ms) * 1e3:.2f} / {ms[int(0.99 * (len(ms) - 1))] * 1e3:.2f} | "
              f"{statistics.median(r['step']) * 1e3:.1f} | {r['valid']}/{a.replies} |")
    print()
    for lib in libs:
        for text in res[lib.name]["texts"][:3]:
            print(f"- {lib.name}: {text[:160]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
