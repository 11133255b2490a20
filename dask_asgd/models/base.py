"""The interface between the engine and a model family.

``ModelSpec`` is what a fit ships to its training tasks (plain numbers, codes and small arrays);
it prepares a task's shard and builds its ``ShardTrainer``.  ``ShardTrainer`` is the SGD of one
shard without any Dask in it: the rows, the epoch's order of row groups, the receive slots; a
model family adds its state layout, its kernel call, its epoch's end (objective, stopping rule)
and how a state leaves and is returned.  The engine's task loop (``_engine.task``) drives any
trainer through this class's methods alone.
"""

from __future__ import annotations

import abc
import contextlib
import types

import numpy as np
import scipy.sparse as sp

from .. import _kernels as K
from .._kernel_args import Inbox, Rows, Walk

GROUP_ROWS = 128  # rows visited together: the unit of the per-epoch random order (docs/design.md)
_NO_LOCK = contextlib.nullcontext()

# the kernels' statistics array: what each entry holds (``_kernels``)
STAT_LOSS, STAT_SAMPLES, STAT_MERGED, STAT_REJECTED, STAT_NOT_FINITE, N_STATS = (
    K.STAT_LOSS,
    K.STAT_SAMPLES,
    K.STAT_MERGED,
    K.STAT_REJECTED,
    K.STAT_NOT_FINITE,
    K.N_STATS,
)


class ModelSpec(abc.ABC):
    """What the training tasks of one model family need; one instance per fit, pickled to the
    workers.  Subclasses are dataclasses of plain values."""

    #: merge="pairwise": receivers return each sender's share of a merge (the engine settles
    #: the shares after training)
    pairwise: bool = False
    #: sync_interval="auto" trains the random shards of in-memory input apart (no exchange)
    #: where exchanging did not change this family's model (``_fit.trains_apart``)
    apart_on_random_shards: bool = True
    #: sync_interval="auto" publishes whole states (never blocks) at the publish floor's pace and
    #: the link sends the newest whenever it frees (``balance.AdaptivePolicy``, ``fill_link``)
    fill_link: bool = False
    #: the most state bytes a second a task publishes under sync_interval="auto" (None: the
    #: setting ``dask-asgd.balance.max-exchange-bytes-per-second``)
    exchange_bytes_per_second = None
    #: a task can train on its shard one row block at a time (``ShardTrainer.set_rows``): a Dask
    #: collection larger than memory is streamed (``_engine.stream``)
    streams: bool = False

    @abc.abstractmethod
    def state_size(self) -> int:
        """Values in one task's state (what a whole message carries)."""

    @property
    @abc.abstractmethod
    def work_outputs(self) -> int:
        """How many dot products of a row with the state a sample costs (``_fit.default_tasks``
        counts an epoch's work as rows x this x features)."""

    def for_fit(self, n_tasks: int, X) -> ModelSpec:
        """This spec as the tasks of a fit of ``n_tasks`` over ``X`` need it (client side)."""
        return self

    def resumed(self, snapshot: dict, ahead: float = 1.0) -> ModelSpec | None:
        """This spec starting from a running task's model (``_engine.task.snapshot``), for a task
        that starts while the fit runs (``_elastic``); ``ahead``: how much further along the
        step-size schedule the new task starts than the snapshot's task is.  None: the family
        cannot start a task from a running one."""
        return None

    @abc.abstractmethod
    def prepare(self, X_parts, y_parts, sw_parts, checked, rng, rows):
        """A task's shard from its blocks: ``(X, y, sw, class_counts)``."""

    @abc.abstractmethod
    def trainer(self, X, y, sw, seed: int, n_buffers: int, ranges=None) -> ShardTrainer:
        """The trainer of one shard."""


# a received value more than this many times larger than the receiver's own (plus 1) is not a
# peer's state: its block is dropped (``ShardTrainer.valid_block``)
MAX_SCALE = 1e12


class ShardTrainer(abc.ABC):
    """SGD over one shard, driven chunk by chunk.

    ``sw`` may be None (all weights 1).  ``X`` (dense or CSR), ``y`` and ``sw`` may be larger
    than the shard: ``ranges`` lists the ``[a, b)`` row ranges that belong to it (default: all
    rows), so an in-process shard is a set of views of the user's array and nothing is copied.
    Each epoch visits groups of ``GROUP_ROWS`` contiguous rows in a new random order (with
    ``shuffle``): close to a per-row shuffle for SGD, at the memory speed of a sequential walk.
    A mini-batch is ``batch_size // GROUP_ROWS`` groups; received states are merged once per
    kernel call, after its first mini-batch.
    """

    def __init__(
        self,
        X,
        y,
        sw,
        *,
        size: int,
        batch_size: int,
        shuffle: bool,
        max_iter: int,
        seed: int,
        n_buffers: int = 0,
        ranges=None,
    ):
        self.rng = np.random.default_rng(seed)
        self.shuffle = bool(shuffle)
        self.max_iter = int(max_iter)
        dtype = X.dtype
        self._bind_rows(X, y, sw, ranges)
        # a streamed shard (``_engine.stream``): the epoch goes on with another block after these
        # rows (``more_rows``); these rows are trained and the task hands the next block (``rows_done``)
        self.more_rows = False
        self.rows_done = False
        self.streamed = False
        self.shard_rows = self.n_rows  # all of the shard's rows (a streamed shard's, not one block's)
        self.size = int(size)
        self.stats = np.zeros(N_STATS)
        self.check_input = True  # until the first epoch has visited every row
        # another task trained on the end of this task's first epoch (``take_over``), so this
        # task's own pass did not see every row: a non-finite value later is looked for in the rows
        self.first_epoch_shared = False
        # row groups and mini-batches (a mini-batch is ``gpb`` groups)
        self.gpb = max(1, int(batch_size) // GROUP_ROWS)
        self._set_groups(0)
        self.pos = 0  # next mini-batch in this epoch
        self.epoch = 0
        self.done = self.n_rows == 0 or self.max_iter == 0
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
        # the receive side as the kernels take it (a model whose merge needs other scratch
        # replaces its members)
        self.inbox = Inbox(
            self.slots, self.slot_lo, self.slot_len, self.slot_fresh, self.slot_reply, self.prev, self.acc, self.cnt
        )
        self.batches_done = 0
        self.samples_done = 0
        self.taken_over = 0  # samples of other tasks' epochs trained by this one (``take_over``)
        # shared with the other tasks of the fit in this process (``_engine.sharing``): they may
        # take over the end of this task's epoch; ``claimed``: where the kernel call under way ends
        self.lock = None
        self.claimed = 0
        self.helped = False
        self.merged = 0
        self.rejected = 0
        self.dropped = 0  # received blocks that were not a well-formed block of this state
        self.history: list = []  # per-epoch objective

    def _bind_rows(self, X, y, sw, ranges=None) -> None:
        """The rows the kernels train on: ``ranges`` of ``X``, ``y``, ``sw`` (default: all)."""
        if ranges is None:
            ranges = [(0, X.shape[0])]
        self.ranges = [(int(a), int(b)) for a, b in ranges if b > a]
        self.dense = not sp.issparse(X)
        dtype = X.dtype
        if self.dense:
            self.X = np.ascontiguousarray(X)
            self.data = np.zeros(1, dtype=dtype)
            self.indices = np.zeros(1, dtype=np.int32)
            self.indptr = np.zeros(2, dtype=np.int32)
        else:
            X = sp.csr_matrix(X)  # no copy for CSR input; the kernels need no sorted indices
            self.X = np.zeros((1, 1), dtype=dtype)
            self.data = X.data
            self.indices = X.indices
            self.indptr = X.indptr
        self.y = np.zeros(1) if y is None else np.ascontiguousarray(y, dtype=np.float64)
        self.has_sw = sw is not None
        self.sw = np.ascontiguousarray(sw, dtype=np.float64) if self.has_sw else np.ones(1)
        # the rows as the kernels take them (one tuple, built once)
        self.rows = Rows(self.dense, self.X, self.data, self.indices, self.indptr, self.y, self.sw, self.has_sw)
        self.n_rows = sum(b - a for a, b in self.ranges)
        self.n_cols = X.shape[1]

    def set_rows(self, X, y, sw, more: bool, ranges=None) -> None:
        """A streamed shard's next block: these rows replace the ones trained; the state, the
        epoch's objective so far and the counters stay.  ``more``: the epoch goes on with
        another block after these rows."""
        self._bind_rows(X, y, sw, ranges)
        self.streamed = True
        self.more_rows = bool(more)
        self.rows_done = False
        self.pos = 0
        self._set_groups(0)
        self._new_epoch_order()

    def release_rows(self) -> None:
        """Let go of the rows trained (a streamed shard, before its next block is read)."""
        dtype = self.slots.dtype
        empty = np.zeros((0, self.n_cols), dtype) if self.dense else sp.csr_matrix((0, self.n_cols), dtype=dtype)
        self._bind_rows(empty, None, None)

    # ------------------------------------------------------------------ what a model provides
    @abc.abstractmethod
    def _kernel(self, first_group: int, n_groups: int, src=None) -> None:
        """``n_groups`` groups of the epoch's order from ``first_group`` on, into this task's
        state (``self.stats`` reset and filled); the rows and their order are ``src``'s (another
        trainer's ``epoch_view``) if given."""

    @abc.abstractmethod
    def _epoch_end(self, loss_sum: float, samples: float) -> None:
        """An epoch has ended (``self.epoch`` counts it): record its objective, decide whether to
        stop (set ``done`` and ``reason``)."""

    @abc.abstractmethod
    def _block_values(self, lo: int, hi: int) -> np.ndarray:
        """A copy of state values ``[lo, hi)`` as they travel to a peer."""

    @abc.abstractmethod
    def model(self) -> np.ndarray:
        """The task's model as a flat copy (what the final combine reads)."""

    @abc.abstractmethod
    def monitor_args(self) -> tuple:
        """The arguments a fit's monitor is called with (copies)."""

    @abc.abstractmethod
    def final(self, blocks=None) -> dict:
        """What the client's final combine needs of this task beyond its model.  ``blocks``: for
        a streamed shard, a function that reads its row blocks once more, as ``(X, sw)``, for a
        model whose combine needs a pass over every row."""

    def resume_args(self) -> dict:
        """What a task that starts from this task's model needs besides it (cheap: read while
        this task trains; ``ModelSpec.resumed``)."""
        return {}

    def stream_rows(self, n_rows: int) -> None:
        """This trainer's shard is streamed, ``n_rows`` rows in all (its rows now: one block)."""
        self.streamed = True
        self.shard_rows = int(n_rows)

    def warm_up(self) -> None:
        """Compile the kernel for this shard's types (a call over no rows; changes nothing)."""
        if not self.done:
            self._kernel(0, 0)
            self.stats[:] = 0.0

    def to_shared(self, lo: int, values: np.ndarray) -> np.ndarray:
        """A block of this state as it travels (some models change its units)."""
        return values

    def subtract(self, lo: int, values: np.ndarray) -> None:
        """merge="pairwise": subtract a receiver's share (models that support it)."""
        raise NotImplementedError(f"{type(self).__name__} has no pairwise merge")

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
            if self.shuffle and self.n_rows > 1:
                self._set_groups(int(self.rng.integers(GROUP_ROWS)))
                perm = self.rng.permutation(self.n_groups)
                self.ostart, self.ostop = self.gstart[perm], self.gstop[perm]
            else:
                self.ostart, self.ostop = self.gstart, self.gstop
            self.limit = self.n_batches  # this task's own mini-batches of the epoch end here
            self.claimed = 0

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
            self.epoch_loss += st[STAT_LOSS]
            self.epoch_samples += st[STAT_SAMPLES]
        if self.pos >= self.limit:
            self.pos = 0
            if self.more_rows:  # a streamed shard: the epoch goes on in the next block
                self.rows_done = True
                return
            self.epoch += 1
            self.check_input = False  # every row has been visited
            loss, n = self.epoch_loss, self.epoch_samples
            self.epoch_loss = 0.0
            self.epoch_samples = 0.0
            self._epoch_end(loss, n)
            if self.epoch >= self.max_iter and not self.done:
                self.done = True
                self.reason = "max_iter"
            if not self.done:  # the next epoch's order (none after the last: nobody reads it)
                self._new_epoch_order()
                self.rows_done = self.streamed  # the next epoch starts with the next block

    def start(self) -> None:
        """The first epoch's order (after the subclass has set up its state)."""
        self.epoch_loss = 0.0
        self.epoch_samples = 0.0
        self._new_epoch_order()

    def epoch_view(self):
        """What another task needs to train on part of this epoch (``take_over``): the rows and
        the epoch's order, taken under ``lock`` (this task replaces its order at its next epoch)."""
        return types.SimpleNamespace(
            rows=self.rows,
            ostart=self.ostart,
            ostop=self.ostop,
            gpb=self.gpb,
            n_groups=self.n_groups,
            check_input=self.check_input,
            epoch=self.epoch,
            first_epoch_shared=False,
            assert_input_finite=self.assert_input_finite,
        )

    def _walk(self, first_group: int, n_groups: int, src=None) -> Walk:
        """The ``Walk`` of a kernel call: ``n_groups`` groups of the epoch's order (``src``'s, if
        given) from ``first_group`` on, merging after the first mini-batch."""
        d = self if src is None else src
        return Walk(d.ostart, d.ostop, first_group, n_groups, d.gpb)

    def take_over(self, view, first: int, n_batches: int) -> None:
        """Train this task's state on mini-batches ``[first, first + n_batches)`` of another
        task's epoch (``view``, its ``epoch_view``): the end of it, which that slower task of the
        fit in this process gave up (``_engine.sharing``).  Every row of its epoch is still
        visited once, by one of the two."""
        self.taken_over += int(self._batches(first, n_batches, src=view)[STAT_SAMPLES])

    def _batches(self, first: int, n_batches: int, src=None) -> np.ndarray:
        """Mini-batches ``[first, first + n_batches)`` of the epoch's order (``src``'s, if given)
        into this task's state, counted; returns the kernel's stats."""
        d = self if src is None else src
        g0 = first * d.gpb
        self._kernel(g0, min(n_batches * d.gpb, d.n_groups - g0), src=src)
        st = self.stats
        self.batches_done += n_batches
        self.samples_done += int(st[STAT_SAMPLES])
        self.merged += int(st[STAT_MERGED])
        self.rejected += int(st[STAT_REJECTED])
        return st

    def assert_input_finite(self) -> None:
        """scikit-learn's error if this shard's training rows hold NaN or inf.  The first epoch
        checks every row as it trains on it (``check_input``); this pass is for the case where it
        found something, or stopped early (``max_time``)."""
        for a, b in self.ranges:
            values = self.data[self.indptr[a] : self.indptr[b]] if not self.dense else self.X[a:b]
            check_finite(values)

    # ------------------------------------------------------------------ exchange
    def valid_block(self, lo, values):
        """``values`` in the state's dtype if ``(lo, values)``, as received from a peer, is a
        well-formed block of this state, else None (counted in ``dropped``): ``lo`` an integer,
        ``values`` a 1-D array of real numbers, at least one, that fits inside the state from
        ``lo`` on; every value finite, and none larger in magnitude than ``MAX_SCALE`` times the
        largest of this task's own block (as it travels) plus 1."""
        ok = (
            isinstance(lo, (int, np.integer))
            and not isinstance(lo, (bool, np.bool_))
            and isinstance(values, np.ndarray)
            and values.ndim == 1
            and values.dtype.kind in "fiu"
            and 0 < values.shape[0] <= self.size
            and 0 <= lo <= self.size - values.shape[0]
        )
        if ok:
            lo = int(lo)
            values = values.astype(self.slots.dtype, copy=False)
            # the largest magnitudes by max and min (no array of absolute values: a message may be
            # megabytes, and this runs for each one); NaN or inf makes ``big`` non-finite
            with np.errstate(over="ignore", invalid="ignore"):
                big = max(float(values.max()), -float(values.min()))
            own = self.to_shared(lo, self._block_values(lo, lo + values.shape[0]))
            ok = np.isfinite(big) and big <= MAX_SCALE * (max(float(own.max()), -float(own.min())) + 1.0)
        if not ok:
            self.dropped += 1
            return None
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

    def block(self, index: int, n_blocks: int):
        """``(lo, values)`` of block ``index`` of ``n_blocks`` of the state (a copy); ``index`` is
        taken modulo ``n_blocks``, so a block count that shrank never gives an empty block; nor
        does a count larger than the state (each block is one value then)."""
        n_blocks = max(1, min(int(n_blocks), self.size))
        index = int(index) % n_blocks
        lo = self.size * index // n_blocks
        hi = self.size * (index + 1) // n_blocks
        return lo, self._block_values(lo, hi)

    def outgoing(self, index: int, n_blocks: int):
        """``block(index, n_blocks)`` as it travels to a peer (``to_shared``)."""
        lo, values = self.block(index, n_blocks)
        return lo, self.to_shared(lo, values)


def check_finite(values) -> None:
    """scikit-learn's error for NaN / inf in ``values`` (X's values). A nogil sum first (numpy's,
    which scikit-learn's check uses, holds the GIL); only a sum that is not finite (NaN, inf, or
    finite values that overflow) runs scikit-learn's check."""
    from sklearn.utils import assert_all_finite

    if not K.sum_is_finite(np.ascontiguousarray(values).reshape(-1)):
        assert_all_finite(values, input_name="X")


def not_finite_error(epoch: int, learning_rate: str, eta0: float) -> FloatingPointError:
    return FloatingPointError(
        f"Floating-point under-/overflow occurred at epoch #{epoch + 1}. Scaling input data "
        "with StandardScaler or MinMaxScaler might help. The learning rate "
        f"(learning_rate={learning_rate!r}, eta0={eta0:g}) may be too large."
    )
