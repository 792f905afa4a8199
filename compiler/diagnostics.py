"""Diagnostics are values: a code, a severity, a span, a message and an optional hint.

Every stage appends them to a `Diagnostics` collection and carries on; the CLI (or an
editor) reports them together, in file order, at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Iterable, Iterator

from .source import Span


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    severity: Severity
    span: Span
    message: str
    hint: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_json(self) -> dict:
        return {
            "file": self.span.path,
            "line": self.span.line,
            "column": self.span.column,
            "end_line": self.span.end_line,
            "end_column": self.span.end_column,
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
        }


# Every code treadle reports, with a one-line summary. docs/diagnostics.md has an example of each.
# E and W: the front end (`treadle check`); B: a backend, when compiling for an engine.
CODES: dict[str, str] = {
    # syntax
    "E001": "syntax error",
    "E002": "unterminated string",
    "E003": "invalid escape sequence in a string",
    "E004": "character that is not part of the language",
    # files and names
    "E101": "imported file not found",
    "E102": "imported file cannot be read",
    "E103": "import cycle",
    "E104": "name defined twice",
    "E105": "name imported from two files",
    "E106": "unknown component",
    "E107": "unknown name",
    "E108": "unknown step",
    "E109": "unknown output",
    "E110": "unsupported import",
    "E111": "name shadows another",
    "E113": "invalid Kubeflow component.yaml",
    "E114": "Kubeflow input or output name that cannot be a treadle name",
    # types and arguments
    "E201": "unknown type",
    "E202": "type mismatch",
    "E203": "missing required argument",
    "E204": "unknown argument",
    "E205": "argument given twice",
    "E206": "argument without a name",
    "E207": "artifact where a parameter is expected, or the other way round",
    "E208": "invalid condition",
    "E209": "loop over something that is not a list",
    "E210": "value is not a literal",
    "E211": "invalid placeholder in command or args",
    "E212": "invalid declaration",
    "E213": "output used outside the scope where it exists",
    "E214": "call in a place where a value is expected",
    "E215": "Kubeflow placeholder that cannot be resolved for this call",
    # settings and values
    "E301": "unknown setting",
    "E302": "invalid setting value",
    "E303": "invalid duration",
    "E304": "invalid Kubernetes quantity",
    "E305": "invalid cron schedule",
    "E306": "value out of range",
    "E307": "missing required setting",
    "E308": "setting given twice",
    # graph
    "E401": "dependency cycle",
    # warnings
    "W501": "unused pipeline parameter",
    "W502": "unused let binding",
    "W503": "unused import",
    "W504": "component input never reaches the container",
    "W505": "component output never written by the container",
    "W506": "Kubeflow feature that treadle maps with a loss",
    # backends (`treadle compile --target ...`)
    "B001": "construct the target engine cannot express",
    "B002": "value that the target engine cannot deliver unchanged",
    "B003": "artifact mode changed for a pipeline",
    "B004": "compiled document near the engine's size limit",
    "B005": "caching setting the engine cannot honour",
    "B006": "pipeline setting the engine cannot enforce",
    "B007": "run written without a value it needs",
}


class Diagnostics:
    """An ordered collection that every stage appends to."""

    def __init__(self) -> None:
        self._items: list[Diagnostic] = []

    def error(self, code: str, span: Span, message: str, hint: str | None = None) -> None:
        self._items.append(Diagnostic(code, Severity.ERROR, span, message, hint))

    def warning(self, code: str, span: Span, message: str, hint: str | None = None) -> None:
        self._items.append(Diagnostic(code, Severity.WARNING, span, message, hint))

    def extend(self, items: Iterable[Diagnostic]) -> None:
        self._items.extend(items)

    @property
    def has_errors(self) -> bool:
        return any(item.is_error for item in self._items)

    def sorted(self) -> list[Diagnostic]:
        """In file order; the same problem reported twice at one place is shown once."""
        seen: set[tuple] = set()
        unique = []
        for item in sorted(self._items, key=lambda d: (d.span.sort_key, d.code, d.message)):
            key = (item.span, item.code, item.message)
            if key not in seen:
                seen.add(key)
                unique.append(item)
        return unique

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)
