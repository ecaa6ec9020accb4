"""The grpc.aio servicer: validates requests, runs generators off the event loop, streams events.

A generator is a plain iterator; it runs in a worker thread (ONNX Runtime releases the GIL) and
hands each event to the event loop as it is produced. When the caller cancels or the deadline
passes, the handler stops and tells the worker, which stops pulling and closes the generator
after the event it is on — generation work stops promptly rather than running to the end.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import AsyncIterator, Iterator

import grpc

from gamegen.generators.errors import GameGenError
from gamegen.generators.events import Event
from gamegen.v1 import gamegen_pb2 as pb
from gamegen.v1 import gamegen_pb2_grpc as pb_grpc

from . import convert
from .registry import Registry
from .sessions import SessionHub, SessionLimits

log = logging.getLogger("gamegen.servicer")

_DONE = object()


@dataclass
class Stats:
    active: int = 0
    started: int = 0
    completed: int = 0
    cancelled: int = 0
    failed: int = 0
    rejected_busy: int = 0


class GameGenServicer(pb_grpc.GameGenServicer):
    def __init__(self, registry: Registry, max_concurrent: int = 8, workers: int | None = None,
                 session_limits: SessionLimits | None = None):
        """``max_concurrent`` streams are admitted (more get RESOURCE_EXHAUSTED); ``workers`` of
        them generate at once and the rest wait their turn. Generators are partly Python, so
        running more of them than there are cores only adds contention (BENCHMARKS.md)."""
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self.registry = registry
        self.max_concurrent = max_concurrent
        self.workers = max(1, min(max_concurrent, workers or os.cpu_count() or 1))
        self.pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="gamegen-gen")
        self.sessions = SessionHub(registry, session_limits, workers=self.workers)
        self.stats = Stats()
        self.idle = asyncio.Event()
        self.idle.set()

    async def Session(self, request_iterator, context) -> AsyncIterator[pb.SessionEvent]:
        async for event in self.sessions.serve(request_iterator, context):
            yield event

    async def ListModels(self, request: pb.ListModelsRequest, context) -> pb.ListModelsResponse:
        gens = [g for g in self.registry.all() if not request.kind or g.info.kind == request.kind]
        return pb.ListModelsResponse(models=[convert.model_info(g.info) for g in gens])

    async def Generate(self, request: pb.GenerateRequest, context) -> AsyncIterator[pb.GenerateEvent]:
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
            yield convert.event_to_proto(gen.checked(req))
            return
        events = gen.run(req.seed, req.params, req.formats, partials=partials)
        if self.stats.active >= self.max_concurrent:
            self.stats.rejected_busy += 1
            events.close()
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"server is at its limit of {self.max_concurrent} concurrent generations; retry shortly "
                "(the limit is set by `gamegen serve --max-concurrent`)",
            )

        self.stats.active += 1
        self.stats.started += 1
        self.idle.clear()
        outcome = "cancelled"
        try:
            remaining = context.time_remaining()
            async with asyncio.timeout(remaining):
                async for event in self._drive(events):
                    yield convert.event_to_proto(event)
            outcome = "completed"
        except TimeoutError:
            outcome = "cancelled"
            await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline passed; generation stopped")
        except GameGenError as e:   # ABORTED (no valid content in budget), INVALID_ARGUMENT found late ...
            outcome = "failed"
            await context.abort(e.code, e.details)
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except Exception as e:
            if isinstance(e, grpc.aio.AbortError):
                raise
            outcome = "failed"
            log.exception("generation of %s failed", request.model)
            await context.abort(grpc.StatusCode.INTERNAL, f"generation failed: {type(e).__name__}: {e}")
        finally:
            self.stats.active -= 1
            setattr(self.stats, outcome, getattr(self.stats, outcome) + 1)
            if self.stats.active == 0:
                self.idle.set()

    async def _drive(self, events: Iterator[Event]) -> AsyncIterator[Event]:
        """Run ``events`` in a worker thread; yield each event on the loop as it arrives."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        stop = threading.Event()

        def put(item) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # loop closed: nobody is listening any more
                stop.set()

        def work() -> None:
            if stop.is_set():  # cancelled while waiting for a worker: never started
                events.close()
                return
            try:
                for event in events:
                    put(event)
                    if stop.is_set():
                        break
                else:
                    put(_DONE)
            except BaseException as e:  # delivered to the handler, which maps it to a status
                put(e)
            finally:
                events.close()  # runs the generator's cleanup in its own thread

        worker = loop.run_in_executor(self.pool, work)
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            if worker.done():
                worker.result()

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.sessions.close()
