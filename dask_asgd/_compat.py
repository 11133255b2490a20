"""Every use of another library's private or semi-private API, in one place."""

from __future__ import annotations

import asyncio

from distributed.comm import connect
from distributed.protocol import to_serialize


async def open_stream(address: str, connection_args: dict):
    """A comm to ``address`` whose messages the peer's ``handle_stream`` dispatches by op."""
    comm = await connect(address, **connection_args)
    comm.name = "dask-asgd->worker"
    await comm.write({"op": "connection_stream"})
    return comm


async def drain(comm) -> None:
    """Wait until what was written to ``comm`` has left the process (into the kernel's socket
    buffer).  distributed's TCP ``write`` only queues the frames in tornado's user-space buffer
    and returns: without this, a slow link lets that buffer grow without bound and every write
    looks instantaneous.  In-process comms have no stream: nothing to wait for."""
    stream = getattr(comm, "stream", None)
    if stream is not None:
        await stream.write(b"")


def add_dashboard_page(scheduler, route: str, make_doc) -> bool:
    """Serve the Bokeh document ``make_doc(doc)`` at ``route`` of ``scheduler``'s dashboard, as
    ``distributed.dashboard.scheduler.connect`` serves its own pages: one more Bokeh application
    on the scheduler's HTTP application, under the dashboard's prefix.  Returns False where the
    scheduler serves no dashboard; raises ImportError without a bokeh the dashboard takes."""
    from distributed.dashboard.core import BokehApplication, DaskBokehTornado
    from tornado.ioloop import IOLoop

    http = getattr(scheduler, "http_application", None)
    dashboards = [a for a in getattr(http, "applications", []) if isinstance(a, DaskBokehTornado)]
    if not dashboards:
        return False
    app = BokehApplication({route: lambda server, extra, doc: make_doc(doc)}, scheduler, prefix=dashboards[0].prefix)
    http.add_application(app)
    app.initialize(IOLoop.current())
    return True


def local_result(worker, future):
    """``future``'s value, taken from ``worker``'s own memory where it was computed there (a
    result gathered through the worker's client would cross a connection to the worker itself:
    a copy and a serialization of every block); else gathered."""
    future.result()  # waits, and raises the computation's error
    data = getattr(worker, "data", None)
    try:
        return data[future.key]
    except (KeyError, TypeError):
        return future.result()


def comm_socket(comm):
    """The socket under a distributed TCP or TLS comm (its tornado stream's); None for other
    comms (in-process)."""
    stream = getattr(comm, "stream", None)
    return getattr(stream, "socket", None) if stream is not None else None


def wrap_array(a):
    """Mark an array for zero-copy serialization inside a message."""
    return to_serialize(a)


def register_stream_handler(worker, op: str, handler) -> None:
    worker.stream_handlers[op] = handler


def register_scheduler_handler(scheduler, op: str, handler) -> None:
    scheduler.handlers[op] = handler


def scheduler_call(worker, op: str, **kwargs):
    """Coroutine: call handler ``op`` on the scheduler over the worker's pooled rpc."""
    return getattr(worker.scheduler, op)(**kwargs)


def run_in_loop(worker, coro):
    """Schedule ``coro`` on the worker's event loop from a task thread; a concurrent future."""
    return asyncio.run_coroutine_threadsafe(coro, worker.loop.asyncio_loop)


def flush_to_scheduler(client) -> None:
    """Send what the client's batched stream to the scheduler holds now, not at the end of its
    interval.  ``client.compute`` / ``submit`` / ``persist`` put their graph on that stream, which
    sends at most once every 10 ms: a fit that follows another one (grid searches, ``partial_fit``
    loops) found the previous fit's release of its results still holding the stream and waited up
    to 10 ms before the scheduler saw its tasks (back-to-back flights fits: the first task started
    8.5-9.6 ms after the submit, 2.5-3.3 ms with this; docs/design.md, "The graph leaves at once").
    A no-op where the stream's internals differ."""
    bs = getattr(client, "scheduler_comm", None)
    if bs is None or not all(hasattr(bs, a) for a in ("buffer", "next_deadline", "waker")):
        return

    def flush():
        if bs.buffer:
            bs.next_deadline = None
            bs.waker.set()

    try:
        client.loop.add_callback(flush)  # after the send it follows: the loop runs callbacks in order
    except RuntimeError:  # the loop is closing: nothing left to hurry
        pass


def call_in_loop(worker, fn, *args) -> None:
    """Run the plain function ``fn(*args)`` on the worker's event loop, soon."""
    worker.loop.add_callback(fn, *args)


# scikit-learn private helpers, used for parameter validation and sample weights
from sklearn.utils._param_validation import Interval, StrOptions  # noqa: E402,F401
from sklearn.utils.validation import _check_sample_weight  # noqa: E402,F401
