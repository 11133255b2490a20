"""Accuracy against scikit-learn's SGD with the same loss, penalty and epochs, 1 and 2 workers.

Scores are averaged over seeds and splits (SGD is stochastic; a single 450-row test set moves
by 0.2 points per sample), and ASGD must not fall more than 1 point (R^2: 0.01) below.
"""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, make_classification, make_regression
from sklearn.linear_model import SGDClassifier, SGDRegressor
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from dask_asgd import ASGDClassifier, ASGDRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module", autouse=True)
def client(module_thread_client):
    return module_thread_client


def _splits(X, y, n_splits):
    for split in range(n_splits):
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=split)
        sc = StandardScaler().fit(Xtr)
        yield sc.transform(Xtr), sc.transform(Xte), ytr, yte


def _compare(ref_cls, cls, X, y, n_workers, n_splits, seeds, **kw):
    ref, ours = [], []
    for Xtr, Xte, ytr, yte in _splits(X, y, n_splits):
        for seed in seeds:
            ref.append(ref_cls(random_state=seed, **kw).fit(Xtr, ytr).score(Xte, yte))
            ours.append(cls(random_state=seed, n_workers=n_workers, **kw).fit(Xtr, ytr).score(Xte, yte))
    return float(np.mean(ref)), float(np.mean(ours))


@pytest.mark.parametrize("n_workers", [1, 2])
@pytest.mark.parametrize("loader", [load_digits, load_breast_cancer], ids=["digits", "breast_cancer"])
@pytest.mark.parametrize("loss", ["hinge", "log_loss"])
def test_classifier_small_sets(loader, loss, n_workers):
    X, y = loader(return_X_y=True)
    ref, ours = _compare(SGDClassifier, ASGDClassifier, X, y, n_workers, 2, range(3), loss=loss)
    assert ours >= ref - 0.01, (ref, ours)


@pytest.mark.parametrize("n_workers", [1, 2])
def test_classifier_synthetic_200k(n_workers):
    X, y = make_classification(200_000, 100, n_informative=30, random_state=0)
    ref, ours = _compare(SGDClassifier, ASGDClassifier, X, y, n_workers, 1, [0], loss="log_loss", max_iter=5, tol=None)
    assert ours >= ref - 0.01, (ref, ours)


@pytest.mark.parametrize("n_workers", [1, 2])
def test_regressor_diabetes(n_workers):
    X, y = load_diabetes(return_X_y=True)
    ref, ours = _compare(SGDRegressor, ASGDRegressor, X, y, n_workers, 2, range(3))
    assert ours >= ref - 0.01, (ref, ours)


@pytest.mark.parametrize("n_workers", [1, 2])
def test_regressor_synthetic_200k(n_workers):
    X, y = make_regression(200_000, 100, n_informative=30, noise=10.0, random_state=0)
    ref, ours = _compare(SGDRegressor, ASGDRegressor, X, y, n_workers, 1, [0], max_iter=5, tol=None)
    assert ours >= ref - 0.01, (ref, ours)
