"""ASGDClassifier and ASGDRegressor: the scikit-learn front end of asynchronous parallel SGD."""

from __future__ import annotations

import warnings
from dataclasses import replace
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import assert_all_finite as _assert_all_finite
from sklearn.utils import check_random_state, compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from . import config
from ._compat import Interval, StrOptions, _check_sample_weight
from ._data import check_dask_values, dask_input, is_dask_collection, is_sparse_input
from ._estimator import EngineMixin, FitReport
from ._fit import check_results, run_fit, warn_skewed
from ._options import (
    CLASSIFICATION_LOSSES,
    LEARNING_RATES,
    LOSSES,
    PENALTIES,
    REGRESSION_LOSSES,
    effective_l1_ratio,
    loss_param,
)
from ._paused import compute_input
from ._prepare import encode_labels, label_codes, labels_ordered
from .models.linear import LinearSpec, average_states


class _BaseASGD(EngineMixin, BaseEstimator):
    """Parameters, validation and the fit path shared by the classifier and the regressor."""

    _parameter_constraints: dict = {
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both"), None],
        "fit_intercept": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, None, None, closed="neither"), None],
        "shuffle": ["boolean"],
        "verbose": ["verbose"],
        "epsilon": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "learning_rate": [StrOptions(set(LEARNING_RATES))],
        "eta0": [Interval(Real, 0, None, closed="left")],
        "power_t": [Interval(Real, None, None, closed="neither")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "average": [Interval(Integral, 0, None, closed="left"), "boolean"],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "sync_interval": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"}), None],
        "fanout": [Interval(Integral, 1, None, closed="left"), StrOptions({"all"})],
        "n_buffers": [Interval(Integral, 1, None, closed="left")],
        "parzen": ["boolean"],
        "merge": [StrOptions({"auto", "average", "pairwise"})],
        "n_workers": [Interval(Integral, 1, None, closed="left"), None],
        "max_time": [Interval(Real, 0, None, closed="neither"), None],
    }

    # ------------------------------------------------------------------ checks
    def _start_fit(self):
        """Validate the parameters; forget the previous fit unless warm_start."""
        self._validate_params()
        self._check_options()
        if not self.warm_start:
            for a in ("coef_", "intercept_", "t_", "classes_", "_standard_state", "_average_state"):
                if hasattr(self, a):
                    delattr(self, a)

    def _check_options(self):
        if self.learning_rate in ("constant", "invscaling", "adaptive") and self.eta0 <= 0.0:
            raise ValueError("eta0 must be > 0")
        if self.learning_rate == "optimal" and self.alpha == 0:
            raise ValueError(
                "alpha must be > 0 since learning_rate is 'optimal'. alpha is used "
                "to compute the optimal learning rate."
            )
        if self.penalty == "elasticnet" and self.l1_ratio is None:
            raise ValueError("l1_ratio must be set when penalty is 'elasticnet'")

    def _spec(self, n_outputs, n_features, is_clf, max_iter, tol, init_state, init_t, init_avg=None):
        """The model's part of what the training tasks need (``models.linear.LinearSpec``)."""
        return LinearSpec(
            n_outputs=n_outputs,
            n_features=n_features,
            is_classifier=is_clf,
            loss=LOSSES[self.loss],
            loss_param=loss_param(self.loss, self.epsilon),
            penalty=PENALTIES[self.penalty],
            alpha=float(self.alpha),
            l1_ratio=effective_l1_ratio(self.penalty, self.l1_ratio if self.l1_ratio is not None else 0.0),
            fit_intercept=bool(self.fit_intercept),
            learning_rate=LEARNING_RATES[self.learning_rate],
            eta0=float(self.eta0),
            power_t=float(self.power_t),
            max_iter=int(max_iter),
            tol=None if tol is None else float(tol),
            n_iter_no_change=int(self.n_iter_no_change),
            shuffle=bool(self.shuffle),
            early_stopping=bool(self.early_stopping) and max_iter > 1,
            validation_fraction=float(self.validation_fraction),
            batch_size=int(self.batch_size),
            parzen=bool(self.parzen),
            pairwise=self.merge == "pairwise",  # "auto": decided in _run, from the input
            evidence_units=bool(config.get("merge-evidence-units")),
            verbose=int(self.verbose),
            init_state=init_state,
            init_t=float(init_t),
            average=int(self.average),
            init_avg=init_avg,
        )

    def _validate_input(self, X, y, sample_weight, reset):
        """In-memory: sklearn's checks. Dask: shapes and dtypes; values are checked on workers."""
        if is_dask_collection(X):
            return self._validate_dask(X, y, sample_weight, reset)
        # the NaN / inf check of X runs in the training tasks, each on its own rows, in parallel
        # (same error as scikit-learn's); everything else is checked here
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            order="C",
            accept_large_sparse=False,
            reset=reset,
            y_numeric=not self._is_clf,
            ensure_all_finite=False,
        )
        if not self._is_clf:
            _assert_all_finite(y, input_name="y")
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        return X, y, sample_weight

    def _validate_dask(self, X, y, sample_weight, reset):
        X, y, sample_weight, names = dask_input(X, y, sample_weight)
        if not self._is_clf and not np.issubdtype(y.dtype, np.number):
            raise ValueError("dtype='numeric' is not compatible with arrays of bytes/strings.")
        # the values in-memory input has checked on the client (X's own are checked by the tasks)
        check_dask_values(sample_weight, None if self._is_clf else y)
        self._dask_features(X, names, reset)
        return X, y, sample_weight

    def _pairwise(self, X) -> bool:
        """merge="auto": pairwise for sparse input, average for dense (docs/design.md)."""
        if self.merge != "auto":
            return self.merge == "pairwise"
        return is_sparse_input(X)

    def _run(self, X, y, sample_weight, n_outputs, max_iter, tol, warm, classes=None, class_weights=None, ordered=None):
        random_state = check_random_state(self.random_state)
        model = self._spec(n_outputs, self.n_features_in_, self._is_clf, max_iter, tol, *warm)
        # Dask collections' labels are encoded by the tasks (``classes``, ``class_weights``)
        model = replace(model, pairwise=self._pairwise(X), classes=classes, class_weights=class_weights)
        spec = self._engine_spec(model)
        res = run_fit(
            X,
            y,
            sample_weight,
            spec,
            n_workers=self.n_workers,
            random_state=random_state,
            ordered=ordered,
            is_classifier=self._is_clf,
        )
        check_results(res)
        if not res.skew_warned:  # fits too short for a report were not looked at while running
            warn_skewed(res.results)
        state = average_states(res.results)
        d = self.n_features_in_
        self.coef_ = state[: n_outputs * d].reshape(n_outputs, d).copy()
        self.intercept_ = state[n_outputs * d :].copy()
        if self.average:  # where a warm start or partial_fit goes on: the tasks' iterates
            self._standard_state = average_states(res.results, key="iterate")
            self._average_state = state
        self.n_iter_ = res.n_iter
        self.t_ = float(max(r.final["t"] for r in res.results))
        self.fit_report_ = FitReport(res.results, res.history, res.lost, res.seconds, res.started, res.retrained)
        if self.verbose:
            print(self.fit_report_)
        if tol is not None and max_iter > 1 and any(r.stop_reason == "max_iter" for r in res.results):
            warnings.warn(
                "Maximum number of iteration reached before convergence. Consider increasing "
                "max_iter to improve the fit.",
                ConvergenceWarning,
                stacklevel=2,
            )

    def _warm_state(self, n_outputs, coef_init, intercept_init):
        """``(init_state, init_t, init_avg)`` a fit starts from: ``coef_init`` / ``intercept_init``,
        else the fitted model (warm_start, partial_fit), else nothing. With ``average``, a fitted
        model goes on from the tasks' iterate and its average."""
        d = self.n_features_in_
        if coef_init is not None or intercept_init is not None:
            coef = np.zeros((n_outputs, d)) if coef_init is None else np.asarray(coef_init, dtype=np.float64)
            if coef.size != n_outputs * d or (coef.ndim == 2 and coef.shape != (n_outputs, d)):
                # scikit-learn's words (SGDClassifier with more than two classes: ``coef_``)
                what = "``coef_``" if self._is_clf and n_outputs > 1 else "coef_init"
                raise ValueError(f"Provided {what} does not match dataset. ")
            coef = coef.reshape(n_outputs, d)
            inter = np.zeros(n_outputs) if intercept_init is None else np.asarray(intercept_init, dtype=np.float64)
            if inter.size != n_outputs:
                raise ValueError("Provided intercept_init does not match dataset.")
            return np.concatenate([coef.ravel(), inter.ravel()]), 1.0, None
        coef = getattr(self, "coef_", None)  # (K, d), or (d,) for the regressor
        if coef is not None and coef.size == n_outputs * d and np.size(self.intercept_) == n_outputs:
            state = np.concatenate([coef.ravel(), np.ravel(self.intercept_)])
            t = getattr(self, "t_", 1.0)
            std = getattr(self, "_standard_state", None)
            if self.average and std is not None and std.size == state.size:
                return std.copy(), t, self._average_state
            return state, t, None
        return None, 1.0, None

    # ------------------------------------------------------------------ prediction helpers
    def _decision(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False, dtype=[np.float64, np.float32])
        scores = X @ self.coef_.T + self.intercept_
        return np.asarray(scores)

    def _blockwise(self, method, X, n_cols=None, **kw):
        """Apply ``method`` block by block on the workers (lazy), for dask input."""
        X = self._dask_rows(X)
        if n_cols is not None:
            kw["chunks"] = (X.chunks[0], (n_cols,))
        return X.map_blocks(_call_method, self, method, **kw)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _call_method(block, est, method):
    names = getattr(est, "feature_names_in_", None)
    if names is not None:  # blocks of a dask DataFrame arrive as plain arrays
        block = pd.DataFrame(block, columns=names)
    return getattr(est, method)(block)


# The Parameters entries of ASGDClassifier and ASGDRegressor after ``loss``, in the order of
# their signatures: shared but for the defaults of ``learning_rate`` and ``power_t`` and the
# classifier's ``class_weight`` (``_parameters_doc``).
_PARAMS_DOC_HEAD = """
    penalty : {'l2', 'l1', 'elasticnet', None}, default='l2'
        The penalty (aka regularization term) to be used. 'l2' is the standard regularizer
        for linear SVM models; 'l1' and 'elasticnet' might bring sparsity to the model
        (feature selection) not achievable with 'l2'. No penalty is added when set to None.

    alpha : float, default=0.0001
        Constant that multiplies the regularization term. The higher the value, the stronger
        the regularization. Also used to compute the learning rate when ``learning_rate`` is
        'optimal'. Values must be in the range ``[0.0, inf)``.

    l1_ratio : float or None, default=0.15
        The Elastic Net mixing parameter, with ``0 <= l1_ratio <= 1``. ``l1_ratio=0``
        corresponds to L2 penalty, ``l1_ratio=1`` to L1. Only used if ``penalty`` is
        'elasticnet', where it must not be None.

    fit_intercept : bool, default=True
        Whether the intercept should be estimated or not. If False, the data is assumed to be
        already centered.

    max_iter : int, default=1000
        The maximum number of passes over the training data (aka epochs): each training task
        makes at most ``max_iter`` passes over its own shard. It only impacts the behavior of
        ``fit``, not of ``partial_fit``, which makes one pass.

    tol : float or None, default=1e-3
        The stopping criterion, checked by each training task on its own: if it is not None,
        a task stops when its epoch's objective (the mean training loss plus the penalty,
        averaged over the one-vs-rest problems of a multiclass classifier) has not fallen
        below its best by ``tol`` for ``n_iter_no_change`` consecutive epochs or, with
        ``early_stopping``, when its validation score has not risen above its best by ``tol``
        for as many epochs. The fit ends once every task has stopped, and warns
        (``ConvergenceWarning``) when a task ran ``max_iter`` epochs without meeting the
        criterion. If None, every task runs ``max_iter`` epochs (or until ``max_time``).

    shuffle : bool, default=True
        Whether or not the training data should be shuffled. If True, in-memory input is dealt
        to the tasks' shards in blocks of neighbouring rows drawn at random (row by row where
        the rows are ordered by their target), and every task visits its rows in a new random
        order each epoch. If False, in-memory input is split into shards of consecutive rows,
        and every task visits its rows in order.

    verbose : int, default=0
        The verbosity level. Above 0, every training task prints its mean loss and its sample
        counter at the end of each epoch (on its worker), and ``fit`` prints its
        :class:`~dask_asgd.FitReport`.

    epsilon : float, default=0.1
        Epsilon in the epsilon-insensitive loss functions; only if ``loss`` is 'huber',
        'epsilon_insensitive', or 'squared_epsilon_insensitive'. For 'huber', determines the
        threshold at which it becomes less important to get the prediction exactly right. For
        epsilon-insensitive, any differences between the current prediction and the correct
        label are ignored if they are less than this threshold.

    random_state : int, RandomState instance or None, default=None
        Seeds the split of in-memory input into shards, the order in which every task visits
        its rows and the peers it sends its state to. Pass an int for reproducible output
        across multiple function calls where the tasks train apart (``sync_interval=None``,
        or "auto" on in-memory input without ``max_time``); where they exchange states, the
        model also depends on when the messages arrive.

    learning_rate : {'constant', 'optimal', 'invscaling', 'adaptive'}, default=$learning_rate
        The learning rate schedule, followed by every training task:

        - 'constant': ``eta = eta0``.
        - 'optimal': ``eta = 1.0 / (alpha * (t + t0))`` where ``t0`` is chosen by a heuristic
          proposed by Leon Bottou.
        - 'invscaling': ``eta = eta0 / pow(t, power_t)``.
        - 'adaptive': ``eta = eta0``, as long as the training keeps decreasing. Each time
          ``n_iter_no_change`` consecutive epochs of a task fail to decrease its training
          loss by ``tol`` (or fail to increase its validation score by ``tol`` if
          ``early_stopping`` is True), that task divides its learning rate by 5.

        ``t`` counts samples: each task's own, except under 'optimal' for dense input and for
        sparse input whose rows share a direction (one-hot encoded tables), where it counts
        the samples of the whole fit, so that a task's step is scikit-learn's at its own
        count divided by the number of tasks. The dask.config setting
        ``dask-asgd.schedule`` ("task", "fit" or "auto") chooses.

    eta0 : float, default=0.01
        The initial learning rate for the 'constant', 'invscaling' or 'adaptive' schedules.
        It is not used by the 'optimal' schedule. Values must be in the range
        ``(0.0, inf)``.

    power_t : float, default=$power_t
        The exponent for inverse scaling learning rate.

    early_stopping : bool, default=False
        Whether to use early stopping to terminate training when validation score is not
        improving. If set to True (and ``tol`` is not None), every training task sets aside
        the last ``validation_fraction`` of its shard (whose rows were placed at random) as
        validation set and stops when its score on it (accuracy for a classifier, R^2 for a
        regressor) is not improving by at least ``tol`` for ``n_iter_no_change`` consecutive
        epochs. Unlike scikit-learn's, the validation set is not stratified. Not used by
        ``partial_fit``.

    validation_fraction : float, default=0.1
        The proportion of each task's shard to set aside as validation set for early
        stopping. Must be between 0 and 1. Only used if ``early_stopping`` is True.

    n_iter_no_change : int, default=5
        Number of epochs with no improvement a task waits for before stopping (or, with
        'adaptive', before dividing its learning rate). Convergence is checked against the
        training loss or the validation score depending on the ``early_stopping`` parameter.
"""

_CLASS_WEIGHT_DOC = """
    class_weight : dict, "balanced" or None, default=None
        Weights associated with classes, as a dict ``{class_label: weight}``. If not given,
        all classes are supposed to have weight one. The "balanced" mode uses the values of
        y to automatically adjust weights inversely proportional to class frequencies in the
        input data as ``n_samples / (n_classes * np.bincount(y))``, counted over the whole
        input (a Dask collection's included).
"""

_PARAMS_DOC_TAIL = """
    warm_start : bool, default=False
        When set to True, reuse the solution of the previous call to fit as initialization,
        otherwise, just erase the previous solution. The sample counter ``t_``, which drives
        the learning rate schedule, goes on from the previous fit's, and with ``average`` so
        do the tasks' iterates and their average.

    average : bool or int, default=False
        Averaged SGD, as scikit-learn's: when set to True (or 1), each training task averages
        its SGD iterates (merges included) from its first sample on; an int ``n`` greater
        than 1 starts the average once the task's sample counter reaches ``n``. The model is
        the average of the tasks' averages. ``partial_fit`` and ``warm_start`` go on from the
        iterate and the average.

    batch_size : int, default=128
        Rows per mini-batch: the unit of the exchange schedule (the model is updated after
        every sample).

    sync_interval : int, "auto" or None, default="auto"
        Mini-batches between two publishes of a task's state. None: no exchange, the model
        is the average of independently trained shards (SimuParallelSGD). "auto": the interval
        and message size follow the measured links (docs/design.md); in-memory input, which fit
        splits into random shards, is trained apart like None unless ``max_time`` bounds the
        fit (exchange never improved the model there, and without it a ``random_state`` gives
        the same model every time); Dask collections, whose shards may differ, exchange.

    fanout : int or "all", default=1
        Number of peers each publish goes to, chosen at random; "all" sends every publish to
        every other task.

    n_buffers : int, default=4
        Receive slots per task: a received state waits in one until the task merges it
        between mini-batches, and a newer state overwrites an unread older one.

    parzen : bool, default=True
        Whether to merge a received state only when the Parzen-window test says the task's own
        last step moved toward it. If False, every state received is merged.

    merge : {"auto", "pairwise", "average"}, default="auto"
        How a task merges an accepted state. "average": its state becomes the average of its
        own and the received ones (the paper's merge). "pairwise": the same average, and the
        receiver sends each sender back the share of the change that came from its state, which
        the sender subtracts: the sum of the tasks' states (what the final model averages) is
        kept, so no sample's update ends up counting more than another's. With the 'optimal'
        schedule, states travel in units of evidence (times t0 + t), so tasks that have seen
        different numbers of samples merge like quantities; one more message per merge, and
        each task settles its shares after training. "auto": pairwise for sparse input (wide,
        data-limited problems, where "average" measurably lowers held-out AUC), average for
        dense input (where "pairwise" adds noise to the final model). docs/design.md.

    n_workers : int or None, default=None
        Number of training tasks. By default, one per worker thread of the cluster (or per
        core), except that in-memory input trains with at most one task per 500 rows and per
        2,500,000 of an epoch's multiply-adds (rows x features x one-vs-rest classes; a sparse
        row's stored value counts 10; ``dask-asgd.default-tasks``), and at least 2 where the
        cluster has 2 threads: small data trains better and sooner on fewer tasks. Dask
        collections train where their partitions live. Without an active distributed Client,
        fit trains on an in-process cluster of one single-thread worker per core (or
        ``n_workers``), kept for the next fit (:func:`~dask_asgd.close_own_cluster`,
        ``dask-asgd.own-cluster.idle-timeout``; docs/usage.md).

    max_time : float or None, default=None
        Time limit of the training in seconds: each task stops then, and the model is returned
        as it stands. None: no limit.
"""


def _parameters_doc(learning_rate: str, power_t: str, class_weight: bool) -> str:
    """The Parameters entries of ASGDClassifier or ASGDRegressor after ``loss``."""
    head = _PARAMS_DOC_HEAD.replace("$learning_rate", learning_rate).replace("$power_t", power_t)
    return head + (_CLASS_WEIGHT_DOC if class_weight else "") + _PARAMS_DOC_TAIL


class ASGDClassifier(ClassifierMixin, _BaseASGD):
    # the docstring is built from parts: assigned, since an expression is not a docstring
    __doc__ = (
        """Linear classifier trained by asynchronous parallel SGD on a Dask cluster.

    It takes the parameters of scikit-learn's ``SGDClassifier`` (except ``n_jobs`` and the
    passive-aggressive learning rates) and the engine's own (``batch_size``,
    ``sync_interval``, ``fanout``, ``n_buffers``, ``parzen``, ``merge``, ``n_workers``,
    ``max_time``). Every
    training task runs SGD on its own shard of the rows and exchanges its state with random
    peers while it trains; the model is the average of the tasks' final states. More than two
    classes are learned one-vs-rest, the states of all classes travelling in one message.

    Parameters
    ----------
    loss : {'hinge', 'log_loss', 'modified_huber', 'squared_hinge', 'perceptron'}, \
default='hinge'
        The loss function to be used.

        - 'hinge' gives a linear SVM.
        - 'log_loss' gives logistic regression, a probabilistic classifier.
        - 'modified_huber' is another smooth loss that brings tolerance to outliers as well
          as probability estimates.
        - 'squared_hinge' is like hinge but is quadratically penalized.
        - 'perceptron' is the linear loss used by the perceptron algorithm.
    """
        + _parameters_doc("'optimal'", "0.5", class_weight=True)
        + """
    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features) if n_classes == 2 else (n_classes, n_features)
        Weights assigned to the features: the average of the training tasks' final
        coefficients, each weighted by the number of rows it trained on.

    intercept_ : ndarray of shape (1,) if n_classes == 2 else (n_classes,)
        Constants in decision function, averaged over the tasks as ``coef_``.

    classes_ : ndarray of shape (n_classes,)
        The class labels.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when ``X`` has feature names
        that are all strings.

    n_iter_ : int
        The actual number of iterations before reaching the stopping criterion: the most
        epochs any training task ran.

    t_ : float
        The largest sample counter of the training tasks, which drives the learning rate
        schedule (``warm_start`` and ``partial_fit`` go on from it).

    fit_report_ : FitReport
        What happened in the last fit: one row per training task (rows, mini-batches, states
        sent, merged and rejected, ...), the tasks' metric reports over time, the tasks lost
        with their worker and a monitor's values.

    See Also
    --------
    ASGDRegressor : Linear regressor trained by asynchronous parallel SGD.
    sklearn.linear_model.SGDClassifier : The same model trained by SGD on one core.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from dask_asgd import ASGDClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = ASGDClassifier(loss="log_loss", n_workers=2, random_state=0).fit(X / 16, y)
    >>> clf.score(X / 16, y) > 0.9
    True
    """
    )

    _is_clf = True
    _parameter_constraints: dict = {
        **_BaseASGD._parameter_constraints,
        "loss": [StrOptions(set(CLASSIFICATION_LOSSES))],
        "class_weight": [StrOptions({"balanced"}), dict, None],
    }

    def __init__(
        self,
        loss="hinge",
        *,
        penalty="l2",
        alpha=0.0001,
        l1_ratio=0.15,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-3,
        shuffle=True,
        verbose=0,
        epsilon=0.1,
        random_state=None,
        learning_rate="optimal",
        eta0=0.01,
        power_t=0.5,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        class_weight=None,
        warm_start=False,
        average=False,
        batch_size=128,
        sync_interval="auto",
        fanout=1,
        n_buffers=4,
        parzen=True,
        merge="auto",
        n_workers=None,
        max_time=None,
    ):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.verbose = verbose
        self.epsilon = epsilon
        self.random_state = random_state
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.average = average
        self.batch_size = batch_size
        self.sync_interval = sync_interval
        self.fanout = fanout
        self.n_buffers = n_buffers
        self.parzen = parzen
        self.merge = merge
        self.n_workers = n_workers
        self.max_time = max_time

    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None, monitor=None):
        """Fit the linear model by asynchronous parallel SGD on the cluster's workers.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, dask DataFrame} of shape (n_samples, n_features)
            Training data. In-memory input (numpy, pandas, scipy.sparse) is split into random
            shards, one per training task; a Dask collection is trained where its partitions
            live, each task on the partitions its worker holds.

        y : {array-like, dask array, dask Series} of shape (n_samples,)
            Target values.

        coef_init : ndarray of shape (n_classes, n_features), default=None
            The initial coefficients to warm-start the optimization (of shape
            ``(1, n_features)`` for two classes).

        intercept_init : ndarray of shape (n_classes,), default=None
            The initial intercept to warm-start the optimization (of shape ``(1,)`` for two
            classes).

        sample_weight : {array-like, dask array} of shape (n_samples,), default=None
            Weights applied to individual samples. If not provided, uniform weights are
            assumed. These weights will be multiplied with ``class_weight`` (passed through
            the constructor) if ``class_weight`` is specified.

        monitor : Monitor or callable, default=None
            Called by every training task on its own current model while it trains: a
            :class:`~dask_asgd.Monitor`, or a callable ``fn(coef, intercept)`` (called every
            0.5 s). What it returns is collected in ``fit_report_.trace``.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        with self._monitoring(monitor):
            self._start_fit()
            return self._fit_classifier(
                X, y, sample_weight, None, self.max_iter, self.tol, True, coef_init, intercept_init
            )

    def partial_fit(self, X, y, classes=None, sample_weight=None, monitor=None):
        """Perform one epoch of asynchronous parallel SGD on the given samples.

        Every training task makes one pass over its shard of ``X``, from the current model
        (zero on the first call). Therefore, it is not guaranteed that a minimum of the cost
        function is reached after calling it once; ``tol`` and ``early_stopping`` do not
        apply.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, dask DataFrame} of shape (n_samples, n_features)
            Subset of the training data.

        y : {array-like, dask array, dask Series} of shape (n_samples,)
            Subset of the target values.

        classes : ndarray of shape (n_classes,), default=None
            Classes across all calls to partial_fit. Can be obtained by via
            ``np.unique(y_all)``, where ``y_all`` is the target vector of the entire dataset.
            This argument is required for the first call to partial_fit and can be omitted in
            the subsequent calls. Note that ``y`` doesn't need to contain all labels in
            ``classes``.

        sample_weight : {array-like, dask array} of shape (n_samples,), default=None
            Weights applied to individual samples. If not provided, uniform weights are
            assumed.

        monitor : Monitor or callable, default=None
            Called by every training task on its own current model while it trains: a
            :class:`~dask_asgd.Monitor`, or a callable ``fn(coef, intercept)`` (called every
            0.5 s). What it returns is collected in ``fit_report_.trace``.

        Returns
        -------
        self : object
            Returns an instance of self.
        """
        with self._monitoring(monitor):
            return self._partial_fit(X, y, classes, sample_weight)

    def _partial_fit(self, X, y, classes, sample_weight):
        first = not hasattr(self, "classes_")
        if first:
            self._validate_params()
            self._check_options()
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"`classes={classes!r}` is not the same as on last call to partial_fit, was: {self.classes_!r}"
            )
        return self._fit_classifier(X, y, sample_weight, classes, 1, None, first, None, None)

    def _fit_classifier(self, X, y, sample_weight, classes, max_iter, tol, reset, coef_init, intercept_init):
        X, y, sample_weight = self._validate_input(X, y, sample_weight, reset)
        dask_in = is_dask_collection(X)
        if classes is not None:
            classes = np.unique(classes)
        elif hasattr(self, "classes_") and self.warm_start:
            classes = None
        if dask_in:
            import dask.array as da

            present, counts = compute_input(*da.unique(y, return_counts=True))
            if present.dtype.kind == "f":
                _assert_all_finite(present, input_name="y")
            check_classification_targets(present)  # a continuous target: scikit-learn's error
        else:
            if not (y.ndim == 1 and y.dtype.kind in "biu"):  # 1-D integer labels are always valid
                check_classification_targets(y)
            codes, present, counts, same = label_codes(y)
        if classes is None:
            classes = present
        else:
            extra = np.setdiff1d(present, classes)
            if len(extra):
                raise ValueError(f"`classes={list(extra)!r}` were not all in `classes={list(classes)!r}`.")
        if getattr(self, "classes_", None) is not None and not reset and not np.array_equal(classes, self.classes_):
            classes = self.classes_
        if len(classes) < 2:
            raise ValueError(f"The number of classes has to be greater than one; got {len(classes)} class")
        self.classes_ = classes
        if self.class_weight is None:
            cw = None
        elif self.class_weight == "balanced":
            full = np.zeros(len(classes))
            full[np.searchsorted(classes, present)] = counts
            with np.errstate(divide="ignore"):
                cw = np.where(full > 0, full.sum() / (len(classes) * np.maximum(full, 1)), 1.0)
        else:
            cw = compute_class_weight(self.class_weight, classes=classes, y=present)
        n_out = 1 if len(classes) == 2 else len(classes)
        warm = self._warm_state(n_out, coef_init, intercept_init)
        if dask_in:  # the tasks encode their own blocks
            self._run(X, y, sample_weight, n_out, max_iter, tol, warm, classes=classes, class_weights=cw)
            return self
        pos = encode_labels(present, None, classes, None)[0]  # labels present -> class codes
        if not np.array_equal(pos, np.arange(len(pos))):  # classes= holds labels not present
            codes = pos[codes.astype(np.intp)]
        if cw is not None:
            w = np.asarray(cw, dtype=np.float64)[codes.astype(np.intp)]
            sample_weight = w if sample_weight is None else sample_weight * w
        # rows ordered by their label (a real shuffle needed), from the counts just made
        ordered = None if same is None else labels_ordered(same, counts)
        self._run(X, codes, sample_weight, n_out, max_iter, tol, warm, ordered=ordered)
        return self

    def decision_function(self, X):
        """Predict confidence scores for samples.

        The confidence score for a sample is proportional to the signed distance of that
        sample to the hyperplane.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, dask DataFrame} of shape (n_samples, n_features)
            The data matrix for which we want to get the confidence scores.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Confidence scores per ``(n_samples, n_classes)`` combination. In the binary case,
            confidence score for ``self.classes_[1]`` where >0 means this class would be
            predicted.
            A lazy dask array, computed block by block on the workers, for dask input.
        """
        if is_dask_collection(X):
            if len(self.classes_) == 2:
                return self._blockwise("decision_function", X, dtype=np.float64, drop_axis=1)
            return self._blockwise("decision_function", X, dtype=np.float64, n_cols=len(self.classes_))
        scores = self._decision(X)
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X):
        """Predict class labels for samples in X.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, dask DataFrame} of shape (n_samples, n_features)
            The data matrix for which we want to get the predictions.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Vector containing the class labels for each sample.
            A lazy dask array, computed block by block on the workers, for dask input.
        """
        if is_dask_collection(X):
            return self._blockwise("predict", X, dtype=self.classes_.dtype, drop_axis=1)
        scores = self.decision_function(X)
        idx = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[idx]

    def _has_proba(self):
        if self.loss not in ("log_loss", "modified_huber"):
            raise AttributeError(f"probability estimates are not available for loss={self.loss!r}")
        return True

    @available_if(_has_proba)
    def predict_proba(self, X):
        """Probability estimates.

        This method is only available for log loss and modified Huber loss. Binary
        probability estimates are the logistic function of the decision function for
        loss="log_loss", and ``(clip(decision_function(X), -1, 1) + 1) / 2`` for
        loss="modified_huber". Multiclass probability estimates are derived from the binary
        (one-vs-rest) estimates by simple normalization (uniform where every estimate is
        zero). For other loss functions, calibrate the classifier with scikit-learn's
        ``CalibratedClassifierCV`` instead.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, dask DataFrame} of shape (n_samples, n_features)
            Input data for prediction.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            The probability of the sample for each class in the model, where classes are
            ordered as they are in ``self.classes_``.
            A lazy dask array, computed block by block on the workers, for dask input.
        """
        if is_dask_collection(X):
            return self._blockwise("predict_proba", X, dtype=np.float64, n_cols=len(self.classes_))
        d = self.decision_function(X)
        if self.loss == "log_loss":
            p = expit(d)  # no overflow warning for large float32 decision values
        else:
            p = (np.clip(d, -1, 1) + 1.0) / 2.0
        if p.ndim == 1:
            return np.column_stack([1.0 - p, p])
        s = p.sum(axis=1, keepdims=True)
        uniform = s[:, 0] == 0
        s[uniform] = 1.0
        p = p / s
        p[uniform] = 1.0 / p.shape[1]
        return p

    @available_if(_has_proba)
    def predict_log_proba(self, X):
        """Log of probability estimates.

        This method is only available for log loss and modified Huber loss. When
        loss="modified_huber", probability estimates may be hard zeros and ones, so taking
        the logarithm is not possible. See ``predict_proba`` for details.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, dask DataFrame} of shape (n_samples, n_features)
            Input data for prediction.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            The log-probability of the sample for each class in the model, where classes are
            ordered as they are in ``self.classes_``.
            A lazy dask array, computed block by block on the workers, for dask input.
        """
        return np.log(self.predict_proba(X))

    def score(self, X, y, sample_weight=None):
        """Return the mean accuracy on the given test data and labels.

        For dask input the predictions are computed on the workers, and the accuracy on the
        client.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, dask DataFrame} of shape (n_samples, n_features)
            Test samples.

        y : {array-like, dask array, dask Series} of shape (n_samples,)
            True labels for ``X``.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Mean accuracy of ``self.predict(X)`` with respect to ``y``.
        """
        if is_dask_collection(X):
            from sklearn.metrics import accuracy_score

            pred = self.predict(X).compute()
            y = y.compute() if is_dask_collection(y) else y
            return accuracy_score(np.asarray(y).ravel(), pred, sample_weight=sample_weight)
        return super().score(X, y, sample_weight=sample_weight)


class ASGDRegressor(RegressorMixin, _BaseASGD):
    # the docstring is built from parts: assigned, since an expression is not a docstring
    __doc__ = (
        """Linear regressor trained by asynchronous parallel SGD on a Dask cluster.

    It takes the parameters of scikit-learn's ``SGDRegressor`` (except the
    passive-aggressive learning rates) and the engine's own (``batch_size``,
    ``sync_interval``, ``fanout``, ``n_buffers``, ``parzen``, ``merge``, ``n_workers``,
    ``max_time``). Every training task
    runs SGD on its own shard of the rows and exchanges its state with random peers while it
    trains; the model is the average of the tasks' final states.

    Parameters
    ----------
    loss : {'squared_error', 'huber', 'epsilon_insensitive', 'squared_epsilon_insensitive'}, \
default='squared_error'
        The loss function to be used. 'squared_error' refers to the ordinary least squares
        fit. 'huber' modifies 'squared_error' to focus less on getting outliers correct by
        switching from squared to linear loss past a distance of ``epsilon``.
        'epsilon_insensitive' ignores errors less than ``epsilon`` and is linear past that;
        this is the loss function used in SVR. 'squared_epsilon_insensitive' is the same but
        becomes squared loss past a tolerance of ``epsilon``.
    """
        + _parameters_doc("'invscaling'", "0.25", class_weight=False)
        + """
    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Weights assigned to the features: the average of the training tasks' final
        coefficients, each weighted by the number of rows it trained on.

    intercept_ : ndarray of shape (1,)
        The intercept term, averaged over the tasks as ``coef_``.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when ``X`` has feature names
        that are all strings.

    n_iter_ : int
        The actual number of iterations before reaching the stopping criterion: the most
        epochs any training task ran.

    t_ : float
        The largest sample counter of the training tasks, which drives the learning rate
        schedule (``warm_start`` and ``partial_fit`` go on from it).

    fit_report_ : FitReport
        What happened in the last fit: one row per training task (rows, mini-batches, states
        sent, merged and rejected, ...), the tasks' metric reports over time, the tasks lost
        with their worker and a monitor's values.

    See Also
    --------
    ASGDClassifier : Linear classifier trained by asynchronous parallel SGD.
    sklearn.linear_model.SGDRegressor : The same model trained by SGD on one core.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import StandardScaler
    >>> from dask_asgd import ASGDRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = ASGDRegressor(n_workers=2, random_state=0).fit(StandardScaler().fit_transform(X), y)
    >>> reg.coef_.shape
    (10,)
    """
    )

    _is_clf = False
    _parameter_constraints: dict = {
        **_BaseASGD._parameter_constraints,
        "loss": [StrOptions(set(REGRESSION_LOSSES))],
    }

    def __init__(
        self,
        loss="squared_error",
        *,
        penalty="l2",
        alpha=0.0001,
        l1_ratio=0.15,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-3,
        shuffle=True,
        verbose=0,
        epsilon=0.1,
        random_state=None,
        learning_rate="invscaling",
        eta0=0.01,
        power_t=0.25,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        warm_start=False,
        average=False,
        batch_size=128,
        sync_interval="auto",
        fanout=1,
        n_buffers=4,
        parzen=True,
        merge="auto",
        n_workers=None,
        max_time=None,
    ):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.verbose = verbose
        self.epsilon = epsilon
        self.random_state = random_state
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.average = average
        self.batch_size = batch_size
        self.sync_interval = sync_interval
        self.fanout = fanout
        self.n_buffers = n_buffers
        self.parzen = parzen
        self.merge = merge
        self.n_workers = n_workers
        self.max_time = max_time

    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None, monitor=None):
        """Fit the linear model by asynchronous parallel SGD on the cluster's workers.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, dask DataFrame} of shape (n_samples, n_features)
            Training data. In-memory input (numpy, pandas, scipy.sparse) is split into random
            shards, one per training task; a Dask collection is trained where its partitions
            live, each task on the partitions its worker holds.

        y : {array-like, dask array, dask Series} of shape (n_samples,)
            Target values.

        coef_init : ndarray of shape (n_features,), default=None
            The initial coefficients to warm-start the optimization.

        intercept_init : ndarray of shape (1,), default=None
            The initial intercept to warm-start the optimization.

        sample_weight : {array-like, dask array} of shape (n_samples,), default=None
            Weights applied to individual samples (1. for unweighted).

        monitor : Monitor or callable, default=None
            Called by every training task on its own current model while it trains: a
            :class:`~dask_asgd.Monitor`, or a callable ``fn(coef, intercept)`` (called every
            0.5 s). What it returns is collected in ``fit_report_.trace``.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        with self._monitoring(monitor):
            self._start_fit()
            return self._fit_regressor(X, y, sample_weight, self.max_iter, self.tol, True, coef_init, intercept_init)

    def partial_fit(self, X, y, sample_weight=None, monitor=None):
        """Perform one epoch of asynchronous parallel SGD on the given samples.

        Every training task makes one pass over its shard of ``X``, from the current model
        (zero on the first call). Therefore, it is not guaranteed that a minimum of the cost
        function is reached after calling it once; ``tol`` and ``early_stopping`` do not
        apply.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, dask DataFrame} of shape (n_samples, n_features)
            Subset of training data.

        y : {array-like, dask array, dask Series} of shape (n_samples,)
            Subset of target values.

        sample_weight : {array-like, dask array} of shape (n_samples,), default=None
            Weights applied to individual samples. If not provided, uniform weights are
            assumed.

        monitor : Monitor or callable, default=None
            Called by every training task on its own current model while it trains: a
            :class:`~dask_asgd.Monitor`, or a callable ``fn(coef, intercept)`` (called every
            0.5 s). What it returns is collected in ``fit_report_.trace``.

        Returns
        -------
        self : object
            Returns an instance of self.
        """
        with self._monitoring(monitor):
            first = not hasattr(self, "coef_")
            if first:
                self._validate_params()
                self._check_options()
            return self._fit_regressor(X, y, sample_weight, 1, None, first, None, None)

    def _fit_regressor(self, X, y, sample_weight, max_iter, tol, reset, coef_init, intercept_init):
        X, y, sample_weight = self._validate_input(X, y, sample_weight, reset)
        if not is_dask_collection(y):
            y = np.asarray(y, dtype=np.float64)
        self._run(X, y, sample_weight, 1, max_iter, tol, self._warm_state(1, coef_init, intercept_init))
        self.coef_ = self.coef_.ravel()
        return self

    def predict(self, X):
        """Predict using the linear model.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, dask DataFrame} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted target values per element in ``X``.
            A lazy dask array, computed block by block on the workers, for dask input.
        """
        if is_dask_collection(X):
            return self._blockwise("predict", X, dtype=np.float64, drop_axis=1)
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False, dtype=[np.float64, np.float32])
        return np.asarray(X @ self.coef_).ravel() + self.intercept_[0]

    def score(self, X, y, sample_weight=None):
        """Return the coefficient of determination of the prediction.

        The coefficient of determination :math:`R^2` is defined as :math:`(1 - \\frac{u}{v})`,
        where :math:`u` is the residual sum of squares ``((y_true - y_pred) ** 2).sum()`` and
        :math:`v` is the total sum of squares ``((y_true - y_true.mean()) ** 2).sum()``. The
        best possible score is 1.0 and it can be negative (because the model can be
        arbitrarily worse). A constant model that always predicts the expected value of ``y``,
        disregarding the input features, would get an :math:`R^2` score of 0.0. For dask
        input the predictions are computed on the workers, and the score on the client.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, dask DataFrame} of shape (n_samples, n_features)
            Test samples.

        y : {array-like, dask array, dask Series} of shape (n_samples,)
            True values for ``X``.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            :math:`R^2` of ``self.predict(X)`` with respect to ``y``.
        """
        if is_dask_collection(X):
            from sklearn.metrics import r2_score

            pred = self.predict(X).compute()
            y = y.compute() if is_dask_collection(y) else y
            return r2_score(np.asarray(y).ravel(), pred, sample_weight=sample_weight)
        return super().score(X, y, sample_weight=sample_weight)
