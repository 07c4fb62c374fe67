"""Every scaled result equals the in-memory netexp path: integers exactly, floats to 1e-12.

On a 10^4-unit social network with planted clusters (Parquet files), for embedded DuckDB and for
Spark in local mode (skipped with the reason when pyspark or Java is absent).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import netexp as ne
from netexp import scale

from ._data import make_case, outcomes

DESIGNS = {
    "unit-bernoulli": scale.HashedDesign("exp-scale-unit", p=0.5),
    "cluster-bernoulli": scale.HashedDesign("exp-scale-cluster", p=0.5, level="cluster"),
    "cluster-complete": scale.HashedDesign("exp-scale-cc", p=0.4, level="cluster", method="complete"),
    "unit-complete": scale.HashedDesign("exp-scale-uc", p=0.3, method="complete"),
}
TOL = dict(rtol=1e-12, atol=1e-12)
pytestmark = [pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    return make_case(tmp_path_factory.mktemp("scale"))


@pytest.fixture(scope="module")
def engines(request, case):
    """engine name -> (session, edges, units), opened once per module."""
    cache = {}

    def get(name):
        if name not in cache:
            s = scale.connect() if name == "duckdb" else scale.connect(request.getfixturevalue("spark"))
            cache[name] = (s, s.edges(case.edges_path, source="src", target="dst"),
                           s.units(case.units_path, id="user_id", cluster="cluster_id"))
        return cache[name]

    return get


# Spark pays ~0.5 s per query on 2 cores: the default run covers each step once on Spark (hashing by
# threshold and by rank, exposure, levels and probabilities, the aggregated regressions); the full
# grid, Horvitz-Thompson and Hajek pair joins included, runs with -m slow.
SPARK_SLOW = pytest.param("spark", marks=pytest.mark.slow)


_memo: dict = {}


def memory(case, key):
    """In-memory results for one design (computed once for both engines)."""
    if key in _memo:
        return _memo[key]
    d = DESIGNS[key]
    bound = d.bind(case.ids, case.clusters)
    z = bound.assignment
    r = {"bound": bound, "z": z, "expo": ne.exposure(case.graph, z), "y": outcomes(case, z)}
    _memo[key] = r
    return r


def by_id(df, case):
    return df.set_index("id").loc[case.ids]


@pytest.mark.parametrize("engine,key", [("duckdb", k) for k in DESIGNS] + [
                                          pytest.param("spark", "cluster-bernoulli", marks=pytest.mark.slow),
                                          pytest.param("spark", "unit-complete", marks=pytest.mark.slow),
                                          pytest.param("spark", "unit-bernoulli", marks=pytest.mark.slow),
                                          pytest.param("spark", "cluster-complete", marks=pytest.mark.slow)])
def test_assignment_same_salt_same_arm(engines, case, engine, key):
    session, *tables = engines(engine)
    m = memory(case, key)
    assert np.array_equal(m["z"], DESIGNS[key].assign(case.ids, case.clusters))
    got = by_id(session.assign(tables[1], DESIGNS[key]).to_pandas(), case)
    assert np.array_equal(got["z"].to_numpy().astype(bool), m["z"])


@pytest.mark.parametrize("engine,key", [("duckdb", "unit-bernoulli"), ("duckdb", "cluster-bernoulli"),
                                        pytest.param("spark", "cluster-bernoulli", marks=pytest.mark.slow),
                                        pytest.param("spark", "unit-bernoulli", marks=pytest.mark.slow)])
def test_exposure_counts_and_fractions(engines, case, engine, key):
    session, *tables = engines(engine)
    m = memory(case, key)
    a = session.assign(tables[1], DESIGNS[key])
    got = by_id(session.exposure(tables[0], a).to_pandas(), case)
    e = m["expo"]
    assert np.array_equal(got["n_treated_neighbors"].to_numpy().astype(np.int64), e.n_treated_neighbors)
    assert np.array_equal(got["degree"].to_numpy().astype(np.int64), e.degree)
    assert np.array_equal(got["isolated"].to_numpy().astype(bool), e.isolated)
    np.testing.assert_allclose(got["fraction"].to_numpy(float), e.fraction, **TOL)


@pytest.mark.parametrize("key", ["unit-bernoulli", "cluster-bernoulli"])
@pytest.mark.parametrize("mapping", [ne.FullNeighborhood(), ne.AronowSamii()], ids=["full", "as4"])
@pytest.mark.parametrize("engine", ["duckdb", SPARK_SLOW])
def test_levels_and_exact_probabilities(engines, case, engine, key, mapping):
    session, *tables = engines(engine)
    m = memory(case, key)
    a = session.assign(tables[1], DESIGNS[key])
    got = by_id(session.exposure(tables[0], a, mapping=mapping).to_pandas(), case)
    assert np.array_equal(got["level"].to_numpy().astype(np.int64), mapping.map(case.graph, m["z"]))
    pr = ne.exposure_probabilities(case.graph, m["bound"], mapping, method="exact", joint=False)
    P = np.column_stack([got[f"p_{lv}"].to_numpy(float) for lv in mapping.levels])
    np.testing.assert_allclose(P, pr.marginal, **TOL)


def _same(a: ne.Estimate, b: ne.Estimate):
    assert (a.estimand, a.method, a.variance, a.n, a.n_clusters) == (b.estimand, b.method, b.variance, b.n,
                                                                     b.n_clusters)
    np.testing.assert_allclose([a.estimate, a.std_error, *a.ci], [b.estimate, b.std_error, *b.ci], **TOL)
    np.testing.assert_allclose(a.p_value, b.p_value, rtol=1e-9, atol=1e-12)
    if b.df is None:
        assert a.df is None
    else:
        np.testing.assert_allclose(a.df, b.df, rtol=1e-10)


def _in_memory(case, key, m, ht=True):
    z, y, e = m["z"], m["y"], m["expo"]
    out = [ne.difference_in_means(y, z, estimand="global effect")]
    if key.startswith("cluster"):
        out += [ne.cluster_difference_in_means(y, z, case.clusters), ne.cluster_ols(y, z, case.clusters)]
        out += list(ne.exposure_regression(y, z, e.fraction, clusters=case.clusters, isolated=e.isolated))
    else:
        out += list(ne.exposure_regression(y, z, e.fraction, isolated=e.isolated))
    if not ht:
        return out
    fn = ne.FullNeighborhood()
    pr = ne.exposure_probabilities(case.graph, m["bound"], fn, method="exact")
    levels = fn.map(case.graph, z)
    for f in (ne.horvitz_thompson, ne.hajek):
        out += list(f(y, levels, pr, contrasts=[("treated", "control")]))
    return out


@pytest.mark.parametrize("key", ["unit-bernoulli", "cluster-bernoulli"])
@pytest.mark.parametrize("engine", ["duckdb", SPARK_SLOW])
def test_estimates_and_standard_errors(engines, case, engine, key):
    session, *tables = engines(engine)
    m = memory(case, key)
    a = session.assign(tables[1], DESIGNS[key])
    x = session.exposure(tables[0], a, mapping=ne.FullNeighborhood())
    y = pd.DataFrame({"user_id": case.ids, "outcome": m["y"]})
    est = ["naive", "cluster", "regression", "ht", "hajek"] if key.startswith("cluster") else \
        ["naive", "regression", "ht", "hajek"]
    got = session.analyze(x, y, id="user_id", outcome="outcome", estimators=est)
    want = _in_memory(case, key, m)
    assert isinstance(got, ne.EstimateTable) and len(got) == len(want)
    for a_, b_ in zip(got, want):
        _same(a_, b_)


def test_spark_levels_probabilities_and_regressions(engines, case):
    """The default Spark check, one pass: hash, counts, levels, exact probabilities, aggregated OLS."""
    session, edges, units = engines("spark")
    key = "cluster-bernoulli"
    m = memory(case, key)
    fn = ne.FullNeighborhood()
    x = session.exposure(edges, session.assign(units, DESIGNS[key]), mapping=fn)
    got = by_id(x.to_pandas(), case)
    assert np.array_equal(got["z"].to_numpy().astype(bool), m["z"])
    e = m["expo"]
    assert np.array_equal(got["n_treated_neighbors"].to_numpy().astype(np.int64), e.n_treated_neighbors)
    assert np.array_equal(got["degree"].to_numpy().astype(np.int64), e.degree)
    np.testing.assert_allclose(got["fraction"].to_numpy(float), e.fraction, **TOL)
    assert np.array_equal(got["level"].to_numpy().astype(np.int64), fn.map(case.graph, m["z"]))
    pr = ne.exposure_probabilities(case.graph, m["bound"], fn, method="exact", joint=False)
    P = np.column_stack([got[f"p_{lv}"].to_numpy(float) for lv in fn.levels])
    np.testing.assert_allclose(P, pr.marginal, **TOL)
    y = pd.DataFrame({"user_id": case.ids, "outcome": m["y"]})
    res = session.analyze(x, y, id="user_id", outcome="outcome", estimators=["naive", "regression"])
    want = _in_memory(case, key, m, ht=False)
    for a_, b_ in zip(res, [want[0], *want[3:]]):   # without the cluster-level pair (on Spark with -m slow)
        _same(a_, b_)


def test_analyze_files_equals_the_steps(engines, case, tmp_path):
    """What `netexp analyze EDGES.parquet --engine duckdb` calls: files in, the same EstimateTable out."""
    key = "cluster-bernoulli"
    m = memory(case, key)
    out = tmp_path / "y.parquet"
    pd.DataFrame({"user_id": case.ids, "y": m["y"]}).to_parquet(out)
    got = scale.analyze_files(case.edges_path, str(out), units=case.units_path, design=DESIGNS[key],
                              source="src", target="dst", id="user_id", cluster="cluster_id")
    for a_, b_ in zip(got, _in_memory(case, key, m, ht=False)):
        _same(a_, b_)
    # an assignment made elsewhere, as a file
    ap = tmp_path / "assignment.parquet"
    pd.DataFrame({"user_id": case.ids, "cluster_id": case.clusters, "z": m["z"].astype(int)}).to_parquet(ap)
    got2 = scale.analyze_files(case.edges_path, str(out), assignment=str(ap), source="src", target="dst",
                               id="user_id", cluster="cluster_id")
    for a_, b_ in zip(got2, got):
        _same(a_, b_)


@pytest.mark.parametrize("engine", ["duckdb", SPARK_SLOW])
def test_one_hop_max_as_a_join(engines, case, engine):
    """Hashed 1-hop-max on the engine equals the in-memory twin."""
    session, edges, units = engines(engine)
    want = scale.one_hop_max_hashed(case.graph, "ohm-1")
    got = by_id(session.one_hop_max(edges, units, salt="ohm-1").to_pandas(), case)
    assert np.array_equal(got["cluster"].to_numpy(), want)
    # every unit's cluster is itself or a neighbour
    pos = case.graph.index_of(want)
    A = case.graph.adjacency
    assert all(p == i or A[i, p] for i, p in enumerate(pos[:500]))
