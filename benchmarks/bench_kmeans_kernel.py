"""Rows per second of the K-Means training kernel on one thread, the shapes of the benchmark sets.

A kernel microbenchmark: it imports the package's private modules on purpose
(``dask_asgd.models._kmeans_kernels``, ``dask_asgd._kernel_args``), to call the numba kernel
alone, without a fit around it. It may need changes when the kernel's arguments change.

    python benchmarks/bench_kmeans_kernel.py [--repeats 3]
    python benchmarks/bench_kmeans_kernel.py --module /tmp/old_kmeans_kernels.py   # another copy, same run
    python benchmarks/bench_kmeans_kernel.py --track   # also with the epoch's Lloyd sums kept

``kmeans_chunk`` over one epoch of 128-row groups in random order (as a training task walks its
shard), no exchange, on: 60,000 x 784 float32 with k=10 and k=100 and float64 with k=100 (the
shape of Fashion-MNIST; uniform random values), the first 500,000 rows of the 2,000,000 x 50
blobs set with k=100, and 300,000 x 12 normal float64 with k=20 (the shape of the flights
numeric set). Medians of ``--repeats`` calls after one warm-up call; ``--module`` times other
copies of ``dask_asgd/models/_kmeans_kernels.py`` next to the installed one (for example the file
at an earlier commit: ``git show REV:dask_asgd/models/_kmeans_kernels.py > /tmp/old.py``; such a
copy imports ``dask_asgd._kernels`` as the package does; a copy from before ``kmeans_chunk`` took
its arguments in groups, without ``KMeansSettings``, is called with its flat arguments).
``--track`` adds a column: the installed kernel keeping each row's label and its centroid's sums
(``KMeansSettings.track``, what a task does in every epoch to skip the final Lloyd pass).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time

import numpy as np


def load(path):
    """A copy of the kernel module, imported from ``path`` as part of the package.  It is copied to
    a new folder first: numba cannot load its cache of a module imported this way again, so each
    run compiles it afresh."""
    import shutil
    import tempfile

    path = shutil.copy(path, tempfile.mkdtemp(prefix="dask-asgd-kernel-"))
    spec = importlib.util.spec_from_file_location("dask_asgd.models._kmeans_kernels_copy", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rows_per_second(KK, X, k, repeats, track=False):
    from dask_asgd._kernel_args import Inbox, Rows, Walk

    n, d = X.shape
    rng = np.random.default_rng(0)
    w0 = np.concatenate([X[rng.choice(n, k, replace=False)].ravel(), np.ones(k)]).astype(X.dtype)
    starts = np.arange(0, n, 128, dtype=np.int64)
    stops = np.append(starts[1:], n).astype(np.int64)
    order = rng.permutation(len(starts))
    gstart, gstop = starts[order], stops[order]
    size = k * d + k

    rows = Rows(True, X, np.zeros(1, X.dtype), np.zeros(1, np.int32), np.zeros(2, np.int32), np.zeros(1), np.ones(1),
                False)
    inbox = Inbox(np.zeros((1, size), X.dtype), np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros(1, np.int8),
                  np.zeros(1, np.int8), np.zeros(size, X.dtype), np.zeros(size, X.dtype), np.zeros(size))

    def call(w, n_groups):
        stats = np.zeros(5)
        if hasattr(KK, "KMeansSettings") and "track" in KK.KMeansSettings._fields:  # with the epoch's sums
            KK.kmeans_chunk(rows, Walk(gstart, gstop, 0, n_groups, 1), KK.KMeansSettings(k, d, 0, 0, track),
                            KK.KMeansState(w, np.zeros(k), np.zeros((k, d)), np.zeros(k), np.zeros(n, np.int32)),
                            inbox, stats)
        elif hasattr(KK, "KMeansSettings"):  # the kernel's arguments in groups
            KK.kmeans_chunk(rows, Walk(gstart, gstop, 0, n_groups, 1), KK.KMeansSettings(k, d, 0, 0),
                            KK.KMeansState(w, np.zeros(k)), inbox, stats)
        else:  # a copy from before the groups (flat arguments)
            KK.kmeans_chunk(*rows[:5], rows.sw, rows.has_sw, w, np.zeros(k), gstart, gstop, 0, n_groups, 1, k, d,
                            *inbox[:4], 0, 0, *inbox[5:], stats)
        return stats

    call(w0.copy(), 2)  # compile (or load from numba's cache)
    times = []
    for _ in range(repeats):
        w = w0.copy()
        t0 = time.perf_counter()
        stats = call(w, len(gstart))
        times.append(time.perf_counter() - t0)
        assert stats[4] == 0 and stats[1] == n
    return n / float(np.median(times))


def cases():
    from sklearn.datasets import make_blobs

    rng = np.random.default_rng(1)
    X = rng.random((60_000, 784)).astype(np.float32)
    yield "60,000 x 784 float32, k=10", X, 10
    yield "60,000 x 784 float32, k=100", X, 100
    yield "60,000 x 784 float64, k=100", X.astype(np.float64), 100
    blobs = make_blobs(2_000_000, 50, centers=100, random_state=0)[0][:500_000]
    yield "500,000 x 50 float64 (blobs), k=100", np.ascontiguousarray(blobs), 100
    yield "300,000 x 12 float64, k=20", rng.normal(size=(300_000, 12)), 20


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--module", action="append", default=[], help="another copy of the kernel module to time")
    ap.add_argument("--track", action="store_true", help="also time the installed kernel with track on")
    args = ap.parse_args()
    from dask_asgd.models import _kmeans_kernels

    modules = ([("installed", _kmeans_kernels, False)] + [("installed, track", _kmeans_kernels, True)] * args.track
               + [(os.path.basename(p), load(p), False) for p in args.module])
    print("| case | " + " | ".join(f"{m} (rows/s)" for m, _, _ in modules) + " |")
    print("|---|" + "---|" * len(modules))
    for name, X, k in cases():
        rates = [rows_per_second(KK, X, k, args.repeats, track) for _, KK, track in modules]
        print(f"| {name} | " + " | ".join(f"{r / 1e3:,.0f} k" for r in rates) + " |", flush=True)


if __name__ == "__main__":
    main()
