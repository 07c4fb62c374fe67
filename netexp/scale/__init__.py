"""netexp beyond one machine: hashed assignment, exposure and estimation on DuckDB or Spark.

>>> import netexp as ne
>>> s = ne.scale.connect()                                   # embedded DuckDB
>>> import pandas as pd
>>> edges = s.edges(pd.DataFrame({"a": [1, 2, 3, 4, 5, 6], "b": [2, 3, 4, 5, 6, 1]}), source="a", target="b")
>>> units = s.units(pd.DataFrame({"id": [1, 2, 3, 4, 5, 6]}))
>>> z = s.assign(units, ne.scale.HashedDesign("exp-1", p=0.5))
>>> e = s.exposure(edges, z)
>>> e.to_pandas()[["id", "z", "n_treated_neighbors", "degree"]].astype(int).values.tolist()
[[1, 1, 2, 2], [2, 1, 2, 2], [3, 1, 1, 2], [4, 0, 1, 2], [5, 0, 1, 2], [6, 1, 1, 2]]

Requires ``duckdb`` and ``sqlglot`` (``pip install 'netexp-interference[scale]'``); ``pyspark`` and
Java 17 for Spark.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..designs._hashed import HashedAssignmentDesign, HashedDesign, hash_uniform
from ._engines import EngineError
from ._session import SCALE_ESTIMATORS, ScaleTable, Session, connect

__all__ = ["connect", "Session", "ScaleTable", "HashedDesign", "HashedAssignmentDesign", "hash_uniform",
           "EngineError", "SCALE_ESTIMATORS", "analyze_files", "one_hop_max_hashed"]


def one_hop_max_hashed(graph, salt: str):
    """In-memory twin of :meth:`Session.one_hop_max`: the cluster (a unit id) of every unit of ``graph``.

    Weights are the hashes of (salt, id), ties broken by the id's text; unit i joins the heaviest
    unit of its closed neighbourhood. Returns an array aligned with ``graph.node_ids``.
    """
    import numpy as np

    from ..designs._hashed import _id_strings, hash_integers

    ids = np.asarray(graph.node_ids)
    k = hash_integers(salt, ids)
    rank = np.empty(ids.shape[0], dtype=np.int64)
    rank[np.lexsort((np.array(_id_strings(ids), dtype=object), k))] = np.arange(ids.shape[0])
    A = graph.adjacency
    if graph.directed:
        A = (A + A.T).tocsr()
    indptr, indices = A.indptr, A.indices
    best = rank.copy()
    nz = np.diff(indptr) > 0
    if indices.size:
        m = np.maximum.reduceat(rank[indices], indptr[:-1][nz])
        best[nz] = np.maximum(best[nz], m)
    order = np.empty_like(rank)
    order[rank] = np.arange(ids.shape[0])
    return ids[order[best]]


def analyze_files(edges: Any, outcomes: Any, *, units: Any = None, assignment: Any = None,
                  design: HashedDesign | None = None, engine: Any = "duckdb", source: str = "source",
                  target: str = "target", id: str = "id", cluster: str | None = None, treatment: str = "z",
                  outcome: str = "y", mapping: Any = "fraction",
                  estimators: Sequence[str] = ("naive", "cluster", "regression"), confidence_level: float = 0.95,
                  **engine_config):
    """One call from files to estimates on an engine: what ``netexp analyze EDGES --engine duckdb|spark`` runs.

    Parameters
    ----------
    edges : path or glob of Parquet (or CSV) files with columns ``source``, ``target``
    outcomes : path with columns ``id``, ``outcome``
    units : path with ``id`` (and ``cluster``), required with ``design``
    assignment : path with ``id``, ``treatment`` (0/1) (and ``cluster``), when the assignment was made
        elsewhere; give ``design`` too for exact probabilities (HT/Hajek)
    design : HashedDesign
        Assign on the engine from ``units`` (when ``assignment`` is not given).
    engine : "duckdb" (default), "duckdb:PATH", "spark", a DuckDB connection or a SparkSession
    mapping : "fraction", ``ne.FullNeighborhood()`` (for ht/hajek) or ``ne.AronowSamii()``
    estimators : subset of ``netexp.scale.SCALE_ESTIMATORS``

    Returns
    -------
    EstimateTable
        The same estimates as the in-memory path on the same data.
    """
    from .._errors import InputError

    if assignment is None and design is None:
        raise InputError("analyze_files: give assignment= (a file with id and treatment columns) or design= "
                         "(a HashedDesign) with units=.")
    if assignment is None and units is None:
        raise InputError("analyze_files: design= assigns on the engine from units=; give units= (a file with "
                         "the id column and, for level='cluster', the cluster column).")
    with connect(engine, **engine_config) as s:   # drops its tables (and closes an engine it opened) at the end
        e = s.edges(edges, source=source, target=target)
        if assignment is not None:
            a = s.assignment(assignment, id=id, treatment=treatment, cluster=cluster, design=design)
        else:
            a = s.assign(s.units(units, id=id, cluster=cluster), design)
        x = s.exposure(e, a, mapping=mapping)
        return s.analyze(x, outcomes, id=id, outcome=outcome, estimators=estimators,
                         confidence_level=confidence_level)
