"""Properties of the Argo backend over generated pipelines and generated hostile strings."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from backend_helpers import argo_runs, compile_text, container_view, differences, load_all, treadle_string
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from treadle.backends.base import Options

PIPELINES = Path(__file__).parent / "pipelines"
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------- generated pipelines
TYPES = {"p_int": "int", "p_str": "str", "p_bool": "bool", "p_float": "float"}
LITERALS = {"int": st.integers(-5, 10**6).map(str), "float": st.floats(-1e6, 1e6, allow_nan=False).map(repr),
            "bool": st.sampled_from(["true", "false"]), "str": st.text(st.characters(
                codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=12).filter(lambda t: "{{" not in t)
            .map(treadle_string)}


@st.composite
def components(draw, index: int):
    inputs = draw(st.lists(st.sampled_from(sorted(TYPES)), unique=True, max_size=4))
    takes_artifact = index > 0 and draw(st.booleans())
    mpi = takes_artifact and draw(st.integers(0, 5)) == 0
    value_outputs = draw(st.lists(st.sampled_from(["o_float", "o_str"]), unique=True, max_size=2))
    params = [f"{name}: {TYPES[name]}" for name in inputs] + (["data: Dataset"] if takes_artifact else [])
    outputs = [f"{name}: {'float' if name == 'o_float' else 'str'}" for name in value_outputs] + ["art: Dataset"]
    pieces = ", ".join(f'"--{name}", {name}' for name in inputs + (["data"] if takes_artifact else [])
                       + value_outputs + ["art"])
    settings_text = draw(st.sampled_from(["", "retries = 2", 'timeout = "10m"', 'resources { cpu = "1", gpu = 1 }',
                                          "deterministic = true", 'image_pull_policy = "Always"']))
    if mpi:
        settings_text += "\n  mpi { ranks = 3 }"
    text = (f"component c{index}({', '.join(params)}) -> ({', '.join(outputs)}) {{\n"
            f'  image = "registry.example/tool:{index}"\n  command = ["tool", {pieces}]\n  {settings_text}\n}}\n')
    return {"name": f"c{index}", "inputs": inputs, "artifact": takes_artifact, "outputs": value_outputs, "text": text}


@st.composite
def pipelines(draw):
    comps = [draw(components(index)) for index in range(draw(st.integers(1, 4)))]
    lines, produced = [], []  # produced: (step, outputs) at top level
    for number in range(draw(st.integers(1, 8))):
        comp = draw(st.sampled_from(comps)) if produced else comps[0]
        args = []
        for name in comp["inputs"]:
            kind = TYPES[name]
            choice = draw(st.integers(0, 2))
            if choice == 0:
                args.append(f"{name}={draw(LITERALS[kind])}")
            elif choice == 1:
                args.append(f"{name}={name}")
            else:
                sources = [f"{step}.o_float" for step, outs in produced if "o_float" in outs and kind == "float"]
                sources += [f"{step}.o_str" for step, outs in produced if "o_str" in outs and kind == "str"]
                args.append(f"{name}={draw(st.sampled_from(sources))}" if sources else f"{name}={name}")
        if comp["artifact"]:
            args.append(f"data={draw(st.sampled_from([step for step, _ in produced]))}.art")
        call = f"s{number} = {comp['name']}({', '.join(args)})"
        block = draw(st.integers(0, 4))
        if block == 1:
            lines.append(f'  if p_int > 3 or p_str == "a b" {{\n    {call}\n  }}')
        elif block == 2:
            lines.append(f"  for item in [1, 2, 3] {{\n    {call}\n  }}")
        elif block == 3 and produced:
            step, outs = produced[-1]
            test = f"{step}.o_float >= 0.5" if "o_float" in outs else "not p_bool"
            lines.append(f"  if {test} {{\n    {call}\n  }}")
        else:
            lines.append(f"  {call}")
            produced.append((f"s{number}", comp["outputs"]))
    if draw(st.booleans()):
        lines.append(f"  finally {{\n    f = {comps[0]['name']}({', '.join(f'{n}={n}' for n in comps[0]['inputs'])})\n  }}")
    header = 'pipeline generated(p_int: int = 4, p_str: str = "a b", p_bool: bool = true, p_float: float = 0.5) {\n'
    schedule = draw(st.sampled_from([None, None, "0 3 * * *", "*/15 * * * *", "30 2 * * 1-5"]))
    if schedule is not None:  # a scheduled pipeline: CronWorkflow, or Tekton's CronJob and its documents
        header += f'  schedule = "{schedule}"\n'
        timezone = draw(st.sampled_from([None, "UTC", "Europe/Berlin"]))
        if timezone is not None:
            header += f'  timezone = "{timezone}"\n'
    return "".join(c["text"] for c in comps) + header + "\n".join(lines) + "\n}\n"


@FAST
@given(pipelines(), st.sampled_from([Options(), Options(artifacts="volume"), Options(kind="workflowtemplate")]))
def test_generated_pipelines_compile_to_valid_deterministic_yaml(schema_errors, source, options):
    output, _ = compile_text(source, options)
    assert output.ok, [d.message for d in output.diagnostics]
    documents = load_all(output.text)
    kinds = sorted(document["kind"] for document in documents)
    template = ["WorkflowTemplate"] if options.kind == "workflowtemplate" else []
    assert kinds == (["CronWorkflow"] + template if "schedule =" in source else template or ["Workflow"])
    for document in documents:
        assert schema_errors(document, strict=True) == []
    again, _ = compile_text(source, options)
    assert again.text == output.text


def _compile_under_seed(paths: list[Path], seed: str) -> bytes:
    """Compile files in one fresh interpreter with PYTHONHASHSEED=seed; the YAML of all."""
    script = ("import sys\nfrom treadle.compiler.cli import main\n"
              "for path in sys.argv[1:]:\n"
              "    code = main(['compile', path, '--target', 'argo'])\n"
              "    assert code == 0, (path, code)\n")
    run = subprocess.run([sys.executable, "-c", script, *map(str, paths)], capture_output=True,
                         env={**os.environ, "PYTHONHASHSEED": seed})
    assert run.returncode == 0, run.stderr.decode()
    return run.stdout


def test_same_bytes_under_other_hash_seeds():
    paths = sorted(PIPELINES.glob("*.treadle"))
    assert len({_compile_under_seed(paths, seed) for seed in ("0", "1", "4242")}) == 1


@settings(max_examples=1, deadline=None)
@given(st.lists(pipelines(), min_size=4, max_size=4))
def test_generated_pipelines_same_bytes_under_another_hash_seed(tmp_path_factory, sources):
    folder = tmp_path_factory.mktemp("seed")
    paths = []
    for index, source in enumerate(sources):
        path = folder / f"generated{index}.treadle"
        path.write_text(source, encoding="utf-8")
        paths.append(path)
    assert _compile_under_seed(paths, "1") == _compile_under_seed(paths, "2")


# ---------------------------------------------------------------- hostile strings
HOSTILE = ["{{", "}}", "{{workflow.name}}", "{", "}", "$(", "$(HOME)", "$$", "$", "'", '"', "\\", "\n", "\t",
           "?", ":", "#", "- ", "&a", "*b", "!c", "|", ">", "%", "@", "`", "yes", "null", "1e3", "0o17",
           "=", "{{=", "é", "✓", "日本", "\u2028", "\u00a0", " "]
hostile_text = st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(st.characters(
    codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=4)), max_size=6).map("".join)


@settings(max_examples=100, deadline=None)
@given(hostile_text, hostile_text, hostile_text)
def test_hostile_strings_arrive_unchanged_or_are_refused(argument, literal, env_value):
    source = (f"component show(text: str) {{\n  image = \"alpine:3.20\"\n"
              f"  command = [\"echo\", {treadle_string(literal)}, text]\n"
              f"  env {{ FIXED = {treadle_string(env_value)} }}\n}}\n"
              f"pipeline p() {{\n  show(text={treadle_string(argument)})\n}}\n")
    output, _ = compile_text(source)
    refused = [value for value in (argument, literal, env_value) if "{{" in value]
    if refused:
        assert not output.ok
        messages = " ".join(d.message for d in output.diagnostics if d.is_error)
        assert all(repr(value) in messages for value in refused if value in (literal, env_value)) or \
            any(value in messages for value in refused)
        return
    assert output.ok, [d.message for d in output.diagnostics]
    (document,) = load_all(output.text)
    task = document["spec"]["templates"][0]["dag"]["tasks"][0]
    argv, env = container_view(document, task)
    assert argv == ["echo", literal, argument]
    assert env["FIXED"] == env_value
    container = next(t for t in document["spec"]["templates"] if t["name"] == "show")["container"]
    assert container["command"][0] == "echo"  # no shell ever wraps a value
    # The value travels as a parameter of the call only: the template does not depend on it.
    plain, _ = compile_text(source.replace(f"show(text={treadle_string(argument)})", 'show(text="x")'))
    assert load_all(plain.text)[0]["spec"]["templates"][1] == document["spec"]["templates"][1]


# Hostile text in the places that reach a container without being an argument of a call: a
# parameter's default, the items of a literal loop, and the literal a condition compares with.
SHOW = ('component show(text: str) {\n  image = "alpine:3.20"\n  command = ["echo", text]\n'
        '  env { TEXT = text }\n}\n')
MARK = "PLAINxMARK"  # text that every encoding writes as it is
CONDITIONS = ["{v} == {lit}", "{v} != {lit}", "{lit} == {v}", "not ({v} != {lit})", "{v} == {lit} or n > 3",
              "n > 3 and {lit} != {v}"]


def refused(output, value: str, code: str = "B002") -> None:
    """The compile failed with `code` errors only, one of them quoting `value`."""
    errors = [d for d in output.diagnostics if d.is_error]
    assert not output.ok and output.text == "" and errors
    assert {d.code for d in errors} == {code}, [d.message for d in errors]
    assert any(repr(value) in d.message for d in errors), [d.message for d in errors]


def default_source(default: str) -> str:
    return SHOW + f"pipeline p(t: str = {treadle_string(default)}) {{\n  show(text=t)\n}}\n"


def in_finally(body: str) -> str:
    """`body` (lines of a pipeline's body) moved into a `finally` block after a main step."""
    indented = "".join(f"  {line}\n" for line in body.split("\n")[:-1])  # only "\n" ends a line here
    return '  a = show(text="a")\n  finally {\n' + indented + "  }\n"


def items_source(items: list[str], two_steps: bool, final: bool) -> str:
    """A loop over `items`: its one step takes the item; `two_steps` adds a step that does
    not; `final` puts the loop in the `finally` block."""
    second = '\n    k = show(text="k")' if two_steps else ""
    loop = f"  for x in [{', '.join(map(treadle_string, items))}] {{\n    s = show(text=x){second}\n  }}\n"
    return SHOW + f"pipeline p() {{\n{in_finally(loop) if final else loop}}}\n"


def condition_source(literal: str, form: str, where: str) -> str:
    """A step guarded by `form` over `literal` and a value: the parameter `u` at the top
    level (`where == "top"`) or in `finally`, or the item of a literal loop."""
    if where == "loop":
        condition = form.format(v="x", lit=treadle_string(literal))
        return SHOW + (f'pipeline p(n: int = 1) {{\n  for x in ["a", "b"] {{\n    if {condition} {{\n'
                       '      s = show(text=x)\n    }\n  }\n}\n')
    guarded = f"  if {form.format(v='u', lit=treadle_string(literal))} {{\n    s = show(text=u)\n  }}\n"
    body = in_finally(guarded) if where == "finally" else guarded
    return SHOW + f'pipeline p(u: str = "x", n: int = 1) {{\n{body}}}\n'


def argo_document(source: str) -> dict:
    output, _ = compile_text(source)
    assert output.ok, [d.message for d in output.diagnostics]
    (document,) = load_all(output.text)
    return document


_EXPR_PLAIN = re.compile(r"'([A-Za-z0-9 _.,/@+=%-]*)'")
_EXPR_BASE64 = re.compile(r"sprig\.b64dec\('([A-Za-z0-9+/]*={0,2})'\)")


def expression_literal(text: str) -> str:
    """The string an Argo expression's literal stands for: plain quoted text, or base64."""
    plain = _EXPR_PLAIN.fullmatch(text)
    if plain:
        return plain.group(1)
    encoded = _EXPR_BASE64.fullmatch(text)
    assert encoded, f"{text!r} is not a string literal of an expression"
    return base64.b64decode(encoded.group(1), validate=True).decode("utf-8")


@settings(max_examples=60, deadline=None)
@given(hostile_text)
def test_hostile_parameter_defaults_arrive_unchanged_or_are_refused(default):
    assume(default != MARK)
    output, _ = compile_text(default_source(default))
    if "{{" in default:
        refused(output, default)
        return
    assert output.ok, [d.message for d in output.diagnostics]
    (document,) = load_all(output.text)
    # The default is the workflow's argument, as text, and nothing else depends on it.
    assert differences(argo_document(default_source(MARK)), document) == [
        (("spec", "arguments", "parameters", 0, "value"), MARK, default)]
    assert argo_runs(document) == [(("show",), ["echo", default], {"TEXT": default})]


@settings(max_examples=60, deadline=None)
@given(st.lists(hostile_text, min_size=1, max_size=3), st.booleans(), st.booleans())
def test_hostile_loop_items_arrive_unchanged_or_are_refused(items, two_steps, final):
    marks = [f"{MARK}{index}" for index in range(len(items))]
    assume(not set(items) & set(marks))
    output, _ = compile_text(items_source(items, two_steps, final))
    hostile = [item for item in items if "{{" in item]
    if hostile:
        refused(output, hostile[0])
        return
    assert output.ok, [d.message for d in output.diagnostics]
    (document,) = load_all(output.text)
    # Each item is written once, as text, in `withItems`; the templates do not depend on it.
    changed = differences(argo_document(items_source(marks, two_steps, final)), document)
    assert changed and all(path[-2] == "withItems" for path, _, _ in changed)
    assert {marks.index(mark): item for _, mark, item in changed} == {
        index: item for index, item in enumerate(items) if item != marks[index]}
    runs = [(argv, env) for path, argv, env in argo_runs(document) if path[-1] not in ("a", "k")]
    assert runs == [(["echo", item], {"TEXT": item}) for item in items]


@settings(max_examples=60, deadline=None)
@given(hostile_text, st.sampled_from(CONDITIONS), st.sampled_from(["top", "loop", "finally"]))
def test_hostile_condition_literals_are_compared_as_they_are(literal, form, where):
    """A guard is one expression in which the literal is data: the emitted `when` is the
    one for any plain literal, with this literal (quoted or base64) in its place."""
    assume(literal != MARK)
    document = argo_document(condition_source(literal, form, where))
    changed = differences(argo_document(condition_source(MARK, form, where)), document)
    assert changed
    for path, plain, actual in changed:
        assert path[-1] == "when", path
        before, after = plain.split(f"'{MARK}'")
        assert actual.startswith(before) and actual.endswith(after) and len(actual) >= len(before) + len(after)
        spelled = actual[len(before):len(actual) - len(after)]
        assert "\n" not in spelled  # Argo's expression lexer ends a quoted literal at a new line
        assert expression_literal(spelled) == literal


@pytest.mark.parametrize("literal", ["\n", "done\n", "a b\n"])
def test_a_condition_literal_ending_in_a_newline_is_not_quoted_raw(literal):
    document = argo_document(condition_source(literal, "{v} == {lit}", "top"))
    (task,) = document["spec"]["templates"][0]["dag"]["tasks"]
    prefix, suffix = "{{=workflow.parameters['u'] == ", "}}"
    assert task["when"].startswith(prefix) and task["when"].endswith(suffix)
    assert "\n" not in task["when"]  # a newline inside an expression's quotes ends it
    assert expression_literal(task["when"][len(prefix):-len(suffix)]) == literal
