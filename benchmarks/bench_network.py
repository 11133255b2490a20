"""Time to a held-out loss on real, shaped links: the scheduler and each worker in its own namespace.

    sudo python benchmarks/bench_network.py                    # everything (about 30 minutes)
    sudo python benchmarks/bench_network.py --links unlimited,10mbit --settings auto,none,16 --budget 10
    python benchmarks/bench_network.py --report benchmarks/results/network.json   # tables and plots again

Needs root, iproute2 and tc (tbf); writes ``--out`` (raw JSON, default
benchmarks/results/network.json), ``--md`` (the tables, benchmarks/results/network.md) and
``--img``/network-*.png (benchmarks/results/img; docs/network.md shows copies, in docs/img/). For each link condition (``A/B``: worker 0's link at A, worker 1's
at B; "unlimited" is no shaping) it starts a fresh scheduler and two single-thread workers, each
in its own network namespace, and runs one fit per setting (fixed intervals, ``none`` for no
exchange, ``auto``) for ``--budget`` seconds of training (``max_time``).

The problem (generated on the workers: nothing crosses the shaped links but model states, the
final gather and the reports): 10 classes, 100,000 features, 1,000,000 rows of 50 non-zeros
whose columns follow a power law (a few features are frequent, most are rare, as in text), labels
from a fixed true model plus noise; ``alpha=1e-6``, log_loss, so the held-out loss keeps falling
for tens of seconds. A float64 state is 10 x 100,001 x 8 bytes = 8 MB.

Loss against time: every task calls a :class:`dask_asgd.Monitor` every ``--every`` seconds of
training, which keeps its model's decision values on a held-out set (5,000 rows, made on the
worker) and the worker's resident memory, on the worker. After the fit (untimed) the driver
fetches them and, the model being linear, averages the tasks' decision values (weights: shard
sizes, as the final average) to get the held-out log loss the averaged model had at each moment.
Time is measured from the call to ``fit()``; "time to target" is the first moment the averaged
model's loss is at or below the target (``--target``); the final gather (the same 8 MB for every
setting) comes on top and is reported as the fit's wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

from netlab import auto_choices, time_table, time_to  # the lab's shared report parts; benchmarks/ is sys.path[0]

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
N_FEATURES = 100_000
N_CLASSES = 10
NNZ = 50
ROWS_PER_PART = 125_000
N_PARTS = 8
POWER = 3.0  # column = N_FEATURES * u**POWER: a power law, most mass on the first features
ALPHA = 1e-6
N_TEST = 5_000
TARGET = 1.40  # held-out log loss: the loss floor is about 1.365; chosen from a first run on the unlimited link
# unstable links: worker 0's rate over the fit, (seconds since fit(), rate) from the start; worker 1 stays
# at the first rate. "drop": 1 Gbit/s, 5 Mbit/s from 5 s to 10 s; "flap": 1 Gbit/s and 5 Mbit/s, 2 s each
SCHEDULES = {
    "drop": [(0.0, "1gbit"), (5.0, "5mbit"), (10.0, "1gbit")],
    "flap": [(0.0, "1gbit")] + [(2.0 * i, "5mbit" if i % 2 else "1gbit") for i in range(1, 30)],
}
FIXED_TIMES = (5.0, 10.0, 15.0, 20.0)  # the loss table's moments, seconds since fit()


def rate_bits(rate: str) -> float:
    """"5mbit" -> 5e6 bits/s."""
    units = {"kbit": 1e3, "mbit": 1e6, "gbit": 1e9}
    for u, f in units.items():
        if rate.endswith(u):
            return float(rate[: -len(u)]) * f
    raise ValueError(rate)


class Schedule:
    """Apply a link schedule to worker 0 during one fit (``tc qdisc change`` on both ends of its
    veth, from the driver's namespace: root may enter the others); keeps (time, bits/s) applied."""

    def __init__(self, steps):
        import threading

        from netlab import NetLab

        self.steps, self.lab = steps, NetLab(n_workers=2)
        self.applied: list = []
        self._stop = threading.Event()
        self._thread = None

    def start(self, t0):
        import threading

        self.applied = []
        self.lab.change("w0", self.steps[0][1])
        self.applied.append((0.0, rate_bits(self.steps[0][1])))

        def run():
            for at, rate in self.steps[1:]:
                if self._stop.wait(max(0.0, t0 + at - time.time())):
                    return
                self.lab.change("w0", rate)
                self.applied.append((time.time() - t0, rate_bits(rate)))

        self._stop.clear()
        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.lab.change("w0", self.steps[0][1])


def make_part(seed, rows=ROWS_PER_PART):
    """A block of the synthetic problem: CSR rows and labels from a fixed true model."""
    import numpy as np
    import scipy.sparse as sp

    W = np.random.default_rng(12345).standard_normal((N_CLASSES, N_FEATURES))
    rng = np.random.default_rng(seed)
    idx = np.minimum((N_FEATURES * rng.random((rows, NNZ)) ** POWER).astype(np.int64), N_FEATURES - 1)
    vals = rng.standard_normal((rows, NNZ)) / np.sqrt(NNZ)  # ||x|| about 1
    scores = np.einsum("rkn,rn->rk", W[:, idx].transpose(1, 0, 2), vals)
    y = np.argmax(scores * 3.0 + rng.standard_normal(scores.shape) * 0.5, axis=1)
    X = sp.csr_matrix((vals.ravel(), idx.ravel(), np.arange(0, rows * NNZ + 1, NNZ)), shape=(rows, N_FEATURES))
    X.sum_duplicates()
    return X, y


def ovr_log_loss(margins, y):
    """Held-out log loss of one-vs-rest decision values, as predict_proba normalizes them."""
    import numpy as np

    p = 1.0 / (1.0 + np.exp(-np.asarray(margins, dtype=np.float64)))
    p /= p.sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-15, 1.0))))


# ---------------------------------------------------------------------- on the workers
def snapshot(label, coef, intercept):
    """The monitor: keep the model's held-out decision values and the worker's RSS, on the worker."""
    import numpy as np
    import psutil
    from distributed import get_worker

    w = get_worker()
    if not hasattr(w, "_asgd_bench"):
        w._asgd_bench = {"test": make_part(7, rows=N_TEST)[0], "runs": {}}
    store = w._asgd_bench
    margins = (store["test"] @ coef.T + intercept).astype(np.float32)
    store["runs"].setdefault(label, []).append((time.time(), margins, psutil.Process().memory_info().rss))


def collect(label, dask_worker=None):
    return dask_worker._asgd_bench["runs"].pop(label, []) if hasattr(dask_worker, "_asgd_bench") else []


# ---------------------------------------------------------------------- the driver (next to the scheduler)
def curve_of(snaps: dict, weights: dict, t0: float, y):
    """(time since fit(), held-out loss) of the averaged model, from every worker's snapshots."""
    import pandas as pd

    from dask_asgd.monitor import averaged_trace

    rows = [{"time": t - t0, "task": w, "value": m} for w, s in snaps.items() if w in weights for t, m, _ in s]
    if not rows:
        return []
    trace = pd.DataFrame(rows)
    return [(t, ovr_log_loss(m, y)) for t, m in averaged_trace(trace, pd.Series(weights))]


def drive(args):
    import warnings
    from functools import partial

    import dask
    import dask.array as da
    import numpy as np
    import scipy.sparse as sp
    from distributed import Client, wait

    from dask_asgd import ASGDClassifier, Monitor

    warnings.simplefilter("ignore")
    client = Client(args.scheduler, timeout=30)
    parts = [dask.delayed(make_part, pure=True)(1000 + i) for i in range(N_PARTS)]
    X = da.concatenate([da.from_delayed(p[0], shape=(ROWS_PER_PART, N_FEATURES), dtype=np.float64,
                                        meta=sp.csr_matrix((0, N_FEATURES))) for p in parts])
    y = da.concatenate([da.from_delayed(p[1], shape=(ROWS_PER_PART,), dtype=np.int64) for p in parts])
    X, y = client.persist([X, y])
    wait([X, y])
    _, yte = make_part(7, rows=N_TEST)
    # warm-up, untimed: compiles the kernels on the workers (numba's disk cache makes later starts
    # fast), and a first fit on all the data pays the costs a first fit pays once (memory touched
    # for the first time, imports), so that no setting is charged for being first
    ASGDClassifier(loss="log_loss", alpha=ALPHA, max_iter=1, tol=None, max_time=0.5).fit(X[:20_000], y[:20_000])
    ASGDClassifier(loss="log_loss", alpha=ALPHA, max_iter=100, tol=None, max_time=1.0).fit(X, y)
    settings = args.settings.split(",")
    runs = []
    for rpt in range(args.repeats):  # each repeat in a rotated order
        k = rpt % len(settings)
        runs += [(rpt, s_) for s_ in settings[k:] + settings[:k]]
    schedule = Schedule(SCHEDULES[args.schedule]) if args.schedule else None
    for rpt, setting in runs:
        # "auto-average": auto with the paper's average merge instead of the pairwise one
        si = None if setting == "none" else ("auto" if setting.startswith("auto") else int(setting))
        merge = "average" if setting.endswith("-average") else "pairwise"
        label = f"{setting}-{time.time()}"
        est = ASGDClassifier(loss="log_loss", alpha=ALPHA, max_iter=100_000, tol=None, max_time=args.budget,
                             sync_interval=si, merge=merge, random_state=0)
        t0 = time.time()
        if schedule is not None:
            schedule.start(t0)
        try:
            est.fit(X, y, monitor=Monitor(partial(snapshot, label), every=args.every))
            wall = time.time() - t0
        finally:
            if schedule is not None:
                schedule.stop()
        rep = est.fit_report_
        snaps = client.run(collect, label)
        weights = dict(zip(rep.tasks["worker"], rep.tasks["n_samples"]))
        curve = curve_of(snaps, weights, t0, yte)
        rss = {w: [(t - t0, r) for t, _, r in s] for w, s in snaps.items()}
        row = {"setting": setting, "repeat": rpt, "budget": args.budget, "fit_seconds": wall,
               "train_seconds": float(rep.tasks["seconds"].max()),
               "sent": int(rep.tasks["sent"].sum()), "merged": int(rep.tasks["merged"].sum()),
               "rejected": int(rep.tasks["rejected"].sum()), "samples": int(rep.samples_seen),
               "bytes_sent": int(rep.tasks["bytes_sent"].sum()), "cut": int(rep.tasks["cut"].sum()),
               "link": schedule.applied if schedule is not None else None,
               "monitor_seconds": float(rep.tasks["monitor_seconds"].max()),
               "curve": curve, "rss": rss}
        h = rep.history
        if setting == "auto" and len(h):
            row["history"] = {str(w): {"time": (g["clock"] - t0).round(3).tolist(),
                                       "sync_interval": g["sync_interval"].tolist(),
                                       "n_blocks": g["n_blocks"].tolist(),
                                       "capacity": g["capacity"].fillna(-1).tolist()}
                              for w, g in h.groupby("worker")}
        if args.verbose:
            print(f"{setting}: fit wall {wall:.2f} s", file=sys.stderr)
            print(rep.tasks.to_string(), file=sys.stderr)
        print(json.dumps(row), flush=True)


# ---------------------------------------------------------------------- report
def report(results: dict, target: float, md_path: str, img_dir: str, command: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    links = list(results)
    settings = list(dict.fromkeys(r["setting"] for rows in results.values() for r in rows))
    lines = [
        "# dask-asgd on shaped links: time to a held-out loss (generated by benchmarks/bench_network.py)",
        "",
        f"    {command}",
        "",
        f"Target: held-out log loss <= {target}. Seconds from the call to `fit()` until the averaged",
        "model first reaches it, median over the repeats (each repeat's in square brackets), the final",
        "gather of the 8 MB model on top (\"fit s\": the fit's whole wall time, median). \"-\": not reached",
        "within the budget (the best loss in round brackets).",
        "",
    ]
    table, ttt = time_table(
        results, settings, target,
        lambda rows: f"- ({min((loss for r in rows for _, loss in r['curve']), default=float('nan')):.3f})",
        lambda rows: f" (fit {statistics.median(r['fit_seconds'] for r in rows):.0f} s)")
    lines += table
    lines += ["", "Against the targets:", "",
              "| link | best fixed (grid search) | its time | auto | auto / best fixed | interval 1 / auto |",
              "|---|---|---|---|---|---|"]
    for link in links:
        fixed = {s: t for s, t in ttt[link].items() if s.isdigit() and t is not None}
        auto, one = ttt[link].get("auto"), ttt[link].get("1")
        if not fixed:
            lines.append(f"| {link} | no fixed interval reached the target | | | | |")
            continue
        bs = min(fixed, key=fixed.get)
        a = f"{auto:.1f}" if auto is not None else "not reached"
        ratio = f"{auto / fixed[bs]:.2f}x" if auto is not None else "-"
        vs_one = ("interval 1 not reached" if one is None else f"{one / auto:.2f}x") if auto is not None else "-"
        lines.append(f"| {link} | {bs} | {fixed[bs]:.1f} | {a} | {ratio} | {vs_one} |")
    lines += [""] + auto_choices(results)
    lines += ["", "Held-out loss of the averaged model at fixed moments (seconds since `fit()`; median over the",
              "repeats; \"-\": the fit had ended):", "",
              "| link | setting | " + " | ".join(f"{t:.0f} s" for t in FIXED_TIMES) + " | fit s | fit s / none's |",
              "|---|---|" + "---|" * (len(FIXED_TIMES) + 2)]
    for link in links:
        none_wall = [r["fit_seconds"] for r in results[link] if r["setting"] == "none"]
        for s_ in settings:
            rows = [r for r in results[link] if r["setting"] == s_]
            if not rows:
                continue
            cells = []
            for t in FIXED_TIMES:
                vals = [v for v in (loss_at(r["curve"], t) for r in rows) if v is not None]
                cells.append(f"{statistics.median(vals):.3f}" if vals else "-")
            wall = statistics.median(r["fit_seconds"] for r in rows)
            ratio = f"{wall / statistics.median(none_wall):.2f}" if none_wall else ""
            lines.append(f"| {link} | {s_} | " + " | ".join(cells) + f" | {wall:.1f} | {ratio} |")
    lines += ["", "auto's capacity estimate against the link's rate (median over the second half of the fit of",
              "each worker's estimate / the rate of its path to the other worker, the slower of the two",
              "workers' links; constant shaped links):", ""]
    for link in links:
        if link in SCHEDULES or "unlimited" in link:
            continue
        rates = link.split("/") if "/" in link else [link, link]
        row = next((r for r in results[link] if r["setting"] == "auto" and "history" in r), None)
        if not row:
            continue
        parts = []
        for w, h in sorted(row["history"].items()):
            half = [c for t, c in zip(h["time"], h["capacity"]) if t >= h["time"][-1] / 2 and c > 0]
            if half:
                path = min(rate_bits(r) for r in rates)  # a state crosses both workers' links
                parts.append(f"{w.split('//')[-1]}: {statistics.median(half) * 8 / path:.2f}")
        lines.append(f"- {link}: " + ", ".join(parts))
    lines += ["", "Peak worker memory (resident set of the worker process, MiB; the largest over the workers",
              "and repeats), in the first and the second half of each fit:", "",
              "| setting | " + " | ".join(links) + " |", "|---|" + "---|" * len(links)]
    for s in settings:
        cells = []
        for link in links:
            first, second = [], []
            for row in (r for r in results[link] if r["setting"] == s):
                for series in row["rss"].values():
                    if series:
                        mid = (series[0][0] + series[-1][0]) / 2
                        first += [r for t, r in series if t < mid]
                        second += [r for t, r in series if t >= mid]
            cells.append(f"{max(first) / 2**20:.0f} / {max(second) / 2**20:.0f}" if first and second else "")
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    os.makedirs(img_dir, exist_ok=True)
    ncols = min(3, len(links))
    nrows = -(-len(links) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.4 * ncols, 3.4 * nrows), sharey=True, squeeze=False)
    for ax in axes.ravel()[len(links):]:
        ax.set_visible(False)
    for ax, link in zip(axes.ravel(), links):
        for row in results[link]:
            c = row["curve"]
            if c and row.get("repeat", 0) == 0:  # the first repeat
                ax.plot([t for t, _ in c], [v for _, v in c], label=row["setting"],
                        lw=2.2 if row["setting"] == "auto" else 1.1)
        ax.axhline(target, color="k", ls=":", lw=0.8)
        ax.set_title(link)
        ax.set_xlabel("seconds since fit()")
        ax.set_ylim(target * 0.8, 2.4)
    for row_axes in axes:
        row_axes[0].set_ylabel("held-out log loss (averaged model)")
    axes[0][-1].legend(fontsize=7, title="sync_interval")
    fig.tight_layout()
    fig.savefig(os.path.join(img_dir, "network-loss.png"), dpi=110)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.4 * ncols, 3.0 * nrows), sharey=True, squeeze=False)
    for ax in axes.ravel()[len(links):]:
        ax.set_visible(False)
    for ax, link in zip(axes.ravel(), links):
        row = next((r for r in results[link] if r["setting"] == "auto" and "history" in r), None)
        if row:
            for w, h in sorted(row["history"].items()):
                ax.step(h["time"], h["sync_interval"], where="post", label=w.split("//")[-1])
        ax.set_yscale("log")
        ax.set_title(link)
        ax.set_xlabel("seconds since fit()")
    for row_axes in axes:
        row_axes[0].set_ylabel("auto: sync_interval (mini-batches)")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(img_dir, "network-interval.png"), dpi=110)
    rel = os.path.relpath(img_dir, os.path.dirname(os.path.abspath(md_path)))  # links relative to the report
    lines += ["", f"![loss against time]({rel}/network-loss.png)", "",
              f"![auto's interval against time]({rel}/network-interval.png)", ""]
    unstable = [link for link in links if link in SCHEDULES]
    if unstable:
        timeline(results, unstable, os.path.join(img_dir, "network-timeline.png"))
        lines += [f"![auto against an unstable link]({rel}/network-timeline.png)", ""]
    os.makedirs(os.path.dirname(os.path.abspath(md_path)), exist_ok=True)
    with open(md_path, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


WORKER0 = "10.231.0.10:"  # netlab's address of worker 0, whose link the schedules change


def loss_at(curve, t):
    """The curve's value at moment ``t`` (its last point at or before it); None past its end."""
    if not curve or curve[-1][0] < t:
        return None
    before = [v for tm, v in curve if tm <= t]
    return before[-1] if before else None


def timeline(results, links, path):
    """What auto chose against worker 0's real link rate, on the unstable links: the link's rate
    and worker 0's capacity estimate (Mbit/s), its interval and its blocks, against time."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, len(links), figsize=(5.2 * len(links), 7.5), sharex=True, squeeze=False)
    for j, link in enumerate(links):
        row = next((r for r in results[link] if r["setting"] == "auto" and "history" in r), None)
        if row is None:
            continue
        ax_rate, ax_int, ax_blk = axes[:, j]
        link_t = [t for t, _ in row["link"]] + [max(row["fit_seconds"], row["link"][-1][0])]
        link_r = [r / 1e6 for _, r in row["link"]]
        ax_rate.step(link_t, link_r + link_r[-1:], where="post", color="k", lw=1.5, label="link (tc)")
        for w, h in sorted(row["history"].items()):
            name = "worker 0" if WORKER0 in w else "worker 1"
            caps = [(t, c * 8 / 1e6) for t, c in zip(h["time"], h["capacity"]) if c > 0]
            if caps and name == "worker 0":
                ax_rate.plot(*zip(*caps), ".-", ms=3, lw=0.8, label="worker 0's estimate")
            ax_int.step(h["time"], h["sync_interval"], where="post", label=name)
            ax_blk.step(h["time"], h["n_blocks"], where="post", label=name)
        ax_rate.set_yscale("log")
        ax_rate.set_title(f"{link}: auto")
        ax_int.set_yscale("log")
        ax_blk.set_yscale("log", base=2)
        ax_blk.set_xlabel("seconds since fit()")
        if j == 0:
            ax_rate.set_ylabel("Mbit/s")
            ax_int.set_ylabel("sync_interval (mini-batches)")
            ax_blk.set_ylabel("blocks per state")
        ax_rate.legend(fontsize=7)
        ax_int.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--links", default="unlimited,1gbit,100mbit,10mbit,10mbit/100mbit,drop,flap",
                    help="comma-separated: a rate (both workers), A/B (worker 0 at A, worker 1 at B), or a "
                         "schedule of worker 0's rate during each fit: " + ", ".join(SCHEDULES))
    ap.add_argument("--schedule", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--settings", default="auto,none,1,4,16,64,256",
                    help="comma-separated: auto, auto-average (the average merge), none, or an interval")
    ap.add_argument("--budget", type=float, default=20.0, help="seconds of training per fit (max_time)")
    ap.add_argument("--every", type=float, default=0.5, help="seconds between monitor snapshots")
    ap.add_argument("--repeats", type=int, default=1, help="fits per setting (median time to target)")
    ap.add_argument("--target", type=float, default=TARGET)
    ap.add_argument("--out", default=os.path.join(RESULTS, "network.json"))
    ap.add_argument("--md", default=os.path.join(RESULTS, "network.md"))
    ap.add_argument("--img", default=os.path.join(RESULTS, "img"))
    ap.add_argument("--report", default=None, help="only redo the tables and plots from this JSON")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--drive", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--scheduler", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.drive:
        return drive(args)
    command = "sudo python benchmarks/bench_network.py " + " ".join(sys.argv[1:])
    if args.report:
        with open(args.report) as f:
            saved = json.load(f)
        return report(saved["results"], args.target, args.md, args.img, saved.get("command", command))

    from netlab import NetLab

    results = {}
    for link in args.links.split(","):
        if link in SCHEDULES:
            rates = [SCHEDULES[link][0][1]] * 2
        else:
            rates = link.split("/") if "/" in link else [link, link]
        with NetLab(n_workers=2) as lab:
            for i, r in enumerate(rates):
                lab.shape(f"w{i}", None if r == "unlimited" else r)
            lab.start_cluster()
            r = lab.run_driver([sys.executable, os.path.abspath(__file__), "--drive", "--scheduler", lab.scheduler,
                                "--settings", args.settings, "--budget", str(args.budget), "--every", str(args.every),
                                "--repeats", str(args.repeats)]
                               + (["--verbose"] if args.verbose else [])
                               + (["--schedule", link] if link in SCHEDULES else []),
                               timeout=120 + (args.budget + 60) * len(args.settings.split(",")) * args.repeats, check=False)
            if args.verbose:
                print(r.stderr, file=sys.stderr)
            rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
            if r.returncode != 0:
                print(f"the driver failed on link {link}:\n{r.stderr[-3000:]}", file=sys.stderr)
        results[link] = rows
        for row in rows:
            t = time_to(row["curve"], args.target)
            print(f"{link:>16} {row['setting']:>5}: to {args.target}: "
                  + (f"{t:5.1f} s" if t is not None else "  not reached")
                  + f"  best {min((v for _, v in row['curve']), default=float('nan')):.3f}"
                  f"  fit {row['fit_seconds']:5.1f} s  samples {row['samples']:,}  sent {row['sent']}"
                  f"  merged {row['merged']}  rejected {row['rejected']}", flush=True)
        os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
        with open(args.out, "w") as f:
            json.dump({"command": command, "results": results}, f)
    report(results, args.target, args.md, args.img, command)


if __name__ == "__main__":
    main()
