import contextlib

import pytest
from distributed import Client, LocalCluster


@contextlib.contextmanager
def _two_workers(processes):
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=processes, dashboard_address=None, silence_logs=50
    ) as cluster:
        with Client(cluster) as client:
            yield client


@pytest.fixture(scope="module")
def process_client():
    """A real cluster of 2 worker processes (1 thread each)."""
    with _two_workers(processes=True) as client:
        yield client


@pytest.fixture
def thread_client():
    """A real in-process cluster of 2 single-thread workers, active as the default client."""
    with _two_workers(processes=False) as client:
        yield client


@pytest.fixture(scope="module")
def module_thread_client():
    """The same, shared by a whole module."""
    with _two_workers(processes=False) as client:
        yield client


@pytest.fixture(autouse=True)
def _close_own_cluster():
    """A fit without a Client keeps its own in-process cluster for the next fit; no test leaves
    one behind for the tests after it."""
    yield
    import dask_asgd

    dask_asgd.close_own_cluster()
