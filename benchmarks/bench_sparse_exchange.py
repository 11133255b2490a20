"""The cost of the exchange for a large sparse model: 2 tasks, synthetic sparse set (2^18 features),
log_loss, 5 epochs; no exchange, "auto", and fixed intervals 64 and 1024.

    python benchmarks/bench_sparse_exchange.py

Prints fit wall time, held-out accuracy and states sent (one fit each, random_state 0).
"""

import os
import sys
import time
import warnings

from distributed import Client, LocalCluster

from dask_asgd import ASGDClassifier

sys.path.insert(0, os.path.dirname(__file__))
from datasets import synthetic_sparse  # noqa: E402


def main():
    warnings.simplefilter("ignore")
    Xtr, Xte, ytr, yte = synthetic_sparse()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster):
        ASGDClassifier(loss="log_loss", max_iter=1, tol=None).fit(Xtr[:2000], ytr[:2000])  # compile
        for si in (None, "auto", 64, 1024):
            t0 = time.perf_counter()
            est = ASGDClassifier(loss="log_loss", max_iter=5, tol=None, random_state=0, sync_interval=si).fit(Xtr, ytr)
            print(f"sync_interval={si}: fit {time.perf_counter() - t0:.2f} s, accuracy {est.score(Xte, yte):.4f}, "
                  f"sent {int(est.fit_report_.tasks['sent'].sum())}", flush=True)


if __name__ == "__main__":
    main()
