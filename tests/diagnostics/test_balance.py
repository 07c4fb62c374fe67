"""Covariate balance: hand formulas, Mahalanobis M, its randomization distribution, weights, errors."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import netexp as ne
from tests.diagnostics._doubles import CoinDesign
from netexp.diagnostics import BalanceTable, balance_table
from netexp.diagnostics import _balance




class FixedDraws(ne.Design):
    """Returns the given assignments in order (cycling), ignoring rng: draws known to the test."""

    def __init__(self, Z):
        self._Z = np.asarray(Z, dtype=bool)
        self._freeze()

    @property
    def n_units(self):
        return self._Z.shape[1]

    def _sample_many(self, n_draws, rng):
        return np.resize(self._Z, (n_draws, self.n_units))

    def _probabilities(self):
        return self._Z.mean(0)


@pytest.fixture
def small():
    gen = np.random.default_rng(7)
    n = 40
    df = pd.DataFrame({
        "age": gen.normal(35, 8, n),
        "visits": gen.poisson(3, n).astype(int),
        "team": gen.random(n) < 0.4,
        "plan": gen.choice(["free", "pro", "team"], n),
    })
    z = np.zeros(n, bool)
    z[gen.choice(n, 18, replace=False)] = True
    return df, z


# ------------------------------------------------------------------ per-covariate rows vs hand formulas
def test_rows_equal_hand_formulas(small):
    df, z = small
    bt = balance_table(df, z)
    out = bt.to_frame().set_index("covariate")
    dummies = pd.get_dummies(df["plan"], prefix="plan", prefix_sep="=", dtype=float)
    X = pd.concat([df[["age", "visits"]].astype(float), df["team"].astype(float), dummies], axis=1)
    assert list(out.index) == list(X.columns)
    t, c = X[z], X[~z]
    s1, s0 = t.var(ddof=1), c.var(ddof=1)
    np.testing.assert_allclose(out["mean_treated"], t.mean(), rtol=1e-12)
    np.testing.assert_allclose(out["mean_control"], c.mean(), rtol=1e-12)
    np.testing.assert_allclose(out["difference"], t.mean() - c.mean(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(out["std_difference"], (t.mean() - c.mean()) / np.sqrt((s1 + s0) / 2), rtol=1e-10)
    np.testing.assert_allclose(out["variance_ratio"], s1 / s0, rtol=1e-10)
    assert (out["n_treated"] == 18).all() and (out["n_control"] == 22).all()
    assert out["p_value"].isna().all()                        # no design, no randomization p-value


def test_array_input_and_columns(small):
    df, z = small
    a = balance_table(df[["age", "visits"]].to_numpy(), z)
    b = balance_table(df, z, columns=["age", "visits"])
    assert a.covariates == ("x0", "x1") and b.covariates == ("age", "visits")
    np.testing.assert_array_equal(a.std_difference, b.std_difference)
    assert balance_table(df, z, columns="age").covariates == ("age",)


# ------------------------------------------------------------------ Mahalanobis M
def test_mahalanobis_equals_direct_linalg(small):
    df, z = small
    X = df[["age", "visits"]].to_numpy(float)
    d = X[z].mean(0) - X[~z].mean(0)
    S = np.cov(X, rowvar=False)
    M = d @ np.linalg.inv(S * (1 / z.sum() + 1 / (~z).sum())) @ d
    bt = balance_table(df, z, columns=["age", "visits"])
    assert bt.mahalanobis == pytest.approx(M, rel=1e-10)
    assert bt.mahalanobis_df == 2
    assert bt.mahalanobis_p_value_chi2 == pytest.approx(stats.chi2.sf(M, 2), rel=1e-9)


@pytest.mark.parametrize("drop", ["first", "last"])
def test_mahalanobis_with_categorical_drops_one_level(small, drop):
    df, z = small
    dummies = pd.get_dummies(df["plan"], dtype=float)
    dummies = dummies.iloc[:, 1:] if drop == "first" else dummies.iloc[:, :-1]  # M does not depend on which
    X = np.column_stack([df["age"], df["team"].astype(float), dummies])
    d = X[z].mean(0) - X[~z].mean(0)
    M = d @ np.linalg.solve(np.cov(X, rowvar=False) * (1 / 18 + 1 / 22), d)
    bt = balance_table(df, z, columns=["age", "team", "plan"])
    assert bt.mahalanobis == pytest.approx(M, rel=1e-9)
    assert bt.mahalanobis_df == 4
    assert bt.covariates == ("age", "team", "plan=free", "plan=pro", "plan=team")


def test_mahalanobis_agrees_with_rerandomization_statistic(small):
    # the design layer's M (used to accept re-randomizations) and the diagnostic's M are one quantity
    mahalanobis_balance = pytest.importorskip("netexp.designs").__dict__.get("mahalanobis_balance")
    if mahalanobis_balance is None:
        pytest.skip("netexp.designs.mahalanobis_balance not available")
    df, z = small
    X = df[["age", "visits"]].to_numpy(float)
    assert balance_table(X, z).mahalanobis == pytest.approx(float(mahalanobis_balance(X, z)[0]), rel=1e-9)


def test_singular_covariance_uses_pseudo_inverse(small):
    df, z = small
    X = df[["age", "visits"]].assign(twice_age=2 * df["age"], const=1.0)
    bt = balance_table(X, z)
    assert bt.mahalanobis_df == 2
    ref = balance_table(df, z, columns=["age", "visits"])
    assert bt.mahalanobis == pytest.approx(ref.mahalanobis, rel=1e-8)
    assert any("pseudo-inverse" in n for n in bt.notes)
    assert any("constant covariate(s) ['const']" in n for n in bt.notes)
    assert np.isnan(bt.std_difference[3]) and any("constant in both arms" in n for n in bt.notes)


def test_separated_covariate_is_noted():
    z = np.r_[np.ones(5, bool), np.zeros(5, bool)]
    X = pd.DataFrame({"sep": z.astype(float), "x": np.arange(10.0)})
    bt = balance_table(X, z)
    assert np.isnan(bt.std_difference[0])
    assert any("do not overlap" in n for n in bt.notes)


# ------------------------------------------------------------------ randomization distribution
def _direct_stats(X, z):
    """Loop-free per-draw reference written independently: std differences and M of one assignment."""
    t, c = X[z], X[~z]
    sd = (t.mean(0) - c.mean(0)) / np.sqrt((t.var(0, ddof=1) + c.var(0, ddof=1)) / 2)
    d = t.mean(0) - c.mean(0)
    M = d @ np.linalg.solve(np.cov(X, rowvar=False) * (1 / z.sum() + 1 / (~z).sum()), d)
    return sd, M


def test_vectorized_draws_equal_direct_computation():
    gen = np.random.default_rng(3)
    n, R = 30, 60
    X = np.column_stack([gen.normal(size=n), gen.exponential(size=n), gen.random(n) < 0.5])
    Z = np.array([gen.permutation(np.r_[np.ones(12, bool), np.zeros(18, bool)]) for _ in range(R)])
    z = Z[5]                                                   # the observed assignment is one of the draws
    bt = balance_table(X, z, design=FixedDraws(Z), n_draws=R)
    ref = [_direct_stats(X, zr) for zr in Z]
    sd_ref = np.array([r[0] for r in ref])
    M_ref = np.array([r[1] for r in ref])
    np.testing.assert_allclose(bt.std_difference_draws, sd_ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(bt.mahalanobis_draws, M_ref, rtol=1e-9)
    # p-value: (1 + draws at least as extreme) / (1 + R); the observed draw itself ties and counts
    sd_obs, M_obs = _direct_stats(X, z)
    p_rows = (1 + (np.abs(sd_ref) >= np.abs(sd_obs) * (1 - 1e-9)).sum(0)) / (1 + R)
    np.testing.assert_allclose(bt.p_value, p_rows, rtol=1e-12)
    assert bt.mahalanobis_p_value == pytest.approx((1 + (M_ref >= M_obs * (1 - 1e-9)).sum()) / (1 + R))
    np.testing.assert_allclose(bt.abs_std_difference_q95, np.quantile(np.abs(sd_ref), 0.95, axis=0), rtol=1e-9)
    assert bt.mahalanobis_q95 == pytest.approx(np.quantile(M_ref, 0.95), rel=1e-9)
    assert bt.max_abs_std_difference_q95 == pytest.approx(np.quantile(np.abs(sd_ref).max(1), 0.95), rel=1e-9)


def test_batches_give_the_same_result(monkeypatch):
    gen = np.random.default_rng(4)
    X = gen.normal(size=(50, 3))
    design = CoinDesign(np.full(50, 0.5))
    z = design.sample(rng=1)
    one = balance_table(X, z, design=design, n_draws=100, rng=9)
    monkeypatch.setattr(_balance, "_BATCH_ELEMENTS", 50 * 7)  # batches of 7 draws
    many = balance_table(X, z, design=design, n_draws=100, rng=9)
    np.testing.assert_allclose(many.mahalanobis_draws, one.mahalanobis_draws, rtol=1e-12)
    np.testing.assert_array_equal(many.p_value, one.p_value)


def test_mahalanobis_randomization_distribution_is_chi_square():
    # Complete randomization of 2000 units, 4 covariates (one skewed, one binary): M ~ chi2(4).
    # Tolerance: KS p-value > 0.01 for 2000 draws (this seed gives a comfortable margin); the
    # mean is exactly k in expectation, checked within 4 standard errors of the chi2(4) mean.
    gen = np.random.default_rng(2012)
    n = 2000
    X = np.column_stack([gen.normal(size=n), gen.exponential(size=n), gen.random(n) < 0.3,
                         gen.normal(size=n) + gen.normal(size=n)])
    design = ne.Complete(n)
    bt = balance_table(X, design.sample(rng=1), design=design, n_draws=2000, rng=2)
    draws = bt.mahalanobis_draws
    assert draws.shape == (2000,) and bt.n_draws == 2000
    assert stats.kstest(draws, stats.chi2(4).cdf).pvalue > 0.01
    assert abs(draws.mean() - 4) < 4 * np.sqrt(8 / 2000)


def test_deliberate_imbalance_has_small_p_value():
    gen = np.random.default_rng(5)
    n = 200
    X = pd.DataFrame({"x": gen.normal(size=n), "noise": gen.normal(size=n)})
    z = (X["x"] > X["x"].median()).to_numpy()                  # treat the top half: not a randomization
    bt = balance_table(X, z, design=ne.Complete(n), n_draws=999, rng=0)
    assert bt.p_value[0] == pytest.approx(1 / 1000)
    assert bt.mahalanobis_p_value == pytest.approx(1 / 1000)
    assert bt.std_difference[0] > 1.5
    assert "very unlikely by chance" in bt.verdict and "none of the 999 draws is as imbalanced" in bt.verdict


def test_randomization_p_values_are_calibrated_and_chi_square_is_not_under_clusters():
    # 200 replications with R = 199 draws each. For a draw of the design itself, P(p < 0.05) =
    # 9/200 exactly (discrete p-values); accept counts inside the central 99.9% binomial range.
    # Under cluster randomization of a clustered covariate, the chi-square reference (which
    # assumes unit randomization) rejects far too often; the randomization reference does not.
    n_rep, R = 200, 199
    gen = np.random.default_rng(77)
    labels = np.repeat(np.arange(20), 10)
    X = np.column_stack([gen.normal(size=20)[labels] + 0.3 * gen.normal(size=200), gen.normal(size=200)])
    lo, hi = stats.binom.interval(0.999, n_rep, 9 / 200)
    for design in (ne.Complete(200), ne.ClusterRandomized(labels)):
        p_m, p_row, p_chi2 = [], [], []
        for s in range(n_rep):
            bt = balance_table(X, design.sample(rng=s), design=design, n_draws=R, rng=10_000 + s)
            p_m.append(bt.mahalanobis_p_value)
            p_row.append(bt.p_value[0])
            p_chi2.append(bt.mahalanobis_p_value_chi2)
        assert lo <= (np.array(p_m) < 0.05).sum() <= hi
        assert lo <= (np.array(p_row) < 0.05).sum() <= hi
        if isinstance(design, ne.ClusterRandomized):
            assert (np.array(p_chi2) < 0.05).mean() > 0.3
        else:
            assert lo <= (np.array(p_chi2) < 0.05).sum() <= stats.binom.interval(0.999, n_rep, 0.05)[1]


def test_q95_reflects_design_and_verdict_mentions_it():
    gen = np.random.default_rng(8)
    X = gen.normal(size=(200, 2))
    design = ne.Complete(200)
    bt = balance_table(X, design.sample(rng=0), design=design, n_draws=500, rng=0)
    # sd of a std difference with 100 per arm is about sqrt(2/100); 95th percentile of |.| about 1.96 of it
    np.testing.assert_allclose(bt.abs_std_difference_q95, 1.96 * np.sqrt(2 / 100), rtol=0.15)
    assert "5% of this design's draws exceed" in bt.verdict and "randomization p =" in bt.verdict


# ------------------------------------------------------------------ weights
def test_equal_weights_reduce_to_unweighted(small):
    df, z = small
    design = ne.Complete(40, n_treated=18)
    a = balance_table(df, z, design=design, n_draws=200, rng=1)
    b = balance_table(df, z, design=design, n_draws=200, rng=1, weights=np.full(40, 3.0))
    for f in ("mean_treated", "mean_control", "std_difference", "variance_ratio", "mahalanobis_draws", "p_value"):
        np.testing.assert_allclose(getattr(b, f), getattr(a, f), rtol=1e-10, atol=1e-13)
    assert b.mahalanobis == pytest.approx(a.mahalanobis, rel=1e-10)
    assert b.weights == "user"
    c = balance_table(df, z, design=design, n_draws=200, rng=1, weights="ipw")  # constant probabilities
    np.testing.assert_allclose(c.std_difference, a.std_difference, rtol=1e-10)


def test_weighted_formulas(small):
    df, z = small
    w = np.random.default_rng(1).uniform(0.5, 3, 40)
    bt = balance_table(df, z, columns=["age"], weights=w)
    x = df["age"].to_numpy()

    def moments(mask):
        ww, xx = w[mask], x[mask]
        m = np.sum(ww * xx) / np.sum(ww)
        v = np.sum(ww * (xx - m) ** 2) / (np.sum(ww) - np.sum(ww**2) / np.sum(ww))
        return m, v, np.sum(ww) ** 2 / np.sum(ww**2)

    (m1, v1, e1), (m0, v0, e0) = moments(z), moments(~z)
    assert bt.mean_treated[0] == pytest.approx(m1, rel=1e-12)
    assert bt.std_difference[0] == pytest.approx((m1 - m0) / np.sqrt((v1 + v0) / 2), rel=1e-10)
    assert bt.variance_ratio[0] == pytest.approx(v1 / v0, rel=1e-10)
    # weighted M: 1/n_a becomes one over Kish's effective size
    assert bt.mahalanobis == pytest.approx((m1 - m0) ** 2 / (np.var(x, ddof=1) * (1 / e1 + 1 / e0)), rel=1e-10)


def test_ipw_removes_imbalance_built_into_unequal_probabilities():
    gen = np.random.default_rng(9)
    n = 4000
    x = gen.normal(size=n)
    design = CoinDesign(np.where(x > 0, 0.8, 0.2))             # high-x units are treated more often, by design
    z = design.sample(rng=1)
    raw = balance_table(x, z, design=design, n_draws=200, rng=2)
    ipw = balance_table(x, z, design=design, n_draws=200, rng=2, weights="ipw")
    assert raw.std_difference[0] > 0.8                         # large, but it is what this design always does:
    assert raw.p_value[0] > 0.01                               # the randomization reference knows that
    assert abs(ipw.std_difference[0]) < 0.1
    assert any("weights='ipw'" in note for note in raw.notes)


def test_weight_errors(small):
    df, z = small
    p = np.where(np.arange(40) < 20, 0.3, 0.6)
    design = CoinDesign(p)
    with pytest.raises(ne.InputError, match="weights='ipw' needs design="):
        balance_table(df, z, weights="ipw")
    with pytest.raises(ne.InputError, match="weights must be None, 'ipw'"):
        balance_table(df, z, weights="hajek")
    with pytest.raises(ne.InputError, match="one entry per unit"):
        balance_table(df, z, weights=np.ones(3))
    with pytest.raises(ne.InputError, match="finite and positive"):
        balance_table(df, z, weights=np.r_[0.0, np.ones(39)])
    with pytest.raises(ne.InputError, match="pass weights='ipw'"):
        balance_table(df, z, design=design, weights=np.where(z, 1 / p, 1 / (1 - p)))
    with pytest.raises(ne.InputError, match="probability 0 or 1"):
        balance_table(df, z, design=CoinDesign(np.r_[1.0, np.full(39, 0.5)]), weights="ipw")


# ------------------------------------------------------------------ result type, notes, errors
def test_result_views_and_immutability(small):
    df, z = small
    before = df.copy()
    bt = balance_table(df, z, design=ne.Complete(40, n_treated=18), n_draws=100, rng=0)
    pd.testing.assert_frame_equal(df, before)                  # inputs untouched
    assert isinstance(bt, BalanceTable)
    with pytest.raises(dataclasses.FrozenInstanceError):
        bt.mahalanobis = 0.0
    with pytest.raises(ValueError):
        bt.std_difference[0] = 0.0                             # read-only arrays
    frame = bt.to_frame()
    assert list(frame.columns) == _balance.COLUMNS and len(frame) == 6
    s = bt.summary()
    assert bt.verdict in s and "reference: 100 draws of Complete" in s
    assert "<table" in bt._repr_html_() and "Mahalanobis M" in bt._repr_html_()
    assert "BalanceTable(covariates=6" in repr(bt)
    no_design = balance_table(df, z)
    assert "chi-square p =" in no_design.verdict and "pass design=" in no_design.verdict


def test_verdict_levels():
    gen = np.random.default_rng(10)
    X = gen.normal(size=(400, 2))
    z = np.zeros(400, bool)
    z[np.argsort(X[:, 0])[::2]] = True                         # nearly perfect balance on x0
    assert "no sign of imbalance beyond chance" in balance_table(X, z).verdict
    z2 = np.zeros(400, bool)
    z2[np.argsort(X[:, 0] + gen.normal(scale=4, size=400))[200:]] = True
    v = balance_table(X, z2).verdict
    assert "Mahalanobis M =" in v and "on 2 df" in v


def test_design_mismatch_notes():
    design = ne.Complete(40, n_treated=20)
    z = np.zeros(40, bool)
    z[:18] = True
    bt = balance_table(np.arange(40.0), z, design=design, n_draws=50, rng=0)
    assert any("does not look like a draw of this design" in n for n in bt.notes)
    labels = np.repeat(np.arange(8), 5)
    bt = balance_table(np.arange(40.0), z, design=ne.ClusterRandomized(labels), n_draws=50, rng=0)
    assert any("split between arms" in n for n in bt.notes)


@pytest.mark.parametrize("make, error, match", [
    (lambda df, z: balance_table(df.iloc[:30], z), ne.InputError, "covariates has 30 rows but z has 40"),
    (lambda df, z: balance_table(df, np.zeros(40)), ne.EstimationError, "got 0 treated and 40 control"),
    (lambda df, z: balance_table(df, np.r_[1, np.zeros(39)]), ne.EstimationError, "at least 2 units in each arm"),
    (lambda df, z: balance_table(df.assign(age=np.r_[np.nan, df["age"].iloc[1:]]), z), ne.InputError,
     "column 'age' has 1 missing values"),
    (lambda df, z: balance_table(df.assign(age=np.r_[np.inf, df["age"].iloc[1:]]), z), ne.InputError,
     "infinite values"),
    (lambda df, z: balance_table(df, z, columns=["age", "income"]), ne.InputError, r"no column\(s\) \['income'\]"),
    (lambda df, z: balance_table(df, z.astype(int) * 2), ne.InputError, "only 0/1"),
    (lambda df, z: balance_table(df, np.c_[z, z]), ne.InputError, "1-D"),
    (lambda df, z: balance_table(df, z, design=ne.Complete(10)), ne.InputError, "design assigns 10 units"),
    (lambda df, z: balance_table(df, z, design=object()), ne.InputError, "must be a netexp Design"),
    (lambda df, z: balance_table(df, z, design=ne.Complete(40), n_draws=0), ne.InputError, "n_draws must be"),
    (lambda df, z: balance_table(df, pd.Series(z, index=df.index + 100)), ne.InputError, "index does not match"),
])
def test_errors(small, make, error, match):
    df, z = small
    with pytest.raises(error, match=match):
        make(df, z)
