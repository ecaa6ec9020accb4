"""A real generator slowed down, and a small server process serving it.

Tests that must act in the middle of a stream (cancel it, kill the server under it) use these so
that the stream is still running when they act. ``python -m tests.slow_server`` serves
``levels/slow-smb`` (the SMB rules generator, ``DELAY`` seconds per event) and ``dialog/slow-echo``
(tests/test_sessions.py's session-holding Echo, ``DELAY`` seconds per word) and prints
``serving on 127.0.0.1:PORT``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time

from gamegen.generators.base import Generator

DELAY = 0.05


class Slow(Generator):
    """Wraps a real generator: sleeps between events and records how far the stream got."""

    def __init__(self, inner: Generator, name: str, delay: float = DELAY):
        self.inner = inner
        self.info = dataclasses.replace(inner.info, name=name)
        self.delay = delay
        self.pulled = 0
        self.closed = threading.Event()

    def run(self, seed, params, formats, *, partials):
        try:
            for event in self.inner.run(seed, params, formats, partials=partials):
                self.pulled += 1
                time.sleep(self.delay)
                yield event
        finally:
            self.closed.set()


async def _serve() -> None:
    from gamegen.generators import kinds
    from gamegen.server.app import GameGenServer
    from gamegen.server.registry import Registry

    rules = next(g for g in kinds.builtin_generators() if g.info.ref == "levels/smb-rules")
    registry = Registry()
    registry.add(Slow(rules, "slow-smb"))
    from .test_sessions import Echo

    echo = Echo(delay=DELAY)
    echo.info.name = "slow-echo"
    registry.add(echo)
    server = GameGenServer(registry, host="127.0.0.1", port=0)
    port = await server.start()
    print(f"serving on 127.0.0.1:{port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(_serve())
