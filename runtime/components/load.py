"""`load`: a dataset bundled with scikit-learn, written as CSV (no network needed)."""

from __future__ import annotations

import numpy as np
from sklearn import datasets

from treadle.runtime.components._shared import output_blocks
from treadle.runtime.csvio import format_rows, text_fields
from treadle.runtime.mpi import share

LOADERS = {
    "iris": datasets.load_iris,
    "digits": datasets.load_digits,
    "wine": datasets.load_wine,
    "breast_cancer": datasets.load_breast_cancer,
    "diabetes": datasets.load_diabetes,
}


def run(args, comm, outputs) -> None:
    outputs.check(args.output)
    bunch = LOADERS[args.name]()
    features = np.asarray(bunch.data, dtype=np.float64)
    names = [str(name) for name in bunch.feature_names]
    start, end = share(features.shape[0], comm.rank, comm.size)

    def blocks():
        for rows in output_blocks(end - start, features.shape[1]):
            part = slice(start + rows.start, start + rows.stop)
            yield format_rows(features[part], text_fields(bunch.target[part]))

    outputs.write_csv(args.output, names + [args.target_column], blocks())
