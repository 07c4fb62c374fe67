"""``Experiment``: the graph, the design and the data of one experiment, kept together.

Analysing an experiment correctly needs three things that are easy to separate by accident: the
per-unit data must be aligned to the right units, the standard errors must follow how the design
randomized (clusters, two stages), and design-based estimators need the design's exact
probabilities. An :class:`Experiment` holds them together so that :meth:`Experiment.analyze` can
choose the valid estimators and covariances itself and say, row by row, why.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ._align import align_to_ids, is_pandas
from ._errors import DesignError, InputError

__all__ = ["Experiment", "AnalysisResult", "randomization_of"]

FORMAT = "netexp.experiment/1"


# ----------------------------------------------------------------------------- design facts
def randomization_of(design) -> tuple[str, np.ndarray | None, str]:
    """How ``design`` randomized: ``(kind, cluster labels or None, description)``.

    ``kind`` is ``"unit"`` (units drawn individually), ``"cluster"`` (whole clusters share a
    draw), ``"two-stage"`` (clusters draw a saturation, then units within them) or
    ``"redrawn-clusters"`` (the clustering itself is random: no fixed clusters to cluster on).
    Standard errors of unit-level regressions must be clustered by the labels returned for every
    kind but ``"unit"``.
    """
    from .designs import ClusterRandomized, EgoClusterDesign, MixedInterferenceDesign, RandomizedSaturation
    from .designs._randomized_clusters import RandomizedGraphCluster

    if isinstance(design, RandomizedSaturation):
        return "two-stage", np.asarray(design.labels), f"two-stage: saturations over {design.n_clusters} groups"
    if isinstance(design, ClusterRandomized):
        return "cluster", np.asarray(design.labels), f"{design.n_clusters} clusters randomized as wholes"
    if isinstance(design, MixedInterferenceDesign):
        return "cluster", np.asarray(design.labels), f"{design.n_clusters} clusters drawn to an arm"
    if isinstance(design, EgoClusterDesign):
        lab = np.asarray(design.ego_cluster_labels).copy()
        out = lab < 0  # units outside every ego-cluster: each its own randomization unit
        lab[out] = lab.max(initial=-1) + 1 + np.arange(int(out.sum()))
        return "cluster", lab, f"{int((np.asarray(design.ego_cluster_labels) >= 0).any())} ego-clusters"
    if isinstance(design, RandomizedGraphCluster):
        return "redrawn-clusters", None, "clusters redrawn with every assignment"
    return "unit", None, "units randomized individually"


def _graph_fingerprint(graph) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(graph.indptr).tobytes())
    h.update(np.ascontiguousarray(graph.indices).tobytes())
    h.update("\x1f".join(map(str, np.asarray(graph.node_ids).tolist())).encode())
    h.update(b"directed" if graph.directed else b"undirected")
    return h.hexdigest()


# ----------------------------------------------------------------------------- result
class AnalysisResult:
    """Rows of :meth:`Experiment.analyze`: one per (estimator, estimand), estimable or not.

    Attributes
    ----------
    rows : list of dict
        ``estimator``, ``contrast``, the :class:`~netexp.Estimate` fields, ``why`` (why this
        estimator and what it assumes) and ``status`` (``"ok"`` or ``"not estimable: ..."``).
    """

    def __init__(self, rows: list[dict], *, header: str = ""):
        self.rows = rows
        self.header = header

    @property
    def estimates(self) -> list:
        """The :class:`~netexp.Estimate` of every estimable row."""
        return [r["_estimate"] for r in self.rows if r.get("_estimate") is not None and r["status"] == "ok"]

    def __getitem__(self, key):
        for r in self.rows:
            if key in (r["estimator"], r["contrast"], f"{r['estimator']}: {r['contrast']}"):
                return r["_estimate"]
        raise KeyError(f"no row {key!r}; rows are {[r['estimator'] + ': ' + r['contrast'] for r in self.rows]}")

    def to_frame(self) -> pd.DataFrame:
        cols = ["estimator", "contrast", "estimate", "std_error", "ci_lower", "ci_upper", "p_value", "n",
                "n_clusters", "variance", "status", "why"]
        return pd.DataFrame([{c: r.get(c) for c in cols} for r in self.rows], columns=cols)

    def __str__(self) -> str:
        from .estimators._result import _fmt_p

        lines = [self.header] if self.header else []
        for r in self.rows:
            if r["status"] == "ok":
                lines.append(f"  {r['estimator']}: {r['contrast']}\n"
                             f"      {r['estimate']:.4g} (se {r['std_error']:.3g}), "
                             f"95% CI [{r['ci_lower']:.4g}, {r['ci_upper']:.4g}], p {_fmt_p(r['p_value'])}"
                             f"  -- {r['why']}")
            else:
                lines.append(f"  {r['estimator']}: {r['contrast']}\n      {r['status']}")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False, na_rep="")


# ----------------------------------------------------------------------------- experiment
class Experiment:
    """One experiment on a network: graph, design, assignment and data, aligned by node id.

    Parameters
    ----------
    graph : Graph
    design : Design, optional
        How the assignment was drawn. Without it, :meth:`analyze` refuses: the valid standard
        errors depend on it (give ``design=`` or use :meth:`from_assignment` with what you know).
    assignment : array-like of bool, optional
        Treatment of every unit: a pandas Series is aligned by its index to ``graph.node_ids``;
        a numpy array / list is in node order and must have the graph's length. When omitted the
        assignment is drawn from ``design`` with ``seed`` (a fresh seed, recorded, when ``seed`` is
        None).
    outcomes : Series, DataFrame or array, optional
        One column per outcome. Pandas inputs are aligned by index and may cover a subset of the
        units (the others have no outcome); arrays are in node order with NaN for missing.
    covariates : DataFrame or array, optional
        Pre-treatment covariates, one row per unit (aligned by index).
    saturation : array-like, optional
        Per-unit drawn saturation of a randomized-saturation assignment made elsewhere (drawn
        assignments record it themselves).
    seed : int, optional
        The seed the assignment was drawn with (recorded by :meth:`save`).

    Examples
    --------
    >>> import netexp as ne
    >>> g = ne.load_graph("karate")
    >>> design = ne.ClusterRandomized(ne.leiden(g, rng=0), p=0.5)
    >>> ex = ne.Experiment(g, design, seed=1)
    >>> po = ne.LinearInMeans(direct=0.2, spillover=0.1).realize(g, rng=2)
    >>> ex = ex.with_outcomes(po.outcomes(ex.assignment))
    >>> ex.randomization_unit
    'cluster'
    """

    def __init__(self, graph, design=None, assignment=None, *, outcomes=None, covariates=None, saturation=None,
                 seed: int | None = None):
        from .graph import Graph

        if not isinstance(graph, Graph):
            raise InputError(f"Experiment: graph must be a netexp Graph (ne.read_graph, ne.Graph.from_pandas, ...); "
                             f"got {type(graph).__name__}.")
        self._graph = graph
        n = graph.n_nodes
        if design is not None:
            from .designs import Design

            if not isinstance(design, Design):
                raise InputError(f"Experiment: design must be a netexp Design (ne.Complete, ne.ClusterRandomized, "
                                 f"...); got {type(design).__name__}.")
            if design.n_units != n:
                raise DesignError(f"Experiment: the design covers {design.n_units} units but the graph has {n} "
                                  "nodes; build the design on this graph's units.")
        self._design = design
        drawn_sat = None
        if assignment is None:
            if design is None:
                raise InputError("Experiment: give the assignment, or a design to draw it from.")
            if seed is None:
                seed = int(np.random.SeedSequence().entropy % (2**63))
            z, drawn_sat = _draw(design, seed)
        else:
            z = self._per_unit(assignment, "assignment")
            if z.dtype != bool:
                zz = pd.to_numeric(pd.Series(z), errors="coerce").to_numpy(dtype=float)
                if not np.isin(zz, (0, 1)).all():
                    raise InputError("Experiment: assignment must hold 0/1 (or True/False) for every unit.")
                z = zz.astype(bool)
            if design is not None:
                from ._assign import check_assignment_against_design

                check_assignment_against_design(z, design, where="Experiment: assignment")
        z.flags.writeable = False
        self._z = z
        self._seed = seed
        if saturation is not None:
            drawn_sat = np.asarray(self._per_unit(saturation, "saturation"), dtype=float)
        self._saturation = drawn_sat
        self._outcomes = self._frame(outcomes, "outcomes", partial=True) if outcomes is not None else None
        self._covariates = self._frame(covariates, "covariates", partial=False) if covariates is not None else None

    # ------------------------------------------------------------------ alignment
    def _per_unit(self, value, name):
        g = self._graph
        if is_pandas(value):
            if isinstance(value, pd.DataFrame):
                if value.shape[1] != 1:
                    raise InputError(f"Experiment: {name} must be one column; got {value.shape[1]}.")
                value = value.iloc[:, 0]
            return np.asarray(align_to_ids(value, g.node_ids, name=f"Experiment: {name}"))
        arr = np.asarray(value)
        if arr.ndim != 1 or arr.shape[0] != g.n_nodes:
            raise InputError(f"Experiment: {name} must have one entry per node ({g.n_nodes}, in node order) or be a "
                             f"pandas Series indexed by node id; got shape {arr.shape}.")
        return arr.copy()

    def _frame(self, value, name, *, partial):
        g = self._graph
        ids = pd.Index(g.node_ids)
        if isinstance(value, pd.Series):
            value = value.to_frame(value.name if value.name is not None else "outcome")
        if isinstance(value, pd.DataFrame):
            if value.index.has_duplicates:
                align_to_ids(value, ids, name=f"Experiment: {name}")  # raises, naming the repeated ids
            unknown = value.index.difference(ids)
            if len(unknown):
                ex = ", ".join(repr(v) for v in unknown[:5].tolist())
                raise InputError(f"Experiment: {name} has {len(unknown)} index label(s) that are not node ids of the "
                                 f"graph (e.g. {ex}); index {name} by node id.")
            if not partial and len(ids.difference(value.index)):
                align_to_ids(value, ids, name=f"Experiment: {name}")  # raises, naming the missing ids
            out = value.reindex(ids)
        else:
            arr = np.asarray(value, dtype=float)
            if arr.ndim == 1:
                arr = arr[:, None]
            if arr.ndim != 2 or arr.shape[0] != g.n_nodes:
                raise InputError(f"Experiment: {name} must have one row per node ({g.n_nodes}, in node order) or be "
                                 f"indexed by node id; got shape {np.shape(value)}.")
            cols = ["outcome"] if name == "outcomes" and arr.shape[1] == 1 else [f"{name}_{k}" for k in
                                                                                 range(arr.shape[1])]
            out = pd.DataFrame(arr, index=ids, columns=cols)
        if name == "outcomes":
            bad = [c for c in out.columns if not pd.api.types.is_numeric_dtype(out[c])]
            if bad:
                raise InputError(f"Experiment: outcome columns {bad} are not numeric.")
            vals = out.to_numpy(dtype=float)
            if np.isinf(vals).any():
                raise InputError("Experiment: outcomes hold infinite values; drop or cap them.")
        return out

    # ------------------------------------------------------------------ properties
    @property
    def graph(self):
        return self._graph

    @property
    def design(self):
        return self._design

    @property
    def assignment(self) -> np.ndarray:
        """Treatment of every unit, in node order (read-only bool array)."""
        return self._z

    @property
    def seed(self):
        return self._seed

    @property
    def outcomes(self) -> pd.DataFrame | None:
        return None if self._outcomes is None else self._outcomes.copy()

    @property
    def covariates(self) -> pd.DataFrame | None:
        return None if self._covariates is None else self._covariates.copy()

    @property
    def saturation(self) -> np.ndarray | None:
        return self._saturation

    @property
    def randomization_unit(self) -> str | None:
        """``"unit"``, ``"cluster"``, ``"two-stage"``, ``"redrawn-clusters"``; None without a design."""
        return None if self._design is None else randomization_of(self._design)[0]

    @property
    def randomization_clusters(self) -> np.ndarray | None:
        """The cluster of every unit that standard errors must be clustered by (None for unit designs)."""
        return None if self._design is None else randomization_of(self._design)[1]

    def with_outcomes(self, outcomes) -> "Experiment":
        """A copy with ``outcomes`` (aligned by node id) in place of the current ones."""
        return Experiment(self._graph, self._design, self._z, outcomes=outcomes, covariates=self._covariates,
                          saturation=self._saturation, seed=self._seed)

    def __repr__(self) -> str:
        parts = [f"{self._graph!r}", f"design={self._design!r}", f"{int(self._z.sum())} of {self._z.shape[0]} treated"]
        if self._outcomes is not None:
            parts.append(f"outcomes {list(self._outcomes.columns)}")
        return "Experiment(" + ", ".join(parts) + ")"

    # ------------------------------------------------------------------ analysis
    def analyze(self, outcome: str | None = None, *, estimators: Sequence[str] | None = None,
                mapping: str = "full-neighbourhood", hops: int = 1, q: float | None = None,
                probabilities: str | None = None, n_draws: int = 10_000, contrast=None,
                confidence_level: float = 0.95, min_probability: float | None = None, rng=None,
                variance: str = "auto", variance_budget: float | None = 600.0) -> AnalysisResult:
        """Estimate the effects with the estimators the design makes valid; one row each, estimable or not.

        The randomization unit decides the covariance: unit designs get Neyman / HC standard
        errors; cluster and two-stage designs get CR2 standard errors clustered by the clusters
        the design randomized (never decided by the treatment pattern). The exposure regression,
        with every unit's outcome, takes the network HAC under unit designs (HC1 when its kernel
        matrix would be too large) and the design-based variance over the cluster draws under a
        ``ClusterRandomized`` design (CR2 when it has too few degrees of freedom); its rows name the
        variance and say why. Units without neighbours are handled in the exposure regression. Horvitz-Thompson / Hajek use the design's exact
        exposure probabilities where netexp has them (Monte Carlo otherwise, and the row says so).
        Each estimator that cannot be computed on this experiment becomes a row that says why,
        instead of failing the whole analysis.

        Parameters
        ----------
        outcome : str, optional
            Which outcome column (default: the only one).
        estimators : list of str, optional
            Among ``naive, cluster, regression, ht, hajek, two-stage, lin`` (default: all that apply).
        mapping : {"full-neighbourhood", "as4", "q-fractional", "fraction"}
            Exposure mapping of the design-based estimators ("fraction": none).
        variance : {"auto", "abs-young", "aronow-samii", "constant-effects", "max"}
            Variance of the design-based estimators (see :func:`netexp.horvitz_thompson`).
        variance_budget : float or None, default 600
            Seconds allowed for the design-based variance, estimated first by
            :func:`netexp.estimate_cost`; above it the HT/Hajek rows give point estimates and say why.
        """
        from ._analysis import run_analysis

        if self._design is None:
            raise InputError("Experiment.analyze: the design is unknown, so the valid standard errors are too; pass "
                             "design= (e.g. ne.Complete(n, n_treated=k), ne.ClusterRandomized(clusters, ...)).")
        if self._outcomes is None:
            raise InputError("Experiment.analyze: no outcomes; pass outcomes= or use .with_outcomes(y).")
        cols = list(self._outcomes.columns)
        if outcome is None:
            if len(cols) != 1:
                raise InputError(f"Experiment.analyze: several outcomes {cols}; choose one with outcome=.")
            outcome = cols[0]
        if outcome not in cols:
            raise InputError(f"Experiment.analyze: unknown outcome {outcome!r}; outcomes are {cols}.")
        yfull = self._outcomes[outcome].to_numpy(dtype=float)
        units = np.flatnonzero(~np.isnan(yfull))
        if units.shape[0] == 0:
            raise InputError(f"Experiment.analyze: outcome {outcome!r} has no values.")
        rows = run_analysis(self._graph, self._z, units, yfull[units], estimators=estimators, mapping=mapping,
                            hops=hops, q=q, design=self._design, probabilities=probabilities, n_draws=n_draws,
                            covariates=self._covariates, contrast=contrast, saturation=self._saturation,
                            confidence_level=confidence_level, rng=rng, min_probability=min_probability,
                            variance=variance, variance_budget=variance_budget)
        kind, _, desc = randomization_of(self._design)
        header = (f"{self._graph!r}; {self._design!r}; randomization: {desc}; outcome {outcome!r} on "
                  f"{units.shape[0]} of {self._graph.n_nodes} units; {int(self._z.sum())} treated")
        return AnalysisResult(rows, header=header)

    # ------------------------------------------------------------------ persistence
    def save(self, path, *, overwrite: bool = False) -> Path:
        """Write the assignment (``path``, CSV keyed by node id) and ``path.experiment.json`` beside it.

        The JSON keeps the design's repr and declaration, the seed, the netexp version and the
        SHA-256 of the graph's structure and of the assignment file, so :meth:`load` can refuse
        a different graph or an edited file. Outcomes are data, not design: they are not saved.
        Writes are atomic (temporary file, then rename); an existing file is kept unless
        ``overwrite=True``.
        """
        from . import __version__
        from ._files import write_text
        from ._io_utils import check_writable

        out = check_writable(path, overwrite=overwrite)
        side = check_writable(Path(str(out) + ".experiment.json"), overwrite=overwrite)
        df = pd.DataFrame({"node_id": self._graph.node_ids, "treatment": self._z.astype(np.int8)})
        kind, labels, _ = randomization_of(self._design) if self._design is not None else (None, None, "")
        if labels is not None:
            df["cluster"] = labels
        if self._saturation is not None:
            df["saturation"] = self._saturation
        write_text(out, df.to_csv(index=False), overwrite=overwrite)
        decl = None
        if self._design is not None and hasattr(self._design, "declaration"):
            try:
                decl = self._design.declaration()
            except Exception:  # noqa: BLE001 - a declaration is informative, never required
                decl = None
        record = {
            "format": FORMAT, "netexp_version": __version__, "seed": self._seed,
            "design": repr(self._design) if self._design is not None else None,
            "design_spec": _design_spec(self._design), "declaration": decl, "randomization": kind,
            "graph_sha256": _graph_fingerprint(self._graph), "n_units": int(self._graph.n_nodes),
            "n_treated": int(self._z.sum()), "assignment_sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
        }
        write_text(side, json.dumps(record, indent=2, default=_json_default) + "\n", overwrite=overwrite)
        return out

    @classmethod
    def load(cls, path, graph, *, design=None, outcomes=None, covariates=None) -> "Experiment":
        """Read an experiment written by :meth:`save`: check the graph, the file and the design, then rebuild it.

        ``design`` is needed only when the saved design has no portable spec (it is then checked
        against the saved repr). When a seed was saved, the assignment is redrawn and must match
        the file bit for bit.
        """
        path = Path(path)
        side = Path(str(path) + ".experiment.json")
        if not side.exists():
            raise InputError(f"{path}: no {side.name} beside it; was it written by Experiment.save?")
        try:
            record = json.loads(side.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{side}: not a readable experiment record ({exc}).") from None
        if not isinstance(record, dict) or record.get("format") != FORMAT:
            raise InputError(f"{side}: not a {FORMAT} record.")
        if record.get("graph_sha256") != _graph_fingerprint(graph):
            raise InputError(f"{side}: the graph differs from the one the experiment was saved with (structure or "
                             "node ids changed); load it with the same graph.")
        if hashlib.sha256(path.read_bytes()).hexdigest() != record.get("assignment_sha256"):
            raise InputError(f"{path} was edited after it was saved (its SHA-256 changed); refusing to analyse it.")
        df = pd.read_csv(path, dtype={"node_id": str})
        ids = pd.Index(np.asarray(graph.node_ids).astype(str))
        z = pd.Series(df["treatment"].to_numpy(), index=pd.Index(df["node_id"].astype(str)))
        z = align_to_ids(z, ids, name=f"{path}: treatment").astype(bool)
        sat = None
        if "saturation" in df:
            sat = align_to_ids(pd.Series(df["saturation"].to_numpy(float), index=pd.Index(df["node_id"].astype(str))),
                               ids, name=f"{path}: saturation")
        spec = record.get("design_spec")
        if design is None:
            if spec is None:
                raise InputError(f"{side}: the design {record.get('design')} has no portable spec; pass design=.")
            design = _design_from_spec(spec)
        elif repr(design) != record.get("design"):
            raise InputError(f"{side}: design= {design!r} differs from the saved design {record.get('design')}.")
        seed = record.get("seed")
        if seed is not None:
            z2, _ = _draw(design, int(seed))
            if not np.array_equal(z2, z):
                raise InputError(f"{path}: the assignment is not the draw of the saved design with seed {seed} "
                                 f"({int((z2 != z).sum())} units differ).")
        return cls(graph, design, z, outcomes=outcomes, covariates=covariates, saturation=sat, seed=seed)


# ----------------------------------------------------------------------------- helpers
def _draw(design, seed: int):
    from .designs import MixedInterferenceDesign, RandomizedSaturation

    if isinstance(design, RandomizedSaturation):
        Z, S = design.sample_with_saturations(1, rng=seed)
        return Z[0].copy(), np.asarray(design.saturation_levels, dtype=float)[S[0]][design.labels]
    if isinstance(design, MixedInterferenceDesign):
        Z, _ = design.sample_with_arms(1, rng=seed)
        return Z[0].copy(), None
    return np.asarray(design.sample(rng=seed)).copy(), None


def _design_spec(design) -> dict | None:
    """A JSON-able description that rebuilds ``design`` exactly (None for designs without one)."""
    from .designs import Bernoulli, ClusterRandomized, Complete, RandomizedSaturation

    if design is None:
        return None
    if type(design) is Bernoulli:
        return {"class": "Bernoulli", "n": design.n_units, "p": _plain(design.probabilities[0])}
    if type(design) is Complete:
        k_low, frac = int(design._k_low[0]), float(design._frac[0])
        if frac == 0:
            return {"class": "Complete", "repr": repr(design), "n": design.n_units, "n_treated": k_low}
        return {"class": "Complete", "repr": repr(design), "n": design.n_units,
                "p": float(design.expected_treated[0]) / design.n_units, "extra": design._extra}
    if type(design) is ClusterRandomized:
        inner = _design_spec(design.cluster_design)
        if inner is None:
            return None
        return {"class": "ClusterRandomized", "labels": np.asarray(design.labels).tolist(), "cluster_design": inner}
    if type(design) is RandomizedSaturation:
        return {"class": "RandomizedSaturation", "labels": np.asarray(design.labels).tolist(),
                "saturations": list(map(float, design.saturation_levels)),
                "shares": list(map(float, design.cluster_shares)), "within": design.within, "stage1": design.stage1}
    return None


def _design_from_spec(spec: dict):
    from .designs import Bernoulli, ClusterRandomized, Complete, RandomizedSaturation

    try:
        cls = spec["class"]
        if cls == "Bernoulli":
            return Bernoulli(int(spec["n"]), p=float(spec["p"]))
        if cls == "Complete":
            if "n_treated" in spec:
                d = Complete(int(spec["n"]), n_treated=int(spec["n_treated"]))
            else:
                d = Complete(int(spec["n"]), p=float(spec["p"]), extra=spec["extra"])
            if repr(d) != spec["repr"]:
                raise InputError(f"the rebuilt design {d!r} differs from the saved {spec['repr']}")
            return d
        if cls == "ClusterRandomized":
            return ClusterRandomized(np.asarray(spec["labels"]), cluster_design=_design_from_spec(spec["cluster_design"]))
        if cls == "RandomizedSaturation":
            return RandomizedSaturation(np.asarray(spec["labels"]), saturations=spec["saturations"],
                                        shares=spec["shares"], within=spec["within"], stage1=spec["stage1"])
    except InputError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"the saved design spec is malformed ({exc}); pass design= to Experiment.load.") from None
    raise InputError(f"unknown design class {spec.get('class')!r} in the saved spec; pass design=.")


def _plain(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return v


def _json_default(v):
    v = _plain(v)
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v if isinstance(v, (int, float, str, list, dict, bool)) or v is None else str(v)
