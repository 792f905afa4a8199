"""Template tags in a component.yaml's text that Kubeflow leaves for someone else to fill in.

Kubeflow v1 passes text such as `{{workflow.uid}}` or `{{pod.name}}` through unchanged and
relies on Argo to substitute it when the pod is created; specs written for Kubeflow v2's
launcher hold `{{$.pipeline_job_uuid}}` and the executor input `{{$}}`. treadle turns the
tags whose meaning every engine can give into engine variables (`ir.EngineVariable`), each
backend then writes its own variable; other text stays text."""

from __future__ import annotations

import re

from .. import ir

TAG = re.compile(r"\{\{(.*?)\}\}", re.S)
# tag (as Argo reads it, spaces around the name ignored) -> engine variable
ENGINE_TAGS = {
    "workflow.uid": "run_id",  # Argo: the Workflow's metadata.uid
    "workflow.name": "run_name",  # Argo: the Workflow's metadata.name
    "pod.name": "pod_name",  # Argo: the pod's name, filled in when the pod is created
    "$.pipeline_job_uuid": "run_id",  # Kubeflow v2 launcher: the run's id
    "$.pipeline_task_uuid": "task_id",  # Kubeflow v2 launcher: the task's execution id
}
EXECUTOR_INPUT = "{{$}}"


def engine_variable(tag: str) -> ir.EngineVariable | None:
    """The engine variable a tag's inner text (`pod.name`) stands for, or None."""
    name = ENGINE_TAGS.get(tag.strip())
    return None if name is None else ir.EngineVariable(name)


def launcher_tag(text: str) -> str | None:
    """The first tag in `text` that only Kubeflow v2's launcher fills in (`{{$}}`,
    `{{$.inputs.parameters['x']}}`, ...) and that is not an engine variable, or None."""
    for match in TAG.finditer(text):
        if match.group(1).strip().startswith("$") and engine_variable(match.group(1)) is None:
            return match.group(0)
    return None


def pieces(text: str) -> tuple[str | ir.EngineVariable, ...]:
    """`text` with each known tag as an engine variable; the rest stays text, byte for byte."""
    result: list[str | ir.EngineVariable] = []
    start = 0
    for match in TAG.finditer(text):
        variable = engine_variable(match.group(1))
        if variable is None:
            continue
        if match.start() > start:
            result.append(text[start:match.start()])
        result.append(variable)
        start = match.end()
    if start < len(text) or not result:
        result.append(text[start:])
    return tuple(result)


def env_value(text: str) -> str | ir.EngineText:
    """An env value: the text, or its pieces when it holds an engine variable."""
    split = pieces(text)
    return text if split == (text,) else split
