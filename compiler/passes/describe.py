"""IR as short text: what `--explain`, the pass fixtures and the docstring examples show.

`describe(graph)` prints one line per task in task order, in the language's own notation:
`b = inc(x=a.y) after c if p > 1 in for-x-1`. Spans are left out, so a program and the
optimized form of another program compare equal when they mean the same."""

from __future__ import annotations

import json

import networkx as nx

from .. import ir

# Components the docstring examples call: `inc` is deterministic and side-effect free,
# `show` only has side effects, `draw` is neither deterministic nor free of side effects,
# `count` (the length of a list) takes the outputs of a loop.
EXAMPLE_COMPONENTS = '''
component inc(x: int = 0) -> (y: int) {
  image = "python:3.12-slim"
  command = ["python3", "-c", "import sys; open(sys.argv[2], 'w').write(str(int(sys.argv[1]) + 1))", x, y]
  deterministic = true
  side_effects = false
}
component show(x: int) {
  image = "python:3.12-slim"
  command = ["python3", "-c", "import sys; print(sys.argv[1])", x]
}
component draw(x: int = 0) -> (y: int) {
  image = "python:3.12-slim"
  command = ["python3", "-c", "import random, sys; open(sys.argv[2], 'w').write(str(random.randint(0, 9)))", x, y]
}
component count(xs: list) -> (n: int) {
  image = "python:3.12-slim"
  command = ["python3", "-c", "import json, sys; open(sys.argv[2], 'w').write(str(len(json.loads(sys.argv[1]))))",
             xs, n]
  deterministic = true
  side_effects = false
}
'''

# ... and after the pipeline (so the lines above keep their numbers): `pack` writes a file
# that `repack` copies and `unpack` reads, all like `inc`.
FILE_COMPONENTS = '''
component pack(x: int) -> (d: Dataset) {
  image = "python:3.12-slim"
  command = ["python3", "-c", "import sys; open(sys.argv[2], 'w').write(sys.argv[1])", x, d]
  deterministic = true
  side_effects = false
}
component repack(d: Dataset) -> (e: Dataset) {
  image = "python:3.12-slim"
  command = ["python3", "-c", "import shutil, sys; shutil.copy(sys.argv[1], sys.argv[2])", d, e]
  deterministic = true
  side_effects = false
}
component unpack(d: Dataset) -> (y: int) {
  image = "python:3.12-slim"
  command = ["python3", "-c", "import shutil, sys; shutil.copy(sys.argv[1], sys.argv[2])", d, y]
  deterministic = true
  side_effects = false
}
'''


def pipeline_of(body: str, params: str = "", path: str = "example.treadle") -> nx.DiGraph:
    """The IR of `pipeline example(params) { body }` over the example components."""
    from ..frontend import compile_sources
    from ..source import SourceFile

    text = EXAMPLE_COMPONENTS + f"pipeline example({params}) {{\n{body}\n}}\n" + FILE_COMPONENTS
    result = compile_sources([SourceFile(path, text)])
    errors = [f"{d.span}: {d.message}" for d in result.diagnostics if d.is_error]
    if errors:
        raise ValueError("; ".join(errors))
    return result.pipelines["example"]


def binding_text(binding: ir.Binding, pipeline: ir.PipelineInfo | None = None) -> str:
    if isinstance(binding, ir.Const):
        return json.dumps(binding.value, ensure_ascii=False) if not isinstance(binding.value, bool) else (
            "true" if binding.value else "false")
    if isinstance(binding, ir.ParamRef):
        return binding.name
    if isinstance(binding, ir.LoopItem):
        return pipeline.loop(binding.loop).variable if pipeline is not None else binding.loop
    if isinstance(binding, ir.ListOf):
        return "[" + ", ".join(binding_text(item, pipeline) for item in binding.items) + "]"
    gathered = "".join(f"[all {pipeline.loop(loop).variable if pipeline is not None else loop}]"
                       for loop in binding.gathered)
    return f"{binding.task}.{binding.output}{gathered}"


def condition_text(condition: ir.Condition, pipeline: ir.PipelineInfo | None = None) -> str:
    return ir.condition_text(condition, lambda binding: binding_text(binding, pipeline))


def task_text(task: ir.Task, pipeline: ir.PipelineInfo | None = None) -> str:
    arguments = ", ".join(f"{name}={binding_text(binding, pipeline)}" for name, binding in task.arguments)
    text = f"{task.id} = {task.component.name}({arguments})"
    if task.fused:
        text = f"{task.id} = fused({'; '.join(fused_text(task, pipeline))})"
    if task.after:
        text += " after " + ", ".join(task.after)
    if task.guard is not None:
        text += " if " + condition_text(task.guard, pipeline)
    if task.loops and pipeline is not None:
        text += " " + " ".join(f"in for {pipeline.loop(loop).variable} in {binding_text(pipeline.loop(loop).items)}"
                               for loop in task.loops)
    if task.is_finally:
        text += " finally"
    return text


def fused_text(task: ir.Task, pipeline: ir.PipelineInfo | None = None) -> list[str]:
    """Each step of a fused task as it was written, its inputs as the fused task gets them."""
    texts = []
    for step in task.fused:
        given = dict(step.inputs)
        read = {name: f"{task.fused[position].id}.{output}" for name, position, output in step.reads}
        arguments = []
        for port in step.component.inputs:
            if port.name in read:
                arguments.append(f"{port.name}={read[port.name]}")
            elif task.argument(given[port.name]) is not None:
                arguments.append(f"{port.name}={binding_text(task.argument(given[port.name]), pipeline)}")
        texts.append(f"{step.id} = {step.component.name}({', '.join(arguments)})")
    return texts


def describe(graph: nx.DiGraph) -> str:
    """One line per task, in task order."""
    pipeline = ir.info(graph)
    return "\n".join(task_text(task, pipeline) for task in ir.tasks(graph))
