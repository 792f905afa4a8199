"""Fixtures of the runtime tests: CSV files, the CLI in-process, simulated ranks
(the helpers behind them are in runtime_helpers.py)."""

from __future__ import annotations

import os
import warnings

import pytest
from runtime_helpers import simulate_ranks, write_csv

from treadle.runtime import cli


@pytest.fixture
def csv_file(tmp_path):
    counter = iter(range(10_000))

    def make(features, target=None, **options):
        return write_csv(tmp_path / f"data{next(counter)}.csv", features, target, **options)

    return make


@pytest.fixture
def run_cli(capsys, monkeypatch):
    """Run `treadle-runtime ARGS` in this process; returns (exit code, stderr text)."""
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(name, os.environ.get(name, "1"))

    def run(*argv):
        capsys.readouterr()
        try:
            code = cli.main([str(arg) for arg in argv])
        except SystemExit as exc:  # argparse errors
            code = exc.code
        return code, capsys.readouterr().err

    return run


@pytest.fixture
def run_ranks():
    return simulate_ranks
