"""Fit on a dask array whose partitions are in order, see the warning, shuffle, fit again.

    python examples/dask_collections.py

A Dask collection is trained where its partitions live. Here scikit-learn's digits are stored
sorted by class, digits 0-4 on one worker and 5-9 on the other (as a collection written class by
class would be): fit warns, and the model is weak even with the exchange between the tasks. A
shuffle across partitions (``X[idx]`` with a random permutation) gives each worker a sample of
every class.
"""

import warnings

import dask.array as da
import numpy as np
from distributed import Client, LocalCluster
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from dask_asgd import ASGDClassifier


def main():
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    order = np.argsort(y_train, kind="stable")
    X_train, y_train = X_train[order], y_train[order]
    half = len(y_train) // 2

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        parts = []
        for worker, rows in zip(sorted(client.nthreads()), (slice(0, half), slice(half, None))):
            parts.append(
                client.persist(
                    [da.from_array(X_train[rows], chunks=(200, -1)), da.from_array(y_train[rows], chunks=200)],
                    workers=[worker],
                )
            )
        dX = da.concatenate([p[0] for p in parts])
        dy = da.concatenate([p[1] for p in parts])

        warned = []
        for label in ("in order", "shuffled"):
            Xd, yd = dX, dy
            if label == "shuffled":  # the shuffle across partitions
                idx = np.random.default_rng(0).permutation(dX.shape[0])
                Xd, yd = client.persist([dX[idx], dy[idx]])
            for sync in ("auto", None):
                clf = ASGDClassifier(loss="log_loss", max_iter=20, sync_interval=sync, random_state=0)
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    clf.fit(Xd, yd)
                this = [str(w.message) for w in caught if "class mixes" in str(w.message)]
                warned += this
                accuracy = clf.score(X_test, y_test)
                print(
                    f"{label:9s} sync_interval={str(sync):5s} test accuracy {accuracy:.4f}, "
                    f"shards' class-mix distance {clf.fit_report_.class_skew:.2f}" + (", warned" if this else "")
                )
        print(warned[0] if warned else "no warning")
        print("predict on a dask array is lazy:", clf.predict(dX))


if __name__ == "__main__":
    main()
