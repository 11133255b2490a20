"""Where a fit's wall time goes: a timeline of each fit, and distributed's own floor; for
ASGDKMeans (``--model kmeans``), a profile of one-epoch fits, and faiss's own timings.

This script needs the package's internals, on purpose: it wraps private functions of the fit
(``dask_asgd._fit``, ``dask_asgd._engine.task``, ``dask_asgd.models.linear``) with timestamps,
which no public API gives. It may need changes when those modules change.

    python benchmarks/profile_fit_timeline.py [--data dense|flights_reg|synthetic_sparse] [--epochs 5] [--fits 4] [--sync none]

Fits on an in-process LocalCluster of 2 single-thread workers (one untimed warm-up fit first),
with timestamps written at the steps of a fit (``ensure_plugins``, ``place_in_memory``, the
submit-and-wait loop ``_watch``, each task's start, the end of its shard's preparation and its
end): milliseconds since ``fit()`` was called. ``dense`` is make_classification(1,000,000, 100)
(log_loss); ``flights_reg`` and ``synthetic_sparse`` the suite's cached sets (run the suite on them
once; the sparse one with log_loss, as the suite fits it), ``--sklearn``
also times scikit-learn's SGD for the same epochs on the same data (one thread).
Then distributed's floor on the same cluster: two no-op tasks submitted, their start and their
gathered result, medians of 30.

``--model kmeans``: what a one-epoch ASGDKMeans fit spends besides training.

    python benchmarks/profile_fit_timeline.py --model kmeans [--data fashion|blobs] [--k 10] [--fits 7]
    python benchmarks/profile_fit_timeline.py --model kmeans --faiss 3 [--faiss-full] [--data ...] [--k ...]

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
import statistics
import time
import warnings


def _noop(t0):
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="linear", choices=["linear", "kmeans"])
    ap.add_argument("--data", default=None, help="linear: dense (default), flights_reg, synthetic_sparse; "
                    "kmeans: fashion (default), blobs")
    ap.add_argument("--k", type=int, default=10, help="kmeans: n_clusters")
    ap.add_argument("--faiss", type=int, metavar="N", help="kmeans: profile faiss's Kmeans of N iterations instead")
    ap.add_argument("--faiss-full", action="store_true", help="kmeans: faiss on all rows (else its sample)")
    ap.add_argument("--sklearn", action="store_true", help="also time scikit-learn's SGD, the same epochs")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--fits", type=int, default=None, help="fits to time (default 4; kmeans 7)")
    ap.add_argument("--sync", default="none", help="sync_interval: none, auto or an integer")
    ap.add_argument("--workers", type=int, default=2, help="workers of the cluster and training tasks; "
                    "past 2 each fit's line gives the first and last of each mark")
    args = ap.parse_args()
    if args.model == "kmeans":
        args.data, args.fits = args.data or "fashion", args.fits or 7
        if args.data not in ("fashion", "blobs"):
            ap.error("--model kmeans takes --data fashion or blobs")
        return profile_kmeans(args)
    args.data, args.fits = args.data or "dense", args.fits or 4
    if args.data not in ("dense", "flights_reg", "synthetic_sparse"):
        ap.error("--data: dense, flights_reg or synthetic_sparse")
    warnings.simplefilter("ignore")

    from distributed import Client, LocalCluster

    import dask_asgd._engine.task as E
    import dask_asgd._fit as F
    import dask_asgd.linear_model as L
    import dask_asgd.models.linear as T
    from dask_asgd import ASGDClassifier, ASGDRegressor

    marks = []  # (label, time.monotonic()); the tasks run in this process (in-process cluster)
    T._timeline = marks  # the wrappers append through the module: the task's copy is unpickled

    def wrap(module, name, label=None):
        inner = getattr(module, name)

        def wrapped(*a, **k):  # the task's copy is unpickled in this process: T is this module
            T._timeline.append(((label or name) + " >", time.monotonic()))
            try:
                return inner(*a, **k)
            finally:
                T._timeline.append(((label or name) + " <", time.monotonic()))

        setattr(module, name, wrapped)

    for name in ("ensure_plugins", "place_in_memory", "_watch"):
        wrap(F, name)
    wrap(E, "train_task", "task")  # the task imports it from its module where it runs: in this process
    wrap(T, "prepare_shard", "prepare")
    L.run_fit = F.run_fit

    if args.data == "dense":
        from sklearn.datasets import make_classification

        X, y = make_classification(1_000_000, 100, n_informative=20, random_state=0)
    else:
        from datasets import load_cached  # benchmarks/ is sys.path[0] when run as a script

        X, _, y, _ = load_cached(args.data)
    if args.data == "flights_reg":
        make = lambda r: ASGDRegressor(max_iter=args.epochs, tol=None, sync_interval=si, random_state=r,  # noqa: E731
                                       n_workers=args.workers)
    else:
        make = lambda r: ASGDClassifier(loss="log_loss", max_iter=args.epochs, tol=None, sync_interval=si,  # noqa: E731
                                        random_state=r, n_workers=args.workers)
    si = None if args.sync == "none" else args.sync if args.sync == "auto" else int(args.sync)
    print(f"# {args.data}, {args.epochs} epochs, sync_interval={si}, {args.workers} tasks; ms since fit() was called")
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=False, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster) as client:
        make(0).fit(X[::50], y[::50])
        gaps, tails, fits, prepared = [], [], [], []
        for r in range(args.fits):
            marks.clear()
            t0 = time.monotonic()
            make(r).fit(X, y)
            end = time.monotonic()
            if args.workers <= 2:
                line = " | ".join(f"{n} {1000 * (t - t0):.1f}" for n, t in marks)
            else:  # the first and the last time of each mark, in the order they first came
                names = list(dict.fromkeys(n for n, _ in marks))
                line = " | ".join(f"{n} {1000 * (min(t for m, t in marks if m == n) - t0):.1f}"
                                  f"-{1000 * (max(t for m, t in marks if m == n) - t0):.1f}" for n in names)
            print(line + f" | fit returned {1000 * (end - t0):.1f}")
            starts = [t for n, t in marks if n == "prepare >"]
            if starts:  # from the first task's start of preparation to the last task's end of it
                prepared.append(1000 * (max(t for n, t in marks if n == "prepare <") - min(starts)))
            ends = sorted(t for n, t in marks if n == "task <")
            if len(ends) == args.workers:
                gaps.append(1000 * (ends[-1] - ends[0]))
                tails.append(1000 * (end - ends[-1]))
            fits.append(1000 * (end - t0))
        if gaps:
            print(f"medians of {len(fits)} fits: fit {statistics.median(fits):.1f} ms; the first and last tasks end "
                  f"{statistics.median(gaps):.1f} ms apart; fit returns {statistics.median(tails):.1f} ms after the last; "
                  f"the shards' preparation (first start to last end) {statistics.median(prepared):.1f} ms")
        if args.sklearn:
            from sklearn.linear_model import SGDClassifier, SGDRegressor

            est = SGDRegressor if args.data == "flights_reg" else SGDClassifier
            kw = {} if args.data == "flights_reg" else {"loss": "log_loss"}
            sk = []
            for r in range(args.fits):
                t0 = time.monotonic()
                est(max_iter=args.epochs, tol=None, random_state=r, **kw).fit(X, y)
                sk.append(1000 * (time.monotonic() - t0))
            print(f"scikit-learn's SGD, the same {args.epochs} epochs: {statistics.median(sk):.1f} ms "
                  f"(median of {len(sk)}); dask-asgd's fit {statistics.median(fits):.1f} ms, "
                  f"{statistics.median(fits) / statistics.median(sk):.3f} of it")
        workers = sorted(client.nthreads())
        start, done = [], []
        for _ in range(30):
            t0 = time.monotonic()
            futs = [client.submit(_noop, t0, workers=[w], pure=False, allow_other_workers=False) for w in workers]
            started = client.gather(futs)
            start.append(max(started))
            done.append(time.monotonic() - t0)
        print(f"distributed's floor: {len(workers)} no-op tasks start {1000 * statistics.median(start):.1f} ms after submit, "
              f"results gathered at {1000 * statistics.median(done):.1f} ms (medians of 30)")


def profile_kmeans(args):
    """``--model kmeans``: see the module's docstring."""
    import cProfile
    import os
    import pstats

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
