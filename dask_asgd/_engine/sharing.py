"""Tasks of one fit in one process share the end of their epochs.

The training tasks of a fit that run in one process (the threads of an in-process cluster, or
of one worker): a task done with its epochs takes over the end of a slower task's epoch, so the
fit does not wait for the slowest core (docs/design.md, "Sharing the end of an epoch").
"""

from __future__ import annotations

import math
import threading
import time

from ..models.base import ShardTrainer

TAKE_OVER_MIN_SECONDS = 0.001  # a task takes over part of another's epoch only if at least this long

_SHARING: dict = {}  # fit id -> (lock, {task: ShardTrainer})
_SHARING_GUARD = threading.Lock()


def join(fit: str, task_id: int, trainer: ShardTrainer) -> None:
    with _SHARING_GUARD:
        lock, trainers = _SHARING.setdefault(fit, (threading.Lock(), {}))
        trainers[task_id] = trainer
    trainer.lock = lock


def leave(fit: str, task_id: int) -> None:
    with _SHARING_GUARD:
        entry = _SHARING.get(fit)
        if entry is not None:
            entry[1].pop(task_id, None)
            if not entry[1]:
                del _SHARING[fit]


def claim_tail(trainers: dict, task_id: int, cap: int, least: int):
    """Under the fit's lock: the end of the current epoch of the other task with most of it left
    (up to ``cap`` mini-batches, at most half of what it has not claimed, if that is ``least``
    or more), given up by that task.  Returns ``(view, first, n)`` (``ShardTrainer.epoch_view``;
    mini-batches ``[first, first + n)``) or None, and whether another task has epochs to come."""
    src, left, more = None, 0, False
    for k, v in trainers.items():
        if k == task_id or v.done:
            continue
        more = more or v.epoch < v.max_iter - 1  # a next epoch to share
        if v.limit - v.claimed > left:
            src, left = v, v.limit - v.claimed
    if src is None or left < least:
        return None, more
    n = min(cap, left // 2)
    src.limit -= n
    src.helped = True  # shorter chunks from now on: the two end closer together
    src.first_epoch_shared |= src.check_input
    return (src.epoch_view(), src.limit, n), more


def help_others(trainer: ShardTrainer, fit: str, task_id: int, per_batch, chunk_seconds: float, deadline) -> None:
    """A task done with its epochs trains on the end of the current epoch of the other tasks of
    the fit in this process (``claim_tail``), a quarter chunk at a time, until no task has more
    than ``TAKE_OVER_MIN_SECONDS`` left in its last epoch.  Bounded by ``deadline`` and by the
    other tasks' own progress."""
    entry = _SHARING.get(fit)
    if entry is None or not per_batch:
        return
    lock, trainers = entry
    cap = max(1, int(chunk_seconds / 4 / per_batch))
    least = max(2, int(math.ceil(TAKE_OVER_MIN_SECONDS / per_batch)))
    while deadline is None or time.monotonic() < deadline:
        with lock:
            claim, more = claim_tail(trainers, task_id, cap, least)
        if claim is not None:
            trainer.take_over(*claim)
        elif more:
            time.sleep(TAKE_OVER_MIN_SECONDS / 2)  # a task between epochs, or near the end of one
        else:
            return
