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
RUN_PENALTY = 0.7                 # logit cost per note beyond 3 in a run of one note length
REGISTER_PULL = 1.5               # logit scale of the pull towards the register window's middle
CHORD_PULL = 0.6                  # logit bonus for tones of a chord the plan puts under the note
LEAD_IN = 0.3                     # logit cost per semitone (beyond 2) of the note that leads into a
                                  # returning bar's first note or into the cadence note
OFF_SCALE = -2.0                  # logit cost of a pitch off the key's scale (minor: natural + raised 7th)
SCALE_PCS = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (9, 11, 0, 2, 4, 5, 7, 8)}   # normalised


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
                prompt: list[list[tuple[int, int]]] | None = None,
                plan: list | None = None, hints: dict | None = None,
                octaves: list | None = None) -> Iterator[list[tuple[int, int]]]:
    """Yield ``c.bars`` bars of (ticks, normalised pitch or -1) events, each as soon as it is done.

    ``prompt`` (normalised bars) is fed first; the new bars continue its phrase count. ``plan``
    (:func:`.form.plan`, one entry per new bar) says which bars the model writes, which earlier
    bars return (fed to the model as if it had written them) and where it cadences; ``hints``
    maps a bar index to per-span chord tones (pitch-class tuples, or None) that the model is
    nudged towards (the chords the harmoniser will put under a cadence), read when the bar starts.
    A returning bar whose first note is more than a fifth from the last note comes back an octave
    nearer when it fits the window; ``octaves`` (a list) receives each bar's octave shift.
    """
    from . import form as fm

    bar_ticks = enc.METERS[c.meter]
    beta = 4.0 * (c.density - 0.5)                       # density: + favours short notes, few rests
    dur_bias = -beta * np.log2(enc.DUR_TICKS / 6.0)
    pitch_ok = np.zeros(enc.VOCAB, dtype=bool)
    lo_w, hi_w = max(c.lo, enc.PMIN), min(c.hi, enc.PMAX)
    pitch_ok[enc.pitch_token(lo_w):enc.pitch_token(hi_w) + 1] = True
    content_bias = np.zeros(enc.VOCAB)
    content_bias[enc.REST] = -beta
    steer = np.zeros(enc.VOCAB)               # steering, added after the temperature (it does not scale)
    off = ~np.isin(np.arange(enc.PMIN, enc.PMAX + 1) % 12, SCALE_PCS[c.mode])
    steer[enc.PITCH_TOKENS[off]] += OFF_SCALE     # modal corpus tunes (dorian 6th ...) pull off the key
    # register steering: a gentle pull towards the middle of the window, stronger the longer the
    # melody has sat in its outer part (the LSTM otherwise drifts to a wall and stays there)
    centre, half = (lo_w + hi_w) / 2.0, max(1.0, (hi_w - lo_w) / 2.0)
    pitches = np.arange(enc.PMIN, enc.PMAX + 1)
    centre_pull = -((pitches - centre) / half) ** 2
    pc_of = pitches % 12

    def pcs_mask(pcs) -> np.ndarray:
        m = np.zeros(enc.VOCAB, dtype=bool)
        m[enc.PITCH_TOKENS[np.isin(pc_of, list(pcs))]] = True
        return m & pitch_ok

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
    done: list[list[tuple[int, int]]] = []
    recent_durs: list[int] = []
    ema = centre
    last_pitch = next((q for bar in reversed(prompt or []) for _, q in reversed(bar) if q >= 0), None)
    for b in range(c.bars):
        phrase = (first_bar + b) % enc.PHRASE
        last_bar = b == c.bars - 1
        bp = plan[b] if plan else fm.BarPlan("new", cadence=("loop" if c.loop else "final") if last_bar else "")
        logits, state = stepper.step(state, enc.BAR, 0, phrase)
        events: list[tuple[int, int]] = []
        t = 0
        given: list[tuple[int, int]] = []
        if bp.kind == "copy":
            given = list(done[bp.source])
        elif bp.kind == "sequence":
            given = fm.transpose_bar(done[bp.source], bp.steps, c.mode)
            if any(p >= 0 and not (lo_w <= p <= hi_w) for _, p in given):
                given = fm.transpose_bar(done[bp.source], -bp.steps, c.mode)
            if any(p >= 0 and not (lo_w <= p <= hi_w) for _, p in given):
                given = list(done[bp.source])
        elif bp.kind == "vary":
            src, acc = done[bp.source], 0
            for d, p in src:                    # the motif's first half returns
                if acc + d > bar_ticks // 2:
                    break
                given.append((d, p))
                acc += d
        if b == 0 and c.loop and not prompt and given and given[0][1] < 0:
            given = []
        octave = 0
        first_given = next((q for _, q in given if q >= 0), None)
        if first_given is not None and last_pitch is not None and abs(first_given - last_pitch) > 7:
            for o in (-12, 12):       # a return a long leap away comes back an octave nearer, if it fits
                moved = [q + o for _, q in given if q >= 0]
                if abs(first_given + o - last_pitch) < abs(first_given - last_pitch) and \
                        min(moved) >= lo_w and max(moved) <= hi_w:
                    given = [(d, q + o if q >= 0 else -1) for d, q in given]
                    octave = o // 12
                    break
        if octaves is not None:
            octaves.append(octave)
        for d, p in given:                      # fed to the model as if it had written them
            logits, state = stepper.step(state, enc.dur_token(d), t, phrase)
            t += d
            logits, state = stepper.step(state, enc.REST if p < 0 else enc.pitch_token(p), t, phrase)
            events.append((d, p))
            recent_durs.append(d)
            if p >= 0 and first_pitch is None:
                first_pitch = p
            if p >= 0:
                last_pitch = p
        cadence = bp.cadence if t < bar_ticks else ""
        cad_len = fm.CADENCE_TICKS[c.meter] if cadence else 0
        cad_start = bar_ticks - cad_len
        if cadence and t > cad_start:           # a returned half bar runs into the cadence note
            cadence, cad_len, cad_start = "", 0, bar_ticks
        span_chords = (hints or {}).get(b)
        spans = len(span_chords) if span_chords else 1
        nxt = plan[b + 1] if plan and b + 1 < len(plan) else None
        cad_targets = pitches[np.isin(pc_of, fm.cadence_pitches(cadence, c.mode))] if cadence in (
            "half", "authentic", "final") else None
        while t < bar_ticks:
            lg = np.full(enc.VOCAB, NEG)
            at_cadence = cadence and t == cad_start
            if at_cadence:
                ok = enc.DUR_TICKS == cad_len
            else:
                ok = enc.DUR_TICKS <= (cad_start if cadence else bar_ticks) - t
            rep = np.zeros(len(enc.DURS))
            run = 0
            for x in reversed(recent_durs):      # rhythmic monotony: a long run of one length costs
                if x != recent_durs[-1]:
                    break
                run += 1
            if run >= 4:
                rep[enc.DURS.index(recent_durs[-1])] = -RUN_PENALTY * (run - 3)
            lg[enc.DUR_TOKENS[ok]] = (logits[enc.DUR_TOKENS[ok]] + dur_bias[ok]) * inv_t + rep[ok]
            tok = _draw(lg, rng)
            d = enc.DURS[tok - enc.DUR_BASE]
            logits, state = stepper.step(state, tok, t, phrase)

            allowed = pitch_ok.copy()
            allowed[enc.REST] = True
            bias = steer.copy()
            edge = min(1.0, abs(ema - centre) / half)
            bias[enc.PITCH_TOKENS] += REGISTER_PULL * (0.25 + edge) * centre_pull
            if span_chords:
                tones = span_chords[min(spans - 1, t * spans // bar_ticks)]
                if tones is not None:
                    bias[pcs_mask(tones)] += CHORD_PULL
            if c.loop and b == 0 and t == 0 and not prompt:
                allowed[enc.REST] = False            # a loop starts sounding on its first beat
            target = None
            if cad_targets is not None and t + d == cad_start:     # leads into the cadence note
                target = cad_targets[(cad_targets >= lo_w) & (cad_targets <= hi_w)]
            elif t + d == bar_ticks and nxt is not None and nxt.kind != "new":  # leads into a return
                src = events if nxt.source == b else done[nxt.source]
                first = next((q for _, q in src if q >= 0), None)
                if first is not None:
                    f = fm.scale_step(first, nxt.steps, c.mode) if nxt.kind == "sequence" else first
                    target = np.array([f - 12, f, f + 12])    # the return may come an octave nearer
            if target is not None and len(target):
                dist = np.abs(pitches[:, None] - target[None, :]).min(axis=1)
                bias[enc.PITCH_TOKENS] -= LEAD_IN * np.maximum(0, dist - 2)
            if at_cadence:
                allowed[enc.REST] = False
                if cadence == "loop":
                    if first_pitch is not None:
                        near = np.zeros(enc.VOCAB, dtype=bool)
                        lo, hi = first_pitch - LOOP_STEP, first_pitch + LOOP_STEP
                        near[enc.pitch_token(max(lo, enc.PMIN)):enc.pitch_token(min(hi, enc.PMAX)) + 1] = True
                        allowed &= near
                        dom = allowed & pcs_mask(fm.HALF[c.mode])
                        if dom[enc.PITCH_TOKENS].any():
                            allowed = dom
                else:
                    allowed &= pcs_mask(fm.cadence_pitches(cadence, c.mode))
                if not allowed[enc.PITCH_TOKENS].any():  # register window excludes it: stay in range
                    allowed = pitch_ok.copy()
            lg = np.where(allowed, (logits + content_bias + bias) * inv_t, NEG)
            tok = _draw(lg, rng)
            t += d
            logits, state = stepper.step(state, tok, t, phrase)
            p = -1 if tok == enc.REST else tok - enc.PITCH_BASE + enc.PMIN
            if p >= 0 and first_pitch is None:
                first_pitch = p
            if p >= 0:
                ema = 0.8 * ema + 0.2 * p
                last_pitch = p
            recent_durs.append(d)
            events.append((d, p))
        done.append(events)
        yield events
