"""The parser: the design sketch, new-line rules, spans, comments and syntax errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from treadle.compiler import ast
from treadle.compiler.diagnostics import Diagnostics
from treadle.compiler.parser import parse
from treadle.compiler.source import SourceFile

FIXTURES = Path(__file__).parent / "fixtures"


def parse_text(text: str):
    diagnostics = Diagnostics()
    module = parse(SourceFile("main.treadle", text), diagnostics)
    return module, diagnostics.sorted()


def test_the_design_sketch_parses_to_what_it_says():
    module, diagnostics = parse_text((FIXTURES / "design_sketch.treadle").read_text())
    assert diagnostics == []
    assert [(i.path, i.alias) for i in module.imports] == [
        ("components/sklearn.treadle", None), ("vendor/xgboost/component.yaml", "xgb_train")]
    assert [let.name for let in module.lets] == ["RUNTIME"]
    (forest,) = module.components
    assert [(p.name, p.type.name) for p in forest.inputs] == [("train", "Dataset"), ("n_estimators", "int"), ("seed", "int")]
    assert [(p.name, p.type.name) for p in forest.outputs] == [("model", "Model"), ("oob_score", "float")]
    assert [s.key for s in forest.settings] == ["image", "command", "args", "mpi", "resources", "retries", "timeout"]
    mpi = forest.settings[3]
    assert mpi.block[0].key == "ranks" and mpi.block[0].value.value == 4
    (pipeline,) = module.pipelines
    kinds = [type(s).__name__ for s in pipeline.body]
    assert kinds == ["PipelineSetting", "Step", "Step", "Step", "Step", "If", "For", "Finally"]
    condition = pipeline.body[5].condition
    assert isinstance(condition, ast.Compare) and condition.op == ">="
    loop = pipeline.body[6]
    assert loop.variable == "depth" and [i.value for i in loop.iterable.items] == [4, 8, 16]
    assert loop.body[0].overrides[0].key == "retries"
    assert len(module.comments) == 5


def test_new_lines_inside_brackets_and_dicts_do_not_count():
    module, diagnostics = parse_text(
        'let D = {\n  "a": [1,\n 2],\n  "b": true\n}\n'
        "component c(\n  x: int,\n  y: str = \"v\"\n)\n  -> (out: str)\n{\n  image = \"i\"\n"
        "  command = [\n    \"run\",\n    x\n  ]\n  resources {\n    cpu = \"1\"\n    memory = \"1Gi\"\n  }\n}\n"
    )
    assert diagnostics == []
    assert module.lets[0].value.entries[0][0].value == "a"
    assert [s.key for s in module.components[0].settings[2].block] == ["cpu", "memory"]


def test_else_after_and_with_continue_the_line_before():
    module, diagnostics = parse_text(
        "pipeline p(a: bool = true) {\n  if a {\n    x = c()\n  }\n  else if not a {\n    y = c()\n  }\n"
        "  else {\n    z = c()\n  }\n  w = c()\n    after x\n    with { retries = 1 }\n}\n"
    )
    assert diagnostics == []
    branch = module.pipelines[0].body[0]
    assert isinstance(branch.otherwise[0], ast.If) and branch.otherwise[0].otherwise[0].name == "z"
    step = module.pipelines[0].body[1]
    assert [r.name for r in step.after] == ["x"] and step.overrides[0].key == "retries"


def test_spans_point_at_the_text():
    module, _ = parse_text('pipeline p() {\n  rf = forest(train=parts.train, n=3)\n}\n')
    step = module.pipelines[0].body[0]
    assert (step.name_span.line, step.name_span.column, step.name_span.end_column) == (2, 3, 5)
    reference = step.call.arguments[0].value
    assert isinstance(reference, ast.OutputRef)
    assert (reference.span.column, reference.span.end_column) == (21, 32)
    assert (reference.output_span.column, reference.output_span.end_column) == (27, 32)
    assert step.call.span.end_column == 38  # the closing parenthesis is inside


def test_strings_decode_their_escapes_and_keep_unicode():
    module, diagnostics = parse_text('let S = "a\\n\\t\\"q\\" \\\\ {{x}} $(y) é 雪"\n')
    assert diagnostics == []
    assert module.lets[0].value.value == 'a\n\t"q" \\ {{x}} $(y) é 雪'


@pytest.mark.parametrize("text,line,column,words", [
    ("pipeline p() {\n  a = f(x=1 y=2)\n}\n", 2, 13, "expected ')' or ','"),
    ("component c( {\n}\n", 1, 14, "expected ')' or a name"),
    ("pipeline p() {\n  if x = 3 {\n  }\n}\n", 2, 8, "compare with '=='"),
    ("pipeline p() {\n  a = f(\n", 3, 1, "never closed"),
])
def test_syntax_errors_say_in_words_what_was_expected(text, line, column, words):
    module, diagnostics = parse_text(text)
    assert module is None
    first = diagnostics[0]
    assert (first.code, first.span.line, first.span.column) == ("E001", line, column)
    rendered = first.message + " " + (first.hint or "")
    assert words in rendered
    assert "__ANON" not in rendered and "RBRACE" not in rendered and "_NL" not in rendered


def test_syntax_errors_of_every_declaration_are_reported_together():
    _, diagnostics = parse_text(
        "component a( {\n}\n\ncomponent b() {\n  image = \n}\n\npipeline p() {\n  x = y(\n}\n")
    assert [d.span.line for d in diagnostics] == [1, 5, 10]


def test_reserved_words_are_not_names():
    _, diagnostics = parse_text("pipeline p() {\n  x = c(if=1)\n}\n")
    assert diagnostics and diagnostics[0].code == "E001"
