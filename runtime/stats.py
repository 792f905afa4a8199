"""Per-phase CPU time, wall time and peak memory of one rank, for `--stats`.

A component marks its phases (`with phase("read"): ...`); without `--stats` a phase costs
one dictionary lookup. Under `--stats` each phase records its CPU time (user + system, which
other processes' load does not inflate), its wall time, and the peak RSS reached during the
phase: the kernel's high-water mark is reset at each phase start (Linux `clear_refs`), and
the process-wide peak is kept as the largest of the phases' peaks. Time spent inside
collectives (waiting for other ranks included) is summed separately as `collectives`.
"""

from __future__ import annotations

import resource
import time
from contextlib import contextmanager

_phases: dict[str, dict[str, float]] | None = None
_open: list[dict[str, float]] = []  # records of the phases under way, outermost first
_peak_outside_phases = 0.0
_collective_seconds = 0.0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _status_mib(field: str) -> float | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def current_rss_mib() -> float:
    value = _status_mib("VmRSS:")
    return value if value is not None else peak_rss_mib()


def peak_rss_mib() -> float:
    """The process's peak RSS so far, phases' resets of the high-water mark included."""
    current_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    hwm = _status_mib("VmHWM:")
    if _phases is None or hwm is None:
        return current_peak
    return max([hwm, _peak_outside_phases] + [record["peak_rss_mib"] for record in _phases.values()])


def _restart_high_water_mark() -> None:
    """Credit the peak so far to every phase under way (or to no phase), then reset it."""
    global _peak_outside_phases
    hwm = _status_mib("VmHWM:")
    if hwm is None:
        return
    for record in _open:
        record["peak_rss_mib"] = max(record["peak_rss_mib"], hwm)
    if not _open:
        _peak_outside_phases = max(_peak_outside_phases, hwm)
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:  # not resettable: every phase is credited with the process's peak
        pass


def start() -> None:
    """Begin recording phases (called once, when `--stats` is given)."""
    global _phases, _peak_outside_phases
    _peak_outside_phases = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    _phases = {}


def stop() -> None:
    """End recording: later phases cost nothing again."""
    global _phases
    _phases = None
    _open.clear()


@contextmanager
def phase(name: str):
    """Account the enclosed work to `name` (repeated phases of one name add up; phases may nest)."""
    if _phases is None:
        yield
        return
    record = _phases.setdefault(name, {"cpu": 0.0, "seconds": 0.0, "collectives": 0.0, "peak_rss_mib": 0.0})
    _restart_high_water_mark()
    _open.append(record)
    cpu, wall, collectives = cpu_seconds(), time.perf_counter(), _collective_seconds
    try:
        yield
    finally:
        _restart_high_water_mark()
        _open.pop()  # phases close in the reverse order they opened
        record["cpu"] += cpu_seconds() - cpu
        record["seconds"] += time.perf_counter() - wall
        record["collectives"] += _collective_seconds - collectives


def add_collective_time(seconds: float) -> None:
    global _collective_seconds
    _collective_seconds += seconds


def report() -> dict:
    return dict(_phases or {})
