"""The R package `interference` (Aronow & Samii), vignette "basic", US airports, hop 1: with the
package's own 1500 complete-randomization draws and its probability convention, netexp reproduces
the printed estimates; exact probabilities for Complete(754, 151) agree with a large Monte Carlo."""

import warnings

import numpy as np
import pandas as pd
import pytest

import netexp as ne
from netexp.estimators._horvitz_thompson import hajek, horvitz_thompson
from netexp.exposure._probabilities import exposure_probabilities
from tests.conftest import shared_file
from tests.exposure.test_probabilities import mapping

LEVELS3 = ["direct_indirect", "isolated_direct", "indirect"]


def _load():
    edges = np.loadtxt(shared_file("interference_airports", "airports_undirected.csv"), dtype=np.int64)
    keep = pd.read_csv(shared_file("interference_airports", "airports_nonisolate_ids.csv"))["orig_id"].to_numpy() - 1
    pos = np.full(755, -1)
    pos[keep] = np.arange(keep.size)
    u, v = pos[edges[:, 0]], pos[edges[:, 1]]
    ok = (u >= 0) & (v >= 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ne.GraphWarning)  # the vignette drops self-loops too (diag <- 0)
        g = ne.Graph.from_edges(u[ok], v[ok], nodes=np.arange(keep.size))
    vars_ = pd.read_csv(shared_file("interference_airports", "airports_vars_hop1.csv"))
    vars_ = vars_[vars_["id"].isin(keep + 1)]
    omega = pd.read_csv(shared_file("interference_airports", "airports_omega_1500xN.csv.gz")).to_numpy()
    return g, vars_["treatment"].to_numpy(), vars_["y"].to_numpy(), omega


@pytest.fixture(scope="module")
def airports():
    return _load()


def test_reproduces_interference_vignette(airports):
    g, z, y, omega = airports
    assert g.n_nodes == 754 and omega.shape == (1500, 754) and z.sum() == 151
    mp = mapping(1)
    pr = exposure_probabilities(g, None, mp, draws=omega, convention="interference")
    codes = np.asarray(mp.map_many(g, z[None, :].astype(bool)))[0]
    ht = horvitz_thompson(y, codes, pr, contrasts="all-vs-no_exposure", variance="aronow-samii")  # the package's bound
    hj = hajek(y, codes, pr, contrasts="all-vs-no_exposure")
    # printed values of the vignette (tau_ht, var_tau_ht, tau_h)
    for lev, est, var, h in zip(LEVELS3, [2437.561, -1128.116, 2717.595], [65653393, 3837374, 24041666],
                                [3220.104, -837.477, 3495.717]):
        name = f"Y({lev}) - Y(no_exposure)"
        assert round(ht[name].estimate, 3) == pytest.approx(est, abs=1e-9)
        assert round(ht[name].std_error ** 2) == pytest.approx(var, abs=0.5)
        assert round(hj[name].estimate, 3) == pytest.approx(h, abs=1e-9)


def test_exact_complete_marginals_match_large_monte_carlo(airports):
    g, z, y, _ = airports
    mp = mapping(1)
    design = ne.Complete(754, n_treated=151)
    exact = exposure_probabilities(g, design, mp, method="exact", joint=False)
    mc = exposure_probabilities(g, design, mp, method="monte-carlo", n_draws=20_000, rng=0, joint=False)
    se = np.sqrt(exact.marginal * (1 - exact.marginal) / 20_000)
    # 3016 comparisons; 5 binomial standard errors (+1e-12 for certain levels) is a safe bound
    assert (np.abs(mc.marginal - exact.marginal) <= 5 * se + 1e-12).all()
    codes = np.asarray(mp.map_many(g, z[None, :].astype(bool)))[0]
    with pytest.warns(ne.EstimationWarning, match="no joint probabilities"):
        t = horvitz_thompson(y, codes, exact, contrasts="all-vs-no_exposure")
        h = hajek(y, codes, exact, contrasts="all-vs-no_exposure")
    for k, lev in enumerate(LEVELS3):
        name = f"Y({lev}) - Y(no_exposure)"
        P = exact.marginal
        hand = (np.sum(y[codes == k] / P[codes == k, k]) - np.sum(y[codes == 3] / P[codes == 3, 3])) / 754
        assert t[name].estimate == pytest.approx(hand, rel=1e-12)
        print(f"exact {name}: HT {t[name].estimate:.3f}  Hajek {h[name].estimate:.3f}")


def _dense_as_vec(y, codes, P, J, a, b, N):
    """The Aronow-Samii formulas as dense numpy double sums over all pairs, from full joint matrices."""
    n = len(y)
    off = ~np.eye(n, dtype=bool)

    def var(k):
        Jk = J[(k, k)]
        c = (codes == k).astype(float)
        u = c * y / P[:, k]
        with np.errstate(divide="ignore", invalid="ignore"):
            W = np.where(Jk > 0, (Jk - np.outer(P[:, k], P[:, k])) / Jk, 0.0)
        np.fill_diagonal(W, 1 - P[:, k])
        m = c * y**2 / (2 * P[:, k])
        return u @ W @ u + ((m[:, None] + m[None, :]) * ((Jk == 0) & off)).sum()

    Jab = J[(a, b)].copy()
    np.fill_diagonal(Jab, 0.0)
    ua = (codes == a) * y / P[:, a]
    ub = (codes == b) * y / P[:, b]
    with np.errstate(divide="ignore", invalid="ignore"):
        W = np.where(Jab > 0, (Jab - np.outer(P[:, a], P[:, b])) / Jab, 0.0)
    ma = (codes == a) * y**2 / (2 * P[:, a])
    mb = (codes == b) * y**2 / (2 * P[:, b])
    cov = ua @ W @ ub - ((ma[:, None] + mb[None, :]) * (Jab == 0)).sum()
    return (var(a) + var(b) - 2 * cov) / N**2


@pytest.mark.slow
def test_exact_complete_standard_errors(airports):
    """Complete(754, 151) with exact joints: HT / Hajek now have Aronow-Samii standard errors. Checked
    (1) against the dense double-sum formulas evaluated with the package's dense exact joints (the
    streamed type + near-pair sums must agree to rounding), (2) those joints against 100,000 Monte
    Carlo draws on the blocks the variance uses (5 binomial standard errors + 1e-12)."""
    g, z, y, _ = airports
    mp = mapping(1)
    design = ne.Complete(754, n_treated=151)
    pr = exposure_probabilities(g, design, mp)  # auto: exact, with joints
    assert pr.exact and pr.joint_available
    codes = np.asarray(mp.map_many(g, z[None, :].astype(bool)))[0]
    # the Aronow-Samii variance by name: "auto" gives the |M| bound on this design (dense joints, 754 units)
    ht = horvitz_thompson(y, codes, pr, contrasts="all-vs-no_exposure", variance="aronow-samii")
    hj = hajek(y, codes, pr, contrasts="all-vs-no_exposure", variance="aronow-samii")
    P = pr.marginal
    J = {(a, b): pr.joint(a, b) for a in range(4) for b in range(4) if a == b or b == 3}
    mu = np.array([np.sum(y[codes == k] / P[codes == k, k]) / np.sum(1 / P[codes == k, k]) for k in range(4)])
    for k, lev in enumerate(LEVELS3):
        name = f"Y({lev}) - Y(no_exposure)"
        assert ht[name].std_error ** 2 == pytest.approx(_dense_as_vec(y, codes, P, J, k, 3, 754), rel=1e-8)
        assert hj[name].std_error ** 2 == pytest.approx(_dense_as_vec(y - mu[codes], codes, P, J, k, 3, 754),
                                                        rel=1e-8)
        print(f"exact {name}: HT {ht[name].estimate:.3f} (SE {ht[name].std_error:.1f})  "
              f"Hajek {hj[name].estimate:.3f} (SE {hj[name].std_error:.1f})")
    R, B = 100_000, 5_000
    rng = np.random.default_rng(0)
    cnt = {ab: np.zeros((int((codes == ab[0]).sum()), int((codes == ab[1]).sum()))) for ab in J}
    for _ in range(R // B):
        E = np.asarray(mp.map_many(g, design.sample_many(B, rng=rng)))
        for (a, b) in J:
            Ia = (E[:, codes == a] == a).astype(np.float32)
            Ib = (E[:, codes == b] == b).astype(np.float32)
            cnt[(a, b)] += (Ia.T @ Ib).astype(np.float64)
    for (a, b), C in cnt.items():
        ex = J[(a, b)][np.ix_(codes == a, codes == b)]
        mc = C / R
        if a == b:  # the diagonal (i == j) holds the marginal on both sides
            np.fill_diagonal(mc, np.diag(ex))
        se = np.sqrt(ex * (1 - ex) / R)
        assert (np.abs(mc - ex) <= 5 * se + 1e-12).all(), (a, b, np.abs(mc - ex).max())
