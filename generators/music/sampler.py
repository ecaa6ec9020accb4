"""Serving-side melody sampling: numpy + ONNX Runtime only (never torch).

A *stepper* turns one token (with its ``pos``/``phrase`` inputs) and a state into next-token
logits and a new state: :class:`LSTMStepper` runs the exported one-token graph with the LSTM
state as the cache; :class:`~.markov.MarkovStepper` looks the context up in a count table. The
same driver, :func:`sample_bars`, runs both, so the learned model and the baseline differ only in
the stepper. It yields each bar as soon as its last event is drawn.

Constraints applied by the driver (so they hold whatever the model prefers):

* every bar has exactly the meter's length (only durations that fit are offered);
* pitches stay inside the requested register (masked outside the window);
* ``loop``: the piece starts with a note on beat one, and the last note of the last bar is at most :data:`LOOP_STEP` semitones from the first
  note of the piece and sounds up to the bar line (no rest, nothing sustains over the loop point);
  without ``loop`` the last note is the tonic;
* ``density`` scales the odds of short durations and of notes over rests; ``temperature`` divides
  the logits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from . import encoding as enc

LOOP_STEP = 2                     # max semitones between the loop's last and first notes
NEG = -1e9


@dataclass
class Controls:
    mode: str = "major"
    meter: str = "4/4"
    bars: int = 16
    temperature: float = 1.0
    density: float = 0.5
    lo: int = enc.PMIN            # allowed normalised pitch window (inclusive)
    hi: int = enc.PMAX
    loop: bool = False


class LSTMStepper:
    """The exported step graph ``(token, pos, phrase, h, c) -> (logits, h_out, c_out)``."""

    def __init__(self, session, manifest: dict):
        ex = manifest["extra"]
        self.session = session
        self.layers, self.hidden = int(ex["layers"]), int(ex["hidden"])
        if int(ex["vocab"]) != enc.VOCAB or int(ex["ticks_per_quarter"]) != enc.TICKS:
            raise ValueError("model vocabulary does not match this version's music encoding")

    def start(self):
        z = np.zeros((self.layers, 1, self.hidden), dtype=np.float32)
        return (z, z.copy())

    def step(self, state, token: int, pos: int, phrase: int):
        h, c = state
        logits, h2, c2 = self.session.run(None, {
            "token": np.array([token], dtype=np.int64), "pos": np.array([pos], dtype=np.int64),
            "phrase": np.array([phrase], dtype=np.int64), "h": h, "c": c})
        return logits[0].astype(np.float64), (h2, c2)


def _draw(logits: np.ndarray, rng: np.random.Generator) -> int:
    p = np.exp(logits - logits.max())
    cdf = np.cumsum(p)
    return min(int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right")), len(cdf) - 1)


def tonic_pitches(mode: str) -> np.ndarray:
    return np.array([p for p in range(enc.PMIN, enc.PMAX + 1) if p % 12 == enc.TONIC[mode]])


def sample_bars(stepper, rng: np.random.Generator, c: Controls,
                prompt: list[list[tuple[int, int]]] | None = None) -> Iterator[list[tuple[int, int]]]:
    """Yield ``c.bars`` bars of (ticks, normalised pitch or -1) events, each as soon as it is done.

    ``prompt`` (normalised bars) is fed first; the new bars continue its phrase count.
    """
    bar_ticks = enc.METERS[c.meter]
    beta = 4.0 * (c.density - 0.5)                       # density: + favours short notes, few rests
    dur_bias = -beta * np.log2(enc.DUR_TICKS / 6.0)
    fits = {t: enc.DUR_TICKS <= bar_ticks - t for t in range(bar_ticks)}
    pitch_ok = np.zeros(enc.VOCAB, dtype=bool)
    pitch_ok[enc.pitch_token(max(c.lo, enc.PMIN)):enc.pitch_token(min(c.hi, enc.PMAX)) + 1] = True
    content_bias = np.zeros(enc.VOCAB)
    content_bias[enc.REST] = -beta
    tonic_ok = np.zeros(enc.VOCAB, dtype=bool)
    tonic_ok[[enc.pitch_token(p) for p in tonic_pitches(c.mode)]] = True

    state = stepper.start()
    _, state = stepper.step(state, enc.mode_token(c.mode), 0, 0)
    logits, state = stepper.step(state, enc.meter_token(c.meter), 0, 0)
    first_bar = 0
    first_pitch = None
    if prompt:
        toks, pos, ph = enc.encode(prompt, c.mode, c.meter)
        for t, p, h in zip(toks[2:], pos[2:], ph[2:]):
            logits, state = stepper.step(state, int(t), int(p), int(h))
        first_bar = len(prompt)

    inv_t = 1.0 / c.temperature
    for b in range(c.bars):
        phrase = (first_bar + b) % enc.PHRASE
        last_bar = b == c.bars - 1
        logits, state = stepper.step(state, enc.BAR, 0, phrase)
        events: list[tuple[int, int]] = []
        t = 0
        while t < bar_ticks:
            lg = np.full(enc.VOCAB, NEG)
            ok = fits[t]
            lg[enc.DUR_TOKENS[ok]] = (logits[enc.DUR_TOKENS[ok]] + dur_bias[ok]) * inv_t
            tok = _draw(lg, rng)
            d = enc.DURS[tok - enc.DUR_BASE]
            logits, state = stepper.step(state, tok, t, phrase)

            allowed = pitch_ok.copy()
            allowed[enc.REST] = True
            if c.loop and b == 0 and t == 0 and not prompt:
                allowed[enc.REST] = False            # a loop starts sounding on its first beat
            if last_bar and t + d == bar_ticks:      # the piece's last event
                allowed[enc.REST] = False
                if c.loop and first_pitch is not None:
                    near = np.zeros(enc.VOCAB, dtype=bool)
                    lo, hi = first_pitch - LOOP_STEP, first_pitch + LOOP_STEP
                    near[enc.pitch_token(max(lo, enc.PMIN)):enc.pitch_token(min(hi, enc.PMAX)) + 1] = True
                    allowed &= near
                elif not c.loop:
                    allowed &= tonic_ok
                if not allowed[enc.PITCH_TOKENS].any():  # register window excludes it: stay in range
                    allowed = pitch_ok.copy()
            lg = np.where(allowed, (logits + content_bias) * inv_t, NEG)
            tok = _draw(lg, rng)
            t += d
            logits, state = stepper.step(state, tok, t, phrase)
            p = -1 if tok == enc.REST else tok - enc.PITCH_BASE + enc.PMIN
            if p >= 0 and first_pitch is None:
                first_pitch = p
            events.append((d, p))
        yield events
