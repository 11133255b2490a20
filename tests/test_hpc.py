"""HPC through dask-jobqueue: its LocalCluster runs each job as a ``dask worker`` CLI process,
as a batch system would on the cluster's nodes, from the same job scripts.

An adaptive cluster grows while a fit runs: the worker that joins takes over half the remaining
epochs of the running task (``dask-asgd.join-workers``)."""

import signal
import threading
import time

import dask.array as da
import numpy as np
from distributed import Client
from sklearn.datasets import make_classification
from sklearn.linear_model import SGDClassifier

from dask_asgd import ASGDClassifier, ASGDKMeans


def _cluster(**kw):
    # importing dask_jobqueue installs its own SIGINT handler (sys.exit, in its runner module):
    # the handler is put back, so that Ctrl-C (and the suite's interrupt test) raise KeyboardInterrupt
    handler = signal.getsignal(signal.SIGINT)
    try:
        from dask_jobqueue.local import LocalCluster
    finally:
        signal.signal(signal.SIGINT, handler)
    return LocalCluster(cores=1, processes=1, memory="2GiB", silence_logs="error", **kw)


def _training(client) -> bool:
    return any("dask-asgd" in str(k) for keys in client.processing().values() for k in keys)


def test_fit_on_a_jobqueue_cluster_of_cli_workers():
    X, y = make_classification(20_000, 20, random_state=0)
    with _cluster() as cluster, Client(cluster) as client:
        cluster.scale(2)
        client.wait_for_workers(2, timeout=120)
        clf = ASGDClassifier(max_iter=5, tol=None, random_state=0).fit(X, y)
        assert clf.score(X, y) > 0.8
        assert set(clf.fit_report_.tasks["worker"]) == set(client.nthreads())
        # a Dask collection is trained where its blocks live, with lazy results
        Xd, yd = da.from_array(X, chunks=5_000), da.from_array(y, chunks=5_000)
        clf = ASGDClassifier(max_iter=5, tol=None, random_state=0).fit(Xd, yd)
        assert isinstance(clf.predict(Xd), da.Array)
        assert float((clf.predict(Xd) == yd).mean().compute()) > 0.8
        km = ASGDKMeans(n_clusters=3, random_state=0).fit(X[:5_000])
        assert km.cluster_centers_.shape == (3, 20)


def test_an_adaptive_cluster_that_grows_during_a_fit_shares_the_epochs_left():
    X, y = make_classification(100_000, 50, random_state=0)
    # epochs enough that the second job's worker (a new process that loads the kernels, seconds
    # on a loaded machine) joins well before the first task is done
    max_iter = 1600
    with _cluster() as cluster, Client(cluster) as client:
        cluster.adapt(minimum=1, maximum=2)
        client.wait_for_workers(1, timeout=120)
        first = set(client.nthreads())

        def grow():  # the operator raises the floor once the fit trains: a second job starts
            deadline = time.monotonic() + 60
            while not _training(client) and time.monotonic() < deadline:
                time.sleep(0.05)
            cluster.adapt(minimum=2, maximum=2)

        grower = threading.Thread(target=grow)
        grower.start()
        clf = ASGDClassifier(max_iter=max_iter, tol=None, random_state=0).fit(X, y)
        grower.join()
        tasks = clf.fit_report_.tasks
        joined = tasks[tasks["origin"] == "joined"]
        assert len(joined) == 1, tasks
        assert joined["worker"].iloc[0] not in first
        donor = tasks.loc[int(joined["origin_task"].iloc[0])]
        # the donor stopped early, and each stands for half of the shard in the average
        assert donor["n_iter"] < max_iter
        # the two shared the shard's epochs: it was trained about max_iter epochs in all, not twice
        # that (a task told its last epoch a poll late, once a second, may run past it)
        assert abs(clf.fit_report_.samples_seen / len(X) - max_iter) <= 0.1 * max_iter
        assert abs(clf.n_iter_ - max_iter) <= 0.1 * max_iter  # the shard's epochs, the two tasks' added up
        assert donor["weight"] == joined["weight"].iloc[0] == 0.5
        assert (tasks["stop_reason"] == "max_iter").all()
        # as good as scikit-learn's SGD on the same rows
        reference = SGDClassifier(max_iter=20, tol=None, random_state=0).fit(X, y).score(X, y)
        assert clf.score(X, y) > reference - 0.02
        np.testing.assert_array_equal(np.isfinite(clf.coef_), True)


def test_a_fit_with_n_workers_does_not_take_in_workers_that_join():
    X, y = make_classification(100_000, 50, random_state=0)
    with _cluster() as cluster, Client(cluster) as client:
        cluster.scale(1)
        client.wait_for_workers(1, timeout=120)

        joined_at = []

        def grow():
            deadline = time.monotonic() + 60
            while not _training(client) and time.monotonic() < deadline:
                time.sleep(0.05)
            cluster.scale(2)
            client.wait_for_workers(2, timeout=120)
            joined_at.append(time.monotonic())

        grower = threading.Thread(target=grow)
        grower.start()
        clf = ASGDClassifier(max_iter=800, tol=None, n_workers=1, random_state=0).fit(X, y)
        ended = time.monotonic()
        grower.join()
        assert joined_at and joined_at[0] < ended  # the second worker was there while the fit ran
        assert list(clf.fit_report_.tasks["origin"]) == ["placed"]
