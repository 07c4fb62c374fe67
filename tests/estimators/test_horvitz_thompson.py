"""Horvitz-Thompson / Hajek under exposure mappings: exact unbiasedness and conservativeness of the
Aronow-Samii variance by full enumeration of the design (no statistical tolerance), the Hajek point
estimate and the Monte Carlo (dense) path against a hand computation of the paper's formulas."""

import warnings

import numpy as np
import pytest

import netexp as ne
from netexp.estimators._horvitz_thompson import difference_in_means_by_exposure, hajek, horvitz_thompson
from netexp.exposure._probabilities import exposure_probabilities
from tests.conftest import random_graph
from tests.exposure.test_probabilities import mapping

TOL = 1e-9


def _enumerate_check(g, design, mp, contrasts, units=None, variance="aronow-samii"):
    pr = exposure_probabilities(g, design, mp, method="exact")
    n, L = pr.marginal.shape
    rng = np.random.default_rng(7)
    Y = rng.normal(3.0, 2.0, size=(n, L)) + np.arange(L)  # potential outcome of each unit at each level
    Zs, w = design.enumerate()
    E = np.asarray(mp.map_many(g, Zs))
    mask = np.ones(n, bool) if units is None else units
    idx = mp.levels.index
    truth = {f"Y({a}) - Y({b})": (Y[mask, idx(a)] - Y[mask, idx(b)]).mean() for a, b in contrasts}
    est = {k: [] for k in truth}
    var = {k: [] for k in truth}
    for e in E:
        y = Y[np.arange(n), e]
        t = horvitz_thompson(y, e, pr, contrasts=contrasts, units=units, variance=variance)
        for x in t:
            est[x.estimand].append(x.estimate)
            var[x.estimand].append(np.nan_to_num(x.std_error**2))  # nan: negative estimate
    for k in truth:
        m = np.dot(w, est[k])
        assert abs(m - truth[k]) < TOL, (k, m, truth[k])  # exactly unbiased
        true_var = np.dot(w, (np.array(est[k]) - m) ** 2)
        assert np.dot(w, var[k]) >= true_var - TOL, (k, np.dot(w, var[k]), true_var)  # conservative
    return pr


@pytest.mark.filterwarnings("ignore::netexp.EstimationWarning")  # some draws give a negative estimate
def test_ht_unbiased_and_as_variance_conservative_bernoulli():
    u = np.r_[np.arange(9), [0, 2, 5, 1]]
    v = np.r_[(np.arange(9) + 1) % 9, [4, 7, 8, 6]]
    g = ne.Graph.from_edges(u, v)  # a 9-cycle with chords: no isolate, every level reachable
    mp = mapping(1)
    pr = _enumerate_check(g, ne.Bernoulli(9, p=0.4), mp, [(lv, "no_exposure") for lv in mp.levels[:3]])
    assert (pr.marginal > 0).all()


def test_ht_unbiased_and_as_variance_conservative_bernoulli_two_hops():
    g = random_graph(8, 8, 11)
    mp = mapping(2)
    pr = exposure_probabilities(g, ne.Bernoulli(8, p=0.5), mp, method="exact", joint=False)
    ok = (pr.marginal[:, [0, 3]] > 0).all(1)
    _enumerate_check(g, ne.Bernoulli(8, p=0.5), mp, [("direct_indirect", "no_exposure")], units=ok)


def test_ht_unbiased_and_as_variance_conservative_cluster_design():
    g = random_graph(10, 14, 1)
    mp = mapping(1)
    design = ne.ClusterRandomized(np.arange(10) // 2, ne.Bernoulli(5, p=0.5))
    pr = exposure_probabilities(g, design, mp, method="exact", joint=False)
    contrasts = [("direct_indirect", "no_exposure"), ("indirect", "no_exposure")]
    ok = (pr.marginal[:, [0, 2, 3]] > 0).all(1)
    assert 0 < ok.sum() < 10  # some units fail positivity: the units= restriction is exercised
    _enumerate_check(g, design, mp, contrasts, units=ok)


def _assert_variance(se, ref):
    """The reported variance equals the reference; a negative or ~0 reference is reported as nan."""
    if np.isnan(se):
        assert ref < 1e-9, ref
    else:
        assert se**2 == pytest.approx(ref, rel=1e-9, abs=1e-12)


def _dense_as(y, codes, P, joint, a, b, N):
    """The paper's formulas written out with dense loops (i, j over all units)."""
    n = len(y)

    def var(k):
        s = 0.0
        for i in range(n):
            for j in range(n):
                if codes[i] != k or codes[j] != k:
                    continue
                pij = P[i, k] if i == j else joint[(k, k)][i, j]
                if pij > 0:
                    s += (pij - P[i, k] * P[j, k]) / pij * y[i] * y[j] / (P[i, k] * P[j, k])
        for i in range(n):
            for j in range(n):
                if i != j and joint[(k, k)][i, j] == 0:
                    s += (codes[i] == k) * y[i] ** 2 / (2 * P[i, k]) + (codes[j] == k) * y[j] ** 2 / (2 * P[j, k])
        return s

    c = 0.0
    for i in range(n):
        for j in range(n):
            pij = 0.0 if i == j else joint[(a, b)][i, j]
            if pij > 0 and codes[i] == a and codes[j] == b:
                c += (pij - P[i, a] * P[j, b]) / pij * y[i] * y[j] / (P[i, a] * P[j, b])
            if pij == 0:
                c -= (codes[i] == a) * y[i] ** 2 / (2 * P[i, a]) + (codes[j] == b) * y[j] ** 2 / (2 * P[j, b])
    return (var(a) + var(b) - 2 * c) / N**2


def test_monte_carlo_path_matches_hand_formulas_and_hajek():
    g = random_graph(14, 20, 8)
    mp = mapping(1)
    design = ne.Complete(14, n_treated=5)
    # a seed whose 300 draws give positive Aronow-Samii sums (most seeds make one negative: the SE is then nan)
    pr = exposure_probabilities(g, design, mp, method="monte-carlo", n_draws=300, rng=12,
                                convention="interference")
    z = design.sample(rng=3)
    codes = np.asarray(mp.map_many(g, z[None, :]))[0]
    y = np.random.default_rng(0).normal(5, 1, 14)
    P = pr.marginal
    L = len(mp.levels)
    joint = {(a, b): pr.joint(a, b) for a in range(L) for b in range(L)}
    t = horvitz_thompson(y, codes, pr, contrasts="all-vs-no_exposure", variance="aronow-samii")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ne.EstimationWarning)  # a level may be unobserved: nan for Hajek
        h = hajek(y, codes, pr, contrasts="all-vs-no_exposure", variance="aronow-samii")
    ref = 3
    for a in range(3):
        if not ((codes == a).any() and (codes == ref).any()):
            continue
        name = f"Y({mp.levels[a]}) - Y(no_exposure)"
        ht = (np.sum(y[codes == a] / P[codes == a, a]) - np.sum(y[codes == ref] / P[codes == ref, ref])) / 14
        assert t[name].estimate == pytest.approx(ht, rel=1e-12)
        assert t[name].std_error ** 2 == pytest.approx(_dense_as(y, codes, P, joint, a, ref, 14), rel=1e-9)
        mu = [np.sum(y[codes == k] / P[codes == k, k]) / np.sum(1 / P[codes == k, k]) for k in (a, ref)]
        assert h[name].estimate == pytest.approx(mu[0] - mu[1], rel=1e-12)
        resid = y - np.array([np.sum(y[codes == k] / P[codes == k, k]) / np.sum(1 / P[codes == k, k])
                              for k in codes])
        assert h[name].std_error ** 2 == pytest.approx(_dense_as(resid, codes, P, joint, a, ref, 14), rel=1e-9)
        assert "conservative" in t[name].variance


def test_exact_streaming_equals_dense_formulas():
    g = random_graph(14, 20, 8)
    mp = mapping(1)
    pr = exposure_probabilities(g, ne.Bernoulli(14, p=0.4), mp, method="exact")
    z = ne.Bernoulli(14, p=0.4).sample(rng=5)
    codes = np.asarray(mp.map_many(g, z[None, :]))[0]
    y = np.random.default_rng(1).normal(5, 1, 14)
    L = len(mp.levels)
    joint = {}
    for a in range(L):
        for b in range(L):
            J = pr.joint(a, b).tocoo()
            full = np.outer(pr.marginal[:, a], pr.marginal[:, b])
            full[J.row, J.col] = J.data
            joint[(a, b)] = full
    t = horvitz_thompson(y, codes, pr, contrasts=[(mp.levels[codes[0]], mp.levels[3 if codes[0] != 3 else 2])], variance="aronow-samii")
    a = int(codes[0])
    b = 3 if a != 3 else 2
    if (codes == b).any():
        assert t[0].std_error ** 2 == pytest.approx(_dense_as(y, codes, pr.marginal, joint, a, b, 14), rel=1e-9)


def test_difference_in_means_by_exposure_and_errors():
    out = difference_in_means_by_exposure([1.0, 3.0, 4.0, 8.0], ["no", "no", "yes", "yes"], "all-vs-no")
    assert out == {"Y(yes) - Y(no)": 4.0}
    g = random_graph(9, 13, 3)
    pr = exposure_probabilities(g, ne.Bernoulli(9, p=0.4), mapping(1))
    with pytest.raises(ne.InputError, match="unknown level names"):
        horvitz_thompson(np.ones(9), ["nope"] * 9, pr)
    with pytest.raises(ne.InputError, match="contrasts"):
        horvitz_thompson(np.ones(9), np.zeros(9, int), pr, contrasts="everything")


def _imputed_design_variance(g, design, mp, pr, y, codes, a, b, mask):
    """Variance over design.enumerate() of the HT contrast for the imputed schedule y_i(k) = y_i - m(a_i) + m(k)."""
    P = pr.marginal
    N = mask.sum()
    m = np.array([np.sum(y[mask & (codes == k)] / P[mask & (codes == k), k]) / N for k in range(P.shape[1])])
    Yimp = (y - m[codes])[:, None] + m[None, :]
    Pm = np.where(P > 0, P, 1.0)  # units outside the mask may have probability 0; they get weight 0
    Zs, w = design.enumerate()
    E = np.asarray(mp.map_many(g, Zs))
    est = np.array([np.sum(mask * ((e == a) * Yimp[:, a] / Pm[:, a] - (e == b) * Yimp[:, b] / Pm[:, b])) / N
                    for e in E])
    mean = w @ est
    return float(w @ (est - mean) ** 2)


@pytest.mark.parametrize("kind", ["bernoulli", "cluster", "monte-carlo", "complete", "cluster-complete"])
def test_constant_effects_variance_equals_enumerated_variance_of_imputed_schedule(kind):
    g = random_graph(10, 14, 1)
    mp = mapping(1)
    if kind == "cluster":
        design = ne.ClusterRandomized(np.arange(10) // 2, ne.Bernoulli(5, p=0.5))
    elif kind == "complete":
        design = ne.Complete(10, n_treated=4)
    elif kind == "cluster-complete":
        design = ne.ClusterRandomized(np.arange(10) // 2, ne.Complete(5, n_treated=2))
    else:
        design = ne.Bernoulli(10, p=0.5 if kind == "monte-carlo" else 0.35)
    if kind == "monte-carlo":  # every assignment once: the Monte Carlo (dense) path gives the exact joints
        Zs, _ = design.enumerate()
        pr = exposure_probabilities(g, None, mp, draws=Zs)
    else:
        pr = exposure_probabilities(g, design, mp, method="exact")
    a, b = 2, 3  # indirect vs no_exposure
    mask = (pr.marginal[:, [a, b]] > 0).all(1)
    z = design.sample(rng=4)
    codes = np.asarray(mp.map_many(g, z[None, :]))[0]
    y = np.random.default_rng(2).normal(4, 1, 10)
    t = horvitz_thompson(y, codes, pr, contrasts=[(mp.levels[a], mp.levels[b])], units=mask,
                         variance="constant-effects")
    truth = _imputed_design_variance(g, design, mp, pr, y, codes, a, b, mask)
    assert t[0].std_error ** 2 == pytest.approx(truth, rel=1e-9, abs=1e-12)
    assert "constant effects" in t[0].variance


# ----------------------------------------------------------------------------- Complete designs
NINE = ne.Graph.from_edges(np.r_[np.arange(9), [0, 2, 5, 1]], np.r_[(np.arange(9) + 1) % 9, [4, 7, 8, 6]])


@pytest.mark.filterwarnings("ignore::netexp.EstimationWarning")
@pytest.mark.parametrize("design", [ne.Complete(9, n_treated=4), ne.Complete(9, p=0.35)], ids=["complete", "odd"])
def test_ht_unbiased_and_as_variance_conservative_complete(design):
    """Exact Complete joints: HT unbiased and E[AS variance] >= Var, by enumeration of all assignments."""
    mp = mapping(1)
    pr = _enumerate_check(NINE, design, mp, [(lv, "no_exposure") for lv in mp.levels[:3]])
    assert pr.exact and pr.joint_available


@pytest.mark.filterwarnings("ignore::netexp.EstimationWarning")
def test_ht_unbiased_and_as_variance_conservative_cluster_complete():
    g = random_graph(10, 14, 1)
    mp = mapping(1)
    design = ne.ClusterRandomized(np.arange(10) // 2, ne.Complete(5, n_treated=2))
    pr = exposure_probabilities(g, design, mp, method="exact", joint=False)
    ok = (pr.marginal[:, [0, 2, 3]] > 0).all(1)
    _enumerate_check(g, design, mp, [("direct_indirect", "no_exposure"), ("indirect", "no_exposure")], units=ok)


def _enumerated_joints(g, design, mp):
    Z, w = design.enumerate()
    E = np.asarray(mp.map_many(g, Z))
    L = len(mp.levels)
    oh = (E[:, :, None] == np.arange(L)).astype(float)
    J = np.einsum("s,sik,sjl->klij", w, oh, oh)
    return np.einsum("s,snk->nk", w, oh), {(a, b): J[a, b] for a in range(L) for b in range(L)}


@pytest.mark.parametrize("which", ["complete", "cluster-complete"])
def test_exact_complete_sums_equal_dense_formulas_with_enumerated_joints(which):
    """The type + near-pair sums give the paper's dense double sums evaluated with enumerated joints."""
    g = random_graph(12, 16, 4)
    mp = mapping(1)
    design = (ne.Complete(12, n_treated=5) if which == "complete"
              else ne.ClusterRandomized(np.arange(12) % 5, ne.Complete(5, n_treated=2)))
    pr = exposure_probabilities(g, design, mp)
    P, joint = _enumerated_joints(g, design, mp)
    np.testing.assert_allclose(pr.marginal, P, atol=1e-12)
    y = np.random.default_rng(3).normal(5, 1, 12)
    checked = 0
    for seed in range(6):
        codes = np.asarray(mp.map_many(g, design.sample(rng=seed)[None, :]))[0]
        for a in range(3):
            ok = (P[:, [a, 3]] > 0).all(1)  # the estimand's units (positivity); the formula runs over them
            if not ((codes[ok] == a).any() and (codes[ok] == 3).any()):
                continue
            name = f"Y({mp.levels[a]}) - Y(no_exposure)"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ne.EstimationWarning)
                t = horvitz_thompson(y, codes, pr, contrasts=[(mp.levels[a], "no_exposure")], units=ok, variance="aronow-samii")
                h = hajek(y, codes, pr, contrasts=[(mp.levels[a], "no_exposure")], units=ok, variance="aronow-samii")
            sub = {k: v[np.ix_(ok, ok)] for k, v in joint.items()}
            yo, co, Po, N = y[ok], codes[ok], P[ok], int(ok.sum())
            ref = _dense_as(yo, co, Po, sub, a, 3, N)
            _assert_variance(t[name].std_error, ref)
            mu = np.array([np.sum(yo[co == k] / Po[co == k, k]) / np.sum(1 / Po[co == k, k]) if (co == k).any()
                           else 0.0 for k in range(4)])
            ref_h = _dense_as(yo - mu[co], co, Po, sub, a, 3, N)
            _assert_variance(h[name].std_error, ref_h)
            checked += 1
    assert checked >= 3


def _enumerated_moments(g, design, mp, pr, Y, contrast, variance, units=None):
    Zs, w = design.enumerate()
    E = np.asarray(mp.map_many(g, Zs))
    est, var = [], []
    for e in E:
        t = horvitz_thompson(Y[np.arange(len(e)), e], e, pr, contrasts=[contrast], variance=variance, units=units)
        est.append(t[0].estimate)
        var.append(np.nan_to_num(t[0].std_error ** 2))  # nan: negative estimate
    est = np.array(est)
    m = w @ est
    return float(w @ (est - m) ** 2), float(w @ np.array(var))


@pytest.mark.filterwarnings("ignore::netexp.EstimationWarning")
def test_constant_effects_not_conservative_documented_counterexample_and_max_is():
    """Documented limitation: on random_graph(8, 9, 0) under Bernoulli(0.5) with heterogeneous effects
    (potential outcomes below, seed 11), Var(HT) = 124.597 but E[constant-effects variance] = 92.306
    (enumerated over all 256 assignments). variance="max" stays conservative (>= Aronow-Samii)."""
    g = random_graph(8, 9, 0)
    mp = mapping(1)
    design = ne.Bernoulli(8, p=0.5)
    pr = exposure_probabilities(g, design, mp)
    ok = (pr.marginal[:, [2, 3]] > 0).all(1)
    rng = np.random.default_rng(11)
    Y = rng.normal(0, 1, (8, 4)) * rng.choice([0.1, 1, 10], size=4) + rng.normal(0, 3, 4)
    contrast = ("indirect", "no_exposure")
    true_var, e_ce = _enumerated_moments(g, design, mp, pr, Y, contrast, "constant-effects", ok)
    assert true_var == pytest.approx(124.59659170612719, rel=1e-9)
    assert e_ce == pytest.approx(92.3057367839955, rel=1e-9)
    assert e_ce < 0.75 * true_var  # not conservative
    _, e_as = _enumerated_moments(g, design, mp, pr, Y, contrast, "aronow-samii", ok)
    _, e_max = _enumerated_moments(g, design, mp, pr, Y, contrast, "max", ok)
    assert true_var - TOL <= e_as <= e_max + TOL


def test_max_variance_is_the_larger_of_the_two():
    g = random_graph(12, 16, 4)
    mp = mapping(1)
    design = ne.Complete(12, n_treated=5)
    pr = exposure_probabilities(g, design, mp)
    ok = (pr.marginal > 0).all(1)
    codes = np.asarray(mp.map_many(g, design.sample(rng=1)[None, :]))[0]
    y = np.random.default_rng(0).normal(5, 2, 12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ne.EstimationWarning)
        for fn in (horvitz_thompson, hajek):
            r = {v: fn(y, codes, pr, contrasts="all-vs-no_exposure", variance=v, units=ok)
                 for v in ("aronow-samii", "constant-effects", "max")}
            for x_as, x_ce, x_mx in zip(r["aronow-samii"], r["constant-effects"], r["max"]):
                np.testing.assert_equal(x_mx.std_error, np.fmax(x_as.std_error, x_ce.std_error))
                assert x_mx.estimate == x_as.estimate or np.isnan(x_as.estimate)
                assert x_mx.variance.startswith("max(Aronow-Samii, constant effects)")
    with pytest.raises(ne.InputError, match="variance must be one of"):
        horvitz_thompson(y, codes, pr, variance="biggest")


@pytest.mark.filterwarnings("ignore::netexp.EstimationWarning")
def test_ht_unbiased_and_as_variance_conservative_cluster_full_neighborhood():
    """Closed-form pair joints (threshold mapping, cluster Bernoulli) inside the estimator: exact
    unbiasedness and E[AS variance] >= Var by enumeration, with unequal clusters."""
    g = random_graph(10, 14, 1)
    mp = ne.FullNeighborhood()
    design = ne.ClusterRandomized(np.array([0, 0, 0, 1, 1, 2, 2, 2, 3, 4]), ne.Bernoulli(5, p=0.45))
    pr = _enumerate_check(g, design, mp, [("treated", "control")])
    assert "thr" in pr._pairs


SAT_MODES = [("bernoulli", "complete"), ("bernoulli", "bernoulli"), ("complete", "complete"),
             ("complete", "bernoulli")]


def _sat(stage1, within):
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2, 3, 3])
    return ne.RandomizedSaturation(labels, saturations=(0.0, 0.5, 1.0), shares=(0.3, 0.3, 0.4), within=within,
                                   stage1=stage1)


@pytest.mark.filterwarnings("ignore::netexp.EstimationWarning")
@pytest.mark.parametrize("stage1,within", SAT_MODES)
def test_ht_unbiased_and_as_variance_conservative_randomized_saturation(stage1, within):
    """Exact saturation joints inside the estimator: HT exactly unbiased and E[AS variance] >= Var over
    design.enumerate(), for every stage-1 x within mode (stage 1 complete: type sums + near pairs)."""
    g = random_graph(10, 13, 7)
    mp = ne.AronowSamii()
    d = _sat(stage1, within)
    pr = exposure_probabilities(g, d, mp, method="exact", joint=False)
    ok = (pr.marginal[:, [0, 2, 3]] > 0).all(1)
    assert ok.sum() >= 4
    pr = _enumerate_check(g, d, mp, [("direct_indirect", "no_exposure"), ("indirect", "no_exposure")], units=ok)
    assert pr.exact and pr.joint_available


@pytest.mark.parametrize("stage1,within", SAT_MODES)
def test_saturation_sums_equal_dense_formulas_with_enumerated_joints(stage1, within):
    """The streamed saturation sums give the paper's dense double sums evaluated with enumerated joints (HT
    and Hajek), and the constant-effects variance equals the enumerated variance of the imputed schedule."""
    g = random_graph(10, 13, 7)
    mp = mapping(1)
    design = _sat(stage1, within)
    pr = exposure_probabilities(g, design, mp)
    P, joint = _enumerated_joints(g, design, mp)
    np.testing.assert_allclose(pr.marginal, P, atol=1e-12)
    y = np.random.default_rng(3).normal(5, 1, 10)
    checked = 0
    for seed in range(8):
        codes = np.asarray(mp.map_many(g, design.sample(rng=seed)[None, :]))[0]
        for a in range(3):
            ok = (P[:, [a, 3]] > 0).all(1)
            if not ((codes[ok] == a).any() and (codes[ok] == 3).any()):
                continue
            name = f"Y({mp.levels[a]}) - Y(no_exposure)"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ne.EstimationWarning)
                t = horvitz_thompson(y, codes, pr, contrasts=[(mp.levels[a], "no_exposure")], units=ok, variance="aronow-samii")
                h = hajek(y, codes, pr, contrasts=[(mp.levels[a], "no_exposure")], units=ok, variance="aronow-samii")
                ce = horvitz_thompson(y, codes, pr, contrasts=[(mp.levels[a], "no_exposure")], units=ok,
                                      variance="constant-effects")
            sub = {k: v[np.ix_(ok, ok)] for k, v in joint.items()}
            yo, co, Po, N = y[ok], codes[ok], P[ok], int(ok.sum())
            ref = _dense_as(yo, co, Po, sub, a, 3, N)
            _assert_variance(t[name].std_error, ref)
            mu = np.array([np.sum(yo[co == k] / Po[co == k, k]) / np.sum(1 / Po[co == k, k]) if (co == k).any()
                           else 0.0 for k in range(4)])
            ref_h = _dense_as(yo - mu[co], co, Po, sub, a, 3, N)
            _assert_variance(h[name].std_error, ref_h)
            truth = _imputed_design_variance(g, design, mp, pr, y, codes, a, 3, ok)
            assert ce[0].std_error ** 2 == pytest.approx(truth, rel=1e-9, abs=1e-12)
            checked += 1
    assert checked >= 3
