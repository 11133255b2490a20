"""String options of the linear models -> the integer codes their kernel takes.

One table per choice drives validation, docs and kernel dispatch.
"""

from __future__ import annotations

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
