"""`forest`: a random forest whose trees are grown on different ranks, merged into one.

Every rank reads its own byte range of rows and the rows are then shared (a tree samples
from all rows). The trees are dealt out in contiguous runs: rank r grows trees [a, b) with
scikit-learn's own `warm_start` machinery, which draws and discards the random seeds of
the a trees before it, so tree i is grown from the same seed and bootstrap sample as tree
i of `RandomForest*(n_estimators, random_state=seed)` in one process. Rank 0 gathers the
trees into that one estimator: the merged forest is the single-process forest.
"""

from __future__ import annotations

from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

from treadle.runtime.components._shared import name_features
from treadle.runtime.csvio import decode_target, read_table
from treadle.runtime.errors import UserError
from treadle.runtime.mpi import agreed, share
from treadle.runtime.stats import phase


def grow_across_ranks(comm, forest, features, target):
    """Fit `forest` (unfitted, its parameters set) with its trees spread over ranks.

    Every rank must hold all rows. Returns the fitted forest on rank 0, None elsewhere.
    """
    total_trees = forest.n_estimators
    first, last = share(total_trees, comm.rank, comm.size)
    grown = []
    with agreed(comm):
        if last > first:
            part = clone(forest).set_params(n_estimators=last, warm_start=True, n_jobs=None)
            if first:
                part.estimators_ = [None] * first  # stands for the trees other ranks grow
            part.fit(features, target)
            grown = part.estimators_[first:]
    trees = comm.gather(grown)
    if not comm.is_root:
        return None
    part.estimators_ = [tree for rank_trees in trees for tree in rank_trees]
    part.set_params(n_estimators=total_trees, warm_start=forest.warm_start, n_jobs=forest.n_jobs)
    return part


def run(args, comm, outputs) -> None:
    outputs.check(args.model)
    if not 0 <= args.seed < 2**32:
        raise UserError(f"--seed must be in [0, 2**32), got {args.seed}")
    table = read_table(comm, args.data, target=args.target_column, target_required=True, whole=True)
    target = decode_target(comm, table, args.task)
    kind = RandomForestClassifier if args.task == "classification" else RandomForestRegressor
    forest = kind(n_estimators=args.n_estimators, random_state=args.seed, max_depth=args.max_depth or None,
                  min_samples_leaf=args.min_samples_leaf)
    with phase("fit"):
        fitted = grow_across_ranks(comm, forest, table.features, target)
    if fitted is not None:
        name_features(fitted, table.feature_names)
    outputs.write_model(args.model, fitted)
