"""Bipartite experiments: exact exposure probabilities and HT against enumeration of the design."""

import numpy as np
import pandas as pd
import pytest

import netexp as ne
from netexp import EstimationError

# 8 buyers, 6 sellers; every buyer has 1-3 sellers, some share sellers
EDGES = [("b0", "s0"), ("b0", "s1"), ("b1", "s1"), ("b2", "s2"), ("b2", "s3"), ("b3", "s3"), ("b4", "s4"),
         ("b4", "s5"), ("b4", "s0"), ("b5", "s5"), ("b6", "s2"), ("b7", "s4"), ("b7", "s5")]


def _bg():
    return ne.BipartiteGraph.from_edges([b for b, _ in EDGES], [s for _, s in EDGES])


DESIGNS = {
    "bernoulli": lambda: ne.Bernoulli(6, p=0.5),
    "complete": lambda: ne.Complete(6, n_treated=3),
    "cluster-bernoulli": lambda: ne.ClusterRandomized([0, 0, 1, 1, 2, 2], ne.Bernoulli(3, p=0.5)),
    "cluster-complete": lambda: ne.ClusterRandomized([0, 1, 1, 2, 3, 3], ne.Complete(4, n_treated=2)),
}


def _levels(bg, Z):
    return np.array([ne.bipartite_exposure(bg, z)["level"].to_numpy() for z in Z])


@pytest.mark.parametrize("name", list(DESIGNS))
def test_exact_probabilities_equal_enumeration(name):
    bg, design = _bg(), DESIGNS[name]()
    pr = ne.bipartite_exposure_probabilities(bg, design, method="exact")
    Z, w = design.enumerate()
    L = _levels(bg, Z)
    T, C = (L == "treated").astype(float), (L == "control").astype(float)
    np.testing.assert_allclose(pr.treated, w @ T, atol=1e-12)
    np.testing.assert_allclose(pr.control, w @ C, atol=1e-12)
    np.testing.assert_allclose(pr.joint["treated", "treated"], np.einsum("r,ri,rj->ij", w, T, T), atol=1e-12)
    np.testing.assert_allclose(pr.joint["control", "control"], np.einsum("r,ri,rj->ij", w, C, C), atol=1e-12)
    np.testing.assert_allclose(pr.joint["treated", "control"], np.einsum("r,ri,rj->ij", w, T, C), atol=1e-12)


@pytest.mark.parametrize("name", list(DESIGNS))
def test_ht_unbiased_and_variance_conservative_by_enumeration(name):
    bg, design = _bg(), DESIGNS[name]()
    pr = ne.bipartite_exposure_probabilities(bg, design)
    gen = np.random.default_rng(4)
    y0 = gen.normal(size=8) + 2
    y1 = y0 + 1 + gen.normal(scale=0.5, size=8)            # Y(all treated), Y(none treated)
    Z, w = design.enumerate()
    est, var = [], []
    for z, lv in zip(Z, _levels(bg, Z)):
        y = np.where(lv == "treated", y1, np.where(lv == "control", y0, (y0 + y1) / 2))
        e = ne.bipartite_horvitz_thompson(y, bg, z, pr)
        est.append(e.estimate)
        var.append(e.std_error**2)
    est, var = np.array(est), np.array(var)
    tau = (y1 - y0).mean()
    assert w @ est == pytest.approx(tau, abs=1e-12)
    assert w @ var >= w @ (est - tau) ** 2 - 1e-12


def test_monte_carlo_probabilities_and_alignment():
    bg, design = _bg(), DESIGNS["cluster-complete"]()
    exact = ne.bipartite_exposure_probabilities(bg, design)
    mc = ne.bipartite_exposure_probabilities(bg, design, method="monte-carlo", n_draws=20_000, rng=0)
    assert not mc.exact
    np.testing.assert_allclose(mc.treated, exact.treated, atol=0.015)
    np.testing.assert_allclose(mc.joint["treated", "control"], exact.joint["treated", "control"], atol=0.015)
    z = design.sample(rng=1)
    y = np.arange(8.0)
    a = ne.bipartite_horvitz_thompson(y, bg, z, exact)
    ys = pd.Series(y, index=bg.outcome_ids)[::-1]
    zs = pd.Series(z, index=bg.intervention_ids)[::-1]
    b = ne.bipartite_horvitz_thompson(ys, bg, zs, exact)
    assert (a.estimate, a.std_error) == (b.estimate, b.std_error)


def test_positivity_error_and_projection():
    bg = _bg()
    design = ne.ClusterRandomized([0, 0, 0, 1, 1, 1], ne.Complete(2, n_treated=1))
    pr = ne.bipartite_exposure_probabilities(bg, design)
    with pytest.raises(EstimationError, match="positivity"):
        ne.bipartite_horvitz_thompson(np.ones(8), bg, design.sample(rng=0), pr)   # b4 spans both clusters
    g = bg.projection()
    assert g.n_nodes == 6 and g.n_edges == 5                # s0-s1, s2-s3, s4-s5, s0-s4, s0-s5
