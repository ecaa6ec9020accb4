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
