"""What every dask-asgd estimator shares: the engine's parameters, the fit's monitor, the report."""

from __future__ import annotations

import contextlib
import functools
import html

import numpy as np
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
    rejected, tasks lost). In a Jupyter notebook, a report that ends a cell shows as a summary,
    a small chart of the tasks' objective over the epochs and the table of the tasks;
    :meth:`plot` draws the objective and the exchange over the fit.

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
    retrained : dict, default=None
        Lost task -> the task that trained its rows again.

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
        ``n_iter``, ``stop_reason``, ``monitor_seconds``, ``blocks_read`` and ``read_seconds`` (a
        streamed Dask collection: row blocks read, and the seconds the task waited for them), and
        how the task came to be: ``origin`` ("placed" with the fit; "joined", started on a worker
        that joined the running fit, sharing the remaining epochs of the shard of task
        ``origin_task``, from whose model it started; "retrained", started in place of lost
        task ``origin_task`` to train its rows again) and ``weight`` (the share of its shard's
        rows it stands for in the final model: the tasks of one shard that returned a model
        share it equally).
    history : pandas.DataFrame
        The metric reports of every task while the fit ran (``time``, ``task``,
        ``sync_interval``, ``backlog_bytes``, ...), one row per task per report.
    objective : pandas.DataFrame
        The objective each task measured over each of its epochs: one column per task, one row
        per epoch (the index, from 1; NaN past a task's last epoch). For the linear models the
        epoch's average loss plus the penalty, averaged over the one-vs-rest problems (what
        ``tol`` is tested on); for ASGDKMeans the mean squared distance of the epoch's rows to
        the centroids they were assigned.
    lost : dict
        Task -> worker address of the tasks lost with their worker.
    retrained : dict
        Lost task -> the task that trained its rows again (``dask-asgd.retrain-lost``).
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
        "cut",
        "replied",
        "shares_received",
        "taken_over",
        "seconds",
        "settle_seconds",
        "n_iter",
        "stop_reason",
        "monitor_seconds",
        "blocks_read",
        "read_seconds",
        "origin",
        "origin_task",
        "weight",
    ]

    def __init__(self, results, history, lost, seconds, started=None, retrained=None):
        rows = sorted(results, key=lambda r: r.task)
        # the tables are built when first read (pandas takes milliseconds a table, at the end of
        # every fit); until then the report holds their rows (no states)
        self._task_rows = [{c: getattr(r, c) for c in self._COLUMNS} for r in rows]
        self._task_ids = [r.task for r in rows]
        self._history_rows = history
        self._objective_rows = {r.task: list(r.objective) for r in rows}
        t0 = started if started is not None else 0.0
        self._trace_rows = [
            {"time": tm - t0, "task": r.task, "worker": r.worker, "samples": n, "value": v}
            for r in rows
            for tm, n, v in r.trace
        ]
        self.lost = dict(lost)
        self.retrained = dict(retrained or {})
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
    def objective(self) -> pd.DataFrame:
        rows = self._objective_rows
        columns = {t: pd.Series(v, index=np.arange(1, len(v) + 1), dtype=float) for t, v in rows.items()}
        frame = pd.DataFrame(columns, columns=pd.Index(list(columns), name="task"))
        frame.index.name = "epoch"
        return frame

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

    def _repr_html_(self) -> str:
        """The report in a notebook: the summary of ``repr`` as a table, a chart of the tasks'
        objective over the epochs (an inline SVG: nothing to install) and the tasks' table."""
        t = self.tasks
        summary = {
            "tasks": str(len(t)),
            "seconds": f"{self.seconds:.2f}",
            "samples/s": f"{self.samples_per_second:,.0f}",
            **{c: f"{int(t[c].sum()):,}" for c in ("sent", "merged", "rejected", "dropped")},
            "lost": str(len(self.lost)),
        }
        if self.class_skew > 0:
            summary["class skew"] = f"{self.class_skew:.2f}"
        head = "".join(f"<th>{html.escape(k)}</th>" for k in summary)
        cells = "".join(f"<td>{html.escape(v)}</td>" for v in summary.values())
        chart = _objective_svg(self._objective_rows)
        return (
            '<div class="dask-asgd-fit-report">'
            "<p><strong>FitReport</strong></p>"
            f'<table class="dask-asgd-summary"><tr>{head}</tr><tr>{cells}</tr></table>'
            + (f"<p>objective per epoch, one line per task: {chart}</p>" if chart else "")
            + f"<details open><summary>{len(t)} tasks</summary>{t.to_html(border=0)}</details>"
            "</div>"
        )

    def plot(self, ax=None):
        """Draw the tasks' objective over the epochs and the exchange over the fit.

        Three plots, one line per task: the objective of each epoch (:attr:`objective`), and
        from the tasks' metric reports (:attr:`history`) the sync interval in force
        (mini-batches between two publishes of a task's state; 0 where the fit trains its
        tasks apart) and the bytes of state sent so far, against the seconds since the fit's
        tasks were registered. A fit shorter than one report interval
        (``dask-asgd.report-interval``, 0.25 s) has no reports: its two exchange plots say so.

        Parameters
        ----------
        ax : sequence of 3 matplotlib.axes.Axes, default=None
            Where to draw the objective, the sync interval and the bytes sent. If None, a new
            figure of three plots side by side.

        Returns
        -------
        numpy.ndarray of matplotlib.axes.Axes
            The three axes drawn on.

        Raises
        ------
        ImportError
            If matplotlib is not installed.
        ValueError
            If ``ax`` does not hold 3 axes.
        """
        try:
            import matplotlib  # noqa: F401
        except ImportError as e:
            raise ImportError(
                "FitReport.plot needs matplotlib: pip install matplotlib (or the bench extra, "
                "pip install dask-asgd[bench])"
            ) from e
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(1, 3, figsize=(13, 3.4), layout="constrained")
        axes = np.asarray(ax, dtype=object).ravel()
        if axes.shape[0] != 3:
            raise ValueError(f"FitReport.plot draws 3 plots; ax holds {axes.shape[0]} axes")
        obj = self.objective
        for task in obj.columns:
            values = obj[task].dropna()
            marker = "." if len(values) < 30 else None
            axes[0].plot(values.index.to_numpy(), values.to_numpy(), marker=marker, label=f"task {task}")
        axes[0].set(xlabel="epoch", ylabel="objective", title="objective per epoch")
        hist = self.history
        # the interval is a setting in force until the next report (steps); bytes sent a count
        exchange = [
            (axes[1], "sync_interval", "sync interval (mini-batches)", {"drawstyle": "steps-post"}),
            (axes[2], "bytes_sent", "bytes sent", {"marker": "."}),
        ]
        for a, column, label, style in exchange:
            a.set(xlabel="seconds", ylabel=label, title=label)
            if hist.empty or column not in hist:
                a.text(0.5, 0.5, "no metric reports", ha="center", va="center", transform=a.transAxes)
                continue
            for task, g in hist.sort_values("time").groupby("task"):
                a.plot(g["time"].to_numpy(), g[column].to_numpy(), label=f"task {task}", **style)
            a.set_xlim(left=0.0)
        if len(obj.columns) <= 16:  # a legend of more tasks would hide the lines
            axes[0].legend(fontsize="small")
        return axes


def _objective_svg(series: dict, width: int = 220, height: int = 48) -> str:
    """A small inline SVG of the tasks' objective over the epochs, one line per task ("" if no
    task finished an epoch)."""
    lines = {t: np.asarray(v, dtype=np.float64) for t, v in series.items() if len(v)}
    finite = [v[np.isfinite(v)] for v in lines.values()]
    finite = [v for v in finite if v.size]
    if not finite:
        return ""
    lo = min(float(v.min()) for v in finite)
    hi = max(float(v.max()) for v in finite)
    span = hi - lo if hi > lo else 1.0
    n = max(len(v) for v in lines.values())
    pad = 2.0
    colours = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
    paths = []
    for i, (task, v) in enumerate(sorted(lines.items())):
        epochs = np.arange(len(v))
        if len(v) > width:  # a point per pixel at most
            epochs = np.unique(np.linspace(0, len(v) - 1, width).round().astype(np.int64))
        xs = pad + (width - 2 * pad) * (epochs / max(n - 1, 1))
        ys = pad + (height - 2 * pad) * (1.0 - (v[epochs] - lo) / span)
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys) if np.isfinite(y))
        colour = colours[i % len(colours)]
        paths.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.2" points="{points}">'
            f"<title>task {task}</title></polyline>"
        )
    label = f"epochs 1-{n}, objective {lo:.4g} to {hi:.4g}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'style="vertical-align: middle"><title>{html.escape(label)}</title>{"".join(paths)}</svg> '
        f"<small>{html.escape(label)}</small>"
    )
