"""numba kernels of online (SGD) K-Means: the training chunk with its merge, assignment, Lloyd sums.

Every function takes plain arrays, numbers and integer codes, or named tuples of them: rows come
as a ``dask_asgd._kernel_args.Rows``, and ``kmeans_chunk`` takes its arguments in groups (``Rows``,
``Walk``, ``Inbox``; this module's ``KMeansSettings`` and ``KMeansState``).  The training state of
one task is a flat array ``w`` of length ``k * d + k`` in the input's dtype: the ``k`` centroids
row after row (``w[:k * d]``, ``C``), then their counts (``w[k * d:]``, ``v``): the summed sample
weight the task has assigned to each centroid, a starting count included.  A sample of weight
``s`` assigned to centroid ``j`` adds ``s`` to ``v[j]`` and moves ``C[j]`` by ``eta = s / v[j]``
toward itself (Bottou & Bengio's online k-means; scikit-learn's MiniBatchKMeans uses the same
per-centroid 1 / count rate), so a centroid is the weighted mean of the samples it was given.

Nearest centroids are found by ``cnorm[j] - 2 x . C[j]`` (``cnorm``: the squared norms of the
centroids, float64): the row's own squared norm is the same for every centroid and is added only
for the distance that is reported.  Ties go to the lowest centroid index.  ``kmeans_chunk``
scores dense rows in blocks of ``ASSIGN_ROWS`` against the centroids at the block's start (one
pass over the centroids for the block); ``assign_rows`` and ``lloyd_sums`` go row by row.  Rows are dense
(``X``, C-contiguous for the dot products to vectorize) or CSR ``(data, indices, indptr)``; the
unused layout gets small dummy arrays (``Rows``), as for ``dask_asgd._kernels.sgd_chunk``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._kernels import (
    PREFETCH_ROWS,
    STAT_LOSS,
    STAT_MERGED,
    STAT_NOT_FINITE,
    STAT_REJECTED,
    STAT_SAMPLES,
    _csr_row_dot,
    _jit,
    _jit_inline,
    _not_finite,
    _prefetch,
)


@_jit
def centroid_norms(C, out):
    """``out[j] = ||C[j]||^2`` (float64 sums) for every row ``j`` of the 2-D ``C``."""
    for j in range(C.shape[0]):
        sq = 0.0
        for jj in range(C.shape[1]):
            c = np.float64(C[j, jj])
            sq += c * c
        out[j] = sq


@_jit_inline
def _nearest(dense, X, data, indices, indptr, i, C, cnorm, k, d):
    """``(j, dist)``: the centroid nearest to row ``i`` (the lowest index among equals) and the
    squared distance to it, not clipped (NaN or inf in the row make it non-finite; a value
    slightly below 0 is rounding).  The dense dot products are plain loops over ``d`` on
    contiguous rows, which the module's fast-math flags let LLVM vectorize."""
    xn = 0.0
    if dense:
        for jj in range(d):
            xv = np.float64(X[i, jj])
            xn += xv * xv
    else:
        for jj in range(indptr[i], indptr[i + 1]):
            xv = np.float64(data[jj])
            xn += xv * xv
    best = 0
    best_score = 0.0
    for j in range(k):
        dot = 0.0
        if dense:
            for jj in range(d):
                dot += C[j, jj] * X[i, jj]
        else:
            dot = _csr_row_dot(C, j, indices, data, indptr[i], indptr[i + 1])
        score = cnorm[j] - 2.0 * dot
        # strict: an equal score later keeps the lower index
        if j == 0 or score < best_score:
            best = j
            best_score = score
    return best, xn + best_score


ASSIGN_ROWS = 4  # dense rows a block of kmeans_chunk scores against the centroids in one pass
# (``_block_scores`` keeps one sum a row: changing this needs its four sums changed too)

PAIR_FROM_D = 32  # from this many columns _block_scores takes two centroids a pass (see there)

FLOAT32_SUMS = True  # float32 rows: the block's dot products summed in float32 (see _block_scores)


@_jit_inline
def _zero_of(X):
    """0 in ``X``'s dtype (float32 sums for float32 rows)."""
    return np.zeros(1, X.dtype)[0]


@_jit_inline
def _zero_f64(X):
    return 0.0


_sum_zero = _zero_of if FLOAT32_SUMS else _zero_f64


@_jit_inline
def _block_scores(X, i0, r, C, cnorm, k, d, zero, scores, xns):
    """Scores ``cnorm[j] - 2 x . C[j]`` of the ``r`` (1 to ``ASSIGN_ROWS``) dense rows ``i0`` to
    ``i0 + r - 1`` against every centroid into ``scores[:r]`` ((ASSIGN_ROWS, k) float64) and their
    squared norms into ``xns[:r]`` (float64).  One pass over ``C``: each ``C[j, jj]`` is loaded
    once for the four rows (four sums), so a row streams a quarter of ``C`` from the cache.  A
    block of fewer than four rows repeats its last row in the unused sums (their scores land in
    rows of ``scores`` that are not read).  The sums start at ``zero``: float32 for float32 rows
    (``FLOAT32_SUMS``: one fused multiply-add a value, no conversion of each product to float64;
    the norms and the scores stay float64), else float64.  With ``d >= PAIR_FROM_D`` two
    centroids go together (eight sums; each loaded row value serves both); on rows of a few
    columns the pairs cost more than they save (docs/benchmarks.md, "K-Means kernel")."""
    for rr in range(r):
        xn = 0.0
        for jj in range(d):
            xv = np.float64(X[i0 + rr, jj])
            xn += xv * xv
        xns[rr] = xn
    x0 = X[i0]
    x1 = X[i0 + min(1, r - 1)]
    x2 = X[i0 + min(2, r - 1)]
    x3 = X[i0 + min(3, r - 1)]
    j = 0
    if d >= PAIR_FROM_D:
        # two centroids a pass: eight sums, each loaded value of a row used twice
        while j + 1 < k:
            a0 = zero
            a1 = zero
            a2 = zero
            a3 = zero
            b0 = zero
            b1 = zero
            b2 = zero
            b3 = zero
            for jj in range(d):
                c = C[j, jj]
                e = C[j + 1, jj]
                y0 = x0[jj]
                y1 = x1[jj]
                y2 = x2[jj]
                y3 = x3[jj]
                a0 += c * y0
                a1 += c * y1
                a2 += c * y2
                a3 += c * y3
                b0 += e * y0
                b1 += e * y1
                b2 += e * y2
                b3 += e * y3
            cn = cnorm[j]
            scores[0, j] = cn - 2.0 * np.float64(a0)
            scores[1, j] = cn - 2.0 * np.float64(a1)
            scores[2, j] = cn - 2.0 * np.float64(a2)
            scores[3, j] = cn - 2.0 * np.float64(a3)
            cn = cnorm[j + 1]
            scores[0, j + 1] = cn - 2.0 * np.float64(b0)
            scores[1, j + 1] = cn - 2.0 * np.float64(b1)
            scores[2, j + 1] = cn - 2.0 * np.float64(b2)
            scores[3, j + 1] = cn - 2.0 * np.float64(b3)
            j += 2
    while j < k:
        a0 = zero
        a1 = zero
        a2 = zero
        a3 = zero
        for jj in range(d):
            c = C[j, jj]
            a0 += c * x0[jj]
            a1 += c * x1[jj]
            a2 += c * x2[jj]
            a3 += c * x3[jj]
        cn = cnorm[j]
        scores[0, j] = cn - 2.0 * np.float64(a0)
        scores[1, j] = cn - 2.0 * np.float64(a1)
        scores[2, j] = cn - 2.0 * np.float64(a2)
        scores[3, j] = cn - 2.0 * np.float64(a3)
        j += 1


@_jit_inline
def _lowest(scores, rr, k):
    """``(j, score)``: the lowest of ``scores[rr, :k]`` (the lowest index among equals)."""
    best = 0
    best_score = scores[rr, 0]
    for j in range(1, k):
        if scores[rr, j] < best_score:
            best = j
            best_score = scores[rr, j]
    return best, best_score


@_jit_inline
def _move_centroid(dense, X, data, indices, indptr, i, C, cnorm, j, eta, d):
    """``C[j] += eta (x_i - C[j])`` (CSR rows: ``C[j] *= 1 - eta``, then ``C[j, indices] += eta
    data``) and ``cnorm[j]`` recomputed from the stored values."""
    sq = 0.0
    if dense:
        for jj in range(d):
            C[j, jj] += eta * (X[i, jj] - C[j, jj])
            c = np.float64(C[j, jj])  # the stored value (rounded to the state's dtype)
            sq += c * c
    else:
        # one pass over the row of C for the shrink and the norm; the norm is then
        # corrected value by value where the row's entries are added (repeated
        # indices included)
        keep = 1.0 - eta
        for jj in range(d):
            C[j, jj] *= keep
            c = np.float64(C[j, jj])
            sq += c * c
        for p in range(indptr[i], indptr[i + 1]):
            col = indices[p]
            old = np.float64(C[j, col])
            C[j, col] += eta * data[p]
            c = np.float64(C[j, col])
            sq += c * c - old * old
        if sq < 0.0:
            sq = 0.0
    cnorm[j] = sq


class KMeansSettings(NamedTuple):
    """The shape of a K-Means state and how ``kmeans_chunk`` merges received states."""

    k: int  # centroids
    d: int  # features
    parzen: int  # the Parzen test: 0 off, 1 per block, 2 per centroid row (``_kmeans_merge``)
    merge: int  # 0: plain average, 1: weighted by the centroids' counts (``_kmeans_merge``)
    track: bool  # sum each row into its centroid's ``KMeansState.sums`` and keep its label


class KMeansState(NamedTuple):
    """One task's K-Means state, changed in place by ``kmeans_chunk``."""

    w: np.ndarray  # (k * d + k,): the centroids row after row, then their counts
    cnorm: np.ndarray  # (k,) float64: the centroids' squared norms
    sums: np.ndarray  # (k, d) float64: with ``track``, the weighted rows each centroid was given
    sum_w: np.ndarray  # (k,) float64: with ``track``, their summed weights
    labels: np.ndarray  # int32, one a row of ``Rows``: with ``track``, the centroid each row was given


@_jit
def _kmeans_merge(state, inbox, settings, stats):
    """Merge the fresh receive slots of ``inbox`` (``Inbox``) into the centroids of ``state.w``
    (``KMeansState``; ``settings``: ``KMeansSettings``) and mark every slot read.

    ``w`` is the state after the local step, ``inbox.prev`` the state before it.  Slot ``s`` holds
    ``slot_len[s]`` values for ``w[slot_lo[s]:slot_lo[s] + slot_len[s]]``.  ``parzen`` 0 accepts
    every slot; 1 accepts a slot when ``||w - slot||^2 < ||prev - slot||^2`` over the centroid
    values of its block; 2 applies that test to each centroid row (or the part of it) the block
    covers, so a centroid the local step did not move is never accepted.  Each accepted centroid
    value becomes the plain average of the local value and the accepted received values, element
    by element (``merge`` 0, the paper's merge), or with ``merge`` 1 the average weighted by
    the centroids' counts: the local value by the local count, a received value by the sender's
    count of that centroid where its block carries it (else by the local count), so that the
    task that has seen a cluster's rows moves its centroid most.  The counts are not merged: the
    local counts stay as they are (a task's step sizes follow its own samples).  A slot whose
    block holds only counts is marked read and counted neither accepted nor rejected.
    ``stats[2]`` and ``stats[3]`` count accepted and rejected slots (modes 0 and 1) or centroid
    rows (mode 2).  ``state.cnorm`` is recomputed for every centroid that changed.  ``inbox.acc``
    (float) and ``inbox.cnt`` (float64: summed weights), both the size of ``w``, are scratch;
    their contents on entry do not matter.  A slot whose block does not lie inside ``w`` (or
    inside its slot) is marked read and not merged.
    """
    w = state.w
    cnorm = state.cnorm
    prev = inbox.prev
    slots = inbox.slots
    slot_lo = inbox.slot_lo
    slot_len = inbox.slot_len
    slot_fresh = inbox.slot_fresh
    acc = inbox.acc
    cnt = inbox.cnt
    k = settings.k
    d = settings.d
    parzen = settings.parzen
    merge = settings.merge
    kd = k * d
    any_acc = False
    for s in range(slot_fresh.shape[0]):
        if not slot_fresh[s]:
            continue
        slot_fresh[s] = 0
        lo = slot_lo[s]
        if lo < 0 or slot_len[s] <= 0 or slot_len[s] > slots.shape[1] or lo + slot_len[s] > w.shape[0]:
            continue  # not a block of this state (the task checks blocks before this)
        hi = min(lo + slot_len[s], kd)  # the end of the block's centroid values
        if hi <= lo:
            continue
        a = lo
        while a < hi:
            # mode 2 tests each centroid row's part of the block; modes 0 and 1, the block at once
            b = min((a // d + 1) * d, hi) if parzen == 2 else hi
            accept = True
            if parzen != 0:
                d_half = 0.0
                d_prev = 0.0
                for p in range(a, b):
                    v = slots[s, p - lo]
                    e = w[p] - v
                    f = prev[p] - v
                    d_half += e * e
                    d_prev += f * f
                accept = d_half < d_prev
            if accept:
                if not any_acc:
                    acc[:] = 0.0
                    cnt[:] = 0.0
                    any_acc = True
                for p in range(a, b):
                    u = 1.0
                    if merge == 1:
                        j = p // d
                        u = np.float64(w[kd + j])  # the local count, unless the block carries the sender's
                        if lo <= kd + j < lo + slot_len[s]:
                            u = np.float64(slots[s, kd + j - lo])
                    if u > 0.0:
                        acc[p] += u * slots[s, p - lo]
                        cnt[p] += u
                stats[STAT_MERGED] += 1.0
            else:
                stats[STAT_REJECTED] += 1.0
            a = b
    if any_acc:
        for j in range(k):
            changed = False
            for p in range(j * d, (j + 1) * d):
                if cnt[p] > 0.0:
                    own = 1.0 if merge == 0 else np.float64(w[kd + j])
                    w[p] = (own * w[p] + acc[p]) / (own + cnt[p])
                    changed = True
            if changed:
                sq = 0.0
                for p in range(j * d, (j + 1) * d):
                    c = np.float64(w[p])
                    sq += c * c
                cnorm[j] = sq


@_jit
def kmeans_chunk(rows, walk, settings, state, inbox, stats):
    """Run online k-means over the row groups of ``walk``, in place on the state ``state.w``.

    The arguments are groups (named tuples): ``rows`` (``Rows``: the shard; its ``y`` is not
    read), ``walk`` (``Walk``), ``settings`` (``KMeansSettings``: ``k``, ``d``, the merge's
    codes), ``state`` (``KMeansState``: ``w`` and ``cnorm``), ``inbox`` (``Inbox``: the receive
    slots and the merge's scratch); then the ``stats`` array.

    Group ``g`` is rows ``gstart[first + g]`` to ``gstop[first + g]``; the rows of a group are
    visited in order.  Each row ``x`` (weight ``sw[i]`` when ``has_sw``, else 1) is assigned to
    its nearest centroid ``j``; its weighted squared distance to ``C[j]`` at that moment is
    added to ``stats[0]`` (the inertia of the rows as they were assigned) and ``stats[1]``
    counts it.  Dense rows are assigned in blocks of ``ASSIGN_ROWS`` consecutive rows of a group
    (the last block of a group may be shorter; a block never crosses a group's end): the scores
    of all the block's rows are computed in one pass over ``C`` (``_block_scores``), against the
    centroids as they are at the block's start; then the rows are applied one after the other
    (choice, distance, count, move).  A later row of a block may thus choose by centroids that
    the block's earlier rows have moved since (stale by at most ``ASSIGN_ROWS - 1`` updates, like
    a tiny mini-batch); its move uses the current ``C[j]`` and count, and its distance is
    recomputed against the current ``C[j]`` (one dot product) when an earlier row of the block
    moved that centroid.  CSR rows are assigned one at a time.
    Then ``v[j] += s`` and, with ``eta = s / v[j]``, ``C[j] += eta (x - C[j])`` (CSR rows:
    ``C[j] *= 1 - eta``, then ``C[j, indices] += eta data``); a count that is not positive after
    the addition moves nothing.  With ``settings.track``, every assigned row's weighted values
    are also added to ``state.sums[j]``, its weight to ``state.sum_w[j]``, and ``j`` is written to
    ``state.labels[i]``: over a whole epoch, the sums of a Lloyd step whose assignments were made
    as the centroids moved.  ``cnorm`` (k,) float64 is recomputed in full at the start of
    the call and for each centroid when it moves or merges, so it always holds the squared norms
    of the centroids.

    Exchange: when a receive slot is fresh at the start of the call, the state is saved in
    ``inbox.prev``; after ``min(merge_after, n_groups)`` groups the fresh slots are merged
    (``_kmeans_merge``, Parzen code ``settings.parzen``) and marked read.  A call over no groups
    merges nothing and leaves the slots fresh.

    ``stats`` (float64, 5) accumulates: [0] inertia, [1] samples, [2] merged, [3] rejected; [4]
    is set to 1 when a row's distance is not finite (NaN or inf in the row), and the call ends
    at that row, before moving anything for it (the rows of its block before it have been
    applied): the caller then checks the rows.
    """
    dense, X, data, indices, indptr, _, sw, has_sw = rows  # y: not read
    gstart, gstop, first, n_groups, merge_after = walk
    w = state.w
    cnorm = state.cnorm
    sums = state.sums
    sum_w = state.sum_w
    labels = state.labels
    track = settings.track
    k = settings.k
    d = settings.d
    kd = k * d
    C = w[:kd].reshape((k, d))
    centroid_norms(C, cnorm)
    n_slots = inbox.slot_fresh.shape[0]
    merging = False
    for s in range(n_slots):
        if inbox.slot_fresh[s]:
            merging = True
    if merging:
        inbox.prev[:] = w
    fbuf = np.empty(1)
    fbits = fbuf.view(np.int64)
    line = max(1, 64 // X.itemsize)  # values per cache line
    scores = np.empty((ASSIGN_ROWS, k))
    xns = np.empty(ASSIGN_ROWS)
    moved = np.empty(ASSIGN_ROWS, dtype=np.int64)
    zero = _sum_zero(X)
    for gi in range(n_groups):
        g_hi = gstop[first + gi]
        next_lo = gstart[first + gi + 1] if gi + 1 < n_groups else -1
        # the row's step is written out in both branches: as a shared inlined helper it made the
        # kernel several times slower on rows of a few columns
        if not dense:
            for i in range(gstart[first + gi], g_hi):
                s_i = sw[i] if has_sw else 1.0
                j, dist = _nearest(dense, X, data, indices, indptr, i, C, cnorm, k, d)
                if _not_finite(dist, fbuf, fbits):
                    stats[STAT_NOT_FINITE] = 1.0
                    return
                if dist < 0.0:
                    dist = 0.0
                stats[STAT_LOSS] += s_i * dist
                stats[STAT_SAMPLES] += 1.0
                if track:
                    labels[i] = j
                    sum_w[j] += s_i
                    for p in range(indptr[i], indptr[i + 1]):
                        sums[j, indices[p]] += s_i * data[p]
                w[kd + j] += s_i
                vj = np.float64(w[kd + j])
                if s_i == 0.0 or not vj > 0.0:
                    continue
                _move_centroid(dense, X, data, indices, indptr, i, C, cnorm, j, s_i / vj, d)
        else:
            i0 = gstart[first + gi]
            while i0 < g_hi:
                nb = min(ASSIGN_ROWS, g_hi - i0)  # a block never crosses the group's end
                if PREFETCH_ROWS > 0:
                    for i in range(i0, i0 + nb):
                        r = i + PREFETCH_ROWS  # the row assigned PREFETCH_ROWS rows from now
                        if r >= g_hi:
                            r = next_lo + (r - g_hi) if next_lo >= 0 else -1
                        if 0 <= r < X.shape[0]:
                            for c in range(0, d, line):
                                _prefetch(X, r, c)
                # every row of the block is scored against the centroids as they are at its start
                _block_scores(X, i0, nb, C, cnorm, k, d, zero, scores, xns)
                for rr in range(nb):
                    i = i0 + rr
                    moved[rr] = -1
                    s_i = sw[i] if has_sw else 1.0
                    j = 0
                    best = scores[rr, 0]
                    for jc in range(1, k):
                        # strict: an equal score later keeps the lower index
                        if scores[rr, jc] < best:
                            j = jc
                            best = scores[rr, jc]
                    # the choice stands even when an earlier row of the block has moved C[j]
                    # since (stale by at most ASSIGN_ROWS - 1 updates); the distance is then
                    # recomputed with the current C[j], so stats[0] holds each row's distance
                    # to its centroid at the moment it is assigned
                    for q in range(rr):
                        if moved[q] == j:
                            dot = 0.0
                            for jj in range(d):
                                dot += C[j, jj] * X[i, jj]
                            best = cnorm[j] - 2.0 * dot
                            break
                    dist = xns[rr] + best
                    if _not_finite(dist, fbuf, fbits):
                        stats[STAT_NOT_FINITE] = 1.0
                        return
                    if dist < 0.0:
                        dist = 0.0
                    stats[STAT_LOSS] += s_i * dist
                    stats[STAT_SAMPLES] += 1.0
                    if track:
                        labels[i] = j
                        sum_w[j] += s_i
                        for jj in range(d):
                            sums[j, jj] += s_i * X[i, jj]
                    w[kd + j] += s_i
                    vj = np.float64(w[kd + j])
                    if s_i == 0.0 or not vj > 0.0:
                        continue
                    _move_centroid(dense, X, data, indices, indptr, i, C, cnorm, j, s_i / vj, d)
                    moved[rr] = j
                i0 += nb
        if merging and gi == min(merge_after, n_groups) - 1:
            _kmeans_merge(state, inbox, settings, stats)


@_jit
def assign_rows(rows, C, cnorm, labels, dist):
    """For every row of ``rows`` (``Rows``; its ``y`` and ``sw`` are not read): the index of its
    nearest centroid of ``C`` (k, d) into ``labels`` (int64) and its squared distance, clipped at
    0, into ``dist`` (float64); ``cnorm`` from ``centroid_norms(C)``.  The rows are ``X``'s
    (dense) or ``indptr``'s (CSR); ``labels`` and ``dist`` hold one value a row.  Ties go to the
    lowest index.  A row holding NaN gets a NaN distance.  One thread, without the interpreter
    lock."""
    dense = rows.dense
    X = rows.X
    data = rows.data
    indices = rows.indices
    indptr = rows.indptr
    k = C.shape[0]
    d = C.shape[1]
    n = X.shape[0] if dense else indptr.shape[0] - 1
    if dense:  # blocks of rows scored in one pass over C, as in kmeans_chunk (nothing moves here)
        scores = np.empty((ASSIGN_ROWS, k))
        xns = np.empty(ASSIGN_ROWS)
        zero = _sum_zero(X)
        i = 0
        while i < n:
            r = min(ASSIGN_ROWS, n - i)
            _block_scores(X, i, r, C, cnorm, k, d, zero, scores, xns)
            for rr in range(r):
                j, best = _lowest(scores, rr, k)
                dd = xns[rr] + best
                labels[i + rr] = j
                dist[i + rr] = 0.0 if dd < 0.0 else dd
            i += r
        return
    for i in range(n):
        j, dd = _nearest(dense, X, data, indices, indptr, i, C, cnorm, k, d)
        labels[i] = j
        dist[i] = 0.0 if dd < 0.0 else dd


@_jit
def lloyd_sums(rows, C, cnorm, sums, counts):
    """One Lloyd step's partial sums over all rows of ``rows`` (``Rows``; its ``y`` is not read):
    each row's weight (``sw[i]`` when ``has_sw``, else 1) times its values is added to ``sums[j]``
    ((k, d) float64) and its weight to ``counts[j]`` ((k,) float64) of its nearest centroid ``j``
    of ``C`` (``cnorm`` from ``centroid_norms(C)``).  ``sums`` and ``counts`` are added to, not
    reset.  Returns the weighted inertia of the rows (squared distances clipped at 0) against
    ``C``.  One thread, without the interpreter lock."""
    dense, X, data, indices, indptr, _, sw, has_sw = rows  # y: not read
    k = C.shape[0]
    d = C.shape[1]
    n = X.shape[0] if dense else indptr.shape[0] - 1
    inertia = 0.0
    scores = np.empty((ASSIGN_ROWS, k))
    xns = np.empty(ASSIGN_ROWS)
    zero = _sum_zero(X)
    for i in range(n):
        if dense:  # blocks of rows scored in one pass over C (nothing moves here)
            rr = i % ASSIGN_ROWS
            if rr == 0:
                _block_scores(X, i, min(ASSIGN_ROWS, n - i), C, cnorm, k, d, zero, scores, xns)
            j, best = _lowest(scores, rr, k)
            dd = xns[rr] + best
        else:
            j, dd = _nearest(dense, X, data, indices, indptr, i, C, cnorm, k, d)
        s_i = sw[i] if has_sw else 1.0
        if dd < 0.0:
            dd = 0.0
        inertia += s_i * dd
        counts[j] += s_i
        if dense:
            for jj in range(d):
                sums[j, jj] += s_i * X[i, jj]
        else:
            for p in range(indptr[i], indptr[i + 1]):
                sums[j, indices[p]] += s_i * data[p]
    return inertia
