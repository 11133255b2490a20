"""dask-asgd: asynchronous parallel SGD as scikit-learn estimators on Dask clusters."""

from . import config  # noqa: F401  (registers the dask-asgd config defaults)
from ._cluster import close_own_cluster
from .balance import AdaptivePolicy, BalanceSchedulerPlugin, FixedPolicy, IntervalPolicy
from .cluster import ASGDKMeans
from .linear_model import ASGDClassifier, ASGDRegressor, FitReport
from .monitor import Monitor
from .pubsub import PubSubWorkerPlugin

__all__ = [
    "ASGDClassifier",
    "ASGDRegressor",
    "ASGDKMeans",
    "FitReport",
    "Monitor",
    "IntervalPolicy",
    "FixedPolicy",
    "AdaptivePolicy",
    "BalanceSchedulerPlugin",
    "PubSubWorkerPlugin",
    "close_own_cluster",
]
__version__ = "0.1.0"
