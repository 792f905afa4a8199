"""How values reach an Argo container byte-for-byte.

Three layers rewrite text on the way:
- Argo substitutes `{{...}}` tags several times (in the task, in the template, in the pod
  spec); a value holding `{{` can be rewritten by a later pass. Compile-time text holding
  `{{` is therefore refused with an error that names it (`has_template_braces`).
- Argo evaluates `{{=...}}` expressions once their variables exist and JSON-escapes the
  result, so any character survives; an expression's text must avoid `"`, `\\`, and `?`
  together with `:` (Argo reads those as its ternary form). String literals inside
  expressions are plain quoted text or base64 (`expr_string`).
- The kubelet expands `$(VAR)` and turns `$$` into `$` in container command, args and env
  values. Literal text is escaped at compile time (`kube_escape`); run-time text goes
  through `sprig.replace('$', '$$', ...)` inside an expression.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

_PLAIN_EXPR_TEXT = re.compile(r"[A-Za-z0-9 _.,/@+=%-]*")
_DOLLAR_NEEDS_ESCAPE = re.compile(r"\$(?=[$(])")
_TAG_NAME = re.compile(r"[A-Za-z0-9_-]+")


def has_template_braces(text: str) -> bool:
    return "{{" in text


def kube_escape(text: str) -> str:
    """Literal text for a container's command, args or env value: each `$` that the kubelet
    would read as the start of `$$` or `$(` is doubled, so the kubelet gives back `text`."""
    return _DOLLAR_NEEDS_ESCAPE.sub("$$", text) if "$" in text else text


def expr_string(text: str) -> str:
    """An expression's string literal for `text`: quoted when plain, base64-decoded otherwise."""
    if _PLAIN_EXPR_TEXT.fullmatch(text):
        return f"'{text}'"
    encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return f"sprig.b64dec('{encoded}')"


@dataclass(frozen=True, slots=True)
class Ref:
    """A value Argo knows by name: ("tasks", "train", "outputs", "parameters", "model"),
    ("inputs", "parameters", "n"), ("workflow", "parameters", "seed") or ("item",)."""

    path: tuple[str, ...]

    @property
    def context(self) -> str:
        """When Argo can evaluate an expression that reads it: "tasks" and "workflow" values
        at task resolution (globals are there too), "inputs" while the template is expanded."""
        head = self.path[0]
        return "tasks" if head == "workflow" else head

    def tag(self) -> str:
        return "{{" + ".".join(self.path) + "}}"

    def expr(self) -> str:
        """The expression form: names that Argo allows hyphens in are indexed, never dotted."""
        head, *rest = self.path
        text = head
        for index, part in enumerate(rest):
            if head == "tasks" and index in (0, 3) or head in ("inputs", "workflow") and index == 1:
                text += f"['{part}']"
            else:
                text += f".{part}"
        return text


def task_output(task_name: str, output: str, artifact: bool = False) -> Ref:
    return Ref(("tasks", task_name, "outputs", "artifacts" if artifact else "parameters", output))


def input_param(name: str) -> Ref:
    return Ref(("inputs", "parameters", name))


def input_artifact(name: str) -> Ref:
    return Ref(("inputs", "artifacts", name))


def workflow_param(name: str) -> Ref:
    return Ref(("workflow", "parameters", name))


ITEM = Ref(("item",))


def runtime_text(parts: list[str | Ref], plain_refs: frozenset[str] = frozenset()) -> str:
    """One container argument (or env value) made of literal text and input parameters.

    Inputs named in `plain_refs` (numbers and bools) hold no `$` or braces and go in as
    `{{inputs.parameters.x}}`; any other input puts the whole argument into one expression
    that escapes `$` for the kubelet. Literal text must already be checked for `{{`."""
    refs = [part for part in parts if isinstance(part, Ref)]
    simple = all(ref.path[-1] in plain_refs and ref.path[0] == "inputs" for ref in refs)
    if simple:
        for index, part in enumerate(parts[:-1]):
            if isinstance(part, str) and part.endswith("{") and isinstance(parts[index + 1], Ref):
                simple = False
    if simple:
        rendered = []
        for index, part in enumerate(parts):
            if isinstance(part, Ref):
                rendered.append(part.tag())
            else:
                rendered.append(kube_escape(part))
        return "".join(rendered)
    pieces = [part.expr() if isinstance(part, Ref) else expr_string(part) for part in parts if part != ""]
    return "{{=sprig.replace('$', '$$', " + " + ".join(pieces) + ")}}"


def is_tag_name(name: str) -> bool:
    return bool(_TAG_NAME.fullmatch(name))
