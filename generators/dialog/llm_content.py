"""Model-written dialog trees and barks: the dialog LLM fills a deterministic skeleton, line by line,
under a grammar, so every tree and bark set is valid by construction (no parse-and-retry).

**What is the model's and what is not (the choice made here).** A whole tree in one grammar would
have to express cross-references (choices pointing at node ids that exist), reachability and the
depth limit; JSON Schema cannot state those, and a 135M model writing ids and effects is a poor use
of it. So the *structure* comes from the seeded skeleton of the Tracery baseline
(:func:`.tracery.make_tree`: node ids, the player's choices and their approach, conditions,
effects, ends, checked by :func:`.trees.check_tree`), and the *model writes every NPC line*:
for each node it is told the player's words that led there and what the node must do (greet and
hint at the topic, reveal a given fact, refuse, bristle at a threat, say goodbye ...; the
skeleton's intent), and decodes one line under :meth:`.constrain.Guide.line` (1..200 characters,
no control characters, newlines or ``"``, never a leading space, ended within ``max_tokens``; a
line that stops mid-sentence is trimmed to its last whole sentence when it has one). The line
therefore always satisfies the schema's ``line`` rule and the Yarn writer's, and the tree is the
skeleton's sound structure. A node whose effects say a fact was told (``$knows_<topic>``) must
say it: its grammar holds the fact word for word, with the model's own words before and after
(a 135M model asked to "tell them X" mostly does not). The player's choices keep the skeleton's short approach lines (ask,
charm, threaten, bribe, leave) so that the effects attached to them stay true.

**Secrets never reach the model here**: a tree or a bark set is written from the card without its
secrets (a first run with them in the prompt leaked one in 2 of 44 written lines; the baseline
never uses them either). Barks: for each NPC card and situation, ``lines`` lines decoded under a shorter line grammar
(at most 60 characters), each from its own seeded stream, in the NPC's persona prompt.

Determinism: line ``k`` samples with ``numpy.random.default_rng([seed, k])``; the persona prefix
is prefilled once per card (:class:`.decode.PrefixCache`). Same model + seed + parameters -> the
same bytes on the CPU provider.
"""

from __future__ import annotations

from typing import Generator, Sequence

import re

import numpy as np

from . import trees
from .decode import PrefixCache, SamplingParams, generate
from .persona import Persona
from .tracery import make_tree

TREE_LINE_CHARS = 200
BARK_CHARS = 60

INTENTS = {
    "open": "greet the player",
    "hook": "hint that you know something about {topic}",
    "farewell_line": "say goodbye",
    "confide": "lower your voice and confide this: {fact}",
    "reveal": "tell the player this: {fact}",
    "refuse": "refuse to say any more about {topic}",
    "angry_end": "lose your temper and threaten the player",
    "bristle": "bristle at the player's threat",
    "warm": "warm to the player a little",
    "deflect": "dodge the question about {topic}",
}

SITUATIONS = {
    "spotted_player": "you have just spotted an intruder",
    "lost_player": "you have lost sight of the intruder",
    "searching": "you are searching for the intruder",
    "low_health": "you are badly wounded",
    "ally_down": "one of your allies has just fallen",
    "victory": "you have won the fight",
    "idle": "you are idle, muttering to yourself",
    "greeting": "the player walks up to you",
    "farewell": "the player walks away",
}


def card_dict(p: Persona, secrets: bool = False) -> dict:
    """A persona card as the prompt builder's mapping. Secrets only when asked for: written trees
    and barks never need them, so they never reach the model there and cannot leak."""
    return {"name": p.name, "role": p.role, "traits": list(p.traits), "mood": p.mood,
            "speech_style": p.speech_style, "knowledge": list(p.facts),
            "secrets": list(p.secrets) if secrets else []}


class Writer:
    """Decodes constrained lines for one persona (its prefix prefilled once)."""

    def __init__(self, model, persona: Persona, seed: int, temperature: float = 0.7):
        from .constrain import guide_for
        from .llm import persona_prompt

        self.model, self.seed = model, seed
        self.guide = guide_for(model)
        self.prefix = PrefixCache.build(model.engine, model.tokenizer, persona_prompt(card_dict(persona)))
        self.params = SamplingParams(temperature=temperature, top_k=40, top_p=0.9, repetition_penalty=1.1)
        self.seconds: list[float] = []

    def line(self, request: str, stream: Sequence[int], max_chars: int, max_tokens: int,
             must_say: str | None = None) -> str:
        """One line answering ``request`` (the user turn), sampled from ``default_rng([seed, *stream])``;
        ``must_say``: text the line holds word for word."""
        tok = self.model.tokenizer
        c = self.guide.line(max_chars, max_tokens, must_say)
        ids = tok.encode_parts(tok.chat.user(request))
        params = SamplingParams(**{**self.params.__dict__, "max_new_tokens": c.max_new_tokens})
        it = generate(self.model.engine, tok, ids, params, np.random.default_rng([self.seed, *stream]),
                      cache=self.prefix.cache, history=self.prefix.ids, processors=[c])
        try:
            while True:
                next(it)
        except StopIteration as stop:
            result = stop.value
        self.seconds += c.seconds
        return trim(result.text, " ".join(must_say.split()) if must_say else None)


def trim(text: str, keep: str | None = None) -> str:
    """A line as written (the grammar: no control characters, a non-space first one). One that
    stops mid-sentence (the token budget or the character limit ended it) ends after its last
    whole sentence, when it has one — never before ``keep`` (a fact the line must hold)."""
    text = text.rstrip()
    if text and text[-1] not in ".!?\u2026'*)":
        start = text.find(keep) + len(keep) if keep and keep in text else 0
        ends = [m.end() for m in re.finditer(r"[.!?](?=\s|$)", text) if m.end() >= start]
        if ends:
            text = text[:ends[-1]]
    return text


def _incoming(tree: trees.DialogTree) -> dict[str, str]:
    """Each node's first incoming player choice text (breadth-first from the start)."""
    ids = {n.id: n for n in tree.nodes}
    out: dict[str, str] = {}
    queue = [tree.start]
    while queue:
        nid = queue.pop(0)
        for c in ids[nid].choices:
            if c.next in ids and c.next not in out and c.next != tree.start:
                out[c.next] = c.text
                queue.append(c.next)
    return out


def node_request(node_id: str, intent: list, topic: str, player: str | None) -> str:
    """The user turn asking for one node's line."""
    wants = [INTENTS.get(sym, "answer the player").format(topic=topic or "it", fact=(fact or "").rstrip("."))
             for sym, fact in intent] or ["answer the player"]
    what = ", then ".join(dict.fromkeys(wants))
    if player is None:
        return f"The player walks up to you. The topic is {topic}. In one short sentence, {what}."
    return f'The player says: "{player}" In one short sentence, {what}.'


def write_tree(model, persona: Persona, topic: str, depth: int, choices: int, seed: int,
               max_tokens: int) -> Generator[tuple[float, str, str], None, trees.DialogTree]:
    """The skeleton for ``seed`` with every NPC line written by the model (see the module doc).
    Yields (fraction done, node id, its line) as each line is written; returns the tree."""
    intents: dict[str, list] = {}
    tree = make_tree(persona, topic, depth, choices, np.random.default_rng(seed), intents)
    incoming = _incoming(tree)
    w = Writer(model, persona, seed)
    for k, node in enumerate(tree.nodes):
        player = None if node.id == tree.start else incoming.get(node.id, "...")
        intent = intents.get(node.id, [])
        fact = next((f for _, f in intent if f), None)
        node.line = w.line(node_request(node.id, intent, topic, player), (k,), TREE_LINE_CHARS, max_tokens,
                           must_say=fact)
        yield (k + 1) / len(tree.nodes), node.id, node.line
    trees.check_tree(tree, max_depth=depth)
    return tree


def write_barks(model, personas: Sequence[Persona], situations: Sequence[str], lines: int, seed: int,
                max_tokens: int) -> Generator[tuple[float, str, str], None, trees.BarkSet]:
    """Barks for every card and situation; yields (fraction done, "npc situation", first line)."""
    barks: dict[str, dict[str, list[str]]] = {}
    total = len(personas) * len(situations)
    for i, p in enumerate(personas):
        w = Writer(model, p, seed, temperature=0.9)
        per: dict[str, list[str]] = {}
        for j, sit in enumerate(situations):
            request = (f"Situation: {SITUATIONS.get(sit, sit.replace('_', ' '))}. Shout one short bark "
                       "of at most eight words, in your own voice.")
            got: list[str] = []
            for k in range(lines):         # distinct lines: a repeat is drawn again from a further stream
                line = w.line(request, (i, j, k), BARK_CHARS, max_tokens)
                for again in range(1, 4):
                    if line not in got:
                        break
                    line = w.line(request, (i, j, k, again), BARK_CHARS, max_tokens)
                got.append(line)
            per[sit] = got
            yield (i * len(situations) + j + 1) / total, f"{p.id} {sit}", per[sit][0]
        barks[p.id] = per
    return trees.BarkSet([trees.Speaker(p.id, p.name, p.role) for p in personas], list(situations), barks)
