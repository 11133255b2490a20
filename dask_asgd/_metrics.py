"""The exchange's live metrics on the scheduler's Prometheus endpoint (``/metrics``).

distributed serves ``/metrics`` on the scheduler's HTTP server (the dashboard's port) from
``prometheus_client``'s default registry.  The scheduler plugin (``balance``) adds one collector
to it that reads the newest report of every running fit's tasks when the endpoint is scraped:
no extra service, no port of its own, nothing computed between scrapes.  Without
``prometheus_client`` installed, distributed serves no ``/metrics`` and nothing is registered.
"""

from __future__ import annotations

import math
import weakref

# (metric name, field of a task's report, help, counter?)
SERIES = (
    ("dask_asgd_sync_interval", "next_sync_interval", "Mini-batches between two publishes, as decided", False),
    ("dask_asgd_blocks", "next_n_blocks", "Blocks a task's state is split into, one per message", False),
    (
        "dask_asgd_capacity_bytes_per_second",
        "capacity",
        "Link capacity the task's peers acknowledged, bytes/s (NaN: not measured yet)",
        False,
    ),
    ("dask_asgd_backlog_bytes", "backlog_bytes", "Bytes waiting for the task's worker's links or on them", False),
    ("dask_asgd_batch_rate", "batch_rate", "Mini-batches trained per second", False),
    ("dask_asgd_epochs", "epochs", "Epochs done", False),
    ("dask_asgd_sent_bytes", "bytes_sent", "State bytes sent to peers", True),
    ("dask_asgd_sent_messages", "sent", "State messages sent to peers", True),
    ("dask_asgd_received_messages", "received", "State messages received from peers", True),
    ("dask_asgd_merged", "merged", "Received states the Parzen test accepted and merged", True),
    ("dask_asgd_rejected", "rejected", "Received states the Parzen test rejected", True),
    ("dask_asgd_cut_writes", "cut", "Writes aborted because the link slowed down under them", True),
)
LABELS = ("fit", "task", "worker")

_plugins: weakref.WeakSet = weakref.WeakSet()
_registered = False


def register(plugin) -> bool:
    """Serve the fits of scheduler plugin ``plugin`` on ``/metrics``; whether it can be."""
    global _registered
    _plugins.add(plugin)
    if _registered:
        return True
    try:
        from prometheus_client import REGISTRY
    except ImportError:
        return False
    REGISTRY.register(ExchangeCollector())
    _registered = True
    return True


class ExchangeCollector:
    """A ``prometheus_client`` collector of every running fit's newest task reports."""

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        fits = GaugeMetricFamily("dask_asgd_fits", "dask-asgd fits running on this scheduler")
        families = [
            (field, (CounterMetricFamily if counter else GaugeMetricFamily)(name, text, labels=LABELS))
            for name, field, text, counter in SERIES
        ]
        running = 0
        for plugin in list(_plugins):
            for fit, rec in list(plugin.fits.items()):
                running += 1
                for task, report in list(rec.latest.items()):
                    labels = [str(fit), str(task), str(report.get("worker") or "")]
                    for field, family in families:
                        value = report.get(field)
                        if value is not None and not (isinstance(value, float) and math.isnan(value)):
                            family.add_metric(labels, float(value))
        fits.add_metric([], running)
        yield fits
        for _, family in families:
            yield family
