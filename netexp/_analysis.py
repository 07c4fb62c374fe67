"""The logic behind ``netexp analyze`` / ``test`` / ``report``: rebuild the design of an observed
assignment, read another tool's draws, and run the chosen estimators into flat records.

Every number comes from the public estimators; this module only routes inputs to them.
"""

from __future__ import annotations

import dataclasses
import json
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
                        clusters_path=None, assignment_frame: pd.DataFrame | None = None):
    """The design that produced ``z``: ``(design, clustering or None, source)``.

    ``design`` given: rebuilt from the observed assignment (``complete``: the observed number
    treated; ``bernoulli``: the observed share; ``cluster``: complete randomization of the
    observed number of treated clusters of ``clusters_path``; ``cluster-bernoulli``: Bernoulli over
    clusters at the observed share; ``saturation`` / ``mixed`` / ``graph-cluster``: the network
    designs with default options). Otherwise the assignment's ``.design.json`` sidecar, if any;
    else ``(None, clustering or None, None)``.
    """
    from ._assign import build_design, sidecar_path
    from .designs import Bernoulli, ClusterRandomized, Complete

    n = graph.n_nodes
    clustering = _labels_and_clustering(graph, clusters_path) if clusters_path else None
    if design is None:
        if assignment_path is not None and sidecar_path(assignment_path).exists():
            side = sidecar_path(assignment_path)
            spec = dict(json.loads(side.read_text())["spec"])
            if spec.get("clusters") and not Path(spec["clusters"]).exists():
                rec = json.loads(side.read_text()).get("inputs", {}).get("clusters") or {}
                for cand in (rec.get("abs_path"), side.parent / Path(spec["clusters"]).name):
                    if cand and Path(cand).exists():
                        spec["clusters"] = str(cand)
                        break
            d, cl = build_design(spec, graph)
            return d, cl if cl is not None else clustering, f"sidecar {side.name}"
        return None, clustering, None
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


def default_estimators(*, mapping: str, design, clustering, cluster_constant: bool, has_saturation: bool,
                       has_covariates: bool) -> list[str]:
    """The estimators that apply: naive and the exposure regression always; cluster-level ones for
    cluster assignments; HT and Hajek when a design and a level mapping are known; two-stage for
    saturation assignments; Lin with covariates."""
    out = ["naive"]
    if cluster_constant:
        out.append("cluster")
    out.append("regression")
    if design is not None and mapping != "fraction":
        out += ["ht", "hajek"]
    if has_saturation and clustering is not None:
        out.append("two-stage")
    if has_covariates:
        out.append("lin")
    return out


def _record(estimator: str, e, n_per_level: dict | None = None, contrast: str | None = None) -> dict:
    d = e.to_dict()
    d.update({"estimator": estimator, "contrast": contrast or e.estimand, "ci_lower": e.ci[0], "ci_upper": e.ci[1],
              "n_per_level": n_per_level or {}, "_estimate": e})
    return d


def run_analysis(graph, z, units, y, *, estimators=None, mapping: str = "fraction", hops: int = 1,
                 q: float | None = None, design=None, clustering=None, probabilities: str | None = None,
                 draws=None, n_draws: int = 10_000, convention: str = "netexp", covariates: pd.DataFrame | None = None,
                 contrast=None, saturation=None, confidence_level: float = 0.95, rng=None,
                 min_probability: float | None = None) -> list[dict]:
    """Run the estimators of ``netexp analyze`` on one observed experiment; one record per (estimator, contrast).

    ``units`` are the internal indices of the units with outcomes ``y``; ``saturation`` the
    per-unit saturation column of a randomized-saturation assignment; ``covariates`` a frame in
    node order. Records hold the :class:`~netexp.Estimate` fields plus ``estimator``,
    ``contrast``, ``ci_lower``, ``ci_upper``, ``n_per_level`` and ``_estimate`` (the Estimate itself).
    ``min_probability`` restricts the design-based estimands to the units whose probability of
    both contrast levels is at least that value (the estimand changes accordingly: say so).
    """
    from ._validation import dense_codes
    from .estimators import (cluster_difference_in_means, cluster_ols, difference_in_means, exposure_regression)
    from .exposure import exposure

    z = np.asarray(z).astype(bool)
    idx = np.asarray(units)
    y = np.asarray(y, dtype=float)
    zs = z[idx]
    labels = clustering.labels[idx] if clustering is not None else None
    cluster_constant = False
    if labels is not None:
        _, cl = dense_codes(labels)
        zsum = np.bincount(cl, weights=zs)
        cluster_constant = bool(np.all((zsum == 0) | (zsum == np.bincount(cl))))
    if estimators is None:
        estimators = default_estimators(mapping=mapping, design=design, clustering=clustering,
                                        cluster_constant=cluster_constant, has_saturation=saturation is not None,
                                        has_covariates=covariates is not None)
    unknown = [e for e in estimators if e not in ANALYSIS_ESTIMATORS]
    if unknown:
        raise InputError(f"estimators must be among {', '.join(ANALYSIS_ESTIMATORS)}; got {unknown}.")
    arms = {"treated": int(zs.sum()), "control": int((~zs).sum())}
    cov = covariates.iloc[idx].reset_index(drop=True) if covariates is not None else None
    out: list[dict] = []
    for name in estimators:
        if name == "naive":
            e = difference_in_means(y, zs, estimand="global effect", confidence_level=confidence_level)
            out.append(_record("difference in means (ignores interference)", e, arms, "treated - control"))
        elif name == "cluster":
            if labels is None:
                raise InputError("--estimators cluster needs --clusters clusters.csv (or a cluster design's sidecar).")
            if not cluster_constant:
                raise InputError("--estimators cluster: treatment varies within clusters; the cluster-level "
                                 "estimators need a cluster-randomized assignment.")
            out.append(_record("cluster means difference", cluster_difference_in_means(
                y, zs, labels, confidence_level=confidence_level), arms, "treated - control"))
            out.append(_record("difference in means, CR2 clustered", cluster_ols(
                y, zs, labels, confidence_level=confidence_level), arms, "treated - control"))
        elif name == "regression":
            expo = exposure(graph, z)
            er = exposure_regression(y, zs, expo.fraction[idx], clusters=labels if cluster_constant else None,
                                     isolated=expo.isolated[idx], covariates=cov, confidence_level=confidence_level)
            label = "exposure regression" + (" (CR2)" if cluster_constant else " (HC1)")
            for est in ("global effect", "direct effect", "spillover effect"):
                out.append(_record(label, er[est], arms))
        elif name == "lin":
            from .estimators._lin import lin_estimator

            if cov is None:
                raise InputError("--estimators lin needs --covariates FILE (pre-treatment covariates by node id).")
            out.append(_record("Lin (covariate-adjusted)", lin_estimator(y, zs, cov, confidence_level=confidence_level),
                               arms, "treated - control"))
        elif name == "two-stage":
            from .estimators._two_stage import two_stage_estimates

            if saturation is None or labels is None:
                raise InputError("--estimators two-stage needs a saturation assignment (its `saturation` column) and "
                                 "its clusters.")
            sat = np.asarray(saturation, dtype=float)[idx]
            levels = sorted(set(sat.tolist()))
            if len(levels) < 2:
                raise InputError("--estimators two-stage needs at least two saturation levels in the assignment.")
            for a in levels[1:]:
                tab = two_stage_estimates(y, zs, labels, sat, alpha=a, alpha_prime=levels[0],
                                          confidence_level=confidence_level)
                for e in tab:
                    out.append(_record("two-stage (Hudgens-Halloran)", e, arms))
        elif name in ("ht", "hajek"):
            out += _design_based(name, graph, z, idx, y, mapping=mapping, hops=hops, q=q, design=design,
                                 probabilities=probabilities, draws=draws, n_draws=n_draws, convention=convention,
                                 contrast=contrast, confidence_level=confidence_level, rng=rng,
                                 min_probability=min_probability)
    return out


_PROB_CACHE: dict = {}


def _design_based(kind, graph, z, idx, y, *, mapping, hops, q, design, probabilities, draws, n_draws, convention,
                  contrast, confidence_level, rng, min_probability=None):
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
    pr = _PROB_CACHE.get(key)
    if pr is None:
        method = probabilities or ("monte-carlo" if draws is not None else "auto")
        pr = exposure_probabilities(graph, design, m, method=method, n_draws=n_draws, draws=draws, rng=rng,
                                    convention=convention)
        _PROB_CACHE.clear()
        _PROB_CACHE[key] = pr
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
    if min_probability is None:
        tab = fn(yy, codes, pr, contrasts=pairs, units=mask, confidence_level=confidence_level)
    else:  # one estimand per contrast: the units that can be at both levels with at least that probability
        tab = []
        for a, b in pairs:
            ka, kb = pr.level_code(a), pr.level_code(b)
            keep = mask & (pr.marginal[:, ka] >= min_probability) & (pr.marginal[:, kb] >= min_probability)
            if not keep.any():
                raise InputError(f"no unit has probability >= {min_probability:g} of both {a!r} and {b!r}; lower "
                                 "--min-probability or use a coarser mapping.")
            e = fn(yy, codes, pr, contrasts=[(a, b)], units=keep, confidence_level=confidence_level)[0]
            tab.append(dataclasses.replace(e, note=(e.note + "; " if e.note else "") + f"over the {int(keep.sum())} "
                                           f"units with probability >= {min_probability:g} of both levels"))
    label = "Horvitz-Thompson" if kind == "ht" else "Hajek"
    label += f" ({m.name}, {'exact' if pr.exact else 'Monte Carlo'} probabilities)"
    obs = codes[idx]
    out = []
    for (a, b), e in zip(pairs, tab):
        npl = {a: int((obs == m.levels.index(a)).sum()), b: int((obs == m.levels.index(b)).sum())}
        out.append(_record(label, e, npl, f"{a} - {b}"))
    return out


def quiet_call(fn, *args, **kw) -> Any:
    """Call ``fn`` with netexp's estimation warnings silenced (for repeated simulations)."""
    from ._errors import EstimationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EstimationWarning)
        return fn(*args, **kw)
