"""What the client shows while a fit runs: a progress bar fed by the tasks' metric reports, and
the word, once a process, that the first fit compiles the training kernels.

The tasks report to the scheduler plugin every ``dask-asgd.report-interval`` seconds
(``TaskMetrics``); the client's watch loop (``_fit._watch``) polls the plugin for the newest
report of each task (``BalanceSchedulerPlugin.fit_status``), so the bar works the same for
workers in this process and on other machines.
"""

from __future__ import annotations

import logging
import sys
import time

from . import config

logger = logging.getLogger("dask_asgd")

# "auto" shows the bar once a fit has run this long: shorter fits (most of a test suite, the
# fits of a grid search on small data) print nothing
AUTO_AFTER_SECONDS = 1.0
# seconds between two polls of the scheduler plugin while the bar is shown (the tasks report
# every 0.25 s); without a bar the watch loop polls once a second
SHOWN_POLL_SECONDS = 0.5

BAR_FORMAT = "{l_bar}{bar}| {n:.1f}/{total:g} epochs [{elapsed}<{remaining}{postfix}]"
DESCRIPTION = "dask-asgd"
COMPILING = "dask-asgd: compiling the kernels"

_kernels_warm = False  # a fit of this process has had a task report: the workers' kernels are compiled
_compiling_said = False


def progress_mode():
    """``dask-asgd.progress``: ``"auto"``, True or False (YAML's and Python's booleans, or the
    strings "true" / "false")."""
    value = config.get("progress")
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("auto", "true", "false"):
            return text if text == "auto" else text == "true"
    elif isinstance(value, bool):
        return value
    raise ValueError(f"dask-asgd.progress must be 'auto', true or false, got {value!r}")


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (the test ``tqdm.auto`` makes for its widget).
    IPython is not imported for it: a kernel has imported it already."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:
        return False
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def interactive() -> bool:
    """Whether someone is watching the output: stderr a terminal, or a Jupyter notebook.  Not
    under pytest, a pipe or a log file (stderr is not a terminal there)."""
    if in_notebook():
        return True
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # replaced by an object without it, or closed
        return False


class FitProgress:
    """The progress bar of one fit: the tasks' mean epoch out of ``max_iter``, and the states
    sent and merged so far in its postfix.

    ``mode``: ``dask-asgd.progress`` (read when None).  With True the bar opens at once; with
    "auto", at the first poll after ``AUTO_AFTER_SECONDS`` if the output is watched
    (``interactive``); with False never.  ``close`` must be called whatever happens (the watch
    loop calls it in a ``finally``).
    """

    def __init__(self, total_epochs: int, n_tasks: int, mode=None):
        self.mode = progress_mode() if mode is None else mode
        self.total = max(1, int(total_epochs))
        self.n_tasks = max(1, int(n_tasks))
        self.started = time.monotonic()
        self.wanted = self.mode is True or (self.mode == "auto" and interactive())
        self.bar = None
        self.compiling = False
        if self.mode is True:
            self._open()

    @property
    def poll_seconds(self) -> float:
        """Seconds between two polls of the scheduler plugin."""
        return SHOWN_POLL_SECONDS if self.wanted else 1.0

    def _open(self) -> None:
        from tqdm.auto import tqdm  # a widget in a notebook, a line of text in a terminal

        late = time.monotonic() - self.started
        # "auto" opens the bar a second in: it is drawn (by ``_show``) once its clock has been
        # set back to the fit's start. A ``delay`` keeps tqdm from drawing it at construction (at
        # 00:00); half of ``late``, so that with the clock set back it has passed: the later
        # draws, and the last one at ``close``, are not held back
        delay = 0.5 * late if self.mode == "auto" else 0
        self.bar = tqdm(total=self.total, desc=DESCRIPTION, bar_format=BAR_FORMAT, leave=True, delay=delay)
        self.bar.start_t -= late

    def update(self, progress: dict) -> None:
        """A poll's answer: ``progress`` holds the newest report of each task that has reported
        (``BalanceSchedulerPlugin.fit_status``)."""
        global _kernels_warm
        _kernels_warm = _kernels_warm or bool(progress)
        late = time.monotonic() - self.started >= AUTO_AFTER_SECONDS
        # no task of the process's first fit has reported a second in: they are compiling the
        # numba kernels (or loading them from numba's cache) on the workers
        self.compiling = late and not _kernels_warm
        if self.compiling:
            _say_compiling()
        if self.bar is None:
            if not (self.wanted and late):
                return
            self._open()
        self.bar.set_description_str(COMPILING if self.compiling else DESCRIPTION, refresh=False)
        # tasks started while the fit runs (``_elastic``) count in the average too
        epochs = sum(float(p.get("epochs", 0.0)) for p in progress.values()) / max(self.n_tasks, len(progress))
        self._show(min(epochs, self.total), progress.values())

    def _show(self, epochs: float, reports, **more) -> None:
        reports = list(reports)
        self.bar.n = epochs
        postfix = {
            "sent": sum(int(p.get("sent", 0)) for p in reports),
            "merged": sum(int(p.get("merged", 0)) for p in reports),
            **more,
        }
        self.bar.set_postfix(postfix, refresh=False)  # in this order (keywords would be sorted)
        self.bar.refresh()

    def finish(self, results) -> None:
        """The fit ended: the bar shows the tasks' own counts (``TaskResult``).  A fit whose
        tasks stopped before ``max_iter`` (``tol``, ``max_time``) ends its bar where they
        stopped, as its new total, with their reason in the postfix (a bar left short of its
        total reads as a failure: a notebook's turns red)."""
        global _kernels_warm
        _kernels_warm = _kernels_warm or bool(results)
        if self.bar is None or not results:
            return
        self.bar.set_description_str(DESCRIPTION, refresh=False)
        epochs = sum(r.n_iter for r in results) / len(results)
        if epochs < self.total:
            if hasattr(self.bar, "container"):  # a notebook's widget takes its new length from reset alone
                started = self.bar.start_t
                self.bar.reset(total=epochs)
                self.bar.start_t = started
            else:  # (a text bar's reset would draw it empty first)
                self.bar.total = epochs
        reasons = sorted({r.stop_reason for r in results} - {"max_iter"})
        more = {"stopped": "/".join(reasons)} if reasons else {}
        self._show(epochs, [{"sent": r.sent, "merged": r.merged} for r in results], **more)

    def close(self) -> None:
        """Close the bar (if open): after the fit, a failure or an interrupt alike."""
        if self.bar is not None:
            bar, self.bar = self.bar, None
            bar.close()


def _say_compiling() -> None:
    """Say once a process that the first fit compiles the kernels."""
    global _compiling_said
    if _compiling_said:
        return
    _compiling_said = True
    # scikit-learn's estimators say nothing unless asked (verbose=), and a warning is for
    # something the user should change, which this is not (and test suites that turn warnings
    # into errors would fail on it).  So the word goes to the "dask_asgd" logger at INFO, shown
    # where the application configures logging, and into the progress bar's description where
    # a bar is shown: there, someone is watching the fit and waiting on it.
    logger.info(
        "dask-asgd: the first fit of this process compiles the training kernels on the workers "
        "(numba: seconds, once per worker process; numba's on-disk cache makes it faster in later processes)"
    )
