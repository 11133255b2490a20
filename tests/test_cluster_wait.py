"""A fit on a cluster that has no worker yet (a dask-jobqueue cluster whose jobs are still queued):
it waits for the first worker, within a bound, and otherwise fails with a clear error."""

import threading
import time

import dask
import pytest
from distributed import Client, LocalCluster
from sklearn.datasets import make_classification

from dask_asgd import ASGDClassifier


@pytest.fixture
def empty_cluster():
    with LocalCluster(n_workers=0, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            yield cluster, client


def test_fit_waits_for_workers_that_join_later(empty_cluster):
    cluster, client = empty_cluster
    X, y = make_classification(2000, 10, random_state=0)
    timer = threading.Timer(1.0, cluster.scale, args=(2,))
    timer.start()
    try:
        with dask.config.set({"dask-asgd.wait-for-workers": 60}):
            clf = ASGDClassifier(max_iter=3, tol=None, random_state=0).fit(X, y)
    finally:
        timer.join()
    assert len(clf.fit_report_.tasks) >= 1
    assert clf.score(X, y) > 0.7


def test_fit_without_workers_fails_within_the_bound(empty_cluster):
    _, client = empty_cluster
    X, y = make_classification(200, 5, random_state=0)
    clf = ASGDClassifier(max_iter=3, tol=None, random_state=0)
    t0 = time.monotonic()
    with dask.config.set({"dask-asgd.wait-for-workers": 0.5}):
        with pytest.raises(RuntimeError, match="no workers: none joined within 0.5 s"):
            clf.fit(X, y)
    assert time.monotonic() - t0 < 10
    assert not hasattr(clf, "coef_")
    with dask.config.set({"dask-asgd.wait-for-workers": 0}):  # 0 must not mean "wait forever"
        with pytest.raises(RuntimeError, match="no workers"):
            clf.fit(X, y)
