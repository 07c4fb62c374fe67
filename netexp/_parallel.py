"""How many threads a compiled parallel kernel should get for a given amount of work.

numba's parallel regions (OpenMP layer) wake every worker thread on each call. When the machine
is busy that wake-up costs ~20 ms, against ~10 microseconds for the same small kernel run on the
calling thread (measured on karate with 100 draws, load average 5): in a randomization test or a
design diagnosis that calls a kernel thousands of times on a small graph, the wake-ups are the
whole run time. Kernels are therefore called through :func:`threads_for`, which uses one thread
below a work threshold and all of them above it.
"""

from __future__ import annotations

from contextlib import contextmanager

# work units (edge-draws, unit-draws...) per thread below which an extra thread does not pay
WORK_PER_THREAD = 2_000_000


@contextmanager
def threads_for(work: float):
    """Run the enclosed numba parallel kernels with ``ceil(work / WORK_PER_THREAD)`` threads at most."""
    import numba

    prev = numba.get_num_threads()
    want = int(max(1, min(prev, work // WORK_PER_THREAD + 1)))
    if want == prev:
        yield
        return
    numba.set_num_threads(want)
    try:
        yield
    finally:
        numba.set_num_threads(prev)
