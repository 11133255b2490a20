"""The examples run as a user runs them (a fresh interpreter each) and print what they promise."""

import os
import subprocess
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def _run(name, with_stderr=False):
    out = subprocess.run([sys.executable, os.path.join(EXAMPLES, name)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return (out.stdout, out.stderr) if with_stderr else out.stdout


def test_quickstart():
    out, err = _run("quickstart.py", with_stderr=True)
    assert "dask-asgd ASGDClassifier, 2 workers: test accuracy" in out
    assert "FitReport(" in out
    assert "the same fit again, on the cluster kept from the first" in out
    # the kept cluster is closed at exit without a word
    assert "Traceback" not in err and "Error" not in err, err[-3000:]


@pytest.mark.filterwarnings("ignore")
def test_dask_collections_example_warns_in_order_and_not_shuffled():
    lines = _run("dask_collections.py").splitlines()
    in_order = [ln for ln in lines if ln.startswith("in order")]
    shuffled = [ln for ln in lines if ln.startswith("shuffled")]
    assert len(in_order) == 2 and all(ln.endswith("warned") for ln in in_order), lines
    assert len(shuffled) == 2 and not any(ln.endswith("warned") for ln in shuffled), lines
    assert any("very different class mixes" in ln for ln in lines)


def test_grid_search_example_runs_both_searches():
    lines = _run("grid_search.py").splitlines()
    ours = [ln for ln in lines if ln.startswith("dask-asgd, 2 workers: 19 fits")]
    theirs = [ln for ln in lines if ln.startswith("scikit-learn SGDClassifier: 19 fits")]
    assert len(ours) == 1 and len(theirs) == 1, lines
    # both find a model well above the 3-class chance rate on the held-out rows
    for ln in ours + theirs:
        assert float(ln.rsplit("held-out accuracy ", 1)[1]) > 0.6, ln
    assert any(ln.startswith("dask-asgd's search took") for ln in lines)
