"""Shard preparation that the client and the training tasks both use.

The client looks at the labels' order (``needs_row_shuffle``) and encodes them
(``encode_labels``); a training task stacks its blocks, places its rows in a random order and
encodes a Dask collection's labels itself (``prepare_shard``).  No Dask in here.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import _kernels as K


def needs_row_shuffle(y, is_classifier) -> bool:
    """True when the rows are visibly ordered by their target (sorted or clustered labels).

    Block-wise visiting is as good as a per-row shuffle only for rows already in random order.
    The test looks at neighbouring targets alone (O(n), no copy): for labels, how often a row has
    the same label as the one before against the chance rate sum(p_k^2); for a continuous
    target, the lag-1 autocorrelation.  Both well above what randomly ordered rows give.
    """
    y = np.ravel(y)
    n = len(y)
    if n < 3:
        return False
    if is_classifier:  # y holds float class codes
        counts = np.zeros(int(y.max()) + 1, dtype=np.int64)
        return labels_ordered(K.code_neighbours(np.ascontiguousarray(y, dtype=np.float64), counts), counts)
    den, num = K.lag1_sums(np.ascontiguousarray(y, dtype=np.float64))
    if not den > 0:
        return False
    return num / den > max(0.1, 6 / math.sqrt(n))


def labels_ordered(same: int, counts) -> bool:
    """``needs_row_shuffle`` for labels: ``same`` of the rows have the label of the row before,
    against the chance rate sum(p_k^2) of rows in random order (``counts``: of each label)."""
    counts = np.asarray(counts, dtype=np.float64)
    n = counts.sum()
    if n < 3:
        return False
    chance = float(np.sum((counts / n) ** 2))
    sigma = math.sqrt(max(chance * (1 - chance), 1e-12) / n)
    return bool(same / (n - 1) - chance > max(0.05, 6 * sigma))


def _concat(parts):
    if len(parts) == 1:
        return parts[0]
    if sp.issparse(parts[0]):
        return sp.vstack(parts, format="csr")
    return np.concatenate(parts)


def shuffle_rows(X, rows, pos):
    """Rows ``rows`` of ``X`` (dense or CSR; ``rows`` ascending) with row ``rows[j]`` at
    ``pos[j]`` (a permutation): ``X[rows]`` in a random order, by nogil kernels that read in order
    and write at random, so that the tasks of a fit make their shards at once."""
    m = len(rows)
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        indptr = np.empty(m + 1, dtype=X.indptr.dtype)
        nnz = K.csr_lengths_at(X.indptr, rows, pos, indptr)
        data = np.empty(nnz, dtype=X.dtype)
        indices = np.empty(nnz, dtype=X.indices.dtype)
        K.scatter_csr_rows(X.data, X.indices, X.indptr, rows, pos, data, indices, indptr)
        return sp.csr_matrix((data, indices, indptr), shape=(m, X.shape[1]))
    X = np.asarray(X)
    out = np.empty((m, X.shape[1]), dtype=X.dtype)
    K.scatter_dense_rows(X, rows, pos, out)
    return out


def _in_order(v, rows, pos):
    """``v[rows]`` placed as ``shuffle_rows`` places the rows of X."""
    v = np.ascontiguousarray(v)
    out = np.empty(len(rows), dtype=v.dtype)
    K.place_values(v, rows, pos, out)
    return out


def _flat_parts(parts):
    """Blocks of a shard: a list of arrays, or of tuples of arrays (in-memory input)."""
    out = []
    for p in parts:
        if isinstance(p, tuple):
            out.extend(p)
        else:
            out.append(p.to_numpy() if hasattr(p, "to_numpy") else p)
    return out


def prepare_shard(
    X_parts, y_parts, sw_parts, classes, class_weights, is_classifier, checked=False, rng=None, rows=None
):
    """Stack a task's blocks, check them (unless the client did), and, when ``classes`` is given,
    encode the labels and fold the class weights into the sample weights.  ``y_parts`` None:
    a model without targets (``y`` None).  With ``rng``, rows ordered by their target are
    shuffled once (a copy).  With ``rows`` (``_data.RowBlocks``), the shard is those rows of the
    blocks in an order drawn from ``rng`` (a copy, made by the task, in parallel with the
    others)."""
    from sklearn.utils import assert_all_finite

    X = _concat(_flat_parts(X_parts))
    y = None
    if y_parts is not None:
        y_parts = _flat_parts(y_parts)
        y = y_parts[0] if len(y_parts) == 1 else np.concatenate([np.ravel(p) for p in y_parts])
        y = np.ravel(y)
    pos = None
    if rows is not None:  # read in ascending order, placed in a random order (``rng``)
        rows = rows.rows()
        pos = K.seeded_permutation(len(rows), int(rng.integers(0, 2**32 - 1)))
        X = shuffle_rows(X, rows, pos)
        y = None if y is None else _in_order(y, rows, pos)
    # X is checked for NaN / inf by the training itself (``ShardTrainer.check_input``)
    sw = None
    if sw_parts is not None:
        sw_parts = _flat_parts(sw_parts)
        sw = sw_parts[0] if len(sw_parts) == 1 else np.concatenate([np.ravel(p) for p in sw_parts])
        sw = np.asarray(sw, dtype=np.float64).ravel()
        if rows is not None:
            sw = _in_order(sw, rows, pos)
    if y is None:
        if not checked and sw is not None:
            assert_all_finite(sw, input_name="sample_weight")
        return X, y, sw
    if is_classifier and classes is not None:
        y, sw = encode_labels(y, sw, classes, class_weights)
    elif not checked:
        y = np.asarray(y, dtype=np.float64)
        assert_all_finite(y, input_name="y")
    if rng is not None and rows is None and needs_row_shuffle(y, is_classifier):
        perm = rng.permutation(X.shape[0])
        X, y, sw = X[perm], y[perm], (None if sw is None else sw[perm])
    return X, y, sw


def encode_labels(y, sw, classes, class_weights):
    """Labels -> float class codes; class weights folded into the sample weights (``sw`` may
    be None: all ones)."""
    classes = np.asarray(classes)
    codes = np.clip(np.searchsorted(classes, y), 0, len(classes) - 1)
    if not np.array_equal(classes[codes], y):
        raise ValueError(f"y contains labels that are not in classes={list(classes)!r}")
    if class_weights is not None:
        cw = np.asarray(class_weights, dtype=np.float64)[codes]
        sw = cw if sw is None else sw * cw
    return codes.astype(np.float64), sw


def label_codes(y):
    """``(codes, present, counts, same)``: each row's index among the sorted labels present
    (float64), those labels, their counts, and how many rows have the same label as the row
    before (``labels_ordered``; None where not counted).  Integer labels of a moderate
    range take two nogil passes (their range; offsets, counts and neighbours), a third only if
    some label of the range is absent; other labels a hash-based factorization."""
    if y.dtype.kind in "iu" and len(y):
        lo, hi = (int(v) for v in K.int_min_max(y))
        if hi - lo < 1 << 20:
            counts = np.zeros(hi - lo + 1, dtype=np.int64)
            codes = np.empty(len(y), dtype=np.float64)
            same = int(K.int_label_offsets(y, lo, codes, counts))
            seen = np.flatnonzero(counts)
            if len(seen) < len(counts):  # labels missing from the range: offsets to codes
                lut = np.zeros(hi - lo + 1, dtype=np.float64)
                lut[seen] = np.arange(len(seen))
                K.int_label_codes(y, lo, lut, codes)
            return codes, (seen + lo).astype(y.dtype), counts[seen], same
    codes, present = pd.factorize(y, sort=True)
    present = np.asarray(present, dtype=y.dtype)
    return codes.astype(np.float64), present, np.bincount(codes, minlength=len(present)), None
