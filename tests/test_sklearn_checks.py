"""scikit-learn's estimator checks, run against a real in-process Dask cluster."""

import numpy as np
import pytest
from distributed import Client, LocalCluster
from sklearn.utils.estimator_checks import parametrize_with_checks

from dask_asgd import ASGDClassifier, ASGDRegressor

# The checks fit with a small max_iter on purpose; the warning that says so is expected.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# Checks that cannot pass by design, each with its reason.
_WEIGHTS = (
    "SGD visits a repeated row several times at different points of its path, while a weighted row "
    "is visited once with a larger step: the two fits differ by more than the check's tolerance "
    "(scikit-learn's own SGDClassifier/SGDRegressor are marked the same way)."
)
_ASYNC = (
    "Asynchronous exchange: which states reach which task, and when, depends on the timing of "
    "messages, so two fits with the same random_state are not bitwise identical; predictions of "
    "a continuous output differ by more than the check's tolerance."
)
_ASYNC_SMALL = (
    "Asynchronous exchange on the check's few dozen rows split over two tasks: whether the "
    "minority class clears the check's recall bar depends on which states arrive when (it failed "
    "in 1 of 4 full runs of the suite). The same check runs strictly, and passes, without "
    "exchange (sync_interval=None) below."
)
EXPECTED_FAILED = {
    "ASGDClassifier": {
        "check_fit_idempotent": _ASYNC,
        "check_supervised_y_2d": _ASYNC,
        "check_classifier_data_not_an_array": _ASYNC,
        "check_class_weight_classifiers": _ASYNC_SMALL,
        "check_sample_weight_equivalence_on_dense_data": _WEIGHTS,
        "check_sample_weight_equivalence_on_sparse_data": _WEIGHTS,
    },
    "ASGDRegressor": {
        "check_sample_weight_equivalence_on_dense_data": _WEIGHTS,
        "check_sample_weight_equivalence_on_sparse_data": _WEIGHTS,
        "check_regressor_data_not_an_array": _ASYNC,
        "check_supervised_y_2d": _ASYNC,
        "check_regressors_int": _ASYNC,
        "check_fit_idempotent": _ASYNC,
    },
}


@pytest.fixture(scope="module", autouse=True)
def cluster_client():
    # One cluster for all checks: each fit uses the active client (as a user's session would);
    # starting a cluster per fit would make ~800 checks too slow for CI.
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            yield client


def _expected_failed(est):
    failed = EXPECTED_FAILED.get(type(est).__name__, {})
    if est.sync_interval is None or est.sync_interval == "auto":
        # no exchange (and "auto", which trains the random shards of in-memory input apart, as
        # every check's data are): fits are reproducible, so only the sample-weight checks stay
        # expected; the _ASYNC* checks run strictly
        failed = {k: v for k, v in failed.items() if v is _WEIGHTS}
    return failed


@parametrize_with_checks(
    [
        ASGDClassifier(max_iter=20, random_state=0),
        ASGDRegressor(max_iter=20, random_state=0),
        # a fixed interval exchanges on any shards: the API with states arriving mid-fit
        ASGDClassifier(max_iter=20, random_state=0, sync_interval=4),
        ASGDRegressor(max_iter=20, random_state=0, sync_interval=4),
        ASGDClassifier(max_iter=20, random_state=0, sync_interval=None),
        ASGDRegressor(max_iter=20, random_state=0, sync_interval=None),
        # averaged SGD (its own state in the kernel and in partial_fit / warm_start)
        ASGDClassifier(max_iter=20, random_state=0, sync_interval=None, average=True),
        ASGDRegressor(max_iter=20, random_state=0, sync_interval=None, average=10),
    ],
    expected_failed_checks=_expected_failed,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("sync_interval", [None, "auto"])
@pytest.mark.parametrize("Est", [ASGDClassifier, ASGDRegressor])
def test_without_exchange_fits_are_reproducible(Est, sync_interval):
    # what the _ASYNC expected failures leave out: everything but message timing is seeded
    # ("auto" on in-memory input: shards drawn at random, trained apart)
    from sklearn.datasets import make_classification

    X, y = make_classification(3000, 10, random_state=0)
    a = Est(max_iter=5, tol=None, sync_interval=sync_interval, random_state=3).fit(X, y)
    b = Est(max_iter=5, tol=None, sync_interval=sync_interval, random_state=3).fit(X, y)
    assert len(a.fit_report_.tasks) == 2
    assert a.fit_report_.tasks["sent"].sum() == 0
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.intercept_, b.intercept_)
