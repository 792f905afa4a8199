"""The `treadle` command. Rendering of diagnostics lives here and nowhere else.

Exit codes: 0 clean, 1 problems found, 2 bad usage (unreadable files included), 3 an
internal error (a bug: reported in one line, with the traceback under TREADLE_DEBUG=1).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence, TextIO

from ..backends.local import cli as local_commands

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


# ---------------------------------------------------------------- rendering
class _Style:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.enabled else text


def _wants_color(stream: TextIO) -> bool:
    return hasattr(stream, "isatty") and stream.isatty() and "NO_COLOR" not in os.environ


def render_diagnostic(diagnostic, line_text: str | None, color: bool = False) -> str:
    """`path:line:col: error[CODE]: message`, the source line, a caret under the span, a hint."""
    style = _Style(color)
    span = diagnostic.span
    severity = diagnostic.severity.value
    label = style(f"{severity}[{diagnostic.code}]", "1;31" if severity == "error" else "1;33")
    lines = [f"{style(str(span), '1')}: {label}: {diagnostic.message}"]
    if line_text is not None:
        number = str(span.line)
        gutter = " " * len(number)
        shown = line_text.expandtabs(4)
        prefix = line_text[: max(0, span.column - 1)].expandtabs(4)
        if span.end_line == span.line:
            width = max(1, span.end_column - span.column)
        else:
            width = max(1, len(line_text) - span.column + 1)
        lines.append(f"{gutter} |")
        lines.append(f"{number} | {shown}")
        lines.append(f"{gutter} | {' ' * len(prefix)}{style('^' * width, '1;31' if severity == 'error' else '1;33')}")
    if diagnostic.hint:
        lines.append(f"{' ' * len(str(span.line))} = hint: {diagnostic.hint}")
    return "\n".join(lines)


def _line_of(result, diagnostic) -> str | None:
    sources = result.program.sources if result.program is not None else {}
    source = sources.get(diagnostic.span.path)
    return source.line_text(diagnostic.span.line) if source is not None else None


def _summary(diagnostics, files: int) -> str:
    errors = sum(1 for d in diagnostics if d.is_error)
    warnings = len(diagnostics) - errors
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    found = " and ".join(parts) if parts else "no problems"
    return f"{found} in {files} file{'s' if files != 1 else ''}"


# ---------------------------------------------------------------- commands
def _read_sources(paths: list[str]):
    """Entry files, or (None, message) for the first that cannot be read."""
    from .source import SourceFile

    sources = []
    for path in paths:
        if os.path.isdir(path):
            return None, f"{path} is a folder; give .treadle files"
        try:
            sources.append(SourceFile.read(path))
        except FileNotFoundError:
            return None, f"cannot read {path}: no such file"
        except UnicodeDecodeError as error:
            return None, f"cannot read {path}: not UTF-8 text ({error.reason})"
        except OSError as error:
            return None, f"cannot read {path}: {error.strerror or error}"
    return sources, None


def _frontend(paths: list[str], lower: bool = True):
    """(the front end's result, None) or (None, why a file cannot be read). Without `lower`,
    the program is checked but not lowered to IR graphs: the diagnostics are the same, and
    neither the lowering nor networkx's import (0.15 to 0.3 s) is paid for."""
    from .frontend import check_sources, compile_sources

    sources, problem = _read_sources(paths)
    if problem:
        return None, problem
    return (compile_sources(sources) if lower else check_sources(sources)), None


def report(result, diagnostics, err: TextIO) -> None:
    """Write diagnostics to `err`, each with its source line."""
    color = _wants_color(err)
    for diagnostic in diagnostics:
        err.write(render_diagnostic(diagnostic, _line_of(result, diagnostic), color) + "\n\n")


def backend_options(args: argparse.Namespace):
    """The engines' choices as the command line gives them (each engine reads its own)."""
    from ..backends.base import Options

    return Options(kind=args.kind, artifacts=args.artifacts, volume_claim=args.volume_claim,
                   embedded=args.embedded, kubectl_image=args.kubectl_image)


def pass_options(target: str, options, fold_defaults: bool = False):
    """The optimizer's options for compiling to `target` with the backend's `options`: what
    the user chose, and the loops the engine wants unrolled."""
    from ..backends.targets import unroll_request
    from .passes import Options as PassOptions

    return PassOptions(fold_defaults=fold_defaults, unroll=unroll_request(target, options))


def report_backend(result, diagnostics, err: TextIO) -> list:
    """Write a backend's diagnostics to `err` in file order; the sorted list, for the summary."""
    ordered = sorted(diagnostics, key=lambda d: (d.span.sort_key, d.code, d.message))
    report(result, ordered, err)
    return ordered


def origins(result) -> dict:
    """The provenance of every source file of a compiled program, for the emitted objects."""
    from ..backends.provenance import Origin

    return {path: Origin.of(path, source.text) for path, source in result.program.sources.items()}


def front_end(paths: list[str], err: TextIO):
    """The checked program of files, its diagnostics written to `err`: (result, EXIT_OK),
    or (None, the exit code) when a file cannot be read or has errors."""
    result, problem = _frontend(paths)
    if problem:
        print(f"treadle: error: {problem}", file=err)
        return None, EXIT_USAGE
    diagnostics = result.diagnostics.sorted()
    report(result, diagnostics, err)
    if result.diagnostics.has_errors:
        err.write(_summary(diagnostics, len(paths)) + "\n")
        return None, EXIT_PROBLEMS
    return result, EXIT_OK


def write_output(text: str, path: str | None, out: TextIO, err: TextIO) -> int:
    """Standard output for no path or '-', else the file, written atomically."""
    if path in (None, "-"):
        out.write(text)
        return EXIT_OK
    from ..backends.yaml_out import write_atomic

    try:
        write_atomic(path, text)
    except OSError as error:
        print(f"treadle: error: cannot write {path}: {error.strerror or error}", file=err)
        return EXIT_USAGE
    return EXIT_OK


def command_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    result, problem = _frontend(args.files, lower=False)
    if problem:
        print(f"treadle: error: {problem}", file=err)
        return EXIT_USAGE
    diagnostics = result.diagnostics.sorted()
    if args.format == "json":
        payload = {
            "files": args.files,
            "diagnostics": [d.to_json() for d in diagnostics],
            "errors": sum(1 for d in diagnostics if d.is_error),
            "warnings": sum(1 for d in diagnostics if not d.is_error),
        }
        out.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    else:
        color = _wants_color(out)
        for diagnostic in diagnostics:
            out.write(render_diagnostic(diagnostic, _line_of(result, diagnostic), color) + "\n\n")
        out.write(_summary(diagnostics, len(args.files)) + "\n")
    failed = result.diagnostics.has_errors or (args.strict and diagnostics)
    return EXIT_PROBLEMS if failed else EXIT_OK


def command_compile(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Front end, then one engine; diagnostics go to stderr, YAML to the output. Folders,
    several files or targets, and --check compile a whole repository (gitops_cli)."""
    from .gitops_cli import command_compile_tree, wants_tree

    if wants_tree(args):
        return command_compile_tree(args, out, err)
    args.file, args.target = args.files[0], args.target[0]
    from ..backends.targets import option_problem

    problem = option_problem([args.target], backend_options(args))
    if problem:
        print(f"treadle: error: {problem}", file=err)
        return EXIT_USAGE
    result, code = front_end([args.file], err)
    if result is None:
        return code
    diagnostics = result.diagnostics.sorted()
    graphs = list(result.pipelines.values())
    if args.pipeline is not None:
        graphs = [graph for name, graph in result.pipelines.items() if name == args.pipeline]
        if not graphs:
            known = ", ".join(result.pipelines) or "none"
            print(f"treadle: error: {args.file} has no pipeline '{args.pipeline}' (pipelines: {known})", file=err)
            return EXIT_USAGE
    if not graphs:
        print(f"treadle: error: {args.file} declares no pipeline to compile", file=err)
        return EXIT_USAGE

    from ..backends.targets import compile_pipelines, options_for

    from .passes import optimize

    options = options_for(args.target, backend_options(args))
    passes = pass_options(args.target, options, args.fold_defaults)
    optimized = [(graph, optimize(graph, args.optimize, passes)) for graph in graphs]
    graphs = [result.graph for _, result in optimized]
    output = compile_pipelines(graphs, args.target, options, origins(result))
    backend = report_backend(result, output.diagnostics, err)
    if args.explain:
        from .passes.explain import explain

        err.write(explain(optimized, args.optimize, len(output.text.encode("utf-8")) if output.ok else None))
    if not output.ok:
        err.write(_summary(diagnostics + backend, 1) + "\n")
        return EXIT_PROBLEMS
    return write_output(output.text, args.output, out, err)


def command_export_component(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """A component of a file as a Kubeflow Pipelines component.yaml."""
    result, code = front_end([args.file], err)
    if result is None:
        return code
    from .kfp.export import export_from_program

    exported = export_from_program(result.program, result.checked, args.name)
    if isinstance(exported, str):
        print(f"treadle: error: {exported}", file=err)
        return EXIT_USAGE
    for loss in exported.losses:
        print(f"treadle: warning: {args.name}: {loss}", file=err)
    for problem in exported.problems:
        print(f"treadle: error: {args.name}: {problem}", file=err)
    if exported.problems:
        return EXIT_PROBLEMS
    return write_output(exported.text, args.output, out, err)


def command_lsp(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .lsp.server import serve  # pygls is loaded only for the language server

    return serve()


# ---------------------------------------------------------------- argument parsing
def _targets(text: str) -> list[str]:
    """`argo`, `tekton` or `argo,tekton`: each once, in the order given."""
    from ..backends.targets import engine, target_names

    names = [name.strip() for name in text.split(",")]
    try:
        unknown = [name for name in names if engine(name) is None]
    except ImportError as missing:
        raise argparse.ArgumentTypeError(f"a target cannot load: {missing} (reinstall treadle)") from None
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown target {', '.join(map(repr, unknown))} (choose from "
                                         f"{', '.join(target_names())}, comma-separated)")
    return list(dict.fromkeys(names))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own exit code for usage errors is 2 as well
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"treadle: error: {message}\n")


class _VersionAction(argparse.Action):
    """--version: the installed version is looked up only when asked for (reading the
    package metadata costs every other command part of its start-up)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0,
                         help=help or "show program's version number and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        from .version import treadle_version

        sys.stdout.write(f"treadle {treadle_version()}\n")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    from ..backends.base import DEFAULT_KUBECTL_IMAGE

    parser = _Parser(prog="treadle", description="Compile ML pipelines written in treadle to Argo Workflows and Tekton.")
    parser.add_argument("--version", action=_VersionAction)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    check = commands.add_parser("check", help="check .treadle files and report every problem",
                                description="Check files and report every problem of every file at once.")
    check.add_argument("files", nargs="+", metavar="FILE", help=".treadle files")
    check.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    check.add_argument("--strict", action="store_true", help="treat warnings as problems (exit 1)")
    check.set_defaults(handler=command_check)

    compile_ = commands.add_parser(
        "compile", help="compile a .treadle file to engine YAML",
        description="Compile the pipelines of a file to YAML for a workflow engine. Problems go to "
                    "stderr; exit 0 when written, 1 when the file has problems, 2 on bad usage.")
    compile_.add_argument("files", nargs="+", metavar="FILE", help="a .treadle file; or several files and "
                          "folders, compiled to one folder per target under -o OUTDIR")
    compile_.add_argument("--target", required=True, type=_targets, metavar="argo|tekton[,...]",
                          help="the engine(s) to compile for, comma-separated")
    compile_.add_argument("-o", "--output", metavar="PATH", help="where to write the YAML ('-' or none: stdout); "
                          "with folders or several targets, the output folder")
    compile_.add_argument("--check", action="store_true", help="compile in memory and exit 1 if the output "
                          "folder is not up to date (stale, missing or extra files); never writes")
    compile_.add_argument("--diff", action="store_true", help="with --check: print a unified diff of the changes")
    compile_.add_argument("--pipeline", metavar="NAME", help="compile only this pipeline (default: all of the file)")
    compile_.add_argument("--kind", choices=("workflow", "workflowtemplate"), default="workflow",
                          help="Argo object to emit (default: workflow; a pipeline with a schedule "
                               "becomes a CronWorkflow, or a WorkflowTemplate and a CronWorkflow)")
    compile_.add_argument("--artifacts", choices=("repository", "volume"), default="repository",
                          help="how artifacts move between steps: the engine's artifact repository "
                               "(default) or a shared volume")
    compile_.add_argument("--volume-claim", metavar="NAME",
                          help="with --artifacts volume: an existing ReadWriteMany claim to use "
                               "(default: a claim made for each run); Tekton always passes artifacts "
                               "through a volume, so there it needs no --artifacts")
    compile_.add_argument("--embedded", action="store_true",
                          help="Tekton: emit only the PipelineRun, with the Pipeline and Tasks inside it")
    compile_.add_argument("--kubectl-image", metavar="IMAGE",
                          help="Tekton: the image (with sh and kubectl) of the steps that create MPIJobs and "
                               f"scheduled runs (default: {DEFAULT_KUBECTL_IMAGE})")
    compile_.add_argument("-O", dest="optimize", type=int, choices=(0, 1, 2), default=1, metavar="LEVEL",
                          help="optimization: -O0 none, -O1 (default) folding, dead and common step "
                               "elimination, redundant `after` removal; -O2 also runs chains of steps that "
                               "hand files to each other in one pod (see docs/optimizer.md)")
    compile_.add_argument("--fold-defaults", action="store_true",
                          help="treat pipeline parameters as their defaults in conditions (runs keep them)")
    compile_.add_argument("--explain", action="store_true",
                          help="print to stderr what each optimizer pass changed, with source places, and the size")
    compile_.set_defaults(handler=command_compile)

    from .gitops_cli import command_submit

    submit = commands.add_parser(
        "submit", help="compile a pipeline and start it on a cluster",
        description="Compile one pipeline, apply its definitions to the cluster of the current kubeconfig "
                    "(server-side apply), create its run and print the run's name. Exit 0 when submitted "
                    "(with --watch: when the run succeeded), 1 on problems or a failed run, 2 on bad usage.")
    submit.add_argument("file", metavar="FILE", help="a .treadle file")
    submit.add_argument("--target", required=True, choices=("argo", "tekton"), help="the engine on the cluster")
    submit.add_argument("--pipeline", metavar="NAME", help="the pipeline to run (needed when the file has several)")
    submit.add_argument("-n", "--namespace", metavar="NS", help="namespace (default: the kubeconfig context's)")
    submit.add_argument("--watch", action="store_true", help="show each task's state until the run ends; "
                        "exit with the run's outcome")
    submit.add_argument("--kubeconfig", metavar="PATH", help="kubeconfig file (default: KUBECONFIG or "
                        "~/.kube/config; inside a pod, its service account)")
    submit.add_argument("--context", metavar="NAME", help="kubeconfig context (default: the current one)")
    submit.set_defaults(handler=command_submit)
    export = commands.add_parser(
        "export-component", help="write a component as a Kubeflow Pipelines component.yaml",
        description="Write component NAME of FILE (declared there, or imported from a component.yaml) as a "
                    "Kubeflow Pipelines v1 component.yaml.")
    export.add_argument("file", metavar="FILE", help="a .treadle file")
    export.add_argument("name", metavar="NAME", help="the component's name in FILE")
    export.add_argument("-o", "--output", metavar="PATH", help="where to write it ('-' or none: stdout)")
    export.set_defaults(handler=command_export_component)

    lsp = commands.add_parser("lsp", help="run the language server for editors (LSP over stdin and stdout)",
                              description="Run the language server: diagnostics, hover, definitions, references, "
                                          "completion and rename for .treadle files, over stdin and stdout.")
    lsp.add_argument("--stdio", action="store_true", help="accepted for clients that pass it; stdio is the only transport")
    lsp.set_defaults(handler=command_lsp)
    local_commands.add_commands(commands)  # run, runs, graph: the local runner

    from .fmt_command import add_parser as add_fmt_parser

    add_fmt_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return args.handler(args, sys.stdout, sys.stderr)
    except KeyboardInterrupt:
        print("treadle: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as error:  # a bug: one line for the user, the traceback on request
        if os.environ.get("TREADLE_DEBUG"):
            raise
        print(f"treadle: internal error: {type(error).__name__}: {error}\n"
              "This is a bug in treadle; run again with TREADLE_DEBUG=1 for the traceback and report it.",
              file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
