"""Resolving sync_interval="auto": the plan is a pure function of the fit's spec (no cluster)."""

import dask
import numpy as np
import pytest

from dask_asgd._engine.plan import make_plan
from dask_asgd.balance import AdaptivePolicy, FixedPolicy
from dask_asgd.models.kmeans import KMeansSpec
from tests.test_kernels import make_engine_spec, make_spec

PEERS = {0: "tcp://192.0.2.1:4000", 1: "tcp://192.0.2.2:4000"}


def _kmeans(k=4, d=3):
    return KMeansSpec(
        n_clusters=k,
        n_features=d,
        init_centers=np.zeros((k, d)),
        init_counts=None,
        max_iter=5,
        tol=0.0,
        batch_size=128,
        shuffle=True,
        parzen=1,
    )


def _auto(model, **kw):
    return make_engine_spec(model=model, sync_interval=16, auto_interval=True, peers=PEERS, fanout=1, **kw)


def test_random_shards_of_a_linear_model_train_apart():
    plan = make_plan(_auto(make_spec()), random_shards=True, itemsize=8)
    assert not plan.exchange and isinstance(plan.policy, FixedPolicy)
    assert "trained apart" in plan.reason


@pytest.mark.parametrize("why", ["max_time", "dask_input", "kmeans"])
def test_auto_exchanges_where_it_can_pay(why):
    model = _kmeans() if why == "kmeans" else make_spec()
    spec = _auto(model, max_time=5.0) if why == "max_time" else _auto(model)
    plan = make_plan(spec, random_shards=why != "dask_input", itemsize=8)
    assert plan.exchange and plan.spec.auto_interval and isinstance(plan.policy, AdaptivePolicy)
    assert plan.spec.min_publish_period > 0 and plan.spec.n_blocks >= 1


def test_the_random_shards_floor_applies_to_models_that_train_them_apart_only():
    with dask.config.set(
        {
            "dask-asgd.balance.min-publish-period": 0.02,
            "dask-asgd.balance.min-publish-period-random-shards": 0.05,
            "dask-asgd.balance.exchange-random-shards": True,
        }
    ):
        linear = make_plan(_auto(make_spec()), random_shards=True, itemsize=8)
        kmeans = make_plan(_auto(_kmeans()), random_shards=True, itemsize=8)
    assert linear.spec.min_publish_period == pytest.approx(0.05)
    assert kmeans.spec.min_publish_period == pytest.approx(0.02)


def test_fixed_and_no_interval_are_kept():
    fixed = make_plan(make_engine_spec(sync_interval=8, peers=PEERS), random_shards=True, itemsize=8)
    assert fixed.spec.sync_interval == 8 and fixed.policy.decide(0, {}, {})["sync_interval"] == 8
    none = make_plan(make_engine_spec(sync_interval=None, peers=PEERS), random_shards=False, itemsize=8)
    assert not none.exchange and "sync_interval=None" in none.reason


def test_a_large_state_starts_in_blocks_but_centroids_travel_whole():
    # a linear model of 10 outputs x 13,000 features, float64 (about 1 MB), leaves in blocks
    # until the link is measured
    with dask.config.set({"dask-asgd.balance.initial-message-bytes": 262144}):
        plan = make_plan(_auto(make_spec(n_outputs=10, n_features=13_000)), random_shards=False, itemsize=8)
        assert plan.spec.n_blocks == 4
        # a 1000 x 128 K-Means state of the same size: whole states (KMeansSpec.fill_link)
        plan = make_plan(_auto(_kmeans(1000, 128)), random_shards=False, itemsize=8)
        assert plan.spec.n_blocks == 1
        assert plan.policy.decide(0, {"batch_rate": 100.0, "inflight_bytes": 0}, {})["n_blocks"] == 1


def test_centroids_are_published_at_their_own_byte_rate_and_fill_the_link():
    model = _kmeans(1000, 128)
    model.exchange_bytes_per_second = 4e6
    plan = make_plan(_auto(model), random_shards=False, itemsize=8)
    state = (1000 * 128 + 1000) * 8
    assert plan.spec.min_publish_period == pytest.approx(state / 4e6)
    assert plan.policy.fill_link and plan.policy.min_publish_period == pytest.approx(state / 4e6)
    # a slow link measured: the pace stays the floor's (the link takes the newest state when free)
    slow = {"batch_rate": 1000.0, "bytes_sent": 10**6, "send_seconds": 0.8, "coalesced": 3, "backlog_bytes": state}
    assert plan.policy.decide(0, slow, {})["sync_interval"] == int(np.ceil(state / 4e6 * 1000))
    linear = make_plan(_auto(make_spec(n_outputs=10, n_features=13_000)), random_shards=False, itemsize=8)
    assert not linear.policy.fill_link


def test_the_client_side_does_not_import_the_worker_task_loop():
    import subprocess
    import sys

    code = (
        "import sys, dask_asgd; "
        "print(sorted(m for m in sys.modules if m in ('dask_asgd._engine.task', 'dask_asgd._engine.sharing')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
