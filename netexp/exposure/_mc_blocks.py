"""One seeded block of Monte Carlo exposure probabilities (a task for :mod:`netexp._executor`).

Kept apart from ``_probabilities`` so that a worker process unpickles a small module-level function.
"""

from __future__ import annotations

import numpy as np

from .._errors import ExposureError

#: Block plan of Monte Carlo exposure probabilities: about 2^22 unit-draws per block, at most 1024
#: draws (so a block's per-level counts fit in uint16), a multiple of 64 (the exposure kernels pack 64
#: draws per word). Set by the problem only, never by the executor: the draws are the same on every one.
MC_PLAN = dict(unit_draws=2**22, max_block=1024, multiple=64)


def level_block(n_b: int, rng, graph, design, mapping, n_levels: int, joint: bool):
    """Per-(unit, level) counts (uint16, flat ``unit * L + level``) over ``n_b`` draws of ``design``,
    and the ``(n_b, n)`` int8 level codes when ``joint``."""
    n = graph.n_nodes
    Z = design.sample_many(n_b, rng=rng)
    E = np.asarray(mapping.map_many(graph, Z))
    if E.shape != (n_b, n):
        raise ExposureError(f"{type(mapping).__name__}.map_many returned shape {E.shape}; expected {(n_b, n)}.")
    offs = (np.arange(n, dtype=np.int64) * n_levels)[None, :]
    counts = np.bincount((E.astype(np.int64) + offs).ravel(), minlength=n * n_levels).astype(np.uint16)
    return counts, (E.astype(np.int8) if joint else None)
