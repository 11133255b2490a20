"""A small lab of Linux network namespaces for benchmarks on real, shaped links (needs root).

One namespace per node (the scheduler and the client in ``asgd-s``, each worker in
``asgd-w<i>``), every node joined to a bridge in ``asgd-hub`` by a veth pair. Links are shaped
with ``tc qdisc ... tbf`` on both ends of a node's veth (netem is not available here).
Addresses: 10.231.0.0/24, inside these namespaces only.

    with NetLab(n_workers=2) as lab:
        lab.shape("w0", "100mbit"); lab.shape("w1", "10mbit")
        lab.run_driver([...])          # a command run inside asgd-s, next to the scheduler
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

PREFIX = "asgd"
SUBNET = "10.231.0"
SCHED_PORT = 8786


def sh(*args, check=True):
    return subprocess.run(list(args), check=check, capture_output=True, text=True)


class NetLab:
    def __init__(self, n_workers: int = 2, nthreads: int = 1, log_dir: str | None = None):
        self.log_dir = log_dir or os.path.join(os.environ.get("TMPDIR", "/tmp"), "dask-asgd-netlab")
        self.n_workers = n_workers
        self.nthreads = nthreads
        self.nodes = {"s": 1} | {f"w{i}": 10 + i for i in range(n_workers)}
        self.procs: list = []

    # ------------------------------------------------------------------ topology
    def ns(self, node):
        return f"{PREFIX}-{node}"

    def addr(self, node):
        return f"{SUBNET}.{self.nodes[node]}"

    @property
    def scheduler(self):
        return f"tcp://{self.addr('s')}:{SCHED_PORT}"

    def __enter__(self):
        if os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("tc"):
            raise RuntimeError("NetLab needs root and the ip and tc commands (iproute2)")
        self.down()
        hub = self.ns("hub")
        sh("ip", "netns", "add", hub)
        sh("ip", "-n", hub, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", hub, "link", "set", "br0", "up")
        for node in self.nodes:
            n = self.ns(node)
            sh("ip", "netns", "add", n)
            sh("ip", "-n", n, "link", "set", "lo", "up")
            sh("ip", "link", "add", f"v{node}", "netns", n, "type", "veth", "peer", "name", f"h{node}",
               "netns", hub)
            sh("ip", "-n", n, "addr", "add", f"{self.addr(node)}/24", "dev", f"v{node}")
            sh("ip", "-n", n, "link", "set", f"v{node}", "up")
            sh("ip", "-n", hub, "link", "set", f"h{node}", "master", "br0")
            sh("ip", "-n", hub, "link", "set", f"h{node}", "up")
        return self

    def __exit__(self, *exc):
        self.stop_cluster()
        self.down()

    def down(self):
        for node in list(self.nodes) + ["hub"]:
            sh("ip", "netns", "del", self.ns(node), check=False)

    def shape(self, node: str, rate: str | None):
        """Limit node's link to ``rate`` (e.g. "10mbit") both ways; None removes the limit."""
        for ns, dev in ((self.ns(node), f"v{node}"), (self.ns("hub"), f"h{node}")):
            sh("ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", dev, "root", check=False)
            if rate:
                sh("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", rate,
                   "burst", "64kb", "latency", "200ms")

    def change(self, node: str, rate: str | None):
        """Change node's link rate during a run (``tc qdisc change``, the queue kept); None: 10 Gbit/s."""
        for ns, dev in ((self.ns(node), f"v{node}"), (self.ns("hub"), f"h{node}")):
            r = sh("ip", "netns", "exec", ns, "tc", "qdisc", "change", "dev", dev, "root", "tbf", "rate",
                   rate or "10gbit", "burst", "64kb", "latency", "200ms", check=False)
            if r.returncode != 0:  # no tbf there yet
                sh("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate",
                   rate or "10gbit", "burst", "64kb", "latency", "200ms")

    # ------------------------------------------------------------------ processes
    def start_cluster(self, timeout=60):
        env = dict(os.environ, DASK_DISTRIBUTED__WORKER__DAEMON="False")
        self.procs.append(subprocess.Popen(
            ["ip", "netns", "exec", self.ns("s"), sys.executable, "-m", "distributed.cli.dask_scheduler",
             "--host", self.addr("s"), "--port", str(SCHED_PORT), "--no-dashboard"],
            stdout=self._log("s"), stderr=subprocess.STDOUT, env=env, start_new_session=True))
        time.sleep(1.0)
        for i in range(self.n_workers):
            node = f"w{i}"
            self.procs.append(subprocess.Popen(
                ["ip", "netns", "exec", self.ns(node), sys.executable, "-m", "distributed.cli.dask_worker",
                 self.scheduler, "--host", self.addr(node), "--nthreads", str(self.nthreads), "--no-nanny",
                 "--no-dashboard", "--memory-limit", "0", "--name", node],
                stdout=self._log(node), stderr=subprocess.STDOUT, env=env, start_new_session=True))
        deadline = time.time() + timeout
        probe = ("from distributed import Client; c = Client('%s', timeout=10); "
                 "c.wait_for_workers(%d, timeout=%d); print(len(c.scheduler_info()['workers']))"
                 % (self.scheduler, self.n_workers, timeout))
        while time.time() < deadline:
            r = self.run_driver([sys.executable, "-c", probe], check=False, timeout=timeout)
            if r.returncode == 0 and r.stdout.strip() == str(self.n_workers):
                return
            time.sleep(1)
        raise RuntimeError("the lab's cluster did not come up")

    def _log(self, node):
        os.makedirs(self.log_dir, exist_ok=True)
        return open(os.path.join(self.log_dir, f"{node}.log"), "w")

    def stop_cluster(self):
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        self.procs = []

    def run_driver(self, cmd, check=True, timeout=None):
        """Run ``cmd`` inside the scheduler's namespace (where the client lives)."""
        return subprocess.run(["ip", "netns", "exec", self.ns("s")] + list(cmd), capture_output=True, text=True,
                              check=check, timeout=timeout)


# ---------------------------------------------------------------------- reports of the lab's runs
def time_to(curve, target):
    """The first time of ``curve`` ((time, value) pairs) whose value is at or below ``target``."""
    for t, value in curve:
        if value <= target:
            return t
    return None


def time_table(results: dict, settings, target, not_reached, extra):
    """The time-to-target table's rows (one a setting, one cell a link) and its medians.

    ``results``: link -> the runs' rows (``setting``, ``curve``); a cell is the median time over
    the repeats (each repeat in square brackets), ``not_reached(rows)`` where the median did not
    reach ``target``, then ``extra(rows)``. Returns (lines, {link: {setting: median or None}})."""
    import math
    import statistics

    links = list(results)
    lines = ["| setting | " + " | ".join(links) + " |", "|---|" + "---|" * len(links)]
    medians = {link: {} for link in links}
    for s in settings:
        cells = []
        for link in links:
            rows = [r for r in results[link] if r["setting"] == s]
            if not rows:
                cells.append("")
                continue
            times = [time_to(r["curve"], target) for r in rows]
            t = statistics.median([math.inf if x is None else x for x in times])
            medians[link][s] = None if math.isinf(t) else t
            cell = f"**{t:.1f}**" if not math.isinf(t) else not_reached(rows)
            if len(rows) > 1:
                cell += " [" + ", ".join("-" if x is None else f"{x:.1f}" for x in times) + "]"
            cells.append(cell + extra(rows))
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    return lines, medians


def auto_choices(results: dict):
    """Lines: what auto chose per link, the median interval / blocks over the second half of the
    first auto run's fit, per worker."""
    import statistics

    lines = ["Chosen by auto (median over the second half of the fit, per worker): interval / blocks", ""]
    for link, rows in results.items():
        row = next((r for r in rows if r["setting"] == "auto" and "history" in r), None)
        if row:
            parts = []
            for w, h in sorted(row["history"].items()):
                half = [i for i, t in enumerate(h["time"]) if t >= h["time"][-1] / 2] or list(range(len(h["time"])))
                parts.append(f"{w.split('//')[-1]}: {statistics.median(h['sync_interval'][i] for i in half):.0f}"
                             f" / {statistics.median(h['n_blocks'][i] for i in half):.0f}")
            lines.append(f"- {link}: " + ", ".join(parts))
    return lines
