"""A fit on a cluster that changes while it runs: workers that join, a worker that is lost.

    python benchmarks/bench_elastic.py
    python benchmarks/bench_elastic.py --rows 200000 --features 50 --epochs 1500 --repeats 3

Every fit is an ``ASGDClassifier(max_iter=--epochs, tol=None)`` on the same in-memory rows
(``make_classification``, a quarter of them held out), on single-thread workers started as
``dask worker`` CLI processes by dask-jobqueue's ``LocalCluster`` (as a batch system would
start its jobs). Printed, each a median of ``--repeats``:

- ``1 worker``: the whole fit on one worker;
- ``grown 1->2``: an adaptive cluster of one worker whose floor is raised to 2 once the fit
  trains; the second worker takes over half the remaining epochs when it is up
  (``dask-asgd.join-workers``);
- ``2 workers``: both workers from the start;
- ``lost, retrained`` / ``lost, not retrained``: two workers, one killed (SIGKILL; its nanny
  starts a new one) a third of the way into the ``2 workers`` fit's time; with and without
  ``dask-asgd.retrain-lost`` (joining off in the second, so that no task trains the lost rows).

For each: the fit's wall time (cluster start excluded, compiling the kernels on a new worker
included), the held-out accuracy, and the epochs trained over all rows (the samples the tasks trained, over
the rows; a lost task's samples count too).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import threading
import time

import dask


def _cluster():
    handler = signal.getsignal(signal.SIGINT)
    from dask_jobqueue.local import LocalCluster  # sets a SIGINT handler of its own: put back

    signal.signal(signal.SIGINT, handler)
    return LocalCluster(cores=1, processes=1, memory="4GiB", silence_logs="error")


def _training(client) -> bool:
    return any("dask-asgd" in str(k) for keys in client.processing().values() for k in keys)


def _epochs_over_rows(report, n_rows: int) -> float:
    return report.samples_seen / n_rows


def run(scenario, X, y, Xt, yt, epochs, kill_at):
    from distributed import Client

    from dask_asgd import ASGDClassifier

    clf = ASGDClassifier(max_iter=epochs, tol=None, random_state=0)
    config = {}
    if scenario == "lost, not retrained":
        config = {"dask-asgd.retrain-lost": False, "dask-asgd.join-workers": False}
    with _cluster() as cluster, Client(cluster) as client:
        if scenario == "grown 1->2":
            cluster.adapt(minimum=1, maximum=2)
            client.wait_for_workers(1, timeout=120)
        else:
            n = 1 if scenario == "1 worker" else 2
            cluster.scale(n)
            client.wait_for_workers(n, timeout=120)
        ASGDClassifier(max_iter=1).fit(X[:1000], y[:1000])  # the kernels compiled on the first workers
        helper = None
        if scenario == "grown 1->2":

            def grow():
                while not _training(client):
                    time.sleep(0.02)
                cluster.adapt(minimum=2, maximum=2)

            helper = threading.Thread(target=grow)
        elif scenario.startswith("lost"):
            victim = sorted(client.nthreads())[0]
            pid = client.run(os.getpid, workers=[victim])[victim]

            def kill():
                while not _training(client):
                    time.sleep(0.02)
                time.sleep(kill_at)
                os.kill(pid, signal.SIGKILL)

            helper = threading.Thread(target=kill)
        if helper is not None:
            helper.start()
        t0 = time.perf_counter()
        with dask.config.set(config), warnings_off():
            clf.fit(X, y)
        seconds = time.perf_counter() - t0
        if helper is not None:
            helper.join()
        return seconds, clf.score(Xt, yt), _epochs_over_rows(clf.fit_report_, X.shape[0])


class warnings_off:
    def __enter__(self):
        import warnings

        self.cm = warnings.catch_warnings()
        self.cm.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc):
        return self.cm.__exit__(*exc)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--features", type=int, default=50)
    p.add_argument("--epochs", type=int, default=1500)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    from sklearn.datasets import make_classification

    X, y = make_classification(a.rows * 4 // 3, a.features, n_informative=20, random_state=0)
    X, Xt, y, yt = X[: a.rows], X[a.rows :], y[: a.rows], y[a.rows :]
    scenarios = ["1 worker", "grown 1->2", "2 workers", "lost, retrained", "lost, not retrained"]
    out = {s: [] for s in scenarios}
    kill_at = None
    for r in range(a.repeats):
        for s in scenarios:
            if s.startswith("lost") and kill_at is None:
                kill_at = statistics.median(t for t, _, _ in out["2 workers"]) / 3
            out[s].append(run(s, X, y, Xt, yt, a.epochs, kill_at))
            print(f"  repeat {r}: {s}: {out[s][-1][0]:.2f} s, accuracy {out[s][-1][1]:.4f}", flush=True)
    print(f"\n{a.rows:,} x {a.features} rows, {a.epochs} epochs, medians of {a.repeats}; kill at {kill_at:.2f} s")
    print(f"{'scenario':<22}{'fit s':>8}{'accuracy':>10}{'epochs over all rows':>22}")
    for s in scenarios:
        t = statistics.median(v[0] for v in out[s])
        acc = statistics.median(v[1] for v in out[s])
        ep = statistics.median(v[2] for v in out[s])
        print(f"{s:<22}{t:>8.2f}{acc:>10.4f}{ep:>22.1f}")
    base = statistics.median(v[0] for v in out["1 worker"])
    grown = statistics.median(v[0] for v in out["grown 1->2"])
    print(f"\ngrown 1->2 / 1 worker: {grown / base:.2f}x the time")


if __name__ == "__main__":
    main()
