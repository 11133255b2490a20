"""Where a fit's wall time goes: a timeline of each fit, and distributed's own floor.

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
"""

import argparse
import statistics
import time
import warnings


def _noop(t0):
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="dense", choices=["dense", "flights_reg", "synthetic_sparse"])
    ap.add_argument("--sklearn", action="store_true", help="also time scikit-learn's SGD, the same epochs")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--fits", type=int, default=4)
    ap.add_argument("--sync", default="none", help="sync_interval: none, auto or an integer")
    ap.add_argument("--workers", type=int, default=2, help="workers of the cluster and training tasks; "
                    "past 2 each fit's line gives the first and last of each mark")
    args = ap.parse_args()
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


if __name__ == "__main__":
    main()
