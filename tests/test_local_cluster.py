"""fit() without an active Client: a temporary in-process cluster, closed after the fit.

Kept in its own module so that no module-scoped client of another test is active.
"""

import threading
import time

import pytest
from distributed import default_client
from sklearn.datasets import make_classification

from dask_asgd import ASGDClassifier


def _clf_data(n):
    return make_classification(n, 20, n_informative=10, n_classes=3, random_state=0)


def test_temporary_cluster_is_closed_after_fit():
    with pytest.raises(ValueError):
        default_client()
    X, y = _clf_data(n=1000)
    ASGDClassifier(max_iter=3, tol=None, n_workers=2, random_state=0).fit(X, y)
    # process-wide helper threads (e.g. dask's offload executor) start once; later fits add none
    before = threading.active_count()
    for _ in range(2):
        clf = ASGDClassifier(max_iter=3, tol=None, n_workers=2, random_state=0).fit(X, y)
    assert len(clf.fit_report_.tasks) == 2
    with pytest.raises(ValueError):
        default_client()  # nothing was left registered
    deadline = time.time() + 10
    while threading.active_count() > before and time.time() < deadline:
        time.sleep(0.1)
    assert threading.active_count() <= before


def test_temporary_cluster_leaves_port_8787_alone():
    # a notebook's own cluster usually holds 8787; the fit's temporary cluster must neither warn
    # about it nor take it
    import socket
    import warnings

    X, y = _clf_data(n=1000)
    holder = socket.socket()
    try:
        try:
            holder.bind(("127.0.0.1", 8787))
            holder.listen(1)
        except OSError:
            pass  # already taken by someone else: the same situation for the fit
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            ASGDClassifier(max_iter=1, tol=None, n_workers=2, random_state=0).fit(X, y)
        assert not [w for w in seen if "already in use" in str(w.message)], [str(w.message) for w in seen]
    finally:
        holder.close()


def test_temporary_cluster_runs_without_the_worker_profiler():
    # distributed's profiler samples every thread every 10 ms under the GIL; the fit's own
    # cluster has nobody to show its profiles to (docs/design.md)
    import dask

    from dask_asgd.monitor import Monitor

    def profiler_on(coef, intercept):
        from distributed import get_worker

        return "profile" in get_worker().periodic_callbacks

    X, y = _clf_data(n=1000)
    assert dask.config.get("distributed.worker.profile.enabled")  # distributed's default stays on
    clf = ASGDClassifier(max_iter=2, tol=None, n_workers=2, random_state=0)
    clf.fit(X, y, monitor=Monitor(profiler_on, every=10.0))
    assert len(clf.fit_report_.trace) > 0
    assert not clf.fit_report_.trace["value"].any()
    assert dask.config.get("distributed.worker.profile.enabled")  # the setting was only lent


def test_temporary_cluster_has_no_memory_limit():
    # its workers are threads of this process: each would measure the whole process (the user's
    # arrays included) against 1/n of the machine's memory, pause, and start no task
    import dask

    from dask_asgd.monitor import Monitor

    def memory_limit(coef, intercept):
        from distributed import get_worker

        return float(get_worker().memory_manager.memory_limit or 0)

    X, y = _clf_data(n=1000)
    clf = ASGDClassifier(max_iter=2, tol=None, n_workers=2, random_state=0)
    # a pause threshold every process is above: a worker with a memory limit would pause
    with dask.config.set({"distributed.worker.memory.pause": 1e-6, "dask-asgd.paused-timeout": 3}):
        clf.fit(X, y, monitor=Monitor(memory_limit, every=10.0))
    assert len(clf.fit_report_.trace) > 0
    assert not clf.fit_report_.trace["value"].any()
