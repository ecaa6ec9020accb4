"""Builds and runs the grpc.aio server: GameGen service, health checking, reflection.

Message size limits are deliberate: requests are small (parameters; later, uploaded exemplars up
to a few MB), responses carry finished assets, so the server accepts requests up to
``MAX_REQUEST_BYTES`` and sends messages up to ``MAX_MESSAGE_BYTES``. Clients set the mirror
image (see ``gamegen.client``).
"""

from __future__ import annotations

import asyncio
import logging
import signal

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection

from gamegen.v1 import gamegen_pb2 as pb
from gamegen.v1 import gamegen_pb2_grpc as pb_grpc

from .registry import Registry
from .servicer import GameGenServicer
from .sessions import SessionLimits

log = logging.getLogger("gamegen.server")

MAX_REQUEST_BYTES = 16 * 1024 * 1024
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["GameGen"].full_name

SERVER_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_REQUEST_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.so_reuseport", 0),
]


class GameGenServer:
    """One running server. ``await start()``, then ``await stop(grace)`` or ``await serve_forever()``."""

    def __init__(self, registry: Registry, host: str = "127.0.0.1", port: int = 50051,
                 max_concurrent: int = 8, workers: int | None = None, session_limits: SessionLimits | None = None,
                 http_port: int | None = None, http_cors_origin: str | None = None):
        """``http_port`` (None: no gateway; 0: a free port) serves the same servicer over HTTP/WebSocket
        (:mod:`gamegen.server.gateway`) in this loop; ``self.http_port`` is the bound port."""
        self.registry = registry
        self.host = host
        self.requested_port = port
        self.servicer = GameGenServicer(registry, max_concurrent=max_concurrent, workers=workers,
                                        session_limits=session_limits)
        self.health = health_aio.HealthServicer()
        self.server: grpc.aio.Server | None = None
        self.port: int | None = None
        self.gateway = None
        if http_port is not None:
            from .gateway import Gateway

            self.gateway = Gateway(self.servicer, self.health, host=host, port=http_port, cors_origin=http_cors_origin)
        self.http_port: int | None = None

    async def start(self) -> int:
        self.server = grpc.aio.server(options=SERVER_OPTIONS)
        pb_grpc.add_GameGenServicer_to_server(self.servicer, self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            (SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
            self.server,
        )
        self.port = self.server.add_insecure_port(f"{self.host}:{self.requested_port}")
        if not self.port:
            raise OSError(f"could not bind {self.host}:{self.requested_port} (port in use?)")
        await self.server.start()
        if self.gateway is not None:
            try:
                self.http_port = await self.gateway.start()
            except OSError:
                await self.server.stop(0)
                raise
        # Models were loaded and warmed up before the server was built: report SERVING now.
        for name in ("", SERVICE_NAME):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        return self.port

    async def stop(self, grace: float = 10.0) -> None:
        """Stop taking new calls, let in-flight streams finish for up to ``grace`` seconds."""
        if self.server is None:
            return
        for name in ("", SERVICE_NAME):
            await self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        if self.gateway is not None:
            await asyncio.gather(self.server.stop(grace), self.gateway.stop(grace))
        else:
            await self.server.stop(grace)
        self.servicer.close()

    async def serve_until_signal(self, grace: float = 10.0) -> None:
        """Serve until SIGINT/SIGTERM, then drain in-flight streams within ``grace`` and return."""
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        await stopping.wait()
        log.info("shutting down: draining %d in-flight generation(s) for up to %.0fs",
                 self.servicer.stats.active, grace)
        await self.stop(grace)
        log.info("stopped")
