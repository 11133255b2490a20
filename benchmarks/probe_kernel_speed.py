"""The training kernel alone (one ShardTrainer, one thread, no Dask): ns per sample.

    python benchmarks/bench_suite.py --datasets flights_clf,flights_reg --methods sklearn-sgd   # once: caches
    python benchmarks/probe_kernel_speed.py [--repeats 5] [--epochs 5]

Flights regression (squared_error, invscaling) and classification (log_loss, optimal), rows
shuffled once, and 1,000,000 x 100 dense rows (log_loss); median seconds of --repeats runs.
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_suite import load_cached  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=5)
    args = ap.parse_args()
    from dask_asgd import ASGDClassifier, ASGDRegressor
    from dask_asgd._task import ShardTrainer

    rng = np.random.default_rng(0)
    cases = []
    for name, est in [("flights_reg", ASGDRegressor()), ("flights_clf", ASGDClassifier(loss="log_loss"))]:
        Xtr, _, ytr, _ = load_cached(name)
        perm = rng.permutation(Xtr.shape[0])
        cases.append((name, est, Xtr[perm], np.asarray(ytr, dtype=np.float64)[perm]))
    Xd = rng.standard_normal((1_000_000, 100))
    yd = (Xd[:, 0] + rng.standard_normal(len(Xd)) > 0).astype(np.float64)
    cases.append(("dense 1M x 100", ASGDClassifier(loss="log_loss"), Xd, yd))
    for name, est, X, y in cases:
        spec = est._spec(1, X.shape[1], est._is_clf, args.epochs, None, None, 1.0)
        ShardTrainer(X[:1000], y[:1000], None, spec, 0).warm_up()
        secs = []
        for r in range(args.repeats):
            tr = ShardTrainer(X, y, None, spec, r)
            t = time.perf_counter()
            while not tr.done:
                tr.run(10 ** 9)
            secs.append(time.perf_counter() - t)
        s = statistics.median(secs)
        print(f"{name:16s} {s:.3f} s  {tr.samples_done / s / 1e6:6.2f} M samples/s  "
              f"{s / tr.samples_done * 1e9:5.1f} ns a sample", flush=True)


if __name__ == "__main__":
    main()
