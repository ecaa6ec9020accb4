"""The `gamegen` command as a user runs it: generate, models, bake, serve — and its bad inputs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from gamegen.client import Client
from gamegen.generators.events import Final, LevelChunk
from gamegen.generators.levels import playability
from gamegen.generators.levels.games import to_grid
from gamegen.server.backends import LocalBackend
from gamegen.server.bake import Baker, BakeFileError, load_bake_file

from .conftest import MODELS, ServeProcess, gamegen_cmd


def run(*args, cwd=None):
    return subprocess.run(gamegen_cmd(*args), capture_output=True, text=True, cwd=cwd, timeout=120)


def read_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_generate_in_process_writes_playable_level(tmp_path):
    r = run("generate", "levels/smb", "--seed", "7", "--set", "width=300", "--set", "enemies=0.4",
            "--out", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    files = read_files(tmp_path / "out")
    assert {"level.txt", "level.tmj", "level.png", "smb.tsj", "smb-tiles.png"} <= set(files)
    rows = files["level.txt"].decode().splitlines()
    assert len(rows) == 14 and all(len(r) == 300 for r in rows)
    assert playability.check("smb", to_grid(rows)).playable
    tmj = json.loads(files["level.tmj"])
    assert tmj["width"] == 300 and tmj["height"] == 14 and tmj["tilesets"][0]["source"] == "smb.tsj"


def test_generate_over_grpc_matches_in_process(tmp_path, serve_process):
    local = run("generate", "levels/loderunner", "--seed", "9", "--set", "gold=7", "--out", str(tmp_path / "a"))
    remote = run("generate", "levels/loderunner", "--seed", "9", "--set", "gold=7", "--out", str(tmp_path / "b"),
                 "--server", serve_process.target)
    assert local.returncode == 0 and remote.returncode == 0, (local.stderr, remote.stderr)
    assert read_files(tmp_path / "a") == read_files(tmp_path / "b")
    assert read_files(tmp_path / "a")["level.txt"].count(b"G") == 7


def test_models_command_in_process_and_remote(serve_process):
    for extra in ([], ["--server", serve_process.target]):
        r = run("models", *extra)
        assert r.returncode == 0, r.stderr
        for word in ("levels/smb", "levels/loderunner", "levels/smb-rules", "CPUExecutionProvider", "width"):
            assert word in r.stdout, (word, r.stdout)


@pytest.mark.parametrize("args,words", [
    (["generate", "levels/smb", "--set", "width=10"], ["width", "50", "1000", "10"]),
    (["generate", "levels/smb", "--set", "width=1000000000"], ["width", "1000000000"]),
    (["generate", "levels/smb", "--set", "width=wide"], ["width", "wide"]),
    (["generate", "levels/smb", "--set", "widthx"], ["key=value"]),
    (["generate", "levels/smb", "--set", "gold=3"], ["gold", "not a parameter"]),
    (["generate", "levels/nope"], ["levels/nope", "levels/smb"]),
    (["generate", "levels/smb", "--format", "fbx"], ["fbx", "txt"]),
    (["generate", "levels/smb", "--seed", "-1"], ["seed"]),
    (["generate", "levels/smb", "--models", "/nonexistent/models"], ["/nonexistent/models", "does not exist"]),
])
def test_bad_cli_input_is_a_clear_error_and_writes_nothing(tmp_path, args, words):
    out = tmp_path / "out"
    r = run(*args, "--out", str(out))
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    for w in words:
        assert w in r.stderr, (w, r.stderr)
    assert not out.exists() or not any(out.iterdir())


def test_bad_input_over_grpc_is_a_clear_error(tmp_path, serve_process):
    r = run("generate", "levels/smb", "--set", "enemies=2", "--server", serve_process.target,
            "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "enemies" in r.stderr and "Traceback" not in r.stderr, r.stderr


BAKE = """
[defaults]
formats = ["txt", "tmj"]

[[asset]]
name = "world-1"
model = "levels/smb"
seed = 7
params = { width = 120, enemies = 0.4 }

[[asset]]
name = "world-2"
model = "levels/smb"
seed = 8
formats = ["txt", "png"]

[[asset]]
name = "vault"
model = "levels/loderunner"
seed = 3
params = { gold = 5 }

[[asset]]
name = "classic"
model = "levels/smb-rules"
seed = 3
"""


def test_bake_is_reproducible_and_cached(tmp_path):
    (tmp_path / "bake.toml").write_text(BAKE)
    out = tmp_path / "Assets" / "Generated"
    r = run("bake", str(tmp_path / "bake.toml"), "--out", str(out), "--jobs", "2")
    assert r.returncode == 0, r.stderr
    assert "baked 4" in r.stdout
    first = read_files(out)
    assert "world-1/level.tmj" in first and "world-2/level.png" in first and "vault/level.txt" in first
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.name != ".gamegen-bake.json"}

    r = run("bake", str(tmp_path / "bake.toml"), "--out", str(out))
    assert r.returncode == 0 and "baked 0, up to date 4" in r.stdout, r.stdout
    assert read_files(out) == first
    assert all(p.stat().st_mtime_ns == t for p, t in mtimes.items()), "up-to-date assets were rewritten"

    # a fresh folder bakes the same bytes (reproducible, not just cached)
    r = run("bake", str(tmp_path / "bake.toml"), "--out", str(tmp_path / "again"))
    assert r.returncode == 0
    again = read_files(tmp_path / "again")
    assert {k: v for k, v in again.items() if not k.startswith(".")} == \
        {k: v for k, v in first.items() if not k.startswith(".")}

    # changing one asset's parameter re-bakes exactly that asset
    (tmp_path / "bake.toml").write_text(BAKE.replace("gold = 5", "gold = 6"))
    r = run("bake", str(tmp_path / "bake.toml"), "--out", str(out))
    assert "baked 1, up to date 3" in r.stdout, r.stdout
    assert read_files(out)["vault/level.txt"].count(b"G") == 6

    # a damaged output file is noticed and re-baked
    (out / "world-1" / "level.txt").write_text("garbage")
    r = run("bake", str(tmp_path / "bake.toml"), "--out", str(out))
    assert "baked 1, up to date 3" in r.stdout and read_files(out)["world-1/level.txt"] == first["world-1/level.txt"]


class Interrupt(BaseException):
    pass


def test_interrupted_bake_resumes(tmp_path):
    (tmp_path / "bake.toml").write_text(BAKE)
    backend = LocalBackend(MODELS)
    items = load_bake_file(tmp_path / "bake.toml", backend)
    calls = []

    class Dying:
        where = "test"

        def info(self, ref):
            return backend.info(ref)

        def generate(self, ref, seed, params, formats, partials=True):
            calls.append(ref)
            if len(calls) == 3:
                raise Interrupt()  # like Ctrl-C in the middle of the third asset
            return backend.generate(ref, seed, params, formats, partials)

    out = tmp_path / "out"
    with pytest.raises(Interrupt):
        Baker(Dying(), out, jobs=1).run(items)
    state = json.loads((out / ".gamegen-bake.json").read_text())
    done = sorted(state["assets"])
    # the two before the interruption are recorded; the interrupted one is not (an asset already
    # running when it happened may finish and be recorded, as with a real Ctrl-C)
    assert {"world-1", "world-2"} <= set(done) and "vault" not in done
    assert not list(out.glob(".bake-tmp-*")) and not (out / "vault").exists()
    report = Baker(backend, out, jobs=2).run(items)
    assert sorted(report.skipped) == done
    assert sorted(report.baked) == sorted({"world-1", "world-2", "vault", "classic"} - set(done))
    assert (out / "vault" / "level.txt").exists()


@pytest.mark.parametrize("text,words", [
    ("this is not toml [", ["not valid TOML"]),
    ("", ["no assets"]),
    ('[[asset]]\nname = "a"\nmodel = "levels/smb"\n', ["asset #1 (a)", "seed"]),
    ('[[asset]]\nname = "a"\nmodel = "levels/nope"\nseed = 1\n', ["levels/nope", "levels/smb"]),
    ('[[asset]]\nname = "a"\nmodel = "levels/smb"\nseed = 1\nparams = { width = 5 }\n', ["params.width", "50"]),
    ('[[asset]]\nname = "a"\nmodel = "levels/smb"\nseed = 1\nformats = []\n', ["formats"]),
    ('[[asset]]\nname = "../evil"\nmodel = "levels/smb"\nseed = 1\n', ["name"]),
    ('[[asset]]\nname = "a"\nmodel = "levels/smb"\nseed = 1\n[[asset]]\nname = "a"\nmodel = "levels/smb"\nseed = 2\n',
     ["used twice"]),
    ('[[asset]]\nname = "a"\nmodel = "levels/smb"\nseed = 1\ncolour = "red"\n', ["colour"]),
])
def test_malformed_bake_file_is_refused_before_any_work(tmp_path, text, words):
    (tmp_path / "bake.toml").write_text(text)
    out = tmp_path / "out"
    r = run("bake", str(tmp_path / "bake.toml"), "--out", str(out))
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    for w in words:
        assert w in r.stderr, (w, r.stderr)
    assert not out.exists()


def test_in_process_models_load_only_when_a_check_needs_them(tmp_path):
    backend = LocalBackend(MODELS)
    bake = tmp_path / "bake.toml"
    bake.write_text("this is not toml [")
    with pytest.raises(BakeFileError, match="not valid TOML"):
        load_bake_file(bake, backend)
    assert "registry" not in vars(backend)        # refused before any model was loaded
    bake.write_text('[[asset]]\nname = "a"\nmodel = "levels/nope"\nseed = 1\n')
    with pytest.raises(Exception, match="levels/smb"):   # naming a model loads them, to list the others
        load_bake_file(bake, backend)
    assert "registry" in vars(backend)
    with pytest.raises(FileNotFoundError, match="does not exist"):  # a missing folder is still told at once
        LocalBackend(tmp_path / "no-such-folder")


def test_missing_bake_file(tmp_path):
    r = run("bake", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "no such bake file" in r.stderr


def test_serve_drains_in_flight_stream_on_sigterm():
    proc = ServeProcess("--grace", "10")
    try:
        with Client(proc.target) as c:
            stream = c.generate("levels/smb", seed=5, params={"width": 1000}, formats=["txt"])
            first = next(e for e in stream if isinstance(e, LevelChunk))
            proc.proc.send_signal(signal.SIGTERM)
            rest = list(stream)
        assert first.x == 0 and isinstance(rest[-1], Final), "in-flight stream was cut off"
        assert proc.proc.wait(20) == 0
    finally:
        proc.stop()


def test_serve_refuses_missing_model_dir_clearly():
    r = run("serve", "--models", "/nonexistent/models", "--port", "0")
    assert r.returncode == 2 and "/nonexistent/models" in r.stderr and "Traceback" not in r.stderr


def test_unreachable_server_is_a_clear_error(tmp_path):
    r = run("generate", "levels/smb", "--server", "127.0.0.1:1", "--out", str(tmp_path / "o"))
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert "cannot reach a gamegen server at 127.0.0.1:1" in r.stderr
    assert not (tmp_path / "o").exists()
