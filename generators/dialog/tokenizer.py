"""The dialog tokenizer: byte-level BPE from the GGUF's token list and merges, and the ChatML template.

Built once at build time from the GGUF metadata with Hugging Face ``tokenizers`` and saved as
``tokenizer.json`` in the model folder; the server loads that file (no GGUF, no torch). Text a
player or a persona card supplies is encoded *without* special-token parsing, so a player typing
``<|im_end|>`` cannot close the turn or forge a system message; only the template places control
tokens. :meth:`Tokenizer.token_bytes` gives each token's raw UTF-8 bytes for the streaming decoder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import DialogInputError, DialogModelError

CONTROL = 3  # llama.cpp token type of special/control tokens


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character table used by byte-level BPE vocabularies."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE_TO_CHAR = _bytes_to_unicode()
CHAR_TO_BYTE = {c: b for b, c in BYTE_TO_CHAR.items()}


def tokenizer_json_from_gguf(meta) -> str:
    """HF ``tokenizers`` JSON for a GGUF's gpt2-style BPE (``meta``: :class:`.gguf_io.TokenizerMeta`)."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    if meta.model != "gpt2":
        raise DialogModelError(f"tokenizer model {meta.model!r} is not supported (byte-level BPE 'gpt2' is)")
    vocab = {t: i for i, t in enumerate(meta.tokens)}
    merges = [tuple(m.split(" ", 1)) for m in meta.merges]
    tk = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False))
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if meta.pre == "smollm":  # llama.cpp: "\p{N}" split first, then the GPT-2 regex
        tk.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
    elif meta.pre in ("gpt2", "default", ""):
        tk.pre_tokenizer = byte_level
    else:
        raise DialogModelError(f"pre-tokenizer {meta.pre!r} is not supported (smollm, gpt2)")
    tk.decoder = decoders.ByteLevel()
    specials = [t for t, ty in zip(meta.tokens, meta.token_types) if ty == CONTROL]
    tk.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    return tk.to_str()


@dataclass(frozen=True)
class ChatML:
    """The ChatML layout SmolLM2-Instruct was tuned on (the GGUF's ``tokenizer.chat_template``)."""

    start: str = "<|im_start|>"
    end: str = "<|im_end|>"

    def system(self, text: str) -> list[tuple[str, bool]]:
        return [(self.start, True), ("system\n", False), (text, False), (self.end, True), ("\n", False)]

    def message(self, role: str, text: str) -> list[tuple[str, bool]]:
        """One whole message of the history (``system``, ``user`` or ``assistant``), closed."""
        return [(self.start, True), (f"{role}\n", False), (text, False), (self.end, True), ("\n", False)]

    def user(self, text: str) -> list[tuple[str, bool]]:
        return [(self.start, True), ("user\n", False), (text, False), (self.end, True), ("\n", False),
                (self.start, True), ("assistant\n", False)]

    def close_reply(self, ended_with_eos: bool) -> list[tuple[str, bool]]:
        """What follows a reply in the history: ``<|im_end|>`` (unless the model emitted it) and a newline."""
        return ([] if ended_with_eos else [(self.end, True)]) + [("\n", False)]


class Tokenizer:
    """Encode/decode for one model. Load with :meth:`load` (model folder) or :meth:`from_gguf_meta`."""

    def __init__(self, tokenizer_json: str, bos_id: int, eos_id: int, chat: ChatML | None = None):
        from tokenizers import Tokenizer as HFTokenizer

        spec = json.loads(tokenizer_json)
        self._special = HFTokenizer.from_str(tokenizer_json)
        plain = dict(spec, added_tokens=[])
        self._plain = HFTokenizer.from_str(json.dumps(plain))
        self.specials = {t["content"]: t["id"] for t in spec.get("added_tokens", []) if t.get("special")}
        vocab = spec["model"]["vocab"]
        self.vocab_size = max(vocab.values()) + 1
        self.bos_id, self.eos_id = bos_id, eos_id
        self.chat = chat or ChatML()
        for name in (self.chat.start, self.chat.end):
            if name not in self.specials:
                raise DialogModelError(f"tokenizer has no special token {name!r} for the ChatML template")
        self._bytes: list[bytes] = [b""] * self.vocab_size
        special_ids = set(self.specials.values())
        for tok, i in vocab.items():
            if i not in special_ids:
                self._bytes[i] = bytes(CHAR_TO_BYTE.get(c, 0) for c in tok)
        self.control_ids = frozenset(special_ids)
        self.json = tokenizer_json

    @classmethod
    def from_gguf_meta(cls, meta) -> "Tokenizer":
        return cls(tokenizer_json_from_gguf(meta), meta.bos_id, meta.eos_id)

    @classmethod
    def load(cls, path: Path | str, bos_id: int, eos_id: int) -> "Tokenizer":
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            raise DialogModelError(f"{path}: cannot read the tokenizer ({e})") from None
        return cls(text, bos_id, eos_id)

    # -- text <-> ids ---------------------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        """Plain text -> ids; special-token names in ``text`` are just text here."""
        if not isinstance(text, str):
            raise DialogInputError("text", text, "must be a str")
        return self._plain.encode(text, add_special_tokens=False).ids

    def encode_parts(self, parts: list[tuple[str, bool]]) -> list[int]:
        """Template parts ``(text, is_special)`` -> ids; only template code passes ``True``."""
        ids: list[int] = []
        for text, special in parts:
            ids.extend([self.specials[text]] if special else self.encode(text))
        return ids

    def decode(self, ids, skip_special: bool = True) -> str:
        self.check_ids(ids)
        return self._special.decode(list(map(int, ids)), skip_special_tokens=skip_special)

    def token_bytes(self, token_id: int) -> bytes:
        """Raw UTF-8 bytes of one token (empty for control tokens); may end mid-character."""
        return self._bytes[token_id]

    def check_ids(self, ids, field: str = "token_ids") -> None:
        bad = [int(i) for i in ids if not 0 <= int(i) < self.vocab_size]
        if bad:
            raise DialogInputError(field, bad[:5], f"token ids must be in [0, {self.vocab_size})")
