"""The one shape every generator has.

A generator states its parameters once (:class:`~gamegen.generators.params.Param`), offers a set
of output formats, and turns (seed, parameters, formats) into a plain iterator of events
(:mod:`gamegen.generators.events`). It knows nothing about gRPC, asyncio or files: the server and
the in-process CLI drive the same iterator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Sequence

from .events import Event
from .params import Param, ParamError, validate


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
    execution_provider: str = "none"
    sha256: str = ""
    tiles: tuple[tuple[str, tuple[str, ...]], ...] = ()
    extra: dict = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"


class Generator:
    """Base class. Subclasses set ``info`` and implement :meth:`run`."""

    info: GeneratorInfo

    def validate(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Canonical parameters (defaults filled) or :class:`ParamError`."""
        return validate(self.info.params, given, where=self.info.ref)

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

    def generate(
        self, seed: int, params: Mapping[str, Any], formats: Sequence[str], *, partials: bool = True
    ) -> Iterator[Event]:
        """Validate, then run. Raises ParamError before yielding anything when input is bad."""
        if not isinstance(seed, int) or isinstance(seed, bool) or not (0 <= seed < 2**64):
            raise ParamError("seed", f"seed must be an integer from 0 to 2^64-1, got {seed!r}")
        values = self.validate(params)
        fmts = self.check_formats(formats)
        return self.run(seed, values, fmts, partials=partials)

    def run(self, seed: int, params: dict[str, Any], formats: list[str], *, partials: bool) -> Iterator[Event]:
        raise NotImplementedError

    def warmup(self) -> None:
        """Run once with defaults so first real calls are fast (and broken models fail at load)."""
        defaults = {p.name: p.default for p in self.info.params}
        for _ in self.generate(0, defaults, list(self.info.formats)):
            pass
