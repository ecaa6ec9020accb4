"""The one table of content kinds: what serves a manifest, the model-free baselines, the exporter.

Adding a kind touches its folder (``generators/<kind>/``) and one row here. Each row names, as
``"module:attribute"`` strings so that nothing is imported before it is used:

* ``generator`` — a class with ``from_model(model_dir, manifest, session_factory)``;
* ``builtins`` — a function returning the kind's model-free (classical baseline) generators;
* ``export`` — ``build_export(checkpoint_dict) -> KindExport`` for ``gamegen export``;
* ``manifest_fields`` — fields a manifest of this kind must carry beyond the common ones.

Serving never imports a kind it does not load, and ``exporters/`` knows no kind: it looks the
checkpoint's kind up here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .base import Generator
from .errors import FailedPrecondition


class UnknownKind(FailedPrecondition):
    pass


@dataclass(frozen=True)
class KindSpec:
    generator: str
    builtins: str
    export: str
    manifest_fields: dict[str, type] = field(default_factory=dict)


def _row(kind: str, generator: str, **extra) -> KindSpec:
    pkg = f"gamegen.generators.{kind}"
    return KindSpec(f"{pkg}.generator:{generator}", f"{pkg}.generator:builtins", f"{pkg}.export:build_export", **extra)


KIND_TABLE: dict[str, KindSpec] = {
    "levels": _row("levels", "LevelGenerator", manifest_fields={"game": str, "legend": dict}),
    "terrain": _row("terrain", "TerrainGenerator"),
    "textures": _row("textures", "TextureModel"),
    "music": _row("music", "MusicGenerator"),
    # export: the model-backed dialog kind's exporter replaces this row's entry when it lands
    "npc": _row("npc", "NpcGenerator"),
    "dialog": KindSpec("gamegen.generators.dialog.generator:DialogGenerator",
                       "gamegen.generators.dialog.generator:builtins",
                       "gamegen.generators.dialog.generator:build_export"),
}

KINDS = tuple(KIND_TABLE)


def load(ref: str):
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def spec(kind: str) -> KindSpec:
    if kind not in KIND_TABLE:
        raise UnknownKind(f"kind {kind!r} is not served by this version; known kinds: {', '.join(KINDS)}")
    return KIND_TABLE[kind]


def check_manifest_fields(manifest: dict, where: str) -> None:
    """The kind's own required manifest fields (common ones are checked by the manifest loader)."""
    kind = manifest.get("kind")
    for key, typ in spec(kind).manifest_fields.items():
        if not isinstance(manifest.get(key), typ):
            from gamegen.exporters.manifest import ManifestError

            raise ManifestError(f"{where}: a {kind} manifest needs field {key!r} ({typ.__name__})")


def from_manifest(model_dir: Path, manifest: dict, session_factory: Callable) -> Generator:
    """Build the generator for a model folder; it learns which provider its sessions really got."""
    kind = manifest.get("kind")
    if kind not in KIND_TABLE:
        raise UnknownKind(f"manifest kind {kind!r} is not served by this version; known kinds: {', '.join(KINDS)}")
    check_manifest_fields(manifest, str(model_dir))
    sessions: list = []

    def factory(path: Path):
        sess = session_factory(path)
        sessions.append(sess)
        return sess

    gen = load(KIND_TABLE[kind].generator).from_model(model_dir, manifest, factory)
    gen.bind_sessions(sessions)
    return gen


def builtin_generators() -> list[Generator]:
    """Generators that need no model file: the classical baselines of every kind."""
    out: list[Generator] = []
    for row in KIND_TABLE.values():
        out.extend(load(row.builtins)())
    return out


def exporter(kind: str) -> Callable:
    """The kind's ``build_export(checkpoint_dict)``."""
    try:
        return load(spec(kind).export)
    except (ModuleNotFoundError, AttributeError):
        raise UnknownKind(f"kind {kind!r} has no exporter") from None
