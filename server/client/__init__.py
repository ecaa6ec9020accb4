"""Python clients for a gamegen server: :class:`AsyncClient` (grpc.aio) and :class:`Client` (sync).

Both yield the streamed events as plain objects from :mod:`gamegen.generators.events`
(``Progress``, ``LevelChunk``, ``MusicBar``, ``Asset``, ``Final``) — the same ones an in-process generator
yields — and raise the error hierarchy's classes (:mod:`gamegen.generators.errors`: every one a
:class:`GameGenError` with ``code``, the gRPC status code, and ``details``, the server's message;
``InvalidArgument``, ``NotFound``, ``ResourceExhausted`` ... by status), the same classes the
in-process generators raise. Bad input found before sending (an unknown parameter name, a value
that does not fit the wire type) raises ``InvalidArgument`` too::

    from gamegen.client import Client
    with Client("localhost:50051") as c:
        for event in c.generate("levels/smb", seed=7, params={"width": 300}, formats=["tmj", "png"]):
            print(event)
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Iterator, Sequence

import grpc

from gamegen.generators.errors import (Aborted, Cancelled, DeadlineExceeded, FailedPrecondition, GameGenError,
                                      Internal, InvalidArgument, NotFound, ResourceExhausted, Unavailable,
                                      from_status)
from gamegen.generators.events import Asset, Event, Final, LevelChunk, MusicBar, Note, Progress
from gamegen.server import convert
from gamegen.v1 import gamegen_pb2 as pb
from gamegen.v1 import gamegen_pb2_grpc as pb_grpc

__all__ = ["AsyncClient", "Client", "Asset", "Final", "LevelChunk", "MusicBar", "Note", "Progress",
           # the one error hierarchy (gamegen.generators.errors): in-process and remote alike
           "GameGenError", "InvalidArgument", "NotFound", "ResourceExhausted", "Aborted", "FailedPrecondition",
           "Cancelled", "DeadlineExceeded", "Unavailable", "Internal"]

# Mirror of the server's limits: we send small requests and receive assets.
CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.max_send_message_length", 16 * 1024 * 1024),
]


def _error(e: grpc.RpcError) -> GameGenError:
    """The error hierarchy's class for a failed call (``InvalidArgument``, ``NotFound`` ...)."""
    return from_status(e.code().name, e.details() or "")


def _kind_of(model: str) -> str:
    return model.split("/", 1)[0]


class Client:
    """Blocking client."""

    def __init__(self, target: str = "localhost:50051", timeout: float | None = None):
        self.channel = grpc.insecure_channel(target, options=CHANNEL_OPTIONS)
        self.stub = pb_grpc.GameGenStub(self.channel)
        self.timeout = timeout

    def list_models(self, kind: str = "") -> list[pb.ModelInfo]:
        try:
            return list(self.stub.ListModels(pb.ListModelsRequest(kind=kind), timeout=self.timeout).models)
        except grpc.RpcError as e:
            raise _error(e) from None

    def generate(self, model: str, seed: int = 0, params: dict[str, Any] | None = None,
                 formats: Sequence[str] = (), partials: bool = True,
                 timeout: float | None = None) -> Iterator[Event]:
        req = convert.request_for(model, seed, params or {}, list(formats), _kind_of(model), partials)
        call = self.stub.Generate(req, timeout=timeout if timeout is not None else self.timeout)
        try:
            for m in call:
                yield convert.event_from_proto(m)
        except grpc.RpcError as e:
            raise _error(e) from None
        finally:
            call.cancel()  # no-op when finished; stops server work when the caller stops early

    def validate(self, model: str, seed: int = 0, params: dict[str, Any] | None = None,
                 formats: Sequence[str] = (), timeout: float | None = None) -> Final:
        """Check a request exactly as the server would, without generating: the Final it would
        report (canonical parameters), or the error it would raise."""
        req = convert.request_for(model, seed, params or {}, list(formats), _kind_of(model), validate_only=True)
        try:
            events = [convert.event_from_proto(m) for m in
                      self.stub.Generate(req, timeout=timeout if timeout is not None else self.timeout)]
        except grpc.RpcError as e:
            raise _error(e) from None
        return events[-1]

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class AsyncClient:
    """grpc.aio client; use inside a running event loop."""

    def __init__(self, target: str = "localhost:50051", timeout: float | None = None):
        self.channel = grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS)
        self.stub = pb_grpc.GameGenStub(self.channel)
        self.timeout = timeout

    async def list_models(self, kind: str = "") -> list[pb.ModelInfo]:
        try:
            resp = await self.stub.ListModels(pb.ListModelsRequest(kind=kind), timeout=self.timeout)
        except grpc.RpcError as e:
            raise _error(e) from None
        return list(resp.models)

    async def generate(self, model: str, seed: int = 0, params: dict[str, Any] | None = None,
                       formats: Sequence[str] = (), partials: bool = True,
                       timeout: float | None = None) -> AsyncIterator[Event]:
        req = convert.request_for(model, seed, params or {}, list(formats), _kind_of(model), partials)
        call = self.stub.Generate(req, timeout=timeout if timeout is not None else self.timeout)
        try:
            async for m in call:
                yield convert.event_from_proto(m)
        except grpc.RpcError as e:
            raise _error(e) from None
        finally:
            call.cancel()

    async def close(self) -> None:
        await self.channel.close()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()
