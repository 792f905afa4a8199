"""`treadle fmt`: the layout, comments, idempotence, and the program left as it was."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from treadle.compiler import ir
from treadle.compiler.formatter import format_source

from ..generators import programs, untidy
from ..helpers import ROOT
from .test_properties import _mutate

FORMATTED = sorted([*ROOT.glob("examples/*.treadle"), *ROOT.glob("examples/components/*.treadle"),
                    *ROOT.glob("runtime/std/*.treadle")])
ALL_SOURCES = sorted(set(FORMATTED) | set(ROOT.glob("tests/**/*.treadle")) | set(ROOT.glob("docs/**/*.treadle")))


def fmt(text: str) -> str:
    result = format_source(text, "main.treadle")
    assert result.text is not None, [d.message for d in result.diagnostics]
    return result.text


def ir_signature(text: str, path: str = "main.treadle"):
    """The IR of every pipeline of a program with source positions left out."""
    from treadle.compiler.frontend import compile_sources
    from treadle.compiler.source import SourceFile

    result = compile_sources([SourceFile(path, text)])
    signature = {}
    for name, graph in result.pipelines.items():
        info = ir.info(graph)
        info = dataclasses.replace(info, span=None, loops=tuple(dataclasses.replace(loop, span=None)
                                                                 for loop in info.loops))
        nodes = sorted((node, dataclasses.replace(data["task"], span=None)) for node, data in graph.nodes(data=True))
        edges = sorted((a, b, sorted(data.items())) for a, b, data in graph.edges(data=True))
        signature[name] = (info, nodes, edges)
    return sorted(d.code for d in result.diagnostics), signature


# ---------------------------------------------------------------- the repository's own files
@pytest.mark.parametrize("path", FORMATTED, ids=lambda p: str(p.relative_to(ROOT)))
def test_repository_files_are_formatted(path):
    text = path.read_text(encoding="utf-8")
    assert fmt(text) == text, f"run: treadle fmt {path.relative_to(ROOT)}"


def test_fmt_check_passes_on_the_repository():
    run = subprocess.run([sys.executable, "-m", "treadle.compiler.cli", "fmt", "--check", "examples", "runtime/std"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    assert f"0 of {len(FORMATTED)} files would be reformatted" in run.stderr


@pytest.mark.parametrize("path", ALL_SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_source_in_the_repository_formats_to_the_same_program(path):
    text = path.read_text(encoding="utf-8")
    formatted = fmt(text)
    assert fmt(formatted) == formatted
    if path.parent.name in ("std", "components"):
        return  # no pipeline of their own; the examples compile them
    assert ir_signature(formatted, str(path)) == ir_signature(text, str(path))


FENCE = re.compile(r"```treadle\n(.*?)```", re.S)
DOC_EXAMPLES = [(page, index, block) for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
                for index, block in enumerate(FENCE.findall(page.read_text(encoding="utf-8")))]


@pytest.mark.parametrize("page, index, block", DOC_EXAMPLES,
                         ids=[f"{page.relative_to(ROOT)}-{index}" for page, index, _ in DOC_EXAMPLES])
def test_documentation_examples_format_to_the_same_program(page, index, block):
    result = format_source(block, "doc.treadle")
    if result.text is None:  # diagnostics.md shows syntax errors on purpose
        assert page.name == "diagnostics.md"
        return
    assert fmt(result.text) == result.text
    assert ir_signature(result.text) == ir_signature(block)


# ---------------------------------------------------------------- generated programs
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(programs().flatmap(lambda program: untidy(program[0])))
def test_generated_programs_format_idempotently_to_the_same_ir(text):
    formatted = fmt(text)
    assert fmt(formatted) == formatted
    assert ir_signature(formatted) == ir_signature(text)
    assert [line for line in formatted.splitlines() if "#" in line] or "#" not in text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(programs().flatmap(lambda program: untidy(program[0])), st.data())
def test_broken_programs_give_text_or_syntax_errors_never_an_exception(text, data):
    for _ in range(data.draw(st.integers(1, 3))):
        text = _mutate(text, data)
    result = format_source(text, "main.treadle")  # must not raise
    if result.text is None:
        assert any(d.is_error for d in result.diagnostics)
    else:
        assert fmt(result.text) == result.text


# ---------------------------------------------------------------- the layout
CASES = [
    # spacing and indentation
    ('let  X=[1,2 ,3]\nimport   "std/sklearn"   as  s', 'let X = [1, 2, 3]\nimport "std/sklearn" as s\n'),
    ('component c(a:int=1)->(b:float){\nimage="x"\ncommand=["run",a,b]}',
     'component c(a: int = 1) -> (b: float) {\n  image = "x"\n  command = ["run", a, b]\n}\n'),
    # a blank line around components and pipelines, at most one kept elsewhere
    ('let A = 1\n\n\n\nlet B = 2\ncomponent c() {\n  image = "x"\n}\npipeline p {\n}\n',
     'let A = 1\n\nlet B = 2\n\ncomponent c() {\n  image = "x"\n}\n\npipeline p() {}\n'),
    # settings blocks: one line when they fit and were written so; else one per line
    ('component c() {\n  image = "x"\n  resources {cpu="1",memory="2Gi"}\n  env {\n    A = "1"\n  }\n}\n',
     'component c() {\n  image = "x"\n  resources { cpu = "1", memory = "2Gi" }\n  env {\n    A = "1"\n  }\n}\n'),
    # aligned `=` in runs of steps; a blank line or another statement ends a run
    ('pipeline p() {\n  a = f(x=1)\n  long_name = f(x=2)\n\n  b = f(x=3)\n  f(x=4)\n  cc = f(x=5)\n  d = f(x=6)\n}\n',
     'pipeline p() {\n  a         = f(x=1)\n  long_name = f(x=2)\n\n  b = f(x=3)\n  f(x=4)\n  cc = f(x=5)\n'
     '  d  = f(x=6)\n}\n'),
    # clauses in one order, `else if`, parentheses only where the meaning needs them
    ('pipeline p() {\n  b = f() with {retries=1} after a\n  if (x > 1) and ((y or z) or w) {\n  } else {\n'
     '    if not (x == 1 and y) { f() }\n  }\n}\n',
     'pipeline p() {\n  b = f() after a with { retries = 1 }\n  if x > 1 and ((y or z) or w) {} else if not (x == 1 and y) {\n'
     '    f()\n  }\n}\n'),
    # long argument lists flow, aligned after the bracket; a flag stays with its value
    ('component c(data: Dataset) {\n  image = "x"\n  args = ["--data", data, "--alpha", 0.5, "--beta", 1, "--gamma", 2,'
     ' "--delta", 3, "--epsilon", 4, "-v", "--zeta", 5]\n}\n',
     'component c(data: Dataset) {\n  image = "x"\n  args = ["--data", data, "--alpha", 0.5, "--beta", 1, "--gamma", 2, "--delta", 3,'
     ' "--epsilon", 4,\n          "-v", "--zeta", 5]\n}\n'),
    # a long header: outputs continue on the next line, four columns in
    ('component c(first_input: Dataset, second_input: Dataset, third: int = 100) -> (model: Model, score: float) {\n'
     '  image = "x"\n}\n',
     'component c(first_input: Dataset, second_input: Dataset, third: int = 100)\n'
     '    -> (model: Model, score: float) {\n  image = "x"\n}\n'),
    # a long `with` goes to a continuation line; one too long for that opens a block
    ('pipeline p() {\n  model = forest(train=parts.train, n_estimators=n_estimators, seed=1) with { retries = 1, timeout = "1h" }\n}\n',
     'pipeline p() {\n  model = forest(train=parts.train, n_estimators=n_estimators, seed=1)\n'
     '      with { retries = 1, timeout = "1h" }\n}\n'),
    ('pipeline p() {\n  model = forest(train=parts.train, n=1) with { resources { cpu = "1", memory = "2Gi" }, '
     'retries = 1, timeout = "1h", cache = false, deterministic = true }\n}\n',
     'pipeline p() {\n  model = forest(train=parts.train, n=1) with {\n    resources { cpu = "1", memory = "2Gi" }\n'
     '    retries = 1\n    timeout = "1h"\n    cache = false\n    deterministic = true\n  }\n}\n'),
    # a long condition breaks before `and` / `or`
    ('pipeline p() {\n  if first_parameter_value > 10 and second_parameter_value < 20 and third_parameter_value == "abcdef" {\n'
     '    f()\n  }\n}\n',
     'pipeline p() {\n  if first_parameter_value > 10\n      and second_parameter_value < 20\n'
     '      and third_parameter_value == "abcdef" {\n    f()\n  }\n}\n'),
    # literals exactly as written
    ('let S = "tab\\tquote\\"é"\nlet N = [1e-3, -0.50, 1.]\nlet T = """\n  keep   this\n    as is\n  """',
     'let S = "tab\\tquote\\"é"\nlet N = [1e-3, -0.50, 1.]\nlet T = """\n  keep   this\n    as is\n  """\n'),
]


@pytest.mark.parametrize("source, expected", CASES)
def test_layout(source, expected):
    assert fmt(source) == expected
    assert fmt(expected) == expected


COMMENT_CASES = [
    # a comment stays at the end of its item's line, or on its own line before the next item
    ('# file\n\nimport "a.treadle"    # why\n# about b\nlet B = 1',
     '# file\n\nimport "a.treadle"  # why\n# about b\nlet B = 1\n'),
    # in lists and argument lists: a comment ends the line
    ('let X = [1,  # one\n  2, 3]', 'let X = [1,  # one\n         2, 3]\n'),
    ('let X = [  # numbers\n 1, 2]', 'let X = [  # numbers\n         1, 2]\n'),
    ('let X = [1, 2  # last\n]', 'let X = [1, 2  # last\n]\n'),
    # in blocks, after the opening brace, and before the closing one
    ('component c() {  # body\n  image = "x"\n\n  # done\n}',
     'component c() {  # body\n  image = "x"\n\n  # done\n}\n'),
    ('pipeline p() {\n  if x {\n    f()\n    # then\n  } else {  # else\n    g()\n  }\n}',
     'pipeline p() {\n  if x {\n    f()\n    # then\n  } else {  # else\n    g()\n  }\n}\n'),
    # a comment inside a settings block keeps it on several lines
    ('component c() {\n  image = "x"\n  mpi { ranks = 2 }  # two\n  resources { cpu = "1",  # one\n memory = "1Gi" }\n}',
     'component c() {\n  image = "x"\n  mpi { ranks = 2 }  # two\n  resources {\n    cpu = "1"  # one\n'
     '    memory = "1Gi"\n  }\n}\n'),
    # a comment where no item ends or starts moves before its statement, never lost
    ('pipeline p() {\n  t = f(a=2)  # inside\n    after s\n}', 'pipeline p() {\n  # inside\n  t = f(a=2) after s\n}\n'),
]


@pytest.mark.parametrize("source, expected", COMMENT_CASES)
def test_comments(source, expected):
    assert fmt(source) == expected
    assert fmt(expected) == expected


def test_crlf_files_stay_crlf():
    assert fmt('let  A = 1\r\n# c\r\nlet B = 2\r\n') == 'let A = 1\r\n# c\r\nlet B = 2\r\n'


def test_empty_and_comment_only_files():
    assert fmt("") == ""
    assert fmt("\n\n") == ""
    assert fmt("# only\n\n\n# comments") == "# only\n\n# comments\n"


def test_syntax_errors_give_no_text_and_the_parser_diagnostics():
    result = format_source("pipeline p( {\n", "bad.treadle")
    assert result.text is None
    assert [(d.code, d.span.line, d.span.column) for d in result.diagnostics] == [("E001", 1, 13)]


def test_type_errors_do_not_stop_formatting():
    text = "pipeline p() {\n  x = nowhere(a=1)\n}\n"
    assert fmt(text) == text
    assert ir_signature(text)[0] != []  # the checker does report it


# ---------------------------------------------------------------- the command
def treadle(*args, cwd, stdin=None):
    return subprocess.run([sys.executable, "-m", "treadle.compiler.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120, input=stdin)


def test_command_exit_codes_check_diff_and_write(tmp_path: Path):
    messy = tmp_path / "messy.treadle"
    tidy = tmp_path / "tidy.treadle"
    messy.write_text("let  X=1\n")
    tidy.write_text("let X = 1\n")

    run = treadle("fmt", "--check", "tidy.treadle", cwd=tmp_path)
    assert (run.returncode, run.stdout) == (0, "")

    run = treadle("fmt", "--check", "messy.treadle", "tidy.treadle", cwd=tmp_path)
    assert run.returncode == 1
    assert "would reformat messy.treadle" in run.stderr and "1 of 2 files would be reformatted" in run.stderr
    assert messy.read_text() == "let  X=1\n"

    run = treadle("fmt", "--diff", "messy.treadle", cwd=tmp_path)
    assert run.returncode == 0
    assert run.stdout == ("--- messy.treadle\n+++ messy.treadle (formatted)\n@@ -1 +1 @@\n-let  X=1\n+let X = 1\n")
    assert messy.read_text() == "let  X=1\n"

    run = treadle("fmt", "--check", "--diff", "messy.treadle", cwd=tmp_path)
    assert run.returncode == 1 and "+let X = 1" in run.stdout

    run = treadle("fmt", str(tmp_path), cwd=tmp_path)
    assert run.returncode == 0 and "reformatted" in run.stderr
    assert messy.read_text() == "let X = 1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["messy.treadle", "tidy.treadle"]  # no temporary left


def test_command_errors_exit_2_and_other_files_are_still_formatted(tmp_path: Path):
    (tmp_path / "bad.treadle").write_text("pipeline p( {\n")
    (tmp_path / "messy.treadle").write_text("let  X=1\n")
    run = treadle("fmt", "bad.treadle", "missing.treadle", "messy.treadle", cwd=tmp_path)
    assert run.returncode == 2
    assert "bad.treadle:1:13: error[E001]" in run.stderr
    assert "cannot read missing.treadle: no such file" in run.stderr
    assert "Traceback" not in run.stderr
    assert (tmp_path / "bad.treadle").read_text() == "pipeline p( {\n"
    assert (tmp_path / "messy.treadle").read_text() == "let X = 1\n"


def test_command_formats_standard_input(tmp_path: Path):
    run = treadle("fmt", "-", cwd=tmp_path, stdin="let  X=1")
    assert (run.returncode, run.stdout) == (0, "let X = 1\n")
    run = treadle("fmt", "--check", "-", cwd=tmp_path, stdin="let  X=1")
    assert run.returncode == 1 and "would reformat <stdin>" in run.stderr
