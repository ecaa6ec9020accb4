"""The classical, no-model baseline: hand-written procedural rules.

:class:`RulesSampler` speaks the learned samplers' protocol (``sample(rng, width, controls,
chunk)`` yields uint8 chunks left to right), so the generator, repair, controls and metrics
treat it exactly like a model. All randomness comes from the ``rng`` passed in.

Super Mario Bros: flat ground with pits, pipes, brick/question-block rows (sometimes two
stacked), stairs, cannons and enemies, separated by short flat stretches; flat start and end.

Lode Runner: a solid bottom floor, 3-5 platform floors of diggable brick (with some solid
stone), every platform segment has a ladder down to whatever is below it, ropes hang beside
ladders, gold on platforms, enemies away from the spawn, the spawn on the bottom floor.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from .controls import (
    lr_enemy_count,
    set_enemies,
    set_gold,
    smb_enemy_rate,
    smb_pit_rate,
    _round,
)
from .games import LODE_RUNNER, SMB, GameSpec

_c = ord


class RulesSampler:
    """Procedural level sampler (no model). ``sample`` yields (height, k) uint8 chunks."""

    def __init__(self, game: GameSpec):
        if game.id not in (SMB.id, LODE_RUNNER.id):
            raise ValueError(f"no procedural rules for game {game.id!r}")
        self.game = game

    def sample(self, rng: np.random.Generator, width: int, controls: dict,
               chunk: int) -> Iterator[np.ndarray]:
        """Yield chunks of ``chunk`` columns (the last may be narrower) that add up to ``width``.

        Controls: ``enemies`` (0..1), ``gaps`` (0..1, SMB), ``gold`` (int, Lode Runner; default
        12); ``temperature`` is ignored. Lode Runner is one fixed 22x32 screen: ``width`` must
        be 32 and it is yielded in ``chunk``-wide slices.
        """
        if width < 1 or chunk < 1:
            raise ValueError(f"width and chunk must be >= 1, got width={width}, chunk={chunk}")
        if self.game.id == SMB.id:
            level = smb_rules(rng, width, float(controls.get("enemies", 0.4)),
                              float(controls.get("gaps", 0.4)))
        else:
            if width != LODE_RUNNER.width:
                raise ValueError(f"Lode Runner screens are {LODE_RUNNER.width} wide, got width={width}")
            level = lr_rules(rng, int(controls.get("gold", 12)), float(controls.get("enemies", 0.4)))
        for x in range(0, width, chunk):
            yield np.ascontiguousarray(level[:, x:x + chunk])


# --------------------------------------------------------------------------------------------
# Super Mario Bros
# --------------------------------------------------------------------------------------------

_SMB_FEATURES = ("flat", "pit", "pipe", "blocks", "stairs", "cannon")


def smb_rules(rng: np.random.Generator, width: int, enemies: float = 0.4, gaps: float = 0.4) -> np.ndarray:
    """A whole SMB level (14 x width) from the rules."""
    h = SMB.height
    g = np.full((h, width), _c("-"), dtype=np.uint8)
    g[-1] = _c("X")
    ground = h - 1                       # row of the ground tiles; Mario stands on row h - 2
    start, end = min(6, width), max(min(6, width), width - 8)
    pit_rate = smb_pit_rate(gaps)
    # feature weights (flat, pit, pipe, blocks, stairs, cannon); pits scale with ``gaps``
    weights = np.array([2.0, 12.0 * pit_rate, 1.2, 1.5, 0.7, 0.4])
    x = start
    while x < end:
        p = weights / weights.sum()
        kind = _SMB_FEATURES[int(rng.choice(len(_SMB_FEATURES), p=p))]
        room = end - x
        if kind == "pit" and pit_rate > 0 and room >= 3:
            w = int(rng.integers(1, 4))
            w = min(w, room - 2)
            g[ground, x:x + w] = _c("-")
            x += w
        elif kind == "pipe" and room >= 4:
            ph = int(rng.integers(2, 5))
            top = ground - ph
            g[top, x], g[top, x + 1] = _c("<"), _c(">")
            g[top + 1:ground, x] = _c("[")
            g[top + 1:ground, x + 1] = _c("]")
            x += 2
        elif kind == "blocks" and room >= 4:
            w = min(int(rng.integers(3, 7)), room)
            row = ground - 4
            tiles = rng.choice(np.frombuffer(b"SS?", dtype=np.uint8), size=w)
            g[row, x:x + w] = tiles
            if w >= 4 and rng.random() < 0.35:
                a = x + int(rng.integers(0, w - 2))
                b = min(x + w, a + int(rng.integers(2, 5)))
                g[row - 4, a:b] = rng.choice(np.frombuffer(b"S?", dtype=np.uint8), size=b - a)
            x += w
        elif kind == "stairs" and room >= 6:
            sh = int(rng.integers(2, 5))
            for i in range(sh):
                g[ground - 1 - i:ground, x + i] = _c("X")
            x += sh
            if rng.random() < 0.5 and end - x >= sh + 2:
                for i in range(sh):
                    g[ground - sh + i:ground, x + i] = _c("X")
                x += sh
        elif kind == "cannon" and room >= 3:
            ch = int(rng.integers(1, 4))
            g[ground - ch, x] = _c("B")
            g[ground - ch + 1:ground, x] = _c("b")
            x += 1
        else:
            x += int(rng.integers(2, 6))
            continue
        x += int(rng.integers(2, 5))     # a short flat stretch after each feature
    target = _round(smb_enemy_rate(enemies) * width)
    safe = g.copy()
    safe[:, :start] = _c("X")            # no enemies right at the start
    placed, _ = set_enemies(safe, target, rng, SMB)
    g = np.where(placed == _c("E"), _c("E"), g).astype(np.uint8)
    return g


# --------------------------------------------------------------------------------------------
# Lode Runner
# --------------------------------------------------------------------------------------------


def lr_rules(rng: np.random.Generator, gold: int = 12, enemies: float = 0.4) -> np.ndarray:
    """A Lode Runner screen (22 x 32) from the rules."""
    h, w = LODE_RUNNER.height, LODE_RUNNER.width
    g = np.full((h, w), _c("."), dtype=np.uint8)
    g[-1] = _c("b")
    g[-1, rng.random(w) < 0.25] = _c("B")
    # platform floors, top to bottom, 3..5 rows apart
    floors, y = [], int(rng.integers(2, 5))
    while y <= h - 5:
        floors.append(y)
        y += int(rng.integers(3, 6))
    for fy in floors:
        x = int(rng.integers(0, 4))
        while x < w - 3:
            seg = int(rng.integers(5, 16))
            x1 = min(w, x + seg)
            g[fy, x:x1] = _c("b")
            stone = rng.random(x1 - x) < 0.15
            g[fy, x:x1][stone] = _c("B")
            x = x1 + int(rng.integers(2, 6))
    # every platform segment gets 1-2 ladders down to whatever solid lies below
    solid = lambda r, c: g[r, c] in (_c("b"), _c("B"))  # noqa: E731
    ladders = []
    for fy in floors:
        row = g[fy]
        c = 0
        while c < w:
            if row[c] in (_c("b"), _c("B")):
                c0 = c
                while c < w and row[c] in (_c("b"), _c("B")):
                    c += 1
                n = 1 if c - c0 < 9 else 2
                for lc in rng.choice(np.arange(c0, c), size=min(n, c - c0), replace=False):
                    lc = int(lc)
                    r = fy
                    while r < h and not (r > fy and solid(r, lc)):
                        g[r, lc] = _c("#")
                        r += 1
                    ladders.append((fy, r, lc))
            else:
                c += 1
    # ropes beside some ladders, in open air between floors
    for top, bottom, lc in ladders:
        if rng.random() < 0.4 and bottom - top >= 4:
            r = int(rng.integers(top + 2, bottom - 1))
            d = 1 if rng.random() < 0.5 else -1
            n = int(rng.integers(3, 9))
            for k in range(1, n + 1):
                c = lc + d * k
                if not (0 <= c < w) or g[r, c] != _c(".") or g[r + 1, c] != _c("."):
                    break
                g[r, c] = _c("-")
    # spawn on the bottom floor
    cols = np.flatnonzero(g[h - 2] == _c("."))
    g[h - 2, int(rng.choice(cols)) if len(cols) else 0] = _c("M")
    g, _ = set_gold(g, gold, rng)
    g, _ = set_enemies(g, lr_enemy_count(enemies), rng, LODE_RUNNER)
    return g
