"""A tiny random Llama written as a real GGUF, for tests (here and in the session/server tests).

:func:`write_tiny_gguf` trains a byte-level BPE of a few hundred tokens on a handful of NPC lines
(with ChatML control tokens and multibyte characters), draws seeded random weights and writes them
with the ``gguf`` package's ``GGUFWriter`` exactly as llama.cpp's converter would: Q/K rows
permuted for its RoPE, a non-default RoPE base, GQA, a tied output layer, and a mix of F32, F16
and Q8_0 tensors so that dequantisation is exercised. Returns the Hugging Face-order weights that
went in, so a test can check what comes back out.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .gguf_io import permute

TEXTS = [
    "Halt! Who goes there? State your business at the north gate.",
    "Welcome to the Prancing Pony, traveler. A room costs five silver.",
    "I forged this blade myself, from star iron and dragon fire.",
    "The missing shipment? I know nothing about any shipment.",
    "Café au lait, über alles, naïve señor, 🐉 dragons and 🗡 swords, ½ price, 東京.",
    "Numbers: 12, 345, 6789. Quests: find the amulet, slay the wolf, return home.",
]
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def write_tiny_gguf(path: Path | str, *, seed: int = 0, vocab_size: int = 320, dim: int = 64, n_layers: int = 2,
                    n_heads: int = 4, n_kv_heads: int = 2, ffn_dim: int = 128, context_length: int = 256,
                    rope_base: float = 50000.0, scale: float = 0.08) -> dict[str, np.ndarray]:
    import gguf
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tk.train_from_iterator(TEXTS * 4, trainer)
    spec = json.loads(tk.to_str())
    vocab = spec["model"]["vocab"]
    tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
    merges = [m if isinstance(m, str) else " ".join(m) for m in spec["model"]["merges"]]
    types = [3 if t in SPECIALS else 1 for t in tokens]
    n_vocab = len(tokens)

    rng = np.random.default_rng(seed)
    hd = dim // n_heads

    def w(*shape, s=scale):
        return (rng.standard_normal(shape) * s).astype(np.float32)

    weights = {"embed": w(n_vocab, dim, s=0.1), "norm": (1 + w(dim, s=0.1))}
    for i in range(n_layers):
        weights.update({
            f"layers.{i}.attn_norm": 1 + w(dim, s=0.1), f"layers.{i}.ffn_norm": 1 + w(dim, s=0.1),
            f"layers.{i}.wq": w(n_heads * hd, dim, s=0.25), f"layers.{i}.wk": w(n_kv_heads * hd, dim, s=0.25),
            f"layers.{i}.wv": w(n_kv_heads * hd, dim), f"layers.{i}.wo": w(dim, n_heads * hd),
            f"layers.{i}.w_gate": w(ffn_dim, dim), f"layers.{i}.w_up": w(ffn_dim, dim), f"layers.{i}.w_down": w(dim, ffn_dim),
        })

    wr = gguf.GGUFWriter(str(path), "llama")
    wr.add_name("tiny-random-llama")
    wr.add_license("mit")
    wr.add_context_length(context_length)
    wr.add_embedding_length(dim)
    wr.add_block_count(n_layers)
    wr.add_feed_forward_length(ffn_dim)
    wr.add_head_count(n_heads)
    wr.add_head_count_kv(n_kv_heads)
    wr.add_rope_dimension_count(hd)
    wr.add_rope_freq_base(rope_base)
    wr.add_layer_norm_rms_eps(1e-5)
    wr.add_tokenizer_model("gpt2")
    wr.add_tokenizer_pre("smollm")
    wr.add_token_list(tokens)
    wr.add_token_types(types)
    wr.add_token_merges(merges)
    wr.add_bos_token_id(SPECIALS.index("<|im_start|>"))
    wr.add_eos_token_id(SPECIALS.index("<|im_end|>"))

    Q8 = gguf.GGMLQuantizationType.Q8_0

    def put(name, arr, kind="f32"):
        if kind == "q8":
            wr.add_tensor(name, gguf.quants.quantize(arr, Q8), raw_dtype=Q8)
        elif kind == "f16":
            wr.add_tensor(name, arr.astype(np.float16))
        else:
            wr.add_tensor(name, arr)

    put("token_embd.weight", weights["embed"], "f16")
    put("output_norm.weight", weights["norm"])
    for i in range(n_layers):
        p = f"blk.{i}."
        put(p + "attn_norm.weight", weights[f"layers.{i}.attn_norm"])
        put(p + "attn_q.weight", permute(weights[f"layers.{i}.wq"], n_heads))
        put(p + "attn_k.weight", permute(weights[f"layers.{i}.wk"], n_kv_heads))
        put(p + "attn_v.weight", weights[f"layers.{i}.wv"], "q8")
        put(p + "attn_output.weight", weights[f"layers.{i}.wo"])
        put(p + "ffn_norm.weight", weights[f"layers.{i}.ffn_norm"])
        put(p + "ffn_gate.weight", weights[f"layers.{i}.w_gate"], "q8")
        put(p + "ffn_up.weight", weights[f"layers.{i}.w_up"], "q8")
        put(p + "ffn_down.weight", weights[f"layers.{i}.w_down"], "q8")
    wr.write_header_to_file()
    wr.write_kv_data_to_file()
    wr.write_tensors_to_file()
    wr.close()
    return weights
