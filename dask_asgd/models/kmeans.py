"""K-Means (ASGDKMeans): state, kernel call, epoch end, Parzen modes, final combine.

The state of one task is a flat array of ``k * d + k`` values: the centroids row after row, then
the summed sample weight the task has assigned to each (``_kmeans_kernels``).  Every task starts
from one shared initialization, so centroid ``j`` of one task and centroid ``j`` of another
describe the same cluster as long as the exchange keeps them together.

The final combine (docs/design.md, "K-Means: the final combine"): each task ends with the Lloyd
sums of its shard under its own centroids (the per-centroid sums and weights of the rows nearest
to each: its last epoch's, where that epoch's assignments still hold, else one more pass), the
client aligns every task's centroids to the reference task's (the one with most rows) by a
minimum-cost matching, and the model's centroid ``j`` is the sum of the
aligned sums over the sum of the aligned weights: one Lloyd step of the whole data when the
tasks agree.  A centroid no row chose keeps the weighted mean of the tasks' centroids.  The
client then keeps whichever of that model and each task's own refined centroids has the lowest
inertia on the rows it sampled for the initialization.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .._kernel_args import Rows
from .._prepare import prepare_shard
from . import _kmeans_kernels as KK
from .base import STAT_NOT_FINITE, ModelSpec, ShardTrainer

PARZEN_MODES = {"off": 0, "state": 1, "centroid": 2}
MERGES = {"average": 0, "weighted": 1}
NO_IMPROVEMENT_EPOCHS = 5  # epochs without a relative improvement of tol that end a task
NEAR_TOL = 10.0  # an epoch that moved the centroids by at most this many tol may be followed by the last
CHECK_ROWS = 8192  # rows of the shard whose labels are checked before an epoch's sums stand for a Lloyd pass
MAX_CHANGED = 0.002  # at most this share of them may have changed centroid since the epoch assigned them
CHECK_CHUNK = 1024  # rows checked at a time (the check ends at the first chunk that shows too many changed)


@dataclass
class KMeansSpec(ModelSpec):
    """Everything a K-Means training task needs."""

    n_clusters: int
    n_features: int
    init_centers: np.ndarray  # (k, d): the shared start
    init_counts: np.ndarray | None  # (k,) starting weights (a warm start), or None: zeros
    max_iter: int
    tol: float  # centroid movement over an epoch, relative to the shard's mean variance
    batch_size: int
    shuffle: bool
    parzen: int  # PARZEN_MODES
    merge: int = 1  # MERGES
    memory: float = 1.0  # counts kept to this many epochs of the shard's weight (0: all)
    epoch_sums: bool = True  # an epoch that may be the last keeps its Lloyd sums (``KMeansTrainer.final``)
    verbose: int = 0
    # state bytes a task publishes a second under "auto" (dask-asgd.kmeans.exchange-bytes-per-second)
    exchange_bytes_per_second: float | None = None
    # centroids trained apart drift to different places: "auto" exchanges on any shards
    apart_on_random_shards = False
    streams = True  # a task trains on one row block at a time (``KMeansTrainer.set_rows``)
    # centroids travel as whole states, the newest whenever the link frees: on shaped links
    # blocks of them, or a link kept half idle, reached KMeans's inertia x 1.01 later than a
    # link kept busy with whole states (docs/benchmarks.md, "On shaped links")
    fill_link = True

    def state_size(self) -> int:
        return self.n_clusters * self.n_features + self.n_clusters

    @property
    def work_outputs(self) -> int:
        return self.n_clusters

    def resumed(self, snapshot: dict, ahead: float = 1.0) -> KMeansSpec:
        # the counts (each centroid's step is 1 / its count) are capped by ``memory`` as they grow
        from dataclasses import replace

        k, d = self.n_clusters, self.n_features
        state = np.asarray(snapshot["state"], dtype=np.float64)
        return replace(self, init_centers=state[: k * d].reshape(k, d), init_counts=state[k * d :] * ahead)

    def prepare(self, X_parts, y_parts, sw_parts, checked, rng, rows):
        X, _, sw = prepare_shard(X_parts, None, sw_parts, None, None, False, checked, rng, rows)
        return X, None, sw, None

    def trainer(self, X, y, sw, seed, n_buffers, ranges=None) -> KMeansTrainer:
        return KMeansTrainer(X, sw, self, seed, n_buffers, ranges)


class KMeansTrainer(ShardTrainer):
    """Online K-Means over one shard: each row moves its nearest centroid by 1 / its weight.

    Stops after ``max_iter`` epochs, or once an epoch moved the centroids by less than ``tol``
    times the shard's mean feature variance (squared Frobenius norm, scikit-learn's KMeans
    criterion between two Lloyd iterations).
    """

    def __init__(self, X, sw, spec: KMeansSpec, seed: int, n_buffers: int = 0, ranges=None):
        self.spec = spec
        k, d = spec.n_clusters, spec.n_features
        super().__init__(
            X,
            None,
            sw,
            size=k * d + k,
            batch_size=spec.batch_size,
            shuffle=spec.shuffle,
            max_iter=spec.max_iter,
            seed=seed,
            n_buffers=n_buffers,
            ranges=ranges,
        )
        dtype = self.slots.dtype
        self.k, self.d = k, d
        self.w = np.zeros(self.size, dtype=dtype)
        self.w[: k * d] = np.asarray(spec.init_centers, dtype=dtype).ravel()
        if spec.init_counts is not None:
            self.w[k * d :] = np.asarray(spec.init_counts, dtype=dtype)
        self.cnt = np.zeros(self.size)  # the merge's summed weights
        self.inbox = self.inbox._replace(cnt=self.cnt)
        self.C = self.w[: k * d].reshape(k, d)  # views of the state
        self.counts = self.w[k * d :]
        self.cnorm = np.zeros(k)
        KK.centroid_norms(self.C, self.cnorm)
        # the kernel's other argument groups, built once
        self.settings = KK.KMeansSettings(k=k, d=d, parzen=spec.parzen, merge=spec.merge, track=False)
        # an epoch that may be the last keeps its Lloyd sums (``final``): each row's label, and
        # its values summed into the centroid it was given
        n_all = self.X.shape[0] if self.dense else self.indptr.shape[0] - 1
        self.labels = np.zeros(n_all if spec.epoch_sums else 1, dtype=np.int32)
        self.kernel_state = KK.KMeansState(self.w, self.cnorm, np.zeros((k, d)), np.zeros(k), self.labels)
        self.track = spec.epoch_sums and self.max_iter == 1
        self.tracked = None  # (sums, weights, inertia) of the last epoch that kept them, whole and own
        self.changed = None  # the share of the checked rows whose centroid changed (``final``)
        self.epoch_start = self.C.copy()
        self.best = np.inf  # the lowest epoch objective so far
        self.no_improve = 0
        self.tol_abs = spec.tol * self._mean_variance() if spec.tol else 0.0
        self.epoch_weight = (
            float(sum(self.sw[a:b].sum() for a, b in self.ranges)) if self.has_sw else float(self.n_rows)
        )
        self.start()

    def stream_rows(self, n_rows: int) -> None:
        """A streamed shard: the count memory weighs the whole shard's rows, not one block's
        (with weights: the block's mean weight times the shard's rows)."""
        if self.n_rows:
            self.epoch_weight *= n_rows / self.n_rows
        super().stream_rows(n_rows)

    def set_rows(self, X, y, sw, more: bool, ranges=None) -> None:
        super().set_rows(X, y, sw, more, ranges)
        if self.spec.epoch_sums:  # the rows' labels of the epoch's Lloyd sums: this block's
            n_all = self.X.shape[0] if self.dense else self.indptr.shape[0] - 1
            self.labels = np.zeros(n_all, dtype=np.int32)
            self.kernel_state = self.kernel_state._replace(labels=self.labels)

    def _rows_of(self, a: int, b: int) -> Rows:
        """Rows ``[a, b)`` of the shard as the kernels take them (CSR offsets rebased to 0)."""
        if self.dense:
            return Rows(
                True,
                self.X[a:b],
                self.data,
                self.indices,
                self.indptr,
                self.y,
                self.sw[a:b] if self.has_sw else self.sw,
                self.has_sw,
            )
        lo, hi = self.indptr[a], self.indptr[b]
        return Rows(
            False,
            self.X,
            self.data[lo:hi],
            self.indices[lo:hi],
            self.indptr[a : b + 1] - lo,
            self.y,
            self.sw[a:b] if self.has_sw else self.sw,
            self.has_sw,
        )

    def _mean_variance(self) -> float:
        """The mean variance of the shard's features (scikit-learn's ``_tolerance`` per shard)."""
        if self.n_rows == 0:
            return 0.0
        parts = []
        for a, b in self.ranges:
            r = self._rows_of(a, b)
            parts.append(r.X if self.dense else sp.csr_matrix((r.data, r.indices, r.indptr), shape=(b - a, self.d)))
        if self.dense:
            return mean_variance(parts[0] if len(parts) == 1 else np.concatenate(parts))
        return mean_variance(sp.vstack(parts, format="csr"))

    def _kernel(self, first_group: int, n_groups: int, src=None) -> None:
        d = self if src is None else src
        self.stats[:] = 0.0
        # another task's rows (``take_over``) never go into this task's sums or labels
        settings = self.settings._replace(track=self.track and src is None)
        KK.kmeans_chunk(
            d.rows, self._walk(first_group, n_groups, src), settings, self.kernel_state, self.inbox, self.stats
        )
        if self.stats[STAT_NOT_FINITE] != 0.0:
            d.assert_input_finite()  # NaN / inf in a row: scikit-learn's error
            raise FloatingPointError("K-Means diverged: a received state held non-finite centroids.")

    def _epoch_end(self, loss_sum: float, samples: float) -> None:
        objective = loss_sum / max(samples, 1.0)  # mean squared distance of the rows as assigned
        self.history.append(objective)
        if self.spec.verbose:
            print(f"-- Epoch {self.epoch}: mean inertia {objective:.6f}")
        mem = self.spec.memory
        if mem > 0:  # older epochs' assignments weigh less: each epoch moves the centroids
            total = float(self.counts.sum())
            if total > mem * self.epoch_weight:
                self.counts *= mem * self.epoch_weight / total
        shift = float(np.sum((self.C - self.epoch_start) ** 2))
        self.epoch_start[:] = self.C
        ks = self.kernel_state
        if self.track:  # the epoch's sums stand for a Lloyd pass if this task's own kernel saw every row
            whole = samples >= self.shard_rows
            self.tracked = (ks.sums.copy(), ks.sum_w.copy(), float(loss_sum)) if whole else None
            ks.sums[:] = 0.0
            ks.sum_w[:] = 0.0
        else:
            self.tracked = None
        self.track = self.spec.epoch_sums and self._may_be_last(shift)
        if not self.spec.tol:
            return
        # merges keep moving the centroids of tasks whose shards differ: there, the epochs'
        # objective stopping to improve ends the task
        if objective < self.best * (1.0 - self.spec.tol):
            self.no_improve = 0
        else:
            self.no_improve += 1
        self.best = min(self.best, objective)
        if shift <= self.tol_abs or self.no_improve >= NO_IMPROVEMENT_EPOCHS:
            self.done = True
            self.reason = "converged"

    def _may_be_last(self, shift: float) -> bool:
        """Whether the next epoch may be the task's last: the last of ``max_iter``, or, with
        ``tol``, one after an epoch that moved the centroids by at most ``NEAR_TOL`` times the
        tolerance or went without improving for all but one of the epochs that end a task."""
        if self.epoch + 1 >= self.max_iter:
            return True
        if not self.spec.tol:
            return False
        return shift <= NEAR_TOL * self.tol_abs or self.no_improve >= NO_IMPROVEMENT_EPOCHS - 2

    def _block_values(self, lo: int, hi: int) -> np.ndarray:
        return self.w[lo:hi].copy()

    def model(self) -> np.ndarray:
        return self.w.copy()

    def monitor_args(self) -> tuple:
        return (self.C.copy(),)

    def final(self, blocks=None) -> dict:
        """The Lloyd sums of the shard under this task's centroids: per centroid, the sum and the
        weight of the rows nearest to it, and their inertia.  The last epoch's sums stand for
        them where that epoch kept them (every row of the shard, by this task's kernel), the task
        stopped at its end, and at most ``MAX_CHANGED`` of ``CHECK_ROWS`` random rows of the shard
        (of a streamed shard: of its last block) are nearer to another centroid now than to the
        one the epoch gave them; else one Lloyd pass over the shard (a streamed shard's blocks
        read once more: ``blocks``)."""
        KK.centroid_norms(self.C, self.cnorm)
        if self.tracked is not None and self.pos == 0:
            self.changed = self._changed_share()
            if self.changed <= MAX_CHANGED:
                sums, weights, inertia = self.tracked
                return {"sums": sums, "weights": weights, "inertia": inertia, "lloyd_pass": False}
        sums = np.zeros((self.k, self.d))
        weights = np.zeros(self.k)
        inertia = 0.0
        for X, sw in blocks() if blocks is not None and self.streamed else [(None, None)]:
            if X is not None:
                self._bind_rows(X, None, sw)
            for a, b in self.ranges:
                inertia += KK.lloyd_sums(self._rows_of(a, b), self.C, self.cnorm, sums, weights)
        return {"sums": sums, "weights": weights, "inertia": float(inertia), "lloyd_pass": True}

    def _changed_share(self) -> float:
        """The share of up to ``CHECK_ROWS`` rows of the shard, drawn at random, whose nearest
        centroid now is not the one the last epoch assigned them (``labels``).  The rows are
        checked ``CHECK_CHUNK`` at a time, and the check ends as soon as more than ``MAX_CHANGED``
        of all of them have changed (the share so far is returned)."""
        m = min(CHECK_ROWS, self.n_rows)
        if m == 0:
            return 0.0
        starts = np.array([a for a, _ in self.ranges], dtype=np.int64)
        offsets = np.cumsum([0] + [b - a for a, b in self.ranges])
        pos = self.rng.choice(self.n_rows, m, replace=False)
        part = np.searchsorted(offsets, pos, side="right") - 1
        rows_all = starts[part] + (pos - offsets[part])
        allowed = MAX_CHANGED * m
        changed = 0
        seen = 0
        for c in range(0, m, CHECK_CHUNK):
            idx = np.sort(rows_all[c : c + CHECK_CHUNK])
            if self.dense:
                rows = Rows(
                    True,
                    np.ascontiguousarray(self.X[idx]),
                    self.data,
                    self.indices,
                    self.indptr,
                    self.y,
                    self.sw,
                    False,
                )
            else:
                sub = sp.csr_matrix((self.data, self.indices, self.indptr), shape=(self.indptr.shape[0] - 1, self.d))[
                    idx
                ]
                rows = Rows(
                    False, self.X, sub.data, sub.indices, sub.indptr.astype(self.indptr.dtype), self.y, self.sw, False
                )
            labels = np.zeros(len(idx), dtype=np.int64)
            KK.assign_rows(rows, self.C, self.cnorm, labels, np.zeros(len(idx)))
            changed += int(np.count_nonzero(labels != self.labels[idx]))
            seen += len(idx)
            if changed > allowed:
                break
        return changed / seen


def mean_variance(X) -> float:
    """The mean of the variances of ``X``'s columns (dense or sparse), in float64: what
    scikit-learn's KMeans multiplies ``tol`` by."""
    if sp.issparse(X):
        mean = np.asarray(X.mean(axis=0), dtype=np.float64).ravel()
        sq = np.asarray(X.multiply(X).mean(axis=0), dtype=np.float64).ravel()
        return float(np.mean(sq - mean**2))
    return float(np.mean(np.var(X, axis=0, dtype=np.float64)))


def align(reference: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """The order of ``centers``' rows that best matches ``reference``'s (minimum total squared
    distance, scipy's ``linear_sum_assignment``); the identity when that is as good."""
    from scipy.optimize import linear_sum_assignment

    k = reference.shape[0]
    cost = (
        np.einsum("ij,ij->i", reference, reference)[:, None]
        - 2.0 * reference @ centers.T
        + np.einsum("ij,ij->i", centers, centers)[None, :]
    )
    identity = np.arange(k)
    _, cols = linear_sum_assignment(cost)
    if cost[identity, cols].sum() >= cost[identity, identity].sum() - 1e-12 * abs(cost[identity, identity].sum()):
        return identity
    return cols


@dataclass
class Candidates:
    """The final model's candidates (``combine``)."""

    combined: np.ndarray  # the tasks' Lloyd sums over their weights, tasks aligned to the reference
    singles: list  # each task's own centroids after its Lloyd pass
    weights: np.ndarray  # the rows nearest to each combined centroid, all tasks
    averaged: np.ndarray  # the aligned tasks' centroids averaged, weighted by their counts


COMBINES = ("lloyd", "lloyd-only", "average", "best")  # dask-asgd.kmeans.combine


def combine(results, k: int, d: int) -> Candidates:
    """The candidates of the final model from the tasks' results, each task's centroids aligned
    to the reference task's (the one with most rows)."""
    results = sorted(results, key=lambda r: r.task)  # sums in one order, whatever order the tasks ended in
    ref = max(results, key=lambda r: r.n_samples)  # the first such task on a tie
    ref_centers = ref.state[: k * d].reshape(k, d).astype(np.float64)
    sums = np.zeros((k, d))
    weights = np.zeros(k)
    mean_centers = np.zeros((k, d))
    mean_weights = np.zeros(k)
    singles = []
    for r in results:
        centers = r.state[: k * d].reshape(k, d).astype(np.float64)
        order = align(ref_centers, centers) if r is not ref else np.arange(k)
        # a task stands for its share of its shard's rows (two tasks that shared a shard's epochs: half each)
        s, wt = r.final["sums"][order] * r.weight, r.final["weights"][order] * r.weight
        sums += s
        weights += wt
        own = (np.maximum(r.state[k * d :].astype(np.float64)[order], 0.0) + 1e-12) * r.weight
        mean_centers += centers[order] * own[:, None]
        mean_weights += own
        single = centers.copy()
        hit = r.final["weights"] > 0
        single[hit] = r.final["sums"][hit] / r.final["weights"][hit, None]
        singles.append(single)
    averaged = mean_centers / mean_weights[:, None]
    combined = averaged.copy()
    hit = weights > 0
    combined[hit] = sums[hit] / weights[hit, None]
    return Candidates(combined, singles, weights, averaged)
