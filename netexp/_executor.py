"""Monte Carlo work in fixed, independently seeded blocks, on any ``concurrent.futures.Executor``.

The draws are cut into blocks whose size depends only on the problem (never on the executor or its
number of workers), and block ``b`` draws from the ``b``-th child of one ``SeedSequence`` derived
from the caller's ``rng``. So a serial run, a process pool and a Dask cluster
(``client.get_executor()``) compute the same numbers, bit for bit. Tasks travel as cloudpickle bytes
(statistics may be closures), and each block runs with one BLAS thread so that
summation order cannot depend on the worker; process pools must use the ``spawn`` start method: numba's OpenMP
layer crashes in forked children.

``executor=None`` is not a different code path: it runs the same blocks, with the same seeds and one
BLAS thread, in the calling process. So the default result *is* the result of every executor.
"""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any, Callable

import numpy as np

from ._errors import InputError

__all__ = ["check_executor", "block_plan", "map_blocks", "iter_blocks", "map_items", "SerialExecutor"]

#: Blocks in flight on an executor: enough to keep a large cluster busy, few enough that their results
#: (about 8 bytes per unit each, at most) stay near 256 MB; never fewer than 8.
_WINDOW_BYTES, _WINDOW_MIN, _WINDOW_MAX = 2**28, 8, 256


def _window(n_units: int) -> int:
    return int(min(_WINDOW_MAX, max(_WINDOW_MIN, _WINDOW_BYTES // (8 * max(n_units, 1)))))


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


def block_plan(n_draws: int, n_units: int, *, unit_draws: int = 2**22, max_block: int = 1000,
               multiple: int = 1) -> list[int]:
    """Draws per block: ``min(max_block, unit_draws // n_units)`` (at least 1; rounded down to a
    multiple of ``multiple`` when larger than it), the last block ragged."""
    size = int(max(1, min(max_block, unit_draws // max(n_units, 1))))
    if size > multiple:
        size -= size % multiple
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


def _blas_one_thread():
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def iter_blocks(executor, fn: Callable, args: tuple, n_draws: int, n_units: int, g: np.random.Generator, *,
                progress: bool | None = False, desc: str = "blocks", **plan):
    """Yield ``(n_b, fn(n_b, rng_b, *args))`` for each block ``b``, in block order.

    ``rng_b = default_rng(children[b])`` with ``children = SeedSequence(entropy drawn from g).spawn(B)``
    and the block sizes of :func:`block_plan` (``plan``: its keyword arguments). ``executor=None``
    runs the same blocks in this process (no pickling; one BLAS thread, as on a worker), so the
    result is bit for bit that of any executor. With an executor at most :func:`_window` blocks are
    in flight (8 to 256, fewer for more units), so a long run never holds every block's result at once.
    """
    sizes = block_plan(n_draws, n_units, **plan)
    root = np.random.SeedSequence([int(v) for v in g.integers(0, 2**63, size=4)])
    seeds = root.spawn(len(sizes))
    bar = None
    if progress is not False:
        from tqdm import tqdm

        bar = tqdm(total=len(sizes), desc=desc, unit="block", disable=None if progress is None else False)
    try:
        if executor is None:
            with _blas_one_thread():
                for n, s in zip(sizes, seeds):
                    out = fn(n, np.random.default_rng(s), *args)
                    if bar is not None:
                        bar.update()
                    yield n, out
            return
        import cloudpickle
        from collections import deque

        payload = cloudpickle.dumps((fn, args))
        pending: deque = deque()
        todo = iter(zip(sizes, seeds))
        for n, s in todo:
            pending.append((n, executor.submit(_run, payload, n, s)))
            if len(pending) >= _window(n_units):
                break
        while pending:
            n, fut = pending.popleft()
            out = fut.result()
            nxt = next(todo, None)
            if nxt is not None:
                pending.append((nxt[0], executor.submit(_run, payload, *nxt)))
            if bar is not None:
                bar.update()
            yield n, out
    finally:
        if bar is not None:
            bar.close()


def map_blocks(executor, fn: Callable, args: tuple, n_draws: int, n_units: int, g: np.random.Generator,
               **kw) -> list:
    """``[fn(n_b, rng_b, *args) for each block b]`` (see :func:`iter_blocks`), in block order."""
    return [out for _, out in iter_blocks(executor, fn, args, n_draws, n_units, g, **kw)]


def _run_item(payload: bytes, item: tuple):
    import cloudpickle
    from threadpoolctl import threadpool_limits

    fn, shared = cloudpickle.loads(payload)
    with threadpool_limits(limits=1, user_api="blas"):
        return fn(shared, *item)


def map_items(executor, fn: Callable, shared: Any, items: list[tuple]) -> list:
    """``[fn(shared, *item) for item in items]`` on ``executor`` (one BLAS thread each), in order.

    For work already cut into seeded chunks by the caller (``diagnose``'s chunks). ``executor=None``
    runs them here, in order, with one BLAS thread (the same numbers as any executor).
    """
    if executor is None:
        with _blas_one_thread():
            return [fn(shared, *it) for it in items]
    import cloudpickle

    payload = cloudpickle.dumps((fn, shared))
    futures = [executor.submit(_run_item, payload, tuple(it)) for it in items]
    return [f.result() for f in futures]


def _sample_block(n, rng, design):
    return design.sample_many(n, rng=rng)


def design_draws(design, n_draws: int, rng, **plan) -> np.ndarray:
    """The ``(n_draws, n_units)`` assignments the blocked Monte Carlo functions draw for ``rng``.

    ``randomization_test(..., rng=s)`` (Monte Carlo) uses exactly ``design_draws(design, n_draws, s)``
    as its null draws; for checking a statistic against an independent computation on the same draws.
    """
    from ._validation import check_rng

    return np.concatenate(map_blocks(None, _sample_block, (design,), n_draws, design.n_units, check_rng(rng),
                                     **plan))
