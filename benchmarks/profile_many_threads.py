"""Back-to-back fits on an in-process cluster of many single-thread workers, to profile who holds
the interpreter lock when many training tasks share one process.

    python benchmarks/profile_many_threads.py --tasks 16 --sync none --seconds 15
    py-spy record --gil -r 100 --format raw -o gil.raw -- python benchmarks/profile_many_threads.py ...

Data: ``bench_scaling.make_block`` rows (dense float64, 100 features), ``--rows`` of them; fits of
``ASGDClassifier(loss="log_loss", max_iter=5, tol=None)`` for ``--seconds``; prints the fits made
and the median fit time. With ``py-spy --gil`` the samples are those of the thread holding the
lock: their number over rate x seconds is the share of time the lock was held.
"""

import argparse
import os
import statistics
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", type=int, default=16)
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--sync", default="none")
    ap.add_argument("--seconds", type=float, default=15.0)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    from bench_scaling import make_block
    from distributed import Client, LocalCluster

    from dask_asgd import ASGDClassifier

    X, y = make_block(0, args.rows)
    sync = None if args.sync == "none" else (args.sync if args.sync == "auto" else int(args.sync))
    with LocalCluster(n_workers=args.tasks, threads_per_worker=1, processes=False, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster):
        ASGDClassifier(n_workers=args.tasks, max_iter=1, tol=None).fit(X[:20000], y[:20000])
        times = []
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < args.seconds:
            t = time.perf_counter()
            ASGDClassifier(loss="log_loss", max_iter=5, tol=None, n_workers=args.tasks, sync_interval=sync,
                           random_state=len(times)).fit(X, y)
            times.append(time.perf_counter() - t)
        print(f"{args.tasks} tasks, sync {args.sync}: {len(times)} fits, median {statistics.median(times):.3f} s",
              flush=True)


if __name__ == "__main__":
    main()
