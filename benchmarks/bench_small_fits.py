"""Median wall time of small fits: what fixed per-fit costs come to (2 in-process workers).

    python benchmarks/bench_suite.py --datasets flights_reg --methods sklearn-sgd   # once: caches
    python benchmarks/bench_small_fits.py [--dataset flights_reg] [--fits 15] [--epochs 1,2,5]
    python benchmarks/bench_small_fits.py --epochs 4 --fits 21 --syncs auto,none   # settings in turn
    python benchmarks/bench_small_fits.py --dataset breast_cancer --epochs 20 --fits 31

ASGDRegressor (flights_reg) or ASGDClassifier (the other data sets of the suite, and scikit-learn's
bundled breast_cancer (569 x 30) and digits (1,797 x 64), standardized) with the suite's settings (``bench_suite.sgd_params``: log_loss for classification), ``tol=None``,
1, 2 and 5 epochs, --fits fits each (``random_state`` 0..fits-1) on an in-process LocalCluster of
2 (``--workers``) single-thread workers started and warmed up before timing, one fit after
the other (as in a grid search or a ``partial_fit`` loop). Run it on two commits back to back
(e.g. in a git worktree) to compare them: these fits last 0.05-0.12 s and the machine's noise is
of the same order as the differences.
"""

import argparse
import os
import statistics
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_suite import load_cached, sgd_params  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="flights_reg",
                    choices=["flights_reg", "flights_clf", "fashion_mnist", "synthetic_dense", "synthetic_sparse",
                             "breast_cancer", "digits"])
    ap.add_argument("--fits", type=int, default=15)
    ap.add_argument("--epochs", default="1,2,5")
    ap.add_argument("--syncs", default="default",
                    help="sync_interval settings fitted in turn, e.g. auto,none (default: the estimator's)")
    ap.add_argument("--toggle", metavar="KEY", default=None,
                    help="a boolean dask config key, e.g. dask-asgd.submit-one-graph: each setting is "
                    "fitted with it true and false in turn")
    ap.add_argument("--workers", type=int, default=2, help="workers of the cluster, and n_workers")
    args = ap.parse_args()
    syncs = [None if s == "none" else int(s) if s.isdigit() else s for s in args.syncs.split(",")]
    warnings.simplefilter("ignore")
    import dask
    from distributed import Client, LocalCluster

    toggles = [None] if args.toggle is None else [True, False]
    variants = [(sync, tog) for sync in syncs for tog in toggles]

    def label(v):
        sync, tog = v
        parts = ([] if len(syncs) == 1 else [str(sync)]) + ([] if tog is None else [f"{args.toggle}={tog}"])
        return " ".join(parts)

    from dask_asgd import ASGDClassifier, ASGDRegressor

    if args.dataset in ("breast_cancer", "digits"):  # scikit-learn's bundled sets, standardized
        from sklearn import datasets
        from sklearn.preprocessing import StandardScaler

        X, y = getattr(datasets, f"load_{args.dataset}")(return_X_y=True)
        X = StandardScaler().fit_transform(X)
    else:
        X, _, y, _ = load_cached(args.dataset)
    cls = ASGDRegressor if args.dataset == "flights_reg" else ASGDClassifier
    params = sgd_params("regression" if args.dataset == "flights_reg" else "classification")
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=False, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster):
        cls(max_iter=1, tol=None, n_workers=args.workers).fit(X[:2000], y[:2000])
        out = []
        for epochs in [int(e) for e in args.epochs.split(",")]:
            times = {v: [] for v in variants}
            for r in range(args.fits):
                # the settings take turns fit by fit (first one, then the other first)
                for v in (variants if r % 2 == 0 else variants[::-1]):
                    sync, tog = v
                    est = cls(max_iter=epochs, tol=None, random_state=r, n_workers=args.workers, **params,
                              **({} if sync == "default" else {"sync_interval": sync}))
                    with dask.config.set({} if tog is None else {args.toggle: tog}):
                        t0 = time.perf_counter()
                        est.fit(X, y)
                        times[v].append(time.perf_counter() - t0)
            out.append(f"{epochs} epochs " + ", ".join(
                (f"{label(v)}: " if len(variants) > 1 else "") + f"{1000 * statistics.median(t):.1f} ms"
                for v, t in times.items()))
    print(f"{args.dataset}, {args.workers} workers, medians of {args.fits} fits: " + " | ".join(out))


if __name__ == "__main__":
    main()
