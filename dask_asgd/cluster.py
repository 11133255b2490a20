"""ASGDKMeans: K-Means clustering trained by asynchronous parallel SGD on a Dask cluster."""

from __future__ import annotations

import concurrent.futures
import os
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from . import config
from ._compat import Interval, StrOptions, _check_sample_weight
from ._data import check_dask_values, dask_input, is_dask_collection
from ._estimator import EngineMixin, FitReport
from ._fit import check_results, run_fit
from ._kernel_args import Rows
from ._paused import compute_input
from .models import _kmeans_kernels as KK
from .models.base import check_finite
from .models.kmeans import COMBINES, MERGES, PARZEN_MODES, KMeansSpec, combine, mean_variance

INIT_SAMPLE_ROWS = 20_000  # rows drawn for the initialization and for choosing the final model


class ASGDKMeans(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, EngineMixin, BaseEstimator):
    """K-Means clustering trained by asynchronous parallel SGD on a Dask cluster.

    Every training task runs online K-Means on its own shard of the rows (each row moves its
    nearest centroid by the row's share of the weight that centroid has received, as
    scikit-learn's MiniBatchKMeans), from one initialization shared by all tasks.  Tasks send
    their centroids and counts to random peers every ``sync_interval`` mini-batches; a receiver
    merges them, each centroid weighted by the two tasks' counts (optionally only where the
    Parzen-window test says its own last step moved toward them), which keeps the tasks'
    centroids describing the same clusters.  At the end every task makes one
    Lloyd pass over its shard, and the model is the Lloyd step of all shards together (each
    task's centroids matched to one reference task's first), or the best task's own centroids
    where that has the lower inertia on a sample of the rows.

    Parameters
    ----------
    n_clusters : int, default=8
        The number of clusters to form as well as the number of centroids to generate.
    init : {'k-means++', 'random'}, callable or array-like of shape (n_clusters, n_features), \
default='k-means++'
        How the shared start is made, on a random sample of at most 20,000 rows: scikit-learn's
        k-means++ (``sklearn.cluster.kmeans_plusplus``), ``n_clusters`` random rows, a callable
        ``init(X_sample, n_clusters, random_state)``, or the given centers.
    n_init : 'auto' or int, default='auto'
        Initializations tried on the sample; the one of lowest inertia on it starts the fit (as
        MiniBatchKMeans: the fit itself runs once). 'auto': 1 for k-means++ or an array, 3 for
        'random' or a callable.
    max_iter : int, default=100
        Maximum number of iterations over the complete dataset (epochs): each task makes at
        most ``max_iter`` passes over its own shard.
    tol : float, default=1e-4
        A task stops once an epoch moved its centroids (squared Frobenius norm) by less than
        ``tol`` times its shard's mean feature variance (scikit-learn's KMeans criterion), or
        once its epochs' mean inertia has not improved by a relative ``tol`` for 5 epochs
        (merges keep moving the centroids of shards that differ). 0 runs ``max_iter`` epochs.
    batch_size : int, default=1024
        Size of the mini batches, in rows: the unit of the exchange schedule (the centroids
        are updated after every row).
    compute_labels : bool, default=True
        Compute ``labels_`` and ``inertia_`` of the training rows at the end of ``fit`` (one
        pass over the data on the client; a lazy result for dask input), as MiniBatchKMeans.
    verbose : int, default=0
        Verbosity mode: above 0, every task prints its mean inertia per epoch (on its worker),
        and ``fit`` prints the fit report.
    random_state : int, RandomState instance or None, default=None
        Determines random number generation for centroid initialization, the split of the
        rows into shards and every task's row order. Use an int to make the randomness
        deterministic; where the tasks exchange centroids, the model also depends on when
        the messages arrive.
    sync_interval : int, "auto" or None, default="auto"
        Mini-batches between two publishes of a task's centroids. ``None``: no exchange, the
        tasks train apart and meet only in the final combine. "auto": the interval and message
        size follow the measured links.
    fanout : int or "all", default=1
        Peers each publish goes to (chosen at random).
    n_buffers : int, default=4
        Receive slots per task; a newer state overwrites an unread older one.
    parzen : bool or {"state", "centroid"}, default=False
        The Parzen-window test on received centroids: "state", the received block is merged when
        the local step moved the task's centroids toward it as a whole (the paper's test);
        "centroid", each received centroid is merged when the local step moved that centroid
        toward it; ``True`` is "state"; ``False`` (the default) merges everything received, with
        weights from the centroids' counts. Off by default: on every data set and shard layout
        measured, merging everything gave an equal or lower inertia, and on shards that hold
        different parts of the data a much lower one (the test turns away the very states that
        pull a task's centroids toward the rows it does not hold; docs/design.md).
    n_workers : int or None, default=None
        Training tasks; default: one per worker thread of the cluster (or per core), with at most
        one per 500 rows of in-memory input.
    max_time : float or None, default=None
        Seconds; each task stops then and the model is combined from where the tasks stand.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Coordinates of cluster centers.

    labels_ : ndarray of shape (n_samples,)
        Labels of each point: the nearest center of each training row (a lazy dask array for
        dask input); not set with ``compute_labels=False``.

    inertia_ : float
        Sum of squared distances of the training rows to their nearest center, weighted by
        the sample weights if provided; not set with ``compute_labels=False``.

    n_iter_ : int
        Number of iterations over the full dataset: the most epochs any task ran.

    n_steps_ : int
        Number of minibatches processed, all tasks together.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when ``X`` has feature names
        that are all strings.

    fit_report_ : FitReport
        What happened in the last fit: one row per training task (rows, mini-batches, states
        sent, merged and rejected, ...), the tasks' metric reports over time, the tasks lost
        with their worker and a monitor's values.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from dask_asgd import ASGDKMeans
    >>> X, _ = make_blobs(4000, 5, centers=4, random_state=0)
    >>> km = ASGDKMeans(n_clusters=4, n_workers=2, random_state=0).fit(X)
    >>> km.cluster_centers_.shape
    (4, 5)
    """

    _parameter_constraints: dict = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"k-means++", "random"}), callable, "array-like"],
        "n_init": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "compute_labels": ["boolean"],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "sync_interval": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"}), None],
        "fanout": [Interval(Integral, 1, None, closed="left"), StrOptions({"all"})],
        "n_buffers": [Interval(Integral, 1, None, closed="left")],
        "parzen": ["boolean", StrOptions({"state", "centroid"})],
        "n_workers": [Interval(Integral, 1, None, closed="left"), None],
        "max_time": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        n_init="auto",
        max_iter=100,
        tol=1e-4,
        batch_size=1024,
        compute_labels=True,
        verbose=0,
        random_state=None,
        sync_interval="auto",
        fanout=1,
        n_buffers=4,
        parzen=False,
        n_workers=None,
        max_time=None,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.batch_size = batch_size
        self.compute_labels = compute_labels
        self.verbose = verbose
        self.random_state = random_state
        self.sync_interval = sync_interval
        self.fanout = fanout
        self.n_buffers = n_buffers
        self.parzen = parzen
        self.n_workers = n_workers
        self.max_time = max_time

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None, sample_weight=None, monitor=None):
        """Compute the clustering on all workers; returns self.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, dask DataFrame} of shape (n_samples, n_features)
            Training instances to cluster (CSR for sparse input). In-memory input is split into
            random shards, one per training task; a Dask collection is trained where its
            partitions live.

        y : Ignored
            Not used, present here for API consistency by convention.

        sample_weight : {array-like, dask array} of shape (n_samples,), default=None
            The weights for each observation in X. If None, all observations are assigned
            equal weight.

        monitor : Monitor or callable, default=None
            Called by every training task on its own current centroids while it trains: a
            :class:`~dask_asgd.Monitor`, or a callable ``fn(centers)`` (called every 0.5 s).
            What it returns is collected in ``fit_report_.trace``.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        self._validate_params()
        with self._monitoring(monitor):
            return self._fit(X, sample_weight, reset=True)

    def partial_fit(self, X, y=None, sample_weight=None, monitor=None):
        """Update the centers with one epoch over ``X``.

        Every training task makes one pass over its shard of ``X`` from the current centers
        (the first call initializes them on ``X``).

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, dask DataFrame} of shape (n_samples, n_features)
            Training instances to cluster (CSR for sparse input).

        y : Ignored
            Not used, present here for API consistency by convention.

        sample_weight : {array-like, dask array} of shape (n_samples,), default=None
            The weights for each observation in X. If None, all observations are assigned
            equal weight.

        monitor : Monitor or callable, default=None
            Called by every training task on its own current centroids while it trains, as
            in ``fit``.

        Returns
        -------
        self : object
            Return updated estimator.
        """
        first = not hasattr(self, "cluster_centers_")
        if first:
            self._validate_params()
        with self._monitoring(monitor):
            return self._fit(X, sample_weight, reset=first, epochs=1)

    def _fit(self, X, sample_weight, reset, epochs=None):
        X, sample_weight = self._validate_input(X, sample_weight, reset)
        n, d = X.shape
        k = int(self.n_clusters)
        if n < k and reset:
            raise ValueError(f"n_samples={n} should be >= n_clusters={k}.")
        random_state = check_random_state(self.random_state)
        sample, sample_w = _sample_rows(X, sample_weight, INIT_SAMPLE_ROWS, random_state)
        # the sample's NaN / inf now (scikit-learn's error); the tasks check every row they train on
        check_finite(sample.data if sp.issparse(sample) else sample)
        if reset:
            centers = self._init_centers(sample, sample_w, k, random_state).astype(X.dtype)
            counts = None
        else:
            centers = self.cluster_centers_.astype(X.dtype)
            counts = self._counts
        parzen = self.parzen
        mode = PARZEN_MODES["off"] if parzen is False else PARZEN_MODES["state" if parzen is True else parzen]
        merge = str(config.get("kmeans.merge"))
        if merge not in MERGES:
            raise ValueError(f"dask-asgd.kmeans.merge must be one of {sorted(MERGES)}, got {merge!r}")
        final_pass = str(config.get("kmeans.final-pass"))
        if final_pass not in ("auto", "always"):
            raise ValueError(f"dask-asgd.kmeans.final-pass must be 'auto' or 'always', got {final_pass!r}")
        model = KMeansSpec(
            n_clusters=k,
            n_features=d,
            init_centers=centers,
            init_counts=counts,
            max_iter=int(epochs or self.max_iter),
            tol=0.0 if epochs else float(self.tol),
            batch_size=int(self.batch_size),
            shuffle=True,
            parzen=mode,
            merge=MERGES[merge],
            memory=_count_memory(X),
            epoch_sums=final_pass == "auto",
            verbose=int(self.verbose),
            exchange_bytes_per_second=_exchange_rate(),
        )
        res = run_fit(
            X, None, sample_weight, self._engine_spec(model), n_workers=self.n_workers, random_state=random_state
        )
        check_results(res)
        cand = combine(res.results, k, d)
        combined, singles, weights = cand.combined, cand.singles, cand.weights
        how = str(config.get("kmeans.combine"))
        if how not in COMBINES:
            raise ValueError(f"dask-asgd.kmeans.combine must be one of {COMBINES}, got {how!r}")
        if counts is not None:  # partial_fit: this epoch's Lloyd step blended with the history
            prior = np.asarray(counts, dtype=np.float64)
            total = prior + weights
            hit = total > 0
            mix = centers.astype(np.float64)
            mix[hit] = (prior[hit, None] * mix[hit] + weights[hit, None] * combined[hit]) / total[hit, None]
            combined = mix
            self._counts = total
        else:
            # the candidate of lowest inertia on the sample: the combined model, or one task's own
            # the candidate of lowest inertia on the sample (dask-asgd.kmeans.combine: "lloyd");
            # the others are there to be measured against it
            pool = {
                "lloyd": [combined] + singles,
                "lloyd-only": [combined],
                "average": [cand.averaged],
                "best": singles,
            }[how]
            scores = [_inertia(sample, c, sample_w) for c in pool]
            combined = pool[int(np.argmin(scores))]
            self._counts = weights
            if sample.shape[0] == n:  # small data: the client holds every row, Lloyd finishes
                combined = lloyd(sample, combined, sample_w, int(self.max_iter), float(self.tol))
        self.cluster_centers_ = combined.astype(X.dtype)
        self._n_features_out = k
        self.n_iter_ = res.n_iter
        self.n_steps_ = int(sum(r.n_batches for r in res.results))
        self.fit_report_ = FitReport(res.results, res.history, res.lost, res.seconds, res.started, res.retrained)
        for attr in ("labels_", "inertia_"):  # a refit without them must not keep the old ones
            if hasattr(self, attr):
                delattr(self, attr)
        if self.compute_labels:
            self.labels_, self.inertia_ = self._labels_inertia(X, sample_weight)
        if self.verbose:
            print(self.fit_report_)
        return self

    def _init_centers(self, sample, sample_w, k, random_state):
        """The shared start: the best of ``n_init`` initializations by inertia on the sample."""
        from sklearn.cluster import kmeans_plusplus

        init = self.init
        if not (isinstance(init, str) or callable(init)):
            centers = np.asarray(init, dtype=np.float64)
            if centers.shape != (k, sample.shape[1]):
                raise ValueError(
                    f"The shape of the initial centers {centers.shape} does not match the number of "
                    f"clusters {k} and the number of features {sample.shape[1]}."
                )
            if self.n_init != "auto" and self.n_init != 1:
                warnings.warn(
                    "Explicit initial center position passed: performing only one init in "
                    f"{type(self).__name__} instead of n_init={self.n_init}.",
                    RuntimeWarning,
                    stacklevel=3,
                )
            return centers
        n_init = self.n_init
        if n_init == "auto":
            n_init = 1 if init == "k-means++" else 3
        best, best_score = None, np.inf
        for _ in range(int(n_init)):
            seed = random_state.randint(np.iinfo(np.int32).max)
            if init == "k-means++":
                centers, _ = kmeans_plusplus(sample, k, sample_weight=sample_w, random_state=seed)
            elif init == "random":
                rows = np.random.default_rng(seed).choice(sample.shape[0], k, replace=False)
                centers = sample[np.sort(rows)]
            else:
                centers = init(sample, k, random_state=np.random.RandomState(seed))
            centers = np.asarray(centers.toarray() if sp.issparse(centers) else centers, dtype=np.float64)
            if centers.shape != (k, sample.shape[1]):
                raise ValueError(
                    f"The shape of the initial centers {centers.shape} does not match the number of "
                    f"clusters {k} and the number of features {sample.shape[1]}."
                )
            score = _inertia(sample, centers, sample_w) if n_init > 1 else 0.0
            if best is None or score < best_score:
                best, best_score = centers, score
        return best

    def _validate_input(self, X, sample_weight, reset):
        if is_dask_collection(X):
            return self._validate_dask(X, sample_weight, reset)
        X = validate_data(
            self,
            X,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            order="C",
            accept_large_sparse=False,
            reset=reset,
            ensure_all_finite=False,
        )
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        return X, sample_weight

    def _validate_dask(self, X, sample_weight, reset):
        X, _, sample_weight, names = dask_input(X, None, sample_weight)
        if sample_weight is not None:
            check_dask_values(sample_weight)  # NaN, infinity or negative: scikit-learn's errors
        self._dask_features(X, names, reset)
        return X, sample_weight

    # ------------------------------------------------------------------ using the model
    def _labels_inertia(self, X, sample_weight=None):
        """``(labels, inertia)`` of ``X`` under the centers: arrays for in-memory input, a lazy
        dask array and a computed float for dask input."""
        C = np.ascontiguousarray(self.cluster_centers_)
        if is_dask_collection(X):
            import dask.array as da

            X = X.rechunk({1: -1})
            labels = X.map_blocks(_block_labels, C, dtype=np.int32, drop_axis=1)
            dist = X.map_blocks(_block_distances, C, dtype=np.float64, drop_axis=1)
            if sample_weight is not None:
                sw = (
                    sample_weight
                    if is_dask_collection(sample_weight)
                    else da.from_array(np.asarray(sample_weight, dtype=np.float64), chunks=(X.chunks[0],))
                )
                dist = dist * sw.rechunk((X.chunks[0],))
            return labels, float(compute_input(dist.sum())[0])
        labels, dist = assign(X, C)
        if sample_weight is not None:
            dist = dist * sample_weight
        return labels.astype(np.int32), float(dist.sum())

    def _check_test_data(self, X):
        check_is_fitted(self)
        return validate_data(self, X, accept_sparse="csr", reset=False, dtype=[np.float64, np.float32], order="C")

    def predict(self, X):
        """Predict the closest cluster each sample in X belongs to.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, dask DataFrame} of shape (n_samples, n_features)
            New data to predict.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Index of the cluster each sample belongs to. A lazy dask array, computed block by
            block on the workers, for dask input.
        """
        if is_dask_collection(X):
            X = self._dask_rows(X)
            return X.map_blocks(_block_labels, np.ascontiguousarray(self.cluster_centers_), dtype=np.int32, drop_axis=1)
        X = self._check_test_data(X)
        return assign(X, np.ascontiguousarray(self.cluster_centers_))[0].astype(np.int32)

    def transform(self, X):
        """Transform X to a cluster-distance space.

        In the new space, each dimension is the distance to the cluster centers. Note that
        even if X is sparse, the array returned by ``transform`` will typically be dense.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, dask DataFrame} of shape (n_samples, n_features)
            New data to transform.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_clusters)
            X transformed in the new space. A lazy dask array, computed block by block on the
            workers, for dask input.
        """
        from sklearn.metrics.pairwise import euclidean_distances

        if is_dask_collection(X):
            X = self._dask_rows(X)
            return X.map_blocks(
                euclidean_distances,
                self.cluster_centers_,
                dtype=self.cluster_centers_.dtype,
                chunks=(X.chunks[0], (self.n_clusters,)),
            )
        X = self._check_test_data(X)
        return euclidean_distances(X, self.cluster_centers_)

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the value of X on the K-means objective.

        For dask input the distances are computed on the workers.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, dask DataFrame} of shape (n_samples, n_features)
            New data.

        y : Ignored
            Not used, present here for API consistency by convention.

        sample_weight : {array-like, dask array} of shape (n_samples,), default=None
            The weights for each observation in X. If None, all observations are assigned
            equal weight.

        Returns
        -------
        score : float
            Opposite of the value of X on the K-means objective: minus the sum of squared
            distances of the rows to their nearest center, weighted by ``sample_weight``.
        """
        if is_dask_collection(X):
            X = self._dask_rows(X)
            return -self._labels_inertia(X, sample_weight)[1]
        X = self._check_test_data(X)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        return -self._labels_inertia(X, sample_weight)[1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


# ---------------------------------------------------------------------------- helpers
def _rows(X, a, b, sw=None):
    """Rows ``[a, b)`` as the kernels take them (``Rows``), weighed by ``sw`` (float64, the rows'
    own) when given."""
    has_sw = sw is not None
    y, sw = np.zeros(1), (sw if has_sw else np.ones(1))
    if sp.issparse(X):
        lo, hi = X.indptr[a], X.indptr[b]
        return Rows(
            False,
            np.zeros((1, 1), dtype=X.dtype),
            X.data[lo:hi],
            X.indices[lo:hi],
            (X.indptr[a : b + 1] - lo).astype(X.indptr.dtype),
            y,
            sw,
            has_sw,
        )
    return Rows(
        True,
        X[a:b],
        np.zeros(1, dtype=X.dtype),
        np.zeros(1, dtype=np.int32),
        np.zeros(2, dtype=np.int32),
        y,
        sw,
        has_sw,
    )


def assign(X, C, n_threads=None):
    """``(labels, squared distances)`` of the rows of ``X`` (dense or CSR) to the centers ``C``,
    by the nogil kernel on several threads at once."""
    if sp.issparse(X):
        X = sp.csr_matrix(X)
    else:
        X = np.ascontiguousarray(X)
    C = np.ascontiguousarray(C, dtype=X.dtype)
    n = X.shape[0]
    cnorm = np.zeros(C.shape[0])
    KK.centroid_norms(C, cnorm)
    labels = np.zeros(n, dtype=np.int64)
    dist = np.zeros(n)
    n_threads = max(1, min(n_threads or os.cpu_count() or 1, n // 2048 + 1))
    bounds = np.linspace(0, n, n_threads + 1).astype(int)

    def part(i):
        a, b = bounds[i], bounds[i + 1]
        KK.assign_rows(_rows(X, a, b), C, cnorm, labels[a:b], dist[a:b])

    if n_threads == 1:
        part(0)
    else:
        with concurrent.futures.ThreadPoolExecutor(n_threads) as pool:
            list(pool.map(part, range(n_threads)))
    return labels, np.maximum(dist, 0.0)


def lloyd(X, C, sw, max_iter: int, tol: float):
    """Lloyd iterations over all of ``X`` from the centers ``C``, until the centers move (squared
    Frobenius norm) by at most ``tol`` times the mean feature variance, or ``max_iter``; a
    center that no row chooses stays where it is.  For data small enough to be sampled whole:
    the fit's result then no longer depends on the timing of the tasks' messages."""
    X = sp.csr_matrix(X) if sp.issparse(X) else np.ascontiguousarray(X)
    var = mean_variance(X)
    C = np.array(C, dtype=np.float64)
    rows = _rows(X, 0, X.shape[0], None if sw is None else np.ascontiguousarray(sw, dtype=np.float64))
    cnorm = np.zeros(C.shape[0])
    for _ in range(max_iter):
        Cx = np.ascontiguousarray(C, dtype=X.dtype)
        KK.centroid_norms(Cx, cnorm)
        sums = np.zeros_like(C)
        weights = np.zeros(C.shape[0])
        KK.lloyd_sums(rows, Cx, cnorm, sums, weights)
        new = C.copy()
        hit = weights > 0
        new[hit] = sums[hit] / weights[hit, None]
        shift = float(np.sum((new - C) ** 2))
        C = new
        if shift <= tol * var:
            break
    return C


def _inertia(X, C, sw=None) -> float:
    dist = assign(X, C)[1]
    return float(dist.sum() if sw is None else (dist * sw).sum())


def _block_labels(block, C):
    return assign(block, C, n_threads=1)[0].astype(np.int32)


def _block_distances(block, C):
    return assign(block, C, n_threads=1)[1]


RANDOM_SHARDS_COUNT_MEMORY = 0.25  # count-memory "auto" where the fit splits the rows at random
KEPT_SHARDS_COUNT_MEMORY = 1.0  # count-memory "auto" where each task trains on partitions as they sit


def _exchange_rate() -> float:
    return config.number("kmeans.exchange-bytes-per-second", 0, strict=True, finite=True)


def _count_memory(X) -> float:
    """``dask-asgd.kmeans.count-memory``, "auto" resolved by the shards' layout: in-memory input is
    split into random shards, where counts that keep a quarter epoch reach the target in fewer
    epochs; a Dask collection's partitions are trained where they sit and may hold different
    parts of the data, where counts of one epoch keep the tasks' centroids closer (the measurements:
    docs/benchmarks.md, "How much of its past a centroid's count keeps")."""
    value = config.get("kmeans.count-memory")
    if value == "auto":
        return KEPT_SHARDS_COUNT_MEMORY if is_dask_collection(X) else RANDOM_SHARDS_COUNT_MEMORY
    try:
        value = float(value)
    except (TypeError, ValueError):
        value = -1.0
    if not value >= 0:
        raise ValueError(
            f"dask-asgd.kmeans.count-memory must be 'auto' or a number >= 0, got {config.get('kmeans.count-memory')!r}"
        )
    return value


def _take_rows(a, idx):
    """Rows ``idx`` (sorted) of the Dask array ``a``, in memory: each row block's rows taken in a
    task of its own on the worker that holds the block, and joined on the client. Indexing the
    whole array instead lets dask join rows of several blocks in one task, so that other workers'
    rows cross a link twice (docs/benchmarks.md, "On shaped links")."""
    bounds = np.cumsum((0,) + tuple(a.chunks[0]))
    pieces = []
    for i in range(len(a.chunks[0])):
        lo, hi = int(bounds[i]), int(bounds[i + 1])
        local = idx[(idx >= lo) & (idx < hi)] - lo
        if len(local) == hi - lo:
            pieces.append(a.blocks[i])
        elif len(local):
            pieces.append(a.blocks[i][local])
    blocks = [b.tocsr() if hasattr(b, "tocsr") else b for b in compute_input(*pieces)]
    if any(sp.issparse(b) for b in blocks):
        return sp.vstack([sp.csr_matrix(b) for b in blocks], format="csr")
    return np.concatenate([np.asarray(b) for b in blocks])


def _sample_rows(X, sample_weight, n_rows, random_state):
    """At most ``n_rows`` rows of ``X`` drawn at random (in memory), with their weights."""
    n = X.shape[0]
    if n <= n_rows:
        idx = np.arange(n)
    else:
        idx = np.sort(random_state.choice(n, n_rows, replace=False))
    if is_dask_collection(X):
        sw = None if sample_weight is None else np.asarray(_take_rows(sample_weight, idx), dtype=np.float64)
        return _take_rows(X, idx), sw
    rows = X[idx] if len(idx) < n else X
    return rows, (None if sample_weight is None else sample_weight[idx])
