"""Does the exchange earn its keep? ASGDKMeans with and without it, on random and on sorted shards.

    python benchmarks/bench_kmeans_exchange.py [--datasets flights20,fashion10] [--seeds 5] [--epochs 5,20]
    python benchmarks/bench_kmeans_exchange.py --configs none,auto,auto-state,16,16-state --merge average

For every data set and seed: one shared k-means++ start (``datasets.shared_init``, as in
bench_kmeans.py), scikit-learn's KMeans(n_init=1) from it as the reference, then ASGDKMeans with
2 workers (an in-process cluster of 2 single-thread workers) for a fixed number of epochs (tol=0)
under each setting, on two layouts of the same rows:

- ``random``: the in-memory array, which fit splits into random shards;
- ``sorted``: a Dask array of the rows sorted by one feature (``SORT_FEATURE``, or
  ``--sort-feature``), in 2 partitions: each worker holds one end of that feature's range, the
  way data partitioned by date or region sits.

Settings (``--configs``): ``none`` (sync_interval=None: trained apart, met in the final combine),
``auto`` (ASGDKMeans's defaults: no Parzen test), ``auto-state`` (the Parzen test on the received
state, parzen=True), ``auto-centroid`` (the test per centroid), and fixed intervals ``N``,
``N-state``, ``N-centroid`` (``-off`` is the same as no suffix). ``--merge`` sets dask-asgd.kmeans.merge,
``--count-memory`` dask-asgd.kmeans.count-memory, ``--combine`` dask-asgd.kmeans.combine. Prints the
median over seeds of the final inertia / KMeans's and of the fit time, and how many seeds got
within 1% of KMeans; writes the rows as JSON (``--out-json``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import warnings

import numpy as np
from datasets import KMEANS_SETS, inertia, kmeans_data, shared_init  # benchmarks/ is sys.path[0] when run as a script

HERE = os.path.dirname(os.path.abspath(__file__))


# the sorted layout's feature: flights' dep_time; Fashion-MNIST's pixel 406, the image's centre
# (its first pixels are almost always 0: sorted by them the halves hardly differ)
SORT_FEATURE = {"flights20": 0, "fashion10": 406, "fashion100": 406, "blobs100": 0}


def one_part_per_worker(client, X):
    """A Dask array of ``X``'s rows in as many contiguous partitions as the cluster has workers,
    partition ``i`` held by worker ``i`` (``persist`` may put both on one worker)."""
    import dask.array as da

    workers = sorted(client.nthreads())
    parts = np.array_split(np.ascontiguousarray(X), len(workers))
    futures = [client.scatter(p, workers=[w]) for p, w in zip(parts, workers)]
    return da.concatenate([da.from_delayed(f, shape=p.shape, dtype=p.dtype) for f, p in zip(futures, parts)])


def parse_config(name):
    parts = name.split("-")
    sync = None if parts[0] == "none" else ("auto" if parts[0] == "auto" else int(parts[0]))
    parzen = False  # ASGDKMeans's default
    if len(parts) > 1:
        parzen = {"off": False, "centroid": "centroid", "state": True}[parts[1]]
    return sync, parzen


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default="flights20,fashion10")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", default="5,20", help="epochs (tol=0) of each fit; 0: the defaults, "
                    "max_iter=100 and tol=1e-4")
    ap.add_argument("--configs", default="none,auto,auto-state,auto-centroid,16,16-state")
    ap.add_argument("--layouts", default="random,sorted")
    ap.add_argument("--merge", default="weighted")
    ap.add_argument("--count-memory", default=None, help="dask-asgd.kmeans.count-memory")
    ap.add_argument("--combine", default=None, help="dask-asgd.kmeans.combine")
    ap.add_argument("--sort-feature", type=int, default=None,
                    help="the feature the sorted layout sorts by (default: SORT_FEATURE of the data set)")
    ap.add_argument("--fraction", type=float, default=1.0)
    ap.add_argument("--out-json", default=os.path.join(HERE, "results", "kmeans_exchange.json"))
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")

    import dask
    from distributed import Client, LocalCluster
    from sklearn.cluster import KMeans

    from dask_asgd import ASGDKMeans

    epochs = [int(e) for e in args.epochs.split(",")]
    configs = args.configs.split(",")
    rows = []
    print(f"# {platform.platform()}, {os.cpu_count()} cores, merge={args.merge}", flush=True)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cl, \
            Client(cl) as client, dask.config.set({"dask-asgd.kmeans.merge": args.merge}), \
            dask.config.set({} if args.count_memory is None else {"dask-asgd.kmeans.count-memory": args.count_memory}), \
            dask.config.set({} if args.combine is None else {"dask-asgd.kmeans.combine": args.combine}):
        for ds in args.datasets.split(","):
            X = kmeans_data(ds, args.fraction)
            k = KMEANS_SETS[ds][1]
            n, d = X.shape
            feature = SORT_FEATURE.get(ds, 0) if args.sort_feature is None else args.sort_feature
            order = np.argsort(X[:, feature], kind="stable")
            sorted_X = one_part_per_worker(client, X[order])
            layouts = {"random": X, "sorted": sorted_X}
            per = {}
            for seed in range(args.seeds):
                init = shared_init(X, k, seed)
                ref = KMeans(k, init=init, n_init=1, random_state=seed).fit(X)
                ref_inertia = inertia(X, ref.cluster_centers_)
                for layout in args.layouts.split(","):
                    for cfg in configs:
                        sync, parzen = parse_config(cfg)
                        for e in epochs:
                            t0 = time.perf_counter()
                            budget = {} if e == 0 else {"max_iter": e, "tol": 0}  # 0: the defaults
                            km = ASGDKMeans(k, init=init, sync_interval=sync, parzen=parzen, random_state=seed,
                                            **budget).fit(layouts[layout])
                            seconds = time.perf_counter() - t0
                            ratio = inertia(X, km.cluster_centers_) / ref_inertia
                            t = km.fit_report_.tasks
                            row = dict(dataset=ds, layout=layout, config=cfg, epochs=e, seed=seed, ratio=ratio,
                                       n_iter=int(km.n_iter_),
                                       seconds=seconds, sent=int(t["sent"].sum()), merged=int(t["merged"].sum()),
                                       rejected=int(t["rejected"].sum()))
                            rows.append(row)
                            per.setdefault((layout, cfg, e), []).append(row)
            print(f"\n## {ds} (n={n}, d={d}, k={k}), {args.seeds} seeds, merge={args.merge}")
            print("| layout | setting | epochs | inertia / KMeans (median) | within 1% | fit s (median) "
                  "| epochs run (median) | sent | merged | rejected |")
            print("|---|---|---|---|---|---|---|---|---|---|")
            for (layout, cfg, e), rs in per.items():
                med = statistics.median(r["ratio"] for r in rs)
                ok = sum(r["ratio"] <= 1.01 for r in rs)
                print(f"| {layout} | {cfg} | {e} | {med:.4f} | {ok}/{len(rs)} | "
                      f"{statistics.median(r['seconds'] for r in rs):.2f} | "
                      f"{statistics.median(r['n_iter'] for r in rs):g} | "
                      f"{int(statistics.median(r['sent'] for r in rs))} | {int(statistics.median(r['merged'] for r in rs))}"
                      f" | {int(statistics.median(r['rejected'] for r in rs))} |", flush=True)
    os.makedirs(os.path.dirname(args.out_json), exist_ok=True)
    with open(args.out_json, "w") as f:
        json.dump({"args": vars(args), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
