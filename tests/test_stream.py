"""Dask collections streamed: row blocks read on the workers as the epochs go (``_engine.stream``)."""

import threading
import time

import dask
import dask.array as da
import numpy as np
import pytest
from distributed import Client, LocalCluster
from sklearn.datasets import make_classification

from dask_asgd import ASGDClassifier, ASGDKMeans, ASGDRegressor


@pytest.fixture(scope="module")
def client():
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as c,
    ):
        yield c


def _data(n=20_000, chunks=2_000):
    X, y = make_classification(n + 5_000, 20, n_informative=10, n_classes=3, class_sep=2.0, random_state=0)
    return da.from_array(X[:n], chunks=(chunks, 20)), da.from_array(y[:n], chunks=chunks), X[n:], y[n:]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_streamed_fit_trains_as_well_as_a_persisted_one(client):
    X, y, Xte, yte = _data()
    scores = {}
    for stream in (True, False):
        with dask.config.set({"dask-asgd.stream": stream}):
            est = ASGDClassifier(max_iter=5, tol=None, random_state=0).fit(X, y)
        t = est.fit_report_.tasks
        scores[stream] = est.score(Xte, yte)
        assert t["n_samples"].sum() == 20_000 and (t["n_iter"] == 5).all()
        if stream:  # 10 blocks over 2 tasks, read again each epoch
            assert t["blocks_read"].sum() == 5 * 10 and (t["read_seconds"] >= 0).all()
            assert est.fit_report_.objective.shape[0] == 5  # one objective an epoch, not a block
        else:
            assert (t["blocks_read"] == 0).all()
    # the held-out accuracy of 5-epoch fits of either kind spreads over 0.90-0.92 between seeds
    assert abs(scores[True] - scores[False]) < 0.03, scores
    assert scores[True] > 0.88


def test_a_streamed_regression_with_weights_and_early_stopping(client):
    rng = np.random.default_rng(0)
    Xn = rng.standard_normal((12_000, 10))
    yn = Xn @ rng.standard_normal(10) + 0.1 * rng.standard_normal(12_000)
    X, y = da.from_array(Xn, chunks=(1_500, 10)), da.from_array(yn, chunks=1_500)
    sw = da.ones(12_000, chunks=1_500)
    with dask.config.set({"dask-asgd.stream": True}):
        est = ASGDRegressor(max_iter=30, early_stopping=True, random_state=0).fit(X, y, sample_weight=sw)
    assert est.score(Xn, yn) > 0.95
    assert est.fit_report_.tasks["blocks_read"].sum() >= 8  # every block at least once


def test_a_single_block_shard_is_read_once(client):
    X, y, Xte, yte = _data(n=4_000, chunks=2_000)  # one block a task
    with dask.config.set({"dask-asgd.stream": True}):
        est = ASGDClassifier(max_iter=4, tol=None, random_state=0).fit(X, y)
    assert (est.fit_report_.tasks["blocks_read"] == 1).all()


def test_nan_in_a_streamed_block_gets_scikit_learns_error(client):
    Xn, yn = make_classification(4_000, 5, random_state=0)
    Xn[3_500, 2] = np.nan
    with dask.config.set({"dask-asgd.stream": True}), pytest.raises(ValueError, match="Input X contains NaN"):
        ASGDClassifier(max_iter=2).fit(da.from_array(Xn, chunks=(500, 5)), da.from_array(yn, chunks=500))


def test_stream_setting_is_checked(client):
    X, y, _, _ = _data(n=4_000)
    with dask.config.set({"dask-asgd.stream": "sometimes"}), pytest.raises(ValueError, match="dask-asgd.stream"):
        ASGDClassifier(max_iter=1).fit(X, y)


@pytest.mark.parametrize(("tol", "final_pass"), [(0.0, "auto"), (1e-4, "auto"), (0.0, "always")])
def test_a_streamed_kmeans_fit_ends_where_a_persisted_one_does(client, tol, final_pass):
    # "always": every task's Lloyd sums from one more read of its blocks after training
    from sklearn.cluster import KMeans
    from sklearn.datasets import make_blobs

    Xn, _ = make_blobs(20_000, 10, centers=6, random_state=0)
    X = da.from_array(Xn, chunks=(2_000, 10))
    init = KMeans(6, n_init=1, max_iter=1, random_state=0).fit(Xn[:2_000]).cluster_centers_
    ref = KMeans(6, init=init, n_init=1, random_state=0).fit(Xn).inertia_
    fits = {}
    for stream in (True, False):
        with dask.config.set({"dask-asgd.stream": stream, "dask-asgd.kmeans.final-pass": final_pass}):
            fits[stream] = ASGDKMeans(6, init=init, max_iter=10, tol=tol, random_state=0).fit(X)
    t = fits[True].fit_report_.tasks
    assert (t["blocks_read"] >= 5).all() and t["n_samples"].sum() == 20_000
    if final_pass == "always":  # each epoch's 5 blocks, and the final pass's 5
        assert (t["blocks_read"] == 5 * (t["n_iter"] + 1)).all()
    assert fits[False].fit_report_.tasks["blocks_read"].sum() == 0
    for km in fits.values():
        assert km.inertia_ <= 1.01 * ref
    assert isinstance(fits[True].labels_, da.Array)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_collection_larger_than_the_workers_memory_is_streamed():
    # 2 worker processes of 600 MB each (a worker process alone takes about 250 MB), and 960 MB of
    # rows made on the workers: persisted, they would not fit; "auto" streams them
    rng_w = np.random.default_rng(1).standard_normal(60)

    def block(seed, rows=100_000):
        r = np.random.default_rng(seed)
        X = r.standard_normal((rows, 60))
        return X, (X @ rng_w > 0).astype(np.int64)

    parts = [dask.delayed(block, pure=True)(i) for i in range(20)]
    X = da.concatenate([da.from_delayed(p[0], (100_000, 60), np.float64) for p in parts])
    y = da.concatenate([da.from_delayed(p[1], (100_000,), np.int64) for p in parts])
    Xte, yte = block(99, 5_000)
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="600MB", dashboard_address=None) as cluster,
        Client(cluster) as c,
    ):
        est = ASGDClassifier(max_iter=1, tol=None, random_state=0).fit(X, y)
        t = est.fit_report_.tasks
        assert t["blocks_read"].sum() == 20 and t["n_samples"].sum() == 2_000_000
        assert est.score(Xte, yte) > 0.95
        assert len(c.nthreads()) == 2 and not est.fit_report_.lost  # no worker was lost or restarted
        # the workers' resident memory as their own monitors sampled it, every 0.5 s of the fit
        peaks = c.run(lambda dask_worker: max(dask_worker.monitor.range_query(0)["memory"]))
        assert max(peaks.values()) < 600e6, peaks
        # ASGDKMeans too: its start's sample, its epochs and its labels read the blocks
        km = ASGDKMeans(2, max_iter=1, random_state=0).fit(X)
        assert km.fit_report_.tasks["blocks_read"].sum() >= 20 and not km.fit_report_.lost
        assert km.inertia_ > 0 and km.labels_.shape == (2_000_000,)
        peaks = c.run(lambda dask_worker: max(dask_worker.monitor.range_query(0)["memory"]))
        assert max(peaks.values()) < 600e6, peaks


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
# dask's Parquet reader on pandas 3.1: a deprecation of pandas', not this package's to fix
@pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.reset_index is deprecated")
@pytest.mark.parametrize("stream", [True, False])
def test_dataframes_read_from_parquet_files(client, tmp_path, stream):
    # dask fuses the files of the narrow label column into fewer partitions than the frame
    # reports: the lengths of the arrays' own blocks are what counts
    import dask.dataframe as dd
    import pandas as pd

    Xn, yn = make_classification(24_000, 8, class_sep=2.0, random_state=0)
    for i in range(12):
        part = pd.DataFrame(Xn[i * 2_000 : (i + 1) * 2_000], columns=[f"x{j}" for j in range(8)])
        part["y"] = yn[i * 2_000 : (i + 1) * 2_000]
        part.to_parquet(tmp_path / f"part-{i:02d}.parquet", index=False)
    frame = dd.read_parquet(tmp_path)
    with dask.config.set({"dask-asgd.stream": stream}):
        est = ASGDClassifier(max_iter=3, random_state=0).fit(frame[[f"x{j}" for j in range(8)]], frame["y"])
    assert est.fit_report_.tasks["n_samples"].sum() == 24_000
    assert list(est.feature_names_in_) == [f"x{j}" for j in range(8)]
    assert est.score(pd.DataFrame(Xn, columns=[f"x{j}" for j in range(8)]), yn) > 0.9
    assert (est.fit_report_.tasks["blocks_read"] > 0).all() == stream


def test_auto_streams_by_the_bytes_in_memory_and_never_a_persisted_collection(client):
    import scipy.sparse as sp

    X, y, _, _ = _data(n=4_000)
    tiny = {"dask-asgd.stream": "auto", "dask-asgd.stream-above": 1e-12}  # any collection is "large"
    with dask.config.set(tiny):
        streamed = ASGDClassifier(max_iter=1).fit(X, y)
        Xp, yp = client.persist([X, y])
        persisted = ASGDClassifier(max_iter=1).fit(Xp, yp)  # in memory already: kept there
    assert (streamed.fit_report_.tasks["blocks_read"] > 0).all()
    assert (persisted.fit_report_.tasks["blocks_read"] == 0).all()
    # sparse blocks count their stored values, not the zeros: 4,000 x 10^6 at 5 values a row is
    # 32 GB dense, 240 kB stored; a threshold of 1% of the workers' memory streams the first only
    rng = np.random.default_rng(0)
    Xs = sp.random(4_000, 1_000_000, density=5e-6, format="csr", random_state=rng)
    Xd = da.from_array(Xs, chunks=(1_000, 1_000_000), asarray=False)
    with dask.config.set({"dask-asgd.stream": "auto", "dask-asgd.stream-above": 0.01}):
        sparse = ASGDClassifier(max_iter=1).fit(Xd, da.from_array(rng.integers(0, 2, 4_000), chunks=1_000))
    assert (sparse.fit_report_.tasks["blocks_read"] == 0).all()
    with dask.config.set({"dask-asgd.stream": "true"}):  # as an environment variable sets it
        assert (ASGDClassifier(max_iter=1).fit(X, y).fit_report_.tasks["blocks_read"] > 0).all()


def test_a_worker_that_joins_shares_a_streamed_shards_epochs():
    X, y = make_classification(40_000, 20, random_state=0)
    Xd, yd = da.from_array(X, chunks=5_000), da.from_array(y, chunks=5_000)
    max_iter = 60
    with (
        LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):

        def grow():  # a second worker once the fit trains
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if any("dask-asgd" in str(k) for keys in client.processing().values() for k in keys):
                    break
                time.sleep(0.02)
            cluster.scale(2)

        grower = threading.Thread(target=grow)
        grower.start()
        with dask.config.set({"dask-asgd.stream": True}):
            clf = ASGDClassifier(max_iter=max_iter, tol=None, random_state=0).fit(Xd, yd)
        grower.join()
    tasks = clf.fit_report_.tasks
    joined = tasks[tasks["origin"] == "joined"]
    assert len(joined) == 1, tasks
    assert joined["blocks_read"].iloc[0] > 0  # it read the shard's blocks on its own worker
    assert abs(clf.fit_report_.samples_seen / len(X) - max_iter) <= 2
    assert clf.score(X, y) > 0.8
