"""The exchange's goal, measured in pairs: does exchanging reach the target no later than training
apart? The suite's sets, 2 workers, several seeds, the settings interleaved fit by fit on one
cluster.

    python benchmarks/bench_exchange_goal.py [--datasets fashion_mnist,...] [--seeds 5]
        [--max-epochs 8] [--out-json docs/results/exchange-goal/goal.json]

The suite (bench_suite.py) runs every method in its own subprocess, one after the other, with one
seed; two subprocesses computing the same model differ in time by up to a third on this machine,
and a seed moves Fashion-MNIST's held-out accuracy by more than the margin between the target and
the score at the crossing epoch. Both are the size of what the exchange's goal asks about. Here
every setting runs in one process on one in-process ``LocalCluster(n_workers=2,
threads_per_worker=1, processes=False)``, with ``random_state`` 0 .. ``--seeds`` - 1, the settings
of one seed one after the other (their order rotated from seed to seed), so that each fit of an
exchanging setting has the no-exchange fit of the same seed and epochs next to it in time.

Data: the suite's cached sets (prepared, and installed from the registries, by the suite's own
code on first use). Target: the held-out score scikit-learn's SGD reaches after 5 epochs
(``--target-epochs``), the suite's parameters and seed, fitted once in this process. Settings
(all 2 workers, the suite's loss and schedule):

- ``none``: ``sync_interval=None``, train apart and average at the end;
- ``auto``: ``sync_interval="auto"``, the default (on the random shards of in-memory input it
  does not exchange, docs/design.md);
- ``exchange``: "auto" told to exchange on random shards too
  (``dask-asgd.balance.exchange-random-shards``), Parzen test on;
- ``exchange-noparzen``: the same with ``parzen=False`` (every state merged).

For epochs k = 1, 2, ... each (seed, setting) that has not reached the target is fitted once with
``max_iter=k, tol=None``; its crossing epoch is the first k whose held-out score reaches the
target. Printed per set: per epoch and setting, over the seeds not yet at the target (all of them
at epoch 1), the median time, the median, mean and standard deviation of the score, how many
reached the target, and the states sent / merged / rejected a fit (the Parzen test's work); per setting the crossing epoch of every seed, how often
it crossed an epoch later or sooner than ``none`` with the same seed, and the median of the
paired ratios time(setting at its crossing) / time(none at its crossing), seed by seed.
"""

import argparse
import json
import logging
import os
import statistics
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_suite as S  # noqa: E402

SETTINGS = {
    "none": (dict(sync_interval=None), {}),
    "auto": (dict(sync_interval="auto"), {}),
    "exchange": (dict(sync_interval="auto"), S.EXCHANGING),
    "exchange-noparzen": (dict(sync_interval="auto", parzen=False), S.EXCHANGING),
}


def ensure_data(dataset):
    stem = S.cache_stem(S.DEFAULT_CACHE, dataset, 1.0)
    if not os.path.exists(f"{stem}-info.json"):
        os.makedirs(S.DEFAULT_CACHE, exist_ok=True)
        print(f"# preparing {dataset} (installs its package on first use)", flush=True)
        S.prepare(dataset, 1.0, stem)
    return S.load(stem)


def sklearn_target(task, Xtr, Xte, ytr, yte, epochs):
    from sklearn.linear_model import SGDClassifier, SGDRegressor

    cls = SGDClassifier if task == "classification" else SGDRegressor
    est = cls(max_iter=epochs, tol=None, random_state=S.SEED, **S.sgd_params(task))
    t0 = time.perf_counter()
    est.fit(Xtr, ytr)
    t = time.perf_counter() - t0
    with S.scoring():
        score = S.evaluate(task, yte, est.predict(Xte))[0]
    return score, t


def run_dataset(dataset, names, args):
    import dask

    from dask_asgd import ASGDClassifier, ASGDRegressor

    task = S.DATASETS[dataset][0]
    Xtr, Xte, ytr, yte = ensure_data(dataset)
    target, sk_seconds = sklearn_target(task, Xtr, Xte, ytr, yte, args.target_epochs)
    print(f"\n## {dataset}: {Xtr.shape[0]:,} x {Xtr.shape[1]:,}; target {target:.4f} "
          f"(scikit-learn SGD, {args.target_epochs} epochs, {sk_seconds:.3f} s)", flush=True)
    cls = ASGDClassifier if task == "classification" else ASGDRegressor
    seeds = list(range(args.seeds))
    # fits[name][seed][k] = (seconds, score, sent, merged, rejected)
    fits = {n: {s: {} for s in seeds} for n in names}
    crossed = {n: {} for n in names}  # name -> seed -> first epoch at or above the target
    for n in names:  # one untimed small fit per setting: numba's kernels, the plugins
        params, config = SETTINGS[n]
        with dask.config.set(config):
            cls(max_iter=1, tol=None, random_state=0, **params, **S.sgd_params(task)).fit(Xtr[:2000], ytr[:2000])
    for k in range(1, args.max_epochs + 1):
        if all(len(crossed[n]) == len(seeds) for n in names):
            break
        for s in seeds:
            active = [n for n in names if s not in crossed[n]]
            order = active[s % max(1, len(active)):] + active[: s % max(1, len(active))]
            for n in order:
                params, config = SETTINGS[n]
                with dask.config.set(config):
                    est = cls(max_iter=k, tol=None, random_state=s, **params, **S.sgd_params(task))
                    t0 = time.perf_counter()
                    est.fit(Xtr, ytr)
                    t = time.perf_counter() - t0
                with S.scoring():
                    score = S.evaluate(task, yte, est.predict(Xte))[0]
                tasks = est.fit_report_.tasks
                counts = [int(tasks[c].sum()) if c in tasks else 0 for c in ("sent", "merged", "rejected")]
                fits[n][s][k] = (t, score, *counts)
                if score >= target:
                    crossed[n][s] = k
        for n in names:
            rows = [fits[n][s][k] for s in seeds if k in fits[n][s]]
            if rows:
                sd = statistics.stdev(x[1] for x in rows) if len(rows) > 1 else float("nan")
                print(f"  {n:18s} {k} epochs, {len(rows)} seeds: median {statistics.median(x[0] for x in rows):.3f} s, "
                      f"score median {statistics.median(x[1] for x in rows):.4f} mean "
                      f"{statistics.mean(x[1] for x in rows):.4f} sd {sd:.4f}, at or above the target "
                      f"{sum(x[1] >= target for x in rows)}; states sent / merged / rejected a fit "
                      f"{statistics.mean(x[2] for x in rows):.1f} / {statistics.mean(x[3] for x in rows):.1f} / "
                      f"{statistics.mean(x[4] for x in rows):.1f}", flush=True)
    out = {"target": target, "sklearn_seconds": sk_seconds,
           "crossed": {n: {str(s): k for s, k in c.items()} for n, c in crossed.items()},
           "fits": {n: {str(s): {str(k): v for k, v in d.items()} for s, d in fs.items()} for n, fs in fits.items()},
           "summary": {}}
    print(f"  -- {dataset}: epoch of crossing per seed, median time at it, paired ratio to none seed by seed")
    for n in names:
        got = [s for s in seeds if s in crossed[n]]
        epochs = [crossed[n].get(s) for s in seeds]
        entry = {"epochs": epochs, "reached": len(got)}
        line = f"  {n:18s} epochs {['-' if e is None else e for e in epochs]}"
        if got:
            secs = [fits[n][s][crossed[n][s]][0] for s in got]
            entry["seconds"] = statistics.median(secs)
            line += f", median {entry['seconds']:.3f} s"
        if n != "none":
            pairs = [s for s in got if s in crossed["none"]]
            later = sum(1 for s in seeds if s in crossed["none"] and (s not in crossed[n] or crossed[n][s] > crossed["none"][s]))
            sooner = sum(1 for s in pairs if crossed[n][s] < crossed["none"][s])
            entry.update(later_epoch=later, sooner_epoch=sooner)
            line += f"; against none an epoch later in {later}, sooner in {sooner} of {len(seeds)} seeds"
            if pairs:
                ratios = [fits[n][s][crossed[n][s]][0] / fits["none"][s][crossed["none"][s]][0] for s in pairs]
                entry.update(ratio=statistics.median(ratios), at_or_below=sum(x <= 1 for x in ratios), pairs=len(ratios))
                line += f"; time / none {entry['ratio']:.2f} (at or below 1 in {entry['at_or_below']} of {len(ratios)})"
        out["summary"][n] = entry
        print(line, flush=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default=",".join(S.DATASETS))
    ap.add_argument("--settings", default=",".join(SETTINGS), help="of: " + ", ".join(SETTINGS))
    ap.add_argument("--seeds", type=int, default=5, help="random_state 0 .. seeds-1, each setting")
    ap.add_argument("--max-epochs", type=int, default=8)
    ap.add_argument("--target-epochs", type=int, default=5)
    ap.add_argument("--out-json", default=None)
    args = ap.parse_args()
    names = [s for s in args.settings.split(",") if s]
    for n in names:
        if n not in SETTINGS:
            sys.exit(f"unknown setting {n!r}; known: {', '.join(SETTINGS)}")
    if "none" not in names:
        names.insert(0, "none")
    datasets = [d for d in args.datasets.split(",") if d]
    for d in datasets:
        if d not in S.DATASETS:
            sys.exit(f"unknown data set {d!r}; known: {', '.join(S.DATASETS)}")
    warnings.simplefilter("ignore")
    from distributed import Client, LocalCluster

    report = {"command": " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:]),
              "machine": S.machine_info(), "versions": S.versions(), "seeds": args.seeds,
              "datasets": {}}
    t0 = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster):
        for d in datasets:
            report["datasets"][d] = run_dataset(d, names, args)
    report["seconds"] = time.perf_counter() - t0
    print(f"\n# {report['seconds']:.0f} s", flush=True)
    if args.out_json:
        os.makedirs(os.path.dirname(os.path.abspath(args.out_json)), exist_ok=True)
        with open(args.out_json, "w") as f:
            json.dump(report, f, indent=1, default=float)


if __name__ == "__main__":
    main()
