"""Deterministic YAML for backend documents, and atomic file writes.

Documents are plain dicts built in a readable order; the dumper keeps that order except
that `name` always comes first. The same documents give the same bytes on every machine:
no anchors, no line folding, UTF-8 text, block style for multi-line strings. A private
Dumper class carries the representers, so importing treadle changes nothing in PyYAML for
anyone else.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml

try:  # LibYAML's emitter ships in the PyYAML wheel; the pure-Python one is ~10x slower
    _Base = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - only on builds without LibYAML
    _Base = yaml.SafeDumper

_WIDTH = 1 << 30  # never fold long strings: folded scalars are hard to diff and to grep


class DoubleQuoted(str):
    """Text that must be written in double quotes, whatever it holds (for manifests that
    another program substitutes into before it reads them as YAML)."""

    __slots__ = ()


class _Dumper(_Base):
    """SafeDumper with treadle's key order and string styles."""

    def ignore_aliases(self, data) -> bool:  # equal sub-documents are written out, never aliased
        return True


def _represent_dict(dumper: _Dumper, data: dict):
    if "name" in data:
        first = data["name"]
        items = [("name", first)]
        items.extend(item for item in data.items() if item[0] != "name")
    else:
        items = data.items()
    return dumper.represent_mapping("tag:yaml.org,2002:map", items)


def _represent_str(dumper: _Dumper, data: str):
    # Block style keeps multi-line text readable; the emitter falls back to a quoted style by
    # itself when block style cannot hold the text exactly (trailing spaces, control characters).
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


def _represent_double_quoted(dumper: _Dumper, data: DoubleQuoted):
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(data), style='"')


_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(DoubleQuoted, _represent_double_quoted)
_Dumper.add_representer(str, _represent_str)


def dump_documents(documents: list[dict]) -> str:
    """One YAML stream; documents after the first start with `---`."""
    return yaml.dump_all(
        documents,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=_WIDTH,
        explicit_start=len(documents) > 1,
    )


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
