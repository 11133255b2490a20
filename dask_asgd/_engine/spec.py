"""``EngineSpec``: the exchange settings of one fit, shipped to its training tasks."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class EngineSpec:
    """Everything a training task needs besides its model (``model``), as plain values."""

    fit_id: str
    model: object  # a ``models.base.ModelSpec``
    sync_interval: int | None  # None: no exchange until the final combine
    auto_interval: bool
    fanout: int  # peers per publish; <= 0 means all
    n_buffers: int
    max_time: float | None
    report_interval: float
    chunk_seconds: float
    shuffle: bool = True  # rows of a task's own blocks ordered by their target are shuffled once
    n_blocks: int = 1  # message split in this many blocks (1: whole state)
    min_publish_period: float = 0.0  # "auto": seconds between publishes at least
    seeds: dict = field(default_factory=dict)  # task_id -> int seed
    peers: dict = field(default_factory=dict)  # task_id -> worker address
    monitor: object = None  # a dask_asgd.monitor.Monitor, or None
    settle_timeout: float = 10.0  # merge="pairwise": longest wait for the shares after training
    share_epochs: bool = False  # tasks in one process take over the end of slower tasks' epochs
    start_epoch: int = 0  # a task started while the fit runs (``_elastic``): its epochs count from here

    @property
    def pairwise(self) -> bool:
        """merge="pairwise": receivers send shares back, and tasks settle them after training."""
        return bool(getattr(self.model, "pairwise", False))
