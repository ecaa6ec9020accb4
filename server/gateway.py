"""The HTTP/WebSocket gateway: the same servicer, reached with JSON, NDJSON and a WebSocket.

For engines and tools that cannot speak gRPC (Unity's UnityWebRequest and WebGL builds, Unreal's
FHttpModule, consoles, curl, browsers). It runs in the gRPC server's asyncio loop and calls the
*same* :class:`~gamegen.server.servicer.GameGenServicer` object: every request goes through the
servicer's own methods (``ListModels``, ``Generate``, ``Session``) with :class:`HttpContext`
standing in for ``grpc.aio.ServicerContext``. Validation, limits (admission, queue, stall timeout,
send buffer, sessions), cancellation and generation are the servicer's; this module only changes
the transport:

=====================  ===================================================================
``GET /v1/health``      ``{"status": "SERVING"}`` (503 and ``NOT_SERVING`` while shutting down),
                        from the gRPC health service's own ``Check``
``GET /v1/models``      a ``ListModelsResponse`` as JSON (``?kind=levels`` filters)
``POST /v1/generate``   a ``GenerateRequest`` as JSON -> ``application/x-ndjson``: one
                        ``GenerateEvent`` per line, flushed per event, the last one ``final``
``GET /v1/session``     a WebSocket: each text frame one ``SessionRequest`` / ``SessionEvent``
``GET /v1/assets/<h>``  an asset's bytes by sha256, for ``POST /v1/generate?assets=ref``
=====================  ===================================================================

JSON is protobuf's JSON mapping (:mod:`google.protobuf.json_format`): lowerCamelCase names out,
both spellings in, 64-bit integers as strings, bytes as base64. ``X-Gamegen-Timeout: <seconds>``
is a call's deadline. A status found before the first event is the HTTP status mapped from the
gRPC code (:data:`HTTP_STATUS`) with ``{"error": {"code": ..., "message": ...}}``; after the stream
started, that object is the last line (or the last WebSocket frame, then the socket closes: 1000,
or 1011 for INTERNAL). Closing the response or the socket cancels the work as a gRPC cancel does:
aiohttp cancels the handler's task (``handler_cancellation``) and the servicer sees the same
``CancelledError`` grpc.aio would raise in it.

Why aiohttp (see pyproject): one well-kept library for the HTTP server and WebSockets that is
made to run inside an existing asyncio loop (``AppRunner``/``TCPSite``, no signal handlers of its
own, so it lives beside grpc.aio), and that cancels a handler when its client disconnects.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import math
import time
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable

import grpc
from aiohttp import WSMsgType, web
from google.protobuf import json_format
from grpc_health.v1 import health_pb2

from gamegen.v1 import gamegen_pb2 as pb

log = logging.getLogger("gamegen.gateway")

DEFAULT_HTTP_PORT = 50052
TIMEOUT_HEADER = "X-Gamegen-Timeout"
NDJSON = "application/x-ndjson"
# An upload travels base64 in JSON: 4/3 of the gRPC request limit, plus room for the rest.
MAX_BODY_BYTES = 16 * 1024 * 1024 * 4 // 3 + 64 * 1024
MAX_FRAME_BYTES = MAX_BODY_BYTES
LAST_WRITE_TIMEOUT = 2.0          # seconds to hand a client the status line of a stream that failed
ASSET_TTL = 120.0                 # seconds an asset stays fetchable by hash (?assets=ref)
ASSET_CACHE_BYTES = 512 << 20     # at most this much asset data is kept for fetching

# gRPC status -> HTTP status (the lead's table; the rest follow grpc-gateway's mapping).
HTTP_STATUS = {
    "OK": 200, "CANCELLED": 499, "UNKNOWN": 500, "INVALID_ARGUMENT": 400, "DEADLINE_EXCEEDED": 504,
    "NOT_FOUND": 404, "ALREADY_EXISTS": 409, "PERMISSION_DENIED": 403, "RESOURCE_EXHAUSTED": 429,
    "FAILED_PRECONDITION": 412, "ABORTED": 409, "OUT_OF_RANGE": 400, "UNIMPLEMENTED": 501,
    "INTERNAL": 500, "UNAVAILABLE": 503, "DATA_LOSS": 500, "UNAUTHENTICATED": 401,
}


# -- the servicer context --------------------------------------------------------------------------

class GatewayAbort(grpc.aio.AbortError):
    """What :meth:`HttpContext.abort` raises: a grpc.aio ``AbortError`` (so the servicer's
    ``except ... AbortError: raise`` lets it through, as with gRPC) carrying the status."""

    def __init__(self, code: grpc.StatusCode, details: str):
        super().__init__(f"{code.name}: {details}")
        self.code, self.details = code, details


@dataclass(frozen=True)
class _Metadatum:
    key: str
    value: str

    def __iter__(self):           # unpacks as (key, value), like grpc.aio's metadata items
        return iter((self.key, self.value))


class HttpContext:
    """The parts of ``grpc.aio.ServicerContext`` a servicer uses, over one HTTP request.

    ``write`` sends a message on the response (the ``sink`` the gateway gives), so a servicer that
    writes through its context and one that yields both work. ``abort`` raises
    :class:`GatewayAbort`; ``set_code``/``set_details`` record a status the gateway reports when
    the handler returns. ``time_remaining`` counts down from ``X-Gamegen-Timeout``.
    """

    def __init__(self, request: web.Request, deadline: float | None, sink: Callable[[Any], Any] | None = None):
        self._request = request
        self._deadline = deadline
        self._sink = sink
        self._code: grpc.StatusCode | None = None
        self._details = ""
        self._trailing: tuple = ()
        self._done = False
        self._cancelled = False
        self._callbacks: list[Callable[["HttpContext"], None]] = []
        self._reader: AsyncIterator | None = None
        self.messages_written = 0

    # status
    async def abort(self, code: grpc.StatusCode, details: str = "", trailing_metadata=()) -> None:
        if code == grpc.StatusCode.OK:
            raise ValueError("abort() with StatusCode.OK")
        self._code, self._details = code, details
        self._trailing = tuple(trailing_metadata or ())
        raise GatewayAbort(code, details)

    def set_code(self, code: grpc.StatusCode) -> None:
        self._code = code

    def set_details(self, details: str) -> None:
        self._details = details

    def code(self) -> grpc.StatusCode | None:
        return self._code

    def details(self) -> str:
        return self._details

    def set_trailing_metadata(self, trailing_metadata) -> None:
        self._trailing = tuple(trailing_metadata or ())

    def trailing_metadata(self):
        return self._trailing

    async def send_initial_metadata(self, initial_metadata) -> None:
        pass

    def set_compression(self, compression) -> None:
        pass

    def disable_next_message_compression(self) -> None:
        pass

    # the call
    def time_remaining(self) -> float | None:
        if self._deadline is None:
            return None
        return max(0.0, self._deadline - time.monotonic())

    def invocation_metadata(self) -> tuple:
        return tuple(_Metadatum(k.lower(), v) for k, v in self._request.headers.items())

    def peer(self) -> str:
        peer = self._request.transport.get_extra_info("peername") if self._request.transport else None
        if not peer:
            return "unknown"
        host, port = peer[0], peer[1]
        return f"ipv6:[{host}]:{port}" if ":" in host else f"ipv4:{host}:{port}"

    def peer_identities(self):
        return None

    def peer_identity_key(self):
        return None

    def auth_context(self) -> dict:
        return {}

    async def write(self, message) -> None:
        if self._sink is None:
            raise RuntimeError("write() on a unary call")
        await self._sink(message)
        self.messages_written += 1

    async def read(self):
        if self._reader is None:
            raise RuntimeError("read() on a call without a request stream")
        try:
            return await self._reader.__anext__()
        except StopAsyncIteration:
            return grpc.aio.EOF

    def cancelled(self) -> bool:
        return self._cancelled

    def done(self) -> bool:
        return self._done

    def add_done_callback(self, callback: Callable[["HttpContext"], None]) -> None:
        if self._done:
            callback(self)
        else:
            self._callbacks.append(callback)

    def _finish(self, cancelled: bool = False) -> None:
        if self._done:
            return
        self._done, self._cancelled = True, cancelled
        for cb in self._callbacks:
            try:
                cb(self)
            except Exception:
                log.exception("done callback failed")


def _error_obj(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def error_response(code: str, message: str, http_status: int | None = None) -> web.Response:
    return web.json_response(_error_obj(code, message), status=http_status or HTTP_STATUS.get(code, 500))


def to_json(message) -> str:
    """One message in protobuf's JSON mapping, compact, on one line."""
    return json.dumps(json_format.MessageToDict(message), separators=(",", ":"), ensure_ascii=False)


class BadRequest(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _parse(text: str | bytes, message_cls, what: str):
    try:
        return json_format.Parse(text, message_cls())
    except json_format.ParseError as e:
        raise BadRequest(f"{what} is not a {message_cls.DESCRIPTOR.full_name} in protobuf's JSON mapping: {e}") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise BadRequest(f"{what} is not valid JSON: {e}") from None


async def _run(method, request, context: HttpContext) -> Any:
    """Call a servicer method as grpc.aio would: an async generator is drained into
    ``context.write``; a coroutine is awaited (unary: its return value is the response)."""
    result = method(request, context)
    if hasattr(result, "__aiter__"):
        try:
            async for message in result:
                await context.write(message)
        finally:
            await result.aclose()   # a failed write: the handler's cleanup runs now, as with grpc
        return None
    return await result


# -- assets by hash -------------------------------------------------------------------------------

class AssetCache:
    """Asset bytes by sha256 for a short time (``?assets=ref``), bounded in bytes, oldest out first."""

    def __init__(self, ttl: float = ASSET_TTL, max_bytes: int = ASSET_CACHE_BYTES):
        self.ttl, self.max_bytes = ttl, max_bytes
        self._items: collections.OrderedDict[str, tuple[float, str, bytes]] = collections.OrderedDict()
        self.bytes = 0

    def put(self, sha256: str, media_type: str, data: bytes) -> None:
        if sha256 in self._items:
            self._items.move_to_end(sha256)
            _, mt, d = self._items[sha256]
            self._items[sha256] = (time.monotonic() + self.ttl, mt, d)
            return
        self._items[sha256] = (time.monotonic() + self.ttl, media_type, data)
        self.bytes += len(data)
        self._evict()

    def get(self, sha256: str) -> tuple[str, bytes] | None:
        self._evict()
        item = self._items.get(sha256)
        return None if item is None else (item[1], item[2])

    def _evict(self) -> None:
        now = time.monotonic()
        while self._items:
            key, (expires, _, data) = next(iter(self._items.items()))
            if expires > now and self.bytes <= self.max_bytes:
                break
            del self._items[key]
            self.bytes -= len(data)


# -- the gateway ------------------------------------------------------------------------------------

class Gateway:
    """Serves ``servicer`` (and ``health``, the gRPC health servicer) over HTTP on ``host:port``.

    ``await start()`` returns the bound port (0 picks a free one); ``await stop(grace)`` refuses new
    calls with UNAVAILABLE (health answers 503 ``NOT_SERVING``), lets running ones finish for up to
    ``grace`` seconds, then cancels the rest: a stream ends with an ``UNAVAILABLE`` line or frame."""

    def __init__(self, servicer, health=None, host: str = "127.0.0.1", port: int = DEFAULT_HTTP_PORT,
                 cors_origin: str | None = None):
        self.servicer = servicer
        self.health = health
        self.host = host
        self.requested_port = port
        self.cors_origin = cors_origin
        self.port: int | None = None
        self.assets = AssetCache()
        self.closing = False
        self._calls: set[asyncio.Task] = set()
        self._shutdown_cut: set[asyncio.Task] = set()
        self._runner: web.AppRunner | None = None
        self.app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[self._errors])
        self.app.router.add_get("/v1/health", self.get_health)
        self.app.router.add_get("/v1/models", self.list_models)
        self.app.router.add_post("/v1/generate", self.generate)
        self.app.router.add_get("/v1/session", self.session)
        self.app.router.add_get("/v1/assets/{sha256}", self.get_asset)

    async def start(self) -> int:
        # handler_cancellation: a client that goes away cancels its handler, as grpc.aio does.
        self._runner = web.AppRunner(self.app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.requested_port, reuse_port=False)
        try:
            await site.start()
        except OSError as e:
            await self._runner.cleanup()
            raise OSError(f"could not bind the HTTP gateway to {self.host}:{self.requested_port}: {e.strerror or e}; "
                          "pick another --http-port (0: a free one) or --no-http") from None
        self.port = self._runner.addresses[0][1]
        return self.port

    async def stop(self, grace: float = 10.0) -> None:
        if self._runner is None:
            return
        self.closing = True
        end = time.monotonic() + grace
        while self._calls and time.monotonic() < end:
            await asyncio.sleep(0.02)
        for task in list(self._calls):
            self._shutdown_cut.add(task)
            task.cancel()
        end = time.monotonic() + 1.0
        while self._calls and time.monotonic() < end:
            await asyncio.sleep(0.01)
        await self._runner.cleanup()
        self._runner = None

    # -- plumbing ------------------------------------------------------------------------------------

    @web.middleware
    async def _errors(self, request: web.Request, handler):
        if self.cors_origin and request.method == "OPTIONS":
            response = web.Response(status=204)
        else:
            try:
                response = await handler(request)
            except web.HTTPRequestEntityTooLarge:
                response = error_response("RESOURCE_EXHAUSTED", f"the request body is over the gateway's limit of "
                                          f"{MAX_BODY_BYTES} bytes (the gRPC limit of 16 MiB, with uploads as "
                                          "base64)", 413)
            except web.HTTPMethodNotAllowed as e:
                response = error_response("UNIMPLEMENTED", f"{request.method} {request.path} is not served; "
                                          f"use {', '.join(sorted(e.allowed_methods))}", 405)
            except web.HTTPNotFound:
                response = error_response("NOT_FOUND", f"no such path {request.path}; the gateway serves "
                                          "GET /v1/health, GET /v1/models, POST /v1/generate, GET /v1/session "
                                          "(WebSocket), GET /v1/assets/<sha256>")
        if self.cors_origin and not response.prepared:
            response.headers["Access-Control-Allow-Origin"] = self.cors_origin
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = f"Content-Type, {TIMEOUT_HEADER}"
            response.headers["Access-Control-Max-Age"] = "600"
        return response

    def _deadline(self, request: web.Request) -> float | None:
        raw = request.headers.get(TIMEOUT_HEADER)
        if raw is None:
            return None
        try:
            seconds = float(raw)
        except ValueError:
            seconds = math.nan
        if not (math.isfinite(seconds) and seconds > 0):
            raise BadRequest(f"{TIMEOUT_HEADER} must be a number of seconds greater than 0, got {raw!r}")
        return time.monotonic() + seconds

    def _track(self) -> asyncio.Task:
        task = asyncio.current_task()
        self._calls.add(task)
        return task

    def _untrack(self, task: asyncio.Task) -> None:
        self._calls.discard(task)
        self._shutdown_cut.discard(task)

    def _unavailable(self) -> web.Response:
        return error_response("UNAVAILABLE", "the server is shutting down; retry on another replica or later")

    # -- unary ---------------------------------------------------------------------------------------

    async def get_health(self, request: web.Request) -> web.Response:
        service = request.query.get("service", "")
        if self.health is None:
            status = "NOT_SERVING" if self.closing else "SERVING"
        else:
            context = HttpContext(request, None)
            try:
                reply = await self.health.Check(health_pb2.HealthCheckRequest(service=service), context)
            except GatewayAbort as e:
                return error_response(e.code.name, e.details)
            status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
            if self.closing:
                status = "NOT_SERVING"
        return web.json_response({"status": status}, status=200 if status == "SERVING" else 503)

    async def list_models(self, request: web.Request) -> web.Response:
        if self.closing:
            return self._unavailable()
        unknown = set(request.query) - {"kind"}
        if unknown:
            return error_response("INVALID_ARGUMENT", f"unknown query parameter(s) {sorted(unknown)}; "
                                  "GET /v1/models takes only ?kind=<kind>")
        req = pb.ListModelsRequest(kind=request.query.get("kind", ""))
        context = HttpContext(request, None)
        try:
            reply = await _run(self.servicer.ListModels, req, context)
        except GatewayAbort as e:
            return error_response(e.code.name, e.details)
        return web.Response(text=to_json(reply), content_type="application/json")

    async def get_asset(self, request: web.Request) -> web.Response:
        sha = request.match_info["sha256"].lower()
        found = self.assets.get(sha)
        if found is None:
            return error_response("NOT_FOUND", f"no asset with sha256 {sha} is kept (assets from "
                                  f"?assets=ref streams are kept for {ASSET_TTL:g} s)")
        media_type, data = found
        return web.Response(body=data, content_type=media_type,
                            headers={"Cache-Control": "public, max-age=31536000, immutable"})

    # -- Generate: NDJSON ----------------------------------------------------------------------------

    async def generate(self, request: web.Request) -> web.StreamResponse:
        if self.closing:
            return self._unavailable()
        mode = request.query.get("assets", "inline")
        if mode not in ("inline", "ref") or set(request.query) - {"assets"}:
            return error_response("INVALID_ARGUMENT", f"query: only ?assets=inline (the default) or ?assets=ref "
                                  f"is allowed, got {request.query_string!r}")
        try:
            deadline = self._deadline(request)
            req = _parse(await request.read(), pb.GenerateRequest, "the request body")
        except BadRequest as e:
            return error_response("INVALID_ARGUMENT", e.message)

        response = web.StreamResponse(status=200, headers={"Content-Type": NDJSON, "Cache-Control": "no-store",
                                                            "X-Content-Type-Options": "nosniff"})
        if self.cors_origin:
            response.headers["Access-Control-Allow-Origin"] = self.cors_origin

        async def sink(message: pb.GenerateEvent) -> None:
            if mode == "ref" and message.WhichOneof("event") == "asset":
                self.assets.put(message.asset.sha256, message.asset.media_type, message.asset.data)
                message = pb.GenerateEvent(asset=pb.Asset(name=message.asset.name, media_type=message.asset.media_type,
                                                          format=message.asset.format, sha256=message.asset.sha256),
                                           is_last=message.is_last)
            try:
                if not response.prepared:
                    await response.prepare(request)
                await response.write(to_json(message).encode() + b"\n")
            except ConnectionError:
                # the client went away between two events: to the servicer, a cancel (as grpc.aio)
                raise asyncio.CancelledError("the HTTP client went away") from None

        context = HttpContext(request, deadline, sink)
        task = self._track()
        status: tuple[str, str] | None = None
        try:
            # The servicer enforces the deadline it reads from time_remaining(); this outer one,
            # a little later, only covers a servicer that does not.
            async with asyncio.timeout_at(None if deadline is None else
                                          asyncio.get_running_loop().time() + context.time_remaining() + 0.25):
                await _run(self.servicer.Generate, req, context)
            if context.code() not in (None, grpc.StatusCode.OK):
                status = (context.code().name, context.details())
        except GatewayAbort as e:
            status = (e.code.name, e.details)
        except TimeoutError:
            status = ("DEADLINE_EXCEEDED", "deadline passed; generation stopped")
        except asyncio.CancelledError:
            if task in self._shutdown_cut:
                task.uncancel()
                status = ("UNAVAILABLE", "the server shut down before this stream finished; retry")
            else:
                context._finish(cancelled=True)
                if task.cancelling():
                    raise             # aiohttp cancelled us: the connection is gone
                return response       # a write found the client gone: nobody to tell
        except Exception as e:
            log.exception("gateway: generate failed")
            status = ("INTERNAL", f"gateway: {type(e).__name__}: {e}")
        finally:
            self._untrack(task)
        context._finish()
        if status is None:
            if not response.prepared:     # a stream without events (cannot happen today): still 200
                await response.prepare(request)
            await response.write_eof()
            return response
        if not response.prepared:
            return error_response(*status)
        try:
            # bounded: a client that stopped reading (the servicer's stall timeout) may never take it
            async with asyncio.timeout(LAST_WRITE_TIMEOUT):
                await response.write(json.dumps(_error_obj(*status), separators=(",", ":")).encode() + b"\n")
                await response.write_eof()
        except (ConnectionError, TimeoutError):
            if request.transport is not None:
                request.transport.close()
        return response

    # -- Session: WebSocket --------------------------------------------------------------------------

    async def session(self, request: web.Request) -> web.StreamResponse:
        if self.closing:
            return self._unavailable()
        ws = web.WebSocketResponse(max_msg_size=MAX_FRAME_BYTES, autoping=True, heartbeat=None)
        if not ws.can_prepare(request).ok:
            return error_response("FAILED_PRECONDITION", "GET /v1/session is a WebSocket: send the upgrade headers "
                                  "(a WebSocket client), then one SessionRequest JSON per text frame")
        await ws.prepare(request)
        task = self._track()
        gone = asyncio.Event()          # the client closed the socket or the connection dropped

        async def requests() -> AsyncIterator[pb.SessionRequest]:
            n = 0
            while True:
                msg = await ws.receive()
                if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    gone.set()
                    if asyncio.current_task() is not task:
                        task.cancel()   # as a gRPC cancel: the running input stops, the session is freed
                    return
                n += 1
                if msg.type != WSMsgType.TEXT:
                    await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                        f"frame {n} is {msg.type.name.lower()}; send each SessionRequest as JSON "
                                        "in a text frame")
                try:
                    yield _parse(msg.data, pb.SessionRequest, f"frame {n}")
                except BadRequest as e:
                    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, e.message)

        async def sink(message: pb.SessionEvent) -> None:
            try:
                await ws.send_str(to_json(message))
            except ConnectionError:
                gone.set()
                raise asyncio.CancelledError("the WebSocket client went away") from None

        context = HttpContext(request, None, sink)
        it = requests()
        context._reader = it
        status: tuple[str, str] | None = None
        try:
            await _run(self.servicer.Session, it, context)
            if context.code() not in (None, grpc.StatusCode.OK):
                status = (context.code().name, context.details())
        except GatewayAbort as e:
            status = (e.code.name, e.details)
        except asyncio.CancelledError:
            if gone.is_set():          # the client closed the socket: as a gRPC cancel
                while task.cancelling():
                    task.uncancel()
                context._finish(cancelled=True)
                try:
                    async with asyncio.timeout(1.0):
                        await ws.close()
                except (ConnectionError, TimeoutError):
                    pass
                return ws
            if task not in self._shutdown_cut:
                context._finish(cancelled=True)
                raise                  # aiohttp cancelled us: the connection is gone
            task.uncancel()
            status = ("UNAVAILABLE", "the server shut down; reopen the session on another replica or later")
        except Exception as e:
            log.exception("gateway: session failed")
            status = ("INTERNAL", f"gateway: {type(e).__name__}: {e}")
        finally:
            self._untrack(task)
            try:
                await it.aclose()
            except RuntimeError:       # still being read by the servicer's reader task, which is ending
                pass
        context._finish()
        try:
            if status is not None:
                await ws.send_str(json.dumps(_error_obj(*status), separators=(",", ":")))
            await ws.close(code=1011 if status and status[0] == "INTERNAL" else 1000)
        except ConnectionError:
            pass
        return ws

