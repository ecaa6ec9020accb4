"""Builds and runs the grpc.aio server: GameGen service, health checking, reflection.

Message size limits are deliberate: requests are small (parameters; later, uploaded exemplars up
to a few MB), responses carry finished assets, so the server accepts requests up to
``MAX_REQUEST_BYTES`` and sends messages up to ``MAX_MESSAGE_BYTES``. Clients set the mirror
image (see ``gamegen.client``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection

from gamegen.v1 import gamegen_pb2 as pb

from .registry import Registry
from .servicer import GameGenServicer, add_to_server

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
    """One running server. ``await start()``, then ``await stop(grace)`` or ``await serve_until_signal()``.

    ``servicer_options`` go to :class:`~gamegen.server.servicer.GameGenServicer` (admission queue,
    stall timeout, send buffer).
    """

    def __init__(self, registry: Registry, host: str = "127.0.0.1", port: int = 50051,
                 max_concurrent: int = 8, workers: int | None = None, http_port: int | None = None,
                 http_cors_origin: str | None = None, **servicer_options):
        """``http_port`` (None: no gateway; 0: a free port) serves the same servicer over HTTP/WebSocket
        (:mod:`gamegen.server.gateway`) in this loop; ``self.http_port`` is the bound port."""
        self.registry = registry
        self.host = host
        self.requested_port = port
        self.servicer = GameGenServicer(registry, max_concurrent=max_concurrent, workers=workers,
                                        **servicer_options)
        self.health = health_aio.HealthServicer()
        self.server: grpc.aio.Server | None = None
        self.port: int | None = None
        self.drained = True
        self.gateway = None
        if http_port is not None:
            from .gateway import Gateway

            self.gateway = Gateway(self.servicer, self.health, host=host, port=http_port, cors_origin=http_cors_origin)
        self.http_port: int | None = None

    async def start(self) -> int:
        self.server = grpc.aio.server(options=SERVER_OPTIONS)
        add_to_server(self.servicer, self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            (SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
            self.server,
        )
        try:
            self.port = self.server.add_insecure_port(f"{self.host}:{self.requested_port}")
        except RuntimeError:  # grpc raises RuntimeError("Failed to bind ...") when the port is taken
            self.port = 0
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

    async def stop(self, grace: float = 10.0) -> bool:
        """Stop taking new calls, let in-flight streams finish for up to ``grace`` seconds, then cut
        the rest (each gets CANCELLED and its work stops). Returns True when no generation thread is
        still busy; the worker threads get at most one more second."""
        if self.server is None:
            return True
        self.servicer.shutting_down = True
        for name in ("", SERVICE_NAME):
            await self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        if self.gateway is not None:
            await asyncio.gather(self.server.stop(grace), self.gateway.stop(grace))
        else:
            await self.server.stop(grace)
        self.servicer.cancel_all("server shutting down")
        self.drained = await self.servicer.drain(1.0)
        if not self.drained:
            log.warning("%d generation thread(s) still busy 1 s after the grace period", self.servicer.stats.running)
        self.servicer.close()
        return self.drained

    async def serve_until_signal(self, grace: float = 10.0) -> None:
        """Serve until SIGINT/SIGTERM, then drain in-flight streams within ``grace`` and return.

        A second SIGINT/SIGTERM during the drain exits the process at once."""
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        await stopping.wait()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, _exit_now, sig)
        t = time.monotonic()
        log.info("shutting down: draining %d in-flight generation(s) for up to %gs (signal again to exit now)",
                 self.servicer.stats.active, grace)
        await self.stop(grace)
        log.info("stopped in %.1f s", time.monotonic() - t)


def _exit_now(sig: int) -> None:
    log.warning("second %s: exiting now without draining", signal.Signals(sig).name)
    logging.shutdown()
    os._exit(128 + sig)
