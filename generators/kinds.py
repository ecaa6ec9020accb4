"""Which generator class serves which manifest ``kind``, and the model-free generators."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from .base import Generator


class UnknownKind(ValueError):
    pass


KINDS = ("levels",)


def from_manifest(model_dir: Path, manifest: dict, session_factory: Callable) -> Generator:
    kind = manifest.get("kind")
    if kind == "levels":
        from .levels.generator import LevelGenerator

        # Creating the session inside the generator records which provider it really got.
        sessions: list = []

        def factory(path: Path):
            sess = session_factory(path)
            sessions.append(sess)
            return sess

        gen = LevelGenerator.from_model(model_dir, manifest, factory)
        gen.info.execution_provider = sessions[0].get_providers()[0] if sessions else "none"
        return gen
    raise UnknownKind(f"manifest kind {kind!r} is not served by this version; known kinds: {', '.join(KINDS)}")


def builtin_generators() -> list[Generator]:
    """Generators that need no model file: the classical baselines."""
    from .levels.games import GAMES
    from .levels.generator import LevelGenerator

    return [LevelGenerator.rules(g) for g in GAMES.values()]
