"""Stems from the melody: a chord per span (half bar in 4/4, else a bar), a bass line and chords.

Chords are the key's diatonic triads (minor uses the major dominant, as in harmonic minor),
chosen per span as soon as its bar is finished, so stems stream with the melody. A chord scores
the melody time it covers (chord tones +1 per tick, twice on the span's first beat; other notes
-0.5), plus a small preference for tonic, dominant and subdominant and for changing chord at the
bar. The first span is the tonic; a non-looping piece ends on the tonic, a loop ends on the
dominant, which resolves into the tonic of its first bar when the piece repeats. Everything is
in the normalised key (C major / A minor), in ticks, and is deterministic.
"""

from __future__ import annotations

from . import encoding as enc

CHORDS = {
    "major": (("I", 0, 0), ("ii", 2, 1), ("iii", 4, 1), ("IV", 5, 0), ("V", 7, 0), ("vi", 9, 1)),
    "minor": (("i", 9, 1), ("III", 0, 0), ("iv", 2, 1), ("v/V", 4, 0), ("VI", 5, 0), ("VII", 7, 0)),
}  # (name, root pitch class, 0 = major triad / 1 = minor triad)
PRIOR = {"I": 0.6, "i": 0.6, "V": 0.4, "v/V": 0.4, "IV": 0.3, "iv": 0.3}
BASS_PATTERN = {"4/4": ((0, 12), (12, 12)), "2/4": ((0, 12), (12, 12)),
                "3/4": ((0, 24), (24, 12)), "6/8": ((0, 18), (18, 18))}   # per span: (offset, ticks), root then fifth
SPANS = {"4/4": 2, "3/4": 1, "2/4": 1, "6/8": 1}
BASS_RANGE = (40, 52)      # root of the bass in this normalised range (E2..D#3 before the key shift)
CHORD_LOW = 53             # chord voicings: lowest note from here (F3)


def triad(root: int, minor: int) -> tuple[int, int, int]:
    return (root % 12, (root + 3 + (1 - minor)) % 12, (root + 7) % 12)


def choose(notes: list[tuple[int, int, int]], span_start: int, span_ticks: int, mode: str, previous: str | None,
           forced: str | None = None) -> tuple[str, int, int]:
    """Best chord (name, root pc, minor) for the melody ``notes`` (start, ticks, pitch) in the span."""
    if forced:
        return next(c for c in CHORDS[mode] if c[0] == forced)
    best, best_score = None, None
    for name, root, minor in CHORDS[mode]:
        tones = triad(root, minor)
        score = PRIOR.get(name, 0.0) + (0.0 if name == previous else 0.15)
        for start, ticks, pitch in notes:
            a, b = max(start, span_start), min(start + ticks, span_start + span_ticks)
            if b <= a:
                continue
            w = (b - a) * (2.0 if a == span_start else 1.0) / span_ticks
            score += w if pitch % 12 in tones else -0.5 * w
        if best_score is None or score > best_score + 1e-9:
            best, best_score = (name, root, minor), score
    return best


class Harmoniser:
    """Feed finished melody bars in order; get (chord spans, bass notes, chord notes) per bar."""

    def __init__(self, mode: str, meter: str, bars: int, loop: bool):
        self.mode, self.meter, self.bars, self.loop = mode, meter, bars, loop
        self.bar_ticks = enc.METERS[meter]
        self.spans = SPANS[meter]
        self.previous: str | None = None
        self.index = 0

    def bar(self, events: list[tuple[int, int]]):
        """Stems for the next bar. Times are ticks from the bar's start.

        Returns ``(chords, bass, pads)``: chord names per span, bass notes and chord-tone notes as
        (start, ticks, pitch) in the normalised key.
        """
        notes = enc.notes_of([events])
        span = self.bar_ticks // self.spans
        names, bass, pads = [], [], []
        first, last = self.index == 0, self.index == self.bars - 1
        for s in range(self.spans):
            forced = None
            if first and s == 0:
                forced = "I" if self.mode == "major" else "i"
            if last and s == self.spans - 1:
                forced = ("V" if self.mode == "major" else "v/V") if self.loop else ("I" if self.mode == "major" else "i")
            name, root, minor = choose(notes, s * span, span, self.mode, self.previous, forced)
            self.previous = name
            names.append(name)
            tones = triad(root, minor)
            lo = BASS_RANGE[0]
            root_pitch = lo + (root - lo) % 12
            fifth = root_pitch + 7 if root_pitch < BASS_RANGE[0] + 5 else root_pitch - 5
            pattern = BASS_PATTERN[self.meter]
            for k, (off, ticks) in enumerate(pattern):
                bass.append((s * span + off, ticks, root_pitch if k == 0 else fifth))
            voicing = sorted(CHORD_LOW + (pc - CHORD_LOW) % 12 for pc in tones)
            pads += [(s * span, span, p) for p in voicing]
        self.index += 1
        return names, bass, pads
