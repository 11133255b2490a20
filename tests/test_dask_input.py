"""Dask collections as input: the checks in-memory input gets, unknown chunk sizes, and where
the training tasks run, on real in-process clusters."""

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from distributed import futures_of, wait
from sklearn.datasets import make_classification

from dask_asgd import ASGDClassifier, ASGDKMeans, ASGDRegressor
from dask_asgd._data import _blocks_by_worker


@pytest.fixture(autouse=True)
def _cluster(module_thread_client):
    """Every fit of this module on one in-process cluster of 2 workers (conftest)."""
    yield module_thread_client


def _data(n=4000, chunk=1000):
    X, y = make_classification(n, 10, random_state=0)
    return X, y, da.from_array(X, chunks=(chunk, 10)), da.from_array(y, chunks=chunk)


def _with(values, i, v):
    out = np.array(values, dtype=np.float64)
    out[i] = v
    return da.from_array(out, chunks=1000)


def _sw(i, v):
    return lambda y: {"sample_weight": _with(np.ones(len(y)), i, v)}


_ALL = [
    (_sw(5, -1.0), "Negative values in data passed to `sample_weight`"),
    (_sw(5, np.nan), "Input sample_weight contains NaN."),
    (_sw(5, np.inf), "Input sample_weight contains infinity"),
    (lambda y: {"sample_weight": np.ones(len(y) - 1)}, r"sample_weight.shape == \(3999,\), expected \(4000,\)!"),
]
_NAN_Y = (lambda y: {"y": _with(y, 7, np.nan)}, "Input y contains NaN.")
_CASES = (
    [("kmeans",) + c for c in _ALL]
    + [("classifier",) + c for c in _ALL + [_NAN_Y]]
    + [("classifier", lambda y: {"y": _with(y + np.arange(len(y)) / len(y), 0, 0.1)}, "Unknown label type: continuous")]
    + [("regressor",) + c for c in _ALL + [_NAN_Y]]
    + [("regressor", lambda y: {"y": _with(y, 7, np.inf)}, "Input y contains infinity")]
)


@pytest.mark.parametrize("est, make, match", _CASES)
def test_bad_values_in_dask_input_get_scikit_learns_errors(est, make, match):
    _, y, dX, dy = _data()
    args = {"y": dy, **make(y)}
    with pytest.raises(ValueError, match=match):
        if est == "kmeans":
            ASGDKMeans(3, random_state=0).fit(dX, sample_weight=args.get("sample_weight"))
        else:
            cls = ASGDClassifier if est == "classifier" else ASGDRegressor
            cls(random_state=0).fit(dX, args["y"], sample_weight=args.get("sample_weight"))


def test_unknown_chunk_sizes_are_computed_and_the_users_arrays_kept():
    X, y, _, _ = _data()
    uX = dd.from_pandas(pd.DataFrame(X), npartitions=4).to_dask_array()
    uy = dd.from_pandas(pd.Series(y), npartitions=4).to_dask_array()
    assert np.isnan(uX.shape[0])
    clf = ASGDClassifier(random_state=0).fit(uX, uy)
    assert clf.score(X, y) > 0.8
    km = ASGDKMeans(3, random_state=0).fit(uX)
    assert km.cluster_centers_.shape == (3, 10)
    assert np.isnan(uX.shape[0]) and np.isnan(uy.shape[0])  # the user's objects are as they were


def test_n_workers_1_trains_one_task_on_a_collection_held_by_two_workers(module_thread_client):
    X, y, dX, dy = _data()
    dX, dy = module_thread_client.persist([dX, dy])
    wait([dX, dy])
    holders = {w for ws in module_thread_client.who_has(futures_of(dX)).values() for w in ws}
    assert len(holders) == 2
    clf = ASGDClassifier(random_state=0, n_workers=1).fit(dX, dy)
    t = clf.fit_report_.tasks
    assert len(t) == 1 and t["n_samples"].sum() == 4000
    assert clf.score(X, y) > 0.8


def test_a_collection_on_one_worker_is_trained_by_every_worker(module_thread_client):
    _, _, dX, dy = _data()
    first = sorted(module_thread_client.scheduler_info()["workers"])[0]
    dX, dy = module_thread_client.persist([dX, dy], workers=[first])
    wait([dX, dy])
    assert {w for ws in module_thread_client.who_has(futures_of(dX)).values() for w in ws} == {first}
    t = ASGDClassifier(random_state=0).fit(dX, dy).fit_report_.tasks
    assert t["worker"].nunique() == 2
    assert sorted(t["n_samples"]) == [2000, 2000]


def test_blocks_stay_where_they_are_unless_a_worker_gets_far_more_than_its_share():
    keys = list(range(8))
    rows = (100,) * 8
    spread = {k: ["a" if k % 2 else "b"] for k in keys}
    assert _blocks_by_worker(spread, keys, rows, ["a", "b"]) == {"b": [0, 2, 4, 6], "a": [1, 3, 5, 7]}
    on_a = {k: ["a"] for k in keys}
    assert _blocks_by_worker(on_a, keys, rows, ["a", "b"]) == {"a": [0, 1, 2, 3], "b": [4, 5, 6, 7]}
    # held by a worker the fit does not use: to the fit's workers; one worker of the fit takes all
    assert _blocks_by_worker(spread, keys, rows, ["a"]) == {"a": keys}
    # a worker with two tasks gets two shares; a block nobody holds goes where there is room
    got = _blocks_by_worker({k: ["a"] for k in keys[:6]}, keys, rows, ["a", "a", "b"])
    assert got == {"a": [0, 1, 2, 3, 4], "b": [5, 6, 7]}
