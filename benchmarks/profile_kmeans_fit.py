"""What a one-epoch ASGDKMeans fit spends besides training.

    python benchmarks/profile_kmeans_fit.py [--data fashion|blobs] [--k 10] [--fits 7]
    python benchmarks/profile_kmeans_fit.py --faiss 3 [--faiss-full] [--data ...] [--k ...]

``fashion``: Fashion-MNIST's 70,000 rows; ``blobs``: bench_kmeans.py's 2,000,000 x 50 rows of 100
Gaussian blobs (``--k 100`` there).
In-process cluster of 2 single-thread workers, one shared k-means++ start, ``max_iter=1``,
``compute_labels=False`` (as bench_kmeans.py's ``asgd_auto`` with a budget of one epoch). Prints
the median wall time of ``fit()``, the tasks' training time (``fit_report_.tasks["seconds"]``),
and the client-side functions that take the rest (cProfile over the same fits, cumulative time
per fit).

``--faiss N``: the same for faiss-cpu's ``Kmeans`` of ``N`` iterations on 2 threads from the same
start (``--faiss-full``: on all rows, else on its default sample of 256 rows a centroid), from
faiss's own instrumentation (``iteration_stats``: each iteration's time and the part of it spent
searching the nearest centroids, both counted from the start of training): the rows it trains
on, the time of ``train()``, the time to its last iteration's end, and the search time in it
(medians of ``--fits``).
"""

import argparse
import cProfile
import os
import pstats
import statistics
import time
import warnings



def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", choices=("fashion", "blobs"), default="fashion")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--fits", type=int, default=7)
    ap.add_argument("--faiss", type=int, metavar="N", help="profile faiss's Kmeans of N iterations instead")
    ap.add_argument("--faiss-full", action="store_true", help="faiss on all rows (else its sample)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    import datasets
    import numpy as np
    from distributed import Client, LocalCluster
    from sklearn.cluster import kmeans_plusplus

    from dask_asgd import ASGDKMeans

    if args.data == "fashion":
        X = datasets.fashion_mnist()[0]
    else:
        from sklearn.datasets import make_blobs

        X = make_blobs(n_samples=2_000_000, n_features=50, centers=100, random_state=0)[0]
    init, _ = kmeans_plusplus(X[np.random.RandomState(0).choice(len(X), 20_000, replace=False)], args.k,
                              random_state=0)

    if args.faiss:
        return profile_faiss(X, init, args)

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


def profile_faiss(X, init, args):
    import faiss
    import numpy as np

    faiss.omp_set_num_threads(2)
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    init32 = np.ascontiguousarray(init, dtype=np.float32)
    extra = {"max_points_per_centroid": X.shape[0] // args.k + 1} if args.faiss_full else {}
    rows = min(X.shape[0], args.k * (extra.get("max_points_per_centroid") or 256))
    walls, iters, search = [], [], []
    for i in range(args.fits + 1):
        km = faiss.Kmeans(X.shape[1], args.k, niter=args.faiss, seed=i, verbose=False, **extra)
        t = time.perf_counter()
        km.train(X32, init_centroids=init32)
        wall = time.perf_counter() - t
        st = [km.iteration_stats[j] for j in range(len(km.iteration_stats))]
        if i:  # the first: warm-up
            walls.append(wall)
            iters.append(st[-1]["time"])  # both cumulative, from the start of training
            search.append(st[-1]["time_search"])
    print(f"faiss Kmeans({args.k}), {args.faiss} iterations on {rows:,} of {X.shape[0]:,} rows: train() "
          f"{statistics.median(walls) * 1e3:.1f} ms, to its last iteration's end {statistics.median(iters) * 1e3:.1f} ms, "
          f"of which "
          f"searching the nearest centroids {statistics.median(search) * 1e3:.1f} ms (medians of {args.fits})")


if __name__ == "__main__":
    main()
