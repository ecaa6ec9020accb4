"""Pattern KL and diversity (numpy only, no corpus needed)."""

import numpy as np
import pytest

from gamegen.generators.levels.games import to_grid
from gamegen.generators.levels.metrics import diversity, pattern_counts, pattern_kl

A = to_grid(["----", "-X--", "XXXX"])
B = to_grid(["----", "--E-", "XX-X"])


def test_pattern_counts_counts_every_window():
    c = pattern_counts([A], 2)
    assert sum(c.values()) == (3 - 1) * (4 - 1)
    assert sum(pattern_counts([A], 3).values()) == 2


def test_pattern_kl_zero_for_identical_sets():
    assert pattern_kl([A, B], [B, A], 2) == pytest.approx(0.0, abs=1e-9)


def test_pattern_kl_positive_and_directional():
    # Reference has patterns the generated set lacks -> large; the reverse case is KL(gen||ref).
    kl = pattern_kl([A], [A, B], 2)
    assert kl > 0.1
    # generated covers the reference plus novel patterns: smaller than when it misses them.
    assert pattern_kl([A, B], [A], 2) < pattern_kl([A], [A, B], 2)


def test_pattern_kl_is_finite_for_disjoint_sets():
    X = to_grid(["XX", "XX"])
    E = to_grid(["--", "--"])
    v = pattern_kl([X], [E], 2)
    assert np.isfinite(v) and v > 10


def test_pattern_kl_rejects_too_small_grids():
    with pytest.raises(ValueError, match="windows"):
        pattern_kl([to_grid(["X"])], [A], 2)


def test_diversity():
    assert diversity([A, A, A]) == 0.0
    assert diversity([A]) == 0.0
    expected = float(np.mean(A != B))
    assert diversity([A, B]) == pytest.approx(expected)
    assert diversity([A, B, B]) == pytest.approx(2 * expected / 3)
    with pytest.raises(ValueError, match="equal shapes"):
        diversity([A, A[:, :2]])
