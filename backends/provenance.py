"""Labels and annotations that trace every emitted object back to its source.

A platform team that keeps compiled YAML in Git (and a cluster that runs it) needs to
know, from any object alone, which treadle version compiled it, from which file and
which content of that file. Both engines' documents are stamped here, after emission,
so the engines themselves stay unaware of it.

The stamp is byte-stable: the source path is relative to the folder the command runs in
(forward slashes on every system), the hash is SHA-256 of the source file's bytes as
`sha256sum` prints it, and the version comes from the installed package's metadata.
The hash covers the entry file only: a change in an imported file changes the compiled
YAML itself, which `treadle compile --check` reports.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePath

from ..compiler.version import treadle_version
from .base import PIPELINE_LABEL
from .yaml_out import Shared

VERSION_LABEL = "treadle.dev/version"  # label: selectable (`kubectl get -l treadle.dev/version=0.1.0`)
SOURCE_ANNOTATION = "treadle.dev/source"
SOURCE_HASH_ANNOTATION = "treadle.dev/source-sha256"
VERSION_ANNOTATION = "treadle.dev/version"  # the exact version, where the label had to be sanitised

_LABEL_VALUE_INVALID = re.compile(r"[^A-Za-z0-9._-]")


def label_value(text: str) -> str:
    """A valid Kubernetes label value: at most 63 characters of [A-Za-z0-9._-], starting
    and ending with a letter or digit."""
    value = _LABEL_VALUE_INVALID.sub("-", text)[:63]
    return value.strip("._-")


def display_path(path: str, root: str | os.PathLike | None = None) -> str:
    """`path` relative to `root` (default: the current folder) with forward slashes; a
    path outside `root` is kept as given, in the same form."""
    base = Path(root) if root is not None else Path.cwd()
    try:
        relative = Path(os.path.abspath(path)).relative_to(os.path.abspath(base))
    except ValueError:
        relative = PurePath(path)
    return relative.as_posix()


@dataclass(frozen=True)
class Origin:
    """Where one pipeline's documents come from."""

    source: str  # display path, forward slashes
    sha256: str  # of the source file's bytes
    version: str

    @classmethod
    def of(cls, path: str, text: str, root: str | os.PathLike | None = None, version: str | None = None) -> "Origin":
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        return cls(display_path(path, root), digest, version if version is not None else treadle_version())


def stamp(documents: list[dict], origin: Origin) -> None:
    """Add the origin's labels and annotations to the top-level metadata of each document.

    New dicts, since engines may share one labels dict between a document and its pods; one
    stamped dict for the documents that shared one (a pipeline's Tasks), which the YAML
    writer makes into lines once (`Shared`: nothing changes them afterwards)."""
    version_label = label_value(origin.version)
    stamped: dict[tuple[str, int], Shared] = {}  # (field, id of the engine's dict) -> its stamped copy
    none: dict = {}
    for document in documents:
        metadata = document["metadata"] = dict(document.get("metadata", {}))
        labels = metadata.get("labels", none)
        known = stamped.get(("labels", id(labels)))
        if known is None:
            known = stamped[("labels", id(labels))] = Shared({**labels, VERSION_LABEL: version_label})
        metadata["labels"] = known
        annotations = metadata.get("annotations", none)
        known = stamped.get(("annotations", id(annotations)))
        if known is None:
            known = stamped[("annotations", id(annotations))] = Shared({
                **annotations, SOURCE_ANNOTATION: origin.source, SOURCE_HASH_ANNOTATION: origin.sha256,
                VERSION_ANNOTATION: origin.version})
        metadata["annotations"] = known


__all__ = ["Origin", "PIPELINE_LABEL", "VERSION_LABEL", "SOURCE_ANNOTATION", "SOURCE_HASH_ANNOTATION",
           "VERSION_ANNOTATION", "display_path", "label_value", "stamp", "treadle_version"]
