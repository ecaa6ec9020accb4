"""The bidirectional ``Session`` stream: conversations and scenes that live on the server.

One :class:`SessionHub` serves every ``Session`` call of a server. A call opens a session on a
model (``Generator.open_session``), then handles its inputs one at a time, in order: each input
runs in a worker thread (ONNX Runtime releases the GIL) and its events are forwarded as they come,
tagged with the input's id, ending with exactly one ``end`` (or one ``error``, after which the
session goes on). ``cancel`` stops the running input between two of its events (a dialog stops
decoding at the next token); closing the stream, ``close``, the client going away, the idle
timeout and server shutdown all stop it too and free what the session holds.

What a session keeps (a conversation's history and KV cache, an agent's memory) lives in the
object the generator returned, for the life of the call: a session is pinned to the replica that
holds it, and a lost replica ends its sessions with a status the client can reopen from.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, AsyncIterator, Iterator

import grpc

from gamegen.generators.errors import FailedPrecondition, GameGenError, InvalidArgument, ResourceExhausted
from gamegen.generators.events import Event, InputEnd
from gamegen.v1 import gamegen_pb2 as pb

from . import convert
from .registry import Registry

log = logging.getLogger("gamegen.sessions")

_END = object()


@dataclass
class SessionLimits:
    max_sessions: int = 64          # open at once on this server; more get RESOURCE_EXHAUSTED
    idle_timeout: float = 600.0     # seconds without a message before the session is closed
    max_npc_agents: int = 4096      # agents in one NPC scene; more get RESOURCE_EXHAUSTED


@dataclass
class _Running:
    input_id: int
    stop: threading.Event


class SessionHub:
    def __init__(self, registry: Registry, limits: SessionLimits | None = None, workers: int = 2):
        self.registry = registry
        self.limits = limits or SessionLimits()
        self.pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="gamegen-session")
        self.open: dict[str, str] = {}          # session id -> model ref
        self.opened_total = 0

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    async def serve(self, requests: AsyncIterator[pb.SessionRequest], context) -> AsyncIterator[pb.SessionEvent]:
        it = requests.__aiter__()
        first = await self._next(it, context)
        if first is None:
            return
        if not isinstance(first, pb.SessionRequest):   # the lenient deserializer's Undecodable
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, first.describe())
        which = first.WhichOneof("message")
        if which != "open":
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                                f"the first message of a Session must be `open` (model, seed, parameters); got "
                                f"`{which or 'an empty message'}`")
        try:
            gen = self.registry.resolve(first.open.model)
            if not gen.holds_sessions:
                holders = [g.info.ref for g in self.registry.all() if g.holds_sessions]
                raise FailedPrecondition(f"{gen.info.ref} does not hold sessions; models that do: "
                                         f"{', '.join(holders) or 'none are loaded'}")
            if len(self.open) >= self.limits.max_sessions:
                raise ResourceExhausted(f"server is at its limit of {self.limits.max_sessions} open sessions; close one or "
                            "retry shortly (the limit is set by `gamegen serve --max-sessions`)")
            params = convert.session_message_params(first.open, "params", gen, "open parameters")
            session = await asyncio.to_thread(gen.open_session, first.open.seed, params,
                                              max_agents=self.limits.max_npc_agents)
        except GameGenError as e:
            await context.abort(e.code, e.details)
        sid = uuid.uuid4().hex
        self.open[sid] = gen.info.ref
        self.opened_total += 1
        try:
            yield pb.SessionEvent(opened=pb.SessionOpened(
                session_id=sid, model=gen.info.ref, version=gen.info.version,
                execution_provider=gen.info.execution_provider,
                parameters=[pb.Parameter(name=k, value=str(v)) for k, v in _flat(params)]))
            async for event in self._loop(it, context, gen, session):
                yield event
        finally:
            self.open.pop(sid, None)
            # shielded: a second cancel (the transport noticing the client gone) must not drop it
            await asyncio.shield(asyncio.to_thread(session.close))

    async def _next(self, it, context):
        try:
            return await asyncio.wait_for(it.__anext__(), self.limits.idle_timeout)
        except StopAsyncIteration:
            return None
        except TimeoutError:
            await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED,
                                f"no message for {self.limits.idle_timeout:.0f} s: the session was closed "
                                "(the server's --session-idle-timeout); reopen it to go on")

    async def _loop(self, it, context, gen, session) -> AsyncIterator[pb.SessionEvent]:
        loop = asyncio.get_running_loop()
        out: asyncio.Queue = asyncio.Queue()
        running: list[_Running] = []       # at most one
        closing = asyncio.Event()

        def emit(item) -> None:
            try:
                loop.call_soon_threadsafe(out.put_nowait, item)
            except RuntimeError:
                pass

        def work(run: _Running, value: dict) -> None:
            # The input's last event (its `end`, or its `error`) travels with the end marker, so the
            # loop marks the input finished before the client can see that it is: a client that
            # sends the next input as soon as it reads `end` never finds the previous one running.
            last = None
            events: Iterator[Event] | None = None
            try:
                if run.stop.is_set():
                    return
                events = session.step(value)
                for e in events:
                    if run.stop.is_set():
                        break
                    if isinstance(e, InputEnd):
                        last = convert.session_event_to_proto(run.input_id, e)
                    else:
                        emit(convert.session_event_to_proto(run.input_id, e))
            except GameGenError as e:
                last = pb.SessionEvent(input_id=run.input_id, error=pb.SessionError(code=e.status, message=e.details))
            except Exception as e:  # a bug: report it on this input, keep the session
                log.exception("session input %d of %s failed", run.input_id, gen.info.ref)
                last = pb.SessionEvent(input_id=run.input_id, error=pb.SessionError(
                    code="INTERNAL", message=f"{type(e).__name__}: {e}"))
            finally:
                if events is not None:
                    events.close()   # the kind's cleanup runs here, in this thread
                if last is None:
                    last = convert.session_event_to_proto(run.input_id, InputEnd("cancelled"))
                emit((_END, run, last))

        async def next_message():
            """The next request; the idle timeout counts only while no input is running."""
            pending = asyncio.ensure_future(it.__anext__())
            try:
                while True:
                    done, _ = await asyncio.wait({pending}, timeout=self.limits.idle_timeout)
                    if done:
                        try:
                            return pending.result()
                        except StopAsyncIteration:
                            return None
                    if not running:
                        await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED,
                                            f"no message for {self.limits.idle_timeout:.0f} s: the session was "
                                            "closed (the server's --session-idle-timeout); reopen it to go on")
            finally:
                # the reader cancelled (the call ended) while waiting: the read it started must not
                # outlive it, nor end later with an exception nobody retrieves
                if not pending.done():
                    pending.cancel()
                pending.add_done_callback(lambda f: f.cancelled() or f.exception())

        async def read() -> None:
            while True:
                msg = await next_message()
                if msg is not None and not isinstance(msg, pb.SessionRequest):   # undecodable: say so, go on
                    emit(pb.SessionEvent(error=pb.SessionError(code="INVALID_ARGUMENT", message=msg.describe())))
                    continue
                kind = msg.WhichOneof("message") if msg is not None else "close"
                if kind == "close":
                    for r in running:
                        r.stop.set()
                    closing.set()
                    emit(None)
                    return
                if kind == "cancel":
                    for r in running:
                        if r.input_id == msg.cancel.input_id:
                            r.stop.set()
                    continue
                if kind == "open":
                    emit(pb.SessionEvent(error=pb.SessionError(
                        code="FAILED_PRECONDITION", message="this session is already open; send inputs, or "
                                                            "open another Session stream")))
                    continue
                iid = msg.input.input_id
                if running:
                    emit(pb.SessionEvent(input_id=iid, error=pb.SessionError(
                        code="FAILED_PRECONDITION",
                        message=f"input {iid} arrived while input {running[0].input_id} is running; wait for its "
                                "`end` or cancel it")))
                    continue
                try:
                    value = convert.session_message_params(msg.input, "input", gen, "inputs")
                except InvalidArgument as e:
                    emit(pb.SessionEvent(input_id=iid, error=pb.SessionError(code=e.status, message=e.details)))
                    continue
                run = _Running(iid, threading.Event())
                running.append(run)
                loop.run_in_executor(self.pool, work, run, value)

        reader = asyncio.create_task(read())
        try:
            while True:
                if reader.done():
                    reader.result()      # re-raises an abort (idle timeout) from the reader
                    item = await out.get()
                else:
                    getter = asyncio.ensure_future(out.get())
                    done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                    if getter not in done:
                        getter.cancel()
                        continue
                    item = getter.result()
                if item is None:         # close: wait for the running input to wind down
                    if not running:
                        break
                    continue
                if isinstance(item, tuple) and item[0] is _END:
                    if item[1] in running:
                        running.remove(item[1])
                    yield item[2]
                    if closing.is_set() and not running:
                        break
                    continue
                yield item
            yield pb.SessionEvent(closed=pb.SessionClosed(reason="client closed"))
        finally:
            for r in running:
                r.stop.set()
            reader.cancel()


def _flat(params: dict, prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in params.items():
        if isinstance(v, dict):
            out += _flat(v, f"{prefix}{k}.")
        elif isinstance(v, list) and any(isinstance(x, dict) for x in v):
            out.append((f"{prefix}{k}", f"{len(v)} entries"))   # e.g. an NPC scene's agents
        else:
            out.append((f"{prefix}{k}", v))
    return out
