"""A dialog LLM served: NPC conversations over the Session stream, streamed token by token.

``from_model`` loads a dialog model folder (``python -m gamegen.generators.dialog.build``):
:class:`~.engine.DialogModel` (tokenizer, ONNX Runtime engine, checksums). A session is one
:class:`~.decode.Conversation`: the persona becomes its prefix once, at ``open`` (:func:`persona_chat`:
a system prompt, example exchanges, a closing note of facts; structured: :func:`persona_prompt`); each
turn feeds only the player's line after the kept KV cache, and its reply streams as text deltas,
then a ``DialogReply`` and an ``end`` (stop reason, timings, tokens). Cancelling a turn stops
decoding at the next token; the conversation stays usable. Long conversations drop their oldest
turns and keep the persona (the overflow policy of :class:`~.decode.Conversation`).

Structured replies (``structured=true``): emotion and action from the session's lists, then the
line, decoded under a JSON grammar by llguidance inside our loop (:mod:`.constrain`); only the
line streams. Every reply is guarded against the persona's secrets (:class:`.constrain.SecretGuard`),
and says the card's name when the NPC names itself (:class:`.constrain.NameLock`).

Generate with a model writes a dialog tree or barks (:mod:`.llm_content`): the Tracery skeleton
with every NPC line written by the model under a line grammar — same parameters, formats and
schema as ``dialog/tracery``, valid by construction, deterministic by seed.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from ..base import Generator, GeneratorInfo, Product
from ..errors import FailedPrecondition, InvalidArgument
from ..events import DialogReply, Event, InputEnd, Progress, TextDelta
from ..params import Param, Rule
from .generator import FORMATS, DialogGenerator, _one_card_for_trees, dialog_params, parse_situations
from .persona import parse_personas

GENERATOR_VERSION = 2      # 2: Generate writes trees and barks (1: one line per topic)
MAX_LINE = 1000          # characters in one player line
MAX_PERSONA = 4000       # characters in the composed persona prompt


def persona_prompt(p: Mapping[str, Any], structured: tuple[Sequence[str], Sequence[str]] | None = None) -> str:
    """The one-message system prompt for a persona (DialogPersona fields, or a card's), used by the
    model-written trees and barks (:mod:`.llm_content`); ``structured``: (emotions, actions) a
    structured reply chooses from (the prompt asks for the reply's JSON). Conversations use
    :func:`persona_chat`."""
    name = _name(p)
    lines = [f"You are {name}" + (f", {p['role']}" if p.get("role") else "") + ", a character in a game."]
    if p.get("traits"):
        lines.append("Your traits: " + ", ".join(p["traits"]) + ".")
    if p.get("mood"):
        lines.append(f"Your mood: {p['mood']}.")
    if p.get("speech_style"):
        lines.append(f"How you speak: {p['speech_style']}.")
    facts = list(p.get("knowledge", p.get("facts", ())))
    if facts:
        lines.append("What you know: " + " ".join(f.rstrip(".") + "." for f in facts))
    secrets = list(p.get("secrets", ()))
    if secrets:
        lines.append("Never reveal, whatever the player says: " + " ".join(s.rstrip(".") + "." for s in secrets))
    lines.append("Stay in character. Answer the player in one or two short sentences.")
    if structured:
        lines.append(_json_rule(structured))
    return _fits("\n".join(lines))


def _name(p: Mapping[str, Any]) -> str:
    name = str(p.get("name", "")).strip()
    if not name:
        raise InvalidArgument("persona.name is required: the NPC's name", field="persona.name")
    return name


def _json_rule(structured) -> str:
    emotions, actions = structured
    return ('Reply with JSON only: {"emotion": one of ' + ", ".join(emotions) + ', "action": one of '
            + ", ".join(actions) + ', "line": what you say}.')


def _fits(text: str) -> str:
    if len(text) > MAX_PERSONA:
        raise InvalidArgument(f"persona is {len(text)} characters once composed; at most {MAX_PERSONA} fit "
                              "(shorten knowledge or traits)", field="persona")
    return text


def _the(role: str) -> str:
    """"gate guard of Eastwatch" -> "the gate guard of Eastwatch"; "a travelling merchant" stays."""
    return role if role.split(" ", 1)[0].lower() in ("a", "an", "the", "my", "his", "her", "their") else "the " + role


def persona_chat(p: Mapping[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    """A free conversation's persona prefix: (system prompt, the messages that follow it), for
    :class:`~.decode.Conversation` (``examples``). The layout SmolLM2-135M follows best of those
    measured (BENCHMARKS.md, "Persona consistency and secret leaks"):

    1. a system message of short second-person sentences: "You are Brann, the gate guard of
       Eastwatch, a character in a game. You are gruff, dutiful, suspicious. ..." and the secrets
       ("Your secret (never tell it): ...");
    2. example exchanges in the NPC's voice, written from the card alone: "Who are you?" ->
       "I'm Brann, the gate guard of Eastwatch." and "Anything happening around here?" -> its first
       fact;
    3. a closing system note right before the player's turns: the name and role again and every
       fact ("News you know and tell when asked: ...").

    Same for any card: nothing here knows the shipped ones. Raises InvalidArgument naming
    ``persona`` when the whole is over :data:`MAX_PERSONA` characters. Structured sessions keep
    :func:`persona_prompt` (with this layout their replies got worse: see BENCHMARKS.md,
    "Structured replies")."""
    name = _name(p)
    role = str(p.get("role", "")).strip()
    who = f"{name}, {_the(role)}" if role else name
    lines = [f"You are {who}, a character in a game."]
    if p.get("traits"):
        lines.append("You are " + ", ".join(p["traits"]) + ".")
    if p.get("mood"):
        lines.append(f"You feel {p['mood']}.")
    if p.get("speech_style"):
        lines.append(f"You speak in a {p['speech_style']} way.")
    for s in p.get("secrets", ()):
        lines.append(f"Your secret (never tell it): {s}")
    facts = [str(f).strip() for f in p.get("knowledge", p.get("facts", ()))]
    examples = [("user", "Who are you?"), ("assistant", f"I'm {who}.")]
    if facts:
        examples += [("user", "Anything happening around here?"), ("assistant", facts[0])]
    note = f"You are {who}."
    if facts:
        note += " News you know and tell when asked: " + " ".join(f.rstrip(".") + "." for f in facts)
    note += f" Answer as {name} in one or two short sentences."
    examples.append(("system", note))
    system = "\n".join(lines)
    _fits(system + "".join(t for _, t in examples))
    return system, examples


def sampling(d: Mapping[str, Any]):
    from .decode import SamplingParams

    s = SamplingParams(temperature=float(d.get("temperature", 0.7)), top_p=float(d.get("top_p", 0.9)),
                       max_new_tokens=int(d.get("max_tokens", 96)),
                       repetition_penalty=float(d.get("repetition_penalty", 1.1)))
    for name, (lo, hi) in s.LIMITS.items():
        v = getattr(s, name)
        if not lo <= v <= hi:
            field = {"max_new_tokens": "max_tokens"}.get(name, name)
            raise InvalidArgument(f"sampling.{field} must be from {lo:g} to {hi:g}, got {v:g}", field=f"sampling.{field}")
    return s


class Chat:
    """One conversation held by a session.

    ``structured=true``: every reply is decoded against the reply grammar (:mod:`.constrain`):
    emotion and action from the session's lists (``emotions``/``actions``; empty: the defaults
    :data:`~.constrain.DEFAULT_EMOTIONS`/:data:`~.constrain.DEFAULT_ACTIONS`), then the line.
    Only the line streams as text deltas; the ``DialogReply`` carries line, emotion and action.
    ``sampling.max_tokens`` is then the line's budget (the JSON around it is not counted).

    The persona is the prefix of :func:`persona_chat` (a system prompt, example exchanges, a
    closing note with the facts; a structured session: :func:`persona_prompt`). A
    :class:`~.constrain.NameLock` makes the NPC say the card's name whenever it names itself
    ("I'm ...", "My name is ...").

    Secrets: the persona's secrets are in the system prompt (the NPC knows them), and a
    :class:`~.constrain.SecretGuard` keeps each secret's giveaway words (those found nowhere else
    on the card) and near-spellings of its names ("Alder" for Aldric) out of every reply.
    """

    def __init__(self, model, seed: int, params: Mapping[str, Any]):
        from .constrain import DEFAULT_ACTIONS, DEFAULT_EMOTIONS, check_choices
        from .decode import Conversation
        from .errors import DialogInputError

        self.model = model
        self.params = sampling(params.get("sampling", {}))
        self.structured = None
        if params.get("structured"):
            try:
                self.structured = (check_choices("emotions", params.get("emotions"), DEFAULT_EMOTIONS),
                                   check_choices("actions", params.get("actions"), DEFAULT_ACTIONS))
            except ValueError as e:
                raise InvalidArgument(str(e), field=str(e).split("[")[0].split(" ")[0]) from None
            try:
                from .constrain import guide_for

                guide_for(model)
            except ImportError:
                raise FailedPrecondition("structured replies need the llguidance package on the server "
                                         "(pip install llguidance); open the session with structured=false") from None
        p = params.get("persona", {})
        system, examples = (persona_prompt(p, self.structured), []) if self.structured else persona_chat(p)
        try:
            self.conv = Conversation(model.engine, model.tokenizer, system, seed=seed, examples=examples)
        except DialogInputError as e:
            raise InvalidArgument(str(e), field="persona") from None
        from .constrain import secret_names, secret_words, whole_words

        self.name = _name(p)
        rest = [str(p.get(k, "")) for k in ("name", "role", "mood", "speech_style")]
        rest += list(p.get("traits", ())) + list(p.get("knowledge", ()))
        secrets = list(p.get("secrets", ()))
        self.secret_words = secret_words(secrets, rest)
        self.secret_names = secret_names(secrets, rest, whole_words(model.tokenizer)) if secrets else []

    def step(self, value: Mapping[str, Any]) -> Iterator[Event]:
        from dataclasses import replace

        from .constrain import NameLock, ReplyText, SecretGuard, guide_for, parse_reply
        from .errors import DialogInputError

        line = str(value.get("player_line", ""))
        if not line.strip():
            raise InvalidArgument("player_line is empty; send the player's words", field="player_line")
        if len(line) > MAX_LINE:
            raise InvalidArgument(f"player_line is {len(line)} characters; at most {MAX_LINE}", field="player_line")
        stop = threading.Event()
        params, processors, reply_text = self.params, (), None
        if self.structured:
            c = guide_for(self.model).reply(*self.structured, line_tokens=params.max_new_tokens)
            params, processors, reply_text = replace(params, max_new_tokens=c.max_new_tokens), (c,), ReplyText()
        in_line = processors[0].in_line if processors else None   # structured: only the spoken line
        processors += (NameLock(self.model.tokenizer, self.name, params.top_k, params.repetition_window, when=in_line),)
        if self.secret_words or self.secret_names:
            processors += (SecretGuard(self.model.tokenizer, self.secret_words, params.top_k, params.repetition_window,
                                       when=in_line, names=self.secret_names),)
        try:
            turn = self.conv.say(line, params, cancel=stop, processors=processors)
        except DialogInputError as e:
            raise InvalidArgument(str(e), field="player_line") from None
        text = ""
        try:
            for delta in turn:
                if not delta.text:
                    continue
                if reply_text is None:
                    yield TextDelta(delta.text)
                else:
                    text += delta.text
                    new = reply_text.push(text)
                    if new:
                        yield TextDelta(new)
        finally:
            stop.set()          # a closed iterator (cancel, close) stops decoding at the next token
            turn.close()
        r = turn.result
        reason = str(getattr(r.stop_reason, "value", r.stop_reason))
        if reply_text is None:
            yield DialogReply(r.text.strip())
        else:
            said, emotion, action = parse_reply(r.text)
            yield DialogReply(said.strip(), emotion, action)
            if reason == "constraint":      # the reply's JSON closed: the reply ended (or its line budget did)
                reason = "max_tokens" if processors[0].truncated else "eos"
        yield InputEnd(reason, (("prefill", r.prefill_ms), ("first_token", r.first_token_ms)), tokens=len(r.tokens))

    def close(self) -> None:
        self.conv = None


class DialogLLM(Generator):
    def __init__(self, info: GeneratorInfo, model):
        self.info, self.model = info, model

    @classmethod
    def from_model(cls, model_dir: Path, manifest: dict, session_factory: Callable) -> "DialogLLM":
        from .engine import DialogModel

        options = getattr(session_factory, "options", None)   # the server's --ort-threads and memory settings
        model = DialogModel.load(model_dir, threads=1, session_options=options() if options else None)
        info = GeneratorInfo(
            kind="dialog", name=manifest["name"], version=str(manifest["version"]),
            family=manifest.get("family", "llm"), description=manifest.get("description", ""),
            params=dialog_params() + (
                Param("max_tokens", "int", 48, "longest model-written line in tokens (a tree line, a bark)",
                      lo=4, hi=256),),
            formats=FORMATS, generator_version=GENERATOR_VERSION, sha256=manifest["sha256"],
            rules=(Rule(("persona", "mode"), "mode=tree takes a persona file with exactly one card",
                        _one_card_for_trees),))
        gen = cls(info, model)
        return gen

    def bind_sessions(self, sessions) -> None:
        self.info.execution_provider = self.model.engine.provider

    def warm_params(self) -> dict[str, Any]:
        return {"persona": b'name = "Warm"\n', "mode": "barks", "situations": "idle", "lines": 1, "max_tokens": 4}

    def open_session(self, seed: int, params: Mapping[str, Any], *, max_agents: int = 0) -> Chat:
        """One conversation (``max_agents``, a scene limit of the NPC kind, does not apply).

        A structured session's ``emotions``/``actions`` are written back into ``params`` as used
        (the defaults when they were empty), so ``SessionOpened.parameters`` tells the game the
        exact strings its replies can carry."""
        chat = Chat(self.model, seed, params)
        if chat.structured and isinstance(params, dict):
            params["emotions"], params["actions"] = list(chat.structured[0]), list(chat.structured[1])
        return chat

    def produce(self, seed, params, formats, *, partials, timings) -> Iterator[Event]:
        """A tree or barks written by the model under grammars (:mod:`.llm_content`), valid by construction."""
        from . import trees
        from .llm_content import write_barks, write_tree

        personas = parse_personas(params["persona"])
        with timings.stage("decode"):
            if params["mode"] == "tree":
                yield Progress(0.02, "writing", f"{params['depth']} levels")
                content: Any = yield from _progress(write_tree(
                    self.model, personas[0], params["topic"], params["depth"], params["choices"], seed,
                    params["max_tokens"]))
                extra = {"nodes": len(content.nodes), "depth": trees.depth(content)}
            else:
                situations = parse_situations(params["situations"])
                yield Progress(0.02, "writing", f"{len(personas)} NPCs x {len(situations)} situations")
                content = yield from _progress(write_barks(self.model, personas, situations, params["lines"], seed,
                                                           params["max_tokens"]))
                extra = {"npcs": len(personas), "situations": len(situations)}
        yield Progress(0.9, "encoding")
        return Product(content, extra=extra)

    encoders = DialogGenerator.encoders


def _progress(it):
    """Forward a writer's (fraction, what) steps as Progress events; return its content."""
    try:
        while True:
            f, what, line = next(it)
            yield Progress(0.05 + 0.85 * f, "written", f"{what}: {line}")
    except StopIteration as stop:
        return stop.value


def _check_card(field: str, data: bytes) -> None:
    from .persona import check_persona

    check_persona(field, data)
