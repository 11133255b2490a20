"""Many tasks at a fixed number of epochs: does a step-size schedule counted in the whole fit's
samples, with or without averaging during training, give back what the tasks lose?

    python benchmarks/bench_suite.py --datasets synthetic_dense --methods sklearn-sgd   # once: caches the set
    python benchmarks/probe_global_schedule.py [--tasks 2,16] [--epochs 3] [--every 16] [--seeds 2]
    python benchmarks/probe_global_schedule.py --dataset synthetic_sparse     # or flights_clf

P ``ShardTrainer`` s (a task's training loop, without Dask and without timing) train P
contiguous slices of a binary set of the suite (``--dataset``: synthetic_dense, synthetic_sparse
or flights_clf; its training rows in random order, a fixed permutation), ``--every``
mini-batches at a time in turn, log_loss with the 'optimal' schedule. Four ways:

* ``local t, apart``: each task's schedule counts its own samples; the model is the average of
  the P states at the end (dask-asgd without exchange, as built).
* ``local t, averaged``: the same, and every round all P states are replaced by their average
  (a symmetric, synchronous stand-in for frequent merges).
* ``global t, apart``: after each round every task's sample counter also advances by the
  samples the other P - 1 tasks trained in it, so its step sizes are those of one SGD that has
  seen the whole fit's samples; averaged at the end only.
* ``global t, averaged``: both.

Prints the held-out log loss and accuracy of the final average (medians over ``--seeds`` seeds
of the tasks' row orders), and scikit-learn's SGDClassifier on all rows for the same epochs.
"""

import argparse
import os
import statistics
import sys
import time
import warnings

import numpy as np
from sklearn.metrics import accuracy_score, log_loss

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_suite import load_cached  # noqa: E402

MODES = ["local t, apart", "local t, averaged", "global t, apart", "global t, averaged"]


def _set(trainer, w):
    trainer.w[:] = w
    trainer.scale[0] = 1.0


def run(mode, Xtr, ytr, epochs, P, every, seed):
    from dask_asgd import ASGDClassifier
    from dask_asgd.models.linear import LinearTrainer

    n, d = Xtr.shape
    spec = ASGDClassifier(loss="log_loss", max_iter=epochs, tol=None)._spec(1, d, True, epochs, None, None, 1.0)
    cuts = np.linspace(0, n, P + 1).astype(int)
    T = [LinearTrainer(Xtr, ytr, None, spec, seed + 7 * i, ranges=[(int(cuts[i]), int(cuts[i + 1]))])
         for i in range(P)]
    total = min(t.n_batches for t in T) * epochs
    done = 0
    while done < total:
        m = min(every, total - done)
        seen = []
        for t in T:
            before = t.t[0]
            t.run(m)
            seen.append(t.t[0] - before)
        done += m
        if mode.startswith("global"):
            for k, t in enumerate(T):
                t.t[0] += sum(seen) - seen[k]
        if mode.endswith("averaged"):
            avg = np.mean([t.state() for t in T], axis=0)
            for t in T:
                _set(t, avg)
    return np.mean([t.state() for t in T], axis=0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", default="2,16")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--every", type=int, default=16, help="mini-batches a task trains between rounds")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--dataset", default="synthetic_dense", choices=["synthetic_dense", "synthetic_sparse", "flights_clf"])
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    Xtr, Xte, ytr, yte = load_cached(args.dataset)
    perm = np.random.default_rng(0).permutation(Xtr.shape[0])  # flights come in date order
    Xtr, ytr = Xtr[perm], np.asarray(ytr, dtype=np.float64)[perm]
    d = Xtr.shape[1]

    def scores(w):
        z = np.asarray(Xte @ w[:d]).ravel() + w[d]
        p = np.clip(1 / (1 + np.exp(-z)), 1e-15, 1 - 1e-15)
        return log_loss(yte, np.c_[1 - p, p]), accuracy_score(yte, z > 0)

    from sklearn.linear_model import SGDClassifier

    sk = SGDClassifier(loss="log_loss", max_iter=args.epochs, tol=None, random_state=0).fit(Xtr, ytr)
    print(f"# {args.dataset} {Xtr.shape}, {args.epochs} epochs, rounds of {args.every} mini-batches a task; "
          f"scikit-learn SGD on all rows: log loss {scores(np.r_[sk.coef_.ravel(), sk.intercept_])[0]:.4f}")
    for P in [int(p) for p in args.tasks.split(",")]:
        for mode in MODES:
            t0 = time.perf_counter()
            res = [scores(run(mode, Xtr, ytr, args.epochs, P, args.every, 1 + s)) for s in range(args.seeds)]
            print(f"{P:2d} tasks, {mode:18s}: log loss {statistics.median(r[0] for r in res):.4f}, accuracy "
                  f"{statistics.median(r[1] for r in res):.4f}  ({time.perf_counter() - t0:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
