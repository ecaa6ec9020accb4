"""Read a Llama GGUF: its :class:`LlamaConfig`, dequantised weights and tokenizer metadata.

The ``gguf`` package (from llama.cpp) parses the file and dequantises every tensor type it knows
(Q4_1, Q8_0, F16 ... -> float32). llama.cpp's converter stores the rows of ``attn_q`` and ``attn_k``
permuted for its interleaved RoPE; :func:`unpermute` puts them back in the rotate-half order that
:mod:`.nets` (like Hugging Face) uses, and :func:`permute` is its inverse (tests write GGUFs with it).
Build time only: numpy + gguf, no torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import LlamaConfig
from .errors import DialogModelError


def permute(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Hugging Face row order -> llama.cpp row order (``convert_hf_to_gguf.LlamaModel.permute``)."""
    return w.reshape(n_heads, 2, w.shape[0] // n_heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def unpermute(w: np.ndarray, n_heads: int) -> np.ndarray:
    """llama.cpp row order -> Hugging Face row order (inverse of :func:`permute`)."""
    return w.reshape(n_heads, w.shape[0] // n_heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


@dataclass
class TokenizerMeta:
    model: str                  # "gpt2" (byte-level BPE) is what this code reads
    pre: str                    # llama.cpp pre-tokenizer name ("smollm", "gpt2", ...)
    tokens: list[str]
    token_types: list[int]      # 1 normal, 3 control (special), 6 byte ...
    merges: list[str]
    bos_id: int
    eos_id: int
    chat_template: str | None


@dataclass
class GGUFModel:
    config: LlamaConfig
    weights: dict[str, np.ndarray]  # Hugging Face-style names -> float32 arrays, Q/K unpermuted
    tokenizer: TokenizerMeta
    metadata: dict                  # a few general.* fields for the manifest (name, license, file type)


def _field(reader, key: str, default=None):
    f = reader.fields.get(key)
    if f is None:
        return default
    return f.contents()


def read_gguf(path: Path | str, progress=None) -> GGUFModel:
    """Parse ``path``; ``progress(done, total)`` is called once per tensor while dequantising."""
    import gguf

    path = Path(path)
    if not path.is_file():
        raise DialogModelError(f"{path}: GGUF file not found")
    try:
        reader = gguf.GGUFReader(str(path))
    except Exception as e:  # the gguf package raises ValueError/struct errors on a bad file
        raise DialogModelError(f"{path}: not a readable GGUF file ({e})") from None
    arch = _field(reader, "general.architecture")
    if arch != "llama":
        raise DialogModelError(f"{path}: architecture {arch!r} is not supported (this reader handles 'llama')")

    def req(key):
        v = _field(reader, f"llama.{key}")
        if v is None:
            raise DialogModelError(f"{path}: GGUF metadata lacks llama.{key}")
        return v

    tensors = {t.name: t for t in reader.tensors}
    dim, n_heads = int(req("embedding_length")), int(req("attention.head_count"))
    n_kv = int(_field(reader, "llama.attention.head_count_kv", n_heads))
    rope_dim = int(_field(reader, "llama.rope.dimension_count", dim // n_heads))
    if rope_dim != dim // n_heads:
        raise DialogModelError(f"{path}: partial RoPE (rope dim {rope_dim} of head dim {dim // n_heads}) is not supported")
    if _field(reader, "llama.rope.scaling.type") not in (None, "none"):
        raise DialogModelError(f"{path}: RoPE scaling {_field(reader, 'llama.rope.scaling.type')!r} is not supported")
    tokens = list(_field(reader, "tokenizer.ggml.tokens") or [])
    emb = tensors.get("token_embd.weight")
    if emb is None:
        raise DialogModelError(f"{path}: no token_embd.weight tensor")
    config = LlamaConfig(
        vocab_size=int(emb.shape[1]), dim=dim, n_layers=int(req("block_count")), n_heads=n_heads, n_kv_heads=n_kv,
        ffn_dim=int(req("feed_forward_length")),
        rope_base=float(_field(reader, "llama.rope.freq_base", 10000.0)),
        rms_eps=float(req("attention.layer_norm_rms_epsilon")),
        context_length=int(req("context_length")),
        tied_embeddings="output.weight" not in tensors,
    )
    if tokens and len(tokens) != config.vocab_size:
        raise DialogModelError(f"{path}: {len(tokens)} tokens in the vocabulary but the embedding has {config.vocab_size} rows")

    names = {"token_embd.weight": "embed", "output_norm.weight": "norm", "output.weight": "lm_head"}
    per_layer = {"attn_norm": "attn_norm", "attn_q": "wq", "attn_k": "wk", "attn_v": "wv", "attn_output": "wo",
                 "ffn_norm": "ffn_norm", "ffn_gate": "w_gate", "ffn_up": "w_up", "ffn_down": "w_down"}
    for i in range(config.n_layers):
        for g, h in per_layer.items():
            names[f"blk.{i}.{g}.weight"] = f"layers.{i}.{h}"
    weights = {}
    wanted = [n for n in names if n in tensors]
    for k, gname in enumerate(wanted):
        t = tensors[gname]
        w = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32, copy=False)
        w = w.reshape([int(d) for d in reversed(t.shape)]) if w.ndim != len(t.shape) else w
        if gname.endswith("attn_q.weight"):
            w = unpermute(w, config.n_heads)
        elif gname.endswith("attn_k.weight"):
            w = unpermute(w, config.n_kv_heads)
        weights[names[gname]] = np.ascontiguousarray(w)
        if progress:
            progress(k + 1, len(wanted))
    missing = [h for g, h in names.items() if g not in tensors and g != "output.weight"]
    if missing:
        raise DialogModelError(f"{path}: missing tensor(s) for {', '.join(missing[:5])}")

    tok = TokenizerMeta(
        model=str(_field(reader, "tokenizer.ggml.model", "")), pre=str(_field(reader, "tokenizer.ggml.pre", "default")),
        tokens=tokens, token_types=[int(x) for x in (_field(reader, "tokenizer.ggml.token_type") or [1] * len(tokens))],
        merges=list(_field(reader, "tokenizer.ggml.merges") or []),
        bos_id=int(_field(reader, "tokenizer.ggml.bos_token_id", -1)),
        eos_id=int(_field(reader, "tokenizer.ggml.eos_token_id", -1)),
        chat_template=_field(reader, "tokenizer.chat_template"),
    )
    meta = {k: _field(reader, f"general.{k}") for k in ("name", "license", "file_type", "basename", "size_label")}
    return GGUFModel(config, weights, tok, {k: v for k, v in meta.items() if v is not None})
