"""Decoding over :class:`.engine.Engine`: sampling, stop rules, text deltas, cancellation, conversations.

* :class:`SamplingParams` — temperature (0 = greedy), top-k, top-p, repetition penalty, max new
  tokens, stop strings; :meth:`SamplingParams.validated` names the bad field and the allowed range.
* :func:`generate` — prefill a prompt and decode token by token. It yields :class:`Delta` (the new
  text, never half a UTF-8 character; text that might begin a stop string is held back until it
  is resolved) and returns a :class:`TurnResult` (``StopIteration.value``; :class:`Turn` keeps it).
  Sampling uses one ``numpy.random.Generator`` passed in, so the same model + prompt + params +
  seed give the same tokens. ``cancel`` (a ``threading.Event`` or a callable) is checked before
  every model call; ``processors`` may rewrite the logits each step (constrained decoding).
* :class:`Conversation` — a persona prefix and the turns so far, with the KV cache kept between
  turns, so a turn feeds only its own tokens. Overflow policy: see :class:`Conversation`.
"""

from __future__ import annotations

import codecs
import threading
import time
from dataclasses import dataclass, replace
from enum import Enum
from typing import Callable, Iterator, Protocol, Sequence

import numpy as np

from .engine import Engine, KVCache
from .errors import ContextOverflowError, DialogInputError
from .tokenizer import Tokenizer


class StopReason(str, Enum):
    EOS = "eos"                  # the model ended its reply (<|im_end|>)
    MAX_TOKENS = "max_tokens"    # max_new_tokens reached
    STOP_STRING = "stop_string"  # one of the stop strings appeared (it is not part of the text)
    CANCELLED = "cancelled"      # the caller's cancel flag was set
    CONSTRAINT = "constraint"    # a logits processor said its constraint is complete


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.7
    top_k: int = 40              # 0: off
    top_p: float = 0.9           # 1: off
    repetition_penalty: float = 1.1   # 1: off; divides positive / multiplies negative logits of recent tokens
    repetition_window: int = 64  # how many recent tokens (prompt included) the penalty looks at
    max_new_tokens: int = 128
    stop: tuple[str, ...] = ()

    LIMITS = {"temperature": (0.0, 5.0), "top_k": (0, 1000), "top_p": (0.0, 1.0),
              "repetition_penalty": (1.0, 2.0), "repetition_window": (0, 4096), "max_new_tokens": (1, 4096)}

    def validated(self) -> "SamplingParams":
        for name, (lo, hi) in self.LIMITS.items():
            v = getattr(self, name)
            ok_type = isinstance(v, int) if isinstance(lo, int) and isinstance(hi, int) else isinstance(v, (int, float))
            if isinstance(v, bool) or not ok_type or not lo <= v <= hi or (name == "top_p" and v == 0):
                rng = f"({lo}, {hi}]" if name == "top_p" else f"[{lo}, {hi}]"
                raise DialogInputError(name, v, f"must be {'an integer' if isinstance(lo, int) and isinstance(hi, int) else 'a number'} in {rng}")
        stop = (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)
        if len(stop) > 8 or not all(isinstance(s, str) and 0 < len(s) <= 64 for s in stop):
            raise DialogInputError("stop", self.stop, "up to 8 non-empty strings of at most 64 characters")
        return replace(self, stop=stop)


GREEDY = SamplingParams(temperature=0.0, top_k=0, top_p=1.0, repetition_penalty=1.0)


class LogitsProcessor(Protocol):
    """Constrained decoding hook. ``__call__`` may change ``logits`` in place (e.g. set disallowed
    tokens to -inf) given the tokens generated so far; ``accept`` is told the chosen token and
    returns False when the constraint is complete (decoding then stops with ``constraint``).

    Optional: ``forced(limit)`` returns (and takes as accepted) up to ``limit`` tokens the
    constraint allows no alternative to; the loop appends them to the reply and feeds them with the
    sampled token in one model call (no sampling, no step of their own). ``stopped()`` then says
    whether the constraint is complete."""

    def __call__(self, generated: Sequence[int], logits: np.ndarray) -> None: ...

    def accept(self, token_id: int) -> bool: ...




def _cancelled(cancel) -> bool:
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return bool(cancel())


class Sampler:
    """Next-token choice from logits; all randomness comes from the ``rng`` passed in."""

    def __init__(self, params: SamplingParams, rng: np.random.Generator):
        self.p, self.rng = params, rng

    def __call__(self, logits: np.ndarray, recent: Sequence[int]) -> int:
        p = self.p
        if p.repetition_penalty != 1.0 and len(recent):
            ids = np.unique(np.asarray(recent[-p.repetition_window:], np.int64)) if p.repetition_window else []
            if len(ids):
                v = logits[ids]
                logits[ids] = np.where(v > 0, v / p.repetition_penalty, v * p.repetition_penalty)
        if p.temperature == 0.0:
            return int(np.argmax(logits))
        if 0 < p.top_k < logits.shape[0]:
            cand = np.argpartition(logits, -p.top_k)[-p.top_k:]
        else:
            cand = np.arange(logits.shape[0])
        cand = cand[np.isfinite(logits[cand])]
        if cand.size == 0:
            raise RuntimeError("every token is disallowed (all logits are -inf)")
        # order by logit, ties by token id: the same input gives the same order on every platform
        cand = cand[np.lexsort((cand, -logits[cand]))]
        z = logits[cand].astype(np.float64) / p.temperature
        probs = np.exp(z - z[0])
        probs /= probs.sum()
        if p.top_p < 1.0:
            keep = int(np.searchsorted(np.cumsum(probs), p.top_p) + 1)
            probs = probs[:keep] / probs[:keep].sum()
            cand = cand[:keep]
        i = int(np.searchsorted(np.cumsum(probs), self.rng.random() * 1.0, side="right"))
        return int(cand[min(i, cand.size - 1)])


class TextStream:
    """Token bytes -> text deltas: whole UTF-8 characters only, stop strings cut and held back."""

    def __init__(self, tokenizer: Tokenizer, stop: Sequence[str] = ()):
        self.tok, self.stop = tokenizer, tuple(stop)
        self._dec = codecs.getincrementaldecoder("utf-8")("replace")
        self.text = ""
        self.emitted = 0
        self.stopped = False

    def push(self, token_id: int) -> str:
        self.text += self._dec.decode(self.tok.token_bytes(token_id))
        return self._advance(final=False)

    def flush(self) -> str:
        if not self.stopped:
            self.text += self._dec.decode(b"", final=True)
        return self._advance(final=True)

    def _advance(self, final: bool) -> str:
        if self.stopped:
            return ""
        longest = max((len(s) for s in self.stop), default=0)
        start = max(0, self.emitted - longest)
        hits = [i for i in (self.text.find(s, start) for s in self.stop) if i >= 0]
        if hits:
            cut = min(hits)
            self.text = self.text[:cut]
            self.stopped = True
            end = cut
        elif final:
            end = len(self.text)
        else:
            hold = 0
            for s in self.stop:
                for k in range(min(len(s) - 1, len(self.text)), hold, -1):
                    if self.text.endswith(s[:k]):
                        hold = k
                        break
            end = len(self.text) - hold
        delta = self.text[self.emitted:end] if end > self.emitted else ""
        self.emitted = max(self.emitted, end)
        return delta


@dataclass
class Delta:
    text: str          # may be empty (a token that ends mid-character, or held back for a stop string)
    token_id: int
    index: int         # 0-based position of the token in the reply


@dataclass
class TurnResult:
    text: str
    tokens: list[int]
    stop_reason: StopReason
    prompt_tokens: int             # tokens fed in the prefill of this turn
    cached_tokens: int             # tokens that were already in the cache (not recomputed)
    prefill_ms: float
    first_token_ms: float          # from the call to the first token chosen (prefill + sampling)
    decode_tokens_per_s: float     # after the first token
    total_ms: float
    reprefilled: bool = False      # the overflow policy dropped old turns this turn
    dropped_turns: int = 0


def generate(engine: Engine, tokenizer: Tokenizer, new_ids: Sequence[int], params: SamplingParams,
             rng: np.random.Generator, *, cache: KVCache | None = None, history: Sequence[int] = (),
             cancel=None, processors: Sequence[LogitsProcessor] = (),
             on_cache: Callable[[KVCache, list[int]], None] | None = None,
             out: list[int] | None = None) -> Iterator[Delta]:
    """Prefill ``new_ids`` after ``cache`` and decode; yields :class:`Delta`, returns :class:`TurnResult`.

    ``history`` is what the cache holds (for the repetition penalty). ``on_cache(cache, fed)`` is
    called after every model call with the new cache and all tokens fed this call so far, so a
    caller can keep the state when the iterator is abandoned or cancelled; ``out`` (a list) receives
    each sampled token as it is chosen.
    """
    params = params.validated()
    new_ids = list(map(int, engine.check_ids(new_ids, "prompt").tolist()))
    cache = cache if cache is not None else engine.new_cache()
    if cache.length + len(new_ids) + params.max_new_tokens > engine.max_context:
        raise ContextOverflowError("prompt", f"{len(new_ids)} new tokens after {cache.length} cached + "
                                   f"{params.max_new_tokens} to generate",
                                   f"the context holds {engine.max_context} tokens")
    return _decode(engine, tokenizer, new_ids, params, rng, cache, list(history), cancel, tuple(processors),
                   on_cache, out if out is not None else [])


def _decode(engine, tokenizer, new_ids, params, rng, cache, history, cancel, processors, on_cache, out):
    t0 = time.perf_counter()
    cached = cache.length
    sampler = Sampler(params, rng)
    stream = TextStream(tokenizer, params.stop)
    recent = list(history) + new_ids
    fed = list(new_ids)
    reason = None
    prefill_ms = first_ms = 0.0
    t_first = None
    if _cancelled(cancel):
        reason = StopReason.CANCELLED
    else:
        logits, cache = engine.step(new_ids, cache)
        prefill_ms = (time.perf_counter() - t0) * 1e3
        if on_cache:
            on_cache(cache, fed)
        if _cancelled(cancel):
            reason = StopReason.CANCELLED
        while reason is None:
            logits = np.array(logits, dtype=np.float32, copy=True)
            for proc in processors:
                proc(out, logits)
            tok = sampler(logits, recent)
            if t_first is None:
                t_first = time.perf_counter()
                first_ms = (t_first - t0) * 1e3
            out.append(tok)
            recent.append(tok)
            if tok == tokenizer.eos_id:
                reason = StopReason.EOS
            text = stream.push(tok)
            if text or reason is None:
                yield Delta(text, tok, len(out) - 1)
            if reason is not None:
                break
            if stream.stopped:
                reason = StopReason.STOP_STRING
                break
            if any(hasattr(p, "accept") and p.accept(tok) is False for p in processors):
                reason = StopReason.CONSTRAINT
                break
            if len(out) >= params.max_new_tokens:
                reason = StopReason.MAX_TOKENS
                break
            feed = [tok]
            for proc in processors:      # tokens a grammar forces are fed with this one, in one model call
                for f in (proc.forced(params.max_new_tokens - len(out)) if hasattr(proc, "forced") else ()):
                    for other in processors:     # the other processors see every token of the reply
                        if other is not proc and hasattr(other, "accept"):
                            other.accept(f)
                    out.append(f)
                    recent.append(f)
                    feed.append(f)
                    text = stream.push(f)
                    if text:
                        yield Delta(text, f, len(out) - 1)
            if len(feed) > 1:
                if stream.stopped:
                    reason = StopReason.STOP_STRING
                    break
                if any(hasattr(p, "stopped") and p.stopped() for p in processors):
                    reason = StopReason.CONSTRAINT
                    break
                if len(out) >= params.max_new_tokens:
                    reason = StopReason.MAX_TOKENS
                    break
            if _cancelled(cancel):
                reason = StopReason.CANCELLED
                break
            logits, cache = engine.step(feed, cache)
            fed.extend(feed)
            if on_cache:
                on_cache(cache, fed)
    tail = stream.flush()
    if tail:
        yield Delta(tail, out[-1] if out else -1, max(len(out) - 1, 0))
    t_end = time.perf_counter()
    n_dec = max(len(out) - 1, 0)
    return TurnResult(
        text=stream.text, tokens=out, stop_reason=reason, prompt_tokens=len(new_ids), cached_tokens=cached,
        prefill_ms=prefill_ms, first_token_ms=first_ms,
        decode_tokens_per_s=(n_dec / (t_end - t_first)) if (t_first and n_dec) else 0.0,
        total_ms=(t_end - t0) * 1e3)


class Turn:
    """An iterator of :class:`Delta` for one reply; ``result`` is set when it is exhausted.

    A caller that stops early must :meth:`close` it (or use it as a context manager): that
    records the partial reply and frees the conversation for the next turn."""

    def __init__(self, gen: Iterator[Delta], finish: Callable[[TurnResult | None], None]):
        self._gen, self._finish = gen, finish
        self.result: TurnResult | None = None
        self._done = False

    def __iter__(self):
        return self

    def __next__(self) -> Delta:
        if self._done:
            raise StopIteration
        try:
            return next(self._gen)
        except StopIteration as stop:
            self.result = stop.value
            self._close(stop.value)
            raise
        except BaseException:
            self._close(None)
            raise

    def close(self) -> None:
        """Abandon the turn (the reply so far stays in the history, as if cancelled)."""
        if not self._done:
            self._gen.close()
            self._close(None)

    def _close(self, result):
        if not self._done:
            self._done = True
            self._finish(result)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def run(self) -> TurnResult:
        """Consume the whole turn; returns its result."""
        for _ in self:
            pass
        return self.result


@dataclass
class _TurnRecord:
    tokens: list[int]         # user template + reply + closing tokens
    user: str
    reply: str = ""


class TurnInProgress(DialogInputError):
    """A turn was started while another turn of the same conversation is still running."""


class Conversation:
    """One NPC conversation: persona prefix + turns, with the KV cache kept between turns.

    A turn feeds only what is new since the last model call: the closing tokens of the previous
    reply (``<|im_end|>`` and a newline) and the ChatML-wrapped player line. The persona prefix (its
    system message and any ``examples`` messages after it, see :func:`prefix_ids`) can come from a
    shared :class:`PrefixCache` (prefilled once for many conversations).

    **Context overflow policy.** Before a turn, the conversation needs room for the cached tokens,
    the new tokens and ``max_new_tokens``. If they exceed ``max_context``, the oldest whole turns
    (player line + reply) are dropped until they fit; the persona prefix is always kept. The cache
    is then cut back to the prefix (a view; its KV stays valid) and the kept turns are re-prefilled
    once, in the same model call as the new line. If the persona plus the new line alone cannot fit,
    :class:`ContextOverflowError` names the player line and the limit, and nothing changes.

    A cancelled or abandoned turn keeps the reply decoded so far in the history (the player saw
    it), closed with ``<|im_end|>``; a turn cancelled before its prefill leaves no trace.
    ``seed`` makes the conversation deterministic: turn ``i`` samples with
    ``numpy.random.default_rng([seed, i])``.
    """

    def __init__(self, engine: Engine, tokenizer: Tokenizer, persona: str, *, seed: int = 0,
                 max_context: int | None = None, prefix: "PrefixCache | None" = None, max_line_tokens: int = 512,
                 examples: Sequence[tuple[str, str]] = ()):
        if not isinstance(persona, str) or not persona.strip():
            raise DialogInputError("persona", persona, "must be a non-empty string")
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2 ** 64:
            raise DialogInputError("seed", seed, "must be an integer in [0, 2**64)")
        self.engine, self.tok, self.seed = engine, tokenizer, seed
        self.max_context = min(max_context or engine.max_context, engine.max_context)
        self.max_line_tokens = max_line_tokens
        self.persona = persona
        self.prefix_ids = prefix_ids(tokenizer, persona, examples)
        if len(self.prefix_ids) + 16 > self.max_context:
            raise ContextOverflowError("persona", f"{len(self.prefix_ids)} tokens",
                                       f"the persona must leave room in the {self.max_context}-token context")
        if prefix is not None and prefix.ids == self.prefix_ids:
            self._prefix_cache = prefix.cache
        else:
            self._prefix_cache = None
        self.turns: list[_TurnRecord] = []
        self.cache: KVCache | None = None     # holds self.cached_ids
        self.cached_ids: list[int] = []
        self.pending: list[int] = []          # decided tokens not yet fed (closing tokens of the last reply)
        self._turn_counter = 0                # turns recorded so far, dropped ones included (the rng stream)
        self._lock = threading.Lock()

    # -- state -----------------------------------------------------------------------------------
    @property
    def context_tokens(self) -> int:
        return len(self.cached_ids) + len(self.pending)

    def prime(self) -> float:
        """Prefill the persona prefix now (so the first turn only feeds its line); returns ms."""
        t0 = time.perf_counter()
        if self.cache is None:
            if self._prefix_cache is None:
                _, self._prefix_cache = self.engine.step(self.prefix_ids, self.engine.new_cache())
            self.cache, self.cached_ids = self._prefix_cache, list(self.prefix_ids)
        return (time.perf_counter() - t0) * 1e3

    def say(self, line: str, params: SamplingParams = SamplingParams(), *, cancel=None,
            processors: Sequence[LogitsProcessor] = ()) -> Turn:
        """Start a turn: the player's ``line``; iterate the returned :class:`Turn` for the reply."""
        if not isinstance(line, str) or not line.strip():
            raise DialogInputError("line", line, "must be a non-empty string")
        params = params.validated()
        user_ids = self.tok.encode_parts(self.tok.chat.user(line))
        if len(user_ids) > self.max_line_tokens:
            raise DialogInputError("line", f"{len(user_ids)} tokens",
                                   f"a player line may have at most {self.max_line_tokens} tokens")
        if not self._lock.acquire(blocking=False):
            raise TurnInProgress("line", line, "wait for the running turn to end (or cancel it) before sending another")
        try:
            budget = self.max_context - params.max_new_tokens
            if len(self.prefix_ids) + len(user_ids) > budget:
                raise ContextOverflowError("line", f"{len(user_ids)} tokens (+{params.max_new_tokens} to generate)",
                                           f"with the {len(self.prefix_ids)}-token persona the context holds "
                                           f"{self.max_context}; shorten the line or lower max_new_tokens")
            self.prime()
            dropped = 0
            if self.context_tokens + len(user_ids) > budget:
                while self.turns and (len(self.prefix_ids) + sum(len(t.tokens) for t in self.turns)
                                      + len(user_ids) > budget):
                    self.turns.pop(0)
                    dropped += 1
                self.cache = self.cache.truncate(len(self.prefix_ids))
                self.cached_ids = list(self.prefix_ids)
                self.pending = [t for r in self.turns for t in r.tokens]
            new = self.pending + user_ids
            base = len(self.cached_ids)
            rng = np.random.default_rng([self.seed, self._turn_counter])
            reply: list[int] = []

            def on_cache(cache: KVCache, fed: list[int]):
                self.cache, self.cached_ids, self.pending = cache, self.cached_ids[:base] + fed, []

            gen = generate(self.engine, self.tok, new, params, rng, cache=self.cache, history=self.cached_ids,
                           cancel=cancel, processors=processors, on_cache=on_cache, out=reply)
        except BaseException:
            self._lock.release()
            raise

        def finish(result: TurnResult | None):
            try:
                if len(self.cached_ids) == base:
                    return  # nothing was fed (cancelled before the prefill): no trace of this turn
                self._turn_counter += 1
                ended = bool(reply) and reply[-1] == self.tok.eos_id
                closing = self.tok.encode_parts(self.tok.chat.close_reply(ended_with_eos=ended))
                fed_reply = len(self.cached_ids) - base - len(new)
                self.pending = reply[fed_reply:] + closing
                text = result.text if result is not None else self.tok.decode(reply)
                self.turns.append(_TurnRecord(tokens=user_ids + reply + closing, user=line, reply=text))
                if result is not None:
                    result.reprefilled, result.dropped_turns = bool(dropped), dropped
            finally:
                self._lock.release()

        return Turn(gen, finish)

    def history(self) -> list[tuple[str, str]]:
        """(player line, reply) of the turns still in the context."""
        return [(t.user, t.reply) for t in self.turns]

    def full_ids(self) -> list[int]:
        """Every token the next model call would have seen: cached + pending."""
        return self.cached_ids + self.pending


def prefix_ids(tokenizer: Tokenizer, persona: str, examples: Sequence[tuple[str, str]] = ()) -> list[int]:
    """The persona prefix: its system message, then ``examples`` — (role, text) messages of the
    history that every turn follows (example exchanges, a closing system note); part of the prefix,
    so never dropped by the overflow policy."""
    parts = tokenizer.chat.system(persona)
    for role, text in examples:
        parts = parts + tokenizer.chat.message(role, text)
    return tokenizer.encode_parts(parts)


@dataclass
class PrefixCache:
    """A persona prefix prefilled once and shared by many conversations (read-only KV arrays)."""

    ids: list[int]
    cache: KVCache

    @classmethod
    def build(cls, engine: Engine, tokenizer: Tokenizer, persona: str,
              examples: Sequence[tuple[str, str]] = ()) -> "PrefixCache":
        ids = prefix_ids(tokenizer, persona, examples)
        _, cache = engine.step(ids, engine.new_cache())
        return cls(ids, cache)


def greedy_tokens(engine: Engine, prompt: Sequence[int], n_new: int, eos_id: int | None = None) -> list[int]:
    """Greedy continuation of ``prompt`` (up to ``n_new`` tokens, stopping after ``eos_id``)."""
    logits, cache = engine.step(prompt, engine.new_cache())
    out = []
    while True:
        tok = int(logits.argmax())
        out.append(tok)
        if len(out) >= n_new or tok == eos_id:
            return out
        logits, cache = engine.step([tok], cache)
