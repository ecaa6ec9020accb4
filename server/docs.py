"""Print the README's parameter tables from the generators' own parameter statements.

    python -m gamegen.server.docs

A test checks that README.md contains exactly these tables, so the docs cannot drift from the
code that validates requests.
"""

from __future__ import annotations

from gamegen.generators.params import markdown_table
from gamegen.server.registry import load_registry


def parameter_tables() -> str:
    reg = load_registry(warmup=False, device="cpu")
    blocks = []
    for gen in reg.all():
        i = gen.info
        blocks.append(f"**`{i.ref}`** ({i.family}) — {i.description}\n\n{markdown_table(i.params)}")
    return "\n\n".join(blocks)


if __name__ == "__main__":
    print(parameter_tables())
