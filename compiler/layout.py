"""A small pretty-printer: documents that say where lines may break, laid out to a width.

The formatter describes a program as a document and this module decides the breaks, in
the manner of Wadler's "prettier printer" (and of the JavaScript formatter named after
it): a `Group` is laid out on one line when it fits and broken everywhere otherwise, a
`Fill` breaks only where the next item would not fit (argument lists that flow like
text), `Align` indents continuation lines to the column where it starts (hanging
brackets), and `Choice` takes the first of several layouts whose lines all fit.

A document is a `str`, a `list` of documents (concatenation) or one of the classes below.
Text may hold new lines only where the source did (triple-quoted strings): it is printed
as it is and measured up to its first new line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

BREAK = 1
FLAT = 0


@dataclass(slots=True)
class Line:
    """A place to break: a space (or nothing, when `soft`) on a flat line; `hard` always breaks."""

    soft: bool = False
    hard: bool = False


LINE = Line()
SOFTLINE = Line(soft=True)
HARDLINE = Line(hard=True)


@dataclass(slots=True)
class Group:
    contents: object
    broken: bool = False  # laid out broken whatever the width (set for hard lines inside)


@dataclass(slots=True)
class Indent:
    width: int
    contents: object


@dataclass(slots=True)
class Align:
    """Continuation lines of the contents start at the column where the contents start."""

    contents: object


@dataclass(slots=True)
class Fill:
    """Items and separators, alternating: each separator breaks only if the next item does
    not fit on the line."""

    parts: list


@dataclass(slots=True)
class IfBreak:
    broken: object
    flat: object = ""


@dataclass(slots=True)
class Suffix:
    """Text at the end of a line that takes no width when fitting (a trailing comment)."""

    text: str


@dataclass(slots=True)
class Choice:
    """Layouts to try in order, each with its groups flat: the first whose lines all fit
    wins, else the last one is laid out broken."""

    alternatives: list = field(default_factory=list)


def has_hard_break(doc) -> bool:
    """Whether a document always breaks a line (a hard line or a broken group inside)."""
    stack = [doc]
    while stack:
        item = stack.pop()
        if type(item) is str:
            continue
        if type(item) is list:
            stack.extend(item)
        elif type(item) is Line:
            if item.hard:
                return True
        elif type(item) is Group:
            if item.broken:
                return True
            stack.append(item.contents)
        elif type(item) in (Indent, Align):
            stack.append(item.contents)
        elif type(item) is Fill:
            stack.extend(item.parts)
        elif type(item) is IfBreak:
            stack.append(item.broken)
    return False


def propagate_breaks(doc) -> bool:
    """Mark every group that holds a hard break as broken; True if `doc` holds one."""
    if type(doc) is str:
        return False
    if type(doc) is list:
        found = False
        for item in doc:
            found = propagate_breaks(item) or found
        return found
    if type(doc) is Line:
        return doc.hard
    if type(doc) is Group:
        if propagate_breaks(doc.contents):
            doc.broken = True
        return doc.broken
    if type(doc) in (Indent, Align):
        return propagate_breaks(doc.contents)
    if type(doc) is Fill:
        found = False
        for item in doc.parts:
            found = propagate_breaks(item) or found
        return found
    if type(doc) is IfBreak:
        return propagate_breaks(doc.broken)
    if type(doc) is Choice:
        for alternative in doc.alternatives:
            propagate_breaks(alternative)
        return False  # a choice decides for itself
    return False


def _fits(next_command, rest: list, width: int, must_be_flat: bool = False) -> bool:
    """Whether `next_command` (and what follows it on its line, from `rest`) fits in `width`."""
    stack = [next_command]
    rest_index = len(rest)
    in_rest = False
    while width >= 0:
        if not stack:
            if rest_index == 0:
                return True
            rest_index -= 1
            stack.append(rest[rest_index])
            in_rest = True
            continue
        indent, mode, doc = stack.pop()
        kind = type(doc)
        if kind is str:
            newline = doc.find("\n")
            if newline != -1:
                return width - newline >= 0
            width -= len(doc)
        elif kind is list:
            for item in reversed(doc):
                stack.append((indent, mode, item))
        elif kind is Line:
            if mode == BREAK or doc.hard:
                return True
            if not doc.soft:
                width -= 1
        elif kind is Group:
            if must_be_flat and doc.broken:
                return False
            stack.append((indent, BREAK if doc.broken else mode, doc.contents))
        elif kind is Indent or kind is Align:
            stack.append((indent, mode, doc.contents))
        elif kind is Fill:
            for item in reversed(doc.parts):
                stack.append((indent, mode, item))
        elif kind is IfBreak:
            stack.append((indent, mode, doc.broken if mode == BREAK else doc.flat))
        elif kind is Choice:
            if in_rest:
                return True  # a choice can always move to the next line
            stack.append((indent, FLAT, doc.alternatives[0]))
        # Suffix: no width
    return False


class _Printer:
    def __init__(self, width: int, newline: str) -> None:
        self.width = width
        self.newline = newline

    def run(self, commands: list, position: int) -> tuple[list[str], int]:
        """Print the commands (a stack, last first); the text pieces and the end column."""
        width = self.width
        out: list[str] = []
        while commands:
            indent, mode, doc = commands.pop()
            kind = type(doc)
            if kind is str:
                if doc:
                    out.append(doc)
                    newline = doc.rfind("\n")
                    position = position + len(doc) if newline == -1 else len(doc) - newline - 1
            elif kind is list:
                for item in reversed(doc):
                    commands.append((indent, mode, item))
            elif kind is Line:
                if mode == FLAT and not doc.hard:
                    if not doc.soft:
                        out.append(" ")
                        position += 1
                else:
                    _trim_trailing_blanks(out)
                    out.append(self.newline + " " * indent)
                    position = indent
            elif kind is Group:
                if mode == FLAT and not doc.broken:
                    commands.append((indent, FLAT, doc.contents))
                elif not doc.broken and _fits((indent, FLAT, doc.contents), commands, width - position):
                    commands.append((indent, FLAT, doc.contents))
                else:
                    commands.append((indent, BREAK, doc.contents))
            elif kind is Indent:
                commands.append((indent + doc.width, mode, doc.contents))
            elif kind is Align:
                commands.append((position, mode, doc.contents))
            elif kind is IfBreak:
                commands.append((indent, mode, doc.broken if mode == BREAK else doc.flat))
            elif kind is Suffix:
                out.append(doc.text)
                position += len(doc.text)
            elif kind is Fill:
                self._fill(indent, mode, doc.parts, commands, position)
            elif kind is Choice:
                commands.append(self._choose(indent, doc.alternatives, commands, position))
            else:
                raise TypeError(f"not a document: {doc!r}")
        return out, position

    def _fill(self, indent: int, mode: int, parts: list, commands: list, position: int) -> None:
        if not parts:
            return
        if mode == FLAT:
            commands.append((indent, FLAT, parts))
            return
        remaining = self.width - position
        content = parts[0]
        last = len(parts) <= 3
        content_fits = _fits((indent, FLAT, content), commands if len(parts) == 1 else [], remaining, True)
        if len(parts) == 1:
            commands.append((indent, FLAT if content_fits else BREAK, content))
            return
        separator = parts[1]
        if len(parts) == 2:
            commands.append((indent, FLAT if content_fits else BREAK, separator))
            commands.append((indent, FLAT if content_fits else BREAK, content))
            return
        pair_fits = _fits((indent, FLAT, [content, separator, parts[2]]), commands if last else [], remaining, True)
        commands.append((indent, mode, Fill(parts[2:])))
        commands.append((indent, FLAT if pair_fits else BREAK, separator))
        commands.append((indent, FLAT if content_fits else BREAK, content))

    def _choose(self, indent: int, alternatives: list, commands: list, position: int):
        for alternative in alternatives[:-1]:
            pieces, end = self.run([(indent, FLAT, alternative)], position)
            lines = "".join(pieces).split(self.newline)
            widths = [position + len(lines[0])] + [len(line) for line in lines[1:]]
            if max(widths) <= self.width and _fits((indent, FLAT, ""), commands, self.width - end):
                return (indent, FLAT, alternative)
        return (indent, BREAK, alternatives[-1])


def _trim_trailing_blanks(out: list[str]) -> None:
    while out:
        stripped = out[-1].rstrip(" ")
        if stripped:
            out[-1] = stripped
            return
        out.pop()


def render(doc, width: int = 100, newline: str = "\n") -> str:
    """Lay the document out in `width` columns."""
    propagate_breaks(doc)
    pieces, _ = _Printer(width, newline).run([(0, BREAK, doc)], 0)
    _trim_trailing_blanks(pieces)
    return "".join(pieces)
