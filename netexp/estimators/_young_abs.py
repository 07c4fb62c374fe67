"""The |M| Young bound: a sharper conservative replacement of the Aronow-Samii correction.

Built once per (probabilities, contrast, units) from the design alone and cached; each call then
costs one dense quadratic form over the observed units. See :func:`netexp.horvitz_thompson`, Notes.
"""

from __future__ import annotations

import weakref

import numpy as np
import scipy.sparse as sp

__all__ = ["abs_young_structure", "abs_young_variance", "effective_groups", "ABS_YOUNG_MAX_UNITS"]

#: Largest number of units in the estimand for the dense |M| construction (memory ~ 40 n^2 bytes).
ABS_YOUNG_MAX_UNITS = 4000

_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _dense_joint(probabilities, a: int, b: int, idx: np.ndarray) -> np.ndarray:
    """pi_ij(a, b) for i, j in ``idx`` as a dense array, diagonal set to the truth (pi_i(a) if a == b, else 0)."""
    P = probabilities.marginal
    J = probabilities.joint(a, b)
    if sp.issparse(J):
        pos = np.full(probabilities.n_units, -1, dtype=np.int64)
        pos[idx] = np.arange(idx.size)
        D = np.outer(P[idx, a], P[idx, b])  # pairs not stored are independent
        C = J.tocoo()
        r, c = pos[C.row], pos[C.col]
        keep = (r >= 0) & (c >= 0)
        D[r[keep], c[keep]] = C.data[keep]
    else:
        D = np.array(J[np.ix_(idx, idx)], dtype=float)
    D[np.arange(idx.size), np.arange(idx.size)] = P[idx, a] if a == b else 0.0
    return D


def abs_young_structure(probabilities, a: int, b: int, mask: np.ndarray) -> dict:
    """Design-only pieces of the |M| bound for the contrast (a, b) over the units in ``mask`` (cached).

    Positions are (unit, level) for the units of ``mask`` at levels a (first block) and b (second).
    Returns the dense joints ``J`` (2N x 2N over positions), the type of each position, the type
    counts and ``Kt``: the bound's matrix between types (already scaled, see :func:`abs_young_variance`),
    and ``dmove``: the diagonal added per type when entries at zero-joint pairs are moved.
    """
    key = (a, b, hash(mask.tobytes()), int(mask.sum()))
    per = _CACHE.setdefault(probabilities, {})
    if key in per:
        return per[key]
    idx = np.flatnonzero(mask)
    N = idx.size
    Jaa = _dense_joint(probabilities, a, a, idx)
    Jbb = _dense_joint(probabilities, b, b, idx)
    Jab = _dense_joint(probabilities, a, b, idx)
    J = np.block([[Jaa, Jab], [Jab.T, Jbb]])
    del Jaa, Jbb, Jab
    M = J <= 0
    np.fill_diagonal(M, False)  # a position is never a zero-joint partner of itself
    # positions whose rows of M are equal have the same type: M = Q K Q' with Q orthonormal columns
    packed = np.packbits(M, axis=1)
    _, typ, cnt = np.unique(packed, axis=0, return_inverse=True, return_counts=True)
    typ = typ.ravel()
    first = np.zeros(cnt.size, dtype=np.int64)
    first[typ[::-1]] = np.arange(typ.size)[::-1]
    Mt = M[np.ix_(first, first)].astype(float)  # type-by-type zero-joint indicator
    del M, packed
    sq = np.sqrt(cnt.astype(float))
    K = sq[:, None] * Mt * sq[None, :]
    lam, V = np.linalg.eigh(K)
    absK = (V * np.abs(lam)) @ V.T
    # |M| = Q |K| Q' with Q = P D^{-1/2}: entry between positions of types s, t is |K|_st / sqrt(c_s c_t)
    At = absK / (sq[:, None] * sq[None, :])
    # move every entry at a zero-joint pair onto the two diagonals (keeps the matrix above |M|)
    dmove = (Mt * np.abs(At) * cnt[None, :]).sum(1)
    # are all zero-joint pairs across the two levels? (then |M| is block diagonal: nothing is moved)
    lev_t = (first >= N).astype(int)
    cross_only = not bool((Mt * (lev_t[:, None] == lev_t[None, :])).any())
    out = {"idx": idx, "J": J, "typ": typ, "At": At, "Mt": Mt, "dmove": dmove, "n_types": int(cnt.size),
           "cross_only": cross_only}
    if len(per) >= 4:
        per.pop(next(iter(per)))
    per[key] = out
    return out


def abs_young_variance(st: dict, P: np.ndarray, a: int, b: int, codes: np.ndarray, yv: np.ndarray,
                       ratio: float = 1.0) -> float:
    """Variance estimate of the HT contrast total sum_i [I_i(a) - I_i(b)] yv_i / pi_i(.) with the |M| bound.

    ``yv``: outcomes (HT) or residuals (Hajek linearization), length n_units; ``codes``: observed levels.
    ``ratio`` (fixed in advance, > 0): when every zero-joint pair is across the levels, the level-a block
    of the bound is weighted by ``ratio`` and the level-b block by ``1 / ratio`` (valid for any value).
    """
    idx = st["idx"]
    N = idx.size
    ca = codes[idx]
    obs_a = np.flatnonzero(ca == a)
    obs_b = np.flatnonzero(ca == b)
    pos = np.concatenate([obs_a, N + obs_b])  # observed positions
    units = idx[np.concatenate([obs_a, obs_b])]
    s = np.concatenate([np.ones(obs_a.size), -np.ones(obs_b.size)])
    lev = np.concatenate([np.full(obs_a.size, a), np.full(obs_b.size, b)])
    pi = P[units, lev]
    x = s * yv[units]  # the y-scale signed outcomes
    u = x / pi
    J = st["J"][np.ix_(pos, pos)]
    Pp = np.outer(pi, pi)
    pos_j = J > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        W = np.where(pos_j, (J - Pp) / J, 0.0)  # diagonal: (pi - pi^2) / pi = 1 - pi
        t = st["typ"][pos]
        A = st["At"][np.ix_(t, t)]
        B = np.where(pos_j, A / J, 0.0)  # zero-joint entries were moved to the diagonal
    np.fill_diagonal(B, (np.diag(st["At"])[t] + st["dmove"][t]) / pi)
    if ratio != 1.0 and st["cross_only"]:
        na = obs_a.size
        B[:na, :na] *= ratio
        B[na:, na:] /= ratio
    return float(u @ W @ u + x @ B @ x)


def effective_groups(st: dict, P: np.ndarray, a: int, b: int, codes: np.ndarray) -> tuple[float, float]:
    r"""Effective number of independent groups among the units observed at level a and at level b.

    Kish's count with correlations, :math:`(\sum_p w_p)^2 / \sum_{p, q} w_p w_q \rho^+_{pq}` over the
    observed positions of one level, :math:`w_p = 1/\pi_p` and :math:`\rho^+_{pq}` the positive part of
    the design correlation of the indicators :math:`I_p, I_q`,
    :math:`(\pi_{pq} - \pi_p\pi_q) / \sqrt{\pi_p(1-\pi_p)\pi_q(1-\pi_q)}` (1 on the diagonal;
    negative correlations, e.g. between clusters under complete randomization, are ignored). Under a
    cluster design with every unit's level set by its own cluster it is the Kish effective number of
    observed clusters; neighbourhoods spanning clusters correlate units of different clusters and make
    it smaller. It measures how many independent pieces the level's part of the variance is estimated from.
    """
    idx = st["idx"]
    N = idx.size
    ca = codes[idx]
    out = []
    for lev, off in ((a, 0), (b, N)):
        o = np.flatnonzero(ca == lev)
        if o.size == 0:
            out.append(float("nan"))
            continue
        pi = P[idx[o], lev]
        w = 1.0 / pi
        sd = np.sqrt(np.clip(pi * (1 - pi), 0.0, None))
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = (st["J"][np.ix_(off + o, off + o)] - np.outer(pi, pi)) / np.outer(sd, sd)
        rho = np.clip(np.nan_to_num(rho, nan=1.0, posinf=1.0, neginf=0.0), 0.0, 1.0)  # pi = 1: fully dependent
        np.fill_diagonal(rho, 1.0)
        out.append(float(w.sum() ** 2 / (w @ rho @ w)))
    return out[0], out[1]
