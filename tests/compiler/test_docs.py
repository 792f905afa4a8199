"""Every treadle example in the README and docs/ (but diagnostics.md, which has its own
test) is a complete file that checks without errors."""

from __future__ import annotations

import re

import pytest

from ..helpers import DOCS, ROOT, compile_text

FENCE = re.compile(r"```treadle\n(.*?)```", re.S)
PAGES = [ROOT / "README.md"] + sorted(p for p in DOCS.rglob("*.md") if p.name != "diagnostics.md")
EXAMPLES = [(page, index, block) for page in PAGES
            for index, block in enumerate(FENCE.findall(page.read_text(encoding="utf-8")))]


def test_docs_have_examples():
    assert any(page.name == "language.md" for page, _, _ in EXAMPLES)


@pytest.mark.parametrize("page,index,block", EXAMPLES,
                         ids=[f"{page.relative_to(ROOT)}-{index}" for page, index, _ in EXAMPLES])
def test_example_checks(page, index, block):
    result = compile_text(block, path=f"{page.name}-{index}.treadle")
    errors = [(d.code, d.span.line, d.message) for d in result.diagnostics if d.is_error]
    assert errors == []
