"""Small helpers the components share."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pandas is imported where it is used: it is slow to import
    import pandas

from treadle.runtime.errors import UserError
from treadle.runtime.stats import phase

VALUES_PER_BLOCK = 1 << 20
# Formatting a value as CSV text takes ~20 bytes, held up to three times (orjson's text,
# its slice, the rows joined): output blocks are smaller so that these stay a few MiB.
OUTPUT_VALUES_PER_BLOCK = 1 << 18


def row_blocks(rows: int, columns: int, values_per_block: int = VALUES_PER_BLOCK):
    """Slices of about `values_per_block` values: bounded temporaries, BLAS-sized work."""
    step = max(256, values_per_block // max(1, columns))
    for start in range(0, rows, step):
        yield slice(start, min(rows, start + step))


def output_blocks(rows: int, columns: int):
    """Row slices for formatting output rows: bounded text temporaries."""
    return row_blocks(rows, columns, OUTPUT_VALUES_PER_BLOCK)


def late_import(module: str):
    """Import a module that a component loads only after its rows are freed (scikit-learn,
    ~70 MiB). Timed as the phase `import`, which the benchmark leaves out of the work time
    as it leaves out every import made before the work starts."""
    with phase("import"):
        return importlib.import_module(module)


def name_features(estimator, feature_names: list[str]) -> None:
    """Record the CSV column names, as fitting on a DataFrame would."""
    estimator.n_features_in_ = len(feature_names)
    estimator.feature_names_in_ = np.asarray(feature_names, dtype=object)


def frame(features: np.ndarray, feature_names) -> "pandas.DataFrame":
    """Features as a DataFrame (no copy), so fitted column names are checked on use."""
    import pandas as pd

    return pd.DataFrame(features, columns=list(feature_names), copy=False)


def load_model(path: str):
    import joblib

    try:
        return joblib.load(path)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, not a model file") from None
    except Exception as exc:  # unpickling raises many kinds
        raise UserError(f"{path}: not a joblib model file ({type(exc).__name__})") from None


def check_feature_count(model, feature_names: list[str], path: str) -> None:
    expected = getattr(model, "n_features_in_", None)
    if expected is not None and expected != len(feature_names):
        raise UserError(f"{path}: {len(feature_names)} feature column(s), the model expects {expected}")
