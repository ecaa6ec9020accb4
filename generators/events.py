"""Events a generator yields. Plain data: no gRPC, no asyncio, no files.

The servicer turns them into ``gamegen.v1.GenerateEvent`` messages; the in-process CLI consumes
them directly. A generator is an iterator of these, ending with exactly one :class:`Final`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from .errors import Aborted


class GenerationFailed(Aborted):
    """The generator could not produce valid content within its bounded budget (gRPC ABORTED)."""


@dataclass(frozen=True)
class Progress:
    fraction: float
    stage: str
    message: str = ""


@dataclass(frozen=True)
class LevelChunk:
    """A rectangle of a level grid: ``rows`` are ``height`` strings of ``width`` characters."""

    x: int
    y: int
    rows: tuple[str, ...]
    level_width: int
    level_height: int

    @property
    def width(self) -> int:
        return len(self.rows[0]) if self.rows else 0

    @property
    def height(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class Note:
    """One note of a stem. Times are in quarter notes from the start of the piece."""

    track: str
    pitch: int
    start: float
    duration: float
    velocity: int = 90


@dataclass(frozen=True)
class MusicBar:
    """One finished bar: the notes (all tracks) that start in it."""

    index: int
    total_bars: int
    start_beat: float
    length_beats: float
    notes: tuple[Note, ...]


@dataclass(frozen=True)
class TextDelta:
    """Text decoded so far in a session input (dialog), sent as it is decoded."""

    text: str


@dataclass(frozen=True)
class DialogReply:
    """The whole reply of one dialog turn; emotion and action only for structured replies."""

    line: str
    emotion: str = ""
    action: str = ""


@dataclass(frozen=True)
class NpcAction:
    """One agent's decision for a tick (see the contract's NpcAction)."""

    agent_id: str
    action: int
    name: str = ""
    direction: tuple[float, float] = (0.0, 0.0)
    discrete: tuple[int, ...] = ()
    continuous: tuple[float, ...] = ()


@dataclass(frozen=True, eq=False)
class NpcActionBlock:
    """The actions of a packed tick (``NpcObservationBlock``), as arrays in the tick's agent order:
    ``action`` (n,), ``direction`` (n, 2), ``discrete`` (n, branches), ``continuous`` (n, size),
    and the model's action names by index (empty when it has none)."""

    action: Any
    direction: Any
    discrete: Any
    continuous: Any
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class NpcActions:
    """The answer to one NPC tick: an action per observed agent, in the order observed (``actions``
    for a tick of NpcObservation messages, ``block`` for a packed one)."""

    actions: tuple[NpcAction, ...]
    block: NpcActionBlock | None = None


@dataclass(frozen=True)
class InputEnd:
    """The last event of one session input."""

    stop_reason: str
    timings_ms: tuple[tuple[str, float], ...] = ()
    tokens: int = 0


@dataclass(frozen=True)
class Asset:
    name: str
    media_type: str
    data: bytes
    format: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Final:
    model: str
    version: str
    seed: int
    parameters: tuple[tuple[str, str], ...]
    content_hash: str
    execution_provider: str
    generator_version: int
    timings_ms: tuple[tuple[str, float], ...] = ()
    attempts: int = 1
    repaired_tiles: int = 0
    extra: dict = field(default_factory=dict, compare=False)


Event = Progress | LevelChunk | MusicBar | TextDelta | DialogReply | NpcActions | InputEnd | Asset | Final


def content_hash(assets: list[Asset]) -> str:
    """sha256 over the assets in order (name, NUL, data length, data)."""
    h = hashlib.sha256()
    for a in assets:
        h.update(a.name.encode())
        h.update(b"\0")
        h.update(len(a.data).to_bytes(8, "little"))
        h.update(a.data)
    return h.hexdigest()
