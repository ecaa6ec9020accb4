"""Giving memory back to the system after big requests (glibc only; a no-op elsewhere).

A 2048 px texture or a 1025 terrain chunk allocates hundreds of MB of numpy and ONNX Runtime
buffers. When they are freed, glibc keeps most of that memory mapped in its heaps (one per
thread that allocated it) for reuse, so a server's resident size only ever grows. ``malloc_trim(0)``
hands the free pages of every heap back to the kernel; the servicer calls :func:`trim` from a worker
thread when a request ends (at most every ``interval`` seconds, and always when the server goes idle).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import threading
import time

_libc = None
if ctypes.util.find_library("c"):
    try:
        _lib = ctypes.CDLL(ctypes.util.find_library("c"))
        if hasattr(_lib, "malloc_trim"):
            _lib.malloc_trim.argtypes = [ctypes.c_size_t]
            _lib.malloc_trim.restype = ctypes.c_int
            _libc = _lib
    except OSError:  # pragma: no cover - no usable libc (musl builds lack malloc_trim anyway)
        _libc = None

AVAILABLE = _libc is not None
GC_ON_IDLE = True


class Trimmer:
    """Rate-limited ``malloc_trim(0)``: at most one per ``interval`` seconds unless ``force``.

    A forced trim (the server just went idle) first runs a full garbage collection, so buffers
    that a reference cycle kept alive (asyncio and gRPC objects make some) go before the trim
    rather than at Python's next rare full collection.
    """

    def __init__(self, interval: float = 1.0):
        self.interval = interval
        self._lock = threading.Lock()
        self._last = 0.0
        self.count = 0

    def __call__(self, force: bool = False) -> bool:
        if _libc is None:
            return False
        if force and GC_ON_IDLE:
            gc.collect()
        now = time.monotonic()
        with self._lock:
            if not force and now - self._last < self.interval:
                return False
            self._last = now
        _libc.malloc_trim(0)
        self.count += 1
        return True
