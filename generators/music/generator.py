"""The music generator: melody sampler (LSTM or Markov) → harmoniser → stems → MIDI / WAV / JSON.

Each bar is streamed as a :class:`~gamegen.generators.events.MusicBar` (melody, bass and chord
notes that start in it) as soon as its melody is drawn; the harmony of a bar depends only on that
bar, so nothing streamed is revised. Melodies are sampled in the normalised key (C major /
A minor) and moved to the requested key at output, so the key control is exact; the register
window, meter, bar count, loop seam and final tonic are enforced by the sampler's masks
(:mod:`.sampler`). A ``continuation`` MIDI file is read (:mod:`.midi`), fed to the model as a
prompt, and the new bars continue it; its key, mode, meter and tempo come from the file.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from ..base import Encoder, Generator, GeneratorInfo, Product
from ..events import Asset, Event, MusicBar, Note, Progress
from ..params import Param
from . import encoding as enc
from . import midi, synth
from .harmony import Harmoniser
from .sampler import Controls, LSTMStepper, sample_bars

# Bump when sampling/harmony/encoding changes the bytes produced for the same model + seed.
GENERATOR_VERSION = 2

FORMATS = ("mid", "wav", "stems", "json")
MAX_BARS = 128
REGISTERS = {"low": (48, 72), "mid": (60, 84), "high": (72, 96)}   # melody window, MIDI pitches
TRACK_ORDER = {name: i for i, name in enumerate(midi.TRACKS)}


def stem_gains(intensity: float) -> dict[str, float]:
    """Adaptive layering: chords always, bass fades in over 0..0.5, melody over 0.5..1."""
    return {"chords": 1.0, "bass": float(np.clip(2 * intensity, 0, 1)), "melody": float(np.clip(2 * intensity - 1, 0, 1))}


def music_params() -> tuple[Param, ...]:
    return (
        Param("key", "choice", "C", "tonic of the key (ignored with a continuation: the file's key is kept)",
              choices=midi.KEY_NAMES),
        Param("mode", "choice", "major", "major or minor (minor uses the raised leading tone in its dominant)",
              choices=enc.MODES),
        Param("meter", "choice", "4/4", "time signature", choices=tuple(enc.METERS)),
        Param("tempo", "int", 110, "quarter notes per minute (the MIDI tempo)", lo=40, hi=240),
        Param("bars", "int", 16, "length in bars (new bars after a continuation)", lo=1, hi=MAX_BARS),
        Param("density", "float", 0.5, "note density: 0 = long notes and rests, 1 = running sixteenths, "
              "0.5 = as in the corpus", lo=0.0, hi=1.0),
        Param("register", "choice", "mid", "melody range: low C3-C5, mid C4-C6, high C5-C7",
              choices=tuple(REGISTERS)),
        Param("temperature", "float", 1.0, "sampling temperature: lower is plainer, higher is wilder", lo=0.5, hi=1.5),
        Param("loop", "bool", False, "seamless loop: the last bar leads back into the first (step-wise melody, "
              "dominant chord, no note over the loop point, WAV tails wrapped)"),
        Param("intensity", "float", 1.0, "adaptive layering of the wav mix: chords always, bass from 0 to 0.5, "
              "melody from 0.5 to 1 (the stems format is always full level)", lo=0.0, hi=1.0),
        Param("continuation", "bytes", None, "notes so far: the piece continues this MIDI file in its key, "
              "meter and tempo", lo=14, hi=1 << 20, what="a standard MIDI file (.mid)", sniff=midi.check_prompt),
    )


class MusicGenerator(Generator):
    def __init__(self, info: GeneratorInfo, stepper: Any):
        self.info = info
        self.stepper = stepper

    @classmethod
    def from_model(cls, model_dir: Path, manifest: dict, session_factory: Callable) -> "MusicGenerator":
        family = manifest["family"]
        if family == "lstm":
            stepper = LSTMStepper(session_factory(model_dir / manifest["file"]), manifest)
        elif family == "markov":
            from .markov import MarkovStepper

            stepper = MarkovStepper.load(model_dir / manifest["file"])
        else:
            raise ValueError(f"unknown music model family {family!r}")
        info = GeneratorInfo(
            kind="music", name=manifest["name"], version=str(manifest["version"]), family=family,
            description=manifest.get("description", ""), params=music_params(), formats=FORMATS,
            generator_version=GENERATOR_VERSION, sha256=manifest["sha256"],
        )
        return cls(info, stepper)

    def warm_params(self) -> dict[str, Any]:
        return {"bars": 2}

    # -- generation --------------------------------------------------------------------------

    def produce(self, seed, params, formats, *, partials, timings) -> Iterator[Event]:
        t0 = time.perf_counter()
        rng = np.random.default_rng(seed)
        mode, meter, tempo, key_name = params["mode"], params["meter"], params["tempo"], params["key"]
        tonic = midi.PITCH_CLASS[key_name]
        prompt = None
        if params["continuation"] is not None:
            prompt = midi.parse_prompt(params["continuation"], meter)
            mode, meter, tonic = prompt.mode, prompt.meter, prompt.tonic
            tempo = min(240, max(40, prompt.tempo)) if prompt.tempo else tempo
            key_name = midi.NAMES_SHARP[tonic]
        shift = -enc.normal_shift(tonic, mode)          # normalised -> requested key
        lo, hi = REGISTERS[params["register"]]
        controls = Controls(mode=mode, meter=meter, bars=params["bars"], temperature=params["temperature"],
                            density=params["density"], lo=lo - shift, hi=hi - shift, loop=params["loop"])
        bar_ticks = enc.METERS[meter]
        bar_q = bar_ticks / enc.TICKS
        harm = Harmoniser(mode, meter, controls.bars, controls.loop)
        notes: list[Note] = []
        melody_bars: list[list[tuple[int, int]]] = []
        chords: list[list[str]] = []
        first_bar_ms = None
        for b, events in enumerate(sample_bars(self.stepper, rng, controls, prompt.bars if prompt else None)):
            names, bass, pads = harm.bar(events)
            melody_bars.append(events)
            chords.append(names)
            bar_notes = []
            for track, items in (("melody", enc.notes_of([events])), ("bass", bass), ("chords", pads)):
                for start, ticks, pitch in items:
                    vel = _velocity(track, start)
                    bar_notes.append(Note(track, int(pitch + shift), b * bar_q + start / enc.TICKS,
                                          ticks / enc.TICKS, vel))
            bar_notes.sort(key=lambda n: (n.start, TRACK_ORDER[n.track], n.pitch))
            notes += bar_notes
            if first_bar_ms is None:
                first_bar_ms = (time.perf_counter() - t0) * 1e3
            if partials:
                yield MusicBar(index=b, total_bars=controls.bars, start_beat=b * bar_q, length_beats=bar_q,
                               notes=tuple(bar_notes))
            yield Progress(0.9 * (b + 1) / controls.bars, "sampling", f"{b + 1}/{controls.bars} bars")
        timings.add("first_bar", (first_bar_ms or 0.0) / 1e3)
        timings.add("sample", time.perf_counter() - t0)
        yield Progress(0.95, "encoding")
        piece = Piece(notes, melody_bars, chords, mode=mode, meter=meter, tempo=tempo, key_name=key_name,
                      tonic=tonic, prompt=prompt)
        return Product(piece, extra={"key": key_name, "mode": mode, "meter": meter, "tempo": tempo,
                                     "chords": chords, "melody_bars": melody_bars, "shift": shift})

    encoders = {
        "mid": Encoder(lambda piece, params: Asset("music.mid", "audio/midi", midi.write(
            piece.notes, tempo=piece.tempo, meter=piece.meter, key_name=piece.key_name, mode=piece.mode), "mid")),
        "wav": Encoder(lambda piece, params: Asset("music.wav", "audio/wav", synth.wav_bytes(
            synth.mix(piece.stems(params["loop"]), stem_gains(params["intensity"]))), "wav")),
        "stems": Encoder(lambda piece, params: [
            Asset(f"{name}.wav", "audio/wav", synth.wav_bytes(piece.stems(params["loop"])[name]), "stems")
            for name in midi.TRACKS]),
        "json": Encoder(lambda piece, params: Asset("music.json", "application/json", piece.json(params), "json")),
    }


@dataclass
class Piece:
    """A finished piece before encoding; the synthesised stems are shared by ``wav`` and ``stems``."""

    notes: list[Note]
    melody_bars: list[list[tuple[int, int]]]
    chords: list[list[str]]
    mode: str
    meter: str
    tempo: int
    key_name: str
    tonic: int
    prompt: Any
    _stems: dict | None = None

    def stems(self, loop: bool) -> dict:
        if self._stems is None:
            total_q = len(self.melody_bars) * enc.METERS[self.meter] / enc.TICKS
            self._stems = synth.render(self.notes, 60.0 / self.tempo, total_q, loop)
        return self._stems

    def json(self, params: dict) -> bytes:
        prompt = self.prompt
        doc = {
            "key": self.key_name, "tonic_pitch_class": self.tonic, "mode": self.mode, "meter": self.meter,
            "tempo": self.tempo, "bars": len(self.melody_bars), "beats_per_bar": enc.METERS[self.meter] / enc.TICKS,
            "loop": params["loop"],
            "continued_from": None if prompt is None else {
                "bars": len(prompt.bars), "notes": prompt.notes, "key_from": prompt.key_from},
            "stems": list(midi.TRACKS), "stem_gains": stem_gains(params["intensity"]),
            "chords": self.chords,
            "notes": [{"track": n.track, "pitch": n.pitch, "start": n.start, "duration": n.duration,
                       "velocity": n.velocity} for n in self.notes],
        }
        return (json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n").encode()


def _velocity(track: str, start_tick: int) -> int:
    if track == "melody":
        return 96 if start_tick == 0 else (84 if start_tick % enc.TICKS == 0 else 76)
    return 80 if track == "bass" else 60


def builtins() -> list[MusicGenerator]:
    """No model-free music generator: the Markov baseline is a fitted model folder (music-markov)."""
    return []
