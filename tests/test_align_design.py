"""A pandas input beside a design and no graph: aligned by id or refused, never used by position.

A design numbers its units 0..n-1 and carries no ids. A Series indexed by node ids beside it (and no
graph to translate the ids) used to be read by position: rows in another order than the design's
paired one unit's outcome with another unit's assignment, cluster or draw, without a word. The truth
below is the same function on numpy arrays in the design's order, which the alignment layer does not
touch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import netexp as ne


@pytest.fixture(scope="module")
def setup():
    g = ne.load_graph("karate")
    n = g.n_nodes
    design = ne.ClusterRandomized(np.arange(n) // 4, p=0.5)
    z = design.sample(rng=2)
    y = np.random.default_rng(1).normal(size=n) + 2.0 * z
    names = pd.Index([f"u{i:02d}" for i in range(n)])   # ids that are not positions
    perm = np.random.default_rng(5).permutation(n)
    return g, n, design, z, y, names, perm


def test_shuffled_series_beside_a_design_is_refused(setup):
    """The case that was silently wrong: y shuffled (ids in its index), z a numpy array in the design's order."""
    g, n, design, z, y, names, perm = setup
    Y = pd.Series(y, index=names).iloc[perm]
    truth = ne.randomization_test(y, z, design, n_draws=200, rng=0)
    with pytest.raises(ne.InputError, match="design numbers units by position") as exc:
        ne.randomization_test(Y, z, design, n_draws=200, rng=0)
    msg = str(exc.value)
    assert "y is a pandas Series" in msg and "y.to_numpy()" in msg and "'u" in msg
    # what the old positional reading gave: another number, with no warning
    wrong = ne.randomization_test(Y.to_numpy(), z, design, n_draws=200, rng=0)
    assert wrong.observed != pytest.approx(truth.observed)


def test_ids_in_the_design_order_are_refused_too(setup):
    """Nothing can check that rows indexed by ids are in the design's order: same refusal."""
    g, n, design, z, y, names, perm = setup
    with pytest.raises(ne.InputError, match="design numbers units by position"):
        ne.randomization_test(pd.Series(y, index=names), pd.Series(z, index=names), design, n_draws=50, rng=0)
    with pytest.raises(ne.InputError, match="z is a pandas Series"):
        ne.srm_test(pd.Series(z, index=names), design=design)
    with pytest.raises(ne.InputError, match="covariates is a pandas DataFrame"):
        ne.balance_table(pd.DataFrame({"x": y}, index=names), z, design=design, n_draws=20, rng=0)


def test_with_a_graph_the_index_is_aligned(setup):
    """Where a graph is used (an exposure statistic), it translates the ids: a shuffled Series gives the
    numpy answer."""
    g, n, _, _, _, names, perm = setup
    design = ne.Bernoulli(n, p=0.5)
    z = design.sample(rng=4)
    y = np.random.default_rng(2).normal(size=n) + z
    kw = dict(statistic="hajek", mapping=ne.AronowSamii(), contrast=("direct_indirect", "no_exposure"), n_draws=100,
              rng=0)
    truth = ne.randomization_test(y, z, design, graph=g, **kw)
    got = ne.randomization_test(pd.Series(y, index=g.node_ids).iloc[perm], z, design, graph=g, **kw)
    assert got.observed == truth.observed and got.p_value == truth.p_value


def test_positions_as_index_are_used(setup):
    """A default RangeIndex (or labels 0..n-1 in order: karate's node ids) is the design's numbering."""
    g, n, design, z, y, names, perm = setup
    truth = ne.randomization_test(y, z, design, n_draws=200, rng=0)
    for Y in (pd.Series(y), pd.Series(y, index=pd.Index(g.node_ids))):
        got = ne.randomization_test(Y, z, design, n_draws=200, rng=0)
        assert got.observed == truth.observed and got.p_value == truth.p_value
    # labels 0..n-1 out of order are not positions
    with pytest.raises(ne.InputError, match="design numbers units by position"):
        ne.randomization_test(pd.Series(y).iloc[perm], z, design, n_draws=50, rng=0)


def test_pair_labels_are_not_a_design():
    """Pair labels given as a Series are per-unit data (aligned by the shared index), not a design."""
    y = pd.Series([1.0, 2.0, 2.5, 3.5, 3.0, 5.0], index=list("abcdef"))
    z = pd.Series([0, 1, 0, 1, 0, 1], index=list("abcdef"))
    pairs = pd.Series([0, 0, 1, 1, 2, 2], index=list("abcdef"))
    ref = ne.paired_difference_in_means(y.to_numpy(), z.to_numpy(), pairs.to_numpy())
    got = ne.paired_difference_in_means(y, z, pairs)
    assert (got.estimate, got.std_error) == (ref.estimate, ref.std_error)
    design = ne.MatchedPairs(np.array([[0.1], [0.2], [1.0], [1.1], [5.0], [5.2]]))
    with pytest.raises(ne.InputError, match="pairs numbers units by position"):
        ne.paired_difference_in_means(y, z, design)
