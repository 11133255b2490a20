#!/usr/bin/env bash
# Starting a fit's tasks as one graph or one submit each (dask-asgd.submit-one-graph), fits
# taking turns, on a machine with many cores; each step under a time limit.
#
#     DATA=<folder with flights.csv.zip> bash benchmarks/run_start_ab.sh
set -u
cd "$(dirname "$0")/.."
PY=${PY:-python3}
export PYTHONUNBUFFERED=1
[ -n "${DATA:-}" ] && export DASK_ASGD_FLIGHTS_CSV=$DATA/flights.csv.zip
timeout 120 $PY -c "
import sys, os; sys.path.insert(0, 'benchmarks'); import bench_suite as b
os.makedirs(b.DEFAULT_CACHE, exist_ok=True)
for d in sys.argv[1:]: b.prepare(d, 1.0, b.cache_stem(b.DEFAULT_CACHE, d, 1.0))
" flights_reg synthetic_dense || exit 1
T=dask-asgd.submit-one-graph
timeout 60 $PY benchmarks/bench_small_fits.py --dataset flights_reg --workers 16 --epochs 1,4 --fits 15 --toggle $T
timeout 60 $PY benchmarks/bench_small_fits.py --dataset synthetic_dense --workers 16 --epochs 1,5 --fits 9 --toggle $T
timeout 40 $PY benchmarks/bench_small_fits.py --dataset synthetic_dense --workers 8 --epochs 5 --fits 9 --toggle $T
timeout 40 $PY benchmarks/profile_fit_timeline.py --workers 16 --fits 5 --epochs 5
