"""The exchange on the Dask dashboard: a Bokeh page at ``/individual-asgd``.

The scheduler plugin (``balance``) adds the page to the scheduler's dashboard when it starts,
where the scheduler serves one (bokeh installed, a dashboard address).  The page shows the
newest fit, one line a task, from the reports the plugin keeps: the sync interval and the blocks
per state in force, the link capacity the task's peers acknowledged, the bytes waiting for the
links, and the states merged and rejected by the Parzen test.  It reads the plugin's records on
the scheduler's event loop every half second; nothing is computed for it between visits.
"""

from __future__ import annotations

import math

from . import _compat

ROUTE = "/individual-asgd"
PERIOD_MS = 500
# (figure name, title, y axis, log scale, [(report field, scale, line dash)])
FIGURES = (
    ("asgd-interval", "Sync interval in force", "mini-batches", True, [("next_sync_interval", 1.0, "solid")]),
    ("asgd-blocks", "Blocks per state", "blocks", True, [("next_n_blocks", 1.0, "solid")]),
    ("asgd-capacity", "Link capacity (acknowledged)", "MB/s", True, [("capacity", 1e-6, "solid")]),
    ("asgd-backlog", "Bytes waiting for the links", "MB", False, [("backlog_bytes", 1e-6, "solid")]),
    (
        "asgd-merges",
        "States merged (solid) and rejected (dashed)",
        "states",
        False,
        [("merged", 1.0, "solid"), ("rejected", 1.0, "dashed")],
    ),
)
FIELDS = tuple(field for *_, series in FIGURES for field, _, _ in series)


def register(scheduler, plugin) -> bool:
    """Serve the page of ``plugin``'s fits on ``scheduler``'s dashboard; whether it could."""
    try:
        return _compat.add_dashboard_page(scheduler, ROUTE, lambda doc: exchange_doc(plugin, doc))
    except ImportError:  # no bokeh, or one distributed's dashboard does not take
        return False


def _value(report, field, scale):
    v = report.get(field)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return math.nan
    return float(v) * scale


def exchange_doc(plugin, doc) -> None:
    """Fill the Bokeh document ``doc`` of one visit to the page."""
    from bokeh.layouts import column, gridplot
    from bokeh.models import ColumnDataSource, Div
    from bokeh.palettes import Category10_10
    from bokeh.plotting import figure

    header = Div(text="dask-asgd: no fit yet", name="asgd-header")
    figures = {}
    for name, title, axis, log, _ in FIGURES:
        f = figure(
            name=name,
            title=title,
            height=230,
            width=460,
            y_axis_type="log" if log else "linear",
            x_axis_label="seconds since the fit started",
            y_axis_label=axis,
            tools="pan,wheel_zoom,box_zoom,reset,hover",
        )
        figures[name] = f
    shown = {"fit": None, "sources": {}, "last": -1.0}  # the reports up to "last" are on the page

    def add_task(task):
        columns = {"time": []} | {field: [] for field in FIELDS}
        source = ColumnDataSource(columns, name=f"asgd-task-{task}")
        color = Category10_10[len(shown["sources"]) % 10]
        for name, _, _, _, series in FIGURES:
            for field, _, dash in series:
                kwargs = {"legend_label": f"task {task}"} if dash == "solid" else {}
                figures[name].line("time", field, source=source, color=color, line_dash=dash, **kwargs)
        for f in figures.values():
            f.legend.location, f.legend.click_policy = "top_left", "hide"
        shown["sources"][task] = source
        return source

    def update():
        if not plugin.fits:
            if shown["fit"] is not None:
                header.text = f"dask-asgd: fit {shown['fit']} has ended"
            return
        fit, rec = max(plugin.fits.items(), key=lambda kv: kv[1].started)
        if fit != shown["fit"]:  # a new fit: its own lines
            for f in figures.values():
                f.renderers = []
                if f.legend:
                    f.legend.items = []
            shown.update(fit=fit, sources={}, last=-1.0)
        new: dict = {}
        for report in reversed(rec.history):  # kept in the order they came: newest first, down to the page's
            if report["time"] <= shown["last"]:
                break
            new.setdefault(report["task"], []).append(report)
        for task, reports in sorted(new.items()):
            reports.reverse()
            source = shown["sources"].get(task) or add_task(task)
            data = {"time": [r["time"] for r in reports]}
            for _, _, _, _, series in FIGURES:
                for field, scale, _ in series:
                    data[field] = [_value(r, field, scale) for r in reports]
            source.stream(data, rollover=20_000)
            shown["last"] = max(shown["last"], reports[-1]["time"])
        header.text = (
            f"dask-asgd: fit {fit}, {len(rec.workers)} tasks, {len(rec.lost)} lost, {len(rec.history)} reports"
        )

    update()
    doc.add_periodic_callback(update, PERIOD_MS)
    doc.title = "dask-asgd: the exchange"
    grid = gridplot([list(figures.values())[i : i + 2] for i in range(0, len(figures), 2)])
    doc.add_root(column(header, grid, name="asgd-page"))
