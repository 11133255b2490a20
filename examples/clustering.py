"""K-Means on a Dask array whose partitions hold different parts of the data, with 2 workers.

    python examples/clustering.py

The rows are sorted by their first feature and cut into two partitions, as data partitioned by
date or region sits: each worker trains on one end of the range. Trained apart, the two tasks
pull the shared centroids toward their own rows and the combined model is poor; exchanging
centroids while they train keeps the tasks' centroids describing the same clusters.
"""

import time

import dask.array as da
import numpy as np
from distributed import Client, LocalCluster
from sklearn.cluster import KMeans, kmeans_plusplus
from sklearn.datasets import make_blobs

from dask_asgd import ASGDKMeans


def main():
    X, _ = make_blobs(200_000, 10, centers=30, cluster_std=3.0, center_box=(-10, 10), random_state=0)
    X = X[np.argsort(X[:, 0], kind="stable")]
    k = 30
    sample = np.random.default_rng(0).choice(len(X), 20_000, replace=False)
    init = kmeans_plusplus(X[sample], k, random_state=0)[0]  # one start for every method below

    t0 = time.perf_counter()
    ref = KMeans(k, init=init, n_init=1).fit(X)
    print(f"scikit-learn KMeans:            inertia {ref.inertia_:.4g} in {time.perf_counter() - t0:.2f} s")

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        # one end of the range on each worker, as a Dask array of the two parts
        halves = [X[:100_000], X[100_000:]]
        futures = [client.scatter(h, workers=[w]) for h, w in zip(halves, sorted(client.nthreads()))]
        dX = da.concatenate([da.from_delayed(f, shape=h.shape, dtype=h.dtype) for f, h in zip(futures, halves)])
        for name, sync in [("trained apart (sync_interval=None)", None), ("exchanging (sync_interval='auto')", "auto")]:
            ratios = []
            t0 = time.perf_counter()
            for seed in range(3):
                km = ASGDKMeans(k, init=init, sync_interval=sync, random_state=seed).fit(dX)
                ratios.append(km.inertia_ / ref.inertia_)
            seconds = (time.perf_counter() - t0) / 3
            print(
                f"dask-asgd, {name}: inertia / KMeans's {np.median(ratios):.3f} (median of 3), "
                f"{seconds:.2f} s a fit, {int(km.fit_report_.tasks['sent'].sum())} messages"
            )
        print(km.fit_report_)


if __name__ == "__main__":
    main()
