"""Runs one pipeline's IR on this machine: task instances as process groups, in
dependency order, at most `parallelism` slots busy at once.

A task inside loops becomes one instance per iteration, made when the loops' items are
known (a loop over a step's output waits for that step). An instance runs when every
instance it waits for has finished: all iterations of a producer in loops the reader is
outside of (fan-in and `after` wait for all of them). What waits for a failed task is not
run (upstream-failed) while independent branches go on; what reads a skipped task's
outputs is skipped; `after` alone lets a skipped task pass, as on Argo. `finally`
instances start when everything else has finished, whatever happened.

Each attempt writes its outputs into a fresh hidden folder; they are moved to the task's
folder, and only then is the task recorded as succeeded. So a killed task or runner never
leaves a file that a later task (or a resumed run) would take for a finished output.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from ...compiler import ir
from . import plan
from .store import DONE, TERMINAL, Store, process_start, stop_leftover

GRACE_SECONDS = 3.0  # between SIGTERM and SIGKILL when a task is stopped
LOG_TAIL_LINES = 15
METRICS_MAX_BYTES = 1 << 20


@dataclass(frozen=True)
class Options:
    parallelism: int
    use_cache: bool
    cwd: str
    version: str
    cores: int


@dataclass(eq=False)
class Instance:
    task: ir.Task
    iteration: plan.Iteration
    items: tuple
    key: str
    folder: Path
    order: tuple
    status: str = "pending"
    attempts: int = 0
    outputs: dict = field(default_factory=dict)
    started: float | None = None
    ended: float | None = None
    exit_code: int | None = None
    message: str | None = None
    ranks: int | None = None
    weight: int = 1
    values: dict = field(default_factory=dict)
    input_paths: dict = field(default_factory=dict)
    cache_key: str | None = None
    process: subprocess.Popen | None = None
    pidfd: int | None = None
    deadline: float | None = None
    kill_at: float | None = None
    stop_reason: str | None = None
    staging: Path | None = None
    cached_from: str | None = None
    stdin_hold: int | None = None  # the write end of an MPI step's standard input

    @property
    def step(self) -> str:
        return self.task.id

    @property
    def label(self) -> str:
        if not self.items:
            return self.task.id
        shown = ", ".join(_short(ir.render_value(item)) for item in self.items)
        return f"{self.task.id}[{shown}]"

    @property
    def elapsed(self) -> float | None:
        if self.started is None:
            return None
        return (self.ended or time.time()) - self.started


def _short(text: str) -> str:
    return text if len(text) <= 20 else text[:17] + "..."


@dataclass(eq=False)
class LoopScope:
    """One loop at one iteration of the loops around it."""

    loop: ir.Loop
    prefix: plan.Iteration
    status: str = "pending"  # pending, expanded, skipped, upstream-failed
    items: list = field(default_factory=list)


def instance_key(step: str, iteration: plan.Iteration) -> str:
    return "/".join([step] + [str(index) for index in iteration])


class Runner:
    def __init__(self, graph: nx.DiGraph, store: Store, run_id: str, params: dict, options: Options, view,
                 previous: list[dict] | None = None) -> None:
        self.graph = graph
        self.info = ir.info(graph)
        self.store = store
        self.run_id = run_id
        self.params = params
        self.options = options
        self.view = view
        self.folder = store.run_folder(run_id)
        self.ordered = ir.tasks(graph)
        self.position = {task.id: index for index, task in enumerate(self.ordered)}
        self.previous = {row["key"]: row for row in previous or []}
        self.hashes = plan.ContentHashes()
        limit = options.parallelism
        if self.info.parallelism:
            limit = min(limit, self.info.parallelism)
        self.slots = max(1, limit)
        self.busy = 0
        self.instances: dict[tuple[str, plan.Iteration], Instance] = {}
        self.scopes: dict[tuple[str, plan.Iteration], LoopScope] = {}
        self.pending: list[Instance] = []
        self.pending_scopes: list[LoopScope] = []
        self.ready: list[Instance] = []
        self.running: list[Instance] = []
        self.phase_finally = False
        self.changed = False
        self.timed_out = False
        self.warned_ranks: set[str] = set()
        self.base_env = dict(os.environ)
        self.chains = {loop.id: self._chain(loop) for loop in self.info.loops}
        self.loop_is_finally = {loop.id: any(t.is_finally for t in self.ordered if loop.id in t.loops)
                                for loop in self.info.loops}
        self.waits_for = {task.id: self._waits_for(task) for task in self.ordered}

    # ------------------------------------------------------------ structure
    def _chain(self, loop: ir.Loop) -> tuple[str, ...]:
        chain = []
        current: ir.Loop | None = loop
        while current is not None:
            chain.append(current.id)
            current = self.info.loop(current.parent) if current.parent else None
        return tuple(reversed(chain))

    def _waits_for(self, task: ir.Task) -> list[tuple[ir.Task, int, bool]]:
        """(producer, loops shared with it, whether its outputs are read) per predecessor."""
        result = []
        for producer_id in sorted(self.graph.pred[task.id], key=self.position.__getitem__):
            producer = self.graph.nodes[producer_id]["task"]
            common = 0
            while (common < min(len(producer.loops), len(task.loops))
                   and producer.loops[common] == task.loops[common]):
                common += 1
            reads = bool(self.graph.edges[producer_id, task.id].get("reads"))
            result.append((producer, common, reads))
        return result

    # ------------------------------------------------------------ the run
    def run(self) -> str:
        """Run to the end; the run's final status (succeeded, failed or interrupted)."""
        self.started = time.time()
        self.deadline = self.started + self.info.timeout_seconds if self.info.timeout_seconds else None
        self._stop_leftovers()
        self._seed()
        previous_sigterm = signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            while True:
                self._advance()
                if not self.running:
                    if self.ready:
                        continue
                    break
                self._wait()
        except KeyboardInterrupt:
            self._interrupt()
            status = "interrupted"
        except BaseException:  # a bug: stop the steps started, record the run as failed, report it
            self._interrupt()
            self.store.set_run_status(self.run_id, "failed", time.time())
            raise
        else:
            for instance in self.pending + self.ready:  # nothing can be left over; if it is, say so
                instance.message = "never became ready to run"
                self._finish(instance, "failed")
            failed = any(i.status in ("failed", "upstream-failed") for i in self.instances.values()) \
                or any(s.status in ("failed", "upstream-failed") for s in self.scopes.values()) or self.timed_out
            status = "failed" if failed else "succeeded"
        finally:
            signal.signal(signal.SIGTERM, previous_sigterm)
        self.store.set_run_status(self.run_id, status, time.time())
        return status

    def _stop_leftovers(self) -> None:
        """Resuming: stop what the killed runner left running, and forget every row but those
        of finished steps (the rest is decided again, and a loop may now have iterations where
        it had none)."""
        for row in self.previous.values():
            if row["status"] == "running" and stop_leftover(row["pid"], row["pid_start"]):
                self.view.note(f"stopped {row['key']}, left running by the runner that was killed")
        self.store.drop_tasks(self.run_id, [key for key, row in self.previous.items() if row["status"] not in DONE])

    def _seed(self) -> None:
        for task in self.ordered:
            if not task.loops:
                self._make_instance(task, (), ())
        for loop in self.info.loops:
            if loop.parent is None:
                self._make_scope(loop, ())

    def _make_instance(self, task: ir.Task, iteration: plan.Iteration, items: tuple) -> None:
        key = instance_key(task.id, iteration)
        folder = self.folder.joinpath(task.id, *(str(index) for index in iteration))
        instance = Instance(task, iteration, items, key, folder, (self.position[task.id], iteration))
        mpi = task.settings.mpi
        if mpi is not None:
            ranks = mpi.ranks
            if ranks > self.options.cores:
                if task.id not in self.warned_ranks:
                    self.warned_ranks.add(task.id)
                    self.view.warning(f"step '{task.id}' asks for {ranks} MPI ranks; this machine has "
                                      f"{self.options.cores} cores, so it runs on {self.options.cores}")
                ranks = self.options.cores
            instance.ranks = ranks
            instance.weight = min(ranks, self.slots)
        self.instances[(task.id, iteration)] = instance
        earlier = self.previous.get(key)
        if earlier is not None:
            instance.attempts = earlier["attempts"] or 0
            if earlier["status"] in DONE and _artifacts_in(instance.folder, task):
                instance.status = earlier["status"]
                instance.outputs = earlier["outputs"]
                instance.started, instance.ended = earlier["started"], earlier["ended"]
                self.view.state(instance, "resumed")
                return
        self._record(instance)
        self.pending.append(instance)

    def _make_scope(self, loop: ir.Loop, prefix: plan.Iteration) -> None:
        scope = LoopScope(loop, prefix)
        self.scopes[(loop.id, prefix)] = scope
        self.pending_scopes.append(scope)

    # ------------------------------------------------------------ deciding
    def _advance(self) -> None:
        """Decide what can be decided and start what fits, until nothing changes (a step taken
        from the cache, or one that cannot start, finishes at once and may free others)."""
        self.changed = True
        while self.changed:
            self.changed = False
            self._decide_all()
            self.ready.sort(key=lambda instance: instance.order)
            while self.ready and self.busy + self.ready[0].weight <= self.slots:
                self._start(self.ready.pop(0))

    def _decide_all(self) -> None:
        progress = True
        while progress:
            progress = False
            for scope in list(self.pending_scopes):
                if self.loop_is_finally[scope.loop.id] and not self.phase_finally:
                    continue
                if self._try_expand(scope):
                    self.pending_scopes.remove(scope)
                    progress = True
            still = []
            for instance in self.pending:
                if instance.task.is_finally and not self.phase_finally:
                    still.append(instance)
                    continue
                decision = self._decide(instance)
                if decision is None:
                    still.append(instance)
                    continue
                progress = True
                if decision == "ready":
                    instance.status = "ready"
                    self.ready.append(instance)
                else:
                    self._finish(instance, decision)
            self.pending = still
            if not self.phase_finally and not self._main_left():
                self.phase_finally = True
                progress = True

    def _main_left(self) -> bool:
        return (any(not i.task.is_finally for i in self.pending) or any(not i.task.is_finally for i in self.ready)
                or any(not i.task.is_finally for i in self.running)
                or any(not self.loop_is_finally[s.loop.id] for s in self.pending_scopes))

    def _collect(self, producer: ir.Task, prefix: plan.Iteration) -> list[str] | None:
        """States of the producer's instances under `prefix`; None while some are not made yet."""
        depth = len(prefix)
        if depth == len(producer.loops):
            instance = self.instances.get((producer.id, prefix))
            return [instance.status] if instance is not None else None
        scope = self.scopes.get((producer.loops[depth], prefix))
        if scope is None or scope.status == "pending":
            return None
        if scope.status != "expanded":
            return [scope.status]
        states: list[str] = []
        for index in range(len(scope.items)):
            found = self._collect(producer, prefix + (index,))
            if found is None:
                return None
            states += found
        return states

    def _judge(self, states: list[str], reads: bool) -> str | None:
        """What the waiting side does about these states: None (go on), or its own state."""
        if any(state in ("failed", "upstream-failed", "interrupted") for state in states):
            return "upstream-failed"
        if reads and "skipped" in states:
            return "skipped"
        return None

    def _decide(self, instance: Instance) -> str | None:
        verdicts = set()
        for producer, common, reads in self.waits_for[instance.task.id]:
            states = self._collect(producer, instance.iteration[:common])
            if states is None or any(state not in TERMINAL for state in states):
                return None
            verdicts.add(self._judge(states, reads))
        if "upstream-failed" in verdicts:  # a failure outweighs a skip
            return "upstream-failed"
        if "skipped" in verdicts:
            return "skipped"
        if self.timed_out and not instance.task.is_finally:
            instance.message = "not started: the pipeline's timeout passed"
            return "upstream-failed"
        if instance.task.guard is not None:
            context = (instance.task.loops, instance.iteration, instance.items)
            try:
                if not plan.condition_holds(instance.task.guard, lambda b: self._value(b, context),
                                            lambda b: plan.binding_type(self.graph, b)):
                    return "skipped"
            except plan.PlanError as problem:
                instance.message = f"cannot test its condition: {problem}"
                return "failed"
        return "ready"

    def _try_expand(self, scope: LoopScope) -> bool:
        loop = scope.loop
        chain = self.chains[loop.id][:-1]
        items_around = self._items_of(chain, scope.prefix)
        context = (chain, scope.prefix, items_around)
        verdicts = set()
        for binding in [leaf for b in list(ir.condition_bindings(loop.guard)) + [loop.items]
                        for leaf in ir.binding_leaves(b)]:
            if isinstance(binding, ir.TaskOutput):
                producer = self.graph.nodes[binding.task]["task"]
                shared = len(producer.loops) - len(binding.gathered)
                states = self._collect(producer, scope.prefix[:shared])
                if states is None or any(state not in TERMINAL for state in states):
                    return False
                verdicts.add(self._judge(states, True))
        verdict = ("upstream-failed" if "upstream-failed" in verdicts
                   else "skipped" if "skipped" in verdicts else None)
        message = None
        if verdict is None and self.timed_out and not self.loop_is_finally[loop.id]:
            verdict, message = "upstream-failed", "not started: the pipeline's timeout passed"
        if verdict is None:
            try:
                value_of = lambda b: self._value(b, context)  # noqa: E731
                if loop.guard is not None and not plan.condition_holds(
                        loop.guard, value_of, lambda b: plan.binding_type(self.graph, b)):
                    verdict = "skipped"
                else:
                    items = value_of(loop.items)
                    if not isinstance(items, list):
                        raise plan.PlanError(f"the items of the loop over {loop.variable} are not a list")
                    scope.items = items
            except plan.PlanError as problem:
                verdict, message = "failed", str(problem)
                self.view.warning(f"loop over {loop.variable}: {problem}")
        if verdict is not None:
            scope.status = verdict
            self._record_scope_rows(scope, verdict, message)
            return True
        scope.status = "expanded"
        if not scope.items:
            self._record_scope_rows(scope, "skipped", f"the loop over {loop.variable} has no items")
        for index, item in enumerate(scope.items):
            iteration = scope.prefix + (index,)
            for task in self.ordered:
                if task.loops and task.loops[-1] == loop.id:
                    self._make_instance(task, iteration, items_around + (item,))
            for child in self.info.loops:
                if child.parent == loop.id:
                    self._make_scope(child, iteration)
        return True

    def _record_scope_rows(self, scope: LoopScope, status: str, message: str | None) -> None:
        """Rows for the steps of a loop that never ran, so listings show them as such."""
        for task in self.ordered:
            if scope.loop.id in task.loops:
                key = instance_key(task.id, scope.prefix)
                self.store.record_task(self.run_id, key, task.id, [], task.is_finally, status=status,
                                       message=message)
                self.view.loop_state(key, task.id, status, message)

    def _items_of(self, loops: tuple[str, ...], iteration: plan.Iteration) -> tuple:
        return tuple(self.scopes[(loop_id, iteration[:depth])].items[iteration[depth]]
                     for depth, loop_id in enumerate(loops))

    # ------------------------------------------------------------ values
    def _value(self, binding: ir.Binding, context) -> ir.Value:
        loops, iteration, items = context
        if isinstance(binding, ir.Const):
            return binding.value
        if isinstance(binding, ir.ParamRef):
            return self.params[binding.name]
        if isinstance(binding, ir.LoopItem):
            return items[loops.index(binding.loop)]
        if isinstance(binding, ir.ListOf):  # the outputs of an unrolled loop's copies
            return [self._value(item, context) for item in binding.items]
        producer = self.graph.nodes[binding.task]["task"]
        shared = len(producer.loops) - len(binding.gathered)
        return self._gather(producer, binding.output, iteration[:shared])

    def _gather(self, producer: ir.Task, output: str, prefix: plan.Iteration) -> ir.Value:
        depth = len(prefix)
        if depth == len(producer.loops):
            instance = self.instances.get((producer.id, prefix))
            if instance is None or instance.status not in DONE or output not in instance.outputs:
                raise plan.PlanError(f"step '{producer.id}' has no value for '{output}'")
            return instance.outputs[output]
        scope = self.scopes[(producer.loops[depth], prefix)]
        return [self._gather(producer, output, prefix + (index,)) for index in range(len(scope.items))]

    def _artifact_path(self, binding: ir.Binding, instance: Instance) -> str:
        if not isinstance(binding, ir.TaskOutput):
            raise plan.PlanError("an artifact input is bound to a value")
        producer = self.graph.nodes[binding.task]["task"]
        shared = len(producer.loops) - len(binding.gathered)
        source = self.instances.get((producer.id, instance.iteration[:shared]))
        if source is None or source.status not in DONE:
            raise plan.PlanError(f"step '{producer.id}' has no artifact '{binding.output}'")
        return str(source.folder / binding.output)

    # ------------------------------------------------------------ starting
    def _start(self, instance: Instance) -> None:
        task = instance.task
        context = (task.loops, instance.iteration, instance.items)
        try:
            for port in task.component.inputs:
                binding = task.argument(port.name)
                if binding is None:
                    binding = ir.Const(port.default)
                if port.type.is_artifact:
                    instance.input_paths[port.name] = self._artifact_path(binding, instance)
                else:
                    instance.values[port.name] = self._value(binding, context)
        except plan.PlanError as problem:
            instance.message = str(problem)
            self._finish(instance, "failed")
            return
        instance.folder.mkdir(parents=True, exist_ok=True)
        # A step that reads the run's id or its pod's name runs differently in every run: never from the cache.
        if self.options.use_cache and task.settings.cache and not ir.engine_variables(task.component, task.settings):
            instance.cache_key = plan.cache_key(task, instance.values, instance.input_paths, self.options.version,
                                                self.hashes)
            if self._from_cache(instance):
                return
        self.busy += instance.weight
        self.running.append(instance)
        self._launch(instance)

    def _from_cache(self, instance: Instance) -> bool:
        entry = self.store.cache_entry(instance.cache_key)
        if entry is None:
            return False
        source = Path(entry["folder"])
        if not _artifacts_in(source, instance.task):
            self.store.forget(instance.cache_key)  # its files were deleted
            return False
        if source != instance.folder:
            for port in instance.task.component.outputs:
                if port.type.is_artifact:
                    _link_or_copy(source / port.name, instance.folder / port.name)
        instance.outputs = entry["outputs"]
        instance.message = f"from run {entry['run_id']} ({entry['task_key']})"
        now = time.time()
        instance.started = instance.ended = now
        instance.cached_from = f"{entry['run_id']}/{entry['task_key']}"
        self._keep_metrics(instance)
        self._finish(instance, "cached")
        return True

    def _launch(self, instance: Instance) -> None:
        task = instance.task
        instance.attempts += 1
        attempt = instance.attempts
        staging = instance.folder / f".attempt-{attempt}"
        instance.staging = None
        if task.component.outputs:  # a step without outputs needs no folder of its own for them
            if staging.exists():
                shutil.rmtree(staging)
            staging.mkdir(parents=True)
            instance.staging = staging
        output_paths = {port.name: str(staging / port.name) for port in task.component.outputs}
        stdout, stderr = instance.folder / "stdout.log", instance.folder / "stderr.log"
        for log in (stdout, stderr):
            if log.exists() and attempt > 1:
                os.replace(log, log.with_name(f"{log.stem}.attempt{attempt - 1}.log"))
        instance.started = instance.started or time.time()
        instance.exit_code = None
        instance.stop_reason = None
        try:
            call = plan.invocation(task, instance.values, instance.input_paths, output_paths, instance.ranks,
                                   self.base_env, plan.engine_values(self.run_id, instance.key, attempt))
        except plan.PlanError as problem:
            instance.message = str(problem)
            self._release(instance)
            self._finish(instance, "failed")
            return
        # mpiexec forwards its standard input to rank 0. Given /dev/null, MPICH's Hydra now and then
        # fails a loaded start with "process reading stdin too slowly"; an open pipe that never
        # carries data gives it nothing to forward (a step has no input on a cluster either).
        stdin, instance.stdin_hold = (os.pipe() if instance.ranks else (subprocess.DEVNULL, None))
        with open(stdout, "wb") as out, open(stderr, "wb") as err:
            try:
                process = subprocess.Popen(call.argv, cwd=self.options.cwd, env=call.env, stdin=stdin,
                                           stdout=out, stderr=err, start_new_session=True)
            except OSError as error:
                self._close_stdin(instance)
                instance.message = f"cannot start '{call.program}' of component '{task.component.name}': " \
                                   f"{error.strerror or error}"
                self._release(instance)
                self._finish(instance, "failed")
                return
            finally:
                if stdin is not subprocess.DEVNULL:
                    os.close(stdin)  # the step's end of the pipe
        instance.process = process
        instance.pidfd = _pidfd(process.pid)
        timeout = task.settings.timeout_seconds
        instance.deadline = time.time() + timeout if timeout else None
        instance.kill_at = None
        instance.status = "running"
        self.store.record_task(self.run_id, instance.key, instance.step, list(instance.items), task.is_finally,
                               status="running", attempts=attempt, started=instance.started, stdout=str(stdout),
                               stderr=str(stderr), pid=process.pid, pid_start=process_start(process.pid),
                               cache_key=instance.cache_key)
        self.view.state(instance, "running" if attempt == 1 else f"retry {attempt - 1}/{task.settings.retries}")

    @staticmethod
    def _close_stdin(instance: Instance) -> None:
        if instance.stdin_hold is not None:
            os.close(instance.stdin_hold)
            instance.stdin_hold = None

    def _release(self, instance: Instance) -> None:
        self._close_stdin(instance)
        if instance in self.running:
            self.running.remove(instance)
            self.busy -= instance.weight

    # ------------------------------------------------------------ waiting
    def _wait(self) -> None:
        now = time.time()
        moments = [self.view.next_refresh(now)]
        for instance in self.running:
            moments += [m for m in (instance.deadline, instance.kill_at) if m is not None]
        if self.deadline is not None and not self.timed_out:
            moments.append(self.deadline)
        moments = [m for m in moments if m is not None]
        timeout = max(0.0, min(moments) - now) if moments else None
        fds = [instance.pidfd for instance in self.running if instance.pidfd is not None]
        if len(fds) == len(self.running):
            if fds:
                select.select(fds, [], [], timeout)
        else:  # no pidfd on this system: poll
            time.sleep(min(timeout if timeout is not None else 0.02, 0.02))
        now = time.time()
        for instance in list(self.running):
            code = instance.process.poll()
            if code is not None:
                self._exited(instance, code)
            elif instance.kill_at is not None and now >= instance.kill_at:
                _signal_group(instance.process, signal.SIGKILL)
                instance.kill_at = None
            elif instance.deadline is not None and now >= instance.deadline and instance.stop_reason is None:
                instance.stop_reason = f"timed out after {_seconds(instance.task.settings.timeout_seconds)}"
                _signal_group(instance.process, signal.SIGTERM)
                instance.kill_at = now + GRACE_SECONDS
        if self.deadline is not None and now >= self.deadline and not self.timed_out:
            self.timed_out = True
            self.view.warning(f"the pipeline's timeout ({_seconds(self.info.timeout_seconds)}) passed; "
                              "stopping its steps")
            for instance in self.running:
                if not instance.task.is_finally and instance.stop_reason is None:
                    instance.stop_reason = "stopped: the pipeline's timeout passed"
                    _signal_group(instance.process, signal.SIGTERM)
                    instance.kill_at = now + GRACE_SECONDS
        self.view.tick(self)

    def _exited(self, instance: Instance, code: int) -> None:
        self._close_stdin(instance)
        if instance.pidfd is not None:
            os.close(instance.pidfd)
            instance.pidfd = None
        instance.exit_code = code
        problem = None
        if instance.stop_reason:
            problem = instance.stop_reason
        elif code != 0:
            problem = f"exited with code {code}" if code > 0 else f"killed by signal {-code}"
        else:
            try:
                self._take_outputs(instance)
            except plan.PlanError as error:
                problem = str(error)
        if problem is None:
            self._release(instance)
            self._keep_metrics(instance)
            if instance.cache_key is not None:
                self.store.remember(instance.cache_key, self.run_id, instance.key, str(instance.folder),
                                    instance.outputs)
            instance.message = None
            self._finish(instance, "succeeded")
            return
        instance.message = problem
        if instance.staging is not None:  # what a failed attempt wrote is never an output
            shutil.rmtree(instance.staging, ignore_errors=True)
        retries = instance.task.settings.retries
        stopped_run = self.timed_out and not instance.task.is_finally
        if instance.attempts <= retries and not stopped_run:
            self.view.note(f"{instance.label}: attempt {instance.attempts} failed ({problem}); trying again")
            self._launch(instance)
            return
        self._release(instance)
        self._finish(instance, "failed")

    def _take_outputs(self, instance: Instance) -> None:
        """Check, read and publish what the attempt wrote; PlanError when something is missing."""
        staging = instance.staging
        if staging is None:
            return
        outputs = {}
        for port in instance.task.component.outputs:
            path = staging / port.name
            if not path.exists():
                raise plan.PlanError(f"finished without writing its output '{port.name}'")
            if not port.type.is_artifact:
                if path.is_dir():
                    raise plan.PlanError(f"output '{port.name}' is a folder; a value is a file")
                outputs[port.name] = plan.read_output_value(path, port.type, f"output '{port.name}'")
        for port in instance.task.component.outputs:
            final = instance.folder / port.name
            _remove(final)
            os.replace(staging / port.name, final)
        for leftover in instance.folder.glob(".attempt-*"):  # this one, and any a killed runner left
            shutil.rmtree(leftover, ignore_errors=True)
        instance.outputs = outputs

    def _keep_metrics(self, instance: Instance) -> None:
        for port in instance.task.component.outputs:
            if port.type.name != "Metrics":
                continue
            path = instance.folder / port.name
            if path.is_file() and path.stat().st_size <= METRICS_MAX_BYTES:
                try:
                    content = json.loads(path.read_text(encoding="utf-8"))
                except (ValueError, UnicodeDecodeError):
                    continue
                self.store.add_metrics(self.run_id, instance.key, port.name, str(path), content)

    def _finish(self, instance: Instance, status: str) -> None:
        instance.status = status
        self.changed = True
        if instance.started is not None and status not in ("skipped", "upstream-failed"):
            instance.ended = instance.ended if status == "cached" else time.time()
        self._record(instance)
        self.view.state(instance, status)

    def _record(self, instance: Instance) -> None:
        self.store.record_task(
            self.run_id, instance.key, instance.step, list(instance.items), instance.task.is_finally,
            status=instance.status, attempts=instance.attempts, started=instance.started, ended=instance.ended,
            exit_code=instance.exit_code, outputs=instance.outputs, message=instance.message,
            cache_key=instance.cache_key, cached_from=instance.cached_from)

    # ------------------------------------------------------------ Ctrl-C
    def _interrupt(self) -> None:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up
        try:
            for instance in self.running:
                _signal_group(instance.process, signal.SIGTERM)
            ends = time.time() + GRACE_SECONDS
            for instance in self.running:
                try:
                    instance.process.wait(max(0.0, ends - time.time()))
                except subprocess.TimeoutExpired:
                    _signal_group(instance.process, signal.SIGKILL)
                    instance.process.wait()
            for instance in list(self.running):
                instance.exit_code = instance.process.returncode
                instance.message = "interrupted"
                if instance.staging is not None:
                    shutil.rmtree(instance.staging, ignore_errors=True)
                if instance.pidfd is not None:
                    os.close(instance.pidfd)
                    instance.pidfd = None
                self._release(instance)
                self._finish(instance, "interrupted")
        finally:
            signal.signal(signal.SIGINT, previous)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _pidfd(pid: int) -> int | None:
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        return opener(pid)
    except OSError:
        return None


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)  # the task's own session: mpiexec's ranks and a shell's children too
    except OSError:
        pass


def _seconds(seconds: int | None) -> str:
    return f"{seconds}s" if seconds is not None else "?"


def _artifacts_in(folder: Path, task: ir.Task) -> bool:
    """Whether every artifact output of the step is (still) in the folder."""
    return all((folder / port.name).exists() for port in task.component.outputs if port.type.is_artifact)


def _remove(path: Path) -> None:
    """Make room for an output: a folder, a file or a link there goes (a link, not what it points to)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _link_or_copy(source: Path, target: Path) -> None:
    """An earlier run's artifact in this run's folder: hard links where the file system allows."""
    _remove(target)

    def link(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    if source.is_dir():
        shutil.copytree(source, target, copy_function=link)
    else:
        link(source, target)
