"""onnxruntime-genai as the peer runtime: the same SmolLM2 weights through its own model builder.

    python benchmarks/dialog_genai.py setup [--dir /tmp/gamegen-genai]     # once, ~5 min
    python benchmarks/dialog_speed.py --genai /tmp/gamegen-genai            # adds its column

onnxruntime-genai depends on the plain ``onnxruntime`` package, which must never be installed
beside the ``onnxruntime-gpu`` this project uses, so it lives in its own virtual environment
(``<dir>/venv``: onnxruntime-genai, and torch + transformers for its builder). ``setup`` reads the
GGUF with our reader (dequantised, Q/K rows in Hugging Face order), writes a Hugging Face folder
of those fp32 weights (the builder takes GGUFs only in float16/float32), and runs the builder with
``-p int8 -e cpu`` and accuracy level 4 — the same 8-bit weight-only MatMulNBits with int8
activations as our build — into ``<dir>/int8``. ``run`` (called by ``dialog_speed.py`` with the
venv's python, once per measurement) times one greedy generation from given token ids.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

PACKAGES = ["onnxruntime-genai==0.18.0", "torch==2.13.0", "transformers", "onnx", "onnx-ir", "onnxscript", "numpy"]

TO_HF = r"""
import json, sys, numpy as np, torch
from pathlib import Path
from transformers import LlamaConfig, LlamaForCausalLM
d = Path(sys.argv[1]); W = dict(np.load(d / "weights.npz")); C = json.loads((d / "config.json").read_text())
hf = LlamaConfig(vocab_size=C["vocab_size"], hidden_size=C["dim"], intermediate_size=C["ffn_dim"],
                 num_hidden_layers=C["n_layers"], num_attention_heads=C["n_heads"], num_key_value_heads=C["n_kv_heads"],
                 rms_norm_eps=C["rms_eps"], rope_theta=C["rope_base"], max_position_embeddings=C["context_length"],
                 tie_word_embeddings=True, bos_token_id=C["bos"], eos_token_id=C["eos"])
m = LlamaForCausalLM(hf)
names = {"wq": "self_attn.q_proj", "wk": "self_attn.k_proj", "wv": "self_attn.v_proj", "wo": "self_attn.o_proj",
         "w_gate": "mlp.gate_proj", "w_up": "mlp.up_proj", "w_down": "mlp.down_proj",
         "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm"}
sd = {"model.embed_tokens.weight": W["embed"], "model.norm.weight": W["norm"], "lm_head.weight": W["embed"]}
for i in range(C["n_layers"]):
    for a, b in names.items():
        sd[f"model.layers.{i}.{b}.weight"] = W[f"layers.{i}.{a}"]
m.load_state_dict({k: torch.from_numpy(np.asarray(v, np.float32)) for k, v in sd.items()}, strict=True)
m.save_pretrained(d / "hf")
(d / "hf" / "tokenizer.json").write_text((d / "tokenizer.json").read_text())
(d / "hf" / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "PreTrainedTokenizerFast",
    "bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "chat_template": C["template"]}))
"""


def setup(d: Path, threads: int) -> None:
    import numpy as np

    from gamegen.generators.dialog.build import find_gguf
    from gamegen.generators.dialog.gguf_io import read_gguf
    from gamegen.generators.dialog.tokenizer import Tokenizer

    d.mkdir(parents=True, exist_ok=True)
    py = d / "venv" / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(d / "venv")], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", *PACKAGES], check=True)
    g = read_gguf(find_gguf())
    np.savez(d / "weights.npz", **g.weights)
    (d / "config.json").write_text(json.dumps({**g.config.to_dict(), "bos": g.tokenizer.bos_id,
                                               "eos": g.tokenizer.eos_id, "template": g.tokenizer.chat_template}))
    (d / "tokenizer.json").write_text(Tokenizer.from_gguf_meta(g.tokenizer).json)
    subprocess.run([str(py), "-c", TO_HF, str(d)], check=True)
    subprocess.run([str(py), "-m", "onnxruntime_genai.models.builder", "-i", str(d / "hf"), "-o", str(d / "int8"),
                    "-p", "int8", "-e", "cpu", "-c", str(d / "cache"), "--extra_options", "int4_accuracy_level=4"],
                   check=True, stdout=subprocess.DEVNULL)
    cfg_path = d / "int8" / "genai_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["model"]["decoder"]["session_options"].update({"intra_op_num_threads": threads, "inter_op_num_threads": 1})
    cfg_path.write_text(json.dumps(cfg, indent=2))
    print(f"built {d / 'int8'} ({threads} threads); python for `run`: {py}")


def run(model_dir: Path, ids: list[int], n_new: int, threads: int) -> dict:
    """In the genai venv: one warm-up, then one timed greedy generation of ``n_new`` tokens."""
    import numpy as np
    import onnxruntime_genai as og

    cfg_path = model_dir / "genai_config.json"
    cfg = json.loads(cfg_path.read_text())
    if cfg["model"]["decoder"]["session_options"].get("intra_op_num_threads") != threads:
        cfg["model"]["decoder"]["session_options"]["intra_op_num_threads"] = threads
        cfg_path.write_text(json.dumps(cfg, indent=2))

    cfg = og.Config(str(model_dir))
    cfg.clear_providers()
    model = og.Model(cfg)

    def once():
        p = og.GeneratorParams(model)
        p.set_search_options(do_sample=False, max_length=len(ids) + n_new + 8)  # its shared KV buffer's length
        g = og.Generator(model, p)
        t0 = time.perf_counter()
        g.append_tokens(np.array(ids, dtype=np.int32))
        g.generate_next_token()
        t1 = time.perf_counter()
        for _ in range(n_new - 1):
            g.generate_next_token()
        t2 = time.perf_counter()
        return {"ttft_ms": (t1 - t0) * 1e3, "tok_s": (n_new - 1) / (t2 - t1),
                "tokens": [int(t) for t in g.get_sequence(0)][len(ids):]}

    once()
    return once()


def measure(d: Path, ids: list[int], n_new: int, threads: int) -> tuple[float, float, list[int]]:
    """From the project's venv: :func:`run` in the genai venv; (ttft ms, tok/s, tokens)."""
    p = subprocess.run([str(d / "venv" / "bin" / "python"), __file__, "run", "--dir", str(d), "--new", str(n_new),
                        "--threads", str(threads)],
                       input=json.dumps(ids), capture_output=True, text=True, check=True)
    r = json.loads(p.stdout.strip().splitlines()[-1])
    return r["ttft_ms"], r["tok_s"], r["tokens"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=("setup", "run"))
    ap.add_argument("--dir", type=Path, default=Path("/tmp/gamegen-genai"))
    ap.add_argument("--threads", type=int, default=2, help="ONNX Runtime intra-op threads of its session")
    ap.add_argument("--new", type=int, default=64)
    a = ap.parse_args()
    if a.command == "setup":
        setup(a.dir, a.threads)
    else:
        print(json.dumps(run(a.dir / "int8", json.loads(sys.stdin.read()), a.new, a.threads)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
