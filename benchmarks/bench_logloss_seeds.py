"""Held-out log loss of one task against SGDClassifier over many seeds (is the gap real?).

    python benchmarks/bench_logloss_seeds.py [--seeds 16]

1,000,000 x 100 dense float64 (make_classification, random_state 0, 200,000 more rows held out),
log_loss, L2, 'optimal', 5 epochs, tol=None; only the order of the rows changes with the seed.
"g1" is our kernel with a per-row shuffle (GROUP_ROWS = 1), "g128" the default 128-row group walk
(``ShardTrainer`` directly, no Dask). Prints mean, its standard error, median and the values.
"""

import argparse
import math
import sys
import time
import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import log_loss

import dask_asgd.models.base as T
from dask_asgd.models.linear import LinearTrainer

sys.path.insert(0, __import__("os").path.dirname(__file__))
from bench_group_order import spec  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--methods", default="sklearn,g1,g128")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    X, y = make_classification(1_200_000, 100, n_informative=20, random_state=0)
    Xtr, ytr, Xte, yte = X[:1_000_000], y[:1_000_000], X[1_000_000:], y[1_000_000:]
    print(f"# held-out log loss after 5 epochs, seeds 0-{args.seeds - 1}")
    for name in args.methods.split(","):
        losses, secs = [], []
        for seed in range(args.seeds):
            t0 = time.perf_counter()
            if name == "sklearn":
                m = SGDClassifier(loss="log_loss", max_iter=5, tol=None, random_state=seed).fit(Xtr, ytr)
                secs.append(time.perf_counter() - t0)
                losses.append(log_loss(yte, m.predict_proba(Xte)))
            else:
                T.GROUP_ROWS = int(name[1:])
                tr = LinearTrainer(Xtr, ytr.astype(float), None, spec(), seed)
                while not tr.done:
                    tr.run(100)
                secs.append(time.perf_counter() - t0)
                w = tr.state()
                losses.append(log_loss(yte, 1 / (1 + np.exp(-(Xte @ w[:100] + w[100])))))
        L = np.array(losses)
        print(f"{name:8s} mean {L.mean():.4f} +- {L.std(ddof=1) / math.sqrt(len(L)):.4f} (s.e.)  "
              f"median {np.median(L):.4f}  sd {L.std(ddof=1):.4f}  median fit {np.median(secs):.2f} s  "
              + " ".join(f"{v:.4f}" for v in L), flush=True)


if __name__ == "__main__":
    main()
