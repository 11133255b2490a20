"""What a one-epoch ASGDKMeans fit on Fashion-MNIST (k=10) spends besides training.

    python benchmarks/profile_kmeans_fit.py [--k 10] [--fits 7]

In-process cluster of 2 single-thread workers, one shared k-means++ start, ``max_iter=1``,
``compute_labels=False`` (as bench_kmeans.py's ``asgd_auto`` with a budget of one epoch). Prints
the median wall time of ``fit()``, the tasks' training time (``fit_report_.tasks["seconds"]``),
and the client-side functions that take the rest (cProfile over the same fits, cumulative time
per fit).
"""

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--fits", type=int, default=7)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    import datasets
    import numpy as np
    from distributed import Client, LocalCluster
    from sklearn.cluster import kmeans_plusplus

    from dask_asgd import ASGDKMeans

    X = datasets.fashion_mnist()[0]
    init, _ = kmeans_plusplus(X[np.random.RandomState(0).choice(len(X), 20_000, replace=False)], args.k,
                              random_state=0)

    def fit():
        return ASGDKMeans(args.k, init=init, n_init=1, max_iter=1, tol=0, compute_labels=False,
                          random_state=0).fit(X)

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cl, Client(cl):
        for _ in range(3):  # warm-up: compiled kernels loaded, first-fit costs paid
            fit()
        walls, trains = [], []
        profile = cProfile.Profile()
        for _ in range(args.fits):
            t = time.perf_counter()
            profile.enable()
            km = fit()
            profile.disable()
            walls.append(time.perf_counter() - t)
            trains.append(float(km.fit_report_.tasks["seconds"].max()))
    print(f"fit() wall {statistics.median(walls) * 1e3:.1f} ms, the tasks' training "
          f"{statistics.median(trains) * 1e3:.1f} ms (medians of {args.fits})")
    stats = pstats.Stats(profile).sort_stats("cumulative")
    print("client side, ms a fit (cumulative):")
    for (path, line, name), (_, _, _, cum, _) in sorted(stats.stats.items(), key=lambda kv: -kv[1][3]):
        if "dask_asgd" in path and cum / args.fits > 1e-3:
            print(f"  {os.path.relpath(path, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))}"
                  f":{line}({name}) {cum / args.fits * 1e3:.1f}")


if __name__ == "__main__":
    main()
