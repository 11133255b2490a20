"""numba kernels: losses, learning-rate schedules, SGD over a chunk of mini-batches, Parzen merge.

Every function takes plain arrays, numbers and integer codes (see ``_options``), or named
tuples of them: ``sgd_chunk`` takes its arguments in groups (``_kernel_args.Rows``, ``Walk`` and
``Inbox``; this module's ``SGDSettings`` and ``SGDState``).  The training state of one task is a
flat array ``w`` of length ``K * d + K``: the coefficients of the ``K`` one-vs-rest problems row
after row, then their intercepts.  The coefficients are stored scaled: the true coefficients are
``scale[0] * w[:K * d]`` so that the L2 shrink costs O(1) per sample.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from ._options import LEARNING_RATES, PENALTIES

# integer codes the kernels test (numba reads module-level ints as constants)
NO_PENALTY, L2, L1, ELASTICNET = PENALTIES[None], PENALTIES["l2"], PENALTIES["l1"], PENALTIES["elasticnet"]
LR_OPTIMAL, LR_INVSCALING = LEARNING_RATES["optimal"], LEARNING_RATES["invscaling"]
# what each entry of a kernel's ``stats`` array holds
STAT_LOSS = 0  # the summed loss (or inertia) of the samples trained on
STAT_SAMPLES = 1  # samples trained on
STAT_MERGED = 2  # received states (or parts of them) merged
STAT_REJECTED = 3  # received states (or parts of them) the Parzen test rejected
STAT_NOT_FINITE = 4  # set when a non-finite value was met
N_STATS = 5

MAX_DLOSS = 1e12
SPARSE_INTERCEPT_DECAY = 0.01

# reassociation lets LLVM vectorize the dot products. No nnan/ninf, but math.isfinite of a value
# computed under these four flags together was still folded away (sgd_chunk tests bits instead)
_jit = numba.njit(nogil=True, cache=True, fastmath={"reassoc", "contract", "nsz", "arcp"})
# the same, inlined into its callers by numba (small helpers of the kernel's inner loops)
_jit_inline = numba.njit(nogil=True, cache=True, fastmath={"reassoc", "contract", "nsz", "arcp"}, inline="always")

# dense rows: ask for the row this many rows ahead (in the visiting order) while training on this
# one. Where one core streams rows slower than it trains on them, the load of a row then overlaps
# the training of the rows before it, and a group's first rows, at a random place, are asked for
# before the loop gets there; a few rows ahead is far enough for a load to arrive and near enough
# that the row is still in cache when its turn comes
PREFETCH_ROWS = 4


def _prefetch_codegen(write: int):
    """Code for ``llvm.prefetch`` (high locality, data cache) of the element of the intrinsic's
    first argument (an array) at the indices given by its other arguments; ``write``: 0 or 1."""

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, list(args[1:]), wraparound=False)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
        builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, write), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return codegen


@intrinsic
def _prefetch(typingctx, arr, i, j):
    """``llvm.prefetch`` (read, high locality) of ``arr[i, j]``; no effect on the values."""
    return types.void(arr, i, j), _prefetch_codegen(0)


@_jit
def loss_value(code, param, y, p):
    """The loss of prediction ``p`` for target ``y`` (classification: y in {-1, +1})."""
    if code == 0 or code == 4:  # hinge / perceptron (threshold = param)
        z = p * y
        return param - z if z <= param else 0.0
    if code == 1:  # log_loss
        z = p * y
        if z > 18.0:
            return math.exp(-z)
        if z < -18.0:
            return -z
        return math.log(1.0 + math.exp(-z))
    if code == 2:  # modified_huber
        z = p * y
        if z >= 1.0:
            return 0.0
        if z >= -1.0:
            return (1.0 - z) * (1.0 - z)
        return -4.0 * z
    if code == 3:  # squared_hinge
        z = param - p * y
        return z * z if z > 0 else 0.0
    if code == 5:  # squared_error
        return 0.5 * (p - y) * (p - y)
    if code == 6:  # huber
        r = p - y
        a = abs(r)
        if a <= param:
            return 0.5 * r * r
        return param * a - 0.5 * param * param
    if code == 7:  # epsilon_insensitive
        r = abs(y - p) - param
        return r if r > 0 else 0.0
    if code == 8:  # squared_epsilon_insensitive
        r = abs(y - p) - param
        return r * r if r > 0 else 0.0
    return 0.0


@_jit
def loss_gradient(code, param, y, p):
    """d loss / d p."""
    if code == 0 or code == 4:
        z = p * y
        return -y if z <= param else 0.0
    if code == 1:
        z = p * y
        if z > 18.0:
            return -y * math.exp(-z)
        if z < -18.0:
            return -y
        return -y / (math.exp(z) + 1.0)
    if code == 2:
        z = p * y
        if z >= 1.0:
            return 0.0
        if z >= -1.0:
            return 2.0 * (1.0 - z) * -y
        return -4.0 * y
    if code == 3:
        z = param - p * y
        return -2.0 * y * z if z > 0 else 0.0
    if code == 5:
        return p - y
    if code == 6:
        r = p - y
        if abs(r) <= param:
            return r
        return param if r > 0 else -param
    if code == 7:
        if y - p > param:
            return -1.0
        if p - y > param:
            return 1.0
        return 0.0
    if code == 8:
        z = y - p
        if z > param:
            return -2.0 * (z - param)
        if z < -param:
            return 2.0 * (-z - param)
        return 0.0
    return 0.0


@_jit
def learning_rate_at(code, eta0, power_t, alpha, optimal_init, t):
    """The step size for sample number ``t`` (1-based), as scikit-learn's schedules."""
    if code == LR_OPTIMAL:
        return 1.0 / (alpha * (optimal_init + t - 1.0))
    if code == LR_INVSCALING:  # square roots for the common exponents (a pow costs ~20 ns a sample)
        if power_t == 0.25:
            return eta0 / math.sqrt(math.sqrt(t))
        if power_t == 0.5:
            return eta0 / math.sqrt(t)
        return eta0 / math.pow(t, power_t)
    return eta0  # constant, adaptive (adaptive is divided by 5 from Python between epochs)


def optimal_init(loss_code: int, param: float, alpha: float, compiled: bool = True) -> float:
    """scikit-learn's offset of the 'optimal' schedule: eta at the first sample is typw / dloss.
    ``compiled=False`` evaluates the loss's gradient in Python (no compiled kernel to load: the
    client's schedule choice, ``_fit.first_steps_overshoot``)."""
    typw = np.sqrt(1.0 / np.sqrt(alpha))
    gradient = loss_gradient if compiled else getattr(loss_gradient, "py_func", loss_gradient)
    initial_eta0 = typw / max(1.0, gradient(loss_code, param, 1.0, -typw))
    return 1.0 / (initial_eta0 * alpha)


@_jit
def _target(is_clf, n_out, yi, k):
    if not is_clf:
        return yi
    if n_out == 1:
        return 1.0 if yi == 1.0 else -1.0
    return 1.0 if yi == k else -1.0


@_jit
def _l1_clip(W, q, scale, k, j, u):
    # Tsuruoka et al. cumulative L1 penalty on the true weight scale * W[k, j]
    z = W[k, j] * scale
    if not math.isfinite(z):  # diverged: leave it for the divergence check to report
        return
    if z > 0.0:
        nz = max(0.0, z - (u + q[k, j]))
    elif z < 0.0:
        nz = min(0.0, z + (u - q[k, j]))
    else:
        nz = 0.0
    W[k, j] = nz / scale
    q[k, j] += nz - z


@_jit
def _fold_average(w, n_coef, avg, ab):
    """Averaged SGD keeps its average of the coefficients as ``(avg + A * w) / B`` (``ab = [A,
    B]``, the stored scaled ``w``: O(non-zeros) per sample, as scikit-learn's WeightVector);
    this writes it out in ``avg`` (A = 0, B = 1), before anything changes ``w`` other than an
    SGD step (a new scale, a merge, a share subtracted)."""
    A = ab[0]
    B = ab[1]
    if A != 0.0 or B != 1.0:
        for j in range(n_coef):
            avg[j] = (avg[j] + A * w[j]) / B
        ab[0] = 0.0
        ab[1] = 1.0


@_jit
def _materialize(w, n_coef, scale, avg, ab):
    _fold_average(w, n_coef, avg, ab)
    s = scale[0]
    if s != 1.0:
        for j in range(n_coef):
            w[j] *= s
        scale[0] = 1.0


_EXP_BITS = np.int64(0x7FF0000000000000)  # a float64 whose exponent bits are all set is NaN or inf


@_jit
def _not_finite(x, buf, bits):
    """NaN or inf, by the exponent bits of ``x`` (``buf``: a float64 scratch of one value, ``bits``
    its int64 view). math.isfinite of a value computed under this module's fast-math flags taken
    together was folded away by LLVM (measured: NaN passed)."""
    buf[0] = x
    return (bits[0] & _EXP_BITS) == _EXP_BITS


CSR_SPLIT_DOT_FROM = 16  # stored values a row from which _csr_row_dot keeps four sums


@_jit_inline
def _csr_row_dot(W, k, indices, data, lo, hi):
    """``sum(W[k, indices[jj]] * data[jj] for jj in lo..hi)`` in four running sums: one sum's
    additions wait for each other (a floating add's latency each), and the compiler does not
    split a sum over gathered values itself; four let the loads and additions overlap (50
    values a row: 135 -> 50 ns in L1, 141 -> 78 ns with the coefficients in L3; docs/design.md).
    Rows of fewer than ``CSR_SPLIT_DOT_FROM`` values keep one sum (little to overlap there).
    Inlined: as a call it made the flights sets' kernel 46 -> 54 ns a sample."""
    a0 = 0.0
    if hi - lo < CSR_SPLIT_DOT_FROM:
        for jj in range(lo, hi):
            a0 += W[k, indices[jj]] * data[jj]
        return a0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    jj = lo
    while jj + 3 < hi:
        a0 += W[k, indices[jj]] * data[jj]
        a1 += W[k, indices[jj + 1]] * data[jj + 1]
        a2 += W[k, indices[jj + 2]] * data[jj + 2]
        a3 += W[k, indices[jj + 3]] * data[jj + 3]
        jj += 4
    while jj < hi:
        a0 += W[k, indices[jj]] * data[jj]
        jj += 1
    return (a0 + a1) + (a2 + a3)


class SGDSettings(NamedTuple):
    """What ``sgd_chunk`` trains with: the model, its loss, penalty and schedule, what the call
    reports, and how it merges received states.  Fixed for a task (``eta0`` changes between
    epochs under the 'adaptive' schedule: a new tuple then)."""

    is_clf: bool  # classification: targets are class codes, turned into +-1 per output
    n_out: int  # K: outputs (one-vs-rest problems)
    n_features: int  # d
    loss: int  # loss code (``_options.LOSSES``)
    lparam: float  # the loss's threshold or epsilon
    penalty: int  # NO_PENALTY, L2, L1, ELASTICNET
    alpha: float
    l1_ratio: float
    fit_intercept: bool
    lr: int  # schedule code (``_options.LEARNING_RATES``)
    eta0: float
    power_t: float
    opt_init: float  # t0, the 'optimal' schedule's offset (``optimal_init``)
    t_scale: float  # the schedule's count advances this much per sample (see ``sgd_chunk``)
    average: int  # averaged SGD from this sample on (0: off)
    track_loss: bool  # sum the loss into ``stats[STAT_LOSS]``
    parzen: bool  # merge only the slots that pass the Parzen-window test (else every fresh slot)
    pairwise: bool  # accepted slots are left holding the sender's share of the change
    evidence_units: bool  # slots and shares hold coefficients times t0 + t


class SGDState(NamedTuple):
    """One task's training state, changed in place by ``sgd_chunk`` and carried between calls."""

    w: np.ndarray  # (K * d + K,): coefficients (scaled by ``scale[0]``), then intercepts
    scale: np.ndarray  # (1,) float64
    q: np.ndarray  # (K, d): the L1 penalty applied to each coefficient so far ((1, 1) without L1)
    u: np.ndarray  # (1,) float64: the cumulative L1 penalty
    t: np.ndarray  # (1,) float64: the sample counter (1-based)
    avg: np.ndarray  # the shape of ``w``: the average of the iterates (averaged SGD)
    ab: np.ndarray  # (2,) float64: the average's pending ``[A, B]`` (``_fold_average``)


@_jit
def sgd_chunk(rows, walk, settings, state, inbox, stats, check_input):
    """Run per-sample SGD over the row groups of ``walk``, in place on ``state.w``.

    The arguments are groups (named tuples): ``rows`` (``Rows``: the shard), ``walk``
    (``Walk``), ``settings`` (``SGDSettings``: model, loss, penalty, schedule, what to report,
    how to merge), ``state`` (``SGDState``), ``inbox`` (``Inbox``: the receive slots and the
    merge's scratch); then the ``stats`` array and the ``check_input`` flag.

    Group ``g`` is rows ``gstart[first + g]`` to ``gstop[first + g]`` (a few contiguous rows;
    the epoch's random order is the order of the groups).  Before the first group, the state is
    saved; after ``merge_after`` groups (the first mini-batch), every fresh receive slot is
    tested with the Parzen window (``||w_half - s||^2 < ||w - s||^2``, or accepted when
    ``parzen`` is false) and the accepted ones are averaged into the state.  With ``pairwise``,
    each accepted slot then holds what the state gained from it (``slot_reply[s]`` set): its
    sender subtracts that, and the sum of the two states is unchanged (docs/design.md).  With
    ``evidence_units``, slots and shares hold coefficients times ``t0 + t`` (the 'optimal'
    schedule's normalization at the moment of the merge), intercepts as they are.

    ``stats`` accumulates: [0] loss sum (when ``track_loss``), [1] samples, [2] merged, [3] rejected,
    [4] non-finite flag.  With ``check_input`` (a task's first epoch, which visits every row), a
    non-finite prediction sets the flag and ends the call at once: NaN or inf in a row always
    makes its prediction non-finite (0 * inf is NaN), and the caller then tells bad input from
    divergence by checking the rows (no separate pass over the data before training).  ``u``
    (1,) and ``t`` (1,) are the cumulative L1 penalty and the sample counter, carried between
    calls; the schedule reads it as ``1 + t_scale (t - 1)`` and the 'optimal' offset as
    ``t_scale t0`` (``t_scale`` 1: the task's own samples, scikit-learn's schedule; the number of
    tasks P: the samples of the whole fit, ``dask-asgd.schedule: fit``, where a task's 'optimal'
    step is scikit-learn's at its own count over P, ``1 / (alpha P (t0 + t - 1))``).  With
    ``average`` > 0 (scikit-learn's ``average=``: averaged SGD from sample ``average`` on),
    ``avg`` (the shape of ``w``) and ``ab`` carry the average of the iterates (``_fold_average``),
    carried between calls like ``scale``.
    """
    dense, X, data, indices, indptr, y, sw, has_sw = rows
    gstart, gstop, first, n_groups, merge_after = walk
    is_clf = settings.is_clf
    loss = settings.loss
    lparam = settings.lparam
    penalty = settings.penalty
    alpha = settings.alpha
    l1_ratio = settings.l1_ratio
    fit_intercept = settings.fit_intercept
    lr = settings.lr
    eta0 = settings.eta0
    power_t = settings.power_t
    opt_init = settings.opt_init
    t_scale = settings.t_scale
    average = settings.average
    track_loss = settings.track_loss
    w = state.w
    scale = state.scale
    q = state.q
    u = state.u
    t = state.t
    avg = state.avg
    ab = state.ab
    K = settings.n_out
    d = settings.n_features
    n_coef = K * d
    W = w[:n_coef].reshape((K, d))
    b = w[n_coef:]
    intercept_decay = 1.0 if dense else SPARSE_INTERCEPT_DECAY
    sched_init = t_scale * opt_init  # the 'optimal' offset in the schedule's count (t_scale t0)
    l2 = (1.0 - l1_ratio) * alpha if (penalty == L2 or penalty == ELASTICNET) else 0.0
    use_l1 = penalty == L1 or penalty == ELASTICNET
    n_slots = inbox.slot_fresh.shape[0]
    pbuf = np.empty(1)
    pbits = pbuf.view(np.int64)
    averaging = average > 0
    AW = avg[:n_coef].reshape((K, d))
    merging = False
    for s in range(n_slots):
        if inbox.slot_fresh[s]:
            merging = True
    if merging:
        _materialize(w, n_coef, scale, avg, ab)
        inbox.prev[:] = w
    line = max(1, 64 // X.itemsize)  # values per cache line
    for gi in range(n_groups):
        g_hi = gstop[first + gi]
        next_lo = gstart[first + gi + 1] if gi + 1 < n_groups else -1
        for i in range(gstart[first + gi], g_hi):
            if dense and PREFETCH_ROWS > 0:
                r = i + PREFETCH_ROWS  # the row trained on PREFETCH_ROWS rows from now
                if r >= g_hi:
                    r = next_lo + (r - g_hi) if next_lo >= 0 else -1
                if 0 <= r < X.shape[0]:
                    for c in range(0, d, line):
                        _prefetch(X, r, c)
            yi = y[i]
            wi = sw[i] if has_sw else 1.0
            eta = learning_rate_at(lr, eta0, power_t, alpha, sched_init, 1.0 + t_scale * (t[0] - 1.0))
            sc = scale[0]
            zero = False
            # L2 shrink of all coefficients through the scale (predictions use the old scale)
            if l2 > 0.0:
                f = 1.0 - eta * l2
                if f <= 0.0:
                    # eta * alpha too large: the shrink sets the coefficients to zero
                    # (each row after its prediction, as scikit-learn)
                    zero = True
                    _fold_average(w, n_coef, avg, ab)  # the average keeps the old coefficients
                    scale[0] = 1.0
                else:
                    scale[0] = sc * f
            nsc = scale[0]
            for k in range(K):
                acc_p = 0.0
                if dense:
                    for j in range(d):
                        acc_p += W[k, j] * X[i, j]
                else:
                    acc_p = _csr_row_dot(W, k, indices, data, indptr[i], indptr[i + 1])
                p = acc_p * sc + b[k]
                if check_input and _not_finite(p, pbuf, pbits):
                    stats[STAT_NOT_FINITE] = 1.0
                    return
                if zero:
                    W[k, :] = 0.0
                yk = _target(is_clf, K, yi, k)
                if track_loss:
                    stats[STAT_LOSS] += loss_value(loss, lparam, yk, p) * wi
                g = loss_gradient(loss, lparam, yk, p)
                if g < -MAX_DLOSS:
                    g = -MAX_DLOSS
                elif g > MAX_DLOSS:
                    g = MAX_DLOSS
                upd = -eta * g * wi
                if upd != 0.0:
                    c = upd / nsc
                    ca = -c * ab[0]  # the average's share of the step (0 before averaging starts)
                    if dense:
                        for j in range(d):
                            W[k, j] += c * X[i, j]
                        if ca != 0.0:
                            for j in range(d):
                                AW[k, j] += ca * X[i, j]
                    elif ca != 0.0:  # one walk over the row's values for both arrays
                        for jj in range(indptr[i], indptr[i + 1]):
                            jx = indices[jj]
                            v = data[jj]
                            W[k, jx] += c * v
                            AW[k, jx] += ca * v
                    else:
                        for jj in range(indptr[i], indptr[i + 1]):
                            W[k, indices[jj]] += c * data[jj]
                    if fit_intercept:
                        b[k] += upd * intercept_decay
            if averaging:
                # scikit-learn's order: after the step, before the L1 clip; the update of avg
                # happened with W's above (c * A); A and B take this sample's weight 1 / m
                m = t[0] - average + 1.0
                if m >= 1.0:
                    mu = 1.0 / m
                    if m > 1.0:
                        ab[1] /= 1.0 - mu
                    ab[0] += mu * ab[1] * nsc
                    for k in range(K):
                        avg[n_coef + k] += (b[k] - avg[n_coef + k]) * mu
            if nsc < 1e-9:
                _materialize(w, n_coef, scale, avg, ab)
                nsc = 1.0
            if use_l1:
                u[0] += l1_ratio * eta * alpha
                for k in range(K):
                    if dense:
                        for j in range(d):
                            _l1_clip(W, q, nsc, k, j, u[0])
                    else:
                        for jj in range(indptr[i], indptr[i + 1]):
                            _l1_clip(W, q, nsc, k, indices[jj], u[0])
            t[0] += 1.0
            stats[STAT_SAMPLES] += 1.0
        if merging and gi == min(merge_after, n_groups) - 1:
            _materialize(w, n_coef, scale, avg, ab)
            ev = (opt_init - 1.0 + t[0]) if settings.evidence_units else 1.0
            _parzen_merge(w, inbox, settings.parzen, settings.pairwise, stats, ev, n_coef)
    # divergence check, once per call
    for k in range(K):
        if not math.isfinite(b[k]):
            stats[STAT_NOT_FINITE] = 1.0
    if stats[STAT_NOT_FINITE] == 0.0:
        for j in range(n_coef):
            if not math.isfinite(w[j]):
                stats[STAT_NOT_FINITE] = 1.0
                break
    if not math.isfinite(scale[0]) or not math.isfinite(stats[STAT_LOSS]):
        stats[STAT_NOT_FINITE] = 1.0


@_jit
def _parzen_merge(w, inbox, parzen, pairwise, stats, ev=1.0, n_coef=0):
    """Merge the fresh slots of ``inbox`` (``Inbox``) whose state the local step moved toward
    (Parzen-window test).

    ``w`` is the state after the local step (``w_half``), ``inbox.prev`` the state before it. A
    slot holds ``slot_len[s]`` values for ``w[slot_lo[s]:slot_lo[s] + slot_len[s]]``.  The merged
    state is the plain average of ``w_half`` and the accepted slots, element by element (every
    fresh slot is accepted when ``parzen`` is false).  With ``pairwise``, an accepted slot is
    overwritten with its share of the change, ``(slot - w_half) / (1 + n)`` (``n`` slots accepted
    for that element), and marked in ``slot_reply``: the shares add up to the change of the
    state.  ``stats[2]`` and ``stats[3]`` count accepted and rejected slots.  ``ev`` != 1: the
    slots' first ``n_coef`` state elements arrive multiplied by ``ev``, and shares leave so.
    ``inbox.acc`` and ``inbox.cnt`` are scratch (their contents on entry do not matter).  A slot
    whose block does not lie inside ``w`` (or inside its slot) is marked read and not merged.
    """
    prev = inbox.prev
    slots = inbox.slots
    slot_lo = inbox.slot_lo
    slot_len = inbox.slot_len
    slot_fresh = inbox.slot_fresh
    slot_reply = inbox.slot_reply
    acc = inbox.acc
    cnt = inbox.cnt
    any_acc = False
    for s in range(slot_fresh.shape[0]):
        if not slot_fresh[s]:
            continue
        lo = slot_lo[s]
        n = slot_len[s]
        if lo < 0 or n <= 0 or n > slots.shape[1] or lo + n > w.shape[0]:
            slot_fresh[s] = 0  # not a block of this state (the task checks blocks before this)
            continue
        if ev != 1.0:
            for j in range(min(n, n_coef - lo)):
                slots[s, j] /= ev
        accept = True
        if parzen:
            d_half = 0.0
            d_prev = 0.0
            for j in range(n):
                v = slots[s, j]
                a = w[lo + j] - v
                c = prev[lo + j] - v
                d_half += a * a
                d_prev += c * c
            accept = d_half < d_prev
        if accept:
            if not any_acc:
                acc[:] = 0.0
                cnt[:] = 0
                any_acc = True
            for j in range(n):
                acc[lo + j] += slots[s, j]
                cnt[lo + j] += 1
            stats[STAT_MERGED] += 1.0
            if pairwise:
                slot_reply[s] = 1
        else:
            stats[STAT_REJECTED] += 1.0
        slot_fresh[s] = 0
    if any_acc and pairwise:
        for s in range(slot_reply.shape[0]):
            if slot_reply[s]:
                lo = slot_lo[s]
                for j in range(slot_len[s]):
                    slots[s, j] = (slots[s, j] - w[lo + j]) / (1.0 + cnt[lo + j])
                    if lo + j < n_coef:
                        slots[s, j] *= ev
    if any_acc:
        for j in range(w.shape[0]):
            if cnt[j] > 0:
                w[j] = (w[j] + acc[j]) / (1.0 + cnt[j])


@_jit
def penalty_value(w, n_coef, penalty, alpha, l1_ratio):
    """alpha * ((1 - l1_ratio) / 2 * ||coef||^2 + l1_ratio * ||coef||_1), as scikit-learn."""
    if penalty == NO_PENALTY:
        return 0.0
    sq = 0.0
    ab = 0.0
    for j in range(n_coef):
        sq += w[j] * w[j]
        ab += abs(w[j])
    return alpha * ((1.0 - l1_ratio) * 0.5 * sq + l1_ratio * ab)


@_jit
def int_min_max(y):
    """The smallest and the largest of the integers ``y`` (non-empty), in one pass."""
    lo = y[0]
    hi = y[0]
    for i in range(1, y.shape[0]):
        v = y[i]
        lo = min(lo, v)  # no branches: the loop vectorizes
        hi = max(hi, v)
    return lo, hi


@_jit
def int_label_offsets(y, lo, out, counts):
    """``out[i] = y[i] - lo`` as float64 and ``counts[y[i] - lo] += 1`` for integer labels, in
    one pass; returns how many rows have the same label as the row before (``needs_row_shuffle``)."""
    same = 0
    prev = y[0]
    for i in range(y.shape[0]):
        v = y[i]
        k = v - lo
        out[i] = k
        counts[k] += 1
        same += np.int64(v == prev)  # no branch: labels in random order would mispredict half
        prev = v
    return same - 1  # the first row, compared with itself


@_jit
def int_label_codes(y, lo, lut, out):
    """``out[i] = lut[y[i] - lo]`` as float64: integer labels to class codes in one pass."""
    for i in range(y.shape[0]):
        out[i] = lut[y[i] - lo]


@_jit
def code_neighbours(codes, counts):
    """For float class codes: how many rows have the same code as the row before (returned),
    and the count of each code (into ``counts``); one pass."""
    same = 0
    prev = -1.0
    for i in range(codes.shape[0]):
        c = codes[i]
        counts[int(c)] += 1
        if c == prev:
            same += 1
        prev = c
    return same


@_jit
def seeded_permutation(m, seed):
    """A random permutation of ``range(m)`` drawn from ``seed`` (Fisher-Yates on xorshift64
    draws), without the interpreter lock: the tasks of a fit draw theirs at once (numpy's
    ``Generator.permutation`` holds the lock)."""
    out = np.arange(m)
    s = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(1)  # never 0: xorshift's one bad state
    for i in range(m - 1, 0, -1):  # Fisher-Yates, xorshift64 (13, 7, 17) draws
        s ^= s << np.uint64(13)
        s ^= s >> np.uint64(7)
        s ^= s << np.uint64(17)
        j = np.int64((s >> np.uint64(11)) % np.uint64(i + 1))
        t = out[i]
        out[i] = out[j]
        out[j] = t
    return out


@_jit
def place_values(v, rows, pos, out):
    """``out[pos[j]] = v[rows[j]]``: a task's labels or weights placed as ``shuffle_rows`` places
    its rows, without the interpreter lock."""
    for j in range(rows.shape[0]):
        out[pos[j]] = v[rows[j]]


@_jit
def lag1_sums(y):
    """``(den, num)``: the sum of squares of ``y`` about its mean and the sum of the products of
    neighbours about it (lag-1 autocorrelation = num / den), in nogil passes on the calling
    thread.  Not numpy's dot products: a BLAS call wakes the BLAS library's own threads, which
    then spin on a core for about 0.1 s (docs/design.md), while the fit's tasks want the cores."""
    n = y.shape[0]
    m = 0.0
    for i in range(n):
        m += y[i]
    m /= n
    prev = y[0] - m
    den = prev * prev
    num = 0.0
    for i in range(1, n):
        c = y[i] - m
        den += c * c
        num += c * prev
        prev = c
    return den, num


@_jit
def linear_scores(dense, X, data, indices, indptr, coef, b, out):
    """``out[i, k] = X[i] . coef[k] + b[k]`` for dense ``X`` or CSR ``(data, indices, indptr)``,
    on the calling thread (a task's held-out score; no BLAS threads, see ``lag1_sums``)."""
    K = out.shape[1]
    for i in range(out.shape[0]):
        for k in range(K):
            s = b[k]
            if dense:
                for j in range(X.shape[1]):
                    s += coef[k, j] * X[i, j]
            else:
                s += _csr_row_dot(coef, k, indices, data, indptr[i], indptr[i + 1])
            out[i, k] = s


@_jit
def sum_is_finite(v):
    """Whether the sum of ``v`` (1-D) is finite: true for finite values unless the sum overflows.
    A fast first test of a task's rows for NaN / inf that releases the GIL (numpy's sum, which
    scikit-learn's check uses, holds it: 16 tasks of one process checked their rows one after the
    other, docs/design.md)."""
    s = 0.0
    for i in range(v.shape[0]):
        s += v[i]
    buf = np.empty(1)
    return not _not_finite(s, buf, buf.view(np.int64))


@intrinsic
def _prefetch_write(typingctx, arr, i):
    """``llvm.prefetch`` for writing of the 1-d ``arr[i]``; no effect on the values."""
    return types.void(arr, i), _prefetch_codegen(1)


# the scatter copies below write each row to a random place: they ask for the place of the row
# SCATTER_AHEAD rows ahead (and for its offset twice as far ahead, CSR): a task's copy of half
# the flights rows 8.6-9.5 -> 5.4-6.3 ms, of 500,000 dense rows of 100 96 -> 89-93 ms (docs/design.md)
SCATTER_AHEAD = 8


@_jit
def scatter_dense_rows(X, rows, pos, out):
    """``out[pos[j]] = X[rows[j]]``: a task's rows of a shared array, read in ascending order
    (``rows`` sorted) and written to their random places (``pos``, a permutation).  Reading in
    order and writing at random is twice as fast as the reverse on CSR rows (docs/design.md)."""
    d = X.shape[1]
    m = rows.shape[0]
    line = max(1, 64 // out.itemsize)
    flat = out.reshape(-1)
    for j in range(m):
        if j + SCATTER_AHEAD < m:
            base = pos[j + SCATTER_AHEAD] * d
            for c in range(0, d, line):
                _prefetch_write(flat, base + c)
        r = rows[j]
        o = pos[j]
        for k in range(d):
            out[o, k] = X[r, k]


@_jit
def csr_lengths_at(indptr, rows, pos, out_indptr):
    """``out_indptr`` of the CSR rows ``rows`` placed at ``pos``; returns their stored values."""
    m = rows.shape[0]
    out_indptr[0] = 0
    for j in range(m):
        r = rows[j]
        out_indptr[pos[j] + 1] = indptr[r + 1] - indptr[r]
    for i in range(m):
        out_indptr[i + 1] += out_indptr[i]
    return out_indptr[m]


@_jit
def scatter_csr_rows(data, indices, indptr, rows, pos, out_data, out_indices, out_indptr):
    """CSR row ``rows[j]`` into row ``pos[j]`` of ``out_*`` (``out_indptr`` from ``csr_lengths_at``)."""
    m = rows.shape[0]
    for j in range(m):
        if j + 2 * SCATTER_AHEAD < m:
            _prefetch_write(out_indptr, pos[j + 2 * SCATTER_AHEAD])
        if j + SCATTER_AHEAD < m:
            ahead = out_indptr[pos[j + SCATTER_AHEAD]]
            if ahead < out_data.shape[0]:
                _prefetch_write(out_data, ahead)
                _prefetch_write(out_indices, ahead)
        r = rows[j]
        a = indptr[r]
        o = out_indptr[pos[j]]
        for k in range(indptr[r + 1] - a):
            out_data[o + k] = data[a + k]
            out_indices[o + k] = indices[a + k]
