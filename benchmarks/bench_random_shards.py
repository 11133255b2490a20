"""Exchange on shards split at random: what a publish every 5 ms, every 50 ms and none cost and give.

    python benchmarks/bench_random_shards.py [--repeats 8] [--rows 1000000] [--epochs 5]

Dense float64 synthetic data (make_classification, 100 features), log_loss, --epochs, on an
in-process LocalCluster of 2 single-thread workers (in-memory input: the fit splits it at random).
One task, then two tasks with sync_interval="auto" and ``dask-asgd.balance.min-publish-period-
random-shards`` set to 0.005 s and to 0.05 s (the default), and two tasks without exchange,
interleaved repeat by repeat. Prints the median fit time, its ratio to one task's, the held-out log
loss (the last 200,000 rows) and the states sent and merged.
"""

import argparse
import statistics
import time
import warnings


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=8)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--epochs", type=int, default=5)
    args = ap.parse_args()

    import dask
    from distributed import Client, LocalCluster
    from sklearn.datasets import make_classification
    from sklearn.metrics import log_loss

    from dask_asgd import ASGDClassifier

    warnings.simplefilter("ignore")
    X, y = make_classification(args.rows + 200_000, 100, n_informative=20, random_state=0)
    Xte, yte, X, y = X[args.rows:], y[args.rows:], X[: args.rows], y[: args.rows]
    runs = [("1 task", 1, "auto", 0.05), ("2 tasks, auto, 5 ms", 2, "auto", 0.005),
            ("2 tasks, auto, 50 ms", 2, "auto", 0.05), ("2 tasks, no exchange", 2, None, 0.05)]
    res: dict = {}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster):
        ASGDClassifier(n_workers=2, max_iter=1, loss="log_loss", tol=None).fit(X[:5000], y[:5000])
        for rep in range(args.repeats):
            for name, nw, si, period in runs:
                with dask.config.set({"dask-asgd.balance.min-publish-period-random-shards": period}):
                    est = ASGDClassifier(n_workers=nw, max_iter=args.epochs, loss="log_loss", tol=None, sync_interval=si,
                                         random_state=rep)
                    t0 = time.perf_counter()
                    est.fit(X, y)
                    sec = time.perf_counter() - t0
                t = est.fit_report_.tasks
                res.setdefault(name, []).append((sec, log_loss(yte, est.predict_proba(Xte)), t["sent"].sum(),
                                                 t["merged"].sum()))
    print(f"# {args.rows:,} x 100 dense, {args.epochs} epochs, 2 in-process workers; medians of {args.repeats}")
    one = statistics.median(v[0] for v in res["1 task"])
    for name, _, _, _ in runs:
        med = [statistics.median(v[i] for v in res[name]) for i in range(4)]
        print(f"{name:22s} fit {med[0]:.3f} s  one task / this {one / med[0]:.2f}x  held-out log loss "
              f"{med[1]:.4f}  sent {med[2]:.0f}  merged {med[3]:.0f}")


if __name__ == "__main__":
    main()
