"""A first look at the real data sets: SGDClassifier vs dask-asgd (2 tasks, auto), log_loss, 5 epochs.

    python benchmarks/bench_real_quick.py

One fit each (random_state 0), wall time of fit() and held-out accuracy, on an in-process cluster
of 2 single-thread workers (started, and the kernels compiled, before timing). The full comparison
(issue 4: time to target, dask-ml, plots) is still to be built.
"""
import sys, time, warnings; warnings.simplefilter("ignore")
sys.path.insert(0, __import__("os").path.dirname(__file__))
from datasets import fashion_mnist, flights, synthetic_sparse
from distributed import Client, LocalCluster
from sklearn.linear_model import SGDClassifier
from dask_asgd import ASGDClassifier
if __name__ == "__main__":
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None, silence_logs=50) as c, Client(c):
        for name, load in [("fashion_mnist", fashion_mnist), ("flights", flights), ("synthetic sparse", synthetic_sparse)]:
            Xtr, Xte, ytr, yte = load()
            t = time.perf_counter(); sk = SGDClassifier(loss="log_loss", max_iter=5, tol=None, random_state=0).fit(Xtr, ytr); tsk = time.perf_counter() - t
            ASGDClassifier(loss="log_loss", max_iter=1, tol=None).fit(Xtr[:2000], ytr[:2000])
            t = time.perf_counter(); a = ASGDClassifier(loss="log_loss", max_iter=5, tol=None, random_state=0).fit(Xtr, ytr); ta = time.perf_counter() - t
            print(f"{name}: SGDClassifier {tsk:.2f} s acc {sk.score(Xte, yte):.4f} | dask-asgd 2 tasks {ta:.2f} s acc {a.score(Xte, yte):.4f}", flush=True)
