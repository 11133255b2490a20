"""The interval control law on synthetic metric streams, and on a real cluster with a throttled link."""

import threading
import time
import urllib.request
from types import SimpleNamespace

import dask
import numpy as np
import pytest
from distributed import Client, LocalCluster

from dask_asgd import ASGDClassifier
from dask_asgd.balance import AdaptivePolicy, FixedPolicy

STATE = 8_000_000  # bytes: 10 classes x 100,000 features, float64
Sample0 = SimpleNamespace(value=0)


class Link:
    """A synthetic worker: publishes as the policy says, sends at ``rate`` bytes/s."""

    def __init__(self, policy, task=0, batch_rate=1000.0):
        self.policy, self.task, self.batch_rate = policy, task, batch_rate
        self.m = {
            "bytes_sent": 0,
            "send_seconds": 0.0,
            "coalesced": 0,
            "backlog_bytes": 0,
            "inflight_seconds": 0.0,
            "inflight_bytes": 0,
            "batch_rate": batch_rate,
        }
        self.decision = policy.decide(task, {}, {})

    def step(self, rate, dt=0.25):
        """One report period: the publishes the interval asks for, over a link of ``rate`` B/s."""
        msg = STATE / self.decision["n_blocks"]
        wanted = dt * self.batch_rate / self.decision["sync_interval"]  # publishes this period
        can = rate * dt / msg  # messages the link carries in dt
        sent = min(wanted, can)
        self.m["bytes_sent"] += int(sent * msg)
        self.m["send_seconds"] += sent * msg / rate
        self.m["coalesced"] += int(max(0.0, wanted - can))
        self.m["backlog_bytes"] = msg if wanted > can else 0
        self.decision = self.policy.decide(self.task, dict(self.m), self.decision)
        return self.decision


def _policy(**kw):
    # a floor of 5 ms (the default is 20 ms): on the fast links of these tests the law itself, not
    # the floor, sets the publish rate
    kw.setdefault("min_publish_period", 0.005)
    return AdaptivePolicy(STATE, **kw)


def test_first_decision_is_a_slow_start():
    # before any measurement: the initial interval, and messages of at most 1 MB
    assert _policy(initial_interval=16).decide(0, {}, {}) == {"sync_interval": 16, "n_blocks": 8}
    small = AdaptivePolicy(80_000, initial_interval=16)
    assert small.decide(0, {}, {}) == {"sync_interval": 16, "n_blocks": 1}


def test_a_write_stuck_in_flight_splits_the_state_before_it_ends():
    p = _policy()
    d = p.decide(0, {}, {})
    # nothing has completed yet, but a 1 MB write has been on the wire for 0.5 s: <= 2 MB/s
    m = {
        "bytes_sent": 0,
        "send_seconds": 0.0,
        "coalesced": 0,
        "backlog_bytes": 1_000_000,
        "inflight_seconds": 0.5,
        "inflight_bytes": 1_000_000,
        "batch_rate": 1000.0,
    }
    d = p.decide(0, m, d)
    assert d["n_blocks"] == 64  # 8 MB / (2 MB/s * 0.05 s) = 80 -> capped at max_blocks
    assert d["sync_interval"] > 16


def test_slowing_link_raises_the_interval():
    link = Link(_policy())
    for _ in range(20):
        fast = link.step(rate=1e9)  # ~1 GB/s
    for _ in range(20):
        slow = link.step(rate=1.25e6)  # 10 Mbit/s
    assert slow["sync_interval"] > 10 * fast["sync_interval"]


def _bytes_per_second(d, batch_rate=1000.0):
    return STATE / d["n_blocks"] * batch_rate / d["sync_interval"]


def test_freed_link_raises_the_publish_rate_again():
    link = Link(_policy())
    for _ in range(20):
        slow = link.step(rate=1.25e6)
    for _ in range(40):
        freed = link.step(rate=1.25e8)
    # larger messages (fewer blocks), and far more bytes per second offered to the link
    assert freed["n_blocks"] < slow["n_blocks"]
    assert _bytes_per_second(freed) > 30 * _bytes_per_second(slow)
    assert freed["sync_interval"] < slow["sync_interval"]


def test_bounds_are_respected():
    link = Link(_policy(min_interval=4, max_interval=512, max_blocks=8))
    for rate in [1e10] * 10 + [1e3] * 30:
        d = link.step(rate=rate)
        assert 4 <= d["sync_interval"] <= 512
        assert 1 <= d["n_blocks"] <= 8
    assert d["sync_interval"] == 512 and d["n_blocks"] == 8


def test_large_state_on_a_slow_link_is_split_in_blocks():
    link = Link(_policy(max_message_seconds=0.05))
    for _ in range(10):
        d = link.step(rate=1.25e7)  # 100 Mbit/s: 8 MB takes 0.64 s
    assert d["n_blocks"] == 16  # smallest power of two with 8 MB / k <= 0.05 s * 12.5 MB/s
    for _ in range(10):
        d = link.step(rate=1e10)
    assert d["n_blocks"] == 1


def test_utilization_target_is_met_in_steady_state():
    # at steady state the law publishes fanout * msg / (u * C) apart
    link = Link(_policy(utilization=0.5, min_publish_period=0.0), batch_rate=2000.0)
    for _ in range(40):
        d = link.step(rate=1.25e8)
    msg = STATE / d["n_blocks"]
    period = d["sync_interval"] / 2000.0
    assert period == pytest.approx(msg / (0.5 * 1.25e8), rel=0.05)


def test_backlog_doubles_the_period():
    p = _policy(min_publish_period=0.0)
    base = {"bytes_sent": 10_000_000, "send_seconds": 0.01, "coalesced": 0, "backlog_bytes": 0, "batch_rate": 1000.0}
    d1 = p.decide(0, base, {"n_blocks": 1})
    grown = dict(base, bytes_sent=20_000_000, send_seconds=0.02, coalesced=5, backlog_bytes=STATE * 2)
    d2 = p.decide(0, grown, d1)
    assert d2["sync_interval"] >= 2 * d1["sync_interval"] - 1


def test_whole_states_keep_a_slow_link_busy_at_the_floors_pace():
    # fill_link: whole states every min_publish_period, whatever the link; on a link slower than
    # that pace the newest state waits and replaces the one before (coalesced) and the link is
    # never idle, where the default law keeps it busy half the time (utilization 0.5)
    filled, halved = Link(AdaptivePolicy(STATE, min_publish_period=2.0, fill_link=True)), Link(_policy())
    for rate in [1.25e6] * 30 + [1e9] * 10 + [1.25e6] * 10:
        d = filled.step(rate=rate)
        assert d["n_blocks"] == 1 and d["sync_interval"] == 2000  # 2 s at 1,000 mini-batches a second
        offered, carried = STATE * 1000.0 / d["sync_interval"], rate
        assert offered >= min(carried, STATE / 2.0)
    assert filled.m["coalesced"] > 0  # the link's pace set the sends
    for _ in range(30):
        h = halved.step(rate=1.25e6)
    assert _bytes_per_second(h) <= 0.55 * 1.25e6


def test_fixed_policy_keeps_its_setting():
    assert FixedPolicy(7, 2).decide(0, {"backlog_bytes": 1e12}, {}) == {"sync_interval": 7, "n_blocks": 2}


def _fit_with_throttle(client, throttled, rate):
    from sklearn.datasets import make_classification

    X, y = make_classification(6000, 2000, n_informative=20, n_classes=4, random_state=0)
    est = ASGDClassifier(max_iter=100000, tol=None, max_time=3.0, random_state=0)
    est.fit(X[:100], y[:100])  # registers the plugins on the cluster
    if throttled is not None:
        client.run(
            lambda dask_worker: setattr(dask_worker.plugins["dask-asgd-pubsub"], "throttle", rate), workers=[throttled]
        )
    # the law under test, not the floors "auto" keeps (20 ms, and 50 ms for in-memory input
    # split at random), which would hold the unthrottled worker's interval up
    with dask.config.set(
        {"dask-asgd.balance.min-publish-period-random-shards": 0.005, "dask-asgd.balance.min-publish-period": 0.005}
    ):
        est.fit(X, y)
    return est.fit_report_.history


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_throttled_worker_gets_a_larger_interval():
    # a real in-process cluster; one worker's sends limited to 200 kB/s inside the process
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None, silence_logs=50
        ) as cluster,
        Client(cluster) as client,
    ):
        slow = sorted(client.nthreads())[0]
        h = _fit_with_throttle(client, slow, 200_000)
        late = h[h["time"] > 1.5]
        by_worker = late.groupby("worker")["sync_interval"].median()
        fast = [w for w in by_worker.index if w != slow][0]
        assert by_worker[slow] > 4 * by_worker[fast], by_worker
        # the state (4 x 2001 x 8 bytes = 64 kB) is bigger than 0.05 s of 200 kB/s: split
        assert late[late["worker"] == slow]["n_blocks"].max() > 1
        assert {"time", "worker", "sync_interval", "message_fraction", "backlog_bytes"} <= set(h.columns)
        # the capacity the slow worker's link delivered: within 2x of its 200 kB/s
        assert 100_000 <= late[late["worker"] == slow]["capacity"].median() <= 400_000, late


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_busy_send_path_defers_the_publish_instead_of_copying():
    # both workers' sends limited to 100 kB/s in the process; a 64 kB state every mini-batch
    # (sync_interval=1) would be replaced unsent thousands of times: the tasks wait instead
    from sklearn.datasets import make_classification

    X, y = make_classification(6000, 2000, n_informative=20, n_classes=4, random_state=0)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None, silence_logs=50
        ) as cluster,
        Client(cluster) as client,
    ):
        ASGDClassifier(max_iter=1).fit(X[:100], y[:100])  # registers the plugins
        client.run(lambda dask_worker: setattr(dask_worker.plugins["dask-asgd-pubsub"], "throttle", 100_000))
        est = ASGDClassifier(max_iter=100000, tol=None, max_time=1.5, sync_interval=1, random_state=0).fit(X, y)
        t = est.fit_report_.tasks
        assert (t["deferred"] > 50).all(), t
        assert (t["sent"] >= 1).all() and (t["received"] >= 1).all(), t
        # about 1.5 s x 100 kB/s / 64 kB per task: the link's worth, not one per mini-batch
        assert (t["sent"] <= 6).all() and (t["n_batches"] > 20 * t["sent"]).all(), t
        stats = client.run(lambda dask_worker: len(dask_worker.plugins["dask-asgd-pubsub"]._queued))
        assert set(stats.values()) == {0}  # nothing left marked busy after the fit


def test_publish_floor_shares_each_process_message_budget():
    """The tasks of one worker process (one interpreter lock, one event loop) share a budget of
    messages per second: 16 in-process tasks publish 8x less often than 2, tasks in their own
    processes keep the fixed floor."""
    import dask

    from dask_asgd._engine.plan import publish_floor, tasks_per_process
    from tests.test_kernels import make_engine_spec

    inproc = {i: f"inproc://192.0.2.2/4242/{2 * i}" for i in range(16)}
    tcp = {i: f"tcp://10.0.0.{i}:4000" for i in range(16)}
    assert tasks_per_process(inproc) == 16
    assert tasks_per_process(tcp) == 1
    assert tasks_per_process({0: "tcp://a:1", 1: "tcp://a:1", 2: "tcp://b:1"}) == 2  # two threads of a worker
    with dask.config.set(
        {"dask-asgd.balance.min-publish-period": 0.005, "dask-asgd.balance.max-messages-per-second-per-process": 400}
    ):
        two = publish_floor(make_engine_spec(peers=dict(list(inproc.items())[:2])), 8)
        many = publish_floor(make_engine_spec(peers=inproc), 8)
        apart = publish_floor(make_engine_spec(peers=tcp), 8)
    assert two == pytest.approx(0.005)
    assert many == pytest.approx(16 / 400)
    assert apart == pytest.approx(0.005)


def test_batches_to_publish_waits_for_the_publish_clock():
    from dask_asgd._engine.task import batches_to_publish

    # the interval's count alone, with no clock or no measurement yet
    assert batches_to_publish(40, 1e-5, 0.0) == 40
    assert batches_to_publish(40, None, 0.05) == 40
    assert batches_to_publish(0, 1e-5, 0.0) == 1  # due: one mini-batch, then the publish
    # the clock asks for more: 0.05 s at 10 us a mini-batch, however few the interval says
    assert batches_to_publish(1, 1e-5, 0.05) == 5000
    assert batches_to_publish(-7, 1e-5, 0.05) == 5000
    # and never fewer than the interval asks for
    assert batches_to_publish(9000, 1e-5, 0.05) == 9000


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_auto_publishes_nothing_before_its_publish_period(thread_client):
    # "auto" publishes once min_publish_period has passed in training, by the clock: the first
    # mini-batches run on cold caches, and a measured per-batch time alone let states out at once
    from sklearn.datasets import make_classification

    X, y = make_classification(20000, 20, n_informative=10, random_state=0)
    ASGDClassifier(max_iter=1).fit(X[:200], y[:200])  # compiles
    # (random shards of a fit without max_time exchange only when asked: see the test below)
    with dask.config.set(
        {"dask-asgd.balance.min-publish-period-random-shards": 30.0, "dask-asgd.balance.exchange-random-shards": True}
    ):
        est = ASGDClassifier(max_iter=20, tol=None, random_state=0).fit(X, y)
    t = est.fit_report_.tasks
    assert len(t) == 2 and (t["seconds"] < 30).all()
    assert (t["sent"] == 0).all() and (t["received"] == 0).all(), t
    with dask.config.set(
        {"dask-asgd.balance.min-publish-period-random-shards": 0.02, "dask-asgd.balance.exchange-random-shards": True}
    ):
        # a fit of so many epochs, no max_time: the clock alone lets states out (0.02 s in)
        est = ASGDClassifier(max_iter=200, tol=None, random_state=0).fit(X, y)
    t = est.fit_report_.tasks
    assert (t["seconds"] > 0.05).all(), t
    assert t["sent"].sum() >= 1, t
    # and a period the fit outlasts lets states through
    with dask.config.set({"dask-asgd.balance.min-publish-period-random-shards": 0.02}):
        est = ASGDClassifier(max_iter=100000, tol=None, max_time=0.5, random_state=0).fit(X, y)
    t = est.fit_report_.tasks
    assert (t["sent"] >= 1).all(), t


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_auto_trains_random_shards_apart_and_reproducibly(thread_client):
    # in-memory input, split at random, a fit of so many epochs: "auto" sends nothing, so the
    # model is no exchange's, bit for bit, and a random_state gives the same model every time
    from sklearn.datasets import make_classification

    X, y = make_classification(20000, 20, n_informative=10, random_state=0)
    with dask.config.set({"dask-asgd.balance.min-publish-period-random-shards": 0.0}):
        fits = [ASGDClassifier(max_iter=30, tol=None, random_state=3).fit(X, y) for _ in range(2)]
        none = ASGDClassifier(max_iter=30, tol=None, sync_interval=None, random_state=3).fit(X, y)
        # bounded by max_time, the same shards exchange (a task that falls behind gets states)
        timed = ASGDClassifier(max_iter=100000, tol=None, max_time=0.5, random_state=3).fit(X, y)
    for est in fits:
        t = est.fit_report_.tasks
        assert len(t) == 2 and (t["sent"] == 0).all() and (t["received"] == 0).all(), t
        np.testing.assert_array_equal(est.coef_, none.coef_)
        np.testing.assert_array_equal(est.intercept_, none.intercept_)
    assert timed.fit_report_.tasks["sent"].sum() >= 1


def test_finish_answers_a_waiting_task_when_the_last_one_finishes():
    # merge="pairwise" settle step: the first task done asks with wait=; the answer leaves the
    # moment the last task finishes (or its worker is lost, or the fit ends), not a poll later
    import asyncio
    import time

    from dask_asgd.balance import BalanceSchedulerPlugin, FixedPolicy

    async def scenario(release):
        plugin = BalanceSchedulerPlugin()
        plugin.register_fit("f", {0: "tcp://a:1", 1: "tcp://b:1"}, FixedPolicy(4, 1))
        t0 = time.monotonic()
        first = asyncio.ensure_future(plugin.finish(fit="f", task=0, shares={1: 3}, wait=5.0))
        await asyncio.sleep(0.05)
        assert not first.done()  # held: task 1 still trains
        if release == "finish":
            last = await plugin.finish(fit="f", task=1, shares={0: 2}, wait=5.0)
            assert last == {"stop": False, "all_finished": True, "expected": {0: 3}}
        elif release == "lost":
            plugin.remove_worker(None, "tcp://b:1")
        else:
            plugin.end_fit("f")
        answer = await asyncio.wait_for(first, 1.0)
        return answer, time.monotonic() - t0

    answer, seconds = asyncio.run(scenario("finish"))
    assert answer == {"stop": False, "all_finished": True, "expected": {1: 2}} and seconds < 1.0
    answer, _ = asyncio.run(scenario("lost"))
    assert answer["all_finished"] and answer["expected"] == {}
    answer, _ = asyncio.run(scenario("end"))
    assert answer == {"stop": True}

    async def alone():  # nobody finishes: the answer comes after ``wait``, not finished
        plugin = BalanceSchedulerPlugin()
        plugin.register_fit("g", {0: "tcp://a:1", 1: "tcp://b:1"}, FixedPolicy(4, 1))
        t0 = time.monotonic()
        a = await plugin.finish(fit="g", task=0, shares={}, wait=0.1)
        return a, time.monotonic() - t0

    answer, seconds = asyncio.run(alone())
    assert answer["all_finished"] is False and 0.09 <= seconds < 1.0


def _cluster_with_http():
    """Worker processes and a scheduler serving HTTP (``/metrics``, and the dashboard where bokeh is
    installed) on a free port."""
    return LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address="127.0.0.1:0", silence_logs=50)


def _scrape(port) -> dict:
    """dask-asgd's samples on the scheduler's /metrics: ``{(name, task label): sample}``."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    return {
        (s.name, s.labels.get("task")): s
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("dask_asgd")
    }


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_exchange_metrics_are_scraped_from_the_schedulers_metrics_endpoint_during_a_fit():
    # worker processes and the scheduler's own HTTP server: what Prometheus would scrape
    from sklearn.datasets import make_classification

    X, y = make_classification(20_000, 50, n_informative=10, n_classes=3, random_state=0)
    with (
        _cluster_with_http() as cluster,
        Client(cluster),
    ):
        port = cluster.scheduler.http_server.port
        est = ASGDClassifier(max_iter=10**6, tol=None, max_time=3.0, sync_interval=8, random_state=0)
        fit = threading.Thread(target=est.fit, args=(X, y))
        fit.start()
        seen = {}
        while fit.is_alive() and not seen:
            samples = _scrape(port)
            if all(samples.get(("dask_asgd_sent_messages_total", t), Sample0).value > 0 for t in "01"):
                seen = samples
            time.sleep(0.2)
        fit.join(60)
        assert not fit.is_alive() and est.fit_report_ is not None
        assert seen, "no task's sends were on /metrics while the fit ran"
        assert seen[("dask_asgd_fits", None)].value == 1
        for task in "01":
            assert seen[("dask_asgd_sync_interval", task)].value == 8
            assert seen[("dask_asgd_blocks", task)].value == 1
            assert seen[("dask_asgd_epochs", task)].value > 0
            assert seen[("dask_asgd_sent_bytes_total", task)].value > 0
            assert ("dask_asgd_merged_total", task) in seen and ("dask_asgd_backlog_bytes", task) in seen
            assert seen[("dask_asgd_sync_interval", task)].labels["worker"] in cluster.scheduler.workers
        after = _scrape(port)
        assert after[("dask_asgd_fits", None)].value == 0  # the fit ended: its series go
        assert [k for k in after if k[1] is not None] == []
        h = est.fit_report_.history
        columns = {"capacity", "backlog_bytes", "next_sync_interval", "next_n_blocks", "merged", "rejected"}
        assert columns <= set(h.columns)


def test_a_freed_link_gets_its_interval_back_within_a_second():
    link = Link(_policy())
    for _ in range(20):
        before = link.step(rate=1.25e8)  # 1 Gbit/s
    for i in range(20):
        link.step(rate=6.25e5 if i % 2 else 6.25e4)  # 5 s flapping between 5 and 0.5 Mbit/s: backlog
    # two reports (0.5 s): the rest of the second up to 1 s is for a message to cross and be
    # counted; a period that came down by halves from its backlog doubling took longer
    after = [link.step(rate=1.25e8) for _ in range(2)]
    assert after[-1]["sync_interval"] <= 2 * before["sync_interval"], (before, after)
    assert after[-1]["n_blocks"] <= 2 * before["n_blocks"]


def test_a_write_in_flight_is_measured_by_what_its_peer_acknowledged():
    # 0.5 s into a 1 MB write of which the peer has acknowledged 100 kB: 200 kB/s, where the
    # write's bytes over its seconds would allow 2 MB/s
    from dask_asgd.balance import LinkMeter

    m = {"bytes_sent": 0, "send_seconds": 0.0, "inflight_seconds": 0.5, "inflight_bytes": 1_000_000}
    assert LinkMeter().update(dict(m, inflight_unacked=900_000)) == pytest.approx(200_000)
    assert LinkMeter().update(m) == pytest.approx(2_000_000)  # the system cannot tell: the bound
    # a write younger than a message's time says nothing yet beyond its bound
    young = dict(m, inflight_seconds=0.01, inflight_unacked=900_000)
    assert LinkMeter(max_message_seconds=0.05).update(young) == pytest.approx(100_000_000)
    # finished writes: bytes over their seconds to acknowledgement, smoothed
    meter = LinkMeter()
    assert meter.update({"bytes_sent": 1_000_000, "send_seconds": 1.0}) == pytest.approx(1_000_000)
    assert meter.update({"bytes_sent": 4_000_000, "send_seconds": 2.0}) == pytest.approx(2_000_000)
    assert meter.update({"bytes_sent": 4_000_000, "send_seconds": 2.0}) == pytest.approx(2_000_000)  # idle: kept
    # a write that shows a slower link brings the estimate itself down: it stays down if the
    # write is then cut (no sample), until writes measure the link again
    stuck = {"bytes_sent": 4_000_000, "send_seconds": 2.0, "inflight_seconds": 1.0, "inflight_bytes": 1_000_000}
    assert meter.update(dict(stuck, inflight_unacked=990_000)) == pytest.approx(10_000)
    assert meter.update({"bytes_sent": 4_000_000, "send_seconds": 2.0}) == pytest.approx(10_000)
    assert meter.update({"bytes_sent": 5_000_000, "send_seconds": 2.5}) == pytest.approx(1_005_000)


def _browser():
    """A headless Chromium driven by selenium, or the reason there is none."""
    import shutil

    try:
        import bokeh  # noqa: F401
        from selenium import webdriver
    except ImportError as e:
        return None, f"{e.name} is not installed (the test extra installs it)"
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        return None, "no Chromium and chromedriver on PATH (.ci/run installs Debian's where it can)"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    from selenium.webdriver.chrome.service import Service

    return webdriver.Chrome(service=Service(driver), options=options), None


# points on the page's lines: every source of the page, by name, and its number of rows
PAGE_POINTS = """
const doc = window.Bokeh && Bokeh.documents && Bokeh.documents[0];
if (!doc) return null;
const out = {};
const models = Array.from(doc.all_models);
for (const m of models) { if (m.name && m.name.startsWith("asgd-task-")) out[m.name] = m.data.time.length; }
const header = models.find(m => m.name === "asgd-header");
return {sources: out, header: header ? header.text : null};
"""


@pytest.mark.browser
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_dashboard_page_shows_the_exchange_in_a_real_browser_during_a_fit():
    from sklearn.datasets import make_classification

    browser, reason = _browser()
    if browser is None:
        pytest.skip(reason)
    X, y = make_classification(20_000, 50, n_informative=10, n_classes=3, random_state=0)
    try:
        with (
            _cluster_with_http() as cluster,
            Client(cluster),
        ):
            port = cluster.scheduler.http_server.port
            ASGDClassifier(max_iter=1).fit(X[:100], y[:100])  # registers the plugins: the page exists
            est = ASGDClassifier(max_iter=10**6, tol=None, max_time=8.0, sync_interval=8, random_state=0)
            fit = threading.Thread(target=est.fit, args=(X, y))
            fit.start()
            browser.get(f"http://127.0.0.1:{port}/individual-asgd")
            page = None
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                page = browser.execute_script(PAGE_POINTS)
                if page and len(page["sources"]) == 2 and min(page["sources"].values()) >= 2 and fit.is_alive():
                    break
                time.sleep(0.25)
            fit.join(60)
            assert page and sorted(page["sources"]) == ["asgd-task-0", "asgd-task-1"], page
            assert min(page["sources"].values()) >= 2, page  # lines that grew while the fit ran
            assert "2 tasks" in page["header"], page
            # and drawn: the page's root view is rendered in the browser
            assert browser.execute_script("return Object.keys(window.Bokeh.index || {}).length") >= 1
    finally:
        browser.quit()
