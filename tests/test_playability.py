"""Playability checkers: corpus agreement, hand-made unplayable levels, speed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gamegen.generators.levels.games import to_grid
from gamegen.generators.levels.playability import check, lr_reach, smb_reach

VGLC = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "vglc"
needs_corpus = pytest.mark.skipif(not VGLC.is_dir(), reason=f"VGLC corpus not found at {VGLC}")


def _load(pattern: str) -> dict[str, np.ndarray]:
    return {p.name: to_grid(p.read_text().splitlines()) for p in sorted(VGLC.glob(pattern))}


def smb(*rows: str) -> np.ndarray:
    """An SMB grid from its bottom rows (padded with sky to 14 rows)."""
    w = len(rows[0])
    return to_grid(["-" * w] * (14 - len(rows)) + list(rows))


def flat(w: int = 30) -> np.ndarray:
    return smb("X" * w)


# --- SMB ----------------------------------------------------------------------------------


def test_flat_ground_is_playable():
    r = smb_reach(flat())
    assert r.playable and r.start == (12, 0) and r.max_col == 29
    assert r.standing[12].all() and r.reachable[12].all() and not r.reachable[:12].any()


@pytest.mark.parametrize("gap,ok", [(1, True), (3, True), (4, True), (5, False), (8, False)])
def test_pit_width(gap, ok):
    g = smb("X" * 10 + "-" * gap + "X" * 10)
    assert check("smb", g).playable is ok


@pytest.mark.parametrize("height,ok", [(1, True), (3, True), (4, True), (5, False), (8, False)])
def test_wall_height(height, ok):
    rows = ["-" * 10 + "X" + "-" * 10] * height + ["X" * 21]
    assert check("smb", smb(*rows)).playable is ok


def test_tall_pipe_blocks_and_short_pipe_does_not():
    def pipe(h):
        return smb(*(["-" * 8 + "<>" + "-" * 8] + ["-" * 8 + "[]" + "-" * 8] * (h - 1) + ["X" * 18]))
    assert check("smb", pipe(4)).playable
    v = check("smb", pipe(5))
    assert not v.playable and "column 7" in v.reason


def test_enemies_and_coins_are_passable():
    g = smb("----EEEoo-----", "XXXXXXXXXXXXXX")
    assert check("smb", g).playable


def test_no_start_and_low_ceiling():
    assert "start" in check("smb", smb("---XXXXXXX")).reason
    # one free row above Mario's head allows only hops: a 1-wide pit, not a 3-wide one
    sky = ["S" * 23, "-" * 23, "-" * 23]
    assert check("smb", smb(*sky, "X" * 11 + "-" + "X" * 11)).playable
    assert not check("smb", smb(*sky, "X" * 10 + "-" * 3 + "X" * 10)).playable
    assert check("smb", smb("X" * 10 + "-" * 3 + "X" * 10)).playable


def test_platform_route_over_a_wide_pit():
    # a 9-wide pit with a floating platform 3 tiles up in the middle
    g = smb("---------XXX------------",
            "------------------------",
            "------------------------",
            "XXXXXXX---------XXXXXXXX")
    assert check("smb", g).playable
    g2 = g.copy()
    g2[10] = ord("-")
    assert not check("smb", g2).playable


def test_bad_input_reasons():
    assert "shape" in check("smb", np.zeros((10, 5), np.uint8)).reason
    g = flat()
    g[3, 3] = ord("Z")
    assert "unknown tile" in check("smb", g).reason
    with pytest.raises(ValueError):
        check("zelda", g)


def test_seeded_reach_matches_full_reach():
    g = smb("------XX--------", "XXXXXXXX---XXXXX")
    full = smb_reach(g)
    seeds = np.zeros(g.shape, bool)
    seeds[12, 0] = True
    assert (smb_reach(g, seeds=seeds).reachable == full.reachable).all()


@needs_corpus
def test_smb_corpus_mostly_playable():
    levels = _load("Super_Mario_Bros/Processed/*.txt")
    verdicts = {n: check("smb", g) for n, g in levels.items()}
    ok = [n for n, v in verdicts.items() if v.playable]
    assert len(levels) == 15 and len(ok) >= 10, {n: v.reason for n, v in verdicts.items()}
    for name in ("mario-1-1.txt", "mario-1-2.txt", "mario-4-1.txt", "mario-7-1.txt"):
        assert verdicts[name].playable


# --- Lode Runner ---------------------------------------------------------------------------


def lr(*rows: str) -> np.ndarray:
    """A Lode Runner screen: ``rows`` at the top, empty space, a solid bottom row."""
    rows = [r.ljust(32, ".") for r in rows]
    return to_grid(rows + ["." * 32] * (21 - len(rows)) + ["B" * 32])


def test_lr_ladder_rope_and_fall():
    g = lr(*(["." * 32] * 10),
           "......G.........",          # row 10: gold on the platform
           "...#bbbbbb......",          # row 11: platform, ladder at column 3 down to the floor
           "...#------G.....",          # row 12: rope from the ladder to a gold in the air
           *(["...#"] * 8))
    g[20, 1] = ord("M")
    assert check("loderunner", g).playable           # climb, walk the platform, hang along the rope
    g[11:21, 3] = ord(".")                           # no ladder: nothing above the floor is reachable
    v = check("loderunner", g)
    assert not v.playable and "2 of 2 gold unreachable" in v.reason and "(row 10, col 6)" in v.reason


def test_lr_falls_and_drops():
    g = lr("..G", ".bbbb#", *([".....#"] * 19))
    g[20, 8] = ord("M")
    g[15, 0] = ord("G")
    assert check("loderunner", g).playable           # up the ladder, onto the ledge, fall past gold
    g[1:21, 5] = ord(".")
    assert not check("loderunner", g).playable
    g2 = lr("bbbbb", "..G..")
    g2[20, 8] = ord("M")
    assert not check("loderunner", g2).playable     # gold under a roof with no way in


def test_lr_enclosed_gold_needs_digging():
    g = lr()
    g[20, 1] = ord("M")
    g[18:21, 18] = ord("#")                          # ladder up to the roof's level
    g[19, 19:26] = ord("b")                          # a diggable roof ...
    g[20, 19] = g[20, 25] = ord("b")                 # ... and walls around the gold
    g[20, 22] = ord("G")
    assert lr_reach(g).unreachable_gold == [(20, 22)]
    assert not check("loderunner", g).playable
    assert check("loderunner", g, dig=True).playable
    g[19, 19:26] = ord("B")                          # stone cannot be dug
    assert not check("loderunner", g, dig=True).playable


def test_lr_spawn_and_gold_counts():
    g = lr()
    g[20, 5] = ord("G")
    assert "spawn" in check("loderunner", g).reason
    g[20, 1] = g[20, 2] = ord("M")
    assert "exactly one spawn" in check("loderunner", g).reason
    g[20, 2] = ord(".")
    assert check("loderunner", g).playable
    g[20, 5] = ord(".")
    assert "no gold" in check("loderunner", g).reason


@needs_corpus
def test_lr_corpus_rates():
    levels = _load("Lode_Runner/Processed/*.txt")
    assert len(levels) == 150
    plain = sum(check("loderunner", g).playable for g in levels.values())
    dig = sum(check("loderunner", g, dig=True).playable for g in levels.values())
    # Lode Runner is a digging game: most screens need it; with digging nearly all pass
    assert plain >= 30 and dig >= 125, (plain, dig)
    assert check("loderunner", levels["Level 1.txt"]).playable
