"""The local runner's commands: `treadle run`, `treadle runs` and `treadle graph`.

`add_commands` registers them on the `treadle` parser; each handler takes the parsed
arguments and the output streams, and returns the exit code (0 ok, 1 the run failed or
the file has problems, 2 bad usage, 130 interrupted)."""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import TextIO

from ...compiler.version import treadle_version

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_RUNS_DIR = os.path.join(".treadle", "runs")


def add_commands(commands) -> None:
    runs_dir_help = f"where runs are kept (default: $TREADLE_RUNS_DIR or {DEFAULT_RUNS_DIR})"

    run = commands.add_parser(
        "run", help="run a pipeline on this machine",
        description="Run a pipeline's steps on this machine as processes (MPI steps under mpiexec), record the "
                    "run, and keep its outputs in the runs folder. Exit 0 when the run succeeded, 1 when it "
                    "failed or the file has problems, 2 on bad usage, 130 when interrupted.")
    run.add_argument("file", metavar="FILE", nargs="?", help="a .treadle file (not with --resume)")
    run.add_argument("--pipeline", metavar="NAME", help="the pipeline to run (needed when the file has several)")
    run.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                     help="a pipeline parameter (repeatable); lists and dicts as JSON")
    run.add_argument("--parallelism", type=_positive, metavar="N",
                     help="at most N steps at once; an MPI step counts its ranks (default: the number of cores)")
    run.add_argument("--no-cache", action="store_true", help="run every step, reusing no earlier result")
    run.add_argument("-O", dest="optimize", type=int, choices=(0, 1, 2), metavar="LEVEL",
                     help="optimize the pipeline as `treadle compile -O LEVEL` does before running it "
                          "(default: 0, the steps as written; a resumed run keeps its own)")
    run.add_argument("--resume", metavar="RUN_ID",
                     help="finish a run that was interrupted, killed or failed, without running again "
                          "the steps that succeeded")
    run.add_argument("--runs-dir", metavar="DIR", help=runs_dir_help)
    run.set_defaults(handler=command_run)

    runs = commands.add_parser("runs", help="list, show and compare recorded runs",
                               description="List recorded runs; `runs show RUN_ID` shows one with its steps; "
                                           "`runs compare RUN_ID RUN_ID...` puts parameters, output values and "
                                           "metrics side by side, marking those that differ.")
    runs.add_argument("--json", action="store_true", help="print JSON, for scripts")
    runs.add_argument("--runs-dir", metavar="DIR", help=runs_dir_help)
    runs.set_defaults(handler=command_runs)
    actions = runs.add_subparsers(dest="runs_command", metavar="ACTION", parser_class=type(runs))
    show = actions.add_parser("show", help="one run with its steps")
    show.add_argument("run_ids", nargs=1, metavar="RUN_ID")
    compare = actions.add_parser("compare", help="parameters, values and metrics of runs side by side")
    compare.add_argument("run_ids", nargs="+", metavar="RUN_ID")
    for action in (show, compare):
        action.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
        action.add_argument("--runs-dir", metavar="DIR", default=argparse.SUPPRESS, help=runs_dir_help)
        action.set_defaults(handler=command_runs)

    graph = commands.add_parser("graph", help="draw a pipeline (dot, mermaid or svg)",
                                description="Draw a pipeline's steps and what flows between them; with --run, "
                                            "steps are coloured by their state in that run.")
    graph.add_argument("file", metavar="FILE", help="a .treadle file")
    graph.add_argument("--pipeline", metavar="NAME", help="the pipeline to draw (needed when the file has several)")
    graph.add_argument("--format", choices=("dot", "mermaid", "svg"), default="dot", help="default: dot")
    graph.add_argument("--run", metavar="RUN_ID", help="colour the steps by their state in this run")
    graph.add_argument("-o", "--output", metavar="PATH", help="where to write it (default: stdout)")
    graph.add_argument("--runs-dir", metavar="DIR", help=runs_dir_help)
    graph.set_defaults(handler=command_graph)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def runs_folder(args) -> str:
    return getattr(args, "runs_dir", None) or os.environ.get("TREADLE_RUNS_DIR") or DEFAULT_RUNS_DIR


def _usage(err: TextIO, message: str) -> int:
    print(f"treadle: error: {message}", file=err)
    return EXIT_USAGE


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


# ---------------------------------------------------------------- front end
def _load_pipeline(path: str, name: str | None, err: TextIO):
    """(graph, source hash, exit code): the checked pipeline, or an exit code after reporting."""
    import hashlib

    from ...compiler.cli import _frontend, _line_of, _summary, _wants_color, render_diagnostic

    result, problem = _frontend([path])
    if problem:
        return None, None, _usage(err, problem)
    diagnostics = result.diagnostics.sorted()
    color = _wants_color(err)
    for diagnostic in diagnostics:
        if diagnostic.is_error:
            err.write(render_diagnostic(diagnostic, _line_of(result, diagnostic), color) + "\n\n")
    if result.diagnostics.has_errors:
        err.write(_summary(diagnostics, 1) + "\n")
        return None, None, EXIT_PROBLEMS
    if name is not None:
        if name not in result.pipelines:
            known = ", ".join(result.pipelines) or "none"
            return None, None, _usage(err, f"{path} has no pipeline '{name}' (pipelines: {known})")
        graph = result.pipelines[name]
    elif len(result.pipelines) == 1:
        graph = next(iter(result.pipelines.values()))
    elif not result.pipelines:
        return None, None, _usage(err, f"{path} declares no pipeline")
    else:
        return None, None, _usage(err, f"{path} declares several pipelines ({', '.join(result.pipelines)}); "
                                       "choose one with --pipeline NAME")
    digest = hashlib.sha256()
    for text in sorted(source.text for source in result.program.sources.values()):
        digest.update(hashlib.sha256(text.encode("utf-8")).digest())
    return graph, digest.hexdigest(), EXIT_OK


# ---------------------------------------------------------------- run
def _as_run(graph, level: int):
    """The graph a run at optimization `level` runs (its picture must be built the same way)."""
    if not level:
        return graph
    from ...compiler.passes import optimize

    return optimize(graph, level).graph


def command_run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import sqlite3

    from ...compiler import ir
    from . import plan
    from .executor import Options, Runner
    from .store import Store
    from .view import View

    if args.resume and (args.file or args.param or args.pipeline or args.optimize is not None):
        return _usage(err, "--resume RUN_ID takes no FILE, --pipeline, -p or -O: the run keeps its own")
    if not args.resume and not args.file:
        return _usage(err, "give a .treadle file to run (or --resume RUN_ID)")
    store_dir = runs_folder(args)
    previous = None
    if args.resume:
        store = Store.existing(store_dir)
        record = store.run(args.resume) if store else None
        if record is None:
            return _usage(err, f"no run {args.resume} in {store_dir}")
        if record["status"] == "running":
            return _usage(err, f"run {args.resume} is still running")
        if record["status"] == "succeeded":
            print(f"treadle: run {args.resume} has succeeded already; nothing to resume", file=out)
            return EXIT_OK
        cwd = record["cwd"]
        path = os.path.join(cwd, record["file"])
        graph, source_hash, code = _load_pipeline(path, record["pipeline"], err)
        if graph is None:
            return code
        if source_hash != record["source_hash"]:
            return _usage(err, f"{path} (or a file it imports) changed since run {args.resume} started; "
                               "a resumed run must run the same pipeline: start a new run instead")
        params = record["params"]
        options = record["options"]
        level = options.get("optimize", 0)
        run_id = args.resume
        previous = store.tasks(run_id)
        store.next_sequence(run_id)
        parallelism = args.parallelism or options.get("parallelism") or _cores()
        use_cache = not args.no_cache and options.get("cache", True)
    else:
        cwd = os.getcwd()
        graph, source_hash, code = _load_pipeline(args.file, args.pipeline, err)
        if graph is None:
            return code
        given = {}
        for text in args.param:
            name, equals, value = text.partition("=")
            if not equals or not name:
                return _usage(err, f"-p takes NAME=VALUE, not {text!r}")
            given[name.strip()] = value
        params, problems = plan.pipeline_values(ir.info(graph), given)
        if problems:
            for problem in problems:
                print(f"treadle: error: {problem}", file=err)
            return EXIT_USAGE
        parallelism = args.parallelism or _cores()
        use_cache = not args.no_cache
        level = args.optimize or 0
        try:
            store = Store(store_dir)
        except (OSError, sqlite3.Error) as error:
            return _usage(err, f"cannot keep runs in {store_dir}: {error}")
        run_id = store.new_run(ir.info(graph).name, args.file, cwd, source_hash, params,
                               {"parallelism": args.parallelism, "cache": use_cache}
                               | ({"optimize": level} if level else {}))
    graph = _as_run(graph, level)
    lock = store.lock(run_id)
    if lock is None:
        return _usage(err, f"run {run_id} is being run by another treadle process")
    try:
        store.set_run_status(run_id, "running")
        view = View(out)
        view.begin(run_id, ir.info(graph).name, store.run_folder(run_id), resumed=bool(args.resume))
        runner = Runner(graph, store, run_id, params,
                        Options(parallelism=parallelism, use_cache=use_cache, cwd=cwd, version=treadle_version(),
                                cores=_cores()),
                        view, previous)
        status = runner.run()
        view.end(run_id, status, store.run_folder(run_id))
    finally:
        lock.close()
        store.close()
    return {"succeeded": EXIT_OK, "interrupted": EXIT_INTERRUPTED}.get(status, EXIT_PROBLEMS)


# ---------------------------------------------------------------- runs
def command_runs(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .store import Store

    store_dir = runs_folder(args)
    store = Store.existing(store_dir)
    as_json = getattr(args, "json", False)
    if args.runs_command in (None, "list"):
        runs = store.runs() if store else []
        if as_json:
            out.write(json.dumps({"runs_dir": store_dir, "runs": runs}, indent=2) + "\n")
        elif not runs:
            out.write(f"no runs in {store_dir}\n")
        else:
            rows = [["RUN", "PIPELINE", "STATUS", "STARTED", "TIME", "PARAMETERS"]]
            for run in runs:
                rows.append([run["id"], run["pipeline"], run["status"], _when(run["started"]),
                             _duration(run["started"], run["ended"]), _params_text(run["params"])])
            out.write(_table(rows))
        return EXIT_OK
    if store is None:
        return _usage(err, f"no runs in {store_dir}")
    records = []
    for run_id in args.run_ids:
        record = store.run(run_id)
        if record is None:
            return _usage(err, f"no run {run_id} in {store_dir}")
        record["tasks"] = store.tasks(run_id)
        record["metrics"] = store.metrics(run_id)
        record["folder"] = str(store.run_folder(run_id))
        records.append(record)
    if args.runs_command == "show":
        return _show(records[0], as_json, out)
    return _compare(records, as_json, out)


def _show(run: dict, as_json: bool, out: TextIO) -> int:
    if as_json:
        out.write(json.dumps(run, indent=2) + "\n")
        return EXIT_OK
    lines = [f"run        {run['id']}", f"pipeline   {run['pipeline']} ({run['file']})", f"status     {run['status']}",
             f"started    {_when(run['started'])}", f"time       {_duration(run['started'], run['ended'])}",
             f"parameters {_params_text(run['params']) or '-'}", f"folder     {run['folder']}", ""]
    out.write("\n".join(lines) + "\n")
    rows = [["STEP", "STATUS", "ATTEMPTS", "TIME", "EXIT", "OUTPUTS / MESSAGE"]]
    for task in run["tasks"]:
        detail = ", ".join(f"{name}={_brief(value)}" for name, value in task["outputs"].items())
        if task["message"]:
            detail = (detail + "; " if detail else "") + task["message"]
        key = task["key"] + (f" [{', '.join(_brief(i) for i in task['items'])}]" if task["items"] else "")
        rows.append([key + (" (finally)" if task["is_finally"] else ""), task["status"], str(task["attempts"] or "-"),
                     _duration(task["started"], task["ended"]) if task["started"] else "-",
                     "-" if task["exit_code"] is None else str(task["exit_code"]), detail])
    out.write(_table(rows))
    failed = [task for task in run["tasks"] if task["status"] == "failed" and task["stderr"]]
    for task in failed:
        out.write(f"\nlogs of {task['key']}: {task['stderr']}, {task['stdout']}\n")
    if run["metrics"]:
        out.write("\nmetrics\n")
        for entry in run["metrics"]:
            for name, value in _flatten(entry["content"]):
                out.write(f"  {entry['key']}.{entry['output']}{name} = {_brief(value)}\n")
    return EXIT_OK


def _compare(runs: list[dict], as_json: bool, out: TextIO) -> int:
    table: dict[tuple[str, str], list] = {}

    def put(kind: str, name: str, index: int, value) -> None:
        table.setdefault((kind, name), [None] * len(runs))[index] = value

    for index, run in enumerate(runs):
        for name, value in run["params"].items():
            put("parameter", name, index, value)
        for task in run["tasks"]:
            for name, value in task["outputs"].items():
                put("value", f"{task['key']}.{name}", index, value)
        for entry in run["metrics"]:
            for name, value in _flatten(entry["content"]):
                put("metric", f"{entry['key']}.{entry['output']}{name}", index, value)
    kinds = {"parameter": 0, "metric": 1, "value": 2}
    rows = []
    for (kind, name), values in sorted(table.items(), key=lambda item: (kinds[item[0][0]], item[0][1])):
        texts = [json.dumps(value, sort_keys=True) for value in values]
        rows.append({"kind": kind, "name": name, "values": values, "differs": len(set(texts)) > 1})
    if as_json:
        out.write(json.dumps({"runs": [{"id": run["id"], "pipeline": run["pipeline"], "status": run["status"]}
                                       for run in runs], "rows": rows}, indent=2) + "\n")
        return EXIT_OK
    lines = [["", "KIND", "NAME"] + [run["id"] for run in runs],
             ["", "", "pipeline / status"] + [f"{run['pipeline']} / {run['status']}" for run in runs]]
    for row in rows:
        lines.append(["*" if row["differs"] else "", row["kind"], row["name"]]
                     + ["-" if value is None else _brief(value) for value in row["values"]])
    out.write(_table(lines))
    differing = sum(1 for row in rows if row["differs"])
    out.write(f"\n{differing} of {len(rows)} rows differ (marked *)\n")
    return EXIT_OK


def _flatten(content, prefix: str = ""):
    """(".key.sub", scalar) pairs of a metrics document; short lists as one value."""
    if isinstance(content, dict):
        for key in sorted(content):
            yield from _flatten(content[key], f"{prefix}.{key}")
    elif isinstance(content, list):
        text = json.dumps(content)
        if len(text) <= 80:
            yield prefix, content
    else:
        yield prefix, content


# ---------------------------------------------------------------- graph
def command_graph(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from . import graph as pictures
    from .store import Store

    graph, _, code = _load_pipeline(args.file, args.pipeline, err)
    if graph is None:
        return code
    states = None
    if args.run:
        store_dir = runs_folder(args)
        store = Store.existing(store_dir)
        record = store.run(args.run) if store else None
        if record is None:
            return _usage(err, f"no run {args.run} in {store_dir}")
        from ...compiler import ir

        if record["pipeline"] != ir.info(graph).name:
            return _usage(err, f"run {args.run} is of pipeline '{record['pipeline']}', not '{ir.info(graph).name}'")
        held = {}  # a fused step (-O2 run) -> the steps as written that it ran: each gets its state
        level = record["options"].get("optimize", 0)
        if level:
            held = {task.id: [step.id for step in task.fused] for task in ir.tasks(_as_run(graph, level))
                    if task.fused}
        states = {}
        for task in store.tasks(args.run):
            for step in held.get(task["step"], [task["step"]]):
                states.setdefault(step, []).append(task["status"])
    try:
        text = pictures.RENDERERS[args.format](graph, states)
    except pictures.GraphvizMissing:
        return _usage(err, "--format svg needs Graphviz's `dot` program, which is not installed here "
                           "(install the graphviz package); --format dot or --format mermaid give the "
                           "picture as text")
    except RuntimeError as problem:
        print(f"treadle: error: {problem}", file=err)
        return EXIT_PROBLEMS
    if args.output in (None, "-"):
        out.write(text)
        return EXIT_OK
    from ..yaml_out import write_atomic

    try:
        write_atomic(args.output, text)
    except OSError as error:
        return _usage(err, f"cannot write {args.output}: {error.strerror or error}")
    return EXIT_OK


# ---------------------------------------------------------------- text helpers
def _when(moment: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(moment)) if moment else "-"


def _duration(start: float | None, end: float | None) -> str:
    if start is None:
        return "-"
    seconds = (end or time.time()) - start
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{seconds:02d}s" if hours else f"{minutes}m{seconds:02d}s"


def _brief(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _params_text(params: dict) -> str:
    return " ".join(f"{name}={_brief(value)}" for name, value in params.items())


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() + "\n" for row in rows)
