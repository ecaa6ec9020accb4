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
from typing import Any, Callable, Iterable, Mapping, Sequence

from .errors import InvalidArgument


class ParamError(InvalidArgument):
    """A parameter value is not allowed. ``field`` names it; the message says what is allowed."""

    def __init__(self, field: str, message: str):
        super().__init__(message, field=field)


@dataclass(frozen=True)
class Param:
    """One parameter of a generator: every check a value can fail is declared here.

    ``type`` is one of ``"int"``, ``"float"``, ``"bool"``, ``"choice"``, ``"bytes"``, ``"text"``.

    * ``lo``/``hi``: inclusive bounds for numbers; for ``"bytes"`` (an uploaded file: an image, a
      MIDI file ...) the allowed size in bytes. A bytes parameter's default is ``None`` (not sent).
    * ``choices``: the allowed values of a ``"choice"`` (strings) or of an ``"int"`` (integers,
      e.g. terrain sizes 33, 65, ... 1025).
    * ``multiple_of``: an ``"int"`` must be a multiple of it (texture sizes of 16).
    * ``required``: the request must send it (uploads a generator cannot work without).
    * ``what``: what a bytes upload must be, in words; ``sniff(name, data)`` checks its header
      (magic bytes, image size, MIDI structure) cheaply, before any work, raising
      :class:`ParamError`.
    * ``text``: free text (a dialog topic ...); ``lo``/``hi`` bound its length in characters and
      ``sniff(name, text)``, when given, checks its content. Its canonical form is the text itself.
    * ``hint``: a few words on why a rule exists, appended to its error message.
    """

    name: str
    type: str
    default: Any
    doc: str
    lo: float | None = None
    hi: float | None = None
    choices: tuple = field(default_factory=tuple)
    what: str = "a file"
    multiple_of: int | None = None
    required: bool = False
    sniff: Callable[[str, bytes], None] | None = field(default=None, compare=False)
    hint: str = ""

    def allowed(self) -> str:
        if self.type == "bytes":
            text = f"{self.what} of {_size(self.lo)} to {_size(self.hi)}"
        elif self.type == "int" and self.choices:
            text = "one of " + ", ".join(str(c) for c in self.choices)
        elif self.type in ("int", "float"):
            text = f"{self.type} from {_fmt(self.lo)} to {_fmt(self.hi)}"
            if self.multiple_of:
                text = f"a multiple of {self.multiple_of} from {_fmt(self.lo)} to {_fmt(self.hi)}"
        elif self.type == "choice":
            text = "one of " + ", ".join(self.choices)
        elif self.type == "text":
            text = f"text of {_fmt(self.lo)} to {_fmt(self.hi)} characters"
        else:
            text = "true or false"
        return text + ("; required" if self.required else "")

    def _why(self) -> str:
        return f" ({self.hint})" if self.hint else ""

    def check(self, value: Any) -> Any:
        """Return the canonical value or raise :class:`ParamError` naming field, value, range."""
        if self.type == "int":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                isinstance(value, float) and not value.is_integer()
            ):
                raise ParamError(self.name, f"{self.name} must be an integer ({self.allowed()}), got {value!r}")
            value = int(value)
            if self.choices and value not in self.choices:
                raise ParamError(self.name, f"{self.name} must be {self.allowed()}{self._why()}, got {value}")
            if self.multiple_of and value % self.multiple_of:
                raise ParamError(self.name, f"{self.name} {value} is not supported: it must be {self.allowed()}"
                                            f"{self._why()}")
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
                raise ParamError(self.name, f"{self.name} must be {self.allowed()}{self._why()}, got {value!r}")
        elif self.type == "bytes":
            if not isinstance(value, (bytes, bytearray, memoryview)):
                raise ParamError(self.name, f"{self.name} must be {self.allowed()} (bytes), got {type(value).__name__}")
            value = bytes(value)
            if not (self.lo <= len(value) <= self.hi):
                what = "empty (0 bytes)" if not value else f"{_size(len(value))}"
                raise ParamError(self.name, f"{self.name} is {what}; it must be {self.allowed()}")
            if self.sniff is not None:
                self.sniff(self.name, value)
            return value
        elif self.type == "text":
            if not isinstance(value, str):
                raise ParamError(self.name, f"{self.name} must be {self.allowed()}, got {type(value).__name__}")
            if not (self.lo <= len(value) <= self.hi):
                raise ParamError(self.name, f"{self.name} is {len(value)} characters long; it must be {self.allowed()}")
            bad = next((c for c in value if ord(c) < 32 or 127 <= ord(c) < 160), None)
            if bad is not None:
                raise ParamError(self.name, f"{self.name} must be one line of printable text, got the control "
                                            f"character {bad!r} in {value[:40]!r}")
            if self.sniff is not None:
                self.sniff(self.name, value)
            return value
        if self.type in ("int", "float") and not (self.lo <= value <= self.hi):
            raise ParamError(self.name, f"{self.name} must be {self.allowed()}, got {_fmt(value)}")
        return value

    def missing(self, where: str = "") -> ParamError:
        """The error for a required parameter that was not sent."""
        owner = f" by {where}" if where else ""
        cli = f" (CLI: --set {self.name}=@file)" if self.type == "bytes" else ""
        return ParamError(self.name, f"{self.name} is required{owner}: send {self.what if self.type == 'bytes' else self.allowed()}{cli}")


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
        if self.type == "text":
            return value
        if self.type == "bytes":
            # Uploads are named by content in hashes, Final.parameters and bake cache keys.
            return "none" if value is None else f"sha256:{hashlib.sha256(value).hexdigest()}"
        return _fmt(value)


@dataclass(frozen=True)
class Rule:
    """A check across several parameters: ``check(values)`` returns an error message or None.

    ``fields`` are the parameters it reads (the first is named in the error); ``doc`` says the
    rule in words for ListModels, the CLI and the README.
    """

    fields: tuple[str, ...]
    doc: str
    check: Callable[[Mapping[str, Any]], str | None] = field(compare=False)

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


def validate(specs: Sequence[Param], given: Mapping[str, Any], *, where: str = "",
             rules: Sequence[Rule] = ()) -> dict[str, Any]:
    """Check ``given`` against ``specs`` and ``rules``; fill defaults. Returns a dict in spec order.

    Raises :class:`ParamError` for unknown names (listing the known ones), bad values, missing
    required parameters and broken cross-field rules.
    """
    by_name = {p.name: p for p in specs}
    for name in given:
        if name not in by_name:
            known = ", ".join(by_name) or "none"
            owner = f" of {where}" if where else ""
            raise ParamError(name, f"{name} is not a parameter{owner}; parameters are: {known}")
    values = {}
    for p in specs:
        if name_in(given, p.name):
            values[p.name] = p.check(given[p.name])
        elif p.required:
            raise p.missing(where)
        else:
            values[p.name] = p.default
    for rule in rules:
        problem = rule.check(values)
        if problem:
            raise ParamError(rule.fields[0], problem)
    return values


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


def markdown_table(specs: Sequence[Param], rules: Sequence[Rule] = ()) -> str:
    """The README's parameter table for one generator (and its cross-field rules, if any)."""
    lines = ["| parameter | allowed | default | what it does |", "|---|---|---|---|"]
    for p in specs:
        lines.append(f"| `{p.name}` | {p.allowed()} | {p.text(p.default)} | {p.doc} |")
    lines += [f"\nRule: {r.doc}" for r in rules]
    return "\n".join(lines)
