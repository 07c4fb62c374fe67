"""Tests for interference: statistics from networkx loops, conditional draws, level and power by
simulation (Athey-Eckles-Imbens) and the Saveski et al. mixed-design test."""

import numpy as np
import pandas as pd
import pytest

import netexp as ne
from netexp.inference import interference_test, mixed_design_test
from netexp.inference._interference import _conditional_sampler

SD200 = np.sqrt(0.05 * 0.95 / 200)          # binomial sd of a rejection rate over 200 replications


def _focal_stats_by_hand(G, y, z, focal):
    """The three statistics from their definitions, looping over networkx neighbours."""
    F = [i for i in G.nodes if focal[i]]
    r = {}
    for arm in (False, True):
        members = [i for i in F if z[i] == arm]
        for i in members:
            r[i] = y[i] - np.mean([y[j] for j in members])
    c = {i: sum(1 for j in G.neighbors(i) if not focal[j] and z[j]) for i in F}
    d = {i: sum(1 for j in G.neighbors(i) if not focal[j]) for i in F}
    withn = [i for i in F if d[i] > 0]
    h1 = [r[i] for i in withn if c[i] > 0]
    h0 = [r[i] for i in withn if c[i] == 0]
    has = np.mean(h1) - np.mean(h0)
    e1 = sum(r[i] * c[i] for i in F) / sum(c[i] for i in F)
    e0 = sum(r[i] * (d[i] - c[i]) for i in F) / sum(d[i] - c[i] for i in F)
    score = np.mean([r[i] * c[i] / G.degree(i) if G.degree(i) else 0.0 for i in F])
    return {"has-treated-neighbor": has, "edge-contrast": e1 - e0, "score": score}


@pytest.mark.parametrize("statistic", ["has-treated-neighbor", "edge-contrast", "score"])
def test_observed_statistics_match_networkx_loops(statistic):
    g = ne.erdos_renyi(60, mean_degree=4, rng=1)
    G = g.to_networkx()
    G = nx_relabel(G, g)
    rng = np.random.default_rng(2)
    z = rng.random(60) < 0.5
    y = rng.normal(size=60) + z
    focal = rng.random(60) < 0.4
    res = interference_test(g, y, z, ne.Bernoulli(60), focal=focal, statistic=statistic, n_draws=20, rng=0)
    want = _focal_stats_by_hand(G, y, z, focal)[statistic]
    assert res.observed == pytest.approx(want, rel=1e-10, abs=1e-12)
    assert res.n_focal == focal.sum() and np.array_equal(res.focal, focal)


def nx_relabel(G, g):
    import networkx as nx

    return nx.relabel_nodes(G, {nid: i for i, nid in enumerate(g.node_ids.tolist())})


def test_conditional_draws_keep_focal_fixed_and_match_the_design():
    n = 40
    rng = np.random.default_rng(0)
    focal = rng.random(n) < 0.3
    # Bernoulli: focal fixed, non-focal independent coins with the design's p
    z = ne.Bernoulli(n, p=0.3).sample(rng=1)
    Z = _conditional_sampler(ne.Bernoulli(n, p=0.3), focal, z)(4000, np.random.default_rng(2))
    assert (Z[:, focal] == z[focal]).all()
    assert np.abs(Z[:, ~focal].mean(0) - 0.3).max() < 4 * np.sqrt(0.3 * 0.7 / 4000)
    # Complete: the non-focal treated count is kept, every non-focal unit equally likely
    d = ne.Complete(n, n_treated=20)
    z = d.sample(rng=3)
    Z = _conditional_sampler(d, focal, z)(4000, np.random.default_rng(4))
    assert (Z[:, focal] == z[focal]).all() and (Z.sum(1) == 20).all()
    share = z[~focal].mean()
    assert np.abs(Z[:, ~focal].mean(0) - share).max() < 4 * np.sqrt(share * (1 - share) / 4000)
    # Stratified: counts kept within each stratum
    strata = np.repeat([0, 1, 2, 3], 10)
    d = ne.Stratified(strata, n_treated=5)
    z = d.sample(rng=5)
    Z = _conditional_sampler(d, focal, z)(500, np.random.default_rng(6))
    for s in range(4):
        assert (Z[:, strata == s].sum(1) == 5).all()
    assert (Z[:, focal] == z[focal]).all()
    # cluster design: whole clusters, focal clusters fixed
    labels = np.repeat(np.arange(8), 5)
    d = ne.ClusterRandomized(labels, n_treated=4)
    z = d.sample(rng=7)
    fmask = np.isin(labels, [0, 3])
    Z = _conditional_sampler(d, fmask, z)(500, np.random.default_rng(8))
    assert (Z[:, fmask] == z[fmask]).all() and (Z.sum(1) == 20).all()
    assert all((Z[:, labels == c] == Z[:, [np.flatnonzero(labels == c)[0]]]).all() for c in range(8))


@pytest.mark.parametrize("design_kind,statistic", [("bernoulli", "has-treated-neighbor"), ("complete", "score")])
def test_level_without_interference(design_kind, statistic):
    """200 replications, no spillovers (heterogeneous direct effects): the Monte Carlo p-value with 99
    draws is exact, so P(p <= 0.05) = 0.05; tolerance 3 binomial sd."""
    g = ne.erdos_renyi(150, mean_degree=5, rng=0)
    n = g.n_nodes
    design = ne.Bernoulli(n, p=0.5) if design_kind == "bernoulli" else ne.Complete(n, n_treated=n // 2)
    base = np.random.default_rng(1)
    y0 = base.exponential(size=n)
    tau = 1 + base.normal(size=n)
    rej = 0
    for rep in range(200):
        r = np.random.default_rng(rep)
        z = design.sample(rng=r)
        y = y0 + tau * z + r.normal(size=n)
        rej += interference_test(g, y, z, design, statistic=statistic, n_draws=99, rng=r).p_value <= 0.05
    assert abs(rej / 200 - 0.05) <= 3 * SD200


def test_level_cluster_design():
    """Cluster design (50 clusters of 6 consecutive units on a ring lattice with shortcuts): focal
    clusters fixed, the other clusters re-randomized; edge contrast; 200 replications."""
    g = ne.watts_strogatz(300, 6, 0.1, rng=2)
    design = ne.ClusterRandomized(np.arange(300) // 6)
    rej = 0
    for rep in range(200):
        r = np.random.default_rng(rep)
        z = design.sample(rng=r)
        y = z + r.normal(size=g.n_nodes)
        rej += interference_test(g, y, z, design, statistic="edge-contrast", n_draws=99, rng=r).p_value <= 0.05
    assert abs(rej / 200 - 0.05) <= 3 * SD200


@pytest.mark.parametrize("statistic", ["has-treated-neighbor", "edge-contrast", "score"])
def test_power_with_strong_spillovers(statistic):
    g = ne.social_network(400, mean_degree=4, rng=3)
    n = g.n_nodes
    design = ne.Bernoulli(n, p=0.5)
    rej = 0
    for rep in range(20):
        r = np.random.default_rng(rep)
        z = design.sample(rng=r)
        y = z + 3.0 * ne.fraction_treated_neighbors(g, z) + r.normal(size=n)
        rej += interference_test(g, y, z, design, statistic=statistic, n_draws=199, rng=r).p_value <= 0.05
    assert rej >= 18


def test_interference_errors_and_reproducibility():
    g = ne.erdos_renyi(50, mean_degree=4, rng=0)
    z = ne.Bernoulli(50).sample(rng=1)
    y = np.random.default_rng(2).normal(size=50)
    a = interference_test(g, y, z, ne.Bernoulli(50), n_draws=100, rng=3)
    b = interference_test(g, y, z, ne.Bernoulli(50), n_draws=100, rng=3)
    assert a.p_value == b.p_value and np.array_equal(a.null_distribution, b.null_distribution)
    assert a.to_dict()["n_focal"] == 25
    X = np.random.default_rng(0).normal(size=(50, 2))
    with pytest.raises(ne.DesignError, match="supported for Bernoulli"):
        interference_test(g, y, z, ne.MatchedPairs(X), n_draws=10)
    cl = ne.ClusterRandomized(np.repeat(np.arange(10), 5))
    zc = cl.sample(rng=0)
    with pytest.raises(ne.DesignError, match="whole clusters"):
        interference_test(g, y, zc, cl, focal=np.arange(50) < 3, n_draws=10)
    with pytest.raises(ne.InputError, match="statistic"):
        interference_test(g, y, z, ne.Bernoulli(50), statistic="cov")


# ------------------------------------------------------------------ Saveski et al.
def _two_stage(r, k, size, n_units):
    """Clusters split half/half into arms; half the cluster-arm clusters treated; unit arm Complete."""
    arm_c = r.permutation(np.arange(k) < k // 2)
    labels = np.repeat(np.arange(k), size)
    cr_clusters = np.flatnonzero(arm_c)
    zc = np.zeros(k, bool)
    zc[r.choice(cr_clusters, cr_clusters.size // 2, replace=False)] = True
    unit_cr = arm_c[labels]
    z = zc[labels].copy()
    ur = np.flatnonzero(~unit_cr)
    z[r.choice(ur, ur.size // 2, replace=False)] = True
    return labels, arm_c, z


def test_mixed_design_formulas_by_hand():
    r = np.random.default_rng(0)
    labels, arm_c, z = _two_stage(r, 12, 5, 60)
    y = r.normal(size=60) + z
    res = mixed_design_test(y, z, labels, arm_c)
    df = pd.DataFrame({"y": y, "z": z, "c": labels, "cr": arm_c[labels]})
    u = df[~df.cr]
    mu_ur = u[u.z].y.mean() - u[~u.z].y.mean()
    v_ur = u[u.z].y.var() / u.z.sum() + u[~u.z].y.var() / (~u.z).sum()
    tot = df[df.cr].groupby("c").agg(y=("y", "sum"), z=("z", "first"))
    M, N = len(tot), int(df.cr.sum())
    mu_cr = M / N * (tot[tot.z].y.mean() - tot[~tot.z].y.mean())
    v_cr = (M / N) ** 2 * (tot[tot.z].y.var() / tot.z.sum() + tot[~tot.z].y.var() / (~tot.z).sum())
    assert res.unit_arm.estimate == pytest.approx(mu_ur)
    assert res.cluster_arm.estimate == pytest.approx(mu_cr)
    assert res.difference.std_error == pytest.approx(np.sqrt(v_ur + v_cr))
    assert res.statistic == pytest.approx((mu_cr - mu_ur) / np.sqrt(v_ur + v_cr))
    assert res.p_value == pytest.approx(2 * (1 - __import__("scipy").stats.norm.cdf(abs(res.statistic))))
    # per-unit arm indicator gives the same answer
    assert mixed_design_test(y, z, labels, arm_c[labels]).p_value == res.p_value
    assert "Saveski" in res.summary() and len(res.to_frame()) == 3


def test_mixed_design_type_one_error_and_power():
    """Type I: 300 replications without interference, rate <= 0.05 + 3 sd (the test is conservative).
    Power: within-cluster spillovers of 3 x share of treated cluster-mates, >= 90% of 50 replications."""
    k, size = 80, 10
    n = k * size
    base = np.random.default_rng(99)
    y0 = np.repeat(base.normal(size=k), size) + base.normal(size=n)
    tau = 1 + 0.5 * base.normal(size=n)
    rej = 0
    for rep in range(300):
        r = np.random.default_rng(rep)
        labels, arm_c, z = _two_stage(r, k, size, n)
        rej += mixed_design_test(y0 + tau * z, z, labels, arm_c).p_value <= 0.05
    assert rej / 300 <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 300)
    power = 0
    for rep in range(50):
        r = np.random.default_rng(1000 + rep)
        labels, arm_c, z = _two_stage(r, k, size, n)
        share = (np.bincount(labels, weights=z) / size)[labels]
        y = y0 + tau * z + 3.0 * share
        power += mixed_design_test(y, z, labels, arm_c).p_value <= 0.05
    assert power >= 45


def test_mixed_design_errors():
    labels = np.repeat(np.arange(6), 2)
    with pytest.raises(ne.InputError, match="constant within each cluster"):
        mixed_design_test(np.zeros(12), np.r_[1, 0, np.zeros(10)], labels, np.repeat([1, 1, 1, 0, 0, 0], 2).astype(bool))
    with pytest.raises(ne.InputError, match="one value per unit"):
        mixed_design_test(np.zeros(12), np.zeros(12), labels, [True, False])


def _mc_p(T, obs, alternative):
    """(1 + #{draws at least as extreme})/(R + 1); two-sided centred at the mean of draws and observed."""
    T = T[np.isfinite(T)]
    c = (T.sum() + obs) / (T.shape[0] + 1)
    d, d_obs = {"greater": (T, obs), "less": (-T, -obs), "two-sided": (np.abs(T - c), abs(obs - c))}[alternative]
    scale = max(abs(obs), np.abs(T).max(), abs(c))
    return (int(np.sum(d >= d_obs - 1e-9 * scale)) + 1) / (T.shape[0] + 1)


@pytest.mark.parametrize("cluster", [False, True])
@pytest.mark.parametrize("statistic,alternative", [("has-treated-neighbor", "two-sided"), ("score", "greater"),
                                                   ("edge-contrast", "less")])
def test_p_value_equals_hand_computation_on_the_same_draws(cluster, statistic, alternative):
    """The seeded blocks redraw the auxiliary units (clusters) as Bernoulli(m, p).sample_many does
    for ``design_draws(Bernoulli(m, p), R, rng)``; on those draws the statistic from networkx loops and
    the Monte Carlo p-value by hand must equal the test's (the block machinery makes neither)."""
    import warnings

    from netexp._executor import design_draws

    n, p, R = 60, 0.25, 300
    g = ne.erdos_renyi(n, mean_degree=4, rng=5)
    G = nx_relabel(g.to_networkx(), g)
    rng = np.random.default_rng(6)
    if cluster:
        labels = np.arange(n) // 3
        design = ne.ClusterRandomized(labels, ne.Bernoulli(20, p=p))
        fc = np.arange(20) % 3 == 0
        focal = fc[labels]
    else:
        design = ne.Bernoulli(n, p=p)
        focal = rng.random(n) < 0.35
    z = design.sample(rng=1)
    y = rng.normal(size=n) + z + 0.5 * ne.fraction_treated_neighbors(g, z)
    res = interference_test(g, y, z, design, focal=focal, statistic=statistic, alternative=alternative,
                            n_draws=R, rng=7)
    if cluster:
        aux = design_draws(ne.Bernoulli(int((~fc).sum()), p=p), R, 7)
        Zc = np.zeros((R, 20), dtype=bool)
        Zc[:, ~fc] = aux
        Z = Zc[:, labels]
    else:
        Z = np.zeros((R, n), dtype=bool)
        Z[:, ~focal] = design_draws(ne.Bernoulli(int((~focal).sum()), p=p), R, 7)
    Z[:, focal] = z[focal]          # focal treatments fixed (they enter only through the residuals)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # undefined draws (empty groups) are NaN
        want = np.array([_focal_stats_by_hand(G, y, zz, focal)[statistic] for zz in Z])
    ok = np.isfinite(want)
    assert res.n_draws == R and res.n_undefined == int((~ok).sum())
    np.testing.assert_allclose(res.null_distribution, want[ok], rtol=1e-10, atol=1e-12)
    assert res.p_value == _mc_p(want, res.observed, alternative)
