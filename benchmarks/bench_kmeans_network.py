"""ASGDKMeans on real, shaped links: time to the target inertia with a 1 MB state.

    sudo python benchmarks/bench_kmeans_network.py                     # the three links (about 50 minutes)
    sudo python benchmarks/bench_kmeans_network.py --links 10mbit --settings auto,none,16 --repeats 1
    python benchmarks/bench_kmeans_network.py --links local --repeats 1   # no namespaces: an in-process cluster
    python benchmarks/bench_kmeans_network.py --report benchmarks/results/kmeans_network.json
    sudo python benchmarks/bench_kmeans_network.py --start --links 10mbit,100mbit   # the start alone

Needs root, iproute2 and tc (tbf) for shaped links (``benchmarks/netlab.py``: the scheduler and the
client in one network namespace, each of two single-thread workers in its own); writes ``--out``
(raw JSON, default benchmarks/results/kmeans_network.json) and ``--md`` (the tables,
benchmarks/results/kmeans_network.md). ``--links``: ``10mbit``, ``100mbit``, ``unlimited`` (no
shaping), ``local`` (no namespaces, an in-process cluster: for trying the script), and a drop
``1gbit>5mbit@1-6``: worker 0's link at 1 Gbit/s, 5 Mbit/s from 1 s after each ``fit()`` call
until 6 s, then 1 Gbit/s again (``tc qdisc change`` during the fit).

The problem: a codebook of k = 1,000 centroids for Fashion-MNIST's 60,000 training images
projected on their first 128 principal components (float64): a state of 1,000 x 128 x 8 bytes
= 1 MB (and 8 kB of counts). The rows sit sorted by the first component, the first half on
worker 0 and the second on worker 1 (data partitioned by a feature, as by date or region); each
worker loads its half from a file the driver wrote (nothing crosses the shaped links but model
states, the 20,000-row sample ASGDKMeans draws for its start and its final choice, the reports
and the final gather). Every fit starts from one shared k-means++ initialization (``init=``
that array), the start scikit-learn's ``KMeans(n_init=1)`` refines to the reference inertia;
the target is that inertia x 1.01 (the mean squared distance of the training rows to their
nearest centroid).

Inertia against time: every task runs a :class:`dask_asgd.Monitor` every ``--every`` seconds of
training that writes its centroids to a file (the namespaces share the file system, so nothing
crosses a shaped link). After each link's runs, the driver rebuilds at every snapshot of worker 0
the model the fit would have returned had it stopped there: each task's latest centroids, one
Lloyd pass of each over its own half, the final combine of ``dask_asgd.models.kmeans.combine``
(aligned sums over weights) and the candidate of lowest inertia among that and each task's own
refined centroids, scored on all 60,000 rows (ASGDKMeans picks on its sample; the same candidates
here are scored on every row). Time is counted from the first task's first snapshot (training
start: the start draws the sample over the link first, the same for every setting, reported as
``start s``); "time to target" is the first snapshot whose model is within the target.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time

import numpy as np

from netlab import auto_choices, time_table, time_to  # the lab's shared report parts; benchmarks/ is sys.path[0]

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
K = 1000
N_COMPONENTS = 128
TARGET_FACTOR = 1.01


# ---------------------------------------------------------------------- the problem (prepared once)
def prepare(cache: str, seed: int = 0) -> dict:
    """Write the sorted rows, the shared start and the reference inertia under ``cache``."""
    os.makedirs(cache, exist_ok=True)
    meta_path = os.path.join(cache, f"meta-{seed}.json")
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            return json.load(f)
    import datasets
    from sklearn.cluster import KMeans, kmeans_plusplus
    from sklearn.decomposition import PCA

    X = datasets.fashion_mnist()[0].astype(np.float64)
    Z = PCA(N_COMPONENTS, random_state=0).fit_transform(X)
    Z = np.ascontiguousarray(Z[np.argsort(Z[:, 0], kind="stable")])
    rows_path = os.path.join(cache, "rows.npy")
    np.save(rows_path, Z)
    rng = np.random.RandomState(seed)
    sample = Z[np.sort(rng.choice(len(Z), 20_000, replace=False))]
    init, _ = kmeans_plusplus(sample, K, random_state=seed)
    init_path = os.path.join(cache, f"init-{seed}.npy")
    np.save(init_path, init)
    t = time.perf_counter()
    km = KMeans(K, init=init, n_init=1, random_state=seed).fit(Z)
    meta = {"rows": rows_path, "init": init_path, "n_rows": len(Z), "n_features": N_COMPONENTS, "k": K,
            "kmeans_inertia": float(km.inertia_) / len(Z), "kmeans_iter": int(km.n_iter_),
            "kmeans_seconds": time.perf_counter() - t, "seed": seed}
    with open(meta_path, "w") as f:
        json.dump(meta, f)
    return meta


def halves(n: int, parts: int = 2):
    bounds = np.linspace(0, n, parts + 1).astype(int)
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))


def load_rows(path: str, lo: int, hi: int):
    return np.ascontiguousarray(np.load(path, mmap_mode="r")[lo:hi])


# ---------------------------------------------------------------------- on the workers
def snapshot(snap_dir, label, centers):
    """The monitor: write the task's centroids to a file (untimed by the fit's clock)."""
    from distributed import get_worker

    name = str(get_worker().name)
    np.save(os.path.join(snap_dir, f"{label}__{name}__{time.time():.6f}.npy"), centers)


# ---------------------------------------------------------------------- the driver (next to the scheduler)
def drive(args, client=None):
    import warnings
    from functools import partial

    import dask
    import dask.array as da
    from distributed import Client, wait

    from dask_asgd import ASGDKMeans, Monitor

    warnings.simplefilter("ignore")
    meta = prepare(args.cache)
    client = client or Client(args.scheduler, timeout=30)
    workers = sorted(client.scheduler_info()["workers"], key=lambda a: str(client.scheduler_info()["workers"][a]["name"]))
    n, d = meta["n_rows"], meta["n_features"]
    bounds = halves(n, len(workers))
    futures = [client.submit(load_rows, meta["rows"], lo, hi, workers=[w], pure=False)
               for (lo, hi), w in zip(bounds, workers)]
    wait(futures)
    X = da.concatenate([da.from_delayed(dask.delayed(f), shape=(hi - lo, d), dtype=np.float64)
                        for f, (lo, hi) in zip(futures, bounds)])
    init = np.load(meta["init"])
    if args.start:
        return measure_start(X, init)
    names = {str(client.scheduler_info()["workers"][w]["name"]): i for i, w in enumerate(workers)}
    # warm-up, untimed: compiles the kernels on the workers and pays a first fit's one-time costs
    ASGDKMeans(K, init=init, n_init=1, max_iter=2, tol=0, max_time=2.0, random_state=0).fit(X)
    settings = args.settings.split(",")
    runs = []
    for rpt in range(args.repeats):  # each repeat in a rotated order
        j = rpt % len(settings)
        runs += [(rpt, s) for s in settings[j:] + settings[:j]]
    for rpt, setting in runs:
        si = None if setting == "none" else ("auto" if setting == "auto" else int(setting))
        label = f"{setting}-{rpt}-{int(time.time() * 1000)}"
        est = ASGDKMeans(K, init=init, n_init=1, max_iter=10**6, tol=0, max_time=args.budget,
                         sync_interval=si, random_state=0)
        print(f"FIT {label}", flush=True)
        t0 = time.time()
        est.fit(X, monitor=Monitor(partial(snapshot, args.snap_dir, label), every=args.every))
        wall = time.time() - t0
        rep = est.fit_report_
        tasks = rep.tasks
        row = {"setting": setting, "repeat": rpt, "label": label, "t0": t0, "fit_seconds": wall,
               "train_seconds": float(tasks["seconds"].max()), "final_inertia": float(est.inertia_) / n,
               "sent": int(tasks["sent"].sum()), "merged": int(tasks["merged"].sum()),
               "rejected": int(tasks["rejected"].sum()), "bytes_sent": int(tasks["bytes_sent"].sum()),
               "samples": int(rep.samples_seen), "shard_of": names,
               "task_worker": {str(t): str(w) for t, w in tasks["worker"].items()}}
        h = rep.history
        if setting == "auto" and len(h):
            row["history"] = {str(w): {"time": (g["clock"] - t0).round(3).tolist(),
                                       "sync_interval": g["sync_interval"].tolist(),
                                       "n_blocks": g["n_blocks"].tolist(),
                                       **{c: g[c].round(1).tolist() for c in ("capacity", "backlog_bytes", "coalesced",
                                                                              "batch_rate", "bytes_sent") if c in g}}
                              for w, g in h.groupby("worker")}
        print(json.dumps(row), flush=True)


def measure_start(X, init, repeats=3):
    """``--start``: the start's 20,000-row sample drawn as ASGDKMeans draws it (each block's rows
    taken where the block sits) and by indexing the whole Dask array, and a fit of 0.2 s of
    training (seconds, one JSON line per repeat)."""
    from dask_asgd import ASGDKMeans
    from dask_asgd._paused import compute_input
    from dask_asgd.cluster import INIT_SAMPLE_ROWS, _take_rows

    idx = np.sort(np.random.RandomState(0).choice(X.shape[0], INIT_SAMPLE_ROWS, replace=False))
    ASGDKMeans(K, init=init, n_init=1, max_iter=1, tol=0, max_time=1.0, random_state=0).fit(X)
    for rpt in range(repeats):
        t = time.time()
        rows = _take_rows(X, idx)
        by_block = time.time() - t
        t = time.time()
        whole = compute_input(X[idx])[0]
        indexed = time.time() - t
        assert np.array_equal(rows, whole)
        t = time.time()
        km = ASGDKMeans(K, init=init, n_init=1, max_iter=10**6, tol=0, max_time=0.2, random_state=0,
                        compute_labels=False, sync_interval=None).fit(X)
        fit = time.time() - t
        print(json.dumps({"start": True, "repeat": rpt, "sample_mb": rows.nbytes / 1e6, "by_block_s": by_block,
                          "whole_array_s": indexed, "fit_s": fit,
                          "train_s": float(km.fit_report_.tasks["seconds"].max())}), flush=True)


# ---------------------------------------------------------------------- the model at each snapshot
def _nearest(X, C, chunk=8192):
    """Labels and squared distances of X's rows to their nearest row of C (BLAS)."""
    cn = np.einsum("ij,ij->i", C, C)
    labels = np.empty(len(X), np.int64)
    dist = np.empty(len(X))
    for a in range(0, len(X), chunk):
        x = X[a:a + chunk]
        s = cn[None, :] - 2.0 * (x @ C.T)
        labels[a:a + chunk] = np.argmin(s, axis=1)
        dist[a:a + chunk] = np.maximum(s[np.arange(len(x)), labels[a:a + chunk]] + np.einsum("ij,ij->i", x, x), 0)
    return labels, dist


def fit_model_at(parts, centers_per_task):
    """The model the fit would return with these task states: the final combine's candidates
    (dask_asgd.models.kmeans.combine), the one of lowest inertia on every row; its inertia."""
    from types import SimpleNamespace

    import scipy.sparse as sp

    from dask_asgd.models.kmeans import combine

    k, d = centers_per_task[0].shape
    results = []
    for X, C in zip(parts, centers_per_task):
        lab, dist = _nearest(X, C)
        onehot = sp.csr_matrix((np.ones(len(X)), (lab, np.arange(len(X)))), shape=(k, len(X)))
        sums = np.asarray(onehot @ X)
        weights = np.bincount(lab, minlength=k).astype(np.float64)
        state = np.concatenate([C.ravel(), np.ones(k)])
        results.append(SimpleNamespace(task=len(results), state=state, n_samples=len(X), weight=1.0,
                                       final={"sums": sums, "weights": weights, "inertia": float(dist.sum())}))
    cand = combine(results, k, d)
    Xall = np.concatenate(parts)
    return min(float(_nearest(Xall, c)[1].mean()) for c in [cand.combined] + cand.singles)


def curve_of(row, snap_dir, parts, every_nth=1, target=None):
    """(seconds since training start, inertia) of the fit's model at worker 0's snapshots (every
    ``every_nth``, and every fourth once the model reached ``target``)."""
    files = glob.glob(os.path.join(snap_dir, f"{row['label']}__*.npy"))
    snaps = {}
    for f in files:
        _, name, t = os.path.basename(f)[:-4].split("__")
        snaps.setdefault(name, []).append((float(t), f))
    if len(snaps) < len(parts):
        return [], None
    for s in snaps.values():
        s.sort()
    order = sorted(snaps, key=lambda nm: row["shard_of"].get(nm, 0))
    start = min(s[0][0] for s in snaps.values())
    curve = []
    for i, (t, _) in enumerate(snaps[order[0]]):
        reached = target is not None and any(v <= target for _, v in curve)
        if i % (4 * every_nth if reached else every_nth) and i != len(snaps[order[0]]) - 1:
            continue
        latest = []
        for nm in order:
            before = [f for tt, f in snaps[nm] if tt <= t + 1e-3]
            latest.append(before[-1] if before else None)
        if any(f is None for f in latest):
            continue
        curve.append((t - start, fit_model_at(parts, [np.load(f) for f in latest])))
    return curve, start - row["t0"]


# ---------------------------------------------------------------------- report
def report(saved: dict, md_path: str):
    results, meta, command = saved["results"], saved["meta"], saved["command"]
    ref = meta["kmeans_inertia"]
    target = ref * TARGET_FACTOR
    links = list(results)
    settings = list(dict.fromkeys(r["setting"] for rows in results.values() for r in rows))
    lines = [
        "# ASGDKMeans on shaped links: time to the target inertia (generated by benchmarks/bench_kmeans_network.py)",
        "",
        f"    {command}",
        "",
        f"k = {meta['k']} centroids of Fashion-MNIST's 60,000 training images on {meta['n_features']} principal",
        "components (a 1 MB float64 state), rows sorted by the first component, one half per worker.",
        f"Target: KMeans(n_init=1)'s inertia from the same start x {TARGET_FACTOR} ({target:.3f} per row). Seconds",
        "from the start of training until the fit's model (the final combine of the tasks' states at that",
        "moment) first reaches it, median over the repeats (each repeat in square brackets); \"-\": not",
        "reached within the budget (the best inertia / KMeans's in round brackets). \"fit\": the fit's wall",
        "time, median; \"final\": its final model's inertia / KMeans's, median.",
        "",
    ]
    table, ttt = time_table(
        results, settings, target, lambda rows: f"- ({min((v for r in rows for _, v in r['curve']), default=math.nan) / ref:.4f})",
        lambda rows: (f" (fit {statistics.median(r['fit_seconds'] for r in rows):.1f} s,"
                      f" final {statistics.median(r['final_inertia'] for r in rows) / ref:.4f})"))
    lines += table
    lines += ["", "Against the targets (auto at most the best fixed interval x 1.2, and sooner than no exchange):", "",
              "| link | best fixed | its time | auto | auto / best fixed | no exchange | met |",
              "|---|---|---|---|---|---|---|"]
    for link in links:
        fixed = {s: t for s, t in ttt[link].items() if s.isdigit() and t is not None}
        auto, none = ttt[link].get("auto"), ttt[link].get("none")
        nn = "not reached" if none is None else f"{none:.1f}"
        if not fixed:
            lines.append(f"| {link} | no fixed interval reached the target | | "
                         f"{'-' if auto is None else f'{auto:.1f}'} | | {nn} | |")
            continue
        bs = min(fixed, key=fixed.get)
        a = f"{auto:.1f}" if auto is not None else "not reached"
        ratio = auto / fixed[bs] if auto is not None else math.inf
        met = auto is not None and ratio <= 1.2 and (none is None or auto < none)
        lines.append(f"| {link} | {bs} | {fixed[bs]:.1f} | {a} | "
                     f"{'-' if math.isinf(ratio) else f'{ratio:.2f}x'} | {nn} | {'yes' if met else 'no'} |")
    lines += ["", "Start (seconds from `fit()` to the first task's training: the shared start and the 20,000-row",
              "sample drawn over the link), median over every fit on the link:", ""]
    for link in links:
        starts = [r["start_seconds"] for r in results[link] if r.get("start_seconds") is not None]
        if starts:
            lines.append(f"- {link}: {statistics.median(starts):.1f} s")
    lines += ["", "Messages (sum over tasks, median over the repeats): sent / merged, MB sent:", "",
              "| setting | " + " | ".join(links) + " |", "|---|" + "---|" * len(links)]
    for s in settings:
        cells = []
        for link in links:
            rows = [r for r in results[link] if r["setting"] == s]
            cells.append(f"{statistics.median(r['sent'] for r in rows):.0f} / "
                         f"{statistics.median(r['merged'] for r in rows):.0f}, "
                         f"{statistics.median(r['bytes_sent'] for r in rows) / 1e6:.0f}" if rows else "")
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    lines += [""] + auto_choices(results)
    lines.append("")
    os.makedirs(os.path.dirname(os.path.abspath(md_path)), exist_ok=True)
    with open(md_path, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


# ---------------------------------------------------------------------- the lab
def parse_link(link):
    """(base rate or None, drop) where drop is (rate, start s, end s) or None."""
    if ">" in link:
        base, rest = link.split(">")
        rate, when = rest.split("@")
        a, b = when.split("-")
        return base, (rate, float(a), float(b))
    return (None if link == "unlimited" else link), None


def run_link(link, args, parts, target=None):
    rows = []
    if link == "local":
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl, \
                Client(cl) as client:
            import contextlib
            import io

            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                drive(args, client)
            lines = buf.getvalue().splitlines()
    else:
        from netlab import NetLab

        base, drop = parse_link(link)
        with NetLab(n_workers=2) as lab:
            for i in range(2):
                lab.shape(f"w{i}", base)
            lab.start_cluster()
            cmd = [sys.executable, os.path.abspath(__file__), "--drive", "--scheduler", lab.scheduler,
                   "--settings", args.settings, "--budget", str(args.budget), "--every", str(args.every),
                   "--repeats", str(args.repeats), "--cache", args.cache, "--snap-dir", args.snap_dir]
            cmd += ["--start"] if args.start else []
            proc = subprocess.Popen(["ip", "netns", "exec", lab.ns("s")] + cmd, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            err = []
            threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True).start()
            lines, timers = [], []
            for line in proc.stdout:
                lines.append(line)
                if line.startswith("FIT ") and drop is not None:
                    for t in timers:
                        t.cancel()
                    lab.change("w0", base)
                    rate, a, b = drop
                    timers = [threading.Timer(a, lab.change, ("w0", rate)), threading.Timer(b, lab.change, ("w0", base))]
                    for t in timers:
                        t.start()
            proc.wait()
            for t in timers:
                t.cancel()
            if proc.returncode != 0:
                print(f"the driver failed on link {link}:\n{''.join(err)[-3000:]}", file=sys.stderr)
    for line in lines:
        if line.startswith("{"):
            row = json.loads(line)
            if row.get("start"):
                rows.append(row)
                continue
            row["curve"], row["start_seconds"] = curve_of(row, args.snap_dir, parts, args.every_nth, target)
            rows.append(row)
            for f in glob.glob(os.path.join(args.snap_dir, f"{row['label']}__*.npy")):
                os.remove(f)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--links", default="10mbit,100mbit,1gbit>5mbit@1-6")
    ap.add_argument("--settings", default="auto,none,1,4,16,64",
                    help="comma-separated: auto, none (no exchange) or a fixed interval in mini-batches")
    ap.add_argument("--budget", type=float, default=16.0, help="seconds of training per fit (max_time)")
    ap.add_argument("--every", type=float, default=0.5, help="seconds between the tasks' snapshots")
    ap.add_argument("--every-nth", type=int, default=1, help="rebuild the model at every n-th snapshot only")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cache", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "dask-asgd-kmeans-net"))
    ap.add_argument("--snap-dir", default=None)
    ap.add_argument("--out", default=os.path.join(RESULTS, "kmeans_network.json"))
    ap.add_argument("--md", default=os.path.join(RESULTS, "kmeans_network.md"))
    ap.add_argument("--report", default=None, help="only redo the tables from this JSON")
    ap.add_argument("--start", action="store_true",
                    help="only time the start on each link: the sample drawn block by block and by indexing the whole "
                         "array, and a fit of 0.2 s of training (medians printed)")
    ap.add_argument("--drive", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--scheduler", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.snap_dir = args.snap_dir or os.path.join(args.cache, "snapshots")
    if args.drive:
        return drive(args)
    if args.report:
        with open(args.report) as f:
            return report(json.load(f), args.md)
    command = ("sudo " if args.links != "local" else "") + "python benchmarks/bench_kmeans_network.py " + " ".join(sys.argv[1:])
    meta = prepare(args.cache)
    print(f"KMeans(n_init=1): inertia {meta['kmeans_inertia']:.4f} per row, {meta['kmeans_iter']} iterations, "
          f"{meta['kmeans_seconds']:.0f} s", flush=True)
    shutil.rmtree(args.snap_dir, ignore_errors=True)
    os.makedirs(args.snap_dir, exist_ok=True)
    os.chmod(args.snap_dir, 0o777)
    Z = np.load(meta["rows"])
    parts = [Z[lo:hi] for lo, hi in halves(len(Z))]
    target = meta["kmeans_inertia"] * TARGET_FACTOR
    results = {}
    if args.start:
        for link in args.links.split(","):
            rows = run_link(link, args, parts, target)
            med = {k: statistics.median(r[k] for r in rows) for k in ("by_block_s", "whole_array_s", "fit_s", "train_s")}
            print(f"{link}: sample of {rows[0]['sample_mb']:.1f} MB: block by block {med['by_block_s']:.1f} s, "
                  f"indexing the whole array {med['whole_array_s']:.1f} s; a fit of {med['train_s']:.2f} s of "
                  f"training: {med['fit_s']:.1f} s (medians of {len(rows)})", flush=True)
        return
    for link in args.links.split(","):
        rows = run_link(link, args, parts, target)
        results[link] = rows
        for row in rows:
            t = time_to(row["curve"], target)
            print(f"{link:>18} {row['setting']:>5}: to target "
                  + (f"{t:5.1f} s" if t is not None else "  not reached")
                  + f"  best {min((v for _, v in row['curve']), default=float('nan')) / meta['kmeans_inertia']:.4f}"
                  f"  final {row['final_inertia'] / meta['kmeans_inertia']:.4f}  fit {row['fit_seconds']:5.1f} s"
                  f"  start {row['start_seconds'] or float('nan'):.1f} s  sent {row['sent']}  merged {row['merged']}"
                  f"  MB {row['bytes_sent'] / 1e6:.0f}", flush=True)
        os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
        with open(args.out, "w") as f:
            json.dump({"command": command, "meta": meta, "results": results}, f)
    report({"command": command, "meta": meta, "results": results}, args.md)


if __name__ == "__main__":
    main()
