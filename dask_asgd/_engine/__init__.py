"""The model-agnostic engine: what a fit's training tasks do on the workers, whatever the model.

- ``spec``: ``EngineSpec``, the settings of the exchange a fit ships to its tasks;
- ``messages``: the typed records that cross a boundary (a task's result, its live metrics);
- ``task``: the training task on a worker (``TaskLoop``), its publishing schedule and its
  pairwise ledger;
- ``sharing``: tasks of one process that take over the end of a slower task's epoch.

A model family plugs in through ``dask_asgd.models.base`` (``ModelSpec``, ``ShardTrainer``).
"""
