"""treadle's types: parameter types (values) and artifact types (files or folders)."""

from __future__ import annotations

from dataclasses import dataclass

PARAMETER_TYPES = ("str", "int", "float", "bool", "list", "dict")
ARTIFACT_TYPES = ("Dataset", "Model", "Metrics", "Artifact")
_ARTIFACTS = frozenset(ARTIFACT_TYPES)


@dataclass(frozen=True, slots=True)
class Type:
    name: str
    element: "Type | None" = None  # only for list; None means elements of any type

    @property
    def is_artifact(self) -> bool:
        return self.name in _ARTIFACTS

    @property
    def is_list(self) -> bool:
        return self.name == "list"

    @property
    def is_numeric(self) -> bool:
        return self.name in ("int", "float")

    def __str__(self) -> str:
        if self.name == "list" and self.element is not None:
            return f"list[{self.element}]"
        return self.name




_NAMED = {name: Type(name) for name in PARAMETER_TYPES + ARTIFACT_TYPES}
STR, INT, FLOAT, BOOL, LIST, DICT = (_NAMED[name] for name in PARAMETER_TYPES)


def named(name: str) -> Type:
    """The one Type object of a plain type name (shared, so equal types are usually identical)."""
    return _NAMED.get(name) or Type(name)


def list_of(element: Type | None) -> Type:
    return Type("list", element)


def assignable(source: Type, target: Type) -> bool:
    """Whether a value of `source` may be passed where `target` is declared.

    int widens to float; a list of unknown elements passes for any list and the other way
    round (its elements are checked where they are known); the generic Artifact type takes
    and gives any artifact. Nothing else converts."""
    if source is target or source == target:
        return True
    if source.name == "int" and target.name == "float":
        return True
    if source.name == "list" and target.name == "list":
        if source.element is None or target.element is None:
            return True
        return assignable(source.element, target.element)
    if source.is_artifact and target.is_artifact:
        return source.name == "Artifact" or target.name == "Artifact"
    return False


def type_of_literal(value) -> Type:
    """The type of a Python value built from a literal."""
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, float):
        return FLOAT
    if isinstance(value, str):
        return STR
    if isinstance(value, dict):
        return DICT
    if isinstance(value, list):
        return list_of(common_element_type([type_of_literal(item) for item in value]))
    raise TypeError(f"not a literal value: {value!r}")


def common_element_type(types: list[Type]) -> Type | None:
    """The element type of a list literal: the one type of all items (ints widen to float
    beside floats), or None when they differ or the list is empty."""
    if not types:
        return None
    first = types[0]
    if all(t is first or t == first for t in types):  # the named types are shared objects
        return first
    if all(t.is_numeric for t in types):
        return FLOAT
    return None
