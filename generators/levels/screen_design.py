"""How designed a Lode Runner screen looks, as figures a designer names, against the corpus.

A learned single-screen model (the tile LSTM, the transformer, the masked model) draws, at
temperature 1, some screens a designer would not ship: near-empty screens, brick masses that
fill the screen, walls of ladders, ropes in one-tile bits. Their counts are within the corpus's
range one by one (``benchmarks/levels_design.py --screen-ranges``), so no single threshold catches
them; it is the *combination* that is off (a screen with 400 bricks *and* no ladders and most
bricks stacked on bricks). This module puts a screen's figures in one vector and measures how far
it lies from the corpus screens: the Mahalanobis distance under the mean and (shrunk) covariance
of the training screens' vectors. The generator draws ``candidates`` screens and keeps the one
closest to the corpus (:func:`pick`), so the failure screens, far out in this space, are drawn
but not returned.

The figures (architecture only: gold, enemies and the spawn are placed by the controls later and
count as empty here):

``solid`` ``ladder`` ``rope`` ``hard``
    tiles of each (``b`` and ``B`` are solid; ``hard`` = the undiggable ``B``), as log(1 + n)
``empty_rows`` ``empty_top``
    rows with nothing, and such rows from the top down
``long_runs``
    share of the solid tiles in horizontal runs of 4 or more (platforms, not blobs)
``stacked``
    share of the solid tiles with solid above (slabs against one-tile floors)
``perimeter``
    solid/non-solid edges per solid tile (ragged masses have many)
``largest_mass``
    the largest 4-connected solid area, as log(1 + n)
``ladder_wall``
    share of ladder tiles with a ladder to their right (walls of ladders)
``ladder_mass``
    the largest 4-connected ladder area, as log(1 + n)
``ladder_runs`` ``rope_runs`` ``solid_runs``
    vertical ladder runs, horizontal rope runs, horizontal solid runs, as log(1 + n)
``short_ropes``
    share of rope runs of one or two tiles
``holes``
    one-tile gaps in a horizontal solid run
``isolated``
    solid tiles with no solid 4-neighbour

The reference (mean, scale, inverse covariance) is learned from the training split by
:func:`fit` and stored in ``screen_design.json`` beside this file, since the server has no corpus;
``tests/test_level_design.py`` checks it matches the corpus. It is figures of the corpus, not
its screens.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import ndimage

FEATURES = ("solid", "ladder", "rope", "hard", "empty_rows", "empty_top", "long_runs", "stacked", "perimeter",
            "largest_mass", "ladder_wall", "ladder_mass", "ladder_runs", "rope_runs", "solid_runs", "short_ropes",
            "holes", "isolated")
#: Weight of the identity in the covariance (135 screens, 18 figures: the raw covariance is noisy).
SHRINK = 0.2
REFERENCE = Path(__file__).with_name("screen_design.json")

_ROW = np.array([[0, 0, 0], [1, 1, 1], [0, 0, 0]])
_COL = _ROW.T


def features(grid: np.ndarray) -> np.ndarray:
    """The figures of one (22, 32) screen of ASCII tile bytes, in :data:`FEATURES` order."""
    g = np.asarray(grid)
    solid = (g == ord("b")) | (g == ord("B"))
    ladder = g == ord("#")
    rope = g == ord("-")
    free = ~(solid | ladder | rope)
    ns = max(1, int(solid.sum()))
    empty_row = free.all(axis=1)
    runs, n_runs = ndimage.label(solid, structure=_ROW)
    run_sizes = np.bincount(runs.ravel())[1:]
    mass, n_mass = ndimage.label(solid)
    _, n_ladders = ndimage.label(ladder, structure=_COL)
    lmass, n_lmass = ndimage.label(ladder)
    ropes, n_ropes = ndimage.label(rope, structure=_ROW)
    rope_sizes = np.bincount(ropes.ravel())[1:]
    p = np.pad(solid, 1)
    neighbours = p[:-2, 1:-1].astype(np.int8) + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:]
    edges = (solid[1:] != solid[:-1]).sum() + (solid[:, 1:] != solid[:, :-1]).sum()
    return np.array([
        np.log1p(solid.sum()), np.log1p(ladder.sum()), np.log1p(rope.sum()), np.log1p((g == ord("B")).sum()),
        empty_row.sum(), len(empty_row) if empty_row.all() else np.argmin(empty_row),
        run_sizes[run_sizes >= 4].sum() / ns,
        (solid[1:] & solid[:-1]).sum() / ns,
        edges / ns,
        np.log1p(np.bincount(mass.ravel())[1:].max() if n_mass else 0),
        (ladder[:, 1:] & ladder[:, :-1]).sum() / max(1, int(ladder.sum())),
        np.log1p(np.bincount(lmass.ravel())[1:].max() if n_lmass else 0),
        np.log1p(n_ladders), np.log1p(n_ropes), np.log1p(n_runs),
        (rope_sizes <= 2).mean() if n_ropes else 0.0,
        (free[:, 1:-1] & solid[:, :-2] & solid[:, 2:]).sum(),
        (solid & (neighbours == 0)).sum(),
    ], dtype=np.float64)


def fit(grids) -> dict:
    """The reference of :func:`distance` from corpus screens (the training split)."""
    x = np.stack([features(g) for g in grids])
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    z = (x - mean) / scale
    cov = (1 - SHRINK) * np.cov(z.T) + SHRINK * np.eye(len(FEATURES))
    ref = {"features": list(FEATURES), "screens": len(x), "shrink": SHRINK,
           "mean": mean.round(6).tolist(), "scale": scale.round(6).tolist(),
           "precision": np.linalg.inv(cov).round(6).tolist()}
    d = np.array([_d2(ref_arrays(ref), f) for f in x])
    ref["corpus_distance"] = {"median": round(float(np.median(d)), 3), "p90": round(float(np.percentile(d, 90)), 3)}
    return ref


def ref_arrays(ref: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if list(ref["features"]) != list(FEATURES):
        raise ValueError(f"screen design reference has figures {ref['features']}, expected {list(FEATURES)}")
    return np.array(ref["mean"]), np.array(ref["scale"]), np.array(ref["precision"])


@lru_cache(maxsize=1)
def reference() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return ref_arrays(json.loads(REFERENCE.read_text()))


def _d2(ref, f: np.ndarray) -> float:
    mean, scale, precision = ref
    z = (f - mean) / scale
    return float(z @ precision @ z)


def distance(grid: np.ndarray) -> float:
    """Squared Mahalanobis distance of ``grid``'s figures from the corpus screens' (the median
    training screen is about 9, see ``corpus_distance`` in the reference)."""
    return _d2(reference(), features(grid))


def pick(screens) -> int:
    """Index of the screen closest to the corpus (the first of equals)."""
    return int(np.argmin([distance(s) for s in screens]))


def main() -> None:   # python -m gamegen.generators.levels.screen_design  (rewrites the reference)
    from . import corpus

    train, _ = corpus.load_split("loderunner")
    REFERENCE.write_text(json.dumps(fit([lv.grid for lv in train]), indent=1) + "\n")
    print(f"wrote {REFERENCE}")


if __name__ == "__main__":
    main()
