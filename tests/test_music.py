"""The `music` kind over the real server: streaming bars, controls, loops, stems, continuation, errors."""

from __future__ import annotations

import io
import subprocess
import wave
from pathlib import Path

import grpc
import mido
import numpy as np
import pytest

from gamegen.client import GameGenError
from gamegen.generators.events import Asset, Final, MusicBar
from gamegen.generators.music import analysis
from gamegen.generators.music import encoding as enc
from gamegen.generators.music.generator import REGISTERS
from gamegen.generators.music.midi import PITCH_CLASS

from .conftest import MODELS, gamegen_cmd

LSTM, MARKOV = "music/music-lstm", "music/music-markov"
BOTH = pytest.mark.parametrize("model", [LSTM, MARKOV])
SCALE = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10, 11)}


def collect(client, model, seed, params, formats=("mid",)):
    evs = list(client.generate(model, seed, params, formats))
    bars = [e for e in evs if isinstance(e, MusicBar)]
    assets = {a.name: a.data for a in evs if isinstance(a, Asset)}
    final = evs[-1]
    assert isinstance(final, Final)
    return evs, bars, assets, final


def midi_notes(data: bytes):
    mf = mido.MidiFile(file=io.BytesIO(data))
    meta = {m.type: m for m in mf.tracks[0] if m.is_meta}
    tracks = {}
    for tr in mf.tracks[1:]:
        name = next(m.name for m in tr if m.type == "track_name")
        now, on, notes = 0, {}, []
        for m in tr:
            now += m.time
            if m.type == "note_on" and m.velocity:
                on[m.note] = now
            elif m.type in ("note_off", "note_on") and m.note in on:
                notes.append((on.pop(m.note) / mf.ticks_per_beat, m.note))
        tracks[name] = sorted(notes)
    return mf, meta, tracks


def wav_samples(data: bytes) -> np.ndarray:
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 22050)
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int64)


def test_models_are_listed_with_their_parameters(client):
    models = {f"{m.kind}/{m.name}": m for m in client.list_models(kind="music")}
    assert {LSTM, MARKOV} <= set(models)
    lstm = models[LSTM]
    params = {p.name: p for p in lstm.parameters}
    assert {"key", "mode", "meter", "tempo", "bars", "density", "register", "temperature", "loop",
            "continuation"} <= set(params)
    assert "D" in params["key"].choices and set(params["meter"].choices) == set(enc.METERS)
    assert (params["bars"].min, params["bars"].max) == (1, 128)
    assert set(lstm.output_formats) == {"mid", "wav", "stems", "json"}
    assert lstm.execution_provider == "CPUExecutionProvider" and models[MARKOV].execution_provider == "none"


def test_streams_bar_by_bar_then_delivers_midi_and_wav(client):
    params = {"key": "D", "mode": "minor", "bars": 16, "tempo": 96, "meter": "3/4"}
    evs, bars, assets, final = collect(client, LSTM, 11, params, ("mid", "wav"))
    kinds = [type(e).__name__ for e in evs]
    assert kinds.index("Asset") > max(i for i, k in enumerate(kinds) if k == "MusicBar")  # bars come first
    assert [b.index for b in bars] == list(range(16)) and all(b.total_bars == 16 for b in bars)
    assert all(b.length_beats == 3.0 and b.start_beat == 3.0 * b.index for b in bars)
    for b in bars:
        assert b.notes and all(b.start_beat <= n.start < b.start_beat + 3.0 for n in b.notes)
        assert {n.track for n in b.notes} == {"melody", "bass", "chords"}
        melody = [n for n in b.notes if n.track == "melody"]
        assert all(n.start + n.duration <= b.start_beat + 3.0 + 1e-9 for n in melody)  # nothing crosses the bar line

    mf, meta, tracks = midi_notes(assets["music.mid"])
    assert (meta["time_signature"].numerator, meta["time_signature"].denominator) == (3, 4)
    assert meta["key_signature"].key == "Dm" and round(mido.tempo2bpm(meta["set_tempo"].tempo)) == 96
    assert set(tracks) == {"melody", "bass", "chords"}
    streamed = sorted((n.start, n.pitch) for b in bars for n in b.notes if n.track == "melody")
    assert tracks["melody"] == streamed  # the file holds exactly what was streamed
    samples = wav_samples(assets["music.wav"])
    assert len(samples) >= 16 * 3 * 60 / 96 * 22050 and np.abs(samples).max() > 1000
    # the last melody note of a non-looping piece is the tonic
    assert tracks["melody"][-1][1] % 12 == PITCH_CLASS["D"]
    assert dict(final.parameters)["key"] == "D"


@BOTH
def test_same_seed_same_bytes_in_process_and_over_grpc(client, registry, model):
    params = {"key": "Eb", "bars": 8, "loop": True, "meter": "6/8"}
    formats = ("mid", "wav", "json")
    _, _, a1, f1 = collect(client, model, 5, params, formats)
    _, _, a2, f2 = collect(client, model, 5, params, formats)
    local = list(registry.resolve(model).generate(5, params, list(formats)))
    assert f1.content_hash == f2.content_hash == local[-1].content_hash
    assert a1 == a2 == {a.name: a.data for a in local if isinstance(a, Asset)}
    _, _, a3, _ = collect(client, model, 6, params, formats)
    assert a3["music.mid"] != a1["music.mid"]


@pytest.mark.parametrize("key,mode", [("C", "major"), ("F#", "major"), ("A", "minor"), ("Bb", "minor")])
def test_key_and_mode_are_honoured(client, key, mode):
    tonic = PITCH_CLASS[key]
    in_key, estimated = [], []
    for seed in range(3):
        _, bars, _, _ = collect(client, LSTM, seed, {"key": key, "mode": mode, "bars": 8})
        mel = [(n.start, n.duration, n.pitch) for b in bars for n in b.notes if n.track == "melody"]
        in_key.append(analysis.in_key_ratio([p for *_, p in mel], tonic, mode))
        full = [(n.start, n.duration, n.pitch) for b in bars for n in b.notes]
        estimated.append(analysis.estimate_key(full) == (tonic, mode))
    assert np.mean(in_key) > 0.85, in_key
    assert sum(estimated) >= 2, estimated


@pytest.mark.parametrize("meter", list(enc.METERS))
def test_meter_tempo_and_bars(client, meter):
    _, bars, assets, _ = collect(client, LSTM, 3, {"meter": meter, "tempo": 150, "bars": 5})
    length = enc.METERS[meter] / enc.TICKS
    assert len(bars) == 5 and all(b.length_beats == length for b in bars)
    for b in bars:  # melody events fill each bar exactly: no note spills over
        assert all(n.start + n.duration <= b.start_beat + length + 1e-9 for n in b.notes)
    _, meta, _ = midi_notes(assets["music.mid"])
    ts = meta["time_signature"]
    assert f"{ts.numerator}/{ts.denominator}" == meter and round(mido.tempo2bpm(meta["set_tempo"].tempo)) == 150


def test_density_register_and_temperature_move_the_output(client):
    def melody(seed, **p):
        _, bars, _, _ = collect(client, LSTM, seed, {"bars": 8, **p})
        return [n for b in bars for n in b.notes if n.track == "melody"]

    sparse = [len(melody(s, density=0.1)) for s in range(3)]
    dense = [len(melody(s, density=0.9)) for s in range(3)]
    assert sum(dense) > 1.5 * sum(sparse), (sparse, dense)
    for reg, (lo, hi) in REGISTERS.items():
        ps = [n.pitch for s in range(2) for n in melody(s, register=reg)]
        assert lo <= min(ps) and max(ps) <= hi, (reg, min(ps), max(ps))
    plain = {n.pitch for s in range(3) for n in melody(s, temperature=0.5)}
    wild = {n.pitch for s in range(3) for n in melody(s, temperature=1.5)}
    assert len(wild) > len(plain)


@BOTH
def test_loop_leads_back_into_the_first_bar(client, model):
    for seed in range(3):
        params = {"bars": 8, "loop": True, "tempo": 120, "meter": "4/4"}
        _, bars, assets, final = collect(client, model, seed, params, ("wav", "json"))
        mel = [n for b in bars for n in b.notes if n.track == "melody"]
        first, last = mel[0], mel[-1]
        assert first.start == 0.0 and abs(first.pitch - last.pitch) <= 2
        assert last.start + last.duration == pytest.approx(8 * 4.0)   # sounds up to the loop point
        assert all(n.start + n.duration <= 32.0 + 1e-9 for b in bars for n in b.notes)
        samples = wav_samples(assets["music.wav"]).astype(float)
        assert len(samples) == round(32 * 0.5 * 22050)   # exactly the piece: the tails are wrapped
        assert analysis.wav_click(samples) < 0.99      # the wrap is an ordinary step, not a click


def test_stems_sum_to_the_mix_and_intensity_layers_them(client):
    params = {"bars": 4, "tempo": 120}
    _, _, assets, _ = collect(client, LSTM, 2, params, ("wav", "stems"))
    stems = {k: wav_samples(assets[f"{k}.wav"]) for k in ("melody", "bass", "chords")}
    assert len({len(s) for s in stems.values()}) == 1 and all(np.abs(s).max() > 500 for s in stems.values())
    mix = wav_samples(assets["music.wav"])
    assert np.abs(mix - sum(stems.values())).max() <= 3          # in sync: they add up to the mix
    _, _, quiet, _ = collect(client, LSTM, 2, {**params, "intensity": 0.0}, ("wav",))
    assert np.abs(wav_samples(quiet["music.wav"]) - stems["chords"]).max() <= 1   # chords layer only


def test_continuation_keeps_key_meter_and_style(client):
    _, _, first, _ = collect(client, LSTM, 4, {"key": "G", "mode": "minor", "meter": "3/4", "tempo": 84, "bars": 8})
    _, bars, assets, _ = collect(client, LSTM, 9, {"continuation": first["music.mid"], "bars": 4}, ("mid", "json"))
    assert len(bars) == 4 and all(b.length_beats == 3.0 for b in bars)
    _, meta, tracks = midi_notes(assets["music.mid"])
    assert meta["key_signature"].key == "Gm" and meta["time_signature"].numerator == 3
    assert round(mido.tempo2bpm(meta["set_tempo"].tempo)) == 84
    pcs = [p % 12 for _, p in tracks["melody"]]
    assert np.mean([(pc - PITCH_CLASS["G"]) % 12 in SCALE["minor"] for pc in pcs]) > 0.8
    # a file without key signature or melody track name: key estimated, top line taken
    mf = mido.MidiFile(ticks_per_beat=96)
    tr = mido.MidiTrack()
    for p in [62, 66, 69, 74, 73, 71, 69, 66, 67, 69, 71, 74, 69, 66, 62, 62]:
        tr += [mido.Message("note_on", note=p, velocity=80, time=0), mido.Message("note_off", note=p, time=96)]
    mf.tracks.append(tr)
    buf = io.BytesIO()
    mf.save(file=buf)
    _, bars, assets, _ = collect(client, LSTM, 1, {"continuation": buf.getvalue(), "bars": 2}, ("json",))
    assert len(bars) == 2 and b'"key":"D"' in assets["music.json"] and b'"key_from":"estimated"' in assets["music.json"]


@pytest.mark.parametrize("params,words", [
    ({"key": "H"}, ["key", "'H'", "C#", "Bb"]),
    ({"bars": 0}, ["bars", "1 to 128"]),
    ({"bars": 10000}, ["bars", "10000", "1 to 128"]),
    ({"meter": "5/4"}, ["meter", "4/4", "6/8"]),
    ({"mode": "lydian"}, ["mode", "major", "minor"]),
    ({"tempo": 5}, ["tempo", "40 to 240"]),
    ({"continuation": b"MThd\x00\x00\x00\x06garbage-not-a-midi-file"}, ["continuation", "MIDI"]),
    ({"continuation": b"\x00" * 20}, ["continuation", "MIDI"]),
])
def test_bad_input_is_invalid_argument_naming_the_field(client, params, words):
    with pytest.raises(GameGenError) as e:
        collect(client, LSTM, 0, params)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert all(w in e.value.details for w in words), e.value.details


@pytest.mark.parametrize("messages,words", [
    ([mido.MetaMessage("set_tempo", tempo=500000)], ["continuation", "no notes"]),
    ([mido.Message("note_on", channel=9, note=36, velocity=90), mido.Message("note_off", channel=9, note=36, time=480)],
     ["continuation", "no notes", "drums"]),
    ([mido.MetaMessage("time_signature", numerator=5, denominator=4), mido.Message("note_on", note=60, velocity=90),
      mido.Message("note_off", note=60, time=480)], ["continuation", "5/4", "4/4"]),
])
def test_unusable_midi_is_invalid_argument(client, messages, words):
    mf = mido.MidiFile()
    mf.tracks.append(mido.MidiTrack(messages))
    buf = io.BytesIO()
    mf.save(file=buf)
    with pytest.raises(GameGenError) as e:
        collect(client, LSTM, 0, {"continuation": buf.getvalue()})
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT and all(w in e.value.details for w in words), e.value.details


def run(*args, cwd=None):
    return subprocess.run(gamegen_cmd(*args), capture_output=True, text=True, cwd=cwd, timeout=120)


def test_cli_generate_and_bad_input(tmp_path):
    out = tmp_path / "out"
    r = run("generate", LSTM, "--seed", "11", "--set", "key=D", "--set", "mode=minor", "--set", "bars=16",
            "--set", "tempo=96", "--set", "meter=3/4", "--format", "mid", "--format", "wav", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert (out / "music.mid").stat().st_size > 200 and (out / "music.wav").stat().st_size > 100_000
    # the continuation is an uploaded file: --set continuation=@path
    r = run("generate", LSTM, "--seed", "2", "--set", f"continuation=@{out / 'music.mid'}", "--set", "bars=2",
            "--format", "mid", "--out", str(tmp_path / "more"))
    assert r.returncode == 0, r.stderr
    (tmp_path / "bad.mid").write_bytes(b"not midi at all, clearly")
    for arg, word in (("key=H", "key"), ("bars=0", "bars"), (f"continuation=@{tmp_path / 'bad.mid'}", "continuation")):
        r = run("generate", LSTM, "--set", arg, "--out", str(tmp_path / "x"))
        assert r.returncode == 2 and word in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "x").exists()


BAKE = """
[[asset]]
name = "theme"
model = "music/music-lstm"
seed = 11
formats = ["mid", "wav"]
params = { key = "D", mode = "minor", bars = 4, meter = "3/4", loop = true }

[[asset]]
name = "sequel"
model = "music/music-markov"
seed = 2
formats = ["mid"]
params = { continuation = "theme-prompt.mid", bars = 2 }
"""


def test_bake_music_and_rebake_is_up_to_date(tmp_path):
    prompt = tmp_path / "theme-prompt.mid"
    mf = mido.MidiFile()
    mf.tracks.append(mido.MidiTrack([mido.Message("note_on", note=n, velocity=90, time=0 if i == 0 else 240)
                                     for i, n in enumerate([60, 62, 64, 65, 67])] +
                                    [mido.Message("note_off", note=67, time=480)]))
    mf.save(str(prompt))
    (tmp_path / "bake.toml").write_text(BAKE)
    out = tmp_path / "baked"
    r = run("bake", str(tmp_path / "bake.toml"), "--out", str(out))
    assert r.returncode == 0 and "baked 2" in r.stdout, r.stdout + r.stderr
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and not p.name.startswith("."))
    assert {"theme/music.mid", "theme/music.wav", "sequel/music.mid"} <= set(files), files
    r = run("bake", str(tmp_path / "bake.toml"), "--out", str(out))
    assert r.returncode == 0 and "baked 0, up to date 2" in r.stdout, r.stdout


def test_models_ship_small():
    for name in ("music-lstm", "music-markov"):
        files = [p for p in (MODELS / name).rglob("*") if p.is_file()]
        assert files and sum(p.stat().st_size for p in files) < 8 << 20
