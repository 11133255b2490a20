"""Does a merged state change the model a fit returns? Three checks (in-process cluster, 2 tasks).

    python benchmarks/probe_merge_effect.py coef       # 400,000 x 100, 5 epochs: |coef(64) - coef(none)|
    python benchmarks/probe_merge_effect.py smallstep  # constant eta0=3e-8, 4 s fits: loss curves
    python benchmarks/probe_merge_effect.py noniid     # dask partitions sorted along a feature

``coef`` fits with ``sync_interval=None``, ``64`` and ``"auto"`` (same seeds) and prints the
largest difference of the final coefficients and the tasks' merge counts. ``smallstep`` prints
the held-out log loss of the averaged model over time (a ``Monitor``) for no exchange, auto and
16, two seeds. ``noniid`` trains a dask array of two partitions sorted along an informative
direction (each task sees a different part of the input space) with no exchange and interval 1
and prints the held-out log loss and accuracy over two seeds (``noniid iid`` for the rows in
random order).
"""

import sys
import warnings

import numpy as np
from distributed import Client, LocalCluster
from sklearn.datasets import make_classification
from sklearn.metrics import accuracy_score, log_loss

from dask_asgd import ASGDClassifier, Monitor
from dask_asgd.monitor import averaged_trace


def binary_log_loss(y, margins):
    p = np.clip(1 / (1 + np.exp(-np.ravel(margins))), 1e-15, 1 - 1e-15)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def coef():
    X, y = make_classification(400_000, 100, n_informative=20, random_state=0)
    res = {}
    for si in [None, 64, "auto"]:
        est = ASGDClassifier(loss="log_loss", max_iter=5, tol=None, sync_interval=si, random_state=0).fit(X, y)
        res[si] = est.coef_.ravel().copy()
        print(f"sync_interval={si!r}: merged per task {est.fit_report_.tasks['merged'].tolist()}")
    print(f"max |coef(64) - coef(None)| = {np.abs(res[64] - res[None]).max():.3g}, "
          f"max |coef(auto) - coef(None)| = {np.abs(res['auto'] - res[None]).max():.3g}, "
          f"max |coef| = {np.abs(res[None]).max():.3g}")


def smallstep():
    X, y = make_classification(1_005_000, 100, n_informative=20, random_state=0)
    Xv, yv, X, y = X[1_000_000:], y[1_000_000:], X[:1_000_000], y[:1_000_000]
    for seed in range(2):
        for si in [None, "auto", 16]:
            est = ASGDClassifier(loss="log_loss", learning_rate="constant", eta0=3e-8, max_iter=1000, tol=None,
                                 max_time=4, sync_interval=si, random_state=seed)
            est.fit(X, y, monitor=Monitor(lambda c, b, Xv=Xv: Xv @ c.T + b, every=0.25))
            rep = est.fit_report_
            pts = [(t, binary_log_loss(yv, v)) for t, v in averaged_trace(rep.trace, rep.tasks["n_samples"])]
            sel = [pts[int(i)] for i in np.linspace(0, len(pts) - 1, 8)]
            print(f"seed {seed} sync_interval={si!r}: merged {int(rep.tasks['merged'].sum())}, samples "
                  f"{rep.samples_seen:,}; s:loss " + " ".join(f"{t:.1f}:{v:.4f}" for t, v in sel), flush=True)


def noniid(order_kind):
    import dask.array as da

    X, y = make_classification(1_050_000, 100, n_informative=20, n_clusters_per_class=4, random_state=0)
    Xte, yte, X, y = X[1_000_000:], y[1_000_000:], X[:1_000_000], y[:1_000_000]
    order = np.arange(len(y)) if order_kind == "iid" else np.argsort(X[:, 0] + 0.5 * X[:, 1])
    dX = da.from_array(X[order], chunks=(500_000, 100)).persist()
    dy = da.from_array(y[order], chunks=500_000).persist()
    for si in ([None] if order_kind == "iid" else [None, 1]):
        res = []
        for seed in range(2):
            est = ASGDClassifier(loss="log_loss", max_iter=5, tol=None, sync_interval=si, random_state=seed).fit(dX, dy)
            res.append((log_loss(yte, est.predict_proba(Xte)), accuracy_score(yte, est.predict(Xte)),
                        int(est.fit_report_.tasks["merged"].sum())))
        print(f"{order_kind} partitions, sync_interval={si!r}: held-out log loss "
              + " ".join(f"{r[0]:.4f}" for r in res) + "  accuracy " + " ".join(f"{r[1]:.4f}" for r in res)
              + f"  merged {[r[2] for r in res]}", flush=True)


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    what = sys.argv[1] if len(sys.argv) > 1 else "coef"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster):
        ASGDClassifier(max_iter=1).fit(np.random.rand(1000, 100), np.arange(1000) % 2)  # compile
        if what == "coef":
            coef()
        elif what == "smallstep":
            smallstep()
        else:
            noniid(sys.argv[2] if len(sys.argv) > 2 else "sorted")
