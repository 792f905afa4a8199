"""`treadle export-component`: exit codes, output to a file, and what cannot be exported."""

from __future__ import annotations

import yaml

from treadle.compiler.cli import main

from .kfp_helpers import spec_path

SOURCE = """import "std/sklearn"
import "{spec}" as xgb_train

component publish(model: Model, destination: str = "out", tries: list[int] = [1]) -> (location: str) {{
  image   = "alpine:3.20"
  command = ["sh", "-c", "cp \\"$0\\" \\"$1\\" && echo \\"$1\\" > \\"$2\\"", model, destination, location]
  args    = ["--tries", tries]
  env     {{ MODE = "fast" }}
  retries = 2
}}

component secretive(model: Model) {{
  image   = "alpine:3.20"
  command = ["cat", model]
  env     {{ TOKEN = secret("creds", "token") }}
}}
"""


def _write(tmp_path):
    path = tmp_path / "main.treadle"
    path.write_text(SOURCE.format(spec=spec_path("xgboost-train-csv")), encoding="utf-8")
    return path


def test_exports_a_treadle_component_to_a_file(tmp_path, capsys):
    path = _write(tmp_path)
    target = tmp_path / "out" / "publish.yaml"
    target.parent.mkdir()
    assert main(["export-component", str(path), "publish", "-o", str(target)]) == 0
    err = capsys.readouterr().err
    assert "retries" in err and "list[int]" in err  # the losses, named
    document = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert document["inputs"] == [{"name": "model", "type": "Model"},
                                  {"name": "destination", "type": "String", "default": "out"},
                                  {"name": "tries", "type": "JsonArray", "default": "[1]"}]
    assert document["outputs"] == [{"name": "location", "type": "String"}]
    container = document["implementation"]["container"]
    assert container["command"][3:] == [{"inputPath": "model"}, {"inputValue": "destination"},
                                        {"outputPath": "location"}]
    assert container["args"] == ["--tries", {"inputValue": "tries"}]
    assert container["env"] == {"MODE": "fast"}


def test_exports_an_imported_spec_as_it_was_read(tmp_path, capsys):
    path = _write(tmp_path)
    assert main(["export-component", str(path), "xgb_train"]) == 0
    document = yaml.safe_load(capsys.readouterr().out)
    original = yaml.safe_load(spec_path("xgboost-train-csv").read_text(encoding="utf-8"))
    assert document["name"] == original["name"]
    assert [port["name"] for port in document["inputs"]] == [port["name"] for port in original["inputs"]]
    assert document["implementation"]["container"]["args"] == original["implementation"]["container"]["args"]


def test_exports_a_component_of_the_standard_library(tmp_path, capsys):
    assert main(["export-component", str(_write(tmp_path)), "forest"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["implementation"]["container"]["command"] == [
        "treadle-runtime", "forest"]


def test_what_cannot_be_exported(tmp_path, capsys):
    path = _write(tmp_path)
    assert main(["export-component", str(path), "secretive"]) == 1
    assert "TOKEN holds a secret" in capsys.readouterr().err
    assert main(["export-component", str(path), "nothing"]) == 2
    assert "has no component 'nothing'" in capsys.readouterr().err
    (tmp_path / "bad.treadle").write_text("component x( {\n", encoding="utf-8")
    assert main(["export-component", str(tmp_path / "bad.treadle"), "x"]) == 1
