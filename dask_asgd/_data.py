"""Any input -> shards placed on workers, one per training task.

In-memory input (numpy, pandas, scipy.sparse) is shuffled once, split and scattered, one shard
per task.  Dask collections stay where their partitions live: they are persisted and each
task gets the blocks its worker holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Shard:
    worker: str
    X: list  # futures (or objects) of row blocks
    y: list
    sw: list | None
    n_samples: int


def is_dask_collection(x) -> bool:
    try:
        import dask

        return dask.is_dask_collection(x)
    except ImportError:  # pragma: no cover
        return False


def worker_slots(client, n_tasks=None) -> list:
    """One entry per worker thread (the address repeated), capped to ``n_tasks``."""
    info = client.scheduler_info(n_workers=-1)["workers"]
    slots = []
    per_worker = sorted(((addr, w.get("nthreads", 1)) for addr, w in info.items()))
    # interleave, so that a cap spreads the tasks over workers before filling threads
    depth = max((n for _, n in per_worker), default=0)
    for r in range(depth):
        for addr, n in per_worker:
            if r < n:
                slots.append(addr)
    if n_tasks is not None:
        slots = slots[: max(1, int(n_tasks))]
    return slots


def place_in_memory(client, X, y, sw, slots: list, rng, shuffle: bool) -> list:
    """Split rows into ``len(slots)`` shards (shuffled first) and scatter each to its worker."""
    n = X.shape[0]
    P = max(1, min(len(slots), n))
    idx = rng.permutation(n) if shuffle else np.arange(n)
    bounds = np.linspace(0, n, P + 1).astype(int)
    shards = []
    for i in range(P):
        rows = idx[bounds[i]: bounds[i + 1]]
        if not shuffle:
            rows = slice(bounds[i], bounds[i + 1])
        parts = [X[rows], y[rows]] + ([] if sw is None else [sw[rows]])
        futs = client.scatter(parts, workers=[slots[i]], hash=False)
        sw_f = [futs[2]] if sw is not None else None
        shards.append(Shard(slots[i], [futs[0]], [futs[1]], sw_f, int(bounds[i + 1] - bounds[i])))
    return shards


def place_dask(client, X, y, sw, slots: list) -> list:
    """Persist the collections and give each task the row blocks its worker holds."""
    from distributed import futures_of, wait

    X = X.rechunk({1: -1}) if X.ndim == 2 else X
    row_chunks = X.chunks[0]
    y = y.rechunk((row_chunks,))
    if sw is not None:
        sw = sw.rechunk((row_chunks,))
    X, y, *rest = client.persist([X, y] + ([sw] if sw is not None else []))
    sw = rest[0] if rest else None
    futs = {f.key: f for c in [X, y] + ([sw] if sw is not None else []) for f in futures_of(c)}
    wait(list(futs.values()))
    xkeys = [k for k in _flat(X.__dask_keys__())]
    ykeys = [k for k in _flat(y.__dask_keys__())]
    skeys = [k for k in _flat(sw.__dask_keys__())] if sw is not None else None
    who = client.who_has([futs[k] for k in xkeys])
    by_worker: dict = {}
    for i, k in enumerate(xkeys):
        holders = who.get(k) or [slots[i % len(slots)]]
        by_worker.setdefault(holders[0], []).append(i)
    # the tasks of one worker share its blocks round-robin
    tasks_of = {}
    for addr in slots:
        tasks_of.setdefault(addr, 0)
        tasks_of[addr] += 1
    shards = []
    for addr, blocks in by_worker.items():
        n_t = max(1, min(tasks_of.get(addr, 1), len(blocks)))
        for t in range(n_t):
            mine = blocks[t::n_t]
            shards.append(
                Shard(
                    addr,
                    [futs[xkeys[i]] for i in mine],
                    [futs[ykeys[i]] for i in mine],
                    [futs[skeys[i]] for i in mine] if skeys else None,
                    int(sum(row_chunks[i] for i in mine)),
                )
            )
    return shards


def _flat(keys):
    if isinstance(keys, list):
        for k in keys:
            yield from _flat(k)
    else:
        yield keys
