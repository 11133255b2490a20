"""Does exchange change the held-out score? Several seeds, one data set of the suite, 2 workers.

    python benchmarks/bench_suite.py --datasets fashion_mnist --methods sklearn-sgd   # once: caches the set
    python benchmarks/bench_exchange_seeds.py [--dataset fashion_mnist] [--epochs 2,3,5] [--seeds 6]

ASGDClassifier(loss="log_loss", max_iter=k, tol=None) on an in-process cluster of 2 workers,
``sync_interval`` "auto", None (no exchange) and 64, random_state 0..seeds-1; prints the median and
mean held-out accuracy and log loss per setting. The suite's single fits cannot tell exchange's
effect from the seed's; this can.
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
    ap.add_argument("--dataset", default="fashion_mnist")
    ap.add_argument("--epochs", default="2,3,5")
    ap.add_argument("--seeds", type=int, default=6)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    from distributed import Client, LocalCluster
    from sklearn.metrics import log_loss

    from dask_asgd import ASGDClassifier

    Xtr, Xte, ytr, yte = load_cached(args.dataset)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster):
        ASGDClassifier(max_iter=1, tol=None).fit(Xtr[:2000], ytr[:2000])
        for k in [int(e) for e in args.epochs.split(",")]:
            for sync in ("auto", None, 64):
                acc, ll = [], []
                for seed in range(args.seeds):
                    est = ASGDClassifier(loss="log_loss", max_iter=k, tol=None, random_state=seed,
                                         sync_interval=sync).fit(Xtr, ytr)
                    acc.append(est.score(Xte, yte))
                    ll.append(log_loss(yte, est.predict_proba(Xte)))
                print(f"{k} epochs, sync {str(sync):5s}: accuracy median {statistics.median(acc):.4f} "
                      f"mean {statistics.fmean(acc):.4f} | log loss median {statistics.median(ll):.4f} "
                      f"mean {statistics.fmean(ll):.4f}", flush=True)


if __name__ == "__main__":
    main()
