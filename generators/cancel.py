"""Cooperative cancellation for generator code, without changing any generator's signature.

The server runs one request's generator in a worker thread and sets a :class:`Token` for it in a
context variable (:func:`scope`). Code that does the actual work reaches that token through
:func:`current` and stops promptly once it is set:

* loops call :func:`check` (or ``current().check``), which raises :class:`Cancelled`;
* ONNX Runtime runs go through :class:`AbortableSession` (the registry wraps every session): each
  run gets its own ``RunOptions`` whose ``terminate`` flag is raised from the cancelling thread, so
  a long graph stops between nodes;
* PNG encoding writes into :class:`Sink`, a ``BytesIO`` that raises on the next write once the
  token is set, so encoding a 2048 px image stops within one zlib buffer;
* helper thread pools receive work through :func:`submit`, which carries the caller's context (and
  so its token) into the pool thread and cancels the job if it has not started when the token is set.

Code that runs with no token set (the in-process CLI, tests, warm-up) sees :data:`NEVER`, a token
that is never set: every check is a no-op and behaviour is exactly as without this module.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import io
import threading
import time
import weakref
from concurrent.futures import Executor, Future
from typing import Any, Callable, Iterator


class Cancelled(BaseException):
    """The request this work belongs to was cancelled (caller went away, deadline, shutdown).

    A ``BaseException`` like ``asyncio.CancelledError``, so ``except Exception`` blocks in
    generator code do not swallow it.
    """


class Token:
    """A one-way flag with callbacks: set once, from any thread; work checks it or is told."""

    __slots__ = ("_event", "_lock", "_callbacks", "reason", "set_at", "_run_options")

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], Any]] = []
        self.reason = ""
        self.set_at = 0.0          # time.monotonic() when set
        self._run_options = None

    def set(self, reason: str = "cancelled") -> None:
        """Cancel: wake every waiter and run the registered callbacks (each at most once)."""
        with self._lock:
            if self._event.is_set():
                return
            self.reason = reason
            self.set_at = time.monotonic()
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for cb in callbacks:
            try:
                cb()
            except Exception:  # a callback must not stop the others (e.g. a finished ORT run)
                pass

    def is_set(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` if the token is set; otherwise return at once."""
        if self._event.is_set():
            raise Cancelled(self.reason)

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)

    def on_cancel(self, callback: Callable[[], Any]) -> Callable[[], None]:
        """Call ``callback`` when the token is set (now, if it already is). Returns an unregister function."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)

                def remove() -> None:
                    with self._lock:
                        try:
                            self._callbacks.remove(callback)
                        except ValueError:
                            pass

                return remove
        callback()
        return lambda: None

    def run_options(self, ort: Any):
        """One ``onnxruntime.RunOptions`` shared by all of this token's runs (ORT only reads it
        during a run): created on first use, its ``terminate`` flag raised when the token is set.
        Sharing it keeps the per-run cost of cancellation to nothing for small autoregressive steps."""
        opts = self._run_options
        if opts is None:
            with self._lock:
                if self._run_options is None:
                    self._run_options = ort.RunOptions()
                opts = self._run_options
            self.on_cancel(lambda: setattr(opts, "terminate", True))
        return opts


class _Never(Token):
    """The token of work that nobody can cancel: checks cost one attribute lookup and never raise."""

    __slots__ = ()

    def set(self, reason: str = "cancelled") -> None:  # pragma: no cover - a programming error
        raise RuntimeError("the NEVER token cannot be set; create a Token for cancellable work")

    def on_cancel(self, callback):
        return lambda: None


NEVER: Token = _Never()
_current: contextvars.ContextVar[Token] = contextvars.ContextVar("gamegen_cancel_token", default=NEVER)


def current() -> Token:
    """The token of the work running in this context (:data:`NEVER` when there is none)."""
    return _current.get()


def check() -> None:
    """Raise :class:`Cancelled` if the current work has been cancelled."""
    _current.get().check()


@contextlib.contextmanager
def scope(token: Token) -> Iterator[Token]:
    """Make ``token`` the current one in this thread's context for the duration of the block."""
    reset = _current.set(token)
    try:
        yield token
    finally:
        _current.reset(reset)


# -- thread pools -------------------------------------------------------------------------------


def submit(pool: Executor, fn: Callable[..., Any], *args: Any) -> Future:
    """``pool.submit(fn, *args)`` carrying this context's token into the pool thread.

    When the token is set, the job is cancelled if it has not started; a running job sees the
    token set (its checks, ORT runs and PNG sinks stop it).
    """
    token = current()
    ctx = contextvars.copy_context()
    fut = pool.submit(ctx.run, fn, *args)
    if token is not NEVER:
        ref = weakref.ref(fut)  # no future -> callback -> future cycle: results are freed at once

        def drop() -> None:
            f = ref()
            if f is not None:
                f.cancel()

        remove = token.on_cancel(drop)
        fut.add_done_callback(lambda _f: remove())
    return fut


def cancel_pending(futures, wait: float = 2.0) -> None:
    """Cancel the futures that have not started (used when a stage is abandoned half-way). When
    the current request is cancelled, also wait (up to ``wait`` s) for the running ones, which
    stop at their next check: no helper work outlives the request's own thread."""
    running = [f for f in futures if not f.cancel() and not f.done()]
    if running and current().is_set():
        concurrent.futures.wait(running, timeout=wait)


# -- PNG and other encoders ---------------------------------------------------------------------


class Sink(io.BytesIO):
    """A ``BytesIO`` for encoders (Pillow writes one zlib buffer at a time): once the current token
    is set, the next write raises :class:`Cancelled`. With no token it is a plain ``BytesIO``."""

    def __init__(self, token: Token | None = None) -> None:
        super().__init__()
        self._token = token if token is not None else current()

    def write(self, b) -> int:  # type: ignore[override]
        self._token.check()
        return super().write(b)


# -- ONNX Runtime ---------------------------------------------------------------------------------


class AbortableSession:
    """An ``onnxruntime.InferenceSession`` whose runs stop when the current token is set.

    Everything but :meth:`run` is the wrapped session's own (``get_inputs``, ``get_providers``...).
    With no token set, ``run`` adds only ``run_config`` entries (e.g. arena shrinkage) to the call.
    """

    def __init__(self, session: Any, ort: Any, run_config: dict[str, str] | None = None) -> None:
        self._session = session
        self._ort = ort
        self._run_config = dict(run_config or {})

    @property
    def session(self) -> Any:
        """The wrapped ``InferenceSession``."""
        return self._session

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    def _options(self, given: Any):
        if given is not None:
            opts = given
        else:
            opts = self._ort.RunOptions()
        for k, v in self._run_config.items():
            opts.add_run_config_entry(k, v)
        return opts

    def run(self, output_names, input_feed, run_options=None):
        token = current()
        if token is NEVER:
            if not self._run_config and run_options is None:
                return self._session.run(output_names, input_feed)
            return self._session.run(output_names, input_feed, self._options(run_options))
        token.check()
        remove = None
        if run_options is None and not self._run_config:
            opts = token.run_options(self._ort)
        else:
            opts = self._options(run_options)

            def terminate() -> None:
                opts.terminate = True

            remove = token.on_cancel(terminate)
        try:
            return self._session.run(output_names, input_feed, opts)
        except Exception:
            if token.is_set():  # ORT reports the terminate flag as a failed run: say what it was
                raise Cancelled(token.reason) from None
            raise
        finally:
            if remove is not None:
                remove()
