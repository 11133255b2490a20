"""How many tasks ``n_workers=None`` should train with: one per thread, or fewer on small data.

    python benchmarks/bench_suite.py --datasets fashion_mnist,flights_clf,flights_reg --methods sklearn-sgd  # caches
    python benchmarks/bench_default_tasks.py [--workers 16] [--seeds 9]

On an in-process cluster of ``--workers`` single-thread workers (default: one per core), fits
every set with ``n_workers=None`` in turn, seed by seed, under two settings: "capped" (the
default: at most one task per ``dask-asgd.default-tasks.min-rows`` rows and per ``min-work`` of an
epoch's work, at least 2) and "one per thread" (both limits 0: one task per worker thread, the
behaviour before the thirteenth session). The estimators' defaults (``tol=1e-3``: fits stop when
the loss stops improving) and 5 epochs (``tol=None``). Prints per setting the tasks, the median
fit time, the mean held-out score (accuracy, R^2) and the seed-by-seed difference. Data:
scikit-learn's breast_cancer and digits, the suite's Fashion-MNIST (its first 2,000 and 10,000
training rows, and all 60,000) and flights sets. On a machine with fewer cores than workers only
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

SETTINGS = {"capped": {}, "one per thread": {"dask-asgd.default-tasks.min-rows": 0,
                                             "dask-asgd.default-tasks.min-work": 0}}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seeds", type=int, default=9)
    ap.add_argument("--datasets", default="breast_cancer,digits,fashion_mnist:2000,fashion_mnist:10000,"
                                          "fashion_mnist,flights_clf,flights_reg",
                    help="comma-separated; NAME:N keeps the first N training rows")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    import dask
    from distributed import Client, LocalCluster

    from dask_asgd import ASGDClassifier, ASGDRegressor

    print(f"# {args.workers} in-process single-thread workers on {os.cpu_count()} cores; "
          f"means of the scores, medians of the times, {args.seeds} seeds")
    with dask.config.set({"distributed.worker.profile.enabled": False}), \
            LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=False, dashboard_address=None,
                         silence_logs=50, memory_limit=0) as cluster, Client(cluster):
        for spec in args.datasets.split(","):
            name, _, rows = spec.partition(":")
            Xtr, ytr, Xte, yte, is_clf = load(name)
            if rows:
                Xtr, ytr = Xtr[:int(rows)], ytr[:int(rows)]
            cls = ASGDClassifier if is_clf else ASGDRegressor
            cls(max_iter=1, tol=None).fit(Xtr[:200], ytr[:200])  # compile, plugins
            print(f"## {spec}: {Xtr.shape[0]} x {Xtr.shape[1]}")
            for label, kw in (("defaults (tol=1e-3)", {}), ("5 epochs", {"max_iter": 5, "tol": None})):
                res = {s: ([], [], [], []) for s in SETTINGS}
                for seed in range(args.seeds):
                    for setting, cfg in SETTINGS.items():
                        with dask.config.set(cfg):
                            est = cls(random_state=seed, **kw)
                            t0 = time.perf_counter()
                            est.fit(Xtr, ytr)
                            res[setting][0].append(time.perf_counter() - t0)
                        res[setting][1].append(est.score(Xte, yte))
                        res[setting][2].append(est.n_iter_)
                        res[setting][3].append(len(est.fit_report_.tasks))
                parts = []
                for setting in SETTINGS:
                    t, sc, ep, nt = res[setting]
                    parts.append(f"{setting}: {statistics.median(nt):g} tasks, {1000 * statistics.median(t):.1f} ms, "
                                 f"score {statistics.fmean(sc):.4f}, epochs {statistics.median(ep):g}")
                a, b = res["capped"][1], res["one per thread"][1]
                d = [x - y for x, y in zip(a, b)]
                se = statistics.stdev(d) / math.sqrt(len(d)) if len(d) > 1 else float("nan")
                print(f"{label}: " + " | ".join(parts)
                      + f" | capped - one per thread {statistics.fmean(d):+.4f} (standard error {se:.4f})", flush=True)


if __name__ == "__main__":
    main()
