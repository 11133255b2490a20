"""A fit on a cluster that changes while it runs.

A worker that joins (an adaptive dask-jobqueue cluster's new job, a worker started by hand)
takes part: for each of its threads, the running task with the most work left hands it half of
its remaining epochs.  The new task starts from that task's current model, on the same rows
(Dask copies them to the new worker, or a streamed shard's blocks are read there), and the two
then stand for half of the shard each in the final combine.

The rows of a task lost with its worker are trained again: a new task on the least busy
surviving worker (or on one that joined) starts from a surviving task's current model, at the
lost task's epoch, for the epochs and the training time that are left.  Its rows come back as
Dask can give them: in-memory input is scattered again from the client, a streamed shard reads
its blocks again, a persisted collection's lost blocks are recomputed by Dask from their graph.

The client drives both from the status it polls once a second (``_fit._wait_for_tasks``).
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np

from . import config


class Elastic:
    """The tasks a running fit starts after its placement, and what the final combine needs to
    know of them (``origins``, ``weights``).

    ``submit(task, shard, spec) -> future`` starts one training task; ``shards``: the placed
    tasks' shards (``_data.Shard``); ``workers``: every worker of the cluster when the fit
    started (a worker not among them has joined); ``join``: whether joining workers take part
    (``n_workers=None``)."""

    def __init__(self, client, fit_id: str, spec, shards: list, workers, submit, join: bool, seed: int):
        self.client = client
        self.fit_id = fit_id
        self.spec = spec
        self.submit = submit
        self.shards = dict(enumerate(shards))  # task -> the shard it trains
        self.workers = dict(spec.peers)  # task -> worker address, every task the fit started
        self.known = set(workers)
        self.join = bool(join) and bool(config.get("join-workers"))
        self.retrain = bool(config.get("retrain-lost"))
        self.max_iter = {t: int(spec.model.max_iter) for t in self.shards}  # as the task was told
        self.weights = {t: 1.0 for t in self.shards}
        self.origins: dict = {}  # task -> ("joined" | "retrained", the task it came from)
        self.retrained: dict = {}  # lost task -> the task that trains its rows again
        self.rng = np.random.default_rng(seed)
        self.started = time.monotonic()

    # ------------------------------------------------------------------ the poll
    def update(self, status: dict, pending: dict, lost: dict) -> dict:
        """Start the tasks the status calls for; returns them as ``{task: future}``.
        ``pending``: the tasks still running; ``lost``: every task lost so far."""
        new = {}
        if self.retrain:
            for task in sorted(lost):
                # once: a task that trains lost rows again and is lost too is not replaced (a
                # shard that ends every worker it is on, by its memory, would go round for ever)
                if task not in self.retrained and task in self.shards and task not in self.origins_retrained():
                    started = self._retrain(task, status, pending)
                    if started is not None:
                        new.update(started)
                        pending = {**pending, **started}
        workers = status.get("workers", {})
        for addr in sorted(a for a in workers if a not in self.known):
            self.known.add(addr)
            if not self.join:
                continue
            for _ in range(int(workers[addr])):
                started = self._join(addr, status, pending)
                if started is None:
                    break
                new.update(started)
                pending = {**pending, **started}
        return new

    def origins_retrained(self) -> set:
        return {t for t, (kind, _) in self.origins.items() if kind == "retrained"}

    # ------------------------------------------------------------------ joining workers
    def _join(self, addr: str, status: dict, pending: dict):
        """A task on ``addr`` that takes over half the remaining epochs of the running task with
        the most work left (none if no task has an epoch to give)."""
        from ._data import LocalRef, _in_this_process

        progress = status.get("progress", {})
        best, most = None, 0.0
        for task in pending:
            shard = self.shards.get(task)
            if task not in progress or shard is None:
                continue  # not reported yet: still starting
            if isinstance(shard.X[0], LocalRef) and not _in_this_process([addr]):
                continue  # the rows are the client's own arrays, which a worker process cannot read
            left = (self.max_iter[task] - float(progress[task].get("epochs", 0.0))) * shard.n_samples
            left *= self.weights[task]
            if left > most:
                best, most = task, left
        if best is None:
            return None
        snap = self._snapshot(best)
        if snap is None:
            return None
        e, end = float(snap["epochs"]), int(snap["max_iter"])
        keep = max(math.ceil(e), int(round((end + e) / 2.0)))  # the donor's last epoch from now on
        if keep >= end:
            return None  # less than an epoch to give
        from .balance import set_max_iter

        self.client.run_on_scheduler(set_max_iter, self.fit_id, best, keep)
        self.max_iter[best] = keep
        start = int(math.floor(e))  # the new task's epochs count from the donor's
        task = self._start(addr, self.shards[best], snap, start, start + (end - keep), "joined", best)
        if task is None:
            return None
        self.weights[best] /= 2.0
        self.weights[next(iter(task))] = self.weights[best]
        return task

    # ------------------------------------------------------------------ lost tasks
    def _retrain(self, lost_task: int, status: dict, pending: dict):
        """A task that trains the rows of ``lost_task`` again, from a surviving task's model."""
        shard = self._replace_shard(lost_task)
        if shard is None:
            return None
        alive = set(status.get("workers", {}))
        busy = {a: 0 for a in alive}
        for task in pending:
            addr = self.workers.get(task)
            if addr in busy:
                busy[addr] += 1
        if not busy:
            return None
        addr = min(sorted(busy), key=lambda a: busy[a])  # a worker that joined has no task yet
        shard = shard(addr)
        if shard is None:
            return None
        snap = None
        for task in sorted(pending, key=lambda t: -float(status.get("progress", {}).get(t, {}).get("epochs", 0.0))):
            snap = self._snapshot(task)
            if snap is not None:
                break
        # from a surviving task's model, at the lost task's epoch; with none running, from the start
        epochs = float(status.get("progress", {}).get(lost_task, {}).get("epochs", 0.0)) if snap is not None else 0.0
        task = self._start(addr, shard, snap, int(math.floor(epochs)), self.max_iter[lost_task], "retrained", lost_task)
        if task is None:
            return None
        new = next(iter(task))
        self.retrained[lost_task] = new
        self.weights[new] = self.weights[lost_task]
        return task

    def _replace_shard(self, task: int):
        """A function of a worker address that gives ``task``'s shard there, or None where the
        rows cannot come back (a collection's blocks that Dask cannot recompute fail the new task,
        which then counts as lost too)."""
        shard = self.shards[task]
        source = getattr(shard, "source", None)
        if source is None:  # a stream's graphs, a persisted collection's futures, an in-process array
            return lambda addr: replace(shard, worker=addr)
        arrays, ranges = source

        def scatter(addr):
            held = list(
                self.client.scatter([tuple(a[lo:hi] for lo, hi in ranges) for a in arrays], workers=[addr], hash=False)
            )
            X = [held.pop(0)]
            y = [held.pop(0)] if shard.y is not None else None
            sw = [held.pop(0)] if shard.sw is not None else None
            return replace(shard, worker=addr, X=X, y=y, sw=sw)

        return scatter

    # ------------------------------------------------------------------ starting a task
    def _snapshot(self, task: int):
        from ._engine.task import snapshot

        addr = self.workers.get(task)
        try:
            return self.client.run(snapshot, self.fit_id, task, workers=[addr]).get(addr)
        except Exception:  # the worker left meanwhile
            return None

    def _start(self, addr, shard, snap, start_epoch: int, max_iter: int, origin: str, of: int):
        """Start a task on ``addr`` over ``shard`` from ``snap`` (None: the fit's starting model),
        its epochs counted from ``start_epoch`` up to ``max_iter``, within the training time left."""
        spec = self.spec
        model = spec.model if snap is None else spec.model.resumed(snap)
        if model is None:
            return None
        max_time = spec.max_time
        if max_time:
            max_time -= time.monotonic() - self.started
            if max_time <= 2.0 * float(spec.report_interval):
                return None  # too little time left to train
        task = max(self.workers) + 1
        from .balance import add_task

        peers = self.client.run_on_scheduler(add_task, self.fit_id, task, addr)
        if peers is None:
            return None  # the fit has ended
        self.workers[task] = addr
        spec = replace(
            spec,
            model=replace(model, max_iter=int(max_iter)),
            peers=peers,
            seeds={**spec.seeds, task: int(self.rng.integers(0, 2**31 - 1))},
            start_epoch=int(start_epoch),
            max_time=max_time,
        )
        shard = replace(shard, worker=addr)
        self.shards[task] = shard
        self.max_iter[task] = int(max_iter)
        self.origins[task] = (origin, int(of))
        return {task: self.submit(task, shard, spec)}

    # ------------------------------------------------------------------ the end
    def label(self, results) -> None:
        """Mark each result with how its task came to be and the share of rows it stands for."""
        for r in results:
            r.origin, r.origin_task = self.origins.get(r.task, ("placed", -1))
            r.weight = float(self.weights.get(r.task, 1.0))
