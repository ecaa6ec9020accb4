"""The levels generator: sampler (learned or rules) → controls → repair → validation → encoders.

Side-scrollers (SMB) stream column chunks as they are produced; each chunk gets the opening and
the end set piece where they fall (:mod:`.design`), is brought to the requested enemy/pit density
(rising along the level with ``pacing``), repaired so the level stays traversable, and only then sent — so a
chunk once streamed is final. Single-screen games (Lode Runner) are sampled whole, brought to the
requested gold and enemy counts, repaired, validated, then sent. Every returned level has passed
the game's playability checker; otherwise the stream ends with :class:`GenerationFailed`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from ..base import Encoder, Generator, GeneratorInfo, Product
from ..events import Asset, Event, GenerationFailed, LevelChunk, Progress
from ..params import Param
from . import controls, design, playability, repair
from .encoders import FORMATS as GRID_FORMATS
from .encoders import encode
from .games import GAMES, GameSpec, to_rows

# Bump when sampling/repair/encoding changes the bytes produced for the same model + seed.
# 7: the Lode Runner transformer's default ``symmetry`` is 1 (was 0.5; ``symmetry=0.5`` gives 6's bytes)
GENERATOR_VERSION = 7

# The grid encoders' formats, plus "glb": the level's solid tiles extruded into a mesh (mesh.py).
FORMATS = GRID_FORMATS + ("glb",)

CHUNK = 25            # columns per streamed chunk (side-scrollers)
LR_ATTEMPTS = 8       # whole-screen resamples before giving up (single-screen games)
MAX_CANDIDATES = 16   # screens drawn per attempt, at most (``candidates``)


#: Default ``pacing``: enemies and pits rise along the level (density from 0.5x to 1.5x).
DEFAULT_PACING = 0.5


def level_params(game: GameSpec, learned: bool, styles: tuple[str, ...] = (), candidates: int = 0,
                 symmetry: float | None = None) -> tuple[Param, ...]:
    """The parameters a level model of ``game`` takes: stated once, used everywhere.
    ``candidates`` > 0: the model draws whole screens and may keep the best of several (its default).
    ``symmetry`` not None: the model can draw mirror-symmetric screens (the default chance)."""
    ps: list[Param] = []
    if game.width is None:
        ps.append(Param("width", "int", 200, "level length in columns", lo=50, hi=1000))
        ps.append(Param("enemies", "float", 0.4, controls.DOCS[(game.id, "enemies")], lo=0.0, hi=1.0))
        ps.append(Param("gaps", "float", 0.4, controls.DOCS[(game.id, "gaps")], lo=0.0, hi=1.0))
        ps.append(Param("pacing", "float", DEFAULT_PACING,
                        "how much enemies and pits rise along the level: 0 = the same everywhere, 1 = none at "
                        "the start and twice the average at the end (totals as enemies / gaps say)", lo=0.0, hi=1.0))
        if styles:
            ps.append(Param("style", "choice", styles[0],
                            "level kind the model is conditioned on (the corpus levels' own kinds; the corpus "
                            "has no castle levels). athletic levels are platforms over open air: gaps does not "
                            "apply to them", choices=tuple(styles),
                            hint="the styles of the corpus's own levels; it has no castle levels"))
    else:
        lo, hi = controls.LR_GOLD_RANGE
        ps.append(Param("gold", "int", 12, controls.DOCS[(game.id, "gold")], lo=lo, hi=hi))
        ps.append(Param("enemies", "float", 0.4, controls.DOCS[(game.id, "enemies")], lo=0.0, hi=1.0))
        ps.append(Param("digging", "bool", False,
                        "true: every gold must be reachable when the player may dig bricks (as the game "
                        "allows; most original screens need it); false: reachable without digging"))
    if learned:
        ps.append(Param("temperature", "float", 1.0, "sampling temperature: lower is safer, higher is wilder",
                        lo=0.5, hi=1.5))
    if learned and candidates:
        ps.append(Param("candidates", "int", candidates,
                        "screens the model draws; the one whose design figures (bricks, platforms, ladders, "
                        "ropes, empty rows, ragged edges) lie closest to the corpus screens' is kept. 1 = the "
                        "first draw as sampled; more = fewer near-empty, brick-filled or ladder-wall screens, "
                        "at more sampling time", lo=1, hi=MAX_CANDIDATES))
    if learned and symmetry is not None:
        ps.append(Param("symmetry", "float", symmetry,
                        "chance that the screen is mirror-symmetric: the model draws the left half of each "
                        "row and the right half mirrors it (1 in 5 corpus screens are mostly so: 80% of their "
                        "cells match the mirror image). 0 = never, 1 = always; gold, guards and the spawn are "
                        "then set to the requested counts, so they need not be mirrored. Judged blind, mirrored "
                        "screens passed for designed ones far more often than free ones", lo=0.0, hi=1.0))
    return tuple(ps)


class LevelGenerator(Generator):
    def __init__(self, info: GeneratorInfo, game: GameSpec, sampler: Any):
        self.info = info
        self.game = game
        self.sampler = sampler

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def from_model(cls, model_dir: Path, manifest: dict, session_factory: Callable) -> "LevelGenerator":
        """Load a model directory; the caller records the provider its session got."""
        from .samplers import load_sampler

        game = GAMES[manifest["game"]]
        sampler = load_sampler(model_dir, manifest, session_factory)
        info = GeneratorInfo(
            kind="levels", name=manifest["name"], version=str(manifest["version"]),
            family=manifest.get("family", ""), description=manifest.get("description", game.title),
            params=level_params(game, learned=True, styles=tuple(getattr(sampler, "styles", ()) or ()),
                                candidates=getattr(sampler, "default_candidates", 0),
                                symmetry=getattr(sampler, "default_symmetry", None)),
            formats=FORMATS, generator_version=GENERATOR_VERSION,
            sha256=manifest["sha256"], tiles=game.legend,
        )
        return cls(info, game, sampler)

    @classmethod
    def rules(cls, game: GameSpec) -> "LevelGenerator":
        from .classic import RulesSampler

        info = GeneratorInfo(
            kind="levels", name=f"{game.id}-rules", version="1.0.0", family="rules",
            description=f"{game.title}: hand-written procedural rules, no model (classical baseline)",
            params=level_params(game, learned=False), formats=FORMATS, generator_version=GENERATOR_VERSION,
            tiles=game.legend,
        )
        return cls(info, game, RulesSampler(game))

    # -- generation --------------------------------------------------------------------------

    def produce(self, seed, params, formats, *, partials, timings) -> Iterator[Event]:
        rng = np.random.default_rng(seed)
        sample_controls = {
            "enemies": params.get("enemies", 0.0),
            "gaps": params.get("gaps", 0.0),
            "temperature": params.get("temperature", 1.0),
        }
        if "style" in params:
            sample_controls["style"] = params["style"]
        for name in ("candidates", "symmetry"):
            if name in params:
                sample_controls[name] = params[name]
        with timings.stage("sample_and_repair"):
            if self.game.width is None:
                grid, attempts, changed = yield from self._scroller(rng, params, sample_controls, partials)
            else:
                grid, attempts, changed = yield from self._screen(rng, params, sample_controls, partials)

        verdict = playability.check(self.game.id, grid, dig=bool(params.get("digging", False)))
        if not verdict.playable:  # repair guarantees this; never return a broken level
            raise GenerationFailed(f"level failed the playability check after repair: {verdict.reason}")
        yield Progress(0.95, "encoding")
        return Product(grid, attempts=attempts, repaired_tiles=changed)

    @property
    def encoders(self) -> dict[str, Encoder]:
        def grid_format(fmt):
            return Encoder(lambda grid, params: encode(self.game, grid, [fmt]))

        def glb(grid, params):
            from .mesh import level_glb

            return Asset("level.glb", "model/gltf-binary", level_glb(self.game, grid), "glb")

        return {**{f: grid_format(f) for f in GRID_FORMATS}, "glb": Encoder(glb)}

    def _scroller(self, rng, params, sample_controls, partials):
        width = params["width"]
        fixer = repair.SMBStreamRepair(rng)
        # athletic levels are platforms over open air: the pit control (bottom-row columns) does not apply
        gaps = None if params.get("style") == "athletic" else params["gaps"]
        ctl = controls.SMBChunkControls(params["enemies"], gaps, width=width,
                                        pacing=params.get("pacing", 0.0), lo=design.OPENING,
                                        hi=design.end_start(width))
        pieces: list[np.ndarray] = []
        done = 0
        changed = 0
        # where the controls will want pits and enemies (opening: none; rising with pacing)
        density = ctl.density(width)
        # pits: never above the average rate (more wide pits drawn at the end were filled again by
        # repair, missing the gaps total); set_gaps carves the rest in the corpus's widths
        sample_controls = {**sample_controls, "enemy_density": density,
                           "gap_density": None if gaps is None else np.minimum(density, 1.0)}
        for chunk in self.sampler.sample(rng, width, sample_controls, CHUNK):
            chunk = design.stamp(chunk, done, width)   # the opening and the end set piece
            last = done + chunk.shape[1] >= width
            # well-formed pipes / cannons; before the pit control, so its counts stay exact (set_gaps
            # never cuts under a pipe) and before repair, which re-checks playability after it
            chunk, t = repair.tidy_smb_structures(chunk, pieces[-1][:, -1] if pieces else None)
            chunk = ctl.before_repair(chunk, rng)      # carve / fill pits to the requested density
            chunk, n = fixer.push(chunk, last=last)    # keep the level traversable
            chunk = ctl.after_repair(chunk, rng)       # place / remove enemies (passable: safe)
            changed += t + n
            if partials:
                yield LevelChunk(x=done, y=0, rows=tuple(to_rows(chunk)), level_width=width,
                                 level_height=self.game.height)
            pieces.append(chunk)
            done += chunk.shape[1]
            yield Progress(0.9 * done / width, "sampling", f"{done}/{width} columns")
        if done != width:
            raise GenerationFailed(f"sampler produced {done} columns, {width} were asked for")
        return np.concatenate(pieces, axis=1), 1, changed

    def _screen(self, rng, params, sample_controls, partials):
        failures: list[str] = []
        for attempt in range(1, LR_ATTEMPTS + 1):
            yield Progress(0.9 * (attempt - 1) / LR_ATTEMPTS, "sampling", f"attempt {attempt}")
            screen = np.array(next(iter(self.sampler.sample(rng, self.game.width, sample_controls, self.game.width))),
                              dtype=np.uint8, copy=True)
            try:
                screen, _ = controls.set_gold(screen, params["gold"], rng)
                # moves unreachable gold, keeps the count
                screen, changed = repair.lr_repair(screen, rng, dig=bool(params.get("digging", False)))
                screen, _ = controls.set_enemies(screen, controls.lr_enemy_count(params["enemies"]), rng,
                                                 self.game)
            except GenerationFailed as e:
                failures.append(str(e))
                continue
            if partials:
                yield LevelChunk(x=0, y=0, rows=tuple(to_rows(screen)), level_width=self.game.width,
                                 level_height=self.game.height)
            return screen, attempt, changed
        raise GenerationFailed(
            f"no playable {self.game.id} level after {LR_ATTEMPTS} attempts (last problem: {failures[-1]}); "
            "try another seed or fewer gold pieces"
        )


def builtins() -> list[LevelGenerator]:
    """The model-free level generators: one rules-based baseline per game."""
    from .games import GAMES

    return [LevelGenerator.rules(g) for g in GAMES.values()]
