"""Spans (1-based lines, columns in characters) <-> LSP positions (0-based lines, columns in
the code units of the encoding agreed with the client: UTF-16 unless it offers another).

A character outside the Basic Multilingual Plane is one column in a Span, two UTF-16
code units and four UTF-8 bytes, so every conversion goes through the line's text."""

from __future__ import annotations

from ..source import SourceFile, Span

UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"


def _units(char: str, encoding: str) -> int:
    code = ord(char)
    if encoding == UTF32:
        return 1
    if encoding == UTF8:
        return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
    return 2 if code >= 0x10000 else 1


def to_units(line_text: str, column: int, encoding: str = UTF16) -> int:
    """The 0-based code-unit offset of a 1-based character column of a line."""
    prefix = line_text[: max(column - 1, 0)]
    if encoding == UTF32 or prefix.isascii():
        return len(prefix) + max(column - 1 - len(line_text), 0)
    return sum(_units(char, encoding) for char in prefix) + max(column - 1 - len(line_text), 0)


def from_units(line_text: str, units: int, encoding: str = UTF16) -> int:
    """The 1-based character column at a 0-based code-unit offset (inside a character: its start)."""
    if encoding == UTF32 or line_text.isascii():
        return min(units, len(line_text)) + 1
    counted = 0
    for index, char in enumerate(line_text):
        width = _units(char, encoding)
        if counted + width > units:
            return index + 1
        counted += width
    return len(line_text) + 1


def position(source: SourceFile, line: int, column: int, encoding: str = UTF16) -> tuple[int, int]:
    """(line, character) of the LSP for a 1-based line and character column."""
    return line - 1, to_units(source.line_text(line), column, encoding)


def span_range(source: SourceFile, span: Span, encoding: str = UTF16) -> tuple[tuple[int, int], tuple[int, int]]:
    return position(source, span.line, span.column, encoding), position(source, span.end_line, span.end_column, encoding)


def from_position(source: SourceFile, line: int, character: int, encoding: str = UTF16) -> tuple[int, int]:
    """1-based (line, column) of an LSP position."""
    return line + 1, from_units(source.line_text(line + 1), character, encoding)
