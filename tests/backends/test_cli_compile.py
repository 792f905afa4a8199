"""`treadle compile`: exit codes, output places, diagnostics rendering."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from backend_helpers import run
from treadle.compiler.cli import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE

PIPELINES = Path(__file__).parent / "pipelines"


@pytest.fixture(autouse=True)
def _in_the_checkout(monkeypatch):
    """Compiled documents name their source relative to the current folder; the golden
    files were written from the checkout's root."""
    monkeypatch.chdir(PIPELINES.parents[2])


def test_compile_to_stdout(capsys):
    code, out, err = run(["compile", str(PIPELINES / "digits.treadle"), "--target", "argo"], capsys)
    assert code == EXIT_OK and err == ""
    assert out == (PIPELINES / "digits.argo.yaml").read_text(encoding="utf-8")

def test_compile_to_a_file_and_to_dash(tmp_path, capsys):
    target = tmp_path / "out.yaml"
    code, out, _ = run(["compile", str(PIPELINES / "digits.treadle"), "--target", "argo", "-o", str(target)], capsys)
    assert code == EXIT_OK and out == ""
    assert yaml.safe_load(target.read_text())["kind"] == "Workflow"
    code, out, _ = run(["compile", str(PIPELINES / "digits.treadle"), "--target", "argo", "-o", "-"], capsys)
    assert out == target.read_text()

def test_pipeline_selection_and_kind(tmp_path, capsys):
    source = tmp_path / "two.treadle"
    source.write_text('component say(text: str) {\n  image = "alpine"\n  command = ["echo", text]\n}\n'
                      'pipeline first() {\n  say(text="1")\n}\npipeline second() {\n  say(text="2")\n}\n')
    code, out, _ = run(["compile", str(source), "--target", "argo"], capsys)
    assert [d["metadata"]["name"] for d in yaml.safe_load_all(out)] == ["first", "second"]
    code, out, _ = run(["compile", str(source), "--target", "argo", "--pipeline", "second",
                        "--kind", "workflowtemplate"], capsys)
    (document,) = yaml.safe_load_all(out)
    assert (document["kind"], document["metadata"]["name"]) == ("WorkflowTemplate", "second")
    code, _, err = run(["compile", str(source), "--target", "argo", "--pipeline", "third"], capsys)
    assert code == EXIT_USAGE and "first, second" in err

def test_problems_are_rendered_with_source_and_exit_1(tmp_path, capsys):
    source = tmp_path / "bad.treadle"
    source.write_text('component say(text: str) {\n  image = "alpine"\n  command = ["echo", text]\n}\n'
                      'pipeline p() {\n  say(text="{{oops}}")\n}\n')
    target = tmp_path / "out.yaml"
    code, out, err = run(["compile", str(source), "--target", "argo", "-o", str(target)], capsys)
    assert code == EXIT_PROBLEMS and out == "" and not target.exists()
    assert f"{source}:6:3: error[B002]" in err and '6 |   say(text="{{oops}}")' in err

def test_front_end_errors_stop_before_the_backend(tmp_path, capsys):
    source = tmp_path / "bad.treadle"
    source.write_text("pipeline p() {\n  nothing(x=1)\n}\n")
    code, out, err = run(["compile", str(source), "--target", "argo"], capsys)
    assert code == EXIT_PROBLEMS and out == "" and "E106" in err

def test_usage_errors(tmp_path, capsys):
    assert run(["compile", str(tmp_path / "missing.treadle"), "--target", "argo"], capsys)[0] == EXIT_USAGE
    assert run(["compile", str(PIPELINES / "digits.treadle"), "--target", "argo", "--volume-claim", "x"],
               capsys)[0] == EXIT_USAGE
    code, _, err = run(["compile", str(PIPELINES / "digits.treadle"), "--target", "argo", "-o",
                        str(tmp_path / "no" / "such" / "dir.yaml")], capsys)
    assert code == EXIT_USAGE and "cannot write" in err

def test_volume_mode_flags(capsys):
    code, out, _ = run(["compile", str(PIPELINES / "digits.treadle"), "--target", "argo", "--artifacts", "volume",
                        "--volume-claim", "shared"], capsys)
    assert code == EXIT_OK
    assert yaml.safe_load(out)["spec"]["volumes"][0]["persistentVolumeClaim"] == {"claimName": "shared"}

def test_warnings_go_to_stderr_and_compile_succeeds(capsys):
    code, out, err = run(["compile", str(PIPELINES / "mpi_training.treadle"), "--target", "argo"], capsys)
    assert code == EXIT_OK and "warning[B003]" in err
    assert out == (PIPELINES / "mpi_training.argo.yaml").read_text(encoding="utf-8")

