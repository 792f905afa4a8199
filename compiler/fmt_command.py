"""`treadle fmt FILE... [--check] [--diff]`: the formatter for people and for CI.

Exit codes as CI knows them from Python formatters: 0 nothing to change (or changed and
written), 1 a file would change (with --check), 2 an error (a file that cannot be read or
written, syntax errors). Files are written atomically and only when their text changes.
`-` reads standard input and writes the formatted text to standard output (for editors).
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from pathlib import Path
from typing import TextIO

EXIT_CLEAN = 0
EXIT_WOULD_CHANGE = 1
EXIT_ERROR = 2


def add_parser(commands) -> None:
    fmt = commands.add_parser(
        "fmt", help="lay out .treadle files in the canonical style",
        description="Rewrite files in treadle's one layout, comments kept. Exit 0 when nothing "
                    "changes (or the files were rewritten), 1 when a file would change (--check), 2 on "
                    "errors. A folder stands for the .treadle files under it; '-' formats standard input "
                    "to standard output.")
    fmt.add_argument("files", nargs="+", metavar="FILE", help=".treadle files, folders, or '-'")
    fmt.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file would change")
    fmt.add_argument("--diff", action="store_true", help="write nothing; print a unified diff of the changes")
    fmt.set_defaults(handler=run)


def _expand(paths: list[str]) -> list[str]:
    files: list[str] = []
    for path in paths:
        if path != "-" and os.path.isdir(path):
            files += sorted(str(found) for found in Path(path).rglob("*.treadle") if found.is_file())
        else:
            files.append(path)
    return files


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.buffer.read().decode("utf-8")
    with open(path, "rb") as stream:
        return stream.read().decode("utf-8")


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..backends.yaml_out import write_atomic
    from .cli import render_diagnostic
    from .formatter import format_source
    from .source import SourceFile

    status = EXIT_CLEAN
    changed = 0
    files = _expand(args.files)
    for path in files:
        shown = "<stdin>" if path == "-" else path
        try:
            text = _read(path)
        except FileNotFoundError:
            print(f"treadle: error: cannot read {path}: no such file", file=err)
            status = EXIT_ERROR
            continue
        except UnicodeDecodeError as error:
            print(f"treadle: error: cannot read {shown}: not UTF-8 text ({error.reason})", file=err)
            status = EXIT_ERROR
            continue
        except OSError as error:
            print(f"treadle: error: cannot read {path}: {error.strerror or error}", file=err)
            status = EXIT_ERROR
            continue
        result = format_source(text, shown)
        if result.text is None:
            source = SourceFile(shown, text)
            for diagnostic in result.diagnostics.sorted():
                err.write(render_diagnostic(diagnostic, source.line_text(diagnostic.span.line)) + "\n\n")
            print(f"treadle: error: {shown} has syntax errors; it was not formatted", file=err)
            status = EXIT_ERROR
            continue
        if path == "-" and not (args.check or args.diff):
            out.write(result.text)
            continue
        if result.text == text:
            continue
        changed += 1
        if args.diff:
            out.writelines(difflib.unified_diff(text.splitlines(keepends=True), result.text.splitlines(keepends=True),
                                                f"{shown}", f"{shown} (formatted)"))
        if args.check or args.diff:
            if args.check:
                print(f"would reformat {shown}", file=err)
                status = max(status, EXIT_WOULD_CHANGE)
            continue
        try:
            write_atomic(path, result.text)
        except OSError as error:
            print(f"treadle: error: cannot write {path}: {error.strerror or error}", file=err)
            status = EXIT_ERROR
            continue
        print(f"reformatted {shown}", file=err)
    if len(files) > 1 or not files:
        verb = "would be reformatted" if args.check or args.diff else "reformatted"
        print(f"{changed} of {len(files)} file{'s' if len(files) != 1 else ''} {verb}", file=err)
    return status
