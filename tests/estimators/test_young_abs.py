"""The |M| Young bound (``variance="abs-young"``, the default): conservative by full enumeration of
the design (every assignment of ``design.enumerate()``, no tolerance), sharper than Aronow-Samii on
the enumerated cases, equal to an independent dense construction (eigendecomposition of the full
2N x 2N matrix M, no grouping of positions into types), and equal to the closed-form cluster-level
bound of a two-arm cluster trial."""

import warnings

import numpy as np
import pytest
import scipy.linalg

import netexp as ne
from netexp.estimators._horvitz_thompson import hajek, horvitz_thompson
from netexp.exposure._probabilities import exposure_probabilities
from tests.conftest import random_graph

G10 = random_graph(10, 14, 1)
DESIGNS = {
    "cluster-bernoulli": ne.ClusterRandomized(np.arange(10) // 2, ne.Bernoulli(5, p=0.5)),
    "cluster-complete": ne.ClusterRandomized(np.arange(10) // 2, ne.Complete(5, n_treated=2)),
    "bernoulli": ne.Bernoulli(10, p=0.4),
    "complete": ne.Complete(10, n_treated=5),
}
MAPPINGS = {
    "full-neighbourhood": (ne.FullNeighborhood(), ("treated", "control")),
    "aronow-samii": (ne.AronowSamii(), ("direct_indirect", "no_exposure")),
    "aronow-samii-indirect": (ne.AronowSamii(), ("indirect", "no_exposure")),
}


def _moments(g, design, mp, contrast, variance, kind=horvitz_thompson, shift=3.0, seed=7, **kw):
    """(true variance, E[V-hat]) of the contrast by enumeration, over units with both levels possible."""
    pr = exposure_probabilities(g, design, mp, method="exact")
    n, L = pr.marginal.shape
    ia, ib = mp.levels.index(contrast[0]), mp.levels.index(contrast[1])
    mask = (pr.marginal[:, [ia, ib]] > 0).all(1)
    Y = np.random.default_rng(seed).normal(shift, 2.0, size=(n, L)) + np.arange(L)
    Zs, w = design.enumerate()
    E = np.asarray(mp.map_many(g, Zs))
    est, var = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ne.EstimationWarning)
        for e in E:
            t = kind(Y[np.arange(n), e], e, pr, contrasts=[contrast], units=mask, variance=variance, **kw)[0]
            est.append(t.estimate)
            var.append(np.nan_to_num(t.std_error**2))  # nan (negative estimate) counts as 0
    est, var = np.array(est), np.array(var)
    m = w @ est
    return float(w @ (est - m) ** 2), float(w @ var)


@pytest.mark.parametrize("dname", list(DESIGNS))
@pytest.mark.parametrize("mname", list(MAPPINGS))
def test_abs_young_conservative_by_enumeration_and_sharper_than_aronow_samii(dname, mname):
    mp, contrast = MAPPINGS[mname]
    true_var, e_abs = _moments(G10, DESIGNS[dname], mp, contrast, "abs-young")
    assert e_abs >= true_var  # no tolerance
    _, e_as = _moments(G10, DESIGNS[dname], mp, contrast, "aronow-samii")
    assert e_as >= true_var
    # sharper on every enumerated case but one (unit Bernoulli, indirect vs no exposure: 1.047 vs 1.042)
    if not (dname == "bernoulli" and mname == "aronow-samii-indirect"):
        assert e_abs <= e_as


@pytest.mark.parametrize("dname", ["cluster-complete", "complete"])
def test_abs_young_conservative_with_large_outcome_level(dname):
    """A large common level inflates every Young term; the bound stays valid and gains most here."""
    mp, contrast = MAPPINGS["aronow-samii"]
    true_var, e_abs = _moments(G10, DESIGNS[dname], mp, contrast, "abs-young", shift=20.0)
    _, e_as = _moments(G10, DESIGNS[dname], mp, contrast, "aronow-samii", shift=20.0)
    assert true_var <= e_abs < e_as


def _dense_abs_young(y, codes, pr, a, b, mask):
    """Independent construction: full 2N x 2N M, |M| = sqrtm(M @ M), zero-joint entries moved to the diagonal."""
    idx = np.flatnonzero(mask)
    N = idx.size
    P = pr.marginal

    def dense(k, l):
        J = pr.joint(k, l)
        J = J.toarray() if hasattr(J, "toarray") else np.asarray(J)
        if hasattr(pr.joint(k, l), "toarray"):  # sparse: unstored pairs are independent
            stored = pr.joint(k, l).toarray() != 0
            J = np.where(stored, J, np.outer(P[:, k], P[:, l]))
            S = pr.joint(k, l).tocoo()
            J[S.row, S.col] = S.data
        J = J[np.ix_(idx, idx)].copy()
        J[np.arange(N), np.arange(N)] = P[idx, k] if k == l else 0.0
        return J

    Jf = np.block([[dense(a, a), dense(a, b)], [dense(b, a), dense(b, b)]])
    pi = np.concatenate([P[idx, a], P[idx, b]])
    M = (Jf <= 0).astype(float)
    np.fill_diagonal(M, 0.0)
    lam, V = scipy.linalg.eigh(M)  # the full matrix, no grouping of positions into types
    A = (V * np.abs(lam)) @ V.T
    assert np.allclose(A @ A, M @ M)  # |M| is the square root of M^2
    Z = M > 0
    moved = (np.abs(A) * Z).sum(1)
    A[Z] = 0.0
    A[np.diag_indices_from(A)] += moved
    Jd = Jf.copy()
    np.fill_diagonal(Jd, pi)
    obs = np.concatenate([codes[idx] == a, codes[idx] == b])
    yy = np.concatenate([y[idx], -y[idx]]) * obs  # signed observed outcomes, 0 where not observed
    u = yy / pi
    with np.errstate(divide="ignore", invalid="ignore"):
        W = np.where(Jd > 0, (Jd - np.outer(pi, pi)) / Jd, 0.0)
        B = np.where(Jd > 0, A / Jd, 0.0)
    return (u @ W @ u + yy @ B @ yy) / N**2


@pytest.mark.parametrize("dname", ["cluster-bernoulli", "cluster-complete", "complete"])
def test_abs_young_equals_independent_dense_construction(dname):
    mp, contrast = MAPPINGS["aronow-samii"]
    design = DESIGNS[dname]
    pr = exposure_probabilities(G10, design, mp, method="exact")
    a, b = (mp.levels.index(c) for c in contrast)
    mask = (pr.marginal[:, [a, b]] > 0).all(1)
    rng = np.random.default_rng(3)
    for r in range(3):
        z = design.sample(rng=r)
        codes = np.asarray(mp.map(G10, z))
        y = rng.normal(2.0, 1.0, 10)
        if not ((codes[mask] == a).any() and (codes[mask] == b).any()):
            continue
        t = horvitz_thompson(y, codes, pr, contrasts=[contrast], units=mask)[0]
        assert t.variance.startswith("|M| Young bound")
        assert t.std_error**2 == pytest.approx(_dense_abs_young(y, codes, pr, a, b, mask), rel=1e-9)


def test_two_arm_cluster_trial_is_the_cluster_level_young_bound():
    """Own treatment under cluster Bernoulli(p): M is block diagonal (J per cluster, |J| = J), and the
    estimate is [sum_{c treated} (Y_c / p)^2 + sum_{c control} (Y_c / (1 - p))^2] / N^2 (Y_c: cluster total)."""
    labels = np.repeat(np.arange(6), [1, 2, 3, 4, 2, 3])
    n = labels.size
    g = random_graph(n, 20, 5)
    p = 0.4
    design = ne.ClusterRandomized(labels, ne.Bernoulli(6, p=p))
    mp = ne.OwnTreatment()
    pr = exposure_probabilities(g, design, mp, method="exact")
    y = np.random.default_rng(1).normal(3, 1, n)
    z = np.isin(labels, [0, 2, 5])
    t = horvitz_thompson(y, mp.map(g, z), pr, contrasts=[("treated", "control")])[0]
    Yc = np.bincount(labels, weights=y)
    treated = np.array([0, 2, 5])
    control = np.array([1, 3, 4])
    ref = (np.sum((Yc[treated] / p) ** 2) + np.sum((Yc[control] / (1 - p)) ** 2)) / n**2
    assert t.std_error**2 == pytest.approx(ref, rel=1e-12)
    # Aronow-Samii's unit-level bound is wider
    t_as = horvitz_thompson(y, mp.map(g, z), pr, contrasts=[("treated", "control")], variance="aronow-samii")[0]
    assert t_as.std_error > t.std_error
    true_var, e_abs = _moments(g, design, mp, ("treated", "control"), "abs-young")
    assert e_abs >= true_var


def test_hajek_abs_young_conservative_for_the_linearized_variance():
    """Hajek's variance is the HT variance of residuals y - mu(k); with the means known (centred outcomes,
    so the linearization is exact for HT of the residuals) the bound is conservative by enumeration."""
    mp, contrast = MAPPINGS["full-neighbourhood"]
    true_var, e_abs = _moments(G10, DESIGNS["cluster-bernoulli"], mp, contrast, "abs-young", shift=0.0)
    assert e_abs >= true_var


@pytest.mark.parametrize("dname, limit, match", [
    ("bernoulli", "ABS_YOUNG_MAX_TYPES", "position types, more than ABS_YOUNG_MAX_TYPES = 5"),  # sparse joints
    ("cluster-complete", "ABS_YOUNG_MAX_TYPES", "position types, more than ABS_YOUNG_MAX_TYPES = 5"),  # profiles
    ("complete", "ABS_YOUNG_MAX_UNITS", "limited to N <= 5 units"),  # dense joints
])
def test_abs_young_falls_back_with_warning_above_the_size_limit(monkeypatch, dname, limit, match):
    from netexp.estimators import _young_abs

    monkeypatch.setattr(_young_abs, limit, 5)
    mp, contrast = MAPPINGS["full-neighbourhood"]
    design = DESIGNS[dname]
    pr = exposure_probabilities(G10, design, mp, method="exact")
    z = design.sample(rng=0)
    codes = mp.map(G10, z)
    y = np.arange(10.0)
    units = (pr.marginal[:, [pr.levels.index(c) for c in contrast]] > 0).all(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ne.EstimationWarning)
        t = horvitz_thompson(y, codes, pr, contrasts=[contrast], units=units)[0]  # auto: silently Aronow-Samii
    assert t.variance.startswith("Aronow-Samii")
    with pytest.warns(ne.EstimationWarning, match=match):
        t = horvitz_thompson(y, codes, pr, contrasts=[contrast], units=units, variance="abs-young")[0]
    assert t.variance.startswith("Aronow-Samii")


@pytest.mark.parametrize("variance", ["abs-young", "aronow-samii"])
def test_zero_variance_estimate_is_nan_with_a_warning_not_a_zero_width_interval(variance):
    mp, contrast = MAPPINGS["full-neighbourhood"]
    design = DESIGNS["cluster-bernoulli"]
    pr = exposure_probabilities(G10, design, mp, method="exact")
    codes = mp.map(G10, design.sample(rng=0))
    with pytest.warns(ne.EstimationWarning, match="exactly 0.*reported as nan"):
        t = horvitz_thompson(np.zeros(10), codes, pr, contrasts=[contrast], variance=variance)[0]
    assert t.estimate == 0.0 and np.isnan(t.std_error) and np.isnan(t.ci).all()


@pytest.mark.parametrize("ratio", [0.2, 3.0])
@pytest.mark.parametrize("dname", ["cluster-bernoulli", "bernoulli"])
def test_outcome_ratio_keeps_the_bound_conservative(dname, ratio):
    """Full neighbourhood under (cluster) Bernoulli: every zero-joint pair is across the two levels, so
    any fixed outcome_ratio is valid; with treated outcomes 5x the control ones, 0.2 is sharper than 1."""
    mp, contrast = MAPPINGS["full-neighbourhood"]
    design = DESIGNS[dname]
    n = 10
    rng = np.random.default_rng(11)
    Y = rng.normal(3.0, 1.0, (n, len(mp.levels)))  # other levels: not in the contrast
    Y[:, mp.levels.index("treated")] = rng.normal(5.0, 1.0, n)
    Y[:, mp.levels.index("control")] = rng.normal(1.0, 0.2, n)
    pr = exposure_probabilities(G10, design, mp, method="exact")
    Zs, w = design.enumerate()
    E = np.asarray(mp.map_many(G10, Zs))
    res = {}
    for r in (1.0, ratio):
        est, var = [], []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ne.EstimationWarning)
            for e in E:
                t = horvitz_thompson(Y[np.arange(n), e], e, pr, contrasts=[contrast], outcome_ratio=r)[0]
                est.append(t.estimate)
                var.append(np.nan_to_num(t.std_error**2))
        est = np.array(est)
        res[r] = (float(w @ (est - w @ est) ** 2), float(w @ np.array(var)))
    true_var = res[1.0][0]
    assert res[ratio][1] >= true_var  # no tolerance
    if ratio < 1:
        assert res[ratio][1] < res[1.0][1]


def test_outcome_ratio_ignored_when_same_level_pairs_are_never_jointly_observed():
    mp, contrast = MAPPINGS["aronow-samii"]
    design = DESIGNS["cluster-complete"]
    pr = exposure_probabilities(G10, design, mp, method="exact")
    a, b = (mp.levels.index(c) for c in contrast)
    mask = (pr.marginal[:, [a, b]] > 0).all(1)
    codes = np.asarray(mp.map(G10, design.sample(rng=4)))
    y = np.arange(10.0) + 1
    t1 = horvitz_thompson(y, codes, pr, contrasts=[contrast], units=mask)[0]
    t2 = horvitz_thompson(y, codes, pr, contrasts=[contrast], units=mask, outcome_ratio=0.3)[0]
    assert t1.std_error == t2.std_error or (np.isnan(t1.std_error) and np.isnan(t2.std_error))
    with pytest.raises(ne.InputError, match="outcome_ratio must be a positive number"):
        horvitz_thompson(y, codes, pr, contrasts=[contrast], units=mask, outcome_ratio=0.0)


def _two_arm_trial():
    """Own treatment under cluster Bernoulli(0.4) over 8 unequal clusters (sizes 1-5), one fixed draw treating
    clusters 0, 2, 5, 6: ``(labels, n, graph, p, mapping, probabilities, y, treated clusters)``."""
    sizes = [1, 2, 3, 4, 2, 3, 5, 1]
    labels = np.repeat(np.arange(len(sizes)), sizes)
    n = labels.size
    g = random_graph(n, 20, 5)
    p = 0.4
    design = ne.ClusterRandomized(labels, ne.Bernoulli(len(sizes), p=p))
    mp = ne.OwnTreatment()
    pr = exposure_probabilities(g, design, mp, method="exact")
    y = np.random.default_rng(1).normal(3, 1, n)
    return labels, n, g, p, mp, pr, y, np.array([0, 2, 5, 6])


def test_hajek_small_sample_correction_in_a_two_arm_cluster_trial():
    """Own treatment under cluster Bernoulli(p), unequal clusters: Hajek's |M| variance of the residuals
    e_i = y_i - mu(k_i), linearized at the realized level weight W_k = n_k / pi_k, is
    V_k = sum over level-k clusters of (E_c / pi_k)^2 / W_k^2 = sum E_c^2 / n_k^2 (E_c: the cluster's residual
    total; the cluster-robust variance of the level's mean), the effective number of groups is Kish's
    (sum n_c)^2 / sum n_c^2 over the level's clusters, and the default reports V_a G_a / (G_a - 1) +
    V_b G_b / (G_b - 1) with a t reference on their Welch-Satterthwaite df, G_k - 1 each (closed form, by hand)."""
    from scipy import stats

    labels, _, g, _, mp, pr, y, treated = _two_arm_trial()
    z = np.isin(labels, treated)
    t = hajek(y, mp.map(g, z), pr, contrasts=[("treated", "control")])[0]
    mu1, mu0 = y[z].mean(), y[~z].mean()          # equal weights within a level: plain means
    assert t.estimate == pytest.approx(mu1 - mu0, rel=1e-12)
    Ec = np.bincount(labels, weights=np.where(z, y - mu1, y - mu0))
    n_c = np.bincount(labels)
    control = np.setdiff1d(np.arange(labels.max() + 1), treated)
    va = np.sum(Ec[treated] ** 2) / z.sum() ** 2
    vb = np.sum(Ec[control] ** 2) / (~z).sum() ** 2
    ga = n_c[treated].sum() ** 2 / np.sum(n_c[treated] ** 2)
    gb = n_c[control].sum() ** 2 / np.sum(n_c[control] ** 2)
    ca, cb = va * ga / (ga - 1), vb * gb / (gb - 1)
    df = (ca + cb) ** 2 / (ca**2 / (ga - 1) + cb**2 / (gb - 1))
    assert t.std_error**2 == pytest.approx(ca + cb, rel=1e-12)
    assert t.df == pytest.approx(df, rel=1e-12)
    assert t.ci[1] - t.estimate == pytest.approx(stats.t.ppf(0.975, df) * t.std_error, rel=1e-12)


def test_hajek_level_with_one_group_is_not_estimable():
    """Every treated unit in one cluster: the treated part of Hajek's variance has no replication (G = 1): nan."""
    labels = np.repeat(np.arange(4), [3, 2, 2, 3])
    g = random_graph(10, 12, 2)
    design = ne.ClusterRandomized(labels, ne.Bernoulli(4, p=0.5))
    mp = ne.OwnTreatment()
    pr = exposure_probabilities(g, design, mp, method="exact")
    z = labels == 0
    y = np.random.default_rng(3).normal(size=10)
    with pytest.warns(ne.EstimationWarning, match="single group"):
        t = hajek(y, mp.map(g, z), pr, contrasts=[("treated", "control")])[0]
    assert np.isfinite(t.estimate) and np.isnan(t.std_error) and np.isnan(t.ci[0])


def test_ht_t_reference_in_a_two_arm_cluster_trial():
    """HT keeps the |M| variance (no inflation: its bound is conservative in expectation) and takes a t reference
    on the Welch-Satterthwaite df of the level parts sum_c (Y_c / pi_k)^2 / N^2, each on G_k df (a sum of squares of
    about G_k independent cluster totals, nothing estimated: no df is lost to a mean; by hand)."""
    from scipy import stats

    labels, n, g, p, mp, pr, y, treated = _two_arm_trial()
    control = np.setdiff1d(np.arange(labels.max() + 1), treated)
    t = horvitz_thompson(y, mp.map(g, np.isin(labels, treated)), pr, contrasts=[("treated", "control")])[0]
    Yc, n_c = np.bincount(labels, weights=y), np.bincount(labels)
    va = np.sum((Yc[treated] / p) ** 2) / n**2
    vb = np.sum((Yc[control] / (1 - p)) ** 2) / n**2
    ga = n_c[treated].sum() ** 2 / np.sum(n_c[treated] ** 2)
    gb = n_c[control].sum() ** 2 / np.sum(n_c[control] ** 2)
    df = (va + vb) ** 2 / (va**2 / ga + vb**2 / gb)
    assert t.std_error**2 == pytest.approx(va + vb, rel=1e-12)
    assert t.df == pytest.approx(df, rel=1e-12)
    assert t.ci[0] == pytest.approx(t.estimate - stats.t.ppf(0.975, df) * t.std_error, rel=1e-12)


def test_t_df_at_least_one_when_a_level_has_between_one_and_two_groups():
    """Each level's part gets max(G - 1, 1) df: with 1 < G < 2 effective groups it used to get G - 1 < 1 (a t
    quantile of 1e100 near G = 1, while G <= 1 got 1 df). Every enumerated assignment of a cluster trial."""
    from netexp.estimators import _young_abs as Y

    mp, contrast = MAPPINGS["full-neighbourhood"]
    design = DESIGNS["cluster-bernoulli"]
    pr = exposure_probabilities(G10, design, mp, method="exact")
    a, b = (mp.levels.index(c) for c in contrast)
    mask = (pr.marginal[:, [a, b]] > 0).all(1)
    Zs, _ = design.enumerate()
    E = np.asarray(mp.map_many(G10, Zs))
    st = Y.abs_young_structure(pr, a, b, mask)
    G = np.array([Y.effective_groups(st, pr.marginal, a, b, e) for e in E])
    assert ((G > 1) & (G < 2)).any()  # the case the floor is for occurs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ne.EstimationWarning)
        dfs = [horvitz_thompson(np.arange(10.0), e, pr, contrasts=[contrast], units=mask)[0].df for e in E]
    dfs = np.array([d for d in dfs if d is not None])
    assert dfs.size and dfs.min() >= 1.0 - 1e-12


def _cr2_intercept(y, w, groups):
    """CR2 variance of the WLS intercept of y on 1 with weights w, clusters ``groups`` (Bell & McCaffrey 2002;
    Pustejovsky & Tipton 2018): with X~ = sqrt(W) 1, e~ = sqrt(W) e, adjustment (I - H~_cc)^(-1/2) per cluster,
    from the full matrices (eigendecomposition), not from the closed form under test."""
    mu = np.sum(w * y) / np.sum(w)
    e = y - mu
    bread = 1.0 / np.sum(w)
    meat = 0.0
    for c in np.unique(groups):
        s = np.sqrt(w[groups == c])
        H = np.outer(s, s) * bread
        lam, V = np.linalg.eigh(np.eye(s.size) - H)
        A = (V / np.sqrt(lam)) @ V.T
        meat += float(s @ A @ (s * e[groups == c])) ** 2
    return bread * meat * bread


def test_group_shares_are_the_clusters_weight_shares_and_give_kish():
    """Own treatment under cluster Bernoulli: rho+ is 1 within a cluster and 0 across, so each unit's share h is
    its cluster's share of the level's weight (CR2's cluster leverage in the WLS intercept), and
    G = 1 / sum_p (w_p / W) h_p is Kish's (sum n_c)^2 / sum n_c^2."""
    from netexp.estimators import _young_abs as Y

    labels, n, _, _, mp, pr, _, treated = _two_arm_trial()
    a, b = mp.levels.index("treated"), mp.levels.index("control")
    z = np.isin(labels, treated)
    codes = np.where(z, a, b)
    n_c = np.bincount(labels)
    for st in (Y.abs_young_structure(pr, a, b, np.ones(n, bool)),
               dict(Y._dense_structure(pr, a, b, np.ones(n, bool)), route="dense")):
        h = Y.group_shares(st, pr.marginal, a, b, codes)
        ref = np.where(z, n_c[labels] / n_c[treated].sum(), n_c[labels] / np.delete(n_c, treated).sum())
        np.testing.assert_allclose(h, ref, rtol=1e-12)
        Ga, _ = Y.effective_groups(st, pr.marginal, a, b, codes)
        assert 1.0 / np.sum(h[z] / z.sum()) == pytest.approx(Ga, rel=1e-12)
        assert Ga == pytest.approx(n_c[treated].sum() ** 2 / np.sum(n_c[treated] ** 2), rel=1e-12)


@pytest.mark.parametrize("hajek_df", ["G-1", "G"])
def test_hajek_cr2_rule_is_the_cr2_intercept_variance_in_a_two_arm_cluster_trial(monkeypatch, hajek_df):
    """The CR2-style rule (measured, not the default): each Hajek residual over sqrt(1 - h), h its group's weight
    share. In a two-arm cluster trial with unequal clusters, level k's part equals the CR2 variance of level k's
    WLS intercept (weights 1 / pi, computed from the full matrices by _cr2_intercept; the residuals linearized at
    the realized weights W_k, the default), and the interval is a t on the Satterthwaite df of the parts (G_k - 1
    or G_k df)."""
    from scipy import stats

    from netexp.estimators import _horvitz_thompson as HT

    monkeypatch.setitem(HT._SMALL_SAMPLE, "hajek", "cr2")
    monkeypatch.setitem(HT._SMALL_SAMPLE, "hajek_df", hajek_df)
    monkeypatch.setitem(HT._SMALL_SAMPLE, "hajek_scale", "W")
    sizes = [1, 2, 3, 4, 2, 3, 5, 1, 6]
    labels = np.repeat(np.arange(len(sizes)), sizes)
    n = labels.size
    g = random_graph(n, 25, 5)
    p = 0.4
    design = ne.ClusterRandomized(labels, ne.Bernoulli(len(sizes), p=p))
    mp = ne.OwnTreatment()
    pr = exposure_probabilities(g, design, mp, method="exact")
    y = np.random.default_rng(2).normal(3, 1, n) + 0.5 * labels
    treated = np.array([0, 2, 5, 6, 8])
    z = np.isin(labels, treated)
    t = hajek(y, mp.map(g, z), pr, contrasts=[("treated", "control")])[0]
    parts, dfs = [], []
    for sel, pk in ((z, p), (~z, 1 - p)):
        w = np.full(sel.sum(), 1.0 / pk)
        parts.append(_cr2_intercept(y[sel], w, labels[sel]))
        n_c = np.bincount(labels[sel])
        G = n_c.sum() ** 2 / np.sum(n_c**2)
        dfs.append(G - 1 if hajek_df == "G-1" else G)
    df = sum(parts) ** 2 / (parts[0] ** 2 / dfs[0] + parts[1] ** 2 / dfs[1])
    assert t.std_error**2 == pytest.approx(sum(parts), rel=1e-10)
    assert t.df == pytest.approx(df, rel=1e-10)
    assert t.ci[1] - t.estimate == pytest.approx(stats.t.ppf(0.975, df) * t.std_error, rel=1e-10)
    # not CR1's G / (G - 1)
    monkeypatch.setitem(HT._SMALL_SAMPLE, "hajek", "cr1")
    assert hajek(y, mp.map(g, z), pr, contrasts=[("treated", "control")])[0].std_error != t.std_error
