"""What a new user hit (issue 10, part 3) and where each model runs (part 4): each case is a clear
error naming the field, or the behaviour the README promises."""

from __future__ import annotations

import colorsys
import io
import json
import os
import struct
import subprocess
from dataclasses import replace
from pathlib import Path

import grpc
import mido
import numpy as np
import pytest
from PIL import Image

from gamegen.client import GameGenError
from gamegen.generators.events import Asset
from gamegen.generators.textures import procedural
from gamegen.server import registry as registry_mod
from gamegen.server.backends import LocalBackend
from gamegen.server.bake import Baker, BakeFileError, BakeItem, cache_key, load_bake_file

from .conftest import MODELS, ServerThread, gamegen_cmd

LSTM = "music/music-lstm"
CPU, CUDA = registry_mod.CPU, registry_mod.CUDA


def run(*args, env=None):
    return subprocess.run(gamegen_cmd(*args), capture_output=True, text=True, timeout=120,
                          env=None if env is None else {**os.environ, **env})



@pytest.fixture(scope="module")
def local():
    return LocalBackend(MODELS)



# -- continuation MIDI files with degenerate headers ------------------------------------------------

def midi_bytes(messages, ticks_per_beat: int = 480) -> bytes:
    mf = mido.MidiFile(ticks_per_beat=ticks_per_beat)
    mf.tracks.append(mido.MidiTrack(messages))
    buf = io.BytesIO()
    mf.save(file=buf)
    return buf.getvalue()



NOTE = [mido.Message("note_on", note=60, velocity=90), mido.Message("note_off", note=60, time=480)]



def with_division(division: int) -> bytes:
    data = bytearray(midi_bytes(NOTE))
    data[12:14] = struct.pack(">H", division)          # MThd: length 6, format, tracks, division
    return bytes(data)



@pytest.mark.parametrize("data,words", [
    (midi_bytes([mido.MetaMessage("set_tempo", tempo=0)] + NOTE), ["continuation", "tempo 0", "1 or more"]),
    (with_division(0), ["continuation", "0 ticks per quarter note"]),
    (with_division(0xE728), ["continuation", "SMPTE"]),               # -25 fps, 40 ticks per frame
], ids=["tempo-0", "division-0", "smpte"])
def test_degenerate_midi_header_is_invalid_argument_naming_continuation(client, data, words):
    with pytest.raises(GameGenError) as e:
        list(client.generate(LSTM, 0, {"continuation": data, "bars": 2}, ["mid"]))
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT, e.value
    assert all(w in e.value.details for w in words), e.value.details



def test_cli_continuation_with_tempo_zero_is_one_line_not_a_traceback(tmp_path):
    prompt = tmp_path / "zero-tempo.mid"
    prompt.write_bytes(midi_bytes([mido.MetaMessage("set_tempo", tempo=0)] + NOTE))
    r = run("generate", LSTM, "--set", f"continuation=@{prompt}", "--set", "bars=2", "-q", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "continuation" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "o").exists()



# -- textures: preview only when asked, at the README's size; hue turns the asked way ------------------

def png_size(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size



@pytest.mark.parametrize("model", ["textures/materials-gan", "textures/materials-procedural"])
def test_preview_is_a_quarter_of_the_tile_at_any_scale(client, model):
    for size, scale in ((512, 1.0), (512, 2.0), (256, 3.0)):
        evs = list(client.generate(model, 1, {"size": size, "scale": scale}, ["roughness"]))
        preview = next(e for e in evs if isinstance(e, Asset) and e.name == "preview.png")
        assert png_size(preview.data) == (size // 4, size // 4), (size, scale)



def hsv_hue(rgb: np.ndarray) -> np.ndarray:
    return np.array([colorsys.rgb_to_hsv(*c)[0] * 360 for c in rgb.reshape(-1, 3)])



def turned(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (hsv_hue(b) - hsv_hue(a) + 180) % 360 - 180



def test_hue_turns_by_the_asked_angle():
    colours = np.array([[[0.8, 0.2, 0.2], [0.2, 0.8, 0.2], [0.2, 0.2, 0.8], [0.8, 0.6, 0.2], [0.5, 0.3, 0.6]]],
                       np.float32)
    for deg in (90.0, -90.0, 45.0, 150.0):
        d = turned(colours, procedural.hue_shift(colours, deg, 1.0, 1.0))
        assert np.abs(d - deg).max() < 5, (deg, d)



def test_hue_plus_90_turns_a_generated_material_towards_green(client):
    def albedo(hue):
        evs = list(client.generate("textures/materials-procedural", 2, {"material": "brick", "size": 64, "hue": hue},
                                   ["albedo"]))
        data = next(e for e in evs if isinstance(e, Asset) and e.name == "albedo.png").data
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.float32) / 255

    a, b = albedo(0.0), albedo(90.0)
    coloured = np.array([colorsys.rgb_to_hsv(*c)[1] > 0.2 for c in a.reshape(-1, 3)])
    assert np.median(turned(a, b)[coloured]) == pytest.approx(90, abs=8)
