"""Held-out scores of dask-asgd (1 and 2 tasks) next to scikit-learn's SGD, same loss and settings.

    python benchmarks/bench_accuracy.py

Mean test score over 3 train/test splits x 3 seeds, StandardScaler fitted on the training split,
default parameters (tol=1e-3, convergence) and 5 fixed epochs. Classifiers: accuracy; regressors:
R^2.
"""

import warnings

import numpy as np
from distributed import Client, LocalCluster
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.linear_model import SGDClassifier, SGDRegressor
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from dask_asgd import ASGDClassifier, ASGDRegressor


def main():
    warnings.simplefilter("ignore")
    sets = [("digits", load_digits, SGDClassifier, ASGDClassifier),
            ("breast_cancer", load_breast_cancer, SGDClassifier, ASGDClassifier),
            ("diabetes", load_diabetes, SGDRegressor, ASGDRegressor)]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster):
        print("| data | epochs | scikit-learn | dask-asgd 1 task | dask-asgd 2 tasks |")
        print("|---|---|---|---|---|")
        for name, load, Ref, Ours in sets:
            X, y = load(return_X_y=True)
            for epochs in (None, 5):
                kw = {"max_iter": 1000} if epochs is None else {"max_iter": epochs, "tol": None}
                scores = {"ref": [], 1: [], 2: []}
                for split in range(3):
                    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=split)
                    sc = StandardScaler().fit(Xtr)
                    Xtr, Xte = sc.transform(Xtr), sc.transform(Xte)
                    for seed in range(3):
                        scores["ref"].append(Ref(random_state=seed, **kw).fit(Xtr, ytr).score(Xte, yte))
                        for nw in (1, 2):
                            est = Ours(random_state=seed, n_workers=nw, **kw).fit(Xtr, ytr)
                            scores[nw].append(est.score(Xte, yte))
                m = {k: np.mean(v) for k, v in scores.items()}
                label = "to convergence" if epochs is None else f"{epochs}"
                print(f"| {name} | {label} | {m['ref']:.4f} | {m[1]:.4f} | {m[2]:.4f} |", flush=True)


if __name__ == "__main__":
    main()
