"""Per-token overhead of llguidance (JSON Schema) driven from our own decode loop over ONNX Runtime.

    pip install llguidance
    python benchmarks/dialog_guidance.py [--models DIR] [--replies 8]

A :class:`~gamegen.generators.dialog.decode.LogitsProcessor` compiles the schema once per reply
(``LLMatcher``), computes the allowed-token bitmask each step and sets the rest to -inf; ``accept``
feeds the chosen token. Reported: the processor's time per token (mask + apply + consume) next to
the model step it rides on, the share of replies that parse and validate, and the replies.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from gamegen.generators.dialog import decode as dd
from gamegen.generators.dialog.build import NAME, VERSION
from gamegen.generators.dialog.engine import DialogModel
from gamegen.server.registry import default_models_dir

SCHEMA = {
    "type": "object",
    "properties": {
        "emotion": {"enum": ["neutral", "happy", "angry", "afraid", "sad", "suspicious"]},
        "action": {"enum": ["none", "give_item", "attack", "follow", "trade", "flee"]},
        "line": {"type": "string", "maxLength": 200},
    },
    "required": ["emotion", "action", "line"],
    "additionalProperties": False,
}
PERSONA = ("You are Brann, a grumpy blacksmith. Reply only with JSON: "
           '{"emotion": ..., "action": ..., "line": "what you say"}.')
LINES = ["Give me your best sword!", "I will burn your forge down.", "Can I follow you to the mine?",
         "Want to trade this gem for an axe?", "Hello there.", "There is a dragon behind you!",
         "Nice weather today.", "I lost my horse."]


class JsonSchemaProcessor:
    """llguidance as a logits processor: only tokens that keep the output inside ``schema``."""

    def __init__(self, lltok, schema: dict, vocab: int):
        import llguidance

        grammar = llguidance.LLMatcher.grammar_from_json_schema(json.dumps(schema), defaults={"whitespace_flexible": False})
        self.m = llguidance.LLMatcher(lltok, grammar)
        if self.m.is_error():
            raise ValueError(self.m.get_error())
        self.mask = np.zeros((vocab + 31) // 32, np.int32)
        self.vocab = vocab
        self.seconds = []

    def __call__(self, generated, logits):
        t0 = time.perf_counter()
        self.m.unsafe_compute_mask_ptr(self.mask.ctypes.data, self.mask.nbytes)
        allowed = np.unpackbits(self.mask.view(np.uint8), bitorder="little")[: logits.shape[0]].astype(bool)
        logits[~allowed] = -np.inf
        self._t = time.perf_counter() - t0

    def accept(self, token_id: int) -> bool:
        t0 = time.perf_counter()
        ok = self.m.consume_token(token_id)
        self.seconds.append(self._t + time.perf_counter() - t0)
        return bool(ok) and not self.m.is_stopped()


def main() -> int:
    import llguidance

    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=Path, default=None)
    ap.add_argument("--replies", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    model = DialogModel.load((a.models or default_models_dir()) / NAME / VERSION, threads=a.threads)
    tok = model.tokenizer
    t0 = time.perf_counter()
    lltok = llguidance.LLTokenizer(str(model.folder / "tokenizer.json"), n_vocab=model.engine.vocab_size,
                                   eos_token=tok.eos_id)
    tok_s = time.perf_counter() - t0
    per_token, step_ms, valid, compile_ms, shown = [], [], 0, [], []
    params = dd.SamplingParams(temperature=0.7, max_new_tokens=120)
    for i in range(a.replies):
        t0 = time.perf_counter()
        proc = JsonSchemaProcessor(lltok, SCHEMA, model.engine.vocab_size)
        compile_ms.append((time.perf_counter() - t0) * 1e3)
        conv = dd.Conversation(model.engine, tok, PERSONA, seed=i)
        r = conv.say(LINES[i % len(LINES)], params, processors=[proc]).run()
        per_token += proc.seconds
        step_ms.append(1e3 / r.decode_tokens_per_s if r.decode_tokens_per_s else float("nan"))
        try:
            obj = json.loads(r.text)
            ok = (set(obj) == {"emotion", "action", "line"} and obj["emotion"] in SCHEMA["properties"]["emotion"]["enum"]
                  and obj["action"] in SCHEMA["properties"]["action"]["enum"] and isinstance(obj["line"], str))
        except json.JSONDecodeError:
            ok = False
        valid += ok
        shown.append((LINES[i % len(LINES)], r.text, r.stop_reason.value, len(r.tokens)))
    us = np.array(per_token) * 1e6
    print(f"llguidance {llguidance.__version__ if hasattr(llguidance, '__version__') else ''}: tokenizer load {tok_s * 1e3:.0f} ms, "
          f"schema compile median {statistics.median(compile_ms):.1f} ms\n")
    print("| tokens | processor per token: median / p99 / max (µs) | model step median (ms) | overhead | valid JSON per schema |")
    print("|---|---|---|---|---|")
    print(f"| {len(us)} | {np.median(us):.0f} / {np.percentile(us, 99):.0f} / {us.max():.0f} | "
          f"{statistics.median(step_ms):.1f} | {np.median(us) / 1e3 / statistics.median(step_ms):.1%} | "
          f"{valid}/{a.replies} |")
    print()
    for line, text, why, n in shown:
        print(f"- {line!r} -> {text} ({why}, {n} tokens)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
