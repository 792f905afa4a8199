"""treadle's own version, as the installed package's metadata gives it: `--version`, the
provenance stamp on emitted objects, run records and the language server all say the same."""

from __future__ import annotations


def treadle_version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # read only when asked

    try:
        return version("treadle")
    except PackageNotFoundError:
        return "unknown"
