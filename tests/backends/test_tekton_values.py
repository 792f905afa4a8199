"""Tekton: outputs that are files (str, list and dict values, and int/float/bool values that
do not fit in the termination message) reach their readers byte for byte through the
workspace. The helper step and the launcher run here as the cluster would run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from backend_helpers import EveryName, compile_text, differences, kubelet_expand, load_all, tekton_runs, treadle_string
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_argo_properties import (CONDITIONS, MARK, condition_source, default_source, hostile_text, items_source,
                                  refused)

from treadle.backends.base import Options
from treadle.backends.tekton import GUARD_FILE, LAUNCHER_SCRIPT, MPI_MANIFEST_FILE, MPI_SHARED_PATH, VALUES_PATH

PRINT_ARGV = "import json, os, sys; print(json.dumps([sys.argv[1:], os.environ.get('TEXT')]))"
COMPONENTS = f'''
component make(text: str) -> (name: str, items: list, info: dict, score: float) {{
  image = "python:3.12"
  command = ["make", text, name, items, info, score]
}}
component show(text: str, prefix: str = "p") {{
  image = "python:3.12"
  command = ["python3", "-c", {treadle_string(PRINT_ARGV)}, prefix, "--text", text]
  env {{ TEXT = text }}
}}
component gather(values: list) {{
  image = "python:3.12"
  command = ["python3", "-c", {treadle_string(PRINT_ARGV)}, values]
}}
component say(text: str) {{
  image = "alpine:3.20"
  command = ["echo", text]
}}
'''


def documents(body: str, options: Options | None = None, components: str = COMPONENTS) -> dict[str, dict]:
    output, _ = compile_text(components + f"pipeline p() {{\n{body}\n}}\n", options, target="tekton")
    assert output.ok, [d.message for d in output.diagnostics]
    return {f"{d['kind']}/{d['metadata']['name']}": d for d in load_all(output.text)}


def checked_documents(source: str, schema_errors) -> dict[str, dict]:
    """The Tekton documents of a whole program, each valid against the schemas (strict)."""
    output, _ = compile_text(source, target="tekton")
    assert output.ok, [d.message for d in output.diagnostics]
    loaded = load_all(output.text)
    for document in loaded:
        assert schema_errors(document, strict=True) == []
    return {f"{d['kind']}/{d['metadata']['name']}": d for d in loaded}


def errors(body: str, components: str = COMPONENTS) -> list[tuple[str, str]]:
    output, _ = compile_text(components + f"pipeline p() {{\n{body}\n}}\n", target="tekton")
    return [(d.code, d.message) for d in output.diagnostics if d.is_error]


def pipeline_task(docs: dict, name: str) -> dict:
    return next(task for task in docs["Pipeline/p"]["spec"]["tasks"] if task["name"] == name)


def tekton_substitute(text: str, params: dict) -> str:
    for name, value in params.items():
        if isinstance(value, str):
            text = text.replace(f"$(params.{name})", value)
    return text


def run_task(docs: dict, name: str, workspace, tmp_path) -> tuple[list[str], str | None]:
    """Run pipeline task `name` as Tekton and the kubelet would: the helper step copies the
    values from `workspace`, then the launcher runs the command. Returns (argv, $TEXT)."""
    entry = pipeline_task(docs, name)
    spec = docs[f"Task/{entry['taskRef']['name']}"]["spec"]
    params = {param["name"]: param["value"] for param in entry.get("params", [])}
    values = tmp_path / "values"
    values.mkdir()

    def local(text: str) -> str:
        return text.replace(VALUES_PATH, str(values)).replace(MPI_SHARED_PATH, str(workspace))

    *helpers, main = spec["steps"]
    for helper in helpers:  # gathers a loop's files into one list
        args = []
        for arg in helper["args"]:
            if arg.endswith("[*])"):
                args += params[arg[len("$(params."):-len("[*])")]]
            else:
                args.append(local(arg))
        subprocess.run([sys.executable, "-c", kubelet_expand(helper["command"][2], {}), *args], check=True)
    command = [local(kubelet_expand(tekton_substitute(item, params), EveryName())) for item in main["command"]]
    assert command[:2] == ["sh", "-c"] and "args" not in main
    env = {"PATH": os.environ["PATH"]}
    for variable in main.get("env", []):
        env[variable["name"]] = kubelet_expand(tekton_substitute(variable["value"], params), EveryName())
    command = [sys.executable if item == "python3" else item for item in command]
    run = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    argv, text = json.loads(run.stdout)
    return argv, text


HOSTILE = ["plain", "two\nlines\n\n", "$(params.text) $HOME $$ ${x} `id` 'q' \"d\"", "=<.@", ".", "", " spaced  ",
           "ünïcødé ✓", "-n", "--text=x"]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_str_output_reaches_its_reader_byte_for_byte(tmp_path, value):
    docs = documents('a = make(text="x")\nb = show(text=a.name)')
    workspace = tmp_path / "workspace"
    (workspace / "a").mkdir(parents=True)
    (workspace / "a" / "name").write_bytes(value.encode("utf-8"))
    argv, text = run_task(docs, "b", workspace, tmp_path)
    assert argv == ["p", "--text", value] and text == value
    entry = pipeline_task(docs, "b")
    assert entry["params"] == [{"name": "prefix", "value": "p"}, {"name": "treadle-file-text", "value": "a/name"}]
    assert {"name": "treadle-shared", "workspace": "treadle-artifacts"} in entry["workspaces"]
    assert entry["runAfter"] == ["a"]


def test_a_reader_of_literals_keeps_the_plain_task():
    docs = documents('a = make(text="x")\nb = show(text=a.name)\nc = show(text="lit")')
    tasks = {name for name in docs if name.startswith("Task/")}
    assert len(tasks) == 3  # make, show reading a file, show with its value as a param
    plain = docs[f"Task/{pipeline_task(docs, 'c')['taskRef']['name']}"]["spec"]
    assert [step["name"] for step in plain["steps"]] == ["show"] and plain["steps"][0]["command"][0] == "python3"
    reading = docs[f"Task/{pipeline_task(docs, 'b')['taskRef']['name']}"]["spec"]
    assert [step["name"] for step in reading["steps"]] == ["show"]  # one file: read where it is
    assert reading["steps"][0]["command"][2] == LAUNCHER_SCRIPT.replace("$(", "$$(")
    assert {"name": "treadle-file-text", "type": "string"} in reading["params"]
    assert "text" not in [param["name"] for param in reading["params"]]


def test_fan_in_of_str_list_and_dict_outputs(tmp_path):
    docs = documents('for t in ["u", "v"] {\n  m = make(text=t)\n}\n'
                     'g = gather(values=m.name)\nh = gather(values=m.items)\ni = gather(values=m.info)')
    workspace = tmp_path / "workspace"
    for index, text in enumerate(["first\n", 'sec"ond']):
        folder = workspace / f"m-{index}"
        folder.mkdir(parents=True)
        (folder / "name").write_text(text)
        (folder / "items").write_text(json.dumps([index, "x"]) + "\n")
        (folder / "info").write_text(json.dumps({"k": index}))
    for reader, expected in (("g", ["first\n", 'sec"ond']), ("h", [[0, "x"], [1, "x"]]), ("i", [{"k": 0}, {"k": 1}])):
        folder = tmp_path / reader
        folder.mkdir()
        argv, _ = run_task(docs, reader, workspace, folder)
        assert json.loads(argv[0]) == expected
    assert pipeline_task(docs, "g")["params"][0]["value"] == ["values", "text", '["m-0/name","m-1/name"]']
    gathering = docs[f"Task/{pipeline_task(docs, 'g')['taskRef']['name']}"]["spec"]
    assert [step["name"] for step in gathering["steps"]] == ["treadle-values", "gather"]


def test_a_missing_output_fails_the_step_with_its_path(tmp_path):
    docs = documents('a = make(text="x")\nb = show(text=a.name)')
    with pytest.raises(subprocess.CalledProcessError):
        run_task(docs, "b", tmp_path / "empty", tmp_path)


@pytest.mark.parametrize("condition,content,runs", [('a.name == "yes"', "yes", True), ('a.name == "yes"', "yes\n", False),
                                                    ('a.name != "yes" or a.score > 1', "no", True)])
def test_a_condition_on_a_str_output_reads_the_file(tmp_path, condition, content, runs):
    docs = documents(f'a = make(text="x")\nif {condition} {{\n  say(text="then")\n}}')
    check = pipeline_task(docs, "check-say")
    spec = docs[f"Task/{check['taskRef']['name']}"]["spec"]
    assert spec["workspaces"] == [{"name": "treadle-shared", "mountPath": MPI_SHARED_PATH, "readOnly": True}]
    assert {"name": "treadle-shared", "workspace": "treadle-artifacts"} in check["workspaces"]
    params = {param["name"]: param["value"] for param in check["params"]}
    program = kubelet_expand(spec["steps"][0]["command"][2], {}).replace(MPI_SHARED_PATH + "/", str(tmp_path) + "/")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "name").write_text(content)
    values = [value.replace("$(tasks.a.results.score)", "0.5") for value in params["values"]]
    result = tmp_path / "holds"
    subprocess.run([sys.executable, "-c", program, str(result), params["condition"], *values], check=True)
    assert result.read_text() == ("true" if runs else "false")


@pytest.mark.parametrize("value", ["plain", "two\nlines\n", "$(x) $$ $HOME"])
def test_an_mpi_step_reads_a_file_value_into_its_manifest(tmp_path, schema_errors, value):
    mpi = COMPONENTS.replace('component say(text: str) {\n  image = "alpine:3.20"\n  command = ["echo", text]',
                             'component say(text: str) {\n  image = "alpine:3.20"\n  command = ["echo", text]\n'
                             '  env { TEXT = text }\n  mpi { ranks = 2 }')
    docs = documents('a = make(text="x")\nb = say(text=a.name)', components=mpi)
    for document in docs.values():
        assert schema_errors(document, strict=True) == []
    entry = pipeline_task(docs, "b")
    assert entry["params"] == [{"name": "treadle-file-text", "value": "a/name"}]
    assert entry["workspaces"] == [{"name": "treadle-shared", "workspace": "treadle-artifacts"}]
    spec = docs[f"Task/{entry['taskRef']['name']}"]["spec"]
    assert spec["workspaces"] == [{"name": "treadle-shared", "mountPath": MPI_SHARED_PATH, "readOnly": True}]
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "name").write_text(value)
    step = spec["steps"][0]
    args = [kubelet_expand(arg.replace(f"{MPI_SHARED_PATH}/$(params.treadle-file-text)", str(tmp_path / "a" / "name")),
                           {"POD_NAME": "pod", "POD_UID": "uid"}) for arg in step["args"][1:]]
    out = tmp_path / "manifest.json"
    subprocess.run([sys.executable, "-c", kubelet_expand(step["command"][2], {}), str(out), *args], check=True)
    launcher = json.loads(out.read_text())["spec"]["mpiReplicaSpecs"]["Launcher"]["template"]["spec"]["containers"][0]
    # the MPI pod's kubelet expands its args and env once more
    assert [kubelet_expand(arg, EveryName()) for arg in launcher["args"]][-1] == value
    assert kubelet_expand(launcher["env"][0]["value"], EveryName()) == value


# ---------------------------------------------------------------- results stay within the bound
TERMINATION_MESSAGE = 4096
LONGEST_VALUE = len("-1.7976931348623157e+308")  # the longest text of an int/float/bool the language writes


def termination_bytes(result_names: list[str]) -> int:
    """The worst case of Tekton's termination message for these results: a JSON list of
    {"key": NAME, "value": VALUE, "type": 1} entries."""
    entries = [{"key": name, "value": "x" * LONGEST_VALUE, "type": 1} for name in result_names]
    return len(json.dumps(entries, separators=(",", ":")))


NAMES = st.from_regex(r"[a-z0-9_]{0,56}[a-z0-9]", fullmatch=True).map(lambda name: "out_" + name)  # no keyword


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(NAMES, st.sampled_from(["int", "float", "bool", "str"])), min_size=1, max_size=120,
                unique_by=lambda pair: pair[0]), st.booleans())
def test_results_never_exceed_the_termination_message(outputs, mpi):
    declared = ", ".join(f"{name}: {kind}" for name, kind in outputs)
    placeholders = ", ".join(name for name, _ in outputs)
    settings_text = "\n  mpi { ranks = 2 }" if mpi else ""
    components = (f'component wide() -> ({declared}) {{\n  image = "python:3.12"\n  command = ["w", {placeholders}]'
                  f'{settings_text}\n}}\n' + COMPONENTS)
    last, kind = outputs[-1]
    reader = f"\nb = show(text=a.{last})" if kind == "str" and not mpi else ""
    output, _ = compile_text(components + f"pipeline p() {{\na = wide(){reader}\n}}\n", target="tekton")
    assert output.ok, [d.message for d in output.diagnostics]
    for document in load_all(output.text):
        if document["kind"] == "Task":
            names = [result["name"] for result in document["spec"].get("results", [])]
            assert termination_bytes(names) <= TERMINATION_MESSAGE
    task = next(d for d in load_all(output.text) if d["kind"] == "Task" and d["metadata"]["name"] == "p-wide")
    results = {result["name"] for result in task["spec"].get("results", [])}
    assert results <= {name for name, kind in outputs if kind != "str"}


def test_outputs_beyond_the_bound_are_files_that_readers_read(tmp_path):
    names = [f"a_rather_long_output_name_number_{index:03d}" for index in range(60)]
    components = (f'component wide() -> ({", ".join(f"{n}: float" for n in names)}) {{\n  image = "python:3.12"\n'
                  f'  command = ["w", {", ".join(names)}]\n}}\n' + COMPONENTS.replace("text: str, prefix", "text: float, prefix"))
    docs = documents(f"a = wide()\nb = show(text=a.{names[0]})\nc = show(text=a.{names[-1]})", components=components)
    wide = docs["Task/p-wide"]["spec"]
    results = [result["name"] for result in wide["results"]]
    assert results == names[:len(results)] and len(results) < len(names)
    command = wide["steps"][0]["command"]
    assert command[1] == f"$(results.{names[0]}.path)" and command[-1] == f"/tmp/treadle/outputs/{names[-1]}"
    assert pipeline_task(docs, "b")["params"][0] == {"name": "text", "value": f"$(tasks.a.results.{names[0]})"}
    assert pipeline_task(docs, "c")["params"][-1] == {"name": "treadle-file-text", "value": f"a/{names[-1]}"}


# ---------------------------------------------------------------- finally steps check their own condition
@pytest.mark.parametrize("k,runs", [("5", True), ("1", False), ("2", True), ("nan", True)])
def test_a_finally_step_checks_its_condition_in_a_step_of_its_own(tmp_path, schema_errors, k, runs):
    output, _ = compile_text(COMPONENTS + 'pipeline p(k: float = 2) {\n  a = show(text="main")\n  finally {\n'
                             '    if k > 3 or not (k == 1) {\n      f = show(text="done $(x)" )\n    }\n  }\n}\n',
                             target="tekton")
    assert not output.ok  # '$(' in a literal: refused, as everywhere
    docs = checked_documents(COMPONENTS + 'pipeline p(k: float = 2) {\n  a = show(text="main")\n  finally {\n'
                             '    if k > 3 or not (k == 1) {\n      f = show(text="done $HOME")\n    }\n  }\n}\n',
                             schema_errors)
    (entry,) = docs["Pipeline/p"]["spec"]["finally"]
    assert "when" not in entry  # a finally task cannot read a check task's result
    spec = docs[f"Task/{entry['taskRef']['name']}"]["spec"]
    check, main = spec["steps"]
    params = {param["name"]: param["value"] for param in entry["params"]}
    holds = tmp_path / "holds"
    values = [value.replace("$(params.k)", k) for value in params["treadle-condition-values"]]
    subprocess.run([sys.executable, "-c", kubelet_expand(check["command"][2], {}), str(holds),
                    params["treadle-condition"], *values], check=True)
    command = [kubelet_expand(tekton_substitute(item, params), EveryName()).replace(GUARD_FILE, str(holds))
               for item in main["command"]]
    command = [sys.executable if item == "python3" else item for item in command]
    run = subprocess.run(command, capture_output=True, text=True, check=True)
    if runs:
        assert json.loads(run.stdout)[0] == ["p", "--text", "done $HOME"]
    else:
        assert "does not hold" in run.stdout and "done" not in run.stdout


# ---------------------------------------------------------------- MPI steps: gathered files, a finally check
MPI_COMPONENTS = COMPONENTS + '''
component spread(values: list) {
  image = "alpine:3.20"
  command = ["spread", values]
  mpi { ranks = 2 }
}
component rank(text: str) -> (score: float) {
  image = "alpine:3.20"
  command = ["rank", text, score]
  mpi { ranks = 2 }
}
'''


def test_an_mpi_step_reads_a_loops_file_outputs_as_one_list(tmp_path, schema_errors):
    docs = documents('for t in ["x", "y $HOME"] {\n  a = make(text=t)\n}\nb = spread(values=a.name)',
                     components=MPI_COMPONENTS)
    for document in docs.values():
        assert schema_errors(document, strict=True) == []
    entry = pipeline_task(docs, "b")
    params = {param["name"]: param["value"] for param in entry["params"]}
    assert params == {"treadle-values": ["values", "text", '["a-0/name","a-1/name"]']}
    assert entry["workspaces"] == [{"name": "treadle-shared", "workspace": "treadle-artifacts"}]
    spec = docs[f"Task/{entry['taskRef']['name']}"]["spec"]
    assert spec["params"] == [{"name": "treadle-values", "type": "array"}]
    gather, manifest, *_ = spec["steps"]
    assert [gather["name"], manifest["name"]] == ["treadle-values", "manifest"]
    for folder, text in (("a-0", "first\n"), ("a-1", "$(x) $$ 'q'")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "name").write_text(text)
    values = tmp_path / "values"
    values.mkdir()
    subprocess.run([sys.executable, "-c", kubelet_expand(gather["command"][2], {}), str(tmp_path), str(values),
                    *params["treadle-values"]], check=True)
    args = [kubelet_expand(arg.replace(VALUES_PATH, str(values)), {"POD_NAME": "pod", "POD_UID": "uid"})
            for arg in manifest["args"][1:]]
    out = tmp_path / "manifest.json"
    subprocess.run([sys.executable, "-c", kubelet_expand(manifest["command"][2], {}), str(out), *args], check=True)
    launcher = json.loads(out.read_text())["spec"]["mpiReplicaSpecs"]["Launcher"]["template"]["spec"]["containers"][0]
    assert json.loads(kubelet_expand(launcher["args"][-1], EveryName())) == ["first\n", "$(x) $$ 'q'"]


@pytest.mark.parametrize("k,runs", [("5", True), ("1", False), ("nan", True)])
def test_a_finally_mpi_step_checks_its_condition_before_it_creates_the_job(tmp_path, schema_errors, k, runs):
    docs = checked_documents(MPI_COMPONENTS + 'pipeline p(k: float = 2) {\n  a = say(text="main")\n  finally {\n'
                             '    if k > 3 or not (k == 1) {\n      f = rank(text="done $HOME")\n    }\n  }\n}\n',
                             schema_errors)
    (entry,) = docs["Pipeline/p"]["spec"]["finally"]
    assert "when" not in entry
    spec = docs[f"Task/{entry['taskRef']['name']}"]["spec"]
    assert [step["name"] for step in spec["steps"]] == ["treadle-check", "manifest", "mpijob", "values"]
    check, manifest, job, copy = spec["steps"]
    params = {param["name"]: param["value"] for param in entry["params"]}
    holds = tmp_path / "holds"
    values = [value.replace("$(params.k)", k) for value in params["treadle-condition-values"]]
    subprocess.run([sys.executable, "-c", kubelet_expand(check["command"][2], {}), str(holds),
                    params["treadle-condition"], *values], check=True)
    out = tmp_path / "manifest.json"

    def local(item: str) -> str:
        item = tekton_substitute(item, {**params, "treadle-outputs": "f"})
        item = kubelet_expand(item, {"POD_NAME": "pod", "POD_UID": "uid"})
        return item.replace(GUARD_FILE, str(holds)).replace(MPI_MANIFEST_FILE, str(out))

    for step in (manifest, job, copy):  # every step after the check goes through the launcher's guard
        assert step["command"][:2] == ["sh", "-c"] and "args" not in step
        assert step["command"][4] == f"?{GUARD_FILE}"
    command = [local(item) for item in manifest["command"]]
    assert command[5] == "=python3"
    command[5] = "=" + sys.executable
    run = subprocess.run(command, capture_output=True, text=True, check=True)
    if runs:
        manifest_json = json.loads(out.read_text())
        container = manifest_json["spec"]["mpiReplicaSpecs"]["Launcher"]["template"]["spec"]["containers"][0]
        assert kubelet_expand(container["args"][-2], EveryName()) == "done $HOME"
    else:
        assert "does not hold" in run.stdout and not out.exists()
        # the job step and the values step end before kubectl or the copy run
        for step in (job, copy):
            run = subprocess.run([local(item) for item in step["command"]], capture_output=True, text=True, check=True)
            assert "does not hold" in run.stdout


# ---------------------------------------------------------------- hostile text in defaults, items and conditions
def tekton_output(source: str):
    output, _ = compile_text(source, target="tekton")
    return output


def keyed(output) -> dict[str, dict]:
    assert output.ok, [d.message for d in output.diagnostics]
    return {f"{d['kind']}/{d['metadata']['name']}": d for d in load_all(output.text)}


@settings(max_examples=60, deadline=None)
@given(hostile_text)
def test_hostile_parameter_defaults_arrive_unchanged_or_are_refused(default):
    """A default reaches the container through Tekton's variables and the kubelet, which
    nothing can escape at run time: text the kubelet would change (`$$`, `$(`) is refused,
    text without `$` never is, and whatever compiles arrives as it is."""
    assume(default != MARK)
    output = tekton_output(default_source(default))
    if "$$" in default or "$(" in default:
        refused(output, default)
        return
    if not output.ok and "$" in default:  # refused with a reason that names it, or delivered below
        refused(output, default)
        return
    docs = keyed(output)
    assert differences(keyed(tekton_output(default_source(MARK))), docs) == [
        (("Pipeline/p", "spec", "params", 0, "default"), MARK, default),
        (("PipelineRun/p", "spec", "params", 0, "value"), MARK, default)]
    assert tekton_runs(list(docs.values())) == [("show", "show", ["echo", default], {"TEXT": default})]


@settings(max_examples=60, deadline=None)
@given(st.lists(hostile_text, min_size=1, max_size=3), st.booleans(), st.booleans())
def test_hostile_loop_items_arrive_unchanged_or_are_refused(items, two_steps, final):
    """One step: the items are a matrix param; two, or in `finally`: the body is unrolled,
    each copy with its item as a param value. Either way an item lands in args and env,
    escaped for the kubelet; `$(`, which Tekton would read as a variable, is refused."""
    marks = [f"{MARK}{index}" for index in range(len(items))]
    assume(not set(items) & set(marks))
    output = tekton_output(items_source(items, two_steps, final))
    hostile = [item for item in items if "$(" in item]
    if hostile:
        refused(output, hostile[0])
        return
    docs = keyed(output)
    changed = differences(keyed(tekton_output(items_source(marks, two_steps, final))), docs)
    section = "finally" if final else "tasks"
    assert changed and all(path[:3] == ("Pipeline/p", "spec", section) for path, _, _ in changed)
    unrolled = two_steps or final
    assert all(path[4:] == ("params", 0, "value") if unrolled else path[4:-1] == ("matrix", "params", 0, "value")
               for path, _, _ in changed)
    assert {marks.index(mark): kubelet_expand(text, EveryName()) for _, mark, text in changed} == {
        index: item for index, item in enumerate(items) if item != marks[index]}
    runs = [(argv, env) for task, _, argv, env in tekton_runs(list(docs.values()))
            if task != "a" and not task.startswith("k")]
    assert runs == [(["echo", item], {"TEXT": item}) for item in items]


@settings(max_examples=60, deadline=None)
@given(hostile_text, st.sampled_from(CONDITIONS), st.sampled_from(["top", "loop", "finally"]))
def test_hostile_condition_literals_are_compared_as_they_are(literal, form, where):
    """A text comparison is a `when`, which Tekton compares as text: the literal is there as
    it is. The rest goes to the condition-check task, whose args the kubelet expands: the
    literal is escaped for it. `$(` is refused (Tekton would read a variable)."""
    assume(literal != MARK)
    output = tekton_output(condition_source(literal, form, where))
    if "$(" in literal:
        refused(output, literal)
        return
    docs = keyed(output)
    changed = differences(keyed(tekton_output(condition_source(MARK, form, where))), docs)
    assert changed
    for path, plain, text in changed:
        assert plain == MARK and path[:3] in (("Pipeline/p", "spec", "tasks"), ("Pipeline/p", "spec", "finally")), path
        entry = docs["Pipeline/p"]["spec"][path[2]][path[3]]
        if path[4] == "when":
            assert path[6] in ("input", "values") and text == literal  # two literals: either side
        else:  # the values of a check task, or of a finally step's own check: args of the check's step
            assert path[4] == "params" and (entry["taskRef"]["name"], entry["params"][path[5]]["name"]) in (
                ("p-condition-check", "values"), (entry["taskRef"]["name"], "treadle-condition-values"))
            assert kubelet_expand(text, EveryName()) == literal
