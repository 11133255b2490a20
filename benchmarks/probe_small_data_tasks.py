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
import contextlib
import math
import os
import statistics
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_no_client import load  # noqa: E402


@contextlib.contextmanager
def thread_cluster(n_workers):
    """A Client on an in-process cluster of ``n_workers`` single-thread workers, profiler off."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.worker.profile.enabled": False}), \
            LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=False, dashboard_address=None,
                         silence_logs=50, memory_limit=0) as cluster, Client(cluster) as client:
        yield client


def small_sets(specs, rows=None):
    """``(spec, Xtr, ytr, Xte, yte, estimator class)`` for each of ``specs`` ("name", or "name:N" for
    the first N training rows; ``rows`` for every set), the estimator warmed up on the cluster."""
    from dask_asgd import ASGDClassifier, ASGDRegressor

    for spec in specs.split(","):
        name, _, n = spec.partition(":")
        Xtr, ytr, Xte, yte, is_clf = load(name)
        keep = int(n) if n else rows
        if keep:
            Xtr, ytr = Xtr[:keep], ytr[:keep]
        cls = ASGDClassifier if is_clf else ASGDRegressor
        cls(max_iter=1, tol=None).fit(Xtr[:200], ytr[:200])  # compile, plugins
        yield spec, Xtr, ytr, Xte, yte, cls


def fit_in_turns(cls, settings, seeds, Xtr, ytr, Xte, yte, **kw):
    """Seed by seed, every setting in turn: ``settings`` maps a name to ``(estimator keywords,
    dask config)``. Returns name -> {"seconds", "score", "n_iter", "tasks": one list each}."""
    import dask

    res = {name: {"seconds": [], "score": [], "n_iter": [], "tasks": []} for name in settings}
    for seed in range(seeds):
        for name, (params, cfg) in settings.items():
            with dask.config.set(cfg):
                est = cls(random_state=seed, **params, **kw)
                t0 = time.perf_counter()
                est.fit(Xtr, ytr)
                res[name]["seconds"].append(time.perf_counter() - t0)
            res[name]["score"].append(est.score(Xte, yte))
            res[name]["n_iter"].append(est.n_iter_)
            res[name]["tasks"].append(len(est.fit_report_.tasks))
    return res


def paired_difference(a, b):
    """Mean and standard error of ``a[i] - b[i]``."""
    d = [x - y for x, y in zip(a, b)]
    return statistics.fmean(d), (statistics.stdev(d) / math.sqrt(len(d)) if len(d) > 1 else float("nan"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=9)
    ap.add_argument("--datasets", default="breast_cancer,digits,flights_clf,flights_reg")
    ap.add_argument("--tasks", default="1,2", help="numbers of tasks (n_workers) to compare")
    ap.add_argument("--rows", type=int, default=None, help="keep this many training rows")
    args = ap.parse_args()
    tasks = [int(t) for t in args.tasks.split(",")]
    warnings.simplefilter("ignore")
    settings = {n: ({"n_workers": n}, {}) for n in tasks}
    with thread_cluster(max(tasks)):
        for name, Xtr, ytr, Xte, yte, cls in small_sets(args.datasets, args.rows):
            print(f"## {name}: {Xtr.shape[0]} x {Xtr.shape[1]}, medians (scores: means) of {args.seeds} seeds")
            for label, kw in (("defaults (tol=1e-3)", {}), ("5 epochs", {"max_iter": 5, "tol": None})):
                res = fit_in_turns(cls, settings, args.seeds, Xtr, ytr, Xte, yte, **kw)
                parts = []
                for n in tasks:
                    r = res[n]
                    part = (f"{n} task{'s' if n > 1 else ''} {1000 * statistics.median(r['seconds']):.1f} ms, score "
                            f"{statistics.fmean(r['score']):.4f}, epochs {statistics.median(r['n_iter']):g}")
                    if n != tasks[0] and args.seeds > 1:
                        mean, se = paired_difference(r["score"], res[tasks[0]]["score"])
                        part += f" ({n} - {tasks[0]}: {mean:+.4f}, standard error {se:.4f})"
                    parts.append(part)
                print(f"{label}:\n    " + "\n    ".join(parts), flush=True)

if __name__ == "__main__":
    main()
