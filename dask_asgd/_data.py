"""Any input -> shards placed on workers, one per training task.

In-memory input (numpy, pandas, scipy.sparse) is shuffled once, split and scattered, one shard
per task.  Dask collections stay where their partitions live: they are persisted and each
task gets the blocks its worker holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _compat
from ._paused import wait_input


@dataclass
class Shard:
    worker: str
    X: list  # futures of row blocks (or ``LocalRef`` of the whole array, with ``ranges`` or ``rows``)
    y: list | None  # None: a model without targets
    sw: list | None
    n_samples: int
    ranges: list | None = None  # the shard's [a, b) rows of a shared whole array
    rows: object = None  # or its rows of a shared whole array, gathered by the task: RowBlocks
    stream: object = None  # or its row blocks, read by the task as the epochs go: StreamParts
    source: object = None  # in-memory input on worker processes: (arrays, ranges) to scatter it again


@dataclass
class StreamParts:
    """A streamed shard (``_engine.stream``): per row block, ``(X, y, sw)`` as ``dask.delayed``
    objects (``y``, ``sw`` may be None) and its rows."""

    blocks: list
    rows: list


# In-process clusters: the arrays of a fit, handed to its tasks by reference (``LocalRef``)
_LOCAL: dict = {}  # fit id -> list of objects


def _local_object(fit: str, index: int):
    try:
        return _LOCAL[fit][index]
    except KeyError:
        raise RuntimeError(f"dask-asgd: the in-memory input of fit {fit} is gone (the fit has ended)") from None


class LocalRef:
    """An object of the client's process handed to a task of an in-process cluster (whose
    workers are threads of that process): the fit's id and an index, which the task resolves
    (``resolve_local``) while the fit holds the object (``share_local``).  Instead of
    ``scatter``, which costs a round trip to the scheduler, and of data dependencies, which the
    scheduler and the workers keep books on before the task starts: the tasks start sooner
    (docs/design.md, "The tasks start as one task graph").  The reference stays a reference through the graph's
    pickling: distributed keeps its recent messages (the tasks' arguments among them) for
    debugging, and the object itself there would outlive the fit."""

    __slots__ = ("fit", "index")

    def __init__(self, fit: str, index: int):
        self.fit, self.index = fit, index

    def __reduce__(self):
        return LocalRef, (self.fit, self.index)


def resolve_local(obj):
    """The object a ``LocalRef`` stands for; anything else as it is."""
    return _local_object(obj.fit, obj.index) if isinstance(obj, LocalRef) else obj


def share_local(fit: str, objects: list) -> list:
    """``LocalRef``s of ``objects`` for the tasks of ``fit``; ``release_local(fit)`` drops them."""
    _LOCAL[fit] = list(objects)
    return [LocalRef(fit, i) for i in range(len(objects))]


def release_local(fit: str) -> None:
    _LOCAL.pop(fit, None)


@dataclass
class RowBlocks:
    """A task's rows of a shared array of ``n`` rows, as blocks of ``size`` rows: block ``j`` is
    rows ``j * size`` to ``min((j + 1) * size, n)``; ``blocks`` ascending.  Drawn by the client
    (one entry per block), expanded by the task (``rows()``), in parallel with the other tasks."""

    blocks: np.ndarray
    size: int
    n: int

    def rows(self) -> np.ndarray:
        rows = (self.blocks[:, None] * self.size + np.arange(self.size)).ravel()
        return rows[rows < self.n] if len(rows) and rows[-1] >= self.n else rows

    def __len__(self) -> int:
        m = len(self.blocks) * self.size
        if m and (int(self.blocks[-1]) + 1) * self.size > self.n:  # the last block is short
            m -= (int(self.blocks[-1]) + 1) * self.size - self.n
        return m


def is_sparse_input(X) -> bool:
    """A scipy sparse matrix, or a dask array of sparse blocks."""
    import scipy.sparse as sp

    return sp.issparse(X) or sp.issparse(getattr(X, "_meta", None))


def numeric_frame(X):
    """A Dask DataFrame of number and boolean columns (``dd.get_dummies`` makes booleans) of
    more than one dtype, as float64, so that its array is numeric as scikit-learn's
    ``check_array`` makes a pandas frame's; other frames as they are (a frame of one dtype keeps
    it, and the caller's dtype check names a frame with other columns)."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype  # numbers and booleans

    dtypes = list(X.dtypes)
    mixed = any(t != dtypes[0] for t in dtypes) or is_bool_dtype(dtypes[0])
    if mixed and all(is_numeric_dtype(t) for t in dtypes):
        return X.astype(np.float64)
    return X


def is_dask_collection(x) -> bool:
    try:
        import dask

        return dask.is_dask_collection(x)
    except ImportError:  # pragma: no cover
        return False


def worker_slots(client, n_tasks=None, timeout: float | None = None, nthreads: dict | None = None) -> list:
    """One entry per worker thread (the address repeated), capped to ``n_tasks``.

    The worker list is asked of the scheduler (``Client.nthreads``), not read from the client's
    cached identity, which can hold no workers.  A cluster with no worker yet (a dask-jobqueue
    cluster whose jobs are still queued) is waited for, at most ``timeout`` seconds
    (``dask-asgd.wait-for-workers``), then a clear error.
    """
    if nthreads is None:  # ``nthreads``: the scheduler's answer, when the caller has it already
        nthreads = client.nthreads()
    if not nthreads:
        from . import config

        timeout = float(config.get("wait-for-workers")) if timeout is None else float(timeout)
        try:
            if timeout <= 0:  # distributed reads 0 as "no deadline": never wait unbounded
                raise TimeoutError
            client.wait_for_workers(1, timeout=timeout)
        except TimeoutError:
            raise RuntimeError(
                f"The Dask cluster has no workers: none joined within {timeout:g} s "
                "(dask-asgd.wait-for-workers). Start or scale the cluster before fit."
            ) from None
        nthreads = client.nthreads()
    nthreads = _running(client, nthreads)
    slots = []
    per_worker = sorted(nthreads.items())
    # interleave, so that a cap spreads the tasks over workers before filling threads
    depth = max((n for _, n in per_worker), default=0)
    for r in range(depth):
        for addr, n in per_worker:
            if r < n:
                slots.append(addr)
    if n_tasks is not None:
        slots = slots[: max(1, int(n_tasks))]
    return slots


def _running(client, nthreads: dict) -> dict:
    """``nthreads`` without the workers distributed has paused for memory (a paused worker starts
    no task and takes no scattered data): the fit trains on the others and says so.  With every
    worker paused, the fit waits ``dask-asgd.paused-timeout`` for one to resume, then fails with
    an error that names the cause."""
    import time
    import warnings

    from . import config
    from ._paused import PausedClock, paused_error
    from .balance import paused_workers

    limit = float(config.get("paused-timeout"))
    clock, started = PausedClock(), time.monotonic()
    while True:
        paused = set(client.run_on_scheduler(paused_workers)[0]) & set(nthreads)
        running = {a: n for a, n in nthreads.items() if a not in paused}
        if running:
            break
        now = time.monotonic()
        if clock.held(True, now) > limit:
            raise paused_error(
                "the training tasks of this fit could not be placed:", sorted(paused), now - started, limit
            )
        time.sleep(0.1)
    if paused:
        warnings.warn(
            f"dask-asgd: the workers {', '.join(sorted(paused))} are paused (their memory is above the "
            "distributed.worker.memory.pause share of their memory_limit) and start no task: the fit "
            f"trains on the other {len(running)}. Free memory there or give them a larger memory_limit.",
            RuntimeWarning,
            stacklevel=4,
        )
    return running


def _in_this_process(slots) -> bool:
    """Whether every slot's worker runs in this process (an in-process cluster of the client's
    own process; an inproc:// address alone says only that the worker shares its scheduler's)."""
    from distributed import Worker

    local = {w.address for w in list(getattr(Worker, "_instances", ()))}
    return all(a in local for a in slots)


def place_in_memory(
    client, X, y, sw, slots: list, rng, shuffle: bool, is_classifier: bool, ordered=None, fit: str = ""
) -> list:
    """Split rows into ``len(slots)`` shards and place each on its worker.

    With ``shuffle``, a shard is a random set of row blocks.  On an in-process cluster the whole
    arrays are shared by reference (``share_local`` under ``fit``, which the caller releases) and
    a shard is just its row ranges: nothing is copied.  A cluster of processes gets each shard's
    rows (views, serialized once).

    Rows visibly ordered by their target (``needs_row_shuffle``, or ``ordered`` where the caller
    knows it already) need a real shuffle: on an in-process cluster each shard is a random set of
    rows that its task gathers, in parallel with the other tasks (``Shard.rows``); for a cluster
    of processes the client shuffles once (a copy) before the block-wise split.
    """
    from ._prepare import needs_row_shuffle

    n = X.shape[0]
    P = max(1, min(len(slots), n))
    in_process = _in_this_process(slots)
    if y is None:  # a model without targets: nothing to be ordered by
        ordered = False
    ordered = shuffle and (needs_row_shuffle(y, is_classifier) if ordered is None else ordered)
    rows = None
    if ordered and in_process:
        rows = _random_row_sets(n, P, rng)
        ranges = [None] * P
        sizes = [len(r) for r in rows]
    else:
        if ordered:  # one physical shuffle (a copy) before the block-wise split
            perm = rng.permutation(n)
            X, y = X[perm], (None if y is None else y[perm])
            sw = None if sw is None else sw[perm]
        ranges = _block_ranges(n, P, rng if shuffle else None)
        sizes = [int(sum(b - a for a, b in rs)) for rs in ranges]
    arrays = [X] + ([y] if y is not None else []) + ([sw] if sw is not None else [])
    shared = share_local(fit, arrays) if in_process else None
    shards = []
    for i in range(P):
        rs, addr = ranges[i], slots[i]
        if in_process:  # the whole arrays by reference, and the shard's rows in them
            Xh, yh, swh = split_held(shared, y is not None, sw is not None)
            kept = (rs, None if rows is None else rows[i])
        else:  # the shard's rows, serialized to its worker
            Xh, yh, swh = scatter_rows(client, arrays, rs, addr, y is not None, sw is not None)
            kept = (None, None)
        source = None if in_process else (arrays, rs)  # a lost worker's rows are scattered again
        shards.append(Shard(addr, Xh, yh, swh, sizes[i], *kept, source=source))
    return shards


def split_held(held, has_y: bool, has_sw: bool) -> tuple:
    """``[X, y?, sw?]`` (futures or references) as a shard's ``([X], [y] or None, [sw] or None)``."""
    held = list(held)
    X = [held.pop(0)]
    y = [held.pop(0)] if has_y else None
    sw = [held.pop(0)] if has_sw else None
    return X, y, sw


def scatter_rows(client, arrays: list, ranges, addr: str, has_y: bool, has_sw: bool) -> tuple:
    """Rows ``ranges`` of ``arrays`` (X, then y and sw where there) scattered to worker ``addr``:
    the shard's ``([X], [y] or None, [sw] or None)`` futures."""
    held = client.scatter([tuple(a[lo:hi] for lo, hi in ranges) for a in arrays], workers=[addr], hash=False)
    return split_held(held, has_y, has_sw)


ROW_BLOCK = 16  # rows per block of ``_random_row_sets``


def _random_row_sets(n: int, P: int, rng) -> list:
    """``P`` random sets of rows (``RowBlocks``; sizes as equal as blocks allow), each in
    ascending order: a task reads its rows in order and places them at random
    (``_task.shuffle_rows``).  The client draws blocks of up to ``ROW_BLOCK`` neighbouring rows,
    not rows (16x less work on the client; a task's rows are placed at random all the same);
    small data get smaller blocks, down to single rows, so that no task is left without rows."""
    size = int(np.clip(n // (P * 64), 1, ROW_BLOCK))
    nb = -(-n // size)
    owner = np.empty(nb, dtype=np.int16 if P < 2**15 else np.int64)
    owner[rng.permutation(nb)] = np.repeat(np.arange(P), np.diff(np.linspace(0, nb, P + 1).astype(int)))
    order = np.argsort(owner, kind="stable")  # a radix sort for small integers
    cuts = np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=P))])
    return [RowBlocks(order[cuts[i] : cuts[i + 1]], size, n) for i in range(P)]


def _block_ranges(n: int, P: int, rng=None) -> list:
    """``P`` shards of ``n`` rows as lists of [a, b) ranges: with ``rng``, random sets of blocks
    of up to 4096 rows (about 16 a shard); without, ``P`` contiguous ranges."""
    if rng is None:
        bounds = np.linspace(0, n, P + 1).astype(int)
        return [[(int(bounds[i]), int(bounds[i + 1]))] for i in range(P)]
    B = int(np.clip(n // (P * 16), 1, 4096))
    order = rng.permutation(-(-n // B))
    cuts = np.linspace(0, len(order), P + 1).astype(int)
    return [
        _merge_ranges([(b * B, min((b + 1) * B, n)) for b in np.sort(order[cuts[i] : cuts[i + 1]])]) for i in range(P)
    ]


def _merge_ranges(ranges):
    """Join adjacent [a, b) ranges (fewer, larger views)."""
    out = []
    for a, b in ranges:
        if out and out[-1][1] == a:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _block_lengths(a):
    """A dask array of the row count of each of ``a``'s row blocks."""
    first = a[:, :1] if a.ndim == 2 else a  # one column block: the rows of a block are its rows
    return first.map_blocks(
        lambda b: np.array([b.shape[0]]),
        chunks=((1,) * a.numblocks[0],),
        drop_axis=list(range(1, a.ndim)) or None,
        dtype=np.int64,
    )


def known_row_chunks(*arrays):
    """The dask arrays with their row block sizes known: the unknown sizes (a DataFrame's
    ``to_dask_array()`` without lengths) computed in one computation (``compute_input``); new
    array objects with the same graph, the user's objects unchanged.  Anything else passes."""
    import dask.array as da

    from ._paused import compute_input

    todo = [a for a in arrays if isinstance(a, da.Array) and any(np.isnan(c) for c in a.chunks[0])]
    if not todo:
        return arrays
    lengths = compute_input(*[_block_lengths(a) for a in todo])
    known = {
        id(a): da.Array(a.dask, a.name, (tuple(int(n) for n in L),) + a.chunks[1:], meta=a._meta)
        for a, L in zip(todo, lengths)
    }
    return tuple(known.get(id(a), a) for a in arrays)


def dask_input(X, y=None, sample_weight=None):
    """``(X, y, sample_weight, feature_names)`` of a Dask collection as the estimators train on
    it, with scikit-learn's errors for what in-memory input gets from ``validate_data``: dask
    DataFrames and Series as arrays (a DataFrame's column names kept), X 2-D with rows and
    numbers (bool becomes float64), unknown chunk sizes measured (``known_row_chunks``), ``y``
    (when given) and ``sample_weight`` of X's length, as dask arrays chunked as X's rows.  The
    values are checked by ``check_dask_values`` and, for X, by the training tasks."""
    import dask.array as da
    import dask.dataframe as dd

    names = None
    if isinstance(X, dd.DataFrame):
        names = np.asarray(X.columns, dtype=object)
        X = numeric_frame(X)
    # frames become arrays whose block lengths are measured on the arrays' own graphs
    # (``known_row_chunks``): lengths counted on the frame (``map_partitions(len)``) can belong
    # to another partitioning than the array's, where dask fuses the files of a narrow column
    # (a Series of labels read from Parquet) into fewer partitions than the frame reports
    arrays = {id(c): c.to_dask_array() for c in (X, y, sample_weight) if isinstance(c, (dd.Series, dd.DataFrame))}
    X, y, sample_weight = (arrays.get(id(c), c) for c in (X, y, sample_weight))
    if not isinstance(X, da.Array) or X.ndim != 2:
        raise ValueError("Expected a 2D dask array or dask DataFrame for X.")
    X, y, sample_weight = known_row_chunks(X, y, sample_weight)
    n = X.shape[0]
    if y is not None:
        if not is_dask_collection(y):
            y = da.from_array(np.asarray(y), chunks=(X.chunks[0],))
        y = y.ravel() if y.ndim > 1 else y
        if n != y.shape[0]:
            raise ValueError(f"Found input variables with inconsistent numbers of samples: [{n}, {y.shape[0]}]")
    if n == 0:
        raise ValueError(f"Found array with 0 sample(s) (shape={X.shape!r}) while a minimum of 1 is required.")
    if X.dtype not in (np.float32, np.float64):
        if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
            raise ValueError("dtype='numeric' is not compatible with arrays of bytes/strings.")
        X = X.astype(np.float64)
    if sample_weight is not None:
        if not is_dask_collection(sample_weight):
            sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if sample_weight.shape != (n,):
            raise ValueError(f"sample_weight.shape == {sample_weight.shape}, expected {(n,)}!")
        if not is_dask_collection(sample_weight):
            sample_weight = da.from_array(sample_weight, chunks=(X.chunks[0],))
    return X, y, sample_weight, names


def check_dask_values(sample_weight=None, y=None):
    """scikit-learn's errors for values of a Dask collection that in-memory input gets from
    ``check_array`` and ``_check_sample_weight``: NaN, infinity or a negative value in
    ``sample_weight``, NaN or infinity in ``y`` (a regression target; a classifier's labels
    are checked once their classes are known).  One computation over both (``compute_input``)."""
    import dask.array as da

    from ._paused import compute_input

    named = [(v, name) for v, name in ((sample_weight, "sample_weight"), (y, "y")) if v is not None]
    if not named:
        return
    checks = []
    for v, name in named:
        checks += [da.isnan(v).any(), da.isinf(v).any()]
        if name == "sample_weight":
            checks.append((v < 0).any())
    found = iter(compute_input(*checks))
    for _, name in named:
        nan, inf = bool(next(found)), bool(next(found))
        if nan:
            raise ValueError(f"Input {name} contains NaN.")
        if inf:
            raise ValueError(f"Input {name} contains infinity or a value too large for dtype('float64').")
        if name == "sample_weight" and bool(next(found)):
            raise ValueError("Negative values in data passed to `sample_weight`")


MOVE_ABOVE = 1.1  # a block moves off its holder only when the holder would pass its share by this factor


def stream_input(client, X, slots: list, model_streams: bool) -> bool:
    """Whether a fit streams the Dask collection ``X`` (``dask-asgd.stream``): "auto" where its
    size passes ``stream-above`` of the memory of the fit's workers (their memory limits; a
    worker without one counts the machine's memory), for a model that can, unless it is
    persisted already (it is in memory); True / False: always / never (a model that cannot
    stream says so).  Strings "true" / "false" (environment variables) count as the booleans."""
    from distributed import futures_of

    from . import config

    mode = config.get("stream")
    mode = {"true": True, "false": False}.get(str(mode).lower(), mode) if isinstance(mode, str) else mode
    if mode not in ("auto", True, False):
        raise ValueError(f"dask-asgd.stream must be 'auto', true or false, got {mode!r}")
    if mode is False:
        return False
    if not model_streams:
        if mode is True:
            raise ValueError("dask-asgd.stream: this model trains on persisted collections only")
        return False
    if mode is True:
        return True
    if futures_of(X):
        return False
    return collection_bytes(client, X) > float(config.get("stream-above")) * workers_memory(client, slots)


def collection_bytes(client, X) -> float:
    """The bytes ``X`` takes in memory: its ``nbytes`` when dense; for scipy.sparse blocks (whose
    ``nbytes`` counts every zero), its first row block's bytes a row times its rows."""
    import scipy.sparse as sp

    if not sp.issparse(getattr(X, "_meta", None)):
        return float(X.nbytes)
    first = client.compute(X.blocks[0]).result()
    per_row = sum(a.nbytes for a in (first.data, first.indices, first.indptr)) / max(1, first.shape[0])
    return per_row * X.shape[0]


def workers_memory(client, slots: list) -> float:
    """Bytes of memory of the workers in ``slots`` (a worker without a limit: the machine's)."""
    from distributed.system import MEMORY_LIMIT

    from .balance import memory_limits

    limits = client.run_on_scheduler(memory_limits)
    return float(sum(limits.get(a) or MEMORY_LIMIT for a in dict.fromkeys(slots)))


def _aligned(X, y, sw):
    """``X`` in blocks of whole rows, ``y`` and ``sw`` cut like its rows."""
    X = X.rechunk({1: -1}) if X.ndim == 2 else X
    row_chunks = X.chunks[0]
    if y is not None:
        y = y.rechunk((row_chunks,))
    if sw is not None:
        sw = sw.rechunk((row_chunks,))
    return X, y, sw, row_chunks


def place_dask_stream(X, y, sw, slots: list) -> list:
    """A streamed fit: nothing is persisted; each task gets the task graphs of its row blocks
    (every ``len(slots)``-th block: a collection sorted along its rows gives each task a part
    of every region) and reads them on its worker as the epochs go."""
    from dask.delayed import Delayed
    from dask.optimization import cull

    X, y, sw, row_chunks = _aligned(X, y, sw)
    # one graph, materialized once here, and each block's part of it culled: a block of X and its
    # y share their keys (a Parquet file read once for both), and a task submits a few tasks a
    # block, not the whole collection's graph to optimize again each time
    graph: dict = {}
    for a in (X, y, sw):
        if a is not None:
            graph.update(a.__dask_graph__())
    xk = list(_flat(X.__dask_keys__()))
    yk = list(_flat(y.__dask_keys__())) if y is not None else [None] * len(xk)
    sk = list(_flat(sw.__dask_keys__())) if sw is not None else [None] * len(xk)

    def block(i):
        keys = (xk[i], yk[i], sk[i])
        part, _ = cull(graph, [k for k in keys if k is not None])
        return tuple(None if k is None else Delayed(k, part) for k in keys)

    nonempty = [i for i, n in enumerate(row_chunks) if n > 0]
    shards = []
    for t, addr in enumerate(slots):
        mine = nonempty[t :: len(slots)]
        if not mine:
            continue
        parts = StreamParts([block(i) for i in mine], [int(row_chunks[i]) for i in mine])
        shards.append(Shard(addr, [], None, None, int(sum(parts.rows)), stream=parts))
    return shards


def place_dask(client, X, y, sw, slots: list) -> list:
    """Persist the collections and give each task row blocks: those its worker holds, except
    where that worker would get far more rows than its share of the fit's tasks while another
    of the fit's workers has room (``_blocks_by_worker``)."""
    from distributed import futures_of

    X, y, sw, row_chunks = _aligned(X, y, sw)
    collections = [c for c in (X, y, sw) if c is not None]
    persisted = iter(client.persist(collections))
    X = next(persisted)
    y = next(persisted) if y is not None else None
    sw = next(persisted) if sw is not None else None
    _compat.flush_to_scheduler(client)
    futs = {f.key: f for c in (X, y, sw) if c is not None for f in futures_of(c)}
    wait_input(client, list(futs.values()))  # every worker paused: a clear error, not a hang
    xkeys = [k for k in _flat(X.__dask_keys__())]
    ykeys = [k for k in _flat(y.__dask_keys__())] if y is not None else None
    skeys = [k for k in _flat(sw.__dask_keys__())] if sw is not None else None
    who = client.who_has([futs[k] for k in xkeys])
    by_worker = _blocks_by_worker(who, xkeys, row_chunks, slots)
    tasks_of: dict = {}  # the tasks of one worker share its blocks round-robin
    for addr in slots:
        tasks_of[addr] = tasks_of.get(addr, 0) + 1
    shards = []
    for addr, blocks in by_worker.items():
        n_t = max(1, min(tasks_of.get(addr, 1), len(blocks)))
        for t in range(n_t):
            mine = blocks[t::n_t]
            shards.append(
                Shard(
                    addr,
                    [futs[xkeys[i]] for i in mine],
                    [futs[ykeys[i]] for i in mine] if ykeys else None,
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


def _blocks_by_worker(who: dict, xkeys: list, row_chunks, slots: list) -> dict:
    """Worker -> indices of the row blocks its tasks train, for the workers of ``slots`` only
    (one entry a task: a worker with two tasks gets twice the share of rows).

    A block goes to the worker of the fit that holds it (of several holders, the one with the
    fewest rows so far), so that no data moves; but where that worker would pass its share of
    the rows by ``MOVE_ABOVE`` and another worker of the fit has room for the block, it goes
    there (its task fetches it): every worker of the fit trains, ``n_workers=1`` trains on one
    worker, and the data that a lost worker's blocks were recomputed into on one survivor is
    spread again."""
    workers = list(dict.fromkeys(slots))
    total = float(sum(row_chunks))
    share = {a: total * slots.count(a) / len(slots) for a in workers}
    rows_on = dict.fromkeys(workers, 0)
    by_worker: dict = {}
    for i, k in enumerate(xkeys):
        n = row_chunks[i]
        holders = [a for a in (who.get(k) or []) if a in rows_on]
        light = min(workers, key=lambda a: rows_on[a] / share[a] if share[a] else np.inf)
        best = min(holders, key=lambda a: rows_on[a]) if holders else light
        if best != light and rows_on[best] + n > MOVE_ABOVE * share[best] and rows_on[light] + n <= share[light]:
            best = light
        by_worker.setdefault(best, []).append(i)
        rows_on[best] += n
    return by_worker
