"""fit() without an active Client: the fit's own in-process cluster, kept for the next fit of the
process and closed when idle, at once after a failed fit, or after each fit if asked.

Kept in its own module so that no module-scoped client of another test is active.
"""

import os
import threading
import time

import numpy as np
import pytest
from distributed import default_client
from sklearn.datasets import make_classification

from dask_asgd import ASGDClassifier, close_own_cluster
from dask_asgd._cluster import own_cluster_address


def _clf_data(n):
    return make_classification(n, 20, n_informative=10, n_classes=3, random_state=0)


def _settle_threads(before, seconds=10):
    deadline = time.time() + seconds
    while threading.active_count() > before and time.time() < deadline:
        time.sleep(0.1)
    return threading.active_count()


def test_own_cluster_closed_after_each_fit_with_idle_timeout_zero():
    import dask

    with pytest.raises(ValueError):
        default_client()
    X, y = _clf_data(n=1000)
    with dask.config.set({"dask-asgd.own-cluster.idle-timeout": 0}):
        ASGDClassifier(max_iter=3, tol=None, n_workers=2, random_state=0).fit(X, y)
        # process-wide helper threads (e.g. dask's offload executor) start once; later fits add none
        before = threading.active_count()
        for _ in range(2):
            clf = ASGDClassifier(max_iter=3, tol=None, n_workers=2, random_state=0).fit(X, y)
            assert own_cluster_address() is None
    assert len(clf.fit_report_.tasks) == 2
    with pytest.raises(ValueError):
        default_client()  # nothing was left registered
    assert _settle_threads(before) <= before


def test_own_cluster_is_kept_for_the_next_fit_and_closed_on_request():
    import dask

    X, y = _clf_data(n=1000)
    with dask.config.set({"dask-asgd.own-cluster.idle-timeout": 0}):
        ASGDClassifier(max_iter=3, tol=None, n_workers=2, random_state=0).fit(X, y)
    before = threading.active_count()
    first = ASGDClassifier(max_iter=3, tol=None, n_workers=2, random_state=0).fit(X, y)
    address = own_cluster_address()
    assert address is not None
    with pytest.raises(ValueError):
        default_client()  # kept, but never made the user's default client
    kept_threads = threading.active_count()
    second = ASGDClassifier(max_iter=3, tol=None, n_workers=2, random_state=1).fit(X, y)
    assert own_cluster_address() == address
    # the same workers trained both fits, and the second fit started no thread of its own
    assert set(second.fit_report_.tasks["worker"]) == set(first.fit_report_.tasks["worker"])
    assert threading.active_count() <= kept_threads
    # a fit of another size gets a cluster of that size (the kept one is replaced)
    third = ASGDClassifier(max_iter=3, tol=None, n_workers=3, random_state=0).fit(X, y)
    assert len(third.fit_report_.tasks) == 3 and own_cluster_address() not in (None, address)
    assert close_own_cluster() is True
    assert own_cluster_address() is None and close_own_cluster() is False
    assert _settle_threads(before) <= before


def test_kept_cluster_does_not_keep_the_input():
    import gc
    import weakref

    X, y = _clf_data(n=20000)
    ref = weakref.ref(X)
    ASGDClassifier(max_iter=2, tol=None, n_workers=2, random_state=0).fit(X, y)
    assert own_cluster_address() is not None
    del X
    gc.collect()
    assert ref() is None


def test_own_cluster_closes_when_idle():
    import dask

    X, y = _clf_data(n=1000)
    with dask.config.set({"dask-asgd.own-cluster.idle-timeout": 0}):
        ASGDClassifier(max_iter=3, tol=None, n_workers=2, random_state=0).fit(X, y)
    before = threading.active_count()
    with dask.config.set({"dask-asgd.own-cluster.idle-timeout": 0.5}):
        ASGDClassifier(max_iter=3, tol=None, n_workers=2, random_state=0).fit(X, y)
    assert own_cluster_address() is not None
    deadline = time.time() + 10
    while own_cluster_address() is not None and time.time() < deadline:
        time.sleep(0.05)
    assert own_cluster_address() is None
    assert _settle_threads(before) <= before


def test_failed_fit_closes_own_cluster_and_the_next_fit_starts_afresh():
    from dask_asgd.monitor import Monitor

    def broken(coef, intercept):
        raise ZeroDivisionError("monitor failed")

    X, y = _clf_data(n=1000)
    first = ASGDClassifier(max_iter=3, tol=None, n_workers=2, random_state=0).fit(X, y)
    assert own_cluster_address() is not None
    with pytest.raises(ZeroDivisionError, match="monitor failed"):
        ASGDClassifier(max_iter=50, tol=None, n_workers=2, random_state=0).fit(
            X, y, monitor=Monitor(broken, every=0.01)
        )
    assert own_cluster_address() is None  # nothing of the failed fit is left running
    after = ASGDClassifier(max_iter=3, tol=None, n_workers=2, random_state=0).fit(X, y)
    assert not set(after.fit_report_.tasks["worker"]) & set(first.fit_report_.tasks["worker"])
    np.testing.assert_array_equal(after.coef_, first.coef_)  # no exchange: the same model


def test_fits_from_two_threads_take_turns_on_the_own_cluster():
    X, y = _clf_data(n=4000)
    fitted, errors = {}, []

    def fit(seed):
        try:
            fitted[seed] = ASGDClassifier(max_iter=20, tol=None, n_workers=2, random_state=seed).fit(X, y)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=fit, args=(seed,)) for seed in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads) and not errors, errors
    for seed, clf in fitted.items():
        alone = ASGDClassifier(max_iter=20, tol=None, n_workers=2, random_state=seed).fit(X, y)
        np.testing.assert_array_equal(clf.coef_, alone.coef_)
        assert len(clf.fit_report_.tasks) == 2


@pytest.mark.parametrize("value", [-1, "soon", None])
def test_wrong_idle_timeout_is_a_clear_error(value):
    import dask

    X, y = _clf_data(n=1000)
    with (
        dask.config.set({"dask-asgd.own-cluster.idle-timeout": value}),
        pytest.raises(ValueError, match="idle-timeout"),
    ):
        ASGDClassifier(max_iter=1, tol=None, n_workers=2).fit(X, y)
    assert own_cluster_address() is None


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


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork exists on POSIX systems only")
def test_forked_child_does_not_use_the_parents_cluster():
    # a forked child has none of the parent's threads (the cluster's event loop, a fit holding
    # the lock): it must neither use the parent's cluster nor wait for the parent's lock
    import warnings

    from dask_asgd import _cluster

    X, y = _clf_data(n=1000)
    ASGDClassifier(max_iter=2, tol=None, n_workers=2, random_state=0).fit(X, y)
    assert own_cluster_address() is not None
    with _cluster._lock, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # forking a process with threads
        pid = os.fork()
        if pid == 0:  # the child: exit at once with the answer, no test machinery
            ok = own_cluster_address() is None and _cluster._lock.acquire(timeout=1.0)
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert own_cluster_address() is not None  # the parent's is still there


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_dask_input_without_a_client(method):
    # the fit's own in-process cluster computes the collection's questions and places its blocks
    import dask.array as da

    from dask_asgd import ASGDKMeans

    X, y = make_classification(n_samples=4000, n_features=10, random_state=0)
    dX, dy = da.from_array(X, chunks=1000), da.from_array(y, chunks=1000)
    kwargs = {"classes": [0, 1]} if method == "partial_fit" else {}
    clf = getattr(ASGDClassifier(random_state=0), method)(dX, dy, **kwargs)
    assert clf.score(X, y) > 0.8
    assert isinstance(clf.predict(dX), da.Array)
    km = getattr(ASGDKMeans(4, random_state=0), method)(dX)
    assert km.cluster_centers_.shape == (4, 10)
    with pytest.raises(ValueError, match="No clients found"):
        default_client()  # the fit's cluster was never made the user's default
