"""Linear models (ASGDClassifier, ASGDRegressor): state, kernel call, epoch end, final combine.

The state of one task is a flat array of ``K * d + K`` values: the coefficients of the ``K``
one-vs-rest problems row after row, then their intercepts; the kernel keeps the coefficients
scaled (``_kernels.sgd_chunk``).  Tasks trained apart on random shards average well at the end
(Zinkevich et al.), so the final combine is the average of the tasks' models weighted by shard
size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .. import _kernels as K
from .._options import LEARNING_RATES
from .._prepare import encode_labels, prepare_shard
from .base import STAT_NOT_FINITE, ModelSpec, ShardTrainer, check_finite, not_finite_error

_LR_NAMES = {v: k for k, v in LEARNING_RATES.items()}


@dataclass
class LinearSpec(ModelSpec):
    """Everything a linear model's training task needs, as plain numbers and codes."""

    streams = True  # a class attribute, not a field: a task trains one row block at a time

    n_outputs: int  # K: 1 for binary / regression, n_classes for one-vs-rest
    n_features: int
    is_classifier: bool
    loss: int
    loss_param: float
    penalty: int
    alpha: float
    l1_ratio: float
    fit_intercept: bool
    learning_rate: int
    eta0: float
    power_t: float
    max_iter: int
    tol: float | None
    n_iter_no_change: int
    shuffle: bool
    early_stopping: bool
    validation_fraction: float
    batch_size: int
    parzen: bool
    verbose: int
    init_state: object = None  # flat initial state or None
    init_t: float = 1.0
    t_scale: float = 1.0  # the schedule's sample counter advances this much per sample (dask-asgd.schedule)
    pairwise: bool = False  # merge="pairwise": the receiver returns each sender's share of its gain
    evidence_units: bool = True  # merge="pairwise", 'optimal' schedule: states travel times t0 + t
    average: int = 0  # averaged SGD from this sample on (scikit-learn's average=; 0: off)
    init_avg: object = None  # flat initial average (warm start of an averaged fit) or None
    classes: object = None  # labels of a Dask collection's blocks, encoded by the tasks
    class_weights: object = None  # per class, folded into the sample weights by the tasks

    def state_size(self) -> int:
        return self.n_outputs * self.n_features + self.n_outputs

    @property
    def work_outputs(self) -> int:
        return self.n_outputs

    def for_fit(self, n_tasks: int, X) -> LinearSpec:
        from dataclasses import replace

        from .._fit import schedule_scale

        return replace(self, t_scale=schedule_scale(n_tasks, self, X))

    def resumed(self, snapshot: dict, ahead: float = 1.0) -> LinearSpec:
        from dataclasses import replace

        state, final = snapshot["state"], snapshot["resume"]
        if self.average and final.get("iterate") is not None:  # the iterate goes on; the average too
            return replace(self, init_state=final["iterate"], init_avg=state, init_t=float(final["t"]) * ahead)
        return replace(self, init_state=state, init_avg=None, init_t=float(final["t"]) * ahead)

    def prepare(self, X_parts, y_parts, sw_parts, checked, rng, rows):
        classes = self.classes if self.is_classifier else None
        X, y, sw = prepare_shard(
            X_parts, y_parts, sw_parts, classes, self.class_weights, self.is_classifier, checked, rng, rows
        )
        # a Dask collection's shard is what its worker holds: its class mix (``_fit.warn_skewed``)
        counts = (
            np.bincount(y.astype(np.int64), minlength=len(classes)).tolist()
            if classes is not None and not checked
            else None
        )
        return X, y, sw, counts

    def trainer(self, X, y, sw, seed, n_buffers, ranges=None) -> LinearTrainer:
        return LinearTrainer(X, y, sw, self, seed, n_buffers, ranges)


class LinearTrainer(ShardTrainer):
    """Plain SGD of a linear model over one shard (scikit-learn's ``_plain_sgd`` per task):
    losses, penalties, schedules, averaging, early stopping on held-out rows of the shard."""

    def __init__(self, X, y, sw, spec: LinearSpec, seed: int, n_buffers: int = 0, ranges=None):
        self.spec = spec
        if ranges is None:
            ranges = [(0, X.shape[0])]
        ranges = [(int(a), int(b)) for a, b in ranges if b > a]
        self.X_val = self.y_val = self.sw_val = None
        if spec.early_stopping:
            ranges = self._hold_out(X, y, sw, ranges)
        k, d = spec.n_outputs, spec.n_features
        super().__init__(
            X,
            y,
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
        self.n_coef = k * d
        if spec.init_state is not None:
            self.w = np.array(spec.init_state, dtype=dtype).ravel().copy()
        else:
            self.w = np.zeros(self.size, dtype=dtype)
        self.scale = np.ones(1)
        # averaged SGD (spec.average > 0): the average of the iterates, the shape of w
        self.avg = np.zeros(self.size, dtype=dtype)
        if spec.average and spec.init_avg is not None:
            self.avg[:] = np.asarray(spec.init_avg, dtype=dtype).ravel()
        self.ab = np.array([0.0, 1.0])
        self.q = (
            np.zeros((k, d), dtype=dtype) if spec.penalty in (K.L1, K.ELASTICNET) else np.zeros((1, 1), dtype=dtype)
        )
        self.u = np.zeros(1)
        self.t = np.array([float(spec.init_t)])
        self.opt_init = (
            K.optimal_init(spec.loss, spec.loss_param, spec.alpha)
            if spec.learning_rate == LEARNING_RATES["optimal"]
            else 0.0
        )
        # the kernel's argument groups, built once (``eta0`` replaces the settings when it changes)
        self.kernel_state = K.SGDState(self.w, self.scale, self.q, self.u, self.t, self.avg, self.ab)
        self.settings = K.SGDSettings(
            is_clf=spec.is_classifier,
            n_out=spec.n_outputs,
            n_features=spec.n_features,
            loss=spec.loss,
            lparam=spec.loss_param,
            penalty=spec.penalty,
            alpha=spec.alpha,
            l1_ratio=spec.l1_ratio,
            fit_intercept=spec.fit_intercept,
            lr=spec.learning_rate,
            eta0=spec.eta0,
            power_t=spec.power_t,
            opt_init=self.opt_init,
            t_scale=float(spec.t_scale),
            average=int(spec.average),
            # the per-sample loss costs a log/exp: only when a stopping rule or the log reads it
            track_loss=bool(spec.verbose) or (spec.tol is not None and not spec.early_stopping),
            parzen=spec.parzen,
            pairwise=spec.pairwise,
            evidence_units=self.evidence_units,
        )
        self.best = math.inf
        self.no_improve = 0
        self.start()

    def _hold_out(self, X, y, sw, ranges):
        """early_stopping: the last rows of the (already randomly placed) shard are held out;
        returns the ranges left to train on."""
        spec = self.spec
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
        return keep[::-1]

    @property
    def eta0(self) -> float:
        """The schedule's ``eta0`` as the kernel uses it ('adaptive' divides it between epochs)."""
        return self.settings.eta0

    @eta0.setter
    def eta0(self, value: float) -> None:
        self.settings = self.settings._replace(eta0=value)

    @property
    def evidence_units(self) -> bool:
        return bool(
            self.spec.pairwise and self.spec.evidence_units and self.spec.learning_rate == LEARNING_RATES["optimal"]
        )

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

    def subtract(self, lo: int, values: np.ndarray) -> None:
        """Subtract a share (as it travelled: ``to_shared``) from ``w[lo:lo + len(values)]``."""
        n = values.shape[0]
        c = self._coefs(lo, n)
        self._fold_average()
        if c:
            self.w[lo : lo + c] -= values[:c] / (self.scale[0] * self.evidence())
        if c < n:
            self.w[lo + c : lo + n] -= values[c:]

    def warm_up(self) -> None:
        super().warm_up()
        if not self.done and self.X_val is not None:  # and the held-out score's kernel (no rows)
            k = self.spec.n_outputs
            self._val_scores(self.w[: self.n_coef].reshape(k, -1), self.w[self.n_coef :], 0)

    def _kernel(self, first_group: int, n_groups: int, src=None) -> None:
        sp_ = self.spec
        d = self if src is None else src
        self.stats[:] = 0.0
        K.sgd_chunk(
            d.rows,
            self._walk(first_group, n_groups, src),
            self.settings,
            self.kernel_state,
            self.inbox,
            self.stats,
            d.check_input,
        )
        if self.stats[STAT_NOT_FINITE] != 0.0:
            if d.check_input or d.first_epoch_shared:  # NaN / inf in the rows (scikit-learn's error)
                d.assert_input_finite()  # else divergence
            raise not_finite_error(d.epoch, _LR_NAMES[sp_.learning_rate], sp_.eta0)

    def _epoch_end(self, loss_sum: float, samples: float) -> None:
        sp_ = self.spec
        w = self.state()
        pen = K.penalty_value(w, self.n_coef, sp_.penalty, sp_.alpha, sp_.l1_ratio)
        # per one-vs-rest problem, as scikit-learn's tol applies to each binary problem's objective
        objective = (loss_sum / max(samples, 1.0) + pen) / sp_.n_outputs
        self.history.append(objective)
        if sp_.verbose:
            print(f"-- Epoch {self.epoch}: avg. loss {objective:.6f}, T: {int(self.t[0])}")
        if sp_.tol is None:
            return
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
            if sp_.learning_rate == LEARNING_RATES["adaptive"] and self.eta0 > 1e-6:
                self.eta0 /= 5.0
                self.no_improve = 0
            else:
                self.done = True
                self.reason = "converged"

    def validation_score(self, w) -> float:
        sp_ = self.spec
        k, d = sp_.n_outputs, sp_.n_features
        coef = w[: k * d].reshape(k, d)
        scores = self._val_scores(coef, w[k * d :], self.X_val.shape[0])
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

    def _block_values(self, lo: int, hi: int) -> np.ndarray:
        vals = self.w[lo:hi].copy()
        if lo < self.n_coef:
            vals[: min(hi, self.n_coef) - lo] *= self.scale[0]
        return vals

    def monitor_args(self) -> tuple:
        k, d = self.spec.n_outputs, self.spec.n_features
        state = self.model()
        return state[: k * d].reshape(k, d), state[k * d :]

    def final(self, blocks=None) -> dict:
        return {
            "iterate": self.state() if self.spec.average else None,  # where a warm start goes on
            "t": float(self.t[0]),
        }

    def resume_args(self) -> dict:
        return self.final()


def average_states(results, key: str = "state") -> np.ndarray:
    """The final linear model: the plain average of the tasks' final states (``key``: the
    result's ``state`` or one of its ``final`` entries), weighted by the rows each stands for
    (its shard's, times its ``weight``: the share of a shard two tasks trained)."""
    states = np.stack([r.state if key == "state" else r.final[key] for r in results])
    weights = np.array([max(r.n_samples, 1) * r.weight for r in results], dtype=np.float64)
    return (states * (weights / weights.sum())[:, None]).sum(axis=0).astype(states.dtype)


__all__ = ["LinearSpec", "LinearTrainer", "average_states", "encode_labels"]
