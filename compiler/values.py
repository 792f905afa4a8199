"""Checks of the small value languages inside settings: durations, Kubernetes quantities, cron.

Each function returns a normalized value or a message saying what is wrong (never raises).
"""

from __future__ import annotations

import math
import re

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(text: str) -> tuple[int | None, str | None]:
    """A Go-style duration ("90s", "10m", "1h30m", "1.5h") -> whole seconds, rounded up."""
    if not text:
        return None, "a duration cannot be empty"
    position = 0
    total = 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if position != len(text):
        return None, f"'{text}' is not a duration"
    if total <= 0:
        return None, f"'{text}' is not a positive duration"
    return math.ceil(total), None


# Kubernetes resource.Quantity, as the API server accepts it.
_QUANTITY = re.compile(
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)


def parse_quantity(value) -> tuple[str | None, str | None]:
    """A Kubernetes quantity ("500m", "4Gi", 2) -> its canonical text as written."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None, "a quantity is a number or a string like \"500m\" or \"4Gi\""
    text = str(value) if not isinstance(value, float) else repr(value)
    if not _QUANTITY.match(text):
        return None, f"'{text}' is not a Kubernetes quantity"
    if text.startswith("-"):
        return None, f"'{text}' is negative"
    return text, None


_CRON_FIELDS = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {name: i + 1 for i, name in enumerate(
        "jan feb mar apr may jun jul aug sep oct nov dec".split())}),
    ("day of week", 0, 7, {name: i for i, name in enumerate("sun mon tue wed thu fri sat".split())}),
)
_CRON_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}


def _cron_number(text: str, low: int, high: int, names: dict, field: str) -> str | None:
    value = names.get(text.lower()) if not text.isdigit() else int(text)
    if value is None:
        return f"'{text}' is not a valid {field}"
    if not low <= value <= high:
        return f"{field} {value} is outside {low}-{high}"
    return None


def _cron_field(text: str, field: str, low: int, high: int, names: dict) -> str | None:
    for part in text.split(","):
        range_part, _, step = part.partition("/")
        if step and (not step.isdigit() or int(step) == 0):
            return f"step '{step}' in the {field} field is not a positive number"
        if range_part in ("*", "?"):
            continue
        start, dash, end = range_part.partition("-")
        for bound in (start, end) if dash else (start,):
            problem = _cron_number(bound, low, high, names, field)
            if problem:
                return problem
    return None


def check_cron(text: str) -> str | None:
    """None when `text` is a standard 5-field cron schedule (or a macro like @daily)."""
    stripped = text.strip()
    if stripped in _CRON_MACROS or stripped.startswith("@every "):
        if stripped.startswith("@every "):
            _, problem = parse_duration(stripped[len("@every "):])
            return problem
        return None
    fields = stripped.split()
    if len(fields) != 5:
        return f"a cron schedule has 5 fields (minute hour day-of-month month day-of-week), this one has {len(fields)}"
    for value, (field, low, high, names) in zip(fields, _CRON_FIELDS):
        problem = _cron_field(value, field, low, high, names)
        if problem:
            return problem
    return None
