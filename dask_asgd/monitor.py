"""Watch a fit while it runs: a function of each task's model, called on the workers.

>>> mon = Monitor(lambda coef, intercept: float(np.abs(coef).sum()), every=0.5)   # doctest: +SKIP
>>> est.fit(X, y, monitor=mon)                                                    # doctest: +SKIP
>>> est.fit_report_.trace                                                         # doctest: +SKIP

Every training task calls ``fn(coef, intercept)`` with its own current model (``coef`` of shape
``(n_outputs, n_features)``, ``intercept`` of shape ``(n_outputs,)``, copies it may keep; for
``ASGDKMeans``, ``fn(centers)`` with its centroids of shape ``(n_clusters, n_features)``) when
it starts training, every ``every`` seconds of training, and when it stops. What ``fn`` returns
is collected with the time and the task's sample count in ``fit_report_.trace``. The calls run in
the task's thread, between mini-batches; their time is not counted against ``max_time`` and is
reported per task as ``monitor_seconds``. ``fn`` travels to the workers (pickled with
cloudpickle), so it may close over small data such as a held-out set; it should return something
small, since the values travel back to the client with the final states.

Because the model is linear, the decision values of the final (averaged) model are the average
of the tasks' decision values, weighted by their ``n_samples``: a monitor that returns
``X_val @ coef.T + intercept`` lets one compute the held-out score the averaged model would have
had at any moment of the fit (:func:`averaged_trace`).
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd


class Monitor:
    """A function of the model, called by every training task every ``every`` seconds.

    Pass it to an estimator's ``fit`` or ``partial_fit`` (``monitor=``). Every training task
    calls ``fn`` with its own current model when it starts training, every ``every`` seconds
    of training, and when it stops; what ``fn`` returns is collected, with the time and the
    task's sample count, in ``fit_report_.trace``. The calls run on the workers, in the
    task's thread between mini-batches; their time is not counted against ``max_time`` and is
    reported per task as ``monitor_seconds``. ``fn`` travels to the workers (pickled with
    cloudpickle), so it may close over small data such as a held-out set; it should return
    something small, since the values travel back to the client with the final states.

    Parameters
    ----------
    fn : callable
        ``fn(coef, intercept)`` for ASGDClassifier and ASGDRegressor (``coef`` of shape
        ``(n_outputs, n_features)``, ``intercept`` of shape ``(n_outputs,)``: copies it may
        keep), ``fn(centers)`` for ASGDKMeans (its centroids, of shape
        ``(n_clusters, n_features)``).
    every : float, default=0.5
        Seconds of training between two calls by a task.

    Attributes
    ----------
    fn : callable
        The function called on the model.
    every : float
        Seconds of training between two calls by a task.

    See Also
    --------
    dask_asgd.monitor.averaged_trace : The averaged model's values, from a monitor's trace.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from dask_asgd import ASGDClassifier, Monitor
    >>> X, y = load_digits(return_X_y=True)
    >>> mon = Monitor(lambda coef, intercept: float(np.abs(coef).sum()), every=0.1)
    >>> clf = ASGDClassifier(n_workers=2, random_state=0).fit(X / 16, y, monitor=mon)
    >>> list(clf.fit_report_.trace.columns)
    ['time', 'task', 'worker', 'samples', 'value']
    """

    def __init__(self, fn, every: float = 0.5):
        if not callable(fn):
            raise TypeError(
                f"Monitor needs a callable fn(coef, intercept) (ASGDKMeans: fn(centers)); got {type(fn).__name__}"
            )
        if not isinstance(every, numbers.Real) or not every > 0:
            raise ValueError(f"Monitor's every must be a positive number of seconds; got {every!r}")
        self.fn = fn
        self.every = float(every)

    def __repr__(self):
        return f"Monitor({getattr(self.fn, '__name__', self.fn)!r}, every={self.every})"


def as_monitor(monitor) -> Monitor | None:
    """``None``, a :class:`Monitor`, or a bare callable (called every 0.5 s)."""
    if monitor is None or isinstance(monitor, Monitor):
        return monitor
    if callable(monitor):
        return Monitor(monitor)
    raise TypeError(f"monitor must be a Monitor, a callable or None; got {type(monitor).__name__}")


def averaged_trace(trace: pd.DataFrame, weights: pd.Series | None = None, times=None):
    """Combine per-task monitor values into the averaged model's, over time.

    Because the linear models' final model is the average of the tasks' models, weighted by
    their ``n_samples``, the values of a monitor that returns something linear in the model
    (such as decision values ``X_val @ coef.T + intercept``) combine into the values the
    averaged model would have had at any moment of the fit.

    Parameters
    ----------
    trace : pandas.DataFrame
        ``fit_report_.trace`` of a fit whose monitor returned arrays linear in the model.
    weights : pandas.Series, default=None
        Weight of each task, indexed by task. Equal weights if None; pass
        ``fit_report_.tasks["n_samples"]`` for the weights of the final average.
    times : array-like of float, default=None
        The times (seconds since the fit began) to combine the values at. If None, every time
        a task reported a value.

    Returns
    -------
    list of tuple of (float, ndarray)
        ``(time, value)`` at each time from the first one at which every task has reported a
        value: the weighted mean of each task's latest value. Empty for an empty trace.

    See Also
    --------
    dask_asgd.Monitor : The function of the model that the training tasks call.
    """
    if trace.empty:
        return []
    tasks = sorted(trace["task"].unique())
    w = {t: 1.0 for t in tasks} if weights is None else {t: float(weights.loc[t]) for t in tasks}
    total = sum(w.values())
    series = {}  # task -> (its report times, its values), in time order
    for t, g in trace.groupby("task"):
        g = g.sort_values("time")
        series[t] = (g["time"].to_numpy(), list(g["value"]))
    start = max(times_[0] for times_, _ in series.values())
    if times is None:
        times = np.unique(trace["time"].to_numpy())
    out = []
    for tm in times:
        if tm < start:
            continue
        acc = None
        for t, (times_, values) in series.items():
            k = int(np.searchsorted(times_, tm, side="right")) - 1
            v = np.asarray(values[k], dtype=np.float64) * (w[t] / total)
            acc = v if acc is None else acc + v
        out.append((float(tm), acc))
    return out
