"""Llama (torch) -> ONNX with the KV cache as inputs/outputs; parity and quantisation gates.

:func:`export_onnx` writes one graph for prefill and decode (``torch.onnx.export(dynamo=True)``)
with dynamic batch, sequence and past lengths; an empty past (length 0) is valid at run time.
:func:`check_parity` runs ONNX Runtime against PyTorch on prefill, cached decode and a padded
batch, and raises :class:`ParityError` above the tolerance. :func:`quantize_q8` makes the 8-bit
weight-only variant (``MatMulNBits``); :func:`token_agreement` measures its drift from fp32 as
greedy-token agreement, and :func:`llamacpp_greedy` gives llama.cpp's greedy tokens on the GGUF
when ``llama-cpp-python`` is installed.
"""

from __future__ import annotations

import contextlib
import io
import logging
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from gamegen.exporters.onnx_export import ParityError

from .fused import io_names as fused_io_names
from .nets import Llama, io_names


def _example(cfg, batch: int, seq: int, past: int, gen: torch.Generator, model=None):
    """Inputs for one call; with ``model`` the past is the model's own cache of random tokens."""
    ids = torch.randint(0, cfg.vocab_size, (batch, seq), generator=gen)
    mask = torch.ones(batch, past + seq, dtype=torch.int64)
    pos = (torch.arange(seq) + past)[None].expand(batch, seq).contiguous()
    empty = torch.zeros(batch, cfg.n_kv_heads, 0, cfg.head_dim)
    if model is not None and past > 0:
        prev = torch.randint(0, cfg.vocab_size, (batch, past), generator=gen)
        with torch.no_grad():
            kv = model(prev, torch.ones(batch, past, dtype=torch.int64), torch.arange(past)[None].expand(batch, past),
                       tuple(empty for _ in range(2 * cfg.n_layers)))[1:]
    else:
        kv = tuple(torch.randn(batch, cfg.n_kv_heads, past, cfg.head_dim, generator=gen) * 0.5
                   for _ in range(2 * cfg.n_layers))
    return ids, mask, pos, kv


def export_onnx(model: Llama, path: Path | str) -> float:
    """Export ``model`` to ``path`` (one file, weights inside); returns the seconds it took."""
    cfg = model.cfg
    B = torch.export.Dim("batch", min=1, max=256)
    S = torch.export.Dim("seq", min=1, max=cfg.context_length)
    P = torch.export.Dim("past", min=0, max=cfg.context_length)
    T = torch.export.Dim("total", min=1, max=2 * cfg.context_length)
    kv = {0: B, 2: P}
    dynamic = ({0: B, 1: S}, {0: B, 1: T}, {0: B, 1: S}, tuple(kv for _ in range(2 * cfg.n_layers)))
    example = _example(cfg, 2, 3, 4, torch.Generator().manual_seed(0))
    ins, outs = io_names(cfg)
    t0 = time.perf_counter()
    log = logging.getLogger("torch.onnx")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, example, str(path), dynamo=True, external_data=False, input_names=ins,
                              output_names=outs, dynamic_shapes=dynamic, verbose=False)
    finally:
        log.setLevel(level)
    return time.perf_counter() - t0


PARITY_CASES = ({"batch": 1, "seq": 9, "past": 0}, {"batch": 1, "seq": 1, "past": 9},
                {"batch": 1, "seq": 4, "past": 12}, {"batch": 2, "seq": 3, "past": 5})
# GroupQueryAttention takes several new tokens after a past only at batch 1: batches are checked as
# a batched prefill and a batched decode step
FUSED_PARITY_CASES = PARITY_CASES[:3] + ({"batch": 2, "seq": 3, "past": 0}, {"batch": 2, "seq": 1, "past": 5})


def check_parity(model: Llama, onnx_path: Path | str, tolerance: float, cases=None,
                 graph: str = "torch") -> dict:
    """ORT vs torch logits and presents on each case; :class:`ParityError` above ``tolerance``.

    The past of each case is the model's own cache of random tokens (random KV values would drive
    a deep model far outside what it ever sees). For the torch graph the batch case masks the first
    key position of row 1, as a left-padded batch would; the fused graph (:mod:`.fused`) takes
    lengths instead of masks, so its batch case is two full rows.
    """
    import onnxruntime as ort

    cases = cases or (FUSED_PARITY_CASES if graph == "fused" else PARITY_CASES)
    cfg = model.cfg
    ins, outs = (fused_io_names if graph == "fused" else io_names)(cfg)
    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
    gen = torch.Generator().manual_seed(1234)
    worst_logits = worst_cache = 0.0
    top1 = True
    for case in cases:
        ids, mask, pos, kv = _example(cfg, case["batch"], case["seq"], case["past"], gen, model)
        if graph == "torch" and case["batch"] > 1 and case["past"] > 0:
            mask[1, 0] = 0
        with torch.no_grad():
            ref = model(ids, mask, pos, kv)
        if graph == "fused":
            total = case["past"] + case["seq"]
            head = [ids.numpy(), np.full(case["batch"], total - 1, np.int32), np.array(total, np.int32)]
        else:
            head = [ids.numpy(), mask.numpy(), pos.numpy()]
        got = sess.run(None, dict(zip(ins, [*head, *(t.numpy() for t in kv)])))
        for name, r, g in zip(outs, ref, got):
            if tuple(r.shape) != g.shape:
                raise ParityError(f"{onnx_path}: output {name} has shape {g.shape} in ONNX Runtime, "
                                  f"{tuple(r.shape)} in PyTorch for {case}")
        worst_logits = max(worst_logits, float(np.abs(ref[0].numpy() - got[0]).max()))
        worst_cache = max(worst_cache, max(float(np.abs(r.numpy() - g).max()) for r, g in zip(ref[1:], got[1:])))
        top1 &= bool((ref[0].numpy().argmax(-1) == got[0].argmax(-1)).all())
    worst = max(worst_logits, worst_cache)
    if not worst <= tolerance or not top1:
        raise ParityError(f"{onnx_path}: ONNX Runtime differs from PyTorch by {worst:.3g} (tolerance {tolerance:.3g}"
                          f"{'' if top1 else ', and the top token differs'}) over {list(cases)}; nothing written")
    return {"graph": graph, "max_abs_diff": worst, "max_abs_diff_logits": worst_logits, "max_abs_diff_cache": worst_cache,
            "tolerance": tolerance, "shapes": list(cases), "provider": "CPUExecutionProvider",
            "torch": torch.__version__, "onnxruntime": ort.__version__}


def quantize_q8(src: Path | str, dst: Path | str, block_size: int = 32, accuracy_level: int | None = 4) -> None:
    """8-bit weight-only quantisation of every MatMul with a constant weight (``MatMulNBits``).

    Weights are 8-bit symmetric in blocks of ``block_size``; ``accuracy_level=4`` lets the kernel
    quantise activations to int8 per block on the fly (the fast path); ``None`` computes in fp32.
    The embedding ``Gather`` stays fp32.
    """
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    model = onnx.load(str(src))
    q = MatMulNBitsQuantizer(model, bits=8, block_size=block_size, is_symmetric=True, accuracy_level=accuracy_level)
    logging.getLogger("onnxruntime.quantization").setLevel(logging.ERROR)
    with contextlib.redirect_stdout(io.StringIO()):
        q.process()
    onnx.save_model(q.model.model, str(dst))


def token_agreement(reference, candidate, prompts: list[list[int]], n_new: int) -> dict:
    """Greedy drift of ``candidate`` from ``reference`` (two :class:`.engine.Engine`) over ``prompts``.

    * ``teacher_forced``: fraction of positions where the candidate's argmax equals the
      reference's when both read the reference's greedy continuation (a divergence does not cascade);
    * ``free_running``: fraction of positions where the candidate's own greedy continuation equals
      the reference's (everything after the first difference counts as a miss).
    """
    from .decode import greedy_tokens

    tf_hit = fr_hit = total = 0
    first_diff = []
    for ids in prompts:
        ref = greedy_tokens(reference, ids, n_new)
        cand = greedy_tokens(candidate, ids, n_new)
        forced = candidate.argmax_along(ids, ref)
        tf_hit += sum(int(a == b) for a, b in zip(forced, ref))
        same = next((i for i, (a, b) in enumerate(zip(ref, cand)) if a != b), min(len(ref), len(cand)))
        fr_hit += same
        first_diff.append(same)
        total += len(ref)
    return {"teacher_forced": tf_hit / max(total, 1), "free_running": fr_hit / max(total, 1),
            "first_difference": first_diff, "positions": total, "prompts": len(prompts), "new_tokens": n_new}


def llamacpp_greedy(gguf_path: Path | str, prompts: list[list[int]], n_new: int, threads: int = 2) -> list[list[int]] | None:
    """llama.cpp's greedy continuation of each prompt (token ids), or None without llama-cpp-python."""
    try:
        from llama_cpp import Llama as LlamaCpp
    except ImportError:
        return None
    llm = LlamaCpp(model_path=str(gguf_path), n_ctx=2048, n_threads=threads, n_threads_batch=threads,
                   verbose=False, logits_all=False)
    out = []
    for ids in prompts:
        llm.reset()
        toks = []
        for tok in llm.generate(ids, temp=0.0, top_k=1, repeat_penalty=1.0, reset=True):
            toks.append(int(tok))
            if len(toks) >= n_new or tok == llm.token_eos():
                break
        out.append(toks)
    del llm
    return out
