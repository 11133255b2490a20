"""One task's speed and held-out log loss for different epoch orders (ShardTrainer, no Dask).

    python benchmarks/bench_group_order.py

1,000,000 x 100 dense float64 (make_classification, 200,000 more rows held out), log_loss, L2,
'optimal', 5 epochs, seeds 0-2. GROUP_ROWS = 1 is a per-row shuffle; "shifted" is the default
(group boundaries moved by a random offset each epoch). Seconds: median over the seeds.
"""

import statistics
import time

import numpy as np
from sklearn.datasets import make_classification
from sklearn.metrics import log_loss

import dask_asgd.models.base as T
from dask_asgd.models.linear import LinearSpec, LinearTrainer


def spec():
    return LinearSpec(n_outputs=1, n_features=100, is_classifier=True, loss=1, loss_param=1.0,
                      penalty=1, alpha=1e-4, l1_ratio=0.0, fit_intercept=True, learning_rate=1, eta0=0.01,
                      power_t=0.5, max_iter=5, tol=None, n_iter_no_change=5, shuffle=True, early_stopping=False,
                      validation_fraction=0.1, batch_size=1024, parzen=True, verbose=0)


def main():
    X, y = make_classification(1_200_000, 100, n_informative=20, random_state=0)
    Xtr, ytr, Xte, yte = X[:1_000_000], y[:1_000_000].astype(float), X[1_000_000:], y[1_000_000:]
    fixed_groups = T.ShardTrainer._new_epoch_order

    def no_shift(self):  # the same group boundaries every epoch
        if self.n_rows > 1:
            perm = self.rng.permutation(self.n_groups)
            self.ostart, self.ostop = self.gstart[perm], self.gstop[perm]
        self.limit = self.n_batches  # as the real one: this epoch's own mini-batches end here
        self.claimed = 0

    print("| group rows | seconds per 5 epochs | held-out log loss (seeds 0, 1, 2) |")
    print("|---|---|---|")
    for g, shifted in [(1, False), (8, False), (128, False), (128, True), (1024, False)]:
        T.GROUP_ROWS = g
        T.ShardTrainer._new_epoch_order = fixed_groups if shifted else no_shift
        secs, losses = [], []
        for seed in range(3):
            tr = LinearTrainer(Xtr, ytr, None, spec(), seed)
            t0 = time.perf_counter()
            while not tr.done:
                tr.run(100)
            secs.append(time.perf_counter() - t0)
            w = tr.state()
            losses.append(log_loss(yte, 1 / (1 + np.exp(-(Xte @ w[:100] + w[100])))))
        label = f"{g}, shifted each epoch" if shifted else str(g)
        print(f"| {label} | {statistics.median(secs):.2f} | {' '.join(f'{v:.4f}' for v in losses)} |", flush=True)


if __name__ == "__main__":
    main()
