"""Stems from the melody: a chord per span (half bar in 4/4, else a bar), a bass line, an
accompaniment pattern under the melody and, when asked, drums.

Chords come from the style's vocabulary (:mod:`.styles`: diatonic triads, minor with the major
dominant as in harmonic minor, and secondary dominants V/V, V/vi, V/ii, V/iv where the style wants
them; a secondary dominant is always followed by the chord it points at). Each span's chord is
chosen as soon as its bar is finished, so stems stream with the melody: it scores the melody time
it covers (chord tones +1 per tick, twice on the span's first beat; other notes -0.5), plus the
style's prior for the chord and a small bonus for changing chord. The form plan forces the
cadences: a half cadence puts V under the phrase's last note, an authentic cadence V then I (in
one-span meters V fills the bar before). Every phrase starts on the tonic; a non-looping piece ends on
the tonic, a loop on the dominant, which resolves into bar one when the piece repeats.

Accompaniment patterns (per span): ``block`` (a held chord), ``pads`` (held, the root doubled an
octave down), ``arpeggio`` (chord tones upwards in eighths), ``alberti`` (low-high-middle-high
eighths), ``waltz`` (chords on beats 2 and 3; off-beat chords in other meters), ``march`` (short
chords on the beats), ``ostinato`` (a repeated eighth-note figure on the chord's root). The
accompaniment is voiced under the lowest melody note of its bar (close position, nearest to the
previous voicing; never above that note) and over the bass; dominant chords (V, and secondary
dominants) sound as dominant sevenths (the seventh is the key's fourth degree, which also tells
the key from the dominant's); a figure that repeats one voice repeats the root. Bass patterns:
``root_fifth``, ``pedal`` (the root held), ``octaves`` (root and its octave in eighths),
``walking`` (root, third, fifth, third in beats); under a low melody the bass steps down an
octave. Everything is in the normalised key (C major / A minor), in ticks, and deterministic.
"""

from __future__ import annotations

from . import encoding as enc
from . import form as fm

CHORDS = {  # name -> (root pitch class, 0 = major triad / 1 = minor triad, resolves to)
    "major": {"I": (0, 0, None), "ii": (2, 1, None), "iii": (4, 1, None), "IV": (5, 0, None), "V": (7, 0, None),
              "vi": (9, 1, None), "V/V": (2, 0, "V"), "V/vi": (4, 0, "vi"), "V/ii": (9, 0, "ii")},
    "minor": {"i": (9, 1, None), "III": (0, 0, None), "iv": (2, 1, None), "v/V": (4, 0, None), "VI": (5, 0, None),
              "VII": (7, 0, None), "V/iv": (9, 0, "iv")},
}
SPANS = {"4/4": 2, "3/4": 1, "2/4": 1, "6/8": 1}
BASS_RANGE = (40, 52)      # root of the bass in this normalised range (E2..D#3 before the key shift)
BASS_FLOOR = 24            # ... stepping down an octave under a low melody, not below C1
ACC_FLOOR = 50             # accompaniment: lowest note (D3) unless the melody sits lower
ACC_TOP = 74               # ... and never above this (D5), whatever the melody does
DRUM_CHANNEL = 9           # General MIDI: channel 10


def triad(root: int, minor: int) -> tuple[int, int, int]:
    return (root % 12, (root + 3 + (1 - minor)) % 12, (root + 7) % 12)


def chord_tones(mode: str, name: str) -> tuple[int, int, int]:
    root, minor, _ = CHORDS[mode][name]
    return triad(root, minor)


def choose(notes, span_start: int, span_ticks: int, mode: str, previous: str | None, priors: dict,
           forced: str | None = None, allowed=None) -> str:
    """Best chord name for the melody ``notes`` (start, ticks, pitch) in the span."""
    if forced:
        return forced
    best, best_score = None, None
    for name, prior in priors.items():
        if allowed is not None and name not in allowed:
            continue
        tones = chord_tones(mode, name)
        score = prior + (0.0 if name == previous else 0.15)
        for start, ticks, pitch in notes:
            a, b = max(start, span_start), min(start + ticks, span_start + span_ticks)
            if b <= a:
                continue
            w = (b - a) * (2.0 if a == span_start else 1.0) / span_ticks
            score += w if pitch % 12 in tones else -0.5 * w
        if best_score is None or score > best_score + 1e-9:
            best, best_score = name, score
    return best


def voicings(tones, lo: int, hi: int) -> list[tuple[int, ...]]:
    """Close-position voicings (each inversion, each octave) of ``tones`` inside lo..hi."""
    out = []
    for bottom in range(lo, hi + 1):
        if bottom % 12 not in tones:
            continue
        v = [bottom]
        for _ in range(len(tones) - 1):
            nxt = v[-1] + 1
            while nxt % 12 not in tones or nxt % 12 in [x % 12 for x in v]:
                nxt += 1
            v.append(nxt)
        if v[-1] <= hi:
            out.append(tuple(v))
    return out


class Harmoniser:
    """Feed finished melody bars in order; get chords, bass, accompaniment and drum notes per bar."""

    def __init__(self, mode: str, meter: str, bars: int, loop: bool, style, plan=None, drums: bool = False):
        self.mode, self.meter, self.bars, self.loop = mode, meter, bars, loop
        self.style, self.drums = style, drums
        self.priors = dict(style.priors[mode])
        self.bar_ticks = enc.METERS[meter]
        self.spans = SPANS[meter]
        self.previous: str | None = None
        self.pending: str | None = None          # a secondary dominant's resolution
        self.voicing: tuple[int, ...] | None = None
        self.index = 0
        tonic, dom = fm.TONIC_CHORD[mode], fm.DOMINANT_CHORD[mode]
        self.forced: list[list[str | None]] = [[None] * self.spans for _ in range(bars)]
        for b, bp in enumerate(plan or []):
            if bp.cadence:
                here, before = fm.cadence_chords(bp.cadence, mode, self.spans)
                for s, name in enumerate(here):
                    if name:
                        self.forced[b][s] = name
                if before and b > 0 and self.forced[b - 1][-1] is None:
                    self.forced[b - 1][-1] = before
        self.steer = [list(f) for f in self.forced]   # what the melody is nudged towards: the cadences
        for b in range(0, bars, fm.PHRASE_BARS):   # every phrase starts on the tonic
            if self.forced[b][0] is None:
                self.forced[b][0] = tonic
        if bars:
            self.forced[0][0] = self.steer[0][0] = tonic     # the opening states the key
            self.forced[-1][-1] = dom if loop else tonic

    def hints(self, b: int):
        """Per-span chord tones the melody of bar ``b`` is nudged towards: the chords forced by a
        cadence, and the tonic under the opening (the tonic forced at later phrase starts is not
        steered: pulling every phrase's first notes onto the tonic triad made the melody leap)."""
        if b >= len(self.steer) or not any(self.steer[b]):
            return None
        return [chord_tones(self.mode, n) if n else None for n in self.steer[b]]

    def bar(self, events: list[tuple[int, int]]):
        """Stems for the next bar. Times are ticks from the bar's start.

        Returns ``(chords, bass, accompaniment, drums)``: chord names per span, and (start, ticks,
        pitch) notes in the normalised key (drums: General MIDI percussion keys, not shifted).
        """
        notes = enc.notes_of([events])
        span = self.bar_ticks // self.spans
        names, bass, acc = [], [], []
        b = self.index
        mel_low = min((p for _, _, p in notes), default=None)
        for s in range(self.spans):
            forced = self.forced[b][s] if b < len(self.forced) else None
            nxt_forced = (self.forced[b][s + 1] if s + 1 < self.spans else
                          self.forced[b + 1][0] if b + 1 < len(self.forced) else "end")
            if not forced and self.pending:
                forced = self.pending
            allowed = None
            if nxt_forced:   # a secondary dominant only where its resolution can follow
                allowed = [n for n in self.priors if CHORDS[self.mode][n][2] in (None, nxt_forced)]
            name = choose(notes, s * span, span, self.mode, self.previous, self.priors, forced, allowed)
            self.pending = CHORDS[self.mode][name][2]
            self.previous = name
            names.append(name)
            root = CHORDS[self.mode][name][0]
            tones = chord_tones(self.mode, name)
            bass += self._bass(s * span, span, root, mel_low, tones)
            if name in ("V", "v/V") or "/" in name:     # dominants sound as dominant sevenths
                tones = tones + ((root + 10) % 12,)
            acc += self._accompaniment(s * span, span, tones, mel_low)
        drums = drum_bar(self.style.drums, self.meter, b, self.bars) if self.drums else []
        self.index += 1
        return names, bass, acc, drums

    # -- patterns -------------------------------------------------------------------------------

    def _bass(self, start: int, span: int, root: int, mel_low: int | None, tones) -> list[tuple[int, int, int]]:
        lo = BASS_RANGE[0]
        r = lo + (root - lo) % 12
        kind = self.style.bass
        while mel_low is not None and r + (12 if kind == "octaves" else 7) >= mel_low - 1 and r - 12 >= BASS_FLOOR:
            r -= 12                                # a low melody: the bass steps down an octave
        fifth = r + 7 if r < BASS_RANGE[0] + 5 else r - 5
        if kind == "pedal":
            return [(start, span, r)]
        if kind == "octaves":
            return [(start + k, 6, r if (k // 6) % 2 == 0 else r + 12) for k in range(0, span, 6)]
        if kind == "walking":     # root, third, fifth, third in beats
            third = r + (tones[1] - tones[0]) % 12
            line = [r, third, r + 7, third]
            beat = 18 if self.meter == "6/8" else 12
            return [(start + k, beat, line[(k // beat) % 4]) for k in range(0, span, beat)]
        if self.meter == "3/4":   # oom-pah-pah: one bass note a bar, root and fifth in alternate bars
            return [(start, span, r if self.index % 2 == 0 or self.style.accompaniment["3/4"] != "waltz" else fifth)]
        first = {"4/4": 12, "2/4": 12, "6/8": 18}[self.meter]     # root, then the fifth
        return [(start, first, r), (start + first, span - first, fifth)]

    def _voice(self, tones, mel_low: int | None, emphasis: int | None = None) -> tuple[int, ...]:
        """A voicing under the melody; ``emphasis``: the voice a pattern repeats, which should be
        the root (a figure that repeats the fifth makes the key sound like the dominant's)."""
        top = ACC_TOP if mel_low is None else min(ACC_TOP, mel_low - 1)
        floor = min(ACC_FLOOR, top - 11)          # at least an octave of room under the melody
        options = voicings(tones, floor, top)
        while not options and floor > top - 24:
            floor -= 1
            options = voicings(tones, floor, top)
        if emphasis is not None:
            options = [v for v in options if v[emphasis] % 12 == tones[0]] or options
        if not options:
            return ()
        prev = self.voicing
        if prev is None:                          # start as high as fits: close under the melody
            best = max(options, key=lambda v: (v[-1], v[0]))
        else:
            best = min(options, key=lambda v: (sum(abs(a - b) for a, b in zip(v, prev)), -v[-1]))
        self.voicing = best
        return best

    def _accompaniment(self, start: int, span: int, tones, mel_low) -> list[tuple[int, int, int]]:
        pattern = self.style.accompaniment[self.meter]
        emphasis = {"arpeggio": 1, "alberti": 2, "ostinato": 0}.get(pattern) if len(tones) == 3 else None
        v = self._voice(tones, mel_low, emphasis)
        if not v:
            return []
        beat = 18 if self.meter == "6/8" else 12
        if pattern == "block":
            return [(start, span, p) for p in v]
        if pattern == "pads":     # held through the span, with the root doubled an octave down
            return [(start, span, p) for p in ((v[0] - 12,) if v[0] - 12 > BASS_RANGE[1] else ()) + v]
        four = len(v) == 4
        step = 12 if self.meter == "3/4" else 6    # 3/4 figures move in beats, so the bar's three beats are heard
        if pattern in ("arpeggio", "alberti", "ostinato") and step == 12:
            seq = [v[0], v[2], v[1]] if pattern == "alberti" else [v[0], v[1], v[2]]
            return [(start + k, 12, seq[(k // 12) % 3]) for k in range(0, span, 12)]
        if pattern == "arpeggio":
            seq = [v[0], v[1], v[2], v[3]] if four else [v[0], v[1], v[2], v[1]]
            return [(start + k, 6, seq[(k // 6) % 4]) for k in range(0, span, 6)]
        if pattern == "alberti":
            seq = [v[0], v[3], v[1], v[2]] if four else [v[0], v[2], v[1], v[2]]
            return [(start + k, 6, seq[(k // 6) % 4]) for k in range(0, span, 6)]
        if pattern == "ostinato":
            seq = [v[0], v[0], v[2], v[0], v[3 if four else 1], v[0], v[2], v[1]]
            return [(start + k, 6, seq[(k // 6) % 8]) for k in range(0, span, 6)]
        if pattern == "waltz":    # off the downbeat: short chords on beats 2 and 3 (the bass takes beat 1)
            out = []
            for k in range(beat, span, beat):
                out += [(start + k, beat // 2, p) for p in v]
            if span <= beat:      # a one-beat span: the off-beat half
                out = [(start + beat // 2, beat // 2, p) for p in v]
            return out
        if pattern == "march":
            out = []
            for k in range(0, span, beat):
                out += [(start + k, beat // 2, p) for p in v]
            return out
        raise ValueError(f"unknown accompaniment pattern {pattern!r}")


# -- drums (General MIDI percussion keys) ---------------------------------------------------------

KICK, SIDE_STICK, SNARE, CLAP, HAT, OPEN_HAT, LOW_TOM, FLOOR_TOM, CRASH, RIDE, TAMBOURINE = \
    36, 37, 38, 39, 42, 46, 45, 41, 49, 51, 54
DRUM_LEN = 3               # ticks a drum note is held (percussion ignores note length)


def drum_bar(groove: str, meter: str, b: int, bars: int) -> list[tuple[int, int, int]]:
    """One bar of a groove as (start tick, ticks, GM key); ``b`` is the bar's index in the piece.

    Every groove: kick on the downbeat (and mid-bar in duple meters); grooves differ in the
    backbeat, the time-keeper and the fills: ``light`` (side stick, tambourine on the beats),
    ``rock`` (snare backbeat, closed hats in eighths, crash at each phrase start, snare fill into
    it), ``toms`` (floor tom on one, low tom on the last beat, nothing else), ``march`` (snare on
    every beat with a roll at phrase ends, crash at the start), ``ride`` (ride cymbal on the beats,
    soft kick).
    """
    bar = enc.METERS[meter]
    beat = 18 if meter == "6/8" else 12
    nbeats = bar // beat
    phrase_end = (b + 1) % fm.PHRASE_BARS == 0 or b == bars - 1
    phrase_start = b % fm.PHRASE_BARS == 0
    hits: list[tuple[int, int]] = [(0, KICK)]
    if nbeats % 2 == 0 and nbeats > 2:
        hits.append((bar // 2, KICK))
    back = [k * beat for k in range(1, nbeats, 2)] if nbeats != 3 else [beat, 2 * beat]
    if meter == "6/8":
        back = [beat]
    if groove == "light":
        hits += [(t, SIDE_STICK) for t in back] + [(k * beat, TAMBOURINE) for k in range(nbeats)]
    elif groove == "rock":
        hits += [(t, SNARE) for t in back] + [(t, HAT) for t in range(0, bar, 6)]
        if phrase_start:
            hits.append((0, CRASH))
        if phrase_end and b != bars - 1:
            hits += [(t, SNARE) for t in range(bar - beat, bar, 3)]
    elif groove == "toms":
        hits = [(0, FLOOR_TOM), (bar - beat, LOW_TOM)]
    elif groove == "march":
        hits += [(k * beat, SNARE) for k in range(nbeats)]
        if phrase_end:
            hits += [(t, SNARE) for t in range(bar - beat, bar, 3)]
        if b == 0 or b == bars - 1:
            hits.append((0, CRASH))
    elif groove == "ride":
        hits = [(0, KICK)] + [(k * beat, RIDE) for k in range(nbeats)]
    else:
        raise ValueError(f"unknown drum groove {groove!r}")
    return sorted({(t, DRUM_LEN, key) for t, key in hits})
