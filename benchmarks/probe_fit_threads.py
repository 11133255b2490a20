"""Where the CPU goes during small fits: every thread of the process, over --fits fits (Linux).

    python benchmarks/bench_suite.py --datasets flights_reg --methods sklearn-sgd   # once: caches
    python benchmarks/probe_fit_threads.py [--fits 20] [--sync auto]

ASGDRegressor on the suite's flights regression set (5 epochs) on an in-process LocalCluster of
2 single-thread workers. Prints the wall time of the fits, the CPU time of the whole process and
of each thread still alive at the end that used more than 5 ms (from /proc/self/task/*/schedstat:
time on a CPU and time waiting for one), named by Python where Python started it; a thread
Python did not start is a library's own (the BLAS library's, docs/design.md). The training
tasks' threads end with each fit: their time is in the process total, not in the list.
"""

import argparse
import os
import sys
import threading
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_suite import load_cached  # noqa: E402


def threads() -> dict:
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/schedstat") as f:
                a = f.read().split()
            out[int(tid)] = (int(a[0]) / 1e9, int(a[1]) / 1e9)
        except OSError:
            pass
    return out


def process_cpu() -> float:
    with open("/proc/self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fits", type=int, default=20)
    ap.add_argument("--sync", default="auto", help="sync_interval: auto, none or an integer")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    from distributed import Client, LocalCluster

    from dask_asgd import ASGDRegressor

    X, _, y, _ = load_cached("flights_reg")
    si = None if args.sync == "none" else args.sync if args.sync == "auto" else int(args.sync)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster):
        ASGDRegressor(max_iter=5, tol=None, sync_interval=si).fit(X[::50], y[::50])
        time.sleep(0.5)
        names = {t.native_id: t.name for t in threading.enumerate()}
        before, cpu0, t0 = threads(), process_cpu(), time.monotonic()
        for r in range(args.fits):
            ASGDRegressor(max_iter=5, tol=None, sync_interval=si, random_state=r).fit(X, y)
        wall, after, cpu1 = time.monotonic() - t0, threads(), process_cpu()
        names.update({t.native_id: t.name for t in threading.enumerate()})
    print(f"{args.fits} fits (flights regression, 5 epochs, sync_interval={si}): wall {wall:.2f} s, "
          f"process CPU {cpu1 - cpu0:.2f} s")
    for tid in sorted(after, key=lambda t: -(after[t][0] - before.get(t, (0, 0))[0])):
        run = after[tid][0] - before.get(tid, (0, 0))[0]
        wait = after[tid][1] - before.get(tid, (0, 0))[1]
        if run > 0.005:
            print(f"  {names.get(tid, '(not started by Python)'):32s} on CPU {run:.3f} s, waiting for one {wait:.3f} s")


if __name__ == "__main__":
    main()
