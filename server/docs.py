"""Print the README's parameter tables from the generators' own parameter statements.

    python -m gamegen.server.docs            # every kind
    python -m gamegen.server.docs terrain    # one kind's block

A test checks that README.md contains each generator's block exactly, so the docs cannot drift
from the code that validates requests (a model built locally, like the dialog LLM, is checked
where it is built).
"""

from __future__ import annotations

import functools
import sys

from gamegen.generators.params import markdown_table
from gamegen.server.registry import load_registry


@functools.lru_cache(maxsize=1)
def _registry():
    """The bundled models, loaded once per process (every kind's tables come from one load)."""
    return load_registry(warmup=False, device="cpu")


def parameter_blocks(kind: str | None = None) -> list[str]:
    """One block (heading + table) per loaded generator of ``kind`` (every kind: None); an older
    version of a model is headed with its pin (``levels/loderunner@1.0.0``), the newest, which
    callers get by default, without."""
    reg = _registry()
    blocks = []
    for gen in reg.all():
        i = gen.info
        if kind is None or i.kind == kind:
            ref = i.ref if reg.resolve(i.ref) is gen else f"{i.ref}@{i.version}"
            blocks.append(f"**`{ref}`** ({i.family}) — {i.description}\n\n{markdown_table(i.params, i.rules)}")
    return blocks


def parameter_tables(kind: str | None = None) -> str:
    return "\n\n".join(parameter_blocks(kind))


def kinds() -> list[str]:
    return sorted({g.info.kind for g in _registry().all()})


if __name__ == "__main__":
    if len(sys.argv) > 1:
        print(parameter_tables(sys.argv[1]))
    else:
        print("\n\n".join(parameter_tables(k) for k in kinds()))
