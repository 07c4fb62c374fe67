"""The one door from Python to the pair kernels: which kernel serves a pair structure, in which mode.

``_probabilities`` builds a *pair structure* ``st`` (a dict) for the design and mapping; its keys say
which room serves it:

====================  ==========================================  ===========================================
key in ``st``         design and mapping                          kernels
====================  ==========================================  ===========================================
``"profile"``         cluster Complete, threshold mapping         ``_cluster_profiles.profile_pair_sums``
``"sthr"``            saturation, independent levels, threshold   :mod:`.saturation_threshold`
``"sat"``             randomized saturation (other cases)         :mod:`.saturation` (+ type tables)
``"complete"``        Complete over units or clusters             :mod:`.complete`, :mod:`.cluster_complete`
``"thr"``             cluster Bernoulli, one p, threshold         :mod:`.threshold`
``"kptr"``            unit Bernoulli, one p                       :mod:`.unit_bernoulli` (pair sums),
                                                                  :mod:`.bernoulli` (joint entries)
(none of these)       Bernoulli over units or clusters            :mod:`.bernoulli`
====================  ==========================================  ===========================================

:func:`near_pair_sums` runs the streamed pair kernel of that room in a named mode (:mod:`.modes`),
:func:`profile_sums` the profile route's, and :func:`joint_entries` the sparse joint of two levels.
"""

from __future__ import annotations

import numpy as np

from ..._parallel import threads_for
from .modes import AS_PAIR_SUMS, COV_PAIR_SUMS, JOINT_AT_LEVELS

__all__ = ["AS_PAIR_SUMS", "COV_PAIR_SUMS", "JOINT_AT_LEVELS", "joint_entries", "near_pair_sums", "profile_sums"]


def n_chunks(n: int) -> int:
    """Work chunks for the parallel pair kernels (a few per thread, for balance)."""
    import numba

    return int(max(1, min(8 * numba.get_num_threads(), n // 256 + 1)))


def _near_pair_visits(st) -> float:
    """Pairs of rows sharing a randomization unit, with multiplicity (the scale of a near-pair pass)."""
    m = np.diff(st["tptr"]).astype(float)
    return float((m * m).sum())


# ----------------------------------------------------------------------------- positional arguments per room
def _incidence_args(st):
    return st["ptr"], st["col"], st["wt"], st["own"], st["tptr"], st["tidx"]


def _threshold_args(st):
    return (*_incidence_args(st), st["ownin"], st["nW"], float(st["p"][0]),
            st["pw0"], st["pw1"], st["lev"])


def _saturation_args(st):
    return (*_incidence_args(st), st["kptr"], st["kidx"], st["lab"], st["sizes"],
            st["lo2"], st["fr2"], st["sat"], st["shares"], st["bern"],
            st["indep"], st["Nsup"], st["Nw"], st["lf"], st["Kc"],
            st["d"], st["loff"], st["ltab"])


def _saturation_threshold_args(st):
    return (*_incidence_args(st), st["kptr"], st["kidx"], st["lab"], st["G"],
            st["goff"], st["gM"], st["d"], st["lev"])


def _independent_args(st):
    return (st["ptr"], st["col"], st["wt"], st["tptr"], st["tidx"], st["own"],
            st["p"], st["d"], st["loff"], st["ltab"])


# ----------------------------------------------------------------------------- the dispatcher
def near_pair_sums(st, mode, marginal, level_codes, in_sum, weights, sums, zero_count, dense_joint=None,
                   level_a=0, level_b=0, progress=False):
    """Run the pair kernel serving ``st`` in ``mode``; results accumulate into ``sums``, ``zero_count``,
    ``dense_joint``.

    ``mode`` is :data:`AS_PAIR_SUMS` (``weights`` (n, M), ``sums`` (M, L, L), ``zero_count`` (n, L)),
    :data:`COV_PAIR_SUMS` (``weights`` (n, L), ``sums`` (1, L, L)) or :data:`JOINT_AT_LEVELS` (Complete
    and saturation rooms only: ``dense_joint[i, j] = P(level_i = level_a, level_j = level_b)`` for the
    near pairs). Independent rooms stream the dependent pairs only (far pairs contribute nothing);
    Complete-type rooms correct the type formula already applied by the caller on the near pairs.
    ``progress``: Complete rooms split the rows into blocks behind a progress bar (long jobs).
    """
    if mode not in (AS_PAIR_SUMS, COV_PAIR_SUMS, JOINT_AT_LEVELS):
        raise ValueError(f"unknown pair-sum mode {mode!r}")
    n_levels = marginal.shape[1]
    level_codes = np.ascontiguousarray(level_codes, dtype=np.int64)
    weights = np.ascontiguousarray(weights, dtype=float)
    if dense_joint is None:
        dense_joint = np.zeros((1, 1))
    if "sat" in st:
        return _saturation_sums(st, mode, n_levels, marginal, level_codes, in_sum, weights, sums, zero_count,
                                dense_joint, level_a, level_b)
    if "complete" in st:
        return _complete_sums(st, mode, n_levels, marginal, level_codes, in_sum, weights, sums, zero_count,
                              dense_joint, level_a, level_b, progress)
    if mode == JOINT_AT_LEVELS:
        raise ValueError("JOINT_AT_LEVELS is for Complete-type rooms; use joint_entries for independent ones")
    n = marginal.shape[0]
    if "thr" in st:  # independent clusters, threshold mapping: closed-form pair joints, parallel
        from .threshold import threshold_pair_sums

        with threads_for(_near_pair_visits(st) * 8.0):
            threshold_pair_sums(*_threshold_args(st), n_levels, level_codes, in_sum, marginal, weights, mode,
                                n_chunks(n), sums, zero_count)
    elif "kptr" in st:  # unit-level Bernoulli with one probability: closed-form pair joints, parallel
        from .unit_bernoulli import unit_bernoulli_pair_sums

        with threads_for(st["kidx"].shape[0] * 16):
            unit_bernoulli_pair_sums(st["kptr"], st["kidx"], st["ktptr"], st["ktidx"],
                                     st["d"], float(st["p"][0]), st["tab"], st["cdf"],
                                     st["sf"], st["rend"], st["loff"], st["ltab"], n_levels,
                                     level_codes, in_sum, marginal, weights, mode, n_chunks(n), sums, zero_count)
    elif mode == AS_PAIR_SUMS:  # Bernoulli over units or clusters: a programme per dependent pair
        from .bernoulli import independent_as_pair_sums

        independent_as_pair_sums(*_independent_args(st), n_levels, level_codes, in_sum, marginal, weights, sums,
                                 zero_count)
    else:
        from .bernoulli import independent_cov_pair_sums

        independent_cov_pair_sums(*_independent_args(st), n_levels, in_sum, marginal, weights, sums[0])
    return None


def _complete_sums(st, mode, n_levels, marginal, level_codes, in_sum, weights, sums, zero_count, dense_joint,
                   level_a, level_b, progress):
    """Near pairs of Complete designs (see :func:`.complete.complete_near_pair_sums`)."""
    from .complete import complete_near_pair_sums

    n = st["n"]
    dm = float(st["d"].mean()) if n else 0.0
    bounds = np.linspace(0, n, 101 if progress else 2).astype(np.int64)
    steps = range(bounds.shape[0] - 1)
    if progress:
        from tqdm import tqdm

        steps = tqdm(steps, desc="exact pair joints", unit="%", disable=None)
    with threads_for(float(st["ptr"][-1]) * max(dm, 1.0) * (dm + 4.0) ** 2):
        for s in steps:
            complete_near_pair_sums(st["ptr"], st["col"], st["wt"], st["own"],
                                    st["tptr"], st["tidx"], st["nR"], st["ks"],
                                    st["kw"], st["lf"], st["d"], st["loff"],
                                    st["ltab"], st["rend"], n_levels, st["typ"], st["Jt"],
                                    st["pit"], marginal, level_codes, in_sum, weights, mode,
                                    st["unit"], n_chunks(n), sums, zero_count, dense_joint, level_a, level_b,
                                    int(bounds[s]), int(bounds[s + 1]))


def _saturation_sums(st, mode, n_levels, marginal, level_codes, in_sum, weights, sums, zero_count, dense_joint,
                     level_a, level_b):
    """Near pairs under randomized saturation (see :func:`.saturation.saturation_near_pair_sums`)."""
    if "sthr" in st and mode != JOINT_AT_LEVELS:  # threshold mapping, independent levels: closed-form joints
        import numba

        from .saturation_threshold import saturation_threshold_pair_sums

        with threads_for(_near_pair_visits(st) * 20.0):
            slots = numba.get_num_threads()
            saturation_threshold_pair_sums(*_saturation_threshold_args(st), n_levels, marginal, level_codes, in_sum,
                                           weights, mode, max(n_chunks(st["n"]), slots), slots, sums, zero_count)
        return
    from .saturation import saturation_near_pair_sums

    unit_type = st.get("typ", np.zeros(1, dtype=np.int64))
    type_joint = st.get("Jt", np.zeros((1, 1, n_levels, n_levels)))
    type_marginal = st.get("pit", np.zeros((1, n_levels)))
    with threads_for(_near_pair_visits(st) * 200.0):
        saturation_near_pair_sums(*_saturation_args(st), n_levels, unit_type, type_joint, type_marginal, marginal,
                                  level_codes, in_sum, weights, mode, n_chunks(st["n"]), sums, zero_count, dense_joint,
                                  level_a, level_b)


def profile_sums(st, mode, marginal, sums, count, level_a=0, level_b=0):
    """Run :func:`._cluster_profiles.profile_pair_sums` in ``mode``; returns ``(S_g, zero_g, J_self, D)``.

    ``sums[m, g, a]``: the weights summed over the units of profile g (observed at a for
    :data:`AS_PAIR_SUMS`); ``D[g, h]`` is the joint at ``(level_a, level_b)`` for :data:`JOINT_AT_LEVELS`.
    """
    from .._cluster_profiles import profile_pair_sums

    P = st["reps"].shape[0]
    L = marginal.shape[1]
    M = sums.shape[0]
    marg_p = np.ascontiguousarray(marginal[st["reps"]], dtype=float)
    S_g = np.zeros((P, M, L, L))
    zero_g = np.zeros((P, L, L), dtype=np.int64)
    J_self = np.zeros((P, L, L))
    D = np.zeros((P, P) if mode == JOINT_AT_LEVELS else (1, 1))
    wm = float(np.diff(st["w_ptr"]).mean()) if P else 0.0
    with threads_for(float(P) * P * (wm + 2.0) ** 2 * 8.0):
        profile_pair_sums(st["own_p"], st["w_ptr"], st["w_idx"], st["level_p"], st["nR"], st["ks"], st["kw"],
                          st["lf"], marg_p, np.ascontiguousarray(sums, dtype=float),
                          np.ascontiguousarray(count, dtype=np.int64), mode, level_a, level_b, S_g, zero_g, J_self, D)
    return S_g, zero_g, J_self, D


def joint_entries(st, n_levels, level_a, level_b):
    """``(rows, cols, vals)``: ``P(level_i = level_a, level_j = level_b)`` for every dependent pair i != j
    of an independent room (two passes: count, then fill)."""
    if "sthr" in st:
        from .saturation_threshold import saturation_threshold_joint_entries as kern

        args = (*_saturation_threshold_args(st), n_levels, level_a, level_b)
    elif "sat" in st:
        from .saturation import saturation_joint_entries as kern

        args = (*_saturation_args(st), n_levels, level_a, level_b)
    elif "thr" in st:
        from .threshold import threshold_joint_entries as kern

        args = (*_threshold_args(st), n_levels, level_a, level_b)
    else:
        from .bernoulli import independent_joint_entries as kern

        args = (*_independent_args(st), n_levels, level_a, level_b)
    e = np.empty(0, dtype=np.int64)
    cnt = kern(*args, True, e, e, np.empty(0))
    rows, cols, vals = np.empty(cnt, np.int64), np.empty(cnt, np.int64), np.empty(cnt)
    kern(*args, False, rows, cols, vals)
    return rows, cols, vals
