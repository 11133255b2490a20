"""Why asynchronous merges can cost accuracy: the same two shards, the same kernel, five ways of
combining the two tasks' states, in one process and in a fixed order (no Dask, no timing noise).

    python benchmarks/probe_merge_symmetry.py                  # both data sets below, ~1 min
    python benchmarks/probe_merge_symmetry.py sparse --every 64 --lag 4

Two ``ShardTrainer`` s (the training loop of a task, without its Dask task around it) train the
two halves of a training set, a few mini-batches at a time in turn.  Every ``--every``
mini-batches one of them (alternately) exchanges:

* ``none``: never; the model is the average of the two states at the end (what
  ``sync_interval=None`` returns).
* ``symmetric average``: both states replaced by their average at the same moment.
* ``asynchronous average``: the exchanging task replaces its state by the average of its state
  and the other's last published one (the paper's merge, as a task does it on receipt; the
  other task merges at its own, later, turn).
* ``pairwise``: the exchanging task sends its state; ``--lag`` rounds later the other adds half
  the difference and sends that half back, which the first subtracts ``--lag`` rounds after:
  the sum of the two states is exactly conserved.
* ``sum of deltas``: each adds the other's progress since its last exchange (Hogwild-like).

Prints held-out AUC, accuracy and log loss of the averaged model at 20%, 50% and 100% of the
epochs (medians over ``--seeds`` row orders).  Data: the synthetic sparse set of ``bench_suite.py`` (800,000 x 2^18, 50 non-zeros
a row, 1 epoch, few observations per feature) and the synthetic dense one (1,000,000 rows
generated, 800,000 x 100 trained, 5 epochs); log_loss, default parameters otherwise.
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

from dask_asgd import ASGDClassifier
from dask_asgd.models.linear import LinearTrainer

sys.path.insert(0, os.path.dirname(__file__))
from datasets import synthetic_dense, synthetic_sparse  # noqa: E402

MODES = ["none", "symmetric average", "asynchronous average", "pairwise", "sum of deltas"]


def scores(w, Xte, yte, d):
    z = np.asarray(Xte @ w[:d]).ravel() + w[d]
    p = np.clip(1 / (1 + np.exp(-z)), 1e-15, 1 - 1e-15)
    return roc_auc_score(yte, z), accuracy_score(yte, z > 0), log_loss(yte, np.c_[1 - p, p])


def _set(trainer, w):
    trainer.w[:] = w
    trainer.scale[0] = 1.0


def run(mode, Xtr, ytr, Xte, yte, epochs, every, lag, seed=1, checkpoints=(0.2, 0.5, 1.0)):
    n, d = Xtr.shape
    spec = ASGDClassifier(loss="log_loss", max_iter=epochs, tol=None)._spec(1, d, True, epochs, None, None, 1.0)
    T = [LinearTrainer(Xtr, ytr, None, spec, seed, ranges=[(0, n // 2)]),
         LinearTrainer(Xtr, ytr, None, spec, seed + 1, ranges=[(n // 2, n)])]
    total = T[0].n_batches * epochs
    step = max(1, every // 2)  # mini-batches per round; task i exchanges every other round
    published = [t.state() for t in T]
    base = [t.state() for t in T]
    base_t = [t.t[0] for t in T]
    pending = []  # (round, receiving task, kind, values)
    done, rnd, out, marks = 0, 0, [], list(checkpoints)
    while done < total:
        rnd += 1
        for p in [p for p in pending if p[0] <= rnd]:
            pending.remove(p)
            _, who, kind, val = p
            w = T[who].state()
            if kind == "request":  # add half the difference, send that half back
                half = (val - w) / 2
                _set(T[who], w + half)
                pending.append((rnd + lag, 1 - who, "reply", half))
            else:
                _set(T[who], w - val)
        m = min(step, total - done)
        for t in T:
            t.run(m)
        done += m
        i = rnd % 2
        j = 1 - i
        if mode == "symmetric average" and i == 0:
            avg = (T[0].state() + T[1].state()) / 2
            _set(T[0], avg)
            _set(T[1], avg)
        elif mode == "asynchronous average":
            w = T[i].state()
            published[i] = w
            _set(T[i], (w + published[j]) / 2)
        elif mode == "pairwise" and i == 0 and not pending:
            pending.append((rnd + lag, 1, "request", T[0].state()))
        elif mode == "sum of deltas" and i == 0:
            w = [t.state() for t in T]
            delta = [w[k] - base[k] for k in (0, 1)]
            seen = [T[k].t[0] - base_t[k] for k in (0, 1)]
            for k in (0, 1):
                _set(T[k], w[k] + delta[1 - k])
                T[k].t[0] += seen[1 - k]  # the step size counts every sample the model has seen
            base = [t.state() for t in T]
            base_t = [t.t[0] for t in T]
        while marks and done >= marks[0] * total:
            out.append((marks.pop(0), scores((T[0].state() + T[1].state()) / 2, Xte, yte, d)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", nargs="?", choices=["sparse", "dense", "both"], default="both")
    ap.add_argument("--every", type=int, default=64, help="mini-batches between a task's exchanges")
    ap.add_argument("--lag", type=int, default=1, help="rounds a pairwise message travels")
    ap.add_argument("--seeds", type=int, default=1, help="row orders tried; medians printed")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    sets = {"sparse": (synthetic_sparse, 1), "dense": (lambda: synthetic_dense(n=1_000_000), 5)}
    for name in (["sparse", "dense"] if args.data == "both" else [args.data]):
        load, epochs = sets[name]
        Xtr, Xte, ytr, yte = load()
        ytr = ytr.astype(np.float64)
        print(f"\n{name}: train {Xtr.shape}, {epochs} epoch(s), exchange every {args.every} mini-batches, "
              f"lag {args.lag}")
        print(f"{'mode':22s} " + " | ".join(f"{c:>4.0%}: AUC    acc    logloss" for c in (0.2, 0.5, 1.0)))
        for mode in MODES:
            t0 = time.perf_counter()
            runs = [run(mode, Xtr, ytr, Xte, yte, epochs, args.every, args.lag, seed=1 + 2 * s)
                    for s in range(args.seeds)]
            med = np.median(np.array([[sc for _, sc in r] for r in runs]), axis=0)
            cells = " | ".join(f"      {a:.4f} {b:.4f} {c:.4f}" for a, b, c in med)
            print(f"{mode:22s} {cells}   ({time.perf_counter() - t0:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
