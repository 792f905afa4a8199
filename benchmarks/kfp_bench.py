"""Cost of Kubeflow component imports: reading the real specs, and checking calls whose
command lines are resolved one by one, beside calls of an equal treadle component.

Run: python benchmarks/kfp_bench.py [--steps 2000] [--repeat 5]

Prints medians: milliseconds to read each spec of ../shared/kfp-components (or the folder
given with --specs) with libyaml's loader and with PyYAML's Python one, and the front end's time for a pipeline of N calls of the xgboost
spec (half of them passing optional inputs) beside N calls of a treadle component with
the same ports and command line.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from treadle.compiler import kfp
from treadle.compiler.kfp import reader
from treadle.compiler.diagnostics import Diagnostics
from treadle.compiler.frontend import compile_sources
from treadle.compiler.source import SourceFile

ROOT = Path(__file__).resolve().parent.parent


def median_seconds(work, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


TREADLE_TWIN = """
component twin(training_data: Dataset, starting_model: Model, label_column: int = 0, num_iterations: int = 10,
               learning_rate: float = 0.3) -> (model: Model, model_config: Artifact) {
  image = "python:3.7"
  command = ["python3", "-u", "-c", "program"]
  args = ["--training-data", training_data, "--starting-model", starting_model, "--label-column", label_column,
          "--num-iterations", num_iterations, "--learning-rate", learning_rate, "--model", model,
          "--model-config", model_config]
}
"""


def pipeline(steps: int, callee: str, spec: Path) -> str:
    lines = [f'import "{spec}" as xgb', TREADLE_TWIN,
             "component make() -> (file: Dataset, model: Model) {\n  image = \"a\"\n  command = [\"make\", file, model]\n}",
             "pipeline p(rate: float = 0.1) {", "  made = make()"]
    for index in range(steps):
        optional = ", starting_model=made.model, num_iterations=3" if index % 2 or callee == "twin" else ""
        lines.append(f"  s{index} = {callee}(training_data=made.file, learning_rate=rate{optional})")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--specs", default=str(ROOT.parent / "shared" / "kfp-components"))
    options = parser.parse_args()
    specs = sorted(Path(options.specs).glob("*.yaml"))
    print(f"reading specs, ms (median of {options.repeat}): libyaml's loader, PyYAML's Python loader")
    loaders = {"libyaml": reader.SafeLoader, "python": yaml.SafeLoader}
    for path in specs:
        source = SourceFile.read(path)
        row = []
        for loader in loaders.values():
            reader.SafeLoader = loader
            row.append(median_seconds(lambda: kfp.load_component(source, "c", None, Diagnostics()), options.repeat))
        reader.SafeLoader = loaders["libyaml"]
        print(f"  {path.name:45} {len(source.text):6} bytes  " + "  ".join(f"{t * 1000:7.2f}" for t in row))
    spec = next(path for path in specs if path.name.startswith("xgboost"))
    with tempfile.TemporaryDirectory() as folder:
        results = {}
        for callee in ("xgb", "twin"):
            text = pipeline(options.steps, callee, spec)
            entry = Path(folder) / f"{callee}.treadle"
            entry.write_text(text, encoding="utf-8")
            source = SourceFile.read(entry)

            def run():
                result = compile_sources([source])
                assert result.ok, [d.message for d in result.diagnostics if d.is_error][:3]

            results[callee] = median_seconds(run, options.repeat)
    print(f"front end, {options.steps} calls (median of {options.repeat}):")
    print(f"  imported spec   {results['xgb'] * 1000:8.1f} ms")
    print(f"  treadle twin    {results['twin'] * 1000:8.1f} ms")
    print(f"  ratio           {results['xgb'] / results['twin']:8.2f}")


if __name__ == "__main__":
    main()
