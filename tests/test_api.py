"""The scikit-learn surface: pipelines, search, clone, bad input, predict_proba."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris, make_regression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from dask_asgd import ASGDClassifier, ASGDRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module", autouse=True)
def client(module_thread_client):
    return module_thread_client


@pytest.fixture
def iris():
    return load_iris(return_X_y=True)


def test_pipeline_and_grid_search(iris):
    X, y = iris
    pipe = make_pipeline(StandardScaler(), ASGDClassifier(max_iter=20, random_state=0))
    search = GridSearchCV(pipe, {"asgdclassifier__alpha": [1e-4, 1e-2]}, cv=3).fit(X, y)
    assert search.best_score_ > 0.8
    assert search.best_estimator_[-1].coef_.shape == (3, 4)


def test_clone_keeps_params_not_fit(iris):
    X, y = iris
    est = ASGDClassifier(alpha=0.01, sync_interval=8, fanout="all", parzen=False).fit(X, y)
    c = clone(est)
    assert c.get_params() == est.get_params()
    assert not hasattr(c, "coef_")


def test_predict_proba_log_loss_and_modified_huber(iris):
    X, y = iris
    X = StandardScaler().fit_transform(X)
    for loss in ("log_loss", "modified_huber"):
        p = ASGDClassifier(loss=loss, random_state=0).fit(X, y).predict_proba(X)
        assert p.shape == (150, 3)
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
        assert (p >= 0).all()
    with pytest.raises(AttributeError, match="predict_proba"):
        ASGDClassifier(loss="hinge").fit(X, y).predict_proba(X)


def test_calibrating_a_fitted_model_on_held_out_rows_takes_its_overconfidence_away():
    """docs/usage.md's recipe: a short SGD fit leaves predict_proba overconfident (here 4 tasks,
    5 epochs of 4,000 rows: held-out log loss 4.9; scikit-learn's SGDClassifier 6.5, one task
    7.9); a frozen fitted model calibrated on rows the fit did not see gives a held-out log loss
    near the data's own, without refitting it."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.datasets import make_classification
    from sklearn.frozen import FrozenEstimator
    from sklearn.metrics import log_loss

    X, y = make_classification(n_samples=6000, n_features=40, n_informative=10, n_classes=3, flip_y=0.1, random_state=0)
    clf = ASGDClassifier(loss="log_loss", n_workers=4, max_iter=5, tol=None, random_state=0).fit(X[:4000], y[:4000])
    coef = clf.coef_.copy()
    cal = CalibratedClassifierCV(FrozenEstimator(clf), method="sigmoid").fit(X[4000:5000], y[4000:5000])
    raw, calibrated = log_loss(y[5000:], clf.predict_proba(X[5000:])), log_loss(y[5000:], cal.predict_proba(X[5000:]))
    assert raw > 2.0  # overconfident: 4.9 when measured
    assert calibrated < 1.0  # 0.73 when measured
    np.testing.assert_array_equal(clf.coef_, coef)  # the fitted model was not trained again
    np.testing.assert_array_equal(cal.classes_, clf.classes_)


def test_predict_proba_of_float32_far_from_the_boundary_warns_nothing(iris):
    # exp of a large float32 decision value overflows; the probabilities are 0 / 1 all the same
    import warnings

    X, y = iris
    X = StandardScaler().fit_transform(X).astype(np.float32)
    est = ASGDClassifier(loss="log_loss", random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = est.predict_proba(X * 1e4)
    assert p.dtype == np.float32 and np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)


def test_feature_names_from_pandas(iris):
    X, y = iris
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    est = ASGDClassifier(max_iter=5).fit(df, y)
    assert list(est.feature_names_in_) == ["a", "b", "c", "d"]


@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.array([[np.nan, 1.0], [1.0, 2.0]]), [0, 1], "Input X contains NaN"),
        (np.array([[np.inf, 1.0], [1.0, 2.0]]), [0, 1], "Input X contains infinity"),
        (np.ones((3, 2)), [1, 1, 1], "The number of classes has to be greater than one; got 1 class"),
        (np.empty((0, 2)), [], "0 sample"),
        (np.array([["a", "b"], ["c", "d"]], dtype=object), [0, 1], "could not convert|Unable to convert"),
        (np.ones((3, 2)), [0, 1], "inconsistent numbers of samples"),
    ],
)
def test_bad_input_gets_sklearn_errors(X, y, match):
    with pytest.raises(ValueError, match=match):
        ASGDClassifier(max_iter=2).fit(X, y)


def test_wrong_feature_count_at_predict(iris):
    X, y = iris
    est = ASGDClassifier(max_iter=5).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but ASGDClassifier is expecting 4"):
        est.predict(X[:, :3])


def test_negative_sample_weight_rejected(iris):
    X, y = iris
    w = np.ones(len(y))
    w[3] = -1
    with pytest.raises(ValueError, match="Negative values in data passed to"):
        ASGDClassifier(max_iter=2).fit(X, y, sample_weight=w)


def test_bad_parameters_get_sklearn_errors(iris):
    X, y = iris
    with pytest.raises(ValueError, match="The 'sync_interval' parameter"):
        ASGDClassifier(sync_interval=0).fit(X, y)
    with pytest.raises(ValueError, match="The 'loss' parameter"):
        ASGDClassifier(loss="squared_error").fit(X, y)
    with pytest.raises(ValueError, match="eta0 must be > 0"):
        ASGDRegressor(eta0=0.0).fit(X, y)


def test_class_weight_balanced_shifts_minority_recall():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (1900, 2)), rng.normal(1.5, 1, (100, 2))])
    y = np.r_[np.zeros(1900), np.ones(100)]
    plain = ASGDClassifier(max_iter=20, random_state=0).fit(X, y)
    bal = ASGDClassifier(max_iter=20, class_weight="balanced", random_state=0).fit(X, y)
    rec = lambda e: (e.predict(X[y == 1]) == 1).mean()  # noqa: E731
    assert rec(bal) > rec(plain) + 0.2


def test_warm_start_starts_from_previous_coef():
    X, y = make_regression(2000, 5, noise=1.0, random_state=0)
    reg = ASGDRegressor(max_iter=1, tol=None, warm_start=True, learning_rate="constant", eta0=1e-4, random_state=0).fit(
        X, y
    )
    first = reg.coef_.copy()
    reg.fit(X, y)
    cold = ASGDRegressor(max_iter=1, tol=None, learning_rate="constant", eta0=1e-4, random_state=0).fit(X, y)
    # a second epoch from the first one's weights goes further than one epoch from zero
    assert np.linalg.norm(reg.coef_) > np.linalg.norm(first)
    assert np.linalg.norm(reg.coef_) > np.linalg.norm(cold.coef_)


def test_settings_survive_a_reset_of_dask_config():
    # other code (dask's own test clusters, a notebook's dask.config.refresh) may drop our namespace
    import dask

    from dask_asgd import config

    saved = dask.config.config.pop("dask-asgd")
    try:
        assert config.get("report-interval") == 0.25
        assert config.get("balance.max-blocks") == 64
    finally:
        dask.config.config["dask-asgd"] = saved


def test_merge_auto_is_pairwise_for_sparse_input_only():
    import dask.array as da
    import scipy.sparse as sp

    X = np.random.default_rng(0).random((20, 4))
    auto = ASGDClassifier()
    assert auto.merge == "auto"
    assert auto._pairwise(sp.csr_matrix(X)) and not auto._pairwise(X)
    assert auto._pairwise(da.from_array(X, chunks=10).map_blocks(sp.csr_matrix))
    assert not auto._pairwise(da.from_array(X, chunks=10))
    assert ASGDClassifier(merge="pairwise")._pairwise(X)
    assert not ASGDClassifier(merge="average")._pairwise(sp.csr_matrix(X))
    with pytest.raises(ValueError, match="merge"):
        ASGDClassifier(merge="sum").fit(X, np.arange(20) % 2)


@pytest.mark.parametrize("n_workers", [1, 2])
def test_average_matches_sklearn_accuracy(n_workers):
    from sklearn.datasets import load_digits
    from sklearn.linear_model import SGDClassifier

    X, y = load_digits(return_X_y=True)
    X = X / 16
    Xtr, Xte, ytr, yte = X[:1400], X[1400:], y[:1400], y[1400:]
    common = dict(loss="log_loss", average=True, max_iter=10, tol=None, random_state=0)
    ours = ASGDClassifier(n_workers=n_workers, **common).fit(Xtr, ytr)
    theirs = SGDClassifier(**common).fit(Xtr, ytr)
    assert ours.score(Xte, yte) > theirs.score(Xte, yte) - 0.02
    # the model is the average, not the last iterate (which partial_fit would go on from)
    assert not np.allclose(ours.coef_.ravel(), ours._standard_state[: ours.coef_.size], rtol=1e-3)


def test_average_starts_after_n_samples_and_continues_in_partial_fit():
    X, y = make_regression(600, 5, noise=1.0, random_state=0)
    late = ASGDRegressor(average=10**6, max_iter=2, tol=None, random_state=0, n_workers=1).fit(X, y)
    # never reached: the model is the last iterate, as scikit-learn's
    np.testing.assert_allclose(np.r_[late.coef_, late.intercept_], late._standard_state)
    reg = ASGDRegressor(average=True, random_state=0, n_workers=1)
    reg.partial_fit(X, y)
    first, t1 = np.r_[reg.coef_, reg.intercept_], reg.t_
    reg.partial_fit(X, y)
    assert reg.t_ == t1 + len(X)
    second = np.r_[reg.coef_, reg.intercept_]
    assert not np.allclose(first, second)
    assert reg.score(X, y) > 0.9
    with pytest.raises(ValueError, match="average"):
        ASGDRegressor(average=-1).fit(X, y)


def test_average_partial_fit_goes_on_like_sklearn():
    # one task, rows in order: the iterate and the average both go on from where they were
    from sklearn.linear_model import SGDRegressor

    X, y = make_regression(600, 5, noise=1.0, random_state=0)
    ours = ASGDRegressor(average=True, shuffle=False, n_workers=1)
    theirs = SGDRegressor(average=True, shuffle=False)
    for _ in range(3):
        ours.partial_fit(X, y)
        theirs.partial_fit(X, y)
        np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-9, atol=1e-12)
        assert ours.t_ == theirs.t_


@pytest.mark.parametrize("cls", [ASGDClassifier, ASGDRegressor])
def test_docstring_is_set_and_its_example_runs(cls):
    # the docstring is built from parts (its Parameters section is shared): an expression at the
    # top of a class body is no docstring, so help() and IPython's ``?`` showed nothing
    import doctest

    assert cls.__doc__ and "n_workers : int or None" in cls.__doc__ and "Examples" in cls.__doc__
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in doctest.DocTestFinder(recurse=False).find(cls, cls.__name__, globs={}):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted >= 4 and result.failed == 0, result


@pytest.mark.parametrize(
    "est, classes, coef_init, intercept_init, match",
    [
        (ASGDClassifier, 3, np.zeros((3, 4)), None, r"Provided ``coef_`` does not match dataset. "),
        (ASGDClassifier, 3, None, np.zeros(2), "Provided intercept_init does not match dataset."),
        (ASGDClassifier, 2, np.zeros((1, 4)), None, "Provided coef_init does not match dataset. "),
        (ASGDRegressor, 0, np.zeros(4), None, "Provided coef_init does not match dataset. "),
        (ASGDRegressor, 0, None, np.zeros(2), "Provided intercept_init does not match dataset."),
    ],
)
def test_coef_init_of_the_wrong_shape_gets_scikit_learns_error(est, classes, coef_init, intercept_init, match):
    from sklearn.datasets import make_classification

    X, y = make_classification(200, 5, n_informative=3, n_classes=max(classes, 2), random_state=0)
    target = X[:, 0] if classes == 0 else y
    with pytest.raises(ValueError, match=match):
        est(max_iter=2).fit(X, target, coef_init=coef_init, intercept_init=intercept_init)
