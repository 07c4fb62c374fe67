"""Compiled samplers for designs. They draw from the numpy Generator passed in (numba reproduces
numpy's stream exactly) or from random bytes drawn in bulk from it, never from numba's own
global random state."""

from __future__ import annotations

from numba import njit


@njit(cache=True)
def stratified_draws(gen, order, offsets, k_low, frac, thresh, rbytes, binom, out):
    """Fill ``out`` (n_draws, n_units) with stratified complete randomizations.

    Stratum s holds units ``order[offsets[s]:offsets[s+1]]`` and gets ``k_low[s]`` treated, plus
    one more with probability ``frac[s]``.

    Strata small enough that C(m, target) <= 256 (blocks) draw the subset directly, see below.
    Larger strata (exact): each unit starts treated when its random byte is below ``thresh[s]`` (a
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
            if m < binom.shape[0] and binom[m, target] <= 256:
                # small stratum: draw the subset's rank uniformly in [0, C) by rejection on the
                # stratum's own random bytes (b < 256 - 256 % C gives b % C exactly uniformly; if
                # every byte is rejected the Generator supplies it), then unrank it in
                # lexicographic order. One byte per stratum instead of a flip loop; kept inline
                # because passing the Generator to a helper costs ~100 ns per call.
                C = binom[m, target]
                limit = 256 - 256 % C
                rank = -1
                for j in range(a, a + m):
                    b = rb[order[j]]
                    if b < limit:
                        rank = b % C
                        break
                if rank < 0:
                    rank = gen.integers(0, C)
                k = target
                for i in range(m):
                    if k == 0:
                        break
                    c = binom[m - 1 - i, k - 1]  # subsets of the rest that contain unit i
                    if rank < c:
                        row[order[a + i]] = True
                        k -= 1
                    else:
                        rank -= c
                continue
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
