"""What the exchange costs a fit of a Dask collection whose partitions are a random sample each.

    python benchmarks/bench_suite.py --datasets fashion_mnist --methods sklearn-sgd   # once: caches
    python benchmarks/probe_collection_exchange_cost.py [--fits 7] [--periods 0.005,0.02]

A Dask collection is trained where its partitions live, and "auto" exchanges there (the shards
may differ; in-memory input, split at random by fit, is trained apart). Fashion-MNIST's training
rows in a random order as a dask array of 4 blocks, persisted 2 blocks per worker on an
in-process cluster of 2 single-thread workers; ``sync_interval="auto"`` and None (no exchange)
in turn, log_loss, 5 epochs, ``random_state`` = the fit's number; "auto" once per value of
``--periods`` (``dask-asgd.balance.min-publish-period``: how often "auto" publishes at most;
default: the configured one). Prints medians of the fit time, the longer task's time, states
sent and merged, held-out accuracy.
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
    ap.add_argument("--fits", type=int, default=7)
    ap.add_argument("--periods", default=None, help="comma-separated seconds, e.g. 0.005,0.02")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    import dask
    import dask.array as da
    from distributed import Client, LocalCluster, wait

    from dask_asgd import ASGDClassifier

    periods = [float(p) for p in args.periods.split(",")] if args.periods else [None]
    Xtr, Xte, ytr, yte = load_cached("fashion_mnist")
    idx = np.random.default_rng(0).permutation(len(ytr))
    X, y = Xtr[idx], ytr[idx]
    with dask.config.set({"distributed.worker.profile.enabled": False}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                         silence_logs=50) as cluster, Client(cluster) as client:
        workers = list(client.scheduler_info()["workers"])
        half = len(y) // 2
        parts = []
        for i, w in enumerate(workers):
            rows = slice(i * half, (i + 1) * half)
            parts.append(client.persist([da.from_array(X[rows], chunks=(-(-half // 2), X.shape[1])),
                                         da.from_array(y[rows], chunks=-(-half // 2))], workers=[w]))
        dX = da.concatenate([p[0] for p in parts])
        dy = da.concatenate([p[1] for p in parts])
        wait([dX, dy])
        ASGDClassifier(loss="log_loss", max_iter=1, tol=None).fit(dX, dy)  # compile, plugins
        res = {}
        for r in range(args.fits):
            for sync, period in [("auto", p) for p in periods] + [(None, None)]:
                clf = ASGDClassifier(loss="log_loss", max_iter=5, tol=None, random_state=r, sync_interval=sync)
                cfg = {} if period is None else {"dask-asgd.balance.min-publish-period": period}
                with dask.config.set(cfg):
                    t0 = time.perf_counter()
                    clf.fit(dX, dy)
                    dt = time.perf_counter() - t0
                if sync is not None and period is not None:
                    sync = f"auto, {period:g} s"
                t = clf.fit_report_.tasks
                res.setdefault(sync, []).append((dt, float(t["seconds"].max()), int(t["sent"].sum()),
                                                 int(t["merged"].sum()), clf.score(Xte, yte)))
        for sync, v in res.items():
            med = [statistics.median(x[i] for x in v) for i in range(5)]
            print(f"sync_interval={sync!s:12s}: fit {med[0]:.3f} s, longer task {med[1]:.3f} s, states sent {med[2]:g}, "
                  f"merged {med[3]:g}, held-out accuracy {med[4]:.4f}  (medians of {args.fits})")


if __name__ == "__main__":
    main()
