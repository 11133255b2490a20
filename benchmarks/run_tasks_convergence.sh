#!/usr/bin/env bash
# Fits to convergence (tol) and of 5 epochs with 2 to 16 tasks, for a machine with many cores:
# probe_small_data_tasks.py (time, epochs and held-out score per number of tasks),
# bench_default_tasks.py (n_workers=None's cap against one task per thread) and scikit-learn's
# defaults for reference. Logs land in $OUT (default /tmp/dev14out).
#
#     bash benchmarks/run_tasks_convergence.sh          # from the repository root
#
# Environment: WHEELS and DATA as for run_many_cores.sh (benchmarks/device_setup.sh; default .whl
# and .devdata where those folders exist), for a machine without a package registry; SETS,
# TASKS, SEEDS (3), W (workers of bench_default_tasks.py, 16) and T1 / T2 / T3 (each step's
# seconds) change the runs.
set -u
export PYTHONUNBUFFERED=1
PY=${PY:-python3}
RESULTS=${OUT:-/tmp/dev14out}; mkdir -p "$RESULTS"
[ -d .whl ] && WHEELS=${WHEELS:-.whl}
[ -d .devdata ] && DATA=${DATA:-$PWD/.devdata}
. benchmarks/device_setup.sh   # WHEELS, DATA, $RESULTS/env.txt
[ "$ENV_RC" -eq 0 ] || { echo "environment check failed"; exit 1; }
R=$RESULTS
mkdir -p "${TMPDIR:-/tmp}/dask-asgd-bench"
cd benchmarks
timeout 120 $PY -c "
import time, bench_suite as b
for d in ('fashion_mnist', 'flights_clf', 'flights_reg'):
    t = time.perf_counter(); b.prepare(d, 1.0, b.cache_stem(b.DEFAULT_CACHE, d, 1.0)); print(d, round(time.perf_counter() - t, 1), 's', flush=True)
" 2>&1 | tee "$R/prepare.log"
timeout "${T1:-200}" $PY probe_small_data_tasks.py --tasks "${TASKS:-2,4,8,16}" \
    --datasets "${SETS:-digits,fashion_mnist,flights_clf,flights_reg}" --seeds "${SEEDS:-3}" 2>&1 | tee "$R/tasks.log"
timeout "${T2:-150}" $PY bench_default_tasks.py --workers "${W:-16}" --seeds "${SEEDS:-3}" 2>&1 | tee "$R/default_tasks.log"
timeout "${T3:-100}" $PY -c "
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
