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



# -- generate --out is checked before generating ------------------------------------------------------

def test_generate_out_naming_a_file_fails_before_generating(tmp_path):
    (tmp_path / "taken").write_text("a file")
    for out, words in ((tmp_path / "taken", ["is a file"]), (tmp_path / "taken" / "sub", ["which is a file"])):
        r = run("generate", "levels/smb-rules", "--out", str(out))
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert "--out" in r.stderr and all(w in r.stderr for w in words), r.stderr
        # one line, and no generation summary: it failed before generating
        assert len(r.stderr.strip().splitlines()) == 1 and "content" not in r.stderr, r.stderr
    assert (tmp_path / "taken").read_text() == "a file"



@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_generate_out_in_a_read_only_folder_fails_before_generating(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        r = run("generate", "levels/smb-rules", "--out", str(ro / "new"))
    finally:
        ro.chmod(0o700)
    assert r.returncode == 2 and "cannot be written" in r.stderr and "Traceback" not in r.stderr, r.stderr



# -- bake files ---------------------------------------------------------------------------------------

def bake_file(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "bake.toml"
    p.write_text(text)
    return p



def test_bake_hint_in_square_brackets_reaches_the_terminal(tmp_path):
    path = bake_file(tmp_path, '[asset]\nname = "a"\nmodel = "levels/smb-rules"\nseed = 1\n')
    r = run("bake", str(path), "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "[[asset]]" in r.stderr and "[asset]" in r.stderr, r.stderr
    assert "add at least one [] table" not in r.stderr



# -- textures: preview only when asked, at the README's size; hue turns the asked way ------------------

def png_size(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size



def test_cli_writes_the_preview_only_when_asked(tmp_path):
    base = ("generate", "textures/materials-procedural", "--set", "size=64", "-q")
    r = run(*base, "-f", "albedo", "--out", str(tmp_path / "a"))
    assert r.returncode == 0, r.stderr
    assert {p.name for p in (tmp_path / "a").iterdir()} == {"albedo.png"}
    r = run(*base, "-f", "albedo", "-f", "preview", "--out", str(tmp_path / "b"))
    assert r.returncode == 0, r.stderr
    assert {p.name for p in (tmp_path / "b").iterdir()} == {"albedo.png", "preview.png"}
    assert png_size((tmp_path / "b" / "preview.png").read_bytes()) == (16, 16)
    r = run(*base, "-f", "preview", "--out", str(tmp_path / "c"))
    assert r.returncode == 0, r.stderr
    assert {p.name for p in (tmp_path / "c").iterdir()} == {"preview.png"}
    r = run("generate", "levels/smb-rules", "-f", "preview", "--out", str(tmp_path / "d"))
    assert r.returncode == 2 and "preview" in r.stderr and "txt" in r.stderr, r.stderr



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



# -- gamegen models: nothing cut in 80 columns or a pipe; --json ----------------------------------------

def test_models_fits_80_columns_without_cutting_anything(registry):
    r = run("models", env={"COLUMNS": "80"})
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, max(lines, key=len)
    text = " ".join(" ".join(lines).split())
    assert "…" not in text
    for gen in registry.all():
        assert gen.info.ref in text
        for p in gen.info.params:
            assert " ".join(p.doc.split()) in text, (gen.info.ref, p.name)
            assert " ".join(p.allowed().split()) in text, (gen.info.ref, p.name)



def test_models_json_is_one_object_per_model(registry):
    r = run("models", "--json")
    assert r.returncode == 0, r.stderr
    got = {m["ref"]: m for m in json.loads(r.stdout)}
    assert set(got) == {g.info.ref for g in registry.all()}
    smb = got["levels/smb"]
    assert smb["execution_provider"] == CPU and smb["formats"] == list(registry.resolve("levels/smb").info.formats)
    width = next(p for p in smb["params"] if p["name"] == "width")
    assert (width["type"], width["min"], width["max"], width["default"]) == ("int", 50, 1000, 200)
    material = next(p for p in got["textures/materials-gan"]["params"] if p["name"] == "material")
    assert "stone" in material["choices"]
    r = run("models", "--json", "--kind", "music")
    assert {m["kind"] for m in json.loads(r.stdout)} == {"music"}
