"""The Unity package's engine-neutral C# core (unity_client/Runtime/Core), compiled with Mono's mcs
(C# 7.2, no UnityEngine) together with its console driver (unity_client/Tests/Console~), and run
against real servers through the HTTP/WebSocket gateway: ``gamegen serve --port 0 --http-port 0`` for
the bundled models, in-process servers for the slowed-down and session-holding test kinds.

Skipped, with the reason, only when mcs/mono are absent (CI's .ci/run installs them) or when this
checkout's server has no gateway.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gamegen.server.registry import Registry

from .conftest import ROOT, fields, gamegen_cmd, lines_of, python_assets
from .slow_server import Slow
from .test_sessions import Echo

PACKAGE = ROOT / "unity_client"
CORE = PACKAGE / "Runtime" / "Core"
DRIVER = PACKAGE / "Tests" / "Console~" / "GameGenCli.cs"
BUILD = ROOT / "build" / "unity-client"
APT = "mono-mcs libmono-system-net-http4.0-cil"

# Exit statuses of the driver: the gRPC code of a failure.
CANCELLED, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, FAILED_PRECONDITION, UNAVAILABLE = 1, 3, 4, 5, 9, 14


def compile_core(out: Path, *extra: Path, target: str = "exe") -> subprocess.CompletedProcess:
    """mcs at C# 7.2 over Runtime/Core with only the .NET libraries Unity also has (no UnityEngine)."""
    sources = sorted(str(p) for p in CORE.glob("*.cs")) + [str(p) for p in extra]
    return subprocess.run(["mcs", "-langversion:7.2", f"-target:{target}", "-warnaserror+", "-nowarn:1591",
                           "-r:System.Net.Http.dll", f"-out:{out}", *sources], capture_output=True, text=True)


@pytest.fixture(scope="module")
def cli() -> Path:
    missing = [t for t in ("mcs", "mono") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"Mono absent ({', '.join(missing)}); on Debian: apt-get install {APT}")
    BUILD.mkdir(parents=True, exist_ok=True)
    exe = BUILD / "gamegen-cs.exe"
    r = compile_core(exe, DRIVER)
    assert r.returncode == 0, f"C# core does not compile:\n{r.stdout}\n{r.stderr}"
    return exe


def run(cli: Path, url: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(["mono", str(cli), "--server", url, *args], capture_output=True, text=True, timeout=timeout)


class Served:
    """``gamegen serve``-style process (gRPC + gateway); both ports read from its banner."""

    def __init__(self, cmd: list[str]):
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        self.target = self.http = None
        deadline = time.time() + 90
        while time.time() < deadline and self.http is None:
            line = self.proc.stdout.readline()
            if not line and self.proc.poll() is not None:
                err = self.proc.stderr.read()
                if "--http-port" in err or "http_port" in err:
                    why = next((line.strip("│ ") for line in err.splitlines() if "http" in line), "")
                    pytest.skip(f"this checkout's server has no HTTP gateway: {why}")
                raise RuntimeError(f"server exited: {err}")
            m = re.search(r"serving on [\d.]+:(\d+)", line)
            if m:
                self.target = f"127.0.0.1:{m.group(1)}"
            m = re.search(r"gateway on http://[\d.]+:(\d+)", line)
            if m:
                self.http = f"http://127.0.0.1:{m.group(1)}"
        if self.http is None:
            self.stop()
            raise RuntimeError("no gateway banner within 90 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture(scope="module")
def served():
    s = Served(gamegen_cmd("serve", "--port", "0", "--http-port", "0", "--device", "cpu"))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def py_client(served):
    from gamegen.client import Client

    with Client(served.target, timeout=60) as c:
        yield c


class GatewayThread:
    """An in-process server with its gateway (for test kinds a subprocess cannot serve)."""

    def __init__(self, registry):
        import asyncio

        from gamegen.server.app import GameGenServer

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        try:
            self.server = GameGenServer(registry, host="127.0.0.1", port=0, http_port=0)
        except TypeError:
            self.stop_loop()
            pytest.skip("this checkout's server has no HTTP gateway (GameGenServer(http_port=...))")
        self.call(self.server.start())
        self.http = f"http://127.0.0.1:{self.server.http_port}"

    @property
    def stats(self):
        return self.server.servicer.stats

    def call(self, coro, timeout: float = 30):
        import asyncio

        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop_loop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def stop(self) -> None:
        self.call(self.server.stop(1.0))
        self.stop_loop()


# --- happy paths --------------------------------------------------------------------------------


def test_lists_the_same_models_as_the_python_client(cli, served, py_client):
    r = run(cli, served.http, "models")
    assert r.returncode == 0, r.stderr
    listed = re.findall(r"^(\S+/\S+)@(\S+) family=(\S+) provider=(\S+) sessions=(\S+) formats=(\S*)$", r.stdout, re.M)
    expected = [(f"{m.kind}/{m.name}", m.version, m.family, m.execution_provider, str(m.sessions).lower(),
                 ",".join(m.output_formats)) for m in py_client.list_models()]
    assert listed == expected
    smb = r.stdout.split("levels/smb@", 1)[1].split("\nlevels/", 1)[0]
    assert '  param width type=Int default=200 required=false allowed="an integer from 50 to 1000"' in smb
    textures = run(cli, served.http, "models", "textures")
    assert textures.returncode == 0 and textures.stdout.startswith("textures/") and "levels/" not in textures.stdout
    assert re.search(r'param size type=Int default=512 required=false allowed="an integer from 64 to 2048, a multiple of 16"',
                     textures.stdout)
    assert re.search(r'param exemplar type=Bytes default=\S* required=true allowed="a PNG or JPEG image"', textures.stdout)


def test_streams_a_level_in_chunks_with_the_python_clients_bytes(cli, served, py_client, tmp_path):
    r = run(cli, served.http, "generate", "levels/smb", "--seed", "7", "--set", "width=200", "--set", "enemies=0.5",
            "-f", "tmj", "-f", "png", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    chunks = lines_of(r.stdout, "level_chunk")
    assert [int(c["x"]) for c in chunks] == list(range(0, 200, 25))
    assert all(c["level_width"] == "200" and c["width"] == "25" and len(c["rows"].split("|")) == 14 for c in chunks)
    kinds = [line.split(" ", 1)[0] for line in r.stdout.splitlines()]
    assert kinds.index("asset") > kinds.index("level_chunk") and kinds[-2] == "final"
    assert "progress" in kinds

    expected, final = python_assets(py_client, "levels/smb", 7, {"width": 200, "enemies": 0.5}, ["tmj", "png"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(expected)
    for name, data in expected.items():
        assert (tmp_path / name).read_bytes() == data, f"{name} differs from the Python client's"
    fin = lines_of(r.stdout, "final")[0]
    assert fin["content_hash"] == final.content_hash and fin["is_last"] == "true" and fin["seed"] == "7"
    assert "width:200" in fin["params"] and "enemies:0.5" in fin["params"]
    # the level's rows, joined from the chunks, are the level.txt the server would write
    txt, _ = python_assets(py_client, "levels/smb", 7, {"width": 200, "enemies": 0.5}, ["txt"])
    rows = ["".join(c["rows"].split("|")[y] for c in chunks) for y in range(14)]
    assert "\n".join(rows) == txt["level.txt"].decode().rstrip("\n")


def test_streams_music_bar_by_bar_with_the_python_clients_bytes(cli, served, py_client, tmp_path):
    r = run(cli, served.http, "generate", "music/music-lstm", "--seed", "3", "--set", "bars=8", "--set", "key=D",
            "--set", "loop=true", "-f", "mid", "-f", "wav", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    bars = lines_of(r.stdout, "music_bar")
    assert [int(b["index"]) for b in bars] == list(range(8)) and all(b["total"] == "8" for b in bars)
    assert all(int(b["notes"]) > 0 for b in bars)
    expected, _ = python_assets(py_client, "music/music-lstm", 3, {"bars": 8, "key": "D", "loop": True}, ["mid", "wav"])
    for name in ("music.mid", "music.wav"):
        assert (tmp_path / name).read_bytes() == expected[name], name


def test_a_texture_set_and_an_uploaded_file_travel_as_bytes(cli, served, py_client, tmp_path):
    r = run(cli, served.http, "generate", "textures/materials-procedural", "--seed", "5", "--set", "material=brick",
            "--set", "size=128", "-f", "albedo", "-f", "normal_gl", "-f", "height", "--out", str(tmp_path / "set"))
    assert r.returncode == 0, r.stderr
    expected, _ = python_assets(py_client, "textures/materials-procedural", 5, {"material": "brick", "size": 128},
                                ["albedo", "normal_gl", "height"])
    for name, data in expected.items():
        assert (tmp_path / "set" / name).read_bytes() == data, name

    import numpy as np
    from PIL import Image

    png = io.BytesIO()
    Image.fromarray(np.random.default_rng(5).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(png, format="PNG")
    (tmp_path / "in.png").write_bytes(png.getvalue())
    r = run(cli, served.http, "generate", "textures/pbr-sobel", "--set", f"albedo=@{tmp_path / 'in.png'}",
            "--set", "relief=2", "-f", "normal_dx", "--out", str(tmp_path / "maps"))
    assert r.returncode == 0, r.stderr
    expected, _ = python_assets(py_client, "textures/pbr-sobel", 0, {"albedo": png.getvalue(), "relief": 2.0}, ["normal_dx"])
    assert (tmp_path / "maps" / "normal_dx.png").read_bytes() == expected["normal_dx.png"]


@pytest.mark.parametrize("mode", ["run", "poll", "coroutine"])
def test_callbacks_polling_and_coroutines_see_the_same_stream(cli, served, mode):
    """RunAsync(handlers), TryRead from Update and the coroutine (driven as Unity drives one) give the
    events MoveNextAsync gives, in the same order; cancelling works the same way in each."""
    args = ("generate", "levels/smb", "--seed", "4", "--set", "width=100", "-f", "txt", "-f", "png")
    pulled = run(cli, served.http, *args, "--mode", "pull")
    other = run(cli, served.http, *args, "--mode", mode)
    assert pulled.returncode == other.returncode == 0, other.stderr
    strip = lambda out: [line for line in out.splitlines() if not line.startswith(("timing", "progress"))]
    assert strip(other.stdout) == strip(pulled.stdout) and len(strip(pulled.stdout)) == 4 + 2 + 1
    cancelled = run(cli, served.http, "generate", "levels/smb", "--set", "width=1000", "-f", "txt", "--mode", mode,
                    "--cancel-after", "2", "--quiet", "--no-list")
    assert cancelled.returncode == CANCELLED and cancelled.stderr.startswith("CANCELLED: "), cancelled.stderr


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, code, words",
    [
        (["levels/no-such-model", "-f", "txt"], NOT_FOUND, ["NOT_FOUND", "no-such-model", "levels/smb"]),
        (["levels/smb", "-f", "txt", "--set", "width=5000"], INVALID_ARGUMENT, ["INVALID_ARGUMENT", "width", "1000", "5000"]),
        (["levels/smb", "-f", "txt", "--set", "width=wide"], INVALID_ARGUMENT,  # typed from ListModels, refused locally
         ["INVALID_ARGUMENT", 'width="wide" is not an integer', "an integer from 50 to 1000"]),
        (["levels/smb", "-f", "txt", "--set", "width=wide", "--no-list"], INVALID_ARGUMENT,  # refused by the gateway
         ["INVALID_ARGUMENT", "width"]),
        (["levels/smb", "-f", "txt", "--set", "gold=3", "--no-list"], INVALID_ARGUMENT,
         ["INVALID_ARGUMENT", "gold", "levels/smb"]),
        (["levels/smb", "-f", "mp3"], INVALID_ARGUMENT, ["INVALID_ARGUMENT", "mp3", "tmj"]),
        (["textures/pbr-sobel", "-f", "height"], INVALID_ARGUMENT, ["INVALID_ARGUMENT", "albedo"]),
    ],
)
def test_bad_input_is_a_typed_error_with_the_servers_message(cli, served, args, code, words):
    r = run(cli, served.http, "generate", *args)
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    for w in words:
        assert w in r.stderr, (w, r.stderr)
    assert "Unhandled" not in r.stderr and r.stdout.strip() == ""


def test_no_server_is_unavailable(cli):
    import socket

    with socket.socket() as s:  # a port that nothing listens on, held so no other server takes it meanwhile
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        t0 = time.monotonic()
        r = run(cli, f"http://127.0.0.1:{port}", "generate", "levels/smb", "-f", "txt", timeout=60)
    assert r.returncode == UNAVAILABLE and r.stderr.startswith("UNAVAILABLE: the server cannot be reached"), r.stderr
    # usually well under a second; on the loaded 2-core machine a refused connection was once
    # reported only after ~28 s (not reproduced alone): the bound says "no hang", not "fast"
    assert time.monotonic() - t0 < 45


# --- cancellation, deadlines, a server that dies --------------------------------------------------


@pytest.fixture()
def slow_gateway(registry):
    reg = Registry()
    slow = Slow(registry.resolve("levels/smb-rules"), "slow-smb")
    reg.add(slow)
    s = GatewayThread(reg)
    yield s, slow
    s.stop()


def test_cancel_mid_stream_stops_the_server_side_generation(cli, slow_gateway):
    server, slow = slow_gateway
    r = run(cli, server.http, "generate", "levels/slow-smb", "--set", "width=1000", "-f", "txt", "--cancel-after", "2",
            "--no-list")
    assert r.returncode == CANCELLED, (r.returncode, r.stderr)
    assert r.stderr.startswith("CANCELLED: cancelled by the client")
    assert len(r.stdout.splitlines()) == 2 and "final" not in r.stdout
    assert slow.closed.wait(5), "generator still running after the C# client cancelled"
    assert slow.pulled < 20, f"generator ran on after cancel: {slow.pulled} events"  # of about 80
    deadline = time.time() + 5
    while server.stats.active and time.time() < deadline:
        time.sleep(0.02)
    assert server.stats.active == 0 and server.stats.cancelled == 1 and server.stats.completed == 0


def test_deadline_ends_the_call_with_deadline_exceeded(cli, slow_gateway):
    server, slow = slow_gateway
    t0 = time.monotonic()
    r = run(cli, server.http, "generate", "levels/slow-smb", "--set", "width=1000", "-f", "txt", "--timeout", "0.3",
            "--quiet", "--no-list")
    assert r.returncode == DEADLINE_EXCEEDED, (r.returncode, r.stderr)
    assert r.stderr.startswith("DEADLINE_EXCEEDED: ")
    assert time.monotonic() - t0 < 10
    assert slow.closed.wait(5), "generator still running after the deadline"


def test_server_killed_mid_stream_is_unavailable_not_a_hang(cli):
    server = Served([sys.executable, "-m", "tests.unity_slow_gateway"])
    try:
        p = subprocess.Popen(["mono", str(cli), "--server", server.http, "generate", "levels/slow-smb",
                              "--set", "width=1000", "-f", "txt", "--no-list"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = p.stdout.readline()  # the stream is running
        assert first.split(" ", 1)[0] in ("level_chunk", "progress"), first
        server.proc.send_signal(signal.SIGKILL)
        out, err = p.communicate(timeout=20)
    finally:
        server.stop()
    assert p.returncode == UNAVAILABLE, (p.returncode, err)
    assert err.startswith("UNAVAILABLE: ") and "final" not in out


# --- sessions -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def session_gateway(registry):
    from gamegen.server.sessions import SessionLimits

    reg = Registry()
    fast, slow = Echo(), Echo(delay=0.05)
    fast.info.name, slow.info.name = "echo", "slow-echo"
    reg.add(fast)
    reg.add(slow)
    reg.add(registry.resolve("levels/smb-rules"))
    s = GatewayThread(reg)
    s.server.servicer.sessions.limits = SessionLimits(max_sessions=4, idle_timeout=30)
    yield s, fast, slow
    s.stop()


def test_a_dialog_session_streams_turns_by_input_id(cli, session_gateway):
    server, fast, _ = session_gateway
    r = run(cli, server.http, "session", "dialog/echo", "--persona", "Brom", "--say", "who goes there", "--say", "",
            "--say", "open the gate")
    assert r.returncode == 0, r.stderr
    assert lines_of(r.stdout, "opened")[0]["model"] == "dialog/echo"
    deltas = lines_of(r.stdout, "delta")
    assert [d["input"] for d in deltas] == ["1"] * 6 + ["3"] * 6
    assert "".join(d["text"] for d in deltas if d["input"] == "1") == "Brom_heard_(1):_who_goes_there"
    ends = lines_of(r.stdout, "end")
    assert [(e["input"], e["stop_reason"], e["tokens"]) for e in ends] == [("1", "eos", "6"), ("3", "eos", "6")]
    reply = [line for line in r.stdout.splitlines() if line.startswith("reply input=3")][0]
    assert reply.endswith("emotion=neutral action=none line=Brom heard (2): open the gate")
    # the empty line is that input's error only; the session went on
    err = lines_of(r.stdout, "input_error")
    assert [(e["input"], e["code"]) for e in err] == [("2", "INVALID_ARGUMENT")], r.stdout
    assert "input_error input=2 code=INVALID_ARGUMENT message=player_line is empty" in r.stdout
    assert r.stdout.rstrip().endswith("closed reason=client closed")
    assert fast.closed.wait(5)


def test_a_session_input_can_be_cancelled_mid_reply(cli, session_gateway):
    server, _, slow = session_gateway
    r = run(cli, server.http, "session", "dialog/slow-echo", "--persona", "Ada", "--cancel-after-deltas", "2",
            "--say", "one two three four five six seven eight nine ten", "--say", "again")
    assert r.returncode == 0, r.stderr
    ends = lines_of(r.stdout, "end")
    assert ends[0]["input"] == "1" and ends[0]["stop_reason"] == "cancelled", r.stdout
    assert len([d for d in lines_of(r.stdout, "delta") if d["input"] == "1"]) < 8
    assert ends[1]["input"] == "2" and ends[1]["stop_reason"] == "eos"


@pytest.mark.parametrize(
    "args, code, words",
    [
        (["dialog/no-such", "--persona", "Brom"], NOT_FOUND, ["NOT_FOUND", "no-such"]),
        (["dialog/echo"], INVALID_ARGUMENT, ["INVALID_ARGUMENT", "persona.name"]),
        (["levels/smb-rules", "--persona", "Brom"], FAILED_PRECONDITION, ["levels/smb-rules does not hold sessions", "dialog/echo"]),
    ],
)
def test_a_bad_open_is_a_typed_error(cli, session_gateway, args, code, words):
    server, _, _ = session_gateway
    r = run(cli, server.http, "session", *args, "--say", "hello", timeout=30)
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    for w in words:
        assert w in r.stderr, (w, r.stderr)


# --- what the Unity converters load ---------------------------------------------------------------


def test_the_converters_readers_agree_with_the_servers_files(cli, served, py_client, tmp_path):
    """Runtime/Core/Formats.cs: 16-bit heightmap PNG and raw (kept at 16 bits, row 0 first), WAV
    samples, and the Tiled map's tiles, read back exactly as Python reads the same files."""
    import wave

    import numpy as np
    from PIL import Image

    terrain, _ = python_assets(py_client, "terrain/noise", 3, {"size": 65, "chunk_x": 1}, ["heightmap", "raw"])
    music, _ = python_assets(py_client, "music/music-markov", 3, {"bars": 2}, ["wav"])
    level, _ = python_assets(py_client, "levels/smb", 7, {"width": 60}, ["tmj", "txt"])
    for name, data in {**terrain, **music, **level}.items():
        (tmp_path / name).write_bytes(data)
    r = run(cli, "http://unused", "decode", *(str(tmp_path / n) for n in
                                              ("heightmap.png", "heightmap.raw", "music.wav", "level.tmj", "smb.tsj")))
    assert r.returncode == 0, r.stderr
    gray, raw, wav, tmj, tsj = (fields(line) for line in r.stdout.splitlines())

    heights = np.array(Image.open(io.BytesIO(terrain["heightmap.png"])), dtype=np.int64)
    assert heights.shape == (65, 65) and heights.max() > 255  # really 16-bit
    assert (gray["width"], gray["height"]) == ("65", "65")
    assert int(gray["sum"]) == heights.sum() and int(gray["first"]) == heights[0, 0] and int(gray["last"]) == heights[-1, -1]
    raw_values = np.frombuffer(terrain["heightmap.raw"], dtype="<u2").reshape(65, 65)
    assert raw["size"] == "65" and int(raw["sum"]) == raw_values.sum() and int(raw["corner_row0_col1"]) == raw_values[0, 1]
    assert (raw_values == heights).all()

    with wave.open(io.BytesIO(music["music.wav"])) as w:
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        assert (wav["channels"], wav["rate"], wav["frames"]) == (str(w.getnchannels()), str(w.getframerate()),
                                                                 str(w.getnframes()))
    assert int(wav["sum"]) == int(frames.astype(np.int64).sum())

    symbols = dict(kv.split(":") for kv in tsj["symbols"].split(","))
    assert tsj["tiles"] == str(len(symbols)) and tsj["image"] == "smb-tiles.png"
    ids = [row.rstrip(",").split(",") for row in tmj["ids"].split("|")]
    assert (tmj["width"], tmj["height"]) == ("60", "14") and len(ids) == 14
    empty = next(s for i, s in symbols.items() if i == "0")
    text = ["".join(empty if i == "-1" else symbols[i] for i in row) for row in ids]
    assert text == level["level.txt"].decode().splitlines()  # row 0 of the map is the level's top row


def test_a_recipe_writes_the_bake_file_gamegen_bake_reads(cli, served, tmp_path):
    """The editor's recipe asset mirrors bake.toml: what it writes, `gamegen bake` validates and
    bakes with the same parameters (typed from ListModels, files as paths relative to the file)."""
    import tomllib

    from gamegen.server.backends import LocalBackend
    from gamegen.server.bake import load_bake_file

    import numpy as np
    from PIL import Image

    (tmp_path / "art").mkdir()
    Image.fromarray(np.full((64, 64, 3), 90, dtype=np.uint8)).save(tmp_path / "art" / "rock.png")
    r = run(cli, served.http, "recipe", "--defaults", "tmj,png",
            "--asset", "world-1", "levels/smb", "7", "width=300", "enemies=0.4", "temperature=1", "-f", "tmj",
            "--asset", "theme", "music/music-lstm", "11", "key=D", "loop=true", "tempo=96",
            "--asset", "cliff", "textures/exemplar-spectral", "1", "exemplar=@art/rock.png", "size=128")
    assert r.returncode == 0, r.stderr
    text = r.stdout
    data = tomllib.loads(text)
    assert data["defaults"] == {"formats": ["tmj", "png"]}
    assert data["asset"][0] == {"name": "world-1", "model": "levels/smb", "seed": 7,
                                "params": {"width": 300, "enemies": 0.4, "temperature": 1.0}, "formats": ["tmj"]}
    assert isinstance(data["asset"][0]["params"]["temperature"], float)  # a float parameter stays a float
    (tmp_path / "bake.toml").write_text(text)
    items = load_bake_file(tmp_path / "bake.toml", LocalBackend(ROOT / "models"))
    # theme sets no formats and its model offers neither tmj nor png: every format it offers
    assert [i.name for i in items] == ["world-1", "theme", "cliff"] and items[0].formats == ("tmj",)
    assert "mid" in items[1].formats and "wav" in items[1].formats
    assert items[2].params["exemplar"] == (tmp_path / "art" / "rock.png").read_bytes()


def test_a_session_ended_by_the_server_fails_its_inputs_with_the_status(cli, session_gateway):
    """The idle timeout ends the session: the gateway's last frame carries DEADLINE_EXCEEDED, and
    every input waiting on the session gets it, never a hang."""
    from gamegen.server.sessions import SessionLimits

    server, _, _ = session_gateway
    before = server.server.servicer.sessions.limits
    server.server.servicer.sessions.limits = SessionLimits(max_sessions=4, idle_timeout=0.5)
    try:
        r = run(cli, server.http, "session", "dialog/echo", "--persona", "Brom", "--say", "hello", "--pause", "2",
                "--say", "still there", timeout=30)
    finally:
        server.server.servicer.sessions.limits = before
    assert r.returncode == 0, r.stderr
    assert lines_of(r.stdout, "end")[0]["input"] == "1"  # the first turn ran
    failed = lines_of(r.stdout, "input_error")
    assert [(f["input"], f["code"]) for f in failed] == [("2", "DEADLINE_EXCEEDED")], r.stdout
    assert "session_ended code=DEADLINE_EXCEEDED" in r.stdout and "session-idle-timeout" in r.stdout


def test_an_npc_scene_ticks_typed_and_packed_with_the_python_clients_actions(cli, served, py_client):
    """The C# core drives an NPC scene through the gateway: a tick of NpcObservation messages and the
    same observations packed by field (NpcObservationBlock as JSON) give the Python client's actions;
    a packed tick's reply is read into NpcActionBlock arrays."""
    import json

    import numpy as np

    from gamegen.generators.npc import arena as A
    from gamegen.generators.npc.demo import pack_observations, typed_observations

    arena = A.Arena()
    specs = [A.AgentSpec(A.ARCHETYPES[i % 5], 0.6, 0.4) for i in range(6)]
    arena.reset(specs, seed=4, player_mode="wander")
    ids = [f"u{i}" for i in range(6)]
    typed = typed_observations(arena, ids)
    agents = [{"agent_id": i, "archetype": s.archetype, "aggression": 0.6, "caution": 0.4} for i, s in zip(ids, specs)]
    with py_client.open_session("npc/npc-mlp", seed=1, params={"agents": agents}) as s:
        want = [a.action for a in list(s.send({"observations": typed}))[0].actions]
    block = {k: (v.ravel().tolist() if isinstance(v, np.ndarray) else v) for k, v in pack_observations(typed).items()}
    camel = lambda k: k.split("_")[0] + "".join(w.title() for w in k.split("_")[1:])
    r = run(cli, served.http, "npc", "npc/npc-mlp", "--open", json.dumps({"agents": agents}),
            "--tick", json.dumps({"observations": typed}), "--tick", json.dumps({"block": {camel(k): v for k, v in block.items()}}),
            "--tick", json.dumps({"block": {"agentIds": ids, "position": [0.0] * 11}}))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "actions input=1 " + " ".join(f"{i}={a}" for i, a in zip(ids, want))
    got = dict(kv.split("=", 1) for kv in lines[1].split(" ")[1:])
    assert got["input"] == "2" and got["action"] == ",".join(map(str, want))
    assert got["names"] == ",".join(A.ACTIONS)
    np.testing.assert_allclose(np.array(got["direction"].split(","), float).reshape(6, 2), A.DIRS[want], atol=1e-6)
    assert lines[2].startswith("input_error input=3 code=INVALID_ARGUMENT") and "block.position has 11 values" in lines[2]


# --- WebGL: the browser WebSocket plugin ---------------------------------------------------------

WEBGL = ROOT / "tests" / "webgl"
JSLIB = ROOT / "unity_client" / "Runtime" / "Plugins" / "WebGL" / "GameGenWebSocket.jslib"


def test_the_webgl_socket_plugin_holds_a_session_through_the_gateway(session_gateway):
    """GameGenWebSocket.jslib (what a WebGL player's sessions use) linked as Emscripten would and
    driven as BrowserWebSocket.cs drives it, against the live gateway: open, two turns (one refused:
    that input's error only), close — every event as the server sent it."""
    import json

    if shutil.which("node") is None or not (WEBGL / "node_modules" / "ws").is_dir():
        pytest.skip("node or tests/webgl/node_modules absent (`npm ci --prefix tests/webgl`; make test does it)")
    server, _, _ = session_gateway
    open_msg = {"model": "dialog/echo", "seed": "3", "dialog": {"persona": {"name": "Brom"}}}
    r = subprocess.run(["node", str(WEBGL / "harness.js"), str(JSLIB), server.http.replace("http://", "ws://") + "/v1/session",
                        json.dumps(open_msg), json.dumps({"dialog": {"playerLine": "who goes there"}}),
                        json.dumps({"dialog": {"playerLine": ""}})], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "o" and kinds[-1] == "c" and "timeout" not in kinds, kinds
    messages = [json.loads(e["text"]) for e in events if e["event"] == "m"]
    assert "opened" in messages[0] and messages[0]["opened"]["model"] == "dialog/echo"
    text = "".join(m["partial"]["textDelta"]["text"] for m in messages if m.get("inputId") == "1" and "partial" in m)
    reply = next(m["dialogReply"] for m in messages if "dialogReply" in m)
    assert text and reply["line"] == text and "who goes there" in text.lower()
    assert any(m.get("inputId") == "1" and "end" in m for m in messages)
    (err,) = [m["error"] for m in messages if "error" in m]
    assert err["code"] == "INVALID_ARGUMENT" and "player_line" in err["message"]
    assert "closed" in messages[-1]
    assert events[-1]["text"].startswith("1000")        # a normal close after `closed`
