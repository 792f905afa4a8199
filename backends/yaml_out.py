"""Deterministic YAML for backend documents, and atomic file writes.

Documents are plain dicts built in a readable order; the writer keeps that order except
that `name` always comes first. The same documents give the same bytes on every machine:
no anchors, no line folding, UTF-8 text, block style for multi-line strings, and a quoting
rule that never lets a string read back as another type (YAML 1.1 booleans such as `y`
and `on` included, which Kubernetes' parser takes as booleans).

The writer handles only what backends produce (dicts, lists, strings, integers, floats,
booleans), which lets it run about twenty times faster than PyYAML's representer on
large workflows. Tests check every output against PyYAML's reader; LibYAML's dumper
(through a private Dumper class, so nothing changes in PyYAML for anyone else) writes
the rare values outside that set.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import yaml

try:  # LibYAML's emitter ships in the PyYAML wheel
    _Base = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - only on builds without LibYAML
    _Base = yaml.SafeDumper


class DoubleQuoted(str):
    """Text that must be written in double quotes, whatever it holds (for manifests that
    another program substitutes into before it reads them as YAML)."""

    __slots__ = ()


class Flow(dict):
    """A mapping written on one line: `{name: x, value: y}` (what it holds is flow too)."""

    __slots__ = ()


# ---------------------------------------------------------------- scalars
# Plain (unquoted) only for text made of these characters, which no YAML reader mistakes.
_PLAIN_BLOCK = re.compile(r"[A-Za-z_/][A-Za-z0-9_./@%+=-]*(?:[: ][A-Za-z0-9_./@%+=-]+)*|--?[A-Za-z][A-Za-z0-9_./@%+=-]*")
_PLAIN_FLOW = re.compile(r"[A-Za-z_/][A-Za-z0-9_./@%+=-]*(?: [A-Za-z0-9_./@%+=-]+)*|--?[A-Za-z][A-Za-z0-9_./@%+=-]*")
# Words that YAML 1.1 readers (PyYAML, and the Go reader Kubernetes uses) turn into booleans or null.
_SPECIAL_WORDS = frozenset("y n yes no true false on off null".split())
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")
_NEEDS_DOUBLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")
_ESCAPES = {"\0": "\\0", "\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f",
            "\r": "\\r", "\x1b": "\\e", '"': '\\"', "\\": "\\\\", "\x85": "\\N", "\u2028": "\\L", "\u2029": "\\P"}


def _double_quoted(text: str) -> str:
    out = ['"']
    for char in text:
        escape = _ESCAPES.get(char)
        if escape is not None:
            out.append(escape)
        elif _NEEDS_DOUBLE.match(char):
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _scalar_text(text: str, flow: bool) -> str:
    """The one-line form of a string: plain when unambiguous, else quoted."""
    if (_PLAIN_FLOW if flow else _PLAIN_BLOCK).fullmatch(text) and text.lower() not in _SPECIAL_WORDS:
        return text
    if _NEEDS_DOUBLE.search(text):
        return _double_quoted(text)
    return "'" + text.replace("'", "''") + "'"


def _block_literal(text: str, indent: str) -> str | None:
    """`|` block text for a multi-line string, or None when it cannot hold it exactly."""
    if text[0] in " \t\n" or _UNPRINTABLE.search(text) or "\r" in text:
        return None
    lines = text.split("\n")
    trailing = len(text) - len(text.rstrip("\n"))
    if trailing == 0:
        header = "|-"
    elif trailing == 1:
        header = "|"
        lines = lines[:-1]
    else:
        header = "|+"
        lines = lines[:-1]
    if any(line.strip(" ") == "" and line for line in lines):
        return None  # a line of spaces only would be read as indentation
    return header + "".join("\n" + (indent + line if line else "") for line in lines)


# ---------------------------------------------------------------- the writer
class _Writer:
    def __init__(self) -> None:
        self.out: list[str] = []
        self.cache: dict[str, str] = {}

    def scalar(self, value, indent: str, flow: bool = False) -> str:
        if value is True:
            return "true"
        if value is False:
            return "false"
        if type(value) is int:
            return str(value)
        if type(value) is str:
            cached = None if flow else self.cache.get(value)
            if cached is not None:
                return cached
            if "\n" in value:
                text = _block_literal(value, indent + "  ") if not flow else None
                if text is None:
                    text = _double_quoted(value)
                return text  # depends on indentation: not cached
            text = _scalar_text(value, flow)
            if not flow:
                self.cache[value] = text
            return text
        if isinstance(value, DoubleQuoted):
            return _double_quoted(str(value))
        if isinstance(value, str):
            return self.scalar(str(value), indent, flow)
        return _pyyaml_scalar(value)

    def mapping(self, mapping: dict, indent: str, first_prefix: str | None = None) -> None:
        """Lines of a block mapping; `first_prefix` replaces the first line's indentation
        (for a mapping that starts on a `- ` line)."""
        out = self.out
        items = mapping.items()
        if "name" in mapping:
            items = [("name", mapping["name"])] + [item for item in items if item[0] != "name"]
        prefix = first_prefix if first_prefix is not None else indent
        for key, value in items:
            head = prefix + self.scalar(key, indent, flow=True) + ":"
            prefix = indent
            if isinstance(value, Flow):
                out.append(head + " " + self.flow(value) + "\n")
            elif isinstance(value, dict):
                if value:
                    out.append(head + "\n")
                    self.mapping(value, indent + "  ")
                else:
                    out.append(head + " {}\n")
            elif isinstance(value, list):
                if value:
                    out.append(head + "\n")
                    self.sequence(value, indent)
                else:
                    out.append(head + " []\n")
            else:
                out.append(head + " " + self.scalar(value, indent) + "\n")

    def sequence(self, items: list, indent: str) -> None:
        out = self.out
        for item in items:
            if isinstance(item, Flow):
                out.append(indent + "- " + self.flow(item) + "\n")
            elif isinstance(item, dict):
                if item:
                    self.mapping(item, indent + "  ", first_prefix=indent + "- ")
                else:
                    out.append(indent + "- {}\n")
            elif isinstance(item, list):
                if item:
                    out.append(indent + "-\n")
                    self.sequence(item, indent + "  ")
                else:
                    out.append(indent + "- []\n")
            else:
                out.append(indent + "- " + self.scalar(item, indent) + "\n")

    def flow(self, mapping: dict) -> str:
        parts = []
        items = mapping.items()
        if "name" in mapping:
            items = [("name", mapping["name"])] + [item for item in items if item[0] != "name"]
        for key, value in items:
            parts.append(self.scalar(key, "", flow=True) + ": " + self.flow_value(value))
        return "{" + ", ".join(parts) + "}"

    def flow_value(self, value) -> str:
        if isinstance(value, dict):
            return self.flow(value)
        if isinstance(value, list):
            return "[" + ", ".join(self.flow_value(item) for item in value) + "]"
        return self.scalar(value, "", flow=True)


class _Dumper(_Base):
    """LibYAML's safe dumper for the values the fast writer leaves to it (floats)."""

    def ignore_aliases(self, data) -> bool:
        return True


def _pyyaml_scalar(value) -> str:
    text = yaml.dump(value, Dumper=_Dumper, width=1 << 30, allow_unicode=True)
    return text.rstrip("\n").removesuffix("\n...")


def dump_documents(documents: list[dict]) -> str:
    """One YAML stream; when there are several documents, each starts with `---`."""
    writer = _Writer()
    for document in documents:
        if len(documents) > 1:
            writer.out.append("---\n")
        if document:
            writer.mapping(document, "")
        else:
            writer.out.append("{}\n")
    return "".join(writer.out)


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write `text` (UTF-8) so that readers see the old file or the new one, never half of it."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        if target.exists():
            os.chmod(temporary, target.stat().st_mode & 0o777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
