"""The fit monitor: a function of each task's model, called on the workers while they train."""

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression

from dask_asgd import ASGDClassifier, ASGDRegressor, Monitor
from dask_asgd.monitor import averaged_trace


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(30_000, 20, n_informative=8, n_classes=3, random_state=0)
    return X[:25_000], y[:25_000], X[25_000:]


@pytest.mark.parametrize("client_name", ["module_thread_client", "process_client"])
def test_trace_rebuilds_the_averaged_model_over_time(data, client_name, request):
    request.getfixturevalue(client_name)
    X, y, Xv = data
    mon = Monitor(lambda coef, b: Xv @ coef.T + b, every=0.01)
    est = ASGDClassifier(loss="log_loss", max_iter=40, tol=None, n_workers=2, random_state=0)
    est.fit(X, y, monitor=mon)
    rep = est.fit_report_
    tr = rep.trace
    assert sorted(tr["task"].unique()) == [0, 1]
    for task, g in tr.groupby("task"):
        assert len(g) >= 2  # at the start and at the end at least
        assert g["samples"].iloc[0] == 0 and g["samples"].is_monotonic_increasing
        assert g["samples"].nunique() >= 3  # called while training too, not only at both ends
        assert g["time"].is_monotonic_increasing and (g["time"] >= 0).all()
        assert g["samples"].iloc[-1] == 40 * rep.tasks.loc[task, "n_samples"]
    assert (rep.tasks["monitor_seconds"] > 0).all()
    curve = averaged_trace(tr, rep.tasks["n_samples"])
    # the last point is the fitted (averaged) model's decision function
    np.testing.assert_allclose(curve[-1][1], est.decision_function(Xv), rtol=1e-6, atol=1e-8)
    assert all(np.all(g["value"].iloc[0] == 0.0) for _, g in tr.groupby("task"))  # a zero model first
    assert not hasattr(est, "_monitor")  # the monitor is not kept with the estimator


def test_monitor_time_is_not_charged_to_max_time(module_thread_client):
    X, y = make_regression(20_000, 10, random_state=0)

    def slow(coef, b):
        import time

        time.sleep(0.05)
        return float(np.abs(coef).sum())

    est = ASGDRegressor(max_iter=10_000, tol=None, max_time=0.3, n_workers=1, random_state=0)
    est.fit(X, y, monitor=Monitor(slow, every=0.02))
    rep = est.fit_report_
    assert rep.tasks["stop_reason"].iloc[0] == "max_time"
    calls = len(rep.trace)
    # 0.3 s of training with a call every 0.02 s of it: many calls, each 0.05 s on top
    assert calls >= 5
    assert rep.tasks["monitor_seconds"].iloc[0] >= 0.05 * calls * 0.9
    assert rep.tasks["seconds"].iloc[0] >= 0.3 + 0.05 * (calls - 1)


def test_bad_monitor_is_a_clear_error(data):
    X, y, _ = data
    with pytest.raises(TypeError, match="monitor must be a Monitor"):
        ASGDClassifier(max_iter=1).fit(X, y, monitor=3)
    with pytest.raises(ValueError, match="every must be a positive"):
        Monitor(lambda c, b: 0, every=0)
    with pytest.raises(TypeError, match="callable"):
        Monitor("nope")


def test_a_failing_monitor_fails_the_fit_with_its_error(module_thread_client, data):
    X, y, _ = data

    def broken(coef, b):
        raise RuntimeError("monitor broke")

    with pytest.raises(RuntimeError, match="monitor broke"):
        ASGDClassifier(max_iter=1, n_workers=2).fit(X, y, monitor=broken)
