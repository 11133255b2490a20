"""The typed records that cross a boundary: a task's result and its live metric report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass
class TaskResult:
    """What a training task returns to the client."""

    task: int
    worker: str
    state: np.ndarray  # the task's model, flat (the model family's layout)
    final: dict  # what the model's final combine needs besides ``state`` (``ShardTrainer.final``)
    n_iter: int  # epochs run
    n_samples: int  # rows of the shard
    n_batches: int  # mini-batches trained
    samples_seen: int
    taken_over: int  # samples of other tasks' epochs trained (``dask-asgd.share-epochs``)
    sent: int  # messages written to peers
    received: int
    merged: int
    rejected: int  # by the Parzen test
    dropped: int  # received messages that were not a well-formed block of the state
    overwritten: int  # received states replaced unread
    coalesced: int  # unsent states replaced by a newer one
    cut: int  # writes aborted when the link slowed down under them (``PubSubWorkerPlugin.cut``)
    replied: int  # merge="pairwise": shares sent back to senders
    shares_received: int
    settle_seconds: float
    deferred: int  # publishes put off while the send path to every peer was busy
    bytes_sent: int
    seconds: float
    stop_reason: str
    objective: list = field(default_factory=list)  # per epoch
    trace: list = field(default_factory=list)  # monitor: (wall-clock time, samples seen, value)
    monitor_seconds: float = 0.0
    class_counts: list | None = None  # a Dask collection's shard: rows per class
    blocks_read: int = 0  # a streamed shard: row blocks read on the worker
    read_seconds: float = 0.0  # ... and the seconds the task waited for them
    # set by the client (``_elastic``): "placed" with the fit, "joined" on a worker that joined
    # while it ran (sharing the epochs of ``origin_task``'s shard), "retrained" in place of lost task
    # ``origin_task``; ``weight``: the share of its shard's rows the task stands for in the
    # final combine (the tasks of one shard that returned a model: equal shares)
    origin: str = "placed"
    origin_task: int = -1
    weight: float = 1.0


@dataclass
class TaskError:
    """A training task's error that is the user's to read (``USER_ERRORS``), returned instead of
    raised, so that the worker's log does not print its traceback; the client raises ``error``."""

    task: int
    error: BaseException


# the errors of the input's values and of a diverging fit (scikit-learn's ValueError for NaN or
# infinity in X, FloatingPointError for a learning rate too large)
USER_ERRORS = (ValueError, FloatingPointError)


@dataclass
class TaskMetrics:
    """One live report of a task to the scheduler plugin: counters are cumulative, gauges now."""

    batches: int
    samples: int  # samples trained, all epochs
    epochs: float  # epochs done, the share of the current one's mini-batches included
    batch_rate: float  # mini-batches per second
    sync_interval: int  # mini-batches between publishes, in force now
    n_blocks: int
    message_fraction: float  # share of the state one message carries
    sent: int
    bytes_sent: int
    send_seconds: float
    coalesced: int
    replied: int
    backlog_bytes: int  # waiting or being written
    backlog_messages: int
    cut: int
    inflight_seconds: float  # the longest write in flight: how long so far
    inflight_bytes: int  # ... how big (a bound on the link's capacity)
    inflight_unacked: int  # ... and how much of it the peer has not acknowledged yet
    received: int
    overwritten: int
    merged: int
    rejected: int
    accept_ratio: float
    merge_age: float  # mini-batches between arrival and merge, since the last report

    def to_dict(self) -> dict:
        """As the scheduler plugin keeps it (its history is a list of plain records)."""
        return asdict(self)
