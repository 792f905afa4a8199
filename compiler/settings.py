"""The settings a component, a step's `with { ... }` and a pipeline may give, checked and
turned into IR values. One table says which keys exist and where; unknown keys, wrong
types and out-of-range values are diagnostics."""

from __future__ import annotations

from dataclasses import replace
from difflib import get_close_matches
from typing import Callable

from . import ast, ir
from .diagnostics import Diagnostics
from .values import check_cron, parse_duration, parse_quantity

# value of a constant expression, or None after reporting why it is not one
Constant = Callable[[ast.Expr], object]
# an env value: a constant, a secret() call, or (in components) an input name
EnvValue = Callable[[ast.Expr], object]

COMPONENT_KEYS = ("image", "command", "args", "description", "mpi", "resources", "retries", "timeout", "env",
                  "node_selector", "tolerations", "volumes", "cache", "deterministic", "security",
                  "image_pull_policy", "side_effects")
DEFINITION_ONLY_KEYS = ("image", "command", "args", "description")
OVERRIDE_KEYS = tuple(key for key in COMPONENT_KEYS if key not in DEFINITION_ONLY_KEYS)
PIPELINE_KEYS = ("schedule", "timezone", "parallelism", "timeout", "service_account")
BLOCK_KEYS = {"mpi", "resources", "env", "node_selector", "security"}

MPI_KEYS = ("ranks", "slots_per_worker", "implementation")
MPI_IMPLEMENTATIONS = ("MPICH", "OpenMPI", "Intel")
RESOURCE_KEYS = ("cpu", "memory", "cpu_limit", "memory_limit", "gpu")
SECURITY_KEYS = ("run_as_non_root", "run_as_user", "allow_privilege_escalation", "read_only_root_filesystem")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
TOLERATION_KEYS = ("key", "operator", "value", "effect", "toleration_seconds")
TOLERATION_OPERATORS = ("Equal", "Exists")
TOLERATION_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
VOLUME_KEYS = ("name", "mount", "claim", "config_map", "secret", "empty_dir", "read_only")
VOLUME_SOURCES = ("claim", "config_map", "secret", "empty_dir")


def _suggest(key: str, known) -> str | None:
    close = get_close_matches(key, list(known), n=1)
    return f"did you mean '{close[0]}'?" if close else f"known settings: {', '.join(known)}"


class SettingsReader:
    """Reads settings blocks against the table, reporting into `diagnostics`."""

    def __init__(self, diagnostics: Diagnostics, constant: Constant) -> None:
        self.diagnostics = diagnostics
        self.constant = constant

    # ------------------------------------------------------------ generic helpers
    def unique(self, settings: list[ast.Setting], known, where: str) -> dict[str, ast.Setting]:
        seen: dict[str, ast.Setting] = {}
        for setting in settings:
            if setting.key not in known:
                self.diagnostics.error("E301", setting.key_span, f"'{setting.key}' is not a setting of {where}",
                                       hint=_suggest(setting.key, known))
                continue
            if setting.key in seen:
                self.diagnostics.error("E308", setting.key_span,
                                       f"'{setting.key}' is already set at line {seen[setting.key].span.line}",
                                       hint="keep one of them")
                continue
            seen[setting.key] = setting
        return seen

    def value(self, setting: ast.Setting, kind: type | tuple, what: str):
        """The constant value of `key = value`, checked against a Python type."""
        if setting.value is None:
            self.diagnostics.error("E302", setting.span, f"'{setting.key}' takes a value: {setting.key} = ...",
                                   hint=f"{setting.key} is {what}")
            return None
        value = self.constant(setting.value)
        if value is None:
            return None
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            ok = False
        else:
            ok = isinstance(value, kinds)
        if not ok:
            self.diagnostics.error("E302", setting.value.span, f"'{setting.key}' must be {what}")
            return None
        return value

    def block(self, setting: ast.Setting) -> list[ast.Setting] | None:
        if setting.block is None:
            self.diagnostics.error("E302", setting.span, f"'{setting.key}' is a block: {setting.key} {{ ... }}")
            return None
        return setting.block

    def int_at_least(self, setting: ast.Setting, minimum: int) -> int | None:
        value = self.value(setting, int, "a whole number")
        if value is not None and value < minimum:
            self.diagnostics.error("E306", setting.value.span, f"'{setting.key}' must be at least {minimum}, not {value}")
            return None
        return value

    def one_of(self, setting: ast.Setting, choices) -> str | None:
        value = self.value(setting, str, "one of " + ", ".join(choices))
        if value is not None and value not in choices:
            self.diagnostics.error("E302", setting.value.span, f"'{setting.key}' must be one of {', '.join(choices)}",
                                   hint=_suggest(value, choices))
            return None
        return value

    def duration(self, setting: ast.Setting) -> int | None:
        text = self.value(setting, str, 'a duration like "45m" or "1h30m"')
        if text is None:
            return None
        seconds, problem = parse_duration(text)
        if problem:
            self.diagnostics.error("E303", setting.value.span, problem,
                                   hint='durations are written like "90s", "45m", "2h" or "1h30m"')
        return seconds

    def quantity(self, setting: ast.Setting) -> str | None:
        if setting.value is None:
            return self.value(setting, str, "a quantity")
        raw = self.constant(setting.value)
        if raw is None:
            return None
        text, problem = parse_quantity(raw)
        if problem:
            self.diagnostics.error("E304", setting.value.span, problem,
                                   hint='CPU is written like "2" or "500m", memory like "512Mi" or "4Gi"')
        return text

    # ------------------------------------------------------------ task settings
    def task_settings(self, given: dict[str, ast.Setting], base: ir.Settings, env_value: EnvValue) -> ir.Settings:
        """Component settings or a step's overrides (already checked by `unique`) applied on `base`."""
        result = base
        for key, setting in given.items():
            if key in DEFINITION_ONLY_KEYS:
                continue  # the component reader handles these
            if key == "retries":
                value = self.int_at_least(setting, 0)
                if value is not None:
                    result = replace(result, retries=value)
            elif key == "timeout":
                value = self.duration(setting)
                if value is not None:
                    result = replace(result, timeout_seconds=value)
            elif key in ("cache", "deterministic", "side_effects"):
                value = self.value(setting, bool, "true or false")
                if value is not None:
                    result = replace(result, **{key: value})
                    if key == "cache":
                        result = replace(result, cache_asked=value)
            elif key == "image_pull_policy":
                value = self.one_of(setting, PULL_POLICIES)
                if value is not None:
                    result = replace(result, image_pull_policy=value)
            elif key == "mpi":
                result = replace(result, mpi=self.mpi(setting, result.mpi))
            elif key == "resources":
                result = replace(result, resources=self.resources(setting, result.resources))
            elif key == "security":
                result = replace(result, security=self.security(setting, result.security))
            elif key == "env":
                result = replace(result, env=self.env(setting, result.env, env_value))
            elif key == "node_selector":
                result = replace(result, node_selector=self.node_selector(setting, result.node_selector))
            elif key == "tolerations":
                value = self.tolerations(setting)
                if value is not None:
                    result = replace(result, tolerations=value)
            elif key == "volumes":
                value = self.volumes(setting)
                if value is not None:
                    result = replace(result, volumes=value)
        return result

    def mpi(self, setting: ast.Setting, base: ir.Mpi | None) -> ir.Mpi | None:
        block = self.block(setting)
        if block is None:
            return base
        given = self.unique(block, MPI_KEYS, "mpi")
        ranks = base.ranks if base else None
        slots = base.slots_per_worker if base else 1
        implementation = base.implementation if base else "MPICH"
        if "ranks" in given:
            ranks = self.int_at_least(given["ranks"], 1) or ranks
        if "slots_per_worker" in given:
            slots = self.int_at_least(given["slots_per_worker"], 1) or slots
        if "implementation" in given:
            implementation = self.one_of(given["implementation"], MPI_IMPLEMENTATIONS) or implementation
        if ranks is None:
            if "ranks" not in given:
                self.diagnostics.error("E307", setting.span, "an mpi block needs the number of ranks",
                                       hint="mpi { ranks = 4 }")
            return base
        return ir.Mpi(ranks, slots, implementation)

    def resources(self, setting: ast.Setting, base: ir.Resources) -> ir.Resources:
        block = self.block(setting)
        if block is None:
            return base
        given = self.unique(block, RESOURCE_KEYS, "resources")
        changes = {}
        for key, item in given.items():
            if key == "gpu":
                value = self.int_at_least(item, 0)
            else:
                value = self.quantity(item)
            if value is not None:
                changes[key] = value
        return replace(base, **changes)

    def security(self, setting: ast.Setting, base: ir.Security) -> ir.Security:
        block = self.block(setting)
        if block is None:
            return base
        given = self.unique(block, SECURITY_KEYS, "security")
        changes = {}
        for key, item in given.items():
            value = self.int_at_least(item, 0) if key == "run_as_user" else self.value(item, bool, "true or false")
            if value is not None:
                changes[key] = value
        return replace(base, **changes)

    def env(self, setting: ast.Setting, base: tuple[ir.EnvVar, ...], env_value: EnvValue) -> tuple[ir.EnvVar, ...]:
        block = self.block(setting)
        if block is None:
            return base
        variables = {variable.name: variable for variable in base}
        seen: set[str] = set()
        for item in block:
            if item.key in seen:
                self.diagnostics.error("E308", item.key_span, f"environment variable '{item.key}' is set twice")
                continue
            seen.add(item.key)
            if not _is_env_name(item.key):
                self.diagnostics.error("E302", item.key_span, f"'{item.key}' is not a valid environment variable name",
                                       hint="use letters, digits, '_', '-' and '.', not starting with a digit")
                continue
            if item.value is None:
                self.diagnostics.error("E302", item.span, f"environment variable '{item.key}' takes a value")
                continue
            value = env_value(item.value)
            if value is not None:
                variables[item.key] = ir.EnvVar(item.key, value)
        return tuple(sorted(variables.values(), key=lambda variable: variable.name))

    def node_selector(self, setting: ast.Setting, base) -> tuple[tuple[str, str], ...]:
        block = self.block(setting)
        if block is None:
            return base
        labels = dict(base)
        for item in block:
            value = self.value(item, str, "a string")
            if value is not None:
                labels[item.key] = value
        return tuple(sorted(labels.items()))

    def _dict_items(self, setting: ast.Setting, what: str) -> list[dict] | None:
        value = self.value(setting, list, f"a list of {what}")
        if value is None:
            return None
        if not all(isinstance(item, dict) for item in value):
            self.diagnostics.error("E302", setting.value.span, f"each item of '{setting.key}' must be a dict ({what})")
            return None
        return value

    def tolerations(self, setting: ast.Setting) -> tuple[ir.Toleration, ...] | None:
        items = self._dict_items(setting, 'tolerations like {"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}')
        if items is None:
            return None
        result = []
        for item in items:
            unknown = sorted(set(item) - set(TOLERATION_KEYS))
            operator = item.get("operator", "Equal")
            effect = item.get("effect")
            seconds = item.get("toleration_seconds")
            problem = None
            if unknown:
                problem = f"unknown toleration field '{unknown[0]}' (fields: {', '.join(TOLERATION_KEYS)})"
            elif operator not in TOLERATION_OPERATORS:
                problem = f"toleration operator must be Equal or Exists, not {operator!r}"
            elif effect is not None and effect not in TOLERATION_EFFECTS:
                problem = f"toleration effect must be one of {', '.join(TOLERATION_EFFECTS)}"
            elif seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int)):
                problem = "toleration_seconds must be a whole number"
            elif any(not isinstance(item.get(k), (str, type(None))) for k in ("key", "value")):
                problem = "toleration key and value must be strings"
            if problem:
                self.diagnostics.error("E302", setting.value.span, problem)
                return None
            result.append(ir.Toleration(item.get("key"), operator, item.get("value"), effect, seconds))
        return tuple(result)

    def volumes(self, setting: ast.Setting) -> tuple[ir.Volume, ...] | None:
        items = self._dict_items(setting, 'volumes like {"claim": "shared-data", "mount": "/data"}')
        if items is None:
            return None
        result = []
        names = set()
        for index, item in enumerate(items):
            unknown = sorted(set(item) - set(VOLUME_KEYS))
            sources = [key for key in VOLUME_SOURCES if key in item]
            mount = item.get("mount")
            problem = None
            if unknown:
                problem = f"unknown volume field '{unknown[0]}' (fields: {', '.join(VOLUME_KEYS)})"
            elif not isinstance(mount, str) or not mount.startswith("/"):
                problem = "a volume needs \"mount\": an absolute path in the container"
            elif len(sources) != 1:
                problem = "a volume needs exactly one of \"claim\", \"config_map\", \"secret\" or \"empty_dir\""
            elif sources[0] != "empty_dir" and not isinstance(item[sources[0]], str):
                problem = f"\"{sources[0]}\" names a Kubernetes object: a string"
            elif sources[0] == "empty_dir" and item["empty_dir"] is not True:
                problem = "\"empty_dir\" is true when given"
            elif not isinstance(item.get("read_only", False), bool):
                problem = "\"read_only\" is true or false"
            if problem:
                self.diagnostics.error("E302", setting.value.span, problem)
                return None
            name = item.get("name") or f"volume-{index + 1}"
            if not isinstance(name, str) or name in names:
                self.diagnostics.error("E302", setting.value.span, f"volume names must be distinct strings ({name!r})")
                return None
            names.add(name)
            source = sources[0]
            result.append(ir.Volume(name, mount, source, None if source == "empty_dir" else item[source],
                                    item.get("read_only", False)))
        return tuple(result)

    # ------------------------------------------------------------ pipeline settings
    def pipeline_settings(self, settings: list[ast.Setting]) -> dict:
        given = self.unique(settings, PIPELINE_KEYS, "a pipeline")
        result: dict = {}
        for key, setting in given.items():
            if key == "schedule":
                text = self.value(setting, str, 'a cron schedule like "0 3 * * *"')
                if text is not None:
                    problem = check_cron(text)
                    if problem:
                        self.diagnostics.error("E305", setting.value.span, problem,
                                               hint='"0 3 * * *" is every day at 03:00; "@hourly" works too')
                    else:
                        result[key] = text
            elif key == "parallelism":
                value = self.int_at_least(setting, 1)
                if value is not None:
                    result[key] = value
            elif key == "timeout":
                value = self.duration(setting)
                if value is not None:
                    result[key] = value
            else:
                value = self.value(setting, str, "a string")
                if value is not None:
                    result[key] = value
        return result


def _is_env_name(name: str) -> bool:
    return bool(name) and not name[0].isdigit() and all(c.isalnum() or c in "_-." for c in name)
