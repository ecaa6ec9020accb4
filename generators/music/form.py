"""The form plan: which bars are new, which return (and how they vary), and where phrases cadence.

A piece is cut into four-bar phrases. Each phrase gets a letter from the form (``aaba``, ``abab``,
``aabb``; ``through`` gives every phrase a new letter; the pattern repeats for longer pieces) and
a cadence: phrases alternate antecedent (**half cadence**: a long note on a dominant chord tone
over V) and consequent (**authentic cadence**: V then a long tonic over I); the last phrase always
closes with an authentic cadence on the tonic (a loop closes on the dominant instead and leads
back into bar one).

The model writes every note. The plan only says, per bar:

``new``
    sampled by the model (the first phrase of a letter: bar 1 is the motif, bar 2 new or the motif
    moved along the scale — a *sequence* — bar 3 new or the motif varied);
``copy``
    an earlier bar returns as it was (the model is fed it, so what follows continues from it);
``sequence``
    an earlier bar moved up or down the scale by a step or two (diatonic transposition);
``vary``
    an earlier bar's first half returns and the model writes a new second half (rhythmic and
    melodic variation of the motif);

and, at a phrase end, the cadence the sampler shapes (the last note's length and pitch classes)
and the chords the harmoniser puts under it. A letter's return copies its first phrase bar by
bar (bars 2-3 sometimes varied); when the return needs a different cadence from the original
(``A`` half, ``A'`` authentic) the cadence bar is new: an *altered ending*.

Everything is drawn from the piece's own random generator, so the plan is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FORMS = ("auto", "aaba", "abab", "aabb", "through")
PHRASE_BARS = 4
CADENCE_TICKS = {"4/4": 24, "3/4": 36, "2/4": 12, "6/8": 18}   # length of the cadence's last note
# normalised pitch classes the cadence's last note may take (C major / A minor)
HALF = {"major": (7, 11, 2), "minor": (4, 8, 11)}
AUTHENTIC_END = {"major": (0,), "minor": (9,)}
AUTHENTIC_INNER = {"major": (0, 4), "minor": (9, 0)}
TONIC_CHORD = {"major": "I", "minor": "i"}
DOMINANT_CHORD = {"major": "V", "minor": "v/V"}


@dataclass(frozen=True)
class BarPlan:
    kind: str                 # "new", "copy", "sequence", "vary"
    source: int = -1          # earlier bar (index in the new bars) for copy/sequence/vary
    steps: int = 0            # scale steps of a sequence
    cadence: str = ""         # "", "half", "authentic", "final", "loop"
    letter: str = "a"


def choose_form(form: str, auto_forms: tuple[str, ...], rng: np.random.Generator) -> str:
    if form != "auto":
        return form
    return auto_forms[int(rng.integers(0, len(auto_forms)))]


def plan(form: str, bars: int, rng: np.random.Generator, loop: bool = False, vary: float = 0.35) -> list[BarPlan]:
    """The bar-by-bar plan of a piece of ``bars`` bars in ``form`` (not ``auto``: see :func:`choose_form`)."""
    phrases = -(-bars // PHRASE_BARS)
    if form == "through":
        letters = [chr(ord("a") + i % 26) for i in range(phrases)]
    else:
        letters = [form[i % len(form)] for i in range(phrases)]
    out: list[BarPlan] = []
    first_of: dict[str, int] = {}          # letter -> index of its first phrase
    cadences: list[str] = []
    for ph, letter in enumerate(letters):
        start = ph * PHRASE_BARS
        n = min(PHRASE_BARS, bars - start)
        last_phrase = ph == phrases - 1
        if last_phrase:
            cad = "loop" if loop else "final"
        else:
            cad = "half" if ph % 2 == 0 else "authentic"
        cadences.append(cad)
        src = first_of.get(letter)
        for k in range(n):
            is_end = k == n - 1
            c = cad if is_end else ""
            if src is not None:                           # a return of an earlier phrase
                s = src * PHRASE_BARS + k
                same_cadence = is_end and cadences[src] == cad and out[s].cadence == cad
                if is_end and not same_cadence:
                    out.append(BarPlan("new", cadence=c, letter=letter))        # altered ending
                elif k == 0 or (is_end and same_cadence):
                    out.append(BarPlan("copy", s, cadence=c, letter=letter))
                elif rng.random() < vary:
                    out.append(BarPlan("vary", s, cadence=c, letter=letter))
                else:
                    out.append(BarPlan("copy", s, cadence=c, letter=letter))
                continue
            if is_end or k == 0 or n < 3:
                out.append(BarPlan("new", cadence=c, letter=letter))
            elif k == 1:
                if rng.random() < 0.5:
                    out.append(BarPlan("sequence", start, steps=int(rng.choice((-2, -1, 1, 2))), letter=letter))
                else:
                    out.append(BarPlan("new", letter=letter))
            else:                                          # k == 2: the motif comes back
                if out[start + 1].kind == "sequence" or rng.random() < 0.4:
                    out.append(BarPlan("new", letter=letter))
                else:
                    out.append(BarPlan("vary" if rng.random() < 0.7 else "copy", start, letter=letter))
        if src is None:
            first_of[letter] = ph
    return out


def cadence_pitches(cadence: str, mode: str) -> tuple[int, ...]:
    return {"half": HALF, "authentic": AUTHENTIC_INNER, "final": AUTHENTIC_END}[cadence][mode]


def cadence_chords(cadence: str, mode: str, spans: int) -> tuple[list[str | None], str | None]:
    """Chords forced under a cadence bar (per span) and over the previous bar's last span."""
    tonic, dom = TONIC_CHORD[mode], DOMINANT_CHORD[mode]
    if cadence == "half" or cadence == "loop":
        return [None] * (spans - 1) + [dom], None
    if cadence in ("authentic", "final"):
        if spans >= 2:
            return [None] * (spans - 2) + [dom, tonic], None
        return [tonic], dom
    return [None] * spans, None


# -- diatonic transposition (sequences) ----------------------------------------------------------

SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (9, 11, 0, 2, 4, 5, 7)}   # normalised, A natural minor


def scale_step(pitch: int, steps: int, mode: str) -> int:
    """``pitch`` moved ``steps`` scale degrees (a pitch off the scale moves with its lower neighbour)."""
    ordered = sorted(SCALES[mode])            # both normalised scales hold pitch class 0
    pc, octave = pitch % 12, pitch // 12
    below = max(s for s in ordered if s <= pc)
    o, i = divmod(ordered.index(below) + steps, len(ordered))
    return (octave + o) * 12 + ordered[i] + (pc - below)


def transpose_bar(events: list[tuple[int, int]], steps: int, mode: str) -> list[tuple[int, int]]:
    return [(t, scale_step(p, steps, mode) if p >= 0 else -1) for t, p in events]
