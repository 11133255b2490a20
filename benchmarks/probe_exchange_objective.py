"""Does the exchange help many tasks on random shards, where "auto" trains them apart?

    python benchmarks/bench_suite.py --datasets fashion_mnist --methods sklearn-sgd   # once: caches the set
    python benchmarks/probe_exchange_objective.py [--tasks 8] [--epochs 20] [--seeds 2]
    python benchmarks/probe_exchange_objective.py --tol          # fits to convergence (tol=1e-3)
    python benchmarks/probe_exchange_objective.py --sync 4,16,64 --epochs 5,20,80   # the model only

With many tasks the averaged model's training objective converges slower than one SGD's late in
a fit (docs/design.md, "How many tasks"). On in-memory input "auto" trains the random shards
apart and averages at the end (docs/design.md, "Random shards"). This measures what the exchange
would change there, on Fashion-MNIST (the suite's cache, hinge loss, the estimator's defaults)
and an in-process cluster of ``--tasks`` single-thread workers: each ``--settings`` entry fits
with ``dask-asgd.balance.exchange-random-shards`` set (``none``: not set, the default; ``auto``:
the adaptive interval; a number: a fixed ``sync_interval``; ``:noparzen`` after it: the Parzen
test off; ``:pairwise``: ``merge="pairwise"``), ``max_iter`` epochs and ``tol=None`` (``--tol``:
the default ``tol=1e-3``), and prints the averaged model's training objective (scikit-learn's:
mean hinge loss of the ten one-vs-rest problems plus alpha / 2 ||w_k||^2, on all training rows),
its coefficient norm, held-out accuracy, epochs, the fit's time and the tasks' states sent,
merged and rejected by the Parzen test; means over ``--seeds`` (times: medians).

``--sync`` instead runs the tasks' training loops (``ShardTrainer``) in one thread without Dask
and replaces every state by the average of all of them after every ``--sync`` mini-batches of
each task (a synchronous stand-in for an exchange with no delay and no test), against the same
loops never averaged until the end: what an exchange could give at most. Times are not
measured there. scikit-learn's SGD after the same epochs for reference, in both modes.
"""

import argparse
import os
import statistics
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_suite import load_cached  # noqa: E402
from probe_task_objective import training_objective as objective  # noqa: E402


def engine(args, Xtr, ytr, Xte, yte, Y):
    import dask

    from dask_asgd import ASGDClassifier
    from probe_small_data_tasks import thread_cluster

    epochs = int(args.epochs.split(",")[-1])
    with thread_cluster(args.tasks):
        ASGDClassifier(max_iter=1, tol=None, n_workers=args.tasks).fit(Xtr[:2000], ytr[:2000])  # compile, warm up
        for setting in args.settings.split(","):
            sync, *flags = setting.split(":")
            kw = dict(n_workers=args.tasks, max_iter=1000 if args.tol else epochs, tol=1e-3 if args.tol else None,
                      sync_interval="auto" if sync in ("auto", "none") else int(sync),
                      parzen="noparzen" not in flags)
            if "pairwise" in flags:
                kw["merge"] = "pairwise"
            runs = []
            for seed in range(args.seeds):
                with dask.config.set({"dask-asgd.balance.exchange-random-shards": sync != "none"}):
                    t = time.perf_counter()
                    m = ASGDClassifier(random_state=seed, **kw).fit(Xtr, ytr)
                    seconds = time.perf_counter() - t
                tasks = m.fit_report_.tasks
                runs.append(dict(objective=objective(m.coef_, m.intercept_, Xtr, Y), accuracy=m.score(Xte, yte),
                                 norm=float(np.linalg.norm(m.coef_)), epochs=m.n_iter_, seconds=seconds,
                                 sent=int(tasks["sent"].sum()), merged=int(tasks["merged"].sum()),
                                 rejected=int(tasks["rejected"].sum())))
            mean = {k: statistics.mean(r[k] for r in runs) for k in runs[0]}
            print(f"{setting:>14}: objective {mean['objective']:.4f}, norm {mean['norm']:5.1f}, held-out accuracy "
                  f"{mean['accuracy']:.4f}, epochs {mean['epochs']:5.1f}, "
                  f"{statistics.median(r['seconds'] for r in runs):6.3f} s, sent {mean['sent']:.0f}, "
                  f"merged {mean['merged']:.0f}, rejected {mean['rejected']:.0f}", flush=True)
    return [epochs]


def synchronous(args, Y):
    from dataclasses import replace

    from dask_asgd import ASGDClassifier
    from dask_asgd._fit import schedule_scale
    from dask_asgd.models.linear import LinearTrainer
    from probe_stale_merge import _set, shuffled_set

    Xtr, Xte, ytr, yte, classes, codes = shuffled_set("fashion_mnist")
    Yp = np.where(codes[:, None] == np.arange(len(classes))[None, :], 1.0, -1.0)  # the permuted rows' targets
    K, d, P = len(classes), Xtr.shape[1], args.tasks
    yte_codes = np.searchsorted(classes, yte)
    marks = [int(e) for e in args.epochs.split(",")]
    spec = ASGDClassifier(max_iter=max(marks), tol=None)._spec(K, d, True, max(marks), None, None, 1.0)
    spec = replace(spec, t_scale=schedule_scale(P, spec, Xtr))  # the schedule a fit of P tasks uses
    cuts = np.linspace(0, len(codes), P + 1).astype(int)
    for every in [0] + [int(e) for e in args.sync.split(",")]:
        per_mark = {}
        for seed in range(args.seeds):
            T = [LinearTrainer(Xtr, codes, None, spec, 1 + seed + 7 * i, ranges=[(int(cuts[i]), int(cuts[i + 1]))])
                 for i in range(P)]
            nc, seen = T[0].n_coef, 0
            while not all(t.done for t in T):
                for t in T:
                    t.run(every or 16)
                if every:
                    w = np.mean([t.state() for t in T], axis=0)
                    for t in T:
                        _set(t, w)
                epoch = min(t.epoch for t in T)
                if epoch > seen:
                    seen = epoch
                    if epoch in marks:
                        w = np.mean([t.state() for t in T], axis=0)
                        W, b = w[:nc].reshape(K, d), w[nc:]
                        acc = float(np.mean((Xte @ W.T + b).argmax(axis=1) == yte_codes))
                        per_mark.setdefault(epoch, []).append((objective(W, b, Xtr, Yp), acc, float(np.linalg.norm(W))))
        name = f"averaged every {every} mini-batches" if every else "apart (averaged at the end)"
        print(f"{P} tasks, {name}: " + " | ".join(
            f"{e} epochs: objective {np.mean([r[0] for r in v]):.4f}, accuracy {np.mean([r[1] for r in v]):.4f}, "
            f"norm {np.mean([r[2] for r in v]):.1f}" for e, v in sorted(per_mark.items())), flush=True)
    return marks


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", type=int, default=8)
    ap.add_argument("--epochs", default="20", help="epochs of each fit (--sync: the epochs to report, e.g. 5,20,80)")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--settings", default="none,auto,64,16,4,16:noparzen")
    ap.add_argument("--tol", action="store_true", help="fit to convergence (tol=1e-3) instead of --epochs")
    ap.add_argument("--sync", default=None, help="mini-batches between synchronous averages (no Dask), e.g. 4,16,64")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    from sklearn.linear_model import SGDClassifier

    Xtr, Xte, ytr, yte = load_cached("fashion_mnist")
    classes = np.unique(ytr)
    Y = np.where(np.asarray(ytr)[:, None] == classes[None, :], 1.0, -1.0)
    print(f"# Fashion-MNIST {Xtr.shape}, hinge, {args.tasks} tasks, means of {args.seeds} seed(s)"
          + (", tol=1e-3" if args.tol and not args.sync else ""), flush=True)
    marks = synchronous(args, Y) if args.sync else engine(args, Xtr, ytr, Xte, yte, Y)
    for n in ([] if args.tol and not args.sync else marks):
        sk = SGDClassifier(max_iter=n, tol=None, random_state=0).fit(Xtr, ytr)
        print(f"scikit-learn SGD, {n} epochs, seed 0: objective {objective(sk.coef_, sk.intercept_, Xtr, Y):.4f}, "
              f"norm {np.linalg.norm(sk.coef_):.1f}, held-out accuracy {sk.score(Xte, yte):.4f}", flush=True)
    if args.tol and not args.sync:
        sk = SGDClassifier(random_state=0).fit(Xtr, ytr)
        print(f"scikit-learn SGD, defaults, seed 0: objective {objective(sk.coef_, sk.intercept_, Xtr, Y):.4f}, "
              f"held-out accuracy {sk.score(Xte, yte):.4f}, epochs {sk.n_iter_}", flush=True)


if __name__ == "__main__":
    main()
