"""How far do the training loops themselves scale in one process, without Dask?

    python benchmarks/probe_thread_scaling.py [--tasks 1,2,4,8,16] [--rows 2000000] [--epochs 5]

k Python threads, each running a ``ShardTrainer`` (the task's SGD, numba kernels that release
the GIL) over its contiguous 1/k of one shared dense float64 array (``shared``), or over a
private copy of its rows made by the thread itself (``private``, first touch by that thread), as
the engine's threads do between kernel calls but with no exchange, no reports and no event loop.
Prints the aggregate samples/s and the speed-up over one thread, medians of --repeats. The
difference from ``bench_scaling.py``'s ``threads`` rows is what the engine costs on top.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_scaling import add_scaling_arguments, make_block  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_scaling_arguments(ap)
    args = ap.parse_args()

    from dask_asgd import ASGDClassifier
    from dask_asgd.models.linear import LinearTrainer

    X, y = make_block(0, args.rows)
    y = y.astype(np.float64)
    spec = ASGDClassifier(loss="log_loss", sync_interval=None)._spec(1, X.shape[1], True, args.epochs, None,
                                                                     None, 1.0)
    LinearTrainer(X[:1000], y[:1000], None, spec, 0).warm_up()
    chunk = 0.02
    print(f"# {args.rows:,} x {X.shape[1]} float64, {args.epochs} epochs, {os.cpu_count()} cores; "
          f"medians of {args.repeats}", flush=True)

    def one(k, private):
        bounds = np.linspace(0, args.rows, k + 1).astype(int)
        barrier = threading.Barrier(k + 1)
        done = []

        def work(i):
            a, b = int(bounds[i]), int(bounds[i + 1])
            if private:
                tr = LinearTrainer(X[a:b].copy(), y[a:b].copy(), None, spec, i)
            else:
                tr = LinearTrainer(X, y, None, spec, i, ranges=[(a, b)])
            barrier.wait()
            per_batch = None
            while not tr.done:
                cap = 1 if per_batch is None else max(1, int(chunk / per_batch))
                before, t0 = tr.batches_done, time.perf_counter()
                tr.run(cap)
                ran = tr.batches_done - before
                if ran:
                    per_batch = (time.perf_counter() - t0) / ran
            done.append(tr.samples_done)

        ts = [threading.Thread(target=work, args=(i,)) for i in range(k)]
        for t in ts:
            t.start()
        barrier.wait()
        t0 = time.perf_counter()
        for t in ts:
            t.join()
        return sum(done) / (time.perf_counter() - t0)

    for private in (False, True):
        base = None
        for k in [int(t) for t in args.tasks.split(",")]:
            rate = statistics.median(one(k, private) for _ in range(args.repeats))
            base = base or rate
            print(f"{'private' if private else 'shared':8s} {k:3d} thread(s): {rate / 1e6:7.2f} M samples/s  "
                  f"x{rate / base:5.2f}", flush=True)


if __name__ == "__main__":
    main()
