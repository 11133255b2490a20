"""The in-process cluster ``fit()`` starts for itself when no distributed Client is active.

Starting an in-process LocalCluster and closing it again costs a fit 30-40 ms and a
``partial_fit`` call about 80 ms on a 2-core machine (docs/benchmarks.md, "Fits without a
Client"), more than a whole fit of a small data set takes on a cluster already running. So the
cluster is kept for the next fit of the same process and closed once it has been idle for
``dask-asgd.own-cluster.idle-timeout`` seconds (joblib keeps its reusable worker pool the same
way), at interpreter exit, by :func:`close_own_cluster`, or at once after a fit that failed or
was interrupted.  Fits on it take turns: each uses every worker, and two fits' tasks interleaved
on the workers could wait for each other.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading

from . import config

_lock = threading.Lock()  # held by a fit for as long as it uses the cluster
_own = None  # the kept cluster: _Own, or None
_generation = 0  # counts fits on the own cluster; an idle timer closes only the cluster it saw idle


class _Own:
    def __init__(self, n_workers: int):
        import dask
        from distributed import Client, LocalCluster

        # no statistical profiler in the workers: it samples every thread every 10 ms under the
        # GIL (16 workers in one process: 1,600 samplings a second), and nobody can look at its
        # profiles.  The event-loop health check every second, not every 20 ms, and the system
        # monitor (CPU, memory and network figures for a dashboard it does not have) every 5 s,
        # not 0.5 s: the kept cluster idles at 0.5% of a core instead of 4% (docs/design.md)
        quiet = {
            "distributed.worker.profile.enabled": False,
            "distributed.admin.tick.interval": "1s",
            "distributed.admin.system-monitor.interval": "5s",
        }
        with dask.config.set(quiet):
            self.cluster = LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=False,
                dashboard_address=None,
                silence_logs=40,
                # no memory limit: every in-process worker would measure the whole process (the
                # user's arrays included) against 1/n of the machine's memory and pause, starting
                # no task
                memory_limit=0,
                # no dashboard; the scheduler's HTTP server (which distributed starts anyway) on a
                # free loopback port, not 8787: a notebook's own cluster there would get a warning
                # per fit
                scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
            )
            try:
                self.client = Client(self.cluster, set_as_default=False)
            except BaseException:
                self.cluster.close()
                raise
        self.n_workers = n_workers
        self.timer = None

    def usable(self, n_workers: int) -> bool:
        return (
            self.n_workers == n_workers
            and self.client.status == "running"
            and len(self.cluster.scheduler.workers) == n_workers
        )

    def close(self):
        if self.timer is not None:
            self.timer.cancel()
        with contextlib.suppress(Exception):
            self.client.close(timeout=10)
        with contextlib.suppress(Exception):
            self.cluster.close(timeout=10)


def idle_timeout() -> float:
    return config.number("own-cluster.idle-timeout", 0, what="a number of seconds")


@contextlib.contextmanager
def own_client(n_workers: int):
    """A client of the process's own in-process cluster of ``n_workers`` single-thread workers,
    for one fit: started (or restarted with another size) when needed, kept afterwards for
    ``idle_timeout()`` seconds (0: closed when the fit ends)."""
    global _own, _generation
    keep = idle_timeout()
    with _lock:
        _generation += 1
        own, _own = _own, None
        if own is not None and not own.usable(n_workers):
            own.close()
            own = None
        if own is not None and own.timer is not None:
            own.timer.cancel()
            own.timer = None
        if own is None:
            own = _Own(n_workers)
        try:
            yield own.client
        except BaseException:
            # a failed or interrupted fit leaves nothing running: the next one starts afresh
            own.close()
            raise
        if keep <= 0:
            own.close()
            return
        _own = own
        own.timer = threading.Timer(keep, _close_if_idle, args=(_generation,))
        own.timer.daemon = True
        own.timer.start()


def _close_if_idle(generation: int) -> None:
    global _own
    if not _lock.acquire(timeout=1.0):
        return  # a fit is using the cluster; it starts a new timer when it ends
    try:
        if generation != _generation or _own is None:
            return
        own, _own = _own, None
    finally:
        _lock.release()
    own.close()


def close_own_cluster(timeout: float = 30.0) -> bool:
    """Close the in-process cluster that ``fit()`` keeps between fits made without a Client.

    A fit that uses the cluster at the time is waited for. The next fit without a Client
    starts a new one.

    Parameters
    ----------
    timeout : float, default=30.0
        Seconds to wait for a fit that uses the cluster to finish.

    Returns
    -------
    bool
        True if there was a cluster to close, False if there was none.

    Raises
    ------
    TimeoutError
        If a fit still uses the cluster after ``timeout`` seconds; nothing is closed then.
    """
    global _own
    if not _lock.acquire(timeout=timeout):
        raise TimeoutError(f"a fit is still using dask-asgd's own cluster after {timeout} s")
    try:
        own, _own = _own, None
    finally:
        _lock.release()
    if own is None:
        return False
    own.close()
    return True


def own_cluster_address():
    """The scheduler address of the kept cluster, or None (none kept now)."""
    own = _own
    return None if own is None else own.cluster.scheduler_address


def _after_fork_in_child():
    # the child has none of the parent's threads: not its cluster's event loop, not a fit that
    # held the lock when the process forked
    global _lock, _own
    _lock = threading.Lock()
    _own = None


os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _close_at_exit():
    with contextlib.suppress(Exception):
        close_own_cluster(timeout=5.0)
