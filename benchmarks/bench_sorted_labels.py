"""Rows sorted by label: test accuracy of one dask-asgd task next to SGDClassifier.

    python benchmarks/bench_sorted_labels.py

The training rows are sorted by class (the worst order for SGD); dask-asgd detects the order
(`needs_row_shuffle`) and shuffles once. Mean test accuracy over seeds 0-2, 5 epochs and to
convergence (default tol).
"""

import warnings

import numpy as np
from distributed import Client, LocalCluster
from sklearn.datasets import load_digits, make_classification
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from dask_asgd import ASGDClassifier


def main():
    warnings.simplefilter("ignore")
    sets = [("digits", load_digits(return_X_y=True)),
            ("synthetic 5 classes, 100,000 x 50",
             make_classification(100_000, 50, n_informative=20, n_classes=5, random_state=0))]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster):
        print("| data | epochs | SGDClassifier, sorted | dask-asgd 1 task, sorted | SGDClassifier, as given "
              "| dask-asgd 1 task, as given |")
        print("|---|---|---|---|---|---|")
        for name, (X, y) in sets:
            Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=0)
            sc = StandardScaler().fit(Xtr)
            Xtr, Xte = sc.transform(Xtr), sc.transform(Xte)
            order = np.argsort(ytr, kind="stable")
            Xs, ys = Xtr[order], ytr[order]
            for epochs in (5, None):
                kw = {"max_iter": epochs, "tol": None} if epochs else {}
                row = []
                for A, b in ((Xs, ys), (Xtr, ytr)):
                    row.append(np.mean([SGDClassifier(random_state=s, **kw).fit(A, b).score(Xte, yte)
                                        for s in range(3)]))
                    row.append(np.mean([ASGDClassifier(random_state=s, n_workers=1, **kw).fit(A, b).score(Xte, yte)
                                        for s in range(3)]))
                print(f"| {name} | {epochs or 'to convergence'} | " + " | ".join(f"{v:.4f}" for v in row) + " |",
                      flush=True)


if __name__ == "__main__":
    main()
