"""Engines are found, not listed: a module of `treadle.backends` that defines `EMITTER` is
the engine of its name, and the command line asks each engine which flags it reads."""

from __future__ import annotations

import sys
import types

import pytest
from backend_helpers import compile_text

from treadle.backends import argo, targets
from treadle.backends.base import Options
from treadle.compiler import cli

SOURCE = '''component say(text: str) {
  image = "alpine:3.20"
  command = ["echo", text]
}
pipeline p() {
  say(text="hi")
}
'''


def test_engines_are_the_modules_that_define_an_emitter():
    assert targets.target_names() == ["argo", "tekton"]
    assert targets.engine("argo") is argo
    for name in ("naming", "yaml_out", "local", "../argo", "Argo", ""):
        assert targets.engine(name) is None


@pytest.fixture
def third_engine(monkeypatch):
    """An engine in a module of its own (Argo's emitter under another name, reading one flag),
    registered nowhere else."""
    class ThirdEmitter(argo.ArgoEmitter):
        TARGET = "third"
        OPTIONS = ("kind",)

    module = types.ModuleType("treadle.backends.third")
    for name in ("SIZE_LIMIT", "REFUSES", "documents_near_limit"):
        setattr(module, name, getattr(argo, name))
    module.EMITTER = ThirdEmitter
    module.emit = lambda graph, options=None, document_names=None: ThirdEmitter(options, document_names).emit(graph)
    monkeypatch.setitem(sys.modules, "treadle.backends.third", module)
    return module


def test_a_third_engine_needs_nothing_but_its_module(third_engine):
    assert targets.engine("third") is third_engine
    output, _ = compile_text(SOURCE, target="third")
    assert output.ok and "kind: Workflow" in output.text
    assert cli._targets("argo,third") == ["argo", "third"]
    assert targets.options_for("third", Options(kind="workflowtemplate", embedded=True)) == \
        Options(kind="workflowtemplate")
    assert targets.option_problem(["third"], Options(embedded=True)) == "--embedded goes with --target tekton"


@pytest.mark.parametrize("chosen,options,problem", [
    (["tekton"], Options(kind="workflowtemplate"), "--kind goes with --target argo"),
    (["argo"], Options(embedded=True), "--embedded goes with --target tekton"),
    (["argo"], Options(kubectl_image="bitnami/kubectl:1.31"), "--kubectl-image goes with --target tekton"),
    (["argo"], Options(volume_claim="shared"), "--volume-claim goes with --artifacts volume"),
    (["argo", "tekton"], Options(volume_claim="shared"), None),  # Tekton's workspace claim
    (["argo"], Options(volume_claim="shared", artifacts="volume"), None),
    (["argo", "tekton"], Options(kind="workflowtemplate", embedded=True), None),
])
def test_each_flag_goes_with_an_engine_that_reads_it(chosen, options, problem):
    assert targets.option_problem(chosen, options) == problem


def test_an_engine_sees_only_the_flags_it_reads():
    chosen = Options(kind="workflowtemplate", artifacts="volume", volume_claim="c", embedded=True,
                     kubectl_image="k")
    assert targets.options_for("argo", chosen) == Options(kind="workflowtemplate", artifacts="volume",
                                                          volume_claim="c")
    assert targets.options_for("tekton", chosen) == Options(volume_claim="c", embedded=True, kubectl_image="k")


def test_an_engine_that_cannot_load_is_not_called_unknown(monkeypatch, capsys):
    """A module an engine needs that is missing is said as such, without a traceback."""
    import importlib

    real = importlib.import_module

    def importing(name, *args):
        if name == "treadle.backends.broken":
            raise ModuleNotFoundError("No module named 'needed'", name="needed")
        return real(name, *args)

    monkeypatch.setattr(targets, "import_module", importing)
    with pytest.raises(ModuleNotFoundError):
        targets.engine("broken")
    assert targets.engine("missing") is None
    with pytest.raises(SystemExit) as stopped:
        cli.main(["compile", "x.treadle", "--target", "broken"])
    assert stopped.value.code == 2
    assert "a target cannot load: No module named 'needed'" in capsys.readouterr().err
