"""Source files and spans: every diagnostic and every AST node points back here."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple


class Span(NamedTuple):
    """A half-open range of a source file, 1-based lines and columns (columns count characters).

    A named tuple: tens of thousands are made per large file, and tuples are the cheapest."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"

    def to(self, other: "Span") -> "Span":
        """The span from the start of this one to the end of `other`."""
        return Span(self.path, self.line, self.column, other.end_line, other.end_column)

    @property
    def sort_key(self) -> tuple[str, int, int]:  # noqa: D401
        return (self.path, self.line, self.column)


@dataclass(slots=True)
class SourceFile:
    """The text of one file as it was read, with a line index for spans and carets."""

    path: str
    text: str
    _line_starts: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        starts = [0]
        find = self.text.find
        position = find("\n")
        while position != -1:
            starts.append(position + 1)
            position = find("\n", position + 1)
        self._line_starts = starts

    @classmethod
    def read(cls, path: str | Path) -> "SourceFile":
        """Read a file as UTF-8; OSError and UnicodeDecodeError are the caller's to report."""
        raw = Path(path).read_bytes()
        return cls(str(path), raw.decode("utf-8"))

    def line_text(self, line: int) -> str:
        if line < 1 or line > len(self._line_starts):
            return ""
        start = self._line_starts[line - 1]
        end = self._line_starts[line] - 1 if line < len(self._line_starts) else len(self.text)
        return self.text[start:end].rstrip("\r")

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        index = bisect.bisect_right(self._line_starts, offset) - 1
        return index + 1, offset - self._line_starts[index] + 1

    def offset(self, line: int, column: int) -> int:
        """The character offset of a 1-based (line, column), clamped to the text."""
        if line < 1:
            return 0
        if line > len(self._line_starts):
            return len(self.text)
        return min(self._line_starts[line - 1] + max(column, 1) - 1, len(self.text))

    def text_of(self, span: Span) -> str:
        """The source text a span covers."""
        return self.text[self.offset(span.line, span.column):self.offset(span.end_line, span.end_column)]

    @property
    def line_count(self) -> int:
        return len(self._line_starts)

    def span(self, start: int, end: int) -> Span:
        line, column = self.position(start)
        end_line, end_column = self.position(max(start, end))
        return Span(self.path, line, column, end_line, end_column)

    @property
    def end_span(self) -> Span:
        return self.span(len(self.text), len(self.text))
