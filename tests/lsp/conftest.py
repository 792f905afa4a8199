"""One language server process per test module: starting one costs about a second."""

from __future__ import annotations

import pytest

from .client import LspClient


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return tmp_path_factory.mktemp("workspace")


@pytest.fixture(scope="module")
def lsp(workspace):
    client = LspClient(cwd=workspace)
    client.initialize(workspace)
    yield client
    code = client.close()
    assert code == 0, b"".join(client.stderr_lines).decode(errors="replace")
