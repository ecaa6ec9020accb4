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


def test_bake_out_naming_a_file_is_one_line(tmp_path):
    path = tmp_path / "bake.toml"
    path.write_text('[[asset]]\nname = "a"\nmodel = "levels/smb-rules"\nseed = 1\n')
    (tmp_path / "taken").write_text("a file")
    r = run("bake", str(path), "--out", str(tmp_path / "taken"))
    assert r.returncode == 2 and "Traceback" not in r.stderr and "is a file" in r.stderr, r.stderr


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


@pytest.mark.parametrize("name", ["evil\\n", "a/b", "..", ".hidden", "", "a\\tb", "x" * 129])
def test_bake_asset_name_must_be_a_plain_folder_name(tmp_path, local, name):
    path = bake_file(tmp_path, f'[[asset]]\nname = "{name}"\nmodel = "levels/smb-rules"\nseed = 1\n')
    with pytest.raises(BakeFileError) as e:
        load_bake_file(path, local)
    assert "name must be" in str(e.value) and "asset #1" in str(e.value)


def test_bake_hint_in_square_brackets_reaches_the_terminal(tmp_path):
    path = bake_file(tmp_path, '[asset]\nname = "a"\nmodel = "levels/smb-rules"\nseed = 1\n')
    r = run("bake", str(path), "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "[[asset]]" in r.stderr and "[asset]" in r.stderr, r.stderr
    assert "add at least one [] table" not in r.stderr


MIXED = """
[defaults]
formats = ["txt", "tmj", "mid", "albedo"]

[[asset]]
name = "level"
model = "levels/smb-rules"
seed = 1
params = { width = 60 }

[[asset]]
name = "tune"
model = "music/music-markov"
seed = 2
params = { bars = 2 }

[[asset]]
name = "rock"
model = "textures/materials-procedural"
seed = 3
params = { size = 64 }

[[asset]]
name = "hills"
model = "terrain/noise"
seed = 4
params = { size = 33 }

[[asset]]
name = "own"
model = "levels/smb-rules"
seed = 5
formats = ["tmj"]
params = { width = 60 }
"""


def test_bake_defaults_formats_are_shared_across_kinds(tmp_path, local):
    items = {i.name: i for i in load_bake_file(bake_file(tmp_path, MIXED), local)}
    assert items["level"].formats == ("txt", "tmj")          # the defaults this model offers, in order
    assert items["tune"].formats == ("mid",)
    assert items["rock"].formats == ("albedo",)
    terrain = local.info("terrain/noise")
    assert items["hills"].formats == terrain.formats          # offers none of them: its own default (all)
    assert items["own"].formats == ("tmj",)                   # an asset's own list is used as written
    report = Baker(local, tmp_path / "out", jobs=2).run(list(items.values()))
    assert not report.failed and sorted(report.baked) == sorted(items), report
    assert (tmp_path / "out" / "tune" / "music.mid").exists() and (tmp_path / "out" / "rock" / "albedo.png").exists()


@pytest.mark.parametrize("defaults,words", [
    ('formats = ["txt", "pgn"]', ["[defaults] formats", "pgn", "no model"]),
    ('formats = []', ["[defaults] formats", "non-empty"]),
    ('format = ["txt"]', ["format", "[defaults]", "allowed: formats"]),
])
def test_bad_bake_defaults_are_named(tmp_path, local, defaults, words):
    path = bake_file(tmp_path, f'[defaults]\n{defaults}\n[[asset]]\nname = "a"\nmodel = "levels/smb-rules"\nseed = 1\n')
    with pytest.raises(BakeFileError) as e:
        load_bake_file(path, local)
    assert all(w in str(e.value) for w in words), str(e.value)


# -- bake keys and state carry the execution provider -------------------------------------------------

def test_bake_key_and_state_include_the_execution_provider(tmp_path, local):
    info = local.info("levels/smb")
    canonical = [("width", "60")]
    assert cache_key(info, 1, canonical, ["txt"]) != cache_key(replace(info, execution_provider=CUDA), 1, canonical,
                                                                  ["txt"])
    item = load_bake_file(bake_file(tmp_path, '[[asset]]\nname = "a"\nmodel = "levels/smb"\nseed = 1\n'
                                              'formats = ["txt"]\nparams = { width = 60 }\n'), local)[0]
    assert item.provider == CPU
    out = tmp_path / "out"
    assert Baker(local, out).run([item]).baked == ["a"]
    state = json.loads((out / ".gamegen-bake.json").read_text())
    assert state["assets"]["a"]["execution_provider"] == CPU
    # an asset planned for one provider whose bytes come from another is not filed under the key
    planned = BakeItem("b", item.model, 1, item.params, item.formats, "k" * 64, CUDA)
    report = Baker(local, out).run([planned])
    assert report.failed and "planned for CUDAExecutionProvider" in report.failed[0][1], report
    assert not (out / "b").exists() and "b" not in json.loads((out / ".gamegen-bake.json").read_text())["assets"]


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


# -- each model where it runs fastest (no GPU here: a machine that lists CUDA is faked) ----------------

def test_model_providers_follow_device_and_manifest():
    gpu, cpu_only = [CUDA, CPU], [CPU]
    step, conv, silent = {"device": {"prefer": "cpu"}}, {"device": {"prefer": "cuda"}}, {}
    assert registry_mod.model_providers("auto", gpu, step) == [CPU]
    assert registry_mod.model_providers("auto", gpu, conv) == [CUDA, CPU]
    assert registry_mod.model_providers("auto", gpu, silent) == [CUDA, CPU]
    assert registry_mod.model_providers("cuda", gpu, step) == [CUDA, CPU]       # an explicit choice wins
    assert registry_mod.model_providers("cpu", gpu, conv) == [CPU]
    for manifest in (step, conv, silent):
        assert registry_mod.model_providers("auto", cpu_only, manifest) == [CPU]


def test_auto_puts_each_model_on_its_preferred_provider_and_list_models_says_what_it_got(monkeypatch):
    ort = registry_mod.quiet_onnxruntime()
    monkeypatch.setattr(ort, "get_available_providers", lambda: [CUDA, CPU])
    asked: dict[str, list[str]] = {}
    original = registry_mod.SessionFactory.__call__

    def spy(self, path, providers=None):
        asked[Path(path).parent.parent.name] = providers
        return original(self, path, providers=providers)

    monkeypatch.setattr(registry_mod.SessionFactory, "__call__", spy)
    reg = registry_mod.load_registry(MODELS, device="auto", builtins=False, warmup=False)
    assert {m: asked[m] for m in ("smb", "loderunner", "music-lstm")} == dict.fromkeys(
        ("smb", "loderunner", "music-lstm"), [CPU])
    assert all(asked[m] == [CUDA, CPU] for m in ("terrain-erosion", "materials-gan", "flipbook-gan", "pbr-unet",
                                                 "exemplar-unet"))
    # ListModels reports what each session really got (CPU on this machine: CUDA is not usable here)
    server = ServerThread(reg)
    try:
        from gamegen.client import Client

        with Client(server.target) as c:
            reported = {m.name: m.execution_provider for m in c.list_models()}
    finally:
        server.stop()
    for gen in reg.all():
        if gen.info.execution_provider != "none":
            assert reported[gen.info.name] == gen.info.execution_provider
    assert reported["smb"] == CPU
