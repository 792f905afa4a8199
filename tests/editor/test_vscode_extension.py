"""The VS Code extension manifest (editors/vscode): what it declares exists once its
install step has run, and points at the grammar files of grammar/."""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib

import pytest

from ..helpers import ROOT

EXTENSION = ROOT / "editors" / "vscode"


def manifest() -> dict:
    return json.loads((EXTENSION / "package.json").read_text(encoding="utf-8"))


def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.fail("Node.js is needed to test the VS Code extension's scripts: install node")
    return found


def test_the_install_step_gives_every_file_the_manifest_names(tmp_path):
    """`npm install` runs copy-grammar.js (the prepare script); done here on a copy."""
    copy = tmp_path / "editors" / "vscode"
    shutil.copytree(EXTENSION, copy, ignore=shutil.ignore_patterns("node_modules", "syntaxes"))
    shutil.copytree(ROOT / "grammar", tmp_path / "grammar")
    data = manifest()
    assert data["scripts"]["prepare"] == data["scripts"]["vscode:prepublish"] == "node copy-grammar.js"
    run = subprocess.run([node(), "copy-grammar.js"], cwd=copy, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr

    (language,) = data["contributes"]["languages"]
    (grammar,) = data["contributes"]["grammars"]
    assert language["id"] == grammar["language"] == "treadle"
    assert language["extensions"] == [".treadle"]
    copied_grammar = copy / grammar["path"]
    copied_configuration = copy / language["configuration"]
    assert copied_grammar.read_bytes() == (ROOT / "grammar" / "treadle.tmLanguage.json").read_bytes()
    assert copied_configuration.read_bytes() == (ROOT / "grammar" / "language-configuration.json").read_bytes()
    assert json.loads(copied_grammar.read_text())["scopeName"] == grammar["scopeName"] == "source.treadle"
    assert (copy / data["main"]).is_file()


def test_the_extension_starts_the_language_server_of_the_treadle_command():
    data = manifest()
    assert "onLanguage:treadle" in data["activationEvents"]
    command = data["contributes"]["configuration"]["properties"]["treadle.server.command"]["default"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert command == ["treadle", "lsp"] and command[0] in scripts
    assert "vscode-languageclient" in data["dependencies"]
    lock = json.loads((EXTENSION / "package-lock.json").read_text())
    assert lock["packages"][""]["dependencies"] == data["dependencies"]
    run = subprocess.run([node(), "--check", str(EXTENSION / "extension.js")], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
