"""Rows in date order: does the fit's row shuffle pay for itself on the flights sets?

    python benchmarks/bench_suite.py --datasets flights_clf,flights_reg --methods sklearn-sgd   # once: caches
    python benchmarks/probe_ordered_rows.py [--seeds 8] [--epochs 1,3,5]

The suite's flights rows keep the data's date order (a random 80% of the rows, in their original
order). Their targets are mildly ordered: delays of neighbouring flights go together (lag-1
autocorrelation of the regression target 0.34), so ``fit`` finds them "visibly ordered"
(``_prepare.needs_row_shuffle``) and each task gathers its rows in a random order (a copy) before
training. This fits the suite's settings (``bench_suite.sgd_params``) on an in-process cluster of
2 single-thread workers, ``tol=None``, ``random_state`` 0..seeds-1, with that shuffle (the
default) and without it (the check patched to say "not ordered": 128-row groups in random order,
the rows of a group in stored order), settings in turn seed by seed. Prints the median fit time
and the mean held-out score (accuracy or R^2), and the seed-by-seed difference.
"""

import argparse
import math
import os
import statistics
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_suite import load_cached, sgd_params  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--epochs", default="1,3,5")
    ap.add_argument("--datasets", default="flights_clf,flights_reg")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    from distributed import Client, LocalCluster

    import dask_asgd._prepare as T
    import dask_asgd.linear_model as LM
    from dask_asgd import ASGDClassifier, ASGDRegressor

    real_rows, real_labels = T.needs_row_shuffle, LM.labels_ordered

    def setting(shuffle_ordered):
        T.needs_row_shuffle = real_rows if shuffle_ordered else (lambda y, is_classifier: False)
        LM.labels_ordered = real_labels if shuffle_ordered else (lambda same, counts: False)

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster):
        for name in args.datasets.split(","):
            task = "regression" if name == "flights_reg" else "classification"
            cls = ASGDRegressor if task == "regression" else ASGDClassifier
            Xtr, Xte, ytr, yte = load_cached(name)
            cls(**sgd_params(task), max_iter=1, tol=None).fit(Xtr[:5000], ytr[:5000])  # compile
            den, num = T.K.lag1_sums(__import__("numpy").ascontiguousarray(ytr, dtype="float64"))
            print(f"## {name}: {Xtr.shape[0]} rows, target lag-1 autocorrelation {num / den:.3f}, "
                  f"ordered by the check: {real_rows(ytr, task == 'classification')}")
            for k in [int(e) for e in args.epochs.split(",")]:
                res = {True: ([], []), False: ([], [])}
                for seed in range(args.seeds):
                    for shuffle_ordered in (True, False):
                        setting(shuffle_ordered)
                        est = cls(**sgd_params(task), max_iter=k, tol=None, random_state=seed)
                        t0 = time.perf_counter()
                        est.fit(Xtr, ytr)
                        res[shuffle_ordered][0].append(time.perf_counter() - t0)
                        res[shuffle_ordered][1].append(est.score(Xte, yte))
                setting(True)
                d = [a - b for a, b in zip(res[False][1], res[True][1])]
                se = statistics.stdev(d) / math.sqrt(len(d)) if len(d) > 1 else float("nan")
                print(f"{k} epochs: shuffled rows fit {1000 * statistics.median(res[True][0]):.1f} ms, score "
                      f"{statistics.fmean(res[True][1]):.5f} | stored order fit "
                      f"{1000 * statistics.median(res[False][0]):.1f} ms, score {statistics.fmean(res[False][1]):.5f}"
                      f" | stored - shuffled {statistics.fmean(d):+.5f} (standard error {se:.5f})", flush=True)


if __name__ == "__main__":
    main()
