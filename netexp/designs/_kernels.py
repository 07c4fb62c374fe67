"""Compiled samplers for designs. They draw from the numpy Generator passed in (numba reproduces
numpy's stream exactly) or from random bytes drawn in bulk from it, never from numba's own
global random state."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def stratified_draws(gen, order, offsets, k_low, frac, thresh, rbytes, out):
    """Fill ``out`` (n_draws, n_units) with stratified complete randomizations.

    Stratum s holds units ``order[offsets[s]:offsets[s+1]]`` and gets ``k_low[s]`` treated, plus
    one more with probability ``frac[s]``.

    Method (exact): each unit starts treated when its random byte is below ``thresh[s]`` (a
    Bernoulli start close to the target share, exchangeable within the stratum); the count is
    then corrected to the target by flipping units chosen uniformly at random (rejection sampling
    among the stratum's currently treated, or untreated, units). Every step treats the stratum's
    units symmetrically, so the final treated set is a uniformly random subset of the target
    size. Cost per draw: O(n) byte comparisons plus O(|count - target|) flips, instead of one
    float uniform per unit.
    """
    n_draws = out.shape[0]
    n_strata = offsets.shape[0] - 1
    for r in range(n_draws):
        row = out[r]
        rb = rbytes[r]
        for s in range(n_strata):
            a = offsets[s]
            m = offsets[s + 1] - a
            target = k_low[s]
            if frac[s] > 0.0 and gen.random() < frac[s]:
                target += 1
            t = thresh[s]
            c = 0
            for j in range(a, a + m):  # branchless: the coin flips defeat branch prediction
                u = order[j]
                v = rb[u] < t
                row[u] = v
                c += v
            while c > target:
                u = order[a + gen.integers(0, m)]
                if row[u]:
                    row[u] = False
                    c -= 1
            while c < target:
                u = order[a + gen.integers(0, m)]
                if not row[u]:
                    row[u] = True
                    c += 1
