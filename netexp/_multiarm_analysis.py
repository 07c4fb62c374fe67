"""k-arm experiments in the command line: read an ``arm`` assignment, find its design, run the per-pair rows.

The CLI stays thin: it parses flags and calls these, which call the public k-arm API
(:func:`~netexp.multiarm_difference_in_means`, :func:`~netexp.multiarm_randomization_test`,
:func:`~netexp.multiarm_srm_test`, :func:`~netexp.multiarm_exposure_contrasts`,
:func:`~netexp.multiarm_recentred_regression`).
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np
import pandas as pd

from ._errors import InputError, NetexpError

__all__ = ["is_multiarm_assignment", "read_arms", "multiarm_design_for_analysis", "run_multiarm_analysis",
           "MULTIARM_ESTIMATORS", "ARM_DESIGN_CHOICES"]

TREATMENT_COLUMNS = ("treatment", "z", "assignment", "treated")
#: estimators of `netexp analyze` on a k-arm assignment
MULTIARM_ESTIMATORS = ("naive", "cluster", "regression", "ht", "hajek")
#: --design values that describe a k-arm assignment made elsewhere (no sidecar)
ARM_DESIGN_CHOICES = ("complete", "bernoulli", "cluster")


def is_multiarm_assignment(assignment_path, frame: pd.DataFrame | None) -> bool:
    """A k-arm assignment: its sidecar names arms, or (no sidecar) it has an ``arm`` column and no 0/1 column."""
    from ._assign import is_multiarm_spec, load_sidecar, sidecar_path

    side = sidecar_path(assignment_path)
    if side.exists():
        return is_multiarm_spec(load_sidecar(side)["spec"])
    cols = set(frame.columns) if frame is not None else set()
    return "arm" in cols and not cols & set(TREATMENT_COLUMNS)


def read_arms(graph, frame: pd.DataFrame, path) -> np.ndarray:
    """The ``arm`` column in node order (strings); every unit of the graph needs one."""
    if "arm" not in frame.columns:
        raise InputError(f"{path}: a k-arm assignment needs an `arm` column (arm names); columns are "
                         f"{list(frame.columns)}.")
    vals = frame["arm"]
    if vals.isna().any():
        raise InputError(f"{path}: {int(vals.isna().sum())} rows have no arm; every unit needs one.")
    from ._io_utils import positions_of_every_unit

    pos = positions_of_every_unit(graph, frame[frame.columns[0]].to_numpy(), path, "arm")
    out = np.empty(graph.n_nodes, dtype=object)
    out[pos] = vals.astype(str).to_numpy()
    return out


def _order_arms(names, control):
    names = sorted(set(names), key=str)
    if control is not None:
        if control not in names:
            raise InputError(f"--control {control!r} is not an arm of the assignment; arms are {names}.")
        names.remove(control)
        names.insert(0, control)
    return names


def multiarm_design_for_analysis(graph, labels: np.ndarray, *, assignment_path, design: str | None = None,
                                 clusters_path=None, frame: pd.DataFrame | None = None, control=None):
    """``(design, codes, clustering or None, source)`` of a k-arm assignment.

    The sidecar's design (its arm order: the first arm is the control unless ``control`` names
    another); else ``design`` rebuilt from the observed arms (``complete``: the observed arm sizes;
    ``bernoulli``: the observed shares; ``cluster``: complete randomization of the observed numbers of
    clusters per arm). An arm of the design with no unit, or a unit in an arm the design does not
    have, is an error.
    """
    from ._assign import build_design, check_multiarm_assignment, sidecar_path, sidecar_spec
    from .clustering import Clustering
    from .designs import MultiArmBernoulli, MultiArmCluster, MultiArmComplete

    side = sidecar_path(assignment_path)
    clustering = None
    if design is None and side.exists():
        d, clustering = build_design(sidecar_spec(side), graph)
        source = f"sidecar {side.name}"
        names = list(d.arms)
        unknown = sorted(set(labels.tolist()) - set(names))
        if unknown:
            raise InputError(f"{assignment_path}: arms {unknown} are not arms of the design in {side.name} "
                             f"({names}); the file was edited, or belongs to another design.")
    else:
        if design is None:
            raise InputError("the k-arm assignment has no .design.json sidecar; say how it was randomized with "
                             "--design complete (fixed arm sizes), bernoulli (independent draws) or cluster "
                             "(whole clusters, with --clusters FILE or a cluster column).")
        if design not in ARM_DESIGN_CHOICES:
            raise InputError(f"--design for a k-arm assignment must be one of {', '.join(ARM_DESIGN_CHOICES)}; "
                             f"got {design!r}.")
        names = _order_arms(labels.tolist(), control)
        if len(names) < 2:
            raise InputError(f"{assignment_path}: every unit is in arm {names}; a comparison needs at least 2 arms.")
        codes = pd.Index(names).get_indexer(labels)
        n = graph.n_nodes
        if design == "cluster":
            if clusters_path:
                clustering = Clustering.read_csv(graph, clusters_path)
            elif frame is not None and "cluster" in frame.columns:
                clustering = Clustering.from_frame(graph, frame[[frame.columns[0], "cluster"]],
                                                   node_column=frame.columns[0], cluster_column="cluster")
            else:
                raise InputError("--design cluster needs --clusters FILE (or a cluster column in the assignment).")
            lab = clustering.labels
            first = np.full(clustering.n_clusters, -1, dtype=np.int64)
            first[lab[::-1]] = codes[::-1]
            if (codes != first[lab]).any():
                raise InputError("--design cluster: the arm varies inside some clusters; this is not a "
                                 "cluster-randomized assignment.")
            d = MultiArmCluster(clustering, MultiArmComplete(clustering.n_clusters, arms=names,
                                                             m_each=np.bincount(first, minlength=len(names))))
            source = "observed cluster counts per arm"
        elif design == "complete":
            d = MultiArmComplete(n, arms=names, m_each=np.bincount(codes, minlength=len(names)))
            source = "observed arm sizes"
        else:
            d = MultiArmBernoulli(n, arms=names, prob_each=np.bincount(codes, minlength=len(names)) / n)
            source = "observed arm shares"
    if control is not None and control not in d.arms:
        raise InputError(f"--control {control!r} is not an arm; arms are {list(d.arms)}.")
    codes = pd.Index(list(d.arms)).get_indexer(labels).astype(np.int64)
    counts = np.bincount(codes, minlength=d.n_arms)
    never = [a for a, c in zip(d.arms, counts) if c == 0]
    if never:
        raise InputError(f"{assignment_path}: arm(s) {never} of the design ({source}) were never assigned: no unit "
                         "is in them, so nothing can be estimated for them. Drop them from --arms and draw again, "
                         "or check the file.")
    check_multiarm_assignment(codes, d, where=f"{assignment_path} ({source})")
    return d, codes, clustering, source


def _pairs(arms, control, comparisons):
    c = 0 if control is None else list(arms).index(control)
    if comparisons == "all":
        return [(a, b) for a in range(len(arms)) for b in range(a + 1, len(arms))]
    return [(c, b) for b in range(len(arms)) if b != c]


def run_multiarm_analysis(graph, codes, units, y, design, *, estimators=None, control=None,
                          comparisons: str = "vs-control", confidence_level: float = 0.95, rng=None,
                          n_draws: int = 10_000, probabilities: str | None = None,
                          min_probability: float | None = None, q: float = 1.0) -> list[dict]:
    """One record per (estimator, pair of arms), in the format of :func:`netexp._analysis.run_analysis`.

    ``codes`` are every unit's arm codes of ``design.arms``; ``units`` the internal indices with
    outcomes ``y``. Default estimators: ``naive`` (difference in means per pair, Neyman) for unit
    designs, ``cluster`` (the same by CR2 over the randomized clusters) for cluster designs, and
    ``regression`` (the exposure regression on the share of neighbours in each arm, raw and
    recentred by its expectation under the design).
    """
    from ._analysis import _failed, _record
    from .designs import MultiArmCluster
    from .estimators._multiarm import multiarm_difference_in_means

    idx = np.asarray(units)
    y = np.asarray(y, dtype=float)
    arms = list(design.arms)
    cluster_design = isinstance(design, MultiArmCluster)
    labels = np.asarray(design.labels_of_units) if cluster_design else None
    if estimators is None:
        estimators = ["cluster" if cluster_design else "naive", "regression"]
    unknown = [e for e in estimators if e not in MULTIARM_ESTIMATORS]
    if unknown:
        raise InputError(f"--estimators for a k-arm assignment must be among {', '.join(MULTIARM_ESTIMATORS)}; "
                         f"got {unknown}.")
    pairs = _pairs(arms, control, comparisons)
    zs = codes[idx]
    out: list[dict] = []
    n_obs = int(idx.shape[0])

    def counts(a, b):
        return {arms[a]: int((zs == a).sum()), arms[b]: int((zs == b).sum())}

    for est in estimators:
        try:
            if est in ("naive", "cluster"):
                if est == "cluster" and not cluster_design:
                    raise InputError("the cluster estimator needs whole clusters randomized; this design randomized "
                                     "units individually.")
                cl = labels[idx] if est == "cluster" else None
                tab = multiarm_difference_in_means(y, zs, arms=arms, control=arms[pairs[0][0]],
                                                   comparisons=comparisons, clusters=cl,
                                                   confidence_level=confidence_level)
                name = ("difference in means (ignores interference)" if est == "naive"
                        else "difference in means, CR2 clustered")
                why = ("Neyman variance per pair of arms; units randomized individually" if est == "naive" else
                       f"CR2 clustered by the {design.n_clusters} randomized clusters")
                if est == "naive" and cluster_design:
                    why += ("; NOTE: whole clusters were randomized, so this unit-level standard error is too small "
                            "(use the cluster rows)")
                for (a, b), e in zip(pairs, tab):
                    out.append(_record(name, e, counts(a, b), f"{arms[b]} - {arms[a]}", why=why))
            elif est == "regression":
                from .estimators._recentred import multiarm_recentred_regression

                fit = multiarm_recentred_regression(_full(graph, idx, y), codes, graph, design, units=idx,
                                                    control=arms[pairs[0][0]], confidence_level=confidence_level,
                                                    rng=rng)
                for version, tab in (("raw", fit.raw), ("recentred", fit.recentred)):
                    for e in tab:
                        out.append(_record(f"exposure regression on arm shares ({version})", e, {},
                                           e.estimand, why=f"{e.variance}; {fit.expected_method}; assumes outcomes "
                                           "linear in own arm and the share of neighbours in each arm"))
            else:
                from .estimators._multiarm import multiarm_exposure_contrasts

                res = multiarm_exposure_contrasts(_full(graph, idx, y), codes, graph, design, units=idx,
                                                  control=arms[pairs[0][0]], estimator=est,
                                                  method=probabilities or "auto", n_draws=n_draws, rng=rng,
                                                  min_probability=min_probability, q=q,
                                                  confidence_level=confidence_level)
                for e in res:
                    out.append(_record(f"{'Horvitz-Thompson' if est == 'ht' else 'Hajek'} (k-arm exposure)", e,
                                       {}, e.estimand, why=f"{e.variance}; exposure level 'all a' = the unit and "
                                       + ("all its neighbours" if q == 1 else f"at least {q:g} of its neighbours")
                                       + " in arm a; " + (e.note or "")))
        except NetexpError as exc:
            for a, b in pairs:
                out.append(_failed(est, f"{arms[b]} - {arms[a]}", str(exc), n_obs))
    if not any(r["status"] == "ok" for r in out):
        raise InputError("no estimator could be computed: " + "; ".join(
            f"{r['estimator']}: {r['status']}" for r in out[:3]))
    return out


def _full(graph, idx, y):
    """Outcomes in node order, NaN where missing."""
    yy = np.full(graph.n_nodes, np.nan)
    yy[idx] = y
    return yy


def multiarm_tests(codes, units, y, design, *, control=None, comparisons: str = "vs-control",
                   n_draws: int = 2000, rng=None, alternative: str | None = None) -> list:
    """The F test across all arms, then one difference-in-means test per pair, null draws from the design."""
    from .designs._multiarm import MultiArmSubset
    from .inference import multiarm_randomization_test

    idx = np.sort(np.asarray(units))
    order = np.argsort(np.asarray(units))
    yy = np.asarray(y, dtype=float)[order]
    sub = design if idx.shape[0] == design.n_units else MultiArmSubset(design, idx)
    arms = list(design.arms)
    out = [multiarm_randomization_test(yy, codes[idx], sub, statistic="F", n_draws=n_draws, rng=rng)]
    for a, b in _pairs(arms, control, comparisons):
        out.append(multiarm_randomization_test(yy, codes[idx], sub, statistic=(arms[a], arms[b]), n_draws=n_draws,
                                               rng=rng, alternative=alternative))
    return out


def multiarm_srm(codes, units, design, *, alpha: float = 0.001):
    """Sample ratio test across arms of the analyzed units: unit counts for unit designs; for a cluster
    design, the arms of the clusters with an analyzed unit (unit counts of whole clusters are not
    multinomial, the clusters' arms are)."""
    from .designs import MultiArmCluster
    from .diagnostics import multiarm_srm_test

    idx = np.asarray(units)
    if isinstance(design, MultiArmCluster):
        lab = np.asarray(design.labels_of_units)
        seen = np.unique(lab[idx])
        first = np.full(design.n_clusters, -1, dtype=np.int64)
        first[lab] = codes
        inner = design.cluster_design
        res = multiarm_srm_test(first[seen], prob_each=np.asarray(inner.probabilities).mean(0), arms=design.arms,
                                alpha=alpha)
        return dataclasses.replace(res, message=res.message + f" (counted in clusters: {seen.shape[0]} of "
                                   f"{design.n_clusters} randomized clusters have analyzed units)")
    return multiarm_srm_test(codes[idx], prob_each=np.asarray(design.probabilities)[idx].mean(0), arms=design.arms,
                             alpha=alpha)


def quiet(fn, *args, **kw) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)
