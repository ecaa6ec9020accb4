"""The symbolic encoding shared by the learned model, the Markov baseline and the metrics.

A melody is a sequence of bars; a bar is a sequence of events that fill it exactly, each event a
duration followed by what sounds for that long (a pitch or a rest)::

    MODE_minor METER_3/4  BAR DUR_12 PITCH_69 DUR_6 PITCH_71 DUR_6 REST DUR_12 PITCH_72  BAR ...

Time is counted in :data:`TICKS` ticks per quarter note (12: sixteenths and triplets both fit).
Pitches are in a *normalised key*: every training piece is transposed so that its tonic is C
(major) or A (minor); the requested key is applied at output, so the key control is exact by
construction. Besides the token, each step gets two small inputs the driver knows exactly:
``pos``, the tick position in the bar after the token, and ``phrase``, the bar number modulo
:data:`PHRASE`. Because the driver only offers durations that fit in the bar, every bar has
exactly the meter's length.
"""

from __future__ import annotations

import numpy as np

TICKS = 12                                   # ticks per quarter note
METERS = {"4/4": 48, "3/4": 36, "2/4": 24, "6/8": 36}   # bar length in ticks
MODES = ("major", "minor")
DURS = (1, 2, 3, 4, 6, 8, 9, 12, 16, 18, 24, 36, 48)    # allowed event lengths (ticks)
PMIN, PMAX = 40, 96                          # normalised pitch range of the vocabulary
PHRASE = 8                                   # phrase position = bar index modulo this
MAX_POS = max(METERS.values())               # pos input takes 0..MAX_POS

PAD, EOS, BAR = 0, 1, 2
MODE_BASE = 3
METER_BASE = MODE_BASE + len(MODES)
REST = METER_BASE + len(METERS)
DUR_BASE = REST + 1
PITCH_BASE = DUR_BASE + len(DURS)
VOCAB = PITCH_BASE + (PMAX - PMIN + 1)
METER_NAMES = tuple(METERS)
TONIC = {"major": 0, "minor": 9}             # normalised tonic pitch class per mode

DUR_TOKENS = np.arange(DUR_BASE, DUR_BASE + len(DURS))
PITCH_TOKENS = np.arange(PITCH_BASE, VOCAB)
DUR_TICKS = np.array(DURS, dtype=np.int64)


def mode_token(mode: str) -> int:
    return MODE_BASE + MODES.index(mode)


def meter_token(meter: str) -> int:
    return METER_BASE + METER_NAMES.index(meter)


def dur_token(ticks: int) -> int:
    return DUR_BASE + DURS.index(ticks)


def pitch_token(p: int) -> int:
    return PITCH_BASE + p - PMIN


def token_name(t: int) -> str:
    if t == PAD:
        return "PAD"
    if t == EOS:
        return "EOS"
    if t == BAR:
        return "BAR"
    if MODE_BASE <= t < METER_BASE:
        return f"MODE_{MODES[t - MODE_BASE]}"
    if METER_BASE <= t < REST:
        return f"METER_{METER_NAMES[t - METER_BASE]}"
    if t == REST:
        return "REST"
    if DUR_BASE <= t < PITCH_BASE:
        return f"DUR_{DURS[t - DUR_BASE]}"
    return f"PITCH_{t - PITCH_BASE + PMIN}"


def split_ticks(n: int) -> list[int]:
    """``n`` ticks as allowed durations, longest first (greedy; 1 is allowed so it always ends)."""
    out = []
    while n > 0:
        d = max(x for x in DURS if x <= n)
        out.append(d)
        n -= d
    return out


def normal_shift(tonic_pc: int, mode: str) -> int:
    """Semitones (in -6..5) that move a piece with ``tonic_pc`` to the normalised key."""
    s = (TONIC[mode] - tonic_pc) % 12
    return s - 12 if s > 5 else s


def regularise(bar: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Events with allowed durations only: a note keeps its longest allowed head, the rest rests."""
    out = []
    for ticks, p in bar:
        parts = split_ticks(int(ticks))
        out.append((parts[0], p))
        out += [(d, -1) for d in parts[1:]]
    return out


def encode(bars: list[list[tuple[int, int]]], mode: str, meter: str,
           first_bar: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tokens and the per-step ``pos``/``phrase`` inputs for normalised-pitch bars.

    ``bars`` hold (ticks, pitch) events (pitch -1 = rest; pitches already normalised and inside
    PMIN..PMAX). Returns int64 arrays ``tokens``, ``pos``, ``phrase`` of equal length, starting
    with the mode and meter tokens.
    """
    toks = [mode_token(mode), meter_token(meter)]
    pos = [0, 0]
    phrase = [0, 0]
    for b, bar in enumerate(bars):
        ph = (first_bar + b) % PHRASE
        toks.append(BAR)
        pos.append(0)
        phrase.append(ph)
        t = 0
        for ticks, p in regularise(bar):
            toks.append(dur_token(ticks))
            pos.append(t)
            phrase.append(ph)
            t += ticks
            toks.append(REST if p < 0 else pitch_token(p))
            pos.append(t)
            phrase.append(ph)
    return (np.array(toks, dtype=np.int64), np.array(pos, dtype=np.int64), np.array(phrase, dtype=np.int64))


def in_range(bars: list[list[tuple[int, int]]], shift: int) -> bool:
    ps = [p + shift for bar in bars for _, p in bar if p >= 0]
    return bool(ps) and min(ps) >= PMIN and max(ps) <= PMAX


def transpose(bars: list[list[tuple[int, int]]], shift: int) -> list[list[tuple[int, int]]]:
    return [[(t, p + shift if p >= 0 else -1) for t, p in bar] for bar in bars]


def piece_tokens(piece: dict, octave_shifts=(0,)) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """A corpus piece, normalised (and octave-transposed copies that stay in range), encoded."""
    base = normal_shift(piece["tonic"], piece["mode"])
    bars = [[tuple(e) for e in bar] for bar in piece["bars"]]
    out = []
    for octave in octave_shifts:
        s = base + 12 * octave
        if in_range(bars, s):
            out.append(encode(transpose(bars, s), piece["mode"], piece["meter"]))
    return out


def notes_of(bars: list[list[tuple[int, int]]]) -> list[tuple[int, int, int]]:
    """(start tick, length ticks, pitch) of the sounding notes of ``bars`` (one bar after another)."""
    out = []
    t = 0
    for bar in bars:
        for ticks, p in bar:
            if p >= 0:
                out.append((t, ticks, p))
            t += ticks
    return out
