"""The 5-class synthetic set at 5 epochs: SGDClassifier vs one dask-asgd task, per-row order vs
128-row groups, mean test accuracy over seeds 0-5.

    python benchmarks/bench_multiclass_gap.py
"""

import warnings

import numpy as np
from distributed import Client, LocalCluster
from sklearn.datasets import make_classification
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import dask_asgd.models.base as T
from dask_asgd import ASGDClassifier


def main():
    warnings.simplefilter("ignore")
    X, y = make_classification(100_000, 50, n_informative=20, n_classes=5, random_state=0)
    Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=0)
    sc = StandardScaler().fit(Xtr)
    Xtr, Xte = sc.transform(Xtr), sc.transform(Xte)
    seeds = range(6)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster):
        ref = np.mean([SGDClassifier(random_state=s, max_iter=5, tol=None).fit(Xtr, ytr).score(Xte, yte)
                       for s in seeds])
        print(f"SGDClassifier: {ref:.4f}")
        for g in (1, 16, 128):
            T.GROUP_ROWS = g
            ours = np.mean([ASGDClassifier(random_state=s, n_workers=1, max_iter=5, tol=None).fit(Xtr, ytr)
                            .score(Xte, yte) for s in seeds])
            print(f"dask-asgd, 1 task, groups of {g} rows: {ours:.4f}", flush=True)


if __name__ == "__main__":
    main()
