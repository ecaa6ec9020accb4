"""WAV previews: a small additive synthesiser (numpy) written with the standard ``wave`` module.

22050 Hz, 16-bit, mono. Each stem has its own timbre (a few harmonics and an envelope with a
5 ms attack and a short release, so no note starts or stops with a click). A looping piece is
rendered *periodically*: the release tails that run past the end are added to the beginning, so
the file is exactly the piece's length and playing it back to back has no seam. Stems are
rendered separately at the same length and the same gain, so they sum to the full mix and a game
can fade them independently.
"""

from __future__ import annotations

import io
import wave

import numpy as np

RATE = 22050
ATTACK = 0.005
RELEASE = 0.08
TIMBRE = {  # stem -> (harmonic amplitudes, level, decay per second)
    "melody": ((1.0, 0.35, 0.15, 0.05), 0.30, 0.8),
    "bass": ((1.0, 0.5, 0.1), 0.30, 1.5),
    "chords": ((1.0, 0.25, 0.08), 0.09, 0.3),
}
GAIN = 0.8      # fixed master gain (no per-piece normalisation, so stems and mixes agree)


def render(notes, seconds_per_quarter: float, total_quarters: float, loop: bool) -> dict[str, np.ndarray]:
    """Float stems (track -> samples). Length: the piece (+ release tail unless ``loop``)."""
    n_piece = int(round(total_quarters * seconds_per_quarter * RATE))
    tail = 0 if loop else int(RELEASE * RATE) + 1
    out = {name: np.zeros(n_piece + tail, dtype=np.float32) for name in TIMBRE}
    rel = int(RELEASE * RATE)
    att = max(1, int(ATTACK * RATE))
    cache: dict[tuple, np.ndarray] = {}
    for n in notes:
        a = int(round(n.start * seconds_per_quarter * RATE))
        held = max(att + 1, int(round(n.duration * seconds_per_quarter * RATE)))
        key = (n.track, n.pitch, held, n.velocity)
        sig = cache.get(key)
        if sig is None:
            sig = cache[key] = _note(n.track, n.pitch, held, n.velocity, att, rel)
        buf = out[n.track]
        length = len(sig)
        if loop:  # wrap what runs past the end onto the start
            a %= n_piece
            k = min(length, n_piece - a)
            buf[a:a + k] += sig[:k]
            done = k
            while done < length:
                k = min(length - done, n_piece)
                buf[:k] += sig[done:done + k]
                done += k
        else:
            end = min(len(buf), a + length)
            buf[a:end] += sig[: end - a]
    return out


def _note(track: str, pitch: int, held: int, velocity: int, att: int, rel: int) -> np.ndarray:
    harmonics, level, decay = TIMBRE[track]
    t = np.arange(held + rel) / RATE
    f = 440.0 * 2.0 ** ((pitch - 69) / 12.0)
    phase = 2 * np.pi * f * t
    wavef = sum(amp * np.sin(phase * (k + 1)) for k, amp in enumerate(harmonics) if f * (k + 1) < RATE / 2)
    env = np.exp(-decay * t)
    env[:att] *= np.linspace(0.0, 1.0, att, endpoint=False)
    env[held:] *= np.linspace(1.0, 0.0, rel, endpoint=True)
    return (wavef * env * level * (velocity / 100.0)).astype(np.float32)


def mix(stems: dict[str, np.ndarray], gains: dict[str, float] | None = None) -> np.ndarray:
    gains = gains or {}
    return sum(stems[k] * gains.get(k, 1.0) for k in stems)


def wav_bytes(samples: np.ndarray) -> bytes:
    pcm = np.clip(np.round(samples * GAIN * 32767.0), -32768, 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()
