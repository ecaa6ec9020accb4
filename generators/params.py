"""Parameter specifications: each generator states its parameters once, here-shaped.

Everything else derives from a generator's list of :class:`Param`: request validation and its
error messages, what ``ListModels`` reports, how the CLI parses ``--set key=value``, the bake
file's ``params`` table and the README's parameter tables.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence


class ParamError(ValueError):
    """A parameter value is not allowed. ``field`` names it; the message says what is allowed."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Param:
    """One parameter of a generator.

    ``type`` is one of ``"int"``, ``"float"``, ``"bool"``, ``"choice"``, ``"bytes"``. ``lo``/``hi``
    are inclusive bounds for numbers, and for ``"bytes"`` (an uploaded file: an image, a MIDI
    file ...) the allowed size in bytes; a bytes parameter's default is ``None`` (not sent).
    ``choices`` lists allowed values for ``"choice"``; ``what`` says what a bytes upload must be.
    """

    name: str
    type: str
    default: Any
    doc: str
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = field(default_factory=tuple)
    what: str = "a file"

    def allowed(self) -> str:
        if self.type == "bytes":
            return f"{self.what} of {_size(self.lo)} to {_size(self.hi)}"
        if self.type in ("int", "float"):
            return f"{self.type} from {_fmt(self.lo)} to {_fmt(self.hi)}"
        if self.type == "choice":
            return "one of " + ", ".join(self.choices)
        return "true or false"

    def check(self, value: Any) -> Any:
        """Return the canonical value or raise :class:`ParamError` naming field, value, range."""
        if self.type == "int":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                isinstance(value, float) and not value.is_integer()
            ):
                raise ParamError(self.name, f"{self.name} must be an integer ({self.allowed()}), got {value!r}")
            value = int(value)
        elif self.type == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ParamError(self.name, f"{self.name} must be a finite number ({self.allowed()}), got {value!r}")
            # Canonical form: round-trip through float32-safe precision so proto doubles,
            # CLI text and TOML floats all hash the same.
            value = float(f"{float(value):.6g}")
        elif self.type == "bool":
            if not isinstance(value, bool):
                raise ParamError(self.name, f"{self.name} must be true or false, got {value!r}")
        elif self.type == "choice":
            if value not in self.choices:
                raise ParamError(self.name, f"{self.name} must be {self.allowed()}, got {value!r}")
        elif self.type == "bytes":
            if not isinstance(value, (bytes, bytearray, memoryview)):
                raise ParamError(self.name, f"{self.name} must be {self.allowed()} (bytes), got {type(value).__name__}")
            value = bytes(value)
            if not (self.lo <= len(value) <= self.hi):
                what = "empty (0 bytes)" if not value else f"{_size(len(value))}"
                raise ParamError(self.name, f"{self.name} is {what}; it must be {self.allowed()}")
            return value
        if self.type in ("int", "float") and not (self.lo <= value <= self.hi):
            raise ParamError(self.name, f"{self.name} must be {self.allowed()}, got {_fmt(value)}")
        return value

    def parse(self, text: str) -> Any:
        """Parse a CLI ``--set name=text`` value, then check it. Bytes take ``@path`` (or a path)."""
        if self.type == "bytes":
            return self.check(read_upload(self.name, text))
        try:
            if self.type == "int":
                value: Any = int(text)
            elif self.type == "float":
                value = float(text)
            elif self.type == "bool":
                low = text.strip().lower()
                if low not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                value = low in ("true", "1", "yes")
            else:
                value = text
        except ValueError:
            raise ParamError(self.name, f"{self.name} must be {self.allowed()}, got {text!r}") from None
        return self.check(value)

    def text(self, value: Any) -> str:
        """Canonical text form (used in hashes, Final.parameters and docs)."""
        if self.type == "bool":
            return "true" if value else "false"
        if self.type == "bytes":
            # Uploads are named by content in hashes, Final.parameters and bake cache keys.
            return "none" if value is None else f"sha256:{hashlib.sha256(value).hexdigest()}"
        return _fmt(value)


def read_upload(name: str, text: str, base: Path | None = None) -> bytes:
    """The bytes of the file named by ``@path`` or ``path`` (relative to ``base`` if given)."""
    path = Path(text[1:] if text.startswith("@") else text).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    try:
        return path.read_bytes()
    except OSError as e:
        raise ParamError(name, f"{name}: cannot read file {str(path)!r}: {e.strerror or e}") from None


def _size(n: float | None) -> str:
    n = int(n or 0)
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20} MiB"
    if n >= 1 << 10 and n % (1 << 10) == 0:
        return f"{n >> 10} KiB"
    return f"{n} bytes" if n != 1 else "1 byte"


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def validate(specs: Sequence[Param], given: Mapping[str, Any], *, where: str = "") -> dict[str, Any]:
    """Check ``given`` against ``specs``; fill defaults. Returns a dict in spec order.

    Raises :class:`ParamError` for unknown names (listing the known ones) and bad values.
    """
    by_name = {p.name: p for p in specs}
    for name in given:
        if name not in by_name:
            known = ", ".join(by_name) or "none"
            owner = f" of {where}" if where else ""
            raise ParamError(name, f"{name} is not a parameter{owner}; parameters are: {known}")
    return {p.name: (p.check(given[p.name]) if name_in(given, p.name) else p.default) for p in specs}


def name_in(given: Mapping[str, Any], name: str) -> bool:
    return name in given and given[name] is not None


def parse_assignments(specs: Sequence[Param], items: Iterable[str], *, where: str = "") -> dict[str, Any]:
    """Parse CLI ``key=value`` strings into checked values (unknown keys are errors)."""
    by_name = {p.name: p for p in specs}
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ParamError(item, f"--set expects key=value, got {item!r}")
        key, text = item.split("=", 1)
        key = key.strip()
        if key not in by_name:
            known = ", ".join(by_name) or "none"
            owner = f" of {where}" if where else ""
            raise ParamError(key, f"{key} is not a parameter{owner}; parameters are: {known}")
        out[key] = by_name[key].parse(text.strip())
    return out


def canonical_text(specs: Sequence[Param], values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(name, canonical text) pairs in spec order: the form that goes into hashes."""
    return [(p.name, p.text(values[p.name])) for p in specs]


def markdown_table(specs: Sequence[Param]) -> str:
    """The README's parameter table for one generator."""
    lines = ["| parameter | allowed | default | what it does |", "|---|---|---|---|"]
    for p in specs:
        lines.append(f"| `{p.name}` | {p.allowed()} | {p.text(p.default)} | {p.doc} |")
    return "\n".join(lines)
