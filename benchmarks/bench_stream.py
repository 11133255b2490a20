"""A Dask collection larger than the workers' memory: streamed epochs against the read speed,
dask-ml's Incremental and a persisted fit of the same rows.

    python benchmarks/bench_stream.py                      # Parquet files, 1.5x the workers' memory
    python benchmarks/bench_stream.py --source random      # da.random, generated on the workers
    python benchmarks/bench_stream.py --gb 3 --memory 1GB --epochs 2

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

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time

import numpy as np

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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", choices=["parquet", "random"], default="parquet")
    ap.add_argument("--gb", type=float, default=3.0, help="size of X")
    ap.add_argument("--memory", default="1GB", help="memory limit of each of the 2 workers")
    ap.add_argument("--features", type=int, default=50)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dir", default="/tmp/dask-asgd-stream-parquet")
    ap.add_argument("--skip", default="", help="comma-separated: daskml, reference")
    args = ap.parse_args()
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


if __name__ == "__main__":
    main()
