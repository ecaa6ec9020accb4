"""Which generator class serves which manifest ``kind``, and the model-free generators.

Each kind names a class with ``from_model(model_dir, manifest, session_factory)`` and a function
returning its model-free (classical baseline) generators. Modules are imported only when a model
of that kind is loaded, so serving never imports what it does not use.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Callable

from .base import Generator


class UnknownKind(ValueError):
    pass


# kind -> ("module:Class" loading a model directory, "module:function" listing the builtins)
KIND_TABLE: dict[str, tuple[str, str]] = {
    "levels": ("gamegen.generators.levels.generator:LevelGenerator", "gamegen.generators.levels.generator:builtins"),
    "terrain": ("gamegen.generators.terrain.generator:TerrainGenerator", "gamegen.generators.terrain.generator:builtins"),
    "textures": ("gamegen.generators.textures.generator:TextureModel", "gamegen.generators.textures.generator:builtins"),
    "music": ("gamegen.generators.music.generator:MusicGenerator", "gamegen.generators.music.generator:builtins"),
}

KINDS = tuple(KIND_TABLE)


def _load(ref: str):
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def from_manifest(model_dir: Path, manifest: dict, session_factory: Callable) -> Generator:
    kind = manifest.get("kind")
    if kind not in KIND_TABLE:
        raise UnknownKind(f"manifest kind {kind!r} is not served by this version; known kinds: {', '.join(KINDS)}")
    cls = _load(KIND_TABLE[kind][0])

    # Creating the sessions inside the generator records which provider it really got.
    sessions: list = []

    def factory(path: Path):
        sess = session_factory(path)
        sessions.append(sess)
        return sess

    gen = cls.from_model(model_dir, manifest, factory)
    gen.info.execution_provider = sessions[0].get_providers()[0] if sessions else "none"
    return gen


def builtin_generators() -> list[Generator]:
    """Generators that need no model file: the classical baselines of every kind."""
    out: list[Generator] = []
    for _, builtins in KIND_TABLE.values():
        out.extend(_load(builtins)())
    return out
