"""Why do fits to convergence (``tol``) run more epochs with more tasks?

    python benchmarks/bench_suite.py --datasets fashion_mnist --methods sklearn-sgd   # once: caches the set
    python benchmarks/probe_task_objective.py [--tasks 1,2,8] [--epochs 5,20,80] [--seeds 1]
    python benchmarks/probe_task_objective.py --loss log_loss    # also the held-out log loss
    python benchmarks/probe_task_objective.py --average          # averaged SGD, both libraries
    DASK_DASK_ASGD__SCHEDULE=task python benchmarks/probe_task_objective.py   # each task's schedule
    python benchmarks/probe_task_objective.py --loss log_loss --calibrate --tasks 2,8 --epochs 20

The tasks test ``tol`` on their own epochs' objective (scikit-learn's test, per task). On an
in-process cluster of as many single-thread workers as the most tasks, this fits the suite's
Fashion-MNIST with the estimator's defaults (hinge loss or ``--loss``, alpha 1e-4, the 'optimal' schedule)
for a fixed number of epochs (``max_iter=k, tol=None``) with each number of tasks, and
scikit-learn's SGDClassifier for the same epochs, and prints for each model: the training
objective scikit-learn's ``tol`` watches (mean loss of the ten one-vs-rest problems plus
alpha / 2 ||w_k||^2, averaged over the problems, on all 60,000 training rows), the coefficients'
norm, the median |decision value| and the held-out accuracy (with ``--loss log_loss`` also the
held-out log loss of ``predict_proba``; means over ``--seeds``). Then each number of tasks once
more with ``tol=1e-3`` (the default): the epochs it ran and its accuracy.
``--calibrate`` (with ``--loss log_loss``): every model trains on the first 50,000 training rows
only, and its ``predict_proba`` is also calibrated on the last 10,000
(``CalibratedClassifierCV(FrozenEstimator(model), method="sigmoid")``): the held-out log loss
after calibration is printed too. Only the models are measured, not the times: the tasks share
this machine's cores.
"""

import argparse
import os
import statistics
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_suite import load_cached  # noqa: E402
from probe_small_data_tasks import thread_cluster  # noqa: E402


def training_objective(W, b, X, Y, loss="hinge", alpha=1e-4, z=None):
    """scikit-learn's ``tol`` objective of a one-vs-rest model (``Y``: +-1, one column a class),
    averaged over the problems: mean loss on ``X`` plus alpha / 2 ||w_k||^2; ``z`` the decision
    values if already computed."""
    z = X @ W.T + b if z is None else z
    losses = np.maximum(0, 1 - Y * z) if loss == "hinge" else np.logaddexp(0, -Y * z)
    return float(np.mean(losses.mean(axis=0) + 0.5 * alpha * (W ** 2).sum(axis=1)))


def describe(model, Xtr, Y, Xte, yte, loss, alpha=1e-4, calib=None):
    from sklearn.metrics import log_loss

    W, b = model.coef_, model.intercept_
    z = Xtr @ W.T + b
    objective = training_objective(W, b, Xtr, Y, loss, alpha, z=z)
    out = {"objective": objective, "norm": float(np.linalg.norm(W)), "margin": float(np.median(np.abs(z))),
           "accuracy": float(model.score(Xte, yte))}
    if loss == "log_loss":
        out["log_loss"] = float(log_loss(yte, model.predict_proba(Xte)))
    if calib is not None:
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.frozen import FrozenEstimator

        cal = CalibratedClassifierCV(FrozenEstimator(model), method="sigmoid").fit(*calib)
        out["calibrated"] = float(log_loss(yte, cal.predict_proba(Xte)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", default="1,2,8")
    ap.add_argument("--epochs", default="5,20,80")
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--loss", default="hinge", choices=["hinge", "log_loss"])
    ap.add_argument("--average", action="store_true", help="average=True for every model")
    ap.add_argument("--calibrate", action="store_true", help="train on 50,000 rows, calibrate on 10,000")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    import dask
    from sklearn.linear_model import SGDClassifier

    from dask_asgd import ASGDClassifier

    Xtr, Xte, ytr, yte = load_cached("fashion_mnist")
    calib = None
    if args.calibrate:
        if args.loss != "log_loss":
            ap.error("--calibrate needs --loss log_loss")
        calib = (Xtr[50000:], ytr[50000:])
        Xtr, ytr = Xtr[:50000], ytr[:50000]
    classes = np.unique(ytr)
    Y = np.where(np.asarray(ytr)[:, None] == classes[None, :], 1.0, -1.0)
    tasks = [int(t) for t in args.tasks.split(",")]
    epochs = [int(e) for e in args.epochs.split(",")]

    def line(name, runs):
        mean = {k: statistics.fmean(r[k] for r in runs) for k in runs[0]}
        print(f"{name:28s} objective {mean['objective']:.4f}, coefficient norm {mean['norm']:6.1f}, "
              f"median |decision| {mean['margin']:6.2f}, held-out accuracy {mean['accuracy']:.4f}"
              + (f", log loss {mean['log_loss']:.4f}" if "log_loss" in mean else "")
              + (f", calibrated {mean['calibrated']:.4f}" if "calibrated" in mean else ""), flush=True)

    print(f"# Fashion-MNIST {Xtr.shape}, loss {args.loss}, average {args.average}, dask-asgd.schedule "
          f"{dask.config.get('dask-asgd.schedule')}; the estimators' defaults but max_iter / tol; "
          f"means of {args.seeds} seed(s)")
    kw = {"loss": args.loss, "average": args.average}
    for k in epochs:
        line(f"scikit-learn SGD, {k} epochs",
             [describe(SGDClassifier(max_iter=k, tol=None, random_state=s, **kw).fit(Xtr, ytr), Xtr, Y, Xte, yte,
                      args.loss, calib=calib)
              for s in range(args.seeds)])
    with thread_cluster(max(tasks)):
        for n in tasks:
            for k in epochs:
                line(f"dask-asgd {n:2d} tasks, {k} epochs",
                     [describe(ASGDClassifier(n_workers=n, max_iter=k, tol=None, random_state=s, **kw).fit(Xtr, ytr),
                               Xtr, Y, Xte, yte, args.loss, calib=calib) for s in range(args.seeds)])
        for n in tasks:
            fits = [ASGDClassifier(n_workers=n, random_state=s, **kw).fit(Xtr, ytr) for s in range(args.seeds)]
            print(f"dask-asgd {n:2d} tasks, tol=1e-3: epochs {statistics.median(f.n_iter_ for f in fits):g}, "
                  f"held-out accuracy {statistics.fmean(f.score(Xte, yte) for f in fits):.4f}", flush=True)


if __name__ == "__main__":
    main()
