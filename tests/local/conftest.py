"""Fixtures of the local runner's tests: `treadle` in this process, inside a fresh folder,
and the records of the runs it made. Steps are real processes; nothing is mocked."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from treadle.backends.local.store import Store
from treadle.compiler.cli import main

PYTHON_BIN = str(Path(sys.executable).parent)


class Treadle:
    """Runs `treadle ARGS` in-process and reads the run records of the test's folder."""

    def __init__(self, folder: Path, capsys) -> None:
        self.folder = folder
        self.capsys = capsys

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main([str(arg) for arg in argv])
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def write(self, name: str, text: str) -> str:
        (self.folder / name).write_text(text, encoding="utf-8")
        return name

    def store(self) -> Store:
        return Store(self.folder / ".treadle" / "runs")

    def last_run(self) -> dict:
        store = self.store()
        run = store.runs()[-1]
        run["tasks"] = {task["key"]: task for task in store.tasks(run["id"])}
        store.close()
        return run


@pytest.fixture
def treadle(in_tmp, capsys, monkeypatch):
    monkeypatch.delenv("TREADLE_RUNS_DIR", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))
    return Treadle(in_tmp, capsys)
