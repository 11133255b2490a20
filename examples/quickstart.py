"""Fit ASGDClassifier on scikit-learn's digits with 2 workers and print what happened.

python examples/quickstart.py
"""

import time

from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from dask_asgd import ASGDClassifier


def main():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)

    # No Client is active: fit() starts an in-process LocalCluster for itself and keeps it for
    # the next fit (closed after 5 idle minutes, or at exit).
    model = make_pipeline(StandardScaler(), ASGDClassifier(loss="log_loss", n_workers=2, random_state=0))
    t0 = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - t0
    clf = model[-1]
    print(
        f"dask-asgd ASGDClassifier, 2 workers: test accuracy {model.score(X_test, y_test):.4f} "
        f"in {seconds:.2f} s (cluster start included), {clf.n_iter_} epochs"
    )
    print(clf.fit_report_)
    print(clf.fit_report_.tasks.to_string())
    t0 = time.perf_counter()
    model.fit(X_train, y_train)
    print(f"the same fit again, on the cluster kept from the first: {time.perf_counter() - t0:.2f} s")

    ref = make_pipeline(StandardScaler(), SGDClassifier(loss="log_loss", random_state=0))
    t0 = time.perf_counter()
    ref.fit(X_train, y_train)
    print(
        f"scikit-learn SGDClassifier:           test accuracy {ref.score(X_test, y_test):.4f} "
        f"in {time.perf_counter() - t0:.2f} s"
    )


if __name__ == "__main__":
    main()
