"""netexp on an engine: edges, units, hashed assignment, exposure and estimates as joins and group-bys.

Every query is written once (DuckDB's SQL, compiled for the engine by SQLGlot, see ``_sql.py``).
Tables stay in the engine; Python receives only per-arm, per-level or per-cluster aggregates, and the
small solves and sandwiches are the in-memory code's (``_stats.py``), so results equal the in-memory
path to rounding.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .._errors import EstimationError, ExposureError, InputError
from .._validation import check_confidence_level
from ..designs._hashed import HashedDesign
from ..estimators._result import Estimate, EstimateTable, welch_df
from ..exposure._mappings import AronowSamii, ExposureMapping, FractionalExposure, FullNeighborhood, get_mapping
from ._engines import EngineError, make_engine, type_kind
from ._sql import double
from ._stats import fit_cr, fit_hc, solve_blocks

__all__ = ["connect", "Session", "ScaleTable", "SCALE_ESTIMATORS"]

SCALE_ESTIMATORS = ("naive", "cluster", "regression", "ht", "hajek")
_counter = itertools.count()


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


@dataclasses.dataclass(frozen=True, eq=False)
class ScaleTable:
    """A table that lives in the engine (edges, units, assignment or exposure).

    ``kind`` says which; ``meta`` carries what later steps need (id type, design, mapping).
    ``to_pandas()`` fetches it (for tests and small tables only).
    """

    session: "Session"
    name: str
    kind: str
    meta: dict

    def to_pandas(self, order_by: str | None = "id") -> pd.DataFrame:
        q = f"SELECT * FROM {self.name}" + (f" ORDER BY {order_by}" if order_by else "")
        return self.session._engine.fetch(q)

    def count(self) -> int:
        return int(self.session._engine.fetch(f"SELECT COUNT(*) AS n FROM {self.name}")["n"].iloc[0])

    def __repr__(self) -> str:
        return f"ScaleTable({self.kind}, engine={self.session.engine!r}, name={self.name!r})"


def connect(engine: Any = None, **config) -> "Session":
    """Open netexp on an engine.

    Parameters
    ----------
    engine : None, "duckdb", "duckdb:PATH", "spark", a DuckDB connection or a SparkSession
        ``None`` (default): embedded DuckDB in memory, no server; it works out of core (set
        ``temp_directory=`` and ``memory_limit=`` to bound memory). ``"spark"`` starts a local
        ``local[2]`` session; pass your own ``SparkSession`` for a cluster.
    **config
        DuckDB settings (``memory_limit="8GB"``, ``threads=2``, ``temp_directory=...``).

    Raises
    ------
    EngineError
        When the engine cannot be reached (a stopped Spark session, an unwritable database path).
    """
    owned = engine is None or isinstance(engine, str)
    return Session(make_engine(engine, **config), owned=owned)


class Session:
    """netexp's steps on one engine. Create with :func:`connect`."""

    def __init__(self, engine, *, owned: bool = False):
        self._engine = engine
        self._owned = owned
        self._names: list[str] = []

    def close(self) -> None:
        """Drop every table and view this session made; close the engine if :func:`connect` opened it."""
        for n in reversed(self._names):
            self._engine.drop(n)
        self._names.clear()
        if self._owned:
            self._engine.close()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def engine(self) -> str:
        return self._engine.name

    def __repr__(self) -> str:
        return f"Session(engine={self.engine!r})"

    # ------------------------------------------------------------------ helpers
    def _name(self, kind: str) -> str:
        name = f"netexp_{kind}_{next(_counter)}"
        self._names.append(name)
        return name

    def _register(self, src, what: str, needed: dict[str, str | None]) -> tuple[str, dict[str, str]]:
        """Register ``src`` as a raw view and check the columns ``needed`` (param -> column)."""
        raw = self._name(what + "_raw")
        self._engine.register(raw, src)
        try:
            cols = self._engine.columns(raw)
            lower = {c.lower(): c for c in cols}
            kinds = {}
            for param, col in needed.items():
                if col is None:
                    continue
                if col not in cols:
                    hint = f" (did you mean {lower[col.lower()]!r}?)" if col.lower() in lower else ""
                    raise InputError(f"{what}: column {col!r} (given as {param}=) is not in the table{hint}; "
                                     f"its columns are {list(cols)}. Pass {param}='<column name>'.")
                kinds[param] = type_kind(cols[col])
        except Exception:
            self._engine.drop(raw)
            raise
        return raw, kinds

    def _cleanup_on_error(self, names, fn):
        try:
            return fn()
        except Exception:
            for n in names:
                self._engine.drop(n)
            raise

    def _scalar_row(self, sql: str) -> dict:
        df = self._engine.fetch(sql)
        return {k: (None if pd.isna(v) else v) for k, v in df.iloc[0].to_dict().items()}

    # ------------------------------------------------------------------ inputs
    def edges(self, data: Any, *, source: str = "source", target: str = "target", validate: bool = True
              ) -> ScaleTable:
        """An undirected edge table in the engine (never loaded into Python).

        Parameters
        ----------
        data : path or glob of Parquet/CSV files, pandas DataFrame, engine table name or DataFrame
        source, target : str
            Column names of the two endpoints (integer or string ids, the same type in both).
        validate : bool, default True
            Refuse self-loops, repeated edges (in either direction) and missing ids, with their
            counts (one aggregation over the table).
        """
        raw, kinds = self._register(data, "edges", {"source": source, "target": target})
        name = self._name("edges")

        def build():
            ks = {kinds["source"], kinds["target"]}
            if len(ks) != 1 or ks - {"int", "string"}:
                raise InputError(f"edges: source and target ids must both be integers or both strings; got "
                                 f"{kinds['source']} ({source!r}) and {kinds['target']} ({target!r}). Cast one column.")
            if validate:
                r = self._scalar_row(
                    f"SELECT COUNT(*) AS n, SUM(CASE WHEN {source} = {target} THEN 1 ELSE 0 END) AS loops, "
                    f"SUM(CASE WHEN {source} IS NULL OR {target} IS NULL THEN 1 ELSE 0 END) AS nulls FROM {raw}")
                n, loops, nulls = int(r["n"]), int(r["loops"] or 0), int(r["nulls"] or 0)
                if not (loops or nulls):
                    r["pairs"] = self._scalar_row(
                        f"SELECT COUNT(*) AS pairs FROM (SELECT DISTINCT LEAST({source}, {target}) AS a, "
                        f"GREATEST({source}, {target}) AS b FROM {raw}) AS t")["pairs"]
                if nulls:
                    raise InputError(f"edges: {nulls} rows have a missing {source!r} or {target!r}; drop them first.")
                if loops:
                    raise InputError(f"edges: {loops} self-loops ({source} = {target}); a unit is not its own "
                                     "neighbour. Filter them out (WHERE source <> target) before passing the table.")
                dups = n - int(r["pairs"])
                if dups:
                    raise InputError(f"edges: {dups} repeated edges (the same pair listed twice, in either direction)"
                                     "; the table must list each undirected edge once. Deduplicate it first "
                                     "(SELECT DISTINCT LEAST(a, b), GREATEST(a, b)).")
            self._engine.create_view(name, f"SELECT {source} AS src, {target} AS dst FROM {raw}")
            return ScaleTable(self, name, "edges", {"id_kind": kinds["source"], "raw": raw})

        return self._cleanup_on_error([raw, name], build)

    def units(self, data: Any, *, id: str = "id", cluster: str | None = None) -> ScaleTable:
        """The units (one row each) and optionally their cluster ids (made offline)."""
        raw, kinds = self._register(data, "units", {"id": id, "cluster": cluster})
        name = self._name("units")

        def build():
            if kinds["id"] not in ("int", "string"):
                raise InputError(f"units: id column {id!r} must hold integers or strings; got {kinds['id']}.")
            if cluster is not None and kinds["cluster"] not in ("int", "string"):
                raise InputError(f"units: cluster column {cluster!r} must hold integers or strings; got "
                                 f"{kinds['cluster']}.")
            r = self._scalar_row(f"SELECT COUNT(*) AS n, COUNT(DISTINCT {id}) AS d, "
                                 f"SUM(CASE WHEN {id} IS NULL THEN 1 ELSE 0 END) AS nulls"
                                 + (f", SUM(CASE WHEN {cluster} IS NULL THEN 1 ELSE 0 END) AS cnulls"
                                    if cluster else "") + f" FROM {raw}")
            if int(r["nulls"] or 0):
                raise InputError(f"units: {int(r['nulls'])} rows have no {id!r}.")
            if cluster and int(r["cnulls"] or 0):
                raise InputError(f"units: {int(r['cnulls'])} units have no cluster ({cluster!r}); give every unit one.")
            if int(r["n"]) != int(r["d"]):
                raise InputError(f"units: {int(r['n']) - int(r['d'])} repeated ids in {id!r}; one row per unit.")
            cl = f"{cluster} AS cluster" if cluster else "CAST(NULL AS BIGINT) AS cluster"
            self._engine.create_view(name, f"SELECT {id} AS id, {cl} FROM {raw}")
            return ScaleTable(self, name, "units", {"id_kind": kinds["id"], "has_cluster": cluster is not None,
                                                   "n": int(r["n"]), "raw": raw})

        return self._cleanup_on_error([raw, name], build)

    # ------------------------------------------------------------------ assignment
    def assign(self, units: ScaleTable, design: HashedDesign) -> ScaleTable:
        """The hashed assignment of every unit: columns ``id, cluster, z`` (0/1).

        Identical to ``design.assign(ids, clusters)`` in numpy (same salt + id -> same arm).
        """
        _check_table(units, "units", "assign")
        if not isinstance(design, HashedDesign):
            raise InputError(f"assign: design must be a netexp.scale.HashedDesign (a pure function of salt and id, "
                             f"so that every engine computes it); got {type(design).__name__}.")
        if design.level == "cluster" and not units.meta["has_cluster"]:
            raise InputError("assign: HashedDesign(level='cluster') needs units(..., cluster='<column>').")
        key = "id" if design.level == "unit" else "cluster"
        h = f"netexp_hash52({_lit(design.salt + ':')} || CAST({key} AS VARCHAR))"
        name = self._name("assignment")
        if design.method == "bernoulli":
            sql = f"SELECT id, cluster, CASE WHEN {h} < {design.threshold} THEN 1 ELSE 0 END AS z FROM {units.name}"
        else:
            src = units.name if key == "id" else f"(SELECT DISTINCT cluster FROM {units.name}) AS c"
            n_r = int(self._engine.fetch(f"SELECT COUNT(*) AS n FROM {src}")["n"].iloc[0])
            k = design.count_treated(n_r)
            ranked = (f"SELECT {key} AS r, ROW_NUMBER() OVER (ORDER BY {h}, CAST({key} AS VARCHAR)) AS rk "
                      f"FROM {src}")
            sql = (f"SELECT u.id, u.cluster, CASE WHEN t.rk <= {k} THEN 1 ELSE 0 END AS z FROM {units.name} AS u "
                   f"JOIN ({ranked}) AS t ON u.{key} = t.r")
        self._cleanup_on_error([name], lambda: self._engine.create(name, sql))
        return ScaleTable(self, name, "assignment", {**units.meta, "design": design})

    def assignment(self, data: Any, *, id: str = "id", treatment: str = "z", cluster: str | None = None,
                   design: HashedDesign | None = None) -> ScaleTable:
        """An assignment made elsewhere (columns id, 0/1 treatment, optional cluster).

        Give the ``design`` it was drawn from to get exposure probabilities (and HT/Hajek).
        """
        raw, kinds = self._register(data, "assignment", {"id": id, "treatment": treatment, "cluster": cluster})
        name = self._name("assignment")

        def build():
            if kinds["treatment"] not in ("int", "bool"):
                raise InputError(f"assignment: {treatment!r} must be 0/1 or boolean; got {kinds['treatment']}.")
            bad = self._scalar_row(f"SELECT SUM(CASE WHEN CAST({treatment} AS INTEGER) IN (0, 1) THEN 0 ELSE 1 END)"
                                   f" AS bad, COUNT(*) AS n, COUNT(DISTINCT {id}) AS d FROM {raw}")
            if int(bad["bad"] or 0):
                raise InputError(f"assignment: {int(bad['bad'])} rows of {treatment!r} are not 0 or 1.")
            if int(bad["n"]) != int(bad["d"]):
                raise InputError(f"assignment: {int(bad['n']) - int(bad['d'])} repeated ids in {id!r}.")
            if design is not None:
                if not isinstance(design, HashedDesign):
                    raise InputError(f"assignment: design must be a HashedDesign; got {type(design).__name__}.")
                if design.level == "cluster" and cluster is None:
                    raise InputError("assignment: a cluster-level design needs cluster='<column>'.")
                if design.method == "bernoulli":   # the probabilities are only right for the design that drew it
                    key = id if design.level == "unit" else cluster
                    h = f"netexp_hash52({_lit(design.salt + ':')} || CAST({key} AS VARCHAR))"
                    diff = self._scalar_row(f"SELECT SUM(CASE WHEN CAST({treatment} AS INTEGER) = CASE WHEN {h} < "
                                            f"{design.threshold} THEN 1 ELSE 0 END THEN 0 ELSE 1 END) AS k FROM {raw}")
                    if int(diff["k"] or 0):
                        raise InputError(f"assignment: {int(diff['k'])} units' treatment differs from {design!r}; "
                                         "this assignment was not drawn by that design (wrong salt, p or level?).")
            cl = f"{cluster} AS cluster" if cluster else "CAST(NULL AS BIGINT) AS cluster"
            self._engine.create(name, f"SELECT {id} AS id, {cl}, CAST({treatment} AS INTEGER) AS z FROM {raw}")
            return ScaleTable(self, name, "assignment", {"id_kind": kinds["id"], "has_cluster": cluster is not None,
                                                        "n": int(bad["n"]), "design": design})

        return self._cleanup_on_error([raw, name], build)

    # ------------------------------------------------------------------ clusters
    def one_hop_max(self, edges: ScaleTable, units: ScaleTable, *, salt: str) -> ScaleTable:
        """Hashed 1-hop-max clustering (Ugander & Yin 2023) as one join: a units table with clusters.

        Every unit's weight is its hash (:func:`netexp.hash_uniform` of ``salt`` and its id; ties
        by the id's text); unit i joins the cluster named by the heaviest unit of its closed
        neighbourhood. Equals :func:`netexp.scale.one_hop_max_hashed` in memory.
        """
        _check_table(edges, "edges", "one_hop_max")
        _check_table(units, "units", "one_hop_max")
        if not isinstance(salt, str) or not salt:
            raise InputError(f"one_hop_max: salt must be a non-empty string; got {salt!r}.")
        if edges.meta["id_kind"] != units.meta["id_kind"]:
            raise InputError(f"one_hop_max: edge endpoints are {edges.meta['id_kind']} ids but unit ids are "
                             f"{units.meta['id_kind']}; cast one side so they match.")
        e, u = edges.name, units.name
        w = (f"SELECT id, netexp_hash52({_lit(salt + ':')} || CAST(id AS VARCHAR)) AS h, CAST(id AS VARCHAR) AS t "
             f"FROM {u}")
        nb = f"SELECT src AS i, dst AS j FROM {e} UNION ALL SELECT dst AS i, src AS j FROM {e} UNION ALL " \
             f"SELECT id AS i, id AS j FROM {u}"
        ranked = (f"SELECT nb.i, w.id AS j, ROW_NUMBER() OVER (PARTITION BY nb.i ORDER BY w.h DESC, w.t DESC) AS rn "
                  f"FROM ({nb}) AS nb JOIN ({w}) AS w ON nb.j = w.id")
        name = self._name("units")
        self._cleanup_on_error([name], lambda: self._engine.create(
            name, f"SELECT i AS id, j AS cluster FROM ({ranked}) AS r WHERE rn = 1"))
        return ScaleTable(self, name, "units", {**units.meta, "has_cluster": True})

    # ------------------------------------------------------------------ exposure
    def exposure(self, edges: ScaleTable, assignment: ScaleTable, mapping: Any = "fraction") -> ScaleTable:
        """Own treatment, treated-neighbour count, degree, fraction and (for a mapping) levels and probabilities.

        Columns: ``id, cluster, z, n_treated_neighbors, degree, fraction, isolated`` and, with an
        :class:`~netexp.AronowSamii` or :class:`~netexp.FractionalExposure` /
        :class:`~netexp.FullNeighborhood` mapping, ``level`` (code into ``mapping.levels``) and,
        when the assignment came from a hashed Bernoulli design and a closed form exists
        (FullNeighborhood, AronowSamii; one hop), one exact probability column ``p_<level>`` per
        level and ``n_rand`` (randomization units in the closed neighbourhood).

        A join of the edge list (both directions) with the assignment, grouped by unit.
        """
        _check_table(edges, "edges", "exposure")
        _check_table(assignment, "assignment", "exposure")
        if edges.meta["id_kind"] != assignment.meta["id_kind"]:
            raise InputError(f"exposure: edge endpoints are {edges.meta['id_kind']} ids but unit ids are "
                             f"{assignment.meta['id_kind']}; cast one side so they match (same id type everywhere).")
        m = None if isinstance(mapping, str) and mapping == "fraction" else get_mapping(mapping)
        if m is not None and not isinstance(m, (AronowSamii, FractionalExposure)):
            raise InputError(f"exposure: mapping must be 'fraction', AronowSamii() or FractionalExposure(q) / "
                             f"FullNeighborhood() on an engine; got {m!r}. Other mappings run in memory.")
        if m is not None and m.hops != 1:
            raise InputError(f"exposure: only one-hop mappings run on an engine; got hops={m.hops}.")
        design = assignment.meta.get("design")
        a, e = assignment.name, edges.name
        missing = self._scalar_row(
            f"SELECT COUNT(*) AS n FROM (SELECT src AS v FROM {e} UNION ALL SELECT dst AS v FROM {e}) AS x "
            f"LEFT JOIN {a} AS t ON x.v = t.id WHERE t.id IS NULL")
        if int(missing["n"] or 0):
            raise InputError(f"exposure: {int(missing['n'])} edge endpoints are not among the units; every id in "
                             "the edge table must have a row in units (add them, or filter the edges).")
        adj = f"(SELECT src AS i, dst AS j FROM {e} UNION ALL SELECT dst AS i, src AS j FROM {e})"
        counts = (f"SELECT x.i, COUNT(*) AS deg, SUM(t.z) AS nt FROM {adj} AS x JOIN {a} AS t ON x.j = t.id "
                  "GROUP BY x.i")
        cols = ["u.id", "u.cluster", "u.z", "CAST(COALESCE(c.nt, 0) AS BIGINT) AS n_treated_neighbors", "CAST(COALESCE(c.deg, 0) AS BIGINT) AS degree",
                "CASE WHEN c.deg > 0 THEN CAST(c.nt AS DOUBLE) * (CAST(1 AS DOUBLE) / CAST(c.deg AS DOUBLE)) "
                "ELSE CAST(0 AS DOUBLE) END AS fraction",
                "CASE WHEN COALESCE(c.deg, 0) = 0 THEN 1 ELSE 0 END AS isolated"]
        joins = [f"LEFT JOIN ({counts}) AS c ON u.id = c.i"]
        nt, deg = "COALESCE(c.nt, 0)", "COALESCE(c.deg, 0)"
        if m is not None:
            if isinstance(m, AronowSamii):
                cols.append(f"2 * (1 - u.z) + CASE WHEN {nt} = 0 THEN 1 ELSE 0 END AS level")
            else:
                q = double(m.q)
                dd = f"CAST(CASE WHEN {deg} > 0 THEN {deg} ELSE 1 END AS DOUBLE)"
                cols.append(f"CASE WHEN u.z = 1 AND ({deg} = 0 OR CAST({nt} AS DOUBLE) / {dd} >= {q}) THEN 0 "
                            f"WHEN u.z = 0 AND ({deg} = 0 OR CAST({deg} - {nt} AS DOUBLE) / {dd} >= {q}) THEN 1 "
                            "ELSE 2 END AS level")
        exact = (m is not None and isinstance(design, HashedDesign) and design.method == "bernoulli"
                 and (isinstance(m, AronowSamii) or m.q == 1.0))
        if exact:
            p, qq = double(design.p), double(1.0 - design.p)
            if design.level == "unit":
                cols.append(f"{deg} + 1 AS n_rand")
                own, other = "0", deg  # own cluster neighbours; other randomization units among neighbours
            else:
                nb = (f"SELECT x.i, MAX(CASE WHEN t.cluster = s.cluster THEN 1 ELSE 0 END) AS own, "
                      f"COUNT(DISTINCT CASE WHEN t.cluster <> s.cluster THEN t.cluster END) AS other "
                      f"FROM {adj} AS x JOIN {a} AS t ON x.j = t.id JOIN {a} AS s ON x.i = s.id GROUP BY x.i")
                joins.append(f"LEFT JOIN ({nb}) AS r ON u.id = r.i")
                own, other = "COALESCE(r.own, 0)", "COALESCE(r.other, 0)"
                cols.append(f"{other} + 1 AS n_rand")
            if isinstance(m, AronowSamii):
                # P(no treated neighbour) = (1-p)^other when no neighbour shares the unit's cluster
                none_t = f"CASE WHEN {own} = 1 THEN CAST(0 AS DOUBLE) ELSE POWER({qq}, {other}) END"
                none_c = f"POWER({qq}, {other})"
                cols += [f"{p} * (CAST(1 AS DOUBLE) - {none_t}) AS p_direct_indirect",
                         f"{p} * {none_t} AS p_isolated_direct",
                         f"{qq} * (CAST(1 AS DOUBLE) - {none_c}) AS p_indirect",
                         f"{qq} * {none_c} AS p_no_exposure"]
            else:
                mm = f"({other} + 1)"
                cols += [f"POWER({p}, {mm}) AS p_treated", f"POWER({qq}, {mm}) AS p_control",
                         f"CAST(1 AS DOUBLE) - POWER({p}, {mm}) - POWER({qq}, {mm}) AS p_other"]
        sql = f"SELECT {', '.join(cols)} FROM {a} AS u " + " ".join(joins)
        name = self._name("exposure")
        self._cleanup_on_error([name], lambda: self._engine.create(name, sql))
        return ScaleTable(self, name, "exposure", {**assignment.meta, "mapping": m, "exact": exact,
                                                   "edges": edges})

    # ------------------------------------------------------------------ estimation
    def analyze(self, exposure: ScaleTable, outcomes: Any, *, id: str = "id", outcome: str = "y",
                estimators: Sequence[str] = ("naive", "cluster", "regression"), confidence_level: float = 0.95
                ) -> EstimateTable:
        """Estimates from an exposure table and outcomes, aggregated in the engine.

        Parameters
        ----------
        exposure : ScaleTable from :meth:`exposure`
        outcomes : path, DataFrame or table with columns ``id`` and ``outcome``
        estimators : subset of ``("naive", "cluster", "regression", "ht", "hajek")``
            ``naive``: difference in means (Neyman SE, Welch df). ``cluster``: cluster means
            difference and the CR2-clustered difference in means. ``regression``: exposure
            regression on own treatment and fraction of treated neighbours (CR2 over clusters when
            the assignment is constant within clusters, else HC1). ``ht`` / ``hajek``: the
            full-neighbourhood contrast Y(treated) - Y(control) with exact probabilities under a
            hashed Bernoulli design and the Aronow-Samii variance (pairs of units sharing a
            randomization unit enumerated by a self-join). Each equals the in-memory estimator
            (``difference_in_means``, ``cluster_difference_in_means``, ``cluster_ols``,
            ``exposure_regression``, ``horvitz_thompson``, ``hajek``) to rounding.

        Returns
        -------
        EstimateTable
        """
        _check_table(exposure, "exposure", "analyze")
        confidence_level = check_confidence_level(confidence_level)
        est = list(estimators)
        unknown = [x for x in est if x not in SCALE_ESTIMATORS]
        if unknown:
            raise InputError(f"analyze: estimators must be among {', '.join(SCALE_ESTIMATORS)}; got {unknown}. "
                             "Two-stage and Lin estimators run in memory.")
        raw, kinds = self._register(outcomes, "outcomes", {"id": id, "outcome": outcome})
        view = self._name("analysis")
        try:
            if kinds["id"] != exposure.meta["id_kind"]:
                raise InputError(f"analyze: outcome ids ({id!r}) are {kinds['id']} but unit ids are "
                                 f"{exposure.meta['id_kind']}; cast one side so they match.")
            if kinds["outcome"] not in ("int", "float"):
                raise InputError(f"analyze: outcome column {outcome!r} must be numeric; got {kinds['outcome']}.")
            r = self._scalar_row(f"SELECT COUNT(*) AS n, COUNT(DISTINCT {id}) AS d, SUM(CASE WHEN {outcome} IS NULL "
                                 f"OR isnan(CAST({outcome} AS DOUBLE)) OR ABS(CAST({outcome} AS DOUBLE)) = CAST('Infinity' AS DOUBLE) "
                                 f"THEN 1 ELSE 0 END) AS bad FROM {raw}")
            if int(r["bad"] or 0):
                raise InputError(f"analyze: {int(r['bad'])} outcomes are missing or not finite; drop those units.")
            if int(r["n"]) != int(r["d"]):
                raise InputError(f"analyze: {int(r['n']) - int(r['d'])} repeated ids in the outcomes.")
            self._engine.create(view, f"SELECT x.*, CAST(o.{outcome} AS DOUBLE) AS y FROM {exposure.name} AS x "
                                      f"JOIN {raw} AS o ON x.id = o.{id}")
            return EstimateTable(self._estimates(view, exposure, est, confidence_level))
        finally:
            self._engine.drop(view)
            self._engine.drop(raw)

    def _estimates(self, A: str, expo: ScaleTable, est, cl_level) -> list[Estimate]:
        arms = self._engine.fetch(f"SELECT z, COUNT(*) AS n, SUM(y) AS sy FROM {A} GROUP BY z")
        n_by = {int(z): int(n) for z, n in zip(arms["z"], arms["n"])}
        n1, n0 = n_by.get(1, 0), n_by.get(0, 0)
        if n1 < 2 or n0 < 2:
            raise EstimationError(f"Each arm needs at least 2 units with outcomes; got {n1} treated and {n0} control.")
        n = n1 + n0
        has_cl = bool(expo.meta.get("has_cluster"))
        cluster_constant = False
        if has_cl:
            mixed = int(self._engine.fetch(f"SELECT COUNT(*) AS k FROM (SELECT cluster FROM {A} GROUP BY cluster "
                                           "HAVING MIN(z) <> MAX(z)) AS t")["k"].iloc[0])
            cluster_constant = mixed == 0
        out: list[Estimate] = []
        for name in est:
            if name == "naive":
                out.append(self._naive(A, arms, cl_level))
            elif name == "cluster":
                if not has_cl:
                    raise InputError("analyze: estimators=['cluster'] needs units(..., cluster='<column>').")
                if not cluster_constant:
                    raise EstimationError("analyze: treatment varies within clusters; the cluster-level estimators "
                                          "need a cluster-randomized assignment.")
                out += self._cluster(A, n, cl_level)
            elif name == "regression":
                out += self._regression(A, n, cluster_constant, cl_level)
            else:
                out.append(self._ht(A, expo, name, cl_level))
        return out

    def _naive(self, A, arms, cl_level) -> Estimate:
        mean = {int(z): float(sy) / int(k) for z, k, sy in zip(arms["z"], arms["n"], arms["sy"])}
        ss = self._engine.fetch(f"SELECT z, SUM((y - CASE WHEN z = 1 THEN {double(mean[1])} ELSE {double(mean[0])} "
                                f"END) * (y - CASE WHEN z = 1 THEN {double(mean[1])} ELSE {double(mean[0])} END)) "
                                f"AS ss, COUNT(*) AS n FROM {A} GROUP BY z")
        d = {int(z): (float(s), int(k)) for z, s, k in zip(ss["z"], ss["ss"], ss["n"])}
        (s1, n1), (s0, n0) = d[1], d[0]
        v1, v0 = s1 / (n1 - 1), s0 / (n0 - 1)
        return Estimate.from_se(estimand="global effect", estimate=mean[1] - mean[0], std_error=np.sqrt(v1 / n1 + v0 / n0),
                                n=n1 + n0, method="difference in means", variance="Neyman (conservative)",
                                df=welch_df(v1, n1, v0, n0), confidence_level=cl_level,
                                note="ignores interference: under spillovers this is the average direct effect, "
                                     "not the global effect")

    def _cluster(self, A, n, cl_level) -> list[Estimate]:
        c = self._engine.fetch(f"SELECT cluster, COUNT(*) AS n, MAX(z) AS z, SUM(y) AS sy FROM {A} GROUP BY cluster "
                               "ORDER BY cluster")
        sizes, zc = c["n"].to_numpy(float), c["z"].to_numpy() > 0
        means = c["sy"].to_numpy(float) / sizes
        K = sizes.shape[0]
        k1, k0 = int(zc.sum()), int((~zc).sum())
        if k1 < 2 or k0 < 2:
            raise EstimationError(f"Need at least 2 treated and 2 control clusters; got {k1} and {k0}.")
        m1, m0 = means[zc], means[~zc]
        v1, v0 = m1.var(ddof=1), m0.var(ddof=1)
        e1 = Estimate.from_se(estimand="global effect", estimate=m1.mean() - m0.mean(),
                              std_error=np.sqrt(v1 / k1 + v0 / k0), n=n, n_clusters=K,
                              method="cluster means difference", variance="Neyman over clusters (conservative)",
                              df=welch_df(v1, k1, v0, k0), confidence_level=cl_level,
                              note="clusters weighted equally; biased toward the direct effect by edges cut "
                                   "between clusters")
        fit = self._ols(A, ["CAST(1 AS DOUBLE)", "CAST(z AS DOUBLE)"], n, "CR2", clustered=True)
        cvec = [0.0, 1.0]
        est, se = fit.contrast(cvec)
        e2 = Estimate.from_se(estimand="global effect", estimate=est, std_error=se, n=n, n_clusters=fit.n_clusters,
                              method="difference in means, clustered", variance="CR2 cluster-robust",
                              df=fit.contrast_df(cvec), confidence_level=cl_level,
                              note="units weighted equally; biased toward the direct effect by edges cut between "
                                   "clusters")
        return [e1, e2]

    def _regression(self, A, n, clustered, cl_level) -> list[Estimate]:
        from ..estimators._estimators import _EXPOSURE_NOTE

        r = self._scalar_row(f"SELECT MIN(fraction) AS lo, MAX(fraction) AS hi, SUM(isolated) AS iso FROM {A}")
        if float(r["lo"]) == float(r["hi"]):
            raise EstimationError("The fraction of treated neighbours is the same for every unit; the spillover "
                                  "coefficient is not identified. Use a design that varies neighbourhood exposure.")
        share = float(1.0 - int(r["iso"] or 0) / n)
        cov_type = "CR2" if clustered else "HC1"
        fit = self._ols(A, ["CAST(1 AS DOUBLE)", "CAST(z AS DOUBLE)", "fraction"], n, cov_type, clustered=clustered)
        out = []
        for name, c in (("direct effect", [0, 1, 0]), ("spillover effect", [0, 0, share]),
                        ("global effect", [0, 1, share])):
            c = np.asarray(c, dtype=float)
            est, se = fit.contrast(c)
            out.append(Estimate.from_se(estimand=name, estimate=est, std_error=se, n=fit.n, n_clusters=fit.n_clusters,
                                        method="exposure regression", variance=f"{cov_type} robust",
                                        df=fit.contrast_df(c), confidence_level=cl_level, note=_EXPOSURE_NOTE))
        return out

    def _ols(self, A, xs: list[str], n: int, cov_type: str, *, clustered: bool):
        k = len(xs)
        if n <= k:
            raise EstimationError(f"Need more observations than parameters: n={n}, k={k}.")
        pairs = [(a, b) for a in range(k) for b in range(a, k)]
        sel = [f"SUM({xs[a]} * {xs[b]}) AS b{a}_{b}" for a, b in pairs] + [f"SUM({xs[a]} * y) AS xy{a}" for a in range(k)]
        grp = "cluster" if clustered else "NULL"
        q = f"SELECT {grp} AS g, {', '.join(sel)} FROM {A}" + (" GROUP BY cluster ORDER BY cluster" if clustered else "")
        blk = self._engine.fetch(q)
        G = len(blk)
        B = np.zeros((G, k, k))
        for a, b in pairs:
            col = blk[f"b{a}_{b}"].to_numpy(float)
            B[:, a, b] = col
            B[:, b, a] = col
        Xy = np.stack([blk[f"xy{a}"].to_numpy(float) for a in range(k)], axis=1)
        M, beta = solve_blocks(B.sum(0), Xy.sum(0))
        resid = "(y - (" + " + ".join(f"{double(beta[a])} * {xs[a]}" for a in range(k)) + "))"
        if cov_type.startswith("HC"):
            sel = [f"SUM({xs[a]} * {xs[b]} * {resid} * {resid}) AS m{a}_{b}" for a, b in pairs]
            mt = self._engine.fetch(f"SELECT {', '.join(sel)} FROM {A}")
            meat = np.zeros((k, k))
            for a, b in pairs:
                meat[a, b] = meat[b, a] = float(mt[f"m{a}_{b}"].iloc[0])
            return fit_hc(M, beta, meat, n, cov_type)
        sel = [f"SUM({xs[a]} * {resid}) AS s{a}" for a in range(k)]
        sc = self._engine.fetch(f"SELECT cluster, {', '.join(sel)} FROM {A} GROUP BY cluster ORDER BY cluster")
        scores = np.stack([sc[f"s{a}"].to_numpy(float) for a in range(k)], axis=1)
        return fit_cr(M, beta, scores, B, n, cov_type)

    def _ht(self, A, expo: ScaleTable, kind: str, cl_level) -> Estimate:
        m, design = expo.meta.get("mapping"), expo.meta.get("design")
        if not (isinstance(m, FullNeighborhood) or (isinstance(m, FractionalExposure) and m.q == 1.0)) \
                or not expo.meta.get("exact"):
            raise InputError(f"analyze: estimators=['{kind}'] on an engine estimates Y(treated) - Y(control) under "
                             "FullNeighborhood() with a hashed Bernoulli design (exact probabilities p^m, pair "
                             "joints by a self-join); compute the exposure with mapping=ne.FullNeighborhood(). "
                             "Other mappings and designs: export the exposure table and use ne.horvitz_thompson.")
        pk = {0: design.p, 1: 1.0 - design.p}
        w = "(CAST(1 AS DOUBLE) / CASE WHEN level = 0 THEN p_treated WHEN level = 1 THEN p_control ELSE p_other END)"
        lv = self._engine.fetch(f"SELECT level, SUM({w} * y) AS tot, SUM({w}) AS ws, COUNT(*) AS k FROM {A} GROUP BY level")
        tot, wsum = np.zeros(3), np.zeros(3)
        for L, t, s in zip(lv["level"], lv["tot"], lv["ws"]):
            tot[int(L)], wsum[int(L)] = float(t), float(s)
        N = int(lv["k"].sum())
        if N != expo.meta.get("n", N) and expo.meta.get("n") is not None:
            raise EstimationError(f"analyze: {expo.meta['n'] - N} units have no outcome; {kind} averages over every "
                                  "unit, so give each one an outcome (or estimate in memory with units=).")
        if kind == "hajek":
            mu = np.divide(tot, wsum, out=np.zeros(3), where=wsum > 0)
            yv = f"(y - CASE WHEN level = 0 THEN {double(mu[0])} WHEN level = 1 THEN {double(mu[1])} ELSE " \
                 f"{double(mu[2])} END)"
        else:
            yv = "y"
        # randomization units in each unit's closed neighbourhood: units (unit level) or clusters
        e = expo.meta["edges"].name
        rcol = "id" if design.level == "unit" else "cluster"
        nb = (f"SELECT DISTINCT i, r FROM (SELECT x.i, t.{rcol} AS r FROM (SELECT src AS i, dst AS j FROM {e} UNION "
              f"ALL SELECT dst AS i, src AS j FROM {e}) AS x JOIN {A} AS t ON x.j = t.id UNION ALL "
              f"SELECT id AS i, {rcol} AS r FROM {A}) AS q")
        uexpr = f"{yv} * {w}"
        NB = self._name("nb")
        self._engine.create(NB, nb)
        try:
            obs = f"SELECT id, level, {uexpr} AS u, {yv} * {yv} * {w} AS y2p, " \
                  f"(CAST(1 AS DOUBLE) - CASE WHEN level = 0 THEN p_treated ELSE p_control END) * {uexpr} * {uexpr} " \
                  f"AS dg FROM {A} WHERE level IN (0, 1)"
            # same-level pairs sharing s randomization units: (pi_ij - pi_i pi_j) / pi_ij = 1 - p_k^s
            pair_sql = (f"SELECT a.level, SUM((CAST(1 AS DOUBLE) - POWER(CASE WHEN a.level = 0 THEN {double(pk[0])} "
                        f"ELSE {double(pk[1])} END, p.s)) * a.u * b.u) AS S FROM (SELECT x.i, y.i AS j, COUNT(*) AS s "
                        f"FROM {NB} AS x JOIN {NB} AS y ON x.r = y.r JOIN ({obs}) AS ox ON x.i = ox.id "
                        f"JOIN ({obs}) AS oy ON y.i = oy.id WHERE x.i <> y.i AND ox.level = oy.level "
                        f"GROUP BY x.i, y.i) AS p JOIN ({obs}) AS a ON p.i = a.id JOIN ({obs}) AS b ON p.j = b.id "
                        "GROUP BY a.level")
            S = {int(L): float(s) for L, s in zip(*self._engine.fetch(pair_sql)[["level", "S"]].T.values)}
            # partners with zero joint probability of (treated, control): units sharing a randomization unit,
            # the unit itself included
            zc_sql = (f"SELECT o.level, SUM(o.y2p * c.nz) AS Y, SUM(o.dg) AS D FROM ({obs}) AS o JOIN "
                      f"(SELECT x.i, COUNT(DISTINCT y.i) AS nz FROM {NB} AS x JOIN {NB} AS y ON x.r = y.r "
                      f"GROUP BY x.i) AS c ON o.id = c.i GROUP BY o.level")
            zc = self._engine.fetch(zc_sql)
        finally:
            self._engine.drop(NB)
        Y = {int(L): float(v) for L, v in zip(zc["level"], zc["Y"])}
        D = {int(L): float(v) for L, v in zip(zc["level"], zc["D"])}
        var_t = {k: S.get(k, 0.0) + D.get(k, 0.0) for k in (0, 1)}
        cov = -0.5 * Y.get(0, 0.0) - 0.5 * Y.get(1, 0.0)
        from ..estimators._horvitz_thompson import _contrast_estimate, _contrast_point

        est = _contrast_point(kind, 0, 1, tot, wsum, N)
        v = (var_t[0] + var_t[1] - 2 * cov) / N**2 if np.isfinite(est) else float("nan")
        label = ("Aronow-Samii (conservative: Young's-inequality bound for pairs with zero joint probability)"
                 + (", linearized" if kind == "hajek" else ""))
        return _contrast_estimate(kind, ("treated", "control", "other"), 0, 1, est, v, N, label, cl_level)


def _check_table(t, kind, where):
    if not isinstance(t, ScaleTable) or t.kind != kind:
        got = t.kind if isinstance(t, ScaleTable) else type(t).__name__
        raise InputError(f"{where}: expected the {kind} table (from Session.{kind}(...)); got {got}.")
