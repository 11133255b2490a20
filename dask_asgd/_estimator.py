"""What every dask-asgd estimator shares: the engine's parameters, the fit's monitor, the report."""

from __future__ import annotations

import contextlib
import functools

import pandas as pd

from . import config
from ._engine.spec import EngineSpec
from ._fit import shard_skew
from .monitor import as_monitor


class EngineMixin:
    """The engine's side of an estimator: its monitor for the fit's duration, its exchange
    settings (``_engine_spec``)."""

    @contextlib.contextmanager
    def _monitoring(self, monitor):
        """The fit's monitor, for the fit's duration only (it is not a parameter)."""
        self._monitor = as_monitor(monitor)
        try:
            yield
        finally:
            del self._monitor

    def _dask_features(self, X, names, reset) -> None:
        """``n_features_in_`` / ``feature_names_in_`` of a dask array ``X`` (``names``: a dask
        DataFrame's columns, or None), or scikit-learn's error for a count that differs."""
        if reset:
            self.n_features_in_ = int(X.shape[1])
            if names is not None and all(isinstance(n, str) for n in names):
                self.feature_names_in_ = names
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )

    def _dask_rows(self, X):
        """A fitted model's dask input as a dask array of whole rows (its feature count checked)."""
        import dask.dataframe as dd
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        if isinstance(X, dd.DataFrame):
            X = X.to_dask_array(lengths=True)
        self._dask_features(X, None, reset=False)
        return X.rechunk({1: -1})

    def _engine_spec(self, model) -> EngineSpec:
        """The exchange settings of a fit (the engine parameters, dask.config's values)."""
        sync = self.sync_interval
        auto = sync == "auto"
        if auto:
            sync = int(config.get("balance.initial-interval"))
        return EngineSpec(
            fit_id="",
            model=model,
            sync_interval=sync,
            auto_interval=auto,
            fanout=0 if self.fanout == "all" else int(self.fanout),
            n_buffers=int(self.n_buffers),
            max_time=None if self.max_time is None else float(self.max_time),
            report_interval=float(config.get("report-interval")),
            chunk_seconds=float(config.get("chunk-seconds")),
            shuffle=bool(getattr(self, "shuffle", True)),
            settle_timeout=float(config.get("settle-timeout")),
            share_epochs=bool(config.get("share-epochs")),
            min_publish_period=float(config.get("balance.min-publish-period")),  # raised in _fit for big states
            monitor=getattr(self, "_monitor", None),
        )


class FitReport:
    """What happened in a fit.

    Every fit of a dask-asgd estimator leaves one in the estimator's ``fit_report_``; its
    ``repr`` sums it up in a line (tasks, seconds, samples per second, states sent, merged and
    rejected, tasks lost).

    Parameters
    ----------
    results : list of TaskResult
        The results of the training tasks that finished (their counters, stop reasons and
        monitor values), in any order.
    history : list of dict
        The metric reports the tasks sent to the scheduler while the fit ran, oldest first.
    lost : dict
        Task -> worker address of the tasks lost with their worker.
    seconds : float
        Wall time of the training (placement excluded).
    started : float, default=None
        Wall-clock time (``time.time()``) the fit began placing its data; the monitor
        values' times are counted from it (from 0 if None).

    Attributes
    ----------
    tasks : pandas.DataFrame
        One row per training task: ``worker``, ``n_samples``, ``n_batches``, ``sent``,
        ``received``, ``merged``, ``rejected`` (by the Parzen test), ``dropped`` (messages that were not
        a well-formed block of the receiver's state: never merged), ``overwritten`` (unread),
        ``bytes_sent``, ``deferred`` (publishes put off while the previous state to every peer was
        still queued or on the wire), ``replied`` and ``shares_received`` (``merge="pairwise"``:
        shares of merges sent back to senders, and received from receivers), ``taken_over``
        (samples of other tasks' epochs this task trained on: the end of an epoch of a slower
        task in the same process, ``dask-asgd.share-epochs``), ``seconds``, ``settle_seconds``
        (``merge="pairwise"``: after training, waiting for the other tasks' last shares),
        ``n_iter``, ``stop_reason`` and ``monitor_seconds``.
    history : pandas.DataFrame
        The metric reports of every task while the fit ran (``time``, ``task``,
        ``sync_interval``, ``backlog_bytes``, ...), one row per task per report.
    lost : dict
        Task -> worker address of the tasks lost with their worker.
    class_skew : float
        Classifiers trained on a Dask collection: how far the class mix of the most different
        shard is from the whole data's (total variation distance: 0 the same mix, 1 disjoint
        classes; fit warns above ``dask-asgd.shard-skew-warning``). 0.0 for in-memory input,
        which dask-asgd splits at random.
    seconds : float
        Wall time of the training (placement excluded).
    trace : pandas.DataFrame
        What a fit's ``monitor`` returned (:class:`~dask_asgd.Monitor`): ``time`` (seconds since
        the fit began placing its data), ``task``, ``worker``, ``samples`` (the task's samples
        seen so far) and ``value``. Empty without a monitor.
    started : float or None
        Wall-clock time (``time.time()``) the fit began placing its data.
    samples_seen : int
        Samples the tasks trained on, all epochs and tasks together.
    samples_per_second : float
        ``samples_seen`` divided by ``seconds`` (0.0 for a fit of no measurable time).
    """

    _COLUMNS = [
        "worker",
        "n_samples",
        "n_batches",
        "sent",
        "received",
        "merged",
        "rejected",
        "dropped",
        "overwritten",
        "bytes_sent",
        "deferred",
        "replied",
        "shares_received",
        "taken_over",
        "seconds",
        "settle_seconds",
        "n_iter",
        "stop_reason",
        "monitor_seconds",
    ]

    def __init__(self, results, history, lost, seconds, started=None):
        rows = sorted(results, key=lambda r: r.task)
        # the tables are built when first read (pandas takes milliseconds a table, at the end of
        # every fit); until then the report holds their rows (no states)
        self._task_rows = [{c: getattr(r, c) for c in self._COLUMNS} for r in rows]
        self._task_ids = [r.task for r in rows]
        self._history_rows = history
        t0 = started if started is not None else 0.0
        self._trace_rows = [
            {"time": tm - t0, "task": r.task, "worker": r.worker, "samples": n, "value": v}
            for r in rows
            for tm, n, v in r.trace
        ]
        self.lost = dict(lost)
        self.class_skew = shard_skew(rows)[1]
        self.seconds = float(seconds)
        self.started = started
        self.samples_seen = int(sum(r.samples_seen for r in rows))

    @functools.cached_property
    def tasks(self) -> pd.DataFrame:
        return pd.DataFrame(self._task_rows, index=pd.Index(self._task_ids, name="task"), columns=self._COLUMNS)

    @functools.cached_property
    def history(self) -> pd.DataFrame:
        return pd.DataFrame(self._history_rows)

    @functools.cached_property
    def trace(self) -> pd.DataFrame:
        return pd.DataFrame(self._trace_rows, columns=["time", "task", "worker", "samples", "value"])

    @property
    def samples_per_second(self) -> float:
        return self.samples_seen / self.seconds if self.seconds > 0 else 0.0

    def __repr__(self):
        t = self.tasks
        return (
            f"FitReport({len(t)} tasks, {self.seconds:.2f} s, {self.samples_per_second:,.0f} samples/s, "
            f"sent={int(t['sent'].sum())}, merged={int(t['merged'].sum())}, "
            f"rejected={int(t['rejected'].sum())}, lost={len(self.lost)}"
            + (f", class_skew={self.class_skew:.2f}" if self.class_skew > 0 else "")
            + ")"
        )
