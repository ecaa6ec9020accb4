"""Dialog: a small instruct LLM (SmolLM2-135M-Instruct from a GGUF) served from ONNX Runtime.

Build time (torch): :mod:`.gguf_io` reads the GGUF (config, dequantised weights, tokenizer
metadata), :mod:`.nets` is the Llama in PyTorch, :mod:`.export` writes the ONNX graph with the KV
cache as inputs/outputs and checks parity, :mod:`.build` assembles ``models/dialog-smollm2/<version>/``.

Serving (no torch): :mod:`.tokenizer` (HF ``tokenizers`` + ChatML), :mod:`.engine` (the ORT
session and the KV cache), :mod:`.decode` (sampling, stop rules, UTF-8-safe text deltas,
cancellation, conversations that keep their cache between turns).
"""
