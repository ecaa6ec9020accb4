"""Constrained decoding with llguidance, inside our own decode loop: structured replies and lines.

llguidance (Rust, MIT, pip wheel) compiles a JSON Schema or a regex against the model's tokenizer
and, at every step, gives the set of tokens that keep the output inside the grammar; our
:class:`Constraint` (a :class:`~.decode.LogitsProcessor`) sets every other logit to -inf before
sampling and feeds the chosen token back. The output is therefore valid *by construction*, for
any model, a tiny random one included: nothing is parsed and retried.

* :meth:`Guide.reply` — a structured reply, one JSON object in this order::

      {"emotion":"<one of the emotions>","action":"<one of the actions>","line":"<what is said>"}

  (:data:`REPLY_SCHEMA_DOC`; compact, no whitespace). The line has 1..``LINE_CHARS`` characters
  no leading space and no ``"``, ``\\`` or control characters, so its JSON text *is* its text: the spoken line can
  stream to the game as it decodes (:class:`ReplyText`) while the JSON around it stays hidden.
  Emotion and action come first, so the game has them before the line starts.
* :meth:`Guide.line` — one line of speech (trees, barks): 1..N characters, no control characters
  and no ``"`` (small models like to wrap their line in quotes), not starting with a space, ended
  by the end-of-turn token.

**Budgets stay valid.** A token budget never cuts a structure open: once the line has used its
``line_tokens``, a reply may only take a token that closes the string (contains ``"``) and a
line may only end (EOS) — both always allowed by the grammar at that point. The hard cap on
tokens (:meth:`ReplyConstraint.max_new_tokens`) counts the structure's bytes as if each were one
token, so the cap is never reached before the constraint completes.
"""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Sequence

import numpy as np

DEFAULT_EMOTIONS = ("neutral", "happy", "angry", "afraid", "sad", "suspicious", "surprised")
DEFAULT_ACTIONS = ("none", "give_item", "attack", "follow", "trade", "flee")
IDENT = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_CHOICES = 16          # emotions / actions per session
MAX_NAME = 32             # characters per emotion / action
LINE_CHARS = 300          # characters in a structured reply's line (the tree schema allows 400)
LINE_KEY = b'"line":"'

REPLY_SCHEMA_DOC = ('{"emotion": <enum>, "action": <enum>, "line": string of 1..300 characters, not '
                    'starting with a space, without \'"\', \'\\\\\' or control characters}')


def reply_schema(emotions: Sequence[str], actions: Sequence[str], line_chars: int = LINE_CHARS) -> dict:
    """The JSON Schema a structured reply is decoded against (property order is the output order)."""
    return {
        "type": "object",
        "properties": {
            "emotion": {"enum": list(emotions)},
            "action": {"enum": list(actions)},
            "line": {"type": "string", "minLength": 1, "maxLength": line_chars,
                     "pattern": '^[^"\\\\\\s\\x00-\\x1f][^"\\\\\\x00-\\x1f]*$'},
        },
        "required": ["emotion", "action", "line"],
        "additionalProperties": False,
    }


def check_choices(field: str, values: Sequence[str] | None, default: Sequence[str]) -> tuple[str, ...]:
    """A session's emotions / actions: identifiers (``give_item``), unique, at most 16; empty -> default.

    Raises ValueError naming ``field``, the value and what is allowed."""
    if not values:
        return tuple(default)
    values = list(values)
    if len(values) > MAX_CHOICES:
        raise ValueError(f"{field} has {len(values)} entries; at most {MAX_CHOICES}")
    seen = set()
    for i, v in enumerate(values):
        if not isinstance(v, str) or len(v) > MAX_NAME or not IDENT.match(v):
            raise ValueError(f"{field}[{i}] is {v!r}; use a lower-case identifier of at most {MAX_NAME} "
                             "characters (letters, digits, _; e.g. give_item)")
        if v in seen:
            raise ValueError(f"{field}[{i}] {v!r} is listed twice")
        seen.add(v)
    return tuple(values)


class Guide:
    """llguidance for one dialog model: its tokenizer as llguidance sees it, and compiled grammars.

    Built once per model (:func:`guide_for`); thread-safe (each turn gets its own matcher)."""

    def __init__(self, tokenizer_path, tokenizer, vocab_size: int):
        import llguidance

        self._ll = llguidance
        self.lltok = llguidance.LLTokenizer(str(tokenizer_path), n_vocab=vocab_size, eos_token=tokenizer.eos_id)
        self.vocab_size = vocab_size
        self.eos_id = tokenizer.eos_id
        self.token_bytes = [tokenizer.token_bytes(i) for i in range(vocab_size)]
        self.has_quote = np.array([b'"' in b for b in self.token_bytes], bool)
        self._grammars: dict = {}
        self._lock = threading.Lock()

    def _grammar(self, key, make) -> str:
        with self._lock:
            g = self._grammars.get(key)
            if g is None:
                g = make()
                m = self._ll.LLMatcher(self.lltok, g)       # validate once
                if m.is_error():
                    raise ValueError(f"grammar {key!r} does not compile: {m.get_error()}")
                self._grammars[key] = g
            return g

    def reply(self, emotions: Sequence[str], actions: Sequence[str], line_tokens: int) -> "ReplyConstraint":
        key = ("reply", tuple(emotions), tuple(actions))
        g = self._grammar(key, lambda: self._ll.LLMatcher.grammar_from_json_schema(
            json.dumps(reply_schema(emotions, actions)), defaults={"whitespace_flexible": False}))
        overhead = len(json.dumps({"emotion": max(emotions, key=len), "action": max(actions, key=len), "line": ""},
                                  separators=(",", ":")).encode())
        return ReplyConstraint(self, g, line_tokens, overhead)

    def line(self, max_chars: int, max_tokens: int, must_say: str | None = None) -> "LineConstraint":
        """One line; with ``must_say``, the line holds that text word for word (a fact a tree node's
        effects say was told), with up to ``AROUND`` characters of the model's own before and after."""
        free = r'[^\s"\x00-\x1f][^"\x00-\x1f]{0,%d}'
        if must_say is None:
            key, make = ("line", max_chars), lambda: free % (max_chars - 1)
            extra = 0
        else:
            must_say = " ".join(must_say.split())
            key = ("says", max_chars, must_say)
            # the lead-in ends a sentence or clause ("Fine. <fact>"), so the fact never cuts one short
            lead = r'[^\s"\x00-\x1f][^"\x00-\x1f]{0,%d}[^\s"\x00-\x1f]' % (AROUND - 3)
            make = lambda: (r"(%s[.!?:,;] )?%s( %s)?" % (lead, regex_literal(must_say),  # noqa: E731
                                                          free % (AROUND - 2)))
            extra = AROUND + len(must_say.encode()) + 1      # a lead-in and the text itself past the budget
        g = self._grammar(key, lambda: self._ll.LLMatcher.grammar_from_regex(make()))
        return LineConstraint(self, g, max_tokens, extra)


AROUND = 80               # characters of the model's own before / after a line's required text


def regex_literal(text: str) -> str:
    """``text`` as a regex matching itself (llguidance's Rust regex syntax)."""
    return re.sub(r"([\\.+*?()|\[\]{}^$#&\-~])", r"\\\1", text)


_guides_lock = threading.Lock()


def guide_for(model) -> Guide:
    """The :class:`Guide` of a loaded :class:`~.engine.DialogModel` (built on first use, kept on the model)."""
    with _guides_lock:
        g = getattr(model, "_guide", None)
        if g is None:
            path = model.folder / model.manifest["files"]["tokenizer"]["file"]
            g = model._guide = Guide(path, model.tokenizer, model.engine.vocab_size)
        return g


class Constraint:
    """A logits processor over one llguidance matcher (one reply). ``seconds`` per token: mask + consume."""

    def __init__(self, guide: Guide, grammar: str):
        self.guide = guide
        self.m = guide._ll.LLMatcher(guide.lltok, grammar)
        self._mask = np.zeros((guide.vocab_size + 31) // 32, np.int32)
        self.tokens = 0
        self.ff_tokens = 0                # of which forced (fed without sampling or a step of their own)
        self.seconds: list[float] = []
        self._t = 0.0

    def allowed(self) -> np.ndarray:
        self.m.unsafe_compute_mask_ptr(self._mask.ctypes.data, self._mask.nbytes)
        return np.unpackbits(self._mask.view(np.uint8), bitorder="little")[: self.guide.vocab_size].astype(bool)

    def restrict(self, allowed: np.ndarray) -> np.ndarray:
        return allowed

    def __call__(self, generated, logits: np.ndarray) -> None:
        t0 = time.perf_counter()
        allowed = self.restrict(self.allowed())
        n = min(logits.shape[0], allowed.shape[0])
        logits[:n][~allowed[:n]] = -np.inf
        logits[n:] = -np.inf
        self._t = time.perf_counter() - t0

    def accept(self, token_id: int) -> bool:
        """Feed the chosen token; False once the grammar is complete (decoding stops)."""
        t0 = time.perf_counter()
        if not self.m.consume_token(int(token_id)):
            raise RuntimeError(f"llguidance refused token {token_id}: {self.m.get_error()}")
        self.tokens += 1
        self.seen(int(token_id))
        self.seconds.append(self._t + time.perf_counter() - t0)
        return not self.m.is_stopped()

    def seen(self, token_id: int) -> None:
        pass

    def forced(self, limit: int) -> list[int]:
        """Tokens the grammar allows no alternative to (fast-forward), taken as accepted."""
        if limit <= 0 or self.m.is_stopped():
            return []
        t0 = time.perf_counter()
        toks = list(self.m.compute_ff_tokens())[:limit]
        if toks and self.m.consume_tokens(toks) is False:
            raise RuntimeError(f"llguidance refused its own forced tokens {toks}: {self.m.get_error()}")
        for t in toks:
            self.tokens += 1
            self.seen(int(t))
        self.ff_tokens += len(toks)
        if toks and self.seconds:           # counted with the sampled token it follows
            self.seconds[-1] += time.perf_counter() - t0
        return [int(t) for t in toks]

    def stopped(self) -> bool:
        return self.m.is_stopped()


class ReplyConstraint(Constraint):
    """A structured reply (:meth:`Guide.reply`); ``truncated`` when the line budget closed it."""

    def __init__(self, guide: Guide, grammar: str, line_tokens: int, overhead_bytes: int):
        super().__init__(guide, grammar)
        self.line_tokens, self.overhead = line_tokens, overhead_bytes
        self.text = b""
        self.in_line_tokens = -1          # tokens since the line opened; -1: not open yet
        self.closed = False
        self.truncated = False

    def in_line(self) -> bool:
        """The spoken line is being decoded (the JSON keys, emotion and action are behind)."""
        return self.in_line_tokens >= 0 and not self.closed

    @property
    def max_new_tokens(self) -> int:
        """A cap the constraint always completes within: structure bytes + line budget + closing + slack."""
        return self.overhead + self.line_tokens + 4

    def restrict(self, allowed):
        if self.in_line_tokens >= self.line_tokens and not self.closed:
            closing = allowed & self.guide.has_quote
            if closing.any():
                self.truncated = True
                return closing
        return allowed

    def seen(self, token_id):
        self.text += self.guide.token_bytes[token_id]
        if self.in_line_tokens < 0:
            i = self.text.find(LINE_KEY)
            if i >= 0:
                self.in_line_tokens = 0
                if b'"' in self.text[i + len(LINE_KEY):]:
                    self.closed = True
        elif not self.closed:
            self.in_line_tokens += 1
            i = self.text.find(LINE_KEY) + len(LINE_KEY)
            if b'"' in self.text[i:]:
                self.closed = True


class LineConstraint(Constraint):
    """One line of speech (:meth:`Guide.line`): once ``max_tokens`` tokens are spent, the end is the
    only choice as soon as the grammar allows it (at once for a free line)."""

    def __init__(self, guide: Guide, grammar: str, max_tokens: int, extra: int = 0):
        super().__init__(guide, grammar)
        self.max_tokens, self.extra = max_tokens, extra
        self.cut = False            # the budget ended the line (it may stop mid-sentence)

    @property
    def max_new_tokens(self) -> int:
        """The budget, plus (with required text) what the line may still need to become complete."""
        return self.max_tokens + self.extra + 2

    def restrict(self, allowed):
        if self.tokens >= self.max_tokens and self.m.is_accepting() and allowed[self.guide.eos_id]:
            only = np.zeros_like(allowed)
            only[self.guide.eos_id] = True
            self.cut = True
            return only
        return allowed


class ReplyText:
    """The spoken line inside a structured reply's JSON, as it decodes: ``push`` the decoded text so
    far, get what is new of the line (the JSON keys, emotion and action never show)."""

    PREFIX = '"line":"'

    def __init__(self):
        self.emitted = 0

    def push(self, text: str) -> str:
        i = text.find(self.PREFIX)
        if i < 0:
            return ""
        line = text[i + len(self.PREFIX):]
        j = line.find('"')
        if j >= 0:
            line = line[:j]
        new = line[self.emitted:]
        self.emitted = len(line)
        return new


def parse_reply(text: str) -> tuple[str, str, str]:
    """(line, emotion, action) of a structured reply's JSON; of a cut one (cancelled), what is there."""
    try:
        obj = json.loads(text)
        return obj["line"], obj["emotion"], obj["action"]
    except (ValueError, KeyError, TypeError):
        pass
    fields = dict(re.findall(r'"(emotion|action)":"([a-z0-9_]+)"', text))
    line = ReplyText().push(text)
    return line, fields.get("emotion", ""), fields.get("action", "")


# -- secrets ------------------------------------------------------------------------------------

STOP = frozenset("""a an the and or but if of to in on at by for with from as is are was were be been am i you he
she it we they me my your our their this that these those there here not no so do does did have has had
will would shall should can could may might must what who whom which when where why how all any some just
very too than then now up down out over again once its""".split())


def secret_words(secrets: Sequence[str], rest: Sequence[str]) -> list[str]:
    """The words that give a secret away: its words of 4+ letters that appear nowhere else on the
    card (``rest``: name, role, traits, facts ...), lower-case. "Captain Aldric sold the shipment
    to the smugglers" on a card whose facts mention the captain and smugglers -> aldric, sold, shipment."""
    def words(text):
        return re.findall(r"[a-z]+", text.lower())

    known = {w.rstrip("s") for t in rest for w in words(t)}
    out: list[str] = []
    for s in secrets:
        for w in words(s):
            if len(w) >= 4 and w not in STOP and w.rstrip("s") not in known and w not in out:
                out.append(w)
    return out


class SecretGuard:
    """A logits processor that keeps a secret's giveaway words out of a reply, and its names' near
    spellings too.

    * **Stems** (:func:`secret_words`): a token is disallowed when the reply's tail plus the
      token's text would spell the stem of one of them (all but the last two letters, at least
      four: ``desert`` for deserter, so ``deserte`` and ``deserters`` too; any case, across token
      boundaries, inside longer words).
    * **Names** (:func:`secret_names`, e.g. ``aldric``): a token is disallowed when it would spell
      a capitalised word, or the beginning of one, that is a near-spelling of a name
      (:func:`near_name`: "Ald", "Alder", "Aldrik", "Eldric" for Aldric) — unless the word starts
      a sentence and is, in lower case, one of the tokenizer's whole-word tokens (an ordinary word
      the model learnt as one piece: "Half the town knows" stays allowed for "Haldor"; mid-sentence,
      a capitalised word is taken for a name). Lower-case words are left to the stems: "alder"
      (the tree) stays allowed, "aldric" does not.
    * **Long words** (7+ letters): any word, any case, that begins with all but their last three
      letters and is no whole-word token of the tokenizer ("deserber" for deserter, once the
      stem ``desert`` was masked; "deserve" stays).

    Only the tokens the sampler can pick are checked: with top-k sampling, the ``top_k`` plus
    ``repetition_window`` best (the penalty lowers at most that many), re-checked until no newly
    disallowed token uncovers another; greedy, the best; with top-k off, every allowed token (slow
    but rare). If a grammar leaves nothing but giveaway tokens, they stay allowed (a reply must go
    on). What it does not stop: the secret said in other words (see BENCHMARKS.md)."""

    NAME_TAIL = 40          # characters of the reply kept to find the word being spelled

    def __init__(self, tokenizer, words: Sequence[str], top_k: int, window: int, when=None,
                 names: Sequence[str] = ()):
        # each word's stem (all but its last two letters, at least four): a first benchmark run saw
        # the model write "celler" and "deserte" around a whole-word guard
        self.words = sorted({w.lower()[:max(4, len(w) - 2)] for w in words})
        self.names = sorted({n.lower() for n in names})
        # long words: a shorter beginning too, in any case, unless the word is an ordinary one
        # ("deserber" for deserter — seen once the stem "desert" was masked; "deserve" stays)
        self.starts = sorted({w.lower()[:len(w) - 3] for w in words if len(w) >= 7})
        self.span = max((len(w) for w in self.words), default=1) - 1
        self.tok = tokenizer
        self.ordinary = whole_words(tokenizer) if self.names or self.starts else frozenset()
        self.reach = top_k + window if top_k else 0
        self.when = when        # None: always; else a callable, e.g. "inside a structured reply's line"
        self.text = ""          # the reply so far (its last 256 characters), as written
        self.blocked = 0
        self._cache: dict[int, str] = {}
        self._near_cache: dict[tuple[str, bool], bool] = {}

    def _t(self, token_id: int) -> str:
        s = self._cache.get(token_id)
        if s is None:
            s = self._cache[token_id] = self.tok.token_bytes(token_id).decode("utf-8", "ignore")
        return s

    def _bad(self, tail: str, token_id: int) -> bool:
        """Would this token complete a stem, or spell (part of) a name's near-spelling? ``tail``: the
        reply's end as written (any case)."""
        t = self._t(token_id)
        if self.words:
            st = tail[-self.span:] if self.span else ""
            s = (st + t).lower()
            if any(s.find(w, max(0, len(st) - len(w) + 1)) >= 0 for w in self.words):
                return True
        if (self.names or self.starts) and t:
            # the word being written at the tail's end, and a few characters before it
            short = tail[max(0, len(tail) - len(_TRAILING.search(tail).group()) - 3):]
            s = short + t
            # every word that this token writes a letter of, from its first letter
            for m in _WORD.finditer(s):
                if m.end() <= len(short):
                    continue
                if self._near(m.group(), s[:m.start()].rstrip()[-1:]):
                    return True
        return False

    def _near(self, word: str, before: str) -> bool:
        """Is ``word`` (cased; ``before``: the non-space character before it, or "") a near-spelling?"""
        key = (word, before in _SENTENCE_END)   # "" (the reply's start) counts as a sentence's start
        got = self._near_cache.get(key)
        if got is None:
            w = word.lower()
            if any(w.startswith(b) for b in self.starts) and w not in self.ordinary:
                got = True
            elif not word[0].isupper() or not any(near_name(w, n) for n in self.names):
                got = False
            else:               # an ordinary word capitalised at a sentence's start is no name
                got = not (w in self.ordinary and key[1])
            self._near_cache[key] = got
        return got

    def __call__(self, generated, logits: np.ndarray) -> None:
        if self.when is not None and not self.when():
            return
        tail = self.text[-self.NAME_TAIL:]
        saved: dict[int, float] = {}
        if not self.reach:
            for t in np.flatnonzero(np.isfinite(logits)):
                if self._bad(tail, int(t)):
                    saved[int(t)] = logits[t]
                    logits[t] = -np.inf
        else:
            checked: set[int] = set()
            while True:
                k = min(self.reach + len(saved), logits.shape[0])
                fresh = [int(t) for t in np.argpartition(logits, -k)[-k:] if int(t) not in checked]
                newly = 0
                for t in fresh:
                    checked.add(t)
                    if np.isfinite(logits[t]) and self._bad(tail, t):
                        saved[t] = logits[t]
                        logits[t] = -np.inf
                        newly += 1
                if not newly:
                    break
        if saved and not np.isfinite(logits).any():     # a grammar left only giveaway tokens: let it be
            for t, v in saved.items():
                logits[t] = v
            return
        self.blocked += len(saved)

    def accept(self, token_id: int) -> bool:
        self.text = (self.text + self._t(int(token_id)))[-256:]
        return True


_WORD = re.compile(r"[A-Za-z]+")
_TRAILING = re.compile(r"[A-Za-z]*$")
_SENTENCE_END = ".!?:;\"'(*-\n"


# -- near-spellings of a secret's names -----------------------------------------------------------

def osa_distance(a: str, b: str) -> int:
    """Edit distance with adjacent transpositions (optimal string alignment): "aldirc"/"aldric" is 1."""
    prev2, prev = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def near_name(word: str, name: str) -> bool:
    """Is ``word`` (a capitalised word or its beginning, lower-case) a near-spelling of the secret's
    proper noun ``name`` (lower-case)? The same first three letters ("ald": Alder, Aldrik, Aldo for
    aldric), or, from four letters on, one edit (a letter changed, added, dropped or two swapped)
    from the name's beginning of about that length (Eldric, Adlric, Baldric)."""
    if len(word) < 3 or len(name) < 3:
        return False
    if word[:3] == name[:3]:
        return True
    if len(word) < 4 or len(name) < 4 or (word[0] not in name[:2] and word[1] not in name[:2]):
        return False            # (one edit leaves one of the first two letters among the name's first two)
    return min(osa_distance(word, name[:k]) for k in (len(word) - 1, len(word), len(word) + 1)) <= 1


def secret_names(secrets: Sequence[str], rest: Sequence[str], ordinary: "frozenset[str]" = frozenset()) -> list[str]:
    """A secret's proper nouns, lower-case: its capitalised words of 3+ letters found nowhere else on
    the card (``rest``) — "Captain Aldric sold the shipment" -> aldric on the guard's card (whose
    facts name the captain), "... the tax collector Haldor Brisk" -> haldor, brisk. A word that
    starts a sentence is capitalised anyway: it counts only when it is no common word (not in
    :data:`STOP` nor in ``ordinary``, e.g. the tokenizer's :func:`whole_words`)."""
    known = {w.lower().rstrip("s") for t in rest for w in _WORD.findall(t)}
    out: list[str] = []
    for s in secrets:
        for m in _WORD.finditer(s):
            w, low = m.group(), m.group().lower()
            if len(w) < 3 or not w[0].isupper() or low.rstrip("s") in known or low in STOP or low in out:
                continue
            starts = not s[:m.start()].strip() or s[:m.start()].rstrip()[-1] in _SENTENCE_END
            if starts and low in ordinary:
                continue
            out.append(low)
    return out


def whole_words(tokenizer) -> "frozenset[str]":
    """A tokenizer's lower-case tokens that begin a word (" half", " hall"; 3+ letters): mostly the
    ordinary words it saw often enough to learn as one piece, with some word beginnings (" hal").
    Such a word is not taken for a near-spelling (:class:`SecretGuard`); a beginning let through
    this way is judged again once the word goes on ("Hal" + "dor"). Computed once per tokenizer."""
    got = getattr(tokenizer, "_whole_words", None)
    if got is None:
        words = set()
        for i in range(getattr(tokenizer, "vocab_size", 0)):
            b = tokenizer.token_bytes(i)
            if len(b) > 3 and b[:1] == b" " and b[1:].isalpha() and b[1:].islower():
                words.add(b[1:].decode("ascii", "ignore"))
        got = frozenset(words)
        try:
            tokenizer._whole_words = got
        except AttributeError:
            pass
    return got


# -- the NPC's own name ---------------------------------------------------------------------------

class NameLock:
    """A logits processor: when the NPC names itself, it says the card's name.

    Right after "my name is", "I'm", "I am", "call me", "the name's" or "I'm known as" (any case), a
    token that would start a capitalised word other than the name's first word loses its chance to
    the name: those tokens are masked and the name's first token gets the best logit among them
    (so a reply that was going to say *a* name says *this* one, and one going on in lower case —
    "I'm the gate guard", "I am not telling" — is untouched); once the name is begun, its first
    word is completed as the tokenizer spells it, and the next word may be a capitalised one only
    if it is the card's surname ("Sela Voss", never "Brann Blackstone"). Without it SmolLM2-135M
    invented a name ("Grimbold") in 3 of 10 answers to "What is your name?" even with the persona
    prefix of :func:`~.llm.persona_chat` (BENCHMARKS.md). Checked over the same reachable
    tokens as :class:`SecretGuard`; ``steered`` counts the steps it changed."""

    # first person only: "his name is", "the ship's name is", "known as" name someone else
    TRIGGER = re.compile(r"(?:\bmy name is|\bmy name's|\bthe name's|\bi am|\bi'm|\bcall me|"
                         r"\bi(?:'m| am) known as)\s?$", re.IGNORECASE)

    def __init__(self, tokenizer, name: str, top_k: int, window: int, when=None):
        self.tok = tokenizer
        first, _, rest = name.partition(" ")
        self.first, self.surname = first, (" " + rest if rest else "")
        self.reach = top_k + window if top_k else 0
        self.when = when
        self.text = ""
        self.want = ""          # the rest of a name part being written
        self.then: str | None = None     # once ``want`` is written: what may follow (see ``follows``)
        self.follows: str | None = None  # right after a name part: the capitalised word allowed next
        self.steered = 0
        self._cache: dict[int, str] = {}

    def _t(self, token_id: int) -> str:
        s = self._cache.get(token_id)
        if s is None:
            s = self._cache[token_id] = self.tok.token_bytes(token_id).decode("utf-8", "ignore")
        return s

    def __call__(self, generated, logits: np.ndarray) -> None:
        if self.when is not None and not self.when():
            return
        if self.want:                                   # inside a name part: finish it
            t = self.tok.encode(self.want)[0]
            if np.isfinite(logits[t]):                  # (never a token a grammar disallowed)
                keep = logits[t]
                logits[:] = -np.inf
                logits[t] = keep
                self.steered += 1
            return
        if self.follows is not None:                    # after the name: its surname or no name
            target = self.follows
        elif self.TRIGGER.search(self.text):
            target = self.first if self.text.endswith(" ") or not self.text else " " + self.first
        else:
            return
        k = min(self.reach or logits.shape[0], logits.shape[0])
        best = -np.inf
        for t in map(int, np.argpartition(logits, -k)[-k:]):
            s = self._t(t)
            if not np.isfinite(logits[t]):
                continue
            if self.follows is not None and s[:1].isalnum():
                logits[t] = -np.inf                     # the name is whole: not "Brannstone"
                continue
            if not s.lstrip(" ")[:1].isupper() or (self.follows is not None and not s.startswith(" ")):
                continue                                # lower case, or "Brann's", "Brann." go on
            if target and (target.startswith(s) or (s.startswith(target) and not s[len(target):][:1].isalnum())):
                continue                                # the name, or the name and a comma in one token
            best = max(best, float(logits[t]))
            logits[t] = -np.inf
        if np.isfinite(best):
            self.steered += 1
            t = self.tok.encode(target)[0] if target else -1
            if t >= 0 and np.isfinite(logits[t]):
                logits[t] = max(float(logits[t]), best)

    def accept(self, token_id: int) -> bool:
        s = self._t(int(token_id))
        if self.want:
            self.want = self.want[len(s):] if self.want.startswith(s) else ""
            if not self.want:
                self.follows = self.then
        elif self.follows is not None:
            target, self.follows = self.follows, None
            if target and len(s) > 1 and target.startswith(s):      # the surname begins
                self.want, self.then = target[len(s):], ""
                if not self.want:
                    self.follows = ""
        elif s.strip() and self.TRIGGER.search(self.text):
            target = self.first if self.text.endswith(" ") or not self.text else " " + self.first
            if target.startswith(s):
                self.want, self.then = target[len(s):], self.surname
                if not self.want:
                    self.follows = self.surname
        self.text = (self.text + s)[-256:]
        return True
