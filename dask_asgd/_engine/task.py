"""The long-running training task on a worker, for any model family.

``TaskLoop`` is the Dask task around a model's ``ShardTrainer``: it secedes, subscribes to the
fit's topic, and between kernel chunks hands received states to the trainer, publishes its state
on the ``PublishSchedule``, keeps the ``PairwiseLedger`` of merge="pairwise", reports its
``TaskMetrics`` to the scheduler plugin and takes the plugin's decisions.
"""

from __future__ import annotations

import concurrent.futures
import math
import time

import numpy as np

from . import sharing
from .messages import USER_ERRORS, TaskError, TaskMetrics, TaskResult
from .spec import EngineSpec
from .stream import BlockStream

SETTLE_WAIT_SECONDS = 0.5  # merge="pairwise": the longest the scheduler holds a finished task's question

# the tasks training in this worker process: (fit, task) -> TaskLoop (``snapshot`` reads them)
_RUNNING: dict = {}


def snapshot(fit: str, task: int):
    """The current model of a task training in this process, for a task that starts from it
    while the fit runs (``_elastic``; called through ``Client.run`` on the task's worker):
    ``{"state", "resume", "epochs", "max_iter"}``, or None if the task is not training.  Read
    while the kernel may be writing it: a state a few updates apart, as a received state is."""
    loop = _RUNNING.get((fit, int(task)))
    if loop is None or loop.trainer.done:
        return None
    trainer = loop.trainer
    return {
        "state": trainer.model(),
        "resume": trainer.resume_args(),
        "epochs": trainer.epoch + loop._epoch_fraction(),
        "max_iter": trainer.max_iter,
    }


class PublishSchedule:
    """When a task publishes and which block of its state.

    ``interval`` mini-batches between publishes (the policy's decision under "auto"), and with
    "auto" a clock too: at most one publish per ``min_period`` seconds, the first one
    ``min_period`` after training starts (through the measured seconds per mini-batch alone,
    the first mini-batches, slow on cold caches, would let publishes out in a fit's first
    milliseconds).  The state leaves as ``n_blocks`` rotating blocks.
    """

    def __init__(self, interval: int, n_blocks: int, auto: bool, min_period: float):
        self.interval = int(interval)
        self.n_blocks = max(1, int(n_blocks))
        self.auto = bool(auto)
        self.min_period = float(min_period)
        self.block = 0
        self.since = 0  # mini-batches since the last publish
        self.next_time = time.monotonic() + self.min_period if self.auto else 0.0
        self.waiting = False  # a publish is due, but the send path to every peer is busy
        self.deferred = 0  # checks that found it busy

    def floor_interval(self, per_batch) -> None:
        """ "auto" never publishes more often than every ``min_period`` seconds: below that, the
        Python work per message costs more training than the exchange gives."""
        if self.auto and per_batch is not None:
            self.interval = max(self.interval, int(math.ceil(self.min_period / max(per_batch, 1e-9))))

    def batches_before_next(self, cap: int, per_batch) -> int:
        """Mini-batches to run before the next look at publishing (at most ``cap``)."""
        if self.interval <= 0 or self.waiting:
            return cap
        left = self.interval - self.since
        return min(cap, batches_to_publish(left, per_batch, self.next_time - time.monotonic() if self.auto else 0.0))

    def due(self) -> bool:
        return self.interval > 0 and self.since >= self.interval and time.monotonic() >= self.next_time

    def published(self) -> int:
        """A publish went out (or was skipped with no peer free): returns the block to send."""
        self.since = 0
        if self.auto:
            self.next_time = time.monotonic() + self.min_period
        block = self.block
        self.block = (self.block + 1) % self.n_blocks
        return block

    def decided(self, interval: int, n_blocks: int) -> None:
        """The policy's new decision; the block rotation restarts inside the new block count."""
        self.interval = int(interval)
        self.n_blocks = max(1, int(n_blocks))
        self.block %= self.n_blocks


class PairwiseLedger:
    """merge="pairwise": the shares of merges this task owes its senders, and the shares that
    receivers of its states returned to it.  A share whose send path is busy waits and adds up
    with later ones (none is dropped); shares owed to a task that left the fit are forgotten."""

    def __init__(self, trainer, plugin, fit: str, task_id: int):
        self.trainer = trainer
        self.plugin = plugin
        self.fit = fit
        self.task_id = task_id
        self.owed: dict = {}  # (task, lo, n) -> share of a merge not yet sent back

    def apply_received(self, inbox) -> None:
        """Subtract the shares of our states that receivers sent back."""
        for _src, lo, share in inbox.take_replies():
            share = self.trainer.valid_block(lo, share)
            if share is not None:
                self.trainer.subtract(int(lo), share)

    def return_owed(self, peers: dict) -> None:
        """Send each sender the share of this task's last merge that came from its state."""
        for src, lo, share in self.trainer.take_replies():
            key = (src, lo, share.shape[0])
            self.owed[key] = share if key not in self.owed else self.owed[key] + share
        for key in list(self.owed):
            dest, lo, _ = key
            if dest not in peers:
                del self.owed[key]
            elif not self.plugin.busy(self.fit, self.task_id, dest, lo, reply=True):
                self.plugin.publish(
                    self.fit,
                    self.task_id,
                    [(dest, peers[dest])],
                    lo,
                    self.owed.pop(key),
                    self.trainer.batches_done,
                    reply=True,
                )

    def settle(self, worker, inbox, peers: dict, timeout: float, finish_op: str) -> float:
        """After training: keep the books of the exchange balanced before leaving.

        Until every task of the fit has finished (or was lost) and every share written to this
        task has arrived, subtract the shares that arrive and write the ones still owed; merge
        nothing more.  A share that a late merge of another task owes this one would otherwise
        be lost, and the states' sum (the model) would keep that task's gain twice.  Bounded by
        ``timeout`` seconds; returns the seconds spent."""
        from .. import _compat

        t0 = time.monotonic()
        deadline = t0 + timeout
        future = None
        next_ask = t0  # the scheduler is asked at once, then at most every 5 ms
        while time.monotonic() < deadline:
            self.apply_received(inbox)
            self.return_owed(peers)
            flushed = not self.owed and not self.plugin.replies_pending(self.fit, self.task_id)
            if future is None and flushed and time.monotonic() >= next_ask:
                next_ask = time.monotonic() + 0.005
                shares = self.plugin.stats(self.fit, self.task_id)["replies_to"]
                # the scheduler answers once the last task has finished (or ``wait`` has passed)
                wait = min(SETTLE_WAIT_SECONDS, max(0.0, deadline - time.monotonic()))
                future = _compat.run_in_loop(
                    worker,
                    _compat.scheduler_call(
                        worker, finish_op, fit=self.fit, task=self.task_id, shares=shares, wait=wait
                    ),
                )
            elif future is not None and future.done():
                try:
                    answer = future.result()
                except Exception:
                    break
                future = None
                if answer.get("stop"):
                    break
                expected = answer.get("expected", {})
                arrived = all(inbox.replies_from.get(int(src), 0) >= n for src, n in expected.items())
                if answer.get("all_finished") and arrived:
                    self.apply_received(inbox)
                    break
            if future is not None:  # back as soon as the scheduler answers (the last task waits on it)
                concurrent.futures.wait([future], timeout=0.002)
            else:
                time.sleep(0.002)
        if future is not None:
            future.cancel()
        return time.monotonic() - t0


class Watch:
    """Calls a fit's monitor (if any) on the task's model, every ``monitor.every`` seconds."""

    def __init__(self, monitor, trainer):
        self.monitor = monitor
        self.trainer = trainer
        self.trace: list = []  # (wall-clock time, samples seen, value)
        self.seconds = 0.0
        self.next = time.monotonic()

    def due(self, now: float) -> bool:
        return self.monitor is not None and now >= self.next

    def call(self, deadline):
        """Call the monitor now; returns ``deadline`` moved by the time the call took."""
        if self.monitor is None:
            return deadline
        t0 = time.monotonic()
        value = self.monitor.fn(*self.trainer.monitor_args())
        self.trace.append((time.time(), int(self.trainer.samples_done), value))
        took = time.monotonic() - t0
        self.seconds += took
        self.next = time.monotonic() + self.monitor.every
        return None if deadline is None else deadline + took


class TaskLoop:
    """One training task of a fit, on its worker: the model's trainer and the exchange around it.

    ``ranges`` (row ranges) or ``rows`` (``_data.RowBlocks``, to gather): the shard's rows in
    the (single, shared) arrays of an in-process cluster.
    """

    def __init__(
        self,
        task_id: int,
        X_parts,
        y_parts,
        sw_parts,
        spec: EngineSpec,
        checked=False,
        ranges=None,
        rows=None,
        stream=None,
    ):
        from distributed import get_worker, secede

        from ..pubsub import PLUGIN_NAME

        self.t_start = time.monotonic()
        self.task_id = int(task_id)
        self.spec = spec
        self.worker = worker = get_worker()
        all_peers = {int(k): v for k, v in spec.peers.items()}
        placed = all_peers.get(self.task_id, worker.address)
        if placed != worker.address:  # peers send to the worker the fit placed the task on
            raise RuntimeError(
                f"dask-asgd: training task {task_id} runs on {worker.address}, not on its shard's worker {placed}"
            )
        own_rows = ranges is None and rows is None
        # rows ordered by their target: shuffled once (own rows), or given as this task's rows to
        # place in a random order (``rows``, in-process clusters)
        shuffled = (spec.shuffle and own_rows) or rows is not None
        shuffle_rng = np.random.default_rng(spec.seeds[task_id] + 2) if shuffled else None
        self.shuffle_rng = shuffle_rng
        self.stream = None
        self.seceded = False
        if stream is not None:  # a streamed shard: its blocks are read on this worker as the epochs go
            secede()  # the worker's threads compute the blocks while this task trains or waits
            self.seceded = True
            order_rng = np.random.default_rng(spec.seeds[task_id] + 3) if spec.shuffle else None
            self.stream = BlockStream(worker, stream.blocks, stream.rows, order_rng)
            X_parts, y_parts, sw_parts, self.first_index, last = self._read_block()
        X, y, sw, self.class_counts = spec.model.prepare(X_parts, y_parts, sw_parts, checked, shuffle_rng, rows)
        self.trainer = spec.model.trainer(X, y, sw, spec.seeds[task_id], spec.n_buffers, ranges)
        if spec.start_epoch:  # started while the fit runs: its epochs go on from the fit's
            self.trainer.epoch = int(spec.start_epoch)
            if self.trainer.epoch >= self.trainer.max_iter:
                self.trainer.done, self.trainer.reason = True, "max_iter"
        if self.stream is not None:
            # rows of the first block the trainer keeps out of training (early stopping's held-out
            # rows) stay out whenever that block comes again
            self.first_ranges = list(self.trainer.ranges)
            self.trainer.stream_rows(self.stream.n_rows)
            self.trainer.more_rows = not last
        self.plugin = worker.plugins[PLUGIN_NAME]
        self.fit = spec.fit_id
        self.peers = {k: v for k, v in all_peers.items() if k != self.task_id}
        # the fit exchanges; whether this task does depends on its peers (``exchange``), which
        # change while it runs (tasks lost, tasks started on workers that joined)
        self.exchanges = spec.sync_interval is not None
        # fits without exchange stay reproducible: only fits that exchange share their epochs
        self.sharing = (
            spec.share_epochs and spec.sync_interval is not None and len(spec.peers) > 1 and self.stream is None
        )
        self.rng = np.random.default_rng(spec.seeds[task_id] + 1)
        self.schedule = PublishSchedule(
            int(spec.sync_interval) if self.exchanges else 0,
            spec.n_blocks,
            self.exchanges and spec.auto_interval,
            spec.min_publish_period,
        )
        self.ledger = PairwiseLedger(self.trainer, self.plugin, self.fit, self.task_id)
        self.per_batch = None  # measured seconds per mini-batch
        self.ages: list = []  # how old merged states were, since the last report
        self.state_bytes = 0  # of the whole state as it travels (known from the first publish)
        self.counts_reported = False
        self.settle_seconds = 0.0
        self.inbox = None
        self.held: dict = {}  # src -> a received block from a task not known yet (``_take_messages``)

    @property
    def exchange(self) -> bool:
        """Whether this task exchanges now: the fit does, and it has a peer to send to."""
        return self.exchanges and bool(self.peers)

    def run(self) -> TaskResult:
        """Train until the trainer is done, ``max_time`` passes or the fit stops; the result."""
        from distributed import secede

        spec, trainer = self.spec, self.trainer
        _RUNNING[(self.fit, self.task_id)] = self
        if self.sharing:
            sharing.join(self.fit, self.task_id, trainer)
        if not self.seceded:
            secede()
        # compile (or load from numba's cache) before subscribing: compiling holds the GIL for
        # seconds, and a task that cannot take messages yet should not be sent any
        trainer.warm_up()
        self.inbox = self.plugin.subscribe(self.fit, self.task_id, spec.n_buffers)
        stop_reason = ""
        report_future = None
        watch = Watch(spec.monitor, trainer)
        try:
            next_report = time.monotonic() + spec.report_interval
            deadline = time.monotonic() + spec.max_time if spec.max_time else None  # training time
            deadline = watch.call(deadline)
            while not trainer.done:
                if self.exchange:
                    self._take_messages()
                self._train_chunk()
                if trainer.rows_done and not trainer.done:
                    self._next_block()
                if self.exchange and self.schedule.due():
                    self._publish()
                now = time.monotonic()
                if watch.due(now):
                    deadline = watch.call(deadline)
                    now = time.monotonic()
                if deadline is not None and now >= deadline:
                    stop_reason = "max_time"
                    break
                if now >= next_report:
                    next_report = now + spec.report_interval
                    if report_future is not None and report_future.done():
                        answer = _result_or_none(report_future)
                        report_future = None
                        if answer is not None and self._take_answer(answer):
                            stop_reason = "stopped"
                            break
                    if report_future is None:
                        report_future = self._report()
            if self.sharing and not stop_reason and trainer.reason in ("max_iter", "converged"):
                sharing.help_others(trainer, self.fit, self.task_id, self.per_batch, spec.chunk_seconds, deadline)
            if stop_reason == "max_time" and trainer.check_input:  # rows the first epoch never reached
                trainer.assert_input_finite()
            if spec.pairwise and self.exchange and stop_reason != "stopped":
                from ..balance import FINISH_OP

                self.settle_seconds = self.ledger.settle(
                    self.worker, self.inbox, self.peers, spec.settle_timeout, FINISH_OP
                )
            watch.call(None)
        finally:
            if report_future is not None:  # nobody will read it: no "exception never retrieved"
                report_future.cancel()
            _RUNNING.pop((self.fit, self.task_id), None)
            if self.sharing:
                sharing.leave(self.fit, self.task_id)
            if self.stream is not None:
                self.stream.close()
            sends = self.plugin.stats(self.fit, self.task_id)
            self.plugin.unsubscribe(self.fit, self.task_id)
        return self._result(sends, stop_reason or trainer.reason, watch)

    # ------------------------------------------------------------------ steps of the loop
    def _read_block(self):
        """A streamed shard's next block as parts: ``(X_parts, y_parts, sw_parts, index, last)``."""
        X, y, sw, index, last = self.stream.next()
        return [X], None if y is None else [y], None if sw is None else [sw], index, last

    def _next_block(self) -> None:
        """A streamed shard: the trained block goes, the next one (read meanwhile) comes."""
        self.trainer.release_rows()
        X_parts, y_parts, sw_parts, index, last = self._read_block()
        X, y, sw, _ = self.spec.model.prepare(X_parts, y_parts, sw_parts, False, self.shuffle_rng, None)
        self.trainer.set_rows(X, y, sw, not last, self.first_ranges if index == self.first_index else None)

    def _blocks(self):
        """A streamed shard's blocks once more, each as ``(X, sw)`` (a model's final pass)."""
        for X, _y, sw in self.stream.each():
            X, _, sw, _ = self.spec.model.prepare([X], None, None if sw is None else [sw], False, None, None)
            yield X, sw

    def _take_messages(self) -> None:
        """Received states into the trainer's slots; returned shares subtracted."""
        for slot, lo, values, _sent, arrived, src in self.inbox.take():
            if src not in self.peers:
                # a task started while the fit runs (this task learns of it with its next
                # answer), or no task of this fit: held until then (the newest per sender)
                self.held[src] = (slot, lo, values, arrived)
                continue
            self._put(slot, lo, values, arrived, src)
        if self.spec.pairwise:  # what peers gained from our states: ours to give up
            self.ledger.apply_received(self.inbox)

    def _put(self, slot, lo, values, arrived, src) -> None:
        """A received block into its trainer slot, once checked (``valid_block``)."""
        values = self.trainer.valid_block(lo, values)
        if values is None:
            return
        self.trainer.put_slot(slot, int(lo), values, src)
        if self.per_batch:  # how old the state is when the kernel merges it, in mini-batches
            self.ages.append((time.monotonic() - arrived) / self.per_batch)

    def _release_held(self) -> None:
        """The held messages after an answer: those of tasks now known go to the trainer, the
        rest (no task of this fit) are dropped as malformed."""
        held, self.held = self.held, {}
        for src, (slot, lo, values, arrived) in held.items():
            if src in self.peers:
                self._put(slot, lo, values, arrived, src)
            else:
                self.trainer.dropped += 1

    def _train_chunk(self) -> None:
        """One kernel call of about ``chunk_seconds``, cut short where a publish falls due."""
        spec, trainer = self.spec, self.trainer
        per_batch = self.per_batch
        cap = 1 if per_batch is None else max(1, int(spec.chunk_seconds / max(per_batch, 1e-9)))
        if trainer.helped:  # another task takes over the end of the epoch: shorter chunks
            cap = max(1, cap // 4)
        if self.exchange:
            self.schedule.floor_interval(per_batch)
            n = self.schedule.batches_before_next(cap, per_batch)
        else:
            n = cap
        before = trainer.batches_done
        t0 = time.perf_counter()
        try:
            trainer.run(n)
        except FloatingPointError as e:
            raise ValueError(str(e)) from None
        ran = trainer.batches_done - before
        if spec.pairwise:
            self.ledger.return_owed(self.peers)
        if ran:
            dt = (time.perf_counter() - t0) / ran
            self.per_batch = dt if per_batch is None else 0.8 * per_batch + 0.2 * dt
        self.schedule.since += ran

    def _publish(self) -> None:
        """Publish to peers whose send path is free: a state published while the previous one is
        still queued or on the wire would only replace it unsent, and copying a big state every
        few mini-batches costs training time; so wait (a chunk at a time) and publish the
        freshest state once the path is free."""
        free = {k: a for k, a in self.peers.items() if not self.plugin.busy(self.fit, self.task_id, k)}
        self.schedule.waiting = bool(self.peers) and not free
        if self.schedule.waiting:
            self.schedule.deferred += 1
            return
        block = self.schedule.published()
        if free:
            lo, values = self.trainer.outgoing(block, self.schedule.n_blocks)
            self.state_bytes = values.nbytes * self.schedule.n_blocks
            self.plugin.publish(
                self.fit,
                self.task_id,
                choose_peers(self.rng, free, self.spec.fanout),
                lo,
                values,
                self.trainer.batches_done,
            )

    def _take_answer(self, answer: dict) -> bool:
        """The scheduler plugin's answer to a report; returns whether the fit must stop."""
        if answer.get("stop"):
            return True
        self.peers = {int(k): v for k, v in answer.get("peers", {}).items() if int(k) != self.task_id}
        self._release_held()
        if "max_iter" in answer:  # the shard's epochs shared with tasks that joined (``_elastic``)
            trainer = self.trainer
            trainer.max_iter = int(answer["max_iter"])
            if trainer.epoch >= trainer.max_iter and not trainer.done:
                trainer.done, trainer.reason = True, "max_iter"
        if self.exchange and self.spec.auto_interval and answer.get("sync_interval"):
            before = self.schedule.n_blocks
            self.schedule.decided(int(answer["sync_interval"]), int(answer.get("n_blocks", before)))
            if self.state_bytes and self.schedule.n_blocks > before:
                # smaller blocks: a write sized for the faster link of before gives up its rest
                self.plugin.cut(self.fit, self.task_id, 2 * self.state_bytes // self.schedule.n_blocks)
        return False

    def _report(self):
        """Send this task's metrics to the scheduler plugin; a concurrent future of its answer."""
        from .. import _compat
        from ..balance import REPORT_OP

        metrics = self.metrics().to_dict()
        if self.class_counts is not None and not self.counts_reported:  # once: the client warns early
            metrics["class_counts"] = self.class_counts
            self.counts_reported = True
        self.ages = []
        return _compat.run_in_loop(
            self.worker,
            _compat.scheduler_call(self.worker, REPORT_OP, fit=self.fit, task=self.task_id, metrics=metrics),
        )

    def _epoch_fraction(self) -> float:
        """The share of the current epoch done (of a streamed one: of all its blocks' rows)."""
        trainer = self.trainer
        if trainer.done:
            return 0.0
        if self.stream is not None:
            return min(1.0, trainer.epoch_samples / max(1, self.stream.n_rows))
        return trainer.pos / trainer.n_batches if trainer.n_batches else 0.0

    def metrics(self) -> TaskMetrics:
        """One live report of this task."""
        trainer, plugin = self.trainer, self.plugin
        sends = plugin.stats(self.fit, self.task_id)
        backlog = plugin.backlog()
        slowest = max(backlog.values(), key=lambda v: v[3], default=(0, 0, 0, 0.0, 0))  # the longest write in flight
        tested = trainer.merged + trainer.rejected
        return TaskMetrics(
            batches=trainer.batches_done,
            samples=trainer.samples_done,
            epochs=trainer.epoch + self._epoch_fraction(),
            batch_rate=(1.0 / self.per_batch) if self.per_batch else 0.0,
            sync_interval=self.schedule.interval,
            n_blocks=self.schedule.n_blocks,
            message_fraction=1.0 / self.schedule.n_blocks,
            sent=sends["sent"],
            bytes_sent=sends["bytes_sent"],
            send_seconds=sends["send_seconds"],
            coalesced=sends["coalesced"],
            replied=sum(sends["replies_to"].values()),
            cut=sends["cut"],
            backlog_bytes=sum(v[0] for v in backlog.values()),
            backlog_messages=sum(v[1] for v in backlog.values()),
            inflight_seconds=slowest[3],
            inflight_bytes=slowest[2],
            inflight_unacked=slowest[4],
            received=self.inbox.received,
            overwritten=self.inbox.overwritten,
            merged=trainer.merged,
            rejected=trainer.rejected,
            accept_ratio=(trainer.merged / tested) if tested else 1.0,
            merge_age=float(np.mean(self.ages)) if self.ages else float("nan"),
        )

    def _result(self, sends: dict, stop_reason: str, watch: Watch) -> TaskResult:
        trainer = self.trainer
        return TaskResult(
            task=self.task_id,
            worker=self.worker.address,
            state=trainer.model(),
            final=trainer.final(None if self.stream is None else self._blocks),
            n_iter=trainer.epoch,
            n_samples=trainer.n_rows if self.stream is None else self.stream.n_rows,
            n_batches=trainer.batches_done,
            samples_seen=trainer.samples_done,
            taken_over=trainer.taken_over,
            sent=sends["sent"],
            received=self.inbox.received,
            merged=trainer.merged,
            rejected=trainer.rejected,
            dropped=trainer.dropped + self.inbox.dropped + len(self.held),  # held: never a known task's
            overwritten=self.inbox.overwritten,
            coalesced=sends["coalesced"],
            cut=sends["cut"],
            replied=sum(sends["replies_to"].values()),
            shares_received=sum(self.inbox.replies_from.values()),
            settle_seconds=self.settle_seconds,
            deferred=self.schedule.deferred,
            bytes_sent=sends["bytes_sent"],
            seconds=time.monotonic() - self.t_start,
            blocks_read=0 if self.stream is None else self.stream.reads,
            read_seconds=0.0 if self.stream is None else self.stream.read_seconds,
            stop_reason=stop_reason,
            objective=list(trainer.history),
            trace=watch.trace,
            monitor_seconds=watch.seconds,
            class_counts=self.class_counts,
        )


def train_task(
    task_id, X_parts, y_parts, sw_parts, spec: EngineSpec, checked=False, ranges=None, rows=None, stream=None
):
    """The long-running training task of one shard (runs seceded on its worker).  An error the
    user is to read (the input's values, a fit that diverged) is returned as a ``TaskError``, which
    the client raises: raised here, distributed would log the worker's traceback with it."""
    try:
        loop = TaskLoop(task_id, X_parts, y_parts, sw_parts, spec, checked, ranges, rows, stream)
        del X_parts, y_parts, sw_parts
        return loop.run()
    except USER_ERRORS as e:
        e.__traceback__ = None  # the message is the error; the frames stay on the worker
        return TaskError(int(task_id), e)


def _result_or_none(future):
    try:
        return future.result()
    except Exception:
        return None


def batches_to_publish(left: int, per_batch, seconds_left: float) -> int:
    """Mini-batches to run before the next publish: the ``left`` of the interval, and with a
    publish clock (``seconds_left`` > 0: "auto"'s earliest next publish is that far) at least
    what the clock asks for at ``per_batch`` seconds a mini-batch (unknown: one)."""
    if per_batch is not None and seconds_left > 0:
        left = max(left, int(math.ceil(seconds_left / max(per_batch, 1e-9))))
    return max(1, left)


def choose_peers(rng, peers: dict, fanout: int) -> list:
    """``fanout`` random ``(task, address)`` pairs of ``peers`` (all of them when fanout <= 0)."""
    keys = list(peers)
    k = len(keys) if fanout <= 0 else min(fanout, len(keys))
    if k == 1:
        chosen = [int(rng.integers(len(keys)))]
    elif k == len(keys):
        chosen = range(k)
    else:
        chosen = rng.choice(len(keys), size=k, replace=False)
    return [(keys[c], peers[keys[c]]) for c in chosen]
