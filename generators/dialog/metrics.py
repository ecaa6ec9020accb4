"""Text metrics every dialog model is measured with (the baseline and the LLM alike). Pure Python.

* :func:`distinct_n` — unique n-grams / all n-grams over a pool of lines (diversity; 1 = no repeats).
* :func:`bleu` / :func:`self_bleu` — sentence BLEU-4 (uniform weights, add-one smoothing on the
  n-gram precisions for n > 1, brevity penalty against the closest reference length; Lin & Och
  2004 smoothing 2) and its average of each group's lines against the *other* groups' lines:
  between NPCs, lower means the NPCs sound more unlike each other.
* :func:`persona_word_usage` — the share of an NPC's lines that use a content word of its own card
  (traits, role, mood, speech style, facts; never secrets).
* :func:`attribution_accuracy` — who said it: a bag-of-words nearest-centroid classifier trained on
  some seeds' lines and scored on other seeds' lines (chance = 1 / number of NPCs).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Iterable, Mapping, Sequence

from .persona import Persona

_WORD = re.compile(r"[a-z0-9']+")
STOP = set("""a an the and or but if of to in on at by for with from as is are was were be been am i you he she it
we they me my your our their this that these those there here not no so do does did have has had will would
shall should can could may might must what who whom which when where why how all any some just very too than
then now up down out over again once its it's i'm don't""".split())


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def distinct_n(lines: Iterable[str], n: int = 2) -> float:
    grams: list[tuple[str, ...]] = []
    for line in lines:
        grams += ngrams(words(line), n)
    return len(set(grams)) / len(grams) if grams else 0.0


def bleu(hypothesis: str, references: Sequence[str], max_n: int = 4) -> float:
    hyp = words(hypothesis)
    refs = [words(r) for r in references]
    if not hyp or not refs:
        return 0.0
    log_p = 0.0
    for n in range(1, max_n + 1):
        h = Counter(ngrams(hyp, n))
        most: Counter = Counter()
        for r in refs:
            for g, c in Counter(ngrams(r, n)).items():
                most[g] = max(most[g], c)
        match = sum(min(c, most[g]) for g, c in h.items())
        total = max(len(hyp) - n + 1, 0)
        if n == 1:
            if match == 0:
                return 0.0
            p = match / total
        else:
            p = (match + 1) / (total + 1)
        log_p += math.log(p) / max_n
    closest = min((abs(len(r) - len(hyp)), len(r)) for r in refs)[1]
    bp = 1.0 if len(hyp) > closest else math.exp(1 - closest / len(hyp))
    return bp * math.exp(log_p)


def self_bleu(groups: Mapping[str, Sequence[str]]) -> float:
    """Mean BLEU of every line of each group against all lines of the other groups."""
    scores = []
    for name, lines in groups.items():
        others = [l for k, ls in groups.items() if k != name for l in ls]
        scores += [bleu(l, others) for l in lines]
    return sum(scores) / len(scores) if scores else 0.0


def card_words(p: Persona) -> set[str]:
    text = " ".join((*p.traits, p.role, p.mood, p.speech_style, *p.facts))
    return {w for w in words(text) if len(w) > 3 and w not in STOP}


def persona_word_usage(p: Persona, lines: Sequence[str]) -> float:
    own = card_words(p)
    return sum(1 for l in lines if own & set(words(l))) / len(lines) if lines else 0.0


def attribution_accuracy(train: Mapping[str, Sequence[str]], test: Mapping[str, Sequence[str]]) -> float:
    """Share of test lines whose nearest speaker centroid (cosine over word counts) is their speaker."""
    cents = {}
    for name, lines in train.items():
        c = Counter(w for l in lines for w in words(l))
        norm = math.sqrt(sum(v * v for v in c.values())) or 1.0
        cents[name] = {w: v / norm for w, v in c.items()}
    right = total = 0
    for name, lines in test.items():
        for l in lines:
            c = Counter(words(l))
            best = max(cents, key=lambda k: sum(v * cents[k].get(w, 0.0) for w, v in c.items()))
            right += best == name
            total += 1
    return right / total if total else 0.0
