"""The long-running training task on a worker: kernel chunks, exchange, counters.

``ShardTrainer`` is the whole SGD of one shard without any Dask in it (epochs, stopping rules,
the kernel calls).  ``train_shard`` is the Dask task around it: it secedes, subscribes to the
fit's topic, and between kernel chunks publishes its state, hands received states to the kernel
and reports its metrics to the scheduler plugin.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import math
import threading
import time
import types

import numpy as np
import scipy.sparse as sp

from . import _kernels as K
from ._options import TrainSpec


GROUP_ROWS = 128  # rows visited together: the unit of the per-epoch random order (docs/design.md)
TAKE_OVER_MIN_SECONDS = 0.001  # a task takes over part of another's epoch only if at least this long
SETTLE_WAIT_SECONDS = 0.5  # merge="pairwise": the longest the scheduler holds a finished task's question
_NO_LOCK = contextlib.nullcontext()


class ShardTrainer:
    """Plain SGD over one shard, driven chunk by chunk.

    ``sw`` may be None (all weights 1).  ``X`` (dense or CSR), ``y`` and ``sw`` may be larger
    than the shard: ``ranges`` lists the
    ``[a, b)`` row ranges that belong to it (default: all rows), so an in-process shard is a set
    of views of the user's array and nothing is copied.  Each epoch visits groups of
    ``GROUP_ROWS`` contiguous rows in a new random order (with ``shuffle``): close to a per-row
    shuffle for SGD, at the memory speed of a sequential walk.
    """

    def __init__(self, X, y, sw, spec: TrainSpec, seed: int, n_buffers: int = 0, ranges=None):
        self.spec = spec
        self.rng = np.random.default_rng(seed)
        if ranges is None:
            ranges = [(0, X.shape[0])]
        ranges = [(int(a), int(b)) for a, b in ranges if b > a]
        self.X_val = self.y_val = self.sw_val = None
        if spec.early_stopping:
            # the last rows of the (already randomly placed) shard are held out
            n = sum(b - a for a, b in ranges)
            n_val = max(1, int(math.ceil(spec.validation_fraction * n)))
            if n - n_val < 1:
                raise ValueError("The training shard is too small to hold out a validation set.")
            val_rows, keep = [], []
            left = n_val
            for a, b in reversed(ranges):
                take = min(left, b - a)
                if take:
                    val_rows.append(np.arange(b - take, b))
                left -= take
                if b - take > a:
                    keep.append((a, b - take))
            ranges = keep[::-1]
            idx = np.concatenate(val_rows)
            self.X_val, self.y_val = X[idx], y[idx]
            check_finite(self.X_val.data if sp.issparse(self.X_val) else self.X_val)  # never trained on
            self.sw_val = np.ones(len(idx)) if sw is None else sw[idx]
            # the unused arguments of ``linear_scores`` (one compiled kernel for each layout)
            self._no_rows = np.zeros((1, 1), dtype=self.X_val.dtype)
            self._no_values = np.zeros(1, dtype=self.X_val.dtype)
            self._no_index = np.zeros(2, dtype=np.int32)
            if sp.issparse(self.X_val):
                self.X_val = sp.csr_matrix(self.X_val)
        self.dense = not sp.issparse(X)
        dtype = X.dtype
        if self.dense:
            self.X = np.ascontiguousarray(X)
            self.data = np.zeros(1, dtype=dtype)
            self.indices = np.zeros(1, dtype=np.int32)
            self.indptr = np.zeros(2, dtype=np.int32)
        else:
            X = sp.csr_matrix(X)  # no copy for CSR input; the kernel needs no sorted indices
            self.X = np.zeros((1, 1), dtype=dtype)
            self.data = X.data
            self.indices = X.indices
            self.indptr = X.indptr
        self.y = np.ascontiguousarray(y, dtype=np.float64)
        self.has_sw = sw is not None
        self.sw = np.ascontiguousarray(sw, dtype=np.float64) if self.has_sw else np.ones(1)
        self.n_rows = sum(b - a for a, b in ranges)
        k, d = spec.n_outputs, spec.n_features
        self.n_coef = k * d
        size = k * d + k
        if spec.init_state is not None:
            self.w = np.array(spec.init_state, dtype=dtype).ravel().copy()
        else:
            self.w = np.zeros(size, dtype=dtype)
        self.scale = np.ones(1)
        # averaged SGD (spec.average > 0): the average of the iterates, the shape of w
        self.avg = np.zeros(size, dtype=dtype)
        if spec.average and spec.init_avg is not None:
            self.avg[:] = np.asarray(spec.init_avg, dtype=dtype).ravel()
        self.ab = np.array([0.0, 1.0])
        self.q = np.zeros((k, d), dtype=dtype) if spec.penalty in (2, 3) else np.zeros((1, 1), dtype=dtype)
        self.u = np.zeros(1)
        self.t = np.array([float(spec.init_t)])
        self.stats = np.zeros(5)
        self.check_input = True  # until the first epoch has visited every row
        # another task trained on the end of this task's first epoch (``take_over``), so this
        # task's own pass did not see every row: a non-finite value later is looked for in the rows
        self.first_epoch_shared = False
        # the per-sample loss costs a log/exp: only when a stopping rule or the log reads it
        self.track_loss = bool(spec.verbose) or (spec.tol is not None and not spec.early_stopping)
        self.eta0 = spec.eta0
        self.opt_init = K.optimal_init(spec.loss, spec.loss_param, spec.alpha) if spec.learning_rate == 1 else 0.0
        # row groups and mini-batches (a mini-batch is ``gpb`` groups)
        self.ranges = ranges
        self.gpb = max(1, int(spec.batch_size) // GROUP_ROWS)
        self._set_groups(0)
        self.pos = 0  # next mini-batch in this epoch
        self.epoch = 0
        self.epoch_loss = 0.0
        self.epoch_samples = 0.0
        self.best = math.inf
        self.no_improve = 0
        self.done = self.n_rows == 0 or spec.max_iter == 0
        self.reason = "empty" if self.n_rows == 0 else ""
        # receive slots
        nb = max(1, n_buffers)
        self.slots = np.zeros((nb, size), dtype=dtype)
        self.slot_lo = np.zeros(nb, dtype=np.int64)
        self.slot_len = np.zeros(nb, dtype=np.int64)
        self.slot_fresh = np.zeros(nb, dtype=np.int8)
        self.slot_reply = np.zeros(nb, dtype=np.int8)  # merge="pairwise": share to return
        self.slot_src = np.full(nb, -1, dtype=np.int64)  # the task each slot's state came from
        self.prev = np.zeros(size, dtype=dtype)
        self.acc = np.zeros(size, dtype=dtype)
        self.cnt = np.zeros(size, dtype=np.int32)
        self.batches_done = 0
        self.samples_done = 0
        self.taken_over = 0  # samples of other tasks' epochs trained by this one (``take_over``)
        # shared with the other tasks of the fit in this process (``_SHARING``, ``_claim_tail``):
        # they may take over the end of this task's epoch; ``claimed``: where the kernel call
        # under way ends
        self.lock = None
        self.claimed = 0
        self.helped = False
        self.merged = 0
        self.rejected = 0
        self.history = []  # per-epoch objective
        self._new_epoch_order()

    # ------------------------------------------------------------------ schedule
    def _set_groups(self, offset: int):
        """Cut every range into groups of GROUP_ROWS rows, the first one ``offset`` rows short."""
        g = GROUP_ROWS
        starts, stops = [], []
        for a, b in self.ranges:
            st = np.arange(a + offset, b, g, dtype=np.int64)
            if offset:  # the short first group
                st = np.concatenate([[a], st])
            starts.append(st)
            stops.append(np.append(st[1:], b) if len(st) else st)
        self.gstart = np.concatenate(starts) if starts else np.zeros(0, np.int64)
        self.gstop = np.concatenate(stops) if stops else np.zeros(0, np.int64)
        self.n_groups = len(self.gstart)
        self.n_batches = -(-self.n_groups // self.gpb)

    def _new_epoch_order(self):
        """The epoch's order: groups with boundaries shifted at random, visited in random order
        (rows that share a group change from epoch to epoch).  Under ``lock``: another task may
        be reading the order to take over the end of the epoch (``epoch_view``)."""
        with self.lock or _NO_LOCK:
            if self.spec.shuffle and self.n_rows > 1:
                self._set_groups(int(self.rng.integers(GROUP_ROWS)))
                perm = self.rng.permutation(self.n_groups)
                self.ostart, self.ostop = self.gstart[perm], self.gstop[perm]
            else:
                self.ostart, self.ostop = self.gstart, self.gstop
            self.limit = self.n_batches  # this task's own mini-batches of the epoch end here
            self.claimed = 0

    @property
    def evidence_units(self) -> bool:
        return bool(self.spec.pairwise and self.spec.evidence_units and self.spec.learning_rate == 1)

    def evidence(self) -> float:
        """merge="pairwise" with the 'optimal' schedule: the factor between this task's
        coefficients and the sum of its samples' updates.  The schedule and the L2 shrink make
        coefficients ~ (sum of updates) / (t0 + t): a task that has seen more samples holds
        smaller numbers for the same evidence.  States and shares travel multiplied by it (in
        units of evidence) and are divided by the receiver's own; 1 for the other schedules."""
        if self.evidence_units:
            return self.opt_init - 1.0 + self.t[0]
        return 1.0

    def _coefs(self, lo: int, n: int) -> int:
        """How many of the ``n`` values from ``lo`` are coefficients (the rest: intercepts,
        which the L2 shrink does not touch)."""
        return max(0, min(lo + n, self.n_coef) - lo)

    def to_shared(self, lo: int, values: np.ndarray) -> np.ndarray:
        """A block of this state (or a share) as it travels: coefficients times ``evidence()``."""
        f = self.evidence()
        if f != 1.0:
            values[: self._coefs(lo, values.shape[0])] *= f
        return values

    def put_slot(self, s: int, lo: int, values: np.ndarray, src: int = -1) -> None:
        """A received block (as it travelled: ``to_shared``; the kernel converts it when it
        merges) into receive slot ``s``."""
        n = values.shape[0]
        self.slots[s, :n] = values
        self.slot_lo[s] = lo
        self.slot_len[s] = n
        self.slot_fresh[s] = 1
        self.slot_src[s] = src

    def take_replies(self) -> list:
        """merge="pairwise": ``[(src, lo, share)]`` of the slots merged since the last call, the
        part of this state's change each sender must subtract (copies)."""
        out = []
        for s in np.flatnonzero(self.slot_reply):
            n = int(self.slot_len[s])
            lo = int(self.slot_lo[s])
            out.append((int(self.slot_src[s]), lo, self.slots[s, :n].copy()))  # as they travel
            self.slot_reply[s] = 0
        return out

    def subtract(self, lo: int, values: np.ndarray) -> None:
        """Subtract a share (as it travelled: ``to_shared``) from ``w[lo:lo + len(values)]``."""
        n = values.shape[0]
        c = self._coefs(lo, n)
        self._fold_average()
        if c:
            self.w[lo:lo + c] -= values[:c] / (self.scale[0] * self.evidence())
        if c < n:
            self.w[lo + c:lo + n] -= values[c:]

    def warm_up(self) -> None:
        """Compile the kernel for this shard's types (a call over no rows; changes nothing)."""
        if not self.done:
            self._kernel(0, 0)
            self.stats[:] = 0.0
            if self.X_val is not None:  # and the held-out score's kernel (no rows)
                k = self.spec.n_outputs
                self._val_scores(self.w[: self.n_coef].reshape(k, -1), self.w[self.n_coef:], 0)

    def _kernel(self, first_group: int, n_groups: int, src=None) -> None:
        """``n_groups`` groups of the epoch's order from ``first_group`` on, into this task's
        state; the rows and their order are ``src``'s (another trainer's, ``take_over``) if given."""
        sp_ = self.spec
        d = self if src is None else src
        self.stats[:] = 0.0
        K.sgd_chunk(
            d.dense, d.X, d.data, d.indices, d.indptr, d.y, d.sw, d.has_sw,
            self.w, self.scale, self.q, self.u, self.t,
            d.ostart, d.ostop, first_group, n_groups, d.gpb,
            sp_.is_classifier, sp_.n_outputs, sp_.n_features,
            sp_.loss, sp_.loss_param, sp_.penalty, sp_.alpha, sp_.l1_ratio, sp_.fit_intercept,
            sp_.learning_rate, self.eta0, sp_.power_t, self.opt_init, float(sp_.t_scale),
            self.slots, self.slot_lo, self.slot_len, self.slot_fresh, sp_.parzen,
            self.prev, self.acc, self.cnt, self.track_loss, self.stats, sp_.pairwise, self.slot_reply,
            self.evidence_units, d.check_input, int(sp_.average), self.avg, self.ab,
        )
        if self.stats[4] != 0.0:
            if d.check_input or d.first_epoch_shared:  # NaN / inf in the rows (scikit-learn's error)
                d.assert_input_finite()  # else divergence
            raise FloatingPointError(
                "Floating-point under-/overflow occurred at epoch #%d. Scaling input data "
                "with StandardScaler or MinMaxScaler might help. The learning rate "
                "(learning_rate=%r, eta0=%g) may be too large."
                % (d.epoch + 1, _LR_NAMES[sp_.learning_rate], sp_.eta0)
            )

    def run(self, n_batches: int) -> None:
        """Run up to ``n_batches`` mini-batches (never past the end of the epoch, or past the part
        of it that another task took over)."""
        if self.done:
            return
        with self.lock or _NO_LOCK:
            n_batches = int(max(0, min(n_batches, self.limit - self.pos)))
            self.claimed = self.pos + n_batches
        if n_batches:
            st = self._batches(self.pos, n_batches)
            self.pos += n_batches
            self.epoch_loss += st[0]
            self.epoch_samples += st[1]
        if self.pos >= self.limit:
            self._end_epoch()

    def epoch_view(self):
        """What another task needs to train on part of this epoch (``take_over``): the rows and
        the epoch's order, taken under ``lock`` (this task replaces its order at its next epoch)."""
        return types.SimpleNamespace(
            dense=self.dense, X=self.X, data=self.data, indices=self.indices, indptr=self.indptr,
            y=self.y, sw=self.sw, has_sw=self.has_sw, ostart=self.ostart, ostop=self.ostop,
            gpb=self.gpb, n_groups=self.n_groups, check_input=self.check_input, epoch=self.epoch,
            first_epoch_shared=False, assert_input_finite=self.assert_input_finite)

    def take_over(self, view, first: int, n_batches: int) -> None:
        """Train this task's state on mini-batches ``[first, first + n_batches)`` of another
        task's epoch (``view``, its ``epoch_view``): the end of it, which that slower task of the
        fit in this process gave up (``_claim_tail``).  Every row of its epoch is still visited
        once, by one of the two."""
        self.taken_over += int(self._batches(first, n_batches, src=view)[1])

    def _batches(self, first: int, n_batches: int, src=None) -> np.ndarray:
        """Mini-batches ``[first, first + n_batches)`` of the epoch's order (``src``'s, if given)
        into this task's state, counted; returns the kernel's stats."""
        d = self if src is None else src
        g0 = first * d.gpb
        self._kernel(g0, min(n_batches * d.gpb, d.n_groups - g0), src=src)
        st = self.stats
        self.batches_done += n_batches
        self.samples_done += int(st[1])
        self.merged += int(st[2])
        self.rejected += int(st[3])
        return st

    def assert_input_finite(self) -> None:
        """scikit-learn's error if this shard's training rows hold NaN or inf.  The first epoch
        checks every row as it trains on it (``check_input``); this pass is for the case where it
        found something, or stopped early (``max_time``)."""
        for a, b in self.ranges:
            values = self.data[self.indptr[a]: self.indptr[b]] if not self.dense else self.X[a:b]
            check_finite(values)

    def _end_epoch(self):
        sp_ = self.spec
        self.epoch += 1
        self.check_input = False  # every row has been visited
        w = self.state()
        pen = K.penalty_value(w, self.n_coef, sp_.penalty, sp_.alpha, sp_.l1_ratio)
        # per one-vs-rest problem, as scikit-learn's tol applies to each binary problem's objective
        objective = (self.epoch_loss / max(self.epoch_samples, 1.0) + pen) / sp_.n_outputs
        self.history.append(objective)
        if sp_.verbose:
            print(f"-- Epoch {self.epoch}: avg. loss {objective:.6f}, T: {int(self.t[0])}")
        self.epoch_loss = 0.0
        self.epoch_samples = 0.0
        self.pos = 0
        if sp_.tol is not None:
            if sp_.early_stopping:
                score = self.validation_score(self.model())
                improved = not (score < -self.best + sp_.tol)
                if score > -self.best:
                    self.best = -score
            else:
                improved = not (objective > self.best - sp_.tol)
                if objective < self.best:
                    self.best = objective
            self.no_improve = 0 if improved else self.no_improve + 1
            if self.no_improve >= sp_.n_iter_no_change:
                if sp_.learning_rate == 3 and self.eta0 > 1e-6:
                    self.eta0 /= 5.0
                    self.no_improve = 0
                else:
                    self.done = True
                    self.reason = "converged"
        if self.epoch >= sp_.max_iter and not self.done:
            self.done = True
            self.reason = "max_iter"
        if not self.done:  # the next epoch's order (none after the last: nobody reads it)
            self._new_epoch_order()

    def validation_score(self, w) -> float:
        sp_ = self.spec
        k, d = sp_.n_outputs, sp_.n_features
        coef = w[: k * d].reshape(k, d)
        scores = self._val_scores(coef, w[k * d:], self.X_val.shape[0])
        y = self.y_val
        if sp_.is_classifier:
            pred = (scores[:, 0] > 0).astype(np.float64) if k == 1 else scores.argmax(axis=1).astype(np.float64)
            return float(np.average(pred == y, weights=self.sw_val))
        p = scores[:, 0]
        u = np.sum(self.sw_val * (y - p) ** 2)
        v = np.sum(self.sw_val * (y - np.average(y, weights=self.sw_val)) ** 2)
        return 1.0 - u / v if v > 0 else 0.0

    def _val_scores(self, coef, b, n: int) -> np.ndarray:
        """The held-out rows' decision values (the first ``n`` rows), on this thread: numpy's
        ``X @ coef.T`` would wake the BLAS library's threads (``K.linear_scores``)."""
        X = self.X_val
        out = np.empty((n, len(b)))
        if sp.issparse(X):
            K.linear_scores(False, self._no_rows, X.data, X.indices, X.indptr, coef, b, out)
        else:
            K.linear_scores(True, X, self._no_values, self._no_index, self._no_index, coef, b, out)
        return out

    def state(self) -> np.ndarray:
        """A materialized copy of the state (true coefficients, intercepts)."""
        w = self.w.copy()
        w[: self.n_coef] *= self.scale[0]
        return w

    @property
    def averaged(self) -> bool:
        """Whether the model is the average of the iterates (scikit-learn: once ``average``
        samples have been seen)."""
        return bool(self.spec.average) and self.t[0] - 1.0 >= self.spec.average

    def model(self) -> np.ndarray:
        """The task's model (a copy): the average of its iterates when averaging, else the state."""
        if not self.averaged:
            return self.state()
        m = self.avg.copy()
        K._fold_average(self.w, self.n_coef, m, self.ab.copy())  # into the copy; w is only read
        return m

    def _fold_average(self) -> None:
        """Write the average out (``_kernels._fold_average``) before ``w`` changes other than by
        an SGD step."""
        K._fold_average(self.w, self.n_coef, self.avg, self.ab)

    def block(self, index: int, n_blocks: int):
        """``(lo, values)`` of block ``index`` of ``n_blocks`` of the state (a copy)."""
        size = self.w.shape[0]
        lo = size * index // n_blocks
        hi = size * (index + 1) // n_blocks
        vals = self.w[lo:hi].copy()
        if lo < self.n_coef:
            vals[: min(hi, self.n_coef) - lo] *= self.scale[0]
        return lo, vals


_LR_NAMES = {0: "constant", 1: "optimal", 2: "invscaling", 3: "adaptive"}


# ---------------------------------------------------------------------------- the Dask task
# The training tasks of a fit that run in one process (the threads of an in-process cluster, or
# of one worker): a task done with its epochs takes over the end of a slower task's epoch, so the
# fit does not wait for the slowest core (docs/design.md, "Sharing the end of an epoch").
_SHARING: dict = {}  # fit id -> (lock, {task: ShardTrainer})
_SHARING_GUARD = threading.Lock()


def _join_sharing(fit: str, task_id: int, trainer: ShardTrainer) -> None:
    with _SHARING_GUARD:
        lock, trainers = _SHARING.setdefault(fit, (threading.Lock(), {}))
        trainers[task_id] = trainer
    trainer.lock = lock


def _leave_sharing(fit: str, task_id: int) -> None:
    with _SHARING_GUARD:
        entry = _SHARING.get(fit)
        if entry is not None:
            entry[1].pop(task_id, None)
            if not entry[1]:
                del _SHARING[fit]


def _claim_tail(trainers: dict, task_id: int, cap: int, least: int):
    """Under the fit's lock: the end of the current epoch of the other task with most of it left
    (up to ``cap`` mini-batches, at most half of what it has not claimed, if that is ``least``
    or more), given up by that task.  Returns ``(view, first, n)`` (``ShardTrainer.epoch_view``;
    mini-batches ``[first, first + n)``) or None, and whether another task has epochs to come."""
    src, left, more = None, 0, False
    for k, v in trainers.items():
        if k == task_id or v.done:
            continue
        more = more or v.epoch < v.spec.max_iter - 1  # a next epoch to share
        if v.limit - v.claimed > left:
            src, left = v, v.limit - v.claimed
    if src is None or left < least:
        return None, more
    n = min(cap, left // 2)
    src.limit -= n
    src.helped = True  # shorter chunks from now on: the two end closer together
    src.first_epoch_shared |= src.check_input
    return (src.epoch_view(), src.limit, n), more


def _help_others(trainer: ShardTrainer, fit: str, task_id: int, per_batch, chunk_seconds: float,
                 deadline) -> None:
    """A task done with its epochs trains on the end of the current epoch of the other tasks of
    the fit in this process (``_claim_tail``), a quarter chunk at a time, until no task has more
    than ``TAKE_OVER_MIN_SECONDS`` left in its last epoch.  Bounded by ``deadline`` and by the
    other tasks' own progress."""
    entry = _SHARING.get(fit)
    if entry is None or not per_batch:
        return
    lock, trainers = entry
    cap = max(1, int(chunk_seconds / 4 / per_batch))
    least = max(2, int(math.ceil(TAKE_OVER_MIN_SECONDS / per_batch)))
    while deadline is None or time.monotonic() < deadline:
        with lock:
            claim, more = _claim_tail(trainers, task_id, cap, least)
        if claim is not None:
            trainer.take_over(*claim)
        elif more:
            time.sleep(TAKE_OVER_MIN_SECONDS / 2)  # a task between epochs, or near the end of one
        else:
            return


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


def check_finite(values) -> None:
    """scikit-learn's error for NaN / inf in ``values`` (X's values). A nogil sum first (numpy's,
    which scikit-learn's check uses, holds the GIL); only a sum that is not finite (NaN, inf, or
    finite values that overflow) runs scikit-learn's check."""
    from sklearn.utils import assert_all_finite

    if not K.sum_is_finite(np.ascontiguousarray(values).reshape(-1)):
        assert_all_finite(values, input_name="X")


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


def prepare_shard(X_parts, y_parts, sw_parts, classes, class_weights, is_classifier, checked=False,
                  rng=None, ranges=None, rows=None):
    """Stack a task's blocks, check them (unless the client did), and, when ``classes`` is given,
    encode the labels and fold the class weights into the sample weights.  With ``rng``, rows
    ordered by their target are shuffled once (a copy).  With ``rows`` (``_data.RowBlocks``), the
    shard is those rows of the blocks in an order drawn from ``rng`` (a copy, made by the task, in
    parallel with the others)."""
    from sklearn.utils import assert_all_finite

    X = _concat(_flat_parts(X_parts))
    y_parts = _flat_parts(y_parts)
    y = y_parts[0] if len(y_parts) == 1 else np.concatenate([np.ravel(p) for p in y_parts])
    y = np.ravel(y)
    pos = None
    if rows is not None:  # read in ascending order, placed in a random order (``rng``)
        rows = rows.rows()
        pos = K.seeded_permutation(len(rows), int(rng.integers(0, 2**32 - 1)))
        X, y = shuffle_rows(X, rows, pos), _in_order(y, rows, pos)
    # X is checked for NaN / inf by the training itself (``ShardTrainer.check_input``)
    sw = None
    if sw_parts is not None:
        sw_parts = _flat_parts(sw_parts)
        sw = sw_parts[0] if len(sw_parts) == 1 else np.concatenate([np.ravel(p) for p in sw_parts])
        sw = np.asarray(sw, dtype=np.float64).ravel()
        if rows is not None:
            sw = _in_order(sw, rows, pos)
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
        raise ValueError("y contains labels that are not in classes=%r" % (list(classes),))
    if class_weights is not None:
        cw = np.asarray(class_weights, dtype=np.float64)[codes]
        sw = cw if sw is None else sw * cw
    return codes.astype(np.float64), sw


def train_shard(task_id, X_parts, y_parts, sw_parts, spec: TrainSpec, classes=None,
                class_weights=None, checked=False, ranges=None, rows=None):
    """The long-running training task of one shard (runs seceded on its worker).

    ``ranges`` (row ranges) or ``rows`` (``_data.RowBlocks``, to gather): the shard's rows in the
    (single, shared) arrays of an in-process cluster.
    """
    from distributed import get_worker, secede

    from . import _compat
    from .balance import FINISH_OP, REPORT_OP
    from .pubsub import PLUGIN_NAME

    t_start = time.monotonic()
    worker = get_worker()
    all_peers = {int(k): v for k, v in spec.peers.items()}
    placed = all_peers.get(int(task_id), worker.address)
    if placed != worker.address:  # peers send to the worker the fit placed the task on
        raise RuntimeError(f"dask-asgd: training task {task_id} runs on {worker.address}, "
                           f"not on its shard's worker {placed}")
    own_rows = ranges is None and rows is None
    # rows ordered by their target: shuffled once (own rows), or given as this task's rows to
    # place in a random order (``rows``, in-process clusters)
    shuffled = (spec.shuffle and own_rows) or rows is not None
    shuffle_rng = np.random.default_rng(spec.seeds[task_id] + 2) if shuffled else None
    X, y, sw = prepare_shard(X_parts, y_parts, sw_parts, classes, class_weights, spec.is_classifier, checked,
                             shuffle_rng, ranges, rows)
    # a Dask collection's shard is what its worker holds: its class mix (``_fit.warn_skewed``)
    class_counts = (np.bincount(y.astype(np.int64), minlength=len(classes)).tolist()
                    if spec.is_classifier and classes is not None and not checked else None)
    counts_reported = False
    del X_parts, y_parts, sw_parts
    trainer = ShardTrainer(X, y, sw, spec, spec.seeds[task_id], spec.n_buffers, ranges=ranges)
    del X, y, sw
    # fits without exchange stay reproducible: only fits that exchange share their epochs
    sharing = spec.share_epochs and spec.sync_interval is not None and len(spec.peers) > 1
    if sharing:
        _join_sharing(spec.fit_id, task_id, trainer)
    rng = np.random.default_rng(spec.seeds[task_id] + 1)
    plugin = worker.plugins[PLUGIN_NAME]
    fit = spec.fit_id
    peers = {k: v for k, v in all_peers.items() if k != task_id}
    exchange = spec.sync_interval is not None and bool(peers)  # one task: nobody to send to
    interval = int(spec.sync_interval) if exchange else 0
    n_blocks = max(1, int(spec.n_blocks))
    block = 0
    secede()
    # compile (or load from numba's cache) before subscribing: compiling holds the GIL for
    # seconds, and a task that cannot take messages yet should not be sent any
    trainer.warm_up()
    inbox = plugin.subscribe(fit, task_id, spec.n_buffers)

    per_batch = None  # measured seconds per mini-batch
    since_publish = 0
    report_future = None
    next_report = time.monotonic() + spec.report_interval
    deadline = time.monotonic() + spec.max_time if spec.max_time else None  # training time
    stop_reason = ""
    ages: list = []
    watch = _Watch(spec.monitor, trainer)
    waiting = False  # a publish is due, but the send path to every peer is busy
    deferred = 0  # checks that found it busy
    owed: dict = {}  # merge="pairwise": (task, lo, n) -> share of a merge not yet sent back
    settle_seconds = 0.0
    # "auto" publishes min_publish_period after training starts at the earliest, then at least
    # that far apart, by the clock: through the measured seconds per mini-batch alone, the first
    # mini-batches (cold caches, measured slow) let publishes out in a fit's first milliseconds
    gated = exchange and spec.auto_interval
    next_publish = time.monotonic() + spec.min_publish_period if gated else 0.0
    try:
        deadline = watch.call(deadline)
        while not trainer.done:
            if exchange:
                now = time.monotonic()
                for slot, lo, values, _sent, arrived, src in inbox.take():
                    trainer.put_slot(slot, lo, values, src)
                    if per_batch:  # how old the state is when the kernel merges it, in mini-batches
                        ages.append((now - arrived) / per_batch)
                if spec.pairwise:  # what peers gained from our states: ours to give up
                    _apply_shares(trainer, inbox)
            cap = 1 if per_batch is None else max(1, int(spec.chunk_seconds / max(per_batch, 1e-9)))
            if trainer.helped:  # another task takes over the end of the epoch: shorter chunks
                cap = max(1, cap // 4)
            if exchange and spec.auto_interval and per_batch is not None:
                # "auto" never publishes more often than every min_publish_period seconds: below
                # that, the Python work per message costs more training than the exchange gives
                interval = max(interval, int(math.ceil(spec.min_publish_period / max(per_batch, 1e-9))))
            if exchange and interval > 0 and not waiting:
                n = min(cap, batches_to_publish(interval - since_publish, per_batch,
                                                next_publish - time.monotonic() if gated else 0.0))
            else:
                n = cap
            before = trainer.batches_done
            t0 = time.perf_counter()
            try:
                trainer.run(n)
            except FloatingPointError as e:
                raise ValueError(str(e)) from None
            ran = trainer.batches_done - before
            if spec.pairwise:
                _return_shares(trainer, plugin, fit, task_id, peers, owed)
            if ran:
                dt = (time.perf_counter() - t0) / ran
                per_batch = dt if per_batch is None else 0.8 * per_batch + 0.2 * dt
            since_publish += ran
            if exchange and interval > 0 and since_publish >= interval and time.monotonic() >= next_publish:
                # only to peers whose send path is free: a state published while the previous one
                # is still queued or on the wire would only replace it unsent, and copying a big
                # state every few mini-batches costs training time; so wait (a chunk at a time)
                # and publish the freshest state once the path is free
                free = {k: a for k, a in peers.items() if not plugin.busy(fit, task_id, k)}
                waiting = bool(peers) and not free
                if waiting:
                    deferred += 1
                else:
                    since_publish = 0
                    if gated:
                        next_publish = time.monotonic() + spec.min_publish_period
                    if free:
                        lo, values = trainer.block(block, n_blocks)
                        values = trainer.to_shared(lo, values)
                        block = (block + 1) % n_blocks
                        plugin.publish(fit, task_id, _choose_peers(rng, free, spec.fanout), lo, values,
                                       trainer.batches_done)
            now = time.monotonic()
            if watch.due(now):
                deadline = watch.call(deadline)
                now = time.monotonic()
            if deadline is not None and now >= deadline:
                stop_reason = "max_time"
                break
            if now >= next_report:
                next_report = now + spec.report_interval
                if report_future is not None and report_future.done():
                    try:
                        answer = report_future.result()
                    except Exception:
                        answer = None
                    report_future = None
                    if answer is not None:
                        if answer.get("stop"):
                            stop_reason = "stopped"
                            break
                        peers = {int(k): v for k, v in answer.get("peers", {}).items() if int(k) != task_id}
                        if exchange and spec.auto_interval and answer.get("sync_interval"):
                            interval = int(answer["sync_interval"])
                            n_blocks = max(1, int(answer.get("n_blocks", n_blocks)))
                if report_future is None:
                    metrics = _metrics(trainer, plugin, fit, task_id, inbox, per_batch, interval, n_blocks, ages)
                    if class_counts is not None and not counts_reported:  # once: the client warns early
                        metrics["class_counts"] = class_counts
                        counts_reported = True
                    ages = []
                    report_future = _compat.run_in_loop(
                        worker, _compat.scheduler_call(worker, REPORT_OP, fit=fit, task=task_id, metrics=metrics)
                    )
        if sharing and not stop_reason and trainer.reason in ("max_iter", "converged"):
            _help_others(trainer, fit, task_id, per_batch, spec.chunk_seconds, deadline)
        if stop_reason == "max_time" and trainer.check_input:  # rows the first epoch never reached
            trainer.assert_input_finite()
        if spec.pairwise and exchange and stop_reason != "stopped":
            settle_seconds = _settle(trainer, plugin, worker, inbox, fit, task_id, peers, owed, spec.settle_timeout,
                                     FINISH_OP)
        watch.call(None)
    finally:
        if report_future is not None:  # nobody will read it: no "exception never retrieved"
            report_future.cancel()
        if sharing:
            _leave_sharing(fit, task_id)
        sends = plugin.stats(fit, task_id)
        plugin.unsubscribe(fit, task_id)
    return {
        "task": task_id,
        "worker": worker.address,
        "state": trainer.model(),
        "iterate": trainer.state() if spec.average else None,  # where a warm start goes on
        "t": float(trainer.t[0]),
        "n_iter": trainer.epoch,
        "n_samples": trainer.n_rows,
        "class_counts": class_counts,
        "n_batches": trainer.batches_done,
        "samples_seen": trainer.samples_done,
        "taken_over": trainer.taken_over,
        "sent": sends["sent"],
        "received": inbox.received,
        "merged": trainer.merged,
        "rejected": trainer.rejected,
        "overwritten": inbox.overwritten,
        "coalesced": sends["coalesced"],
        "replied": sum(sends["replies_to"].values()),
        "shares_received": sum(inbox.replies_from.values()),
        "settle_seconds": settle_seconds,
        "deferred": deferred,
        "bytes_sent": sends["bytes_sent"],
        "seconds": time.monotonic() - t_start,
        "stop_reason": stop_reason or trainer.reason,
        "objective": list(trainer.history),
        "trace": watch.trace,
        "monitor_seconds": watch.seconds,
    }


def _settle(trainer, plugin, worker, inbox, fit, task_id, peers, owed, timeout, finish_op) -> float:
    """merge="pairwise", after training: keep the books of the exchange balanced before leaving.

    Until every task of the fit has finished (or was lost) and every share written to this task
    has arrived, subtract the shares that arrive and write the ones still owed; merge nothing
    more.  A share that a late merge of another task owes this one would otherwise be lost, and
    the states' sum (the model) would keep that task's gain twice.  Bounded by ``timeout``
    seconds; returns the seconds spent."""
    from . import _compat

    t0 = time.monotonic()
    deadline = t0 + timeout
    future = None
    next_ask = t0  # the scheduler is asked at once, then at most every 5 ms
    while time.monotonic() < deadline:
        _apply_shares(trainer, inbox)
        _return_shares(trainer, plugin, fit, task_id, peers, owed)
        flushed = not owed and not plugin.replies_pending(fit, task_id)
        if future is None and flushed and time.monotonic() >= next_ask:
            next_ask = time.monotonic() + 0.005
            shares = plugin.stats(fit, task_id)["replies_to"]
            # the scheduler answers once the last task has finished (or ``wait`` has passed)
            wait = min(SETTLE_WAIT_SECONDS, max(0.0, deadline - time.monotonic()))
            future = _compat.run_in_loop(
                worker, _compat.scheduler_call(worker, finish_op, fit=fit, task=task_id, shares=shares, wait=wait))
        elif future is not None and future.done():
            try:
                answer = future.result()
            except Exception:
                break
            future = None
            if answer.get("stop"):
                break
            expected = answer.get("expected", {})
            arrived = all(inbox.replies_from.get(int(src), 0) >= n for src, n in expected.items())
            if answer.get("all_finished") and arrived:
                _apply_shares(trainer, inbox)
                break
        if future is not None:  # back as soon as the scheduler answers (the last task waits on it)
            concurrent.futures.wait([future], timeout=0.002)
        else:
            time.sleep(0.002)
    if future is not None:
        future.cancel()
    return time.monotonic() - t0


def _apply_shares(trainer, inbox) -> None:
    """merge="pairwise": subtract the shares of our states that receivers sent back."""
    for _src, lo, share in inbox.take_replies():
        trainer.subtract(lo, share)


def _return_shares(trainer, plugin, fit, task_id, peers, owed) -> None:
    """merge="pairwise": send each sender the share of this task's last merge that came from its
    state.  A share whose send path is busy waits and adds up with later ones (none is dropped);
    shares owed to a task that left the fit are forgotten."""
    for src, lo, share in trainer.take_replies():
        key = (src, lo, share.shape[0])
        owed[key] = share if key not in owed else owed[key] + share
    for key in list(owed):
        dest, lo, _ = key
        if dest not in peers:
            del owed[key]
        elif not plugin.busy(fit, task_id, dest, lo, reply=True):
            plugin.publish(fit, task_id, [(dest, peers[dest])], lo, owed.pop(key), trainer.batches_done,
                           reply=True)


class _Watch:
    """Calls a fit's monitor (if any) on the task's model, every ``monitor.every`` seconds."""

    def __init__(self, monitor, trainer):
        self.monitor = monitor
        self.trainer = trainer
        self.trace: list = []  # (wall-clock time, samples seen, value)
        self.seconds = 0.0
        self.next = time.monotonic()

    def due(self, now: float) -> bool:
        return self.monitor is not None and now >= self.next

    def call(self, deadline):
        """Call the monitor now; returns ``deadline`` moved by the time the call took."""
        if self.monitor is None:
            return deadline
        t0 = time.monotonic()
        tr = self.trainer
        k, d = tr.spec.n_outputs, tr.spec.n_features
        state = tr.model()
        value = self.monitor.fn(state[: k * d].reshape(k, d), state[k * d:])
        self.trace.append((time.time(), int(tr.samples_done), value))
        took = time.monotonic() - t0
        self.seconds += took
        self.next = time.monotonic() + self.monitor.every
        return None if deadline is None else deadline + took


def batches_to_publish(left: int, per_batch, seconds_left: float) -> int:
    """Mini-batches to run before the next publish: the ``left`` of the interval, and with a
    publish clock (``seconds_left`` > 0: "auto"'s earliest next publish is that far) at least
    what the clock asks for at ``per_batch`` seconds a mini-batch (unknown: one)."""
    if per_batch is not None and seconds_left > 0:
        left = max(left, int(math.ceil(seconds_left / max(per_batch, 1e-9))))
    return max(1, left)


def _choose_peers(rng, peers: dict, fanout: int) -> list:
    """``fanout`` random ``(task, address)`` pairs of ``peers`` (all of them when fanout <= 0)."""
    keys = list(peers)
    k = len(keys) if fanout <= 0 else min(fanout, len(keys))
    if k == 1:
        chosen = [int(rng.integers(len(keys)))]
    elif k == len(keys):
        chosen = range(k)
    else:
        chosen = rng.choice(len(keys), size=k, replace=False)
    return [(keys[c], peers[keys[c]]) for c in chosen]


def _metrics(trainer, plugin, fit, task_id, inbox, per_batch, interval, n_blocks, ages) -> dict:
    """One live report of a task: counters are cumulative, gauges are now."""
    sends = plugin.stats(fit, task_id)
    backlog = plugin.backlog()
    tested = trainer.merged + trainer.rejected
    return {
        "batches": trainer.batches_done,
        "batch_rate": (1.0 / per_batch) if per_batch else 0.0,  # mini-batches per second
        "sync_interval": interval,  # mini-batches between publishes, in force now
        "n_blocks": n_blocks,
        "message_fraction": 1.0 / n_blocks,  # share of the state one message carries
        "sent": sends["sent"],
        "bytes_sent": sends["bytes_sent"],
        "send_seconds": sends["send_seconds"],
        "coalesced": sends["coalesced"],
        "replied": sum(sends["replies_to"].values()),
        "backlog_bytes": sum(v[0] for v in backlog.values()),  # waiting or being written
        "backlog_messages": sum(v[1] for v in backlog.values()),
        # the slowest write in flight: how long so far, how big (a bound on the link's capacity)
        "inflight_seconds": max((v[3] for v in backlog.values()), default=0.0),
        "inflight_bytes": max((v[2] for v in backlog.values() if v[3]), default=0),
        "received": inbox.received,
        "overwritten": inbox.overwritten,
        "merged": trainer.merged,
        "rejected": trainer.rejected,
        "accept_ratio": (trainer.merged / tested) if tested else 1.0,
        "merge_age": float(np.mean(ages)) if ages else float("nan"),  # mini-batches, since last report
    }
