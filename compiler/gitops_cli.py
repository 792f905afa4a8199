"""`treadle compile` on a repository (folders, several targets, `--check`), the command
line side of `backends.gitops`: reading the arguments, rendering what went wrong."""

from __future__ import annotations

import argparse
from typing import TextIO

from . import cli


def wants_tree(args: argparse.Namespace) -> bool:
    """The repository form: anything but one file compiled for one target without --check."""
    import os

    return (len(args.files) > 1 or len(args.target) > 1 or args.check or args.diff
            or any(os.path.isdir(path) for path in args.files))


def _options(args: argparse.Namespace):
    """Each target's options: the flags it reads."""
    from ..backends.targets import options_for

    chosen = cli.backend_options(args)
    return {target: options_for(target, chosen) for target in args.target}


def _usage_problem(args: argparse.Namespace) -> str | None:
    if args.output in (None, "-"):
        return "folders, several files or targets, and --check need -o OUTDIR, the folder the YAML goes to"
    if args.diff and not args.check:
        return "--diff goes with --check"
    if args.pipeline is not None:
        return "--pipeline selects from one file; with folders every pipeline is compiled"
    from ..backends.targets import option_problem

    return option_problem(args.target, cli.backend_options(args))


def command_compile_tree(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..backends import gitops

    problem = _usage_problem(args)
    if problem:
        print(f"treadle: error: {problem}", file=err)
        return cli.EXIT_USAGE
    files, problems = gitops.find_sources(args.files)
    if problems:
        for problem in problems:
            print(f"treadle: error: {problem}", file=err)
        return cli.EXIT_USAGE
    result, code = cli.front_end(files, err)
    if result is None:
        return code
    diagnostics = result.diagnostics.sorted()

    graphs = [graph for checked in result.checked.pipelines
              for graph in [_lowered(result, checked)] if graph is not None]
    from .passes import optimize

    options = _options(args)
    passes = {target: cli.pass_options(target, options[target], args.fold_defaults) for target in args.target}

    def optimized(graph, target: str):
        return optimize(graph, args.optimize, passes[target]).graph

    sources = {path: source.text for path, source in result.program.sources.items()}
    tree = gitops.compile_tree(graphs, sources, args.target, options, prepare=optimized)
    backend = cli.report_backend(result, tree.diagnostics, err)
    for problem in tree.problems:
        print(f"treadle: error: {problem}", file=err)
    if not tree.ok:
        if backend:
            err.write(cli._summary(diagnostics + backend, len(files)) + "\n")
        return cli.EXIT_PROBLEMS

    if args.check:
        comparison = gitops.compare(args.output, tree)
        if args.diff:
            out.write(gitops.unified_diff(args.output, tree, comparison))
        shown = args.output.rstrip("/\\")
        for kind, paths in (("stale", comparison.stale), ("missing", comparison.missing),
                            ("extra", comparison.extra)):
            for path in paths:
                print(f"{kind}: {shown}/{path}", file=err)
        count = len(comparison.stale) + len(comparison.missing) + len(comparison.extra)
        if count:
            print(f"{count} file{'s' if count != 1 else ''} out of date in {shown}; compile without --check to "
                  "update them", file=err)
            return cli.EXIT_PROBLEMS
        print(f"{len(tree.files)} files up to date in {shown}", file=err)
        return cli.EXIT_OK
    try:
        gitops.write_tree(args.output, tree)
    except OSError as error:
        print(f"treadle: error: cannot write to {args.output}: {error.strerror or error}", file=err)
        return cli.EXIT_USAGE
    return cli.EXIT_OK


def _lowered(result, checked):
    """The IR of a checked pipeline of an entry file (the front end keeps the first of two
    with one name; the tree reports such a clash itself, so both are lowered here)."""
    graph = result.pipelines.get(checked.name)
    if graph is not None and graph.graph["info"].span == checked.node.span:
        return graph
    from .lower import lower_pipeline

    return lower_pipeline(checked)


# ---------------------------------------------------------------- treadle submit
def command_submit(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Compile one pipeline in memory, apply its definitions, create its run, and with
    --watch follow the run to its end (exit 0 succeeded, 1 failed)."""
    from ..backends.base import Options
    from ..backends.cluster import Cluster, ClusterError, connect, follow, submit
    from ..backends.targets import compile_pipelines

    result, code = cli.front_end([args.file], err)
    if result is None:
        return code
    diagnostics = result.diagnostics.sorted()
    names = list(result.pipelines)
    if args.pipeline is None and len(names) != 1:
        print(f"treadle: error: {args.file} has {len(names)} pipelines ({', '.join(names) or 'none'}); "
              "choose one with --pipeline NAME", file=err)
        return cli.EXIT_USAGE
    name = args.pipeline if args.pipeline is not None else names[0]
    if name not in result.pipelines:
        print(f"treadle: error: {args.file} has no pipeline '{name}' (pipelines: {', '.join(names)})", file=err)
        return cli.EXIT_USAGE
    from .passes import optimize

    options = Options()
    # The default level, as `treadle compile`.
    graph = optimize(result.pipelines[name], options=cli.pass_options(args.target, options)).graph
    output = compile_pipelines([graph], args.target, options, cli.origins(result))
    backend = cli.report_backend(result, output.diagnostics, err)
    if not output.ok:
        err.write(cli._summary(diagnostics + backend, 1) + "\n")
        return cli.EXIT_PROBLEMS

    try:
        api_client, namespace = connect(args.kubeconfig, args.context)
        namespace = args.namespace or namespace
        cluster = Cluster(api_client, args.target)
        submitted = submit(cluster, output.documents, namespace)
        for kind, applied in submitted.applied:
            print(f"applied {kind} {applied}", file=err)
        if submitted.run is None:
            print(f"treadle: pipeline '{name}' has a schedule: its definitions are applied and the engine "
                  "starts the runs", file=err)
            return cli.EXIT_OK
        kind, run_name = submitted.run
        print(f"created {kind} {run_name} in namespace {namespace}", file=err)
        out.write(run_name + "\n")
        out.flush()
        if not args.watch:
            return cli.EXIT_OK
        succeeded, message = follow(cluster, submitted.run, namespace,
                                    lambda task, state: print(f"{task}: {state}", file=out, flush=True))
    except ClusterError as error:
        print(f"treadle: error: {error.message}", file=err)
        if error.hint:
            print(f"  = hint: {error.hint}", file=err)
        return cli.EXIT_PROBLEMS
    print(f"{kind} {run_name} {'succeeded' if succeeded else 'failed'}" + (f": {message}" if message else ""),
          file=out)
    return cli.EXIT_OK if succeeded else cli.EXIT_PROBLEMS
