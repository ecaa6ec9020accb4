"""The README's parameter tables are generated from the generators' parameter statements."""

from pathlib import Path

from gamegen.server.docs import kinds, parameter_blocks

ROOT = Path(__file__).resolve().parent.parent


def test_readme_parameter_tables_are_current():
    readme = (ROOT / "README.md").read_text()
    for kind in kinds():
        for block in parameter_blocks(kind):   # per generator: a model built only locally is checked where it is
            assert block in readme, \
                f"README parameter tables for {kind} are stale: paste `python -m gamegen.server.docs {kind}`"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make test" in ci
