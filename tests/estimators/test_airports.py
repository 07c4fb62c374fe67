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
    ht = horvitz_thompson(y, codes, pr, contrasts="all-vs-no_exposure")
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
