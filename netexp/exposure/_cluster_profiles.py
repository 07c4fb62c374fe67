"""Exact pair joints under complete randomization of clusters, aggregated by neighbourhood profile.

Setting. ``n_clusters`` clusters, exactly ``K`` of them treated (``K`` mixed over ``ks`` with weights
``kw`` for the odd-unit rule), every cluster's units following it. A *threshold* mapping (Aronow-Samii,
full neighbourhood, own treatment) sets the level of unit i from its own cluster's draw and from whether
the clusters ``W_i`` holding its k-hop neighbours are all untreated, all treated or mixed:
``level_table[i, z, s]`` with s = 0 (none treated), 1 (all treated), 2 (mixed).

Profiles. The level of i is therefore a function of its *profile* (own cluster, the set ``W_i``, its
row of the level table) and of the draw; units with one profile are always at the same level. The
joint probability of two units depends only on their two profiles, so the Aronow-Samii pair sums

    S[a, b] = sum over ordered pairs i != j observed at (a, b) of (pi_ij(a, b) - pi_i(a) pi_j(b)) / pi_ij(a, b)
              * U_i U_j

are sums over *pairs of profiles* of the profile-pair weight times the products of the per-profile
sums of ``U``, minus the i == j terms. On ego-Facebook under 16 Leiden clusters the 4,039 units have
126 profiles: 16 thousand profile pairs instead of 16 million unit pairs.

Joint of a profile pair (g, h). Let ``F`` = {o_g, o_h} (one or two own clusters) and split the other
clusters of ``W_g`` and ``W_h`` into A = W_g only, B = W_h only, S = both (sizes mA, mB, mS), with
``rest`` = n_clusters - |F| - mA - mB - mS. For own draws z_F (zsum of them treated) and treated counts
tA, tS, tB, the multivariate hypergeometric gives

    P(z_F, tA, tS, tB) = sum_q kw_q C(mA, tA) C(mS, tS) C(mB, tB) C(rest, K_q - zsum - tA - tS - tB)
                         / C(n_clusters, K_q).

Each part is all untreated (t = 0), all treated (t = m) or mixed; the summaries of A, S and the members of
F in ``W_g`` give g's level, those of S, B and F in ``W_h`` give h's. Every probability is a sum of
non-negative terms, so a structurally impossible pair of levels has a joint of exactly 0.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .kernels.common import log_binom_lf as _lb
from .kernels.threshold import combine_summaries as _combine, own_units_summary as _fixed, threshold_level as _thr_level

_E, _Z, _O, _M = 0, 1, 2, 3  # part summaries: empty, all untreated, all treated, mixed (as in kernels.threshold)


@njit(cache=True)
def profile_hash(ptr, col, wt, own, level_table):
    """64-bit hash of each unit's profile: own cluster, clusters of positive weight, level-table row."""
    n = ptr.shape[0] - 1
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        h = np.uint64(1469598103934665603)
        h = (h ^ np.uint64(own[i] + 11)) * np.uint64(1099511628211)
        for z in range(2):
            for s in range(3):
                h = (h ^ np.uint64(level_table[i, z, s] + 3)) * np.uint64(1099511628211)
        for e in range(ptr[i], ptr[i + 1]):
            if wt[e] > 0:
                h = (h ^ np.uint64(col[e] + 5)) * np.uint64(1099511628211)
                h ^= h >> np.uint64(31)
        out[i] = np.int64(h)
    return out


@njit(cache=True)
def profiles_match(ptr, col, wt, own, level_table, profile, reps):
    """True when every unit has exactly its representative's profile (guards against hash collisions)."""
    n = ptr.shape[0] - 1
    for i in range(n):
        r = reps[profile[i]]
        if own[i] != own[r]:
            return False
        for z in range(2):
            for s in range(3):
                if level_table[i, z, s] != level_table[r, z, s]:
                    return False
        e = ptr[i]
        f = ptr[r]
        while True:
            while e < ptr[i + 1] and wt[e] == 0:
                e += 1
            while f < ptr[r + 1] and wt[f] == 0:
                f += 1
            if e == ptr[i + 1] or f == ptr[r + 1]:
                if e != ptr[i + 1] or f != ptr[r + 1]:
                    return False
                break
            if col[e] != col[f]:
                return False
            e += 1
            f += 1
    return True


@njit(cache=True)
def _state(t, m):
    """Summary of a part of m clusters with t treated."""
    if m == 0:
        return _E
    if t == 0:
        return _Z
    if t == m:
        return _O
    return _M


@njit(cache=True)
def profile_pair_joint(g, h, own_p, w_ptr, w_idx, in_g, level_p, n_clusters, ks, kw, lf, L, hyp, cA, cS, cB, hB,
                       J):
    """J[k, l] = P(level of a unit of profile g = k, level of another unit of profile h = l).

    ``in_g`` marks the clusters of ``W_g``. ``hyp``, ``cA``, ``cS``, ``cB`` (binomial coefficients of the
    parts) and ``hB`` are work buffers of at least ``n_clusters + 1`` (``hB``: ``(n_clusters + 1, 4)``)
    entries. Formula: the module docstring.
    """
    o_g = own_p[g]
    o_h = own_p[h]
    same = o_g == o_h
    g_own_in = in_g[o_g]
    g_other_in = (not same) and in_g[o_h]
    h_own_in = False
    h_other_in = False
    mS = 0
    mB = 0
    for e in range(w_ptr[h], w_ptr[h + 1]):
        r = w_idx[e]
        if r == o_h:
            h_own_in = True
        elif r == o_g:
            h_other_in = True
        elif in_g[r]:
            mS += 1
        else:
            mB += 1
    mA = (w_ptr[g + 1] - w_ptr[g]) - (1 if g_own_in else 0) - (1 if g_other_in else 0) - mS
    nf = 1 if same else 2
    rest = n_clusters - nf - mA - mS - mB
    mAS = mA + mS
    mtot = mAS + mB
    for k in range(L):
        for l in range(L):
            J[k, l] = 0.0
    for t in range(mA + 1):
        cA[t] = math.exp(_lb(lf, mA, t))
    for t in range(mS + 1):
        cS[t] = math.exp(_lb(lf, mS, t))
    for t in range(mB + 1):
        cB[t] = math.exp(_lb(lf, mB, t))
    for zi in range(2):
        for zj in range(2):
            if same and zj != zi:
                continue
            zsum = zi + (0 if same else zj)
            # hyp[x] = P(own draws z_F, x given clusters of A, S, B treated in one given way) mixed over K
            for x in range(mtot + 1):
                v = 0.0
                for q in range(ks.shape[0]):
                    if kw[q] == 0.0:
                        continue
                    lv = _lb(lf, rest, ks[q] - zsum - x)
                    if lv > -np.inf:
                        v += kw[q] * math.exp(lv - _lb(lf, n_clusters, ks[q]))  # C(rest, K - zsum - x) / C(N, K)
                hyp[x] = v
            # hB[y, s] = sum over tB with summary s of C(mB, tB) hyp[y + tB]
            for y in range(mAS + 1):
                for s in range(4):
                    hB[y, s] = 0.0
                for tB in range(mB + 1):
                    v = hyp[y + tB]
                    if v != 0.0:
                        hB[y, _state(tB, mB)] += cB[tB] * v
            fixed_g = _fixed(g_own_in, zi, g_other_in, zj)
            fixed_h = _fixed(h_own_in, zj, h_other_in, zi)
            for tS in range(mS + 1):
                sS = _state(tS, mS)
                cg = _combine(fixed_g, sS)
                ch = _combine(fixed_h, sS)
                for tA in range(mA + 1):
                    k = _thr_level(level_p, g, zi, _combine(cg, _state(tA, mA)))
                    w = cA[tA] * cS[tS]
                    for s in range(4):
                        v = hB[tA + tS, s]
                        if v != 0.0:
                            J[k, _thr_level(level_p, h, zj, _combine(ch, s))] += w * v


@njit(parallel=True, cache=True)
def profile_pair_sums(own_p, w_ptr, w_idx, level_p, n_clusters, ks, kw, lf, marg_p, sums, count, mode, ka, kb,
                      S_g, zero_g, J_self, D):
    """Sums over ordered pairs of profiles (g, h), in parallel over g.

    mode 0 (Aronow-Samii): ``sums[m, g, a]`` holds the sum of ``U[i, m]`` over the units of profile g
    observed at level a and ``count[g]`` the number of units of g; adds to ``S_g[g, m, a, b]`` the weight
    (J - pi_g(a) pi_h(b)) / J (0 where J = 0) times ``sums[m, g, a] sums[m, h, b]`` and to
    ``zero_g[g, a, l]`` the number of units of h when J[a, l] = 0. mode 1 (covariance): ``sums[0, g, k]``
    holds the sum of ``V[i, k]``; adds (J[k, l] - pi_g(k) pi_h(l)) sums[0, g, k] sums[0, h, l] to
    ``S_g[g, 0, k, l]``. mode 2: ``D[g, h] = J[ka, kb]``. Every mode stores ``J_self[g]``, the joint of
    two distinct units of profile g. Pairs i == j are left to the caller.
    """
    P = own_p.shape[0]
    L = marg_p.shape[1]
    M = sums.shape[0]
    for g in prange(P):
        in_g = np.zeros(n_clusters, dtype=np.bool_)
        for e in range(w_ptr[g], w_ptr[g + 1]):
            in_g[w_idx[e]] = True
        hyp = np.empty(n_clusters + 2)
        cA = np.empty(n_clusters + 2)
        cS = np.empty(n_clusters + 2)
        cB = np.empty(n_clusters + 2)
        hB = np.empty((n_clusters + 2, 4))
        J = np.empty((L, L))
        for h in range(P):
            profile_pair_joint(g, h, own_p, w_ptr, w_idx, in_g, level_p, n_clusters, ks, kw, lf, L, hyp, cA, cS,
                               cB, hB, J)
            if h == g:
                for k in range(L):
                    for l in range(L):
                        J_self[g, k, l] = J[k, l]
            if mode == 2:
                D[g, h] = J[ka, kb]
            elif mode == 0:
                for a in range(L):
                    for b in range(L):
                        v = J[a, b]
                        if v == 0.0:
                            zero_g[g, a, b] += count[h]
                            continue
                        w = (v - marg_p[g, a] * marg_p[h, b]) / v
                        for m in range(M):
                            S_g[g, m, a, b] += w * sums[m, g, a] * sums[m, h, b]
            else:
                for k in range(L):
                    sk = sums[0, g, k]
                    if sk == 0.0:
                        continue
                    for l in range(L):
                        S_g[g, 0, k, l] += (J[k, l] - marg_p[g, k] * marg_p[h, l]) * sk * sums[0, h, l]


# ----------------------------------------------------------------------------- Python side
def build_profiles(ptr, col, wt, own, level_table):
    """Group units by profile. Returns the profile structure (dict) or None on a hash collision.

    Keys: ``profile`` (n,) profile of each unit, ``reps`` a representative unit per profile, ``own_p``,
    ``w_ptr``/``w_idx`` (each profile's clusters of positive weight, CSR), ``level_p`` (P, 2, 3).
    """
    n = ptr.shape[0] - 1
    h = profile_hash(ptr, col, wt, own, level_table)
    n_w = np.bincount(np.repeat(np.arange(n), np.diff(ptr))[wt > 0], minlength=n)
    key = np.column_stack([h, own, n_w, level_table.reshape(n, 6)])
    _, reps, profile = np.unique(key, axis=0, return_index=True, return_inverse=True)
    profile = np.ascontiguousarray(profile.ravel(), dtype=np.int64)
    reps = reps.astype(np.int64)
    if not profiles_match(ptr, col, wt, own, level_table, profile, reps):
        return None
    pos = wt > 0
    rows = np.repeat(np.arange(n), np.diff(ptr))
    sel = np.isin(rows, reps) & pos
    # reps are distinct units: profile of a representative row = its index in reps
    rep_of = np.full(n, -1, dtype=np.int64)
    rep_of[reps] = np.arange(reps.shape[0])
    prow = rep_of[rows[sel]]
    order = np.argsort(prow, kind="stable")
    w_idx = np.ascontiguousarray(col[sel][order], dtype=np.int64)
    w_ptr = np.zeros(reps.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(prow, minlength=reps.shape[0]), out=w_ptr[1:])
    return {"profile": profile, "reps": reps, "own_p": np.ascontiguousarray(own[reps], dtype=np.int64),
            "w_ptr": w_ptr, "w_idx": w_idx, "level_p": np.ascontiguousarray(level_table[reps], dtype=np.int64)}
