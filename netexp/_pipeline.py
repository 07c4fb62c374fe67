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
import sys
import time
from typing import Any

import numpy as np
import pandas as pd

from ._align import aligned
from ._errors import EstimationError
from ._validation import check_confidence_level, check_int, check_probability, dense_codes
from .clustering import Clustering, cluster
from .designs import Bernoulli, ClusterRandomized, Complete
from .estimators import Estimate, cluster_difference_in_means, cluster_ols, difference_in_means, exposure_regression
from .estimators import _hac
from .estimators._hac import network_hac_bandwidth, network_hac_is_cheap
from .exposure import FullNeighborhood, exposure, exposure_probabilities
from .graph import read_graph
from .graph._examples import DEFAULT_GRAPH
from .simulate import LinearInMeans

__all__ = ["run_pipeline", "PipelineReport", "analyze"]


@aligned("z", "y", "clusters")
def analyze(graph, z, y, *, clusters=None, units=None, confidence_level: float = 0.95,
            design=None) -> list[tuple[str, Estimate]]:
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
        estimators are added and the exposure regression uses CR2 standard errors (with ``design``: see below).
        Otherwise (units randomized) the exposure regression uses the network HAC
        (:func:`netexp.exposure_regression`, ``cov_type="network-HAC"``, Leung's bandwidth): two
        units whose neighbourhoods overlap share neighbours' treatments, so their errors and their
        exposures are dependent, which HC1 ignores (it under-covered the spillover effect in
        ``netexp run``: 0.920 +- 0.012 over 500 repetitions); the HAC lets the scores of units within
        the bandwidth be correlated. With ``units`` (a subset) the graph's distances do not apply to
        ``y`` alone, and HC1 is used; also when the pairs within the bandwidth are too many for the
        HAC's cached kernel matrix (``network_hac_is_cheap``: e.g. a 10^5-unit social network at
        bandwidth 3 has 1.7 x 10^8 of them, and one HAC fit takes over a minute).
    units : array of int, optional
        Internal indices of the units whose outcomes ``y`` are (default: all).
    design : ClusterRandomized, optional
        The cluster design that drew ``z``. With it (and every unit's outcome), the cluster design's
        exposure regression takes the design-based variance over the cluster draws instead of CR2
        (:func:`netexp.estimators._draw_variance.cluster_draw_estimates`): a cluster's exposures
        depend on the draws of the clusters bordering it, so cluster scores are not independent and
        CR2 under-covered (0.922-0.934 in ``benchmarks/bench_intervals_exposure.py --main-design``);
        each unit's score is attributed to the independent draws that move it instead.

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
    er = None
    if cluster_design and design is not None and units is None:
        from ._errors import InputError
        from .estimators import exposure_regression_fit
        from .estimators._draw_variance import cluster_draw_estimates

        try:
            er = cluster_draw_estimates(exposure_regression_fit(y, zs, fs, isolated=iso), graph, design,
                                        confidence_level=confidence_level)
            label = "exposure regression (cluster draws)"
        except InputError:   # not a design whose draws set the regressors (or no joint probabilities): CR2
            er = None
        if er is not None and not all(np.isfinite(e.std_error) for e in er):
            er = None        # too few clusters for its degrees of freedom (e.g. 4): CR2, as without design
    if er is not None:
        pass
    elif cluster_design:
        er = exposure_regression(y, zs, fs, clusters=labels, isolated=iso, confidence_level=confidence_level)
        label = "exposure regression (CR2)"
    elif units is None and network_hac_is_cheap(graph):
        # the graph-only pieces of the HAC (bandwidth, kernel matrix) are cached on the graph: repeated calls
        # cost a few sparse products
        er = exposure_regression(y, zs, fs, isolated=iso, graph=graph, cov_type="network-HAC",
                                 confidence_level=confidence_level)
        label = "exposure regression (network HAC)"
    else:
        er = exposure_regression(y, zs, fs, isolated=iso, confidence_level=confidence_level)
        label = "exposure regression (HC1)"
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
        lines = _header_lines(self.graph, self.clusters, self.settings, self.truth)
        lines += [""] + _estimate_lines(self.estimates, self.settings)
        if self.randomization_test is not None:
            lines += [""] + _rt_lines(self.randomization_test)
        if self.repeated is not None:
            lines += [""] + _repeated_lines(self.repeated, self.settings)
        return "\n".join(lines)

    def write_report(self, path, *, overwrite: bool = False, title: str | None = None, card=None):
        """Write one self-contained HTML readout of the cluster-design experiment (:func:`netexp.write_report`).

        The headline is the cluster design's exposure-regression estimate of the global effect
        with the simulated outcome's arm means; then the design card (``card``: a DesignCard or the
        path of one written by ``netexp card``; default: one filled with what the run knows), SRM,
        covariate balance (the bundled graph's node table, when there is one), every estimate of the
        cluster design with a forest plot against the truth, the randomization test, graph and
        clusters. Refuses to overwrite ``path`` unless ``overwrite``.
        """
        from ._report import _resolve_card, write_report
        from .diagnostics import DesignCard, balance_table, srm_test

        o = self._objects
        if o is None:
            raise ValueError("this report was not produced by run_pipeline; nothing to write.")
        g, clustering, design, z = o["graph"], o["clustering"], o["design"], o["z"]
        if card is None:
            card = DesignCard.from_objects(
                design=design, graph=g, clustering=clustering, mapping=FullNeighborhood(),
                estimators=list(dict.fromkeys(n for n, _ in o["estimates"])),
                title="netexp run: simulated experiment",
                business_decision="Does treating everyone raise the outcome (global effect)? A simulated dry run "
                                  "with known truth.",
                primary_outcome="outcome (simulated)",
                estimand="global effect; full-neighbourhood contrast (design-based)")
        else:
            card = _resolve_card(card, None)
        balance = None
        if o.get("node_table") is not None:
            balance = balance_table(o["node_table"], z, design=design, n_draws=200, rng=self.settings["seed"])
        srm = srm_test(z, design=design, clusters=design.labels)
        truth = {"global effect": self.truth["global_effect"], "direct effect": self.truth["direct_effect"],
                 "spillover effect": self.truth["spillover_effect"]}
        if "full_neighbourhood_effect" in self.truth:
            truth[_FN_ESTIMAND] = self.truth["full_neighbourhood_effect"]
        ests = {f"{name}: {e.estimand}": e for name, e in o["estimates"]}
        headline = next((e for name, e in o["estimates"] if name.startswith("exposure regression")
                         and e.estimand == "global effect"), None)
        primary = card.primary_outcome or "outcome"
        outcomes = {primary: {"y": o["y"], "role": "primary", **({"estimate": headline} if headline else {})}}
        s = self.settings
        notes = [f"Simulated outcomes: Y = {s['baseline']} + {s['direct']}*T + {s['spillover']}*frac_treated_neighbours"
                 f" + N(0, {s['noise_sd']}^2), seed {s['seed']}; true global effect "
                 f"{self.truth['global_effect']:.4f}.",
                 "Estimates are from the cluster-randomized assignment; the truth is known by simulation.",
                 *s.get("notes", [])]
        return write_report(path, title=title or f"netexp run: {g.name or 'graph'}", card=card, graph=g,
                            clustering=clustering, assignment=z, balance=balance, srm=srm, estimates=ests,
                            truth=truth, randomization_test=o["randomization_test"], notes=notes,
                            outcomes=outcomes, confidence_level=s["confidence_level"], overwrite=overwrite)


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
    n_reps_se: int | None = None,
    n_randomization_draws: int = 1000,
    time_budget: float | None = 60.0,
    variance_budget: float = 60.0,
    stream: Any = None,
    executor: Any = None,
) -> PipelineReport:
    r"""Run the full netexp pipeline on one graph with simulated outcomes of known truth.

    Clusters the graph, draws an individual-level assignment (complete randomization, share
    ``p`` treated) and a cluster-level one (each cluster treated with probability ``p``,
    independently; with fewer than 20 clusters, complete randomization of clusters, so that both
    arms have clusters, unless its exact pair joints cost more than ``variance_budget``: see
    below), simulates outcomes from the linear-in-means model, and compares each estimator
    with the true global and direct effects. Under the cluster design it adds the design-based
    Horvitz-Thompson and Hajek estimates of the full-neighbourhood contrast
    :math:`Y(\text{treated}) - Y(\text{control})` (:class:`~netexp.FullNeighborhood`, exact
    probabilities) over the units with probability at least ``min_exposure_probability`` of both
    conditions (their truth: the mean of :math:`Y_i(\mathbf 1) - Y_i(\mathbf 0)` over them), and a
    randomization test of the difference in means (``n_randomization_draws`` draws). With
    ``n_reps > 0`` the experiment is repeated on the same units with new assignments and new
    noise draws to measure bias, RMSE and coverage (with its Monte Carlo standard error).
    (Noise is redrawn because the exposure regression's standard errors treat it as random.)

    Cost control. The Aronow-Samii variance of the design-based estimators sums over every pair of
    units whose neighbourhoods share a cluster; its cost is estimated first by
    :func:`netexp.estimate_cost` (the route the exact engine will take and its work). Above ``variance_budget`` seconds, a complete randomization of 10-19
    clusters is replaced by Bernoulli randomization of clusters (closed-form joints, far cheaper);
    otherwise the design-based rows keep their point estimates and report no standard error, with
    the reason in ``settings["notes"]``. The repeated experiments run in seeded blocks of 10 until
    ``n_reps`` or ``time_budget`` seconds (None: no limit), whichever comes first; the design-based
    standard errors are computed in the first ``n_reps_se`` repetitions (default: as many as a quarter of
    the time budget allows, none when one costs more than a second). Every row of the repeated
    table says how many repetitions its figures use. Ctrl-C during the repetitions stops within
    about a second and keeps the repetitions finished so far (``settings["interrupted"]``).

    Parameters
    ----------
    stream : text stream, optional
        Where to print each stage as it finishes (graph and clusters, the one-experiment table, the
        randomization test, then the repeated experiments); default: print nothing. ``str(report)``
        is the same text in one piece.
    progress : bool, optional
        Progress bar with ETA for the repetitions on stderr (default: when stderr is a terminal).
    executor : concurrent.futures.Executor, optional
        Where the blocks of repeated experiments run (a ``ProcessPoolExecutor`` with the ``spawn``
        context, a Dask client's ``get_executor()``...). Block ``b`` draws its assignments and noise
        from its own child of the seed, the block sizes depend on the problem only, and blocks are
        used in order (the time budget stops after a whole block), so the repeated table is the
        same, bit for bit, with ``executor=None`` (the same blocks, here) and on any executor, over
        the same number of repetitions. Ctrl-C keeps the blocks finished in order (and, without an
        executor, the finished repetitions of the running block).

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
    if n_reps > _MAX_REPS:
        raise ValueError(f"run_pipeline: n_reps must be at most {_MAX_REPS}; got {n_reps}.")
    if n_reps_se is not None:
        n_reps_se = check_int("n_reps_se", n_reps_se, low=0)
    if time_budget is not None and not (np.isfinite(time_budget) and time_budget > 0):
        raise ValueError(f"run_pipeline: time_budget must be a positive number of seconds or None; got {time_budget}.")
    from ._executor import check_executor

    executor = check_executor(executor)
    from ._jit import note_if_cold

    note_if_cold()
    out = _Printer(stream)
    notes: list[str] = []
    g = read_graph(graph)
    ss = np.random.SeedSequence(seed)
    s_cluster, s_noise, s_ind, s_cl, s_reps, s_rt = ss.spawn(6)
    t0 = time.perf_counter()
    clustering = cluster(g, cluster_method, resolution=resolution, target_clusters=target_clusters, rng=s_cluster)
    info = g.info()
    csum = clustering.summary()
    settings = {"graph": str(graph) if not hasattr(graph, "n_nodes") else (g.name or "graph"), "seed": seed,
                "baseline": baseline, "direct": direct, "spillover": spillover, "noise_sd": noise_sd, "p": p,
                "cluster_method": cluster_method, "resolution": resolution, "target_clusters": target_clusters,
                "n_reps": n_reps, "confidence_level": confidence_level,
                "min_exposure_probability": min_exposure_probability, "n_randomization_draws": n_randomization_draws,
                "time_budget": time_budget, "variance_budget": variance_budget, "notes": notes}
    out.lines(_header_lines(info, csum, settings, None) + [f"  (clustered in {time.perf_counter() - t0:.1f} s)"])

    model = LinearInMeans(baseline=baseline, direct=direct, spillover=spillover, noise_sd=noise_sd)
    po = model.realize(g, rng=s_noise)
    truth = po.truth()
    ind_design = Complete(g.n_nodes, p=p)
    K = clustering.n_clusters
    if not network_hac_is_cheap(g):
        notes.append(f"individual design: exposure regression with HC1 standard errors, not the network HAC: more "
                     f"than {_hac._KERNEL_MAX_NNZ:.3g} pairs of units lie within its bandwidth of "
                     f"{network_hac_bandwidth(g)[0]} hops (each fit would search them all); HC1 ignores the "
                     "dependence of units whose neighbourhoods overlap.")
    cl_design, fn = _choose_cluster_design(g, clustering, p, po, min_exposure_probability, variance_budget, notes,
                                           out)
    truth_fn = dict(truth, full_neighbourhood_effect=fn["truth"])
    targets = {"global effect": truth["global_effect"], "direct effect": truth["direct_effect"],
               "spillover effect": truth["spillover_effect"], _FN_ESTIMAND: fn["truth"]}
    settings.update(cluster_design=repr(cl_design), n_full_neighbourhood_units=int(fn["mask"].sum()))
    out.lines(_truth_lines(settings, truth_fn))

    rows = []
    objects = {}
    for design_name, design, rng, clusters in (("individual", ind_design, s_ind, None),
                                               ("cluster", cl_design, s_cl, clustering.labels)):
        z = design.sample(rng=rng)
        y = po.outcomes(z)
        results = analyze(g, z, y, clusters=clusters, confidence_level=confidence_level,
                          design=design if design_name == "cluster" else None)
        if design_name == "cluster":
            t = time.perf_counter()
            results += _design_based(g, z, y, fn, fn["probabilities"], confidence_level)
            fn["seconds_per_variance"] = (time.perf_counter() - t) if fn["with_se"] else None
            objects.update(z=z, y=y, estimates=results)
        for label, est in results:
            target = targets[est.estimand]
            rows.append({"design": design_name, "estimator": label, **est.to_frame().iloc[0].to_dict(),
                         "truth": target, "covers_truth": est.covers(target)})
    estimates = pd.DataFrame(rows)
    out.lines([""] + _estimate_lines(estimates, settings))

    from .inference import randomization_test

    rt = randomization_test(objects["y"], objects["z"], cl_design, n_draws=n_randomization_draws, rng=s_rt)
    out.lines([""] + _rt_lines(rt.to_dict()))

    repeated = None
    settings.update(n_reps_requested=n_reps, n_reps=0, n_reps_se=0, interrupted=False)
    if n_reps:
        n_se = _n_reps_se(fn, n_reps, n_reps_se, time_budget, notes)
        repeated, done, interrupted = _repeat(g, po, targets, ind_design, cl_design, clustering, n_reps, s_reps,
                                              confidence_level, progress, fn, n_se, time_budget, executor)
        settings.update(n_reps=done, n_reps_se=min(n_se, done), interrupted=interrupted)
        if repeated is not None:
            out.lines([""] + _repeated_lines(repeated, settings))
        if interrupted:
            out.lines([f"interrupted (Ctrl-C) after {done} repetitions; the figures above use those."])

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
#: Fewest clusters for which Bernoulli randomization of clusters replaces a too costly complete one
#: (chance that an arm gets fewer than 2 of 10 clusters: 2.1%; of 16: 0.05%).
_MIN_BERNOULLI_FALLBACK = 10
#: Repeated experiments run in seeded blocks of at most this many (the time budget is checked between).
_CHUNK = 10
#: Longest design-based variance (seconds per estimator) computed inside the repetitions:
#: a compiled kernel cannot be interrupted, and Ctrl-C must stop within a second or two.
_MAX_SECONDS_SE_IN_REPS = 1.5
_MAX_REPS = 1_000_000


class _Printer:
    def __init__(self, stream):
        self.stream = stream

    def lines(self, lines):
        if self.stream is not None:
            print("\n".join(lines), file=self.stream, flush=True)


def _variance_cost(g, design, mapping, mask) -> tuple[float, float]:
    """(dependent pairs, estimated seconds of the HT and Hajek variances) from the exposure layer's cost model."""
    from .exposure import estimate_cost

    c = estimate_cost(g, design, mapping, units=int(mask.sum()))
    return float(c.dependent_pairs), 2 * float(c.seconds)   # HT and Hajek


def _choose_cluster_design(g, clustering, p, po, threshold, budget, notes, out):
    """The cluster design of the run and its full-neighbourhood probabilities, within the variance budget."""
    K = clustering.n_clusters
    kind = "bernoulli" if K >= _MIN_BERNOULLI_CLUSTERS else "complete"
    design = ClusterRandomized(clustering, cluster_design=Bernoulli(K, p=p) if kind == "bernoulli"
                               else Complete(K, p=p))
    fn = _full_neighbourhood(g, design, po, threshold, joint=False)
    visits, cost = _variance_cost(g, design, fn["mapping"], fn["mask"])
    if cost > budget and kind == "complete" and K >= _MIN_BERNOULLI_FALLBACK:
        bern = ClusterRandomized(clustering, cluster_design=Bernoulli(K, p=p))
        fn_b = _full_neighbourhood(g, bern, po, threshold, joint=False)
        visits_b, cost_b = _variance_cost(g, bern, fn_b["mapping"], fn_b["mask"])
        if cost_b <= budget:
            notes.append(f"cluster design: Bernoulli over the {K} clusters instead of complete randomization: the "
                         f"exact pair joints of complete randomization would take about {_secs(cost)} "
                         f"({visits:.3g} dependent pairs), over the variance budget of {_secs(budget)}; Bernoulli's "
                         f"closed form about {_secs(cost_b)}.")
            design, fn, visits, cost, kind = bern, fn_b, visits_b, cost_b, "bernoulli"
    fn["with_se"] = cost <= budget
    if fn["with_se"]:
        fn["probabilities"] = exposure_probabilities(g, design, fn["mapping"], method="exact")
        fn["with_se"] = fn["probabilities"].joint_available
        if not fn["with_se"]:
            notes.append("design-based standard errors: not available for this design "
                         f"({fn['probabilities']._joint_note or 'no exact joint probabilities'}).")
    else:
        fn["probabilities"] = fn["marginal_only"]
        notes.append(f"design-based standard errors skipped: the exact Aronow-Samii variance needs about "
                     f"{visits:.3g} dependent pairs (estimated {_secs(cost)}), over the variance budget of "
                     f"{_secs(budget)} (variance_budget=); the Horvitz-Thompson and Hajek rows give point estimates "
                     "only.")
    fn["visits"], fn["cost_estimate"] = visits, cost
    line = f"cluster design: {design!r}"
    if fn["with_se"]:
        line += f"; exact pair joints: {visits:.3g} dependent pairs, estimated {_secs(cost)}"
        if cost > 2:
            line += " (Ctrl-C takes effect after this step)"
    out.lines([line] + [f"note: {n}" for n in notes])
    return design, fn


def _secs(s: float) -> str:
    return f"{s:.1f} s" if s < 120 else f"{s / 60:.1f} min" if s < 7200 else f"{s / 3600:.1f} h"


def _n_reps_se(fn, n_reps, n_reps_se, time_budget, notes) -> int:
    """Repetitions in which the design-based standard errors are computed.

    Decided from the cost model's estimate (:func:`netexp.estimate_cost`), not from a measured
    time, so the same seed gives the same table on a busy machine and on a quiet one.
    """
    t = fn.get("cost_estimate")
    if not fn["with_se"] or t is None:
        return 0
    if t / 2 > _MAX_SECONDS_SE_IN_REPS:
        notes.append(f"repeated experiments: no design-based standard errors (coverage n/a): they cost {_secs(t)} "
                     "per experiment in uninterruptible compiled kernels; the one-experiment table has them.")
        return 0
    n = n_reps if n_reps_se is None else min(n_reps, n_reps_se)
    if time_budget is not None and n_reps_se is None:
        n = min(n, max(_CHUNK, int(0.25 * time_budget / max(t, 1e-9))))
    return n


def _full_neighbourhood(g, design, po, threshold, joint=True):
    """Exact full-neighbourhood exposure probabilities under ``design``, the units with probability
    >= ``threshold`` of both conditions, and the truth of the contrast over them."""
    m = FullNeighborhood()
    # point estimates alone (repeated experiments) need no joints
    pr_marginal = exposure_probabilities(g, design, m, method="exact", joint=False)
    P = pr_marginal.marginal
    mask = np.minimum(P[:, m.levels.index("treated")], P[:, m.levels.index("control")]) >= threshold
    if not mask.any():
        raise EstimationError(f"no unit has probability >= {threshold:g} of both full-neighbourhood conditions; "
                              "lower min_exposure_probability or use larger clusters.")
    pr = exposure_probabilities(g, design, m, method="exact") if joint else pr_marginal
    return {"mapping": m, "probabilities": pr, "marginal_only": pr_marginal, "mask": mask, "with_se": joint,
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


def _one_rep(g, z, y, design_name, clusters, fn, with_se, confidence_level, targets, design=None):
    """Records of one repeated experiment: (design, estimator, estimand, estimate, se, truth, covers)."""
    from ._analysis import quiet_call

    records = []
    try:   # the repeated table is the report: no warning per repetition (e.g. a network HAC with too few df)
        results = [(lab, e, True) for lab, e in quiet_call(analyze, g, z, y, clusters=clusters,
                                                           confidence_level=confidence_level, design=design)]
    except (EstimationError, np.linalg.LinAlgError):   # e.g. every cluster in one arm: counted as failed
        return None
    if design_name == "cluster":
        pr = fn["probabilities"] if with_se else fn["marginal_only"]
        results += [(lab, e, with_se) for lab, e in _design_based(g, z, y, fn, pr, confidence_level)]
    for label, est, se_ok in results:
        target = targets[est.estimand]
        records.append((design_name, label, est.estimand, est.estimate, est.std_error if se_ok else np.nan, target,
                        float(est.covers(target)) if se_ok else np.nan))
    return records


def _rep_block(state, n, seed, offset, acc=None):
    """Records of ``n`` repeated experiments drawn from ``seed`` (repetitions ``offset`` .. ``offset + n - 1``).

    Everything random in a block comes from its own ``seed``: the individual and cluster designs' draws, then
    fresh noise for each (the exposure regression's model treats noise as random). Returns the records of the
    block's repetitions in order, the failed draws per design and the repetitions done; ``acc`` (in this
    process) is that result as it grows, one whole repetition at a time, for Ctrl-C to keep.
    """
    g, po, targets, ind_design, cl_design, labels, fn, n_se, confidence_level = state
    rng = np.random.default_rng(seed)
    noise_sd = po.model.noise_sd
    Zi = ind_design.sample_many(n, rng=rng)
    Zc = cl_design.sample_many(n, rng=rng)
    Yi = po.outcomes(Zi) - po.noise + rng.normal(0.0, noise_sd, Zi.shape)
    Yc = po.outcomes(Zc) - po.noise + rng.normal(0.0, noise_sd, Zc.shape)
    acc = {"records": [], "failed": {"individual": 0, "cluster": 0}, "done": 0} if acc is None else acc
    for r in range(n):
        rec, fail = [], []
        for design_name, z, y, clusters in (("individual", Zi[r], Yi[r], None), ("cluster", Zc[r], Yc[r], labels)):
            one = _one_rep(g, z, y, design_name, clusters, fn, offset + r < n_se, confidence_level, targets,
                           cl_design if design_name == "cluster" else None)
            if one is None:
                fail.append(design_name)
            else:
                rec += one
        acc["records"] += rec            # a repetition counts only once both designs are done
        for d in fail:
            acc["failed"][d] += 1
        acc["done"] += 1
    return acc


def _run_rep_block(payload, n, seed, offset):
    import cloudpickle

    from ._executor import _blas_one_thread

    state = cloudpickle.loads(payload)
    with _blas_one_thread():
        return _rep_block(state, n, seed, offset)


def _in_flight(executor) -> int:
    """Blocks kept submitted ahead: two per worker when the executor says how many it has, else 8 (few, so
    that the time budget and Ctrl-C leave little work running behind them)."""
    workers = getattr(executor, "_max_workers", None)
    return 2 * int(workers) if isinstance(workers, int) and workers > 0 else 8


def _rep_blocks(executor, state, sizes, seeds, current):
    """Yield each block's result (:func:`_rep_block`) in plan order, computed here or on ``executor``.

    Closing the generator (time budget, Ctrl-C) cancels the blocks submitted but not started. Here,
    ``current[0]`` is the running block's partial result (what Ctrl-C keeps of it).
    """
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int).tolist()
    plan = list(zip(sizes, seeds, offsets))
    if executor is None:
        from ._executor import _blas_one_thread

        for n, s, o in plan:
            current[:] = [{"records": [], "failed": {"individual": 0, "cluster": 0}, "done": 0}]
            with _blas_one_thread():   # as on every worker: summation order cannot depend on where it runs
                out = _rep_block(state, n, s, o, current[0])
            current.clear()
            yield out
        return
    import cloudpickle
    from collections import deque

    payload = cloudpickle.dumps(state)
    pending: deque = deque()
    todo = iter(plan)
    try:
        for n, s, o in todo:
            pending.append((n, executor.submit(_run_rep_block, payload, n, s, o)))
            if len(pending) >= _in_flight(executor):
                break
        while pending:
            _, fut = pending.popleft()
            out = fut.result()
            nxt = next(todo, None)
            if nxt is not None:
                pending.append((nxt[0], executor.submit(_run_rep_block, payload, *nxt)))
            yield out
    finally:
        for _, fut in pending:
            fut.cancel()


def _repeat(g, po, targets, ind_design, cl_design, clustering, n_reps, seed, confidence_level, progress, fn, n_se,
            time_budget, executor=None):
    """Repeated experiments in seeded blocks, until ``n_reps`` or ``time_budget``; Ctrl-C keeps what is done.

    The blocks (sizes from :func:`netexp._executor.block_plan`, at most ``_CHUNK`` repetitions each; block ``b``
    draws from the ``b``-th child of ``seed``) depend on the problem only, and they are consumed in plan order:
    whatever stops the run (time budget, Ctrl-C), the table is that of the first blocks, so it is the same, bit
    for bit, on every executor and with none, over the same number of repetitions.
    """
    from tqdm import tqdm

    from ._executor import block_plan

    sizes = block_plan(n_reps, g.n_nodes, max_block=_CHUNK)
    seeds = seed.spawn(len(sizes))
    state = (g, po, targets, ind_design, cl_design, clustering.labels, fn, n_se, confidence_level)
    records = []
    failed = {"individual": 0, "cluster": 0}
    done = 0
    interrupted = False
    start = time.perf_counter()
    bar = tqdm(total=n_reps, desc="repeated experiments", unit="rep", file=sys.stderr, leave=False,
               disable=None if progress is None else not progress)
    current: list = []
    blocks = _rep_blocks(executor, state, sizes, seeds, current)

    def take(out):
        nonlocal done
        records.extend(out["records"])
        for k, v in out["failed"].items():
            failed[k] += v
        done += out["done"]
        bar.update(out["done"])

    try:
        for out in blocks:
            take(out)
            if done >= n_reps:
                break
            if time_budget is not None:
                elapsed = time.perf_counter() - start
                if elapsed > time_budget:
                    break
                est_total = min(n_reps, max(done, int(time_budget / max(elapsed / done, 1e-9))))
                if bar.total != est_total:   # the bar's total: what the budget allows
                    bar.total = est_total
                    bar.refresh()
    except KeyboardInterrupt:   # keep the finished repetitions of the block that was running here
        interrupted = True
        if current:
            take(current[0])
    finally:
        blocks.close()
        bar.close()
    if not records:
        return None, done, interrupted
    df = pd.DataFrame(records, columns=["design", "estimator", "estimand", "estimate", "std_error", "truth", "covers"])
    keys = ["design", "estimator", "estimand"]
    grouped = df.groupby(keys, sort=False)
    out = grouped.agg(truth=("truth", "first"), mean_estimate=("estimate", "mean"), sd_estimate=("estimate", "std"),
                      mean_std_error=("std_error", "mean"), coverage=("covers", "mean")).reset_index()
    err = df["estimate"] - df["truth"]
    out["bias"] = out["mean_estimate"] - out["truth"]
    out["rmse"] = np.sqrt((err**2).groupby([df[k] for k in keys], sort=False).mean().to_numpy())
    out["n_reps"] = grouped["estimate"].count().to_numpy()
    out["n_reps_se"] = grouped["covers"].count().to_numpy()
    c, nse = out["coverage"].to_numpy(float), out["n_reps_se"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        # Agresti-Coull: never "± 0.000" for a coverage of 0 or 1 over few repetitions
        pt = (c * nse + 2) / (nse + 4)
        out["coverage_mc_se"] = np.where(nse > 0, np.sqrt(pt * (1 - pt) / (nse + 4)), np.nan)
    out["failed_draws"] = out["design"].map(failed)
    return out, done, interrupted


# ---------------------------------------------------------------------------------------------- text
def _header_lines(g, c, s, truth) -> list[str]:
    lines = [
        f"netexp run: graph {g['name']!r}: {g['n_nodes']} units, {g['n_edges']} edges, mean degree "
        f"{g['mean_degree']:.1f}, average clustering {g.get('average_clustering', float('nan')):.3f}",
        f"clusters ({c['method']}, resolution {c.get('resolution', 'n/a')}): {c['n_clusters']} clusters, sizes "
        f"{c['size_min']}-{c['size_max']} (median {c['size_median']:.0f}), modularity {c['modularity']:.3f}, "
        f"edges cut {100 * c['cut_fraction']:.1f}%, units with whole neighbourhood inside "
        f"{100 * c['interior_fraction']:.1f}%",
    ]
    if truth is not None:
        lines += [f"cluster design: {s.get('cluster_design', '')}"] + [f"note: {n}" for n in s.get("notes", [])]
        lines += _truth_lines(s, truth)
    return lines


def _truth_lines(s, t) -> list[str]:
    lines = [
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
    return lines


def _fmt(v, spec="{:.4f}") -> str:
    return "n/a" if v is None or not np.isfinite(v) else spec.format(v)


def _estimate_lines(df, s) -> list[str]:
    lvl = int(round(100 * s["confidence_level"]))
    show = pd.DataFrame({
        "design": df["design"], "estimator": df["estimator"], "estimand": df["estimand"],
        "estimate": df["estimate"].map(_fmt), "std_error": df["std_error"].map(_fmt),
        f"{lvl}% CI": ["n/a" if not (np.isfinite(a) and np.isfinite(b)) else f"[{a:.4f}, {b:.4f}]"
                       for a, b in zip(df["ci_low"], df["ci_high"])],
        "truth": df["truth"].map(_fmt),
        "covers": [("yes" if c else "NO") if np.isfinite(se) else "n/a"
                   for c, se in zip(df["covers_truth"], df["std_error"])],
    })
    return ["one experiment (estimates against the known truth):", show.to_string(index=False)]


def _rt_lines(rt) -> list[str]:
    return [f"randomization test of no effect, cluster design ({rt['statistic']}): observed "
            f"{rt['observed']:.4f}, p {_fmt_p(rt['p_value'])} ({rt['method']})"]


def _fmt_p(p) -> str:
    if p is None or not np.isfinite(p):
        return "n/a"
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def _undercoverage_lines(r, level: float) -> list[str]:
    """For each row covering less than ``level`` by more than 2 MC se: is it the bias (the estimator aims
    elsewhere than the truth used) or the standard error (too small for the estimate's spread)?"""
    out = []
    for _, x in r.iterrows():
        c, se, sd = float(x["coverage"]), float(x["coverage_mc_se"]), float(x["sd_estimate"])
        if not (np.isfinite(c) and np.isfinite(se) and c < level - 2 * se and sd > 0):
            continue
        b, ratio = float(x["bias"]) / sd, float(x["mean_std_error"]) / sd
        why = []
        if abs(b) > 0.25:
            why.append(f"bias {b:+.2f} sd (the estimand differs from the truth used)")
        if ratio < 0.97:
            why.append(f"mean_se / sd {ratio:.2f} (the standard error is too small)")
        out.append(f"({x['design']}, {x['estimator']}, {x['estimand']}: coverage {c:.3f} is below {level:g} by more "
                   f"than 2 MC se; " + ("; ".join(why) if why else f"bias {b:+.2f} sd, mean_se / sd {ratio:.2f}: "
                                         "neither alone explains it (skewed or heavy-tailed estimates)") + ")")
    return out


def _repeated_lines(r, s) -> list[str]:
    done, asked = s["n_reps"], s.get("n_reps_requested", s["n_reps"])
    head = f"over {done} repeated experiments (same units, new assignments and noise)"
    if done < asked:
        head += (f"; {asked} requested, stopped by Ctrl-C" if s.get("interrupted") else
                 f"; {asked} requested, stopped by the time budget of {s['time_budget']:g} s (time_budget=)")
    cov = []
    for c, se, n in zip(r["coverage"], r["coverage_mc_se"], r["n_reps_se"]):
        cov.append("n/a" if not n or not np.isfinite(c) else f"{c:.3f} ± {se:.3f}" if np.isfinite(se) else f"{c:.3f}")
    rs = pd.DataFrame({
        "design": r["design"], "estimator": r["estimator"], "estimand": r["estimand"],
        "bias": r["bias"].map("{:+.4f}".format), "rmse": r["rmse"].map("{:.4f}".format),
        "mean_se": r["mean_std_error"].map(_fmt), "sd_estimate": r["sd_estimate"].map(_fmt),
        "coverage ± MC se": cov, "reps": r["n_reps"], "reps (coverage)": r["n_reps_se"],
    })
    lines = [head + ":", rs.to_string(index=False)]
    if (r["n_reps_se"] != r["n_reps"]).any():
        lines.append("(rows whose 'reps (coverage)' is below 'reps': mean_se and coverage over fewer repetitions, "
                     "because their variance is costly; bias, rmse and sd use all)")
    lines += _undercoverage_lines(r, float(s.get("confidence_level", 0.95)))
    fails = {d: int(f) for d, f in zip(r["design"], r["failed_draws"]) if f}
    for d, f in fails.items():
        lines.append(f"({d} design: {f} draws could not be analysed (e.g. every cluster in one arm) and are left out)")
    return lines
