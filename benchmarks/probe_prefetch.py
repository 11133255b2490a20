"""Does software prefetching help the dense per-sample SGD loop where one core streams rows slowly?

    python benchmarks/probe_prefetch.py [--rows 1000000] [--distance 0,2,4,8,16]

A stripped-down copy of the training kernel's dense path (log_loss, 'optimal' schedule, L2
through a scale, 128-row groups in random order), with ``llvm.prefetch`` of the row
``distance`` rows ahead (0: none). Prints samples/s per distance, medians of 5, one thread.
Not used by the library: an experiment, kept with its figures in docs/benchmarks.md.
"""

import argparse
import math
import statistics
import time

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic


@intrinsic
def _prefetch(typingctx, arr, idx):
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):
        aryty, idxty = signature.args
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]], wraparound=False)
        i8p = ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [i8p, ir.IntType(32), ir.IntType(32), ir.IntType(32)])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
        builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(ir.IntType(32), 0),
                          ir.Constant(ir.IntType(32), 3), ir.Constant(ir.IntType(32), 1)])
        return context.get_dummy_value()

    return sig, codegen


@numba.njit(nogil=True, fastmath={"reassoc", "contract", "nsz", "arcp"})
def epochs(X, y, gstart, gstop, w, alpha, t0, n_epochs, dist, order):
    d = X.shape[1]
    flat = X.reshape(-1)
    scale = 1.0
    t = 1.0
    n = X.shape[0]
    for e in range(n_epochs):
        for gi in range(gstart.shape[0]):
            g = order[e, gi]
            for i in range(gstart[g], gstop[g]):
                if dist > 0:
                    r = i + dist
                    if r < n:
                        for c in range(0, d, 8):
                            _prefetch(flat, r * d + c)
                eta = 1.0 / (alpha * (t0 + t - 1.0))
                scale *= 1.0 - eta * alpha
                acc = 0.0
                for j in range(d):
                    acc += w[j] * X[i, j]
                p = acc * scale
                yi = 1.0 if y[i] == 1.0 else -1.0
                z = p * yi
                if z > 18.0:
                    gr = -yi * math.exp(-z)
                elif z < -18.0:
                    gr = -yi
                else:
                    gr = -yi / (math.exp(z) + 1.0)
                c_ = -eta * gr / scale
                for j in range(d):
                    w[j] += c_ * X[i, j]
                if scale < 1e-9:
                    for j in range(d):
                        w[j] *= scale
                    scale = 1.0
                t += 1.0
    return scale


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--distance", default="0,2,4,8,16")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.rows, 100))
    y = (X[:, 0] + rng.standard_normal(args.rows) > 0).astype(np.float64)
    gstart = np.arange(0, args.rows, 128)
    gstop = np.minimum(gstart + 128, args.rows)
    order = np.stack([rng.permutation(len(gstart)) for _ in range(args.epochs)])
    epochs(X[:1000], y[:1000], gstart[:7], gstop[:7], np.zeros(100), 1e-4, 1e4, 1, 4, order[:, :7])
    for dist in [int(v) for v in args.distance.split(",")]:
        rates = []
        for _ in range(5):
            w = np.zeros(100)
            t = time.perf_counter()
            epochs(X, y, gstart, gstop, w, 1e-4, 1e4, args.epochs, dist, order)
            rates.append(args.rows * args.epochs / (time.perf_counter() - t))
        print(f"prefetch distance {dist:3d} rows: {statistics.median(rates) / 1e6:6.2f} M samples/s", flush=True)


if __name__ == "__main__":
    main()
