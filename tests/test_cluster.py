"""ASGDKMeans: scikit-learn's checks and the behaviour of a fit, on real Dask clusters."""

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from dask_asgd import ASGDKMeans

# Checks that cannot pass by design, each with its reason; scikit-learn's own MiniBatchKMeans
# is marked the same way for both.
_WEIGHTS = (
    "Online K-Means visits a repeated row several times, each time with a smaller step, while a "
    "weighted row is visited once with a larger one: the paths, and so the clusterings of the "
    "check's few rows, differ (scikit-learn's MiniBatchKMeans: 'sample_weight is not equivalent "
    "to removing/repeating samples')."
)
_ASYNC = (
    "Asynchronous exchange at a fixed interval: which states reach which task, and when, depends "
    "on the timing of messages, so two fits with the same random_state can end with a few of the "
    "check's rows on other centroids. The same check runs strictly, and passes, without exchange "
    "(sync_interval=None)."
)
EXPECTED_FAILED = {
    "check_sample_weight_equivalence_on_dense_data": _WEIGHTS,
    "check_sample_weight_equivalence_on_sparse_data": _WEIGHTS,
}


@pytest.fixture(autouse=True)
def _cluster(module_thread_client):
    """Every fit of this module on one in-process cluster of 2 workers (conftest)."""
    yield module_thread_client


def _expected_failed(est):
    if isinstance(est.sync_interval, int):
        return {**EXPECTED_FAILED, "check_fit_idempotent": _ASYNC}
    return EXPECTED_FAILED


@parametrize_with_checks(
    [
        ASGDKMeans(n_clusters=2, max_iter=10, random_state=0),
        ASGDKMeans(n_clusters=2, max_iter=10, random_state=0, sync_interval=None),
        ASGDKMeans(n_clusters=2, max_iter=10, random_state=0, sync_interval=1, batch_size=8, parzen="centroid"),
    ],
    expected_failed_checks=_expected_failed,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# ----------------------------------------------------------------------------- behaviour
def _blobs(n=20_000, d=10, centers=20, seed=0, dtype=np.float64, std=2.0):
    from sklearn.datasets import make_blobs

    X, _ = make_blobs(n, d, centers=centers, cluster_std=std, random_state=seed)
    return X.astype(dtype)


def _reference(X, k, seed=0):
    """scikit-learn's KMeans from a k-means++ start on the data: ``(init, inertia)``."""
    from sklearn.cluster import KMeans, kmeans_plusplus

    init = kmeans_plusplus(X, k, random_state=seed)[0]
    return init, KMeans(k, init=init, n_init=1).fit(X).inertia_


@pytest.mark.parametrize("sync_interval", ["auto", None, 2])
def test_reaches_kmeans_inertia_from_the_same_start(sync_interval):
    # more rows than the start's sample: the tasks' result, no Lloyd finish on the client
    X = _blobs(n=40_000, std=1.5)
    init, ref = _reference(X, 20)
    fits = [ASGDKMeans(20, init=init, sync_interval=sync_interval, random_state=s).fit(X) for s in range(3)]
    assert np.median([f.inertia_ for f in fits]) <= 1.01 * ref
    km = fits[0]
    assert km.cluster_centers_.shape == (20, 10) and km.labels_.shape == (40_000,)
    assert km.n_iter_ >= 1 and km.n_steps_ >= km.n_iter_
    # inertia_ and labels_ are those of the returned centers on the training rows
    assert km.inertia_ == pytest.approx(-km.score(X), rel=1e-9)
    np.testing.assert_array_equal(km.labels_, km.predict(X))


def test_small_data_ends_with_lloyd_on_the_client():
    # every row fits in the start's sample: Lloyd finishes there, so exchanging fits agree
    from sklearn.cluster import KMeans

    X = _blobs(n=3000, centers=8)
    init, _ = _reference(X, 8)
    a = ASGDKMeans(8, init=init, sync_interval=1, batch_size=128, random_state=0).fit(X)
    b = ASGDKMeans(8, init=init, sync_interval=1, batch_size=128, random_state=0).fit(X)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    ref = KMeans(8, init=init, n_init=1).fit(X)
    assert a.inertia_ <= 1.001 * ref.inertia_


def test_tasks_exchange_and_the_parzen_test_decides():
    X = _blobs()
    km = ASGDKMeans(20, sync_interval=1, batch_size=256, max_iter=20, tol=0, random_state=0).fit(X)
    t = km.fit_report_.tasks
    assert len(t) == 2 and (t["sent"] + t["received"] > 0).all() and t["received"].sum() > 0
    assert (t["merged"] + t["rejected"]).sum() > 0
    off = ASGDKMeans(20, sync_interval=1, batch_size=256, max_iter=20, tol=0, parzen=False, random_state=0).fit(X)
    assert off.fit_report_.tasks["rejected"].sum() == 0 and off.fit_report_.tasks["merged"].sum() > 0
    per_centroid = ASGDKMeans(
        20, sync_interval=1, batch_size=256, max_iter=20, tol=0, parzen="centroid", random_state=0
    ).fit(X)
    # counted per centroid: more decisions than messages (the test on the state makes at most one
    # decision per message received)
    t = per_centroid.fit_report_.tasks
    assert (t["merged"] + t["rejected"]).sum() > t["received"].sum()
    t = (
        ASGDKMeans(20, sync_interval=1, batch_size=256, max_iter=20, tol=0, parzen=True, random_state=0)
        .fit(X)
        .fit_report_.tasks
    )
    assert 0 < (t["merged"] + t["rejected"]).sum() <= t["received"].sum()


def test_without_exchange_fits_are_reproducible():
    X = _blobs(n=5000)
    a = ASGDKMeans(8, sync_interval=None, random_state=3).fit(X)
    b = ASGDKMeans(8, sync_interval=None, random_state=3).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)


def test_sparse_and_float32_input():
    import scipy.sparse as sp

    X = _blobs(n=8000, dtype=np.float32)
    km = ASGDKMeans(20, random_state=0).fit(X)
    assert km.cluster_centers_.dtype == np.float32
    Xs = sp.csr_matrix(np.where(np.abs(X) < 2, 0, X).astype(np.float64))
    init, ref = _reference(Xs.toarray(), 20)
    fits = [ASGDKMeans(20, init=init, random_state=s).fit(Xs) for s in range(3)]
    assert np.median([f.inertia_ for f in fits]) <= 1.01 * ref
    kms = fits[0]
    np.testing.assert_array_equal(kms.predict(Xs), kms.predict(Xs.toarray()))
    np.testing.assert_allclose(kms.transform(Xs[:5]), kms.transform(Xs[:5].toarray()), rtol=1e-6)


def test_dask_input_gives_lazy_results():
    import dask.array as da
    import dask.dataframe as dd
    import pandas as pd

    X = _blobs(n=10_000)
    dX = da.from_array(X, chunks=(2500, 10))
    init, ref = _reference(X, 20)
    km = ASGDKMeans(20, init=init, random_state=0).fit(dX)
    assert km.inertia_ <= 1.01 * ref
    assert isinstance(km.labels_, da.Array)
    pred = km.predict(dX)
    assert isinstance(pred, da.Array) and isinstance(km.transform(dX), da.Array)
    np.testing.assert_array_equal(pred.compute(), km.predict(X))
    np.testing.assert_array_equal(km.labels_.compute(), km.predict(X))
    assert km.transform(dX).compute().shape == (10_000, 20)
    assert km.score(dX) == pytest.approx(km.score(X))
    assert sorted(km.fit_report_.tasks["n_samples"]) == [5000, 5000]
    df = dd.from_pandas(pd.DataFrame(X, columns=[f"f{i}" for i in range(10)]), npartitions=4)
    kdf = ASGDKMeans(20, init=init, random_state=0).fit(df)
    assert list(kdf.feature_names_in_) == [f"f{i}" for i in range(10)]
    assert kdf.inertia_ <= 1.01 * ref


def test_partial_fit_goes_on_from_the_centers():
    X = _blobs(n=12_000)
    init, ref = _reference(X, 20)
    km = ASGDKMeans(20, init=init, random_state=0)
    for part in np.array_split(X, 4):
        km.partial_fit(part)
    assert km.n_features_in_ == 10 and km.cluster_centers_.shape == (20, 10)
    first = ASGDKMeans(20, init=init, random_state=0).partial_fit(X[:3000])
    assert km.score(X) > first.score(X)  # later calls improved on the first
    assert -km.score(X) <= 1.05 * ref


def test_bad_input_gets_scikit_learns_errors():
    X = _blobs(n=3000)
    with pytest.raises(ValueError, match="n_samples=5 should be >= n_clusters=8"):
        ASGDKMeans(8).fit(X[:5])
    with pytest.raises(ValueError, match="shape of the initial centers"):
        ASGDKMeans(8, init=np.zeros((3, 10))).fit(X)
    with pytest.warns(RuntimeWarning, match="performing only one init"):
        ASGDKMeans(3, init=X[:3], n_init=3).fit(X)
    Xn = X.copy()
    Xn[-7, 3] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        ASGDKMeans(8, random_state=0).fit(Xn)


def test_count_memory_follows_the_shards_layout():
    import dask
    import dask.array as da

    from dask_asgd.cluster import KEPT_SHARDS_COUNT_MEMORY, RANDOM_SHARDS_COUNT_MEMORY, _count_memory

    X = _blobs(n=3000)
    assert _count_memory(X) == RANDOM_SHARDS_COUNT_MEMORY  # in-memory rows: random shards
    assert _count_memory(da.from_array(X, chunks=(1500, 10))) == KEPT_SHARDS_COUNT_MEMORY
    with dask.config.set({"dask-asgd.kmeans.count-memory": "0.5"}):
        assert _count_memory(X) == 0.5
    with dask.config.set({"dask-asgd.kmeans.count-memory": "most"}):
        with pytest.raises(ValueError, match="count-memory must be 'auto' or a number >= 0, got 'most'"):
            ASGDKMeans(3, random_state=0).fit(X)


@pytest.mark.parametrize("value", [0, "fast", -1e6])
def test_a_bad_exchange_byte_rate_is_refused_before_training(value):
    import dask

    with dask.config.set({"dask-asgd.kmeans.exchange-bytes-per-second": value}):
        with pytest.raises(ValueError, match="exchange-bytes-per-second must be a number > 0"):
            ASGDKMeans(3, random_state=0).fit(_blobs(n=300))


def _trained(X, k, max_iter, epoch_sums=True, sw=None):
    from sklearn.cluster import kmeans_plusplus

    from dask_asgd.models.kmeans import KMeansSpec

    init, _ = kmeans_plusplus(X[:2000], k, random_state=0)
    spec = KMeansSpec(
        n_clusters=k,
        n_features=X.shape[1],
        init_centers=init,
        init_counts=None,
        max_iter=max_iter,
        tol=0.0,
        batch_size=256,
        shuffle=True,
        parzen=0,
        memory=0.25,
        epoch_sums=epoch_sums,
    )
    trainer = spec.trainer(X, None, sw, seed=0, n_buffers=1)
    while not trainer.done:
        trainer.run(1000)
    return trainer


@pytest.mark.parametrize("weighted", [False, True])
def test_the_last_epochs_sums_stand_for_the_lloyd_pass_where_no_row_changed_centroid(weighted):
    from dask_asgd.models import _kmeans_kernels as KK
    from dask_asgd.models.kmeans import MAX_CHANGED

    X = _blobs(n=20_000, centers=4, std=0.5)  # separated clusters: the last epoch's assignments hold
    sw = np.random.default_rng(0).uniform(0.5, 2.0, len(X)) if weighted else None
    tr = _trained(X, 4, max_iter=2, sw=sw)
    out = tr.final()
    assert not out["lloyd_pass"] and tr.changed <= MAX_CHANGED
    sums, weights = np.zeros((4, X.shape[1])), np.zeros(4)  # the pass it stands for
    KK.lloyd_sums(tr.rows, tr.C, tr.cnorm, sums, weights)
    np.testing.assert_allclose(out["weights"], weights, rtol=1e-12)
    np.testing.assert_allclose(out["sums"], sums, rtol=1e-9)
    # with the sums off (dask-asgd.kmeans.final-pass: always), the pass itself
    assert _trained(X, 4, max_iter=2, epoch_sums=False).final()["lloyd_pass"]


def test_a_lloyd_pass_where_the_last_epoch_assigned_rows_elsewhere():
    from dask_asgd.models.kmeans import MAX_CHANGED

    X = np.random.default_rng(0).random((20_000, 5))  # no clusters: centroids still move rows
    tr = _trained(X, 30, max_iter=1)
    out = tr.final()
    assert out["lloyd_pass"] and tr.changed > MAX_CHANGED


def test_final_pass_setting():
    import dask

    X = _blobs(n=20_000, centers=4, std=0.5)
    km = {}
    for value in ("auto", "always"):
        with dask.config.set({"dask-asgd.kmeans.final-pass": value}):
            km[value] = ASGDKMeans(4, max_iter=2, tol=0, sync_interval=None, random_state=0).fit(X)
    np.testing.assert_allclose(km["auto"].cluster_centers_, km["always"].cluster_centers_, rtol=1e-9)
    with dask.config.set({"dask-asgd.kmeans.final-pass": "never"}):
        with pytest.raises(ValueError, match="final-pass must be 'auto' or 'always', got 'never'"):
            ASGDKMeans(3, random_state=0).fit(X)


def test_worker_processes(process_client):
    # the in-memory input scattered to two worker processes, and a Dask array on them
    import dask.array as da

    X = _blobs(n=40_000, std=1.5)
    init, ref = _reference(X, 20)
    # the workers load the compiled kernels on their first fit: a task that is still loading
    # them takes no messages yet, and the other may be done by then
    ASGDKMeans(20, init=init, max_iter=1, random_state=0).fit(X[:2000])
    km = ASGDKMeans(20, init=init, sync_interval=2, max_iter=20, tol=0, random_state=0).fit(X)
    assert km.inertia_ <= 1.01 * ref
    assert len(set(km.fit_report_.tasks["worker"])) == 2
    assert km.fit_report_.tasks["received"].sum() > 0
    kd = ASGDKMeans(20, init=init, random_state=0).fit(da.from_array(X, chunks=(2500, 10)))
    assert kd.inertia_ <= 1.01 * ref


def test_compute_labels_false_leaves_labels_unset():
    X = _blobs(n=4000)
    km = ASGDKMeans(5, random_state=0).fit(X)
    assert km.labels_.shape == (4000,)
    km.set_params(compute_labels=False).fit(X)
    assert not hasattr(km, "labels_") and not hasattr(km, "inertia_")
    assert km.predict(X).shape == (4000,)


def test_a_monitor_sees_each_tasks_centers():
    X = _blobs(n=30_000)
    km = ASGDKMeans(6, max_iter=3, tol=0, random_state=0)
    km.fit(X, monitor=lambda centers: centers.shape)
    trace = km.fit_report_.trace
    assert set(trace["task"]) == {0, 1} and all(v == (6, 10) for v in trace["value"])


def test_dask_frames_of_booleans_and_numbers():
    # dd.get_dummies makes boolean columns: a frame of them and numbers is numeric input, as
    # scikit-learn's check_array makes a pandas frame; a boolean dask array too
    import dask.array as da
    import dask.dataframe as dd
    import pandas as pd

    from dask_asgd import ASGDClassifier

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=2000), "b": rng.normal(size=2000) > 0, "c": rng.integers(0, 3, 2000)})
    y = (df.a + df.b > 0.5).astype(int)
    ddf, dy = dd.from_pandas(df, npartitions=2), dd.from_pandas(y, npartitions=2)
    assert ASGDClassifier(random_state=0).fit(ddf, dy).score(df, y) > 0.9
    km = ASGDKMeans(3, random_state=0).fit(ddf)
    assert km.cluster_centers_.shape == (3, 3) and list(km.feature_names_in_) == ["a", "b", "c"]
    db = da.from_array(rng.normal(size=(2000, 4)) > 0, chunks=1000)
    assert ASGDKMeans(3, random_state=0).fit(db).cluster_centers_.dtype == np.float64
    assert ASGDClassifier(random_state=0).fit(db, da.from_array(y.values, chunks=1000)).coef_.shape == (1, 4)
    with pytest.raises(ValueError, match="bytes/strings"):
        ASGDKMeans(3).fit(dd.from_pandas(df.assign(s=df.c.astype(str)), npartitions=2))
