"""The persona card: who an NPC is, what it knows, what it must not tell. Shared by every dialog model.

A card is a small UTF-8 TOML file (the CLI sends it as ``--set persona=@guard.toml``)::

    name = "Brann"                                 # required; how lines are attributed
    role = "gate guard of Eastwatch"
    traits = ["gruff", "dutiful", "suspicious"]
    mood = "wary"
    speech_style = "terse, clipped orders"
    actions = ["attack", "follow"]                 # optional: what the game lets it do
    emotions = ["neutral", "angry", "suspicious"]  # optional: what the game can show

    [knowledge]
    facts = ["The supply wagon from Millbrook is three days late."]
    secrets = ["Captain Aldric sold the shipment to smugglers."]   # never said

A file may instead hold several cards as ``[[persona]]`` tables (barks for many NPCs in one
request). :func:`check_persona` is the parameter's header check: it refuses, naming the
``persona`` field and the card's own field, invalid UTF-8, invalid TOML, unknown keys, a missing
name, and any value over the limits in :data:`LIMITS`.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass

from ..params import ParamError

MAX_BYTES = 64 << 10          # one card is ~1 KiB; a roster of MAX_CARDS stays far below this
MAX_CARDS = 16

# field -> (most items, most characters per item); scalars have items = 1
LIMITS: dict[str, tuple[int, int]] = {
    "name": (1, 40),
    "role": (1, 80),
    "traits": (8, 24),
    "mood": (1, 24),
    "speech_style": (1, 120),
    "facts": (16, 200),
    "secrets": (8, 200),
    "actions": (16, 32),
    "emotions": (16, 32),
}
SCALARS = ("name", "role", "mood", "speech_style")
LISTS = ("traits", "actions", "emotions")
TOP_KEYS = SCALARS + LISTS + ("knowledge",)
KNOWLEDGE_KEYS = ("facts", "secrets")
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9 .'\-]*$")      # a Yarn character name: no ':' or markup
IDENT_RE = re.compile(r"^[a-z][a-z0-9_]*$")                # actions / emotions the game switches on


@dataclass(frozen=True)
class Persona:
    """One NPC. ``id`` is a slug of the name, unique within a roster (used in node titles)."""

    name: str
    role: str = ""
    traits: tuple[str, ...] = ()
    mood: str = "neutral"
    speech_style: str = ""
    facts: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    emotions: tuple[str, ...] = ()
    id: str = ""

    def as_dict(self) -> dict:
        """The card as it appears in JSON outputs (secrets are left out: they never leave the server)."""
        return {"id": self.id, "name": self.name, "role": self.role, "traits": list(self.traits),
                "mood": self.mood, "speech_style": self.speech_style}


class PersonaError(ParamError):
    def __init__(self, message: str, field: str = "persona"):
        super().__init__(field, f"{field}: {message}")


def slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return s if s and s[0].isalpha() else f"npc_{s}"


def _text(value, where: str, limit: int) -> str:
    if not isinstance(value, str):
        raise PersonaError(f"`{where}` must be a string, got {type(value).__name__} {value!r:.40}")
    value = value.strip()
    if len(value) > limit:
        raise PersonaError(f"`{where}` is {len(value)} characters long; at most {limit}")
    if any(ord(c) < 32 for c in value):
        raise PersonaError(f"`{where}` must be one line of text (no control characters or newlines)")
    return value


def _list(value, where: str, key: str) -> tuple[str, ...]:
    most, limit = LIMITS[key]
    if not isinstance(value, list):
        raise PersonaError(f"`{where}` must be a list of strings, got {type(value).__name__}")
    if len(value) > most:
        raise PersonaError(f"`{where}` has {len(value)} items; at most {most}")
    items = tuple(_text(v, f"{where}[{i}]", limit) for i, v in enumerate(value))
    if any(not v for v in items):
        raise PersonaError(f"`{where}` has an empty item")
    return items


def _card(table: dict, where: str) -> Persona:
    unknown = [k for k in table if k not in TOP_KEYS]
    if unknown:
        raise PersonaError(f"unknown key `{where}{unknown[0]}`; a card has: {', '.join(TOP_KEYS)} "
                           f"(knowledge: {', '.join(KNOWLEDGE_KEYS)})")
    if "name" not in table:
        raise PersonaError(f"`{where}name` is missing: every card needs a name")
    values: dict = {}
    for key in SCALARS:
        if key in table:
            values[key] = _text(table[key], where + key, LIMITS[key][1])
    if not values["name"]:
        raise PersonaError(f"`{where}name` is empty")
    if not NAME_RE.match(values["name"]):
        raise PersonaError(f"`{where}name` {values['name']!r} may hold letters, digits, spaces and . ' - only, "
                           "starting with a letter (it is the speaker's name in Yarn scripts)")
    for key in LISTS:
        if key in table:
            values[key] = _list(table[key], where + key, key)
    for key in ("actions", "emotions"):
        for v in values.get(key, ()):
            if not IDENT_RE.match(v):
                raise PersonaError(f"`{where}{key}` item {v!r} must be a lower-case identifier (a-z, 0-9, _), "
                                   "e.g. give_item")
    knowledge = table.get("knowledge", {})
    if not isinstance(knowledge, dict):
        raise PersonaError(f"`{where}knowledge` must be a table with facts and secrets")
    unknown = [k for k in knowledge if k not in KNOWLEDGE_KEYS]
    if unknown:
        raise PersonaError(f"unknown key `{where}knowledge.{unknown[0]}`; knowledge has: {', '.join(KNOWLEDGE_KEYS)}")
    for key in KNOWLEDGE_KEYS:
        if key in knowledge:
            values[key] = _list(knowledge[key], f"{where}knowledge.{key}", key)
    return Persona(**values, id=slug(values["name"]))


def parse_personas(data: bytes, field: str = "persona") -> list[Persona]:
    """The cards in a persona file (one card, or ``[[persona]]`` tables); raises :class:`PersonaError`
    naming ``field``."""
    try:
        return _parse(data)
    except PersonaError as e:
        if field == "persona":
            raise
        raise PersonaError(e.details.split(": ", 1)[1], field) from None


def _parse(data: bytes) -> list[Persona]:
    if not data.strip():
        raise PersonaError("the file is empty; it must be a TOML persona card with at least `name`")
    if len(data) > MAX_BYTES:
        raise PersonaError(f"the file is {len(data)} bytes; at most {MAX_BYTES} (64 KiB)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PersonaError(f"not valid UTF-8: byte 0x{data[e.start]:02x} at offset {e.start}; "
                           "save the card as UTF-8") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PersonaError(f"not valid TOML: {e}") from None
    if "persona" in doc:
        extra = [k for k in doc if k != "persona"]
        if extra:
            raise PersonaError(f"unknown key `{extra[0]}` next to [[persona]] cards; "
                               "put every field inside a [[persona]] table")
        cards = doc["persona"]
        if not isinstance(cards, list) or not cards:
            raise PersonaError("`persona` must be an array of tables ([[persona]]), one per card")
        if len(cards) > MAX_CARDS:
            raise PersonaError(f"{len(cards)} cards; at most {MAX_CARDS} in one file")
        personas = [_card(c, f"persona[{i}].") for i, c in enumerate(cards)]
    else:
        personas = [_card(doc, "")]
    seen: dict[str, int] = {}
    out = []
    for p in personas:                   # ids unique within a roster: brann, brann_2, ...
        n = seen.get(p.id, 0) + 1
        seen[p.id] = n
        out.append(p if n == 1 else Persona(**{**p.__dict__, "id": f"{p.id}_{n}"}))
    return out


def check_persona(field: str, data: bytes) -> None:
    """The ``persona`` parameter's check (``Param.sniff``): parse and validate every card."""
    parse_personas(data, field)
