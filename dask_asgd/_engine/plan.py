"""Resolving sync_interval="auto" for one fit: a pure plan, no cluster in it.

``make_plan`` takes the fit's ``EngineSpec`` (its tasks and peers known) and what the placement
knows of the shards, and returns the spec the tasks get and the interval policy the scheduler
plugin runs, with the reason in one line.  Only dask.config is read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .. import config
from ..balance import AdaptivePolicy, FixedPolicy, IntervalPolicy
from .spec import EngineSpec


@dataclass(frozen=True)
class Plan:
    """The resolved exchange of a fit."""

    spec: EngineSpec  # what the tasks get: sync_interval, auto_interval, min_publish_period, n_blocks
    policy: IntervalPolicy  # what the scheduler plugin decides with
    reason: str  # why, in a line

    @property
    def exchange(self) -> bool:
        return self.spec.sync_interval is not None


def make_plan(spec: EngineSpec, *, random_shards: bool, itemsize: int, policy=None) -> Plan:
    """The exchange of a fit: ``random_shards``, the shards are random samples of in-memory input
    (the fit split them); ``itemsize``, bytes a state value; ``policy``, the caller's own interval
    policy (else the adaptive law for "auto", a fixed one otherwise)."""
    if not spec.auto_interval:
        reason = (
            "no exchange (sync_interval=None)" if spec.sync_interval is None else f"fixed interval {spec.sync_interval}"
        )
    elif random_shards and trains_apart(spec):
        spec = replace(spec, sync_interval=None, auto_interval=False)
        reason = "auto: random shards of in-memory input are trained apart"
    else:
        # the random shards' longer floor is for models whose merges there changed nothing
        floor = publish_floor(spec, itemsize, random_shards and spec.model.apart_on_random_shards)
        spec = replace(spec, min_publish_period=floor)
        reason = f"auto: adaptive interval, at most one publish every {floor:g} s"
    if policy is None:
        policy = default_policy(spec, itemsize)
    if spec.auto_interval:  # the tasks start with the law's first decision
        spec = replace(spec, n_blocks=int(policy.decide(-1, {}, {})["n_blocks"]))
    return Plan(spec, policy, reason)


def trains_apart(spec: EngineSpec) -> bool:
    """Whether "auto" trains shards drawn at random from in-memory input apart, averaging at the
    end (no exchange): on such shards merges never changed the model we measured, cost 3% of the
    fit's time, and made fits with a ``random_state`` differ from run to run (docs/design.md).
    Exchanged all the same: a fit bounded by ``max_time`` (a task that falls behind gets the
    others' states), with epoch sharing (it needs the exchange), or when
    ``dask-asgd.balance.exchange-random-shards`` is set."""
    return not (
        spec.max_time is not None
        or spec.share_epochs
        or not spec.model.apart_on_random_shards
        or bool(config.get("balance.exchange-random-shards"))
    )


def publish_floor(spec: EngineSpec, itemsize: int, random_shards: bool = False) -> float:
    """The shortest publish period "auto" allows: the Python cost of a message (a fixed floor,
    and a budget of messages per second for each worker process, whose one interpreter lock and
    event loop its tasks share) and the CPU cost of copying and merging a state of this size
    (sender and receivers touch it a few times per message), capped at
    ``max-exchange-bytes-per-second`` per task (or the model's own ``exchange_bytes_per_second``).
    ``random_shards`` (in-memory input, which the fit split at random): at least
    ``min-publish-period-random-shards``, since merges of states trained on samples of one
    distribution did not change the model (docs/design.md)."""
    rate = float(spec.model.exchange_bytes_per_second or config.get("balance.max-exchange-bytes-per-second"))
    per_process = float(config.get("balance.max-messages-per-second-per-process"))
    fixed = float(config.get("balance.min-publish-period"))
    if random_shards:
        fixed = max(fixed, float(config.get("balance.min-publish-period-random-shards")))
    return max(fixed, tasks_per_process(spec.peers) / per_process, _fanout(spec) * _state_bytes(spec, itemsize) / rate)


def tasks_per_process(peers: dict) -> int:
    """The most training tasks of one fit that share a worker process: the tasks of one worker,
    and every worker of an in-process cluster (``inproc://host/pid/n``: one pid, one process)."""
    counts: dict = {}
    for addr in peers.values():
        addr = str(addr)
        key = addr.rsplit("/", 1)[0] if addr.startswith("inproc://") else addr
        counts[key] = counts.get(key, 0) + 1
    return max(counts.values(), default=1)


def default_policy(spec: EngineSpec, itemsize: int):
    """The adaptive law for sync_interval="auto", settings from dask.config; else fixed."""
    if not spec.auto_interval:
        return FixedPolicy(spec.sync_interval, spec.n_blocks)
    return AdaptivePolicy(
        state_bytes=_state_bytes(spec, itemsize),
        fanout=_fanout(spec),
        initial_interval=spec.sync_interval,
        min_interval=int(config.get("balance.min-interval")),
        max_interval=int(config.get("balance.max-interval")),
        min_publish_period=spec.min_publish_period,
        utilization=float(config.get("balance.utilization")),
        max_message_seconds=float(config.get("balance.max-message-seconds")),
        max_blocks=int(config.get("balance.max-blocks")),
        initial_message_bytes=int(config.get("balance.initial-message-bytes")),
        fill_link=bool(spec.model.fill_link),
    )


def _state_bytes(spec: EngineSpec, itemsize: int) -> int:
    return spec.model.state_size() * itemsize


def _fanout(spec: EngineSpec) -> int:
    n_peers = max(1, len(spec.peers) - 1)
    return n_peers if spec.fanout <= 0 else min(spec.fanout, n_peers)
