"""Throughput of one and two training tasks against scikit-learn's SGDClassifier, same run.

    python benchmarks/bench_throughput.py [--rows 1000000] [--features 100] [--epochs 5] [--repeats 3] [--no-profiler]

Dense float64 synthetic data (make_classification), log_loss, L2, 'optimal' schedule, a fixed
number of epochs (tol=None) for every method. Prints samples/s (training samples processed per
second of fit time), held-out log loss and accuracy, medians over the repeats, and the ratios the
targets are stated in. dask-asgd runs on an in-process LocalCluster with 2 single-thread workers,
started once before timing; its fit time includes placement and gathering. Its three settings
take turns fit by fit (round r fits one task, two tasks, two without exchange, all with seed r),
so that a slow spell of the machine falls on all of them; the two-task / one-task ratio is also
given round by round.
``--no-profiler``: that cluster runs without distributed's worker profiler, as the cluster fit
starts for itself when there is no Client.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import warnings



def throughput_data(rows: int, features: int):
    """``(Xtr, ytr, Xte, yte)``: make_classification, ``rows`` to train and a fifth as many held out."""
    from sklearn.datasets import make_classification

    n_test = max(1, rows // 5)
    X, y = make_classification(rows + n_test, features, n_informative=features // 5, random_state=0)
    return X[:rows], y[:rows], X[rows:], y[rows:]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--features", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default=None, help="write the raw results here")
    ap.add_argument("--no-profiler", action="store_true",
                    help="start the cluster without distributed's worker profiler (as fit's own cluster)")
    args = ap.parse_args()

    from distributed import Client, LocalCluster
    from sklearn.linear_model import SGDClassifier
    from sklearn.metrics import accuracy_score, log_loss
    from threadpoolctl import threadpool_limits

    from dask_asgd import ASGDClassifier

    warnings.simplefilter("ignore")
    Xtr, ytr, Xte, yte = throughput_data(args.rows, args.features)
    samples = args.rows * args.epochs
    common = dict(loss="log_loss", max_iter=args.epochs, tol=None)

    def fit_one(name, est, r):
        t0 = time.perf_counter()
        est.fit(Xtr, ytr)
        wall = time.perf_counter() - t0
        # scored with BLAS on one thread: a multi-threaded BLAS call leaves its threads spinning
        # on the cores for ~0.1 s after it returns, which would fall on the next timed fit
        with threadpool_limits(limits=1, user_api="blas"):
            p = est.predict_proba(Xte)
            acc = accuracy_score(yte, est.predict(Xte))
        row = {"method": name, "repeat": r, "fit_seconds": wall, "samples_per_s": samples / wall,
               "log_loss": log_loss(yte, p), "accuracy": acc}
        rep = getattr(est, "fit_report_", None)
        if rep is not None:
            row["train_seconds"] = rep.seconds
            row["train_samples_per_s"] = rep.samples_per_second
        return row

    def summary(name, rows):
        med = {k: statistics.median(r[k] for r in rows) for k in rows[0] if k not in ("method", "repeat")}
        print(f"{name:28s} fit {med['fit_seconds']:7.2f} s  {med['samples_per_s'] / 1e6:6.2f} M samples/s  "
              f"held-out log loss {med['log_loss']:.4f}  accuracy {med['accuracy']:.4f}"
              + (f"  (training loop alone: {med['train_samples_per_s'] / 1e6:.2f} M samples/s)"
                 if "train_samples_per_s" in med else ""), flush=True)
        return med, rows

    def run(name, make):
        return summary(name, [fit_one(name, make(r), r) for r in range(args.repeats)])

    print(f"# {args.rows:,} x {args.features} dense float64, {args.epochs} epochs, log_loss; "
          f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}; medians of {args.repeats}"
          + ("; worker profiler off" if args.no_profiler else ""))
    results = {}
    results["sklearn"] = run("sklearn SGDClassifier", lambda r: SGDClassifier(random_state=r, **common))
    import dask

    with dask.config.set({"distributed.worker.profile.enabled": not args.no_profiler}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                               silence_logs=50)
    with cluster, Client(cluster):
        # compile once (numba caches to disk; this keeps the first repeat honest)
        ASGDClassifier(n_workers=2, max_iter=1, **{k: v for k, v in common.items() if k != "max_iter"}).fit(
            Xtr[:5000], ytr[:5000])
        # the settings take turns, round by round: a slow spell of the machine falls on all of them
        settings = {"asgd_1": ("dask-asgd 1 task(s), auto", dict(n_workers=1)),
                    "asgd_2": ("dask-asgd 2 task(s), auto", dict(n_workers=2)),
                    "asgd_2_noexchange": ("dask-asgd 2 tasks, no exchange", dict(n_workers=2, sync_interval=None))}
        rows = {k: [] for k in settings}
        for r in range(args.repeats):
            for k, (name, kw) in settings.items():
                rows[k].append(fit_one(name, ASGDClassifier(random_state=r, **kw, **common), r))
        for k, (name, _) in settings.items():
            results[k] = summary(name, rows[k])
    sk, one, two = results["sklearn"][0], results["asgd_1"][0], results["asgd_2"][0]
    per_round = sorted(a["fit_seconds"] / b["fit_seconds"] for a, b in zip(rows["asgd_1"], rows["asgd_2"]))
    print()
    print(f"one task / sklearn samples/s:   {one['samples_per_s'] / sk['samples_per_s']:.2f}x  (target >= 5x)")
    print(f"held-out log loss, one task vs sklearn: {one['log_loss']:.4f} vs {sk['log_loss']:.4f}  "
          f"(target: equal or better)")
    print(f"two tasks / one task samples/s: {two['samples_per_s'] / one['samples_per_s']:.2f}x  (target >= 1.7x)")
    print(f"two tasks / one task, fit by fit in the same round: median {statistics.median(per_round):.2f}x, "
          f"range {per_round[0]:.2f}-{per_round[-1]:.2f}x")
    print(f"two tasks / one task, training loop alone: "
          f"{two['train_samples_per_s'] / one['train_samples_per_s']:.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({k: {"median": m, "runs": r} for k, (m, r) in results.items()}, f, indent=1)


if __name__ == "__main__":
    main()
