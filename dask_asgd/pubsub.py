"""Topic Pub/Sub between training tasks, delivered straight from worker to worker.

The worker side is ``PubSubWorkerPlugin``: it registers the stream handler on every worker
before any message can arrive, keeps the inboxes (receive slots) of the tasks running there, and
sends states to peers over one stream per peer worker, coalescing per destination so that a newer
state replaces an unsent older one (the send path holds at most one message per destination
task, however slow the link).  The topic registry (which task of a fit lives where) is kept by
the scheduler plugin in ``balance``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict

import numpy as np
from distributed.diagnostics.plugin import WorkerPlugin

from . import _compat, _link

logger = logging.getLogger(__name__)

PLUGIN_NAME = "dask-asgd-pubsub"
STATE_OP = "dask_asgd_state"  # the only message op; never unregistered (a missing handler kills a stream)


class Inbox:
    """The receive slots of one training task.

    Written on the event loop as messages arrive (a newer state from a sender overwrites its
    older unread one: the overwrite is counted), read by the task thread between kernel chunks.
    """

    def __init__(self, n_slots: int):
        self.n_slots = max(1, int(n_slots))
        self._lock = threading.Lock()
        self._slots: list = [None] * self.n_slots
        self.received = 0
        self.overwritten = 0
        self.dropped = 0  # messages for this task that could not be read
        self.bytes_received = 0
        self._replies: dict = {}  # (src, lo, n) -> summed share (merge="pairwise"), never dropped
        self.replies_from: dict = {}  # src -> shares received from it

    def put_reply(self, src: int, lo: int, values: np.ndarray) -> None:
        """merge="pairwise": a receiver's share of what it gained from our state, to subtract.
        Shares for the same block add up (none may be lost: the two states' sum is kept)."""
        key = (src, lo, values.shape[0])
        with self._lock:
            old = self._replies.get(key)
            self._replies[key] = values.copy() if old is None else old + values
            self.bytes_received += values.nbytes
            self.replies_from[src] = self.replies_from.get(src, 0) + 1

    def take_replies(self) -> list:
        """``[(src, lo, values)]`` of the shares received since the last call."""
        with self._lock:
            out = [(k[0], k[1], v) for k, v in self._replies.items()]
            self._replies = {}
        return out

    def put(self, src: int, lo: int, values: np.ndarray, sent_batches: int) -> None:
        s = src % self.n_slots
        with self._lock:
            if self._slots[s] is not None:
                self.overwritten += 1
            self._slots[s] = (lo, values, sent_batches, time.monotonic(), src)
            self.received += 1
            self.bytes_received += values.nbytes

    def take(self) -> list:
        """The unread slots as ``[(slot, lo, values, sent_batches, arrival_time, src)]``; marks them
        read."""
        with self._lock:
            out = [(s,) + v for s, v in enumerate(self._slots) if v is not None]
            self._slots = [None] * self.n_slots
        return out


class _PeerStream:
    """The send path to one peer worker: a coalescing buffer and one writer coroutine."""

    def __init__(self, plugin: PubSubWorkerPlugin, address: str):
        self.plugin = plugin
        self.address = address
        self.comm = None
        self.pending: OrderedDict = OrderedDict()  # (fit, src, dest, tag) -> (msg, nbytes)
        self.pending_bytes = 0
        self.inflight_bytes = 0
        self.inflight_since = 0.0
        self.inflight_key = None
        self.inflight_unacked = 0  # of the write in flight: bytes the peer has not acknowledged
        self.paced = None  # the pacing rate set on the comm's socket (testing's emulated link)
        self.task = None
        self.closed = False

    def push(self, key, msg, nbytes: int) -> bool:
        """Queue ``msg``; returns True when it replaced an unsent older state (coalesced)."""
        replaced = key in self.pending
        if replaced:
            self.pending_bytes -= self.pending.pop(key)[1]
        self.pending[key] = (msg, nbytes)
        self.pending_bytes += nbytes
        self._restart()
        return replaced

    def drop(self, fit: str, src: int) -> None:
        """Forget what task ``src`` of ``fit`` still has to send; abort its write in flight (on a
        slow link an 8 MB state takes seconds, and would compete with the fit's final gather)."""
        for key in [k for k in self.pending if k[:2] == (fit, src)]:
            self.pending_bytes -= self.pending.pop(key)[1]
        if self.inflight_key is not None and self.inflight_key[:2] == (fit, src):
            self._abort()

    def cut(self, fit: str, src: int, max_bytes: int):
        """Abort the write in flight of task ``src`` of ``fit`` if more than ``max_bytes`` of it
        are still to cross the link: the message was sized on a capacity the link no longer has
        (its rate dropped), and the rest of it would hold the link for seconds.  A newer, smaller
        block follows.  Returns None, or the bytes of it the peer acknowledged and the seconds
        it was in flight."""
        key = self.inflight_key
        if key is None or key[:2] != (fit, src) or key[3] != "s" or self.inflight_unacked <= max_bytes:
            return None
        crossed = (max(0, self.inflight_bytes - self.inflight_unacked), time.monotonic() - self.inflight_since)
        self._abort()
        return crossed

    def _abort(self):
        if self.task is None:
            return
        if self.comm is not None:
            self.comm.abort()  # a half-written message: the stream cannot be reused
        self.comm = None
        self.task.cancel()
        self.task.add_done_callback(lambda _: self._restart())

    def _restart(self):
        if self.pending and not self.closed and (self.task is None or self.task.done()):
            self.task = asyncio.ensure_future(self._drain())

    async def _drain(self):
        while self.pending and not self.closed:
            key, (msg, nbytes) = self.pending.popitem(last=False)
            self.pending_bytes -= nbytes
            self.inflight_bytes = nbytes
            self.inflight_key = key
            self.inflight_unacked = 0  # known once the kernel reports it (``_delivered``)
            stats = self.plugin.fit_stats.get(key[:2])
            t0 = self.inflight_since = time.monotonic()
            try:
                if self.comm is None or self.comm.closed():
                    self.comm = await asyncio.wait_for(
                        _compat.open_stream(self.address, self.plugin.worker.connection_args),
                        timeout=self.plugin.connect_timeout,
                    )
                    self.paced = None
                sock = _compat.comm_socket(self.comm)
                if self.plugin.throttle != self.paced and _link.set_pacing_rate(sock, self.plugin.throttle):
                    self.paced = self.plugin.throttle
                await self.comm.write(msg)
                await _compat.drain(self.comm)  # into the kernel's send buffer
                await self._delivered(sock, t0, nbytes)  # ... and across the link
            except Exception as e:  # a lost peer must never break the sender: count and go on
                logger.debug("dask-asgd: send to %s failed: %r", self.address, e)
                self.comm = None
                if stats is not None:
                    stats["send_failures"] += 1
            else:
                if stats is not None:
                    stats["sent"] += 1
                    stats["bytes_sent"] += nbytes
                    stats["send_seconds"] += time.monotonic() - t0
                    if key[3] != "s":  # a pairwise share, written
                        _count_share(stats, key[2])
            finally:
                self.inflight_bytes = self.inflight_unacked = 0
                self.inflight_key = None
                if key not in self.pending:  # nothing newer queued behind it: the path is free
                    self.plugin._queued.discard(key)

    async def _delivered(self, sock, t0: float, nbytes: int) -> None:
        """Wait until the peer's kernel has acknowledged every byte written, so that the write's
        time is the link's and the send buffer never holds more than the message in flight (a
        state queued behind it would wait there, unreplaceable, for the link).  Where the system
        cannot tell (``_link.unacked_bytes`` is None), the write's time stands.  Under
        ``throttle`` (testing) a write also lasts at least its bytes' time at that rate: the
        kernel paces the socket, but lets a burst of a few segments through at once."""
        left = _link.unacked_bytes(sock)
        while left and left > 0 and self.comm is not None and not self.comm.closed():
            self.inflight_unacked = left
            elapsed = time.monotonic() - t0
            done = nbytes - left
            # poll about twice in the time the rest takes at the rate seen so far
            wait = left * elapsed / done / 2 if done > 0 else 0.001
            await asyncio.sleep(min(max(wait, 0.0005), 0.02))
            left = _link.unacked_bytes(sock)
        if self.plugin.throttle:
            await asyncio.sleep(max(0.0, nbytes / self.plugin.throttle - (time.monotonic() - t0)))

    async def close(self):
        self.closed = True
        for key in self.pending:
            self.plugin._queued.discard(key)
        self.pending.clear()
        self.pending_bytes = 0
        if self.comm is not None and not self.comm.closed():
            try:
                await self.comm.close()
            except Exception:
                pass
        self.comm = None


def _new_fit_stats() -> dict:
    return {
        "sent": 0,  # messages written to a peer's stream
        "bytes_sent": 0,  # their payload bytes
        "send_seconds": 0.0,  # time spent in those writes (throughput = bytes / seconds)
        "coalesced": 0,  # unsent states replaced by a newer one (backpressure at work)
        "send_failures": 0,  # writes that failed (peer gone); the message is dropped
        "cut": 0,  # writes aborted because the rest would hold a link that slowed down
        "replies": 0,  # merge="pairwise": shares returned to senders
        "replies_to": {},  # dest task -> shares written to it
    }


def _count_share(stats: dict, dest: int) -> None:
    stats["replies_to"][dest] = stats["replies_to"].get(dest, 0) + 1


def _tag(lo: int, reply: bool):
    return ("r", int(lo)) if reply else "s"


class PubSubWorkerPlugin(WorkerPlugin):
    """Handlers, inboxes and send streams of dask-asgd on one worker.

    The first fit on a cluster registers it on every worker (and on workers that join later):
    it keeps the receive slots of the training tasks that run on its worker, and sends their
    states to peers over one stream per peer worker, a newer state to a destination replacing
    an unsent older one.

    Parameters
    ----------
    connect_timeout : float, default=10.0
        Seconds to wait for a connection to a peer worker; a send that fails is counted and
        dropped.
    throttle : float or None, default=None
        Bytes per second this worker may send, to emulate a slow link in tests. None: no
        limit.
    """

    idempotent = True
    name = PLUGIN_NAME

    def __init__(self, connect_timeout: float = 10.0, throttle=None):
        self.connect_timeout = connect_timeout
        self.throttle = throttle  # bytes/s this worker may send (testing; None: no limit)

    def setup(self, worker):
        self.worker = worker
        self.inboxes: dict = {}  # (fit, task) -> Inbox
        self.peers: dict = {}  # address -> _PeerStream
        self.fit_stats: dict = {}  # (fit, task) -> counters of that task's sends
        # (fit, src, dest, tag) with a message queued or in flight; tag "s" for a state,
        # ("r", lo) for a pairwise share of block lo
        self._queued: set = set()
        _compat.register_stream_handler(worker, STATE_OP, self._handle_state)

    async def teardown(self, worker):
        for peer in list(self.peers.values()):
            await peer.close()
        self.peers.clear()
        self.inboxes.clear()

    # ------------------------------------------------------------------ handlers (event loop)
    def _handle_state(self, fit=None, dest=None, src=None, lo=0, data=None, batches=0, reply=False, **_):
        """A message from a peer into its receiver's inbox, as it came: the receiving task checks
        the block against its state before anything touches the model (``valid_block``).  What
        cannot be read as (sender, offset, array) is dropped and counted."""
        box = None
        try:
            box = self.inboxes.get((fit, dest))
            if box is None:
                return
            values = data.data if hasattr(data, "data") and not isinstance(data, np.ndarray) else data
            if not isinstance(values, np.ndarray):
                raise TypeError(f"a state message holds {type(values).__name__}, not an array")
            if reply:
                box.put_reply(int(src), int(lo), values)
            else:
                box.put(int(src), int(lo), values, int(batches))
        except Exception as e:  # a raising handler would close the stream for good
            if box is not None:
                box.dropped += 1
            logger.warning("dask-asgd: a malformed state message was dropped: %s", e)

    def _publish(self, fit: str, src: int, dests: list, lo: int, values: np.ndarray, batches: int, reply: bool = False):
        stats = self.fit_stats.get((fit, src))
        own = self.worker.address
        tag = _tag(lo, reply)
        if stats is None:
            for task, _ in dests:
                self._queued.discard((fit, src, task, tag))
            return
        if reply:
            stats["replies"] += len(dests)
        for task, address in dests:
            if address == own:
                self._queued.discard((fit, src, task, tag))
                box = self.inboxes.get((fit, task))
                if box is not None:
                    if reply:
                        box.put_reply(src, lo, values)
                        _count_share(stats, task)
                    else:
                        box.put(src, lo, values.copy(), batches)
                    stats["sent"] += 1
                continue
            peer = self.peers.get(address)
            if peer is None or peer.closed:
                peer = self.peers[address] = _PeerStream(self, address)
            key = (fit, src, task, tag)
            vals = values
            if reply and key in peer.pending:  # an unsent share of the same block: add up, never drop
                vals = peer.pending[key][0]["data"].data + values
            msg = {
                "op": STATE_OP,
                "fit": fit,
                "dest": task,
                "src": src,
                "lo": lo,
                "batches": batches,
                "data": _compat.wrap_array(vals),
                "reply": reply,
            }
            if peer.push(key, msg, vals.nbytes) and not reply:
                stats["coalesced"] += 1

    def _subscribe(self, fit: str, task: int, inbox: Inbox):
        self.inboxes[(fit, task)] = inbox
        self.fit_stats[(fit, task)] = _new_fit_stats()

    def _unsubscribe(self, fit: str, task: int):
        self.inboxes.pop((fit, task), None)
        self.fit_stats.pop((fit, task), None)
        for peer in self.peers.values():
            peer.drop(fit, task)
        for key in [k for k in list(self._queued) if k[:2] == (fit, task)]:
            self._queued.discard(key)

    # ------------------------------------------------------------------ methods for the task thread
    def subscribe(self, fit: str, task: int, n_slots: int) -> Inbox:
        inbox = Inbox(n_slots)
        _compat.call_in_loop(self.worker, self._subscribe, fit, task, inbox)
        return inbox

    def unsubscribe(self, fit: str, task: int) -> None:
        _compat.call_in_loop(self.worker, self._unsubscribe, fit, task)

    def publish(self, fit: str, src: int, dests: list, lo: int, values: np.ndarray, batches: int, reply: bool = False):
        """Send ``values`` (a private copy: it is serialized later on the event loop); with
        ``reply``, a pairwise share of block ``lo`` instead of a state."""
        tag = _tag(lo, reply)
        for task, _ in dests:
            self._queued.add((fit, src, task, tag))
        _compat.call_in_loop(self.worker, self._publish, fit, src, list(dests), lo, values, batches, reply)

    def busy(self, fit: str, src: int, dest: int, lo: int = 0, reply: bool = False) -> bool:
        """Whether a state (or the share of block ``lo``) from ``src`` to ``dest`` is still queued
        or being written: a new one published now would only replace it unsent (the task waits
        instead of copying; a share waits and grows)."""
        return (fit, src, dest, _tag(lo, reply)) in self._queued

    def cut(self, fit: str, src: int, max_bytes: int) -> None:
        """Abort a state write of task ``src`` of ``fit`` that still has more than ``max_bytes``
        to cross its link (``_PeerStream.cut``); counted as ``cut``."""
        _compat.call_in_loop(self.worker, self._cut, fit, src, int(max_bytes))

    def _cut(self, fit: str, src: int, max_bytes: int) -> None:
        for peer in list(self.peers.values()):
            crossed = peer.cut(fit, src, max_bytes)
            stats = self.fit_stats.get((fit, src))
            if crossed is not None and stats is not None:
                stats["cut"] += 1
                stats["bytes_sent"] += crossed[0]  # what crossed is measured like a whole write
                stats["send_seconds"] += crossed[1]

    def replies_pending(self, fit: str, src: int) -> bool:
        """Whether a pairwise share from ``src`` is still queued or being written."""
        return any(k[:2] == (fit, src) and k[3] != "s" for k in list(self._queued))

    def backlog(self) -> dict:
        """Per peer address: bytes and messages waiting, and the bytes, seconds so far and bytes
        not yet acknowledged by the peer of the write in flight (read from the task thread; a
        snapshot)."""
        now = time.monotonic()
        out = {}
        for a, p in list(self.peers.items()):
            inflight = p.inflight_bytes
            out[a] = (
                p.pending_bytes + inflight,
                len(p.pending) + (1 if inflight else 0),
                inflight,
                (now - p.inflight_since) if inflight else 0.0,
                p.inflight_unacked if inflight else 0,
            )
        return out

    def stats(self, fit: str, task: int) -> dict:
        """A snapshot of the send counters of one task."""
        st = dict(self.fit_stats.get((fit, task)) or _new_fit_stats())
        st["replies_to"] = dict(st["replies_to"])
        return st
