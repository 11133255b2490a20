"""What averaged SGD costs the training kernel on sparse rows (no Dask).

    python benchmarks/bench_suite.py --datasets synthetic_sparse --methods sklearn-sgd   # once: caches the set
    python benchmarks/probe_average_cost.py [--rows 400000] [--repeats 2]

One ``ShardTrainer`` (the task's SGD) over the first ``--rows`` rows of the suite's synthetic
sparse set (2^18 features, ~50 values a row), log_loss, one epoch, with ``average`` off and on,
alternating; prints the seconds of each run.
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_suite import load_cached  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=400_000)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    from dask_asgd import ASGDClassifier
    from dask_asgd.models.linear import LinearTrainer

    Xtr, _, ytr, _ = load_cached("synthetic_sparse")
    X, y = Xtr[: args.rows], ytr[: args.rows].astype(np.float64)
    print(f"# {X.shape[0]:,} x {X.shape[1]:,} CSR, {X.nnz / X.shape[0]:.1f} values a row, one epoch", flush=True)
    for _ in range(args.repeats):
        for average in (False, True):
            spec = ASGDClassifier(loss="log_loss", average=average)._spec(1, X.shape[1], True, 1, None, None, 1.0)
            tr = LinearTrainer(X, y, None, spec, 0)
            tr.warm_up()
            t = time.perf_counter()
            while not tr.done:
                tr.run(10 ** 9)
            print(f"average={average!s:5s} {time.perf_counter() - t:.3f} s", flush=True)


if __name__ == "__main__":
    main()
