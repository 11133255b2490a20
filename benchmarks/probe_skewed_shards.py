"""Two ideas for shards that differ, checked and not built.

    python benchmarks/bench_suite.py --datasets fashion_mnist --methods sklearn-sgd   # once: caches
    python benchmarks/probe_skewed_shards.py

1. Regression on shards split by the target: make_regression(120,000 x 50, noise 20), the
   training rows sorted by y, the first half persisted on one worker and the second on the
   other (a dask array; 2 in-process workers), against the same rows as a numpy array (split at
   random by fit): held-out R^2, 5 epochs, medians of 3 seeds, auto and no exchange. A large gap
   would call for a warning like the classifiers' class-mix one.
2. The final average weighted per class by each shard's share of that class's rows, instead of
   by shard size: two ``ShardTrainer`` (no Dask, no exchange) on Fashion-MNIST split by class
   (rows of each half in random order) and split at random; held-out accuracy of the plain and
   the per-class weighted average.
"""

import os
import statistics
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_suite import load_cached  # noqa: E402


def regression_by_target():
    import dask.array as da
    from distributed import Client, LocalCluster, wait
    from sklearn.datasets import make_regression
    from sklearn.metrics import r2_score

    from dask_asgd import ASGDRegressor

    X, y = make_regression(120_000, 50, n_informative=20, noise=20.0, random_state=0)
    y = (y - y.mean()) / y.std()
    Xte, yte, X, y = X[100_000:], y[100_000:], X[:100_000], y[:100_000]
    order = np.argsort(y)
    X, y = X[order], y[order]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster) as client:
        parts = []
        for worker, rows in zip(sorted(client.nthreads()), (slice(0, 50_000), slice(50_000, None))):
            parts.append(client.persist([da.from_array(X[rows], chunks=(25_000, 50)),
                                         da.from_array(y[rows], chunks=25_000)], workers=[worker]))
        dX = da.concatenate([p[0] for p in parts])
        dy = da.concatenate([p[1] for p in parts])
        wait([dX, dy])
        for label, (Xi, yi) in [("halves by target (dask)", (dX, dy)), ("numpy, split at random", (X, y))]:
            for si in ("auto", None):
                r2 = [r2_score(yte, ASGDRegressor(max_iter=5, tol=None, sync_interval=si, random_state=s)
                               .fit(Xi, yi).predict(Xte)) for s in range(3)]
                print(f"1. {label:24s} sync_interval={str(si):5s} held-out R^2 {statistics.median(r2):.4f}")


def per_class_average():
    from dask_asgd import ASGDClassifier
    from dask_asgd.models.linear import LinearTrainer

    X, Xte, y, yte = load_cached("fashion_mnist")
    n, K, d = len(y), 10, X.shape[1]
    spec = ASGDClassifier(loss="log_loss", sync_interval=None)._spec(K, d, True, 5, None, None, 1.0)
    order = np.argsort(y, kind="stable")
    splits = {
        "by class": [np.random.default_rng(1).permutation(order[: n // 2]),
                     np.random.default_rng(2).permutation(order[n // 2:])],
        "at random": np.array_split(np.random.default_rng(0).permutation(n), 2),
    }

    def accuracy(w):
        return float(np.mean((Xte @ w[: K * d].reshape(K, d).T + w[K * d:]).argmax(1) == yte))

    for label, halves in splits.items():
        models = []
        for i, rows in enumerate(halves):
            trainer = LinearTrainer(X[rows], y[rows].astype(float), None, spec, i)
            while not trainer.done:
                trainer.run(1000)
            models.append(trainer.model())
        share = np.stack([np.bincount(y[h], minlength=K) for h in halves]).astype(float)
        share /= share.sum(axis=0)
        weighted = np.zeros_like(models[0])
        for k in range(K):
            for i, w in enumerate(models):
                weighted[k * d:(k + 1) * d] += share[i, k] * w[k * d:(k + 1) * d]
                weighted[K * d + k] += share[i, k] * w[K * d + k]
        print(f"2. split {label:9s} plain average {accuracy((models[0] + models[1]) / 2):.4f}, "
              f"per-class weighted {accuracy(weighted):.4f}")


def main():
    warnings.simplefilter("ignore")
    regression_by_target()
    per_class_average()


if __name__ == "__main__":
    main()
