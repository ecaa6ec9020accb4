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
import numpy as np

from gamegen.generators.errors import (Aborted, Cancelled, DeadlineExceeded, FailedPrecondition, GameGenError,
                                      Internal, InvalidArgument, NotFound, ResourceExhausted, Unavailable,
                                      from_status)
from gamegen.generators.events import (Asset, DialogReply, Event, Final, InputEnd, LevelChunk, MusicBar, Note,
                                      Progress, TextDelta)
from gamegen.server import convert
from gamegen.v1 import gamegen_pb2 as pb
from gamegen.v1 import gamegen_pb2_grpc as pb_grpc

__all__ = ["AsyncClient", "Client", "Session", "Asset", "Final", "LevelChunk", "MusicBar", "Note", "Progress",
           "TextDelta", "DialogReply", "InputEnd",
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

    def open_session(self, model: str, seed: int = 0, params: dict[str, Any] | None = None,
                     timeout: float | None = None) -> "Session":
        """Open a Session (dialog, NPC behaviour): ``params`` is the kind's open message as a dict."""
        return Session(self.stub, model, seed, params or {}, timeout if timeout is not None else self.timeout)

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


class Session:
    """One open Session stream (blocking). ``send`` one input and iterate its events::

        with client.open_session("dialog/smollm2", seed=3, params={"persona": {"name": "Brom"}}) as s:
            for ev in s.send({"player_line": "Who goes there?"}):
                if isinstance(ev, TextDelta): print(ev.text, end="", flush=True)

    An input's events end with :class:`InputEnd`; a bad input raises the error hierarchy's class
    (``InvalidArgument`` ...) and the session stays usable. ``cancel()`` (from another thread, or
    by leaving the loop) stops the running input; ``close()`` ends the session.
    """

    def __init__(self, stub, model: str, seed: int, params: dict[str, Any], timeout: float | None):
        import queue

        from google.protobuf import json_format

        self._queue: "queue.Queue[pb.SessionRequest | None]" = queue.Queue()
        self._kind = _kind_of(model)
        self._next_id = 0
        self._running: int | None = None
        open_ = pb.SessionOpen(model=model, seed=seed)
        if params:
            try:
                json_format.ParseDict(params, getattr(open_, self._kind))
            except AttributeError:
                raise InvalidArgument(f"kind {self._kind!r} holds no sessions (model {model!r})", field="model") from None
            except json_format.ParseError as e:
                raise InvalidArgument(f"open parameters: {e}", field="params") from None
        self._queue.put(pb.SessionRequest(open=open_))
        self._call = stub.Session(iter(self._queue.get, None), timeout=timeout)
        first = self._read()
        if first.WhichOneof("event") != "opened":
            raise Internal(f"the server answered `open` with {first.WhichOneof('event')!r}")
        self.opened = first.opened
        self.session_id = first.opened.session_id

    def _read(self) -> pb.SessionEvent:
        try:
            return next(self._call)
        except StopIteration:
            raise Unavailable("the session stream ended") from None
        except grpc.RpcError as e:
            raise _error(e) from None

    def send(self, value: dict[str, Any]) -> Iterator[Event]:
        """Send one input (the kind's input message as a dict) and yield its events."""
        from google.protobuf import json_format

        self._next_id += 1
        iid = self._next_id
        msg = pb.SessionInput(input_id=iid)
        try:
            if not (self._kind == "npc" and _fill(msg.npc, value)):   # an NPC tick of thousands of agents: direct
                msg.ClearField(self._kind)
                json_format.ParseDict(value, getattr(msg, self._kind))
        except json_format.ParseError as e:
            raise InvalidArgument(f"input: {e}", field="input") from None
        self._queue.put(pb.SessionRequest(input=msg))
        self._running = iid
        try:
            while True:
                m = self._read()
                which = m.WhichOneof("event")
                if which == "error" and m.input_id in (iid, 0):
                    self._running = None
                    raise from_status(m.error.code, m.error.message)
                event_id, event = convert.session_event_from_proto(m)
                if event_id != iid:
                    continue
                if isinstance(event, InputEnd):
                    self._running = None
                    yield event
                    return
                yield event
        finally:
            if self._running == iid:   # left early: stop the input on the server
                self._running = None
                self.cancel(iid)

    def cancel(self, input_id: int | None = None) -> None:
        iid = input_id if input_id is not None else self._running
        if iid is not None:
            self._queue.put(pb.SessionRequest(cancel=pb.SessionCancel(input_id=iid)))

    def close(self) -> None:
        self._queue.put(pb.SessionRequest(close=pb.SessionClose()))
        self._queue.put(None)
        try:
            for _ in self._call:
                pass
        except grpc.RpcError:
            pass

    def __enter__(self) -> "Session":
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


def _fill(msg, value: dict[str, Any]) -> bool:
    """Set ``msg`` from a dict whose keys are field names and values already of the fields' types
    (what an NPC tick is; numpy arrays for a packed block), several times faster than ``json_format.ParseDict``. False when a value
    needs the JSON mapping (a number as a string, "NaN", an unknown key): the caller parses it then."""
    def put(m, d) -> None:
        for k, v in d.items():
            if isinstance(v, dict):
                put(getattr(m, k), v)
            elif isinstance(v, np.ndarray):       # a packed block's field: (n,), (n, 2), (n, 8) ...
                getattr(m, k).extend(v.ravel().tolist())
            elif isinstance(v, list):
                f = getattr(m, k)
                if v and isinstance(v[0], dict):
                    for x in v:
                        put(f.add(), x)
                else:
                    f.extend(v)
            else:
                setattr(m, k, v)

    try:
        put(msg, value)
        return True
    except (TypeError, ValueError, AttributeError):
        return False
