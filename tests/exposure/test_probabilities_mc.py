"""Monte Carlo variance sums streamed from the stored codes (packed counts; quadratic form over draws)
against the dense joint matrices, and against hand counts of the joint frequencies."""

import numpy as np
import pytest

import netexp as ne
from netexp.exposure._probabilities import exposure_probabilities
from tests.conftest import random_graph


def _hand_pair_terms(E, convention, marg, codes, U, mask):
    """The Aronow-Samii sums from joint frequencies counted pair by pair in Python."""
    R, n = E.shape
    L = marg.shape[1]
    S = np.zeros((U.shape[1], L, L))
    zc = np.zeros((n, L), dtype=np.int64)
    inter = convention == "interference"
    for i in np.flatnonzero(mask):
        a = codes[i]
        for j in np.flatnonzero(mask):
            for l in range(L):
                c = int(((E[:, i] == a) & (E[:, j] == l)).sum())
                if i == j and inter and l == a:
                    c += 1
                den = R + 1 if (inter and l == a) else R
                v = c / den
                zc[i, l] += v == 0
                if i != j and l == codes[j] and v > 0:
                    S[:, a, l] += (v - marg[i, a] * marg[j, l]) / v * U[i] * U[j]
    return S, zc


@pytest.mark.parametrize("convention", ["netexp", "interference"])
def test_streamed_monte_carlo_sums_equal_hand_counts_and_dense(convention):
    g = random_graph(30, 45, 2)
    d = ne.ClusterRandomized(np.arange(30) % 7, ne.Complete(7, n_treated=3))
    mp = ne.AronowSamii()
    pr = exposure_probabilities(g, d, mp, method="monte-carlo", n_draws=130, rng=1, convention=convention)
    rng = np.random.default_rng(3)
    codes = np.asarray(mp.map(g, d.sample(rng=4))).astype(np.int64)
    mask = rng.random(30) < 0.85
    U = rng.normal(size=(30, 2))
    S, zc = pr._pair_terms(codes, U, mask)
    S0, zc0 = _hand_pair_terms(pr._codes, convention, pr.marginal, codes, np.where(mask[:, None], U, 0.0), mask)
    np.testing.assert_allclose(S, S0, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(zc, zc0)
    Sd, zcd = pr._dense_mc_pair_terms(codes, U, mask)
    np.testing.assert_allclose(S, Sd, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(zc, zcd)
    V = rng.normal(size=(30, 4))
    np.testing.assert_allclose(pr._cov_terms(V, mask), pr._dense_mc_cov_terms(V, mask), rtol=1e-12, atol=1e-12)


def test_streamed_monte_carlo_standard_errors_equal_dense():
    """HT and Hajek SEs (both variance types) from the streamed sums equal the dense path's."""
    g = ne.social_network(400, mean_degree=8, community_size=(20, 60), rng=1)
    d = ne.Complete(400, p=0.5)
    mp = ne.AronowSamii()
    pr = exposure_probabilities(g, d, mp, method="monte-carlo", n_draws=300, rng=2)
    z = d.sample(rng=3)
    y = ne.LinearInMeans(direct=0.2, spillover=0.1).realize(g, rng=2).outcomes(z)
    lv = mp.map(g, z)
    contrast = [("direct_indirect", "no_exposure")]
    ok = (pr.marginal[:, [0, 3]] > 0).all(1)

    class Dense(type(pr)):
        _pair_terms = type(pr)._dense_mc_pair_terms
        _cov_terms = type(pr)._dense_mc_cov_terms

    import dataclasses

    dense = Dense(**{f.name: getattr(pr, f.name) for f in dataclasses.fields(pr)})
    for f in (ne.horvitz_thompson, ne.hajek):
        for v in ("aronow-samii", "constant-effects"):
            a = f(y, lv, pr, contrasts=contrast, units=ok, variance=v)[0].std_error
            b = f(y, lv, dense, contrasts=contrast, units=ok, variance=v)[0].std_error
            np.testing.assert_allclose(a, b, rtol=1e-12)
