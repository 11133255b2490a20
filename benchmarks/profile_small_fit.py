"""Back-to-back small fits, to profile what a fit costs besides training (issue 4, flights).

    python benchmarks/bench_suite.py --quick --datasets flights_clf   # once: caches the data set
    pip install py-spy
    py-spy record -r 250 --format raw -o flights.raw -- python benchmarks/profile_small_fit.py

Fits ``ASGDClassifier(loss="log_loss", max_iter=5, tol=None)`` (2 tasks, auto) on the full
flights classification set, in-process cluster, for 12 s, and prints the fits per second and the
last fit's loop time. The data come from the suite's cache (``--data``, default the full set).
"""

import argparse
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_suite import cache_stem, load  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=cache_stem(os.path.join(os.environ.get("TMPDIR", "/tmp"), "dask-asgd-bench"),
                                                 "flights_clf", 1.0))
    ap.add_argument("--seconds", type=float, default=12.0)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    from distributed import Client, LocalCluster

    from dask_asgd import ASGDClassifier

    Xtr, _, ytr, _ = load(args.data)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster):
        ASGDClassifier(loss="log_loss", max_iter=1, tol=None).fit(Xtr[:2000], ytr[:2000])
        t0 = time.perf_counter()
        n = 0
        while time.perf_counter() - t0 < args.seconds:
            est = ASGDClassifier(loss="log_loss", max_iter=5, tol=None, random_state=n).fit(Xtr, ytr)
            n += 1
        el = time.perf_counter() - t0
        print(f"{n} fits, {el / n:.3f} s a fit; the last: submit to gathered {est.fit_report_.seconds:.3f} s, "
              f"tasks {est.fit_report_.tasks['seconds'].round(3).tolist()} s")


if __name__ == "__main__":
    main()
