import pytest
from distributed import Client, LocalCluster


@pytest.fixture(scope="module")
def process_client():
    """A real cluster of 2 worker processes (1 thread each)."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=50) as cluster:
        with Client(cluster) as client:
            yield client


@pytest.fixture
def thread_client():
    """A real in-process cluster of 2 single-thread workers, active as the default client."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                      silence_logs=50) as cluster:
        with Client(cluster) as client:
            yield client
