"""The ``dask-asgd`` namespace of dask.config, with its defaults from ``asgd.yaml``."""

from __future__ import annotations

import os

import dask.config
import yaml

_fn = os.path.join(os.path.dirname(__file__), "asgd.yaml")
with open(_fn) as f:
    defaults = yaml.safe_load(f)

dask.config.update_defaults(defaults)


def get(key: str):
    return dask.config.get(f"dask-asgd.{key}")
