"""Exposure for k-arm experiments: own arm and the share of in-neighbours in each arm."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._align import aligned
from .._unit_align import align_units
from .._errors import InputError

__all__ = ["arm_shares", "expected_arm_shares"]


def _onehot(codes: np.ndarray, k: int) -> sp.csr_array:
    n = codes.shape[0]
    return sp.csr_array((np.ones(n), (np.arange(n), codes)), shape=(n, k))


@aligned("z")
def arm_shares(graph: Any, z: Any, *, arms: Any = None) -> pd.DataFrame:
    r"""Own arm and the share of each unit's in-neighbours assigned to each arm.

    Parameters
    ----------
    graph : Graph
    z : array-like or pandas Series
        Arm (name or code) of every unit; a Series is matched to ``graph.node_ids``.
    arms : sequence, optional
        Arm names in order (e.g. ``design.arms``); default the sorted distinct values of ``z``.

    Returns
    -------
    DataFrame
        Indexed by node id: ``arm`` (own arm name), ``degree`` and ``share[<arm>]`` for every arm,
        :math:`\frac{1}{d_i}\sum_{j \in N(i)} 1[Z_j = a]` (0 for isolated units). The shares are
        the k-arm version of the fraction of treated neighbours: one sparse product for all arms.

    Examples
    --------
    >>> import netexp as ne
    >>> g = ne.load_graph("karate")
    >>> design = ne.MultiArmComplete(g.n_nodes, num_arms=3)
    >>> e = ne.arm_shares(g, design.sample(rng=0), arms=design.arms)
    >>> list(e.columns)
    ['arm', 'degree', 'share[T1]', 'share[T2]', 'share[T3]']
    """
    from ..designs._multiarm import arm_codes
    from ..graph import Graph

    if not isinstance(graph, Graph):
        raise InputError(f"graph must be a netexp Graph; got {type(graph).__name__}.")
    arrs, _ = align_units({"z": z}, order=graph.node_ids)
    codes, names = arm_codes(arrs["z"], arms)
    k = len(names)
    deg = np.asarray(graph.degree, dtype=float)
    counts = (graph.adjacency @ _onehot(codes, k)).toarray()
    shares = counts * np.divide(1.0, deg, out=np.zeros_like(deg), where=deg > 0)[:, None]
    out = pd.DataFrame({"arm": np.asarray(names, dtype=object)[codes], "degree": graph.degree},
                       index=pd.Index(graph.node_ids, name="node_id"))
    for a, name in enumerate(names):
        out[f"share[{name}]"] = shares[:, a]
    return out


def expected_arm_shares(graph: Any, design: Any) -> pd.DataFrame:
    r"""Expected share of in-neighbours in each arm under a k-arm design (exact).

    :math:`E[\text{share}_{ia}] = \frac{1}{d_i}\sum_{j \in N(i)} P(Z_j = a)` from the design's
    exact ``probabilities`` (linearity: any dependence between units is irrelevant). Use it to
    recentre k-arm exposures as in :func:`~netexp.recentred_exposure_regression`.

    Examples
    --------
    >>> import netexp as ne
    >>> g = ne.load_graph("karate")
    >>> mu = ne.expected_arm_shares(g, ne.MultiArmBernoulli(g.n_nodes, prob_each=(0.5, 0.3, 0.2)))
    >>> mu.iloc[0].round(3).tolist()
    [0.5, 0.3, 0.2]
    """
    from ..graph import Graph

    if not isinstance(graph, Graph):
        raise InputError(f"graph must be a netexp Graph; got {type(graph).__name__}.")
    if design.n_units != graph.n_nodes:
        raise InputError(f"design assigns {design.n_units} units but the graph has {graph.n_nodes} nodes.")
    deg = np.asarray(graph.degree, dtype=float)
    mu = (graph.adjacency @ design.probabilities) * np.divide(1.0, deg, out=np.zeros_like(deg), where=deg > 0)[:, None]
    return pd.DataFrame(mu, index=pd.Index(graph.node_ids, name="node_id"),
                        columns=[f"share[{a}]" for a in design.arms])
