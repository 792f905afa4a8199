"""Hypothesis strategies for valid treadle programs: random DAGs over components of every
type, with conditions, loops (with fan-in), `after`, `with` overrides and finally."""

from __future__ import annotations

import json
import re

from hypothesis import strategies as st

PARAM_TYPES = ["str", "int", "float", "bool", "list", "dict"]
ARTIFACT_TYPES = ["Dataset", "Model", "Metrics", "Artifact"]

_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)


def literal(type_name: str):
    """A strategy of treadle source text for a literal of the type."""
    if type_name == "str":
        return _TEXT.map(lambda s: json.dumps(s, ensure_ascii=False))
    if type_name == "int":
        return st.integers(-1000, 1000).map(str)
    if type_name == "float":
        return st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False).map(repr)
    if type_name == "bool":
        return st.sampled_from(["true", "false"])
    if type_name == "list":
        return st.lists(st.integers(0, 9), max_size=3).map(lambda xs: "[" + ", ".join(map(str, xs)) + "]")
    return st.dictionaries(st.sampled_from(["a", "b", "c"]), st.integers(0, 9), max_size=2).map(
        lambda d: "{" + ", ".join(f'"{k}": {v}' for k, v in d.items()) + "}")


@st.composite
def components(draw, count: int):
    result = []
    for index in range(count):
        inputs = draw(st.lists(st.sampled_from(PARAM_TYPES + ARTIFACT_TYPES), min_size=0, max_size=4))
        outputs = draw(st.lists(st.sampled_from(PARAM_TYPES + ARTIFACT_TYPES), min_size=1, max_size=3))
        result.append({"name": f"comp{index}", "inputs": inputs, "outputs": outputs})
    return result


def render_component(component) -> str:
    ins = [f"in{i}: {t}" for i, t in enumerate(component["inputs"])]
    outs = [f"out{i}: {t}" for i, t in enumerate(component["outputs"])]
    names = [f"in{i}" for i in range(len(component["inputs"]))] + [f"out{i}" for i in range(len(component["outputs"]))]
    return (f"component {component['name']}({', '.join(ins)}) -> ({', '.join(outs)}) {{\n"
            f"  image = \"alpine:3.20\"\n"
            f"  command = [\"run\", {', '.join(names)}]\n"
            f"}}\n")


@st.composite
def programs(draw):
    """Source text of a valid program, and the number of steps its pipeline has."""
    comps = draw(components(draw(st.integers(1, 4))))
    params = draw(st.lists(st.sampled_from(PARAM_TYPES), max_size=4))
    param_defaults = [draw(literal(t)) for t in params]
    visible: list[tuple[str, str]] = [(f"p{i}", t) for i, t in enumerate(params)]  # (expression, type)
    lines: list[str] = []
    step_count = 0
    counter = 0

    def call(component, extra_visible, indent: str, name: str | None, only_extra: bool = False):
        nonlocal step_count
        args = []
        pool = extra_visible if only_extra else visible + extra_visible
        for i, t in enumerate(component["inputs"]):
            candidates = [expr for expr, et in pool if et == t]
            if t in ARTIFACT_TYPES or (candidates and draw(st.booleans())):
                if not candidates:
                    return None
                args.append(f"in{i}={draw(st.sampled_from(candidates))}")
            else:
                args.append(f"in{i}={draw(literal(t))}")
        text = f"{indent}{name + ' = ' if name else ''}{component['name']}({', '.join(args)})"
        if draw(st.booleans()):
            text += f" with {{ retries = {draw(st.integers(0, 3))} }}"
        step_count += 1
        return text

    for _ in range(draw(st.integers(1, 8))):
        component = draw(st.sampled_from(comps))
        shape = draw(st.sampled_from(["plain", "plain", "if", "for", "after"]))
        counter += 1
        name = f"s{counter}"
        if shape == "if":
            numeric = [expr for expr, t in visible if t in ("int", "float")]
            condition = f"{draw(st.sampled_from(numeric))} > {draw(st.integers(-5, 5))}" if numeric else "true"
            if draw(st.booleans()):
                condition = f"not ({condition}) or {draw(st.sampled_from(['true', 'false']))}"
            body = call(component, [], "    ", name)
            if body is None:
                continue
            otherwise = call(component, [], "    ", name + "e") if draw(st.booleans()) else None
            if otherwise is None:
                lines.append(f"  if {condition} {{\n{body}\n  }}")
            else:
                lines.append(f"  if {condition} {{\n{body}\n  }} else {{\n{otherwise}\n  }}")
        elif shape == "for":
            items = draw(st.lists(st.integers(0, 50), min_size=1, max_size=4))
            body = call(component, [(f"x{counter}", "int")], "    ", name)
            if body is None:
                continue
            lines.append(f"  for x{counter} in [{', '.join(map(str, items))}] {{\n{body}\n  }}")
            for i, t in enumerate(component["outputs"]):
                if t in ("int", "float", "str", "bool"):
                    visible.append((f"{name}.out{i}", "list"))  # fan-in: a list after the loop
        else:
            text = call(component, [], "  ", name)
            if text is None:
                continue
            if shape == "after":
                earlier = [expr.split(".")[0] for expr, _ in visible if "." in expr]
                if earlier:
                    text += f" after {draw(st.sampled_from(earlier))}"
            lines.append(text)
            for i, t in enumerate(component["outputs"]):
                visible.append((f"{name}.out{i}", t))
    if draw(st.booleans()):
        final = draw(st.sampled_from(comps))
        body = call(final, [(f"p{i}", t) for i, t in enumerate(params)], "    ", None, only_extra=True) if not any(
            t in ARTIFACT_TYPES for t in final["inputs"]) else None
        if body is not None:
            lines.append(f"  finally {{\n{body}\n  }}")
    signature = ", ".join(f"p{i}: {t} = {d}" for i, (t, d) in enumerate(zip(params, param_defaults)))
    text = "".join(render_component(c) + "\n" for c in comps)
    text += f"pipeline generated({signature}) {{\n" + "\n".join(lines) + "\n}\n"
    return text, step_count


_UNTIDY_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|->|[A-Za-z_0-9.\-]+|[=!<>]=|\S')
_COMMENT_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")),
                        max_size=10).map(lambda text: "#" + text)


@st.composite
def untidy(draw, text: str) -> str:
    """The same program written carelessly: odd spacing between tokens, new lines after
    commas, blank lines, comments at the ends of lines and on lines of their own."""
    lines = []
    for line in text.split("\n"):
        pieces = []
        position = 0
        for match in _UNTIDY_TOKEN.finditer(line):
            gap = line[position:match.start()]
            if pieces and draw(st.integers(0, 5)) == 0:
                blanks = ["", " ", "   ", "\t"] if _may_touch(pieces[-1], match.group()) else [" ", "   ", "\t"]
                gap = draw(st.sampled_from(blanks))
            pieces.append(gap)
            pieces.append(match.group())
            if match.group() == "," and draw(st.integers(0, 6)) == 0:
                pieces.append("\n" + " " * draw(st.integers(0, 6)))
            position = match.end()
        rebuilt = "".join(pieces)
        if rebuilt.strip() and draw(st.integers(0, 4)) == 0:
            rebuilt += draw(st.sampled_from([" ", "  ", "\t"])) + draw(_COMMENT_TEXT)
        lines.append(rebuilt)
        choice = draw(st.integers(0, 9))
        if choice == 0:
            lines.append("")
        elif choice == 1:
            lines.append(" " * draw(st.integers(0, 4)) + draw(_COMMENT_TEXT))
    return "\n".join(lines)


def _may_touch(left: str, right: str) -> bool:
    """Whether two tokens may be written with no blank between them."""
    word = re.compile(r"[A-Za-z_0-9.\-]")
    return not (word.match(left[-1]) and word.match(right[0]))
