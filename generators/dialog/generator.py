"""The dialog kind: dialog trees and barks from persona cards, as JSON, Yarn Spinner and text.

``dialog/tracery`` is the model-free baseline: Tracery-style grammars coloured by each persona's
voice, role, mood and facts (:mod:`.tracery`). Every tree passes :func:`.trees.check_tree`
(reachability, no dangling jumps, a way out of every node, the requested depth) before it is
returned; its JSON validates against ``dialog_tree.schema.json`` and its Yarn script parses.
Same persona, parameters and seed -> the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from ..base import Encoder, Generator, GeneratorInfo, Product
from ..events import Asset, Event, Progress
from ..params import Param, ParamError, Rule
from . import trees
from .persona import MAX_BYTES, check_persona, parse_personas
from .tracery import SITUATIONS, make_barks, make_tree

# Bump when grammars or tree building change the bytes produced for the same seed and parameters.
GENERATOR_VERSION = 1

FORMATS = ("json", "yarn", "txt")
MODES = ("tree", "barks")
MAX_DEPTH = 6
PERSONAS_DIR = Path(__file__).with_name("personas")


def parse_situations(text: str) -> list[str]:
    """``"all"`` or a comma-separated list of known situations, in the order given, no repeats."""
    if text.strip() == "all":
        return list(SITUATIONS)
    out: list[str] = []
    for item in text.split(","):
        item = item.strip()
        if item not in SITUATIONS:
            raise ParamError("situations", f"situations: {item!r} is not a situation; use \"all\" or a "
                                           f"comma-separated list of: {', '.join(SITUATIONS)}")
        if item not in out:
            out.append(item)
    return out


def _check_situations(field: str, text: str) -> None:
    parse_situations(text)


def _one_card_for_trees(values: dict) -> str | None:
    if values["mode"] != "tree" or values["persona"] is None:
        return None
    n = len(parse_personas(values["persona"]))
    if n != 1:
        return (f"persona holds {n} cards, but mode=tree writes one NPC's conversation: send one card "
                "(several [[persona]] cards are for mode=barks)")
    return None


def dialog_params() -> tuple[Param, ...]:
    return (
        Param("persona", "bytes", None, "the NPC's persona card, or several [[persona]] cards for barks "
              "(see generators/dialog/personas/)", lo=1, hi=MAX_BYTES,
              what="a persona card (UTF-8 TOML)", required=True, sniff=check_persona),
        Param("mode", "choice", "tree", "tree: a branching conversation; barks: short situational lines per NPC",
              choices=MODES),
        Param("topic", "text", "the latest news", "tree: what the conversation is about", lo=1, hi=120),
        Param("depth", "int", 3, "tree: levels of NPC lines from the start to the deepest ending",
              lo=1, hi=MAX_DEPTH),
        Param("choices", "int", 2, "tree: approaches the player can take at each node (ask, charm, "
              "threaten or bribe), besides leaving and a trust-gated one", lo=1, hi=3),
        Param("situations", "text", "all", "barks: \"all\" or a comma-separated list of "
              + ", ".join(SITUATIONS), lo=1, hi=400, sniff=_check_situations),
        Param("lines", "int", 3, "barks: distinct lines per situation and NPC", lo=1, hi=8),
    )


class DialogGenerator(Generator):
    def __init__(self, info: GeneratorInfo):
        self.info = info

    @classmethod
    def tracery(cls) -> "DialogGenerator":
        info = GeneratorInfo(
            kind="dialog", name="tracery", version="1.0.0", family="tracery",
            description="dialog trees and barks from persona-coloured Tracery grammars, no model (baseline)",
            params=dialog_params(), formats=FORMATS, generator_version=GENERATOR_VERSION,
            rules=(Rule(("persona", "mode"), "mode=tree takes a persona file with exactly one card",
                        _one_card_for_trees),),
        )
        return cls(info)

    @classmethod
    def from_model(cls, model_dir: Path, manifest: dict, session_factory: Callable) -> Generator:
        """A dialog LLM folder (``python -m gamegen.generators.dialog.build``): conversations over
        Session, a line per topic over Generate (:mod:`.llm`)."""
        from .llm import DialogLLM

        return DialogLLM.from_model(model_dir, manifest, session_factory)

    def warm_params(self) -> dict[str, Any]:
        return {"persona": (PERSONAS_DIR / "guard.toml").read_bytes(), "depth": 2}

    def produce(self, seed, params, formats, *, partials, timings) -> Iterator[Event]:
        rng = np.random.default_rng(seed)
        personas = parse_personas(params["persona"])
        with timings.stage("grammar"):
            if params["mode"] == "tree":
                yield Progress(0.1, "expanding", f"{params['depth']} levels")
                content: Any = make_tree(personas[0], params["topic"], params["depth"], params["choices"], rng)
                extra = {"nodes": len(content.nodes), "depth": trees.depth(content)}
            else:
                situations = parse_situations(params["situations"])
                yield Progress(0.1, "expanding", f"{len(personas)} NPCs x {len(situations)} situations")
                content = make_barks(personas, situations, params["lines"], rng)
                extra = {"npcs": len(personas), "situations": len(situations)}
        yield Progress(0.9, "encoding")
        return Product(content, extra=extra)

    encoders = {
        "json": Encoder(lambda c, params: _asset(c, "json", "application/json",
                                                 trees.tree_json if isinstance(c, trees.DialogTree) else trees.barks_json)),
        "yarn": Encoder(lambda c, params: _asset(c, "yarn", "text/x-yarn; charset=utf-8",
                                                 trees.tree_yarn if isinstance(c, trees.DialogTree) else trees.barks_yarn)),
        "txt": Encoder(lambda c, params: _asset(c, "txt", "text/plain; charset=utf-8",
                                                trees.tree_txt if isinstance(c, trees.DialogTree) else trees.barks_txt)),
    }


def _asset(content, fmt: str, media_type: str, write) -> Asset:
    stem = "tree" if isinstance(content, trees.DialogTree) else "barks"
    return Asset(f"{stem}.{fmt}", media_type, write(content), fmt)


def build_export(ckpt: dict):
    """``gamegen export`` for dialog checkpoints: none exist in this version (the baseline has no model)."""
    raise ValueError("this version has no dialog checkpoint format: dialog/tracery is model-free")


def builtins() -> list[DialogGenerator]:
    """The model-free dialog generator (the baseline every dialog model is compared with)."""
    return [DialogGenerator.tracery()]
