"""Sharp null hypotheses given as a vector of unit effects (ri2 issue 19), against hand enumeration."""

import itertools

import numpy as np
import pandas as pd
import pytest

import netexp as ne
from netexp import InputError


def _hand_p(y, z, tau, stat, alternative="two-sided"):
    """Exact p-value by listing every assignment of Complete(n, n1), written out independently."""
    n, n1 = len(y), int(z.sum())
    y0 = y - tau * z
    obs = stat(z, y)
    T = []
    for idx in itertools.combinations(range(n), n1):
        zs = np.zeros(n, bool)
        zs[list(idx)] = True
        T.append(stat(zs, y0 + tau * zs))
    T = np.array(T)
    c = T.mean()
    if alternative == "greater":
        return np.mean(T >= obs - 1e-12)
    return np.mean(np.abs(T - c) >= abs(obs - c) - 1e-12)


def _dim(z, y):
    return y[z].mean() - y[~z].mean()


def _welch(z, y):
    a, b = y[z], y[~z]
    return (a.mean() - b.mean()) / np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))


Y = np.array([4.0, 6.5, 5.0, 1.0, 2.5, 3.0, 0.5, 2.0])
Z = np.array([1, 1, 1, 1, 0, 0, 0, 0], dtype=bool)
TAU = np.array([1.0, 3.0, 0.5, 2.0, 0.0, 1.5, -1.0, 2.5])   # effects of the control units matter too


@pytest.mark.parametrize("alternative", ["two-sided", "greater"])
def test_unit_effects_exact_p_matches_hand_enumeration(alternative):
    design = ne.Complete(8, n_treated=4)
    res = ne.randomization_test(Y, Z, design, null_effect=TAU, alternative=alternative)
    assert res.exact and res.n_draws == 70
    assert res.p_value == pytest.approx(_hand_p(Y, Z, TAU, _dim, alternative), abs=1e-12)
    assert res.observed == pytest.approx(_dim(Z, Y))
    assert "unit effects" in res.summary()


def test_unit_effects_with_a_nonlinear_statistic():
    design = ne.Complete(8, n_treated=4)
    res = ne.randomization_test(Y, Z, design, statistic="studentized", null_effect=TAU)
    assert res.p_value == pytest.approx(_hand_p(Y, Z, TAU, _welch), abs=1e-12)


def test_constant_vector_is_the_scalar_null_and_monte_carlo_runs():
    design = ne.Complete(8, n_treated=4)
    a = ne.randomization_test(Y, Z, design, null_effect=np.full(8, 1.5))
    b = ne.randomization_test(Y, Z, design, null_effect=1.5)
    assert a.p_value == b.p_value and a.null_effect == 1.5
    # one-sided (no estimated centre): Monte Carlo within 4 binomial SEs of the exact p
    mc = ne.randomization_test(Y, Z, design, null_effect=TAU, exact=False, n_draws=4000, rng=0, alternative="greater")
    p = _hand_p(Y, Z, TAU, _dim, "greater")
    assert mc.p_value == pytest.approx(p, abs=4 * np.sqrt(p * (1 - p) / 4000))


def test_series_effects_with_y_and_errors():
    design = ne.Complete(8, n_treated=4)
    ids = list(range(8))  # the design's positions: ids it cannot place are refused (tests/test_align_design.py)
    ys = pd.Series(Y, index=ids)
    res = ne.randomization_test(ys, Z, design, null_effect=pd.Series(TAU, index=ids))
    assert res.p_value == pytest.approx(_hand_p(Y, Z, TAU, _dim), abs=1e-12)
    # the design numbers units by position: a Series in another order is refused, never used by position
    with pytest.raises(InputError, match="indexes differ"):
        ne.randomization_test(ys, Z, design, null_effect=pd.Series(TAU, index=ids)[ids[::-1]])
    with pytest.raises(InputError, match="null_effect must be a vector of length 8"):
        ne.randomization_test(Y, Z, design, null_effect=TAU[:7])
