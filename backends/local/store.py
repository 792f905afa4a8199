"""Run records: one SQLite database in the runs folder, written as things happen.

Every state change of a run or a task is its own committed statement (WAL journal), so a
runner killed with `kill -9` leaves a record that says exactly which tasks had succeeded,
and `treadle run --resume` can trust it. Readers (`treadle runs`) see a running run's
progress. A run's folder holds a lock that its runner keeps while it lives: a run marked
running whose lock is free has lost its runner.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import sqlite3
import time
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    pipeline TEXT NOT NULL,
    file TEXT NOT NULL,
    cwd TEXT NOT NULL,
    source_hash TEXT NOT NULL,
    params TEXT NOT NULL,
    options TEXT NOT NULL,
    status TEXT NOT NULL,
    started REAL NOT NULL,
    ended REAL
);
CREATE TABLE IF NOT EXISTS tasks (
    run_id TEXT NOT NULL,
    key TEXT NOT NULL,
    step TEXT NOT NULL,
    items TEXT NOT NULL,
    is_finally INTEGER NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    started REAL,
    ended REAL,
    exit_code INTEGER,
    stdout TEXT,
    stderr TEXT,
    outputs TEXT,
    message TEXT,
    cache_key TEXT,
    cached_from TEXT,
    pid INTEGER,
    pid_start TEXT,
    seq INTEGER NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL,
    key TEXT NOT NULL,
    output TEXT NOT NULL,
    path TEXT NOT NULL,
    content TEXT NOT NULL,
    PRIMARY KEY (run_id, key, output)
);
CREATE TABLE IF NOT EXISTS cache (
    key TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    task_key TEXT NOT NULL,
    folder TEXT NOT NULL,
    outputs TEXT NOT NULL,
    created REAL NOT NULL
);
"""

DATABASE = "runs.db"
TERMINAL = frozenset({"succeeded", "cached", "failed", "skipped", "upstream-failed", "interrupted"})
DONE = frozenset({"succeeded", "cached"})  # states whose outputs exist


class Store:
    def __init__(self, runs_dir: str | Path) -> None:
        self.runs_dir = Path(runs_dir)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.connection = sqlite3.connect(self.runs_dir / DATABASE, timeout=60, isolation_level=None,
                                          check_same_thread=False)
        self.connection.row_factory = sqlite3.Row
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=NORMAL")  # durable across a killed process
        self.connection.executescript(SCHEMA)
        self._seq = 0

    @classmethod
    def existing(cls, runs_dir: str | Path) -> "Store | None":
        """The store of a runs folder that has one; None (nothing created) otherwise."""
        if not (Path(runs_dir) / DATABASE).is_file():
            return None
        return cls(runs_dir)

    def close(self) -> None:
        self.connection.close()

    # ------------------------------------------------------------ runs
    def new_run(self, pipeline: str, file: str, cwd: str, source_hash: str, params: dict, options: dict) -> str:
        while True:
            run_id = time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)
            try:
                self.connection.execute(
                    "INSERT INTO runs (id, pipeline, file, cwd, source_hash, params, options, status, started)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?)",
                    (run_id, pipeline, file, cwd, source_hash, json.dumps(params), json.dumps(options), time.time()))
                return run_id
            except sqlite3.IntegrityError:
                continue

    def run_folder(self, run_id: str) -> Path:
        return self.runs_dir / run_id

    def set_run_status(self, run_id: str, status: str, ended: float | None = None) -> None:
        self.connection.execute("UPDATE runs SET status = ?, ended = ? WHERE id = ?", (status, ended, run_id))

    def run(self, run_id: str) -> dict | None:
        row = self.connection.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return self._run_dict(row) if row else None

    def runs(self) -> list[dict]:
        rows = self.connection.execute("SELECT * FROM runs ORDER BY started, id").fetchall()
        return [self._run_dict(row) for row in rows]

    def _run_dict(self, row: sqlite3.Row) -> dict:
        run = dict(row)
        run["params"] = json.loads(run["params"])
        run["options"] = json.loads(run["options"])
        if run["status"] == "running" and not self.runner_alive(run["id"]):
            run["status"] = "stopped"  # its runner died (kill -9, a crash): resume it
        return run

    # ------------------------------------------------------------ the runner's lock
    def lock(self, run_id: str):
        """Hold the run's lock for this process's lifetime; None when another runner has it."""
        folder = self.run_folder(run_id)
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / ".runner.lock", "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return None
        return handle

    def runner_alive(self, run_id: str) -> bool:
        path = self.run_folder(run_id) / ".runner.lock"
        if not path.exists():
            return False
        with open(path, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
        return False

    # ------------------------------------------------------------ tasks
    def record_task(self, run_id: str, key: str, step: str, items: list, is_finally: bool, **fields) -> None:
        """Insert or update one task instance; `outputs` is stored as JSON."""
        if "outputs" in fields and fields["outputs"] is not None:
            fields["outputs"] = json.dumps(fields["outputs"])
        self._seq += 1
        columns = ["run_id", "key", "step", "items", "is_finally", "seq"] + list(fields)
        values = [run_id, key, step, json.dumps(items), int(is_finally), self._seq] + list(fields.values())
        updates = ", ".join(f"{name} = excluded.{name}" for name in fields) or "step = excluded.step"
        self.connection.execute(
            f"INSERT INTO tasks ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT (run_id, key) DO UPDATE SET {updates}", values)

    def tasks(self, run_id: str) -> list[dict]:
        rows = self.connection.execute("SELECT * FROM tasks WHERE run_id = ? ORDER BY is_finally, started IS NULL, started, seq",
                                       (run_id,)).fetchall()
        result = []
        for row in rows:
            task = dict(row)
            task["items"] = json.loads(task["items"])
            task["outputs"] = json.loads(task["outputs"]) if task["outputs"] else {}
            result.append(task)
        return result

    def drop_tasks(self, run_id: str, keys: list[str]) -> None:
        """Forget task rows that a resumed run decides again (they may not come back as they were)."""
        self.connection.executemany("DELETE FROM tasks WHERE run_id = ? AND key = ?", [(run_id, key) for key in keys])

    def next_sequence(self, run_id: str) -> None:
        """Continue numbering after the tasks a run has recorded (when resuming it)."""
        row = self.connection.execute("SELECT MAX(seq) FROM tasks WHERE run_id = ?", (run_id,)).fetchone()
        self._seq = max(self._seq, row[0] or 0)

    # ------------------------------------------------------------ metrics
    def add_metrics(self, run_id: str, key: str, output: str, path: str, content: object) -> None:
        self.connection.execute(
            "INSERT OR REPLACE INTO metrics (run_id, key, output, path, content) VALUES (?, ?, ?, ?, ?)",
            (run_id, key, output, path, json.dumps(content)))

    def metrics(self, run_id: str) -> list[dict]:
        rows = self.connection.execute("SELECT * FROM metrics WHERE run_id = ? ORDER BY key, output",
                                       (run_id,)).fetchall()
        return [dict(row, content=json.loads(row["content"])) for row in rows]

    # ------------------------------------------------------------ cache
    def cache_entry(self, key: str) -> dict | None:
        row = self.connection.execute("SELECT * FROM cache WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return dict(row, outputs=json.loads(row["outputs"]))

    def remember(self, key: str, run_id: str, task_key: str, folder: str, outputs: dict) -> None:
        self.connection.execute(
            "INSERT OR REPLACE INTO cache (key, run_id, task_key, folder, outputs, created) VALUES (?, ?, ?, ?, ?, ?)",
            (key, run_id, task_key, folder, json.dumps(outputs), time.time()))

    def forget(self, key: str) -> None:
        self.connection.execute("DELETE FROM cache WHERE key = ?", (key,))


def process_start(pid: int) -> str | None:
    """The start time of a process (from /proc), to tell it from a later one with its pid."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def stop_leftover(pid: int | None, started: str | None) -> bool:
    """Stop the process group of a task that a killed runner left running; True if it did."""
    import signal

    if not pid or started is None or process_start(pid) != started:
        return False
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        return False
    return True
