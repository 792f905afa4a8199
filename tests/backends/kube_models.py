"""Structure checks of core Kubernetes documents (ConfigMap, ServiceAccount, Role,
RoleBinding, CronJob) against the kubernetes client's models, which are generated from the
API server's OpenAPI: the shared schema helpers cover only the Argo, Tekton and MPIJob
kinds. Unknown fields, wrong types and missing required fields are reported."""

from __future__ import annotations

import re

from kubernetes import client

API_VERSIONS = {"ConfigMap": "v1", "ServiceAccount": "v1", "Role": "rbac.authorization.k8s.io/v1",
                "RoleBinding": "rbac.authorization.k8s.io/v1", "CronJob": "batch/v1"}
_PRIMITIVES = {"str": str, "int": int, "bool": bool, "float": (int, float), "object": object, "bytes": str}


def model_errors(document: dict) -> list[str]:
    """[] when `document` is a valid object of its kind, else "path: message" strings."""
    kind = document.get("kind")
    if kind not in API_VERSIONS:
        return [f"kind: no model for {kind!r}"]
    problems = []
    if document.get("apiVersion") != API_VERSIONS[kind]:
        problems.append(f"apiVersion: {document.get('apiVersion')!r} is not {API_VERSIONS[kind]!r}")
    problems += _check(document, f"V1{kind}", kind)
    if not problems:
        try:  # the models' own checks: required fields, enums
            client.ApiClient()._ApiClient__deserialize(document, f"V1{kind}")
        except (ValueError, TypeError) as problem:
            problems.append(f"{kind}: {problem}")
    return problems


def _check(value, type_name: str, path: str) -> list[str]:
    listed = re.fullmatch(r"[Ll]ist\[(.+)\]", type_name)
    if listed:
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        return [problem for index, item in enumerate(value) for problem in _check(item, listed.group(1), f"{path}[{index}]")]
    mapped = re.fullmatch(r"dict\(str, (.+)\)|Dict\[str, (.+)\]", type_name)
    if mapped:
        if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
            return [f"{path}: expected a mapping with text keys"]
        return [problem for key, item in value.items() for problem in _check(item, mapped.group(1) or mapped.group(2), f"{path}.{key}")]
    if type_name in _PRIMITIVES:
        wanted = _PRIMITIVES[type_name]
        if isinstance(value, bool) and type_name in ("int", "float"):
            return [f"{path}: expected {type_name}, got a boolean"]
        return [] if isinstance(value, wanted) else [f"{path}: expected {type_name}, got {type(value).__name__}"]
    model = getattr(client, type_name)
    if not isinstance(value, dict):
        return [f"{path}: expected an object ({type_name})"]
    fields = {json_name: attribute for attribute, json_name in model.attribute_map.items()}
    problems = []
    for key, item in value.items():
        if key not in fields:
            problems.append(f"{path}.{key}: unknown field of {type_name}")
            continue
        problems += _check(item, model.openapi_types[fields[key]], f"{path}.{key}")
    return problems
