"""Averaged SGD (average=True) against plain SGD, and whether exchange pays when tasks average.

    python benchmarks/bench_average.py [--seeds 3] [--epochs 5] [--average 1] [--datasets dense,sparse]
    python benchmarks/bench_average.py --datasets fashion_mnist --epochs 2 --average 15000 --seeds 5

Dense: bench_throughput's data (make_classification 1,200,000 x 100, 1,000,000 to train).
Sparse: the suite's synthetic sparse set (bench_suite's cache, 1M x 2^18; run the suite once).
fashion_mnist: the suite's Fashion-MNIST (bench_suite's cache), 10 classes, held-out accuracy.
For each: scikit-learn SGDClassifier with average False / True (one thread), dask-asgd one task
and two tasks (in-process cluster of 2 workers), average False / True, two tasks with "auto"
exchange and without; ``--average N``: averaging starts at each task's (each estimator's)
N-th sample (1: from the start, scikit-learn's average=True). log_loss, 'optimal' schedule,
fixed epochs. Prints fit seconds and held-out
log loss (dense), ROC AUC (sparse) or accuracy (fashion_mnist), medians over the seeds.
"""

import argparse
import os
import statistics
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--datasets", default="dense,sparse")
    ap.add_argument("--average", type=int, default=1, help="the sample averaging starts at (per task)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    from distributed import Client, LocalCluster
    from sklearn.datasets import make_classification
    from sklearn.linear_model import SGDClassifier
    from sklearn.metrics import log_loss, roc_auc_score

    from dask_asgd import ASGDClassifier

    sets = {}
    if "dense" in args.datasets:
        X, y = make_classification(1_200_000, 100, n_informative=20, random_state=0)
        sets["dense"] = (X[:1_000_000], X[1_000_000:], y[:1_000_000], y[1_000_000:])
    from bench_suite import load_cached

    if "sparse" in args.datasets:
        sets["sparse"] = load_cached("synthetic_sparse")
    if "fashion_mnist" in args.datasets:
        sets["fashion_mnist"] = load_cached("fashion_mnist")
    common = dict(loss="log_loss", max_iter=args.epochs, tol=None)
    on = args.average
    methods = [("sklearn", False, None, None), ("sklearn", on, None, None)]
    methods += [("asgd", avg, nw, sync) for avg in (False, on) for nw, sync in ((1, "auto"), (2, None), (2, "auto"))]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster):
        for name, (Xtr, Xte, ytr, yte) in sets.items():
            ASGDClassifier(max_iter=1, tol=None).fit(Xtr[:5000], ytr[:5000])
            print(f"# {name}: {Xtr.shape[0]:,} x {Xtr.shape[1]:,}, {args.epochs} epochs, medians of {args.seeds} seeds",
                  flush=True)
            for kind, avg, nw, sync in methods:
                secs, scores = [], []
                for seed in range(args.seeds):
                    if kind == "sklearn":
                        est = SGDClassifier(average=avg, random_state=seed, **common)
                    else:
                        est = ASGDClassifier(average=avg, n_workers=nw, sync_interval=sync, random_state=seed, **common)
                    t = time.perf_counter()
                    est.fit(Xtr, ytr)
                    secs.append(time.perf_counter() - t)
                    if name == "dense":
                        scores.append(log_loss(yte, est.predict_proba(Xte)))
                    elif name == "sparse":
                        scores.append(roc_auc_score(yte, est.decision_function(Xte)))
                    else:
                        scores.append(est.score(Xte, yte))
                label = (f"scikit-learn, average={avg}" if kind == "sklearn"
                         else f"dask-asgd {nw} task(s), sync {sync}, average={avg}")
                metric = {"dense": "log loss", "sparse": "AUC"}.get(name, "accuracy")
                print(f"{label:46s} fit {statistics.median(secs):6.2f} s  held-out {metric} "
                      f"{statistics.median(scores):.4f}  (seeds: {' '.join(f'{v:.4f}' for v in scores)})", flush=True)


if __name__ == "__main__":
    main()
