"""Scheduler plugin: the topic registry of every fit, its workers' metrics and the interval policy.

Training tasks report their counters to ``dask_asgd_report`` every ``report-interval`` seconds.
The plugin keeps them as a time series per fit and per task, asks the fit's ``IntervalPolicy``
for each task's next sync interval and message size, and answers with those decisions, the live
peers of the task (the topic's subscribers) and whether the fit must stop.
"""

from __future__ import annotations

import abc
import asyncio
import math
import time
from collections import deque

from distributed.diagnostics.plugin import SchedulerPlugin

from . import _compat, _dashboard, _metrics

PLUGIN_NAME = "dask-asgd-balance"
REPORT_OP = "dask_asgd_report"
FINISH_OP = "dask_asgd_finish"  # merge="pairwise": a task has trained and returned every share
# the counters of a task's newest report that ``fit_status`` hands the client's progress bar
PROGRESS_FIELDS = ("epochs", "samples", "sent", "merged", "rejected")


class IntervalPolicy(abc.ABC):
    """Decides a task's sync interval (mini-batches between publishes) and message blocks."""

    @abc.abstractmethod
    def decide(self, task: int, metrics: dict, current: dict) -> dict:
        """Decide a task's next sync interval and message size from its newest report.

        Parameters
        ----------
        task : int
            The training task, numbered within its fit.
        metrics : dict
            The task's newest metric report (``bytes_sent``, ``send_seconds``,
            ``backlog_bytes``, ``coalesced``, ``inflight_bytes``, ``inflight_seconds``,
            ``batch_rate``, ...); empty for the decision made when the fit starts.
        current : dict
            The decision in force for the task (empty when the fit starts).

        Returns
        -------
        dict
            ``{"sync_interval": int, "n_blocks": int}``: mini-batches between two publishes,
            and the number of blocks the task's state is split into (one block per message).
        """


class FixedPolicy(IntervalPolicy):
    """Keeps the interval and message size the fit started with.

    The policy of a fit with an int ``sync_interval``.

    Parameters
    ----------
    sync_interval : int
        Mini-batches between two publishes of a task's state.
    n_blocks : int, default=1
        Blocks the state is split into, one block per message.
    """

    def __init__(self, sync_interval, n_blocks: int = 1):
        self.sync_interval = sync_interval
        self.n_blocks = n_blocks

    def decide(self, task, metrics, current):
        """Return the interval and message size the fit started with.

        Parameters
        ----------
        task : int
            The training task, numbered within its fit.
        metrics : dict
            The task's newest metric report (not used).
        current : dict
            The decision in force for the task (not used).

        Returns
        -------
        dict
            ``{"sync_interval": sync_interval, "n_blocks": n_blocks}``.
        """
        return {"sync_interval": self.sync_interval, "n_blocks": self.n_blocks}


class AdaptivePolicy(IntervalPolicy):
    """Publish as often as the task's link carries at a target utilization.

    The control law, per task, at every report (every ``report-interval`` seconds):

    0. Slow start: until the first report, messages carry ``initial_message_bytes`` at most.
    1. Link capacity ``C`` (bytes/s), by the task's ``LinkMeter``: the bytes the task's peers
       acknowledged divided by the time from each write's start to its last byte's
       acknowledgement, since the previous report, smoothed (EWMA, weight 0.5).  An idle link
       keeps its last estimate.  A write still in flight bounds it from above, so a link slower
       than thought is seen before the write ends.
    2. Message size: the state is split into ``k`` rotating blocks, the smallest power of two with
       ``state_bytes / k <= C * max_message_seconds`` (a message never occupies the link longer
       than that), at most ``max_blocks``.
    3. Publish period: ``T = fanout * message_bytes / (utilization * C)`` (the link is busy
       ``utilization`` of the time), never below ``min_publish_period``.
    4. Backlog guard (multiplicative decrease of the frequency): when bytes are still waiting
       for the link (``backlog_bytes`` above two messages: one in flight is normal) or unsent
       states were replaced since the last report, ``T`` doubles from its current value
       instead; once the backlog has drained, it is the rate of 3. again at once (the capacity
       is measured from delivery, so the rate of 3. is one the link carries: a link that frees
       gets its interval back within a report or two).
    5. Interval: ``ceil(T * batch_rate)`` mini-batches, clipped to ``[min_interval, max_interval]``.

    With ``fill_link`` (whole states, for models whose exchange is what makes the model) steps
    2-4 give way: a task publishes its whole state every ``min_publish_period``, and the send
    path, which keeps only the newest unsent state for each peer, sends it the moment the link
    frees.  The link's own pace sets the rate of sends and it is never idle while a newer state
    waits; a state replaced before it left is the flow control at work, not congestion.

    A fit with ``sync_interval="auto"`` uses it, its settings taken from the ``balance``
    section of the ``dask-asgd`` dask.config namespace.

    Parameters
    ----------
    state_bytes : int
        Size of a task's whole state in bytes.
    fanout : int, default=1
        Peers each publish goes to.
    initial_interval : int, default=16
        Sync interval until the task's first report.
    min_interval : int, default=1
        Smallest sync interval, in mini-batches.
    max_interval : int, default=4096
        Largest sync interval, in mini-batches.
    min_publish_period : float, default=0.02
        Shortest time between two publishes of a task, in seconds.
    utilization : float, default=0.5
        Share of the time the task's link is meant to be busy sending.
    max_message_seconds : float, default=0.05
        Longest time one message may occupy the link, in seconds (sets the message size).
    max_blocks : int, default=64
        Most blocks the state is split into.
    initial_message_bytes : int, default=1048576
        Largest message until the link has been measured (slow start), in bytes.
    fill_link : bool, default=False
        Publish whole states every ``min_publish_period`` and let the link take the newest one
        whenever it frees (above).
    """

    def __init__(
        self,
        state_bytes: int,
        fanout: int = 1,
        initial_interval: int = 16,
        min_interval: int = 1,
        max_interval: int = 4096,
        min_publish_period: float = 0.02,
        utilization: float = 0.5,
        max_message_seconds: float = 0.05,
        max_blocks: int = 64,
        initial_message_bytes: int = 1 << 20,
        fill_link: bool = False,
    ):
        self.state_bytes = max(1, int(state_bytes))
        self.fanout = max(1, int(fanout))
        self.initial_interval = int(initial_interval)
        self.min_interval = int(min_interval)
        self.max_interval = int(max_interval)
        self.min_publish_period = float(min_publish_period)
        self.utilization = float(utilization)
        self.max_message_seconds = float(max_message_seconds)
        self.max_blocks = int(max_blocks)
        self.fill_link = bool(fill_link)
        if self.fill_link:
            self.max_blocks = 1
        self.initial_blocks = self._blocks_for(self.state_bytes / max(1, int(initial_message_bytes)))
        self._meters: dict = {}  # task -> LinkMeter
        self._state: dict = {}  # task -> what the law remembers besides the capacity

    def _blocks_for(self, need: float) -> int:
        return 1 if need <= 1 else int(min(self.max_blocks, 2 ** math.ceil(math.log2(need))))

    def decide(self, task, metrics, current):
        """Decide a task's next sync interval and message size by the control law above.

        Parameters
        ----------
        task : int
            The training task, numbered within its fit.
        metrics : dict
            The task's newest metric report; empty for the decision made when the fit starts
            (slow start).
        current : dict
            The decision in force for the task (empty when the fit starts).

        Returns
        -------
        dict
            ``{"sync_interval": int, "n_blocks": int}``.
        """
        if not metrics:  # slow start: small messages until the link has been measured
            return {"sync_interval": self.initial_interval, "n_blocks": self.initial_blocks}
        st = self._state.setdefault(task, {"coalesced": 0, "period": None})
        # 1. capacity
        cap = self._meters.setdefault(task, LinkMeter(self.max_message_seconds)).update(metrics)
        d_coalesced = metrics.get("coalesced", 0) - st["coalesced"]
        st["coalesced"] = metrics.get("coalesced", 0)
        rate = metrics.get("batch_rate", 0.0)
        if self.fill_link:  # whole states at the floor's pace: the link sends the newest when it frees
            interval = self.initial_interval if not rate else math.ceil(self.min_publish_period * rate)
            interval = int(min(self.max_interval, max(self.min_interval, interval)))
            return {"sync_interval": interval, "n_blocks": 1, "capacity": cap}
        # 2. message size
        n_blocks = int(current.get("n_blocks", self.initial_blocks) or 1)
        if cap:
            n_blocks = self._blocks_for(self.state_bytes / (cap * self.max_message_seconds))
        msg = self.state_bytes / n_blocks
        # 3. period at the target utilization
        target = self.min_publish_period
        if cap:
            target = max(target, self.fanout * msg / (self.utilization * cap))
        # 4. backlog guard
        period = st["period"] or target
        if metrics.get("backlog_bytes", 0) > 2 * msg or d_coalesced > 0:
            period = max(target, 2.0 * period)
        else:
            period = target
        st["period"] = period
        # 5. interval
        interval = self.initial_interval if not rate else math.ceil(period * rate)
        interval = int(min(self.max_interval, max(self.min_interval, interval)))
        return {"sync_interval": interval, "n_blocks": n_blocks, "capacity": cap}


class LinkMeter:
    """A task's link capacity in bytes/s, from what its peers acknowledged.

    The send path times each write from its start until the peer's kernel has acknowledged its
    last byte (``pubsub``; where the system cannot tell, until the bytes are in the socket's
    buffer).  At each report: the bytes sent since the previous one over those seconds,
    smoothed (EWMA, weight 0.5); a report with nothing sent keeps the estimate.  A write still
    in flight bounds it from above: by its bytes over its seconds so far, and once it has taken
    longer than a message should (``max_message_seconds``), by the bytes the peer has
    acknowledged of it over those seconds, so that a link that slowed down is seen before the
    write ends.  The bound replaces the estimate where it is lower.

    Parameters
    ----------
    max_message_seconds : float, default=0.05
        How long a message is meant to occupy the link.
    """

    def __init__(self, max_message_seconds: float = 0.05):
        self.max_message_seconds = float(max_message_seconds)
        self.bytes = 0
        self.seconds = 0.0
        self.capacity = None  # the smoothed estimate of finished writes

    def update(self, metrics: dict):
        """The capacity after the report ``metrics`` (None until something was measured)."""
        d_bytes = metrics.get("bytes_sent", 0) - self.bytes
        d_secs = metrics.get("send_seconds", 0.0) - self.seconds
        self.bytes, self.seconds = metrics.get("bytes_sent", 0), metrics.get("send_seconds", 0.0)
        if d_bytes > 0 and d_secs > 0:
            c = d_bytes / d_secs
            self.capacity = c if self.capacity is None else 0.5 * self.capacity + 0.5 * c
        busy, busy_bytes = metrics.get("inflight_seconds", 0.0), metrics.get("inflight_bytes", 0)
        if busy > 0 and busy_bytes:
            delivered = busy_bytes
            if busy > self.max_message_seconds:
                delivered -= min(busy_bytes - 1, metrics.get("inflight_unacked", 0))
            if self.capacity is None or delivered / busy < self.capacity:
                # the estimate itself comes down: a write that is cut or fails adds no sample, and
                # an estimate that went back up with it would size the next message for the old link
                self.capacity = delivered / busy
        return self.capacity


class _FitRecord:
    def __init__(self, tasks: dict, policy: IntervalPolicy, history_length: int):
        self.tasks = dict(tasks)  # task -> worker address (the topic's subscribers)
        self.workers = dict(tasks)  # task -> worker address, kept for the history
        self.lost: dict = {}  # task -> worker address, for tasks whose worker left
        self.policy = policy
        self.decisions = {t: policy.decide(t, {}, {}) for t in tasks}
        self.history: deque = deque(maxlen=history_length)  # bounded: memory flat in long fits
        self.started = time.time()
        self.finished: dict = {}  # task -> {dest task: shares written to it} (merge="pairwise")
        self.settled = asyncio.Event()  # set once every task has finished or was lost, or the fit ended
        self.class_counts: dict = {}  # task -> its shard's rows per class (Dask collections)
        self.reported: set = set()  # the tasks that have reported: they run
        self.latest: dict = {}  # task -> its newest report (the client's progress bar reads it)
        self.meters: dict = {}  # task -> LinkMeter, where the policy keeps none
        self.memory: dict = {}  # worker address -> the highest share of its memory_limit it used, as seen
        self.worker_states: dict = {}  # worker address -> its WorkerState (read after it left too)
        self.orders: dict = {}  # task -> what the client changed of its run (``max_iter``), sent with each answer

    def all_finished(self) -> bool:
        return all(t in self.finished or t in self.lost for t in self.workers)


class BalanceSchedulerPlugin(SchedulerPlugin):
    """The scheduler half of dask-asgd (one per cluster, safe with several fits at once)."""

    idempotent = True
    name = PLUGIN_NAME

    def __init__(self):
        self.fits: dict = {}
        self.scheduler = None  # set when the scheduler starts the plugin

    async def start(self, scheduler):
        self.scheduler = scheduler
        _metrics.register(self)  # the fits' live series on the scheduler's /metrics
        _dashboard.register(scheduler, self)  # ... and a page on its dashboard
        _compat.register_scheduler_handler(scheduler, REPORT_OP, self.report)
        _compat.register_scheduler_handler(scheduler, FINISH_OP, self.finish)

    # ------------------------------------------------------------------ scheduler events
    def remove_worker(self, scheduler, worker, **kwargs):
        for rec in self.fits.values():
            if worker in rec.worker_states:  # its last heartbeat's memory: why it left, most likely
                self._note_memory(rec, [worker])
            for task, addr in list(rec.tasks.items()):
                if addr == worker:
                    rec.lost[task] = rec.tasks.pop(task)
            if rec.finished and rec.all_finished():  # the tasks waiting in ``finish`` can go
                rec.settled.set()

    # ------------------------------------------------------------------ handlers
    def report(self, fit=None, task=None, metrics=None):
        rec = self.fits.get(fit)
        if rec is None:  # the fit has ended: its tasks stop
            return {"stop": True}
        rec.reported.add(task)
        metrics = dict(metrics or {})
        counts = metrics.pop("class_counts", None)  # a task's first report: its shard's class mix
        if counts is not None:
            rec.class_counts[task] = counts
        now = time.time()
        metrics["time"] = now - rec.started  # seconds since the fit registered with the plugin
        metrics["clock"] = now  # the scheduler's wall clock (to line reports up with other records)
        metrics["task"] = task
        metrics["worker"] = rec.workers.get(task)
        self._note_memory(rec, [metrics["worker"]])
        decision = dict(rec.policy.decide(task, metrics, rec.decisions.get(task, {})))
        if "capacity" in decision:  # the adaptive law measured it
            capacity = decision.pop("capacity")
        else:  # measured for the operator's sake
            capacity = rec.meters.setdefault(task, LinkMeter()).update(metrics)
        rec.decisions[task] = decision
        metrics["capacity"] = float("nan") if capacity is None else float(capacity)
        metrics["next_sync_interval"] = decision["sync_interval"]
        metrics["next_n_blocks"] = decision["n_blocks"]
        rec.history.append(metrics)
        rec.latest[task] = metrics
        return {"stop": False, "peers": rec.tasks, **decision, **rec.orders.get(task, {})}

    async def finish(self, fit=None, task=None, shares=None, wait=0.0):
        """merge="pairwise": ``task`` has stopped training and every share it owes is written
        (``shares``: how many it wrote to each task).  Answers whether every task of the fit has
        finished or was lost, and how many shares were written to ``task`` (it waits for them).
        With ``wait`` > 0 the answer waits, at most that many seconds, for the last task to
        finish, and leaves the moment it does (a task polling instead left up to a poll period
        after the other, which on a fit of 50 ms was a tenth of it)."""
        rec = self.fits.get(fit)
        if rec is None:  # the fit has ended: its tasks stop
            return {"stop": True}
        rec.finished[task] = {int(k): int(v) for k, v in (shares or {}).items()}
        if rec.all_finished():
            rec.settled.set()
        elif wait and wait > 0:
            try:
                await asyncio.wait_for(rec.settled.wait(), timeout=float(wait))
            except asyncio.TimeoutError:
                pass
            if self.fits.get(fit) is not rec:  # ended while waiting
                return {"stop": True}
        expected = {src: sent.get(task, 0) for src, sent in rec.finished.items() if src != task}
        return {"stop": False, "all_finished": rec.all_finished(), "expected": expected}

    # ------------------------------------------------------------------ client calls
    def register_fit(self, fit: str, tasks: dict, policy: IntervalPolicy, history_length: int = 100_000) -> None:
        rec = self.fits[fit] = _FitRecord(tasks, policy, history_length)
        self._hold_worker_states(rec)

    def _hold_worker_states(self, rec: _FitRecord) -> None:
        if self.scheduler is None:
            return
        for addr in set(rec.tasks.values()):
            ws = self.scheduler.workers.get(addr)
            if ws is not None:
                rec.worker_states[addr] = ws

    def _note_memory(self, rec: _FitRecord, addresses) -> None:
        """Keep the highest process memory each of the fit's workers reported (its last
        heartbeat) as a share of its memory_limit: a worker lost near its limit was most likely
        restarted by its nanny for memory (``distributed.worker.memory.terminate``)."""
        workers = {} if self.scheduler is None else self.scheduler.workers
        for addr in addresses:
            ws = workers.get(addr) or rec.worker_states.get(addr)
            if ws is not None and ws.memory_limit:
                share = float(ws.metrics.get("memory", 0) or 0) / float(ws.memory_limit)
                rec.memory[addr] = max(rec.memory.get(addr, 0.0), share)

    def add_task(self, fit: str, task: int, worker: str):
        """A task started while the fit runs (on a worker that joined, or in place of a lost
        one): a topic subscriber the other tasks learn of with their next answer.  Returns the
        fit's tasks now (task -> worker address), or None if the fit has ended."""
        rec = self.fits.get(fit)
        if rec is None:
            return None
        rec.tasks[task] = worker
        rec.workers[task] = worker
        rec.decisions[task] = rec.policy.decide(task, {}, {})
        self._hold_worker_states(rec)
        return dict(rec.tasks)

    def set_max_iter(self, fit: str, task: int, max_iter: int) -> None:
        """Have ``task`` stop after epoch ``max_iter`` (a task that joined took over the rest)."""
        rec = self.fits.get(fit)
        if rec is not None:
            rec.orders.setdefault(task, {})["max_iter"] = int(max_iter)

    def end_fit(self, fit: str) -> dict:
        """Forget the fit: a task of it that reports from now on is told to stop."""
        rec = self.fits.pop(fit, None)
        if rec is None:
            return {"history": [], "lost": {}, "memory": {}}
        rec.settled.set()  # a task still waiting in ``finish`` is told to stop
        return {"history": list(rec.history), "lost": rec.lost, "memory": dict(rec.memory)}

    def fit_status(self, fit: str) -> dict:
        """What the client polls while a fit runs: the tasks lost with their worker, the class
        counts the tasks of a Dask collection reported, the tasks that have not reported yet
        and whose worker is paused (memory above ``distributed.worker.memory.pause``): a paused
        worker starts no task, and a fit's tasks may run on their own worker only; and the
        counters of each task's newest report that the client's progress bar shows
        (``PROGRESS_FIELDS``; tasks that have not reported are not in it); and the cluster's
        running workers with their thread counts (a worker that joined takes part in the fit)."""
        rec = self.fits.get(fit)
        all_workers = {} if self.scheduler is None else self.scheduler.workers
        workers = {a: ws.nthreads for a, ws in all_workers.items() if not _is_paused(ws)}
        if rec is None:
            return {"lost": {}, "class_counts": {}, "paused": {}, "progress": {}, "workers": workers}
        paused = {
            task: addr
            for task, addr in rec.tasks.items()
            if task not in rec.reported and _is_paused(self.scheduler.workers.get(addr))
        }
        progress = {task: {k: m.get(k, 0) for k in PROGRESS_FIELDS} for task, m in rec.latest.items()}
        self._note_memory(rec, set(rec.tasks.values()))
        return {
            "lost": dict(rec.lost),
            "class_counts": dict(rec.class_counts),
            "paused": paused,
            "progress": progress,
            "workers": workers,
        }


def _is_paused(ws) -> bool:
    """A worker distributed paused for memory (it starts no task)."""
    return ws is not None and getattr(ws.status, "name", "") == "paused"


def paused_workers(dask_scheduler=None):
    """``(paused worker addresses, number of workers)`` of the cluster."""
    return [a for a, ws in dask_scheduler.workers.items() if _is_paused(ws)], len(dask_scheduler.workers)


def memory_limits(dask_scheduler=None) -> dict:
    """Each worker's memory limit in bytes (0: none)."""
    return {a: int(ws.memory_limit or 0) for a, ws in dask_scheduler.workers.items()}


def _plugin(dask_scheduler) -> BalanceSchedulerPlugin:
    return dask_scheduler.plugins[PLUGIN_NAME]


def register_fit(fit, tasks, policy, history_length=100_000, dask_scheduler=None):
    _plugin(dask_scheduler).register_fit(fit, tasks, policy, history_length)


def add_task(fit, task, worker, dask_scheduler=None):
    return _plugin(dask_scheduler).add_task(fit, task, worker)


def set_max_iter(fit, task, max_iter, dask_scheduler=None):
    _plugin(dask_scheduler).set_max_iter(fit, task, max_iter)


def end_fit(fit, dask_scheduler=None):
    return _plugin(dask_scheduler).end_fit(fit)


def fit_status(fit, dask_scheduler=None):
    return _plugin(dask_scheduler).fit_status(fit)
