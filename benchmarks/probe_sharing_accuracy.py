"""Does sharing the end of an epoch (``dask-asgd.share-epochs``) change the model? Held-out accuracy, on and off.

    python benchmarks/bench_suite.py --datasets synthetic_sparse --methods sklearn-sgd   # once: caches
    python benchmarks/probe_sharing_accuracy.py [--dataset synthetic_sparse] [--seeds 16] [--merges pairwise,average]
                                                [--epochs 1]

The suite's cached set, the suite's settings (log_loss, alpha=1e-4, 'optimal'), 2 in-process
single-thread workers, ``sync_interval="auto"``, ``max_iter=--epochs``; for each seed a fit with sharing
and one without, back to back. Prints, per merge and setting, the held-out accuracy (mean, median,
min), the mean absolute intercept and the median samples taken over. The suite's sparse set is
a weak signal (held-out log loss ~0.69): its accuracy moves by points with the intercept, so
single fits say little and this takes many seeds.
"""

import argparse
import os
import statistics
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_suite import load_cached  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="synthetic_sparse")
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--merges", default="pairwise,average")
    ap.add_argument("--epochs", type=int, default=1)
    args = ap.parse_args()
    warnings.simplefilter("ignore")

    import dask
    import numpy as np
    from distributed import Client, LocalCluster

    from dask_asgd import ASGDClassifier

    Xtr, Xte, ytr, yte = load_cached(args.dataset)
    with dask.config.set({"distributed.worker.profile.enabled": False}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                               silence_logs=50)
    with cluster, Client(cluster):
        ASGDClassifier(max_iter=1, tol=None).fit(Xtr[:5000], ytr[:5000])  # compile
        for merge in args.merges.split(","):
            res = {}
            for seed in range(args.seeds):
                for name, share in (("sharing", True), ("no sharing", False)):
                    with dask.config.set({"dask-asgd.share-epochs": share}):
                        est = ASGDClassifier(max_iter=args.epochs, tol=None, random_state=seed, loss="log_loss", alpha=1e-4,
                                             merge=merge).fit(Xtr, ytr)
                    res.setdefault(name, []).append((est.score(Xte, yte), abs(float(est.intercept_[0])),
                                                     int(est.fit_report_.tasks["taken_over"].sum())))
            for name, v in res.items():
                a = np.array(v, dtype=float)
                print(f"{args.dataset} merge={merge:8s} {name:10s} accuracy mean {a[:, 0].mean():.4f} "
                      f"median {np.median(a[:, 0]):.4f} min {a[:, 0].min():.4f}  |intercept| mean "
                      f"{a[:, 1].mean():.4f}  taken over, median {statistics.median(a[:, 2]):,.0f}", flush=True)


if __name__ == "__main__":
    main()
