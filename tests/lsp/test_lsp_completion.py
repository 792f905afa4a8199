"""Completion while typing: the buffer usually does not parse at that moment."""

from __future__ import annotations

import pytest

LIBRARY = '''component train(data: Dataset, depth: int = 4, seed: int = 0) -> (model: Model, score: float) {
  image = "registry.example/train:1"
  command = ["train", data, depth, seed, model, score]
}

component source() -> (out: Dataset) {
  image = "registry.example/source:1"
  command = ["source", out]
}
'''

HEAD = 'import "library.treadle"\n\nlet LIMIT = 3\n\npipeline nightly(depth: int = 8, threshold: float = 0.5) {\n  raw = source()\n'


@pytest.fixture(scope="module")
def library(workspace):
    (workspace / "library.treadle").write_text(LIBRARY, encoding="utf-8")


def complete(lsp, workspace, text: str, marker: str = "|", name: str = "typing.treadle"):
    """Open `text` (with `marker` where the cursor is, removed) as a new document and complete there."""
    index = text.index(marker)
    text = text.replace(marker, "", 1)
    path = workspace / name
    document = lsp.open(path, text)
    line, character = _position(text, index)
    result = lsp.at("textDocument/completion", document, line, character)
    lsp.notify("textDocument/didClose", {"textDocument": {"uri": document}})
    items = result["items"] if isinstance(result, dict) else result
    return {item["label"]: item for item in items}


def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index)
    start = text.rfind("\n", 0, index) + 1
    return line, len(text[start:index].encode("utf-16-le")) // 2


def test_outputs_of_a_step_after_a_dot(lsp, workspace, library):
    items = complete(lsp, workspace, HEAD + "  model = train(data=raw.out)\n  x = model.|\n}\n")
    assert set(items) == {"model", "score"}
    assert items["score"]["detail"] == "score: float"


def test_outputs_of_a_step_written_since_the_file_last_parsed(lsp, workspace, library):
    items = complete(lsp, workspace, HEAD + "  fresh = train(data=raw.out\n  other = train(data=fresh.|\n}\n")
    assert set(items) == {"model", "score"}


def test_component_names_where_a_step_starts(lsp, workspace, library):
    items = complete(lsp, workspace, HEAD + "  model = tr|\n}\n")
    assert {"train", "source"} <= set(items)
    assert items["train"]["detail"].startswith("component train(data: Dataset")
    statement = complete(lsp, workspace, HEAD + "  |\n}\n")
    assert {"train", "source", "if", "for", "finally", "schedule"} <= set(statement)


def test_argument_names_not_given_yet(lsp, workspace, library):
    items = complete(lsp, workspace, HEAD + "  model = train(data=raw.out, |\n}\n")
    assert set(items) == {"depth", "seed"}
    assert items["depth"]["insertText"] == "depth="
    assert items["depth"]["detail"] == "depth: int = 4"


def test_values_offer_pipeline_parameters_lets_steps_and_loop_variables(lsp, workspace, library):
    items = complete(lsp, workspace, HEAD + "  for d in [1, 2] {\n    model = train(data=raw.out, depth=|)\n  }\n}\n")
    assert {"depth", "threshold", "LIMIT", "raw", "d", "true"} <= set(items)
    assert items["raw"]["insertText"] == "raw."
    assert "train" not in items


def test_keywords_at_the_top_level_and_none_inside_strings_or_comments(lsp, workspace, library):
    assert set(complete(lsp, workspace, HEAD + "}\n\n|")) == {"import", "let", "component", "pipeline"}
    assert complete(lsp, workspace, HEAD + '  model = train(data=raw.out, label="de|")\n}\n') == {}
    assert complete(lsp, workspace, HEAD + "  # model.|\n}\n") == {}


def test_settings_of_components_and_with_blocks(lsp, workspace, library):
    component = complete(lsp, workspace, 'component c(x: int) {\n  image = "i"\n  |\n}\n')
    assert {"command", "args", "retries", "resources"} <= set(component)
    nested = complete(lsp, workspace, 'component c(x: int) {\n  image = "i"\n  resources { | }\n}\n')
    assert set(nested) == {"cpu", "memory", "cpu_limit", "memory_limit", "gpu"}
    override = complete(lsp, workspace, HEAD + "  model = train(data=raw.out) with { | }\n}\n")
    assert "retries" in override and "image" not in override
    inside = complete(lsp, workspace, 'component c(x: int) -> (y: str) {\n  image = "i"\n  command = ["run", |]\n}\n')
    assert {"x", "y"} <= set(inside)
