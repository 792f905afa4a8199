"""Fixtures shared by all tests."""

import pytest


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run the test inside a fresh folder (paths in diagnostics are then relative)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
