"""The ``dask-asgd`` namespace of dask.config, with its defaults from ``asgd.yaml``."""

from __future__ import annotations

import os

import dask.config
import yaml

_fn = os.path.join(os.path.dirname(__file__), "asgd.yaml")
with open(_fn) as f:
    defaults = yaml.safe_load(f)

dask.config.update_defaults(defaults)


def _default(key: str):
    value = defaults["dask-asgd"]
    for part in key.split("."):
        value = value[part]
    return value


def get(key: str):
    """``dask-asgd.<key>`` from dask.config; our default when the namespace is not there (a
    configuration reset by other code, as dask's own test clusters do, drops it)."""
    return dask.config.get(f"dask-asgd.{key}", default=_default(key))


def number(key: str, minimum: float, *, strict: bool = False, finite: bool = False, what: str = "a number") -> float:
    """``dask-asgd.<key>`` as a float of at least ``minimum`` (above it where ``strict``; not
    infinite where ``finite``); anything else is a ValueError that names the setting."""
    value = get(key)
    try:
        x = float(value)
    except (TypeError, ValueError):
        x = float("nan")
    if not (x > minimum if strict else x >= minimum) or (finite and x == float("inf")):
        raise ValueError(f"dask-asgd.{key} must be {what} {'>' if strict else '>='} {minimum:g}, got {value!r}")
    return x
