"""Fit ASGDClassifier on scikit-learn's digits with 2 workers and print what happened.

python examples/quickstart.py

The first fit of a process compiles dask-asgd's training kernels on the workers (numba): the
first run takes seconds more; numba caches the kernels on disk, and later runs load them.
"""

import time

from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from dask_asgd import ASGDClassifier

COLUMNS = ["worker", "n_samples", "n_iter", "sent", "received", "merged", "rejected", "seconds"]


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
        f"in {seconds:.2f} s (the cluster's start, and on a first run compiling the kernels, included), "
        f"{clf.n_iter_} epochs"
    )
    print(clf.fit_report_)
    t0 = time.perf_counter()
    model.fit(X_train, y_train)
    print(f"the same fit again, on the cluster kept from the first: {time.perf_counter() - t0:.2f} s")

    # The two tasks above trained apart and their models were averaged at the end (sent=0):
    # shards drawn at random from in-memory rows do as well that way. With an int sync_interval
    # each task sends its model to the other every so many mini-batches while they train, and
    # merges what it receives once it passes the Parzen test (rejected: those that did not).
    # Dask collections, whose partitions may differ, and ASGDKMeans exchange by default.
    exchanging = make_pipeline(
        StandardScaler(), ASGDClassifier(loss="log_loss", sync_interval=8, n_workers=2, random_state=0)
    )
    exchanging.fit(X_train, y_train)
    report = exchanging[-1].fit_report_
    tasks = report.tasks
    print(
        f"exchanging every 8 mini-batches: test accuracy {exchanging.score(X_test, y_test):.4f}, "
        f"states sent {tasks['sent'].sum()}, merged {tasks['merged'].sum()}, rejected {tasks['rejected'].sum()}"
    )
    print(report)
    print(tasks[COLUMNS].to_string())

    ref = make_pipeline(StandardScaler(), SGDClassifier(loss="log_loss", random_state=0))
    t0 = time.perf_counter()
    ref.fit(X_train, y_train)
    print(
        f"scikit-learn SGDClassifier:           test accuracy {ref.score(X_test, y_test):.4f} "
        f"in {time.perf_counter() - t0:.2f} s"
    )


if __name__ == "__main__":
    main()
