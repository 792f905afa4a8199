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

import json
import os
import re
from json.encoder import encode_basestring
from pathlib import Path


class DoubleQuoted(str):
    """Text that must be written in double quotes, whatever it holds (for manifests that
    another program substitutes into before it reads them as YAML)."""

    __slots__ = ()


class Flow(dict):
    """A mapping written on one line: `{name: x, value: y}` (what it holds is flow too)."""

    __slots__ = ()


class SharedFlow(Flow):
    """A Flow that a backend puts in several places (a security context, a mount): the
    writer makes its text once. Nothing may change it once it is given out."""

    __slots__ = ()


class Shared(dict):
    """A block mapping that a backend puts in several places (equal parts of templates): the
    writer makes its lines once per indentation and reuses them. Nothing may change it once
    it is given out."""

    __slots__ = ()


class SharedList(list):
    """A block sequence that a backend puts in several places (the equal commands or params
    of Tasks): like `Shared`, its lines are made once per indentation. Nothing may change it
    once it is given out."""

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


def _json_length(text: str) -> int:
    """Bytes of `text` as a JSON string (UTF-8, non-ASCII kept as it is)."""
    encoded = encode_basestring(text)
    return len(encoded) if encoded.isascii() else len(encoded.encode("utf-8", "surrogatepass"))


def _flow_form(text: str) -> tuple[str, int]:
    """(the form of `text` inside a flow mapping or list, its JSON length)."""
    return _double_quoted(text) if "\n" in text else _scalar_text(text, True), _json_length(text)


def _json_other_length(value) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass"))


# ---------------------------------------------------------------- the writer
class _Writer:
    """Writes YAML and, on the way, adds up the size of the same data as compact JSON
    (`json.dumps(..., separators=(",", ":"), ensure_ascii=False)` in UTF-8), which is
    what Argo's size limit counts: no second serialisation is needed to check it."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.json_size = 0
        # text -> (its YAML form, its JSON length); block and flow forms differ.
        self.block_cache: dict[str, tuple[str, int]] = {}
        self.flow_cache: dict[str, tuple[str, int]] = {}
        # (multi-line text, indentation) -> (its block form, its JSON length): a Task's fixed
        # program is written once per indentation, not once per Task.
        self.literal_cache: dict[tuple[str, str], tuple[str, int]] = {}
        self.flow_objects: dict[int, tuple[str, int]] = {}  # id of a SharedFlow -> (text, JSON length)
        self.shared_blocks: dict[tuple[int, str], tuple[str, int]] = {}  # (id, indentation) of a Shared -> lines

    def block_scalar(self, value, indent: str) -> str:
        if type(value) is str:
            known = self.block_cache.get(value)
            if known is None:
                if "\n" in value:  # the form depends on the indentation
                    return self.literal(value, indent)
                known = (_scalar_text(value, False), _json_length(value))
                self.block_cache[value] = known
            self.json_size += known[1]
            return known[0]
        return self.other_scalar(value, indent, False)

    def literal(self, text: str, indent: str) -> str:
        known = self.literal_cache.get((text, indent))
        if known is None:
            known = (_block_literal(text, indent + "  ") or _double_quoted(text), _json_length(text))
            self.literal_cache[(text, indent)] = known
        self.json_size += known[1]
        return known[0]

    def flow_scalar(self, value) -> str:
        if type(value) is str:
            known = self.flow_cache.get(value)
            if known is None:
                known = self.flow_cache[value] = _flow_form(value)
            self.json_size += known[1]
            return known[0]
        return self.other_scalar(value, "", True)

    def other_scalar(self, value, indent: str, flow: bool) -> str:
        if value is True:
            self.json_size += 4
            return "true"
        if value is False:
            self.json_size += 5
            return "false"
        if type(value) is int:
            text = str(value)
            self.json_size += len(text)
            return text
        if isinstance(value, DoubleQuoted):
            self.json_size += _json_length(value)
            return _double_quoted(str(value))
        if isinstance(value, str):
            return self.flow_scalar(str(value)) if flow else self.block_scalar(str(value), indent)
        self.json_size += _json_other_length(value)
        return _pyyaml_scalar(value)

    def key(self, key) -> str:
        if isinstance(key, str):
            return self.flow_scalar(str(key))
        text = self.other_scalar(key, "", True)
        self.json_size += 2  # JSON writes other keys as strings, in quotes
        return text

    @staticmethod
    def _ordered(mapping: dict):
        if "name" in mapping and next(iter(mapping)) != "name":
            return [("name", mapping["name"])] + [item for item in mapping.items() if item[0] != "name"]
        return mapping.items()

    def mapping(self, mapping: dict, indent: str, first_prefix: str | None = None) -> None:
        """Lines of a non-empty block mapping; `first_prefix` replaces the first line's
        indentation (for a mapping that starts on a `- ` line)."""
        out = self.out
        self.json_size += 1 + 2 * len(mapping)  # braces, colons, commas
        prefix = first_prefix if first_prefix is not None else indent
        inner = indent + "  "
        flow_cache = self.flow_cache
        block_cache = self.block_cache
        for key, value in self._ordered(mapping):
            if type(key) is str and (known := flow_cache.get(key)) is not None:
                self.json_size += known[1]
                head = prefix + known[0] + ":"
            else:
                head = prefix + self.key(key) + ":"
            prefix = indent
            if type(value) is str and (known := block_cache.get(value)) is not None:  # text seen before
                self.json_size += known[1]
                out.append(head + " " + known[0] + "\n")
            elif isinstance(value, Flow):
                out.append(head + " " + self.flow(value) + "\n")
            elif type(value) is Shared and value:
                out.append(head + "\n")
                self.shared(value, inner)
            elif type(value) is SharedList and value:
                out.append(head + "\n")
                self.shared(value, indent)
            elif isinstance(value, dict):
                if value:
                    out.append(head + "\n")
                    self.mapping(value, inner)
                else:
                    self.json_size += 2
                    out.append(head + " {}\n")
            elif isinstance(value, list):
                if value:
                    out.append(head + "\n")
                    self.sequence(value, indent)
                else:
                    self.json_size += 2
                    out.append(head + " []\n")
            else:
                out.append(head + " " + self.block_scalar(value, indent) + "\n")

    def shared(self, block: Shared | SharedList, indent: str) -> None:
        """The lines of a non-empty Shared mapping or SharedList, made on its first use at
        this indentation. Objects live until the dump ends, so their ids stay theirs."""
        known = self.shared_blocks.get((id(block), indent))
        if known is not None:
            self.json_size += known[1]
            self.out.append(known[0])
            return
        start, before = len(self.out), self.json_size
        if type(block) is SharedList:
            self.sequence(block, indent)
        else:
            self.mapping(block, indent)
        text = "".join(self.out[start:])
        del self.out[start:]
        self.out.append(text)
        self.shared_blocks[(id(block), indent)] = (text, self.json_size - before)

    def sequence(self, items: list, indent: str) -> None:
        """Lines of a non-empty block sequence."""
        out = self.out
        self.json_size += 1 + len(items)  # brackets, commas
        dash = indent + "- "
        inner = indent + "  "
        block_cache = self.block_cache
        for item in items:
            if type(item) is str and (known := block_cache.get(item)) is not None:  # text seen before
                self.json_size += known[1]
                out.append(dash + known[0] + "\n")
            elif isinstance(item, Flow):
                out.append(dash + self.flow(item) + "\n")
            elif isinstance(item, dict):
                if item:
                    self.mapping(item, inner, first_prefix=dash)
                else:
                    self.json_size += 2
                    out.append(dash + "{}\n")
            elif isinstance(item, list):
                if item:
                    out.append(indent + "-\n")
                    self.sequence(item, inner)
                else:
                    self.json_size += 2
                    out.append(dash + "[]\n")
            else:
                out.append(dash + self.block_scalar(item, indent) + "\n")

    def flow(self, mapping: dict) -> str:
        if type(mapping) is SharedFlow:
            return self.shared_flow(mapping)
        if not mapping:
            self.json_size += 2
            return "{}"
        size = 1 + 2 * len(mapping)
        flow_cache = self.flow_cache
        parts = []
        items = mapping.items()
        if "name" in mapping and next(iter(mapping)) != "name":
            items = self._ordered(mapping)
        for key, value in items:
            if type(key) is str and (known := flow_cache.get(key)) is not None:
                size += known[1]
                key_text = known[0]
            else:
                key_text = self.key(key)
            if type(value) is str:
                known = flow_cache.get(value)
                if known is None:
                    known = flow_cache[value] = _flow_form(value)
                size += known[1]
                parts.append(key_text + ": " + known[0])
            elif isinstance(value, dict):
                parts.append(key_text + ": " + self.flow(value))
            else:
                parts.append(key_text + ": " + self.flow_value(value))
        self.json_size += size
        return "{" + ", ".join(parts) + "}"

    def shared_flow(self, mapping: SharedFlow) -> str:
        """A SharedFlow's text, made on its first use. Objects live until the dump ends, so
        their ids stay theirs."""
        known = self.flow_objects.get(id(mapping))
        if known is None:
            before = self.json_size
            text = self.flow(Flow(mapping))
            known = self.flow_objects[id(mapping)] = (text, self.json_size - before)
            return text
        self.json_size += known[1]
        return known[0]

    def flow_value(self, value) -> str:
        if isinstance(value, dict):
            return self.flow(value)
        if isinstance(value, list):
            if not value:
                self.json_size += 2
                return "[]"
            self.json_size += 1 + len(value)
            parts = []
            for item in value:
                if type(item) is str:  # the usual item (a loop's list)
                    parts.append(self.flow_scalar(item))
                elif isinstance(item, dict):
                    parts.append(self.flow(item))
                else:
                    parts.append(self.flow_value(item))
            return "[" + ", ".join(parts) + "]"
        return self.flow_scalar(value)


_dumper = None


def _pyyaml_scalar(value) -> str:
    """LibYAML's safe dumper (a private subclass: nothing changes in PyYAML for anyone else)
    writes the values the fast writer leaves to it (floats); imported on first use, which
    keeps PyYAML out of the start of a command."""
    global _dumper
    if _dumper is None:
        import yaml

        base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # LibYAML ships in the PyYAML wheel
        _dumper = type("_Dumper", (base,), {"ignore_aliases": lambda self, data: True})
    import yaml

    text = yaml.dump(value, Dumper=_dumper, width=1 << 30, allow_unicode=True)
    return text.rstrip("\n").removesuffix("\n...")


def dump_documents(documents: list[dict]) -> str:
    """One YAML stream; when there are several documents, each starts with `---`."""
    return dump_measured(documents)[0]


def dump_measured(documents: list[dict]) -> tuple[str, list[int]]:
    """(the YAML stream, each document's size as compact JSON in UTF-8 bytes)."""
    texts, sizes = dump_each(documents)
    return join_documents(texts), sizes


def dump_each(documents: list[dict]) -> tuple[list[str], list[int]]:
    """(each document's YAML, each one's size as compact JSON in UTF-8 bytes): for callers
    that put the same documents into more than one stream, so that each is written once."""
    writer = _Writer()
    texts = []
    sizes = []
    for document in documents:
        writer.out = []
        writer.json_size = 0
        if document:
            writer.mapping(document, "")
        else:
            writer.json_size = 2
            writer.out.append("{}\n")
        texts.append("".join(writer.out))
        sizes.append(writer.json_size)
    return texts, sizes


def join_documents(texts: list[str]) -> str:
    """Documents' YAML as one stream; when there are several, each starts with `---`."""
    if len(texts) == 1:
        return texts[0]
    return "".join("---\n" + text for text in texts)


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write `text` (UTF-8) so that readers see the old file or the new one, never half of it."""
    import tempfile

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
