"""numba kernels of online (SGD) K-Means: the training chunk with its merge, assignment, Lloyd sums.

Every function takes plain arrays, numbers and integer codes.  The training state of one task is
a flat array ``w`` of length ``k * d + k`` in the input's dtype: the ``k`` centroids row after
row (``w[:k * d]``, ``C``), then their counts (``w[k * d:]``, ``v``): the summed sample weight the
task has assigned to each centroid, a starting count included.  A sample of weight ``s`` assigned
to centroid ``j`` adds ``s`` to ``v[j]`` and moves ``C[j]`` by ``eta = s / v[j]`` toward itself
(Bottou & Bengio's online k-means; scikit-learn's MiniBatchKMeans uses the same per-centroid
1 / count rate), so a centroid is the weighted mean of the samples it was given.

Nearest centroids are found by ``cnorm[j] - 2 x . C[j]`` (``cnorm``: the squared norms of the
centroids, float64): the row's own squared norm is the same for every centroid and is added only
for the distance that is reported.  Ties go to the lowest centroid index.  Rows are dense
(``X``, C-contiguous for the dot products to vectorize) or CSR ``(data, indices, indptr)``; the
unused layout gets small dummy arrays, as in ``dask_asgd._kernels.sgd_chunk``.
"""

from __future__ import annotations

import numpy as np

from .._kernels import PREFETCH_ROWS, _csr_row_dot, _jit, _jit_inline, _not_finite, _prefetch


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


@_jit
def _kmeans_merge(w, prev, slots, slot_lo, slot_len, slot_fresh, parzen, merge, acc, cnt, stats, cnorm, k, d):
    """Merge the fresh receive slots into the centroids of ``w`` and mark every slot read.

    ``w`` is the state after the local step, ``prev`` the state before it.  Slot ``s`` holds
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
    rows (mode 2).  ``cnorm`` is recomputed for every centroid that changed.  ``acc`` (float)
    and ``cnt`` (float64: summed weights), both the size of ``w``, are scratch; their contents
    on entry do not matter.
    """
    kd = k * d
    any_acc = False
    for s in range(slot_fresh.shape[0]):
        if not slot_fresh[s]:
            continue
        slot_fresh[s] = 0
        lo = slot_lo[s]
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
                stats[2] += 1.0
            else:
                stats[3] += 1.0
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
def kmeans_chunk(
    dense, X, data, indices, indptr, sw, has_sw,
    w, cnorm, gstart, gstop, first, n_groups, merge_after, k, d,
    slots, slot_lo, slot_len, slot_fresh, parzen, merge, prev, acc, cnt, stats,
):
    """Run online k-means over ``n_groups`` row groups, in place on the state ``w``.

    Group ``g`` is rows ``gstart[first + g]`` to ``gstop[first + g]``; the rows of a group are
    visited in order.  Each row ``x`` (weight ``sw[i]`` when ``has_sw``, else 1) is assigned to
    its nearest centroid ``j``; its weighted squared distance at that moment is added to
    ``stats[0]`` (the inertia of the rows as they were assigned) and ``stats[1]`` counts it.
    Then ``v[j] += s`` and, with ``eta = s / v[j]``, ``C[j] += eta (x - C[j])`` (CSR rows:
    ``C[j] *= 1 - eta``, then ``C[j, indices] += eta data``); a count that is not positive after
    the addition moves nothing.  ``cnorm`` (k,) float64 is recomputed in full at the start of
    the call and for each centroid when it moves or merges, so it always holds the squared norms
    of the centroids.

    Exchange: when a receive slot is fresh at the start of the call, the state is saved in
    ``prev``; after ``min(merge_after, n_groups)`` groups the fresh slots are merged
    (``_kmeans_merge``, Parzen code ``parzen``) and marked read.  A call over no groups merges
    nothing and leaves the slots fresh.

    ``stats`` (float64, 5) accumulates: [0] inertia, [1] samples, [2] merged, [3] rejected; [4]
    is set to 1 when a row's distance is not finite (NaN or inf in the row), and the call ends
    at that row, before moving anything for it: the caller then checks the rows.
    """
    kd = k * d
    C = w[:kd].reshape((k, d))
    centroid_norms(C, cnorm)
    n_slots = slot_fresh.shape[0]
    merging = False
    for s in range(n_slots):
        if slot_fresh[s]:
            merging = True
    if merging:
        prev[:] = w
    fbuf = np.empty(1)
    fbits = fbuf.view(np.int64)
    line = max(1, 64 // X.itemsize)  # values per cache line
    for gi in range(n_groups):
        g_hi = gstop[first + gi]
        next_lo = gstart[first + gi + 1] if gi + 1 < n_groups else -1
        for i in range(gstart[first + gi], g_hi):
            if dense and PREFETCH_ROWS > 0:
                r = i + PREFETCH_ROWS  # the row assigned PREFETCH_ROWS rows from now
                if r >= g_hi:
                    r = next_lo + (r - g_hi) if next_lo >= 0 else -1
                if 0 <= r < X.shape[0]:
                    for c in range(0, d, line):
                        _prefetch(X, r, c)
            s_i = sw[i] if has_sw else 1.0
            j, dist = _nearest(dense, X, data, indices, indptr, i, C, cnorm, k, d)
            if _not_finite(dist, fbuf, fbits):
                stats[4] = 1.0
                return
            if dist < 0.0:
                dist = 0.0
            stats[0] += s_i * dist
            stats[1] += 1.0
            w[kd + j] += s_i
            vj = np.float64(w[kd + j])
            if s_i == 0.0 or not vj > 0.0:
                continue
            eta = s_i / vj
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
        if merging and gi == min(merge_after, n_groups) - 1:
            _kmeans_merge(w, prev, slots, slot_lo, slot_len, slot_fresh, parzen, merge, acc, cnt, stats,
                          cnorm, k, d)


@_jit
def assign_rows(dense, X, data, indices, indptr, C, cnorm, labels, dist):
    """For every row: the index of its nearest centroid of ``C`` (k, d) into ``labels`` (int64)
    and its squared distance, clipped at 0, into ``dist`` (float64); ``cnorm`` from
    ``centroid_norms(C)``.  The rows are ``X``'s (dense) or ``indptr``'s (CSR); ``labels`` and
    ``dist`` hold one value a row.  Ties go to the lowest index.  A row holding NaN gets a NaN
    distance.  One thread, without the interpreter lock."""
    k = C.shape[0]
    d = C.shape[1]
    n = X.shape[0] if dense else indptr.shape[0] - 1
    for i in range(n):
        j, dd = _nearest(dense, X, data, indices, indptr, i, C, cnorm, k, d)
        labels[i] = j
        dist[i] = 0.0 if dd < 0.0 else dd


@_jit
def lloyd_sums(dense, X, data, indices, indptr, sw, has_sw, C, cnorm, sums, counts):
    """One Lloyd step's partial sums over all rows: each row's weight times its values is added
    to ``sums[j]`` ((k, d) float64) and its weight to ``counts[j]`` ((k,) float64) of its nearest
    centroid ``j`` of ``C`` (``cnorm`` from ``centroid_norms(C)``).  ``sums`` and ``counts`` are
    added to, not reset.  Returns the weighted inertia of the rows (squared distances clipped at
    0) against ``C``.  One thread, without the interpreter lock."""
    k = C.shape[0]
    d = C.shape[1]
    n = X.shape[0] if dense else indptr.shape[0] - 1
    inertia = 0.0
    for i in range(n):
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
