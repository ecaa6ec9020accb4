"""The one shape every generator has; the base class owns the request lifecycle.

A generator states its parameters once (:class:`~gamegen.generators.params.Param`, plus
cross-field :class:`~gamegen.generators.params.Rule` s), offers a table of output formats
(format -> :class:`Encoder`), and implements one method, :meth:`Generator.produce`: a plain
iterator that yields progress and partial results (level columns, music bars, a preview) and
*returns* the finished content as a :class:`Product`. Everything else is here, the same for every
kind:

1. :meth:`Generator.prepare` — the seed, every parameter (types, ranges, choices, multiples,
   required uploads and their header sniffing, cross-field rules) and the formats are checked
   before any work, raising :class:`~gamegen.generators.params.ParamError` (INVALID_ARGUMENT).
   Bake files call the same method for every asset before baking anything.
2. ``produce`` runs; its stage timings go into a :class:`Timings`.
3. The requested formats are encoded through the table (:meth:`Generator.encode`), each asset
   streamed as soon as it is ready.
4. The :class:`~gamegen.generators.events.Final` event: canonical parameters, content hash over
   the requested assets (previews excluded), timings in ms, the execution provider the model's
   ONNX Runtime sessions really got (:meth:`Generator.bind_sessions`), attempts and repairs.

It knows nothing about gRPC, asyncio or files: the server and the in-process CLI drive the same
iterator.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol, Sequence

from .errors import FailedPrecondition
from .events import Asset, Event, Final, Progress, content_hash
from .params import Param, ParamError, Rule, canonical_text, validate


@dataclass
class GeneratorInfo:
    kind: str
    name: str
    version: str
    family: str
    description: str
    params: tuple[Param, ...]
    formats: tuple[str, ...]
    generator_version: int
    execution_provider: str = "none"     # set from the model's sessions by Generator.bind_sessions
    sha256: str = ""
    tiles: tuple[tuple[str, tuple[str, ...]], ...] = ()
    extra: dict = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    sessions: bool = False               # holds Session streams (set by the registry from the class)

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class Request:
    """A request that passed every check: canonical parameters (defaults filled), formats deduped."""

    seed: int
    params: dict[str, Any]
    formats: list[str]


@dataclass
class Product:
    """What :meth:`Generator.produce` returns: the content the encoders turn into assets."""

    value: Any
    attempts: int = 1
    repaired_tiles: int = 0
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Encoder:
    """One output format: ``fn(content, params)`` returns an Asset or an iterable of Assets (and
    Progress events). ``stage`` names the timing it is counted under."""

    fn: Callable[[Any, dict], Asset | Iterable[Asset | Progress]]
    stage: str = "encode"


class Timings:
    """Stage timings of one request, in insertion order; the Final event reports them in ms."""

    def __init__(self) -> None:
        self._ms: dict[str, float] = {}

    def add(self, stage: str, seconds: float) -> None:
        self._ms[stage] = self._ms.get(stage, 0.0) + seconds * 1e3

    @contextmanager
    def stage(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - t0)

    def items(self) -> tuple[tuple[str, float], ...]:
        return tuple(self._ms.items())


class Session(Protocol):
    """A conversation or a scene held between inputs (what :meth:`Generator.open_session` returns).

    ``step(value)`` handles one input (a plain dict of the kind's input message): it yields
    partial results and kind events and ends with one :class:`~gamegen.generators.events.InputEnd`;
    bad input raises :class:`~gamegen.generators.errors.InvalidArgument` before yielding, and the
    session stays usable. The caller stops pulling to cancel an input (close the iterator).
    ``close()`` frees what the session holds. Like a generator, it knows nothing of gRPC.
    """

    def step(self, value: Mapping[str, Any]) -> Iterator[Event]: ...

    def close(self) -> None: ...


class Generator:
    """Base class. Subclasses set ``info`` and ``encoders`` and implement :meth:`produce`;
    kinds that hold sessions (dialog, NPC behaviour) also implement :meth:`open_session`."""

    info: GeneratorInfo
    encoders: Mapping[str, Encoder] = {}

    # -- what a kind provides -----------------------------------------------------------------

    def produce(self, seed: int, params: dict[str, Any], formats: list[str], *, partials: bool,
                timings: Timings) -> Iterator[Event]:
        """Yield progress and partial results; ``return`` the finished content as a Product."""
        raise NotImplementedError

    def encode_order(self, formats: list[str]) -> list[str]:
        """The order assets are produced in (and hashed in); the request's order by default."""
        return formats

    def encode(self, content: Any, params: dict[str, Any], formats: list[str],
               timings: Timings) -> Iterator[Asset | Progress]:
        """Each requested format through the encoder table, streamed as it is ready."""
        for fmt in self.encode_order(formats):
            enc = self.encoders[fmt]
            t0 = time.perf_counter()
            out = enc.fn(content, params)
            if isinstance(out, Asset):
                yield out
            else:
                yield from out
            timings.add(enc.stage, time.perf_counter() - t0)

    # -- the lifecycle ------------------------------------------------------------------------

    def bind_sessions(self, sessions: Sequence[Any]) -> None:
        """Record the execution provider the model's ONNX Runtime sessions really got."""
        self.info.execution_provider = sessions[0].get_providers()[0] if sessions else "none"

    def validate(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Canonical parameters (defaults filled) or :class:`ParamError`."""
        return validate(self.info.params, given, where=self.info.ref, rules=self.info.rules)

    def check_formats(self, formats: Sequence[str]) -> list[str]:
        allowed = ", ".join(self.info.formats)
        if not formats:
            raise ParamError("formats", f"formats must name at least one of: {allowed}")
        out: list[str] = []
        for f in formats:
            if f not in self.info.formats:
                raise ParamError("formats", f"format {f!r} is not offered by {self.info.ref}; offered: {allowed}")
            if f not in out:
                out.append(f)
        return out

    def prepare(self, seed: int, params: Mapping[str, Any], formats: Sequence[str]) -> Request:
        """Every check a request can fail, before any work: seed, parameters, rules, formats."""
        if not isinstance(seed, int) or isinstance(seed, bool) or not (0 <= seed < 2**64):
            raise ParamError("seed", f"seed must be an integer from 0 to 2^64-1, got {seed!r}")
        return Request(seed, self.validate(params), self.check_formats(formats))

    def generate(self, seed: int, params: Mapping[str, Any], formats: Sequence[str], *,
                 partials: bool = True) -> Iterator[Event]:
        """Validate, then run. Raises ParamError before yielding anything when input is bad."""
        req = self.prepare(seed, params, formats)
        return self.run(req.seed, req.params, req.formats, partials=partials)

    def run(self, seed: int, params: dict[str, Any], formats: list[str], *, partials: bool) -> Iterator[Event]:
        """Drive :meth:`produce` and the encoders for checked values (:meth:`prepare`); end with the Final."""
        t0 = time.perf_counter()
        timings = Timings()
        product = yield from self.produce(seed, params, formats, partials=partials, timings=timings)
        assets: list[Asset] = []
        for item in self.encode(product.value, params, formats, timings):
            if isinstance(item, Asset):
                assets.append(item)
            yield item
        timings.add("total", time.perf_counter() - t0)
        yield Final(
            model=self.info.ref, version=self.info.version, seed=seed,
            parameters=tuple(canonical_text(self.info.params, params)), content_hash=content_hash(assets),
            execution_provider=self.info.execution_provider, generator_version=self.info.generator_version,
            timings_ms=timings.items(), attempts=product.attempts, repaired_tiles=product.repaired_tiles,
            extra=product.extra,
        )

    def checked(self, req: Request) -> Final:
        """The answer to a validate-only request: what a real run would report, minus the work."""
        return Final(model=self.info.ref, version=self.info.version, seed=req.seed,
                     parameters=tuple(canonical_text(self.info.params, req.params)), content_hash="",
                     execution_provider=self.info.execution_provider,
                     generator_version=self.info.generator_version, attempts=0)

    @property
    def holds_sessions(self) -> bool:
        return type(self).open_session is not Generator.open_session

    def open_session(self, seed: int, params: Mapping[str, Any], *, max_agents: int = 4096) -> Session:
        """Open a session (a plain dict of the kind's open message), or raise InvalidArgument.
        ``max_agents`` is the server's limit on agents per session, for kinds that hold agents."""
        raise FailedPrecondition(f"{self.info.ref} does not hold sessions; it answers Generate requests")

    def warm_params(self) -> dict[str, Any]:
        """Parameters of the warm-up request: the defaults (kinds with required uploads override)."""
        return {}

    def warmup(self) -> None:
        """Run once so first real calls are fast (and broken models fail at load)."""
        for _ in self.generate(0, self.warm_params(), list(self.info.formats)):
            pass
