"""Fixtures shared by all tests."""

import pytest
from hypothesis import settings

# Properties check what is computed, never how fast: hypothesis' default 200 ms deadline per
# example fails them at random on a loaded 2-core machine. Speed lives in benchmarks/.
settings.register_profile("treadle", deadline=None)
settings.load_profile("treadle")


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run the test inside a fresh folder (paths in diagnostics are then relative)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
