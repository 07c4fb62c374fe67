"""Every kernel room (design family x route) against exact enumeration: marginals, every pairwise joint and
the three pair-sum modes (Aronow-Samii sums with zero-joint counts, covariance sums, joint at two levels).

The truth is the frequency over ``design.enumerate()`` (all assignments in the support, with weights), not
anything the kernels compute; the pair sums are the textbook double sums evaluated with those joints."""

import numpy as np
import pytest
import scipy.sparse as sp

import netexp as ne
from netexp.exposure._probabilities import exposure_probabilities
from tests.conftest import random_graph
from tests.exposure.test_probabilities import StandInFraction, enumerate_probs

LABELS = np.array([0, 0, 0, 1, 1, 2, 3, 3, 3, 3, 4])  # unequal clusters, a singleton; node 10 is an isolate

# route name -> (design, mapping, the key in the pair structure that proves the route under test)
ROOMS = {
    "unit-bernoulli-closed-form": (lambda: ne.Bernoulli(11, p=0.35), ne.AronowSamii, "kptr"),
    "unit-bernoulli-threshold-fraction": (lambda: ne.Bernoulli(11, p=0.4), lambda: StandInFraction(1), "kptr"),
    "cluster-bernoulli-programme": (lambda: ne.ClusterRandomized(LABELS, ne.Bernoulli(5, p=0.35)),
                                    lambda: StandInFraction(1), "ptr"),
    "cluster-bernoulli-threshold": (lambda: ne.ClusterRandomized(LABELS, ne.Bernoulli(5, p=0.35)), ne.AronowSamii,
                                    "thr"),
    "unit-complete": (lambda: ne.Complete(11, n_treated=4), ne.AronowSamii, "typ"),
    "cluster-complete-types": (lambda: ne.ClusterRandomized(LABELS, ne.Complete(5, n_treated=2)),
                               lambda: StandInFraction(1), "typ"),
    "cluster-complete-profiles": (lambda: ne.ClusterRandomized(LABELS, ne.Complete(5, n_treated=2)),
                                  ne.AronowSamii, "profile"),
    "saturation-independent-programme": (
        lambda: ne.RandomizedSaturation(LABELS, saturations=(0.0, 0.5), shares=(0.4, 0.6), stage1="bernoulli"),
        lambda: StandInFraction(1), "sat"),
    "saturation-independent-threshold": (
        lambda: ne.RandomizedSaturation(LABELS, saturations=(0.0, 0.5), shares=(0.4, 0.6), stage1="bernoulli",
                                        within="bernoulli"), ne.AronowSamii, "sthr"),
    "saturation-exchangeable-types": (
        lambda: ne.RandomizedSaturation(LABELS, saturations=(0.0, 0.5), shares=(0.4, 0.6), stage1="complete"),
        ne.AronowSamii, "typ"),
}


def _dense(pr, a, b):
    J = pr.joint(a, b)
    if not sp.issparse(J):
        return np.asarray(J)
    full = np.outer(pr.marginal[:, a], pr.marginal[:, b])
    c = J.tocoo()
    full[c.row, c.col] = c.data
    return full


@pytest.mark.parametrize("room", list(ROOMS))
def test_room_marginals_joints_and_pair_sums_equal_enumeration(room):
    make_design, make_mapping, key = ROOMS[room]
    g = random_graph(10, 13, 7, isolates=1)
    design, mp = make_design(), make_mapping()
    pr = exposure_probabilities(g, design, mp, method="exact")
    assert pr._pairs is not None and key in pr._pairs, f"route {key!r} not taken"
    P, J = enumerate_probs(g, design, mp)  # J[a, b, i, j]
    n, L = P.shape
    np.testing.assert_allclose(pr.marginal, P, atol=1e-12)
    for a in range(L):
        for b in range(L):
            np.testing.assert_allclose(_dense(pr, a, b), J[a, b], atol=1e-12, err_msg=f"joint levels {a},{b}")

    rng = np.random.default_rng(5)
    codes = np.asarray(mp.map_many(g, design.sample(rng=2)[None, :]))[0].astype(np.int64)
    U = rng.normal(size=(n, 2))
    V = rng.normal(size=(n, L))
    mask = np.ones(n, bool)
    mask[2] = False
    idx = np.flatnonzero(mask)
    off = ~np.eye(n, dtype=bool) & mask[:, None] & mask[None, :]

    # Aronow-Samii sums: S[q, a, b] = sum over ordered i != j in mask observed at (a, b) of
    # (pi_ij(a, b) - pi_i(a) pi_j(b)) / pi_ij(a, b) U_iq U_jq (0 where pi_ij = 0); zc[i, l] = #{j in mask:
    # pi_ij(a_i, l) = 0} (j = i included)
    S, zc = pr._pair_terms(codes, U, mask)
    S_ref = np.zeros((2, L, L))
    for a in range(L):
        for b in range(L):
            Jab = J[a, b]
            with np.errstate(divide="ignore", invalid="ignore"):
                W = np.where(Jab > 0, (Jab - np.outer(P[:, a], P[:, b])) / Jab, 0.0)
            sel = off & (codes[:, None] == a) & (codes[None, :] == b)
            for q in range(2):
                S_ref[q, a, b] = U[:, q] @ (W * sel) @ U[:, q]
    np.testing.assert_allclose(S, S_ref, atol=1e-10)
    zc_ref = np.zeros((n, L), np.int64)
    for i in idx:
        for l in range(L):
            zc_ref[i, l] = int((J[codes[i], l, i, idx] <= 1e-15).sum())
    np.testing.assert_array_equal(zc, zc_ref)

    # covariance sums: T[k, l] = sum over ordered i != j in mask of (pi_ij(k, l) - pi_i(k) pi_j(l)) V_ik V_jl
    T = pr._cov_terms(V, mask)
    T_ref = np.array([[V[:, k] @ ((J[k, l] - np.outer(P[:, k], P[:, l])) * off) @ V[:, l] for l in range(L)]
                      for k in range(L)])
    np.testing.assert_allclose(T, T_ref, atol=1e-10)
