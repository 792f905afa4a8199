"""How Kubeflow names and type names become treadle's.

Names follow the Kubeflow Pipelines v1 SDK, which turns an input called `Table name` into
the Python parameter `table_name` (`kfp.components._naming`, `_sanitize_python_function_name`):
lowercase, every run of characters other than letters and digits one underscore, none at
either end, `n` before a leading digit."""

from __future__ import annotations

import re

from .. import types
from ..types import Type

TRUE_TEXTS = ("y", "yes", "t", "true", "on", "1")  # Python's strtobool, which Kubeflow uses for `if`
FALSE_TEXTS = ("n", "no", "f", "false", "off", "0")

_NOT_WORD = re.compile(r"[\W_]+")
TREADLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# The language's keywords cannot name an argument (`train(if=...)` does not parse).
KEYWORDS = frozenset({"after", "and", "as", "component", "else", "false", "finally", "for", "if", "import",
                      "in", "let", "not", "or", "pipeline", "true", "with"})


def treadle_name(kfp_name: str) -> str:
    """`Output CSV` -> `output_csv`, `2nd try` -> `n2nd_try`, as Kubeflow names Python parameters."""
    name = _NOT_WORD.sub(" ", kfp_name.lower()).strip().replace(" ", "_")
    if name[:1].isdigit():
        name = "n" + name
    return name


def name_problem(name: str) -> str | None:
    """Why a mapped name cannot be a treadle name, or None."""
    if not name:
        return "it has no letters or digits"
    if not TREADLE_NAME.fullmatch(name):
        return f"'{name}' holds characters a treadle name cannot (names are ASCII letters, digits and _)"
    if name in KEYWORDS:
        return f"'{name}' is a keyword of the language"
    return None


# ---------------------------------------------------------------- types
# Kubeflow's parameter type names (lowercased), as its v2 SDK lists them
# (`kfp.components.types.type_utils`, `_PARAMETER_TYPES_MAPPING`), and their treadle types.
PARAMETER_TYPES: dict[str, Type] = {
    "string": types.STR, "str": types.STR, "text": types.STR,
    "integer": types.INT, "int": types.INT,
    "float": types.FLOAT, "double": types.FLOAT,
    "bool": types.BOOL, "boolean": types.BOOL,
    "jsonarray": types.LIST, "list": types.LIST,
    "jsonobject": types.DICT, "dict": types.DICT,
}
# Artifact type names that have a closer treadle type than the generic Artifact.
ARTIFACT_TYPES: dict[str, Type] = {
    **{name: types.named("Dataset") for name in (
        "dataset", "csv", "tsv", "apacheparquet", "apachearrowfeather", "huggingfacedataset",
        "huggingfacearrowdataset", "huggingfacedatasetdict", "system.dataset", "google.vertexdataset")},
    **{name: types.named("Model") for name in (
        "model", "xgboostmodel", "kerasmodelhdf5", "kerasmodeljson", "onnxmodel", "pytorchscriptmodule",
        "pytorchmodelarchive", "catboostmodel", "tensorflowsavedmodel", "system.model", "google.vertexmodel")},
    **{name: types.named("Metrics") for name in ("metrics", "system.metrics", "classificationmetrics",
                                                  "google.classificationmetrics")},
    **{name: types.named("Artifact") for name in ("artifact", "system.artifact")},
}
GENERIC_ARTIFACT = types.named("Artifact")

# treadle type -> the Kubeflow type name `export-component` writes.
EXPORTED_TYPES = {"str": "String", "int": "Integer", "float": "Float", "bool": "Boolean", "list": "JsonArray",
                  "dict": "JsonObject", "Dataset": "Dataset", "Model": "Model", "Metrics": "Metrics",
                  "Artifact": "Artifact"}


def type_key(kfp_type) -> str | None:
    """The lookup key of a type: a string lowercased, the mapping form `{GcsPath: {...}}` by
    its one key; None for no type."""
    if kfp_type is None:
        return None
    if isinstance(kfp_type, dict):
        return str(next(iter(kfp_type))).lower() if len(kfp_type) == 1 else ""
    return str(kfp_type).lower()


def parameter_type(kfp_type) -> Type | None:
    """The treadle value type of a Kubeflow parameter type name, None for any other name."""
    key = type_key(kfp_type)
    return PARAMETER_TYPES.get(key) if key is not None else None


def port_type(kfp_type, used_as: str | None) -> Type:
    """The treadle type of an input or output.

    `used_as` is how the command line uses an input: "value" (inputValue), "file"
    (inputPath, inputUri) or None (not at all; outputs always, as an output value is a file too). Kubeflow v1 passes a value or a
    file as the placeholder says, whatever the type name; for a name it does not know and
    no placeholder to go by, its v2 SDK takes the name for an artifact type."""
    known_parameter = parameter_type(kfp_type)
    if used_as == "value":
        return known_parameter or types.STR
    if used_as != "file" and known_parameter is not None:
        return known_parameter
    return ARTIFACT_TYPES.get(type_key(kfp_type), GENERIC_ARTIFACT)  # no type (None) is no key: Artifact
