"""k-arm exposure levels: exact probabilities and HT / Hajek contrasts, checked by enumerating every assignment."""

import numpy as np
import pytest

import netexp as ne
from netexp.estimators._multiarm import multiarm_exposure_contrasts
from netexp.exposure._multiarm import multiarm_exposure_probabilities


def _tiny_graph():
    # a path 0-1-2-3-4-5, a chord 0-2, and an isolated unit 6
    g = ne.Graph.from_edges([0, 0, 1, 2, 3, 4], [1, 2, 2, 3, 4, 5])
    return g.with_isolated_nodes([6])


def _designs(n):
    labels = [0, 0, 1, 1, 2, 3, 3]
    return [ne.MultiArmComplete(n, m_each=(3, 2, 2), arms=("c", "a", "b")),
            ne.MultiArmComplete(n, prob_each=(0.5, 0.3, 0.2), arms=("c", "a", "b")),   # random remainder
            ne.MultiArmBernoulli(n, prob_each=(0.5, 0.3, 0.2)),
            ne.MultiArmCluster(labels, ne.MultiArmComplete(4, m_each=(2, 1, 1))),
            ne.MultiArmCluster(labels, ne.MultiArmBernoulli(4, prob_each=(0.4, 0.4, 0.2)))]


@pytest.mark.parametrize("which", range(5))
@pytest.mark.parametrize("levels", ["full", "own-x-all"])
def test_exact_probabilities_and_joints_equal_enumeration(which, levels):
    """Marginal and every joint probability of every pair of levels: the closed form equals the
    probability-weighted count over all assignments the design can make."""
    g = _tiny_graph()
    d = _designs(g.n_nodes)[which]
    P = multiarm_exposure_probabilities(g, d, levels=levels)
    assert P.exact
    Z, w = d.enumerate()
    E = P.levels_of(Z)
    L = len(P.levels)
    for a in range(L):
        np.testing.assert_allclose(P.marginal[:, a], (w[:, None] * (E == a)).sum(0), atol=1e-14)
        for b in range(L):
            truth = np.einsum("r,ri,rj->ij", w, (E == a).astype(float), (E == b).astype(float))
            np.testing.assert_allclose(P.joint(a, b), truth, atol=1e-14)


def test_monte_carlo_probabilities_approach_the_exact_ones():
    g = ne.load_graph("karate")
    d = ne.MultiArmBernoulli(g.n_nodes, prob_each=(0.6, 0.2, 0.2))
    ex = multiarm_exposure_probabilities(g, d)
    mc = multiarm_exposure_probabilities(g, d, method="monte-carlo", n_draws=4000, rng=0)
    se = np.sqrt(ex.marginal * (1 - ex.marginal) / 4000)
    assert np.all(np.abs(mc.marginal - ex.marginal) <= 5 * se + 1e-12)


def _positive_case(n=6):
    # an n-cycle split in n/2 clusters of 2 adjacent units, arms drawn per cluster: every unit can be fully
    # exposed to every arm (positivity holds), and pairs of clusters make joints 0 and non-zero
    g = ne.Graph.from_edges(np.arange(n), (np.arange(n) + 1) % n)
    labels = np.arange(n) // 2
    return g, labels


@pytest.mark.filterwarnings("ignore::netexp.EstimationWarning")
@pytest.mark.parametrize("inner", ["bernoulli", "complete"])
def test_ht_is_unbiased_and_its_variance_conservative_over_every_assignment(inner):
    """E[HT] equals the true contrast of the levels' potential outcomes, exactly; E[V_hat] >= Var(HT)."""
    g, labels = _positive_case(6 if inner == "bernoulli" else 12)
    cd = (ne.MultiArmBernoulli(3, prob_each=(0.4, 0.3, 0.3), arms=("c", "a", "b")) if inner == "bernoulli"
          else ne.MultiArmComplete(6, m_each=(2, 2, 2), arms=("c", "a", "b")))
    d = ne.MultiArmCluster(labels, cd)
    P = multiarm_exposure_probabilities(g, d)
    rng = np.random.default_rng(5)
    Y = rng.normal(size=(g.n_nodes, 3)) + np.array([0.0, 1.0, 3.0])      # Y_i(all c), Y_i(all a), Y_i(all b)
    Z, w = d.enumerate()
    E = P.levels_of(Z)
    truth = {"all a - all c": (Y[:, 1] - Y[:, 0]).mean(), "all b - all c": (Y[:, 2] - Y[:, 0]).mean()}
    ests, vars_ = {k: [] for k in truth}, {k: [] for k in truth}
    for r in range(Z.shape[0]):
        y = np.where(E[r] >= 0, Y[np.arange(g.n_nodes), np.maximum(E[r], 0)], 99.0)   # other levels: anything
        tab = multiarm_exposure_contrasts(y, Z[r], g, d, probabilities=P)
        for e in tab:
            ests[e.estimand].append(e.estimate)
            # a variance estimate of 0 (e.g. no unit observed at either level) is reported as a nan SE with a
            # warning; as a value of the estimator it is 0, which is what E[V_hat] sums
            vars_[e.estimand].append(0.0 if np.isnan(e.std_error) else e.std_error ** 2)
    for k, t in truth.items():
        x = np.asarray(ests[k])
        mean = float(w @ x)
        assert mean == pytest.approx(t, abs=1e-12)
        true_var = float(w @ (x - mean) ** 2)
        assert float(w @ np.asarray(vars_[k])) >= true_var - 1e-12


def test_hajek_recovers_a_constant_effect_exactly():
    g = ne.Graph.from_edges([0, 2, 4], [1, 3, 5])          # three separate pairs, each one cluster
    labels = [0, 0, 1, 1, 2, 2]
    d = ne.MultiArmCluster(labels, ne.MultiArmBernoulli(3, prob_each=(0.4, 0.3, 0.3), arms=("c", "a", "b")))
    z = np.array([0, 0, 1, 1, 2, 2])   # every level observed (cluster 0 in c, 1 in a, 2 in b)
    P = multiarm_exposure_probabilities(g, d)
    D = P.levels_of(z)[0]
    y = np.array([5.0, 1.0, 2.0]) [np.maximum(D, 0)] + np.where(D >= 0, 0.0, 7.0)
    tab = multiarm_exposure_contrasts(y, z, g, d, estimator="hajek", units=np.flatnonzero(D >= 0))
    assert [round(e.estimate, 12) for e in tab] == [-4.0, -3.0]
    assert [e.estimand for e in tab] == ["all a - all c", "all b - all c"]


def test_positivity_failure_is_a_row_saying_why():
    g = _tiny_graph()
    d = ne.MultiArmComplete(g.n_nodes, m_each=(3, 2, 2), arms=("c", "a", "b"))   # unit 2 has 3 neighbours
    z = d.sample(rng=0)
    tab = multiarm_exposure_contrasts(np.zeros(g.n_nodes), z, g, d)
    assert all(not e.estimable and "positivity" in e.note for e in tab)


@pytest.mark.slow
def test_ht_and_hajek_cover_over_seeded_experiments():
    """300 experiments of a 3-arm complete design over 100 clusters of a 300-unit ring, heterogeneous
    level outcomes. Measured: HT coverage 0.963 (SE/SD 1.10, 1.25), Hajek 0.987 / 0.993 (SE/SD 1.40,
    1.49): conservative, as the Aronow-Samii bound is. About 100 s."""
    g = ne.watts_strogatz(300, 2, 0.0, rng=0)
    d = ne.MultiArmCluster(np.arange(300) // 3, ne.MultiArmComplete(100, prob_each=(0.4, 0.3, 0.3)))
    P = multiarm_exposure_probabilities(g, d)
    rng = np.random.default_rng(1)
    base = rng.normal(size=300) + np.log1p(np.arange(300) % 7)
    Y = np.column_stack([base, base + 1.0 + 0.5 * rng.normal(size=300), base + 2.0 + 0.5 * rng.normal(size=300)])
    truth = [(Y[:, 1] - Y[:, 0]).mean(), (Y[:, 2] - Y[:, 0]).mean()]
    R = 300
    hits = {"ht": np.zeros(2), "hajek": np.zeros(2)}
    for r in range(R):
        z = d.sample(rng=1000 + r)
        D = P.levels_of(z)[0]
        y = np.where(D >= 0, Y[np.arange(300), np.maximum(D, 0)], base + 0.5 * z)
        for est in hits:
            tab = multiarm_exposure_contrasts(y, z, g, d, estimator=est, probabilities=P)
            hits[est] += [e.ci[0] <= t <= e.ci[1] for e, t in zip(tab, truth)]
    floor = 0.95 - 2 * np.sqrt(0.95 * 0.05 / R)
    for est, h in hits.items():
        assert (h / R >= floor).all(), (est, h / R)


def test_share_threshold_levels_match_arm_shares_and_enumeration():
    """Levels "own arm a, at least q of the neighbours in b" against ne.arm_shares read directly, and
    their Monte Carlo probabilities against the enumeration of every assignment."""
    g = _tiny_graph()
    d = ne.MultiArmBernoulli(g.n_nodes, prob_each=(0.5, 0.3, 0.2), arms=("c", "a", "b"))
    with pytest.raises(ne.InputError, match="no closed form"):
        multiarm_exposure_probabilities(g, d, q=0.6, method="exact")
    with pytest.raises(ne.InputError, match=r"q must be in \(0.5, 1\]"):
        multiarm_exposure_probabilities(g, d, q=0.5)
    P = multiarm_exposure_probabilities(g, d, q=0.6, n_draws=20_000, rng=0)
    assert not P.exact and P.levels[1] == "a, >=0.6 of neighbours a"
    Z, w = d.enumerate()
    E = P.levels_of(Z)
    deg = g.degree
    for r in range(0, Z.shape[0], 17):
        S = ne.arm_shares(g, Z[r], arms=d.arms)[["share[c]", "share[a]", "share[b]"]].to_numpy()
        want = np.full(g.n_nodes, -1)
        for a in range(3):
            want[(Z[r] == a) & ((S[:, a] >= 0.6) | (deg == 0))] = a
        assert (E[r] == want).all()
    truth = np.column_stack([(w[:, None] * (E == L)).sum(0) for L in range(3)])
    se = np.sqrt(truth * (1 - truth) / 20_000)
    assert np.all(np.abs(P.marginal - truth) <= 5 * se + 1e-12)
