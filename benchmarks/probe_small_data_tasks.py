"""Small data: one task or one per core?

    python benchmarks/bench_suite.py --datasets flights_clf,flights_reg --methods sklearn-sgd   # once: caches
    python benchmarks/probe_small_data_tasks.py [--seeds 9]
    python benchmarks/probe_small_data_tasks.py --tasks 1,2,4,8,16 --datasets digits,fashion_mnist --rows 3000

``fit()`` runs one task per worker thread (without a Client, one per core). On small data every
task trains a small shard and the final model is the average of short runs. This fits, on an
in-process cluster of 2 single-thread workers with a Client, ``n_workers=1`` and ``n_workers=2``
in turn seed by seed, with the estimators' defaults (``tol=1e-3``: stops when the loss stops
improving) and with 5 epochs (``tol=None``), and prints the median fit time, the mean held-out
score (accuracy, R^2) and the seed-by-seed difference. Data: scikit-learn's digits (1,437
training rows x 64, scaled to [0, 1]) and breast_cancer (455 x 30, standardized), the suite's
flights sets (261,876 x 155 sparse). ``--tasks`` compares more numbers of tasks (the first is
the baseline of the differences; the cluster has as many workers as the largest); ``--rows N``
keeps the first N training rows of each set (the suite's sets are in random order, but for
flights' date order), for shards of a given size. On a machine with fewer cores than tasks only
the scores mean anything: the fit times are of tasks sharing cores.
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
    ap.add_argument("--tasks", default="1,2", help="numbers of tasks (n_workers) to compare")
    ap.add_argument("--rows", type=int, default=None, help="keep this many training rows")
    args = ap.parse_args()
    tasks = [int(t) for t in args.tasks.split(",")]
    warnings.simplefilter("ignore")
    import dask
    from distributed import Client, LocalCluster

    from dask_asgd import ASGDClassifier, ASGDRegressor

    with dask.config.set({"distributed.worker.profile.enabled": False}), \
            LocalCluster(n_workers=max(tasks), threads_per_worker=1, processes=False, dashboard_address=None,
                         silence_logs=50, memory_limit=0) as cluster, Client(cluster):
        for name in args.datasets.split(","):
            Xtr, ytr, Xte, yte, is_clf = load(name)
            if args.rows:
                Xtr, ytr = Xtr[:args.rows], ytr[:args.rows]
            cls = ASGDClassifier if is_clf else ASGDRegressor
            cls(max_iter=1, tol=None).fit(Xtr[:200], ytr[:200])  # compile, plugins
            print(f"## {name}: {Xtr.shape[0]} x {Xtr.shape[1]}, medians (scores: means) of {args.seeds} seeds")
            for label, kw in (("defaults (tol=1e-3)", {}), ("5 epochs", {"max_iter": 5, "tol": None})):
                res = {n: ([], [], []) for n in tasks}
                for seed in range(args.seeds):
                    for n in tasks:
                        est = cls(n_workers=n, random_state=seed, **kw)
                        t0 = time.perf_counter()
                        est.fit(Xtr, ytr)
                        res[n][0].append(time.perf_counter() - t0)
                        res[n][1].append(est.score(Xte, yte))
                        res[n][2].append(est.n_iter_)
                parts = []
                for n in tasks:
                    part = (f"{n} task{'s' if n > 1 else ''} {1000 * statistics.median(res[n][0]):.1f} ms, score "
                            f"{statistics.fmean(res[n][1]):.4f}, epochs {statistics.median(res[n][2]):g}")
                    if n != tasks[0] and args.seeds > 1:
                        d = [b - a for a, b in zip(res[tasks[0]][1], res[n][1])]
                        se = statistics.stdev(d) / math.sqrt(len(d))
                        part += f" ({n} - {tasks[0]}: {statistics.fmean(d):+.4f}, standard error {se:.4f})"
                    parts.append(part)
                print(f"{label}:\n    " + "\n    ".join(parts), flush=True)


if __name__ == "__main__":
    main()
