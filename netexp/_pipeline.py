"""The main job: the whole pipeline on one graph with simulated outcomes of known truth.

graph -> Leiden clusters -> individual and cluster assignments -> linear-in-means outcomes ->
naive, cluster-level and exposure-regression estimates against the true global and direct
effects, design-based Horvitz-Thompson and Hajek estimates of the full-neighbourhood contrast
under the cluster design (exact exposure probabilities), a randomization test of the cluster
design's difference in means (and, with ``n_reps``, bias and coverage over repeated experiments).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pandas as pd

from ._align import aligned
from ._errors import EstimationError
from ._validation import check_confidence_level, check_int, check_probability, dense_codes
from .clustering import Clustering, cluster
from .designs import Bernoulli, ClusterRandomized, Complete
from .estimators import Estimate, cluster_difference_in_means, cluster_ols, difference_in_means, exposure_regression
from .exposure import FullNeighborhood, exposure, exposure_probabilities
from .graph import read_graph
from .graph._examples import DEFAULT_GRAPH
from .simulate import LinearInMeans

__all__ = ["run_pipeline", "PipelineReport", "analyze"]


@aligned("z", "y", "clusters")
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
    randomization_test: dict | None = None
    _objects: dict | None = dataclasses.field(default=None, repr=False, compare=False)

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
                "estimates": records(self.estimates), "repeated": records(self.repeated),
                "randomization_test": None if self.randomization_test is None else
                {k: clean(v) for k, v in self.randomization_test.items()}}

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
        ]
        if "full_neighbourhood_effect" in t:
            lines.append(f"design-based (HT, Hajek): Y(treated) - Y(control) under full-neighbourhood exposure, exact "
                         f"probabilities under the cluster design, over the {s['n_full_neighbourhood_units']} units "
                         f"with probability >= {s['min_exposure_probability']:g} of both: truth "
                         f"{t['full_neighbourhood_effect']:.4f}")
        lines.append("")
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
            if s.get("n_reps_se") is not None and s["n_reps_se"] < s["n_reps"]:
                lines.append(f"(Horvitz-Thompson / Hajek: bias, rmse and sd over all {s['n_reps']} experiments; mean_se "
                             f"and coverage over the first {s['n_reps_se']}: the Aronow-Samii variance is costly)")
        if self.randomization_test is not None:
            rt = self.randomization_test
            lines += ["", f"randomization test of no effect, cluster design ({rt['statistic']}): observed "
                          f"{rt['observed']:.4f}, p = {rt['p_value']:.4g} ({rt['method']})"]
        return "\n".join(lines)

    def write_report(self, path, *, overwrite: bool = False, title: str | None = None):
        """Write one self-contained HTML report of the cluster-design experiment (:func:`netexp.write_report`).

        Sections: the design card, graph and clusters, covariate balance (the bundled graph's node
        table, when there is one), sample ratio mismatch, the cluster design's estimates with a
        forest plot against the truth, and the randomization test. Refuses to overwrite
        ``path`` unless ``overwrite``.
        """
        from ._report import write_report
        from .diagnostics import DesignCard, balance_table, srm_test

        o = self._objects
        if o is None:
            raise ValueError("this report was not produced by run_pipeline; nothing to write.")
        g, clustering, design, z = o["graph"], o["clustering"], o["design"], o["z"]
        card = DesignCard.from_objects(design=design, graph=g, clustering=clustering, mapping=FullNeighborhood(),
                                       estimators=list(dict.fromkeys(n for n, _ in o["estimates"])),
                                       title="netexp run: simulated experiment",
                                       estimand="global effect; full-neighbourhood contrast (design-based)")
        balance = None
        if o.get("node_table") is not None:
            balance = balance_table(o["node_table"], z, design=design, n_draws=200, rng=self.settings["seed"])
        srm = srm_test(z, design=design, clusters=design.labels)
        truth = {"global effect": self.truth["global_effect"], "direct effect": self.truth["direct_effect"],
                 "spillover effect": self.truth["spillover_effect"]}
        if "full_neighbourhood_effect" in self.truth:
            truth[_FN_ESTIMAND] = self.truth["full_neighbourhood_effect"]
        ests = {f"{name}: {e.estimand}": e for name, e in o["estimates"]}
        s = self.settings
        notes = [f"Simulated outcomes: Y = {s['baseline']} + {s['direct']}*T + {s['spillover']}*frac_treated_neighbours"
                 f" + N(0, {s['noise_sd']}^2), seed {s['seed']}.",
                 "Estimates are from the cluster-randomized assignment; the truth is known by simulation."]
        return write_report(path, title=title or f"netexp run: {g.name or 'graph'}", design_card=card, graph=g,
                            clustering=clustering, assignment=z, balance=balance, srm=srm, estimates=ests,
                            truth=truth, randomization_test=o["randomization_test"], notes=notes,
                            overwrite=overwrite)


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
    min_exposure_probability: float = 0.2,
    n_reps_se: int = 20,
    n_randomization_draws: int = 1000,
) -> PipelineReport:
    r"""Run the full netexp pipeline on one graph with simulated outcomes of known truth.

    Clusters the graph, draws an individual-level assignment (complete randomization, share
    ``p`` treated) and a cluster-level one (each cluster treated with probability ``p``,
    independently; with fewer than 20 clusters, complete randomization of clusters, so that both
    arms have clusters), simulates outcomes from the linear-in-means model, and compares each estimator
    with the true global and direct effects. Under the cluster design it adds the design-based
    Horvitz-Thompson and Hajek estimates of the full-neighbourhood contrast
    :math:`Y(\text{treated}) - Y(\text{control})` (:class:`~netexp.FullNeighborhood`, exact
    probabilities) over the units with probability at least ``min_exposure_probability`` of both
    conditions (their truth: the mean of :math:`Y_i(\mathbf 1) - Y_i(\mathbf 0)` over them), and a
    randomization test of the difference in means (``n_randomization_draws`` draws). With ``n_reps > 0`` the experiment is repeated on the same units with
    new assignments and new noise draws to measure bias, RMSE and coverage. (Noise is redrawn
    because the exposure regression's standard errors treat it as random; with the noise held
    fixed, a finite-population view, their coverage can fall a few points below nominal on
    graphs with dense communities.) The Aronow-Samii variance of the design-based estimators is
    computed for the first ``n_reps_se`` repetitions only (it costs a pass over all dependent
    pairs); their bias and RMSE use every repetition.

    Examples
    --------
    >>> import netexp as ne
    >>> report = ne.run_pipeline("karate", seed=1)
    >>> sorted(report.truth)
    ['direct_effect', 'full_neighbourhood_effect', 'global_effect', 'spillover_effect']
    """
    check_int("seed", seed, low=0)
    p = check_probability("p", p)
    check_confidence_level(confidence_level)
    n_reps = check_int("n_reps", n_reps, low=0)
    g = read_graph(graph)
    ss = np.random.SeedSequence(seed)
    s_cluster, s_noise, s_ind, s_cl, s_reps, s_rt = ss.spawn(6)
    clustering = cluster(g, cluster_method, resolution=resolution, target_clusters=target_clusters, rng=s_cluster)
    model = LinearInMeans(baseline=baseline, direct=direct, spillover=spillover, noise_sd=noise_sd)
    po = model.realize(g, rng=s_noise)
    truth = po.truth()
    ind_design = Complete(g.n_nodes, p=p)
    # Bernoulli over clusters: exact exposure probabilities *and* exact joints (the HT variance); with
    # few clusters it too often leaves an arm with < 2 clusters, so complete randomization of clusters
    # (exact marginals; no exact joints, so no design-based standard errors)
    K = clustering.n_clusters
    cl_design = ClusterRandomized(clustering, cluster_design=Bernoulli(K, p=p) if K >= _MIN_BERNOULLI_CLUSTERS
                                  else Complete(K, p=p))
    fn = _full_neighbourhood(g, cl_design, po, min_exposure_probability)
    truth_fn = dict(truth, full_neighbourhood_effect=fn["truth"])
    targets = {"global effect": truth["global_effect"], "direct effect": truth["direct_effect"],
               "spillover effect": truth["spillover_effect"], _FN_ESTIMAND: fn["truth"]}

    rows = []
    objects = {}
    for design_name, design, rng, clusters in (("individual", ind_design, s_ind, None),
                                               ("cluster", cl_design, s_cl, clustering.labels)):
        z = design.sample(rng=rng)
        y = po.outcomes(z)
        results = analyze(g, z, y, clusters=clusters, confidence_level=confidence_level)
        if design_name == "cluster":
            results += _design_based(g, z, y, fn, fn["probabilities"], confidence_level)
            objects.update(z=z, y=y, estimates=results)
        for label, est in results:
            target = targets[est.estimand]
            rows.append({"design": design_name, "estimator": label, **est.to_frame().iloc[0].to_dict(),
                         "truth": target, "covers_truth": est.covers(target)})
    estimates = pd.DataFrame(rows)
    from .inference import randomization_test

    rt = randomization_test(objects["y"], objects["z"], cl_design, n_draws=n_randomization_draws, rng=s_rt)

    repeated = None
    n_se = None
    if n_reps:
        n_se = min(n_reps, n_reps_se) if fn["probabilities"].joint_available else 0
        repeated = _repeat(g, po, targets, ind_design, cl_design, clustering, n_reps, s_reps, confidence_level,
                           progress, fn, n_se)

    info = g.info()
    csum = clustering.summary()
    settings = {"graph": str(graph) if not hasattr(graph, "n_nodes") else (g.name or "graph"), "seed": seed,
                "baseline": baseline, "direct": direct, "spillover": spillover, "noise_sd": noise_sd, "p": p,
                "cluster_method": cluster_method, "resolution": resolution, "target_clusters": target_clusters,
                "n_reps": n_reps, "confidence_level": confidence_level, "cluster_design": repr(cl_design),
                "min_exposure_probability": min_exposure_probability,
                "n_full_neighbourhood_units": int(fn["mask"].sum()), "n_reps_se": n_se,
                "n_randomization_draws": n_randomization_draws}
    node_table = None
    try:
        from .graph._examples import load_node_table

        if isinstance(graph, str):
            nt = load_node_table(graph)
            if len(nt) == g.n_nodes:
                pos = g.index_of(nt.iloc[:, 0].to_numpy())
                node_table = nt.iloc[np.argsort(pos), 1:].reset_index(drop=True)
    except Exception:  # no node table for this graph: the report's balance section says so
        node_table = None
    objects.update(graph=g, clustering=clustering, design=cl_design, randomization_test=rt, node_table=node_table)
    return PipelineReport(graph=info, clusters=csum, truth=truth_fn, estimates=estimates, repeated=repeated,
                          settings=settings, randomization_test=rt.to_dict(), _objects=objects)


_FN_ESTIMAND = "Y(treated) - Y(control)"
#: Fewest clusters for the Bernoulli cluster design of run_pipeline (else complete randomization).
_MIN_BERNOULLI_CLUSTERS = 20


def _full_neighbourhood(g, design, po, threshold):
    """Exact full-neighbourhood exposure probabilities under ``design``, the units with probability
    >= ``threshold`` of both conditions, and the truth of the contrast over them."""
    m = FullNeighborhood()
    pr = exposure_probabilities(g, design, m, method="exact")
    P = pr.marginal
    mask = np.minimum(P[:, m.levels.index("treated")], P[:, m.levels.index("control")]) >= threshold
    if not mask.any():
        raise EstimationError(f"no unit has probability >= {threshold:g} of both full-neighbourhood conditions; "
                              "lower min_exposure_probability or use larger clusters.")
    # point estimates alone (repeated experiments) need no joints
    pr_marginal = exposure_probabilities(g, design, m, method="exact", joint=False)
    return {"mapping": m, "probabilities": pr, "marginal_only": pr_marginal, "mask": mask,
            "truth": float(np.mean((po.y1 - po.y0)[mask]))}


def _design_based(g, z, y, fn, probabilities, confidence_level, codes=None):
    from ._analysis import quiet_call
    from .estimators import hajek, horvitz_thompson

    m = fn["mapping"]
    codes = m.map(g, z) if codes is None else codes
    out = []
    for label, f in (("Horvitz-Thompson (full neighbourhood)", horvitz_thompson),
                     ("Hajek (full neighbourhood)", hajek)):
        tab = quiet_call(f, y, codes, probabilities, contrasts=[("treated", "control")], units=fn["mask"],
                         confidence_level=confidence_level)
        out.append((label, tab[0]))
    return out


def _repeat(g, po, targets, ind_design, cl_design, clustering, n_reps, seed, confidence_level, progress, fn, n_se):
    from tqdm import tqdm

    rng = np.random.default_rng(seed)
    Zi = ind_design.sample_many(n_reps, rng=rng)
    Zc = cl_design.sample_many(n_reps, rng=rng)
    records = []
    noise_sd = po.model.noise_sd
    for design_name, Z, clusters in (("individual", Zi, None), ("cluster", Zc, clustering.labels)):
        # fresh noise per experiment: the exposure regression's model treats noise as random
        Y = po.outcomes(Z) - po.noise + rng.normal(0.0, noise_sd, Z.shape)
        codes = fn["mapping"].map_many(g, Z) if design_name == "cluster" else None
        bar = tqdm(range(n_reps), desc=f"{design_name} design", disable=None if progress is None else not progress,
                   leave=False)
        for r in bar:
            results = analyze(g, Z[r], Y[r], clusters=clusters, confidence_level=confidence_level)
            with_se = True
            if codes is not None:
                with_se = r < n_se
                pr = fn["probabilities"] if with_se else fn["marginal_only"]
                results = [(lab, e, True) for lab, e in results] + [
                    (lab, e, with_se) for lab, e in _design_based(g, Z[r], Y[r], fn, pr, confidence_level, codes[r])]
            else:
                results = [(lab, e, True) for lab, e in results]
            for label, est, se_ok in results:
                target = targets[est.estimand]
                records.append((design_name, label, est.estimand, est.estimate,
                                est.std_error if se_ok else np.nan, target,
                                float(est.covers(target)) if se_ok else np.nan))
    df = pd.DataFrame(records, columns=["design", "estimator", "estimand", "estimate", "std_error", "truth", "covers"])
    grouped = df.groupby(["design", "estimator", "estimand"], sort=False)
    out = grouped.agg(truth=("truth", "first"), mean_estimate=("estimate", "mean"), sd_estimate=("estimate", "std"),
                      mean_std_error=("std_error", "mean"), coverage=("covers", "mean")).reset_index()
    err = df["estimate"] - df["truth"]
    out["bias"] = out["mean_estimate"] - out["truth"]
    out["rmse"] = np.sqrt((err**2).groupby([df["design"], df["estimator"], df["estimand"]], sort=False).mean().to_numpy())
    out["n_reps"] = n_reps
    out["n_reps_se"] = grouped["std_error"].count().to_numpy()
    return out
