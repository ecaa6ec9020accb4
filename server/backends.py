"""One interface over "run the generator here" and "ask a server", used by the CLI and bake."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Iterator, Protocol, Sequence

from gamegen.generators.base import GeneratorInfo
from gamegen.generators.events import Event

from . import convert


class Backend(Protocol):
    where: str

    def models(self) -> list[GeneratorInfo]: ...

    def info(self, ref: str) -> GeneratorInfo: ...

    def generate(self, ref: str, seed: int, params: dict[str, Any], formats: Sequence[str],
                 partials: bool = True) -> Iterator[Event]: ...

    def check(self, ref: str, seed: int, params: dict[str, Any], formats: Sequence[str]) -> list[tuple[str, str]]:
        """Every check the request would fail, without generating; its canonical parameters."""


class LocalBackend:
    """Runs generators in this process, from a model repository.

    The models load on first use, not here: a command that is refused before it needs one (a
    malformed bake file, a bad ``--out``) answers at once instead of after loading every model,
    and each model loads only when a request names it (``gamegen generate levels/smb`` does not
    load the dialog LLM). A missing model directory is still reported here."""

    def __init__(self, models_dir: Path | None = None, device: str = "cpu"):
        from .registry import models_dir_or_default

        self.models_dir = models_dir_or_default(models_dir)
        self.device = device
        self.where = "in-process"

    @functools.cached_property
    def registry(self):
        from .registry import load_registry

        return load_registry(self.models_dir, device=self.device, warmup=False, lazy=True)

    def models(self) -> list[GeneratorInfo]:
        return [g.info for g in self.registry.all()]

    def info(self, ref: str) -> GeneratorInfo:
        return self.registry.resolve(ref).info

    def generate(self, ref, seed, params, formats, partials=True):
        return self.registry.resolve(ref).generate(seed, params, list(formats), partials=partials)

    def check(self, ref, seed, params, formats):
        gen = self.registry.resolve(ref)
        return list(gen.checked(gen.prepare(seed, params, list(formats))).parameters)


class RemoteBackend:
    """Talks to a running server."""

    def __init__(self, target: str, timeout: float | None = None):
        from gamegen.client import Client

        self.client = Client(target)
        self.timeout = timeout
        self.where = target
        self._infos: list[GeneratorInfo] | None = None

    def models(self) -> list[GeneratorInfo]:
        if self._infos is None:
            self._infos = [convert.info_from_proto(m) for m in self.client.list_models()]
        return self._infos

    def info(self, ref: str) -> GeneratorInfo:
        from .registry import ModelNotFound

        name, _, version = ref.partition("@")
        matches = [i for i in self.models() if i.ref == name and (not version or i.version == version)]
        if not matches:
            raise ModelNotFound(ref, sorted({i.ref for i in self.models()}))
        return max(matches, key=lambda i: tuple(int(p) if p.isdigit() else p for p in i.version.split(".")))

    def generate(self, ref, seed, params, formats, partials=True):
        return self.client.generate(ref, seed, params, formats, partials=partials, timeout=self.timeout)

    def check(self, ref, seed, params, formats):
        return list(self.client.validate(ref, seed, params, formats).parameters)
