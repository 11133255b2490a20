"""What an in-process fit of rows ordered by their target costs before training: drawing each
task's random row set on the client, and the task's copy of its rows in a random order.

    python benchmarks/bench_suite.py --datasets flights_reg --methods sklearn-sgd   # once: caches
    python benchmarks/probe_row_sets.py [--repeats 10] [--tasks 2]

Compares the client's draw of one owner per row (``per-row``) with ``_data._random_row_sets``
(one owner per block of up to 16 neighbouring rows, expanded by the task), on the flights
regression rows (262k, date order); then one task's copy (``_prepare.shuffle_rows``) of the rows
either draw gives it; then one task's copy of half of 1,000,000 x 100 dense rows.  Medians of
--repeats, milliseconds.
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_suite import load_cached  # noqa: E402


def per_row_sets(n, P, rng):
    """One random owner per row (the draw before row blocks)."""
    owner = np.empty(n, dtype=np.int16)
    owner[rng.permutation(n)] = np.repeat(np.arange(P), np.diff(np.linspace(0, n, P + 1).astype(int)))
    order = np.argsort(owner, kind="stable")
    cuts = np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=P))])
    return [order[cuts[i]: cuts[i + 1]] for i in range(P)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--tasks", type=int, default=2)
    args = ap.parse_args()
    from dask_asgd._data import _random_row_sets
    from dask_asgd._prepare import _in_order, shuffle_rows

    X, _, y, _ = load_cached("flights_reg")
    n = X.shape[0]
    rng = np.random.default_rng(0)
    print(f"# flights regression: {n:,} rows, {args.tasks} tasks; medians of {args.repeats}")
    for name, draw in [("per-row", per_row_sets), ("row blocks", _random_row_sets)] * 2:
        client, expand, copy = [], [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            sets = draw(n, args.tasks, rng)
            t1 = time.perf_counter()
            rows = sets[0].rows() if hasattr(sets[0], "rows") else sets[0]
            t2 = time.perf_counter()
            pos = rng.permutation(len(rows))
            shuffle_rows(X, rows, pos), _in_order(y, rows, pos)
            t3 = time.perf_counter()
            client.append(t1 - t0)
            expand.append(t2 - t1)
            copy.append(t3 - t2)
        med = [1000 * statistics.median(v) for v in (client, expand, copy)]
        print(f"{name:11s} client draw {med[0]:6.2f} ms   task: expand {med[1]:5.2f} ms, copy {med[2]:6.2f} ms")
    # dense rows: one task's copy of half of 1,000,000 x 100
    D = np.random.default_rng(0).standard_normal((1_000_000, 100))
    rows = _random_row_sets(D.shape[0], 2, rng)[0].rows()
    pos = rng.permutation(len(rows))
    shuffle_rows(D, rows[:100], np.arange(100))  # compile
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        shuffle_rows(D, rows, pos)
        times.append(time.perf_counter() - t0)
    print(f"dense: one task's copy of 500,000 x 100 rows {1000 * statistics.median(times):.1f} ms")


if __name__ == "__main__":
    main()
