"""Scaling with the number of training tasks: 1, 2, 4, ... tasks on one machine, same data, same epochs.

    python benchmarks/bench_scaling.py [--tasks 1,2,4,8,16] [--rows 2000000] [--epochs 5]
                                       [--repeats 3] [--clusters threads,processes] [--json F]

The data: a logistic model over 100 standard-normal features (fixed weights), generated in 16
row blocks with seeds 0..15, so every run sees the same rows whatever the number of tasks; a
held-out set of 200,000 rows from seed 99. log_loss, L2, 'optimal' schedule, a fixed number of
epochs (``tol=None``), ``sync_interval="auto"``, merge "auto" (dense: average).

Clusters:

- ``threads``: one in-process ``LocalCluster`` with max(--tasks) single-thread workers (what
  ``fit()`` starts when no client is active); the data are in client memory (numpy) and placed
  by the fit (its time counts); ``n_workers=k`` trains k tasks on k of those workers.
- ``processes``: for each k a ``LocalCluster`` of k single-thread worker processes; the 16
  blocks are generated on the workers as a persisted dask array (nothing crosses the client),
  so each worker process trains the blocks it holds.

Per k: median fit time (``fit()`` wall time), samples/s (rows x epochs / fit time), speed-up over
one task, and the training loop alone (samples over the slowest task's loop time), the held-out
log loss; scikit-learn's SGDClassifier on the same data as the reference. Numba kernels are
compiled by a warm-up fit before any timing (the processes cluster reuses numba's disk cache).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import warnings

import numpy as np

N_FEATURES = 100
N_BLOCKS = 16


def _weights():
    return np.random.default_rng(12345).standard_normal(N_FEATURES) * (2.0 / np.sqrt(N_FEATURES))


def make_block(seed, n_rows):
    """Rows of the fixed logistic model: X standard normal, P(y=1) = sigmoid(X @ w)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, N_FEATURES))
    p = 1.0 / (1.0 + np.exp(-(X @ _weights())))
    y = (rng.random(n_rows) < p).astype(np.int64)
    return X, y


def _block_rows(rows):
    base = rows // N_BLOCKS
    return [base + (1 if i < rows % N_BLOCKS else 0) for i in range(N_BLOCKS)]


def add_scaling_arguments(ap):
    """The data and repeat arguments of the scaling runs."""
    ap.add_argument("--tasks", default="1,2,4,8,16")
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_scaling_arguments(ap)
    ap.add_argument("--clusters", default="threads,processes")
    ap.add_argument("--sync", default="auto", help="sync_interval settings, e.g. auto,none,64")
    ap.add_argument("--config", action="append", default=[],
                    help="a dask config setting for the fits, e.g. dask-asgd.chunk-seconds=0.05")
    ap.add_argument("--worker-profiler", choices=["on", "off"], default="on",
                    help="distributed's statistical profiler in the workers (on: distributed's default)")
    ap.add_argument("--sklearn-repeats", type=int, default=1)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    tasks = [int(t) for t in args.tasks.split(",")]
    clusters = [c for c in args.clusters.split(",") if c]
    syncs = [None if s == "none" else (s if s == "auto" else int(s)) for s in args.sync.split(",")]

    import dask

    import yaml

    def value(v):  # a number (1e9, 0.05), else as a config file would read it (true, a name)
        try:
            return float(v)
        except ValueError:
            return yaml.safe_load(v)

    dask.config.set({k: value(v) for k, v in (c.split("=", 1) for c in args.config)})
    dask.config.set({"distributed.worker.profile.enabled": args.worker_profiler == "on"})

    import dask.array as da
    from distributed import Client, LocalCluster, wait
    from sklearn.linear_model import SGDClassifier
    from sklearn.metrics import log_loss

    from dask_asgd import ASGDClassifier

    warnings.simplefilter("ignore")
    sizes = _block_rows(args.rows)
    Xte, yte = make_block(99, 200_000)
    samples = args.rows * args.epochs
    common = dict(loss="log_loss", max_iter=args.epochs, tol=None)
    print(f"# {args.rows:,} x {N_FEATURES} dense float64, {args.epochs} epochs, log_loss; "
          f"{os.cpu_count()} logical cores, {platform.processor() or platform.machine()}; "
          f"medians of {args.repeats}", flush=True)
    out = {"rows": args.rows, "epochs": args.epochs, "cpu_count": os.cpu_count(), "results": []}

    def _dump():
        if args.json:  # after every result: a run cut short keeps what it measured
            with open(args.json, "w") as f:
                json.dump(out, f, indent=1)

    def record(cluster, k, est, wall):
        rep = est.fit_report_
        loop = float(rep.tasks["seconds"].max())
        return {"cluster": cluster, "tasks": k, "sync": str(est.sync_interval).lower(),
                "sent": int(rep.tasks["sent"].sum()), "fit_seconds": wall, "samples_per_s": samples / wall,
                "loop_samples_per_s": rep.samples_seen / loop if loop > 0 else float("nan"),
                "log_loss": log_loss(yte, est.predict_proba(Xte)), "n_tasks_run": len(rep.tasks),
                "task_seconds_spread": float(rep.tasks["seconds"].max() - rep.tasks["seconds"].min())}

    def summarise(cluster, k, runs):
        med = {key: statistics.median(r[key] for r in runs)
               for key in ("fit_seconds", "samples_per_s", "loop_samples_per_s", "log_loss",
                           "task_seconds_spread", "sent")}
        sync = runs[0]["sync"]
        med.update(cluster=cluster, tasks=k, sync=sync, n_tasks_run=runs[0]["n_tasks_run"], runs=runs)
        out["results"].append(med)
        _dump()
        base = next((r for r in out["results"]
                     if r["cluster"] == cluster and r["tasks"] == tasks[0] and r.get("sync") == sync), med)
        print(f"{cluster:9s} {sync:>5s} {k:3d} task(s): sent {med['sent']:6.0f}  fit {med['fit_seconds']:6.2f} s  "
              f"{med['samples_per_s'] / 1e6:6.2f} M samples/s  x{med['samples_per_s'] / base['samples_per_s']:5.2f}  "
              f"loop {med['loop_samples_per_s'] / 1e6:6.2f} M/s x{med['loop_samples_per_s'] / base['loop_samples_per_s']:5.2f}  "
              f"spread {med['task_seconds_spread']:.3f} s  log loss {med['log_loss']:.4f}", flush=True)

    Xtr = ytr = None
    if "threads" in clusters or args.sklearn_repeats > 0:
        parts = [make_block(i, n) for i, n in enumerate(sizes)]
        Xtr = np.concatenate([p[0] for p in parts])
        ytr = np.concatenate([p[1] for p in parts])
        del parts
    if args.sklearn_repeats > 0:
        runs = []
        for r in range(args.sklearn_repeats):
            est = SGDClassifier(random_state=r, **common)
            t0 = time.perf_counter()
            est.fit(Xtr, ytr)
            wall = time.perf_counter() - t0
            runs.append({"fit_seconds": wall, "log_loss": log_loss(yte, est.predict_proba(Xte))})
        sk = {"cluster": "sklearn", "tasks": 1,
              "fit_seconds": statistics.median(r["fit_seconds"] for r in runs),
              "log_loss": statistics.median(r["log_loss"] for r in runs), "runs": runs}
        sk["samples_per_s"] = samples / sk["fit_seconds"]
        out["results"].append(sk)
        _dump()
        print(f"sklearn SGDClassifier: fit {sk['fit_seconds']:6.2f} s  {sk['samples_per_s'] / 1e6:6.2f} M samples/s"
              f"  log loss {sk['log_loss']:.4f}", flush=True)

    if "threads" in clusters:
        with LocalCluster(n_workers=max(tasks), threads_per_worker=1, processes=False,
                          dashboard_address=None, silence_logs=50) as cluster, Client(cluster):
            ASGDClassifier(n_workers=max(tasks), max_iter=1, tol=None).fit(Xtr[:20000], ytr[:20000])
            for sync in syncs:
                for k in tasks:
                    runs = []
                    for r in range(args.repeats):
                        est = ASGDClassifier(random_state=r, n_workers=k, sync_interval=sync, **common)
                        t0 = time.perf_counter()
                        est.fit(Xtr, ytr)
                        runs.append(record("threads", k, est, time.perf_counter() - t0))
                    summarise("threads", k, runs)
    Xtr = ytr = None

    if "processes" in clusters:
        for k in tasks:
            with LocalCluster(n_workers=k, threads_per_worker=1, processes=True, dashboard_address=None,
                              silence_logs=50) as cluster, Client(cluster) as client:
                blocks = [dask.delayed(make_block)(i, n) for i, n in enumerate(sizes)]
                X = da.concatenate([da.from_delayed(b[0], (n, N_FEATURES), np.float64)
                                    for b, n in zip(blocks, sizes)])
                y = da.concatenate([da.from_delayed(b[1], (n,), np.int64) for b, n in zip(blocks, sizes)])
                X, y = client.persist([X, y])
                client.wait_for_workers(k)
                wait([X, y])
                ASGDClassifier(max_iter=1, tol=None).fit(X, y)  # compile on every worker
                for sync in syncs:
                    runs = []
                    for r in range(args.repeats):
                        est = ASGDClassifier(random_state=r, sync_interval=sync, **common)
                        t0 = time.perf_counter()
                        est.fit(X, y)
                        runs.append(record("processes", k, est, time.perf_counter() - t0))
                    summarise("processes", k, runs)
    _dump()


if __name__ == "__main__":
    main()
