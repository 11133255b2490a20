"""String options -> integer codes, and the plain-number training spec shipped to workers.

One table per choice drives validation, docs and kernel dispatch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# loss name -> (kernel code, is_classification, default parameter source)
# The parameter of a loss is its threshold (hinge family) or epsilon (regression family).
CLASSIFICATION_LOSSES = {
    "hinge": 0,
    "log_loss": 1,
    "modified_huber": 2,
    "squared_hinge": 3,
    "perceptron": 4,
}
REGRESSION_LOSSES = {
    "squared_error": 5,
    "huber": 6,
    "epsilon_insensitive": 7,
    "squared_epsilon_insensitive": 8,
}
LOSSES = {**CLASSIFICATION_LOSSES, **REGRESSION_LOSSES}
# losses whose parameter is the user's ``epsilon``
EPSILON_LOSSES = {"huber", "epsilon_insensitive", "squared_epsilon_insensitive"}

PENALTIES = {None: 0, "l2": 1, "l1": 2, "elasticnet": 3}

LEARNING_RATES = {"constant": 0, "optimal": 1, "invscaling": 2, "adaptive": 3}


def loss_param(loss: str, epsilon: float) -> float:
    """The number the kernel's loss takes: a threshold or an epsilon."""
    if loss in EPSILON_LOSSES:
        return float(epsilon)
    if loss == "perceptron":
        return 0.0
    return 1.0


def effective_l1_ratio(penalty, l1_ratio: float) -> float:
    if penalty == "l1":
        return 1.0
    if penalty == "elasticnet":
        return float(l1_ratio)
    return 0.0


@dataclass
class TrainSpec:
    """Everything a training task needs, as plain numbers and codes (cheap to pickle)."""

    fit_id: str
    n_outputs: int  # K: 1 for binary / regression, n_classes for one-vs-rest
    n_features: int
    is_classifier: bool
    loss: int
    loss_param: float
    penalty: int
    alpha: float
    l1_ratio: float
    fit_intercept: bool
    learning_rate: int
    eta0: float
    power_t: float
    max_iter: int
    tol: float | None
    n_iter_no_change: int
    shuffle: bool
    early_stopping: bool
    validation_fraction: float
    batch_size: int
    sync_interval: int | None  # None: no exchange until the final average
    auto_interval: bool
    fanout: int  # peers per publish; <= 0 means all
    n_buffers: int
    parzen: bool
    max_time: float | None
    verbose: int
    report_interval: float
    chunk_seconds: float
    n_blocks: int = 1  # message split in this many blocks (1: whole state)
    min_publish_period: float = 0.0  # "auto": seconds between publishes at least
    init_state: object = None  # flat initial state or None
    init_t: float = 1.0
    t_scale: float = 1.0  # the schedule's sample counter advances this much per sample (dask-asgd.schedule)
    seeds: dict = field(default_factory=dict)  # task_id -> int seed
    peers: dict = field(default_factory=dict)  # task_id -> worker address
    monitor: object = None  # a dask_asgd.monitor.Monitor, or None
    pairwise: bool = False  # merge="pairwise": the receiver returns each sender's share of its gain
    settle_timeout: float = 10.0  # merge="pairwise": longest wait for the shares after training
    evidence_units: bool = True  # merge="pairwise", 'optimal' schedule: states travel times t0 + t
    average: int = 0  # averaged SGD from this sample on (scikit-learn's average=; 0: off)
    init_avg: object = None  # flat initial average (warm start of an averaged fit) or None
    share_epochs: bool = False  # tasks in one process take over the end of slower tasks' epochs
