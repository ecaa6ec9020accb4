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
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from ..base import Generator, GeneratorInfo
from ..events import Asset, Event, Final, MusicBar, Note, Progress, content_hash
from ..params import Param, canonical_text
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
              "meter and tempo", lo=14, hi=1 << 20, what="a standard MIDI file (.mid)"),
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
            generator_version=GENERATOR_VERSION, execution_provider="none", sha256=manifest["sha256"],
        )
        return cls(info, stepper)

    def warmup(self) -> None:
        for _ in self.generate(0, {"bars": 2}, ["mid"]):
            pass

    # -- generation --------------------------------------------------------------------------

    def run(self, seed: int, params: dict[str, Any], formats: list[str], *, partials: bool) -> Iterator[Event]:
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
        t1 = time.perf_counter()

        yield Progress(0.95, "encoding")
        assets = self._encode(formats, notes, melody_bars, chords, params, mode=mode, meter=meter, tempo=tempo,
                              key_name=key_name, tonic=tonic, prompt=prompt)
        t2 = time.perf_counter()
        yield from assets
        yield Final(
            model=self.info.ref, version=self.info.version, seed=seed,
            parameters=tuple(canonical_text(self.info.params, params)),
            content_hash=content_hash(assets), execution_provider=self.info.execution_provider,
            generator_version=self.info.generator_version,
            timings_ms=(("first_bar", first_bar_ms or 0.0), ("sample", (t1 - t0) * 1e3), ("encode", (t2 - t1) * 1e3)),
            extra={"key": key_name, "mode": mode, "meter": meter, "tempo": tempo, "chords": chords,
                   "melody_bars": melody_bars, "shift": shift},
        )

    def _encode(self, formats, notes, melody_bars, chords, params, *, mode, meter, tempo, key_name, tonic, prompt):
        loop = params["loop"]
        total_q = len(melody_bars) * enc.METERS[meter] / enc.TICKS
        sec_per_q = 60.0 / tempo
        out: list[Asset] = []
        stems = None
        for fmt in formats:
            if fmt == "mid":
                data = midi.write(notes, tempo=tempo, meter=meter, key_name=key_name, mode=mode)
                out.append(Asset("music.mid", "audio/midi", data, "mid"))
            elif fmt in ("wav", "stems"):
                if stems is None:
                    stems = synth.render(notes, sec_per_q, total_q, loop)
                if fmt == "wav":
                    data = synth.wav_bytes(synth.mix(stems, stem_gains(params["intensity"])))
                    out.append(Asset("music.wav", "audio/wav", data, "wav"))
                else:
                    for name in midi.TRACKS:
                        out.append(Asset(f"{name}.wav", "audio/wav", synth.wav_bytes(stems[name]), "stems"))
            elif fmt == "json":
                doc = {
                    "key": key_name, "tonic_pitch_class": tonic, "mode": mode, "meter": meter, "tempo": tempo,
                    "bars": len(melody_bars), "beats_per_bar": enc.METERS[meter] / enc.TICKS, "loop": loop,
                    "continued_from": None if prompt is None else {
                        "bars": len(prompt.bars), "notes": prompt.notes, "key_from": prompt.key_from},
                    "stems": list(midi.TRACKS), "stem_gains": stem_gains(params["intensity"]),
                    "chords": chords,
                    "notes": [{"track": n.track, "pitch": n.pitch, "start": n.start, "duration": n.duration,
                               "velocity": n.velocity} for n in notes],
                }
                data = (json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n").encode()
                out.append(Asset("music.json", "application/json", data, "json"))
        return out


def _velocity(track: str, start_tick: int) -> int:
    if track == "melody":
        return 96 if start_tick == 0 else (84 if start_tick % enc.TICKS == 0 else 76)
    return 80 if track == "bass" else 60


def builtins() -> list[MusicGenerator]:
    """No model-free music generator: the Markov baseline is a fitted model folder (music-markov)."""
    return []
