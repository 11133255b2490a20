"""Would one shared sum of updates (dual averaging across the tasks) take away the many-task lag?

    python benchmarks/bench_suite.py --datasets fashion_mnist --methods sklearn-sgd   # once: caches the set
    python benchmarks/probe_shared_sum.py [--tasks 2] [--every 1] [--epochs 1] [--seeds 1]

Under the 'optimal' schedule a state after t updates is (t0 + t - 1)^-1 times the sum of its
updates, S_t = S_{t-1} - g_t / alpha (scikit-learn's L2 shrink and step together); a task's state
comes to its final scale with its own t, 1/P of the fit's updates
(``benchmarks/probe_task_objective.py``). This tries the exact alternative without Dask: P
``ShardTrainer`` s (a task's training loop) train P slices of Fashion-MNIST (its training rows
in a fixed random order, hinge loss, the estimator's defaults), ``--every`` mini-batches each in
turn, and after each round the P states are combined in one of two ways:

* ``in turn``: the reference, one SGD: in each round the tasks train one after another, each
  from the state and sample count the previous one ended with;
* ``average``: every state becomes the average of the P states (a synchronous stand-in for
  merges), each task keeps its own sample count;
* ``shared sum``: every state becomes the sum S of all the tasks' updates so far divided by
  (t0 + T - 1), T the sum of their sample counts, and every task's count becomes T (one SGD's
  state, with each round's gradients taken at the round's common start); intercepts: the
  average of the tasks' (``--intercepts sum``: their summed changes).

Prints, at a few rounds and at the end, the held-out accuracy and coefficient norm of the
combined state and the mean held-out accuracy of the tasks' own states after the round (each
started from the combined state of the round before); scikit-learn's SGD after the same number
of samples for reference.
"""

import argparse
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from probe_stale_merge import _set, shuffled_set  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", type=int, default=2)
    ap.add_argument("--every", type=int, default=1, help="mini-batches a task trains per round")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--intercepts", default="average", choices=["average", "sum"])
    ap.add_argument("--no-intercept", action="store_true", help="fit_intercept=False everywhere")
    ap.add_argument("--switch", type=float, default=None,
                    help="a third way, 'switch': average while a round's samples are more than this "
                         "fraction of the samples so far, the shared sum after")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    from sklearn.linear_model import SGDClassifier

    from dask_asgd import ASGDClassifier
    from dask_asgd.models.linear import LinearTrainer

    Xtr, Xte, ytr, yte, classes, codes = shuffled_set("fashion_mnist")
    K, d, P = len(classes), Xtr.shape[1], args.tasks
    yte_codes = np.searchsorted(classes, yte)

    def acc(w, nc):
        W, b = w[:nc].reshape(K, d), w[nc:]
        return float(np.mean((Xte @ W.T + b).argmax(axis=1) == yte_codes)), float(np.linalg.norm(W))

    spec = ASGDClassifier(max_iter=args.epochs, tol=None, fit_intercept=not args.no_intercept)._spec(K, d, True, args.epochs, None, None, 1.0)
    cuts = np.linspace(0, len(ytr), P + 1).astype(int)
    round_samples = P * args.every * spec.batch_size  # samples all the tasks train in a round
    print(f"# Fashion-MNIST {Xtr.shape}, hinge, {P} tasks, rounds of {args.every} mini-batch(es) a task, "
          f"{args.epochs} epoch(s), intercepts {args.intercepts} (shared sum)")
    for seed in range(args.seeds):
        res = {}
        for mode in ("in turn", "average", "shared sum") + (("switch",) if args.switch is not None else ()):
            T = [LinearTrainer(Xtr, codes, None, spec, 1 + seed + 7 * i, ranges=[(int(cuts[i]), int(cuts[i + 1]))])
                 for i in range(P)]
            nc, t0 = T[0].n_coef, T[0].opt_init
            rounds = min(t.n_batches for t in T) * args.epochs // args.every
            marks = {0, 4, rounds // 8, rounds // 2, rounds - 1}
            S, total, summing = np.zeros(nc + K), 0.0, mode == "shared sum"
            for r in range(rounds):
                starts = [(t.state(), t.t[0]) for t in T]
                if mode == "in turn":  # one SGD: each task goes on from the previous one's state and count
                    for i, t in enumerate(T):
                        if i:
                            _set(t, T[i - 1].state())
                            t.t[0] = T[i - 1].t[0]
                        t.run(args.every)
                else:
                    for t in T:
                        t.run(args.every)
                own = [t.state() for t in T]
                total += sum(t.t[0] - c0 for (_, c0), t in zip(starts, T))
                if mode == "in turn":
                    w = own[-1]
                    for t in T:
                        t.t[0] = T[-1].t[0]
                elif mode == "switch" and not summing and round_samples <= args.switch * total:
                    summing = True  # from here on one SGD's state: the average, counted with every sample so far
                    S = np.mean(own, axis=0)
                    S[:nc] *= t0 + total - 1
                    w = np.mean(own, axis=0)
                elif not summing:
                    w = np.mean(own, axis=0)
                else:
                    for (w0, c0), t, w1 in zip(starts, T, own):
                        # the state after the step at count c is S / (t0 + c - 1); the count is then c + 1
                        S[:nc] += w1[:nc] * (t0 + t.t[0] - 2) - w0[:nc] * (t0 + c0 - 2)
                        S[nc:] += (w1[nc:] - w0[nc:]) / (P if args.intercepts == "average" else 1)
                    w = S.copy()
                    w[:nc] /= t0 + total - 1
                for t in T:
                    _set(t, w)
                    if summing:
                        t.t[0] = 1 + total
                if r in marks:
                    a, norm = acc(w, nc)
                    res.setdefault(r, {})[mode] = (a, norm, np.mean([acc(o, nc)[0] for o in own]))
        for r in sorted(res):
            line = f"seed {seed}, round {r + 1:5d} ({(r + 1) * round_samples} samples)"
            for mode, (a, norm, own_a) in res[r].items():
                line += f" | {mode}: accuracy {a:.4f}, norm {norm:6.1f}, tasks' own {own_a:.4f}"
            print(line, flush=True)
    for n in sorted({1, args.epochs}):
        sk = SGDClassifier(max_iter=n, tol=None, random_state=0, fit_intercept=not args.no_intercept).fit(Xtr, ytr)
        print(f"scikit-learn SGD, {n} epoch(s): accuracy {sk.score(Xte, yte):.4f}, norm {np.linalg.norm(sk.coef_):.1f}")


if __name__ == "__main__":
    main()
