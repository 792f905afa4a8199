"""`generate`: a synthetic dataset from scikit-learn's generators, as CSV.

Every rank draws the whole dataset from the same seed (drawing is cheap) and formats only
its share of the rows (formatting is not), so the file is the same at any rank count.
"""

from __future__ import annotations

import math

from sklearn import datasets

from treadle.runtime.components._shared import output_blocks
from treadle.runtime.csvio import format_rows, text_fields
from treadle.runtime.errors import UserError
from treadle.runtime.mpi import share


def _informative(args) -> int:
    if args.n_informative is not None:
        if args.n_informative > args.n_features:
            raise UserError(f"--n-informative {args.n_informative} exceeds --n-features {args.n_features}")
        return args.n_informative
    needed = math.ceil(math.log2(2 * args.n_classes)) if args.kind == "classification" else 1
    return min(args.n_features, max(needed, args.n_features // 2))


def draw(args):
    """(features, target) exactly as the scikit-learn generator gives them for this seed."""
    try:
        if args.kind == "classification":
            informative = _informative(args)
            if args.n_classes * 2 > 2**informative:
                raise UserError(
                    f"{args.n_classes} classes need at least {math.ceil(math.log2(2 * args.n_classes))} "
                    f"informative features (have {informative}; raise --n-features or --n-informative)"
                )
            return datasets.make_classification(
                n_samples=args.n_samples, n_features=args.n_features, n_informative=informative,
                n_redundant=0, n_classes=args.n_classes, random_state=args.seed,
            )
        if args.kind == "regression":
            return datasets.make_regression(
                n_samples=args.n_samples, n_features=args.n_features,
                n_informative=_informative(args), noise=args.noise, random_state=args.seed,
            )
        return datasets.make_blobs(
            n_samples=args.n_samples, n_features=args.n_features, centers=args.centers,
            random_state=args.seed,
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None


def run(args, comm, outputs) -> None:
    outputs.check(args.output)
    if args.seed < 0 or args.seed >= 2**32:
        raise UserError(f"--seed must be in [0, 2**32), got {args.seed}")
    features, target = draw(args)
    names = [f"x{index}" for index in range(features.shape[1])]
    start, end = share(features.shape[0], comm.rank, comm.size)

    def blocks():
        for rows in output_blocks(end - start, features.shape[1]):
            part = slice(start + rows.start, start + rows.stop)
            yield format_rows(features[part], text_fields(target[part]))

    outputs.write_csv(args.output, names + [args.target_column], blocks())
