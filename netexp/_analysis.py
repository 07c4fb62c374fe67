"""The logic behind ``netexp analyze`` / ``test`` / ``report``: rebuild the design of an observed
assignment, read another tool's draws, and run the chosen estimators into flat records.

Every number comes from the public estimators; this module only routes inputs to them.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._errors import InputError

__all__ = ["ANALYSIS_MAPPINGS", "ANALYSIS_ESTIMATORS", "DESIGN_CHOICES", "design_for_analysis", "read_draws",
           "run_analysis", "default_estimators", "mapping_for"]

#: --mapping choices; "fraction" is the exposure regression on the share of treated neighbours.
ANALYSIS_MAPPINGS = ("fraction", "as4", "q-fractional", "full-neighbourhood")
ANALYSIS_ESTIMATORS = ("naive", "cluster", "regression", "ht", "hajek", "two-stage", "lin")
#: --design choices for assignments made elsewhere (the observed counts fix n_treated / p).
DESIGN_CHOICES = ("complete", "bernoulli", "cluster", "cluster-bernoulli", "saturation", "mixed", "graph-cluster")
_REFERENCE = {"as4": "no_exposure", "q-fractional": "control", "full-neighbourhood": "control"}


def mapping_for(name: str, *, hops: int = 1, q: float | None = None):
    """The exposure mapping of ``--mapping`` (None for "fraction")."""
    from .exposure import get_mapping

    if name not in ANALYSIS_MAPPINGS:
        raise InputError(f"mapping must be one of {', '.join(ANALYSIS_MAPPINGS)}; got {name!r}.")
    if name == "fraction":
        return None
    if name == "q-fractional":
        if q is None:
            raise InputError("--mapping q-fractional needs --q Q (a share in (0, 1]).")
        return get_mapping(name, q=q, hops=hops)
    return get_mapping(name, hops=hops)


def _labels_and_clustering(graph, clusters_path):
    from .clustering import Clustering

    return Clustering.read_csv(graph, clusters_path)


def design_for_analysis(graph, z: np.ndarray, *, assignment_path=None, design: str | None = None,
                        clusters_path=None, assignment_frame: pd.DataFrame | None = None, allow_unknown: bool = False,
                        sidecar: dict | None = None):
    """The design that produced ``z``: ``(design, clustering or None, source)``.

    ``design`` given: rebuilt from the observed assignment (``complete``: the observed number
    treated; ``bernoulli``: the observed share; ``cluster``: complete randomization of the
    observed number of treated clusters of ``clusters_path``; ``cluster-bernoulli``: Bernoulli over
    clusters at the observed share; ``saturation`` / ``mixed`` / ``graph-cluster``: the network
    designs with default options). Otherwise the assignment's ``.design.json`` sidecar, if any;
    else ``(None, clustering or None, None)``. ``sidecar``: the declaration already read and checked by
    :func:`netexp._assign.sidecar_spec` for this assignment (spares reading it and hashing its inputs again).
    """
    from ._assign import build_design, sidecar_path
    from .designs import Bernoulli, ClusterRandomized, Complete

    n = graph.n_nodes
    clustering = _labels_and_clustering(graph, clusters_path) if clusters_path else None
    if design is None:
        if assignment_path is not None and sidecar_path(assignment_path).exists():
            from ._assign import sidecar_spec

            side = sidecar_path(assignment_path)
            # checked fields; input files located and matched by their sha256
            spec = sidecar if sidecar is not None else sidecar_spec(side)
            d, cl = build_design(spec, graph)
            return d, cl if cl is not None else clustering, f"sidecar {side.name}"
        exp_side = Path(str(assignment_path) + ".experiment.json") if assignment_path is not None else None
        if exp_side is not None and exp_side.exists():  # written by ne.Experiment.save: same checks as load()
            from ._experiment import Experiment

            ex = Experiment.load(assignment_path, graph)
            if not np.array_equal(ex.assignment, z):
                raise InputError(f"{assignment_path}: the assignment read does not match {exp_side.name}.")
            return ex.design, clustering, f"experiment record {exp_side.name}"
        try:
            return _infer_from_file(graph, z, clustering, assignment_frame)
        except InputError:
            if allow_unknown:  # the draws stand for the design (design-based estimators only)
                return None, clustering, "unknown (assignment draws given)"
            raise
    if design not in DESIGN_CHOICES:
        raise InputError(f"design must be one of {', '.join(DESIGN_CHOICES)}; got {design!r}.")
    k = int(z.sum())
    if design == "complete":
        if not 0 < k < n:
            raise InputError(f"--design complete: the assignment treats {k} of {n} units; both arms must be non-empty.")
        return Complete(n, n_treated=k), clustering, "observed count"
    if design == "bernoulli":
        return Bernoulli(n, p=k / n), clustering, "observed share"
    if clustering is None:
        raise InputError(f"--design {design} needs --clusters clusters.csv (the clusters that were randomized).")
    if design in ("cluster", "cluster-bernoulli"):
        lab = clustering.labels
        zc = np.bincount(lab, weights=z, minlength=clustering.n_clusters)
        size = np.bincount(lab, minlength=clustering.n_clusters)
        if not np.all((zc == 0) | (zc == size)):
            raise InputError(f"--design {design}: treatment varies within some clusters of --clusters; this is not a "
                             "cluster-randomized assignment.")
        kc = int((zc > 0).sum())
        K = clustering.n_clusters
        inner = Complete(K, n_treated=kc) if design == "cluster" else Bernoulli(K, p=kc / K)
        return ClusterRandomized(clustering, cluster_design=inner), clustering, "observed cluster count"
    spec = {"design": design, "clusters": str(clusters_path), "p": None}
    if design in ("graph-cluster", "mixed"):
        spec["p"] = 0.5
    if design == "saturation" and assignment_frame is not None and "saturation" in assignment_frame:
        spec["saturations"] = sorted(set(assignment_frame["saturation"].astype(float)))
    d, cl = build_design({k: v for k, v in spec.items() if v is not None}, graph)
    return d, cl, "declared with default options"


def _infer_from_file(graph, z, clustering, frame):
    """No sidecar and no --design: infer only what the file proves, else ask.

    A ``saturation`` column with clusters proves a two-stage design (the groups and their drawn
    saturations); a ``cluster`` column with treatment constant within each cluster proves whole
    clusters were treated together. Anything else could be any unit design: refuse rather than
    analyse it as unit-randomized.
    """
    from ._errors import NetexpWarning, warn
    from .clustering import Clustering

    cols = set(frame.columns) if frame is not None else set()
    if clustering is None and "cluster" in cols:
        clustering = Clustering.from_frame(graph, frame[[frame.columns[0], "cluster"]],
                                           node_column=frame.columns[0], cluster_column="cluster")
    if clustering is not None and "saturation" in cols:
        warn(f"the assignment has no .design.json sidecar; analysing it as a two-stage design over its "
             f"{clustering.n_clusters} groups (inferred from the saturation column): standard errors are "
             "clustered by group; design-based estimators need --design saturation.", NetexpWarning)
        return None, clustering, "inferred: two-stage (saturation column)"
    if clustering is not None:
        lab = clustering.labels
        tot = np.bincount(lab, weights=z, minlength=clustering.n_clusters)
        if np.all((tot == 0) | (tot == np.bincount(lab, minlength=clustering.n_clusters))):
            warn(f"the assignment has no .design.json sidecar; analysing it as cluster-randomized over its "
                 f"{clustering.n_clusters} clusters (treatment is constant within each): standard errors "
                 "are clustered by cluster; say --design cluster or cluster-bernoulli for design-based "
                 "estimators.", NetexpWarning)
            return None, clustering, "inferred: cluster-randomized (treatment constant within clusters)"
    raise InputError("the assignment has no .design.json sidecar and nothing in it shows how it was randomized; "
                     "say so with --design (complete, bernoulli, cluster --clusters FILE, cluster-bernoulli, "
                     "saturation, mixed, graph-cluster). netexp does not assume unit randomization: with clusters "
                     "that would understate the standard errors.")


def read_draws(graph, path) -> np.ndarray:
    """Assignment draws from a CSV / CSV.gz: one row per draw, columns in node order or a header of node ids."""
    from ._io_utils import read_table  # noqa: F401  (same readers' error style)

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No such file: {path}")
    raw = pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
    if raw.empty:
        raise InputError(f"{path}: no draws.")
    first = raw.iloc[0].str.strip()
    header = not first.isin(["0", "1"]).all()
    body = raw.iloc[1:] if header else raw
    n = graph.n_nodes
    if body.shape[1] != n:
        raise InputError(f"{path}: rows have {body.shape[1]} columns but the graph has {n} nodes; give one column "
                         "per node (in node order, or with a header of node ids).")
    vals = body.apply(lambda c: c.str.strip())
    if not vals.isin(["0", "1"]).all().all():
        raise InputError(f"{path}: draws must be 0/1 values.")
    Z = vals.to_numpy() == "1"
    if header:
        ids = first.to_numpy()
        try:
            pos = graph.index_of(ids, what="node ids in the draws header")
        except Exception:
            kind = np.asarray(graph.node_ids).dtype.kind
            if kind not in "iu":
                raise
            pos = graph.index_of(ids.astype(np.int64), what="node ids in the draws header")
        if np.unique(pos).shape[0] != n:
            raise InputError(f"{path}: the header repeats node ids; give each node once.")
        out = np.zeros_like(Z)
        out[:, pos] = Z
        Z = out
    return Z


def default_estimators(*, mapping: str, design, randomization: str | None, has_saturation: bool,
                       has_covariates: bool) -> list[str]:
    """The estimators that apply: the difference in means and the exposure regression always;
    cluster-level ones when whole clusters were randomized; HT and Hajek when a design and a level
    mapping are known; two-stage for saturation assignments; Lin with covariates under unit designs."""
    out = ["naive"]
    if randomization == "cluster":
        out.append("cluster")
    out.append("regression")
    if design is not None and mapping != "fraction":
        out += ["ht", "hajek"]
    if has_saturation and randomization == "two-stage":
        out.append("two-stage")
    if has_covariates and randomization == "unit":
        out.append("lin")
    return out


def _record(estimator: str, e, n_per_level: dict | None = None, contrast: str | None = None, *,
            why: str = "") -> dict:
    d = e.to_dict()
    ok = getattr(e, "estimable", True)
    d.update({"estimator": estimator, "contrast": contrast or e.estimand, "ci_lower": e.ci[0], "ci_upper": e.ci[1],
              "n_per_level": n_per_level or {}, "_estimate": e, "why": why,
              "status": "ok" if ok else e.note})
    return d


def _failed(estimator: str, contrast: str, reason: str, n: int) -> dict:
    nan = float("nan")
    return {"estimator": estimator, "contrast": contrast, "estimand": contrast, "estimate": nan, "std_error": nan,
            "ci_lower": nan, "ci_upper": nan, "p_value": nan, "n": n, "n_clusters": None, "method": estimator,
            "variance": "", "n_per_level": {}, "_estimate": None, "why": "",
            "status": f"not estimable: {reason}"}


def _randomization(design, clustering, z, saturation):
    """``(kind, labels, description)`` of how the assignment was randomized; kind None when unknown."""
    from ._experiment import randomization_of

    if design is not None:
        return randomization_of(design)
    if clustering is not None and saturation is not None:
        return "two-stage", clustering.labels, f"two-stage over {clustering.n_clusters} groups (saturation column)"
    if clustering is not None:
        lab = clustering.labels
        K = int(lab.max()) + 1
        tot = np.bincount(lab, weights=z, minlength=K)
        if np.all((tot == 0) | (tot == np.bincount(lab, minlength=K))):
            return "cluster", lab, f"{clustering.n_clusters} clusters (treatment constant within each)"
    return None, None, "unknown"


def _saturation_counts_fixed(design, labels, saturation):
    """None when every group's treated count is fixed by its saturation, else the reason it is not."""
    from .designs import RandomizedSaturation

    if not isinstance(design, RandomizedSaturation) or design.within == "fixed":
        return None
    if design.within == "bernoulli":
        return ("the design treats units within groups by independent coin flips (within='bernoulli'), so the "
                "number treated per group is random")
    sizes = np.bincount(labels)
    lev = np.asarray(design.saturation_levels, dtype=float)
    frac = np.abs(np.outer(lev, sizes) - np.round(np.outer(lev, sizes))) > 1e-9
    if frac.any():
        return (f"saturation x group size is not whole for {int(frac.any(axis=0).sum())} of {sizes.shape[0]} groups, "
                "and the design rounds those counts at random (draw with within='fixed' / --within fixed)")
    return None


def run_analysis(graph, z, units, y, *, estimators=None, mapping: str = "fraction", hops: int = 1,
                 q: float | None = None, design=None, clustering=None, probabilities: str | None = None,
                 draws=None, n_draws: int = 10_000, convention: str = "netexp", covariates: pd.DataFrame | None = None,
                 contrast=None, saturation=None, confidence_level: float = 0.95, rng=None,
                 min_probability: float | None = None, variance: str = "auto",
                 variance_budget: float | None = 600.0) -> list[dict]:
    """Run the estimators of ``netexp analyze`` / :meth:`Experiment.analyze`; one record per (estimator, contrast).

    ``units`` are the internal indices of the units with outcomes ``y``; ``saturation`` the
    per-unit saturation column of a randomized-saturation assignment; ``covariates`` a frame in
    node order. The design's randomization unit decides the covariance: CR2 by the randomized
    clusters for cluster and two-stage designs, whatever the treatment pattern looks like; the
    exposure regression takes the network HAC under unit designs and the variance over the cluster
    draws under a ``ClusterRandomized`` design, with every unit's outcome (``_regression_by_design``).
    Records hold the :class:`~netexp.Estimate` fields plus ``estimator``, ``contrast``,
    ``ci_lower``, ``ci_upper``, ``n_per_level``, ``why`` (the reason for this estimator and its
    covariance), ``status`` (``"ok"`` or ``"not estimable: <reason>"``) and ``_estimate``. An
    estimator that fails on this experiment becomes a not-estimable record; the analysis fails
    only when no estimator could be computed.
    ``min_probability`` restricts the design-based estimands to the units whose probability of
    both contrast levels is at least that value (the estimand changes accordingly: the row says so).
    ``variance_budget`` (seconds): when :func:`netexp.estimate_cost` puts the design-based variance
    above it, HT and Hajek report their point estimates and say why the standard error is missing
    (None: no limit).
    """
    from ._errors import NetexpError
    from .estimators import cluster_difference_in_means, cluster_ols, difference_in_means
    from .exposure import exposure

    z = np.asarray(z).astype(bool)
    idx = np.asarray(units)
    y = np.asarray(y, dtype=float)
    zs = z[idx]
    kind, rlabels, rdesc = _randomization(design, clustering, z, saturation)
    if kind is None and draws is not None:
        kind, rdesc = "unknown", "unknown: only the draws of the design were given"
    elif kind is None:
        raise InputError("the design of this assignment is unknown, so are its valid standard errors: give the "
                         "assignment's .design.json sidecar or say how it was randomized (--design / design=).")
    labels = rlabels[idx] if rlabels is not None else None
    n_groups = int(np.unique(labels).shape[0]) if labels is not None else 0
    if estimators is None:
        estimators = default_estimators(mapping=mapping, design=design, randomization=kind,
                                        has_saturation=saturation is not None, has_covariates=covariates is not None)
    unknown = [e for e in estimators if e not in ANALYSIS_ESTIMATORS]
    if unknown:
        raise InputError(f"estimators must be among {', '.join(ANALYSIS_ESTIMATORS)}; got {unknown}.")
    mapping_for(mapping, hops=hops, q=q)  # an option error fails the command, not one row
    arms = {"treated": int(zs.sum()), "control": int((~zs).sum())}
    cov = covariates.iloc[idx].reset_index(drop=True) if covariates is not None else None
    cr_why = f"CR2 clustered by the {n_groups} randomized {'groups' if kind == 'two-stage' else 'clusters'} ({rdesc})"
    if labels is not None:
        from .estimators._estimators import few_clusters_message, few_clusters_warning

        if any(e in estimators for e in ("naive", "cluster", "regression", "two-stage")):
            few_clusters_warning(n_groups, "the cluster-robust analysis")
        if few_clusters_message(n_groups, "this interval"):
            cr_why += f"; only {n_groups} clusters: cluster-robust intervals can under-cover"
    out: list[dict] = []
    n_obs = int(idx.shape[0])

    def paired_or_stratified():
        """Matched pairs are analysed as pairs, fine strata within strata: their design-based variances
        are far smaller than the unpaired Neyman one (and as valid)."""
        from .designs import ClusterRandomized, MatchedPairs, UnitSubset
        from .designs._stratified import _StrataDesign

        inner = design.cluster_design if isinstance(design, ClusterRandomized) else design
        if isinstance(inner, MatchedPairs):
            from .estimators._paired import paired_difference_in_means

            d = design if idx.shape[0] == z.shape[0] and np.array_equal(idx, np.arange(z.shape[0])) else \
                UnitSubset(design, idx)
            e = paired_difference_in_means(y, zs, d, confidence_level=confidence_level)
            out.append(_record("paired difference in means", e, arms, "treated - control",
                               why="matched-pair variance over the randomized pairs (Imai 2008); pairs missing a "
                                   "member are dropped whole"))
            return True
        if isinstance(design, _StrataDesign) and design.n_strata > 1:
            from .diagnostics._lessons import stratified_difference_in_means

            e = stratified_difference_in_means(y, zs, np.asarray(design.strata)[idx],
                                               confidence_level=confidence_level)
            out.append(_record("stratified difference in means", e, arms, "treated - control",
                               why=f"Neyman variance within the design's {design.n_strata} strata"))
            return True
        return False

    def naive():
        if design is not None and paired_or_stratified():
            return
        if kind == "unknown":
            raise InputError("the randomization unit is unknown (only draws were given), so is the valid standard "
                             "error; give --design / design=")
        if kind == "unit":
            e = difference_in_means(y, zs, estimand="global effect", confidence_level=confidence_level)
            out.append(_record("difference in means (ignores interference)", e, arms, "treated - control",
                               why="Neyman variance; units randomized individually"))
        elif labels is None:
            raise InputError("the clustering was redrawn with every assignment; no fixed clusters to cluster on. "
                             "Use the design-based estimators (ht, hajek).")
        else:
            e = cluster_ols(y, zs, labels, estimand="global effect", confidence_level=confidence_level)
            out.append(_record("difference in means (ignores interference), CR2", e, arms, "treated - control",
                               why=cr_why))

    def cluster():
        if kind != "cluster":
            raise InputError("the cluster-level estimators need whole clusters randomized; this design randomized "
                             + ("units individually" if kind == "unit" else rdesc) + ".")
        out.append(_record("cluster means difference", cluster_difference_in_means(
            y, zs, labels, confidence_level=confidence_level), arms, "treated - control",
            why=f"one observation per randomized cluster ({n_groups})"))
        if not any(r["estimator"].startswith("difference in means") and "CR2" in r["estimator"] for r in out):
            out.append(_record("difference in means, CR2 clustered", cluster_ols(
                y, zs, labels, confidence_level=confidence_level), arms, "treated - control", why=cr_why))

    def regression():
        if kind == "unknown":
            raise InputError("the randomization unit is unknown (only draws were given), so is the valid standard "
                             "error; give --design / design=")
        if labels is None and kind != "unit":
            raise InputError("the clustering was redrawn with every assignment; no fixed clusters to cluster on and "
                             "the units were not randomized individually. Use the design-based estimators (ht, hajek).")
        expo = exposure(graph, z)
        iso = expo.isolated[idx]
        er, label, why = _regression_by_design(graph, design, kind, labels, idx, y, zs, expo.fraction[idx], iso, cov,
                                               cr_why=cr_why, n_groups=n_groups, rdesc=rdesc,
                                               confidence_level=confidence_level)
        why += f"; {int(iso.sum())} units without neighbours enter with no spillover exposure" if iso.any() else ""
        for est in ("global effect", "direct effect", "spillover effect"):
            out.append(_record(label, er[est], arms, why=why + "; assumes outcomes linear in the treated share"))

    def lin():
        from .estimators._lin import lin_estimator

        if cov is None:
            raise InputError("Lin's estimator needs pre-treatment covariates (--covariates FILE / covariates=).")
        if kind != "unit":
            raise InputError("Lin's estimator with HC2 assumes units randomized individually; this design randomized "
                             f"{rdesc}.")
        out.append(_record("Lin (covariate-adjusted)", lin_estimator(y, zs, cov, confidence_level=confidence_level),
                           arms, "treated - control", why="HC2; units randomized individually"))

    def two_stage():
        from .estimators._two_stage import two_stage_estimates

        if saturation is None or labels is None:
            raise InputError("the two-stage estimators need a saturation assignment (its `saturation` column) and its "
                             "groups.")
        reason = _saturation_counts_fixed(design, rlabels, saturation)
        if reason is not None:
            raise InputError(f"the Hudgens-Halloran estimators need a fixed number treated per group; {reason}. "
                             "Their group means would be biased; read the exposure regression and design-based rows.")
        sat = np.asarray(saturation, dtype=float)[idx]
        levels = sorted(set(sat.tolist()))
        if len(levels) < 2:
            raise InputError("the two-stage estimators need at least two saturation levels in the assignment.")
        for a in levels[1:]:
            tab = two_stage_estimates(y, zs, labels, sat, alpha=a, alpha_prime=levels[0],
                                      confidence_level=confidence_level)
            for e in tab:
                out.append(_record("two-stage (Hudgens-Halloran)", e, arms,
                                   why=f"group-level variance over the {n_groups} randomized groups"))

    def design_based(name):
        out.extend(_design_based(name, graph, z, idx, y, mapping=mapping, hops=hops, q=q, design=design,
                                 probabilities=probabilities, draws=draws, n_draws=n_draws, convention=convention,
                                 contrast=contrast, confidence_level=confidence_level, rng=rng,
                                 min_probability=min_probability, variance=variance,
                                 variance_budget=variance_budget))

    runners = {"naive": naive, "cluster": cluster, "regression": regression, "lin": lin, "two-stage": two_stage,
               "ht": lambda: design_based("ht"), "hajek": lambda: design_based("hajek")}
    titles = {"naive": "difference in means", "cluster": "cluster-level estimators", "regression": "exposure regression",
              "lin": "Lin (covariate-adjusted)", "two-stage": "two-stage (Hudgens-Halloran)",
              "ht": "Horvitz-Thompson", "hajek": "Hajek"}
    for name in estimators:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                runners[name]()
        except (NetexpError, np.linalg.LinAlgError, ValueError, ZeroDivisionError) as exc:
            out.append(_failed(titles[name], "-", str(exc).rstrip("."), n_obs))
    if out and all(r["status"] != "ok" for r in out):
        reasons = "; ".join(f"{r['estimator']}: {r['status'][len('not estimable: '):]}" for r in out)
        raise InputError(f"nothing could be estimated: {reasons}.")
    return out


def _first_sentence(msg: str) -> str:
    head = str(msg).split(". ")[0]
    return head.rstrip(".")


def _regression_by_design(graph, design, kind, labels, idx, y, zs, fs, iso, cov, *, cr_why, n_groups, rdesc,
                          confidence_level):
    """The exposure regression with the variance the design makes valid: ``(table, row label, why)``.

    Unit designs with every unit's outcome: the network HAC (units whose neighbourhoods overlap share
    neighbours' treatments, so their scores are dependent; HC1 ignores that), or HC1 when its kernel
    matrix would be too large (``network_hac_is_cheap``). A ``ClusterRandomized`` design with every unit's
    outcome: the design-based variance over its cluster draws (``cov_type="cluster-draws"``: a cluster's
    exposures depend on the bordering clusters' draws, so cluster scores are not independent as CR2 assumes),
    CR2 when it does not apply or has too few df. Outcomes on a subset of the units: HC1 / CR2 (the graph's
    distances and the draws' map to the regressors are over all units). Other cluster and two-stage designs: CR2.
    """
    from .designs import ClusterRandomized
    from .estimators import exposure_regression_fit
    from .estimators._hac import network_hac_is_cheap

    n = graph.n_nodes
    subset = not (idx.shape[0] == n and np.array_equal(idx, np.arange(n)))
    partial = f"outcomes on {idx.shape[0]} of {n} units"
    if kind == "unit":
        fit = exposure_regression_fit(y, zs, fs, isolated=iso, covariates=cov, graph=None if subset else graph)
        if subset:
            why = (f"HC1; units randomized individually; {partial}, and the network HAC needs every unit's (its "
                   "distances are the graph's): HC1 ignores the dependence of units whose neighbourhoods overlap")
            return fit.estimates("HC1", confidence_level=confidence_level), "exposure regression (HC1)", why
        if not network_hac_is_cheap(graph):
            why = ("HC1; units randomized individually; the network HAC is not computed: too many pairs of units "
                   "lie within its bandwidth for its kernel matrix. HC1 ignores the dependence of units whose "
                   "neighbourhoods overlap and can under-cover the spillover effect")
            return fit.estimates("HC1", confidence_level=confidence_level), "exposure regression (HC1)", why
        er = fit.estimates("network-HAC", confidence_level=confidence_level)
        why = ("network HAC; units randomized individually, but units whose neighbourhoods overlap share neighbours' "
               "treatments, so their scores are dependent (HC1 ignores that and can under-cover)")
        return er, "exposure regression (network HAC)", why
    cr2 = "exposure regression (CR2)"
    if kind == "cluster" and isinstance(design, ClusterRandomized):
        if subset:
            why = cr_why + f"; not the variance over the cluster draws: it needs every unit's outcome ({partial})"
        else:
            fit = exposure_regression_fit(y, zs, fs, isolated=iso, covariates=cov, clusters=labels, graph=graph,
                                          design=design)
            try:
                er = fit.estimates("cluster-draws", confidence_level=confidence_level)
            except InputError as exc:
                why = cr_why + f"; not the variance over the cluster draws: {_first_sentence(exc)}"
            else:
                if all(np.isfinite(e.std_error) for e in er):
                    why = (f"design-based over the draws of the {n_groups} randomized clusters ({rdesc}): a cluster's "
                           "exposures depend on the draws of the clusters bordering it, so cluster scores are not "
                           "independent as CR2 assumes; each unit's score is attributed to the independent draws "
                           "that move it")
                    return er, "exposure regression (cluster draws)", why
                dfs = [e.df for e in er if e.df is not None and np.isfinite(e.df)]
                about = f"about {min(dfs):.1f}" if dfs else "too few"
                why = (cr_why + f"; not the variance over the cluster draws: it rests on {about} independent draws, "
                       "too few for its degrees of freedom")
            return fit.estimates("CR2", confidence_level=confidence_level), cr2, why
    elif kind == "cluster":
        why = cr_why + ("; not the variance over the cluster draws: " + (
            "it needs the cluster design (the assignment's .design.json sidecar, --design cluster / "
            "cluster-bernoulli, or design=)" if design is None else
            f"the design ({type(design).__name__}) is not a ClusterRandomized whose cluster draws set every unit's "
            "treatment"))
    else:
        why = cr_why
    fit = exposure_regression_fit(y, zs, fs, isolated=iso, covariates=cov, clusters=labels)
    return fit.estimates("CR2", confidence_level=confidence_level), cr2, why


_PROB_CACHE: dict = {}


def _design_based(kind, graph, z, idx, y, *, mapping, hops, q, design, probabilities, draws, n_draws, convention,
                  contrast, confidence_level, rng, min_probability=None, variance="auto",
                  variance_budget: float | None = 600.0):
    from .estimators._horvitz_thompson import hajek, horvitz_thompson
    from .exposure import exposure_probabilities

    if mapping == "fraction":
        raise InputError(f"--estimators {kind} needs an exposure mapping with levels: --mapping as4, q-fractional or "
                         "full-neighbourhood.")
    if design is None and draws is None:
        raise InputError(f"--estimators {kind} needs the design: the assignment's .design.json sidecar, --design, or "
                         "--draws FILE.")
    m = mapping_for(mapping, hops=hops, q=q)
    key = (id(graph), id(design), id(draws), repr(m), probabilities, n_draws, convention, repr(rng))
    hit = _PROB_CACHE.get(key)
    # the cache holds the objects themselves, so an id cannot be reused by another graph or design meanwhile
    pr = hit[3] if (hit is not None and hit[0] is graph and hit[1] is design and hit[2] is draws
                    and hit[3].joint_available) else None
    note = ""
    if pr is None:
        from .exposure import estimate_cost

        method = probabilities or ("monte-carlo" if draws is not None else "auto")
        joint = True
        if draws is None and variance_budget is not None:
            cost = estimate_cost(graph, design, m, method=method, n_draws=n_draws, units=int(idx.shape[0]))
            if cost.seconds > variance_budget:
                joint = False
                note = (f"standard error not computed: the design-based variance needs pair joints estimated at "
                        f"about {cost.seconds:.0f} s (route {cost.route}), over the variance budget of "
                        f"{variance_budget:g} s; raise --variance-budget / variance_budget= to compute it")
        pr = exposure_probabilities(graph, design, m, method=method, n_draws=n_draws, draws=draws, rng=rng,
                                    convention=convention, joint=joint)
        _PROB_CACHE.clear()
        _PROB_CACHE[key] = (graph, design, draws, pr, note)

    codes = m.map(graph, z)
    n = graph.n_nodes
    yy = np.zeros(n)
    yy[idx] = y
    mask = np.zeros(n, dtype=bool)
    mask[idx] = True
    if contrast is None:
        ref = _REFERENCE[mapping]
        pairs = ([("treated", "control")] if mapping != "as4" else [(lev, ref) for lev in m.levels if lev != ref])
    else:
        pairs = [tuple(contrast)]
    fn = horvitz_thompson if kind == "ht" else hajek
    if note:  # the joints were skipped on purpose: the row says so; the estimator's own warning is noise
        from ._errors import EstimationWarning

        def fn(*a, _fn=fn, **kw):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", EstimationWarning)
                return _fn(*a, **kw)
    if min_probability is None:
        tab = fn(yy, codes, pr, contrasts=pairs, units=mask, confidence_level=confidence_level, variance=variance)
    else:  # one estimand per contrast: the units that can be at both levels with at least that probability
        tab = []
        for a, b in pairs:
            ka, kb = pr.level_code(a), pr.level_code(b)
            keep = mask & (pr.marginal[:, ka] >= min_probability) & (pr.marginal[:, kb] >= min_probability)
            if not keep.any():
                raise InputError(f"no unit has probability >= {min_probability:g} of both {a!r} and {b!r}; lower "
                                 "--min-probability or use a coarser mapping.")
            e = fn(yy, codes, pr, contrasts=[(a, b)], units=keep, confidence_level=confidence_level,
                   variance=variance)[0]
            tab.append(dataclasses.replace(e, note=(e.note + "; " if e.note else "") + f"over the {int(keep.sum())} "
                                           f"units with probability >= {min_probability:g} of both levels"))
    label = "Horvitz-Thompson" if kind == "ht" else "Hajek"
    label += f" ({m.name}, {'exact' if pr.exact else 'Monte Carlo'} probabilities)"
    obs = codes[idx]
    out = []
    for (a, b), e in zip(pairs, tab):
        npl = {a: int((obs == m.levels.index(a)).sum()), b: int((obs == m.levels.index(b)).sum())}
        out.append(_record(label, e, npl, f"{a} - {b}", why=(note + "; " if note else "") + f"{e.variance}; weights "
                           "from the design's " + ("exact" if pr.exact else "Monte Carlo") + " exposure probabilities"))
    return out


def quiet_call(fn, *args, **kw) -> Any:
    """Call ``fn`` with netexp's estimation warnings silenced (for repeated simulations)."""
    from ._errors import EstimationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EstimationWarning)
        return fn(*args, **kw)
