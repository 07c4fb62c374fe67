"""regression(): equal to statsmodels with the same design matrix and covariance."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import netexp as ne
from netexp.estimators._regression import regression


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    n = 400
    df = pd.DataFrame({"village": rng.integers(0, 25, n), "d": rng.integers(0, 2, n).astype(float),
                       "share": rng.uniform(size=n), "age": rng.normal(50, 10, n)})
    df["y"] = 0.3 * df.d + 0.5 * df.share + 0.01 * df.age + 0.05 * df.village + rng.normal(size=n)
    df.loc[[3, 17, 200], "age"] = np.nan
    return df


@pytest.mark.parametrize("cov", ["HC0", "HC1", "CR1", "CR0"])
def test_equals_statsmodels_with_village_dummies(data, cov):
    with pytest.warns(ne.EstimationWarning, match="dropped 3 of 400"):
        tab = regression(data, "y", ["d", "share"], covariates=["age"], fixed_effects="village",
                         clusters="village" if cov.startswith("CR") else None, cov_type=cov)
    sub = data.dropna()
    m = smf.ols("y ~ d + share + age + C(village)", sub)
    if cov.startswith("CR"):
        r = m.fit(cov_type="cluster", cov_kwds={"groups": sub.village.to_numpy(), "use_correction": cov == "CR1"})
    else:
        r = m.fit(cov_type=cov)
    for t in ("d", "share"):
        assert tab[t].estimate == pytest.approx(r.params[t], rel=1e-10)
        assert tab[t].std_error == pytest.approx(r.bse[t], rel=1e-10)
    assert tab["d"].n == 397 and "3 rows" in tab["d"].note


def test_no_fixed_effects_has_intercept(data):
    sub = data.dropna()
    tab = regression(sub, "y", "d", clusters="village")
    r = smf.ols("y ~ d", sub).fit(cov_type="cluster", cov_kwds={"groups": sub.village.to_numpy()})
    assert tab["d"].estimate == pytest.approx(r.params["d"], rel=1e-10)
    assert tab["d"].std_error == pytest.approx(r.bse["d"], rel=1e-10)
    assert tab["d"].df == 24


def test_errors(data):
    with pytest.raises(ne.InputError, match="not in data"):
        regression(data, "y", "treat")
    with pytest.raises(ne.EstimationError, match="missing values"):
        regression(data, "y", "d", covariates=["age"], missing="raise")
    with pytest.raises(ne.EstimationError, match="needs clusters"):
        regression(data.dropna(), "y", "d", cov_type="CR1")
    bad = data.dropna().assign(d=lambda f: np.where(f.d > 0, "yes", "no"))
    with pytest.raises(ne.InputError, match="must be numeric"):
        regression(bad, "y", "d")
