"""Dialog persona handling: the conversation prefix built from any card, the name lock (the NPC
says the card's name when it names itself) and the secret guard's near-spellings of names.

The guard and the lock are checked on their token masks with a small stand-in tokenizer, and in a
real decode loop over a tiny random model (built in the test) pushed hard towards the wrong words;
the served path (prefix, lock, guard in one session) over a loopback gRPC server.
"""

from __future__ import annotations

import numpy as np
import pytest

from gamegen.generators.dialog.constrain import (NameLock, SecretGuard, near_name, osa_distance, secret_names,
                                                 whole_words)

GUARD_SECRET = "Captain Aldric sold the shipment to the smugglers."
GUARD_REST = ["Brann", "gate guard of Eastwatch", "The captain doubled the night watch.", "Smugglers were seen."]


class Tok:
    """A stand-in tokenizer: a fixed token list (whole words with a leading space are "ordinary")."""

    def __init__(self, pieces):
        self.pieces = [p.encode() for p in pieces]
        self.vocab_size = len(self.pieces)

    def token_bytes(self, i):
        return self.pieces[i]

    def encode(self, text):
        out, rest = [], text.encode()
        while rest:                                   # greedy longest match
            i = max((i for i, p in enumerate(self.pieces) if p and rest.startswith(p)),
                    key=lambda i: len(self.pieces[i]))
            out.append(i)
            rest = rest[len(self.pieces[i]):]
        return out


# -- near-spellings of a secret's names -------------------------------------------------------------

def test_secret_names_are_the_capitalised_words_found_nowhere_else_on_the_card():
    assert secret_names([GUARD_SECRET], GUARD_REST) == ["aldric"]           # captain is on the card
    assert secret_names(["Odo drowned the tax collector Haldor Brisk last spring."], ["Odo Fenwick"]) == \
        ["haldor", "brisk"]
    assert secret_names(["Mira hides her brother, a deserter, in the cellar."], ["Mira"]) == []
    # a sentence's first word is capitalised anyway: a name only when it is no ordinary word
    assert secret_names(["Nobody saw it. Later Ulf hid the key."], [], frozenset({"later", "nobody"})) == ["ulf"]


@pytest.mark.parametrize("word, near", [
    ("alder", True), ("aldrik", True), ("aldrich", True), ("ald", True), ("eldric", True), ("adlric", True),
    ("baldric", True), ("al", False), ("also", False), ("alan", False), ("brann", False), ("captain", False),
])
def test_near_name_by_prefix_and_edit_distance(word, near):
    assert near_name(word, "aldric") is near
    assert osa_distance("aldirc", "aldric") == 1 and osa_distance("alder", "aldric") == 3


def test_guard_masks_capitalised_near_spellings_but_not_ordinary_words():
    tok = Tok(["The", " Captain", " Ald", "er", "rik", " Alder", " alder", " al", "der", " Half", " half",
               " Hal", "dor", "f", " Eld", "ric", " tree", ".", " Brisk", " brisk", " is", " a"])
    g = SecretGuard(tok, [], 0, 0, names=["aldric", "haldor"])
    ids = {p.decode(): i for i, p in enumerate(tok.pieces)}
    assert g._bad("The Captain", ids[" Ald"]) and g._bad("The Captain", ids[" Alder"])   # "The Captain Alder"
    assert g._bad("Captain", ids[" Eld"]) is False and g._bad("Captain Eld", ids["ric"])  # Eldric, at its 4th letter
    assert not g._bad("the", ids[" alder"]) and not g._bad("the al", ids["der"])          # the tree, lower case
    # an ordinary word (a whole-word token in lower case) capitalised at a sentence's start stays;
    # mid-sentence a capitalised word is a name ("the Captain Alder" even where "alder" is a word)
    assert not g._bad("", ids[" Half"]) and not g._bad("Fine.", ids[" Half"]) and g._bad("the", ids[" Half"])
    assert g._bad("Fine. Hal", ids["dor"]) and not g._bad("Fine. Hal", ids["f"])          # Haldor, not Half
    # every candidate token is checked in a masking step; the allowed ones keep their logits
    g = SecretGuard(tok, [], 0, 0, names=["aldric"])
    for t in tok.encode("The Captain"):
        g.accept(t)
    logits = np.zeros(tok.vocab_size, np.float32)
    g(None, logits)
    assert np.isneginf(logits[ids[" Ald"]]) and np.isneginf(logits[ids[" Alder"]])
    assert logits[ids[" alder"]] == 0 and logits[ids[" is"]] == 0 and g.blocked == 2


def test_guard_masks_near_spellings_of_long_giveaway_words_but_not_ordinary_ones():
    tok = Tok([" a", " des", "er", "ber", " deserve", " desert", " cellar"])
    g = SecretGuard(tok, ["deserter", "cellar"], 0, 0)
    ids = {p.decode(): i for i, p in enumerate(tok.pieces)}
    assert g.starts == ["deser"] and g.words == ["cell", "desert"]
    assert g._bad(" a des", ids["er"]) and g._bad(" a deser", ids["ber"])      # "deser...", "deserber"
    assert not g._bad(" a", ids[" deserve"])                                  # an ordinary word
    assert g._bad(" a", ids[" desert"]) and g._bad(" a", ids[" cellar"])       # the stems, as before


def test_whole_words_are_the_tokenizers_lower_case_word_tokens():
    tok = Tok([" half", " Half", " al", "der", " hall", "x", " of"])
    assert whole_words(tok) == frozenset({"half", "hall"})     # 3+ letters, lower case, one token


# -- the name lock ----------------------------------------------------------------------------------

def run_lock(lock, tok, planned):
    """Decode greedily where the "model" always wants the next token of ``planned`` (or a full stop
    once the text has left it): what does the lock let out?"""
    out = ""
    for _ in range(40):
        logits = np.full(tok.vocab_size, -5.0, np.float32)
        logits[tok.encode(".")[0]] = 0.0
        if planned.startswith(out) and len(out) < len(planned):
            logits[tok.encode(planned[len(out):])[0]] = 10.0
        else:
            logits[tok.encode(".")[0]] = 10.0
        for i, p in enumerate(tok.pieces):            # every capitalised piece is a likely second choice
            if p.strip()[:1].isupper():
                logits[i] = max(logits[i], 2.0)
        lock(None, logits)
        t = int(np.argmax(logits))
        lock.accept(t)
        out += tok.token_bytes(t).decode()
        if out.endswith("."):
            return out
    return out


PIECES = ["My", " name", " is", "the", "'s", " Grim", "bold", " Black", "stone", " Br", "ann", ".", ",", " the",
          " guard",
          "I", " I", "'m", " Sel", "a", " V", "oss", " Smith", " am", " not", " telling", "'s", " sword", "ie"]


def test_name_lock_says_the_cards_name_when_the_npc_names_itself():
    tok = Tok(PIECES)
    lock = NameLock(tok, "Brann", 0, 0)
    assert run_lock(lock, tok, "My name is Grimbold Blackstone, the guard.") == "My name is Brann."
    assert lock.steered >= 2
    # lower case after the trigger is untouched; the card's name, or its possessive, goes on
    assert run_lock(NameLock(tok, "Brann", 0, 0), tok, "I am not telling.") == "I am not telling."
    assert run_lock(NameLock(tok, "Brann", 0, 0), tok, "I'm Brann's sword.") == "I'm Brann's sword."
    assert run_lock(NameLock(tok, "Brann", 0, 0), tok, "I'm Brannie.") == "I'm Brann."       # never longer
    # first person only: someone else's name is left alone
    assert run_lock(NameLock(tok, "Brann", 0, 0), tok, "the guard's name is Grimbold.") == \
        "the guard's name is Grimbold."
    # a surname: only the card's may follow the first name
    assert run_lock(NameLock(tok, "Sela Voss", 0, 0), tok, "I'm Grimbold Smith.") == "I'm Sela."
    assert run_lock(NameLock(tok, "Sela Voss", 0, 0), tok, "My name is Sela Voss, the guard.") == \
        "My name is Sela Voss, the guard."
    # it never revives a token that another processor (a grammar) disallowed
    lock = NameLock(tok, "Brann", 0, 0)
    for t in tok.encode("My name is"):
        lock.accept(t)
    logits = np.zeros(tok.vocab_size, np.float32)
    logits[tok.encode(" Br")[0]] = -np.inf
    lock(None, logits)
    assert np.isneginf(logits[tok.encode(" Br")[0]])


# -- the persona prefix ------------------------------------------------------------------------------

def test_persona_chat_builds_the_prefix_from_any_card():
    from gamegen.generators.dialog.llm import persona_chat
    from gamegen.generators.errors import InvalidArgument

    card = {"name": "Odo Fenwick", "role": "ferryman on the Grey River", "traits": ["lazy"], "mood": "sleepy",
            "knowledge": ["The river rose two feet.", "A crossing costs one copper."],
            "secrets": ["Odo drowned the tax collector."]}
    system, examples = persona_chat(card)
    assert system.startswith("You are Odo Fenwick, the ferryman on the Grey River") and "drowned" in system
    roles = [r for r, _ in examples]
    assert roles == ["user", "assistant", "user", "assistant", "system"]
    assert examples[1][1] == "I'm Odo Fenwick, the ferryman on the Grey River."
    assert examples[3][1] == "The river rose two feet."                       # its first fact, in its voice
    note = examples[-1][1]
    assert "A crossing costs one copper." in note and "Answer as Odo Fenwick" in note and "drowned" not in note
    # a card with a name only still has an example and a note; no name is refused naming the field
    _, ex = persona_chat({"name": "Pip", "role": "a beggar"})
    assert ex[1][1] == "I'm Pip, a beggar." and [r for r, _ in ex] == ["user", "assistant", "system"]
    with pytest.raises(InvalidArgument, match="persona.name"):
        persona_chat({"role": "nobody"})
    with pytest.raises(InvalidArgument, match="persona is .* characters once composed"):
        persona_chat({"name": "Pip", "knowledge": ["x" * 200] * 16, "secrets": ["y" * 200] * 8})
