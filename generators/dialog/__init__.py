"""Dialog: a small instruct LLM (SmolLM2-135M-Instruct from a GGUF) served from ONNX Runtime.

Build time (torch): :mod:`.gguf_io` reads the GGUF (config, dequantised weights, tokenizer
metadata), :mod:`.nets` is the Llama in PyTorch, :mod:`.export` writes the ONNX graph with the KV
cache as inputs/outputs, checks parity and quantises, :mod:`.build` assembles
``models/dialog-smollm2/<version>/`` (``python -m gamegen.generators.dialog.build``), :mod:`.tiny`
writes a tiny random Llama GGUF for tests.

Serving (no torch): :mod:`.tokenizer` (HF ``tokenizers`` + ChatML), :mod:`.engine` (the ORT
session and the KV cache), :mod:`.decode` (sampling, stop rules, UTF-8-safe text deltas,
cancellation, a logits-processor hook, conversations that keep their cache between turns).

A session layer needs only: ``m = DialogModel.load(folder)``, ``conv = Conversation(m.engine,
m.tokenizer, persona, seed=...)``, then per player line ``turn = conv.say(line, SamplingParams(...),
cancel=event)``; iterate ``turn`` for :class:`.decode.Delta` text deltas and read ``turn.result``
(:class:`.decode.TurnResult`: stop reason, token counts, timings); ``turn.close()`` when abandoned.
Errors are :class:`.errors.DialogInputError` (field, value, what is allowed).
"""
