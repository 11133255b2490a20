"""How many tasks ``n_workers=None`` should train with: one per thread, or fewer on small data.

    python benchmarks/bench_suite.py --datasets fashion_mnist,flights_clf,flights_reg --methods sklearn-sgd  # caches
    python benchmarks/bench_default_tasks.py [--workers 16] [--seeds 9]

On an in-process cluster of ``--workers`` single-thread workers (default: one per core), fits
every set with ``n_workers=None`` in turn, seed by seed, under two settings: "capped" (the
default: at most one task per ``dask-asgd.default-tasks.min-rows`` rows and per ``min-work`` of an
epoch's work, at least 2) and "one per thread" (both limits 0: one task per worker thread). The estimators' defaults (``tol=1e-3``: fits stop when
the loss stops improving) and 5 epochs (``tol=None``). Prints per setting the tasks, the median
fit time, the mean held-out score (accuracy, R^2) and the seed-by-seed difference. Data:
scikit-learn's breast_cancer and digits, the suite's Fashion-MNIST (its first 2,000 and 10,000
training rows, and all 60,000) and flights sets. On a machine with fewer cores than workers only
the scores mean anything: the fit times are of tasks sharing cores.
"""

import argparse
import os
import statistics
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from probe_small_data_tasks import fit_in_turns, paired_difference, small_sets, thread_cluster  # noqa: E402

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
    print(f"# {args.workers} in-process single-thread workers on {os.cpu_count()} cores; "
          f"means of the scores, medians of the times, {args.seeds} seeds")
    settings = {name: ({}, cfg) for name, cfg in SETTINGS.items()}
    with thread_cluster(args.workers):
        for spec, Xtr, ytr, Xte, yte, cls in small_sets(args.datasets):
            print(f"## {spec}: {Xtr.shape[0]} x {Xtr.shape[1]}")
            for label, kw in (("defaults (tol=1e-3)", {}), ("5 epochs", {"max_iter": 5, "tol": None})):
                res = fit_in_turns(cls, settings, args.seeds, Xtr, ytr, Xte, yte, **kw)
                parts = [f"{name}: {statistics.median(r['tasks']):g} tasks, "
                         f"{1000 * statistics.median(r['seconds']):.1f} ms, score {statistics.fmean(r['score']):.4f}, "
                         f"epochs {statistics.median(r['n_iter']):g}" for name, r in res.items()]
                mean, se = paired_difference(res["capped"]["score"], res["one per thread"]["score"])
                print(f"{label}: " + " | ".join(parts)
                      + f" | capped - one per thread {mean:+.4f} (standard error {se:.4f})", flush=True)

if __name__ == "__main__":
    main()
