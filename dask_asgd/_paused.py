"""Bounded waits on a cluster whose workers distributed paused for memory (a paused worker starts
no task): the fit's training tasks (``_fit._watch``) and its own computations of a Dask
collection (``compute_input``, ``wait_input``) fail after ``dask-asgd.paused-timeout`` with an
error that says so, instead of waiting for ever."""

from __future__ import annotations

import time

from . import _compat, config
from .balance import paused_workers


class PausedClock:
    """How long a pause has lasted without a break: ``held(paused, now)`` seconds."""

    def __init__(self):
        self.since = None

    def held(self, paused: bool, now: float) -> float:
        self.since = (self.since or now) if paused else None
        return 0.0 if self.since is None else now - self.since


def paused_error(what: str, workers, seconds: float, limit: float, also: str = "") -> RuntimeError:
    those = "those workers are" if len(workers) > 1 else "that worker is"
    return RuntimeError(
        f"dask-asgd: {what} the workers {', '.join(workers)} have not started in {seconds:.0f} s: "
        f"{those} paused (their process's memory is above the distributed.worker.memory.pause "
        f"share of their memory_limit) and start no task (dask-asgd.paused-timeout: {limit:g} s). "
        f"Free memory there, give the workers a larger memory_limit{', ' + also if also else ''}."
    )


def wait_input(client, futures) -> None:
    """Wait for the fit's own computations on a Dask collection (its classes, its blocks
    persisted): a cluster whose every worker is paused computes nothing, and the wait fails after
    ``dask-asgd.paused-timeout`` rather than last for ever."""
    from distributed import wait

    limit = float(config.get("paused-timeout"))
    started = time.monotonic()
    clock = PausedClock()
    while True:
        try:
            # distributed.wait looks up the current client; the fit's own in-process cluster's
            # client is nobody's default, so it is made current for the wait
            with client.as_current():
                wait(futures, timeout=1.0)
            return
        except TimeoutError:
            pass
        paused, n = client.run_on_scheduler(paused_workers)
        now = time.monotonic()
        if clock.held(bool(n) and len(paused) == n, now) > limit:
            raise paused_error("the computations of the input on", sorted(paused), now - started, limit)


def compute_input(*collections):
    """``dask.compute`` of the fit's own questions about a Dask collection, on the active
    distributed Client with a bounded wait (``wait_input``); without one, dask's scheduler."""
    import dask
    from distributed import default_client

    try:
        client = default_client()
    except ValueError:
        return dask.compute(*collections)
    futures = client.compute(list(collections))
    _compat.flush_to_scheduler(client)
    wait_input(client, futures)
    return tuple(client.gather(futures))
