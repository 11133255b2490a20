"""Does exchange change the held-out score? Several seeds, one data set of the suite, 2 workers
(``--workers`` for more).

    python benchmarks/bench_suite.py --datasets fashion_mnist --methods sklearn-sgd   # once: caches the set
    python benchmarks/bench_exchange_seeds.py [--dataset fashion_mnist] [--epochs 2,3,5] [--seeds 6]
    python benchmarks/bench_exchange_seeds.py --dataset flights_reg --epochs 4 --seeds 24 --syncs auto,none
    python benchmarks/bench_exchange_seeds.py --syncs 64,none --merge pairwise --schedule task
    python benchmarks/bench_exchange_seeds.py --syncs 64,none --no-parzen

Classification sets: ASGDClassifier(loss="log_loss", max_iter=k, tol=None); regression sets
(flights_reg): ASGDRegressor with the suite's settings (squared_error, invscaling, eta0=0.01,
power_t=0.25, alpha=1e-4); an in-process cluster of 2 workers (``--workers``), ``sync_interval`` from
``--syncs`` ("auto", "none": no exchange, or an integer), random_state 0..seeds-1. Prints the
median and mean held-out accuracy and log loss (R^2 for regression) per setting, and the
seed-by-seed difference of the held-out score of the first setting and "none" (mean, standard
error, how many seeds at or above). The suite's single fits cannot tell exchange's effect from
the seed's; this can.
"""

import argparse
import math
import os
import statistics
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_suite import DATASETS, load_cached, sgd_params  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="fashion_mnist")
    ap.add_argument("--epochs", default="2,3,5")
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--workers", type=int, default=2, help="in-process single-thread workers, n_workers of every fit")
    ap.add_argument("--syncs", default="auto,none,64")
    ap.add_argument("--merge", default="auto", help="the estimators' merge= (auto, average, pairwise)")
    ap.add_argument("--no-parzen", action="store_true", help="parzen=False: every state merged")
    ap.add_argument("--schedule", default=None, help="dask-asgd.schedule (task, fit, auto; default: the config's)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    from distributed import Client, LocalCluster
    from sklearn.metrics import log_loss

    from dask_asgd import ASGDClassifier, ASGDRegressor

    task = DATASETS[args.dataset][0]
    syncs = [None if s == "none" else s if s == "auto" else int(s) for s in args.syncs.split(",")]
    if task == "classification":
        make = lambda **kw: ASGDClassifier(loss="log_loss", **kw)  # noqa: E731
    else:
        make = lambda **kw: ASGDRegressor(**sgd_params(task), **kw)  # noqa: E731
    Xtr, Xte, ytr, yte = load_cached(args.dataset)
    import dask

    if args.schedule:
        dask.config.set({"dask-asgd.schedule": args.schedule})
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=False, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster):
        make(max_iter=1, tol=None).fit(Xtr[:2000], ytr[:2000])
        for k in [int(e) for e in args.epochs.split(",")]:
            scores = {}
            for sync in syncs:
                score, ll, sent = [], [], 0
                for seed in range(args.seeds):
                    est = make(max_iter=k, tol=None, random_state=seed, sync_interval=sync, n_workers=args.workers,
                               merge=args.merge, parzen=not args.no_parzen).fit(Xtr, ytr)
                    score.append(est.score(Xte, yte))
                    sent += int(est.fit_report_.tasks["sent"].sum())
                    if task == "classification":
                        ll.append(log_loss(yte, est.predict_proba(Xte)))
                scores[sync] = score
                name = "accuracy" if task == "classification" else "R^2"
                print(f"{k} epochs, sync {str(sync):5s}: {name} median {statistics.median(score):.5f} "
                      f"mean {statistics.fmean(score):.5f}"
                      + (f" | log loss median {statistics.median(ll):.4f} "
                         f"mean {statistics.fmean(ll):.4f}" if ll else "")
                      + f" | states sent {sent / args.seeds:.1f} a fit", flush=True)
            first = syncs[0]
            if first is not None and None in scores and args.seeds > 1:
                d = [a - b for a, b in zip(scores[first], scores[None])]
                se = statistics.stdev(d) / math.sqrt(len(d))
                print(f"{k} epochs, {first} - none, seed by seed: mean {statistics.fmean(d):+.6f} "
                      f"(standard error {se:.6f}), at or above in {sum(x >= 0 for x in d)} of {len(d)}", flush=True)


if __name__ == "__main__":
    main()
