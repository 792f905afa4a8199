"""docs/optimizer.md: each pass's example becomes what the page shows, and the `--explain`
excerpt is what the command quoted before it prints.

Examples are marked in the info string of their block, which readers do not see.
```` ```text pass=NAME ```` (with `target=ENGINE`: the loops that engine asks to unroll)
is what pass NAME alone makes of a program: the block's own left column when its first line
is a `before ... after` header (a pipeline body over the page's four components, those of
the passes' docstring examples), otherwise the treadle block before it. A result line
without a name stands for a step the compiler names itself; a comment
`# with --fold-defaults: no condition` says that under that option the line has no `if`.
```` ```text explain ```` is a run of lines that the `treadle compile` command quoted in the
text before it writes to standard error, times aside."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from treadle.backends.base import Options as BackendOptions
from treadle.compiler.cli import EXIT_OK, main, pass_options
from treadle.compiler.passes import PASSES, Options
from treadle.compiler.passes.describe import describe, pipeline_of

from ..helpers import DOCS, compile_text

PAGE = (DOCS / "optimizer.md").read_text(encoding="utf-8")
FENCE = re.compile(r"```(\w+)([^\n]*)\n(.*?)```", re.S)
OPTION = re.compile(r"([a-z_]+)=(\S+)")
COMMAND = re.compile(r"`(treadle compile [^`]+)`")
FOLDED_AWAY = "with --fold-defaults: no condition"
TIME = re.compile(r"\d+(\.\d+)? ms")


def _examples():
    """(pass name, options, program, expected text) per pass example; ("explain", command,
    program, excerpt) for the `--explain` excerpt."""
    program, previous_end = None, 0
    for match in FENCE.finditer(PAGE):
        kind, info, body = match.groups()
        words = info.split()
        if kind == "treadle":
            program = body
        elif kind == "text" and "explain" in words:
            commands = COMMAND.findall(PAGE[previous_end:match.start()])
            yield pytest.param("explain", commands[-1] if commands else None, program, body, id="explain")
        elif kind == "text" and info.strip():
            options = dict(OPTION.findall(info))
            yield pytest.param(options["pass"], options, program, body, id=options["pass"])
        previous_end = match.end()


EXAMPLES = list(_examples())


def test_every_pass_has_an_example_and_the_explain_excerpt_is_marked():
    assert sorted(example.values[0] for example in EXAMPLES) == sorted([p.name for p in PASSES] + ["explain"])


def _columns(body: str) -> tuple[str, str]:
    """A side-by-side block as (pipeline body before, result), comments taken off the left."""
    header, *lines = body.splitlines()
    column = header.index("after")
    before = "\n".join("  " + line[:column].partition("#")[0].rstrip() for line in lines)
    after = "\n".join(line[column:] for line in lines if line[column:].strip())
    return before, after


def _named(line: str) -> bool:
    return " = " in line.partition("(")[0]


def _as_documented(described: str, documented: list[str]) -> list[str]:
    """The described lines, each without its step's name where the page leaves the name out."""
    lines = described.splitlines()
    return [line if page_line is None or _named(page_line) else line.partition(" = ")[2]
            for line, page_line in zip(lines, documented + [None] * len(lines))]


def _expected(text: str, fold_defaults: bool) -> list[str]:
    lines = []
    for line in text.strip("\n").splitlines():
        code, _, comment = line.partition("#")
        code, comment = code.rstrip(), comment.strip()
        assert comment in ("", FOLDED_AWAY), f"no test knows what {comment!r} claims"
        if comment and fold_defaults:
            code, _, _ = code.partition(" if ")
        lines.append(code)
    return lines


@pytest.mark.parametrize("name,options,program,text", [e for e in EXAMPLES if e.values[0] != "explain"])
def test_pass_example(name, options, program, text):
    if text.startswith("before"):
        body, text = _columns(text)
        graph = pipeline_of(body)
    else:
        assert program is not None, "the example has no program before it"
        result = compile_text(program, path="example.treadle")
        assert [d.message for d in result.diagnostics if d.is_error] == []
        (graph,) = result.pipelines.values()
    (step,) = [p for p in PASSES if p.name == name]
    for fold_defaults in (False, True) if FOLDED_AWAY in text else (False,):
        chosen = (pass_options(options["target"], BackendOptions(), fold_defaults) if "target" in options
                  else Options(fold_defaults=fold_defaults))
        result = step.run(graph, chosen, [])
        expected = _expected(text, fold_defaults)
        assert _as_documented(describe(result), expected) == expected, f"--fold-defaults: {fold_defaults}"


@pytest.mark.parametrize("command,program,text",
                         [pytest.param(*e.values[1:], id=e.id) for e in EXAMPLES if e.values[0] == "explain"])
def test_explain_excerpt(command, program, text, in_tmp, capsys):
    assert command is not None, "no `treadle compile` command before the excerpt"
    argv = shlex.split(command)[1:]
    (file,) = [arg for arg in argv if arg.endswith(".treadle")]
    Path(file).write_text(program, encoding="utf-8")
    assert main(argv) == EXIT_OK
    printed = [TIME.sub("N ms", line) for line in capsys.readouterr().err.splitlines()]
    excerpt = [TIME.sub("N ms", line) for line in text.strip("\n").splitlines()]
    assert excerpt[0] in printed, printed
    start = printed.index(excerpt[0])
    assert printed[start:start + len(excerpt)] == excerpt
