"""dask-asgd on real, shaped links: the scheduler and each worker in its own network namespace.

    sudo python benchmarks/bench_network.py [--links unlimited,100mbit,10mbit,10mbit/100mbit] \
        [--settings auto,1,16,256,none] [--seconds 1,2,4] [--out benchmarks/results/network.json]

Needs root, iproute2 and tc (tbf). Each link condition shapes the workers' links (``A/B``: worker
0 at A, worker 1 at B), starts a fresh scheduler and two single-thread workers, and runs one fit
per setting and training budget (``--seconds``, passed as max_time). The data are generated on the workers (a dask array of
sparse blocks: nothing crosses the shaped links but model states): 10 classes, 100,000 features,
50 non-zeros a row, so a float64 state is 8 MB. Prints, per setting, the held-out log loss reached
and, per worker, the median sync interval and message blocks the balancer chose.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

N_FEATURES = 100_000
N_CLASSES = 10
NNZ = 50
ROWS_PER_PART = 20_000
N_PARTS = 8


N_INFORMATIVE = 1_000  # the label depends on these features only; the others are noise


def make_part(seed, rows=ROWS_PER_PART):
    """A block of the synthetic problem: CSR rows and labels from a fixed true model.

    Half of a row's non-zeros fall on the informative features, half on the 99,000 others, so
    the model (10 x 100,000) is big while the problem stays learnable in seconds.
    """
    import numpy as np
    import scipy.sparse as sp

    truth = np.random.default_rng(12345)
    W = truth.standard_normal((N_CLASSES, N_INFORMATIVE))
    rng = np.random.default_rng(seed)
    half = NNZ // 2
    idx = np.concatenate([rng.integers(0, N_INFORMATIVE, size=(rows, half)),
                          rng.integers(N_INFORMATIVE, N_FEATURES, size=(rows, NNZ - half))], axis=1)
    vals = rng.standard_normal((rows, NNZ)) / np.sqrt(NNZ)  # ||x|| about 1
    scores = np.einsum("rkn,rn->rk", W[:, idx[:, :half]].transpose(1, 0, 2), vals[:, :half])
    y = np.argmax(scores * 3.0 + rng.standard_normal(scores.shape) * 0.5, axis=1)
    # (built last: csr_matrix shares vals, and sum_duplicates reorders it in place)
    X = sp.csr_matrix((vals.ravel(), idx.ravel(), np.arange(0, rows * NNZ + 1, NNZ)), shape=(rows, N_FEATURES))
    X.sum_duplicates()
    return X, y


def drive(args):
    """Runs next to the scheduler: fits and measures, prints one JSON line."""
    import warnings

    import dask
    import dask.array as da
    import numpy as np
    import scipy.sparse as sp
    from distributed import Client
    from sklearn.metrics import log_loss

    from dask_asgd import ASGDClassifier

    warnings.simplefilter("ignore")
    client = Client(args.scheduler, timeout=30)
    parts = [dask.delayed(make_part, pure=True)(1000 + i) for i in range(N_PARTS)]
    X = da.concatenate([da.from_delayed(p[0], shape=(ROWS_PER_PART, N_FEATURES), dtype=np.float64,
                                        meta=sp.csr_matrix((0, N_FEATURES))) for p in parts])
    y = da.concatenate([da.from_delayed(p[1], shape=(ROWS_PER_PART,), dtype=np.int64) for p in parts])
    X, y = client.persist([X, y])
    Xte, yte = make_part(7, rows=20_000)
    out = []
    for setting, budget in [(s_, float(b)) for s_ in args.settings.split(",") for b in args.seconds.split(",")]:
        si = None if setting == "none" else ("auto" if setting == "auto" else int(setting))
        est = ASGDClassifier(loss="log_loss", alpha=1e-4, max_iter=10_000, tol=None, max_time=budget,
                             sync_interval=si, random_state=0)
        t0 = time.time()
        est.fit(X, y)
        wall = time.time() - t0
        loss = log_loss(yte, est.predict_proba(Xte), labels=est.classes_)
        rep = est.fit_report_
        row = {"setting": setting, "budget": budget, "fit_seconds": wall, "log_loss": loss,
               "sent": int(rep.tasks["sent"].sum()), "merged": int(rep.tasks["merged"].sum()),
               "rejected": int(rep.tasks["rejected"].sum()), "samples": int(rep.samples_seen)}
        h = rep.history
        if len(h):
            late = h[h["time"] > h["time"].max() / 2]
            row["interval_by_worker"] = late.groupby("worker")["sync_interval"].median().to_dict()
            row["blocks_by_worker"] = late.groupby("worker")["n_blocks"].median().to_dict()
        if args.verbose:
            print(f"fit wall {wall:.2f} s, submit to gathered {rep.seconds:.2f} s", file=sys.stderr)
            print(rep.tasks.to_string(), file=sys.stderr)
            cols = [c for c in ("time", "worker", "sync_interval", "n_blocks", "batch_rate", "sent", "bytes_sent",
                                "send_seconds", "coalesced", "backlog_bytes", "received", "merged") if c in h]
            print(h[cols].to_string(max_rows=30), file=sys.stderr)
        out.append(row)
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--links", default="unlimited,100mbit,10mbit,10mbit/100mbit")
    ap.add_argument("--settings", default="auto,1,16,256,none")
    ap.add_argument("--seconds", default="1,2,4", help="training budgets (max_time) to try, comma-separated")
    ap.add_argument("--out", default=None)
    ap.add_argument("--verbose", action="store_true", help="print each fit's task table and history")
    ap.add_argument("--drive", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--scheduler", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.drive:
        return drive(args)

    sys.path.insert(0, os.path.dirname(__file__))
    from netlab import NetLab

    results = {}
    for link in args.links.split(","):
        rates = link.split("/") if "/" in link else [link, link]
        with NetLab(n_workers=2) as lab:
            for i, r in enumerate(rates):
                lab.shape(f"w{i}", None if r == "unlimited" else r)
            lab.start_cluster()
            r = lab.run_driver([sys.executable, os.path.abspath(__file__), "--drive", "--scheduler", lab.scheduler,
                                "--settings", args.settings, "--seconds", args.seconds]
                               + (["--verbose"] if args.verbose else []),
                               timeout=600, check=False)
            if r.returncode != 0:
                raise RuntimeError(f"the driver failed on link {link}:\n{r.stderr[-3000:]}")
            if args.verbose:
                print(r.stderr, file=sys.stderr)
            rows = json.loads(r.stdout.strip().splitlines()[-1])
        results[link] = rows
        print(f"## link {link}")
        for row in rows:
            extra = ""
            if "interval_by_worker" in row:
                extra = "  interval/blocks by worker: " + ", ".join(
                    f"{w.split('//')[-1]}: {row['interval_by_worker'][w]:.0f}/{row['blocks_by_worker'][w]:.0f}"
                    for w in sorted(row["interval_by_worker"]))
            print(f"{row['setting']:>6} {row['budget']:4.1f} s (fit {row['fit_seconds']:5.1f} s): "
                  f"held-out log loss {row['log_loss']:.4f}  samples {row['samples']:,}  "
                  f"sent {row['sent']}  merged {row['merged']}  rejected {row['rejected']}{extra}", flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
