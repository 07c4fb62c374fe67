"""Monte Carlo work in fixed, independently seeded blocks, on any ``concurrent.futures.Executor``.

The draws are cut into blocks whose size depends only on the problem (never on the executor or its
number of workers), and block ``b`` draws from the ``b``-th child of one ``SeedSequence`` derived
from the caller's ``rng``. So a serial run, a process pool and a Dask cluster
(``client.get_executor()``) compute the same numbers, bit for bit. Tasks travel as cloudpickle bytes
(statistics may be closures), and each block runs with one BLAS thread so that
summation order cannot depend on the worker; process pools must use the ``spawn`` start method: numba's OpenMP
layer crashes in forked children.
"""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any, Callable

import numpy as np

from ._errors import InputError

__all__ = ["check_executor", "block_plan", "map_blocks", "map_items", "SerialExecutor"]


class SerialExecutor(Executor):
    """Runs each task at once in the calling process (the reference for bit-identical results)."""

    def submit(self, fn, /, *args, **kwargs):
        from concurrent.futures import Future

        f = Future()
        try:
            f.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # pragma: no cover - surfaced by .result()
            f.set_exception(exc)
        return f


def check_executor(executor: Any):
    """None, or an object with ``submit`` (a ``concurrent.futures.Executor``, a Dask client's executor)."""
    if executor is None:
        return None
    if not callable(getattr(executor, "submit", None)):
        raise InputError(f"executor must be a concurrent.futures.Executor (e.g. ProcessPoolExecutor with "
                         f"mp_context=multiprocessing.get_context('spawn'), or a Dask client's get_executor()); "
                         f"got {type(executor).__name__}.")
    return executor


def block_plan(n_draws: int, n_units: int, *, unit_draws: int = 2**22, max_block: int = 1000) -> list[int]:
    """Draws per block: ``min(max_block, unit_draws // n_units)`` (at least 1), the last block ragged."""
    size = int(max(1, min(max_block, unit_draws // max(n_units, 1))))
    full, rest = divmod(int(n_draws), size)
    return [size] * full + ([rest] if rest else [])


def _run(payload: bytes, n: int, seed: np.random.SeedSequence):
    import cloudpickle
    from threadpoolctl import threadpool_limits

    fn, args = cloudpickle.loads(payload)
    # one BLAS thread in every block, wherever it runs: a multi-threaded BLAS splits its sums
    # differently (last-bit differences between a Dask worker, which pins 1 thread, and a pool's 2)
    with threadpool_limits(limits=1, user_api="blas"):
        return fn(n, np.random.default_rng(seed), *args)


def map_blocks(executor, fn: Callable, args: tuple, n_draws: int, n_units: int, g: np.random.Generator) -> list:
    """``[fn(n_b, rng_b, *args) for each block b]`` computed on ``executor``, in block order.

    ``rng_b = default_rng(children[b])`` with ``children = SeedSequence(entropy drawn from g).spawn(B)``.
    """
    import cloudpickle

    sizes = block_plan(n_draws, n_units)
    root = np.random.SeedSequence([int(v) for v in g.integers(0, 2**63, size=4)])
    seeds = root.spawn(len(sizes))
    payload = cloudpickle.dumps((fn, args))
    futures = [executor.submit(_run, payload, n, s) for n, s in zip(sizes, seeds)]
    return [f.result() for f in futures]


def _run_item(payload: bytes, item: tuple):
    import cloudpickle
    from threadpoolctl import threadpool_limits

    fn, shared = cloudpickle.loads(payload)
    with threadpool_limits(limits=1, user_api="blas"):
        return fn(shared, *item)


def map_items(executor, fn: Callable, shared: Any, items: list[tuple]) -> list:
    """``[fn(shared, *item) for item in items]`` on ``executor`` (one BLAS thread each), in order.

    For work already cut into seeded chunks by the caller (``diagnose``'s chunks).
    """
    import cloudpickle

    payload = cloudpickle.dumps((fn, shared))
    futures = [executor.submit(_run_item, payload, tuple(it)) for it in items]
    return [f.result() for f in futures]
