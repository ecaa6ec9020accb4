"""Dialog trees and bark sets: the data every dialog model produces, its JSON, its Yarn, its checks.

* :class:`DialogTree` — nodes (id, speaker, line, entry effects), player :class:`Choice` s with
  :class:`Condition` s and :class:`Effect` s over declared :class:`Variable` s, and an ``end``
  marker. :func:`tree_json` writes it as JSON that validates against the published schema
  (``dialog_tree.schema.json``, JSON Schema draft 2020-12, one file for trees and bark sets).
* :func:`tree_yarn` writes a Yarn Spinner 2 script: ``title:`` headers, ``---``, ``Name: text``
  lines (the name as a one-word character ID: ``Sela_Voss``), ``-> option`` choices with ``<<if ...>>`` conditions, ``<<set $var to value>>`` effects,
  ``<<jump Node>>``, ``===`` node ends; ``<<declare>>`` for every variable in the start node.
  Text is escaped where Yarn gives characters a meaning (``# { } [ ] < > / \\``).
* :func:`check_tree` — the structural validator every tree generator runs before returning:
  unique valid ids, no dangling jumps, every node reachable from the start, an end reachable from
  every node, at least one unconditional choice wherever the player must choose (nobody gets
  stuck), declared variables with matching types, and the depth limit.
"""

from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

SCHEMA_PATH = Path(__file__).with_name("dialog_tree.schema.json")
TREE_FORMAT = "gamegen.dialog_tree"
BARKS_FORMAT = "gamegen.barks"
FORMAT_VERSION = 1
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
OPS = ("==", "!=", ">=", "<=", ">", "<")
Value = Union[bool, int, float, str]


class TreeError(ValueError):
    """A tree that breaks a structural rule; ``problems`` lists every one found."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Variable:
    name: str
    type: str            # "bool", "number", "string"
    default: Value


@dataclass(frozen=True)
class Condition:
    """``$variable op value``; a choice is offered only when all its conditions hold."""

    variable: str
    op: str
    value: Value


@dataclass(frozen=True)
class Effect:
    """``op`` "set": ``$variable = value``; "add": ``$variable = $variable + value`` (numbers)."""

    variable: str
    op: str
    value: Value


@dataclass(frozen=True)
class Choice:
    text: str
    next: str | None                       # None: the conversation ends after this choice
    conditions: tuple[Condition, ...] = ()
    effects: tuple[Effect, ...] = ()


@dataclass
class Node:
    id: str
    speaker: str                           # a speaker id from DialogTree.speakers
    line: str
    choices: list[Choice] = field(default_factory=list)
    effects: tuple[Effect, ...] = ()       # applied when the node is entered
    end: bool = False                      # the conversation ends after the line
    tags: tuple[str, ...] = ()


@dataclass
class Speaker:
    id: str
    name: str
    role: str = ""


@dataclass
class DialogTree:
    title: str
    topic: str
    start: str
    speakers: list[Speaker]
    variables: list[Variable]
    nodes: list[Node]

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)


@dataclass
class BarkSet:
    """Barks per NPC: ``barks[npc_id][situation]`` is a list of short lines."""

    speakers: list[Speaker]
    situations: list[str]
    barks: dict[str, dict[str, list[str]]]


# -- the validator ------------------------------------------------------------------------------

def levels(tree: DialogTree) -> dict[str, int]:
    """Each reachable node's level: 1 for the start, BFS distance + 1 for the others."""
    ids = {n.id: n for n in tree.nodes}
    out = {tree.start: 1} if tree.start in ids else {}
    queue = deque(out)
    while queue:
        nid = queue.popleft()
        for c in ids[nid].choices:
            if c.next in ids and c.next not in out:
                out[c.next] = out[nid] + 1
                queue.append(c.next)
    return out


def depth(tree: DialogTree) -> int:
    return max(levels(tree).values(), default=0)


def check_tree(tree: DialogTree, max_depth: int | None = None) -> None:
    """Raise :class:`TreeError` listing every structural problem; return None for a sound tree."""
    problems: list[str] = []
    ids: dict[str, Node] = {}
    for n in tree.nodes:
        if n.id in ids:
            problems.append(f"duplicate node id {n.id!r}")
        if not IDENT.match(n.id):
            problems.append(f"node id {n.id!r} is not an identifier (letters, digits, _; not starting with a digit)")
        ids[n.id] = n
    speakers = {s.id for s in tree.speakers}
    variables = {v.name: v for v in tree.variables}
    for v in tree.variables:
        if not IDENT.match(v.name):
            problems.append(f"variable name {v.name!r} is not an identifier")
        if _vtype(v.default) != v.type:
            problems.append(f"variable {v.name!r} is {v.type} but its default is {v.default!r}")
    if tree.start not in ids:
        problems.append(f"start node {tree.start!r} does not exist")

    def check_var(where: str, name: str, value: Value, op: str, ops: tuple[str, ...]) -> None:
        if name not in variables:
            problems.append(f"{where}: variable {name!r} is not declared")
            return
        if op not in ops:
            problems.append(f"{where}: operator {op!r} is not one of {', '.join(ops)}")
        if _vtype(value) != variables[name].type:
            problems.append(f"{where}: {name} is {variables[name].type}, compared or set with {value!r}")
        if op in ("add", ">=", "<=", ">", "<") and variables[name].type != "number":
            problems.append(f"{where}: {op!r} needs a number variable, {name} is {variables[name].type}")

    ends: set[str] = set()            # nodes from which the conversation can end directly
    for n in tree.nodes:
        if n.speaker not in speakers:
            problems.append(f"node {n.id!r}: speaker {n.speaker!r} is not declared")
        if not n.line.strip():
            problems.append(f"node {n.id!r} has an empty line")
        for e in n.effects:
            check_var(f"node {n.id!r}", e.variable, e.value, e.op, ("set", "add"))
        if n.end:
            ends.add(n.id)
            if n.choices:
                problems.append(f"node {n.id!r} is an end node but offers choices")
            continue
        if not n.choices:
            problems.append(f"node {n.id!r} is not an end node and offers no choice (the player is stuck)")
        elif all(c.conditions for c in n.choices):
            problems.append(f"node {n.id!r}: every choice has a condition; one must always be available")
        for i, c in enumerate(n.choices):
            where = f"node {n.id!r} choice {i}"
            if not c.text.strip():
                problems.append(f"{where} has empty text")
            if c.next is None:
                ends.add(n.id)
            elif c.next not in ids:
                problems.append(f"{where} jumps to {c.next!r}, which does not exist")
            for cond in c.conditions:
                check_var(where, cond.variable, cond.value, cond.op, OPS)
            for e in c.effects:
                check_var(where, e.variable, e.value, e.op, ("set", "add"))
    if tree.start in ids:
        lv = levels(tree)
        unreachable = [n.id for n in tree.nodes if n.id not in lv]
        if unreachable:
            problems.append(f"unreachable from {tree.start!r}: {', '.join(unreachable[:8])}")
        if max_depth is not None and lv and max(lv.values()) > max_depth:
            deepest = max(lv, key=lv.get)
            problems.append(f"depth {lv[deepest]} (node {deepest!r}) is over the limit {max_depth}")
        back: dict[str, set[str]] = {}
        for n in tree.nodes:
            for c in n.choices:
                if c.next in ids:
                    back.setdefault(c.next, set()).add(n.id)
        can_end = set(ends)
        queue = deque(ends)
        while queue:
            for prev in back.get(queue.popleft(), ()):
                if prev not in can_end:
                    can_end.add(prev)
                    queue.append(prev)
        trapped = [n.id for n in tree.nodes if n.id not in can_end]
        if trapped:
            problems.append(f"no way to end the conversation from: {', '.join(trapped[:8])}")
    if problems:
        raise TreeError(problems)


def _vtype(v: Value) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    return "string"


# -- JSON ---------------------------------------------------------------------------------------

def _cond_json(c: Condition) -> dict:
    return {"variable": c.variable, "op": c.op, "value": c.value}


def _effect_json(e: Effect) -> dict:
    return {"variable": e.variable, "op": e.op, "value": e.value}


def tree_dict(tree: DialogTree) -> dict:
    return {
        "format": TREE_FORMAT, "version": FORMAT_VERSION, "title": tree.title, "topic": tree.topic,
        "start": tree.start,
        "speakers": [{"id": s.id, "name": s.name, "role": s.role} for s in tree.speakers],
        "variables": [{"name": v.name, "type": v.type, "default": v.default} for v in tree.variables],
        "nodes": [{
            "id": n.id, "speaker": n.speaker, "line": n.line, "end": n.end, "tags": list(n.tags),
            "effects": [_effect_json(e) for e in n.effects],
            "choices": [{"text": c.text, "next": c.next, "conditions": [_cond_json(x) for x in c.conditions],
                         "effects": [_effect_json(e) for e in c.effects]} for c in n.choices],
        } for n in tree.nodes],
    }


def barks_dict(barks: BarkSet) -> dict:
    return {
        "format": BARKS_FORMAT, "version": FORMAT_VERSION, "situations": list(barks.situations),
        "npcs": [{"id": s.id, "name": s.name, "role": s.role,
                  "barks": {sit: list(barks.barks[s.id][sit]) for sit in barks.situations}}
                 for s in barks.speakers],
    }


def dumps(doc: dict) -> bytes:
    """Stable JSON bytes (same content, same bytes): sorted keys, UTF-8, a final newline."""
    return (json.dumps(doc, sort_keys=True, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def tree_json(tree: DialogTree) -> bytes:
    return dumps(tree_dict(tree))


def barks_json(barks: BarkSet) -> bytes:
    return dumps(barks_dict(barks))


def tree_from_dict(doc: dict) -> DialogTree:
    """Read a tree back from its JSON form (the inverse of :func:`tree_dict`)."""
    def effects(items):
        return tuple(Effect(e["variable"], e["op"], e["value"]) for e in items)

    return DialogTree(
        title=doc["title"], topic=doc["topic"], start=doc["start"],
        speakers=[Speaker(s["id"], s["name"], s.get("role", "")) for s in doc["speakers"]],
        variables=[Variable(v["name"], v["type"], v["default"]) for v in doc["variables"]],
        nodes=[Node(id=n["id"], speaker=n["speaker"], line=n["line"], end=n["end"], tags=tuple(n.get("tags", ())),
                    effects=effects(n.get("effects", ())),
                    choices=[Choice(c["text"], c["next"], tuple(Condition(x["variable"], x["op"], x["value"])
                                                                  for x in c.get("conditions", ())),
                                    effects(c.get("effects", ()))) for c in n.get("choices", ())])
               for n in doc["nodes"]],
    )


def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


# -- Yarn Spinner 2 -----------------------------------------------------------------------------

_YARN_SPECIAL = re.compile(r"([\\#{}\[\]<>/])")


def yarn_text(text: str) -> str:
    """Text safe inside a Yarn line or option: characters Yarn reads as syntax are escaped, and
    whitespace runs (newlines included) become one space."""
    text = " ".join(text.split())
    return _YARN_SPECIAL.sub(r"\\\1", text)


def yarn_character(name: str) -> str:
    """A speaker's name as a Yarn character ID, one word (Yarn runtimes differ on spaces in the
    ``Name:`` label; one word reads the same in all of them): "Sela Voss" -> "Sela_Voss"."""
    return re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_") or "NPC"


def yarn_value(v: Value) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v) if isinstance(v, float) else str(v)
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _yarn_condition(conds: tuple[Condition, ...]) -> str:
    parts = []
    for c in conds:
        if c.op == "==" and c.value is True:
            parts.append(f"${c.variable}")
        else:
            parts.append(f"${c.variable} {c.op} {yarn_value(c.value)}")
    return " and ".join(parts)


def _yarn_effect(e: Effect) -> str:
    if e.op == "add":
        return f"<<set ${e.variable} to ${e.variable} + {yarn_value(e.value)}>>"
    return f"<<set ${e.variable} to {yarn_value(e.value)}>>"


def _yarn_tags(tags) -> str:
    return " ".join(re.sub(r"[^A-Za-z0-9_.-]", "_", t) for t in tags)


def tree_yarn(tree: DialogTree) -> bytes:
    """The tree as a Yarn Spinner 2 script (one Yarn node per tree node, the start node first)."""
    names = {s.id: yarn_character(s.name) for s in tree.speakers}
    order = [tree.node(tree.start)] + [n for n in tree.nodes if n.id != tree.start]
    out: list[str] = []
    for n in order:
        out.append(f"title: {n.id}")
        tags = ("gamegen",) + tuple(n.tags)
        out.append(f"tags: {_yarn_tags(tags)}")
        out.append("---")
        if n.id == tree.start:
            out += [f"<<declare ${v.name} = {yarn_value(v.default)}>>" for v in tree.variables]
        out += [_yarn_effect(e) for e in n.effects]
        out.append(f"{names[n.speaker]}: {yarn_text(n.line)}")
        for c in n.choices:
            cond = f" <<if {_yarn_condition(c.conditions)}>>" if c.conditions else ""
            out.append(f"-> {yarn_text(c.text)}{cond}")
            out += [f"    {_yarn_effect(e)}" for e in c.effects]
            out.append(f"    <<jump {c.next}>>" if c.next is not None else "    <<stop>>")
        if n.end:
            out.append("<<stop>>")
        out.append("===")
    return ("\n".join(out) + "\n").encode("utf-8")


def barks_yarn(barks: BarkSet) -> bytes:
    """Barks as Yarn: one node per NPC and situation (``<npc>_<situation>``), one line per bark,
    each with a ``#line:`` id so a game can pick one at random (and localise it)."""
    names = {s.id: yarn_character(s.name) for s in barks.speakers}
    out: list[str] = []
    for s in barks.speakers:
        for sit in barks.situations:
            out += [f"title: {s.id}_{sit}", f"tags: gamegen bark {sit}", "---"]
            for i, line in enumerate(barks.barks[s.id][sit]):
                out.append(f"{names[s.id]}: {yarn_text(line)} #line:{s.id}_{sit}_{i}")
            out.append("===")
    return ("\n".join(out) + "\n").encode("utf-8")


# -- plain text ---------------------------------------------------------------------------------

def _cond_text(c: Condition) -> str:
    return c.variable if (c.op == "==" and c.value is True) else f"{c.variable} {c.op} {yarn_value(c.value)}"


def _effect_text(e: Effect) -> str:
    return f"{e.variable} += {yarn_value(e.value)}" if e.op == "add" else f"{e.variable} = {yarn_value(e.value)}"


def tree_txt(tree: DialogTree) -> bytes:
    """A readable script for designers: nodes in order, numbered choices with [if ...] and {set ...}."""
    names = {s.id: s.name for s in tree.speakers}
    out = [f"{tree.title}", f"Topic: {tree.topic}", ""]
    order = [tree.node(tree.start)] + [n for n in tree.nodes if n.id != tree.start]
    for n in order:
        head = f"[{n.id}]" + ("  (end)" if n.end else "")
        out.append(head)
        if n.effects:
            out.append("  {" + ", ".join(_effect_text(e) for e in n.effects) + "}")
        out.append(f"  {names[n.speaker].upper()}: {n.line}")
        for i, c in enumerate(n.choices, 1):
            cond = f"[if {' and '.join(_cond_text(x) for x in c.conditions)}] " if c.conditions else ""
            eff = "  {" + ", ".join(_effect_text(e) for e in c.effects) + "}" if c.effects else ""
            dest = c.next if c.next is not None else "(end)"
            out.append(f"    {i}. {cond}{c.text}  -> {dest}{eff}")
        out.append("")
    return ("\n".join(out)).encode("utf-8")


def barks_txt(barks: BarkSet) -> bytes:
    out = []
    for s in barks.speakers:
        out.append(f"{s.name}" + (f", {s.role}" if s.role else ""))
        for sit in barks.situations:
            out.append(f"  {sit}:")
            out += [f"    - {line}" for line in barks.barks[s.id][sit]]
        out.append("")
    return "\n".join(out).encode("utf-8")
