"""Dask collections whose partitions are in order: what the shards' class mix costs, what the
exchange and a shuffle across partitions give back.

    python benchmarks/bench_suite.py --datasets fashion_mnist,flights_clf --methods sklearn-sgd   # once: caches
    python benchmarks/bench_partition_order.py [--repeats 5] [--epochs 5] [--processes]

A Dask collection is trained where its partitions live. Two layouts of the training rows as a
dask array of 4 row blocks on an in-process cluster of 2 single-thread workers (``--processes``: 2
worker processes), persisted, the
first half of the rows on one worker and the second half on the other (a collection loaded in
order): ``in order`` as stored (Fashion-MNIST sorted by class, the extreme case of a
collection written class by class; the flights in date order, a mild seasonal drift), and
``shuffled``, the same collection after ``X[idx], y[idx]`` with a random permutation ``idx``
(the shuffle docs/usage.md recommends; its time is printed). ``numpy`` is the in-memory array,
which dask-asgd itself splits at random. Settings: sync_interval "auto" and None (no exchange,
the average at the end), log_loss, ``max_iter=--epochs``, ``tol=None``. Prints the median
held-out accuracy and log loss, the fit time, the shards' class-mix distance
(``fit_report_.class_skew``) and whether fit warned about it.
"""

import argparse
import os
import statistics
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_suite import load_cached  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--datasets", default="fashion_mnist,flights_clf")
    ap.add_argument("--settings", default="auto,none", help="sync_interval values: auto, none, integers")
    ap.add_argument("--layouts", default="in order,shuffled,numpy")
    ap.add_argument("--no-parzen", action="store_true", help="merge every state received (parzen=False)")
    ap.add_argument("--processes", action="store_true", help="2 worker processes instead of in-process workers")
    args = ap.parse_args()

    import dask.array as da
    from distributed import Client, LocalCluster, wait
    from sklearn.metrics import accuracy_score, log_loss

    from dask_asgd import ASGDClassifier

    kind = "worker processes" if args.processes else "in-process workers"
    print(f"# {args.epochs} epochs, log_loss, 2 {kind}; medians of {args.repeats}")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=args.processes, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster) as client:
        for name in args.datasets.split(","):
            X, Xte, y, yte = load_cached(name)
            if name == "fashion_mnist":  # as if written class by class
                order = np.argsort(y, kind="stable")
                X, y = X[order], y[order]
            n = X.shape[0]
            ASGDClassifier(max_iter=1, tol=None).fit(X[::50], y[::50])  # compile, plugins
            half = n // 2
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # distributed: the graph holds the in-memory data
                parts = []
                for worker, rows in zip(sorted(client.nthreads()), (slice(0, half), slice(half, n))):
                    parts.append(client.persist([da.from_array(X[rows], chunks=(-(-half // 2), X.shape[1]),
                                                               asarray=False),
                                                 da.from_array(y[rows], chunks=-(-half // 2))], workers=[worker]))
                dX = da.concatenate([p[0] for p in parts])
                dy = da.concatenate([p[1] for p in parts])
                wait([dX, dy])
            print(f"## {name}: {n:,} training rows")

            def shuffled():
                # after the fits in order: the shuffle copies blocks between the workers
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    t0 = time.perf_counter()
                    idx = np.random.default_rng(0).permutation(n)
                    sX, sy = client.persist([dX[idx], dy[idx]])  # the shuffle across partitions
                    wait([sX, sy])
                print(f"(the shuffle across partitions took {time.perf_counter() - t0:.2f} s)")
                return sX, sy

            layouts = {"in order": lambda: (dX, dy), "shuffled": shuffled, "numpy": lambda: (X, y)}
            settings = [None if v == "none" else v if v == "auto" else int(v) for v in args.settings.split(",")]
            for layout in args.layouts.split(","):
                Xi, yi = layouts[layout]()
                for si in settings:
                    rows = []
                    for r in range(args.repeats):
                        est = ASGDClassifier(loss="log_loss", max_iter=args.epochs, tol=None, sync_interval=si,
                                             parzen=not args.no_parzen, random_state=r)
                        with warnings.catch_warnings(record=True) as caught:
                            warnings.simplefilter("always")
                            t0 = time.perf_counter()
                            est.fit(Xi, yi)
                            sec = time.perf_counter() - t0
                        warned = any("class mixes" in str(w.message) for w in caught)
                        rows.append((sec, accuracy_score(yte, est.predict(Xte)),
                                     log_loss(yte, est.predict_proba(Xte), labels=est.classes_),
                                     est.fit_report_.class_skew, warned))
                    med = [statistics.median(v[i] for v in rows) for i in range(4)]
                    print(f"{layout:9s} sync_interval={str(si):5s} accuracy {med[1]:.4f}  log loss {med[2]:.4f}  "
                          f"fit {med[0]:.2f} s  class-mix distance {med[3]:.3f}  warned {sum(v[4] for v in rows)}/"
                          f"{len(rows)}", flush=True)


if __name__ == "__main__":
    main()
