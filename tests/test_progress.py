"""Watching a fit: the client's progress bar (dask-asgd.progress), and the fit report in a
notebook (FitReport._repr_html_) and as a plot (FitReport.plot)."""

import contextlib
import fcntl
import io
import logging
import os
import re
import struct
import sys
import termios

import dask
import numpy as np
import pytest
from sklearn.datasets import make_blobs, make_classification

from dask_asgd import ASGDClassifier, ASGDKMeans, ASGDRegressor, _progress

BAR = re.compile(r"(\d+\.\d)/(\d+(?:\.\d+)?) epochs")


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(4_000, 10, n_informative=5, random_state=0)
    return X, y


def _fit_writing(est, X, y, progress, stream):
    """Fit with ``dask-asgd.progress`` set, stderr (where the bar writes) going to ``stream``."""
    with dask.config.set({"dask-asgd.progress": progress}), contextlib.redirect_stderr(stream):
        est.fit(X, y)
    return est


def _bars(text):
    """The (epochs done, epochs planned) of every drawing of the bar."""
    return [(float(n), float(total)) for n, total in BAR.findall(text)]


def test_bar_ends_at_the_planned_epochs(module_thread_client, data):
    X, y = data
    out = io.StringIO()
    est = _fit_writing(ASGDClassifier(max_iter=7, tol=None, n_workers=2, random_state=0), X, y, True, out)
    assert est.n_iter_ == 7
    bars = _bars(out.getvalue())
    assert bars and bars[0] == (0.0, 7.0)  # open from the start with progress: true
    assert bars[-1] == (7.0, 7.0)
    last = out.getvalue().rstrip().splitlines()[-1]
    assert "100%" in last and "sent=0" in last and "merged=0" in last  # random shards train apart


def test_bar_follows_the_tasks_of_remote_workers_while_they_train(process_client):
    # max_time: the fit runs for a second whatever the machine's speed; the bar is fed by the
    # reports that the tasks in the worker processes send to the scheduler
    X, y = make_classification(2_000, 10, random_state=0)
    out = io.StringIO()
    est = ASGDRegressor(max_iter=100_000, tol=None, max_time=1.2, n_workers=2, random_state=0)
    _fit_writing(est, X, y.astype(float), True, out)
    bars = _bars(out.getvalue())
    done = est.fit_report_.tasks["n_iter"].mean()
    live = [n for n, total in bars if total == 100_000.0]
    assert any(0.0 < n < done for n in live), bars  # drawn while the tasks trained
    assert live == sorted(live)
    # stopped by max_time: the bar ends full at the epochs run, and says why
    assert bars[-1] == (round(done, 1), pytest.approx(done)), bars
    assert "stopped=max_time" in out.getvalue().splitlines()[-1]


def test_false_writes_nothing(module_thread_client, data):
    X, y = data
    out = io.StringIO()
    _fit_writing(ASGDClassifier(max_iter=3, tol=None, n_workers=2), X, y, False, out)
    assert out.getvalue() == ""


def test_auto_shows_in_a_terminal_only_once_a_fit_runs_a_second(module_thread_client, data):
    X, y = data
    long = {"max_iter": 100_000, "tol": None, "max_time": 1.3, "n_workers": 2}
    # not a terminal (a pipe, a log file, pytest's capture): nothing, however long the fit
    out = io.StringIO()
    _fit_writing(ASGDClassifier(**long), X, y, "auto", out)
    assert out.getvalue() == ""
    # a terminal: nothing for a short fit, the bar for a long one
    controller, terminal = os.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal's size
    try:
        with open(terminal, "w", closefd=False) as tty:
            assert tty.isatty()
            _fit_writing(ASGDClassifier(max_iter=2, tol=None, n_workers=2), X, y, "auto", tty)
            tty.flush()
            assert _read_all(controller) == ""
            _fit_writing(ASGDClassifier(**long), X, y, "auto", tty)
            tty.flush()
            bars = _bars(_read_all(controller))
    finally:
        os.close(controller)
        os.close(terminal)
    assert bars and bars[0][0] > 0.0  # opened a second in, at the epochs done by then


def _read_all(fd) -> str:
    import select

    chunks = []
    while select.select([fd], [], [], 0.05)[0]:
        chunks.append(os.read(fd, 65536))
    return b"".join(chunks).decode()


def test_a_wrong_setting_fails_before_the_fit(data):
    X, y = data
    with dask.config.set({"dask-asgd.progress": "sometimes"}):
        with pytest.raises(ValueError, match="dask-asgd.progress must be 'auto', true or false"):
            ASGDClassifier(max_iter=1).fit(X, y)


def test_the_first_fit_says_once_that_it_compiles(monkeypatch, caplog):
    # no task of the process's first fit has reported a second in: the bar's description and
    # the "dask_asgd" logger say that the kernels are being compiled, the logger once a process
    monkeypatch.setattr(_progress, "_kernels_warm", False)
    monkeypatch.setattr(_progress, "_compiling_said", False)
    out = io.StringIO()
    with contextlib.redirect_stderr(out), caplog.at_level(logging.INFO, logger="dask_asgd"):
        bar = _progress.FitProgress(total_epochs=5, n_tasks=2, mode=True)
        try:
            bar.update({})  # under a second: too early to say
            assert "compiling" not in out.getvalue() and not caplog.records
            bar.started -= _progress.AUTO_AFTER_SECONDS
            bar.update({})
            bar.update({})
            assert "dask-asgd: compiling the kernels" in out.getvalue().splitlines()[-1]
            bar.update({0: {"epochs": 1.0, "sent": 2, "merged": 1}})  # a task has reported
            last = out.getvalue().splitlines()[-1]
            assert "compiling" not in last and "0.5/5 epochs" in last and "sent=2, merged=1" in last
        finally:
            bar.close()
    said = [r for r in caplog.records if "compiles the training kernels" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.INFO
    assert _progress._kernels_warm  # the next fits of the process say nothing
    later = _progress.FitProgress(total_epochs=5, n_tasks=2, mode=False)
    later.started -= _progress.AUTO_AFTER_SECONDS
    later.update({})
    assert not later.compiling


@pytest.fixture(scope="module")
def kmeans_report(module_thread_client):
    # ASGDKMeans's tasks exchange their centroids; blobs split by partition would too, and here
    # every task sees every blob (in-memory rows split at random)
    X, _ = make_blobs(40_000, 8, centers=6, random_state=0)
    est = ASGDKMeans(n_clusters=6, max_iter=10_000, tol=0.0, max_time=0.8, n_workers=2, random_state=0)
    est.fit(X)
    return est.fit_report_


def test_html_report_holds_the_counters_and_the_task_table(kmeans_report):
    rep = kmeans_report
    t = rep.tasks
    assert t["sent"].sum() > 0 and t["merged"].sum() > 0
    page = rep._repr_html_()
    summary = re.search(r'<table class="dask-asgd-summary">(.*?)</table>', page).group(1)
    heads = re.findall(r"<th>(.*?)</th>", summary)
    values = dict(zip(heads, re.findall(r"<td>(.*?)</td>", summary)))
    assert values["tasks"] == "2" and values["lost"] == "0"
    for column in ("sent", "merged", "rejected", "dropped"):
        assert values[column] == f"{int(t[column].sum()):,}"
    assert values["samples/s"] == f"{rep.samples_per_second:,.0f}"
    # the tasks' table, every task and worker in it
    table = page.split("</summary>", 1)[1]
    for task, worker in t["worker"].items():
        assert re.search(rf"<th>{task}</th>\s*<td>{re.escape(worker)}</td>", table)
    assert "stop_reason" in table and "max_time" in table
    # the objective as an inline chart, one line per task
    assert page.count("<polyline") == len(t)


def test_objective_is_each_tasks_per_epoch(kmeans_report):
    rep = kmeans_report
    obj = rep.objective
    assert list(obj.columns) == list(rep.tasks.index) and obj.index.name == "epoch"
    assert obj.index[0] == 1 and len(obj) == rep.tasks["n_iter"].max()
    for task, n in rep.tasks["n_iter"].items():
        assert obj[task].notna().sum() == n
        assert np.all(obj[task].dropna() > 0)  # mean squared distances


def test_plot_draws_the_objective_and_the_exchange(kmeans_report):
    pytest.importorskip("matplotlib", reason="FitReport.plot draws with matplotlib (the bench extra)")
    from matplotlib.figure import Figure

    rep = kmeans_report
    axes = rep.plot(ax=Figure().subplots(1, 3))  # a figure of its own: no pyplot, no backend
    assert len(axes) == 3
    tasks = rep.tasks
    hist = rep.history
    assert not hist.empty  # the fit ran long enough to report
    objective, interval, sent = ([ln.get_label() for ln in a.lines] for a in axes)
    assert objective == [f"task {t}" for t in tasks.index]
    for line, (_, n) in zip(axes[0].lines, tasks["n_iter"].items()):
        np.testing.assert_array_equal(line.get_xdata(), np.arange(1, n + 1))
    reported = sorted(hist["task"].unique())
    assert interval == sent == [f"task {t}" for t in reported]
    for line, task in zip(axes[2].lines, reported):
        mine = hist[hist["task"] == task].sort_values("time")
        np.testing.assert_array_equal(line.get_ydata(), mine["bytes_sent"].to_numpy())
        np.testing.assert_array_equal(axes[1].lines[reported.index(task)].get_ydata(), mine["sync_interval"])
    with pytest.raises(ValueError, match="draws 3 plots; ax holds 2 axes"):
        rep.plot(ax=Figure().subplots(1, 2))


def test_plot_without_ax_makes_a_figure_with_pyplot(kmeans_report):
    pytest.importorskip("matplotlib", reason="FitReport.plot draws with matplotlib (the bench extra)")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    axes = kmeans_report.plot()
    try:
        assert len(axes) == 3 and len({id(a.figure) for a in axes}) == 1
    finally:
        plt.close(axes[0].figure)


def test_plot_says_what_to_install_without_matplotlib(kmeans_report, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    with pytest.raises(ImportError, match="FitReport.plot needs matplotlib: pip install matplotlib"):
        kmeans_report.plot()
