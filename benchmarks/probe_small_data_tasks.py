"""Small data: one task or one per core?

    python benchmarks/bench_suite.py --datasets flights_clf,flights_reg --methods sklearn-sgd   # once: caches
    python benchmarks/probe_small_data_tasks.py [--seeds 9]

``fit()`` runs one task per worker thread (without a Client, one per core). On small data every
task trains a small shard and the final model is the average of short runs. This fits, on an
in-process cluster of 2 single-thread workers with a Client, ``n_workers=1`` and ``n_workers=2``
in turn seed by seed, with the estimators' defaults (``tol=1e-3``: stops when the loss stops
improving) and with 5 epochs (``tol=None``), and prints the median fit time, the mean held-out
score (accuracy, R^2) and the seed-by-seed difference. Data: scikit-learn's digits (1,437
training rows x 64, scaled to [0, 1]) and breast_cancer (455 x 30, standardized), the suite's
flights sets (261,876 x 155 sparse).
"""

import argparse
import math
import os
import statistics
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_no_client import load  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=9)
    ap.add_argument("--datasets", default="breast_cancer,digits,flights_clf,flights_reg")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    import dask
    from distributed import Client, LocalCluster

    from dask_asgd import ASGDClassifier, ASGDRegressor

    with dask.config.set({"distributed.worker.profile.enabled": False}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                         silence_logs=50, memory_limit=0) as cluster, Client(cluster):
        for name in args.datasets.split(","):
            Xtr, ytr, Xte, yte, is_clf = load(name)
            cls = ASGDClassifier if is_clf else ASGDRegressor
            cls(max_iter=1, tol=None).fit(Xtr, ytr)  # compile, plugins
            print(f"## {name}: {Xtr.shape[0]} x {Xtr.shape[1]}, medians of {args.seeds} seeds")
            for label, kw in (("defaults (tol=1e-3)", {}), ("5 epochs", {"max_iter": 5, "tol": None})):
                res = {1: ([], [], []), 2: ([], [], [])}
                for seed in range(args.seeds):
                    for n in (1, 2):
                        est = cls(n_workers=n, random_state=seed, **kw)
                        t0 = time.perf_counter()
                        est.fit(Xtr, ytr)
                        res[n][0].append(time.perf_counter() - t0)
                        res[n][1].append(est.score(Xte, yte))
                        res[n][2].append(est.n_iter_)
                d = [b - a for a, b in zip(res[1][1], res[2][1])]
                se = statistics.stdev(d) / math.sqrt(len(d))
                print(f"{label:20s}: 1 task {1000 * statistics.median(res[1][0]):7.1f} ms, score "
                      f"{statistics.fmean(res[1][1]):.4f}, epochs {statistics.median(res[1][2]):g} | 2 tasks "
                      f"{1000 * statistics.median(res[2][0]):7.1f} ms, score {statistics.fmean(res[2][1]):.4f}, epochs "
                      f"{statistics.median(res[2][2]):g} | 2 - 1 tasks {statistics.fmean(d):+.4f} (standard error "
                      f"{se:.4f})", flush=True)


if __name__ == "__main__":
    main()
