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
from ..params import Param, Rule
from . import encoding as enc
from . import form as fm
from . import midi, synth
from .harmony import Harmoniser
from .sampler import Controls, LSTMStepper, sample_bars
from .styles import DEFAULT_STYLE, STYLE_NAMES, STYLES

# Bump when sampling/harmony/encoding changes the bytes produced for the same model + seed.
GENERATOR_VERSION = 3
SYNTHS = ("auto", "builtin")

FORMATS = ("mid", "wav", "stems", "json")
MAX_BARS = 128
REGISTERS = {"low": (48, 72), "mid": (60, 84), "high": (72, 96)}   # melody window, MIDI pitches
TRACK_ORDER = {name: i for i, name in enumerate(midi.TRACKS + (midi.DRUMS,))}


def stem_gains(intensity: float) -> dict[str, float]:
    """Adaptive layering: chords always, bass and drums fade in over 0..0.5, melody over 0.5..1."""
    low = float(np.clip(2 * intensity, 0, 1))
    return {"chords": 1.0, "bass": low, "drums": low, "melody": float(np.clip(2 * intensity - 1, 0, 1))}


def _tempo_rule(values) -> str | None:
    t = values["tempo"]
    if 0 < t < 40:
        return f"tempo must be 0 (the style's tempo range) or from 40 to 240, got {t}"
    return None


TEMPO_RULE = Rule(("tempo",), "tempo is 0 (drawn from the style's range by the seed) or from 40 to 240", _tempo_rule)


def music_params() -> tuple[Param, ...]:
    return (
        Param("key", "choice", "C", "tonic of the key (ignored with a continuation: the file's key is kept)",
              choices=midi.KEY_NAMES),
        Param("mode", "choice", "major", "major or minor (minor uses the raised leading tone in its dominant)",
              choices=enc.MODES),
        Param("meter", "choice", "4/4", "time signature", choices=tuple(enc.METERS)),
        Param("tempo", "int", 0, "quarter notes per minute (the MIDI tempo); 0 = drawn by the seed from the "
              "style's range (an explicit tempo wins; a continuation's file tempo wins over both)", lo=0, hi=240),
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
        Param("form", "choice", "auto", "phrase structure over 4-bar phrases: aaba, abab, aabb (returning "
              "phrases, varied), through (all new); every phrase ends in a cadence (half, then authentic; "
              "authentic on the tonic at the end); auto = one of the style's forms, by seed", choices=fm.FORMS),
        Param("style", "choice", DEFAULT_STYLE, "town, battle, dungeon, victory or exploration: tempo range, "
              "rhythm, accompaniment pattern, chord vocabulary, instruments (GM programs) and drum groove",
              choices=STYLE_NAMES),
        Param("drums", "bool", False, "add a drum track (General MIDI channel 10) in the style's groove"),
        Param("synth", "choice", "auto", "WAV renderer: auto = FluidSynth with the FluidR3 General MIDI "
              "soundfont when the server has them, else the built-in synthesiser; builtin = always the "
              "built-in one (small and fast)", choices=SYNTHS),
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
            generator_version=GENERATOR_VERSION, sha256=manifest["sha256"], rules=(TEMPO_RULE,),
        )
        return cls(info, stepper)

    def warm_params(self) -> dict[str, Any]:
        return {"bars": 2}

    # -- generation --------------------------------------------------------------------------

    def produce(self, seed, params, formats, *, partials, timings) -> Iterator[Event]:
        t0 = time.perf_counter()
        rng = np.random.default_rng(seed)
        plan_rng = np.random.default_rng([int(seed), 14])      # form and tempo choices: own stream
        style = STYLES[params["style"]]
        mode, meter, tempo, key_name = params["mode"], params["meter"], params["tempo"], params["key"]
        if tempo == 0:
            tempo = int(plan_rng.integers(style.tempo[0], style.tempo[1] + 1))
        tonic = midi.PITCH_CLASS[key_name]
        prompt = None
        if params["continuation"] is not None:
            prompt = midi.parse_prompt(params["continuation"], meter)
            mode, meter, tonic = prompt.mode, prompt.meter, prompt.tonic
            tempo = min(240, max(40, prompt.tempo)) if prompt.tempo else tempo
            key_name = midi.NAMES_SHARP[tonic]
        shift = -enc.normal_shift(tonic, mode)          # normalised -> requested key
        lo, hi = REGISTERS[params["register"]]
        density = float(np.clip(params["density"] + style.density_shift, 0.0, 1.0))
        controls = Controls(mode=mode, meter=meter, bars=params["bars"], temperature=params["temperature"],
                            density=density, lo=lo - shift, hi=hi - shift, loop=params["loop"])
        form = fm.choose_form(params["form"], style.forms, plan_rng)
        plan = fm.plan(form, controls.bars, plan_rng, controls.loop)
        bar_ticks = enc.METERS[meter]
        bar_q = bar_ticks / enc.TICKS
        harm = Harmoniser(mode, meter, controls.bars, controls.loop, style, plan, params["drums"])
        hints = _Hints(harm)
        notes: list[Note] = []
        melody_bars: list[list[tuple[int, int]]] = []
        chords: list[list[str]] = []
        first_bar_ms = None
        octaves: list[int] = []
        bars_iter = sample_bars(self.stepper, rng, controls, prompt.bars if prompt else None, plan, hints, octaves)
        for b, events in enumerate(bars_iter):
            names, bass, acc, drums = harm.bar(events)
            melody_bars.append(events)
            chords.append(names)
            bar_notes = []
            for track, items in (("melody", enc.notes_of([events])), ("bass", bass), ("chords", acc),
                                 (midi.DRUMS, drums)):
                for start, ticks, pitch in items:
                    vel = _velocity(track, start, pitch)
                    bar_notes.append(Note(track, int(pitch if track == midi.DRUMS else pitch + shift),
                                          b * bar_q + start / enc.TICKS, ticks / enc.TICKS, vel))
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
        tracks = midi.TRACKS + ((midi.DRUMS,) if params["drums"] else ())
        programs = dict(style.programs)
        piece = Piece(notes, melody_bars, chords, mode=mode, meter=meter, tempo=tempo, key_name=key_name,
                      tonic=tonic, prompt=prompt, tracks=tracks, programs=programs, style=style.name, form=form,
                      plan=[{"bar": i, "kind": bp.kind, "source": bp.source, "steps": bp.steps,
                             "octave": octaves[i], "cadence": bp.cadence, "phrase": bp.letter}
                            for i, bp in enumerate(plan)],
                      synth=params["synth"], formats=tuple(formats))
        extra = {"key": key_name, "mode": mode, "meter": meter, "tempo": tempo, "style": style.name, "form": form,
                 "plan": piece.plan, "programs": programs, "tracks": list(tracks),
                 "chords": chords, "melody_bars": melody_bars, "shift": shift}
        if "wav" in formats or "stems" in formats:
            extra["renderer"] = synth.renderer(params["synth"])
        return Product(piece, extra=extra)

    encoders = {
        "mid": Encoder(lambda piece, params: Asset("music.mid", "audio/midi", piece.midi(), "mid")),
        "wav": Encoder(lambda piece, params: Asset("music.wav", "audio/wav", synth.wav_bytes(
            piece.mix(params["loop"], stem_gains(params["intensity"])), piece.renderer()), "wav")),
        "stems": Encoder(lambda piece, params: [
            Asset(f"{name}.wav", "audio/wav", synth.wav_bytes(piece.stems(params["loop"])[name], piece.renderer()),
                  "stems")
            for name in piece.tracks]),
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
    tracks: tuple = midi.TRACKS
    programs: dict | None = None
    style: str = DEFAULT_STYLE
    form: str = "through"
    plan: list | None = None
    synth: str = "auto"
    formats: tuple = ()
    _stems: dict | None = None

    def midi(self, tracks: tuple | None = None) -> bytes:
        return midi.write(self.notes, tempo=self.tempo, meter=self.meter, key_name=self.key_name, mode=self.mode,
                          programs=self.programs, tracks=tracks or self.tracks)

    def renderer(self) -> str:
        return synth.renderer(self.synth)

    def mix(self, loop: bool, gains: dict) -> np.ndarray:
        """The WAV mix. FluidSynth at full intensity without stems asked for: one run of the whole
        file (the same sound as the stems' sum, a quarter of the work); otherwise the stems' sum."""
        full = all(gains.get(t, 1.0) == 1.0 for t in self.tracks)
        if full and "stems" not in self.formats and self.renderer() != synth.BUILTIN:
            total_q = len(self.melody_bars) * enc.METERS[self.meter] / enc.TICKS
            return synth.render_fluidsynth({"mix": self.midi()}, total_q * 60.0 / self.tempo, loop)["mix"]
        return synth.mix(self.stems(loop), gains)

    def stems(self, loop: bool) -> dict:
        if self._stems is None:
            total_q = len(self.melody_bars) * enc.METERS[self.meter] / enc.TICKS
            self._stems = synth.render_stems(self.notes, lambda t: self.midi((t,)), self.tracks,
                                             60.0 / self.tempo, total_q, loop, self.synth)
        return self._stems

    def json(self, params: dict) -> bytes:
        prompt = self.prompt
        doc = {
            "key": self.key_name, "tonic_pitch_class": self.tonic, "mode": self.mode, "meter": self.meter,
            "tempo": self.tempo, "bars": len(self.melody_bars), "beats_per_bar": enc.METERS[self.meter] / enc.TICKS,
            "loop": params["loop"],
            "continued_from": None if prompt is None else {
                "bars": len(prompt.bars), "notes": prompt.notes, "key_from": prompt.key_from},
            "style": self.style, "form": self.form, "plan": self.plan, "programs": self.programs,
            "stems": list(self.tracks), "stem_gains": {k: v for k, v in stem_gains(params["intensity"]).items()
                                                       if k in self.tracks},
            "chords": self.chords,
            "notes": [{"track": n.track, "pitch": n.pitch, "start": n.start, "duration": n.duration,
                       "velocity": n.velocity} for n in self.notes],
        }
        return (json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n").encode()


class _Hints:
    """The sampler's view of the harmoniser's forced chords (read lazily, bar by bar)."""

    def __init__(self, harm: Harmoniser):
        self.harm = harm

    def get(self, b: int):
        return self.harm.hints(b)


def _velocity(track: str, start_tick: int, pitch: int = 0) -> int:
    if track == "melody":
        return 96 if start_tick == 0 else (84 if start_tick % enc.TICKS == 0 else 76)
    if track == midi.DRUMS:
        return 100 if start_tick == 0 else (88 if start_tick % enc.TICKS == 0 else 70)
    if track == "chords":
        return 64 if start_tick % enc.TICKS == 0 else 56
    return 80


def builtins() -> list[MusicGenerator]:
    """No model-free music generator: the Markov baseline is a fitted model folder (music-markov)."""
    return []
