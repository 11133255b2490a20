"""Many tasks at a fixed number of epochs: what the model loses, and whether the exchange gives it back.

    python benchmarks/bench_suite.py --datasets synthetic_dense --methods sklearn-sgd   # once: caches the set
    python benchmarks/probe_many_tasks.py [--dataset synthetic_dense] [--tasks 2,8,16] [--epochs 3] [--seeds 3]

A statistical probe, not a timing one: on a 2-core machine 16 tasks share 2 cores, which changes
when states arrive but not what SGD does between them. For each number of tasks k, on one
in-process cluster of max(k) workers (no memory limit: they are threads of this process):
dask-asgd with no exchange, "auto" exchanging (``dask-asgd.balance.exchange-random-shards``) and
a fixed ``sync_interval=16``, seeds 0..seeds-1, the suite's settings (log_loss, 'optimal'; the
flights regression set: squared_error, invscaling); held-out log loss for classification, R^2
for regression, mean and median over the seeds, and the states sent per fit. Then scikit-learn's
SGD on a random 1/k of the rows (4 draws), the same epochs: what one task of k trains alone, its
coefficient norm, and the plain average of the 4 models.
"""

import argparse
import copy
import logging
import os
import statistics
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_suite import DATASETS, load_cached, sgd_params  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="synthetic_dense", choices=list(DATASETS))
    ap.add_argument("--tasks", default="2,8,16")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--schedule", default="task", choices=["task", "fit"],
                    help="dask-asgd.schedule for every dask-asgd fit")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    import dask
    from distributed import Client, LocalCluster
    from sklearn.linear_model import SGDClassifier, SGDRegressor
    from sklearn.metrics import log_loss

    from dask_asgd import ASGDClassifier, ASGDRegressor

    task = DATASETS[args.dataset][0]
    params = sgd_params(task)
    Xtr, Xte, ytr, yte = load_cached(args.dataset)
    tasks = [int(k) for k in args.tasks.split(",")]

    def score(est):
        if task == "classification":
            return -log_loss(yte, est.predict_proba(Xte))
        return est.score(Xte, yte)

    name = "minus held-out log loss" if task == "classification" else "held-out R^2"
    print(f"# {args.dataset}, {args.epochs} epochs, {name}, seeds 0..{args.seeds - 1}, "
          f"dask-asgd.schedule: {args.schedule}")
    cls = ASGDClassifier if task == "classification" else ASGDRegressor
    settings = (("no exchange", None, {}),
                ("auto, exchanging", "auto", {"dask-asgd.balance.exchange-random-shards": True}),
                ("interval 16", 16, {}))
    with LocalCluster(n_workers=max(tasks), threads_per_worker=1, processes=False, dashboard_address=None,
                      silence_logs=logging.ERROR, memory_limit=0) as cluster, Client(cluster):
        cls(max_iter=1, tol=None, n_workers=2, **params).fit(Xtr[:2000], ytr[:2000])
        for k in tasks:
            for label, sync, cfg in settings:
                scores, sent = [], []
                for seed in range(args.seeds):
                    est = cls(max_iter=args.epochs, tol=None, random_state=seed, n_workers=k, sync_interval=sync,
                              **params)
                    with dask.config.set({**cfg, "dask-asgd.schedule": args.schedule}):
                        est.fit(Xtr, ytr)
                    scores.append(score(est))
                    sent.append(int(est.fit_report_.tasks["sent"].sum()))
                print(f"dask-asgd {k:2d} tasks, {label:16s}: mean {statistics.mean(scores):.4f} median "
                      f"{statistics.median(scores):.4f}  states sent {statistics.median(sent):.0f} a fit", flush=True)
    sk = SGDClassifier if task == "classification" else SGDRegressor
    for k in [1] + tasks:
        models = []
        for draw in range(1 if k == 1 else 4):
            rows = np.sort(np.random.default_rng(draw).permutation(Xtr.shape[0])[: Xtr.shape[0] // k])
            models.append(sk(max_iter=args.epochs, tol=None, random_state=draw, **params).fit(Xtr[rows], ytr[rows]))
        avg = copy.deepcopy(models[0])
        avg.coef_ = np.mean([m.coef_ for m in models], axis=0)
        avg.intercept_ = np.mean([m.intercept_ for m in models], axis=0)
        print(f"scikit-learn SGD on 1/{k} of the rows: {', '.join(f'{score(m):.4f}' for m in models)}; "
              f"coefficient norm {statistics.median(float(np.linalg.norm(m.coef_)) for m in models):.2f}; "
              f"average of {len(models)}: {score(avg):.4f}", flush=True)


if __name__ == "__main__":
    main()
