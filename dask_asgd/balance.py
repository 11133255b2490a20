"""Scheduler plugin: the topic registry of every fit, its workers' metrics and the interval policy.

Training tasks report their counters to ``dask_asgd_report`` every ``report-interval`` seconds.
The plugin keeps them as a time series per fit and per task, asks the fit's ``IntervalPolicy``
for each task's next sync interval and message size, and answers with those decisions, the live
peers of the task (the topic's subscribers) and whether the fit must stop.
"""

from __future__ import annotations

import abc
import time

from distributed.diagnostics.plugin import SchedulerPlugin

from . import _compat

PLUGIN_NAME = "dask-asgd-balance"
REPORT_OP = "dask_asgd_report"


class IntervalPolicy(abc.ABC):
    """Decides a task's sync interval (mini-batches between publishes) and message blocks."""

    @abc.abstractmethod
    def decide(self, task: int, metrics: dict, current: dict) -> dict:
        """Return ``{"sync_interval": int, "n_blocks": int}`` from the newest ``metrics``."""


class FixedPolicy(IntervalPolicy):
    """Keeps the interval and message size the fit started with."""

    def __init__(self, sync_interval, n_blocks: int = 1):
        self.sync_interval = sync_interval
        self.n_blocks = n_blocks

    def decide(self, task, metrics, current):
        return {"sync_interval": self.sync_interval, "n_blocks": self.n_blocks}


class _FitRecord:
    def __init__(self, tasks: dict, policy: IntervalPolicy):
        self.tasks = dict(tasks)  # task -> worker address (the topic's subscribers)
        self.lost: dict = {}  # task -> worker address, for tasks whose worker left
        self.policy = policy
        self.decisions = {t: policy.decide(t, {}, {}) for t in tasks}
        self.history: list = []
        self.stopped = False
        self.started = time.time()


class BalanceSchedulerPlugin(SchedulerPlugin):
    """The scheduler half of dask-asgd (one per cluster, safe with several fits at once)."""

    idempotent = True
    name = PLUGIN_NAME

    def __init__(self):
        self.fits: dict = {}

    async def start(self, scheduler):
        self.scheduler = scheduler
        _compat.register_scheduler_handler(scheduler, REPORT_OP, self.report)

    # ------------------------------------------------------------------ scheduler events
    def remove_worker(self, scheduler, worker, **kwargs):
        for rec in self.fits.values():
            for task, addr in list(rec.tasks.items()):
                if addr == worker:
                    rec.lost[task] = rec.tasks.pop(task)

    # ------------------------------------------------------------------ handlers
    def report(self, fit=None, task=None, metrics=None):
        rec = self.fits.get(fit)
        if rec is None or rec.stopped:
            return {"stop": True}
        metrics = dict(metrics or {})
        metrics["time"] = time.time() - rec.started
        metrics["task"] = task
        decision = rec.policy.decide(task, metrics, rec.decisions.get(task, {}))
        rec.decisions[task] = decision
        metrics.update(decision)
        rec.history.append(metrics)
        return {"stop": False, "peers": rec.tasks, **decision}

    # ------------------------------------------------------------------ client calls
    def register_fit(self, fit: str, tasks: dict, policy: IntervalPolicy) -> None:
        self.fits[fit] = _FitRecord(tasks, policy)

    def stop_fit(self, fit: str) -> None:
        rec = self.fits.get(fit)
        if rec is not None:
            rec.stopped = True

    def end_fit(self, fit: str) -> dict:
        rec = self.fits.pop(fit, None)
        if rec is None:
            return {"history": [], "lost": {}}
        return {"history": rec.history, "lost": rec.lost}

    def lost_tasks(self, fit: str) -> dict:
        rec = self.fits.get(fit)
        return dict(rec.lost) if rec is not None else {}


def _plugin(dask_scheduler) -> BalanceSchedulerPlugin:
    return dask_scheduler.plugins[PLUGIN_NAME]


def register_fit(fit, tasks, policy, dask_scheduler=None):
    _plugin(dask_scheduler).register_fit(fit, tasks, policy)


def stop_fit(fit, dask_scheduler=None):
    _plugin(dask_scheduler).stop_fit(fit)


def end_fit(fit, dask_scheduler=None):
    return _plugin(dask_scheduler).end_fit(fit)


def lost_tasks(fit, dask_scheduler=None):
    return _plugin(dask_scheduler).lost_tasks(fit)
