"""A fit on a cluster that changes while it runs.

A worker that joins (an adaptive dask-jobqueue cluster's new job, a worker started by hand)
takes part: each of its threads gets a task on the shard with the most epochs left per task
training it.  The new task starts from the current model of a task on that shard, on the same
rows (Dask copies them to the new worker, or a streamed shard's blocks are read there).  The
tasks of one shard share its remaining epochs: once a second each is told its last epoch, in
proportion to the epochs a second it trains, so that they end together (a task that starts
late, on a worker that has just started, takes less).  They stand for the shard together in the
final combine, each with an equal share.

The rows of a task lost with its worker are trained again: a new task on a worker with a free
thread (one that joined, a nanny's restart of the lost one, or one whose tasks have finished)
starts from the model a surviving task had when the loss was seen, at the lost task's epoch,
for the epochs and the training time that are left.  Until a thread is free it waits: placed
beside a running task on a worker of one thread, it would only start once that task ends.  Its
rows come back as Dask can give them: in-memory input is scattered again from the client, a
streamed shard reads its blocks again, a persisted collection's lost blocks are recomputed by
Dask from their graph.

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
    know of them (``label``).

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
        # the tasks that train one shard: task -> its shard's placed task; each one's epoch
        # counter when it started; the epochs the shard gets in all
        self.family = {t: t for t in self.shards}
        self.counted_from = {t: 0 for t in self.shards}
        self.target = {t: int(spec.model.max_iter) for t in self.shards}
        self.seen: dict = {}  # task -> (time, epochs) of the last progress read
        self.rate: dict = {}  # task -> epochs a second
        self.origins: dict = {}  # task -> ("joined" | "retrained", the task it came from)
        self.retrained: dict = {}  # lost task -> the task that trains its rows again
        self.given_up: set = set()  # lost tasks whose rows could not be trained again (no time left)
        # lost tasks waiting for a free thread -> (the surviving model when the loss was seen, or
        # None; the lost task's last reported epochs; its shard's epochs done then)
        self.deferred: dict = {}
        self.rng = np.random.default_rng(seed)
        # when the tasks began training (their max_time counts from there, after the kernels
        # are compiled): the first poll that saw a report, less a report period
        self.started = None

    # ------------------------------------------------------------------ the poll
    def update(self, status: dict, pending: dict, lost: dict) -> dict:
        """Start the tasks the status calls for; returns them as ``{task: future}``.
        ``pending``: the tasks still running; ``lost``: every task lost so far."""
        new = {}
        if self.started is None and status.get("progress"):
            self.started = time.monotonic() - float(self.spec.report_interval)
        if self.retrain:
            for task in sorted(lost):
                if task in self.retrained or task in self.given_up or task not in self.family:
                    continue
                others = [t for t in self._members(self.family[task]) if t in pending]
                if others:  # the other tasks of its shard train its rows: they share its epochs
                    self.retrained[task] = others[0]
                    self.deferred.pop(task, None)
                    continue
                # once: a task that trains lost rows again and is lost too is not replaced (a
                # shard that ends every worker it is on, by its memory, would go round for ever)
                if task not in self.origins_retrained():
                    started = self._retrain(task, status, pending, force=not pending)
                    if started is not None:
                        new.update(started)
                        pending = {**pending, **started}
        self._rates(status.get("progress", {}))
        workers = status.get("workers", {})
        for addr in sorted(a for a in workers if a not in self.known):
            self.known.add(addr)
            if not self.join:
                continue
            for _ in range(self._free(workers, pending).get(addr, 0)):
                started = self._join(addr, status, pending)
                if started is None:
                    break
                new.update(started)
                pending = {**pending, **started}
        self._share_epochs(status.get("progress", {}), pending)
        return new

    def _free(self, workers: dict, pending: dict) -> dict:
        """Free threads of each worker (``workers``: address -> threads) beside the tasks of
        this fit still running there."""
        free = {a: int(n) for a, n in workers.items()}
        for task in pending:
            addr = self.workers.get(task)
            if addr in free:
                free[addr] -= 1
        return free

    def origins_retrained(self) -> set:
        return {t for t, (kind, _) in self.origins.items() if kind == "retrained"}

    def _members(self, family: int) -> list:
        return [t for t, f in self.family.items() if f == family]

    def _done(self, family: int, progress: dict) -> float:
        """Epochs the tasks of a shard have trained over it (a lost task's included: its
        epochs are where the task that replaces it starts)."""
        return sum(
            max(0.0, float(progress.get(t, {}).get("epochs", self.counted_from[t])) - self.counted_from[t])
            for t in self._members(family)
        )

    def _rates(self, progress: dict) -> None:
        now = time.monotonic()
        for t, p in progress.items():
            e = float(p.get("epochs", 0.0))
            if t in self.seen and now > self.seen[t][0] and e > self.seen[t][1]:
                r = (e - self.seen[t][1]) / (now - self.seen[t][0])
                self.rate[t] = r if t not in self.rate else 0.5 * self.rate[t] + 0.5 * r
            if t not in self.seen or e != self.seen[t][1]:
                self.seen[t] = (now, e)

    def _share_epochs(self, progress: dict, pending: dict) -> None:
        """Tell the tasks of each shard trained by more than one their last epoch: the shard's
        remaining epochs shared in proportion to each one's epochs a second (a task that has
        not reported keeps what it was given)."""
        from .balance import set_max_iter

        families = {self.family[t] for t in pending if t in self.family}
        for fam in families:
            members = self._members(fam)
            if len(members) < 2:
                continue
            live = [t for t in members if t in pending and t in progress and self.rate.get(t, 0.0) > 0]
            if not live:
                continue
            left = self.target[fam] - self._done(fam, progress)
            for t in members:  # a task without a rate yet keeps the epochs it was given
                if t in pending and t not in live:
                    e = float(progress.get(t, {}).get("epochs", self.counted_from[t]))
                    left -= max(0.0, self.max_iter[t] - e)
            total = sum(self.rate[t] for t in live)
            for t in live:
                e = float(progress[t]["epochs"])
                last = e + max(0.0, left) * self.rate[t] / total
                last = max(math.ceil(e - 1e-9), int(round(last)), 1)
                if last != self.max_iter[t]:
                    self.client.run_on_scheduler(set_max_iter, self.fit_id, t, last)
                    self.max_iter[t] = last

    # ------------------------------------------------------------------ joining workers
    def _join(self, addr: str, status: dict, pending: dict):
        """A task on ``addr`` for the shard with the most epochs left per task training it, from
        the model of the task furthest along on it (none if no shard has an epoch to give)."""
        from ._data import LocalRef, _in_this_process

        progress = status.get("progress", {})
        best, most = None, 0.0
        for fam in {self.family[t] for t in pending if t in self.family}:
            live = [t for t in self._members(fam) if t in pending and t in progress]
            shard = self.shards[fam]
            if not live:
                continue  # not reported yet: still starting
            if shard.X and isinstance(shard.X[0], LocalRef) and not _in_this_process([addr]):
                continue  # the rows are the client's own arrays, which a worker process cannot read
            left = self.target[fam] - self._done(fam, progress)
            per_task = left * shard.n_samples / (len(live) + 1)
            if left >= 1.0 and per_task > most:
                best, most = fam, per_task
        if best is None:
            return None
        live = [t for t in self._members(best) if t in pending and t in progress]
        donor = max(live, key=lambda t: float(progress[t].get("epochs", 0.0)))
        snap = self._snapshot(donor)
        if snap is None:
            return None
        start = int(math.floor(float(snap["epochs"])))  # the new task's epochs count from the donor's
        left = self.target[best] - self._done(best, progress)
        first = start + max(1, int(math.ceil(left / (len(live) + 1))))  # until its rate is known
        return self._start(addr, self.shards[best], snap, start, first, "joined", donor, family=best)

    # ------------------------------------------------------------------ lost tasks
    def _retrain(self, lost_task: int, status: dict, pending: dict, force: bool = False):
        """A task that trains the rows of ``lost_task`` again, from a surviving task's model: on
        the worker with the most free threads; none free, it waits (``deferred``) unless
        ``force`` (no task runs any more: every thread is free)."""
        progress = status.get("progress", {})
        if lost_task not in self.deferred:  # the surviving model as the loss is seen
            snap = None
            for task in sorted(pending, key=lambda t: -float(progress.get(t, {}).get("epochs", 0.0))):
                snap = self._snapshot(task)
                if snap is not None:
                    break
            # from a surviving task's model, at the lost task's epoch; with none running, from the start
            epochs = float(progress.get(lost_task, {}).get("epochs", 0.0)) if snap is not None else 0.0
            self.deferred[lost_task] = (snap, epochs, self._done(self.family[lost_task], progress))
        free = self._free(status.get("workers", {}), pending)
        if not free:  # no worker left: wait for one while tasks run, else give the rows up
            if force:
                self.deferred.pop(lost_task)
                self.given_up.add(lost_task)
            return None
        addr = max(sorted(free), key=lambda a: free[a])
        if free[addr] <= 0 and not force:
            return None  # at the next poll: a worker that joins or a task that ends frees a thread
        snap, epochs, done = self.deferred.pop(lost_task)
        shard = self._replace_shard(lost_task)
        shard = None if shard is None else shard(addr)
        if shard is None:
            self.given_up.add(lost_task)
            return None
        fam = self.family[lost_task]
        start = int(math.floor(epochs))
        left = self.target[fam] - done  # its shard's epochs as the loss was seen (no task of it runs)
        last = start + max(1, int(math.ceil(left))) if snap is not None else self.target[fam]
        task = self._start(addr, shard, snap, start, last, "retrained", lost_task, family=fam)
        if task is None:  # not tried again at the next poll
            self.given_up.add(lost_task)
            return None
        self.retrained[lost_task] = next(iter(task))
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
            from ._data import scatter_rows

            X, y, sw = scatter_rows(self.client, arrays, ranges, addr, shard.y is not None, shard.sw is not None)
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

    def _start(self, addr, shard, snap, start_epoch: int, max_iter: int, origin: str, of: int, family: int):
        """Start a task on ``addr`` over ``shard`` from ``snap`` (None: the fit's starting model),
        its epochs counted from ``start_epoch`` up to ``max_iter``, within the training time left."""
        spec = self.spec
        model = spec.model if snap is None else spec.model.resumed(snap)
        if model is None:
            return None
        max_time = spec.max_time
        if max_time and self.started is not None:
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
        self.family[task] = family
        self.counted_from[task] = int(start_epoch)
        return {task: self.submit(task, shard, spec)}

    # ------------------------------------------------------------------ the end
    def epochs(self, results) -> int:
        """The epochs the fit ran, as ``n_iter_`` reports them: the most any shard got, its
        tasks' epochs added up (a task that joined counts its own from where it started)."""
        by_family: dict = {}
        for r in results:
            by_family.setdefault(self.family.get(r.task, r.task), []).append(r)
        most = 0
        for members in by_family.values():
            starts = [self.counted_from.get(r.task, 0) for r in members]
            most = max(most, min(starts) + sum(r.n_iter - s for r, s in zip(members, starts)))
        return int(most)

    def label(self, results) -> None:
        """Mark each result with how its task came to be and the share of its shard's rows it
        stands for: the tasks of one shard that returned a model share it equally."""
        returned: dict = {}
        for r in results:
            fam = self.family.get(r.task, r.task)
            returned[fam] = returned.get(fam, 0) + 1
        for r in results:
            r.origin, r.origin_task = self.origins.get(r.task, ("placed", -1))
            r.weight = 1.0 / returned[self.family.get(r.task, r.task)]
