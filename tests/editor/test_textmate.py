"""The editor grammar: every .treadle file of the repository tokenized by the TextMate
engine VS Code uses (node tokenize.mjs, with vscode-textmate and vscode-oniguruma from
tests/editor/package-lock.json), each token class checked against what treadle's own
parser says the text is; the keyword and setting lists checked against the compiler's."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest
from lark import Lark

from treadle.compiler import ast, settings
from treadle.compiler.diagnostics import Diagnostics
from treadle.compiler.parser import parse
from treadle.compiler.source import SourceFile

from ..helpers import ROOT

HERE = Path(__file__).resolve().parent
GRAMMAR = ROOT / "grammar" / "treadle.tmLanguage.json"
LANGUAGE_CONFIGURATION = ROOT / "grammar" / "language-configuration.json"
SOURCES = sorted({*ROOT.glob("examples/**/*.treadle"), *ROOT.glob("runtime/std/*.treadle"),
                  *ROOT.glob("tests/**/*.treadle")} - set(ROOT.glob("tests/editor/node_modules/**/*")))
BUILTIN_TYPES = {"str", "int", "float", "bool", "list", "dict", "Dataset", "Model", "Metrics", "Artifact"}
SETTING_NAMES = set(settings.COMPONENT_KEYS + settings.PIPELINE_KEYS + settings.MPI_KEYS + settings.RESOURCE_KEYS
                    + settings.SECURITY_KEYS)


def tmlanguage() -> dict:
    return json.loads(GRAMMAR.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def lark_grammar() -> Lark:
    return Lark((ROOT / "grammar" / "treadle.lark").read_text(encoding="utf-8"), parser="lalr", lexer="basic")


def lark_keywords() -> set[str]:
    return {t.pattern.value for t in lark_grammar().terminals
            if t.pattern.type == "str" and re.fullmatch(r"[A-Za-z_]\w*", t.pattern.value)}


@lru_cache(maxsize=1)
def tokenized() -> dict:
    """{path: [[(start, end, scopes), ...] per line]} from the real TextMate engine."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is needed to test the TextMate grammar: install node (the CI machine has it)")
    if not (HERE / "node_modules" / "vscode-textmate").is_dir():
        pytest.fail("the TextMate engine is not installed: run `npm ci` in tests/editor (.ci/run does it)")
    run = subprocess.run([node, str(HERE / "tokenize.mjs"), str(GRAMMAR), *map(str, SOURCES)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return {Path(path): lines for path, lines in json.loads(run.stdout).items()}


# ---------------------------------------------------------------- lists that must not drift
def test_keywords_are_the_lark_grammars():
    words = set()
    for pattern in tmlanguage()["repository"]["keywords"]["patterns"]:
        match = re.fullmatch(r"\\b\(\?:([\w|]+)\)\\b", pattern["match"])
        assert match, f"keyword patterns are written \\b(?:a|b)\\b: {pattern['match']}"
        words |= set(match.group(1).split("|"))
    assert words == lark_keywords()


def test_setting_names_are_the_compilers():
    patterns = tmlanguage()["repository"]["setting-key"]["patterns"]
    listed = set()
    for pattern in patterns:
        if pattern["name"].startswith("support.variable.setting"):
            listed |= set(re.match(r"\\b\(\?:([\w|]+)\)", pattern["match"]).group(1).split("|"))
    assert listed == SETTING_NAMES


def test_the_grammar_converts_to_a_property_list_for_sublime_text():
    """docs/editors.md converts the grammar with plistlib; nothing may be lost on the way."""
    import plistlib

    assert plistlib.loads(plistlib.dumps(tmlanguage())) == tmlanguage()


def test_language_configuration_matches_the_language():
    configuration = json.loads(LANGUAGE_CONFIGURATION.read_text(encoding="utf-8"))
    comment = next(t for t in lark_grammar().terminals if t.name == "COMMENT")
    assert re.fullmatch(comment.pattern.to_regexp(), configuration["comments"]["lineComment"] + " text")
    assert sorted(map(tuple, configuration["brackets"])) == [("(", ")"), ("[", "]"), ("{", "}")]


@pytest.mark.parametrize("path", sorted({*ROOT.glob("examples/**/*.treadle"), *ROOT.glob("runtime/std/*.treadle")}),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_indentation_rules_agree_with_the_formatter(path):
    """After a line the editor indents, the formatted file indents by two; a closing line
    the editor dedents is where the formatter dedents. (A `{` at the end of a continuation
    line, as in a long header, is indented from the statement's first line, which indentation
    rules cannot see: there the editor indents too far until the file is formatted.)"""
    rules = json.loads(LANGUAGE_CONFIGURATION.read_text(encoding="utf-8"))["indentationRules"]
    increase, decrease = re.compile(rules["increaseIndentPattern"]), re.compile(rules["decreaseIndentPattern"])
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    opened = 0
    continued = re.compile(r"^\s*(->|with\b|after\b|and\b|or\b)")
    for previous, line, following in zip([""] + lines, lines, lines[1:]):
        if previous.rstrip().endswith((",", "(", "[")) or continued.match(line):
            continue
        indent = len(line) - len(line.lstrip())
        following_indent = len(following) - len(following.lstrip())
        if increase.search(line):
            opened += 1
            expected = indent if decrease.search(following) else indent + 2
            assert following_indent == expected, (line, following)
    assert opened > 0


# ---------------------------------------------------------------- scopes of each token class
def _walk_expr(node, expect):
    if isinstance(node, ast.OutputRef):
        expect(node.step_span, "variable.other.step.")
        expect(node.output_span, "variable.other.property.output.")
    elif isinstance(node, ast.ListExpr):
        for item in node.items:
            _walk_expr(item, expect)
    elif isinstance(node, ast.DictExpr):
        for _, value in node.entries:
            _walk_expr(value, expect)
    elif isinstance(node, ast.Call):
        for argument in node.arguments:
            if argument.name:
                expect(argument.name_span, "variable.parameter.argument.")
            _walk_expr(argument.value, expect)
    elif isinstance(node, ast.Compare):
        _walk_expr(node.left, expect)
        _walk_expr(node.right, expect)
    elif isinstance(node, ast.BoolOp):
        for operand in node.operands:
            _walk_expr(operand, expect)
    elif isinstance(node, ast.Not):
        _walk_expr(node.operand, expect)


def _walk_settings(items, expect):
    for setting in items:
        if setting.key in SETTING_NAMES:
            expect(setting.key_span, "support.variable.setting.")
        if setting.value is not None:
            _walk_expr(setting.value, expect)
        else:
            _walk_settings(setting.block, expect)


def _walk_params(params, expect):
    for param in params:
        expect(param.name_span, "variable.parameter.")
        if param.type.name in BUILTIN_TYPES:
            expect(param.type.span, "support.type.")
        if param.default is not None:
            _walk_expr(param.default, expect)


def _walk_statements(statements, expect):
    for statement in statements:
        if isinstance(statement, ast.Step):
            if statement.name:
                expect(statement.name_span, "entity.name.variable.step.")
            expect(statement.call.callee_span, "entity.name.function.call.")
            _walk_expr(statement.call, expect)
            for reference in statement.after:
                expect(reference.span, "variable.other.step.")
            _walk_settings(statement.overrides, expect)
        elif isinstance(statement, ast.PipelineSetting):
            _walk_settings([statement.setting], expect)
        elif isinstance(statement, ast.If):
            _walk_expr(statement.condition, expect)
            _walk_statements(statement.then, expect)
            _walk_statements(statement.otherwise, expect)
        elif isinstance(statement, ast.For):
            _walk_expr(statement.iterable, expect)
            _walk_statements(statement.body, expect)
        else:
            _walk_statements(statement.body, expect)


TOKEN_CLASSES = {
    "STRING": ("string.quoted.double.", "string.quoted.triple."),
    "NUMBER": ("constant.numeric.",),
    "COMMENT": ("comment.line.number-sign.",),
    "COMPARE": ("keyword.operator.comparison.",),
    "EQUAL": ("keyword.operator.assignment.",),
    "__ANON_0": ("keyword.operator.arrow.",),  # "->", an anonymous terminal of the grammar
}
KEYWORD_SCOPES = ("keyword.", "storage.type.", "constant.language.")


def expectations(path: Path) -> list[tuple[int, int, str, tuple[str, ...]]]:
    """(line, column, what, accepted scope prefixes) for every classified token of a file."""
    text = path.read_text(encoding="utf-8")
    found: list = []
    keywords = lark_keywords()
    for token in lark_grammar().lex(text, dont_ignore=True):
        if token.value in keywords:
            found.append((token.line, token.column, token.value, KEYWORD_SCOPES))
        elif token.value == "->":
            found.append((token.line, token.column, "->", ("keyword.operator.arrow.",)))
        elif token.type in TOKEN_CLASSES:
            found.append((token.line, token.column, token.value, TOKEN_CLASSES[token.type]))
        if token.type == "STRING":
            for escape in re.finditer(r"\\.", token.value):
                before = token.value[: escape.start()]
                line = token.line + before.count("\n")
                column = (token.column if "\n" not in before else 1) + len(before.rsplit("\n", 1)[-1])
                found.append((line, column, escape.group(), ("constant.character.escape.",)))

    def expect(span, prefix):
        found.append((span.line, span.column, "name", (prefix,)))

    diagnostics = Diagnostics()
    module = parse(SourceFile(str(path), text), diagnostics)
    assert module is not None, [d.message for d in diagnostics]
    for let in module.lets:
        expect(let.name_span, "variable.other.constant.")
        _walk_expr(let.value, expect)
    for component in module.components:
        expect(component.name_span, "entity.name.function.component.")
        _walk_params(component.inputs + component.outputs, expect)
        _walk_settings(component.settings, expect)
    for pipeline in module.pipelines:
        expect(pipeline.name_span, "entity.name.function.pipeline.")
        _walk_params(pipeline.params, expect)
        _walk_statements(pipeline.body, expect)
    return found


def scopes_at(lines: list, line: int, column: int) -> list[str]:
    for start, end, scopes in lines[line - 1]:
        if start <= column - 1 < end:
            return scopes
    return []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_token_class_gets_its_scope(path):
    lines = tokenized()[path]
    wrong = []
    checked = 0
    for line, column, what, prefixes in expectations(path):
        scopes = scopes_at(lines, line, column)
        checked += 1
        if not any(scope.startswith(prefix) for scope in scopes for prefix in prefixes):
            wrong.append(f"{path.name}:{line}:{column} {what!r}: expected {' or '.join(prefixes)}, got {scopes}")
    assert not wrong, "\n".join(wrong[:20])
    assert checked > 20


def test_every_keyword_is_highlighted_in_every_place_it_may_stand(tmp_path):
    """One file with every keyword, so that a keyword the examples do not use is covered too."""
    sample = tmp_path / "all.treadle"
    sample.write_text('import "std/sklearn" as sk\nlet X = true\ncomponent c(a: int) -> (b: int) {\n'
                      '  image = "x"\n}\npipeline p(n: int = 1) {\n  s = c(a=n) after t with { retries = 1 }\n'
                      '  t = c(a=1)\n  if not n == 1 and n > 0 or false {\n    c(a=2)\n  } else {\n    c(a=3)\n  }\n'
                      '  for i in [1] {\n    c(a=i)\n  }\n  finally {\n    c(a=4)\n  }\n}\n')
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules" / "vscode-textmate").is_dir():
        tokenized()  # fails with the reason
    run = subprocess.run([node, str(HERE / "tokenize.mjs"), str(GRAMMAR), str(sample)],
                         capture_output=True, text=True, timeout=120)
    lines = json.loads(run.stdout)[str(sample)]
    seen = set()
    for token in lark_grammar().lex(sample.read_text(), dont_ignore=True):
        if token.value in lark_keywords():
            scopes = scopes_at(lines, token.line, token.column)
            assert any(scope.startswith(KEYWORD_SCOPES) for scope in scopes), (token.value, scopes)
            seen.add(token.value)
    assert seen == lark_keywords()
