"""Pure unit tests of the numba kernels and of ``ShardTrainer`` (no Dask cluster).

* losses and their gradients: a hand-computed table, finite differences, scikit-learn's loss objects;
* learning-rate schedules and the 'optimal' offset;
* the SGD kernel against a plain-numpy per-sample reference (dense float64/float32, CSR);
* the Parzen-window merge;
* divergence detection and the L1 penalty's exact zeros.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import scipy.sparse as sp

from dask_asgd import _kernels as K
from dask_asgd._kernel_args import Inbox
from dask_asgd._options import (
    CLASSIFICATION_LOSSES,
    LEARNING_RATES,
    LOSSES,
    PENALTIES,
    effective_l1_ratio,
    loss_param,
)
from dask_asgd.models.linear import LinearSpec
from dask_asgd.models.linear import LinearTrainer as ShardTrainer

HINGE, LOG, MHUBER, SQHINGE, PERCEPTRON = 0, 1, 2, 3, 4
SQERR, HUBER, EPSINS, SQEPSINS = 5, 6, 7, 8
EPS = 0.5  # the epsilon used for the regression losses in the tables below


def test_loss_codes_are_the_ones_the_tests_assume():
    assert LOSSES == {
        "hinge": 0,
        "log_loss": 1,
        "modified_huber": 2,
        "squared_hinge": 3,
        "perceptron": 4,
        "squared_error": 5,
        "huber": 6,
        "epsilon_insensitive": 7,
        "squared_epsilon_insensitive": 8,
    }
    assert PENALTIES == {None: 0, "l2": 1, "l1": 2, "elasticnet": 3}
    assert LEARNING_RATES == {"constant": 0, "optimal": 1, "invscaling": 2, "adaptive": 3}


def _param(code):
    name = {v: k for k, v in LOSSES.items()}[code]
    return loss_param(name, EPS)


def test_loss_param():
    assert [_param(c) for c in range(9)] == [1.0, 1.0, 1.0, 1.0, 0.0, 1.0, EPS, EPS, EPS]


# ----------------------------------------------------------------------------- loss table
L2E = math.log(2.0)
# (code, param, y, p, loss, dloss/dp), all computed by hand from the definitions
LOSS_TABLE = [
    # hinge, threshold 1: max(0, 1 - y p); gradient -y where y p <= 1 (kink included)
    (HINGE, 1.0, 1.0, 0.5, 0.5, -1.0),
    (HINGE, 1.0, 1.0, 2.0, 0.0, 0.0),
    (HINGE, 1.0, -1.0, 0.5, 1.5, 1.0),
    (HINGE, 1.0, -1.0, -3.0, 0.0, 0.0),
    (HINGE, 1.0, 1.0, 1.0, 0.0, -1.0),
    # perceptron: max(0, -y p)
    (PERCEPTRON, 0.0, 1.0, 0.5, 0.0, 0.0),
    (PERCEPTRON, 0.0, 1.0, -2.0, 2.0, -1.0),
    (PERCEPTRON, 0.0, -1.0, 0.5, 0.5, 1.0),
    (PERCEPTRON, 0.0, -1.0, -1.0, 0.0, 0.0),
    # log loss: log(1 + exp(-y p)); gradient -y / (exp(y p) + 1)
    (LOG, 1.0, 1.0, 0.0, L2E, -0.5),
    (LOG, 1.0, -1.0, 0.0, L2E, 0.5),
    (LOG, 1.0, 1.0, 2.0, math.log(1.0 + math.exp(-2.0)), -1.0 / (math.exp(2.0) + 1.0)),
    (LOG, 1.0, -1.0, 2.0, math.log(1.0 + math.exp(2.0)), 1.0 / (math.exp(-2.0) + 1.0)),
    (LOG, 1.0, 1.0, 25.0, math.log1p(math.exp(-25.0)), -1.0 / (math.exp(25.0) + 1.0)),
    (LOG, 1.0, 1.0, -25.0, 25.0 + math.log1p(math.exp(-25.0)), -1.0 / (math.exp(-25.0) + 1.0)),
    (LOG, 1.0, -1.0, 25.0, 25.0 + math.log1p(math.exp(-25.0)), 1.0 / (math.exp(-25.0) + 1.0)),
    # modified huber: 0 (z >= 1), (1 - z)^2 (-1 <= z < 1), -4 z (z < -1), z = y p
    (MHUBER, 1.0, 1.0, 2.0, 0.0, 0.0),
    (MHUBER, 1.0, 1.0, 0.5, 0.25, -1.0),
    (MHUBER, 1.0, -1.0, 0.5, 2.25, 3.0),
    (MHUBER, 1.0, 1.0, -3.0, 12.0, -4.0),
    (MHUBER, 1.0, -1.0, 3.0, 12.0, 4.0),
    # squared hinge: max(0, 1 - y p)^2
    (SQHINGE, 1.0, 1.0, 0.5, 0.25, -1.0),
    (SQHINGE, 1.0, -1.0, 0.5, 2.25, 3.0),
    (SQHINGE, 1.0, 1.0, 3.0, 0.0, 0.0),
    (SQHINGE, 1.0, -1.0, -0.25, 0.5625, 1.5),
    # squared error: (p - y)^2 / 2
    (SQERR, 1.0, 1.0, 3.0, 2.0, 2.0),
    (SQERR, 1.0, 0.5, -1.0, 1.125, -1.5),
    (SQERR, 1.0, 2.0, 2.0, 0.0, 0.0),
    # huber, epsilon 0.5: r^2 / 2 for |r| <= 0.5, else 0.5 |r| - 0.125
    (HUBER, EPS, 1.0, 1.25, 0.03125, 0.25),
    (HUBER, EPS, 1.0, 3.0, 0.875, 0.5),
    (HUBER, EPS, 1.0, -1.0, 0.875, -0.5),
    (HUBER, EPS, 0.0, 0.5, 0.125, 0.5),
    # epsilon insensitive, epsilon 0.5: max(0, |y - p| - 0.5)
    (EPSINS, EPS, 1.0, 3.0, 1.5, 1.0),
    (EPSINS, EPS, 1.0, -1.0, 1.5, -1.0),
    (EPSINS, EPS, 1.0, 1.25, 0.0, 0.0),
    (EPSINS, EPS, 0.0, 0.5, 0.0, 0.0),
    # squared epsilon insensitive, epsilon 0.5: max(0, |y - p| - 0.5)^2
    (SQEPSINS, EPS, 1.0, 3.0, 2.25, 3.0),
    (SQEPSINS, EPS, 1.0, -1.0, 2.25, -3.0),
    (SQEPSINS, EPS, 1.0, 1.25, 0.0, 0.0),
    (SQEPSINS, EPS, 2.0, 0.75, 0.5625, -1.5),
]


def test_loss_table_covers_every_code():
    assert {row[0] for row in LOSS_TABLE} == set(range(9))


@pytest.mark.parametrize("code,param,y,p,loss,grad", LOSS_TABLE)
def test_loss_table(code, param, y, p, loss, grad):
    assert K.loss_value(code, param, y, p) == pytest.approx(loss, rel=1e-8, abs=1e-14)
    assert K.loss_gradient(code, param, y, p) == pytest.approx(grad, rel=1e-7, abs=1e-14)


def test_unknown_loss_code_is_zero():
    assert K.loss_value(99, 1.0, 1.0, -5.0) == 0.0
    assert K.loss_gradient(99, 1.0, 1.0, -5.0) == 0.0


# ----------------------------------------------------------------------------- finite differences
def _kinks(code, param, y, p):
    """True when (y, p) is within 1e-3 of a point where the loss is not differentiable."""
    z = y * p
    r = p - y
    if code in (HINGE, PERCEPTRON):
        return abs(z - param) < 1e-3
    if code == LOG:
        return abs(abs(z) - 18.0) < 1e-3  # the kernel switches approximation there
    if code == MHUBER:
        return abs(abs(z) - 1.0) < 1e-3
    if code == SQHINGE:
        return abs(z - param) < 1e-3
    if code in (HUBER, EPSINS, SQEPSINS):
        return abs(abs(r) - param) < 1e-3
    return False


def _fd_points(code):
    ps = np.linspace(-3.0, 3.0, 23) + 0.0137
    ys = [-1.0, 1.0] if code in CLASSIFICATION_LOSSES.values() else [-1.3, 0.0, 0.7, 2.0]
    return [(y, float(p)) for y in ys for p in ps if not _kinks(code, _param(code), y, float(p))]


@pytest.mark.parametrize("code", range(9))
def test_gradient_matches_finite_differences(code):
    param = _param(code)
    h = 1e-6
    pts = _fd_points(code)
    assert len(pts) > 30
    nonzero = 0
    for y, p in pts:
        fd = (K.loss_value(code, param, y, p + h) - K.loss_value(code, param, y, p - h)) / (2 * h)
        g = K.loss_gradient(code, param, y, p)
        assert g == pytest.approx(fd, rel=1e-5, abs=1e-6), (code, y, p)
        nonzero += g != 0.0
    assert nonzero > 10  # the grid really exercises the non-flat parts


# ----------------------------------------------------------------------------- scikit-learn's losses
def _sklearn_loss(code, param):
    """(loss(y, p), dloss(y, p)) from scikit-learn's own loss objects (None when there is none)."""
    sgd_fast = pytest.importorskip(
        "sklearn.linear_model._sgd_fast",
        reason="the reference losses are scikit-learn's private Cython objects, which a release may move",
    )
    cls_names = {
        HINGE: "Hinge",
        PERCEPTRON: "Hinge",
        MHUBER: "ModifiedHuber",
        SQHINGE: "SquaredHinge",
        EPSINS: "EpsilonInsensitive",
        SQEPSINS: "SquaredEpsilonInsensitive",
    }
    if code in cls_names and hasattr(sgd_fast, cls_names[code]):
        cls = getattr(sgd_fast, cls_names[code])
        obj = cls() if code == MHUBER else cls(param)
        return (lambda y, p: obj.py_loss(p, y)), (lambda y, p: obj.py_dloss(p, y))
    # scikit-learn >= 1.6 uses the common Cy losses for log_loss / squared_error / huber
    try:
        from sklearn._loss import _loss as cyl
    except ImportError:  # pragma: no cover
        return None
    if code == LOG and hasattr(cyl, "CyHalfBinomialLoss"):
        obj, to_y = cyl.CyHalfBinomialLoss(), (lambda y: 0.5 * (y + 1.0))  # y in {0, 1}
    elif code == SQERR and hasattr(cyl, "CyHalfSquaredError"):
        obj, to_y = cyl.CyHalfSquaredError(), (lambda y: y)
    elif code == HUBER and hasattr(cyl, "CyHuberLoss"):
        obj, to_y = cyl.CyHuberLoss(param), (lambda y: y)
    else:
        return None

    def call(method, y, p):
        out = np.zeros(1)
        getattr(obj, method)(np.array([to_y(y)]), np.array([p]), np.ones(1), out)
        return float(out[0])

    return (lambda y, p: call("loss", y, p)), (lambda y, p: call("gradient", y, p))


@pytest.mark.parametrize("code", range(9))
def test_losses_match_sklearn(code):
    param = _param(code)
    fns = _sklearn_loss(code, param)
    if fns is None:
        pytest.skip("no public scikit-learn loss object for this code")
    sk_loss, sk_dloss = fns
    ps = list(np.linspace(-25.0, 25.0, 41)) + [-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0]
    ys = [-1.0, 1.0] if code in CLASSIFICATION_LOSSES.values() else [-1.5, 0.0, 1.0, 2.5]
    for y in ys:
        for p in ps:
            p = float(p)
            assert K.loss_value(code, param, y, p) == pytest.approx(sk_loss(y, p), rel=1e-8, abs=1e-12), (y, p)
            assert K.loss_gradient(code, param, y, p) == pytest.approx(sk_dloss(y, p), rel=1e-7, abs=1e-12), (y, p)


# ----------------------------------------------------------------------------- learning rates
@pytest.mark.parametrize("t", [1.0, 2.0, 17.0, 1000.0])
def test_learning_rate_schedules(t):
    eta0, power_t, alpha, oi = 0.3, 0.25, 1e-3, 57.5
    assert K.learning_rate_at(0, eta0, power_t, alpha, oi, t) == eta0
    assert K.learning_rate_at(3, eta0, power_t, alpha, oi, t) == eta0  # adaptive: eta0 as given
    assert K.learning_rate_at(1, eta0, power_t, alpha, oi, t) == pytest.approx(
        1.0 / (alpha * (oi + t - 1.0)), rel=1e-14
    )
    assert K.learning_rate_at(2, eta0, power_t, alpha, oi, t) == pytest.approx(eta0 / t**power_t, rel=1e-14)
    assert K.learning_rate_at(2, eta0, 0.5, alpha, oi, t) == pytest.approx(eta0 / math.sqrt(t), rel=1e-14)
    for pt in (0.25, 0.5, 0.3):  # the square-root paths and the general one
        assert K.learning_rate_at(2, eta0, pt, alpha, oi, t) == pytest.approx(eta0 / t**pt, rel=1e-14)


@pytest.mark.parametrize("code", range(9))
@pytest.mark.parametrize("alpha", [1e-5, 1e-4, 0.01, 1.0, 10.0])
def test_optimal_init_matches_sklearn_formula(code, alpha):
    param = _param(code)
    typw = math.sqrt(1.0 / math.sqrt(alpha))
    fns = _sklearn_loss(code, param)
    dloss = fns[1](1.0, -typw) if fns is not None else _ref_dloss(code, param, 1.0, -typw)
    eta_first = typw / max(1.0, dloss)
    expected = 1.0 / (eta_first * alpha)
    got = K.optimal_init(code, param, alpha)
    assert got == pytest.approx(expected, rel=1e-12)
    # the first sample's step is sklearn's initial eta0
    assert K.learning_rate_at(1, 0.0, 0.5, alpha, got, 1.0) == pytest.approx(eta_first, rel=1e-12)
    assert K.learning_rate_at(1, 0.0, 0.5, alpha, got, 11.0) == pytest.approx(
        1.0 / (alpha * (expected + 10.0)), rel=1e-12
    )


# ----------------------------------------------------------------------------- SGD reference
def _ref_dloss(code, param, y, p):
    """Independent plain-Python gradients (closed forms, not the kernel's branches)."""
    z = y * p
    r = p - y
    if code in (HINGE, PERCEPTRON):
        return -y if z <= param else 0.0
    if code == LOG:
        return -y / (math.exp(z) + 1.0) if z < 700 else 0.0
    if code == MHUBER:
        return 0.0 if z >= 1 else (-2.0 * y * (1.0 - z) if z >= -1 else -4.0 * y)
    if code == SQHINGE:
        return -2.0 * y * max(0.0, param - z)
    if code == SQERR:
        return r
    if code == HUBER:
        return float(np.clip(r, -param, param))
    if code == EPSINS:
        return float(np.sign(r)) if abs(r) > param else 0.0
    if code == SQEPSINS:
        return 2.0 * np.sign(r) * max(0.0, abs(r) - param)
    raise ValueError(code)


def _ref_eta(spec, opt_init, t):
    if spec.learning_rate == 1:
        return 1.0 / (spec.alpha * (opt_init + t - 1.0))
    if spec.learning_rate == 2:
        return spec.eta0 / t**spec.power_t
    return spec.eta0


def reference_sgd(X, y, sw, spec, n_epochs=1, merge_after=None):
    """Per-sample SGD in plain numpy, the semantics of scikit-learn's ``_plain_sgd``.

    ``merge_after=(n_rows, slot)``: after the first ``n_rows`` rows of the first epoch, the state
    becomes ``(state + slot) / 2`` (a Parzen merge that accepts).
    """
    sparse = sp.issparse(X)
    Xd = X.toarray() if sparse else np.asarray(X)
    Xd = Xd.astype(np.float64)
    Kk, d = spec.n_outputs, spec.n_features
    if spec.init_state is not None:
        s0 = np.asarray(spec.init_state, dtype=np.float64).ravel()
        W, b = s0[: Kk * d].reshape(Kk, d).copy(), s0[Kk * d :].copy()
    else:
        W, b = np.zeros((Kk, d)), np.zeros(Kk)
    q = np.zeros((Kk, d))
    u = 0.0
    t = float(spec.init_t)
    opt_init = 0.0
    if spec.learning_rate == 1:
        typw = math.sqrt(1.0 / math.sqrt(spec.alpha))
        opt_init = 1.0 / (typw / max(1.0, _ref_dloss(spec.loss, spec.loss_param, 1.0, -typw)) * spec.alpha)
    l2 = spec.alpha * (1.0 - spec.l1_ratio) if spec.penalty in (1, 3) else 0.0
    use_l1 = spec.penalty in (2, 3)
    decay = 0.01 if sparse else 1.0
    for _ in range(n_epochs):
        for i in range(Xd.shape[0]):
            if merge_after is not None and i == merge_after[0] and _ == 0:
                s = merge_after[1]
                W = (W + s[: Kk * d].reshape(Kk, d)) / 2.0
                b = (b + s[Kk * d :]) / 2.0
            x = Xd[i]
            eta = _ref_eta(spec, opt_init, t)
            p = W @ x + b
            W *= max(0.0, 1.0 - eta * l2)
            for k in range(Kk):
                if not spec.is_classifier:
                    yk = y[i]
                elif Kk == 1:
                    yk = 1.0 if y[i] == 1 else -1.0
                else:
                    yk = 1.0 if y[i] == k else -1.0
                g = float(np.clip(_ref_dloss(spec.loss, spec.loss_param, yk, p[k]), -1e12, 1e12))
                W[k] += -eta * g * sw[i] * x
                if spec.fit_intercept:
                    b[k] += -eta * g * sw[i] * decay
            if use_l1:
                u += spec.l1_ratio * eta * spec.alpha
                cols = np.flatnonzero(x) if sparse else np.arange(d)
                for k in range(Kk):
                    for j in cols:
                        z = W[k, j]
                        if z > 0:
                            W[k, j] = max(0.0, z - (u + q[k, j]))
                        elif z < 0:
                            W[k, j] = min(0.0, z + (u - q[k, j]))
                        q[k, j] += W[k, j] - z
            t += 1.0
    return np.concatenate([W.ravel(), b]), t


def make_spec(**kw):
    penalty = kw.pop("penalty_name", None)
    base = dict(
        n_outputs=1,
        n_features=4,
        is_classifier=True,
        loss=HINGE,
        loss_param=1.0,
        penalty=PENALTIES[penalty],
        alpha=1e-3,
        l1_ratio=effective_l1_ratio(penalty, kw.pop("l1_ratio", 0.15)),
        fit_intercept=True,
        learning_rate=1,
        eta0=0.0,
        power_t=0.5,
        max_iter=1,
        tol=None,
        n_iter_no_change=5,
        shuffle=False,
        early_stopping=False,
        validation_fraction=0.1,
        batch_size=7,
        parzen=True,
        verbose=0,
    )
    base.update(kw)
    return LinearSpec(**base)


def make_engine_spec(model=None, **kw):
    """The exchange settings of a fit of ``model`` (default: ``make_spec()``)."""
    from dask_asgd._engine.spec import EngineSpec

    base = dict(
        fit_id="test",
        model=make_spec() if model is None else model,
        sync_interval=None,
        auto_interval=False,
        fanout=0,
        n_buffers=1,
        max_time=None,
        report_interval=1.0,
        chunk_seconds=0.1,
    )
    base.update(kw)
    return EngineSpec(**base)


def _data(problem, n=61, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[rng.random((n, d)) < 0.3] = 0.0  # real zeros, so the CSR path skips entries
    sw = rng.uniform(0.5, 2.0, size=n)
    coef = rng.normal(size=(3, d))
    if problem == "binary":
        y = (X @ coef[0] + 0.3 * rng.normal(size=n) > 0).astype(np.float64)
    elif problem == "multiclass":
        y = np.argmax(X @ coef.T + 0.3 * rng.normal(size=(n, 3)), axis=1).astype(np.float64)
    else:
        y = X @ coef[0] + 0.5 + 0.1 * rng.normal(size=n)
    return X, y, sw


# (problem, n_outputs, is_classifier, loss code, loss_param, learning-rate code, eta0, power_t)
PROBLEMS = {
    "binary-hinge-optimal": ("binary", 1, True, HINGE, 1.0, 1, 0.0, 0.5),
    "binary-log-invscaling": ("binary", 1, True, LOG, 1.0, 2, 0.5, 0.5),
    "multiclass-log-optimal": ("multiclass", 3, True, LOG, 1.0, 1, 0.0, 0.5),
    "multiclass-mhuber-constant": ("multiclass", 3, True, MHUBER, 1.0, 0, 0.05, 0.5),
    "regression-sqerr-invscaling": ("regression", 1, False, SQERR, 0.1, 2, 0.05, 0.25),
    "regression-huber-constant": ("regression", 1, False, HUBER, 0.3, 0, 0.05, 0.25),
    "regression-epsins-optimal": ("regression", 1, False, EPSINS, 0.1, 1, 0.0, 0.25),
}
FORMATS = ["dense64", "dense32", "csr64", "csr32"]


def _as_format(X, fmt):
    dtype = np.float32 if fmt.endswith("32") else np.float64
    X = X.astype(dtype)
    return sp.csr_matrix(X) if fmt.startswith("csr") else X


def _tol(fmt):
    return dict(rtol=1e-6, atol=1e-9) if fmt.endswith("64") else dict(rtol=2e-4, atol=2e-5)


def _train(X, y, sw, spec, chunks=None):
    tr = ShardTrainer(X, y, sw, spec, seed=0, n_buffers=1)
    while not tr.done:
        if chunks:
            tr.run(chunks.pop(0))
        else:
            tr.run(10**6)
    return tr


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("penalty", [None, "l2", "elasticnet"])
@pytest.mark.parametrize("name", list(PROBLEMS))
def test_sgd_matches_numpy_reference(name, penalty, fmt):
    problem, k, is_clf, loss, lparam, lr, eta0, power_t = PROBLEMS[name]
    X, y, sw = _data(problem)
    alpha = 0.01 if penalty else 1e-3
    spec = make_spec(
        n_outputs=k,
        n_features=X.shape[1],
        is_classifier=is_clf,
        loss=loss,
        loss_param=lparam,
        penalty_name=penalty,
        alpha=alpha,
        learning_rate=lr,
        eta0=eta0,
        power_t=power_t,
    )
    Xf = _as_format(X, fmt)
    # the reference sees exactly the values the kernel sees (float32 rounding included)
    expected, t_end = reference_sgd(Xf, y, sw, spec)
    tr = _train(Xf, y, sw, spec)
    got = tr.state()
    assert got.dtype == (np.float32 if fmt.endswith("32") else np.float64)
    assert got.shape == (k * X.shape[1] + k,)
    np.testing.assert_allclose(got, expected, **_tol(fmt))
    assert np.abs(expected[: k * X.shape[1]]).max() > 1e-2  # something was learned
    assert tr.t[0] == t_end == 1.0 + X.shape[0]
    assert tr.samples_done == X.shape[0]
    assert tr.epoch == 1 and tr.reason == "max_iter"


@pytest.mark.parametrize("fmt", ["dense64", "csr64"])
def test_sgd_l1_matches_numpy_reference(fmt):
    X, y, sw = _data("regression")
    spec = make_spec(
        n_features=X.shape[1],
        is_classifier=False,
        loss=SQERR,
        loss_param=0.1,
        penalty_name="l1",
        alpha=0.05,
        learning_rate=2,
        eta0=0.05,
        power_t=0.25,
        max_iter=2,
    )
    Xf = _as_format(X, fmt)
    expected, _ = reference_sgd(Xf, y, sw, spec, n_epochs=2)
    got = _train(Xf, y, sw, spec).state()
    np.testing.assert_allclose(got, expected, **_tol(fmt))


def test_csr_row_dot_matches_numpy_for_every_row_length():
    # rows of 16 values and more are summed in four running sums (lengths not a multiple of 4 too)
    rng = np.random.default_rng(0)
    W = rng.normal(size=(3, 200))
    for n in list(range(0, 40)) + [63, 64, 65, 199]:
        idx = np.sort(rng.choice(200, size=n, replace=False)).astype(np.int32)
        data = rng.normal(size=n)
        for k in range(3):
            got = K._csr_row_dot(W, k, idx, data, 0, n)
            assert got == pytest.approx(float(W[k, idx] @ data), rel=1e-12, abs=1e-12), n


@pytest.mark.parametrize("fmt", ["csr64", "csr32"])
@pytest.mark.parametrize("name", ["binary-log-invscaling", "multiclass-log-optimal", "regression-sqerr-invscaling"])
def test_sgd_on_wide_sparse_rows_matches_numpy_reference(name, fmt):
    # 40 features, 30% zeros: most rows hold 20-35 values (the four-sum path), some fewer
    problem, k, is_clf, loss, lparam, lr, eta0, power_t = PROBLEMS[name]
    X, y, sw = _data(problem, n=80, d=40)
    X[:10, 12:] = 0.0  # rows of under 16 values too
    spec = make_spec(
        n_outputs=k,
        n_features=X.shape[1],
        is_classifier=is_clf,
        loss=loss,
        loss_param=lparam,
        penalty_name="l2",
        alpha=0.01,
        learning_rate=lr,
        eta0=eta0,
        power_t=power_t,
    )
    Xf = _as_format(X, fmt)
    lengths = np.diff(Xf.indptr)
    assert lengths.max() >= 16 and lengths.min() < 16
    expected, _ = reference_sgd(Xf, y, sw, spec)
    # the kernel adds a long row's products in another order than the reference: rounding, which
    # the large first steps of 'optimal' grow (to 2e-8 on coefficients of about 1 in float64),
    # so the tolerance is relative to the largest coefficient, not to each
    tol = _tol(fmt)
    tol["atol"] = max(tol["atol"], tol["rtol"] * float(np.abs(expected).max()))
    np.testing.assert_allclose(_train(Xf, y, sw, spec).state(), expected, **tol)


def test_sparse_and_dense_differ_only_by_intercept_decay():
    X, y, sw = _data("regression")
    spec = make_spec(
        n_features=X.shape[1], is_classifier=False, loss=SQERR, learning_rate=0, eta0=0.02, penalty_name=None
    )
    dense = _train(X, y, sw, spec).state()
    csr = _train(sp.csr_matrix(X), y, sw, spec).state()
    # the sparse intercept moves 100x slower, so the two runs really differ
    assert abs(csr[-1]) < 0.2 * abs(dense[-1])
    np.testing.assert_allclose(csr, reference_sgd(sp.csr_matrix(X), y, sw, spec)[0], rtol=1e-6, atol=1e-9)


def test_sgd_several_epochs_chunks_and_init_state():
    """Chunked calls (t and the L2 scale carried between calls), two epochs, a warm start."""
    X, y, sw = _data("multiclass", n=300)
    d = X.shape[1]
    init = np.linspace(-0.5, 0.5, 3 * d + 3)
    spec = make_spec(
        n_outputs=3,
        n_features=d,
        loss=SQHINGE,
        penalty_name="l2",
        alpha=0.02,
        learning_rate=1,
        max_iter=2,
        batch_size=128,
        init_state=init,
        init_t=4.0,
    )
    expected, t_end = reference_sgd(X, y, sw, spec, n_epochs=2)
    tr = _train(X, y, sw, spec, chunks=[1, 1, 100, 2, 100])
    assert tr.n_batches >= 3  # so the chunks above really split the epochs
    assert tr.batches_done == 2 * tr.n_batches
    assert tr.epoch == 2 and len(tr.history) == 2
    assert tr.t[0] == t_end == 4.0 + 2 * X.shape[0]
    np.testing.assert_allclose(tr.state(), expected, rtol=1e-6, atol=1e-9)
    # the warm start mattered
    cold = reference_sgd(X, y, sw, dataclasses.replace(spec, init_state=None), n_epochs=2)[0]
    assert not np.allclose(cold, expected, rtol=1e-3)


def test_sgd_l2_shrink_to_zero_when_eta_alpha_ge_1():
    """eta * alpha >= 1: scikit-learn sets the coefficients to zero before the gradient step."""
    X, y, sw = _data("regression", n=9)
    spec = make_spec(
        n_features=X.shape[1], is_classifier=False, loss=SQERR, penalty_name="l2", alpha=2.0, learning_rate=0, eta0=0.6
    )
    expected, _ = reference_sgd(X, y, sw, spec)
    got = _train(X, y, sw, spec).state()
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)
    # with W zeroed before each update, the coefficients are the last sample's step alone
    assert np.all((got[:-1] == 0) == (X[-1] == 0))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("fmt", ["dense64", "csr64"])
@pytest.mark.parametrize("problem", ["binary", "multiclass", "regression"])
def test_sgd_matches_sklearn_one_epoch(problem, fmt):
    from sklearn.linear_model import SGDClassifier, SGDRegressor

    X, y, sw = _data(problem)
    Xf = _as_format(X, fmt)
    d = X.shape[1]
    if problem == "regression":
        spec = make_spec(
            n_features=d,
            is_classifier=False,
            loss=HUBER,
            loss_param=0.3,
            penalty_name="l2",
            alpha=0.01,
            learning_rate=2,
            eta0=0.05,
            power_t=0.25,
        )
        est = SGDRegressor(
            loss="huber",
            epsilon=0.3,
            penalty="l2",
            alpha=0.01,
            learning_rate="invscaling",
            eta0=0.05,
            power_t=0.25,
            max_iter=1,
            tol=None,
            shuffle=False,
        )
    else:
        k = 1 if problem == "binary" else 3
        spec = make_spec(n_outputs=k, n_features=d, loss=LOG, penalty_name="l2", alpha=0.01, learning_rate=1)
        est = SGDClassifier(
            loss="log_loss", penalty="l2", alpha=0.01, learning_rate="optimal", max_iter=1, tol=None, shuffle=False
        )
    est.fit(Xf, y, sample_weight=sw)
    expected = np.concatenate([np.ravel(est.coef_), np.ravel(est.intercept_)])
    got = _train(Xf, y, sw, spec).state()
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("parzen", [False, True])
def test_sgd_merge_inside_chunk_matches_reference(parzen):
    """A fresh slot is merged after the first mini-batch of the call (here always accepted)."""
    X, y, sw = _data("binary", n=300)
    d = X.shape[1]
    spec = make_spec(
        n_features=d, loss=HINGE, penalty_name="l2", alpha=0.01, learning_rate=1, batch_size=10, parzen=parzen
    )
    # rows in the first mini-batch, whatever the trainer's batch layout is
    probe = ShardTrainer(X, y, sw, spec, 0, 1)
    probe.run(1)
    first = probe.samples_done
    assert 0 < first < X.shape[0]
    # with parzen on, the slot must lie where the first mini-batch went: take the state after it
    slot = probe.state() * 1.5 if parzen else np.array([0.3, -0.2, 0.1, 0.0, 0.5, -0.4])
    tr = ShardTrainer(X, y, sw, spec, 0, 2)
    tr.put_slot(1, 0, slot)
    tr.run(10**6)
    assert tr.merged == 1 and tr.rejected == 0
    assert tr.slot_fresh.tolist() == [0, 0]
    expected, _ = reference_sgd(X, y, sw, spec, merge_after=(first, slot))
    np.testing.assert_allclose(tr.state(), expected, rtol=1e-6, atol=1e-9)
    no_merge, _ = reference_sgd(X, y, sw, spec)
    assert not np.allclose(no_merge, expected, rtol=1e-3)


def test_sgd_merge_rejected_slot_leaves_sgd_alone():
    X, y, sw = _data("binary", n=300)
    spec = make_spec(
        n_features=X.shape[1], loss=HINGE, penalty_name="l2", alpha=0.01, learning_rate=1, batch_size=10, parzen=True
    )
    tr = ShardTrainer(X, y, sw, spec, 0, 1)
    probe = ShardTrainer(X, y, sw, spec, 0, 1)
    probe.run(1)
    tr.put_slot(0, 0, -10.0 * probe.state())  # opposite to where the first mini-batch went
    tr.run(10**6)
    assert tr.merged == 0 and tr.rejected == 1
    np.testing.assert_allclose(tr.state(), reference_sgd(X, y, sw, spec)[0], rtol=1e-6, atol=1e-9)


# ----------------------------------------------------------------------------- Parzen merge
def _merge(w, prev, slots, lo, ln, fresh, parzen, acc=None, cnt=None, pairwise=False, reply=None):
    w = np.array(w, dtype=np.float64)
    prev = np.array(prev, dtype=np.float64)
    slots = np.array(slots, dtype=np.float64)
    lo = np.array(lo, dtype=np.int64)
    ln = np.array(ln, dtype=np.int64)
    fresh = np.array(fresh, dtype=np.int8)
    acc = np.full(w.shape, 123.0) if acc is None else acc  # stale garbage must not leak in
    cnt = np.full(w.shape, 7, dtype=np.int32) if cnt is None else cnt
    stats = np.zeros(5)
    reply = np.zeros(len(fresh), dtype=np.int8) if reply is None else reply
    K._parzen_merge(w, Inbox(slots, lo, ln, fresh, reply, prev, acc, cnt), parzen, pairwise, stats)
    return w, fresh, stats


def test_parzen_accepts_slot_moved_toward():
    # prev = 0, w_half = 1: the step went toward the slot at 2 -> accepted, averaged
    w, fresh, st = _merge([1.0, 1.0, 1.0, 1.0], [0.0] * 4, [[2.0, 2.0, 2.0, 2.0]], [0], [4], [1], True)
    np.testing.assert_array_equal(w, [1.5, 1.5, 1.5, 1.5])
    assert fresh.tolist() == [0]
    assert st.tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]


def test_parzen_rejects_slot_moved_away_from():
    w, fresh, st = _merge([1.0, 1.0, 1.0, 1.0], [0.0] * 4, [[-1.0, -1.0, -1.0, -1.0]], [0], [4], [1], True)
    np.testing.assert_array_equal(w, [1.0, 1.0, 1.0, 1.0])
    assert fresh.tolist() == [0]
    assert st[2] == 0.0 and st[3] == 1.0


def test_parzen_equal_distance_is_rejected():
    # strict test: ||w_half - s|| < ||prev - s||
    w, _, st = _merge([1.0, 0.0], [-1.0, 0.0], [[0.0, 5.0]], [0], [2], [1], True)
    np.testing.assert_array_equal(w, [1.0, 0.0])
    assert st[3] == 1.0


def test_parzen_mixed_slots_and_stale_flags():
    w0 = [1.0, 1.0, 1.0, 1.0]
    slots = [[2.0, 2.0, 2.0, 2.0], [-1.0, -1.0, -1.0, -1.0], [4.0, 4.0, 4.0, 4.0], [9.0, 9.0, 9.0, 9.0]]
    # slot 3 is not fresh: ignored, its flag stays 0, not counted
    w, fresh, st = _merge(w0, [0.0] * 4, slots, [0, 0, 0, 0], [4, 4, 4, 4], [1, 1, 1, 0], True)
    np.testing.assert_allclose(w, [(1.0 + 2.0 + 4.0) / 3.0] * 4)
    assert fresh.tolist() == [0, 0, 0, 0]
    assert st[2] == 2.0 and st[3] == 1.0


def test_parzen_off_accepts_everything():
    slots = [[2.0, 2.0, 2.0, 2.0], [-1.0, -1.0, -1.0, -1.0]]
    w, fresh, st = _merge([1.0] * 4, [0.0] * 4, slots, [0, 0], [4, 4], [1, 1], False)
    np.testing.assert_allclose(w, [(1.0 + 2.0 - 1.0) / 3.0] * 4)
    assert fresh.tolist() == [0, 0]
    assert st[2] == 2.0 and st[3] == 0.0


def test_parzen_nothing_fresh_changes_nothing():
    acc = np.full(4, 5.0)
    cnt = np.full(4, 3, dtype=np.int32)
    w, fresh, st = _merge([1.0, 2.0, 3.0, 4.0], [0.0] * 4, [[9.0] * 4], [0], [4], [0], True, acc, cnt)
    np.testing.assert_array_equal(w, [1.0, 2.0, 3.0, 4.0])
    assert not st.any()


def test_parzen_partial_block_only_changes_its_range():
    # w differs from prev mostly outside the block; only the block's distances count
    w0 = [10.0, 1.0, 1.0, -10.0]
    prev = [0.0, 0.0, 0.0, 0.0]
    slots = [[2.0, 2.0, 100.0, 100.0]]  # values past slot_len are garbage and must be ignored
    w, fresh, st = _merge(w0, prev, slots, [1], [2], [1], True)
    np.testing.assert_array_equal(w, [10.0, 1.5, 1.5, -10.0])
    assert st[2] == 1.0 and fresh.tolist() == [0]
    # moved away within the block (although toward the slot on the whole vector): rejected
    w, _, st = _merge([3.0, -1.0, -1.0, 3.0], prev, [[2.0, 2.0, 0.0, 0.0]], [1], [2], [1], True)
    np.testing.assert_array_equal(w, [3.0, -1.0, -1.0, 3.0])
    assert st[3] == 1.0


def test_parzen_overlapping_blocks_average_elementwise():
    slots = [[3.0, 3.0, 0.0, 0.0], [3.0, 3.0, 0.0, 0.0]]
    w, _, st = _merge([1.0] * 4, [0.0] * 4, slots, [0, 1], [2, 2], [1, 1], True)
    np.testing.assert_allclose(w, [2.0, 7.0 / 3.0, 2.0, 1.0])
    assert st[2] == 2.0


# ----------------------------------------------------------------------------- divergence
def test_divergence_raises_floating_point_error():
    X, y, sw = _data("regression")
    spec = make_spec(
        n_features=X.shape[1],
        is_classifier=False,
        loss=SQERR,
        loss_param=0.1,
        penalty_name=None,
        learning_rate=0,
        eta0=1e300,
    )
    tr = ShardTrainer(X, y, sw, spec, seed=0, n_buffers=1)
    with pytest.raises(FloatingPointError, match=r"(?s)learning rate.*learning_rate='constant', eta0=1e\+300"):
        tr.run(10**6)


@pytest.mark.parametrize("penalty", [None, "l2"])
def test_divergence_huge_features(penalty):
    """scikit-learn's own overflow case: features of order 1e300 (squared hinge)."""
    X, y, sw = _data("binary")
    X[:, :2] *= 1e300
    spec = make_spec(n_features=X.shape[1], loss=SQHINGE, penalty_name=penalty, alpha=1e-4, learning_rate=1)
    tr = ShardTrainer(X, y, sw, spec, seed=0, n_buffers=1)
    with pytest.raises(FloatingPointError, match="Floating-point under-/overflow occurred at epoch #1"):
        tr.run(10**6)


def test_l1_clip_finite_values():
    # Tsuruoka's cumulative penalty on the true weight scale * W; q records what was applied
    W = np.array([[4.0, -4.0, 0.2, 0.0]])
    q = np.array([[0.0, 0.0, 0.0, 0.0]])
    for j in range(4):
        K._l1_clip(W, q, 0.5, 0, j, 0.5)  # true weights 2, -2, 0.1, 0
    np.testing.assert_allclose(W, [[3.0, -3.0, 0.0, 0.0]])  # (2 - 0.5) / 0.5, ..., clipped at zero
    np.testing.assert_allclose(q, [[-0.5, 0.5, -0.1, 0.0]])
    K._l1_clip(W, q, 0.5, 0, 0, 0.75)  # u grew by 0.25 and q already holds -0.5: 1.5 - 0.25
    assert W[0, 0] == pytest.approx(2.5) and q[0, 0] == pytest.approx(-0.75)


def test_l1_clip_keeps_nan():
    """scikit-learn's l1penalty leaves a NaN weight alone (neither > 0 nor < 0), so the
    end-of-epoch check sees it; the kernel's ``else: nz = 0.0`` resets it to zero."""
    W = np.array([[np.nan, 1.0]])
    q = np.zeros((1, 2))
    K._l1_clip(W, q, 1.0, 0, 0, 0.5)
    assert np.isnan(W[0, 0])


def test_divergence_with_l1_penalty_is_detected():
    """Three samples: 1e300, 1e300, -1e300 (y = 1, constant eta 1, no intercept).  Sample 2 sends
    the coefficient to -inf and the L1 clip makes q = -inf - (-inf) = NaN; sample 3 gives NaN
    (sklearn) or -inf (kernel, fused multiply-add); the clip then writes 0 (NaN: ``else`` branch;
    +-inf: ``min/max(0, nan) == 0``), and q stays NaN for good.  scikit-learn's
    SGDRegressor(penalty='l1') raises; without the penalty the kernel raises too; with L1 it
    returns coef 0 silently."""
    X = np.array([[1e300], [1e300], [-1e300]])
    y = np.ones(3)
    spec = make_spec(
        n_features=1,
        is_classifier=False,
        loss=SQERR,
        penalty_name="l1",
        alpha=1e-4,
        learning_rate=0,
        eta0=1.0,
        fit_intercept=False,
    )
    tr = ShardTrainer(X, y, np.ones(3), spec, seed=0, n_buffers=1)
    with pytest.raises(FloatingPointError):
        tr.run(10)


def test_divergence_without_penalty_is_detected():
    # the same three samples as above, no penalty: the NaN coefficient is seen
    X = np.array([[1e300], [1e300], [-1e300]])
    spec = make_spec(
        n_features=1, is_classifier=False, loss=SQERR, penalty_name=None, learning_rate=0, eta0=1.0, fit_intercept=False
    )
    tr = ShardTrainer(X, np.ones(3), np.ones(3), spec, seed=0, n_buffers=1)
    with pytest.raises(FloatingPointError, match="learning rate"):
        tr.run(10)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_large_but_finite_eta_is_clipped_like_sklearn():
    """eta0 = 1e10 does not overflow: the gradient is clipped at 1e12, as in scikit-learn."""
    from sklearn.linear_model import SGDRegressor

    X, y, sw = _data("regression")
    spec = make_spec(
        n_features=X.shape[1], is_classifier=False, loss=SQERR, penalty_name=None, learning_rate=0, eta0=1e10
    )
    got = _train(X, y, np.ones_like(sw), spec).state()
    est = SGDRegressor(penalty=None, learning_rate="constant", eta0=1e10, max_iter=1, tol=None, shuffle=False).fit(X, y)
    assert np.all(np.isfinite(got)) and np.abs(got).max() > 1e20
    np.testing.assert_allclose(got, np.r_[est.coef_, est.intercept_], rtol=1e-6)


# ----------------------------------------------------------------------------- L1 sparsity
@pytest.mark.parametrize("fmt", ["dense64", "csr64"])
def test_l1_zeroes_irrelevant_coefficients(fmt):
    rng = np.random.default_rng(3)
    n, d = 300, 10
    X = rng.normal(size=(n, d))
    y = 3.0 * X[:, 0] - 2.0 * X[:, 1] + 0.05 * rng.normal(size=n)
    Xf = _as_format(X, fmt)
    common = dict(
        n_features=d, is_classifier=False, loss=SQERR, learning_rate=2, eta0=0.02, power_t=0.25, max_iter=5, alpha=0.1
    )
    coef = _train(Xf, y, np.ones(n), make_spec(penalty_name="l1", **common)).state()[:d]
    assert np.all(coef[2:] == 0.0), coef
    assert coef[0] > 1.5 and coef[1] < -1.0, coef
    # without the penalty the irrelevant coefficients are small but not exactly zero
    free = _train(Xf, y, np.ones(n), make_spec(penalty_name=None, **common)).state()[:d]
    assert np.count_nonzero(free[2:]) == d - 2
    # nor does the L2 penalty alone
    l2 = _train(Xf, y, np.ones(n), make_spec(penalty_name="l2", **common)).state()[:d]
    assert np.count_nonzero(l2[2:]) == d - 2


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse", [False, True])
def test_shuffle_rows_equals_fancy_indexing(dtype, sparse):
    from dask_asgd._prepare import shuffle_rows

    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 13)).astype(dtype)
    X[X < 0.8] = 0.0  # rows of different lengths, some empty
    if sparse:
        X = sp.csr_matrix(X)
    rows = np.sort(rng.permutation(500)[:321])
    pos = rng.permutation(321)
    got = shuffle_rows(X, rows, pos)
    want = X[rows[np.argsort(pos)]]  # row rows[j] at place pos[j]
    assert got.dtype == dtype and got.shape == want.shape
    if sparse:
        assert sp.issparse(got)
        np.testing.assert_array_equal(got.toarray(), want.toarray())
        np.testing.assert_array_equal(got.indptr, want.indptr)
    else:
        np.testing.assert_array_equal(got, want)


def test_random_row_sets_partition_the_rows():
    from dask_asgd._data import _random_row_sets

    rng = np.random.default_rng(1)
    for n, P in [(1000, 3), (7, 7), (10, 4), (100_003, 2), (5_000, 3)]:
        blocks = _random_row_sets(n, P, rng)
        assert len(blocks) == P
        sets = [b.rows() for b in blocks]
        assert [len(b) for b in blocks] == [len(s) for s in sets]
        assert min(len(s) for s in sets) >= 1
        assert max(len(s) for s in sets) - min(len(s) for s in sets) < 2 * blocks[0].size  # balanced
        assert all((np.diff(s) > 0).all() for s in sets)  # ascending
        np.testing.assert_array_equal(np.sort(np.concatenate(sets)), np.arange(n))
    # small data: single rows, sizes as equal as they can be
    assert sorted(len(b) for b in _random_row_sets(10, 4, rng)) == [2, 2, 3, 3]
    # large data: blocks of 16 neighbouring rows, drawn at random
    big = _random_row_sets(100_003, 2, rng)
    assert big[0].size == 16
    assert not np.array_equal(big[0].rows()[:1000], np.arange(1000))


def test_pairwise_merge_returns_each_senders_share_of_the_change():
    # two slots, the second one covering half of the state (a block); the shares of the change
    # are left in the slots and sum, element by element, to the change of the state
    w0 = np.array([1.0, 1.0, 1.0, 1.0])
    slots = np.array([[3.0, 3.0, 3.0, 3.0], [5.0, 7.0, 0.0, 0.0]])
    lo, ln = np.array([0, 2], dtype=np.int64), np.array([4, 2], dtype=np.int64)
    fresh = np.array([1, 1], dtype=np.int8)
    reply = np.zeros(2, dtype=np.int8)
    w = w0.copy()
    stats = np.zeros(5)
    K._parzen_merge(
        w, Inbox(slots, lo, ln, fresh, reply, np.zeros(4), np.zeros(4), np.zeros(4, np.int32)), False, True, stats
    )
    np.testing.assert_allclose(w, [2.0, 2.0, 3.0, 11.0 / 3.0])  # (1 + 3) / 2 and (1 + 3 + s) / 3
    assert reply.tolist() == [1, 1]
    np.testing.assert_allclose(slots[0], [1.0, 1.0, 2.0 / 3.0, 2.0 / 3.0])
    np.testing.assert_allclose(slots[1, :2], [4.0 / 3.0, 2.0])
    gained = np.zeros(4)
    gained += slots[0]
    gained[2:] += slots[1, :2]
    np.testing.assert_allclose(gained, w - w0)  # receiver's gain = what its senders give back


def test_pairwise_merge_rejected_slot_gets_no_reply():
    w, fresh, st = _merge([1.0, 1.0], [0.0, 0.0], [[-1.0, -1.0]], [0], [2], [1], True, pairwise=True)
    reply = np.zeros(1, dtype=np.int8)
    w2, _, _ = _merge([1.0, 1.0], [0.0, 0.0], [[-1.0, -1.0]], [0], [2], [1], True, pairwise=True, reply=reply)
    assert reply.tolist() == [0] and st[3] == 1.0
    np.testing.assert_array_equal(w2, [1.0, 1.0])


def test_pairwise_share_conserves_evidence_between_tasks_at_different_times():
    """Task A (3 mini-batches in) sends its state to task B (1 mini-batch in); B merges it at the
    end of its next mini-batch and returns A's share; A subtracts it.  In units of evidence
    (coefficients times t0 + t, the 'optimal' schedule) B gains exactly what A gives up."""
    import copy

    X, y, sw = _data("binary", n=300)
    d = X.shape[1]
    spec = make_spec(
        n_features=d,
        loss=HINGE,
        penalty_name="l2",
        alpha=0.01,
        learning_rate=1,
        batch_size=10,
        parzen=False,
        pairwise=True,
        shuffle=True,
    )
    A = ShardTrainer(X, y, sw, spec, 0, 1)
    B = ShardTrainer(X, y, sw, spec, 1, 1)
    A.run(3)
    B.run(1)
    assert A.t[0] > B.t[0]
    lo, values = A.block(0, 1)
    c_A = A.evidence()
    assert c_A == A.opt_init - 1.0 + A.t[0]
    sent = A.to_shared(lo, values.copy())
    np.testing.assert_allclose(sent[:d], A.state()[:d] * c_A)  # coefficients in evidence units
    np.testing.assert_allclose(sent[d:], A.state()[d:])  # intercepts as they are
    plain = copy.deepcopy(B)
    B.put_slot(0, lo, sent, src=0)
    B.run(1)  # one mini-batch: the merge is the last thing it does
    plain.run(1)
    c_B = B.evidence()  # at the merge
    gain = B.state() - plain.state()
    received = np.concatenate([A.state()[:d] * c_A / c_B, A.state()[d:]])
    np.testing.assert_allclose(B.state(), (plain.state() + received) / 2, rtol=1e-10, atol=1e-12)
    [(src, r_lo, share)] = B.take_replies()
    assert (src, r_lo) == (0, lo) and B.take_replies() == []
    before = A.state()
    A.subtract(r_lo, share)
    given = before - A.state()
    np.testing.assert_allclose(gain[:d] * c_B, given[:d] * c_A, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(gain[d:], given[d:], rtol=1e-9, atol=1e-12)


def test_evidence_units_only_with_the_optimal_schedule_and_pairwise():
    X, y, sw = _data("binary", n=100)
    for lr, pairwise, expect_one in [(1, False, True), (0, True, True), (2, True, True), (1, True, False)]:
        spec = make_spec(n_features=X.shape[1], learning_rate=lr, eta0=0.01, pairwise=pairwise)
        tr = ShardTrainer(X, y, sw, spec, 0, 1)
        tr.run(2)
        assert (tr.evidence() == 1.0) == expect_one


def test_label_codes_equal_a_sorted_factorization():
    import pandas as pd

    from dask_asgd._prepare import label_codes as _label_codes

    rng = np.random.default_rng(0)
    cases = [
        rng.integers(0, 2, 10_000),
        rng.integers(-5, 7, 1000) * 3,
        np.array([5, 5, 9]),
        rng.integers(0, 10, 1000).astype(np.uint8),
        np.array(["b", "a", "b"]),
        rng.integers(0, 2**40, 100),  # a range too wide for the counting path
        np.array([True, False, True]),
    ]
    for y in cases:
        codes, present, counts, same = _label_codes(y)
        want_codes, want_present = pd.factorize(y, sort=True)
        if same is not None:  # counted with the codes (integer labels): rows like the row before
            assert same == int(np.sum(y[1:] == y[:-1]))
        assert codes.dtype == np.float64
        np.testing.assert_array_equal(codes, want_codes)
        np.testing.assert_array_equal(present, want_present)
        assert present.dtype == y.dtype
        np.testing.assert_array_equal(counts, np.bincount(want_codes))


def test_label_pass_tells_ordered_rows_as_the_placement_test_does():
    # the client's label pass counts neighbours; its verdict must be needs_row_shuffle's
    from dask_asgd._prepare import label_codes as _label_codes
    from dask_asgd._prepare import labels_ordered, needs_row_shuffle

    rng = np.random.default_rng(1)
    random_rows = rng.integers(0, 3, 20_000)
    for y, want in [
        (random_rows, False),
        (np.sort(random_rows), True),
        (np.repeat(rng.integers(0, 5, 500), 40), True),  # runs of 40 rows
        (rng.choice([0, 1], 20_000, p=[0.97, 0.03]), False),
    ]:  # imbalanced, random
        codes, present, counts, same = _label_codes(y)
        assert labels_ordered(same, counts) is want
        assert needs_row_shuffle(codes, True) is want


def test_code_neighbours_counts_repeats_and_classes():
    codes = np.array([0.0, 0.0, 1.0, 2.0, 2.0, 2.0, 0.0])
    counts = np.zeros(3, dtype=np.int64)
    assert K.code_neighbours(codes, counts) == 3
    np.testing.assert_array_equal(counts, [3, 1, 3])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sum_is_finite_finds_nan_and_inf(dtype):
    # the kernels' fast-math flags together folded a math.isfinite away once (docs/design.md)
    rng = np.random.default_rng(0)
    v = rng.standard_normal(10_001).astype(dtype)
    assert K.sum_is_finite(v)
    for bad in (np.nan, np.inf, -np.inf):
        w = v.copy()
        w[5_000] = bad
        assert not K.sum_is_finite(w), bad
    big = np.full(4, np.finfo(dtype).max, dtype=dtype)
    # the sum runs in float64: float32 values never overflow it; float64 ones can, and then the
    # exact check decides (finite values: no error)
    assert K.sum_is_finite(big) == (dtype == np.float32)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("average", [True, 7, 10_000])
@pytest.mark.parametrize("fmt", ["dense64", "csr64"])
@pytest.mark.parametrize("problem", ["binary", "multiclass", "regression"])
def test_averaged_sgd_matches_sklearn(problem, fmt, average):
    """scikit-learn's average=: the same per-sample average (lazy, through the scale), from the
    same sample on; 10,000 is never reached, so the model is the last iterate."""
    from sklearn.linear_model import SGDClassifier, SGDRegressor

    X, y, sw = _data(problem, n=200)
    Xf = _as_format(X, fmt)
    d = X.shape[1]
    if problem == "regression":
        spec = make_spec(
            n_features=d,
            is_classifier=False,
            loss=HUBER,
            loss_param=0.3,
            penalty_name="elasticnet",
            alpha=0.01,
            learning_rate=2,
            eta0=0.05,
            power_t=0.25,
            max_iter=2,
            average=int(average),
        )
        est = SGDRegressor(
            loss="huber",
            epsilon=0.3,
            penalty="elasticnet",
            alpha=0.01,
            learning_rate="invscaling",
            eta0=0.05,
            power_t=0.25,
            max_iter=2,
            tol=None,
            shuffle=False,
            average=average,
        )
    else:
        k = 1 if problem == "binary" else 3
        spec = make_spec(
            n_outputs=k,
            n_features=d,
            loss=LOG,
            penalty_name="l2",
            alpha=0.01,
            learning_rate=1,
            max_iter=2,
            average=int(average),
        )
        est = SGDClassifier(
            loss="log_loss",
            penalty="l2",
            alpha=0.01,
            learning_rate="optimal",
            max_iter=2,
            tol=None,
            shuffle=False,
            average=average,
        )
    est.fit(Xf, y, sample_weight=sw)
    expected = np.concatenate([np.ravel(est.coef_), np.ravel(est.intercept_)])
    tr = _train(Xf, y, sw, spec, chunks=[1, 3, 10**6, 10**6])  # chunks: the average is carried between calls
    assert tr.averaged == (int(average) <= 2 * X.shape[0])
    np.testing.assert_allclose(tr.model(), expected, rtol=1e-6, atol=1e-9)
    if tr.averaged:
        assert not np.allclose(tr.state(), expected, rtol=1e-3)  # the average is not the last iterate


def _sharing_pair(X, y, max_iter):
    """Two trainers of one shard's data and seed, sharing their epochs under one lock."""
    import threading

    from dask_asgd import ASGDClassifier
    from dask_asgd.models.linear import LinearTrainer as ShardTrainer

    spec = ASGDClassifier(loss="log_loss", batch_size=128)._spec(1, X.shape[1], True, max_iter, None, None, 1.0)
    trainers = {}
    for k in (0, 1):
        trainers[k] = ShardTrainer(X, y, None, spec, seed=7)
        trainers[k].lock = threading.Lock()
    return trainers


def test_taking_over_the_end_of_an_epoch_makes_the_same_updates():
    # the task that gives up the end of its epoch and the one that trains it split one sequence
    # of mini-batches: trained in that order on one state, it is the whole epoch's
    from sklearn.datasets import make_classification

    from dask_asgd._engine.sharing import claim_tail as _claim_tail

    X, y = make_classification(6000, 12, random_state=0)
    y = y.astype(np.float64)
    trainers = _sharing_pair(X, y, max_iter=1)
    whole, shared = trainers[0], trainers[1]
    while not whole.done:
        whole.run(10**6)
    claim, more = _claim_tail({1: shared, 0: whole}, 0, cap=10**6, least=2)
    view, first, n = claim
    assert not more and first + n == shared.n_batches and first >= n  # the later half at most
    while not shared.done:
        shared.run(10**6)  # its own part: up to ``first``
    assert shared.samples_done < shared.n_rows
    shared.take_over(view, first, n)  # here the same state trains the part it gave up
    assert shared.samples_done == shared.n_rows == whole.samples_done
    assert shared.taken_over == shared.n_rows - (shared.samples_done - shared.taken_over)
    np.testing.assert_array_equal(shared.w, whole.w)
    np.testing.assert_array_equal(shared.t, whole.t)


def test_nan_in_the_part_of_a_first_epoch_another_task_took_is_sklearns_error():
    # the row is trained (and found) by the task that took over; its own task, whose first
    # epoch did not see it, meets it in its second epoch: the error must still name the input
    from sklearn.datasets import make_classification

    from dask_asgd._engine.sharing import claim_tail as _claim_tail

    X, y = make_classification(6000, 12, random_state=0)
    y = y.astype(np.float64)
    victim, thief = _sharing_pair(X, y, max_iter=3).values()
    victim.run(1)  # under way
    (view, first, n), _ = _claim_tail({0: victim, 1: thief}, 1, cap=10**6, least=2)
    row = int(view.ostart[first * view.gpb])  # a row of the part given up
    victim.X[row, 3] = np.nan  # the trainer's rows are the array's (no copy)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        thief.take_over(view, first, n)
    while victim.epoch == 0:
        victim.run(10**6)  # its own part of the first epoch: no NaN there
    assert not victim.check_input
    with pytest.raises(ValueError, match="Input X contains NaN"):
        while not victim.done:
            victim.run(10**6)


def test_lag1_sums_match_numpy():
    rng = np.random.default_rng(2)
    for y in (rng.standard_normal(1_001), np.cumsum(rng.standard_normal(5_000)), np.array([3.0, 3.0, 3.0])):
        yc = y - y.mean()
        den, num = K.lag1_sums(y)
        assert den == pytest.approx(float(yc @ yc), rel=1e-9, abs=1e-9)
        assert num == pytest.approx(float(yc[1:] @ yc[:-1]), rel=1e-9, abs=1e-9)


def test_continuous_target_order_is_told_from_random_order():
    from dask_asgd._prepare import needs_row_shuffle

    rng = np.random.default_rng(3)
    noise = rng.standard_normal(20_000)
    assert not needs_row_shuffle(noise, False)
    assert needs_row_shuffle(np.sort(noise), False)  # sorted by target
    assert needs_row_shuffle(np.convolve(noise, np.ones(8), "same"), False)  # a trend over rows
    assert not needs_row_shuffle(np.full(100, 2.0), False)  # constant: nothing to tell


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_linear_scores_match_numpy(dtype, fmt):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((50, 7)).astype(dtype)
    X[X < 0.3] = 0.0
    coef = rng.standard_normal((3, 7))
    b = rng.standard_normal(3)
    want = X.astype(np.float64) @ coef.T + b
    out = np.empty((50, 3))
    if fmt == "dense":
        K.linear_scores(True, X, np.zeros(1, dtype), np.zeros(2, np.int32), np.zeros(2, np.int32), coef, b, out)
    else:
        Xs = sp.csr_matrix(X)
        K.linear_scores(False, np.zeros((1, 1), dtype), Xs.data, Xs.indices, Xs.indptr, coef, b, out)
    np.testing.assert_allclose(out, want, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-5)


@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_validation_score_matches_sklearn_metrics(fmt):
    from sklearn.metrics import accuracy_score, r2_score

    rng = np.random.default_rng(5)
    X = rng.standard_normal((400, 6))
    Xf = sp.csr_matrix(X) if fmt == "csr" else X
    for is_clf, k, y in [
        (True, 1, (X[:, 0] > 0).astype(np.float64)),
        (True, 3, rng.integers(0, 3, 400).astype(np.float64)),
        (False, 1, X[:, 1] + 0.1 * rng.standard_normal(400)),
    ]:
        spec = make_spec(
            is_classifier=is_clf,
            n_outputs=k,
            n_features=6,
            early_stopping=True,
            validation_fraction=0.25,
            loss=HINGE if is_clf else LOSSES["squared_error"],
        )
        tr = ShardTrainer(Xf, y, None, spec, seed=0)
        w = rng.standard_normal(k * 6 + k)
        scores = X[-100:] @ w[: k * 6].reshape(k, 6).T + w[k * 6 :]
        if is_clf:
            pred = (scores[:, 0] > 0) if k == 1 else scores.argmax(axis=1)
            assert tr.validation_score(w) == pytest.approx(accuracy_score(y[-100:], pred))
        else:
            assert tr.validation_score(w) == pytest.approx(r2_score(y[-100:], scores[:, 0]))


def test_seeded_permutation_is_a_reproducible_uniform_shuffle():
    for m in (0, 1, 2, 7, 131_000):
        p = K.seeded_permutation(m, 11)
        np.testing.assert_array_equal(np.sort(p), np.arange(m))
    np.testing.assert_array_equal(K.seeded_permutation(1000, 3), K.seeded_permutation(1000, 3))
    assert not np.array_equal(K.seeded_permutation(1000, 3), K.seeded_permutation(1000, 4))
    # every element lands in every place about equally often (5 x 5 table over 20,000 seeds)
    where = np.zeros((5, 5))
    for seed in range(20_000):
        where[np.arange(5), K.seeded_permutation(5, seed)] += 1
    np.testing.assert_allclose(where / 20_000, 0.2, atol=0.015)


def test_place_values_matches_fancy_indexing():
    from dask_asgd._prepare import _in_order

    rng = np.random.default_rng(6)
    v = rng.standard_normal(50)
    rows = np.sort(rng.choice(50, 20, replace=False))
    pos = rng.permutation(20)
    want = np.empty(20)
    want[pos] = v[rows]
    np.testing.assert_array_equal(_in_order(v, rows, pos), want)
    np.testing.assert_array_equal(_in_order(v.astype(np.float32), rows, pos), want.astype(np.float32))
