"""The grpc.aio servicer: validates requests, runs generators off the event loop, streams events.

A generator is a plain iterator; it runs in a worker thread (ONNX Runtime releases the GIL) and
hands each event to the event loop as it is produced. Each request gets a cancellation token
(:mod:`gamegen.generators.cancel`) that the worker sets as the current one while it pulls events,
so the generator's own loops, its ONNX Runtime runs, its PNG encoders and the helper pools it
submits to all see it. When the caller cancels, the deadline passes, the client stops reading or
the server shuts down, the handler sets the token and every part of the request's work stops
within a buffer, a loop step or an ORT node.

Limits, all per server:

* ``max_concurrent`` streams are admitted; ``workers`` of them generate at once and the rest wait
  for a worker. Past ``max_concurrent``, up to ``queue_size`` callers wait up to ``queue_timeout``
  seconds for a slot (first come, first served), then get RESOURCE_EXHAUSTED.
* What waits to be sent on one stream is bounded by ``send_buffer`` bytes: a generator that runs
  ahead of its reader is paused, not buffered without limit.
* A stream whose client has read nothing for ``stall_timeout`` seconds is cancelled (status
  CANCELLED, with a message saying so) and frees its slot.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import AsyncIterator, Iterator

import grpc

from gamegen.generators import cancel
from gamegen.generators.errors import GameGenError
from gamegen.generators.events import Asset, Event
from gamegen.v1 import gamegen_pb2 as pb
from gamegen.v1 import gamegen_pb2_grpc as pb_grpc

from . import convert, memory
from .registry import Registry
from .sessions import SessionHub, SessionLimits

log = logging.getLogger("gamegen.servicer")

_DONE = object()
SMALL_EVENT = 256                    # bytes charged to the send buffer for an event without a payload
DEFAULT_SEND_BUFFER = 16 << 20       # bytes per stream that may wait to be sent
DEFAULT_STALL_TIMEOUT = 30.0         # seconds a client may read nothing before its stream is cancelled
TRIM_DELAY = 0.25                    # seconds after the server goes idle before freed memory is handed back


@dataclass
class Stats:
    active: int = 0          # admitted streams (generating or waiting for a worker)
    queued: int = 0          # callers waiting for admission
    running: int = 0         # worker threads busy with a request (including one winding down)
    started: int = 0
    completed: int = 0
    cancelled: int = 0
    failed: int = 0
    stalled: int = 0         # cancelled because the client stopped reading
    rejected_busy: int = 0
    undecodable: int = 0


class Undecodable:
    """What the lenient deserializer hands the servicer for bytes that are not a valid message."""

    def __init__(self, message: str, size: int, error: str):
        self.message, self.size, self.error = message, size, error

    def describe(self) -> str:
        return (f"the request ({self.size} bytes) could not be decoded as {self.message}: {self.error}; "
                "is the client built from the gamegen.v1 .proto this server serves?")


def lenient(message_cls):
    """A request deserializer that returns :class:`Undecodable` instead of raising (grpc would
    answer UNKNOWN and log a traceback for every such request)."""
    name = message_cls.DESCRIPTOR.full_name

    def parse(data: bytes):
        try:
            return message_cls.FromString(data)
        except Exception as e:  # google.protobuf.message.DecodeError and friends
            return Undecodable(name, len(data), str(e) or type(e).__name__)

    return parse


def add_to_server(servicer: "GameGenServicer", server) -> None:
    """``add_GameGenServicer_to_server`` with lenient request deserializers."""
    handlers = {
        "ListModels": grpc.unary_unary_rpc_method_handler(
            servicer.ListModels, request_deserializer=lenient(pb.ListModelsRequest),
            response_serializer=pb.ListModelsResponse.SerializeToString),
        "Generate": grpc.unary_stream_rpc_method_handler(
            servicer.Generate, request_deserializer=lenient(pb.GenerateRequest),
            response_serializer=pb.GenerateEvent.SerializeToString),
        "Session": grpc.stream_stream_rpc_method_handler(
            servicer.Session, request_deserializer=lenient(pb.SessionRequest),
            response_serializer=pb.SessionEvent.SerializeToString),
    }
    missing = set(pb.DESCRIPTOR.services_by_name["GameGen"].methods_by_name) - set(handlers)
    if missing:  # a method added to the .proto must be added here too
        raise RuntimeError(f"add_to_server does not register {sorted(missing)}")
    service = pb.DESCRIPTOR.services_by_name["GameGen"].full_name
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, handlers),))
    server.add_registered_method_handlers(service, handlers)


class RateLimitedLog:
    """At most one log line per ``interval`` seconds; the lines left out are counted in the next."""

    def __init__(self, logger: logging.Logger, interval: float = 1.0):
        self.logger, self.interval = logger, interval
        self._lock = threading.Lock()
        self._last = float("-inf")
        self._skipped = 0

    def __call__(self, level: int, msg: str, *args) -> bool:
        with self._lock:
            now = time.monotonic()
            if now - self._last < self.interval:
                self._skipped += 1
                return False
            skipped, self._skipped, self._last = self._skipped, 0, now
        if skipped:
            msg += f" ({skipped} more like it not logged)"
        self.logger.log(level, msg, *args)
        return True


class _Stalled(Exception):
    pass


class _SendBudget:
    """Bytes produced by the worker and not yet written to the stream (bounded; the worker waits)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.pending = 0
        self._cond = threading.Condition()

    def reserve(self, size: int, token: cancel.Token) -> bool:
        """Wait until ``size`` more bytes fit (one item always fits in an empty buffer); False when cancelled."""
        with self._cond:
            while self.pending and self.pending + size > self.limit:
                if token.is_set():
                    return False
                self._cond.wait(0.05)
            if token.is_set():
                return False
            self.pending += size
            return True

    def release(self, size: int) -> None:
        with self._cond:
            self.pending -= size
            self._cond.notify_all()


def _size(event) -> int:
    return len(event.data) + SMALL_EVENT if isinstance(event, Asset) else SMALL_EVENT


class GameGenServicer(pb_grpc.GameGenServicer):
    def __init__(self, registry: Registry, max_concurrent: int = 8, workers: int | None = None, *,
                 queue_size: int = 0, queue_timeout: float = 10.0,
                 stall_timeout: float = DEFAULT_STALL_TIMEOUT, send_buffer: int = DEFAULT_SEND_BUFFER,
                 trim_memory: bool = True, session_limits: SessionLimits | None = None):
        """``max_concurrent`` streams are admitted; past that up to ``queue_size`` callers wait up to
        ``queue_timeout`` s for a slot, then get RESOURCE_EXHAUSTED (0 = refuse at once). ``workers``
        of the admitted streams generate at once and the rest wait their turn. Generators are partly
        Python, so running more of them than there are cores only adds contention (BENCHMARKS.md).
        ``stall_timeout`` (0 = never) cancels a stream whose client reads nothing for that long;
        ``send_buffer`` bounds the bytes per stream that wait to be sent."""
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        if queue_size < 0 or queue_timeout < 0 or stall_timeout < 0 or send_buffer < 1:
            raise ValueError("queue_size, queue_timeout and stall_timeout must be >= 0 and send_buffer >= 1")
        self.registry = registry
        self.max_concurrent = max_concurrent
        self.workers = max(1, min(max_concurrent, workers or os.cpu_count() or 1))
        self.queue_size = queue_size
        self.queue_timeout = queue_timeout
        self.stall_timeout = stall_timeout
        self.send_buffer = send_buffer
        self.pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="gamegen-gen")
        self.sessions = SessionHub(registry, session_limits, workers=self.workers)
        self.stats = Stats()
        self.idle = asyncio.Event()
        self.idle.set()
        self.shutting_down = False
        self.trim = memory.Trimmer() if trim_memory else None
        self._waiters: collections.deque[asyncio.Future] = collections.deque()
        self._tokens: set[cancel.Token] = set()
        self._lock = threading.Lock()
        self._log_refused = RateLimitedLog(log)
        self.stop_ms: collections.deque[float] = collections.deque(maxlen=256)  # cancel -> worker done
        self._log_cut = RateLimitedLog(log)

    # -- RPCs ------------------------------------------------------------------------------------

    async def ListModels(self, request: pb.ListModelsRequest, context) -> pb.ListModelsResponse:
        if isinstance(request, Undecodable):
            await self._refuse_undecodable(request, context)
        gens = [g for g in self.registry.all() if not request.kind or g.info.kind == request.kind]
        return pb.ListModelsResponse(models=[convert.model_info(g.info) for g in gens])

    async def Session(self, request_iterator, context) -> AsyncIterator[pb.SessionEvent]:
        async for event in self.sessions.serve(request_iterator, context):
            yield event

    async def Generate(self, request: pb.GenerateRequest, context) -> None:
        if isinstance(request, Undecodable):
            await self._refuse_undecodable(request, context)
        try:
            gen = self.registry.resolve(request.model)
            params = convert.params_from_request(request, gen)
            partials = request.partials if request.HasField("partials") else True
            # every check a request can fail, before admission and before any work (uploads are
            # sniffed here: MIDI parsing and image headers, off the event loop)
            req = await asyncio.to_thread(gen.prepare, request.seed, params, list(request.formats))
        except GameGenError as e:
            await context.abort(e.code, e.details)
        if request.validate_only:
            await context.write(convert.event_to_proto(gen.checked(req)))
            return
        events = gen.run(req.seed, req.params, req.formats, partials=partials)
        try:
            refused = await self._admit(context)
        except BaseException:
            events.close()
            raise
        if refused:
            self.stats.rejected_busy += 1
            events.close()
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, refused)

        self.stats.started += 1
        self.idle.clear()
        token = cancel.Token()
        self._tokens.add(token)
        what = f"{request.model} seed={request.seed}"
        t0 = time.monotonic()
        sent = 0
        outcome = "cancelled"
        try:
            async with asyncio.timeout(context.time_remaining()):
                async for event in self._drive(events, token):
                    await self._write(context, convert.event_to_proto(event))
                    sent += 1
            outcome = "completed"
        except TimeoutError:
            outcome = "cancelled"
            token.set("deadline passed")
            await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline passed; generation stopped")
        except _Stalled:
            outcome = "stalled"
            token.set("client stopped reading")
            message = (f"stream cancelled: the client read nothing for {self.stall_timeout:g} s "
                       f"(the server's --stall-timeout), after {sent} events; its slot was freed")
            self._log_cut(logging.WARNING, "%s: %s", what, message)
            # Not context.abort: the status would queue behind the unread messages and the handler
            # (and its slot) would wait for a reader that may never come. Return with the status
            # set; gRPC delivers it after what the client has not read yet, or drops it on disconnect.
            context.set_code(grpc.StatusCode.CANCELLED)
            context.set_details(message)
            return
        except GameGenError as e:   # ABORTED (no valid content in budget), INVALID_ARGUMENT found late ...
            outcome = "failed"
            await context.abort(e.code, e.details)
        except asyncio.CancelledError:
            outcome = "cancelled"
            if self.shutting_down:
                token.set("server shutting down")
                log.info("%s: stream cut by shutdown after %.1f s (%d events sent)", what, time.monotonic() - t0, sent)
            else:
                token.set("cancelled by the client")
                self._log_cut(logging.INFO, "%s: cancelled by the client after %.1f s (%d events sent)",
                              what, time.monotonic() - t0, sent)
            raise
        except Exception as e:
            if isinstance(e, grpc.aio.AbortError):
                raise
            outcome = "failed"
            log.exception("generation of %s failed", request.model)
            await context.abort(grpc.StatusCode.INTERNAL, f"generation failed: {type(e).__name__}: {e}")
        finally:
            token.set("stream ended")
            self._tokens.discard(token)
            setattr(self.stats, outcome, getattr(self.stats, outcome) + 1)
            self._release()

    # -- admission ---------------------------------------------------------------------------------

    async def _admit(self, context) -> str | None:
        """Take a slot, waiting in the bounded queue if needed. None when admitted, else why not."""
        limit = f"server is at its limit of {self.max_concurrent} concurrent generations"
        if self.stats.active < self.max_concurrent and not self._waiters:
            self.stats.active += 1
            return None
        if len(self._waiters) >= self.queue_size:
            if self.queue_size:
                return (f"{limit} and its wait queue of {self.queue_size} is full; retry shortly "
                        "(the limits are set by `gamegen serve --max-concurrent` and `--queue`)")
            return f"{limit}; retry shortly (the limit is set by `gamegen serve --max-concurrent`)"
        fut = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        self.stats.queued = len(self._waiters)
        wait = self.queue_timeout
        left = context.time_remaining()
        if left is not None:
            wait = min(wait, left)
        t0 = time.monotonic()
        admitted = False
        try:
            async with asyncio.timeout(wait):
                await fut
            admitted = True
            return None
        except TimeoutError:
            return (f"{limit}; no slot came free in the {time.monotonic() - t0:.1f} s this call waited in the "
                    "queue; retry shortly (the wait is set by `gamegen serve --queue-timeout`)")
        finally:
            try:
                self._waiters.remove(fut)
            except ValueError:
                pass
            self.stats.queued = len(self._waiters)
            if not admitted and fut.done() and not fut.cancelled():
                self._release()   # a slot was handed to us as we gave up: pass it on

    def _release(self) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            self.stats.queued = len(self._waiters)
            if not fut.done():
                fut.set_result(None)   # the slot goes to the first waiter: active is unchanged
                return
        self.stats.active -= 1
        if self.stats.active == 0:
            self.idle.set()
            if self.trim is not None:
                # Idle: hand the freed heap back once the last stream has let go of its buffers
                # (gRPC and this handler's frame hold the last messages for a moment longer).
                asyncio.get_running_loop().call_later(TRIM_DELAY, self._trim_if_idle)

    def _trim_if_idle(self) -> None:
        if self.stats.active == 0 and self.trim is not None:
            try:
                self.pool.submit(self.trim, True)
            except RuntimeError:  # pool shut down: the process is exiting anyway
                pass

    # -- streaming ----------------------------------------------------------------------------------

    async def _write(self, context, message: pb.GenerateEvent) -> None:
        if not self.stall_timeout:
            await context.write(message)
            return
        timer = asyncio.timeout(self.stall_timeout)
        try:
            async with timer:
                await context.write(message)
        except TimeoutError:
            if timer.expired():
                raise _Stalled() from None
            raise

    async def _drive(self, events: Iterator[Event], token: cancel.Token) -> AsyncIterator[Event]:
        """Run ``events`` in a worker thread under ``token``; yield each event on the loop as it arrives."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        budget = _SendBudget(self.send_buffer)

        def put(item) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # loop closed: nobody is listening any more
                token.set("server loop closed")

        def work() -> None:
            with self._lock:
                self.stats.running += 1
            try:
                if token.is_set():  # cancelled while waiting for a worker: never started
                    return
                with cancel.scope(token):
                    try:
                        for event in events:
                            if not budget.reserve(_size(event), token):
                                break
                            put(event)
                        else:
                            put(_DONE)
                    except cancel.Cancelled:
                        pass
                    except BaseException as e:  # delivered to the handler, which maps it to a status
                        if not token.is_set():
                            put(e)
                    finally:
                        events.close()  # the generator's cleanup runs here, under the token
            finally:
                with self._lock:
                    self.stats.running -= 1
                if token.is_set() and token.reason != "stream ended":
                    ms = (time.monotonic() - token.set_at) * 1e3
                    self.stop_ms.append(ms)
                    log.debug("work stopped %.0f ms after the request was given up (%s)", ms, token.reason)
                if self.trim is not None:
                    self.trim()  # rate-limited: a busy server still gives memory back now and then

        worker = self.pool.submit(work)
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
                budget.release(_size(item))
        finally:
            # The handler sets the token (with the reason) as it leaves; here only a worker that
            # has not started yet is called off.
            if worker.cancel():
                events.close()

    async def _refuse_undecodable(self, request: Undecodable, context) -> None:
        self.stats.undecodable += 1
        self._log_refused(logging.WARNING, "refused an undecodable %s from %s: %s", request.message,
                          context.peer(), request.error)
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, request.describe())

    # -- lifecycle -----------------------------------------------------------------------------------

    def cancel_all(self, reason: str) -> None:
        """Set every running request's token (their streams end with the status already chosen)."""
        for token in list(self._tokens):
            token.set(reason)

    async def drain(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for worker threads to finish; True when none is busy."""
        end = time.monotonic() + timeout
        while self.stats.running and time.monotonic() < end:
            await asyncio.sleep(0.01)
        return self.stats.running == 0

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.sessions.close()
