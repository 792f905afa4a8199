"""Progress of a run: one line per event, and on a terminal a live block at the bottom
with the running tasks and their elapsed time, redrawn a few times a second."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TextIO

REFRESH_SECONDS = 0.25
TAIL_LINES = 15
_COLORS = {"succeeded": "32", "cached": "36", "failed": "31", "upstream-failed": "33", "skipped": "2",
           "interrupted": "35", "running": "1", "resumed": "36"}


class View:
    def __init__(self, stream: TextIO, live: bool | None = None, color: bool | None = None) -> None:
        self.stream = stream
        tty = hasattr(stream, "isatty") and stream.isatty()
        self.live = tty if live is None else live
        self.color = (tty and "NO_COLOR" not in os.environ) if color is None else color
        self.block_lines = 0
        self.last_draw = 0.0
        self.started = time.time()
        self.counts: dict[str, int] = {}

    # ------------------------------------------------------------ text
    def _paint(self, text: str, state: str) -> str:
        code = _COLORS.get(state)
        return f"\x1b[{code}m{text}\x1b[0m" if self.color and code else text

    def _write(self, text: str) -> None:
        self._clear_block()
        self.stream.write(text + "\n")
        self.stream.flush()

    def _clear_block(self) -> None:
        if self.block_lines:
            self.stream.write(f"\x1b[{self.block_lines}F\x1b[J")
            self.block_lines = 0

    # ------------------------------------------------------------ events
    def begin(self, run_id: str, pipeline: str, folder: Path, resumed: bool = False) -> None:
        self.started = time.time()
        verb = "resuming" if resumed else "run"
        self._write(f"treadle: {verb} {run_id} of pipeline {pipeline} (folder {folder})")

    def note(self, text: str) -> None:
        self._write(f"  {text}")

    def warning(self, text: str) -> None:
        self._write(self._paint(f"  warning: {text}", "upstream-failed"))

    def state(self, instance, state: str) -> None:
        if state in ("pending", "ready"):
            return
        counted = "succeeded" if state == "resumed" else state
        if counted in ("succeeded", "cached", "failed", "skipped", "upstream-failed", "interrupted"):
            self.counts[counted] = self.counts.get(counted, 0) + 1
        if state == "running" and self.live:
            return  # the live block shows it
        elapsed = instance.elapsed
        detail = []
        if state in ("succeeded", "failed") and elapsed is not None:
            detail.append(f"{elapsed:.1f}s")
        if instance.message and state != "running":
            detail.append(instance.message)
        if state == "resumed":
            detail.append("succeeded before")
        suffix = f"  ({'; '.join(detail)})" if detail else ""
        self._write(f"  {self._paint(f'{state:<15}', state)} {instance.label}{suffix}")
        if state == "failed":
            self._tail(instance.folder)

    def loop_state(self, key: str, step: str, state: str, message: str | None) -> None:
        self.counts[state] = self.counts.get(state, 0) + 1
        suffix = f"  ({message})" if message else ""
        self._write(f"  {self._paint(f'{state:<15}', state)} {key}{suffix}")

    def _tail(self, folder: Path) -> None:
        for name in ("stderr.log", "stdout.log"):
            path = folder / name
            if not path.is_file() or path.stat().st_size == 0:
                continue
            with open(path, "rb") as stream:
                stream.seek(max(0, path.stat().st_size - 16384))
                lines = stream.read().decode("utf-8", "replace").splitlines()[-TAIL_LINES:]
            self._write(f"      last lines of {path}:")
            for line in lines:
                self._write(f"      | {line}")
            return

    # ------------------------------------------------------------ the live block
    def next_refresh(self, now: float) -> float | None:
        return self.last_draw + REFRESH_SECONDS if self.live else None

    def tick(self, runner) -> None:
        if not self.live:
            return
        now = time.time()
        if now - self.last_draw < REFRESH_SECONDS:
            return
        self.last_draw = now
        self._clear_block()
        running = sorted(runner.running, key=lambda instance: instance.order)
        width = _columns()
        lines = []
        for instance in running[:12]:
            elapsed = instance.elapsed or 0.0
            ranks = f"  {instance.ranks} ranks" if instance.ranks else ""
            text = _fit(f"  running         {instance.label}  {elapsed:.1f}s{ranks}", width)
            lines.append(text.replace("running", self._paint("running", "running"), 1))
        if len(running) > 12:
            lines.append(f"  ... and {len(running) - 12} more running")
        waiting = len(runner.pending) + len(runner.ready)
        done = sum(self.counts.values())
        lines.append(f"  {done} finished, {len(running)} running, {waiting} waiting, {now - self.started:.1f}s")
        self.stream.write("\n".join(lines) + "\n")
        self.stream.flush()
        self.block_lines = len(lines)

    def end(self, run_id: str, status: str, folder: Path) -> None:
        self._clear_block()
        parts = [f"{count} {state}" for state, count in sorted(self.counts.items())]
        summary = ", ".join(parts) or "no steps"
        elapsed = time.time() - self.started
        self._write(f"treadle: run {run_id} {self._paint(status, status)}: {summary} ({elapsed:.1f}s)")
        if status != "succeeded":
            self._write(f"  logs and outputs: {folder}; details: treadle runs show {run_id}")


def _columns() -> int:
    try:
        columns = os.get_terminal_size().columns
    except OSError:
        columns = 0
    return columns if columns >= 40 else 100


def _fit(text: str, width: int) -> str:
    """One line of the live block, cut to the terminal's width (a wrapped line would break
    the redraw, which moves up by lines)."""
    return text if len(text) < width else text[: width - 4] + "..."
