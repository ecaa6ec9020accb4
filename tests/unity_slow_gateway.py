"""``python -m tests.unity_slow_gateway``: a server process with the HTTP/WebSocket gateway serving
``levels/slow-smb`` (the SMB rules generator, slowed down), so that a test can kill the process in the
middle of a stream. Prints the same two banner lines as ``gamegen serve``."""

from __future__ import annotations

import asyncio

from .slow_server import Slow


async def _serve() -> None:
    from gamegen.generators import kinds
    from gamegen.server.app import GameGenServer
    from gamegen.server.registry import Registry

    rules = next(g for g in kinds.builtin_generators() if g.info.ref == "levels/smb-rules")
    registry = Registry()
    registry.add(Slow(rules, "slow-smb", delay=0.1))
    server = GameGenServer(registry, host="127.0.0.1", port=0, http_port=0)
    port = await server.start()
    print(f"gamegen serving on 127.0.0.1:{port}: levels/slow-smb", flush=True)
    print(f"gamegen HTTP/WebSocket gateway on http://127.0.0.1:{server.http_port}/v1/", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(_serve())
