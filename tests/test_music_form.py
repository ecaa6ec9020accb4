"""Issue 14 (music): form, cadences, styles, accompaniment register, drums, the GM preview renderer.

Over the real server on a loopback port (the session's ``client``), except the renderer fallback,
which patches the FluidSynth probe in-process.
"""

from __future__ import annotations

import io
import json
import wave

import grpc
import mido
import numpy as np
import pytest

from gamegen.client import GameGenError
from gamegen.generators.events import Asset, Final, MusicBar
from gamegen.generators.music import form as fm
from gamegen.generators.music import synth
from gamegen.generators.music.harmony import CHORDS
from gamegen.generators.music.midi import PITCH_CLASS
from gamegen.generators.music.styles import STYLES

LSTM, MARKOV = "music/music-lstm", "music/music-markov"
BOTH = pytest.mark.parametrize("model", [LSTM, MARKOV])


def collect(client, model, seed, params, formats=("json",)):
    evs = list(client.generate(model, seed, params, formats))
    bars = [e for e in evs if isinstance(e, MusicBar)]
    assets = {a.name: a.data for a in evs if isinstance(a, Asset)}
    assert isinstance(evs[-1], Final)
    doc = json.loads(assets["music.json"]) if "music.json" in assets else None
    return bars, assets, doc


def melody(bar, track="melody"):
    """(start relative to the bar, duration, pitch) of one streamed bar's notes on ``track``."""
    return [(round(n.start - bar.start_beat, 6), n.duration, n.pitch) for n in bar.notes if n.track == track]


def midi_channels(data: bytes):
    mf = mido.MidiFile(file=io.BytesIO(data))
    programs, notes = {}, {}
    for tr in mf.tracks:
        name = next((m.name for m in tr if m.type == "track_name"), "")
        for m in tr:
            if m.type == "program_change":
                programs[m.channel] = m.program
            elif m.type == "note_on" and m.velocity:
                notes.setdefault(m.channel, set()).add(name)
    return programs, notes


@BOTH
@pytest.mark.parametrize("form,returns", [
    ("aaba", [(4, 0), (12, 0)]), ("abab", [(8, 0), (12, 4)]), ("aabb", [(4, 0), (12, 8)]), ("through", [])])
def test_form_repeats_bars_where_it_says(client, model, form, returns):
    for seed in (1,):
        bars, _, doc = collect(client, model, seed, {"form": form, "bars": 16})
        plan = doc["plan"]
        assert doc["form"] == form and len(plan) == 16
        def moved(b, octave):
            return [(s, d, p + 12 * octave) for s, d, p in melody(bars[b])]

        for later, first in returns:       # a phrase's return starts with its first bar (an octave nearer at most)
            assert plan[later]["kind"] == "copy" and plan[later]["source"] == first
            assert melody(bars[later]) == moved(first, plan[later]["octave"]) and melody(bars[first])
        for entry in plan:
            b, src = entry["bar"], entry["source"]
            if entry["kind"] == "copy":
                assert melody(bars[b]) == moved(src, entry["octave"])
            elif entry["kind"] == "sequence":    # same rhythm, moved along the scale
                a, c = melody(bars[src]), melody(bars[b])
                assert [x[:2] for x in a] == [x[:2] for x in c]
            elif entry["kind"] == "vary":        # the first half returns, the rest is new
                half = bars[b].length_beats / 2
                assert {x for x in moved(src, entry["octave"]) if x[0] + x[1] <= half + 1e-9} <= set(melody(bars[b]))
            else:
                assert entry["octave"] == 0
        if form == "through":   # no phrase returns (a motif may come back inside its own phrase)
            assert all(e["source"] < 0 or e["source"] // 4 == e["bar"] // 4 for e in plan)


@BOTH
@pytest.mark.parametrize("mode,meter", [("major", "4/4"), ("minor", "3/4"), ("major", "6/8")])
def test_phrases_end_in_cadences_on_the_dominant_and_tonic(client, model, mode, meter):
    key = "E"
    tonic = PITCH_CLASS[key]
    dominant, tonic_chord = fm.DOMINANT_CHORD[mode], fm.TONIC_CHORD[mode]
    norm = {"major": 0, "minor": 9}[mode]
    for seed in range(2):
        bars, _, doc = collect(client, model, seed, {"key": key, "mode": mode, "meter": meter, "bars": 16,
                                                     "form": "aaba"})
        chords = doc["chords"]
        beat = 1.5 if meter == "6/8" else 1.0
        for b, kind in ((3, "half"), (7, "authentic"), (11, "half"), (15, "final")):
            assert doc["plan"][b]["cadence"] == kind
            last = melody(bars[b])[-1]
            degree = (last[2] - tonic) % 12
            assert last[0] + last[1] == pytest.approx(bars[b].length_beats) and last[1] >= beat  # a held note
            allowed = {(p - norm) % 12 for p in fm.cadence_pitches(kind, mode)}
            assert degree in allowed, (b, kind, degree)
            if kind == "half":
                assert chords[b][-1] == dominant
            else:
                assert chords[b][-1] == tonic_chord
                before = chords[b][-2] if len(chords[b]) > 1 else chords[b - 1][-1]
                assert before == dominant


def test_styles_change_tempo_instruments_accompaniment_and_harmony(client):
    seen = {}
    for name, style in STYLES.items():
        bars, assets, doc = collect(client, LSTM, 3, {"style": name, "bars": 8}, ("mid", "json"))
        assert style.tempo[0] <= doc["tempo"] <= style.tempo[1] and doc["style"] == name
        programs, _ = midi_channels(assets["music.mid"])
        assert programs == {0: style.programs["melody"], 1: style.programs["bass"], 2: style.programs["chords"]}
        acc = [n for b in bars for n in b.notes if n.track == "chords"]
        onsets = sorted({round(n.start, 6) for n in acc})
        seen[name] = (np.mean([n.duration for n in acc]), len(onsets))
    # pads hold whole bars; the ostinato and arpeggios move in eighths
    assert seen["dungeon"][0] >= 2.0 and seen["battle"][0] <= 0.5 and seen["exploration"][0] <= 0.5
    assert seen["battle"][1] >= 3 * seen["dungeon"][1]
    # an explicit tempo wins over the style's range
    _, assets, doc = collect(client, LSTM, 3, {"style": "dungeon", "tempo": 150, "bars": 2}, ("mid", "json"))
    assert doc["tempo"] == 150
    # richer harmony where the style wants it: exploration uses ii / vi / iii or a secondary dominant
    names = set()
    for seed in range(4):
        seq = [c for bar in collect(client, LSTM, seed, {"style": "exploration", "bars": 16})[2]["chords"] for c in bar]
        names |= set(seq)
        for a, b in zip(seq, seq[1:]):     # a secondary dominant is followed by the chord it points at
            if "/" in a:
                assert b == CHORDS["major"][a][2], seq
    assert names & {"ii", "vi", "iii", "V/V", "V/vi", "V/ii"}, names


@pytest.mark.parametrize("style", list(STYLES))
def test_accompaniment_sits_under_the_melody(client, style):
    for register in ("low", "mid"):
        bars, _, _ = collect(client, MARKOV, 5, {"style": style, "bars": 8, "register": register})
        for b in bars:
            mel = [p for *_, p in melody(b)]
            acc = [p for *_, p in melody(b, "chords")]
            assert acc, (style, register, b.index)          # every bar is accompanied
            if mel:
                assert max(acc) < min(mel), (style, register, b.index)
            bass = [p for *_, p in melody(b, "bass")]
            assert not mel or max(bass) < min(mel)


def test_drums_on_channel_10_only_when_asked(client):
    _, assets, doc = collect(client, LSTM, 2, {"style": "battle", "bars": 4}, ("mid", "json"))
    programs, notes = midi_channels(assets["music.mid"])
    assert 9 not in notes and "drums" not in doc["stems"]
    bars, assets, doc = collect(client, LSTM, 2, {"style": "battle", "bars": 4, "drums": True},
                                ("mid", "json", "stems"))
    programs, notes = midi_channels(assets["music.mid"])
    assert notes[9] == {"drums"} and 9 not in programs and all("drums" not in v for c, v in notes.items() if c != 9)
    assert any(n.track == "drums" for b in bars for n in b.notes) and "drums.wav" in assets
    # the drum notes are General MIDI percussion keys: kick on every downbeat
    assert all(any(n.track == "drums" and n.pitch == 36 and n.start == b.start_beat for n in b.notes) for b in bars)


def _wav(data: bytes):
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 22050)
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int64)


def test_preview_renderers_are_named_and_deterministic(client):
    params = {"bars": 4, "style": "town", "drums": True, "tempo": 120}
    builtin = {**params, "synth": "builtin"}
    _, a1, _ = collect(client, LSTM, 7, builtin, ("mid", "wav"))
    _, a2, _ = collect(client, LSTM, 7, builtin, ("mid", "wav"))
    assert a1 == a2 and synth.BUILTIN.encode() in a1["music.wav"]
    if synth.fluidsynth() is None:
        pytest.skip("FluidSynth or its GM soundfont is not installed (apt-get install fluidsynth fluid-soundfont-gm)")
    _, f1, _ = collect(client, LSTM, 7, params, ("mid", "wav"))
    _, f2, _ = collect(client, LSTM, 7, params, ("mid", "wav"))
    assert f1 == f2 and b"FluidSynth" in f1["music.wav"]       # same bytes, run after run
    assert f1["music.mid"] == a1["music.mid"]                     # the renderer changes only the audio
    x, y = _wav(f1["music.wav"]), _wav(a1["music.wav"])
    assert len(x) >= 4 * 4 * 0.5 * 22050 and np.abs(x).max() > 2000 and not np.array_equal(x[:len(y)], y[:len(x)])


def test_fallback_when_fluidsynth_is_absent(registry, monkeypatch):
    monkeypatch.setattr(synth, "fluidsynth", lambda: None)
    evs = list(registry.resolve(MARKOV).generate(4, {"bars": 2, "tempo": 120}, ["wav"]))
    final = evs[-1]
    assert final.extra["renderer"] == synth.BUILTIN
    wav = next(e for e in evs if isinstance(e, Asset)).data
    assert synth.BUILTIN.encode() in wav and np.abs(_wav(wav)).max() > 1000


@pytest.mark.parametrize("params,words", [
    ({"form": "rondo"}, ["form", "'rondo'", "aaba", "abab", "aabb", "through", "auto"]),
    ({"style": "jazz"}, ["style", "'jazz'", "town", "battle", "dungeon", "victory", "exploration"]),
    ({"synth": "timidity"}, ["synth", "auto", "builtin"]),
    ({"tempo": 5}, ["tempo", "5", "0", "40 to 240"]),
    ({"tempo": 300}, ["tempo", "300", "240"]),
])
def test_bad_form_style_synth_tempo_name_the_field_and_the_allowed(client, params, words):
    with pytest.raises(GameGenError) as e:
        collect(client, LSTM, 0, params)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert all(w in e.value.details for w in words), e.value.details


def test_plan_is_deterministic_and_covers_every_bar():
    for form in fm.FORMS[1:]:
        for bars in (1, 3, 4, 9, 16, 33):
            a = fm.plan(form, bars, np.random.default_rng(5))
            assert a == fm.plan(form, bars, np.random.default_rng(5)) and len(a) == bars
            assert a[-1].cadence == "final" and all(p.source < i for i, p in enumerate(a))
            assert [i for i, p in enumerate(a) if p.cadence] == sorted({i for i in range(3, bars, 4)} | {bars - 1})
    assert fm.scale_step(60, 1, "major") == 62 and fm.scale_step(64, 1, "major") == 65
    assert fm.scale_step(71, 1, "major") == 72 and fm.scale_step(60, -1, "major") == 59


def test_midi_writer_gives_the_bytes_mido_writes(registry):
    """The packed note events (generators/music/midi.py) are what mido itself saves for the file."""
    evs = list(registry.resolve(LSTM).generate(2, {"bars": 4, "style": "battle", "drums": True, "meter": "6/8",
                                                   "key": "F#", "mode": "minor"}, ["mid"]))
    data = next(e for e in evs if isinstance(e, Asset)).data
    mf = mido.MidiFile(file=io.BytesIO(data))
    buf = io.BytesIO()
    mf.save(file=buf)
    assert buf.getvalue() == data and len(mf.tracks) == 5
