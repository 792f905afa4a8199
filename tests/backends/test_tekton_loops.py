"""Tekton loops: nested loops (a matrix of several params, or unrolled copies), loops over a
list known only at run time (a list parameter or a list output, fanned out by a matrix from
an items task's array result), fan-in of nested loops, and the 256-combination limit."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from backend_helpers import compile_text, kubelet_expand, load_all
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from treadle.backends.base import Options
from treadle.backends.targets import compile_pipelines
from treadle.backends.tekton import GUARD_FILE, MPI_SHARED_PATH
from treadle.compiler.frontend import compile_sources
from treadle.compiler.source import SourceFile

LABEL2 = '''component label2(n: float, text: str) -> (ok: bool) {
  image = "alpine:3.20"
  command = ["label", n, text, ok]
}
'''
COMPONENTS = '''
component count(n: float, m: float = 0.0) -> (out: float) {
  image = "alpine:3.20"
  command = ["echo", n, m, "--out", out]
}
component label(text: str, other: str = "") -> (name: str) {
  image = "alpine:3.20"
  command = ["echo", text, other, "--name", name]
}
component listing(n: int = 3) -> (items: list) {
  image = "alpine:3.20"
  command = ["list", n, items]
}
component probe(text: str) -> (ok: bool) {
  image = "alpine:3.20"
  command = ["probe", text, ok]
}
component flag(on: bool) {
  image = "alpine:3.20"
  command = ["flag", on]
}
component gather(values: list) {
  image = "alpine:3.20"
  command = ["echo", values]
}
'''


def compiled(body: str, params: str = ""):
    output, _ = compile_text(COMPONENTS + f"pipeline p({params}) {{\n{body}\n}}\n", target="tekton")
    return output


def documents(body: str, params: str = "", schema_errors=None) -> dict[str, dict]:
    output = compiled(body, params)
    assert output.ok, [d.message for d in output.diagnostics]
    docs = load_all(output.text)
    if schema_errors is not None:
        for document in docs:
            assert schema_errors(document, strict=True) == []
    return {f"{d['kind']}/{d['metadata']['name']}": d for d in docs}


def tasks(docs: dict) -> dict[str, dict]:
    return {task["name"]: task for task in docs["Pipeline/p"]["spec"]["tasks"]}


def errors(output) -> list[tuple[str, str]]:
    return [(d.code, d.message) for d in output.diagnostics if d.is_error]


def test_nested_loops_around_one_step_are_one_matrix(schema_errors):
    docs = documents('for x in [1.5, 2.5] {\n  for y in [0.5, 1.0, 2.0] {\n    c = count(n=x, m=y)\n  }\n}\n'
                     'last = count(n=1.0) after c', schema_errors=schema_errors)
    entry = tasks(docs)["c"]
    assert entry["matrix"] == {"params": [{"name": "n", "value": ["1.5", "2.5"]},
                                          {"name": "m", "value": ["0.5", "1.0", "2.0"]}]}
    assert tasks(docs)["last"]["runAfter"] == ["c"]


def test_nested_loops_that_need_copies_are_unrolled_with_both_indices(schema_errors):
    docs = documents('for x in ["a", "b"] {\n  l = label(text=x)\n  for y in ["c", "d"] {\n'
                     '    k = label(text=l.name, other=y)\n    c = count(n=1.0)\n  }\n}\n'
                     'last = count(n=1.0) after k', schema_errors=schema_errors)
    names = list(tasks(docs))
    assert names == ["l-0", "k-0-0", "c-0-0", "k-0-1", "c-0-1", "l-1", "k-1-0", "c-1-0", "k-1-1", "c-1-1", "last"]
    assert tasks(docs)["k-1-0"]["params"] == [{"name": "other", "value": "c"},
                                              {"name": "treadle-file-text", "value": "l-1/name"}]
    assert tasks(docs)["last"]["runAfter"] == ["k-0-0", "k-0-1", "k-1-0", "k-1-1"]


def test_an_inner_one_step_loop_is_a_matrix_in_each_copy_of_the_outer(schema_errors):
    docs = documents('for x in ["a", "b"] {\n  l = label(text=x)\n  for y in [1.5, 2.5] {\n    c = count(n=y)\n  }\n}',
                     schema_errors=schema_errors)
    assert [name for name in tasks(docs)] == ["l-0", "c-0", "l-1", "c-1"]
    assert tasks(docs)["c-1"]["matrix"] == {"params": [{"name": "n", "value": ["1.5", "2.5"]}]}


def test_fan_in_of_nested_loops_is_a_list_of_lists(tmp_path):
    docs = documents('for x in [1.5, 2.5] {\n  for y in [0.5, 1.0] {\n    c = count(n=x, m=y)\n'
                     '    l = label(text="t")\n  }\n}\ng = gather(values=c.out)\nh = gather(values=l.name)')
    assert tasks(docs)["g"]["params"] == [{"name": "values", "value":
                                           "[[$(tasks.c-0-0.results.out), $(tasks.c-0-1.results.out)], "
                                           "[$(tasks.c-1-0.results.out), $(tasks.c-1-1.results.out)]]"}]
    (values,) = tasks(docs)["h"]["params"]
    name, mode, layout = values["value"]
    assert (name, mode) == ("values", "text")
    assert json.loads(layout) == [["l-0-0/name", "l-0-1/name"], ["l-1-0/name", "l-1-1/name"]]
    spec = docs[f"Task/{tasks(docs)['h']['taskRef']['name']}"]["spec"]
    helper = spec["steps"][0]
    for folder in ("l-0-0", "l-0-1", "l-1-0", "l-1-1"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "name").write_text(folder + "\n")
    out = tmp_path / "values"
    out.mkdir()
    subprocess.run([sys.executable, "-c", kubelet_expand(helper["command"][2], {}), str(tmp_path), str(out),
                    *values["value"]], check=True)
    assert json.loads((out / "values").read_text()) == [["l-0-0\n", "l-0-1\n"], ["l-1-0\n", "l-1-1\n"]]


def test_a_fan_in_inside_an_outer_loop_reads_only_its_iteration():
    docs = documents('for x in [1.5, 2.5] {\n  for y in [0.5, 1.0] {\n    c = count(n=x, m=y)\n    d = count(n=y)\n  }\n'
                     '  g = gather(values=c.out)\n}')
    assert tasks(docs)["g-1"]["params"][0]["value"] == "[$(tasks.c-1-0.results.out), $(tasks.c-1-1.results.out)]"
    assert tasks(docs)["g-1"]["runAfter"] == ["c-1-0", "c-1-1"]


def run_items(docs: dict, entry: dict, tmp_path, param_value: str | None = None) -> subprocess.CompletedProcess:
    spec = docs[f"Task/{entry['taskRef']['name']}"]["spec"]
    step = spec["steps"][0]
    params = {param["name"]: param["value"] for param in entry["params"]}
    text = param_value if params["source"] == "text" else params["list"]
    program = kubelet_expand(step["command"][2], {}).replace(MPI_SHARED_PATH + "/", str(tmp_path) + "/")
    return subprocess.run([sys.executable, "-c", program, str(tmp_path / "result"), params["source"], text,
                           params["limit"]], capture_output=True, text=True)


def test_a_loop_over_a_list_parameter_is_a_matrix_from_an_items_task(schema_errors, tmp_path):
    docs = documents("for x in l {\n  c = count(n=x)\n}\nlast = count(n=1.0) after c", params="l: list[float] = [1.5, 2.0]",
                     schema_errors=schema_errors)
    entries = tasks(docs)
    assert list(entries) == ["x-items", "c", "last"]
    items = entries["x-items"]
    assert items["params"] == [{"name": "source", "value": "text"}, {"name": "list", "value": "$(params.l)"},
                               {"name": "limit", "value": "256"}]
    assert entries["c"]["matrix"] == {"params": [{"name": "n", "value": "$(tasks.x-items.results.items[*])"}]}
    assert entries["c"]["runAfter"] == ["x-items"]
    spec = docs[f"Task/{items['taskRef']['name']}"]["spec"]
    assert spec["results"] == [{"name": "items", "type": "array"}]
    run = run_items(docs, items, tmp_path, '[1.5, 2, true, "t x", [1], {"a": "b"}]')
    assert run.returncode == 0, run.stderr
    assert json.loads((tmp_path / "result").read_text()) == ["1.5", "2", "true", "t x", "[1]", '{"a": "b"}']
    run = run_items(docs, items, tmp_path, json.dumps(list(range(257))))
    assert run.returncode != 0 and "257 items" in run.stderr
    run = run_items(docs, items, tmp_path, json.dumps(["x" * 100] * 50))
    assert run.returncode != 0 and "bytes" in run.stderr


def test_run_time_items_reach_the_step_as_they_are(tmp_path):
    """The matrix hands each item to the step's args, which the kubelet expands: the items
    task escapes `$$` and `$(`, as literal items are escaped at compile time."""
    docs = documents("for x in l {\n  c = probe(text=x)\n}", params='l: list[str] = ["a"]')
    hostile = ["$(HOME)", "$$", "a$b", "$", "$(", "{{x}}", "$(params.l)", "x\n$(y)"]
    run = run_items(docs, tasks(docs)["x-items"], tmp_path, json.dumps(hostile))
    assert run.returncode == 0, run.stderr
    delivered = json.loads((tmp_path / "result").read_text())
    assert [kubelet_expand(item, {"HOME": "/root", "y": "z"}) for item in delivered] == hostile


def test_a_loop_over_a_list_output_reads_it_from_the_workspace(schema_errors, tmp_path):
    docs = documents("s = listing()\nif go {\n  for x in s.items {\n    c = probe(text=x)\n  }\n}",
                     params="go: bool = true", schema_errors=schema_errors)
    entries = tasks(docs)
    items = entries["x-items"]
    assert items["params"][:2] == [{"name": "source", "value": "file"}, {"name": "list", "value": "s/items"}]
    assert items["runAfter"] == ["s"] and items["workspaces"] == [{"name": "treadle-shared",
                                                                   "workspace": "treadle-artifacts"}]
    assert items["when"] == entries["c"]["when"]  # the loop's condition holds for its items task too
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "items").write_text('["a", "b"]\n')
    assert run_items(docs, items, tmp_path).returncode == 0
    assert json.loads((tmp_path / "result").read_text()) == ["a", "b"]


def test_a_loop_over_another_loops_outputs_reads_every_copys_value(schema_errors, tmp_path):
    docs = documents('for x in ["a", "b"] {\n  c = count(n=1.5)\n  l = label(text=x)\n  s = listing()\n}\n'
                     'for y in c.out {\n  d = count(n=y)\n}\nfor z in l.name {\n  e = probe(text=z)\n}\n'
                     'for w in s.items {\n  g = gather(values=w)\n}',
                     schema_errors=schema_errors)
    entries = tasks(docs)
    assert [name for name in entries if name.startswith("c")] == ["c-0", "c-1"]  # unrolled: each copy's result
    results = entries["y-items"]
    assert results["params"][:2] == [{"name": "source", "value": "text"},
                                     {"name": "list", "value": "[$(tasks.c-0.results.out), $(tasks.c-1.results.out)]"}]
    assert results["runAfter"] == ["c-0", "c-1"] and "workspaces" not in results
    run = run_items(docs, results, tmp_path, "[0.5, 2]")  # the results as Tekton substitutes them
    assert run.returncode == 0, run.stderr
    assert json.loads((tmp_path / "result").read_text()) == ["0.5", "2"]
    texts = entries["z-items"]
    assert texts["params"][:2] == [{"name": "source", "value": "texts"},
                                   {"name": "list", "value": '["l-0/name","l-1/name"]'}]
    assert texts["workspaces"] == [{"name": "treadle-shared", "workspace": "treadle-artifacts"}]
    for folder, text in (("l-0", "one\n"), ("l-1", '["not", "parsed"]')):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "name").write_text(text)
    assert run_items(docs, texts, tmp_path).returncode == 0
    assert json.loads((tmp_path / "result").read_text()) == ["one\n", '["not", "parsed"]']
    values = entries["w-items"]
    assert values["params"][:2] == [{"name": "source", "value": "values"},
                                    {"name": "list", "value": '["s-0/items","s-1/items"]'}]
    for folder, text in (("s-0", '[1, "x"]'), ("s-1", "[]")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "items").write_text(text)
    assert run_items(docs, values, tmp_path).returncode == 0
    assert json.loads((tmp_path / "result").read_text()) == ['[1, "x"]', "[]"]  # each item a list, as JSON text


def test_a_run_time_list_in_a_literal_loop_has_an_items_task_per_copy():
    docs = documents("for x in [1.5, 2.5] {\n  for y in l {\n    c = count(n=x, m=y)\n  }\n  d = count(n=x)\n}",
                     params="l: list[float] = [1.0]")
    assert list(tasks(docs)) == ["y-items-0", "c-0", "d-0", "y-items-1", "c-1", "d-1"]
    assert tasks(docs)["c-1"]["params"] == [{"name": "n", "value": "2.5"}]


def test_a_run_time_list_times_a_literal_list_shares_the_limit():
    docs = documents("for x in l {\n  for y in [1.0, 2.0, 3.0, 4.0] {\n    c = count(n=x, m=y)\n  }\n}",
                     params="l: list[float] = [1.0]")
    assert tasks(docs)["x-items"]["params"][2] == {"name": "limit", "value": "64"}


def test_nested_literal_loops_over_the_matrix_limit_copy_the_outer_loop(schema_errors):
    """20 x 20 = 400 combinations: 20 copies of the outer loop, each a matrix of 20."""
    twenty = ", ".join(f"{i}.5" for i in range(20))
    docs = documents(f"for x in [{twenty}] {{\n  for y in [{twenty}] {{\n    count(n=x, m=y)\n  }}\n}}",
                     schema_errors=schema_errors)
    entries = tasks(docs)
    assert list(entries) == [f"count-{i}" for i in range(20)]
    assert entries["count-3"]["params"] == [{"name": "n", "value": "3.5"}]
    assert entries["count-3"]["matrix"] == {"params": [{"name": "m", "value": [f"{i}.5" for i in range(20)]}]}


@pytest.mark.parametrize("body,params,words", [
    ("for x in l {\n  a = count(n=x)\n  b = count(n=a.out)\n}", "l: list[float] = [1.0]",
     "step 'b' reads or waits for step 'a' of the same iteration"),
    ("for x in l {\n  a = count(n=x)\n  b = count(n=x) after a\n}", "l: list[float] = [1.0]",
     "step 'b' reads or waits for step 'a'"),
    ("for x in l {\n  a = count(n=x)\n}\ng = gather(values=a.out)", "l: list[float] = [1.0]",
     "the outputs of step 'a' are read after the loop"),
    ("for x in l {\n  a = count(n=x)\n}\nfor y in a.out {\n  b = count(n=y)\n}", "l: list[float] = [1.0]",
     "ordered by its TaskRuns' names, not by item"),
    ("for x in l {\n  a = count(n=x)\n  b = label(text=\"t\")\n}", "l: list[float] = [1.0]",
     "step 'b' writes files"),
    ("for x in l {\n  a = count(n=x)\n  b = count(n=1.0)\n}", "l: list[float] = [1.0]",
     "step 'b' does not take the item of each loop in exactly one value input"),
    ("for x in l {\n  for y in [1.0, 2.0] {\n    a = count(n=x, m=y)\n    b = count(n=x, m=y)\n  }\n}",
     "l: list[float] = [1.0]", "the loop over y inside it holds several steps"),
    ("for x in g {\n  for y in x {\n    a = count(n=y)\n  }\n}", "g: list[list[float]] = [[1.0]]",
     "the loop over y iterates the item of the loop over x"),
])
def test_loops_tekton_cannot_fan_out_are_refused(body, params, words):
    output = compiled(body, params)
    assert output.text == "" and [code for code, _ in errors(output)] == ["B001"]
    assert words in errors(output)[0][1] and "not supported yet" not in errors(output)[0][1]


def test_a_run_time_loop_of_independent_steps_is_a_matrix_per_step_over_one_items_task(schema_errors):
    docs = documents('src = count(n=1.0)\nif k > 1 {\n  for x in l {\n    a = count(n=x)\n'
                     '    for y in [1.0, 2.0] {\n      b = count(n=x, m=y)\n    }\n    c = count(n=x, m=src.out)\n'
                     '  }\n}\nlast = count(n=1.0) after a, b', params="l: list[float] = [1.0], k: float = 2",
                     schema_errors=schema_errors)
    entries = tasks(docs)
    assert list(entries) == ["src", "check-a", "x-items", "a", "b", "c", "last"]
    assert entries["x-items"]["params"][2] == {"name": "limit", "value": "128"}  # b's matrix takes 2 per item
    items = "$(tasks.x-items.results.items[*])"
    assert entries["a"]["matrix"] == {"params": [{"name": "n", "value": items}]}
    assert entries["b"]["matrix"] == {"params": [{"name": "n", "value": items}, {"name": "m", "value": ["1.0", "2.0"]}]}
    assert entries["c"]["runAfter"] == ["src", "x-items"]
    assert entries["c"]["params"] == [{"name": "m", "value": "$(tasks.src.results.out)"}]
    check = [{"input": "$(tasks.check-a.results.holds)", "operator": "in", "values": ["true"]}]
    assert all(entries[name]["when"] == check for name in ("x-items", "a", "b", "c"))
    assert entries["last"]["runAfter"] == ["a", "b"]


@pytest.mark.parametrize("k,item,runs", [("2", "3.5", True), ("2", "1.5", True), ("2", "0.5", False),
                                         ("9", "1.50", True), ("9", "nan", False)])
def test_a_condition_on_a_run_time_item_is_checked_by_each_combination(schema_errors, tmp_path, k, item, runs):
    docs = documents('for x in l {\n  a = count(n=x)\n  if x > k or x == 1.5 {\n    b = count(n=x, m=2.0)\n'
                     '  }\n}', params="l: list[float] = [1.0], k: float = 2", schema_errors=schema_errors)
    entry = tasks(docs)["b"]
    assert "when" not in entry  # decided before the fan-out, a `when` cannot read the item
    assert entry["matrix"] == {"params": [{"name": "n", "value": "$(tasks.x-items.results.items[*])"}]}
    params = {param["name"]: param["value"] for param in entry["params"]}
    spec = docs[f"Task/{entry['taskRef']['name']}"]["spec"]
    check, main = spec["steps"]
    assert check["args"][-1] == "$(params.n)" and main["command"][4] == f"?{GUARD_FILE}"
    assert tasks(docs)["a"]["taskRef"] != entry["taskRef"]  # a's Task has no check
    holds = tmp_path / "holds"
    values = [value.replace("$(params.k)", k) for value in params["treadle-condition-values"]]
    subprocess.run([sys.executable, "-c", kubelet_expand(check["command"][2], {}), str(holds),
                    params["treadle-condition"], *values, item], check=True)
    assert holds.read_text() == ("true" if runs else "false")


def test_a_literal_loop_whose_condition_reads_the_item_is_unrolled_into_whens():
    docs = documents('for x in ["a", "b"] {\n  if x == "b" {\n    c = probe(text=x)\n  }\n}')
    assert [task.get("when") for task in tasks(docs).values()] == [[{"input": "a", "operator": "in", "values": ["b"]}],
                                                                   [{"input": "b", "operator": "in", "values": ["b"]}]]


# ---------------------------------------------------------------- loops in finally
def test_a_loop_in_finally_is_unrolled_into_finally_tasks(schema_errors):
    docs = documents('a = count(n=1.0)\nfinally {\n  say = label(text="first")\n  for x in [1.5, 2.5] {\n'
                     '    if x > k {\n      c = count(n=x)\n    }\n    for y in ["a", "b"] {\n'
                     '      l = label(text=y, other="z")\n    }\n  }\n}', params="k: float = 2",
                     schema_errors=schema_errors)
    final = {task["name"]: task for task in docs["Pipeline/p"]["spec"]["finally"]}
    assert list(final) == ["say", "c-0", "l-0-0", "l-0-1", "c-1", "l-1-0", "l-1-1"]
    assert not any("matrix" in task or "runAfter" in task for task in final.values())
    assert {"name": "text", "value": "b"} in final["l-1-1"]["params"]
    assert final["l-1-1"]["workspaces"] == [{"name": "treadle-outputs", "workspace": "treadle-artifacts",
                                             "subPath": "l-1-1"}]
    # a number comparison: each copy checks its own condition, the item written into it
    params = {param["name"]: param["value"] for param in final["c-1"]["params"]}
    assert params["n"] == "2.5" and params["treadle-condition-values"] == ["2.5", "$(params.k)"]
    assert list(tasks(docs)) == ["a"]


@pytest.mark.parametrize("body,words", [
    ('finally {\n  for x in l {\n    count(n=x)\n  }\n}', "finally task cannot read the results"),
    ('finally {\n  for x in [1.5, 2.5] {\n    c = count(n=x)\n    d = count(n=c.out)\n  }\n}',
     "starts every finally task at once"),
])
def test_finally_loops_tekton_cannot_run_are_refused_with_the_reason(body, words):
    output = compiled(body, "l: list[float] = [1.0]")
    assert output.text == "" and {code for code, _ in errors(output)} == {"B001"}
    assert words in errors(output)[0][1] and "not supported yet" not in errors(output)[0][1]


# ---------------------------------------------------------------- generated loops
LOOP_SOURCES = {"literal": '["a", "b"]', "param": "names", "output": "src.items"}


@st.composite
def loop_pipelines(draw):
    """Loops over every kind of list, nested or not, with bodies of one or two steps that
    read items, str outputs and results, and readers after the loop."""
    lines = ["src = listing()"]
    nested = draw(st.booleans())
    lines.append(f"for x in {LOOP_SOURCES[draw(st.sampled_from(sorted(LOOP_SOURCES)))]} {{")
    indent = "  "
    if nested:
        lines.append(f"  for y in {LOOP_SOURCES[draw(st.sampled_from(sorted(LOOP_SOURCES)))]} {{")
        indent = "    "
    item = "y" if nested and draw(st.booleans()) else "x"
    writes_text = draw(st.booleans())  # label writes a str output (a file); probe only a result
    lines.append(indent + (f"a = label(text={item})" if writes_text else f"a = probe(text={item})"))
    if draw(st.booleans()):
        lines.append(indent + "b = probe(text=x)")
    if nested:
        lines.append("  }")
    lines.append("}")
    if draw(st.booleans()):
        lines.append("after_loop = count(n=1.0) after a")
    if draw(st.booleans()):
        lines.append("g = gather(values=a." + ("name" if writes_text else "ok") + ")")
    if not nested and draw(st.booleans()):  # a loop over the loop's outputs
        lines.append("for v in a.name {\n  probe(text=v)\n}" if writes_text else "for v in a.ok {\n  flag(on=v)\n}")
    if draw(st.booleans()):
        lines.append("finally {\n  if k > 1 {\n    count(n=k)\n  }\n" + draw(st.sampled_from([
            "", f"  for z in {LOOP_SOURCES[draw(st.sampled_from(['literal', 'param']))]} {{\n    label(text=z)\n"
                "    if z == \"a\" or k > 2 {\n      probe(text=z)\n    }\n  }\n"])) + "}")
    return "\n".join(lines)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loop_pipelines())
def test_generated_loops_compile_to_valid_yaml_or_a_backend_error(schema_errors, body):
    params = 'names: list[str] = ["p", "q"], k: float = 2'
    source = COMPONENTS + f"pipeline p({params}) {{\n{body}\n}}\n"
    result = compile_sources([SourceFile("test.treadle", source)])
    if any(d.is_error for d in result.diagnostics):
        return  # the front end refuses it (reading a loop step outside its loop where not allowed, ...)
    graphs = list(result.pipelines.values())
    output = compile_pipelines(graphs, "tekton", Options())
    if not output.ok:
        assert output.text == ""
        assert {d.code for d in output.diagnostics if d.is_error} <= {"B001", "B002"}
        return
    for document in load_all(output.text):
        assert schema_errors(document, strict=True) == []
        if document["kind"] == "Pipeline":
            tasks_ = document["spec"]["tasks"]
            names = [task["name"] for task in tasks_]
            assert len(names) == len(set(names))
            for task in tasks_:
                assert set(task.get("runAfter", [])) <= set(names)
                combinations = 1
                for param in task.get("matrix", {}).get("params", []):
                    combinations *= len(param["value"]) if isinstance(param["value"], list) else 1
                assert combinations <= 256
    assert compile_pipelines(graphs, "tekton", Options()).text == output.text


# ---------------------------------------------------------------- item checks decide like the language
NUMBERS = ["-1.5", "0", "0.5", "1", "2.25", "nan"]


@st.composite
def item_conditions(draw, depth: int = 2):
    """Conditions over the items x (a float from a run-time list) and y (a str from a literal
    list), the parameters k and t, and literals."""
    if depth == 0 or draw(st.booleans()):
        if draw(st.booleans()):
            left, right = draw(st.sampled_from(["x", "k"])), draw(st.sampled_from(["x", "k", *NUMBERS[:-1]]))
            return f"{left} {draw(st.sampled_from(['==', '!=', '<', '<=', '>', '>=']))} {right}"
        left, right = draw(st.sampled_from(["y", "t"])), draw(st.sampled_from(["y", "t", '"a"', '"b"']))
        return f"{left} {draw(st.sampled_from(['==', '!=']))} {right}"
    kind = draw(st.sampled_from(["and", "or", "not"]))
    if kind == "not":
        return f"not ({draw(item_conditions(depth - 1))})"
    return f"({draw(item_conditions(depth - 1))}) {kind} ({draw(item_conditions(depth - 1))})"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(item_conditions(), st.sampled_from(NUMBERS), st.sampled_from(["a", "b"]), st.sampled_from(NUMBERS),
       st.sampled_from(["a", "b", "c"]))
def test_a_matrix_combination_checks_its_items_as_the_language_decides(tmp_path_factory, condition, x, y, k, t):
    from treadle.backends.local.plan import binding_type, condition_holds
    from treadle.compiler import ir

    source = COMPONENTS + LABEL2 + ('pipeline p(l: list[float] = [1.0], k: float = 1, t: str = "a") {\n'
                                    f'  for x in l {{\n    for y in ["a", "b"] {{\n      if {condition} {{\n'
                                    '        c = label2(n=x, text=y)\n      }\n    }\n  }\n}\n')
    result = compile_sources([SourceFile("test.treadle", source)])
    assert not [d for d in result.diagnostics if d.is_error]
    (graph,) = result.pipelines.values()
    output = compile_pipelines([graph], "tekton", Options())
    assert output.ok, [d.message for d in output.diagnostics]
    docs = {f"{d['kind']}/{d['metadata']['name']}": d for d in load_all(output.text)}
    task = graph.nodes["c"]["task"]
    own = [part for part in ir.flat_conditions(task.guard)
           if any(isinstance(binding, ir.LoopItem) for binding in ir.condition_bindings(part))]
    entry = tasks(docs)["c"]
    if not own:
        assert "treadle-condition" not in {param["name"] for param in entry.get("params", [])}
        return
    loops = {loop.variable: loop.id for loop in ir.info(graph).loops}
    values = {ir.ParamRef("k"): k, ir.ParamRef("t"): t, ir.LoopItem(loops["x"]): x, ir.LoopItem(loops["y"]): y}

    def value_of(binding):
        return binding.value if isinstance(binding, ir.Const) else values[binding]

    expected = all(condition_holds(part, value_of, lambda b: binding_type(graph, b)) for part in own)
    params = {param["name"]: param["value"] for param in entry["params"]}
    check = docs[f"Task/{entry['taskRef']['name']}"]["spec"]["steps"][0]
    run_values = {"k": k, "t": t, "n": x, "text": y}
    args = []
    for arg in check["args"][1:]:
        if arg.endswith("[*])"):
            args += [kubelet_expand(value.replace("$(params.k)", k).replace("$(params.t)", t), {})
                     for value in params[arg[len("$(params."):-len("[*])")]]]
        else:
            name = arg[len("$(params."):-1]
            args.append(params[name] if name in params else run_values[name])
    holds = tmp_path_factory.mktemp("check") / "holds"
    subprocess.run([sys.executable, "-c", kubelet_expand(check["command"][2], {}), str(holds), *args], check=True)
    assert holds.read_text() == ("true" if expected else "false")
