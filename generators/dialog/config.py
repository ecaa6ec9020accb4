"""``LlamaConfig``: the shape of a Llama-architecture model, read from GGUF metadata or a manifest."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from .errors import DialogModelError


@dataclass(frozen=True)
class LlamaConfig:
    vocab_size: int
    dim: int                 # embedding length
    n_layers: int
    n_heads: int
    n_kv_heads: int          # < n_heads: grouped-query attention
    ffn_dim: int
    rope_base: float         # RoPE frequency base (100000 for SmolLM2; llama.cpp's default is 10000)
    rms_eps: float
    context_length: int
    tied_embeddings: bool    # no output.weight: the output layer reuses the token embedding

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads

    def __post_init__(self):
        if self.dim % self.n_heads or self.n_heads % self.n_kv_heads or self.head_dim % 2:
            raise DialogModelError(f"inconsistent Llama shape: dim {self.dim}, heads {self.n_heads}, "
                                   f"kv heads {self.n_kv_heads} (dim must split into even-sized heads, "
                                   "heads into kv groups)")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "LlamaConfig":
        names = {f.name for f in fields(cls)}
        missing = names - d.keys()
        if missing:
            raise DialogModelError(f"model config lacks {', '.join(sorted(missing))}")
        return cls(**{k: d[k] for k in names})
