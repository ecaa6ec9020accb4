"""Dialog decode speed: our ONNX Runtime loop (fp32, q8) vs llama.cpp on the same GGUF, in one run.

    python -m gamegen.generators.dialog.build --keep-fp32      # once: models/dialog-smollm2/1.1.0
    pip install llama-cpp-python                               # optional: the llama.cpp column
    python benchmarks/dialog_genai.py setup                    # optional: the onnxruntime-genai column
    python benchmarks/dialog_speed.py [--threads 2] [--repeat 5] [--new 64] [--torch-graph DIR] [--genai DIR]

``--torch-graph`` adds a model folder built with ``--graph torch`` (the 1.0.0 layout: the torch
export, past concatenated every step) as a further backend; ``models/dialog-smollm2/1.0.0`` is
taken when it exists and holds that graph.

* Decode: one prompt (persona + player line, ChatML; and the same after ~400 tokens of earlier
  conversation, ``--long``), greedy, ``--new`` tokens (EOS ignored so
  every backend decodes the same count). Time to first token = prefill + first choice; decode
  tokens/s over the remaining tokens. Backends are interleaved round-robin ``--repeat`` times
  after a warm-up and the median is reported, so load on the machine hits all of them alike.
  Same threads for all (ORT intra-op threads, llama.cpp n_threads and n_threads_batch).
* Greedy agreement with the fp32 graph over the build's fixed prompt set (8 NPC prompts, 48
  tokens): teacher-forced (the candidate's argmax on the fp32 continuation, position by position)
  and free-running (own greedy continuation; everything after the first difference is a miss).
* Time to first token of a new turn in an open conversation (persona prefix cached, previous
  turns in the KV cache; the turn feeds only the previous reply's closing tokens and the new
  line), q8, sampled (temperature 0.7, top-k 40, top-p 0.9), median and max over the turns.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path


from gamegen.generators.dialog import decode as dd
from gamegen.generators.dialog.build import AGREEMENT_PROMPTS, NAME, VERSION, find_gguf, prompt_ids
from gamegen.generators.dialog.engine import DialogModel
from gamegen.server.registry import default_models_dir

PERSONA = ("You are Brann, a grumpy blacksmith in the village of Oakridge. You sell swords, axes and horseshoes. "
           "You distrust strangers but respect honest work. Answer in one or two short sentences.")
LINE = "Good morning! A traveler like me needs a sturdy sword for the road north. What can you offer?"
TURNS = ["How much for the longsword?", "That is too expensive. Can you lower the price?",
         "Who taught you to forge?", "Have you heard about the missing shipment?",
         "Fine, I will take the axe instead.", "Thank you. Farewell!"]


def ort_run(engine, ids, n_new):
    t0 = time.perf_counter()
    logits, cache = engine.step(ids, engine.new_cache())
    tok = int(logits.argmax())
    t1 = time.perf_counter()
    out = [tok]
    for _ in range(n_new - 1):
        logits, cache = engine.step([tok], cache)
        tok = int(logits.argmax())
        out.append(tok)
    t2 = time.perf_counter()
    return (t1 - t0) * 1e3, (n_new - 1) / (t2 - t1), out


def llamacpp_run(llm, ids, n_new):
    llm.reset()
    t0 = time.perf_counter()
    out, t1 = [], None
    for tok in llm.generate(ids, temp=0.0, top_k=1, repeat_penalty=1.0, reset=True):
        if t1 is None:
            t1 = time.perf_counter()
        out.append(int(tok))
        if len(out) >= n_new:
            break
    t2 = time.perf_counter()
    return (t1 - t0) * 1e3, (n_new - 1) / (t2 - t1), out


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--new", type=int, default=64)
    ap.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    ap.add_argument("--torch-graph", type=Path, default=None,
                    help="a model folder built with --graph torch (default: <models>/dialog-smollm2/1.0.0 if present)")
    ap.add_argument("--genai", type=Path, default=None,
                    help="a folder made by `benchmarks/dialog_genai.py setup`: adds onnxruntime-genai as a backend")
    ap.add_argument("--long", type=int, default=400, help="tokens of earlier conversation before the long prompt (0: skip)")
    ap.add_argument("--acc0", action="store_true",
                    help="also quantise fp32 -> q8 with fp32 compute (accuracy_level 0) into a temp dir and compare it")
    a = ap.parse_args()
    folder = (a.models or default_models_dir()) / NAME / VERSION
    q8 = DialogModel.load(folder, threads=a.threads)
    try:
        fp32 = DialogModel.load(folder, threads=a.threads, variant="fp32")
    except Exception as e:
        print(f"no fp32 graph ({e}); build with --keep-fp32", file=sys.stderr)
        return 1
    tok = q8.tokenizer
    ids = tok.encode_parts(tok.chat.system(PERSONA) + tok.chat.user(LINE))
    history = []
    for line in TURNS * 20:      # whole earlier turns, until --long tokens (the reply repeats the line: only length matters)
        if len(history) >= a.long:
            break
        history += tok.encode_parts(tok.chat.user(line) + [(line, False)] + tok.chat.close_reply(False))
    prefix = tok.encode_parts(tok.chat.system(PERSONA))
    long_ids = prefix + history + tok.encode_parts(tok.chat.user(LINE))
    engines = {"ORT fp32 (fused)": fp32.engine, "ORT q8, int8 compute (fused; the built model)": q8.engine}
    old = a.torch_graph or ((a.models or default_models_dir()) / NAME / "1.0.0")
    if old.exists():
        old_model = DialogModel.load(old, threads=a.threads)
        if old_model.engine.graph == "torch":
            engines["ORT q8, int8 compute (torch-export graph, 1.0.0)"] = old_model.engine
    backends = {}
    for label, prompt in ((f"{len(ids)}-token prompt", ids), (f"after {len(long_ids)} tokens", long_ids)):
        if prompt is long_ids and not a.long:
            continue
        for k, e in engines.items():
            backends[f"{k}, {label}"] = (lambda e=e, p=prompt: ort_run(e, p, a.new))
    if a.genai:
        from dialog_genai import measure as genai_measure

        for label, prompt in ((f"{len(ids)}-token prompt", ids), (f"after {len(long_ids)} tokens", long_ids)):
            if prompt is long_ids and not a.long:
                continue
            backends[f"onnxruntime-genai 0.18 (its builder's int8 graph), {label}"] = (
                lambda p=prompt: genai_measure(a.genai, p, a.new, a.threads))
    extra_engines = {}
    if a.acc0:
        import tempfile

        from gamegen.generators.dialog.engine import Engine
        from gamegen.generators.dialog.export import quantize_q8

        tmp = Path(tempfile.mkdtemp(prefix="dialog-acc0-"))
        quantize_q8(fp32.engine.path, tmp / "model.onnx", accuracy_level=None)
        extra_engines["ORT q8 fp32-compute"] = Engine(tmp / "model.onnx", q8.engine.config, threads=a.threads)
        backends["ORT q8 fp32-compute"] = lambda: ort_run(extra_engines["ORT q8 fp32-compute"], ids, a.new)
    try:
        from llama_cpp import Llama as LlamaCpp

        llm = LlamaCpp(model_path=str(find_gguf()), n_ctx=2048, n_threads=a.threads, n_threads_batch=a.threads,
                       verbose=False)
        ll = {f"llama.cpp, {len(ids)}-token prompt": lambda: llamacpp_run(llm, ids, a.new)}
        if a.long:
            ll[f"llama.cpp, after {len(long_ids)} tokens"] = lambda: llamacpp_run(llm, long_ids, a.new)
        backends = {**ll, **backends}
        import llama_cpp

        llama_version = llama_cpp.__version__
    except ImportError:
        llm, llama_version = None, None
        print("llama-cpp-python is not installed: no llama.cpp column", file=sys.stderr)

    res: dict = {k: {"ttft": [], "tps": []} for k in backends}
    outs = {}
    for name, fn in backends.items():  # warm-up
        outs[name] = fn()[2]
    for _ in range(a.repeat):
        for name, fn in backends.items():
            ttft, tps, _ = fn()
            res[name]["ttft"].append(ttft)
            res[name]["tps"].append(tps)
    med = {k: {"ttft_ms": statistics.median(v["ttft"]), "tok_s": statistics.median(v["tps"]),
               "tok_s_min": min(v["tps"]), "tok_s_max": max(v["tps"])} for k, v in res.items()}
    print(f"{a.new} greedy new tokens, {a.threads} threads, median of {a.repeat} interleaved runs after a "
          "warm-up; ratios against llama.cpp (or the fp32 graph) on the same prompt\n")
    print("| backend | time to first token (ms) | decode tok/s (min-max) | decode speed ratio | TTFT ratio |")
    print("|---|---|---|---|---|")
    for k, m in med.items():
        suffix = k.rsplit(", ", 1)[1]
        ref = next((r for r in (f"llama.cpp, {suffix}", f"ORT fp32 (fused), {suffix}") if r in med), k)
        print(f"| {k} | {m['ttft_ms']:.0f} | {m['tok_s']:.1f} ({m['tok_s_min']:.0f}-{m['tok_s_max']:.0f}) | "
              f"{m['tok_s'] / med[ref]['tok_s']:.2f}x | {m['ttft_ms'] / med[ref]['ttft_ms']:.2f}x |")

    # greedy agreement over the fixed prompt set
    pids = prompt_ids(tok, AGREEMENT_PROMPTS)
    refs = [dd.greedy_tokens(fp32.engine, p, 48, tok.eos_id) for p in pids]
    total = sum(map(len, refs))

    def agreement(forced, own):
        tf = sum(x == y for f, r in zip(forced, refs) for x, y in zip(f, r)) / total
        first = [next((i for i, (x, y) in enumerate(zip(r, o)) if x != y), min(len(r), len(o))) for r, o in zip(refs, own)]
        return tf, sum(first) / total, first

    agree = {"ORT q8, int8 compute (fused; the built model)": agreement([q8.engine.argmax_along(p, r) for p, r in zip(pids, refs)],
                                 [dd.greedy_tokens(q8.engine, p, 48, tok.eos_id) for p in pids])}
    for k, eng in {**{k: e for k, e in engines.items() if "torch" in k}, **extra_engines}.items():
        agree[k] = agreement([eng.argmax_along(p, r) for p, r in zip(pids, refs)],
                             [dd.greedy_tokens(eng, p, 48, tok.eos_id) for p in pids])
    if llm is not None:
        from gamegen.generators.dialog.build import llamacpp_teacher_forced

        own = [llamacpp_run(llm, p, len(r))[2] for p, r in zip(pids, refs)]
        del llm  # the teacher-forced pass needs a context with logits for every position
        tf_ll = llamacpp_teacher_forced(find_gguf(), pids, refs, threads=a.threads)
        _, fr, first = agreement(refs, own)
        agree["llama.cpp (Q4_1 GGUF)"] = (tf_ll, fr, first)
    if a.genai:
        own = [genai_measure(a.genai, p, len(r), a.threads)[2] for p, r in zip(pids, refs)]
        _, fr, first = agreement(refs, own)
        agree["onnxruntime-genai 0.18, int8 (free-running only)"] = (float("nan"), fr, first)
    print(f"\nGreedy agreement with the ORT fp32 graph, {len(pids)} prompts x up to 48 tokens ({total} positions)\n")
    print("| candidate | teacher-forced | free-running | first difference per prompt |")
    print("|---|---|---|---|")
    for k, (tf, fr, first) in agree.items():
        print(f"| {k} | {'–' if tf != tf else format(tf, '.1%')} | {fr:.1%} | {first} |")

    # time to first token of a new turn in an open conversation
    params = dd.SamplingParams(max_new_tokens=48)
    conv = dd.Conversation(q8.engine, tok, PERSONA, seed=42)
    prime_ms = conv.prime()
    first = conv.say(LINE, params).run()
    turns = [conv.say(line, params).run() for line in TURNS]
    ttfts = [r.first_token_ms for r in turns]
    print(f"\nOpen conversation (q8, sampled): persona prefix {len(conv.prefix_ids)} tokens prefilled once in "
          f"{prime_ms:.0f} ms; first turn ({first.prompt_tokens} new tokens) first token {first.first_token_ms:.0f} ms\n")
    print("| turn | new tokens fed | tokens already cached | first token (ms) | decode tok/s | stop |")
    print("|---|---|---|---|---|---|")
    for i, r in enumerate(turns, 2):
        print(f"| {i} | {r.prompt_tokens} | {r.cached_tokens} | {r.first_token_ms:.0f} | {r.decode_tokens_per_s:.1f} | {r.stop_reason.value} |")
    print(f"\nnew-turn time to first token: median {statistics.median(ttfts):.0f} ms, max {max(ttfts):.0f} ms "
          f"(goal < 150 ms); process RSS {rss_mb():.0f} MB with both graphs loaded")
    if a.json:
        a.json.write_text(json.dumps({"speed": med, "agreement": {k: list(v) for k, v in agree.items()},
                                      "turn_ttft_ms": ttfts, "llama_cpp_python": llama_version,
                                      "threads": a.threads, "new": a.new, "prompt_tokens": len(ids)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
