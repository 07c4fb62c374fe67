"""The main job: the whole pipeline on one graph with simulated outcomes of known truth.

graph -> Leiden clusters -> individual and cluster assignments -> linear-in-means outcomes ->
naive, cluster-level and exposure-regression estimates against the true global and direct
effects (and, with ``n_reps``, their bias and coverage over repeated experiments).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pandas as pd

from ._validation import check_confidence_level, check_int, check_probability, dense_codes
from .clustering import Clustering, cluster
from .designs import ClusterRandomized, Complete
from .estimators import Estimate, cluster_difference_in_means, cluster_ols, difference_in_means, exposure_regression
from .exposure import exposure
from .graph import read_graph
from .graph._examples import DEFAULT_GRAPH
from .simulate import LinearInMeans

__all__ = ["run_pipeline", "PipelineReport", "analyze"]


def analyze(graph, z, y, *, clusters=None, units=None, confidence_level: float = 0.95) -> list[tuple[str, Estimate]]:
    """Every estimator that applies to one observed experiment.

    Parameters
    ----------
    graph : Graph
    z : array of 0/1, shape (n_units,)
        The assignment of every unit of the graph (needed for neighbours' exposure).
    y : array of float
        Outcomes, for all units or for the units selected by ``units``.
    clusters : array of labels or Clustering, optional
        Randomization clusters. When the assignment is constant within them the cluster-level
        estimators are added and the exposure regression uses CR2 standard errors.
    units : array of int, optional
        Internal indices of the units whose outcomes ``y`` are (default: all).

    Returns
    -------
    list of (label, Estimate)
    """
    z = np.asarray(z).astype(bool)
    expo = exposure(graph, z)
    idx = np.arange(graph.n_nodes) if units is None else np.asarray(units)
    zs, fs, iso = expo.treatment[idx], expo.fraction[idx], expo.isolated[idx]
    labels = None
    if clusters is not None:
        labels = np.asarray(clusters.labels if isinstance(clusters, Clustering) else clusters)[idx]
    out = [("difference in means (ignores interference)",
            difference_in_means(y, zs, estimand="global effect", confidence_level=confidence_level))]
    cluster_design = False
    if labels is not None:
        _, cl = dense_codes(labels)
        zsum = np.bincount(cl, weights=zs)
        size = np.bincount(cl)
        cluster_design = bool(np.all((zsum == 0) | (zsum == size)))
        if cluster_design:
            out.append(("cluster means difference", cluster_difference_in_means(
                y, zs, labels, confidence_level=confidence_level)))
            out.append(("difference in means, CR2 clustered", cluster_ols(
                y, zs, labels, confidence_level=confidence_level)))
    er = exposure_regression(y, zs, fs, clusters=labels if cluster_design else None, isolated=iso,
                             confidence_level=confidence_level)
    label = "exposure regression" + (" (CR2)" if cluster_design else " (HC1)")
    out += [(label, er["global effect"]), (label, er["direct effect"]), (label, er["spillover effect"])]
    return out


@dataclasses.dataclass(frozen=True)
class PipelineReport:
    """Result of :func:`run_pipeline`: graph and cluster summaries, truth, estimates, coverage."""

    graph: dict
    clusters: dict
    truth: dict
    estimates: pd.DataFrame
    repeated: pd.DataFrame | None
    settings: dict

    def to_dict(self) -> dict:
        def clean(v):
            if isinstance(v, (np.floating, float)):
                return None if not np.isfinite(v) else float(v)
            if isinstance(v, (np.integer,)):
                return int(v)
            if isinstance(v, (np.bool_,)):
                return bool(v)
            return v

        def records(df):
            return None if df is None else [{k: clean(v) for k, v in r.items()} for r in df.to_dict("records")]

        return {"settings": self.settings, "graph": {k: clean(v) if not isinstance(v, dict) else v
                                                     for k, v in self.graph.items()},
                "clusters": {k: clean(v) for k, v in self.clusters.items()}, "truth": self.truth,
                "estimates": records(self.estimates), "repeated": records(self.repeated)}

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), indent=kw.pop("indent", 2), **kw)

    def __str__(self) -> str:
        g, c, t, s = self.graph, self.clusters, self.truth, self.settings
        lvl = int(round(100 * s["confidence_level"]))
        lines = [
            f"netexp run: graph {g['name']!r}: {g['n_nodes']} units, {g['n_edges']} edges, mean degree "
            f"{g['mean_degree']:.1f}, average clustering {g.get('average_clustering', float('nan')):.3f}",
            f"clusters ({c['method']}, resolution {c.get('resolution', 'n/a')}): {c['n_clusters']} clusters, sizes "
            f"{c['size_min']}-{c['size_max']} (median {c['size_median']:.0f}), modularity {c['modularity']:.3f}, "
            f"edges cut {100 * c['cut_fraction']:.1f}%, units with whole neighbourhood inside "
            f"{100 * c['interior_fraction']:.1f}%",
            f"outcome model: Y = {s['baseline']} + {s['direct']}*T + {s['spillover']}*frac_treated_neighbours + "
            f"N(0, {s['noise_sd']}^2)   seed {s['seed']}",
            f"truth: global effect {t['global_effect']:.4f}   direct effect {t['direct_effect']:.4f}   "
            f"spillover {t['spillover_effect']:.4f}",
            "",
        ]
        df = self.estimates.copy()
        show = pd.DataFrame({
            "design": df["design"], "estimator": df["estimator"], "estimand": df["estimand"],
            "estimate": df["estimate"].map("{:.4f}".format), "std_error": df["std_error"].map("{:.4f}".format),
            f"{lvl}% CI": [f"[{a:.4f}, {b:.4f}]" for a, b in zip(df["ci_low"], df["ci_high"])],
            "truth": df["truth"].map("{:.4f}".format),
            "covers": df["covers_truth"].map({True: "yes", False: "NO"}),
        })
        lines.append(show.to_string(index=False))
        if self.repeated is not None:
            r = self.repeated
            lines += ["", f"over {s['n_reps']} repeated experiments (same units, new assignments and noise):"]
            rs = pd.DataFrame({
                "design": r["design"], "estimator": r["estimator"], "estimand": r["estimand"],
                "bias": r["bias"].map("{:+.4f}".format), "rmse": r["rmse"].map("{:.4f}".format),
                "mean_se": r["mean_std_error"].map("{:.4f}".format), "sd_estimate": r["sd_estimate"].map("{:.4f}".format),
                "coverage": r["coverage"].map("{:.3f}".format),
            })
            lines.append(rs.to_string(index=False))
        return "\n".join(lines)


def run_pipeline(
    graph: Any = DEFAULT_GRAPH,
    *,
    seed: int = 2026,
    baseline: float = 0.05,
    direct: float = 0.2,
    spillover: float = 0.1,
    noise_sd: float = 0.01,
    p: float = 0.5,
    cluster_method: str = "leiden",
    resolution: float | None = None,
    target_clusters: int | None = None,
    n_reps: int = 0,
    confidence_level: float = 0.95,
    progress: bool | None = None,
) -> PipelineReport:
    """Run the full netexp pipeline on one graph with simulated outcomes of known truth.

    Clusters the graph, draws an individual-level assignment (complete randomization, share
    ``p`` treated) and a cluster-level one (complete randomization of clusters), simulates
    outcomes from the linear-in-means model, and compares each estimator with the true global
    and direct effects. With ``n_reps > 0`` the experiment is repeated on the same units with
    new assignments and new noise draws to measure bias, RMSE and coverage. (Noise is redrawn
    because the exposure regression's standard errors treat it as random; with the noise held
    fixed, a finite-population view, their coverage can fall a few points below nominal on
    graphs with dense communities.)

    Examples
    --------
    >>> import netexp as ne
    >>> report = ne.run_pipeline("karate", seed=1)
    >>> sorted(report.truth)
    ['direct_effect', 'global_effect', 'spillover_effect']
    """
    check_int("seed", seed, low=0)
    p = check_probability("p", p)
    check_confidence_level(confidence_level)
    n_reps = check_int("n_reps", n_reps, low=0)
    g = read_graph(graph)
    ss = np.random.SeedSequence(seed)
    s_cluster, s_noise, s_ind, s_cl, s_reps = ss.spawn(5)
    clustering = cluster(g, cluster_method, resolution=resolution, target_clusters=target_clusters, rng=s_cluster)
    model = LinearInMeans(baseline=baseline, direct=direct, spillover=spillover, noise_sd=noise_sd)
    po = model.realize(g, rng=s_noise)
    truth = po.truth()
    ind_design = Complete(g.n_nodes, p=p)
    cl_design = ClusterRandomized(clustering, p=p)

    rows = []
    for design_name, design, rng, clusters in (("individual", ind_design, s_ind, None),
                                               ("cluster", cl_design, s_cl, clustering.labels)):
        z = design.sample(rng=rng)
        y = po.outcomes(z)
        for label, est in analyze(g, z, y, clusters=clusters, confidence_level=confidence_level):
            target = {"global effect": truth["global_effect"], "direct effect": truth["direct_effect"],
                      "spillover effect": truth["spillover_effect"]}[est.estimand]
            rows.append({"design": design_name, "estimator": label, **est.to_frame().iloc[0].to_dict(),
                         "truth": target, "covers_truth": est.covers(target)})
    estimates = pd.DataFrame(rows)

    repeated = None
    if n_reps:
        repeated = _repeat(g, po, truth, ind_design, cl_design, clustering, n_reps, s_reps, confidence_level, progress)

    info = g.info()
    csum = clustering.summary()
    settings = {"graph": str(graph) if not hasattr(graph, "n_nodes") else (g.name or "graph"), "seed": seed,
                "baseline": baseline, "direct": direct, "spillover": spillover, "noise_sd": noise_sd, "p": p,
                "cluster_method": cluster_method, "resolution": resolution, "target_clusters": target_clusters,
                "n_reps": n_reps, "confidence_level": confidence_level}
    return PipelineReport(graph=info, clusters=csum, truth=truth, estimates=estimates, repeated=repeated,
                          settings=settings)


def _repeat(g, po, truth, ind_design, cl_design, clustering, n_reps, seed, confidence_level, progress):
    from tqdm import tqdm

    rng = np.random.default_rng(seed)
    Zi = ind_design.sample_many(n_reps, rng=rng)
    Zc = cl_design.sample_many(n_reps, rng=rng)
    records = []
    noise_sd = po.model.noise_sd
    for design_name, Z, clusters in (("individual", Zi, None), ("cluster", Zc, clustering.labels)):
        # fresh noise per experiment: the exposure regression's model treats noise as random
        Y = po.outcomes(Z) - po.noise + rng.normal(0.0, noise_sd, Z.shape)
        bar = tqdm(range(n_reps), desc=f"{design_name} design", disable=None if progress is None else not progress,
                   leave=False)
        for r in bar:
            for label, est in analyze(g, Z[r], Y[r], clusters=clusters, confidence_level=confidence_level):
                target = {"global effect": truth["global_effect"], "direct effect": truth["direct_effect"],
                          "spillover effect": truth["spillover_effect"]}[est.estimand]
                records.append((design_name, label, est.estimand, est.estimate, est.std_error, target,
                                est.covers(target)))
    df = pd.DataFrame(records, columns=["design", "estimator", "estimand", "estimate", "std_error", "truth", "covers"])
    grouped = df.groupby(["design", "estimator", "estimand"], sort=False)
    out = grouped.agg(truth=("truth", "first"), mean_estimate=("estimate", "mean"), sd_estimate=("estimate", "std"),
                      mean_std_error=("std_error", "mean"), coverage=("covers", "mean")).reset_index()
    err = df["estimate"] - df["truth"]
    out["bias"] = out["mean_estimate"] - out["truth"]
    out["rmse"] = np.sqrt((err**2).groupby([df["design"], df["estimator"], df["estimand"]], sort=False).mean().to_numpy())
    out["n_reps"] = n_reps
    return out
