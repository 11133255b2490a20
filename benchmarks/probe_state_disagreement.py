"""How far apart two tasks' states drift when trained apart: random halves against halves that differ.

    python benchmarks/bench_suite.py --datasets fashion_mnist --methods sklearn-sgd   # once: caches
    python benchmarks/probe_state_disagreement.py

Two ``ShardTrainer`` (the task's SGD, no Dask, no exchange), log_loss, 3 epochs, each on one half
of the rows: a random split, and a split that differs (Fashion-MNIST by class, classes 0-4 and
5-9; 400,000 x 100 synthetic rows by their first feature). Every 20 mini-batches prints, at 9
points: ``d``, the distance between the two states relative to the norm of their mean, ``m``, how
far a state moved in those 20 mini-batches relative to its norm, and ``d / m``.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_suite import load_cached  # noqa: E402


def drift(X, y, halves, label, n_classes):
    from dask_asgd import ASGDClassifier
    from dask_asgd.models.linear import LinearTrainer

    spec = ASGDClassifier(loss="log_loss", sync_interval=None)._spec(
        n_classes if n_classes > 2 else 1, X.shape[1], True, 3, None, None, 1.0)
    trainers = [LinearTrainer(X[h], y[h].astype(float), None, spec, i) for i, h in enumerate(halves)]
    points = []
    before = [t.state() for t in trainers]
    while not all(t.done for t in trainers):
        for t in trainers:
            t.run(20)
        w = [t.state() for t in trainers]
        d = np.linalg.norm(w[0] - w[1]) / (0.5 * np.linalg.norm(w[0] + w[1]) + 1e-12)
        m = np.mean([np.linalg.norm(a - b) / (np.linalg.norm(a) + 1e-12) for a, b in zip(w, before)])
        before = w
        points.append((trainers[0].samples_done, d, m))
    shown = points[1:: max(1, len(points) // 8)]
    print(f"{label:24s}", " ".join(f"[{s // 1000}k d={d:.3f} m={m:.3f} d/m={d / max(m, 1e-9):.1f}]"
                                    for s, d, m in shown))


def main():
    from sklearn.datasets import make_classification

    rng = np.random.default_rng(0)
    X, _, y, _ = load_cached("fashion_mnist")
    n = len(y)
    p = rng.permutation(n)
    drift(X, y, [p[: n // 2], p[n // 2:]], "Fashion-MNIST random", 10)
    o = np.argsort(y, kind="stable")
    drift(X, y, [o[: n // 2], o[n // 2:]], "Fashion-MNIST by class", 10)
    Xs, ys = make_classification(400_000, 100, n_informative=20, random_state=0)
    p = rng.permutation(len(ys))
    drift(Xs, ys, [p[:200_000], p[200_000:]], "dense random", 2)
    o = np.argsort(Xs[:, 0])
    drift(Xs, ys, [o[:200_000], o[200_000:]], "dense by first feature", 2)


if __name__ == "__main__":
    main()
