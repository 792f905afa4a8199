"""Loading programs: relative and standard-library imports, each file once."""

from __future__ import annotations

from treadle.compiler.frontend import compile_files

LEAF = 'component leaf(x: str) -> (out: str) {\n  image = "alpine:3.20"\n  command = ["sh", "-c", "echo \\"$0\\" > \\"$1\\"", x, out]\n}\n'


def test_a_file_imported_along_two_paths_is_loaded_once(in_tmp):
    (in_tmp / "lib").mkdir()
    (in_tmp / "lib" / "leaf.treadle").write_text(LEAF)
    (in_tmp / "lib" / "left.treadle").write_text('import "leaf"\n\nlet LEFT = "l"\n')
    (in_tmp / "right.treadle").write_text('import "lib/leaf.treadle"\nimport "./lib/../lib/left.treadle"\n')
    (in_tmp / "main.treadle").write_text('import "lib/left.treadle"\nimport "right.treadle"\nimport "lib/leaf"\n\n'
                                         'pipeline p() {\n  leaf(x=LEFT)\n}\n')
    result = compile_files(["main.treadle"])
    assert [d.code for d in result.diagnostics if d.is_error] == []
    paths = sorted(module.path for module in result.program.modules)
    assert paths == ["lib/leaf.treadle", "lib/left.treadle", "main.treadle", "right.treadle"]
    assert result.pipelines["p"].nodes["leaf"]["task"].component.source == "lib/leaf.treadle"


def test_standard_library_is_found_from_anywhere(in_tmp):
    (in_tmp / "deep" / "er").mkdir(parents=True)
    (in_tmp / "deep" / "er" / "p.treadle").write_text(
        'import "std/sklearn"\n\npipeline p() {\n  d = load_dataset(name="wine")\n  split(data=d.dataset)\n}\n')
    result = compile_files(["deep/er/p.treadle"])
    assert result.ok, [d.message for d in result.diagnostics]
    assert result.pipelines["p"].nodes["split"]["task"].component.image.startswith("ghcr.io/treadle-ml/runtime:")


def test_errors_in_imported_files_are_reported_with_their_path(in_tmp):
    (in_tmp / "lib.treadle").write_text('component broken() {\n  image = 3\n  command = ["x"]\n}\n')
    (in_tmp / "main.treadle").write_text('import "lib.treadle"\n\npipeline p() {\n  broken()\n}\n')
    result = compile_files(["main.treadle"])
    assert [(d.span.path, d.span.line, d.code) for d in result.diagnostics.sorted()] == [("lib.treadle", 2, "E302")]


def test_a_broken_import_is_reported_once_with_its_line_not_echoed(in_tmp):
    (in_tmp / "lib.treadle").write_text("component a( {\n}\n")
    (in_tmp / "main.treadle").write_text('import "lib.treadle"\n\npipeline p() {\n  a(x=missing)\n}\n')
    result = compile_files(["main.treadle"])
    assert [(d.span.path, d.code) for d in result.diagnostics.sorted()] == [("lib.treadle", "E001")]
    assert "lib.treadle" in result.program.sources
