"""k-arm exposure: shares of in-neighbours per arm against a plain loop; expectations against enumeration."""

import numpy as np
import pandas as pd
import pytest

import netexp as ne

SRC = [0, 0, 0, 1, 2, 4, 5]
DST = [1, 2, 3, 2, 3, 5, 6]


def _graph():
    ids = [f"u{i}" for i in range(8)]                 # u7 isolated
    return ne.Graph.from_edges([ids[i] for i in SRC], [ids[j] for j in DST], nodes=ids)


def test_shares_equal_a_loop_and_align_by_node_id():
    g = _graph()
    z = np.array([0, 1, 2, 1, 0, 2, 2, 1])
    e = ne.arm_shares(g, z, arms=("c", "a", "b"))
    nbrs = {i: set() for i in range(8)}
    for u, v in zip(SRC, DST):
        nbrs[u].add(v)
        nbrs[v].add(u)
    for i in range(8):
        for a, name in enumerate(("c", "a", "b")):
            want = np.mean([z[j] == a for j in nbrs[i]]) if nbrs[i] else 0.0
            assert e[f"share[{name}]"].iloc[i] == pytest.approx(want)
    assert e["arm"].tolist() == ["c", "a", "b", "a", "c", "b", "b", "a"]
    zs = pd.Series(z, index=g.node_ids).iloc[::-1]
    assert ne.arm_shares(g, zs, arms=("c", "a", "b")).equals(e)


@pytest.mark.parametrize("design", [ne.MultiArmComplete(8, m_each=[2, 3, 3]),
                                    ne.MultiArmBernoulli(8, prob_each=(0.2, 0.3, 0.5)),
                                    ne.MultiArmCluster([0, 0, 1, 1, 2, 2, 3, 3], ne.MultiArmComplete(4, num_arms=2))])
def test_expected_shares_equal_enumeration(design):
    g = _graph()
    Z, w = design.enumerate()
    A = g.adjacency.toarray()
    deg = A.sum(1)
    inv = np.divide(1.0, deg, out=np.zeros_like(deg), where=deg > 0)
    # E[share_ia] = sum_z w_z * (A (Z == a))_i / d_i, every assignment of the support
    acc = np.stack([(w[:, None] * ((Z == a).astype(float) @ A.T)).sum(0) * inv for a in range(design.n_arms)], 1)
    # spot-check the loop-based shares on the first assignments of the support
    for z in Z[:3]:
        got = ne.arm_shares(g, z, arms=design.arms).filter(like="share").to_numpy()
        np.testing.assert_allclose(got, np.stack([((z == a) @ A.T) * inv for a in range(design.n_arms)], 1))
    np.testing.assert_allclose(ne.expected_arm_shares(g, design).to_numpy(), acc, atol=1e-12)
