"""The merge rules on the engine: held-out AUC and fit time of 2-task fits (in-process cluster)
with no exchange, the paper's average merge and the pairwise merge, several seeds.

    python benchmarks/bench_merge.py                     # sparse set, 1 epoch, 5 seeds (~1 min)
    python benchmarks/bench_merge.py dense --epochs 5 --seeds 3

Data: the synthetic sets of ``bench_suite.py`` (sparse: 800,000 x 2^18 training rows with 50
non-zeros each, few observations per feature; dense: 800,000 x 100).  log_loss, default
parameters otherwise.  Prints per setting the median fit time, median AUC and accuracy, the
AUC of every seed, and the states sent, merged, rejected and the shares returned.
"""

import argparse
import os
import sys
import time
import warnings

import dask
import numpy as np
from distributed import Client, LocalCluster
from sklearn.metrics import roc_auc_score

from dask_asgd import ASGDClassifier

sys.path.insert(0, os.path.dirname(__file__))
from datasets import synthetic_dense, synthetic_sparse  # noqa: E402

SETTINGS = [
    ("no exchange", dict(sync_interval=None)),
    ("auto, average", dict(merge="average")),
    ("auto, pairwise", dict(merge="pairwise")),
    ("64, average", dict(sync_interval=64, merge="average")),
    ("64, pairwise", dict(sync_interval=64, merge="pairwise")),
    ("auto, pairwise, Parzen off", dict(merge="pairwise", parzen=False)),
    ("auto, pairwise, plain units", dict(merge="pairwise", units=False)),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", nargs="?", choices=["sparse", "dense"], default="sparse")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    Xtr, Xte, ytr, yte = synthetic_sparse() if args.data == "sparse" else synthetic_dense(n=1_000_000)
    print(f"{args.data}: train {Xtr.shape}, {args.epochs} epoch(s), {args.seeds} seeds, 2 tasks, in-process")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster):
        ASGDClassifier(max_iter=1, tol=None).fit(Xtr[:5000], ytr[:5000])  # compile
        res = {name: [] for name, _ in SETTINGS}
        for seed in range(args.seeds):  # settings interleaved: the machine's drift hits all alike
            for name, kw in SETTINGS:
                kw = dict(kw)
                units = kw.pop("units", True)
                t0 = time.perf_counter()
                with dask.config.set({"dask-asgd.merge-evidence-units": units}):
                    est = ASGDClassifier(loss="log_loss", max_iter=args.epochs, tol=None, random_state=seed,
                                         **kw).fit(Xtr, ytr)
                seconds = time.perf_counter() - t0
                t = est.fit_report_.tasks
                res[name].append((seconds, roc_auc_score(yte, est.decision_function(Xte)), est.score(Xte, yte),
                                  t["sent"].sum(), t["merged"].sum(), t["rejected"].sum(), t["replied"].sum()))
    print(f"{'setting':28s} {'fit s':>6s} {'AUC':>7s} {'acc':>7s}  sent merged rejected replied  AUC per seed")
    for name, _ in SETTINGS:
        a = np.array(res[name])
        m = np.median(a, axis=0)
        print(f"{name:28s} {m[0]:6.3f} {m[1]:7.4f} {m[2]:7.4f}  {m[3]:4.0f} {m[4]:6.0f} {m[5]:8.0f} {m[6]:7.0f}  "
              + " ".join(f"{v:.4f}" for v in a[:, 1]), flush=True)


if __name__ == "__main__":
    main()
