"""The training kernel alone (one ShardTrainer, one thread, no Dask): ns per sample.

    python benchmarks/bench_suite.py --datasets flights_clf,flights_reg --methods sklearn-sgd   # once: caches
    python benchmarks/probe_kernel_speed.py [--repeats 5] [--epochs 5]
    python benchmarks/probe_kernel_speed.py --cases synthetic_sparse --epochs 1 --repeats 3 --sklearn

Flights regression (squared_error, invscaling) and classification (log_loss, optimal), rows
shuffled once, and 1,000,000 x 100 dense rows (log_loss); median seconds of --repeats runs.
``--cases`` picks among those and ``synthetic_sparse`` (the suite's 1M x 2^18 set, ~50 non-zeros a
row, log_loss; suite's cache). ``--sklearn``: scikit-learn's SGDClassifier / SGDRegressor on
the same rows and epochs, next to it (its fit, one thread).
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_suite import load_cached  # noqa: E402


def kernel_seconds(X, y, spec, repeats):
    """``(median seconds, samples)`` of one ShardTrainer training ``spec`` on ``(X, y)`` to the
    end, ``repeats`` times (seeds 0, 1, ...), after a warm-up that compiles the kernel."""
    from dask_asgd.models.linear import LinearTrainer

    LinearTrainer(X[:1000], y[:1000], None, spec, 0).warm_up()
    secs = []
    for r in range(repeats):
        tr = LinearTrainer(X, y, None, spec, r)
        t = time.perf_counter()
        while not tr.done:
            tr.run(10 ** 9)
        secs.append(time.perf_counter() - t)
    return statistics.median(secs), tr.samples_done


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--cases", default="flights_reg,flights_clf,dense",
                    help="of: flights_reg, flights_clf, dense, synthetic_sparse")
    ap.add_argument("--sklearn", action="store_true", help="time scikit-learn's SGD on the same rows too")
    args = ap.parse_args()
    wanted = set(args.cases.split(","))
    from dask_asgd import ASGDClassifier, ASGDRegressor

    rng = np.random.default_rng(0)
    cases = []
    for name, est in [("flights_reg", ASGDRegressor()), ("flights_clf", ASGDClassifier(loss="log_loss")),
                      ("synthetic_sparse", ASGDClassifier(loss="log_loss"))]:
        if name not in wanted:
            continue
        Xtr, _, ytr, _ = load_cached(name)
        perm = rng.permutation(Xtr.shape[0])
        cases.append((name, est, Xtr[perm], np.asarray(ytr, dtype=np.float64)[perm]))
    if "dense" in wanted:
        Xd = rng.standard_normal((1_000_000, 100))
        yd = (Xd[:, 0] + rng.standard_normal(len(Xd)) > 0).astype(np.float64)
        cases.append(("dense 1M x 100", ASGDClassifier(loss="log_loss"), Xd, yd))
    for name, est, X, y in cases:
        spec = est._spec(1, X.shape[1], est._is_clf, args.epochs, None, None, 1.0)
        s, samples = kernel_seconds(X, y, spec, args.repeats)
        print(f"{name:16s} {s:.3f} s  {samples / s / 1e6:6.2f} M samples/s  "
              f"{s / samples * 1e9:5.1f} ns a sample", flush=True)
        if args.sklearn:
            from sklearn.linear_model import SGDClassifier, SGDRegressor

            sk = (SGDClassifier if est._is_clf else SGDRegressor)(
                max_iter=args.epochs, tol=None, **{k: v for k, v in est.get_params().items()
                                                   if k in ("loss", "alpha", "learning_rate", "eta0", "power_t")})
            sksecs = []
            for r in range(args.repeats):
                t = time.perf_counter()
                sk.set_params(random_state=r).fit(X, y)
                sksecs.append(time.perf_counter() - t)
            s2 = statistics.median(sksecs)
            n = X.shape[0] * args.epochs
            print(f"{'  scikit-learn':16s} {s2:.3f} s  {n / s2 / 1e6:6.2f} M samples/s  {s2 / n * 1e9:5.1f} ns a sample "
                  "(its whole fit: input checks included)", flush=True)


if __name__ == "__main__":
    main()
