"""Hover, go to definition, find references and rename, asked of a real server process."""

from __future__ import annotations

import pytest

from .client import position_of, uri

LIBRARY = '''# Trains a forest.
# Two lines of documentation.
component train(data: Dataset, depth: int = 4) -> (model: Model, score: float) {
  image = IMAGE
  command = ["train", data, depth, model, score]
}

let IMAGE = "registry.example/train:1"
'''

MAIN = '''import "library.treadle"

let LABEL = "überall 😀"

component notify(text: str) {
  image = IMAGE
  command = ["echo", text, LABEL]
}

component source() -> (out: Dataset) {
  image = IMAGE
  command = ["source", out]
}

pipeline nightly(depth: int = 8, threshold: float = 0.5) {
  raw = source()
  model = train(data=raw.out, depth=depth)
  if model.score > threshold {
    notify(text=LABEL)
  }
  for d in [1, 2] {
    tuned = train(data=raw.out, depth=d) after model
  }
}
'''


@pytest.fixture(scope="module")
def files(lsp, workspace):
    (workspace / "library.treadle").write_text(LIBRARY, encoding="utf-8")
    main = workspace / "main.treadle"
    main.write_text(MAIN, encoding="utf-8")
    document = lsp.open(main)
    assert lsp.diagnostics(document, version=1) == []
    return document, uri(workspace / "library.treadle")


def at(lsp, method, document, needle, nth=0, offset=1, **extra):
    line, character = position_of(MAIN, needle, nth, offset)
    return lsp.at(method, document, line, character, **extra)


def span_of(text, needle, nth=0):
    line, character = position_of(text, needle, nth)
    return {"start": {"line": line, "character": character}, "end": {"line": line, "character": character + len(needle)}}


def name_at(text, context, name):
    """The range of `name` where it appears inside the first occurrence of `context`."""
    line, character = position_of(text, context, offset=context.index(name))
    return {"start": {"line": line, "character": character}, "end": {"line": line, "character": character + len(name)}}


def test_hover_on_a_component_shows_signature_types_and_doc_comment(lsp, files):
    document, _ = files
    hover = at(lsp, "textDocument/hover", document, "train(data=raw")
    text = hover["contents"]["value"]
    assert "component train(data: Dataset, depth: int = 4)" in text
    assert "-> (model: Model, score: float)" in text
    assert "Trains a forest.\nTwo lines of documentation." in text
    assert "library.treadle" in text
    assert hover["range"] == span_of(MAIN, "train", 0)


def test_hover_on_a_step_names_its_component_and_outputs(lsp, files):
    document, _ = files
    text = at(lsp, "textDocument/hover", document, "model.score")["contents"]["value"]
    assert "step `model`" in text and "calls `train`" in text
    assert "`model.model`: Model" in text and "`model.score`: float" in text


def test_hover_on_parameters_arguments_and_outputs(lsp, files):
    document, _ = files
    parameter = at(lsp, "textDocument/hover", document, "threshold {")["contents"]["value"]
    assert "threshold: float = 0.5" in parameter and "parameter of pipeline `nightly`" in parameter
    argument = at(lsp, "textDocument/hover", document, "depth=depth")["contents"]["value"]
    assert "depth: int = 4" in argument and "input of component `train`" in argument
    output = at(lsp, "textDocument/hover", document, "score >", offset=2)["contents"]["value"]
    assert "score: float" in output and "output of component `train`" in output
    let = at(lsp, "textDocument/hover", document, "LABEL)")["contents"]["value"]
    assert 'let LABEL = "überall 😀"' in let
    assert at(lsp, "textDocument/hover", document, "[1, 2]") is None  # a literal names nothing


def test_definition_of_steps_components_lets_parameters_and_imports(lsp, files):
    document, library = files
    step = at(lsp, "textDocument/definition", document, "raw.out")
    assert step == {"uri": document, "range": span_of(MAIN, "raw")}
    component = at(lsp, "textDocument/definition", document, "train(data=raw")
    assert component == {"uri": library, "range": span_of(LIBRARY, "train")}
    let = at(lsp, "textDocument/definition", document, "LABEL)")
    assert let == {"uri": document, "range": span_of(MAIN, "LABEL")}
    imported_let = at(lsp, "textDocument/definition", document, "IMAGE")
    assert imported_let == {"uri": library, "range": span_of(LIBRARY, "IMAGE", 1)}
    parameter = at(lsp, "textDocument/definition", document, "depth)")
    assert parameter == {"uri": document, "range": span_of(MAIN, "depth")}
    loop_variable = at(lsp, "textDocument/definition", document, "d)")
    assert loop_variable == {"uri": document, "range": name_at(MAIN, "d in [", "d")}
    output = at(lsp, "textDocument/definition", document, "out, depth=d")
    assert output == {"uri": document, "range": name_at(MAIN, "out: Dataset", "out")}
    imported_file = at(lsp, "textDocument/definition", document, "library.treadle")
    assert imported_file["uri"] == library and imported_file["range"]["start"] == {"line": 0, "character": 0}


def test_references_of_a_step(lsp, files):
    document, _ = files
    found = at(lsp, "textDocument/references", document, "model = train", context={"includeDeclaration": True})
    ranges = [location["range"] for location in found]
    assert all(location["uri"] == document for location in found)
    assert ranges == [name_at(MAIN, "model = train", "model"), name_at(MAIN, "model.score", "model"),
                      name_at(MAIN, "after model", "model")]
    without = at(lsp, "textDocument/references", document, "model = train", context={"includeDeclaration": False})
    assert [location["range"] for location in without] == ranges[1:]


def test_rename_a_step_everywhere_it_is_named(lsp, files):
    document, _ = files
    edit = at(lsp, "textDocument/rename", document, "raw = source", newName="dataset")
    (edits,) = edit["changes"].values()
    assert list(edit["changes"]) == [document]
    assert sorted((e["range"]["start"]["line"], e["range"]["start"]["character"]) for e in edits) == sorted(
        (r["start"]["line"], r["start"]["character"]) for r in
        (span_of(MAIN, "raw ="), span_of(MAIN, "raw.out", 0), span_of(MAIN, "raw.out", 1)))
    assert len(edits) == 3
    assert {e["newText"] for e in edits} == {"dataset"}


def test_rename_a_let_across_files(lsp, files):
    document, library = files
    edit = at(lsp, "textDocument/rename", document, "IMAGE", newName="TRAIN_IMAGE")
    assert set(edit["changes"]) == {document, library}
    assert len(edit["changes"][document]) == 2 and len(edit["changes"][library]) == 2  # uses and the definition


def test_a_let_is_not_renamed_to_a_name_that_would_hide_it(lsp, files):
    document, _ = files
    for hidden in ("depth", "text", "tuned", "d"):  # a parameter, an input, a step, a loop variable
        line, character = position_of(MAIN, "LABEL =")
        response = lsp.request("textDocument/rename", {"textDocument": {"uri": document}, "newName": hidden,
                                                       "position": {"line": line, "character": character}})
        assert "would be hidden" in response["error"]["message"], (hidden, response)


def test_rename_edits_use_utf16_columns(lsp, files):
    document, _ = files
    edit = at(lsp, "textDocument/rename", document, "LABEL =", newName="GREETING")
    starts = sorted((e["range"]["start"]["line"], e["range"]["start"]["character"]) for e in edit["changes"][document])
    assert starts == sorted([position_of(MAIN, "LABEL", n) for n in range(3)])


def test_refused_renames_say_why(lsp, files):
    document, _ = files
    line, character = position_of(MAIN, "threshold {")
    prepare = lsp.request("textDocument/prepareRename", {"textDocument": {"uri": document},
                                                         "position": {"line": line, "character": character}})
    assert prepare["error"]["code"] == -32803 and "only steps and lets" in prepare["error"]["message"]
    line, character = position_of(MAIN, "raw = source")
    assert lsp.result("textDocument/prepareRename", {"textDocument": {"uri": document},
                                                     "position": {"line": line, "character": character}}) == span_of(MAIN, "raw")
    for bad, reason in (("model", "already a name"), ("if", "not a name"), ("2x", "not a name"), ("nightly", "already")):
        response = lsp.request("textDocument/rename", {"textDocument": {"uri": document},
                                                       "position": {"line": line, "character": character}, "newName": bad})
        assert reason in response["error"]["message"], (bad, response)


COMPONENT_YAML = """name: Train model
description: Trains a model on a dataset.
inputs:
- {name: data, type: Dataset}
- {name: epochs, type: Integer, default: '3'}
outputs:
- {name: model, type: Model}
- {name: accuracy, type: Float}
implementation:
  container:
    image: registry.example/train:1
    command: [train, {inputPath: data}, {inputValue: epochs}, {outputPath: model}, {outputPath: accuracy}]
"""

USES_YAML = '''import "train.component.yaml" as fit

component source() -> (out: Dataset) {
  image = "registry.example/source:1"
  command = ["source", out]
}

pipeline p() {
  raw = source()
  first = fit(data=raw.out)
  second = fit(data=raw.out, epochs=2) after first
}
'''


def test_a_component_imported_from_a_component_yaml(lsp, workspace):
    (workspace / "train.component.yaml").write_text(COMPONENT_YAML, encoding="utf-8")
    path = workspace / "kfp.treadle"
    document = lsp.open(path, USES_YAML)
    assert lsp.diagnostics(document, version=1) == []
    line, character = position_of(USES_YAML, "fit(data=raw.out)", offset=1)
    text = lsp.at("textDocument/hover", document, line, character)["contents"]["value"]
    assert "component fit(data: Dataset, epochs: int = 3)" in text and "-> (model: Model, accuracy: float)" in text
    assert "Trains a model on a dataset." in text
    step = lsp.at("textDocument/hover", document, *position_of(USES_YAML, "first =", offset=1))["contents"]["value"]
    assert "`first.accuracy`: float" in step
    typing = USES_YAML.replace("after first\n", "after first\n  third = fit(data=first.\n")
    lsp.change(document, 2, [{"text": typing}])
    line, character = position_of(typing, "first.\n", offset=len("first."))
    items = lsp.at("textDocument/completion", document, line, character)["items"]
    assert {item["label"] for item in items} == {"model", "accuracy"}
