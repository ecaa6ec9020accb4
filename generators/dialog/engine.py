"""The dialog model at run time: one ONNX Runtime session and its KV cache. No torch.

:class:`Engine` runs a built graph: ``step`` feeds new tokens after a :class:`KVCache` and returns
the next-token logits and the longer cache. Two graph layouts load:

* ``fused`` (:mod:`.fused`, models from 1.1.0): the cache is a buffer with room to grow, bound
  with ONNX Runtime's I/O binding as both the past input and the present output, so a step writes
  only its new positions, in place, and allocates nothing;
* ``torch`` (:func:`.export.export_onnx`, 1.0.0): the past goes in and a longer present comes
  out, new arrays every step.

Either way a :class:`KVCache` never changes under its holder: a step extends a buffer in place only
from the buffer's newest cache and copies otherwise, so a cached prefix (a persona card) can be
shared by many conversations and ``truncate`` is a view. :class:`DialogModel` loads a model folder
(manifest, checksums, tokenizer, graph).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from gamegen.exporters.manifest import load_manifest, verify_checksum

from .config import LlamaConfig
from .errors import DialogInputError, DialogModelError
from .fused import FUSED_INPUTS
from .tokenizer import Tokenizer


class _Buffer:
    """A fused graph's KV buffer: arrays of a fixed capacity and how many positions hold values.

    Positions below ``filled`` are never written again, so every :class:`KVCache` that views this
    buffer (a shorter one included) stays valid; only the cache whose length is ``filled`` may
    extend it in place (:meth:`claim`), any other one is copied into a new buffer first.
    """

    __slots__ = ("arrays", "capacity", "filled", "lock", "binding", "logits", "feeds")

    def __init__(self, arrays: tuple[np.ndarray, ...], filled: int):
        self.arrays, self.capacity, self.filled = arrays, int(arrays[0].shape[2]), filled
        self.lock = threading.Lock()
        self.binding = self.logits = None
        self.feeds: tuple = ()

    def claim(self, length: int, new: int) -> bool:
        with self.lock:
            if self.filled != length or length + new > self.capacity:
                return False
            self.filled = length + new
            return True


class KVCache:
    """The state after some tokens; immutable as seen from its holder.

    ``arrays`` are (k0, v0, k1, v1, ...), each [batch, kv_heads, capacity, head_dim], of which the
    first ``length`` positions hold values. For the torch-exported graph the capacity is exactly the
    length (every step returns new arrays); for the fused graph it is a :class:`_Buffer` that the
    next step extends in place when nothing else has extended it already.
    """

    __slots__ = ("arrays", "length", "_buffer")

    def __init__(self, arrays: tuple[np.ndarray, ...], length: int | None = None, buffer: _Buffer | None = None):
        self.arrays = tuple(arrays)
        self.length = int(self.arrays[0].shape[2] if length is None else length)
        self._buffer = buffer

    def truncate(self, n: int) -> "KVCache":
        """The first ``n`` positions (shares memory; still valid after this cache is extended)."""
        if not 0 <= n <= self.length:
            raise ValueError(f"cannot truncate a cache of {self.length} positions to {n}")
        if self._buffer is not None:
            return KVCache(self.arrays, n, self._buffer)
        return KVCache(tuple(a[:, :, :n] for a in self.arrays))

    def values(self) -> tuple[np.ndarray, ...]:
        """Views of the filled positions, [batch, kv_heads, length, head_dim] each."""
        return tuple(a[:, :, :self.length] for a in self.arrays)

    @property
    def nbytes(self) -> int:
        """Bytes held, capacity included (what the conversation costs in memory)."""
        return sum(a.nbytes for a in self.arrays)


class Engine:
    """One loaded graph. Thread-safe for concurrent ``step`` calls (ORT sessions are)."""

    def __init__(self, onnx_path: Path | str, config: LlamaConfig, *, threads: int | None = None,
                 session_options=None, providers: Sequence[str] = ("CPUExecutionProvider",),
                 max_context: int | None = None):
        import onnxruntime as ort

        self.config = config
        self.path = Path(onnx_path)
        if session_options is None:
            session_options = ort.SessionOptions()
            session_options.log_severity_level = 3
            session_options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            if threads:
                session_options.intra_op_num_threads = threads
                session_options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(self.path), session_options, providers=list(providers))
        except Exception as e:
            raise DialogModelError(f"{self.path}: ONNX Runtime cannot load the dialog graph ({e})") from None
        self.provider = self.session.get_providers()[0]
        names = [i.name for i in self.session.get_inputs()]
        n = config.n_layers
        self._past = [f"past_key_values.{i}.{kv}" for i in range(n) for kv in ("key", "value")]
        self._present = [f"present.{i}.{kv}" for i in range(n) for kv in ("key", "value")]
        if names == ["input_ids", "attention_mask", "position_ids", *self._past]:
            self.graph = "torch"
        elif names == [*FUSED_INPUTS, *self._past]:
            self.graph = "fused"
        else:
            raise DialogModelError(f"{self.path}: inputs {names[:4]}... do not match a {n}-layer dialog graph")
        self.max_context = min(max_context or config.context_length, config.context_length)
        self.vocab_size = config.vocab_size

    def new_cache(self, batch: int = 1) -> KVCache:
        c = self.config
        z = np.zeros((batch, c.n_kv_heads, 0, c.head_dim), np.float32)
        return KVCache(tuple(z for _ in range(2 * c.n_layers)))

    def check_ids(self, ids, field: str = "token_ids") -> np.ndarray:
        a = np.asarray(ids)
        if a.size == 0:
            raise DialogInputError(field, list(ids), "needs at least one token")
        if a.dtype.kind not in "iu":
            raise DialogInputError(field, a.dtype.name, "token ids must be integers")
        bad = a[(a < 0) | (a >= self.vocab_size)]
        if bad.size:
            raise DialogInputError(field, bad[:5].tolist(), f"token ids must be in [0, {self.vocab_size})")
        return a.astype(np.int64, copy=False)

    def step(self, token_ids: Sequence[int], cache: KVCache) -> tuple[np.ndarray, KVCache]:
        """Feed ``token_ids`` (one sequence) after ``cache``; returns (logits [vocab], new cache)."""
        ids = self.check_ids(token_ids).reshape(1, -1)
        past = cache.length
        if past + ids.shape[1] > self.max_context:
            raise DialogInputError("token_ids", f"{ids.shape[1]} tokens after {past}",
                                   f"the context holds at most {self.max_context} tokens")
        if self.graph == "fused":
            return self._step_fused(ids, cache)
        logits, new = self.forward(ids, cache, np.ones((1, past + ids.shape[1]), np.int64),
                                   np.arange(past, past + ids.shape[1], dtype=np.int64)[None])
        return logits[0], new

    # -- fused graph: the KV buffer is bound as both past and present and grows in place ----------
    CHUNK = 128   # buffer capacity grows in steps of this many positions (46 KB each for SmolLM2-135M)

    def _step_fused(self, ids: np.ndarray, cache: KVCache) -> tuple[np.ndarray, KVCache]:
        length, new = cache.length, ids.shape[1]
        buf = cache._buffer
        if buf is None or not buf.claim(length, new):
            buf = self._new_buffer(cache, length + new)
        feeds = (ids, np.array([length + new - 1], np.int32), np.array(length + new, np.int32))
        buf.feeds = feeds  # alive until the run is over
        for name, a in zip(FUSED_INPUTS, feeds):
            buf.binding.bind_cpu_input(name, a)
        self.session.run_with_iobinding(buf.binding)
        return buf.logits[0, -1].copy(), KVCache(buf.arrays, length + new, buf)

    def _new_buffer(self, cache: KVCache, needed: int) -> _Buffer:
        """A new buffer holding ``cache``'s positions, room for ``needed`` claimed, bound to the session."""
        c, batch = self.config, cache.arrays[0].shape[0]
        cap = min(max(self.max_context, needed), -(-(needed + self.CHUNK // 2) // self.CHUNK) * self.CHUNK)
        arrays = tuple(np.zeros((batch, c.n_kv_heads, cap, c.head_dim), np.float32) for _ in cache.arrays)
        for dst, src in zip(arrays, cache.arrays):
            dst[:, :, :cache.length] = src[:, :, :cache.length]
        buf = _Buffer(arrays, needed)
        io = self.session.io_binding()
        buf.logits = np.zeros((batch, 1, self.vocab_size), np.float32)
        io.bind_output("logits", "cpu", 0, np.float32, list(buf.logits.shape), buf.logits.ctypes.data)
        for past, present, a in zip(self._past, self._present, arrays):
            io.bind_input(past, "cpu", 0, np.float32, list(a.shape), a.ctypes.data)
            io.bind_output(present, "cpu", 0, np.float32, list(a.shape), a.ctypes.data)
        buf.binding = io
        return buf

    def forward(self, ids: np.ndarray, cache: KVCache, attention_mask: np.ndarray,
                position_ids: np.ndarray) -> tuple[np.ndarray, KVCache]:
        """Batched call: ids/position_ids [batch, seq], attention_mask [batch, past + seq]."""
        if self.graph != "torch":
            raise DialogModelError(f"{self.path}: forward() takes attention masks, which only the torch graph has")
        feeds = {"input_ids": ids, "attention_mask": attention_mask, "position_ids": position_ids}
        feeds.update(zip(self._past, cache.values()))
        out = self.session.run(None, feeds)
        return out[0][:, -1, :], KVCache(tuple(out[1:]))

    def argmax_along(self, prompt: Sequence[int], continuation: Sequence[int]) -> list[int]:
        """Teacher-forced greedy choices: argmax after ``prompt + continuation[:i]`` for each i."""
        logits, cache = self.step(prompt, self.new_cache())
        out = [int(logits.argmax())]
        for tok in continuation[:-1]:
            logits, cache = self.step([tok], cache)
            out.append(int(logits.argmax()))
        return out


class DialogModel:
    """A dialog model folder loaded for serving: manifest (checksums verified), tokenizer, engine."""

    def __init__(self, manifest: dict, tokenizer: Tokenizer, engine: Engine, folder: Path):
        self.manifest, self.tokenizer, self.engine, self.folder = manifest, tokenizer, engine, folder

    @classmethod
    def load(cls, folder: Path | str, *, threads: int | None = None, session_options=None,
             max_context: int | None = None, variant: str | None = None) -> "DialogModel":
        """``variant`` picks a further graph from ``files`` (e.g. ``"fp32"``) instead of the main file."""
        folder = Path(folder)
        manifest = load_manifest(folder)
        if manifest["kind"] != "dialog":
            raise DialogModelError(f"{folder}: manifest kind is {manifest['kind']!r}, not 'dialog'")
        verify_checksum(folder, manifest)
        extra = manifest["extra"]
        config = LlamaConfig.from_dict(extra["config"])
        files = manifest.get("files", {})
        if "tokenizer" not in files:
            raise DialogModelError(f"{folder}: manifest lists no tokenizer file")
        tok = Tokenizer.load(folder / files["tokenizer"]["file"], extra["tokenizer"]["bos_id"],
                             extra["tokenizer"]["eos_id"])
        graph = manifest["file"]
        if variant is not None and variant != extra.get("quant"):
            if variant not in files:
                choices = [extra.get("quant", "main")] + [k for k in files if k != "tokenizer"]
                raise DialogModelError(f"{folder}: no {variant!r} graph; this model has {choices}")
            graph = files[variant]["file"]
        engine = Engine(folder / graph, config, threads=threads, session_options=session_options,
                        max_context=max_context)
        return cls(manifest, tok, engine, folder)
