"""Does this machine give two cores of numba (nogil) work? One vs two threads: compute, streaming, in-cache.

    python benchmarks/probe_core_scaling.py
"""
import numpy as np, numba, threading, time
@numba.njit(nogil=True, fastmath={"reassoc","contract"})
def compute(n):
    s = 0.0
    for i in range(n):
        s = s*0.999999 + 1.0/(i+1.0)
    return s
@numba.njit(nogil=True, fastmath={"reassoc","contract"})
def stream(X, reps):
    s = 0.0
    for r in range(reps):
        for i in range(X.shape[0]):
            for j in range(X.shape[1]):
                s += X[i,j]
    return s
compute(10); X = np.random.rand(500_000,100); stream(X,1); Xs=np.random.rand(1000,100); stream(Xs,1)
def timeit(f, args, nthreads):
    ts=[threading.Thread(target=f, args=args) for _ in range(nthreads)]
    t=time.perf_counter(); [x.start() for x in ts]; [x.join() for x in ts]; return time.perf_counter()-t
for name,f,args in [("compute",compute,(200_000_000,)),("stream 400MB",stream,(X,5)),("in-cache 800KB",stream,(Xs,2500))]:
    t1=timeit(f,args,1); t2=timeit(f,args,2); print(name, "1 thread %.2fs, 2 threads %.2fs -> scaling %.2fx"%(t1,t2,2*t1/t2))
