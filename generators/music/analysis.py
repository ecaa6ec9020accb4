"""Music measurements (numpy only): key and meter estimation, the quality metrics, loop seams.

Notes are ``(start, duration, pitch)`` with times in quarter notes unless said otherwise.

* :func:`estimate_key` — Krumhansl–Schmuckler: duration-weighted pitch-class profile correlated
  with the Krumhansl–Kessler major/minor profiles in all 12 transpositions.
* :func:`estimate_meter` — template matching of duration-weighted onsets against metrical
  accent grids of 4/4, 3/4, 2/4 and 6/8 (the bar starting at time 0), plus how alike consecutive
  bars' rhythms are under that bar length; :func:`meter_family` groups 2/4 with 4/4.
* muspy-style metrics: :func:`pitch_class_entropy`, :func:`scale_consistency`, :func:`in_key_ratio`;
  histogram distances (:func:`interval_histogram`, :func:`rhythm_histogram`,
  :func:`hist_distance` = total variation, 0 = same, 1 = disjoint); :func:`longest_copy`
  (novelty: longest run of notes copied verbatim from a training piece, via a suffix automaton).
"""

from __future__ import annotations

import math

import numpy as np

from . import encoding as enc

KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10, 11)      # natural minor plus the raised leading tone


def estimate_key(notes) -> tuple[int, str]:
    """(tonic pitch class, "major"/"minor") of ``notes``."""
    prof = np.zeros(12)
    for _, dur, p in notes:
        prof[int(p) % 12] += float(dur)
    if prof.sum() == 0:
        return 0, "major"
    best, arg = -2.0, (0, "major")
    for mode, kk in (("major", KK_MAJOR), ("minor", KK_MINOR)):
        for tonic in range(12):
            r = np.corrcoef(prof, np.roll(kk, tonic))[0, 1]
            if r > best + 1e-12:
                best, arg = r, (tonic, mode)
    return arg


def _accent(meter: str) -> np.ndarray:
    """Accent weight per tick position in the bar (strong beats high)."""
    n = enc.METERS[meter]
    w = np.zeros(n)
    w[::3] = 0.05
    beat, group = {"4/4": (12, (24,)), "2/4": (12, ()), "3/4": (12, ()), "6/8": (18, ())}[meter]
    if meter == "6/8":
        w[::6] = 0.2
    else:
        w[::6] = 0.15
    w[::beat] = 0.5
    for g in group:
        w[g] = 0.7
    w[0] = 1.0
    return w


def estimate_meter(notes) -> str:
    """The meter (one of :data:`~.encoding.METERS`) that best explains the onsets of ``notes``.

    Score per meter: the duration-weighted mean accent at the notes' onsets minus the template's
    mean accent on the eighth-note grid (so a template is not favoured for being dense), plus half
    the mean Jaccard similarity of consecutive bars' onset sets. 2/4 and 4/4 are often the same
    music notated twice (reels appear in both), so see also :func:`meter_family`.
    """
    scores = {}
    total = sum(min(float(d), 2.0) for _, d, _ in notes) or 1.0
    for meter, bar in enc.METERS.items():
        acc = _accent(meter)
        s = 0.0
        rhythms: dict[int, set] = {}
        for start, dur, _ in notes:
            tick = int(round(float(start) * enc.TICKS))
            s += acc[tick % bar] * min(float(dur), 2.0)
            rhythms.setdefault(tick // bar, set()).add(tick % bar)
        bars = sorted(rhythms)
        sim = [len(rhythms[a] & rhythms[b]) / len(rhythms[a] | rhythms[b])
               for a, b in zip(bars, bars[1:]) if b == a + 1]
        scores[meter] = s / total - float(acc[::6].mean()) + 0.5 * (float(np.mean(sim)) if sim else 0.0)
    return max(scores, key=lambda m: (scores[m], -list(enc.METERS).index(m)))


def meter_family(meter: str) -> str:
    """simple duple (2/4, 4/4), simple triple (3/4) or compound duple (6/8)."""
    return {"2/4": "duple", "4/4": "duple", "3/4": "triple", "6/8": "compound"}[meter]


def pitch_class_entropy(pitches) -> float:
    h = np.bincount(np.asarray(pitches, dtype=np.int64) % 12, minlength=12).astype(float)
    if h.sum() == 0:
        return 0.0
    p = h[h > 0] / h.sum()
    return float(-(p * np.log2(p)).sum())


def scale_consistency(pitches) -> float:
    """muspy's definition: the best fraction of notes in any one major or (natural) minor scale."""
    pcs = np.asarray(pitches, dtype=np.int64) % 12
    if len(pcs) == 0:
        return 0.0
    best = 0.0
    for tonic in range(12):
        for scale in ((0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10)):
            best = max(best, float(np.isin(pcs, [(tonic + s) % 12 for s in scale]).mean()))
    return best


def in_key_ratio(pitches, tonic: int, mode: str) -> float:
    """Fraction of notes in the stated key's scale (minor: natural minor + leading tone)."""
    pcs = (np.asarray(pitches, dtype=np.int64) - tonic) % 12
    if len(pcs) == 0:
        return 0.0
    return float(np.isin(pcs, MAJOR_SCALE if mode == "major" else MINOR_SCALE).mean())


def interval_histogram(pitches) -> np.ndarray:
    """Melodic intervals (semitones, clipped to -12..12): 25 bins, counts."""
    d = np.clip(np.diff(np.asarray(pitches, dtype=np.int64)), -12, 12)
    return np.bincount(d + 12, minlength=25).astype(float)


def rhythm_histogram(durations_ticks) -> np.ndarray:
    """Note lengths over the encoding's duration classes (a length not in the list: nearest)."""
    idx = [int(np.argmin(np.abs(enc.DUR_TICKS - int(t)))) for t in durations_ticks]
    return np.bincount(np.asarray(idx, dtype=np.int64), minlength=len(enc.DURS)).astype(float)


def hist_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Total variation distance between two histograms (normalised first)."""
    a = a / a.sum() if a.sum() else a
    b = b / b.sum() if b.sum() else b
    return float(0.5 * np.abs(a - b).sum())


class SuffixAutomaton:
    """Over many sequences (separated by unique sentinels): longest run of a query found anywhere."""

    def __init__(self):
        self.next: list[dict] = [{}]
        self.link = [-1]
        self.len = [0]
        self.last = 0
        self._sep = 0

    def add_sequence(self, seq) -> None:
        for x in seq:
            self._extend(x)
        self._sep -= 1
        self._extend(("sep", self._sep))

    def _extend(self, c) -> None:
        cur = len(self.len)
        self.len.append(self.len[self.last] + 1)
        self.next.append({})
        self.link.append(-1)
        p = self.last
        while p != -1 and c not in self.next[p]:
            self.next[p][c] = cur
            p = self.link[p]
        if p == -1:
            self.link[cur] = 0
        else:
            q = self.next[p][c]
            if self.len[p] + 1 == self.len[q]:
                self.link[cur] = q
            else:
                clone = len(self.len)
                self.len.append(self.len[p] + 1)
                self.next.append(dict(self.next[q]))
                self.link.append(self.link[q])
                while p != -1 and self.next[p].get(c) == q:
                    self.next[p][c] = clone
                    p = self.link[p]
                self.link[q] = clone
                self.link[cur] = clone
        self.last = cur

    def longest_match(self, seq) -> int:
        v, length, best = 0, 0, 0
        for c in seq:
            while v and c not in self.next[v]:
                v = self.link[v]
                length = self.len[v]
            if c in self.next[v]:
                v = self.next[v][c]
                length += 1
            best = max(best, length)
        return best


def note_symbols(bars) -> list[tuple[int, int]]:
    """(pitch, length) per sounding note of normalised bars: what 'copied verbatim' compares."""
    return [(p, d) for _, d, p in enc.notes_of(bars)]


def seam(first_bar, last_bar, bar_ticks: int) -> dict:
    """The loop seam of a melody: interval across the wrap and silence around it (ticks)."""
    first = enc.notes_of([first_bar])
    last = enc.notes_of([last_bar])
    if not first or not last:
        return {"interval": math.nan, "gap_ticks": math.nan}
    lead_in = first[0][0]
    end = last[-1][0] + last[-1][1]
    return {"interval": abs(first[0][2] - last[-1][2]), "gap_ticks": (bar_ticks - end) + lead_in}


def wav_click(samples: np.ndarray) -> float:
    """Where the jump across the wrap (last sample -> first) ranks among the file's own sample steps.

    0.5 = an ordinary step (a seamless loop is periodic, so its wrap is one more ordinary step);
    close to 1 = larger than nearly every step in the file: a click.
    """
    steps = np.abs(np.diff(samples))
    return float((steps < abs(samples[0] - samples[-1])).mean())


# ---- form, cadence, rhythm and register (issue 14: what a listener hears) ----------------------

PHRASE_BARS = 4          # phrases are four bars: cadences are looked for at bars 4, 8, 12, ...


def _bar_notes(bar) -> list[tuple[int, int, int]]:
    """(onset tick, ticks, pitch) of the sounding notes of one bar of (ticks, pitch) events."""
    return enc.notes_of([bar])


def bars_related(a, b) -> bool:
    """Does bar ``b`` repeat or vary bar ``a``? (bars of (ticks, pitch) events)

    Same rhythm (onset sets with Jaccard >= 0.75) and either the same pitch line up to a
    transposition (>= 3 notes, same intervals), or at least half of the notes at common onsets on
    the same pitch. A bar of one long note relates only to an identical bar.
    """
    na, nb = _bar_notes(a), _bar_notes(b)
    if not na or not nb:
        return False
    if na == nb:
        return True
    oa, ob = {s for s, _, _ in na}, {s for s, _, _ in nb}
    if len(oa & ob) / len(oa | ob) < 0.75:
        return False
    if len(na) == len(nb) and len(na) >= 3 and \
            all(x[1] == y[1] for x, y in zip(na, nb)) and \
            len({y[2] - x[2] for x, y in zip(na, nb)}) == 1:
        return True
    pa = {s: p for s, _, p in na}
    same = sum(1 for s, _, p in nb if pa.get(s) == p)
    return len(nb) >= 2 and same / max(len(na), len(nb)) >= 0.5


def repeat_fraction(bars) -> float:
    """Fraction of bars (after the first) that repeat or vary an earlier bar (:func:`bars_related`)."""
    if len(bars) < 2:
        return 0.0
    hits = sum(any(bars_related(bars[i], bars[j]) for i in range(j)) for j in range(1, len(bars)))
    return hits / (len(bars) - 1)


CADENCE_DEGREES = {"major": {0, 4, 7, 11, 2}, "minor": {9, 0, 4, 8, 7, 11}}   # tonic triad + dominant triad


def is_cadence(bar, mode: str, meter: str) -> bool:
    """A bar that closes a phrase: its last sounding note (rests may follow it) lasts at least a
    beat (a dotted quarter in 6/8) and sits on the tonic or dominant triad (normalised key; minor
    counts the natural and the raised 7th)."""
    notes = _bar_notes(bar)
    if not notes:
        return False
    beat = 18 if meter == "6/8" else 12
    s, d, p = notes[-1]
    return d >= beat and p % 12 in CADENCE_DEGREES[mode]


def cadence_rates(bars, mode: str, meter: str) -> tuple[float, float]:
    """(share of phrase-end bars — every 4th and the last — that cadence, share of the other bars)."""
    ends = {i for i in range(len(bars)) if (i + 1) % PHRASE_BARS == 0} | {len(bars) - 1}
    at = [is_cadence(bars[i], mode, meter) for i in sorted(ends)]
    other = [is_cadence(bars[i], mode, meter) for i in range(len(bars)) if i not in ends]
    return (float(np.mean(at)) if at else math.nan, float(np.mean(other)) if other else math.nan)


def rhythm_entropy(durations_ticks) -> float:
    """Entropy (bits) of the note-length classes of one piece."""
    h = rhythm_histogram(durations_ticks)
    if h.sum() == 0:
        return 0.0
    p = h[h > 0] / h.sum()
    return float(-(p * np.log2(p)).sum())


def eighth_share(durations_ticks) -> float:
    """Fraction of notes that are eighths (the 'running eighths' monotony)."""
    d = np.asarray(list(durations_ticks))
    return float((d == 6).mean()) if len(d) else 0.0


def register_overlap(melody, accompaniment) -> float:
    """Share of accompaniment notes that sound at or above the lowest melody note sounding with
    them (``(start, duration, pitch)`` each): 0 = the accompaniment stays under the melody."""
    mel = sorted(melody)
    hits = total = 0
    for s, d, p in accompaniment:
        under = [q for ms, md, q in mel if ms < s + d - 1e-9 and ms + md > s + 1e-9]
        if not under:
            continue
        total += 1
        hits += p >= min(under)
    return hits / total if total else 0.0
