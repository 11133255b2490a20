"""Pure unit tests of the online k-means kernels (``dask_asgd.models._kmeans_kernels``; no Dask).

* ``kmeans_chunk`` against a plain-numpy per-sample reference (dense and CSR, float64 and
  float32, with and without sample weights, over several calls);
* its merge: the three Parzen codes, blocks of the state, counts left alone, ``cnorm`` kept;
* the non-finite flag on a NaN or inf row;
* ``assign_rows`` and ``lloyd_sums`` against scikit-learn's ``pairwise_distances_argmin_min``
  and numpy sums.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import pairwise_distances_argmin_min

from dask_asgd._kernel_args import Inbox, Rows, Walk
from dask_asgd.models import _kmeans_kernels as KK

FORMATS = ["dense64", "dense32", "csr64", "csr32"]


def _dtype(fmt):
    return np.float64 if fmt.endswith("64") else np.float32


def _tol(fmt):
    return dict(rtol=1e-9, atol=1e-10) if fmt.endswith("64") else dict(rtol=2e-5, atol=2e-5)


def _blobs(n=240, d=6, k=4, seed=0):
    """Rows around ``k`` centres; about a third of the values are exactly 0 (for CSR)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(k, d))
    X = centres[rng.integers(k, size=n)] + rng.normal(scale=0.7, size=(n, d))
    X[rng.random((n, d)) < 0.33] = 0.0
    return X


def _as_format(X, fmt):
    X = X.astype(_dtype(fmt))
    return sp.csr_matrix(X) if fmt.startswith("csr") else X


def _layout(Xf, sw=None):
    """The rows as the kernels take them (``Rows``), with dummies for the unused layout, ``y``
    and, without ``sw``, the weights."""
    y = np.zeros(1)
    has_sw = sw is not None
    sw = np.asarray(sw, dtype=np.float64) if has_sw else np.ones(1)
    if sp.issparse(Xf):
        return Rows(False, np.zeros((1, 1), dtype=Xf.dtype), Xf.data, Xf.indices, Xf.indptr, y, sw, has_sw)
    dummy = (np.zeros(1, dtype=Xf.dtype), np.zeros(1, dtype=np.int32), np.zeros(2, dtype=np.int32))
    return Rows(True, np.ascontiguousarray(Xf), *dummy, y, sw, has_sw)


def _groups(n, size, rng):
    """Row groups of ``size`` rows in a random order: ``(gstart, gstop)``."""
    st = np.arange(0, n, size, dtype=np.int64)
    sp_ = np.append(st[1:], n).astype(np.int64)
    perm = rng.permutation(len(st))
    return st[perm], sp_[perm]


class Chunk:
    """The arguments of ``kmeans_chunk`` for one task's state, kept between calls."""

    def __init__(self, Xf, w, k, sw=None, n_slots=2):
        self.rows = _layout(Xf, sw)
        self.w = np.array(w, dtype=Xf.dtype)
        self.k = k
        self.d = Xf.shape[1]
        size = self.w.shape[0]
        assert size == k * self.d + k
        self.cnorm = np.full(k, -7.0)  # stale: the kernel recomputes it at the start of a call
        self.slots = np.zeros((n_slots, size), dtype=Xf.dtype)
        self.slot_lo = np.zeros(n_slots, dtype=np.int64)
        self.slot_len = np.zeros(n_slots, dtype=np.int64)
        self.slot_fresh = np.zeros(n_slots, dtype=np.int8)
        self.prev = np.zeros(size, dtype=Xf.dtype)
        self.acc = np.full(size, 123.0, dtype=Xf.dtype)  # garbage must not leak into a merge
        self.cnt = np.full(size, 7.0)
        self.inbox = Inbox(
            self.slots,
            self.slot_lo,
            self.slot_len,
            self.slot_fresh,
            np.zeros(n_slots, dtype=np.int8),
            self.prev,
            self.acc,
            self.cnt,
        )
        self.stats = np.zeros(5)
        n = Xf.shape[0]
        self.sums = np.zeros((k, self.d))  # the epoch's Lloyd sums (``track``)
        self.sum_w = np.zeros(k)
        self.labels = np.full(n, -1, dtype=np.int32)

    def put(self, s, lo, values):
        values = np.asarray(values, dtype=self.w.dtype)
        self.slots[s, : len(values)] = values
        self.slot_lo[s] = lo
        self.slot_len[s] = len(values)
        self.slot_fresh[s] = 1

    def run(self, gstart, gstop, first, n_groups, merge_after=1, parzen=0, merge=0, track=False):
        KK.kmeans_chunk(
            self.rows,
            Walk(gstart, gstop, first, n_groups, merge_after),
            KK.KMeansSettings(self.k, self.d, parzen, merge, track),
            KK.KMeansState(self.w, self.cnorm, self.sums, self.sum_w, self.labels),
            self.inbox,
            self.stats,
        )
        return self

    def centroids(self):
        return self.w[: self.k * self.d].reshape(self.k, self.d)

    def assert_cnorm(self):
        C = self.centroids().astype(np.float64)
        np.testing.assert_allclose(self.cnorm, (C * C).sum(1), rtol=1e-12, atol=1e-12)


def reference_kmeans(Xf, sw, w, k, groups, labels=None):
    """Online k-means in plain numpy, in place on ``w`` (the state's dtype: each stored value
    rounded as the kernel stores it); ``groups``: the row indices of each group, in order.
    Returns ``(inertia, samples)``; the centroid each row was given goes into ``labels`` (if given).

    Dense rows go in blocks of ``KK.ASSIGN_ROWS`` consecutive rows of a group (the last block of
    a group may be shorter; a block never crosses a group's end): every row of a block is
    assigned to its nearest centroid as the centroids are at the block's start (the lowest index
    on ties), then the rows are applied one after the other: the distance to the chosen centroid
    as it is then (after the block's earlier rows moved it), the count, the move.  CSR rows go one
    at a time (blocks of one row)."""
    d = Xf.shape[1]
    C = w[: k * d].reshape(k, d)
    v = w[k * d :]
    sparse = sp.issparse(Xf)
    Xd = Xf.toarray() if sparse else Xf
    R = 1 if sparse else KK.ASSIGN_ROWS
    inertia = 0.0
    n = 0
    for rows in groups:
        rows = list(rows)
        for b in range(0, len(rows), R):
            block = rows[b : b + R]
            C0 = C.astype(np.float64)  # the centroids at the block's start
            chosen = [int(np.argmin(((Xd[i].astype(np.float64) - C0) ** 2).sum(1))) for i in block]
            for i, j in zip(block, chosen):
                if labels is not None:
                    labels[i] = j
                x = Xd[i].astype(np.float64)
                Cf = C.astype(np.float64)
                s = 1.0 if sw is None else float(sw[i])
                inertia += s * ((x - Cf[j]) ** 2).sum()
                n += 1
                v[j] += s
                vj = float(v[j])
                if s == 0.0 or vj <= 0.0:
                    continue
                eta = s / vj
                if sparse:
                    C[j] = Cf[j] * (1.0 - eta)
                    a, b_ = Xf.indptr[i], Xf.indptr[i + 1]
                    cols = Xf.indices[a:b_]
                    C[j, cols] = C[j, cols].astype(np.float64) + eta * Xf.data[a:b_].astype(np.float64)
                else:
                    C[j] = Cf[j] + eta * (x - Cf[j])
    return inertia, n


def _rows_of(gstart, gstop, first, n_groups):
    """The rows of groups ``first`` to ``first + n_groups - 1``, a list a group."""
    return [range(gstart[g], gstop[g]) for g in range(first, first + n_groups)]


def _start_state(X, k, counts, seed=1):
    rng = np.random.default_rng(seed)
    C0 = X[rng.choice(X.shape[0], size=k, replace=False)] + rng.normal(scale=0.1, size=(k, X.shape[1]))
    return np.concatenate([C0.ravel(), counts])


# ----------------------------------------------------------------------------- the SGD step
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fmt", FORMATS)
def test_kmeans_chunk_matches_numpy_reference(fmt, weighted):
    k = 4
    X = _blobs(k=k)
    n, d = X.shape
    Xf = _as_format(X, fmt)
    rng = np.random.default_rng(2)
    if weighted:
        sw = rng.uniform(0.2, 3.0, size=n)
        sw[::17] = 0.0  # zero weights move nothing, even on a centroid of count 0
        counts = np.array([0.0, 2.0, 0.5, 5.0])
    else:
        sw = None
        counts = np.zeros(k)  # each centroid jumps to its first sample
    w0 = _start_state(X, k, counts).astype(_dtype(fmt))
    gstart, gstop = _groups(n, 7, rng)
    n_groups = len(gstart)
    ch = Chunk(Xf, w0, k, sw)
    # three calls: the state, and nothing else, carries over between them
    cuts = [0, 5, 6, n_groups]
    expected = w0.copy()
    for a, b in zip(cuts[:-1], cuts[1:]):
        ch.stats[:] = 0.0
        ch.run(gstart, gstop, a, b - a)
        inertia, samples = reference_kmeans(Xf, sw, expected, k, _rows_of(gstart, gstop, a, b - a))
        assert ch.w.dtype == _dtype(fmt)
        np.testing.assert_allclose(ch.w, expected, **_tol(fmt))
        assert ch.stats[1] == samples
        np.testing.assert_allclose(ch.stats[0], inertia, rtol=_tol(fmt)["rtol"])
        assert ch.stats[2:].tolist() == [0.0, 0.0, 0.0]
        ch.assert_cnorm()
    # the counts are the summed weights of the epoch
    np.testing.assert_allclose(ch.w[k * d :].sum(), counts.sum() + (n if sw is None else sw.sum()), rtol=1e-6)
    # the centroids moved to the blobs: the epoch's inertia is far below the one at the start
    dd0 = ((X[:, None, :] - w0[: k * d].reshape(k, d)[None].astype(np.float64)) ** 2).sum(2).min(1)
    swv = np.ones(n) if sw is None else sw
    assert ch.stats[0] < 0.7 * float(dd0 @ swv)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fmt", FORMATS)
def test_tracked_chunk_keeps_each_rows_label_and_the_epochs_lloyd_sums(fmt, weighted):
    k = 4
    X = _blobs(k=k)
    n, d = X.shape
    Xf = _as_format(X, fmt)
    rng = np.random.default_rng(3)
    sw = rng.uniform(0.2, 3.0, size=n) if weighted else None
    w0 = _start_state(X, k, np.zeros(k)).astype(_dtype(fmt))
    gstart, gstop = _groups(n, 7, rng)
    tracked, plain = Chunk(Xf, w0, k, sw), Chunk(Xf, w0, k, sw)
    tracked.run(gstart, gstop, 0, 5, track=True)  # two calls: the sums add up over the epoch
    tracked.run(gstart, gstop, 5, len(gstart) - 5, track=True)
    plain.run(gstart, gstop, 0, len(gstart))
    # tracking changes nothing in the training
    np.testing.assert_array_equal(tracked.w, plain.w)
    assert not plain.sums.any() and not plain.sum_w.any() and (plain.labels == -1).all()
    expected = np.full(n, -1)
    reference_kmeans(Xf, sw, w0.copy(), k, _rows_of(gstart, gstop, 0, len(gstart)), labels=expected)
    np.testing.assert_array_equal(tracked.labels, expected)
    swv = np.ones(n) if sw is None else sw
    np.testing.assert_allclose(tracked.sum_w, np.bincount(expected, weights=swv, minlength=k), rtol=1e-12)
    sums = np.zeros((k, d))
    np.add.at(sums, expected, X.astype(_dtype(fmt)).astype(np.float64) * swv[:, None])
    np.testing.assert_allclose(tracked.sums, sums, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("fmt", ["dense64", "dense32"])
def test_dense_rows_are_assigned_in_blocks(fmt):
    """Hand-worked, one block of three rows on the line: C = [0, 10], counts [1, 1].  Row 6 goes
    to centroid 1 (-> 8).  Row 4.8 goes to centroid 0, nearer at the block's start (4.8 < 5.2),
    although centroid 1 is nearer by now (3.2): row after row it would go there.  Row 7 goes to
    centroid 1 (3 < 7); its distance is taken to centroid 1 as it now is (8): 1, not 9."""
    assert KK.ASSIGN_ROWS >= 3
    X = np.array([[6.0], [4.8], [7.0]])
    ch = Chunk(_as_format(X, fmt), [0.0, 10.0, 1.0, 1.0], 2).run(
        np.array([0], dtype=np.int64), np.array([3], dtype=np.int64), 0, 1
    )
    np.testing.assert_allclose(ch.w, [2.4, 8.0 - 1.0 / 3.0, 2.0, 3.0], rtol=1e-6)
    np.testing.assert_allclose(ch.stats[:2], [16.0 + 4.8**2 + 1.0, 3.0], rtol=1e-6)
    ch.assert_cnorm()
    # in groups of one row each, the blocks are single rows: row after row, 4.8 goes to 1
    ch = Chunk(_as_format(X, fmt), [0.0, 10.0, 1.0, 1.0], 2).run(
        np.arange(3, dtype=np.int64), np.arange(1, 4, dtype=np.int64), 0, 3
    )
    c1 = 8.0 + (4.8 - 8.0) / 3.0
    np.testing.assert_allclose(ch.w, [0.0, c1 + (7.0 - c1) / 4.0, 1.0, 4.0], rtol=1e-6)
    np.testing.assert_allclose(ch.stats[:2], [16.0 + 3.2**2 + (7.0 - c1) ** 2, 3.0], rtol=1e-6)


@pytest.mark.parametrize("d", [9, 40])
@pytest.mark.parametrize("fmt", FORMATS)
def test_kmeans_chunk_groups_of_any_length(fmt, d):
    """Groups of 1 to 11 rows (blocks cut short at each group's end), in a shuffled order; an odd
    ``k`` and ``d`` on both sides of ``KK.PAIR_FROM_D`` (the dense scores' centroid pairs and the
    last centroid alone)."""
    assert 9 < KK.PAIR_FROM_D <= 40
    k = 5
    X = _blobs(n=120, d=d, k=k, seed=7)
    n, d = X.shape
    Xf = _as_format(X, fmt)
    lengths = np.random.default_rng(8).integers(1, 12, size=40)
    cuts = np.concatenate([[0], np.cumsum(lengths)])
    cuts = cuts[cuts < n].tolist() + [n]
    gstart = np.array(cuts[:-1], dtype=np.int64)
    gstop = np.array(cuts[1:], dtype=np.int64)
    perm = np.random.default_rng(9).permutation(len(gstart))
    gstart, gstop = gstart[perm], gstop[perm]
    w0 = _start_state(X, k, np.full(k, 2.0)).astype(_dtype(fmt))
    ch = Chunk(Xf, w0, k).run(gstart, gstop, 0, len(gstart))
    expected = w0.copy()
    inertia, samples = reference_kmeans(Xf, None, expected, k, _rows_of(gstart, gstop, 0, len(gstart)))
    np.testing.assert_allclose(ch.w, expected, **_tol(fmt))
    assert ch.stats[1] == samples == n
    np.testing.assert_allclose(ch.stats[0], inertia, rtol=_tol(fmt)["rtol"])
    ch.assert_cnorm()


def test_centroid_norms():
    C = np.random.default_rng(0).normal(size=(5, 11))
    for dtype in (np.float64, np.float32):
        out = np.zeros(5)
        KK.centroid_norms(C.astype(dtype), out)
        Cd = C.astype(dtype).astype(np.float64)
        np.testing.assert_allclose(out, (Cd * Cd).sum(1), rtol=1e-12)


# ----------------------------------------------------------------------------- the merge
# two centroids in 2-d: C = [[0, 0], [10, 10]], counts [1, 1]; the one row [2, 2] goes to
# centroid 0 with eta 1/2: after the local step w = [1, 1, 10, 10, 2, 1] (centroid 1 unmoved)
W0 = np.array([0.0, 0.0, 10.0, 10.0, 1.0, 1.0])
W_HALF = np.array([1.0, 1.0, 10.0, 10.0, 2.0, 1.0])
ONE_ROW = np.array([[2.0, 2.0]])
G1 = (np.array([0], dtype=np.int64), np.array([1], dtype=np.int64))


def _merge_step(fmt, parzen, slots, merge=0):
    """The one-row step with ``slots`` (``[(lo, values)]``) fresh; the Chunk after it."""
    ch = Chunk(_as_format(ONE_ROW, fmt), W0, 2, n_slots=max(1, len(slots)))
    for s, (lo, values) in enumerate(slots):
        ch.put(s, lo, values)
    ch.run(*G1, 0, 1, merge_after=1, parzen=parzen, merge=merge)
    assert ch.slot_fresh.tolist() == [0] * len(ch.slot_fresh)
    assert ch.stats[1] == 1.0 and ch.stats[4] == 0.0
    np.testing.assert_array_equal(ch.w[4:], [2.0, 1.0])  # counts are never merged
    ch.assert_cnorm()
    return ch


@pytest.mark.parametrize("fmt", ["dense64", "csr32"])
def test_merge_parzen0_averages_every_slot(fmt):
    s1 = [3.0, 3.0, 3.0, 3.0, 9.0, 9.0]
    s2 = [5.0, -1.0, 20.0, 2.0, 0.0, 0.0]
    ch = _merge_step(fmt, 0, [(0, s1), (0, s2)])
    expected = (W_HALF[:4] + np.array(s1[:4]) + np.array(s2[:4])) / 3.0
    np.testing.assert_allclose(ch.w[:4], expected, rtol=1e-6)
    assert ch.stats[2:4].tolist() == [2.0, 0.0]


@pytest.mark.parametrize("fmt", ["dense64", "csr64"])
def test_weighted_merge_weighs_each_centroid_by_its_counts(fmt):
    # local counts after the step [2, 1]; the sender's [6, 3]: centroid 0 becomes
    # (2 * 1 + 6 * 3) / 8 = 2.5, centroid 1 (1 * 10 + 3 * 14) / 4 = 13 (x) and 10 (y)
    ch = _merge_step(fmt, 0, [(0, [3.0, 3.0, 14.0, 10.0, 6.0, 3.0])], merge=1)
    np.testing.assert_allclose(ch.w, [2.5, 2.5, 13.0, 10.0, 2.0, 1.0])
    # a block without the counts: the received values weigh as much as the local ones
    ch = _merge_step(fmt, 0, [(0, [3.0, 3.0])], merge=1)
    np.testing.assert_allclose(ch.w, [2.0, 2.0, 10.0, 10.0, 2.0, 1.0])
    # a sender that never saw a centroid's rows (count 0) leaves it alone
    ch = _merge_step(fmt, 0, [(0, [3.0, 3.0, 50.0, 50.0, 2.0, 0.0])], merge=1)
    np.testing.assert_allclose(ch.w, [2.0, 2.0, 10.0, 10.0, 2.0, 1.0])


def test_merge_parzen1_accepts_where_the_step_went_and_ignores_counts():
    # the slot's centroids are exactly the local step's; its counts are far from both (were they
    # in the test, the slot would be farther from w_half than from prev: 102^2 > 101^2)
    ch = _merge_step("dense64", 1, [(0, [1.0, 1.0, 10.0, 10.0, 102.0, -100.0])])
    np.testing.assert_array_equal(ch.w, W_HALF)
    assert ch.stats[2:4].tolist() == [1.0, 0.0]
    # a slot toward which the step moved, centroid 1 included (the test is over the whole block)
    ch = _merge_step("dense64", 1, [(0, [2.0, 2.0, 12.0, 10.0, 7.0, 7.0])])
    np.testing.assert_array_equal(ch.w, [1.5, 1.5, 11.0, 10.0, 2.0, 1.0])
    assert ch.stats[2:4].tolist() == [1.0, 0.0]


def test_merge_parzen1_rejects_a_slot_the_step_moved_away_from():
    farther = 2.0 * W0 - W_HALF  # the mirror image of the step
    ch = _merge_step("dense64", 1, [(0, farther)])
    np.testing.assert_array_equal(ch.w, W_HALF)
    assert ch.stats[2:4].tolist() == [0.0, 1.0]


@pytest.mark.parametrize("fmt", ["dense64", "dense32", "csr64"])
def test_merge_parzen2_accepts_per_centroid(fmt):
    # centroid 0 moved toward the slot's copy: accepted; centroid 1 did not move: rejected
    ch = _merge_step(fmt, 2, [(0, [2.0, 2.0, 12.0, 10.0, 7.0, 7.0])])
    np.testing.assert_array_equal(ch.w, [1.5, 1.5, 10.0, 10.0, 2.0, 1.0])
    assert ch.stats[2:4].tolist() == [1.0, 1.0]
    # centroid 0's copy where the step came from the other side: rejected as well
    ch = _merge_step(fmt, 2, [(0, [-2.0, -2.0, 12.0, 10.0, 7.0, 7.0])])
    np.testing.assert_array_equal(ch.w, W_HALF)
    assert ch.stats[2:4].tolist() == [0.0, 2.0]


@pytest.mark.parametrize("parzen", [0, 1, 2])
def test_merge_of_a_block_changes_only_its_range(parzen):
    # the block w[1:3]: centroid 0's second value and centroid 1's first
    ch = _merge_step("dense64", parzen, [(1, [1.5, 11.0])])
    if parzen == 2:  # centroid 0's part moved toward 1.5 (0 -> 1); centroid 1's did not move
        np.testing.assert_array_equal(ch.w, [1.0, 1.25, 10.0, 10.0, 2.0, 1.0])
        assert ch.stats[2:4].tolist() == [1.0, 1.0]
    elif parzen == 1:  # (1 - 1.5)^2 + 1 < 1.5^2 + 1
        np.testing.assert_array_equal(ch.w, [1.0, 1.25, 10.5, 10.0, 2.0, 1.0])
        assert ch.stats[2:4].tolist() == [1.0, 0.0]
    else:
        np.testing.assert_array_equal(ch.w, [1.0, 1.25, 10.5, 10.0, 2.0, 1.0])
    # the tail: centroid 1's last value and the two counts (which the merge ignores)
    ch = _merge_step("dense64", parzen, [(3, [20.0, 50.0, 50.0])])
    if parzen == 0:
        np.testing.assert_array_equal(ch.w, [1.0, 1.0, 10.0, 15.0, 2.0, 1.0])
    else:  # centroid 1 did not move
        np.testing.assert_array_equal(ch.w, W_HALF)
        assert ch.stats[2:4].tolist() == [0.0, 1.0]
    # a block of counts alone: read, merged into nothing, counted as neither
    ch = _merge_step("dense64", parzen, [(4, [50.0, 50.0])])
    np.testing.assert_array_equal(ch.w, W_HALF)
    assert ch.stats[2:4].tolist() == [0.0, 0.0]


def test_merge_inside_a_chunk_matches_reference_and_needs_a_fresh_slot():
    """The merge comes after ``merge_after`` groups; the groups after it train on the merged
    state (with ``cnorm`` of the merged centroids)."""
    k = 4
    X = _blobs(k=k, n=120)
    n, d = X.shape
    w0 = _start_state(X, k, np.full(k, 3.0))
    gstart, gstop = _groups(n, 10, np.random.default_rng(5))
    slot = _start_state(X, k, np.full(k, 40.0), seed=9)
    ch = Chunk(X, w0, k, n_slots=3)
    ch.put(1, 0, slot)
    ch.put(2, 0, -slot)
    ch.slot_fresh[2] = 0  # a slot already read is not merged again
    ch.run(gstart, gstop, 0, 5, merge_after=2, parzen=0)
    expected = w0.copy()
    rows = _rows_of(gstart, gstop, 0, 2)
    reference_kmeans(X, None, expected, k, rows)
    expected[: k * d] = (expected[: k * d] + slot[: k * d]) / 2.0
    reference_kmeans(X, None, expected, k, _rows_of(gstart, gstop, 2, 3))
    np.testing.assert_allclose(ch.w, expected, rtol=1e-9, atol=1e-12)
    assert ch.stats[1:4].tolist() == [50.0, 1.0, 0.0]
    ch.assert_cnorm()
    # a call over no groups merges nothing and leaves the slot fresh
    ch.put(0, 0, slot)
    before = ch.w.copy()
    ch.run(gstart, gstop, 5, 0)
    np.testing.assert_array_equal(ch.w, before)
    assert ch.slot_fresh.tolist() == [1, 0, 0]


# ----------------------------------------------------------------------------- bad rows
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("fmt", ["dense64", "csr32"])
def test_non_finite_row_sets_the_flag_and_ends_the_call(fmt, bad):
    X = _blobs(n=20, k=2)
    X[7, 3] = bad
    Xf = _as_format(X, fmt)
    w0 = _start_state(np.nan_to_num(X, posinf=0.0, neginf=0.0), 2, np.ones(2)).astype(_dtype(fmt))
    gstart = np.array([0, 10], dtype=np.int64)
    gstop = np.array([10, 20], dtype=np.int64)
    ch = Chunk(Xf, w0, 2).run(gstart, gstop, 0, 2)
    assert ch.stats[4] == 1.0
    assert ch.stats[1] == 7.0  # the rows before the bad one
    expected = w0.copy()
    reference_kmeans(Xf, None, expected, 2, [range(7)])
    np.testing.assert_allclose(ch.w, expected, **_tol(fmt))  # the bad row moved nothing
    assert np.isfinite(ch.w).all()


# ----------------------------------------------------------------------------- assignment, Lloyd
def _assignment_case(fmt, k=5, n=150, d=9):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(n, d))
    X[rng.random((n, d)) < 0.3] = 0.0
    C = (X[rng.choice(n, size=k, replace=False)] + rng.normal(scale=0.3, size=(k, d))).astype(_dtype(fmt))
    Xf = _as_format(X, fmt)
    cnorm = np.zeros(k)
    KK.centroid_norms(C, cnorm)
    Xd = (Xf.toarray() if sp.issparse(Xf) else Xf).astype(np.float64)
    return Xf, Xd, C, cnorm


@pytest.mark.parametrize("fmt", FORMATS)
def test_assign_rows_matches_sklearn(fmt):
    Xf, Xd, C, cnorm = _assignment_case(fmt)
    n = Xd.shape[0]
    labels = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, -1.0)
    KK.assign_rows(_layout(Xf), C, cnorm, labels, dist)
    ref_labels, ref_dist = pairwise_distances_argmin_min(Xd, C.astype(np.float64))
    np.testing.assert_array_equal(labels, ref_labels)
    np.testing.assert_allclose(dist, ref_dist**2, **_tol(fmt))
    assert (dist >= 0.0).all()


def test_assign_rows_ties_go_to_the_lowest_index():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(60, 4))
    C = np.stack([X[0], X[1] + 5.0, X[0], X[2]])  # centroids 0 and 2 are the same
    cnorm = np.zeros(4)
    KK.centroid_norms(C, cnorm)
    labels = np.zeros(60, dtype=np.int64)
    dist = np.zeros(60)
    KK.assign_rows(_layout(X), C, cnorm, labels, dist)
    assert 2 not in labels and labels[0] == 0
    assert (dist >= 0.0).all() and dist[0] < 1e-12  # a row equal to its centroid


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fmt", FORMATS)
def test_lloyd_sums_match_numpy(fmt, weighted):
    Xf, Xd, C, cnorm = _assignment_case(fmt)
    n, d = Xd.shape
    k = C.shape[0]
    sw = np.random.default_rng(6).uniform(0.1, 2.0, size=n) if weighted else None
    sums = np.ones((k, d))  # added to, not reset
    counts = np.ones(k)
    inertia = KK.lloyd_sums(_layout(Xf, sw), C, cnorm, sums, counts)
    labels, mind = pairwise_distances_argmin_min(Xd, C.astype(np.float64))
    swv = np.ones(n) if sw is None else sw
    onehot = np.zeros((n, k))
    onehot[np.arange(n), labels] = swv
    np.testing.assert_allclose(counts, 1.0 + onehot.sum(0), rtol=1e-12)
    np.testing.assert_allclose(sums, 1.0 + onehot.T @ Xd, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(inertia, float(swv @ mind**2), rtol=_tol(fmt)["rtol"])
