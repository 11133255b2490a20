"""The sparse row's dot product alone: one running sum or four, and the update; ns a row.

    python benchmarks/probe_sparse_dot.py

200,000 CSR rows of 50 values at random columns of 2^10 (the coefficients in L1) and 2^18 (in
L3) columns, visited in order, one thread, best of 5: ``dot_only`` (one sum, as the kernel did
until the thirteenth session), ``dot4`` (four running sums: ``_kernels._csr_row_dot`` itself),
``upd_only`` (the coefficient update alone) and ``both`` (one sum, a sigmoid, the update).
The numba flags are the kernels' (``fastmath`` with reassociation: it did not split the sum).
Then the training kernel itself (one ShardTrainer, log_loss, 3 epochs, median of 3) on the same
kind of rows with 2^10 / 2^14 / 2^18 / 2^21 columns: the coefficients in L1, L2, L3, memory.
"""

import os
import sys
import time

import numba
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from probe_kernel_speed import kernel_seconds  # noqa: E402

from dask_asgd._kernels import _csr_row_dot  # noqa: E402

FLAGS = dict(nogil=True, fastmath={"reassoc", "contract", "nsz", "arcp"})


@numba.njit(**FLAGS, inline="always")
def _one_sum(data, indices, lo, hi, W):
    acc = 0.0
    for jj in range(lo, hi):
        acc += W[0, indices[jj]] * data[jj]
    return acc


@numba.njit(**FLAGS)
def dot_only(data, indices, indptr, W, order):
    s = 0.0
    for i in order:
        s += _one_sum(data, indices, indptr[i], indptr[i + 1], W)
    return s


@numba.njit(**FLAGS)
def dot4(data, indices, indptr, W, order):
    s = 0.0
    for i in order:
        s += _csr_row_dot(W, 0, indices, data, indptr[i], indptr[i + 1])
    return s


@numba.njit(**FLAGS)
def upd_only(data, indices, indptr, W, order):
    c = 1e-9
    for i in order:
        for jj in range(indptr[i], indptr[i + 1]):
            W[0, indices[jj]] += c * data[jj]
    return W[0, 0]


@numba.njit(**FLAGS)
def both(data, indices, indptr, W, order):
    s = 0.0
    for i in order:
        acc = _one_sum(data, indices, indptr[i], indptr[i + 1], W)
        c = 1e-9 / (1.0 + np.exp(-acc))
        for jj in range(indptr[i], indptr[i + 1]):
            W[0, indices[jj]] += c * data[jj]
        s += acc
    return s


def main():
    rng = np.random.default_rng(0)
    n, nnz = 200_000, 50
    for d in (2**10, 2**18):
        idx = np.sort(rng.integers(0, d, (n, nnz)), axis=1).astype(np.int32).ravel()
        data = rng.standard_normal(n * nnz)
        indptr = np.arange(0, n * nnz + 1, nnz).astype(np.int32)
        W = np.zeros((1, d))
        order = np.arange(n)
        for f in (dot_only, dot4, upd_only, both):
            f(data, idx, indptr, W, order[:10])  # compile
            ts = []
            for _ in range(5):
                t = time.perf_counter()
                f(data, idx, indptr, W, order)
                ts.append(time.perf_counter() - t)
            print(f"d=2^{int(np.log2(d))} {f.__name__:9s} {min(ts) / n * 1e9:6.1f} ns a row", flush=True)
    kernel_by_columns(rng, n, nnz)


def kernel_by_columns(rng, n, nnz):
    import scipy.sparse as sp

    from dask_asgd import ASGDClassifier

    for d in (2**10, 2**14, 2**18, 2**21):
        idx = np.sort(rng.integers(0, d, (n, nnz)), axis=1).astype(np.int32)
        X = sp.csr_matrix((rng.standard_normal(n * nnz), idx.ravel(), np.arange(0, n * nnz + 1, nnz)), shape=(n, d))
        X.sum_duplicates()
        y = (rng.random(n) > 0.5).astype(np.float64)
        spec = ASGDClassifier(loss="log_loss")._spec(1, d, True, 3, None, None, 1.0)
        seconds, samples = kernel_seconds(X, y, spec, 3)
        print(f"kernel, d=2^{int(np.log2(d))}: {seconds / samples * 1e9:6.1f} ns a sample "
              f"({X.nnz / n:.1f} values a row)", flush=True)

if __name__ == "__main__":
    main()
