"""A 10^4-unit social network with planted clusters, written to Parquet, and its in-memory twin."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd


@dataclasses.dataclass
class Case:
    graph: object          # netexp Graph, units in the order of ids
    ids: np.ndarray        # unit ids (int64, not 0..n-1)
    clusters: np.ndarray   # cluster id per unit (int64)
    edges_path: str
    units_path: str
    edges: pd.DataFrame
    units: pd.DataFrame


def make_case(tmpdir, n: int = 10_000, seed: int = 0) -> Case:
    import netexp as ne

    g0, labels = ne.social_network(n, mean_degree=8.0, mixing=0.15, community_size=(20, 80), rng=seed,
                                   return_labels=True)
    rng = np.random.default_rng(seed + 1)
    ids0 = rng.permutation(np.arange(n, dtype=np.int64) * 7 + 1_000_003)   # ids are not positions
    u, v = g0.edges()
    su, sv = ids0[u], ids0[v]
    flip = rng.random(su.shape[0]) < 0.5                                     # edges listed in both orientations
    su, sv = np.where(flip, sv, su), np.where(flip, su, sv)
    isolated = np.array([5, 12, 19], dtype=np.int64)                         # units no edge names
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ne.GraphWarning)
        g = ne.Graph.from_edges(su, sv, nodes=np.r_[ids0, isolated])
    ids = np.asarray(g.node_ids).astype(np.int64)
    cl_of = dict(zip(ids0.tolist(), (np.asarray(labels) * 3 + 11).tolist()))
    cl_of.update({int(i): 10_000_000 + k for k, i in enumerate(isolated)})
    clusters = np.array([cl_of[int(i)] for i in ids], dtype=np.int64)
    edges = pd.DataFrame({"src": su, "dst": sv})
    units = pd.DataFrame({"user_id": ids[::-1], "cluster_id": clusters[::-1]})   # another order than the graph's
    ep, up = str(tmpdir / "edges.parquet"), str(tmpdir / "units.parquet")
    edges.to_parquet(ep, index=False)
    units.to_parquet(up, index=False)
    return Case(g, ids, clusters, ep, up, edges, units)


def outcomes(case: Case, z: np.ndarray, seed: int = 3) -> np.ndarray:
    import netexp as ne

    f = ne.exposure(case.graph, z).fraction
    rng = np.random.default_rng(seed)
    return 0.05 + 0.2 * z + 0.1 * f + rng.normal(0, 0.1, z.shape[0])
