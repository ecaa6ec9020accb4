"""Shared fixtures: the bundled model registry and real servers on loopback ports."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
VGLC = ROOT.parent / "shared" / "data" / "vglc"


def needs_corpus():
    return pytest.mark.skipif(not VGLC.is_dir(), reason=f"training corpus not found at {VGLC}")


@pytest.fixture(scope="session")
def registry():
    from gamegen.server.registry import load_registry

    return load_registry(MODELS, device="cpu")


class ServerThread:
    """A real grpc.aio server on 127.0.0.1:<free port>, running its own loop in a thread."""

    def __init__(self, registry, max_concurrent: int = 4, workers: int | None = None, **server_options):
        """``server_options`` go to GameGenServer (``http_port=0`` adds the HTTP/WebSocket gateway)."""
        from gamegen.server.app import GameGenServer

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = GameGenServer(registry, host="127.0.0.1", port=0, max_concurrent=max_concurrent,
                                    workers=workers, **server_options)
        self.port = self.call(self.server.start())
        self.target = f"127.0.0.1:{self.port}"
        self.http = f"http://127.0.0.1:{self.server.http_port}" if self.server.http_port else None

    @property
    def stats(self):
        return self.server.servicer.stats

    def call(self, coro, timeout: float = 30):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.call(self.server.stop(1.0))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="session")
def server(registry):
    s = ServerThread(registry)
    yield s
    s.stop()


@pytest.fixture(scope="session")
def client(server):
    from gamegen.client import Client

    with Client(server.target, timeout=60) as c:
        yield c


def gamegen_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "gamegen.server.cli", *args]


class ServeProcess:
    """``gamegen serve --port 0 --http-port 0`` in a subprocess; the bound ports are read from its
    banner (``target`` for gRPC; ``http``, the gateway's base URL, unless ``--no-http`` is passed)."""

    def __init__(self, *args: str):
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        http = () if "--no-http" in args or "--http-port" in args else ("--http-port", "0")
        self.proc = subprocess.Popen(gamegen_cmd("serve", "--port", "0", *http, *args), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)
        deadline = time.time() + 60
        line = ""
        self.http = None
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line and self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stderr.read()}")
            m = re.search(r"serving on [\d.]+:(\d+)", line)
            if m:
                self.target = f"127.0.0.1:{m.group(1)}"
                if "--no-http" in args:
                    return
            m = re.search(r"gateway on http://[\d.]+:(\d+)", line)
            if m:
                self.http = f"http://127.0.0.1:{m.group(1)}"
                return
        raise RuntimeError(f"server did not start: {line}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)


@pytest.fixture(scope="module")
def serve_process():
    p = ServeProcess()
    yield p
    p.stop()


# -- engine-client tests (C++ and C#): their CLIs print one event per line, `kind key=value ...` --

def fields(line: str) -> dict[str, str]:
    return dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)


def lines_of(stdout: str, kind: str) -> list[dict[str, str]]:
    return [fields(line) for line in stdout.splitlines() if line.split(" ", 1)[0] == kind]


def python_assets(client, model, seed, params, formats):
    """What the Python client gets for the same request: the engine clients must get the same bytes."""
    from gamegen.generators.events import Asset, Final

    events = list(client.generate(model, seed=seed, params=params, formats=formats))
    final = next(e for e in events if isinstance(e, Final))
    return {e.name: e.data for e in events if isinstance(e, Asset) and e.format != "preview"}, final
