"""`treadle check` and `treadle --version` as a user runs them: real processes."""

from __future__ import annotations

import json
import subprocess
import sys

GOOD = 'component hello(name: str) {\n  image = "alpine:3.20"\n  command = ["echo", name]\n}\n\npipeline p() {\n  hello(name="x")\n}\n'
BAD = 'pipeline p() {\n  hello(name=1)\n}\n'


def treadle(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "treadle.compiler.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def test_version():
    run = treadle("--version")
    assert run.returncode == 0 and run.stdout.startswith("treadle ")


def test_clean_file_exits_0(in_tmp):
    (in_tmp / "good.treadle").write_text(GOOD)
    run = treadle("check", "good.treadle", cwd=in_tmp)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "no problems in 1 file" in run.stdout


def test_problems_exit_1_with_place_caret_and_hint(in_tmp):
    (in_tmp / "bad.treadle").write_text(BAD)
    run = treadle("check", "bad.treadle", cwd=in_tmp)
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    assert lines[0] == "bad.treadle:2:3: error[E106]: unknown component 'hello'"
    assert lines[2] == "2 |   hello(name=1)"
    assert lines[3] == "  |   ^^^^^"
    assert "Traceback" not in run.stdout + run.stderr


def test_all_files_are_reported_at_once(in_tmp):
    (in_tmp / "a.treadle").write_text(BAD)
    (in_tmp / "b.treadle").write_text("let X = \n")
    run = treadle("check", "a.treadle", "b.treadle", cwd=in_tmp)
    assert run.returncode == 1
    assert "a.treadle:2:3: error[E106]" in run.stdout and "b.treadle:1:9: error[E001]" in run.stdout
    assert "2 errors in 2 files" in run.stdout


def test_json_format(in_tmp):
    (in_tmp / "bad.treadle").write_text(BAD)
    run = treadle("check", "--format", "json", "bad.treadle", cwd=in_tmp)
    payload = json.loads(run.stdout)
    assert payload["errors"] == 1
    (diagnostic,) = payload["diagnostics"]
    assert diagnostic == {"file": "bad.treadle", "line": 2, "column": 3, "end_line": 2, "end_column": 8,
                          "severity": "error", "code": "E106", "message": "unknown component 'hello'",
                          "hint": "declare it, or import the file that does"}


def test_bad_usage_exits_2(in_tmp):
    assert treadle("check", "missing.treadle", cwd=in_tmp).returncode == 2
    assert "no such file" in treadle("check", "missing.treadle", cwd=in_tmp).stderr
    assert treadle("check", cwd=in_tmp).returncode == 2
    assert treadle("frobnicate", cwd=in_tmp).returncode == 2
    (in_tmp / "binary.treadle").write_bytes(b"\xff\xfe\x00")
    run = treadle("check", "binary.treadle", cwd=in_tmp)
    assert run.returncode == 2 and "UTF-8" in run.stderr and "Traceback" not in run.stderr


def test_warnings_fail_only_under_strict(in_tmp):
    (in_tmp / "w.treadle").write_text('pipeline p(seed: int = 0) {\n}\n')
    assert treadle("check", "w.treadle", cwd=in_tmp).returncode == 0
    assert treadle("check", "--strict", "w.treadle", cwd=in_tmp).returncode == 1


CYCLE = ('component step(text: str) -> (out: str) {\n  image = "alpine:3.20"\n  command = ["echo", text, out]\n}\n\n'
         'pipeline p() {\n  a = step(text=b.out)\n  b = step(text=a.out)\n}\n')


def test_check_starts_without_the_graph_library(in_tmp):
    """`treadle check` reads the checked program, not the IR: networkx (0.15 to 0.3 s to
    import) stays unloaded, even where a cycle among steps has to be named."""
    (in_tmp / "good.treadle").write_text(GOOD)
    (in_tmp / "cycle.treadle").write_text(CYCLE)
    program = ("import sys\nfrom treadle.compiler.cli import main\nfor name in sys.argv[1:]:\n"
               "    print(main(['check', name]))\nprint('networkx loaded:', 'networkx' in sys.modules)\n")
    run = subprocess.run([sys.executable, "-c", program, "good.treadle"], capture_output=True, text=True,
                         cwd=in_tmp, timeout=120)
    assert run.stdout.splitlines()[-1] == "networkx loaded: False", run.stdout + run.stderr
    run = treadle("check", "cycle.treadle", cwd=in_tmp)
    assert run.returncode == 1
    assert "error[E401]: steps depend on each other in a cycle: a -> b -> a" in run.stdout, run.stdout + run.stderr
