"""WAV previews: General MIDI through FluidSynth when installed, else a small additive synthesiser.

:func:`render_stems` picks the renderer: with ``synth=auto`` FluidSynth (the ``fluidsynth``
program and the FluidR3 General MIDI soundfont, Debian's ``fluidsynth`` and ``fluid-soundfont-gm``)
when both are present, else the built-in synthesiser below; ``synth=builtin`` forces the latter.
Each stem is rendered by its own FluidSynth run (the runs go in parallel) as 32-bit float (no
dither, chorus off, reverb on), down-mixed to mono; FluidSynth's reverb is deterministic, so the
same MIDI gives the same bytes (checked by the tests). A full-intensity mix without stems is one
run of the whole file. The WAV's ``LIST/INFO`` chunk (``ISFT``) and the
final event's ``renderer`` say which renderer made it.

Built-in: 22050 Hz, 16-bit, mono. Each stem has its own timbre (a few harmonics and an envelope with a
5 ms attack and a short release, so no note starts or stops with a click). A looping piece is
rendered *periodically*: the release tails that run past the end are added to the beginning, so
the file is exactly the piece's length and playing it back to back has no seam. Stems are
rendered separately at the same length and the same gain, so they sum to the full mix and a game
can fade them independently.
"""

from __future__ import annotations

import functools
import io
import os
import shutil
import struct
import subprocess
import tempfile
import wave
from pathlib import Path

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
BUILTIN = "gamegen built-in additive synthesiser"
SOUNDFONTS = ("/usr/share/sounds/sf2/FluidR3_GM.sf2",)
FLUID_GAIN = 1.4       # FluidSynth's master gain (-g): dense mixes peak near 2/3 of full scale
FLUID_TAIL = 1.5       # seconds rendered after the last note (release and reverb)


@functools.lru_cache(maxsize=1)
def fluidsynth() -> tuple[str, str] | None:
    """(program path, soundfont path) when FluidSynth and a GM soundfont are installed, else None."""
    exe = shutil.which("fluidsynth")
    sf = next((p for p in SOUNDFONTS if Path(p).is_file()), None)
    if os.environ.get("GAMEGEN_NO_FLUIDSYNTH") or not exe or not sf:
        return None
    return exe, sf


@functools.lru_cache(maxsize=1)
def fluidsynth_name() -> str:
    found = fluidsynth()
    if not found:
        return BUILTIN
    try:
        out = subprocess.run([found[0], "--version"], capture_output=True, text=True, timeout=10).stdout
        version = next((w for line in out.splitlines() if "version" in line.lower() for w in line.split()
                        if w[:1].isdigit()), "")
    except (OSError, subprocess.SubprocessError):
        version = ""
    return f"FluidSynth {version} with {Path(found[1]).name}".replace("  ", " ")


def renderer(choice: str) -> str:
    """What ``synth=choice`` renders with here: FluidSynth's name or :data:`BUILTIN`."""
    return fluidsynth_name() if choice == "auto" and fluidsynth() else BUILTIN


def render_stems(piece_notes, midi_of_track, tracks, seconds_per_quarter: float, total_quarters: float,
                 loop: bool, choice: str) -> dict[str, np.ndarray]:
    """Float stems with the renderer :func:`renderer` names. ``midi_of_track(name)`` is the MIDI
    file (bytes) of one track, used by FluidSynth; the built-in synthesiser reads the notes."""
    if renderer(choice) == BUILTIN:
        return render(piece_notes, seconds_per_quarter, total_quarters, loop, tracks)
    return render_fluidsynth({t: midi_of_track(t) for t in tracks}, seconds_per_quarter * total_quarters, loop)


def render_fluidsynth(midis: dict[str, bytes], seconds: float, loop: bool) -> dict[str, np.ndarray]:
    """One FluidSynth run per track (in parallel), 22050 Hz float, down-mixed to mono."""
    exe, sf = fluidsynth()
    n_piece = int(round(seconds * RATE))
    tail = int(FLUID_TAIL * RATE)
    out: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory(prefix="gamegen-fluid-") as tmp:
        procs = {}
        for name, data in midis.items():
            src, dst = Path(tmp) / f"{name}.mid", Path(tmp) / f"{name}.raw"
            src.write_bytes(data)
            procs[name] = (dst, subprocess.Popen(
                [exe, "-ni", "-q", "-T", "raw", "-O", "float", "-r", str(RATE), "-g", str(FLUID_GAIN),
                 "-C", "0", "-o", "synth.cpu-cores=1", "-o", "synth.dynamic-sample-loading=1", "-F", str(dst), sf, str(src)],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        for name, (dst, proc) in procs.items():
            _, err = proc.communicate(timeout=120)
            if proc.returncode != 0 or not dst.exists():
                raise RuntimeError(f"fluidsynth failed on the {name} stem: {err.decode(errors='replace')[-300:]}")
            raw = np.frombuffer(dst.read_bytes(), dtype="<f4")
            mono = raw[: len(raw) // 2 * 2].reshape(-1, 2).mean(axis=1, dtype=np.float64).astype(np.float32)
            buf = np.zeros(n_piece + tail, dtype=np.float32)
            k = min(len(buf), len(mono))
            buf[:k] = mono[:k]
            if loop:                      # wrap what runs past the end onto the start
                wrapped = buf[:n_piece].copy()
                extra = buf[n_piece:]
                for i in range(0, len(extra), n_piece):
                    seg = extra[i:i + n_piece]
                    wrapped[:len(seg)] += seg
                buf = wrapped
            out[name] = buf
    return out


def render(notes, seconds_per_quarter: float, total_quarters: float, loop: bool,
           tracks=tuple(TIMBRE)) -> dict[str, np.ndarray]:
    """Float stems (track -> samples). Length: the piece (+ release tail unless ``loop``)."""
    n_piece = int(round(total_quarters * seconds_per_quarter * RATE))
    tail = 0 if loop else int(RELEASE * RATE) + 1
    out = {name: np.zeros(n_piece + tail, dtype=np.float32) for name in tracks}
    rel = int(RELEASE * RATE)
    att = max(1, int(ATTACK * RATE))
    cache: dict[tuple, np.ndarray] = {}
    for n in notes:
        a = int(round(n.start * seconds_per_quarter * RATE))
        held = max(att + 1, int(round(n.duration * seconds_per_quarter * RATE)))
        key = (n.track, n.pitch, held, n.velocity)
        sig = cache.get(key)
        if sig is None:
            sig = cache[key] = (_drum(n.pitch, n.velocity) if n.track == "drums" else
                                _note(n.track, n.pitch, held, n.velocity, att, rel))
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


def _drum(key: int, velocity: int) -> np.ndarray:
    """A General MIDI percussion key as noise and a falling sine (fixed noise: deterministic)."""
    noise = np.random.default_rng(key).standard_normal(int(0.8 * RATE))
    t = np.arange(len(noise)) / RATE
    if key in (35, 36):                                     # kick
        sig = np.sin(2 * np.pi * (45 * t + 60 * (1 - np.exp(-t * 30)) / 30)) * np.exp(-t * 9)
    elif key in (41, 43, 45, 47, 48, 50):                   # toms
        f = {41: 70, 43: 85, 45: 100, 47: 120, 48: 140, 50: 160}[key]
        sig = np.sin(2 * np.pi * f * t) * np.exp(-t * 7) + 0.1 * noise * np.exp(-t * 30)
    elif key in (37, 38, 39, 40):                           # side stick, snare, clap
        sig = 0.6 * noise * np.exp(-t * (40 if key == 37 else 18)) + 0.4 * np.sin(2 * np.pi * 190 * t) * np.exp(-t * 25)
    else:                                                   # hats, cymbals, tambourine: bright noise
        bright = np.diff(noise, prepend=0.0)
        sig = 0.12 * bright * np.exp(-t * {42: 60, 46: 10, 49: 3, 51: 6, 54: 30}.get(key, 30))
    sig[:20] *= np.linspace(0.0, 1.0, 20)
    return (0.12 * sig * velocity / 100.0).astype(np.float32)


def info_chunk(software: str) -> bytes:
    """A RIFF ``LIST/INFO`` chunk naming the software (``ISFT``) that made the file."""
    text = software.encode("ascii", "replace") + b"\0"
    if len(text) % 2:
        text += b"\0"
    body = b"INFO" + b"ISFT" + struct.pack("<I", len(text)) + text
    return b"LIST" + struct.pack("<I", len(body)) + body


def mix(stems: dict[str, np.ndarray], gains: dict[str, float] | None = None) -> np.ndarray:
    gains = gains or {}
    return sum(stems[k] * gains.get(k, 1.0) for k in stems)


def wav_bytes(samples: np.ndarray, software: str | None = None) -> bytes:
    """16-bit mono WAV; ``software`` adds a ``LIST/INFO`` chunk after the samples."""
    pcm = np.clip(np.round(samples * GAIN * 32767.0), -32768, 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())
    data = buf.getvalue()
    if software:
        chunk = info_chunk(software)
        data = data[:4] + struct.pack("<I", len(data) - 8 + len(chunk)) + data[8:] + chunk
    return data
