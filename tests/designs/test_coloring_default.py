"""ColoringDesign's default warns when uniform class draws leave very few units eligible."""

import itertools
import warnings

import numpy as np
import pytest

import netexp as ne
from netexp import NetexpWarning
from netexp.designs._coloring import _median_drawn_size
from tests.conftest import shared_file


def _clique_plus_isolated(m=60, extra=1000):
    pairs = list(itertools.combinations(range(m), 2))
    return ne.Graph.from_edges([a for a, _ in pairs], [b for _, b in pairs], nodes=range(m + extra))


def test_median_drawn_class_size_by_hand():
    sizes = np.array([1, 1, 1, 10, 100])
    assert _median_drawn_size(sizes, np.full(5, 0.2)) == 1          # 3 of 5 equally likely classes have 1 unit
    assert _median_drawn_size(sizes, sizes / sizes.sum()) == 100    # by size: 100 of 113 units' class


def test_default_warns_with_the_counts():
    g = _clique_plus_isolated()
    with pytest.warns(NetexpWarning, match=r"only 1 of 1060 units eligible \(0.5 treated on average; 59 of 60") as rec:
        d = ne.ColoringDesign(g)
    assert "makes the median draw 1001 units" in str(rec[0].message)
    assert d.n_colors == 60
    np.testing.assert_allclose(d.class_probabilities, 1 / 60)       # behaviour unchanged: uniform


@pytest.mark.parametrize("rule", ["uniform", "size"])
def test_explicit_choice_or_reasonable_classes_do_not_warn(rule):
    with warnings.catch_warnings():
        warnings.simplefilter("error", NetexpWarning)
        ne.ColoringDesign(_clique_plus_isolated(), class_probabilities=rule)
        ne.ColoringDesign(ne.load_graph("karate"))


def test_facebook_default_warns():
    g = ne.read_graph(shared_file("networks", "facebook_combined.txt.gz"))
    with pytest.warns(NetexpWarning, match="of 4039 units eligible"):
        ne.ColoringDesign(g)
