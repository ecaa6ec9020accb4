"""The decoder written directly as an ONNX graph of ONNX Runtime's fused operators.

The torch export (:mod:`.export`) spells each layer out as ~40 small ops: RMSNorm as pow/mean/
rsqrt/mul, RoPE as slices and concats, the past concatenated into a new present every step. At
batch 1 a step of a 135M model is short enough that those op launches and copies, not the
weights, set the speed. :func:`build_fused` writes the same mathematics as 11 ops per layer, the
form onnxruntime-genai's model builder emits:

* ``SimplifiedLayerNormalization`` / ``SkipSimplifiedLayerNormalization`` (RMSNorm, fused with
  the residual add);
* one ``MatMul`` for Q, K and V together and one for gate and up (quantised afterwards to
  ``MatMulNBits`` like every weight);
* ``GroupQueryAttention`` (com.microsoft) with rotary embedding inside (``do_rotary``, rotate-half
  as our torch model, the cos/sin tables computed here from the RoPE base), causal, GQA without
  repeating heads, and a KV cache that can be **shared between past and present**: when the
  caller binds the same buffer to ``past_key_values.i.*`` and ``present.i.*`` (capacity longer
  than the conversation), the op writes the new positions in place and copies nothing.

Inputs: ``input_ids`` [batch, seq] int64, ``seqlens_k`` [batch] int32 (total length - 1 per row),
``total_sequence_length`` [] int32, then the past per layer [batch, kv_heads, capacity, head_dim].
Outputs: ``logits`` [batch, 1, vocab] of the last position, then the presents. Several new tokens
after a past take batch 1 (GroupQueryAttention's rule); a batch of single-token steps may give
each row its own length in ``seqlens_k`` (what batching concurrent conversations would use; the
engine does not batch them yet).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .config import LlamaConfig

FUSED_INPUTS = ("input_ids", "seqlens_k", "total_sequence_length")
OPSET = 21


def io_names(cfg: LlamaConfig) -> tuple[list[str], list[str]]:
    past = [f"past_key_values.{i}.{kv}" for i in range(cfg.n_layers) for kv in ("key", "value")]
    present = [f"present.{i}.{kv}" for i in range(cfg.n_layers) for kv in ("key", "value")]
    return [*FUSED_INPUTS, *past], ["logits", *present]


def rope_tables(cfg: LlamaConfig) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin [context_length, head_dim / 2] for the rotate-half RoPE of :mod:`.nets`."""
    hd = cfg.head_dim
    inv = 1.0 / (cfg.rope_base ** (np.arange(0, hd, 2, dtype=np.float64) / hd))
    # same float32 product as the torch model (position * inv_freq in float32), then cos/sin
    ang = np.arange(cfg.context_length, dtype=np.float32)[:, None] * inv.astype(np.float32)[None]
    return np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)


def build_fused(cfg: LlamaConfig, weights: dict[str, np.ndarray], path: Path | str) -> None:
    """Write the fp32 fused graph of ``weights`` (names of :func:`.gguf_io.read_gguf`) to ``path``.

    Every weight is an fp32 ``MatMul`` (quantised afterwards); the output layer is its own
    initializer (untied) so that quantisation reaches it.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    H, KV, hd, F = cfg.n_heads, cfg.n_kv_heads, cfg.head_dim, cfg.ffn_dim
    inits: list = []
    nodes: list = []

    def init(name, arr):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr, dtype=arr.dtype), name))
        return name

    def node(op, ins, outs, domain="", **attrs):
        nodes.append(helper.make_node(op, ins, outs, name=outs[0], domain=domain, **attrs))
        return outs[0] if len(outs) == 1 else outs

    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731

    def matmul(x, parts: list[str], out: str):
        """x @ concat(parts).T as one fp32 MatMul (Q, K, V together; gate and up together)."""
        w = np.concatenate([weights[p] for p in parts], axis=0).T if len(parts) > 1 else weights[parts[0]].T
        return node("MatMul", [x, init(out + ".weight", f32(w))], [out])

    ins, outs = io_names(cfg)
    cos, sin = rope_tables(cfg)
    init("cos_cache", cos)
    init("sin_cache", sin)
    init("embed", f32(weights["embed"]))
    init("gu_split", np.array([F, F], dtype=np.int64))
    x = node("Gather", ["embed", "input_ids"], ["embeddings"])
    residual, mlp = x, None
    eps = float(cfg.rms_eps)
    for i in range(cfg.n_layers):
        p = f"layers.{i}."
        init(p + "attn_norm", f32(weights[p + "attn_norm"]))
        if mlp is None:
            h = node("SimplifiedLayerNormalization", [x, p + "attn_norm"], [p + "attn_in"], axis=-1, epsilon=eps,
                     stash_type=1)
        else:
            h, _, _, residual = node("SkipSimplifiedLayerNormalization", [mlp, residual, p + "attn_norm"],
                                     [p + "attn_in", "", "", p + "attn_res"], domain="com.microsoft", epsilon=eps)
        qkv = matmul(h, [p + "wq", p + "wk", p + "wv"], p + "qkv")
        attn, _, _ = node("GroupQueryAttention",
                          [qkv, "", "", ins[3 + 2 * i], ins[4 + 2 * i], "seqlens_k", "total_sequence_length",
                           "cos_cache", "sin_cache"],
                          [p + "attn", outs[1 + 2 * i], outs[2 + 2 * i]], domain="com.microsoft",
                          num_heads=H, kv_num_heads=KV, do_rotary=1, rotary_interleaved=0,
                          scale=float(1.0 / np.sqrt(hd)))
        o = matmul(attn, [p + "wo"], p + "o")
        init(p + "ffn_norm", f32(weights[p + "ffn_norm"]))
        h2, _, _, residual = node("SkipSimplifiedLayerNormalization", [o, residual, p + "ffn_norm"],
                                  [p + "ffn_in", "", "", p + "ffn_res"], domain="com.microsoft", epsilon=eps)
        gu = matmul(h2, [p + "w_gate", p + "w_up"], p + "gu")
        g, u = node("Split", [gu, "gu_split"], [p + "gate", p + "up"], axis=-1)
        act = node("Mul", [g, node("Sigmoid", [g], [p + "sig"])], [p + "silu"])
        mlp = matmul(node("Mul", [act, u], [p + "gated"]), [p + "w_down"], p + "mlp")
    # last position only: slice the MLP output and the residual, then the final norm and the head
    init("last_start", np.array([-1], dtype=np.int64))
    init("last_end", np.array([np.iinfo(np.int64).max], dtype=np.int64))
    init("seq_axis", np.array([1], dtype=np.int64))
    m_last = node("Slice", [mlp, "last_start", "last_end", "seq_axis"], ["mlp_last"])
    r_last = node("Slice", [residual, "last_start", "last_end", "seq_axis"], ["res_last"])
    init("norm", f32(weights["norm"]))
    hf, _, _, _ = node("SkipSimplifiedLayerNormalization", [m_last, r_last, "norm"], ["final", "", "", ""],
                       domain="com.microsoft", epsilon=eps)
    head = weights.get("lm_head", weights["embed"])
    node("MatMul", [hf, init("lm_head", f32(head.T))], ["logits"])

    kv_shape = ["batch", KV, "capacity", hd]
    graph = helper.make_graph(
        nodes, "gamegen-dialog-fused",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("seqlens_k", TensorProto.INT32, ["batch"]),
         helper.make_tensor_value_info("total_sequence_length", TensorProto.INT32, []),
         *(helper.make_tensor_value_info(n, TensorProto.FLOAT, kv_shape) for n in ins[3:])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 1, cfg.vocab_size]),
         *(helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch", KV, "present", hd]) for n in outs[1:])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET),
                                                    helper.make_opsetid("com.microsoft", 1)],
                              producer_name="gamegen")
    model.ir_version = 10
    onnx.save_model(model, str(path), save_as_external_data=False)

