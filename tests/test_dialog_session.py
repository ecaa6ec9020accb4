"""A dialog LLM served over the Session stream on a real loopback server: a tiny random Llama
built in the test (GGUF -> torch -> ONNX, as `make dialog-model` builds SmolLM2), persona at open,
replies streamed token by token, the cache kept between turns, cancel mid-turn, bad input."""

from __future__ import annotations

import json
import time

import pytest

pytest.importorskip("torch")
pytest.importorskip("gguf")

from gamegen.client import Client, InvalidArgument  # noqa: E402
from gamegen.generators.events import DialogReply, InputEnd, TextDelta  # noqa: E402

from .conftest import ServerThread  # noqa: E402

# short: the tiny test model has a 256-token context and a small vocabulary
PERSONA = {"name": "Brann", "role": "a smith", "traits": ["gruff"]}


@pytest.fixture(scope="module")
def llm(tmp_path_factory):
    from gamegen.generators.dialog.build import build_model
    from gamegen.generators.dialog.tiny import write_tiny_gguf
    from gamegen.server.registry import load_registry

    root = tmp_path_factory.mktemp("dialog-served")
    write_tiny_gguf(root / "tiny.gguf", context_length=1024)   # room for the structured-reply prompt
    build_model(root / "tiny.gguf", root / "models", quant="q8", keep_fp32=False, check_llamacpp=False,
                prompts=[("You are a guard.", "Let me in!")], n_new=8, min_agreement=0.0, threads=1)
    reg = load_registry(root / "models", device="cpu", builtins=False)
    assert not reg.refused, reg.refused
    s = ServerThread(reg)
    s.models_dir = root / "models"
    with Client(s.target, timeout=60) as c:
        yield s, c, [g.info.ref for g in reg.all()][0]
    s.stop()


def turn(session, line):
    events = list(session.send({"player_line": line}))
    return "".join(e.text for e in events if isinstance(e, TextDelta)), events


def test_conversation_streams_tokens_and_keeps_its_cache(llm):
    _, c, ref = llm
    info = {f"{m.kind}/{m.name}": m for m in c.list_models(kind="dialog")}[ref]
    assert info.sessions and info.execution_provider == "CPUExecutionProvider"
    params = {"persona": PERSONA, "sampling": {"max_tokens": 12, "temperature": 0.8}}
    with c.open_session(ref, seed=3, params=params) as a, c.open_session(ref, seed=3, params=params) as b:
        text1, events = turn(a, "Hello there.")
        assert sum(isinstance(e, TextDelta) for e in events) >= 1
        reply = next(e for e in events if isinstance(e, DialogReply))
        end = events[-1]
        assert isinstance(end, InputEnd) and end.stop_reason in ("eos", "max_tokens") and 1 <= end.tokens <= 12
        assert reply.line == text1.strip()
        text2, _ = turn(a, "And the mine?")
        assert (text1, text2) == (turn(b, "Hello there.")[0], turn(b, "And the mine?")[0])   # same seed, same words


def test_cancel_mid_turn_and_bad_input(llm):
    _, c, ref = llm
    with c.open_session(ref, seed=1, params={"persona": PERSONA, "sampling": {"max_tokens": 100,
                                                                              "temperature": 1.0}}) as s:
        events = s.send({"player_line": "Tell me everything."})
        first = next(events)
        assert isinstance(first, TextDelta)
        t0 = time.perf_counter()
        s.cancel()
        rest = list(events)
        assert rest[-1].stop_reason == "cancelled" and time.perf_counter() - t0 < 2.0
        text, events = turn(s, "Sorry, go on.")            # the conversation stays usable
        assert events[-1].stop_reason in ("eos", "max_tokens")
        with pytest.raises(InvalidArgument, match="player_line"):
            turn(s, "x" * 1001)
    with pytest.raises(InvalidArgument, match="persona.name"):
        c.open_session(ref, params={"persona": {"role": "nobody"}})
    with pytest.raises(InvalidArgument, match="temperature"):
        c.open_session(ref, params={"persona": PERSONA, "sampling": {"temperature": 9.0}})


def test_session_prefix_holds_example_exchanges_and_a_note_of_facts(llm):
    """A session's persona prefix is the card's system prompt, example exchanges in its voice and a
    closing note with its facts (all prefilled once); its replies pass the name lock and the secret
    guard (names included) and stay the same for the same seed."""
    from gamegen.generators.dialog.engine import DialogModel
    from gamegen.generators.dialog.llm import Chat

    s, c, ref = llm
    card = {**PERSONA, "knowledge": ["The mine closed."], "secrets": ["Captain Aldric sold the ore."]}
    params = {"persona": card, "sampling": {"max_tokens": 10, "temperature": 0.9}}
    got = []
    for _ in range(2):
        with c.open_session(ref, seed=4, params=params) as a:
            got.append([turn(a, line)[0] for line in ("Who are you?", "What news?")])
    assert got[0] == got[1] and all(got[0])
    model = DialogModel.load(next(s.models_dir.glob("*/*/manifest.json")).parent, threads=1)
    chat = Chat(model, 4, params)
    prefix = model.tokenizer.decode(chat.conv.prefix_ids, skip_special=False)
    assert "You are Brann, a smith" in prefix and "<|im_start|>user\nWho are you?<|im_end|>" in prefix
    assert "<|im_start|>assistant\nI'm Brann, a smith.<|im_end|>" in prefix
    assert prefix.rstrip().endswith("News you know and tell when asked: The mine closed. Answer as Brann in one "
                                     "or two short sentences.<|im_end|>")
    assert "aldric" in chat.secret_names and "sold" in chat.secret_words


EMOTIONS, ACTIONS = ["calm", "angry", "afraid"], ["none", "attack", "give_item"]


def test_structured_replies_are_valid_by_construction(llm):
    """A tiny *random* model: whatever it would say, every reply is the reply JSON, its emotion and
    action are in the session's lists, only the line streams, and the same seed gives the same reply."""
    _, c, ref = llm
    params = {"persona": PERSONA, "structured": True, "emotions": EMOTIONS, "actions": ACTIONS,
              "sampling": {"max_tokens": 8, "temperature": 1.0}}
    seen = []
    for seed in range(3):
        with c.open_session(ref, seed=seed, params=params) as s:
            for line in ("Hello there.", "Give me your sword!"):
                streamed, events = turn(s, line)
                reply = next(e for e in events if isinstance(e, DialogReply))
                assert reply.emotion in EMOTIONS and reply.action in ACTIONS, reply
                assert reply.line and reply.line == streamed.strip() and '"' not in streamed and "{" not in streamed[:1]
                assert events[-1].stop_reason in ("eos", "max_tokens")
                seen.append((seed, line, reply))
    with c.open_session(ref, seed=0, params=params) as s:
        assert next(e for e in turn(s, "Hello there.")[1] if isinstance(e, DialogReply)) == seen[0][2]
    # a secret whose giveaway words are the reply's own JSON keys: the guard watches the line only
    secretive = {**params, "persona": {**PERSONA, "secrets": ["Brann's emotion and action are an act, line by line."]}}
    with c.open_session(ref, seed=2, params=secretive) as s:
        reply = next(e for e in turn(s, "Hello there.")[1] if isinstance(e, DialogReply))
        assert reply.emotion in EMOTIONS and reply.action in ACTIONS and reply.line
    with c.open_session(ref, seed=1, params={**params, "emotions": [], "actions": []}) as s:   # the defaults
        from gamegen.generators.dialog.constrain import DEFAULT_ACTIONS, DEFAULT_EMOTIONS

        used = {p.name: p.value for p in s.opened.parameters}       # the lists as used, told at open
        assert used["emotions"] == str(list(DEFAULT_EMOTIONS)) and used["actions"] == str(list(DEFAULT_ACTIONS))

        reply = next(e for e in turn(s, "Hi.")[1] if isinstance(e, DialogReply))
        assert reply.emotion in DEFAULT_EMOTIONS and reply.action in DEFAULT_ACTIONS


def test_structured_cancel_and_bad_lists(llm):
    _, c, ref = llm
    params = {"persona": PERSONA, "structured": True, "sampling": {"max_tokens": 200, "temperature": 1.0}}
    with c.open_session(ref, seed=5, params=params) as s:
        events = s.send({"player_line": "Tell me everything."})
        first = next(events)
        assert isinstance(first, TextDelta) and first.text      # the line streams, the JSON keys do not
        t0 = time.perf_counter()
        s.cancel()
        rest = list(events)
        assert rest[-1].stop_reason == "cancelled" and time.perf_counter() - t0 < 2.0
        _, events = turn(s, "Sorry, go on.")                     # usable after a cancel, still structured
        assert next(e for e in events if isinstance(e, DialogReply)).emotion
    with pytest.raises(InvalidArgument, match=r"emotions\[1\].*'Very Angry'.*identifier"):
        c.open_session(ref, params={**params, "emotions": ["calm", "Very Angry"]})
    with pytest.raises(InvalidArgument, match=r"actions\[1\] 'none' is listed twice"):
        c.open_session(ref, params={**params, "actions": ["none", "none"]})


def test_model_written_tree_is_valid_by_construction_and_deterministic(llm, tmp_path):
    """The tiny *random* model writes every NPC line under the line grammar: whatever it samples, the
    tree validates against the published schema, passes check_tree and its Yarn parses and plays."""
    from gamegen.generators.dialog import trees
    from gamegen.generators.events import Asset, Progress

    from .test_dialog_baseline import CARDS, VALIDATOR, yarn_check

    _, c, ref = llm
    params = {"persona": CARDS["guard"], "topic": "the missing shipment", "depth": 3, "max_tokens": 12}
    events = list(c.generate(ref, seed=7, params=params, formats=["json", "yarn", "txt"]))
    got = {e.name: e.data for e in events if isinstance(e, Asset)}
    assert sum(isinstance(e, Progress) and e.stage == "written" for e in events) >= 5     # streamed per line
    doc = json.loads(got["tree.json"])
    VALIDATOR.validate(doc)
    tree = trees.tree_from_dict(doc)
    trees.check_tree(tree, max_depth=3)
    assert trees.depth(tree) == 3
    # the lines are the model's, not the baseline's: same skeleton, other words
    from gamegen.generators.dialog.generator import DialogGenerator

    skeleton = {k: v for k, v in params.items() if k != "max_tokens"}
    base = json.loads({e.name: e.data for e in DialogGenerator.tracery().generate(7, skeleton, ["json"])
                       if isinstance(e, Asset)}["tree.json"])
    assert [n["id"] for n in base["nodes"]] == [n["id"] for n in doc["nodes"]]
    assert all(a["line"] != b["line"] for a, b in zip(base["nodes"], doc["nodes"]))
    # a node whose effects record the fact as told says it, word for word (its grammar holds it)
    from gamegen.generators.dialog.persona import parse_personas

    facts = [f.rstrip(".") for f in parse_personas(CARDS["guard"])[0].facts]
    told = [n for n in doc["nodes"] if any(e["variable"].startswith("knows_") for e in n["effects"])]
    assert told and all(any(f in n["line"] for f in facts) for n in told)
    (tmp_path / "tree.yarn").write_bytes(got["tree.yarn"])
    assert yarn_check(tmp_path / "tree.yarn")["ends"] > 0
    again = {e.name: e.data for e in c.generate(ref, seed=7, params=params, formats=["json"]) if isinstance(e, Asset)}
    assert again["tree.json"] == got["tree.json"]
    other = {e.name: e.data for e in c.generate(ref, seed=8, params=params, formats=["json"]) if isinstance(e, Asset)}
    assert other["tree.json"] != got["tree.json"]


def test_model_written_barks_for_several_npcs(llm, tmp_path):
    from gamegen.generators.events import Asset

    from .test_dialog_baseline import VALIDATOR, roster, yarn_check

    _, c, ref = llm
    params = {"persona": roster("guard", "innkeeper"), "mode": "barks", "situations": "spotted_player,idle",
              "lines": 2, "max_tokens": 8}
    got = {e.name: e.data for e in c.generate(ref, seed=3, params=params, formats=["json", "yarn"])
           if isinstance(e, Asset)}
    doc = json.loads(got["barks.json"])
    VALIDATOR.validate(doc)
    assert [n["name"] for n in doc["npcs"]] == ["Brann", "Mira"]
    assert all(len(n["barks"][s]) == 2 for n in doc["npcs"] for s in ("spotted_player", "idle"))
    (tmp_path / "barks.yarn").write_bytes(got["barks.yarn"])
    assert len(yarn_check(tmp_path / "barks.yarn", start=None)["titles"]) == 4
    with pytest.raises(InvalidArgument, match="exactly one card|holds 2 cards"):
        list(c.generate(ref, seed=3, params={**params, "mode": "tree"}, formats=["json"]))


def test_chat_cli_in_process_and_over_the_server(llm, tmp_path):
    """`gamegen chat`: player lines from stdin, each reply streamed after `Brann: `; structured replies
    show [emotion, action] from the card's lists; in-process and --server say the same for one seed."""
    from pathlib import Path

    from typer.testing import CliRunner

    from gamegen.server.cli import app

    s, _, ref = llm
    card = Path(__file__).resolve().parents[1] / "generators" / "dialog" / "personas" / "guard.toml"
    args = ["chat", ref, "--persona", f"@{card}", "--seed", "4", "--max-tokens", "6", "--structured"]
    talk = "Hello there.\nGive me your sword!\n"
    local = CliRunner().invoke(app, args + ["--models", str(s.models_dir)], input=talk)
    assert local.exit_code == 0, local.output
    replies = [l for l in local.stdout.splitlines() if l.startswith("Brann: ")]
    assert len(replies) == 2
    for r in replies:
        emotion, action = r.rsplit("[", 1)[1].rstrip("]").split(", ")
        assert emotion in ("neutral", "suspicious", "angry") and action in ("attack", "follow", "open_gate")
    remote = CliRunner().invoke(app, args + ["--server", s.target], input=talk)
    assert remote.exit_code == 0 and remote.stdout == local.stdout
    bad = CliRunner().invoke(app, ["chat", ref, "--persona", str(tmp_path / "none.toml"), "--models", str(s.models_dir)])
    assert bad.exit_code == 2 and "none.toml" in bad.output
