"""The dialog kind's model-free half: persona cards, tree checks, JSON Schema, Yarn, dialog/tracery.

Server-facing behaviour runs over a real loopback server (``server``/``client`` fixtures); the CLI
runs as a subprocess. Generated Yarn is parsed and played by yarn-bound (a bondage.js fork that
follows the Yarn Spinner 2.0 spec; ``tests/yarn``, installed by ``make test`` with npm).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import grpc
import jsonschema
import numpy as np
import pytest

from gamegen.generators.dialog import trees
from gamegen.generators.dialog.generator import DialogGenerator
from gamegen.generators.dialog.persona import PersonaError, parse_personas
from gamegen.generators.dialog.tracery import SITUATIONS, Grammar, make_barks, make_tree, voice_of
from gamegen.generators.errors import InvalidArgument
from gamegen.generators.events import Asset, Final
from gamegen.generators.params import Param, ParamError
from gamegen.v1 import gamegen_pb2 as pb

from .conftest import ROOT, gamegen_cmd

PERSONAS = ROOT / "generators" / "dialog" / "personas"
NAMES = ("guard", "innkeeper", "blacksmith", "merchant")
CARDS = {n: (PERSONAS / f"{n}.toml").read_bytes() for n in NAMES}
YARN_DIR = ROOT / "tests" / "yarn"
VALIDATOR = jsonschema.Draft202012Validator(trees.schema())
MODEL = "dialog/tracery"


def roster(*names: str) -> bytes:
    """Several shipped cards as one [[persona]] file."""
    parts = []
    for n in names:
        body = CARDS[n].decode().replace("[knowledge]", "[persona.knowledge]")
        parts.append("[[persona]]\n" + "\n".join(l for l in body.splitlines() if not l.startswith("#")))
    return "\n\n".join(parts).encode()


def assets_of(events) -> dict[str, bytes]:
    return {e.name: e.data for e in events if isinstance(e, Asset)}


def yarn_check(path: Path, start: str | None = "Start") -> dict:
    """Parse and play a Yarn script with yarn-bound: every node entered, every path to its end."""
    if shutil.which("node") is None or not (YARN_DIR / "node_modules" / "yarn-bound").is_dir():
        pytest.skip("yarn-bound is not installed (make test runs `npm ci --prefix tests/yarn`)")
    r = subprocess.run(["node", str(YARN_DIR / "check.js"), str(path), *([start] if start else [])],
                       capture_output=True, text=True, timeout=60)
    out = json.loads(r.stdout)
    assert r.returncode == 0, out
    # yarn-bound keeps the space before a #hashtag or an option's <<if>>; Yarn Spinner trims it
    out["lines"] = [(who, text.strip()) for who, text in out["lines"]]
    out["options"] = [o.strip() for o in out["options"]]
    return out


# -- persona cards --------------------------------------------------------------------------------

def test_shipped_cards_parse_and_sound_different():
    cards = {n: parse_personas(CARDS[n])[0] for n in NAMES}
    assert [cards[n].name for n in NAMES] == ["Brann", "Mira", "Torvald", "Sela Voss"]
    assert cards["guard"].secrets and cards["guard"].facts and "attack" in cards["guard"].actions
    assert {voice_of(c) for c in cards.values()} == {"gruff", "cheerful", "formal", "sly"}
    many = parse_personas(roster(*NAMES))
    assert [p.id for p in many] == ["brann", "mira", "torvald", "sela_voss"]
    assert parse_personas(roster("guard", "guard"))[1].id == "brann_2"   # ids stay unique


@pytest.mark.parametrize("data, words", [
    (b"", ["empty"]),
    (b"   \n", ["empty"]),
    (b"name = 'Brann'\nfavourite_colour = 'red'\n", ["unknown key `favourite_colour`", "name, role"]),
    (b"name = 'Brann'\n[knowledge]\nrumours = ['x']\n", ["unknown key `knowledge.rumours`"]),
    (b"role = 'guard'\n", ["`name` is missing"]),
    (b"name = 'Br\xffnn'\n", ["not valid UTF-8", "0xff", "offset 10"]),
    (b"name = 'Brann\n", ["not valid TOML"]),
    (b"name = '" + b"B" * 41 + b"'\n", ["`name` is 41 characters long; at most 40"]),
    (b"name = 'Brann: the guard'\n", ["`name`", "letters, digits"]),
    (b"name = 'B'\ntraits = ['a','b','c','d','e','f','g','h','i']\n", ["`traits` has 9 items; at most 8"]),
    (b"name = 'B'\nactions = ['Give Item']\n", ["`actions` item 'Give Item'", "identifier"]),
    (b"name = 'B'\n[knowledge]\nfacts = ['" + b"x" * 201 + b"']\n", ["`knowledge.facts[0]` is 201"]),
    (b"name = 'B'\nmood = 3\n", ["`mood` must be a string"]),
    (b"[[persona]]\nname = 'A'\n[[persona]]\nrole = 'x'\n", ["`persona[1].name` is missing"]),
])
def test_bad_persona_cards_name_the_field(data, words):
    with pytest.raises(PersonaError) as e:
        parse_personas(data)
    assert e.value.field == "persona" and e.value.details.startswith("persona: ")
    for w in words:
        assert w in e.value.details, e.value.details


# -- the text parameter type --------------------------------------------------------------------

def test_text_param_checks_length_and_keeps_the_text():
    p = Param("topic", "text", "news", "what it is about", lo=1, hi=10)
    assert p.check("the wagon") == "the wagon" and p.text("the wagon") == "the wagon"
    assert p.parse("a b") == "a b" and p.allowed() == "text of 1 to 10 characters"
    for bad, words in (("", "0 characters"), ("x" * 11, "11 characters"), (3, "got int"), ("a\nb", "control")):
        with pytest.raises(ParamError) as e:
            p.check(bad)
        assert e.value.field == "topic" and words in e.value.details, e.value.details


# -- the tree model, its validator and schema ---------------------------------------------------

def small_tree() -> trees.DialogTree:
    T = trees
    return T.DialogTree(
        title="t", topic="x", start="Start", speakers=[T.Speaker("npc", "Npc")],
        variables=[T.Variable("trust", "number", 0), T.Variable("knows", "bool", False)],
        nodes=[T.Node("Start", "npc", "Hello.", [
            T.Choice("Ask", "Tell", effects=(T.Effect("trust", "add", 1),)),
            T.Choice("Friend", "Tell", conditions=(T.Condition("trust", ">=", 1),)),
            T.Choice("Bye", None)]),
            T.Node("Tell", "npc", "A fact.", effects=(T.Effect("knows", "set", True),), end=True)])


def test_check_tree_finds_every_structural_fault():
    T = trees
    T.check_tree(small_tree(), max_depth=2)
    cases = {
        "jumps to 'Nowhere'": lambda t: t.nodes[0].choices.append(T.Choice("Go", "Nowhere")),
        "unreachable from 'Start': Lost": lambda t: t.nodes.append(T.Node("Lost", "npc", "x", end=True)),
        "no way to end the conversation from: Loop": lambda t: (
            t.nodes[0].choices.append(T.Choice("Loop", "Loop")),
            t.nodes.append(T.Node("Loop", "npc", "again", [T.Choice("again", "Loop")]))),
        "depth 2 (node 'Tell') is over the limit 1": None,
        "every choice has a condition": lambda t: setattr(t.nodes[0], "choices", [t.nodes[0].choices[1]]),
        "variable 'gold' is not declared": lambda t: t.nodes[1].__setattr__(
            "effects", (T.Effect("gold", "add", 1),)),
        "is an end node but offers choices": lambda t: t.nodes[1].choices.append(T.Choice("x", "Start")),
        "duplicate node id 'Tell'": lambda t: t.nodes.append(T.Node("Tell", "npc", "x", end=True)),
        "'>=' needs a number variable": lambda t: t.nodes[0].choices.append(
            T.Choice("c", "Tell", conditions=(T.Condition("knows", ">=", True),))),
    }
    for words, breaker in cases.items():
        t = small_tree()
        if breaker:
            breaker(t)
        with pytest.raises(T.TreeError) as e:
            T.check_tree(t, max_depth=1 if breaker is None else 5)
        assert any(words in p for p in e.value.problems), (words, e.value.problems)


def test_schema_accepts_trees_and_barks_and_refuses_broken_ones():
    jsonschema.Draft202012Validator.check_schema(trees.schema())
    doc = json.loads(trees.tree_json(small_tree()))
    VALIDATOR.validate(doc)
    assert trees.tree_from_dict(doc) == small_tree()           # JSON round trip
    barks = make_barks(parse_personas(CARDS["guard"]), ["idle"], 2, np.random.default_rng(0))
    VALIDATOR.validate(json.loads(trees.barks_json(barks)))
    broken = [
        {k: v for k, v in doc.items() if k != "start"},
        {**doc, "nodes": [{**doc["nodes"][1], "choices": doc["nodes"][0]["choices"]}]},   # end with choices
        {**doc, "nodes": [{**doc["nodes"][0], "choices": []}]},                          # stuck, not end
        {**doc, "variables": [{"name": "trust", "type": "number", "default": "zero"}]},
        {**doc, "nodes": [{**doc["nodes"][0], "id": "has space"}]},
        {**doc, "format": "something.else"},
    ]
    for bad in broken:
        assert not VALIDATOR.is_valid(bad), bad


# -- the grammar engine and the baseline's content ----------------------------------------------

def test_grammar_is_deterministic_and_applies_modifiers():
    g = {"origin": ["#animal.a.capitalize# [pet:#animal#]saw #pet.s#; #pet.s# #verb.ed#."],
         "animal": ["owl", "cat", "elk", "ox"], "verb": ["hop", "jump", "try"]}
    a = [Grammar(g).expand("#origin#", np.random.default_rng(s)) for s in range(20)]
    assert a == [Grammar(g).expand("#origin#", np.random.default_rng(s)) for s in range(20)]
    assert len(set(a)) > 5
    for text in a:
        head, pet = text.split(" saw ")[0], text.split(" saw ")[1].split(";")[0]
        assert head in ("An owl", "A cat", "An elk", "An ox") and pet in ("owls", "cats", "elks", "oxes")
        assert text.split("; ")[1].split(" ")[0] == pet           # the stored symbol is reused
    with pytest.raises(ValueError, match="refers to itself"):
        Grammar({"a": ["#a#"]}).expand("#a#", np.random.default_rng(0))


def test_barks_sound_like_their_persona_and_never_tell_secrets():
    personas = parse_personas(roster(*NAMES))
    barks = make_barks(personas, SITUATIONS, 4, np.random.default_rng(3))
    lines = {p.id: {l for s in SITUATIONS for l in barks.barks[p.id][s]} for p in personas}
    assert lines["brann"].isdisjoint(lines["mira"]) and lines["mira"].isdisjoint(lines["sela_voss"])
    for p in personas:
        for s in SITUATIONS:
            got = barks.barks[p.id][s]
            assert len(got) == 4 and len(set(got)) == len(got), (p.id, s, got)
    text = trees.barks_json(barks).decode() + trees.barks_yarn(barks).decode()
    for p in personas:
        for secret in p.secrets:
            assert secret not in text and secret.split()[0] + " " + secret.split()[1] not in text


@pytest.mark.parametrize("depth, branches", [(1, 1), (2, 3), (3, 2), (4, 3), (6, 2)])
def test_trees_are_valid_by_construction_at_every_depth(depth, branches):
    for name in NAMES:
        p = parse_personas(CARDS[name])[0]
        t = make_tree(p, "the missing shipment", depth, branches, np.random.default_rng(depth))
        trees.check_tree(t, max_depth=depth)
        assert trees.depth(t) == depth
        VALIDATOR.validate(json.loads(trees.tree_json(t)))
        assert not any(s in n.line for s in p.secrets for n in t.nodes)


def test_a_card_without_facts_reveals_nothing():
    p = parse_personas(b"name = 'Pip'\nrole = 'stable boy'\ntraits = ['timid']\n")[0]
    assert voice_of(p) == "nervous"
    for seed in range(5):
        t = make_tree(p, "the horses", 4, 3, np.random.default_rng(seed))
        trees.check_tree(t, max_depth=4)
        assert not any(n.effects for n in t.nodes) and "Confide" not in {n.id for n in t.nodes}


def test_yarn_parses_and_every_path_ends(tmp_path):
    """The real parser reads back exactly the lines and options the JSON holds (escaping included)."""
    topic = "crates {marked} #7 [urgent] <sealed> // a\\b"
    p = parse_personas(CARDS["guard"])[0]
    t = make_tree(p, topic, 4, 3, np.random.default_rng(1))
    (tmp_path / "tree.yarn").write_bytes(trees.tree_yarn(t))
    out = yarn_check(tmp_path / "tree.yarn")
    assert set(out["titles"]) == {n.id for n in t.nodes}
    assert out["ends"] == out["paths"] > 10 and not out["truncated"]
    assert {tuple(x) for x in out["lines"]} == {("Brann", n.line) for n in t.nodes}
    assert set(out["options"]) == {c.text for n in t.nodes for c in n.choices}
    assert any(topic in o for o in out["options"])
    barks = make_barks(parse_personas(roster(*NAMES)), SITUATIONS, 2, np.random.default_rng(0))
    (tmp_path / "barks.yarn").write_bytes(trees.barks_yarn(barks))
    out = yarn_check(tmp_path / "barks.yarn", start=None)
    assert len(out["titles"]) == 4 * len(SITUATIONS) and b"Sela_Voss: " in trees.barks_yarn(barks)
    assert {tuple(x) for x in out["lines"]} == {(trees.yarn_character(s.name), l) for s in barks.speakers
                                                for sit in SITUATIONS for l in barks.barks[s.id][sit]}


def test_yarn_checker_refuses_a_broken_script(tmp_path):
    (tmp_path / "bad.yarn").write_text("title: Start\n---\nA: hi\n-> go\n    <<jump Nowhere>>\n===\n")
    if shutil.which("node") is None or not (YARN_DIR / "node_modules" / "yarn-bound").is_dir():
        pytest.skip("yarn-bound is not installed")
    r = subprocess.run(["node", str(YARN_DIR / "check.js"), str(tmp_path / "bad.yarn"), "Start"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "Nowhere" in r.stdout


# -- served: ListModels, Generate, errors, determinism ------------------------------------------

def test_listed_with_typed_parameters(client):
    m = {x.name: x for x in client.list_models(kind="dialog")}["tracery"]   # a built dialog LLM may be listed too
    assert (m.kind, m.name, m.execution_provider) == ("dialog", "tracery", "none")
    ps = {p.name: p for p in m.parameters}
    assert ps["persona"].type == pb.PARAMETER_TYPE_BYTES and ps["persona"].required
    assert ps["topic"].type == pb.PARAMETER_TYPE_TEXT and (ps["topic"].min, ps["topic"].max) == (1, 120)
    assert list(ps["mode"].choices) == ["tree", "barks"] and (ps["depth"].min, ps["depth"].max) == (1, 6)
    assert set(m.output_formats) == {"json", "yarn", "txt"} and m.rules
    # a remote caller (CLI --server) parses --set topic=... from the listed description alone
    from gamegen.server.convert import info_from_proto
    from gamegen.generators.params import parse_assignments

    remote = info_from_proto(m)
    assert parse_assignments(remote.params, ["topic=the old mill", "depth=4"]) == {"topic": "the old mill", "depth": 4}
    with pytest.raises(ParamError, match="121 characters"):
        parse_assignments(remote.params, ["topic=" + "x" * 121])


def test_tree_over_grpc_is_valid_and_deterministic(client, tmp_path):
    params = {"persona": CARDS["guard"], "topic": "the missing shipment", "depth": 3}
    events = list(client.generate(MODEL, seed=7, params=params, formats=["json", "yarn", "txt"]))
    got = assets_of(events)
    assert set(got) == {"tree.json", "tree.yarn", "tree.txt"}
    doc = json.loads(got["tree.json"])
    VALIDATOR.validate(doc)
    tree = trees.tree_from_dict(doc)
    trees.check_tree(tree, max_depth=3)
    assert trees.depth(tree) == 3 and doc["speakers"][0]["name"] == "Brann"
    assert b"<<declare $knows_missing_shipment = false>>" in got["tree.yarn"]
    assert b"<<set $trust to $trust + 1>>" in got["tree.yarn"] and b"<<if $trust >= 1>>" in got["tree.yarn"]
    assert b"<<if $knows_missing_shipment>>\n    <<jump Followup>>" in got["tree.yarn"]
    final = events[-1]
    assert isinstance(final, Final) and dict(final.parameters)["topic"] == "the missing shipment"
    # same seed, same bytes, over the wire and in-process; another seed, other bytes
    local = assets_of(DialogGenerator.tracery().generate(7, params, ["json", "yarn", "txt"]))
    assert local == got
    again = assets_of(client.generate(MODEL, seed=7, params=params, formats=["json"]))
    assert again["tree.json"] == got["tree.json"]
    other = assets_of(client.generate(MODEL, seed=8, params=params, formats=["json"]))
    assert other["tree.json"] != got["tree.json"]
    (tmp_path / "tree.yarn").write_bytes(got["tree.yarn"])
    assert yarn_check(tmp_path / "tree.yarn")["ends"] > 0


def test_barks_for_many_npcs_in_one_request(client):
    params = {"persona": roster(*NAMES), "mode": "barks", "situations": "spotted_player, low_health",
              "lines": 3}
    got = assets_of(client.generate(MODEL, seed=1, params=params, formats=["json", "txt"]))
    doc = json.loads(got["barks.json"])
    VALIDATOR.validate(doc)
    assert doc["situations"] == ["spotted_player", "low_health"]
    assert [n["name"] for n in doc["npcs"]] == ["Brann", "Mira", "Torvald", "Sela Voss"]
    assert all(len(n["barks"]["low_health"]) == 3 for n in doc["npcs"])
    assert b"Sela Voss, travelling merchant" in got["barks.txt"]


@pytest.mark.parametrize("params, field, words", [
    ({"persona": b""}, "persona", "empty"),
    ({"persona": b"name = 'x'\n# " + b"x" * (64 << 10)}, "persona", "64 KiB"),
    ({"persona": b"name = 'Brann'\nfavourite_colour = 'red'\n"}, "persona", "unknown key `favourite_colour`"),
    ({"persona": b"name = 'Br\xc3\x28nn'\n"}, "persona", "not valid UTF-8"),
    ({"persona": b"role = 'guard'\n"}, "persona", "`name` is missing"),
    ({"persona": CARDS["guard"], "depth": 0}, "depth", "from 1 to 6"),
    ({"persona": CARDS["guard"], "depth": 7}, "depth", "from 1 to 6"),
    ({"persona": CARDS["guard"], "topic": ""}, "topic", "1 to 120 characters"),
    ({"persona": CARDS["guard"], "topic": "x" * 121}, "topic", "121 characters"),
    ({"persona": CARDS["guard"], "mode": "poem"}, "mode", "tree, barks"),
    ({"persona": CARDS["guard"], "mode": "barks", "situations": "dancing"}, "situations", "spotted_player"),
    ({"persona": roster("guard", "innkeeper")}, "persona", "2 cards"),
    ({}, "persona", "required"),
])
def test_bad_input_is_invalid_argument_naming_the_field(client, params, field, words):
    with pytest.raises(InvalidArgument) as e:
        list(client.generate(MODEL, seed=0, params=params, formats=["json"]))
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert e.value.details.startswith(field) and words in e.value.details, e.value.details


# -- the CLI and bakes --------------------------------------------------------------------------

def test_cli_writes_tree_json_and_yarn(tmp_path):
    out = tmp_path / "tree"
    r = subprocess.run(gamegen_cmd("generate", MODEL, "--set", f"persona=@{PERSONAS / 'guard.toml'}",
                                   "--set", "topic=the missing shipment", "--set", "depth=3", "--out", str(out),
                                   "--quiet"), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["tree.json", "tree.txt", "tree.yarn"]
    local = assets_of(DialogGenerator.tracery().generate(
        0, {"persona": CARDS["guard"], "topic": "the missing shipment", "depth": 3}, ["json", "yarn"]))
    assert (out / "tree.json").read_bytes() == local["tree.json"]
    (tmp_path / "no-models").mkdir()       # the baseline needs no model folder: skip loading the others
    bad = subprocess.run(gamegen_cmd("generate", MODEL, "--set", f"persona=@{PERSONAS / 'guard.toml'}",
                                     "--set", "depth=9", "--out", str(out), "--models", str(tmp_path / "no-models")),
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "depth must be int from 1 to 6, got 9" in bad.stderr


def test_bake_reads_the_card_relative_to_the_bake_file(tmp_path):
    (tmp_path / "npcs").mkdir()
    (tmp_path / "npcs" / "guard.toml").write_bytes(CARDS["guard"])
    (tmp_path / "bake.toml").write_text(
        '[[asset]]\nname = "guard-shipment"\nmodel = "dialog/tracery"\nseed = 4\n'
        'params = { persona = "npcs/guard.toml", topic = "the missing shipment", depth = 4 }\n'
        'formats = ["json", "yarn"]\n')
    (tmp_path / "no-models").mkdir()
    r = subprocess.run(gamegen_cmd("bake", str(tmp_path / "bake.toml"), "--out", str(tmp_path / "out"),
                                   "--models", str(tmp_path / "no-models")),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "baked 1" in r.stdout, r.stdout + r.stderr
    local = assets_of(DialogGenerator.tracery().generate(
        4, {"persona": CARDS["guard"], "topic": "the missing shipment", "depth": 4}, ["json", "yarn"]))
    assert (tmp_path / "out" / "guard-shipment" / "tree.yarn").read_bytes() == local["tree.yarn"]


# -- the metrics the benchmark reports ----------------------------------------------------------

def test_text_metrics():
    from gamegen.generators.dialog import metrics as M

    assert M.bleu("the gate closes at sundown", ["the gate closes at sundown"]) == pytest.approx(1.0)
    assert M.bleu("halt who goes there", ["welcome dear have some stew"]) == 0.0
    assert 0 < M.bleu("the gate closes at dawn", ["the gate closes at sundown"]) < 1
    assert M.distinct_n(["a b c", "a b c"], 2) == 0.5 and M.distinct_n(["a b", "c d"], 2) == 1.0
    assert M.self_bleu({"x": ["stop right there"], "y": ["stop right there"]}) == pytest.approx(1.0)
    guard = parse_personas(CARDS["guard"])[0]
    assert M.persona_word_usage(guard, ["The wagon is late.", "Hello."]) == 0.5
    train = {"a": ["gate watch spear"], "b": ["stew ale room"]}
    assert M.attribution_accuracy(train, {"a": ["the gate"], "b": ["more ale"]}) == 1.0
