"""Sharing the end of an epoch (``dask-asgd.share-epochs``) on and off, fits interleaved.

    python benchmarks/bench_share_epochs.py [--rows 1000000] [--features 100] [--epochs 5] [--repeats 15] [--rounds]
                                            [--slow SECONDS]

Dense float64 make_classification, log_loss, ``tol=None``, 2 single-thread in-process workers
(profiler off, as fit's own cluster), ``sync_interval="auto"``. Each round fits one task, then
two tasks with sharing on and off in alternating order, so that the machine's slow spells fall on
both settings alike. Prints, per setting, the median fit time, the ratio to one task's, the
median gap between the two tasks' training times (``fit_report_.tasks.seconds``), the samples one
task took over from the other and the held-out log loss; then the two-task / one-task ratios.
``--slow``: the task on the second worker sleeps that long every 10 ms of its training (a
monitor), as a core or node slower than the others would be; the one-task fit runs on the other
worker.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_throughput import throughput_data  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--features", type=int, default=100)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--rounds", action="store_true", help="also print every round's fit times")
    ap.add_argument("--slow", type=float, default=0.0,
                    help="make one task slower: a monitor sleeps this many seconds every 10 ms of its "
                         "training (one slower core or node); 0: off")
    args = ap.parse_args()

    import dask
    from distributed import Client, LocalCluster
    from sklearn.metrics import log_loss

    from dask_asgd import ASGDClassifier

    warnings.simplefilter("ignore")
    Xtr, ytr, Xte, yte = throughput_data(args.rows, args.features)  # bench_throughput's data
    common = dict(loss="log_loss", max_iter=args.epochs, tol=None)
    print(f"# {args.rows:,} x {args.features} dense float64, {args.epochs} epochs; {os.cpu_count()} cores, "
          f"{platform.processor() or platform.machine()}; {args.repeats} rounds, medians")
    rows = {"one task": [], "two tasks, sharing": [], "two tasks, no sharing": []}
    with dask.config.set({"distributed.worker.profile.enabled": False}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                               silence_logs=50)
    with cluster, Client(cluster) as client:
        ASGDClassifier(n_workers=2, **common).fit(Xtr[:5000], ytr[:5000])  # compile
        monitor = None
        if args.slow > 0:
            from dask_asgd import Monitor

            slow_worker, seconds = sorted(client.nthreads())[-1], args.slow  # one task uses the first

            def hold_up(coef, intercept):
                from distributed import get_worker

                if get_worker().address == slow_worker:
                    time.sleep(seconds)
                return 0.0

            monitor = Monitor(hold_up, every=0.01)
        for r in range(args.repeats):
            order = [True, False] if r % 2 == 0 else [False, True]
            for name, nw, share in [("one task", 1, True)] + [
                    ("two tasks, " + ("sharing" if s else "no sharing"), 2, s) for s in order]:
                with dask.config.set({"dask-asgd.share-epochs": share}):
                    est = ASGDClassifier(n_workers=nw, random_state=r, **common)
                    t0 = time.perf_counter()
                    est.fit(Xtr, ytr, monitor=monitor)
                    wall = time.perf_counter() - t0
                t = est.fit_report_.tasks
                rows[name].append({"fit": wall, "gap": float(t["seconds"].max() - t["seconds"].min()),
                                   "taken": int(t["taken_over"].sum()),
                                   "loss": log_loss(yte, est.predict_proba(Xte))})
    if args.rounds:
        for r in range(args.repeats):
            print(f"round {r:2d}: " + "  ".join(f"{k} {1000 * v[r]['fit']:6.1f} ms (taken {v[r]['taken']:,})"
                                               for k, v in rows.items()))
    med = {k: {c: statistics.median(r[c] for r in v) for c in v[0]} for k, v in rows.items()}
    one = med["one task"]["fit"]
    for k, m in med.items():
        print(f"{k:24s} fit {1000 * m['fit']:7.1f} ms  x{one / m['fit']:5.2f}  task gap {1000 * m['gap']:5.1f} ms  "
              f"taken over {m['taken']:9,.0f} samples  held-out log loss {m['loss']:.4f}")
    for k in ("two tasks, sharing", "two tasks, no sharing"):
        ratios = sorted(a["fit"] / b["fit"] for a, b in zip(rows["one task"], rows[k]))
        print(f"{k}: two / one task throughput per round: median {statistics.median(ratios):.2f}x, "
              f"range {ratios[0]:.2f}-{ratios[-1]:.2f}x (target >= 1.7x)")


if __name__ == "__main__":
    main()
