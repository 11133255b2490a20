"""How long the BLAS library's threads keep a core busy after one BLAS call (Linux).

    python benchmarks/probe_blas_spin.py
    OPENBLAS_THREAD_TIMEOUT=6 python benchmarks/probe_blas_spin.py

One matrix-vector product (``X @ c``, X 200,000 x 100 float64: what a dense ``predict`` does),
then the CPU time of the process's threads that Python did not start (the BLAS library's own),
read from /proc/self/task/*/schedstat, in 50 ms windows. OpenBLAS's threads spin for a while
after each call before they sleep; a fit started in that time shares the cores with them
(docs/design.md, "No BLAS call inside a fit").
"""

import os
import sys
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from probe_fit_threads import threads  # noqa: E402


def native_thread_cpu_ms() -> dict:
    """CPU milliseconds of each thread Python did not start (``probe_fit_threads.threads``)."""
    ours = {t.native_id for t in threading.enumerate()}
    return {tid: 1000 * run for tid, (run, _wait) in threads().items() if tid not in ours}


def main():
    from threadpoolctl import threadpool_info

    blas = [(i["internal_api"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"]
    print(f"BLAS libraries (api, threads): {blas}; OPENBLAS_THREAD_TIMEOUT="
          f"{os.environ.get('OPENBLAS_THREAD_TIMEOUT', '(unset)')}")
    X = np.random.default_rng(0).random((200_000, 100))
    c = np.ones(100)
    X @ c
    time.sleep(1.0)  # the first call's spin is over
    for rnd in range(3):
        prev = native_thread_cpu_ms()
        t0 = time.perf_counter()
        X @ c
        windows = []
        for _ in range(6):
            time.sleep(0.05)
            now = native_thread_cpu_ms()
            windows.append(sum(now[t] - prev.get(t, 0.0) for t in now))
            prev = now
        print(f"round {rnd + 1}: CPU of the BLAS threads per 50 ms window after the call (ms): "
              + " ".join(f"{w:.1f}" for w in windows)
              + f"  | total {sum(windows):.1f} ms in {1000 * (time.perf_counter() - t0):.0f} ms")
        time.sleep(1.0)


if __name__ == "__main__":
    main()
