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
