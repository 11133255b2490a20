"""Which step-size schedule suits which sparse data: each task's own, or the whole fit's?

    python benchmarks/bench_suite.py --datasets flights_clf --methods sklearn-sgd   # once: caches the set
    python benchmarks/probe_sparse_schedule.py --data flights_clf [--tasks 2,8] [--epochs 1,2,3,5]
    python benchmarks/probe_sparse_schedule.py --features 16384      # the synthetic sparse set, 2^14 features
    python benchmarks/probe_sparse_schedule.py --data flights_clf --scale 0.4   # every value times 0.4

``dask-asgd.schedule: auto`` gives dense input the whole fit's schedule (``fit``: a task's step
1 / (alpha P (t0 + t))) and sparse input each task's own (``task``: scikit-learn's over the
task's samples), from measurements on Fashion-MNIST and dense synthetic data on one side and the
suite's synthetic sparse set on the other (docs/design.md, "How many tasks"). This fits a
sparse set with both schedules (``dask.config`` ``dask-asgd.schedule``) for each number of
``--tasks`` on an in-process cluster of single-thread workers, ``--epochs`` epochs each
(``tol=None``) and once with the defaults (``tol=1e-3``), ``--loss`` (log_loss, the suite's),
and prints the held-out accuracy, ROC AUC and log loss (means over ``--seeds``) and, for the
fit to convergence, the epochs and the median time (on this machine's cores: with more tasks
than cores only the models compare). ``--data`` a classification set of the suite's cache,
or ``--features D``: the suite's synthetic sparse generator (``datasets.synthetic_sparse``,
``--rows`` rows, 50 non-zeros a row, 80% for training) with D features; ``--scale`` multiplies
every value (a question about the rows' norm); ``--describe`` prints the set's figures (with
eta0 ||mean row||^2, what "auto" reads, and the schedule it picks) and fits nothing; ``--text`` real short texts, the Debian
archive's package descriptions by section (``datasets.debian_packages``, 10 classes).
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
from probe_small_data_tasks import thread_cluster  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="flights_clf", help="a classification set of the suite's cache")
    ap.add_argument("--stem", default=None, help="a set saved as the suite saves its cache: STEM-Xtr.npz, ...")
    ap.add_argument("--text", action="store_true", help="Debian's package descriptions (datasets.debian_packages)")
    ap.add_argument("--features", type=int, default=0, help="the synthetic sparse set with this many features")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--tasks", default="2,8")
    ap.add_argument("--epochs", default="1,2,3,5")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--loss", default="log_loss")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--describe", action="store_true", help="print the set's figures only, no fits")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    import dask
    import scipy.sparse as sp
    from sklearn.metrics import log_loss, roc_auc_score

    from dask_asgd import ASGDClassifier

    if args.text:
        import datasets

        Xtr, Xte, ytr, yte = datasets.debian_packages()
        name = "Debian package descriptions, 10 sections"
    elif args.stem:
        from bench_suite import load

        Xtr, Xte, ytr, yte = load(args.stem)
        name = os.path.basename(args.stem)
    elif args.features:
        import datasets

        Xtr, Xte, ytr, yte = datasets.synthetic_sparse(n=args.rows, d=args.features)
        name = f"synthetic sparse, {args.features} features"
    else:
        Xtr, Xte, ytr, yte = load_cached(args.data)
        name = args.data
    if args.scale != 1.0:
        Xtr, Xte = Xtr * args.scale, Xte * args.scale
    sq = np.asarray(Xtr.multiply(Xtr).sum(axis=1)).ravel() if sp.issparse(Xtr) else (Xtr ** 2).sum(axis=1)
    nnz = Xtr.nnz if sp.issparse(Xtr) else np.count_nonzero(Xtr)
    from dask_asgd._fit import schedule_scale, shared_direction_step

    spec = ASGDClassifier(loss=args.loss)._spec(1, Xtr.shape[1], True, 5, None, None, 1.0)
    print(f"# {name}: {Xtr.shape}, values x {args.scale:g}, mean squared row norm {np.mean(sq):.2f}, "
          f"density {nnz / Xtr.shape[0] / Xtr.shape[1]:.4%}, non-zeros a column {nnz / Xtr.shape[1]:.0f}, "
          f"eta0 ||mean row||^2 {shared_direction_step(Xtr, spec):.4g} (auto's schedule: "
          f"{'fit' if schedule_scale(2, spec, Xtr) > 1 else 'task'}); loss {args.loss}, means of {args.seeds} seeds",
          flush=True)
    if args.describe:
        return
    tasks = [int(p) for p in args.tasks.split(",")]
    points = [int(e) for e in args.epochs.split(",")] + ["tol"]
    binary = np.unique(ytr).size == 2
    with thread_cluster(max(tasks)):
        ASGDClassifier(max_iter=1, tol=None, n_workers=2).fit(Xtr[:2000], ytr[:2000])
        for p in tasks:
            for schedule in ("task", "fit"):
                parts = []
                for e in points:
                    acc, auc, ll, epochs, seconds = [], [], [], [], []
                    for seed in range(args.seeds):
                        kw = {} if e == "tol" else dict(max_iter=e, tol=None)
                        with dask.config.set({"dask-asgd.schedule": schedule}):
                            t = time.perf_counter()
                            m = ASGDClassifier(loss=args.loss, n_workers=p, random_state=seed, **kw).fit(Xtr, ytr)
                            seconds.append(time.perf_counter() - t)
                        acc.append(m.score(Xte, yte))
                        epochs.append(m.n_iter_)
                        if binary:
                            auc.append(roc_auc_score(yte, m.decision_function(Xte)))
                        if args.loss == "log_loss":
                            ll.append(log_loss(yte, m.predict_proba(Xte)))
                    text = f"{e} epochs" if e != "tol" else "tol=1e-3"
                    text += f": accuracy {np.mean(acc):.4f}"
                    text += f", AUC {np.mean(auc):.4f}" if auc else ""
                    text += f", log loss {np.mean(ll):.4f}" if ll else ""
                    if e == "tol":
                        text += f", {np.mean(epochs):.1f} epochs, {statistics.median(seconds):.2f} s"
                    parts.append(text)
                print(f"{p:2d} tasks, schedule {schedule}: " + " | ".join(parts), flush=True)


if __name__ == "__main__":
    main()
