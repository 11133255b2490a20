"""A grid search over a scikit-learn pipeline, with dask-asgd and with scikit-learn's SGD.

    python examples/grid_search.py

GridSearchCV(Pipeline(StandardScaler, ASGDClassifier)) over alpha and loss, 3-fold, on a synthetic
problem of 200,000 x 40, 3 classes (make_classification; 150,000 rows to search on, the rest held
out), every fit 5 epochs; then the same search with
SGDClassifier. dask-asgd's fits run one after the other on the Client's in-process cluster (2
single-thread workers); the search's own scoring is held to one BLAS thread, so that its matrix
products leave no spinning BLAS threads on the cores the next fit trains on (docs/usage.md).
Prints each search's time, best parameters and held-out accuracy.
"""

import time

from distributed import Client, LocalCluster
from sklearn.datasets import make_classification
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from dask_asgd import ASGDClassifier


def search(estimator, name, X_train, y_train, X_test, y_test):
    step = estimator.__class__.__name__.lower()
    grid = {f"{step}__alpha": [1e-5, 1e-4, 1e-3], f"{step}__loss": ["hinge", "log_loss"]}
    gs = GridSearchCV(make_pipeline(StandardScaler(), estimator), grid, cv=3)
    t0 = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):
        gs.fit(X_train, y_train)
        score = gs.score(X_test, y_test)
    seconds = time.perf_counter() - t0
    best = {k.split("__")[1]: v for k, v in gs.best_params_.items()}
    print(
        f"{name}: {len(gs.cv_results_['params']) * 3 + 1} fits in {seconds:.2f} s, best {best}, "
        f"cross-validated accuracy {gs.best_score_:.4f}, held-out accuracy {score:.4f}"
    )
    return seconds


def main():
    X, y = make_classification(200_000, 40, n_informative=20, n_classes=3, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
        Client(cluster),
    ):
        ASGDClassifier(max_iter=1, tol=None).fit(X_train[:1000], y_train[:1000])  # compiles the kernels once
        ours = search(
            ASGDClassifier(max_iter=5, tol=None, random_state=0),
            "dask-asgd, 2 workers",
            X_train,
            y_train,
            X_test,
            y_test,
        )
    theirs = search(
        SGDClassifier(max_iter=5, tol=None, random_state=0),
        "scikit-learn SGDClassifier",
        X_train,
        y_train,
        X_test,
        y_test,
    )
    print(f"dask-asgd's search took {ours / theirs:.2f} of scikit-learn's time")


if __name__ == "__main__":
    main()
