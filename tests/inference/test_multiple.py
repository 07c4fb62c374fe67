"""adjust_pvalues equals statsmodels.stats.multitest.multipletests exactly."""

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

import netexp as ne
from netexp.inference import adjust_pvalues

SM = {"holm": "holm", "bonferroni": "bonferroni", "bh": "fdr_bh", "by": "fdr_by"}


@pytest.mark.parametrize("method", list(SM))
@pytest.mark.parametrize("seed", range(6))
def test_equals_statsmodels(method, seed):
    rng = np.random.default_rng(seed)
    m = [1, 2, 7, 30, 200, 1000][seed]
    p = np.concatenate([rng.uniform(size=m // 2 + 1) ** 3, rng.uniform(size=m - m // 2 - 1)])
    if seed >= 3:                                        # ties and the edges 0 and 1
        p[: m // 10] = p[0]
        p[-1], p[-2] = 1.0, 0.0
    for alpha in (0.01, 0.05, 0.2):
        rej_ref, adj_ref, _, _ = multipletests(p, alpha=alpha, method=SM[method])
        adj, rej = adjust_pvalues(p, method=method, alpha=alpha)
        np.testing.assert_array_equal(adj, adj_ref)
        np.testing.assert_array_equal(rej, rej_ref)


def test_published_example_and_errors():
    # Benjamini & Hochberg (1995), section 3.2: 15 p-values, 4 rejected at q = 0.05
    p = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240, 0.4262, 0.5719, 0.6528,
         0.7590, 1.0]
    assert adjust_pvalues(p, method="bh")[1].sum() == 4
    assert adjust_pvalues(p, method="bonferroni")[1].sum() == 3
    with pytest.raises(ne.InputError, match="method"):
        adjust_pvalues(p, method="fdr")
    with pytest.raises(ne.InputError, match=r"\[0, 1\]"):
        adjust_pvalues([0.1, np.nan])
