"""Why do merges on random shards cost accuracy under the whole fit's schedule? Merges of fresh
and of stale states, without Dask and without timing.

    python benchmarks/bench_suite.py --datasets fashion_mnist --methods sklearn-sgd   # once: caches the set
    python benchmarks/probe_stale_merge.py [--dataset fashion_mnist] [--epochs 2] [--every 64]
        [--age 32] [--seeds 8] [--head 0] [--tail 0]

Two ``ShardTrainer`` s (a task's training loop) train the two halves of a classification set of
the suite (its training rows under a fixed random permutation), 8 mini-batches at a time in
turn, log_loss with the 'optimal' schedule counted over the whole fit (``t_scale`` 2: what
``dask-asgd.schedule: auto`` gives dense input). Every ``--every`` mini-batches one task (the
two in turn, as asynchronous merges come) merges the other's state, in one of these ways:

* ``apart``: no merge; the final average only (dask-asgd without exchange);
* ``symmetric``: both states replaced by their average (a synchronous all-reduce);
* ``one-sided-fresh``: the receiver averages its state with the sender's current one;
* ``one-sided-stale``: ... with the sender's state of ``--age`` mini-batches ago (a state that
  waited in transit and for the receiver's next kernel call, as in the engine);
* ``stale-compensated``: the receiver adds half of (sender's old state - its own state of the
  same moment): the stale state moved on by the receiver's own progress since.

``--head F`` / ``--tail F``: no merges in the first / last fraction F of the fit's mini-batches
(merges early only, or late only).

Two more with ``--modes`` (not run by default): ``symmetric-coef`` averages only the
coefficients of both states (each keeps its intercepts), ``symmetric-intercept`` only the
intercepts: which part of the state a merge's effect comes from.

Prints the held-out accuracy and log loss of the final average, medians over ``--seeds`` row
orders, and the mean seed-by-seed difference of accuracy to ``apart`` (standard error); then,
means over the seeds, the held-out accuracy of each task's own final state, the distance between
the two states' coefficients relative to the norm of their average, and that norm.
"""

import argparse
import math
import os
import statistics
import sys
import warnings
from collections import deque
from dataclasses import replace

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_suite import load_cached  # noqa: E402

MODES = ["apart", "symmetric", "one-sided-fresh", "one-sided-stale", "stale-compensated"]
PART_MODES = ["symmetric-coef", "symmetric-intercept"]
ROUND = 8  # mini-batches a task trains per turn


def _set(trainer, w):
    trainer.w[:] = w
    trainer.scale[0] = 1.0


def shuffled_set(dataset):
    """A classification set of the suite's cache with its training rows under a fixed random
    permutation: ``(Xtr, Xte, ytr, yte, classes, codes)``, ``codes`` the training labels' class
    codes as the kernel reads them."""
    Xtr, Xte, ytr, yte = load_cached(dataset)
    perm = np.random.default_rng(0).permutation(Xtr.shape[0])
    Xtr, ytr = Xtr[perm], np.asarray(ytr)[perm]
    classes = np.unique(ytr)
    return Xtr, Xte, ytr, yte, classes, np.searchsorted(classes, ytr).astype(np.float64)


def run(mode, Xtr, codes, K, epochs, every, age, seed, tail=0.0, head=0.0):
    from dask_asgd import ASGDClassifier
    from dask_asgd.models.linear import LinearTrainer

    n, d = Xtr.shape
    spec = ASGDClassifier(loss="log_loss", max_iter=epochs, tol=None)._spec(K, d, True, epochs, None, None, 1.0)
    spec = replace(spec, t_scale=2.0)
    cut = n // 2
    T = [LinearTrainer(Xtr, codes, None, spec, seed + 7 * i, ranges=[r]) for i, r in enumerate([(0, cut), (cut, n)])]
    total = min(t.n_batches for t in T) * epochs
    lag = max(1, age // ROUND)
    past = [deque(maxlen=lag + 1) for _ in T]  # each task's states at the last turns
    done, turn = 0, 0
    while done < total:
        m = min(ROUND, total - done)
        for i, t in enumerate(T):
            t.run(m)
            past[i].append(t.state())
        done += m
        if mode == "apart" or done < every * (turn + 1) or done > total * (1 - tail) or done < total * head:
            continue
        recv, send = turn % 2, 1 - turn % 2
        turn += 1
        w = T[recv].state()
        if mode.startswith("symmetric"):  # both states: the whole (or one part) averaged
            nc = T[0].n_coef
            part = {"symmetric": slice(None), "symmetric-coef": slice(None, nc),
                    "symmetric-intercept": slice(nc, None)}[mode]
            s0, s1 = T[0].state(), T[1].state()
            s0[part] = s1[part] = (s0[part] + s1[part]) / 2
            _set(T[0], s0)
            _set(T[1], s1)
        elif mode == "one-sided-fresh":
            _set(T[recv], (w + T[send].state()) / 2)
        elif mode == "one-sided-stale":
            _set(T[recv], (w + past[send][0]) / 2)
        elif mode == "stale-compensated":
            _set(T[recv], w + (past[send][0] - past[recv][0]) / 2)
        past[recv][-1] = T[recv].state()
    return [t.state() for t in T]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="fashion_mnist", choices=["fashion_mnist", "flights_clf", "synthetic_dense"])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--every", type=int, default=64, help="mini-batches between merges (one task each time)")
    ap.add_argument("--age", type=int, default=32, help="mini-batches a stale state is behind")
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--head", type=float, default=0.0, help="the first fraction of the mini-batches: no merges")
    ap.add_argument("--tail", type=float, default=0.0, help="the last fraction of the mini-batches: no merges")
    ap.add_argument("--modes", default=",".join(MODES), help="comma-separated, of: " + ", ".join(MODES + PART_MODES))
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    Xtr, Xte, _, yte, classes, codes = shuffled_set(args.dataset)
    K = 1 if len(classes) == 2 else len(classes)
    d = Xtr.shape[1]

    def scores(w):
        W, b = w[: K * d].reshape(K, d), w[K * d:]
        z = np.asarray(Xte @ W.T) + b
        if K == 1:
            p1 = 1 / (1 + np.exp(-z[:, 0]))
            proba = np.c_[1 - p1, p1]
            pred = classes[(z[:, 0] > 0).astype(int)]
        else:
            p = 1 / (1 + np.exp(-z))
            proba = p / p.sum(axis=1, keepdims=True)  # scikit-learn's one-vs-rest normalisation
            pred = classes[np.argmax(z, axis=1)]
        proba = np.clip(proba, 1e-15, 1)
        ll = -np.mean(np.log(proba[np.arange(len(yte)), np.searchsorted(classes, yte)]))
        return float(np.mean(pred == yte)), float(ll)

    modes = [m for m in args.modes.split(",") if m]
    print(f"# {args.dataset} {Xtr.shape}, {args.epochs} epochs, a merge every {args.every} mini-batches, "
          f"stale states {args.age} mini-batches old, {args.seeds} seeds")
    states = {m: [run(m, Xtr, codes, K, args.epochs, args.every, args.age, s, args.tail, args.head)
                  for s in range(args.seeds)] for m in modes}
    res = {m: [scores(np.mean(pair, axis=0)) for pair in states[m]] for m in modes}
    base = res.get("apart")
    for m in modes:
        acc = [r[0] for r in res[m]]
        line = (f"{m:20s}: accuracy {statistics.median(acc):.4f}, log loss "
                f"{statistics.median(r[1] for r in res[m]):.4f}")
        if base is not None and m != "apart":
            diff = [a - b[0] for a, b in zip(acc, base)]
            se = statistics.stdev(diff) / math.sqrt(len(diff)) if len(diff) > 1 else float("nan")
            line += f"; - apart {statistics.mean(diff):+.4f} (se {se:.4f})"
        print(line, flush=True)
    nc = K * d
    for m in modes:  # what the final average is made of
        own = [scores(w)[0] for pair in states[m] for w in pair]
        norm = [np.linalg.norm((a[:nc] + b[:nc]) / 2) for a, b in states[m]]
        gap = [np.linalg.norm(a[:nc] - b[:nc]) / n for (a, b), n in zip(states[m], norm)]
        print(f"{m:20s}: each task's own state: accuracy {statistics.mean(own):.4f}; the two states' "
              f"coefficients apart by {statistics.mean(gap):.2f} of their average's norm ({statistics.mean(norm):.1f})")


if __name__ == "__main__":
    main()
