"""Model families of dask-asgd: each one's state layout, kernel, merge and final combine.

A family is a :class:`~dask_asgd.models.base.ModelSpec` (what its training tasks need, plain
numbers and codes, shipped to the workers) and a :class:`~dask_asgd.models.base.Trainer` (the
SGD of one shard, driven chunk by chunk by the engine's task loop).  The engine
(:mod:`dask_asgd._engine`) knows nothing else of a model.
"""
