"""A streamed shard: row blocks of a Dask collection read as the epochs need them.

A collection larger than the workers' memory is not persisted (``_data.place_dask``): each
training task gets the task graphs of its row blocks and computes them on its own worker, one
at a time, while it trains on the one before (a prefetch of one block).  Each epoch reads the
blocks again, in a new random order; a task holds the block it trains on and the one being
read.
"""

from __future__ import annotations

import time
from collections import deque

from .. import _compat


class BlockStream:
    """The blocks of one task's streamed shard, computed on the task's worker.

    Parameters
    ----------
    worker : distributed.Worker
        The task's worker: the blocks are computed there, and read from its memory.
    blocks : list of tuple
        One ``(X, y, sw)`` of ``dask.delayed`` objects per row block (``y``, ``sw`` may be
        None).
    rows : list of int
        The rows of each block.
    rng : numpy.random.Generator or None
        The order of the blocks in each epoch (None: as given).
    """

    def __init__(self, worker, blocks: list, rows: list, rng=None):
        self.worker = worker
        self.address = worker.address
        self.blocks = list(blocks)
        self.rows = [int(r) for r in rows]
        self.rng = rng
        self._queue: deque = deque()  # (block index, last of its epoch), the coming ones
        self._pending = None  # (block index, its futures): the block being read
        self._kept = None  # a shard of one block is read once and kept
        self.read_seconds = 0.0  # waited for blocks whose read had not ended
        self.reads = 0  # blocks read and handed to training

    @property
    def n_rows(self) -> int:
        return sum(self.rows)

    def _peek(self):
        if not self._queue:
            n = len(self.blocks)
            order = self.rng.permutation(n).tolist() if self.rng is not None and n > 1 else list(range(n))
            self._queue.extend((i, k == n - 1) for k, i in enumerate(order))
        return self._queue[0]

    def _submit(self, index: int):
        from distributed import get_client

        parts = [p for p in self.blocks[index] if p is not None]
        return index, get_client().compute(parts, workers=[self.address], allow_other_workers=True)

    def next(self):
        """``(X, y, sw, index, last)``: the next block (waiting for its read to end), its index,
        and whether it is the last of its epoch; the read of the block after it starts."""
        index, last = self._peek()
        self._queue.popleft()
        if self._kept is not None:
            return (*self._kept, index, last)
        pending = self._pending if self._pending is not None and self._pending[0] == index else self._submit(index)
        self._pending = None
        t0 = time.monotonic()
        values = [_compat.local_result(self.worker, f) for f in pending[1]]
        self.read_seconds += time.monotonic() - t0
        self.reads += 1
        for f in pending[1]:
            f.release()
        it = iter(values)
        X = next(it)
        y = next(it) if self.blocks[index][1] is not None else None
        sw = next(it) if self.blocks[index][2] is not None else None
        if len(self.blocks) == 1:
            self._kept = (X, y, sw)
        else:
            self._pending = self._submit(self._peek()[0])
        return X, y, sw, index, last

    def each(self):
        """Every block once, in order, as ``(X, y, sw)``, the next one read while the caller
        uses the current one (after training: a model's final pass over the shard)."""
        if self._kept is not None:
            yield self._kept
            return
        self.close()
        n = len(self.blocks)
        pending = self._submit(0) if n else None
        for i in range(n):
            following = self._submit(i + 1) if i + 1 < n else None
            values = [_compat.local_result(self.worker, f) for f in pending[1]]
            for f in pending[1]:
                f.release()
            self.reads += 1
            it = iter(values)
            X = next(it)
            y = next(it) if self.blocks[i][1] is not None else None
            sw = next(it) if self.blocks[i][2] is not None else None
            self._pending = following  # released by ``close`` if the caller stops early
            yield X, y, sw
            pending = following
        self._pending = None

    def close(self) -> None:
        """Drop the block being read (the task has stopped): released, not cancelled, so that
        the scheduler forgets it once nobody wants it (distributed's cancel of one of several
        futures of one graph walks into the graph's other keys, and fails on those no client
        holds: an ``AssertionError`` on the scheduler)."""
        if self._pending is not None:
            for f in self._pending[1]:
                f.release()
            self._pending = None
        self._kept = None
