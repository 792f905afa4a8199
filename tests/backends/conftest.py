"""Fixtures for backend tests: the upstream schemas (never copied into the project) and
compiling treadle source in-process."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # backend_helpers
SCHEMAS = REPO.parent / "shared" / "schemas"


@pytest.fixture(scope="session")
def schema_errors():
    """`schema_errors(doc, strict=True)` from the shared schema folder beside the checkout.
    Missing folder: a failure under CI, a skip elsewhere."""
    module_path = SCHEMAS / "k8s_schemas.py"
    if not module_path.is_file():
        message = f"schema folder {SCHEMAS} (with k8s_schemas.py) not found"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    if importlib.util.find_spec("jsonschema") is None:
        pytest.skip("jsonschema is not installed (pip install treadle[test])")
    if str(SCHEMAS) not in sys.path:
        sys.path.insert(0, str(SCHEMAS))
    import k8s_schemas

    return k8s_schemas.schema_errors
