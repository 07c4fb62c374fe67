"""Command-line interface: parse, call the public API, write files. Nothing else lives here.

    netexp run                      the full pipeline on the bundled default network
    netexp info GRAPH               summary statistics
    netexp cluster GRAPH -o clusters.csv
    netexp assign GRAPH -o assignment.csv --design bernoulli|complete|cluster
    netexp assign GRAPH -o arms.csv --design complete --arms control,a,b --probabilities 0.5,0.25,0.25
    netexp analyze GRAPH --assignment assignment.csv --outcomes outcomes.csv [--mapping as4 ...]
    netexp test GRAPH --assignment assignment.csv --outcomes outcomes.csv [--interference aei|mixed]
    netexp diagnose GRAPH --designs complete,cluster --model linear-in-means
    netexp power --clusters K --cluster-size M --icc R --effect D
    netexp card --assignment assignment.csv -o card
    netexp report GRAPH --assignment assignment.csv --outcomes outcomes.csv -o report.html
    netexp simulate GRAPH --assignment assignment.csv -o outcomes.csv --model linear-in-means
    netexp balance GRAPH --assignment assignment.csv --covariates covariates.csv
    netexp srm GRAPH --assignment assignment.csv --outcomes outcomes.csv
    netexp verify assignment.csv
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings

import numpy as np
import pandas as pd

__all__ = ["main"]


def _graph_arg(p):
    p.add_argument("graph", metavar="GRAPH",
                   help="edge-list file (.txt/.csv/.tsv, optionally .gz, or .parquet), - for standard input, or a "
                        "bundled graph name (see `netexp info --list`)")
    p.add_argument("--directed", action="store_true",
                   help="read edges as directed: `source target` means source's treatment can reach target")


def _out_arg(p, what):
    p.add_argument("-o", "--output", required=True, help=f"{what} CSV to write (keyed by node id)")
    p.add_argument("--force", action="store_true", help="overwrite the output file if it exists")


def _power_args(p):
    p.add_argument("--icc", type=float, default=0.05,
                   help="intra-cluster correlation assumed for the power check (default 0.05)")
    p.add_argument("--effect-size", type=float, default=0.1,
                   help="effect in outcome standard deviations the experiment should detect, for the power check "
                        "(default 0.1)")


def _cluster_power_warning(labels, p, icc, effect) -> str | None:
    """A warning when the clusters are too few for 80% power (or for cluster-robust inference)."""
    from .diagnostics import power_cluster

    sizes = np.bincount(pd.factorize(np.asarray(labels))[0]).astype(float)
    K, m = int(sizes.shape[0]), float(sizes.mean())
    cv = float(sizes.std() / m) if m > 0 else 0.0
    if K < 2:
        return "a single cluster cannot be randomized; use more clusters (--target-clusters / --max-size)."
    p = min(max(float(p), 0.01), 0.99)

    def pw(k):
        return power_cluster(effect, n_clusters=int(k), cluster_size=m, icc=icc, p=p, cluster_size_cv=cv)

    power = pw(K)
    if power >= 0.8 and K >= 30:
        return None
    need = None
    if power < 0.8:
        lo, hi = K, K
        while pw(hi) < 0.8 and hi < 10**7:
            lo, hi = hi, hi * 2
        if pw(hi) >= 0.8:
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if pw(mid) < 0.8 else (lo, mid)
            need = hi
    msg = (f"{K} clusters (mean size {m:.0f}) give power {power:.2f} to detect an effect of {effect:g} SD at ICC "
           f"{icc:g} (assumed; set --icc / --effect-size)")
    if need is not None:
        msg += f"; about {need} clusters of this size are needed for 80% power"
    if K < 30:
        msg += "; with fewer than 30 clusters, cluster-robust intervals are also unreliable"
    return msg + "."


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    from ._analysis import ANALYSIS_ESTIMATORS, ANALYSIS_MAPPINGS
    from ._assign import DESIGN_NAMES

    parser = argparse.ArgumentParser(prog="netexp", description="Randomized experiments under network interference.")
    parser.add_argument("--version", action="version", version=f"netexp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("run", help="full pipeline on a graph with simulated outcomes of known truth")
    p.add_argument("--graph", default=None, help="graph path or bundled name (default: the bundled 'social' network)")
    p.add_argument("--seed", type=int, default=2026, help="master seed (default 2026)")
    p.add_argument("--baseline", type=float, default=0.05, help="outcome intercept b0 (default 0.05)")
    p.add_argument("--direct", type=float, default=0.2, help="direct effect b1 of own treatment (default 0.2)")
    p.add_argument("--spillover", type=float, default=0.1,
                   help="spillover b2 of the fraction of treated neighbours (default 0.1)")
    p.add_argument("--noise-sd", type=float, default=0.01, help="noise standard deviation (default 0.01)")
    p.add_argument("--p", type=float, default=0.5, help="share of units / clusters treated (default 0.5)")
    p.add_argument("--method", default="leiden", help="clustering method (default leiden)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--resolution", type=float, default=None, help="modularity resolution")
    g.add_argument("--target-clusters", type=int, default=None, help="search the resolution for about K clusters")
    p.add_argument("--reps", type=int, default=500,
                   help="repeat the experiment up to N times for bias, RMSE and coverage (default 500; 0 to skip)")
    p.add_argument("--time-budget", type=float, default=60.0,
                   help="seconds for the repeated experiments: stop after the block (of 10) that passes it, and say "
                        "how many ran (default 60; 0 for no limit)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="run the repeated experiments on N worker processes; the same seed gives the same numbers, "
                        "bit for bit, with or without workers (default: in this process)")
    p.add_argument("--variance-budget", type=float, default=60.0,
                   help="seconds allowed for one exact design-based variance (estimated before it runs); above it "
                        "a faster valid design or point estimates only, with a note (default 60)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--report", default=None, metavar="FILE.html",
                   help="also write a self-contained HTML report of the cluster-design experiment")
    p.add_argument("--force", action="store_true", help="overwrite the report if it exists")

    p = sub.add_parser("info", help="nodes, edges, components, degree quantiles, clustering coefficient")
    p.add_argument("graph", metavar="GRAPH", nargs="?", help="edge-list file or bundled graph name")
    p.add_argument("--directed", action="store_true", help="read edges as directed")
    p.add_argument("--list", action="store_true", help="list the bundled graphs")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("cluster", help="cluster a graph for cluster randomization")
    _graph_arg(p)
    _out_arg(p, "node_id,cluster")
    p.add_argument("--method", default="leiden",
                   choices=["leiden", "greedy-modularity", "louvain", "label-propagation", "3-net", "randomized-3-net",
                            "1-hop-max"],
                   help="3-net: Ugander et al. 2013 (centres pairwise >= 3 hops apart); randomized-3-net: one draw of "
                        "the random-order 3-net (the randomized design itself redraws it per assignment)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--resolution", type=float, default=None, help="modularity resolution (leiden, louvain)")
    g.add_argument("--target-clusters", type=int, default=None, help="aim for about K clusters")
    p.add_argument("--max-size", type=int, default=None, help="split clusters larger than this into connected pieces")
    p.add_argument("--min-size", type=int, default=None,
                   help="merge clusters smaller than this into their most connected neighbour (best effort)")
    p.add_argument("--p", type=float, default=0.5,
                   help="treated share used for the full-exposure probabilities in the quality report (default 0.5)")
    _power_args(p)
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.add_argument("--json", action="store_true", help="print the quality summary as JSON")

    p = sub.add_parser("assign", help="draw a treatment assignment (and its design sidecar)")
    _graph_arg(p)
    _out_arg(p, "node_id,treatment")
    p.add_argument("--design", required=True, choices=list(DESIGN_NAMES),
                   help="cluster = complete randomization of clusters (same as --design complete --level cluster)")
    p.add_argument("--level", choices=["unit", "cluster"], default=None,
                   help="randomize units (default) or whole clusters (needs --clusters)")
    p.add_argument("--clusters", default=None, help="node_id,cluster CSV (needed for --level cluster)")
    p.add_argument("--covariates", default=None,
                   help="covariates CSV keyed by node id (first column); at cluster level aggregated to cluster "
                        "size and means")
    p.add_argument("--cluster-covariates", default=None, help="covariates CSV keyed by cluster id")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--p", type=float, default=None, help="treatment probability / share (default 0.5)")
    g.add_argument("--n-treated", type=int, default=None, help="number treated (units, or clusters at cluster level)")
    p.add_argument("--extra", choices=["random", "treatment", "control"], default=None,
                   help="which arm gets the odd unit when p*n is not whole (default random)")
    p.add_argument("--arms", default=None,
                   help="k arms: comma-separated names, the control first (e.g. control,a,b), with --design complete "
                        "(fixed arm sizes), bernoulli or cluster; writes an `arm` column instead of `treatment`")
    p.add_argument("--probabilities", default=None,
                   help="with --arms: each arm's probability, comma-separated in the order of --arms, summing to 1 "
                        "(default equal)")
    p.add_argument("--strata", default=None, help="covariate column defining strata")
    p.add_argument("--bins", default=None,
                   help="bin a numeric strata column: an integer q (quantiles) or comma-separated cut points")
    p.add_argument("--block-size", type=int, default=None, help="block size (blocked designs)")
    p.add_argument("--balance-on", default=None, help="comma-separated covariate columns to balance / match on")
    p.add_argument("--criterion", choices=["mahalanobis", "mean-difference"], default=None,
                   help="re-randomization criterion (default mahalanobis)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--threshold", type=float, default=None, help="re-randomization acceptance threshold")
    g.add_argument("--acceptance", type=float, default=None, help="re-randomization acceptance probability p_a")
    p.add_argument("--base", choices=["complete", "bernoulli"], default=None, help="base design for rerandomized")
    p.add_argument("--max-tries", type=int, default=None, help="re-randomization give-up limit (default 10^6)")
    p.add_argument("--distance", choices=["mahalanobis", "standardized"], default=None,
                   help="matched-pairs distance (default mahalanobis)")
    net = p.add_argument_group("network designs (graph-cluster, independent-set, coloring, saturation, ego-cluster, "
                               "mixed)")
    net.add_argument("--cluster-design", choices=["complete", "bernoulli", "stratified-by-size", "rerandomized"],
                     default=None, help="graph-cluster: design over clusters (default complete)")
    net.add_argument("--n-size-strata", type=int, default=None, help="graph-cluster: cluster-size strata (default 4)")
    net.add_argument("--saturations", default=None, help="saturation: comma-separated levels (default 0,0.5,1)")
    net.add_argument("--shares", default=None, help="saturation: share of clusters per level (default equal)")
    net.add_argument("--within", choices=["fixed", "complete", "bernoulli"], default=None,
                     help="saturation: fixed (round(s x size) treated in every cluster: what the two-stage "
                          "estimators need; default), complete (floor or floor+1 at random, so P = s exactly) or "
                          "Bernoulli within a cluster")
    net.add_argument("--stage1", choices=["complete", "bernoulli"], default=None,
                     help="saturation: fixed numbers of clusters per level, or independent draws (default complete)")
    net.add_argument("--arm-share", type=float, default=None, help="mixed: share of clusters in the cluster arm")
    net.add_argument("--coloring-method", choices=["largest-first", "dsatur"], default=None, help="coloring")
    net.add_argument("--class-probabilities", choices=["uniform", "size"], default=None,
                     help="coloring: how the eligible colour class is drawn")
    net.add_argument("--max-alters", type=int, default=None, help="ego-cluster: skip egos with more alters")
    net.add_argument("--min-alters", type=int, default=None, help="ego-cluster: skip egos with fewer alters")
    net.add_argument("--selection-seed", type=int, default=None,
                     help="independent-set / ego-cluster: seed of the (fixed) selection, recorded (default 0)")
    _power_args(p)
    p.add_argument("--seed", type=int, default=None,
                   help="seed of the draw (default: a fresh random seed, printed and recorded in the sidecar)")

    p = sub.add_parser("verify", help="re-draw an assignment from its sidecar and check the file is unchanged")
    p.add_argument("assignment", help="assignment CSV written by `netexp assign`")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("balance", help="covariate balance of an assignment, against its design's draws")
    _graph_arg(p)
    p.add_argument("--assignment", required=True, help="node_id,treatment CSV (its .design.json sidecar, if any, "
                                                      "gives the design for the randomization reference)")
    p.add_argument("--covariates", required=True, help="covariates CSV keyed by node id")
    p.add_argument("--columns", default=None, help="comma-separated covariate columns (default: all)")
    p.add_argument("--draws", type=int, default=1000, help="design draws for the randomization reference")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("srm", help="sample ratio mismatch: analyzed arm counts against the plan")
    _graph_arg(p)
    p.add_argument("--assignment", required=True, help="node_id,treatment CSV (with its .design.json sidecar, "
                                                      "or give --expected)")
    p.add_argument("--outcomes", default=None,
                   help="node_id,outcome CSV: only units with outcomes count as analyzed (default: all assigned)")
    p.add_argument("--outcome-column", default=None, help="the outcome column of --outcomes")
    p.add_argument("--expected", type=float, default=None, help="planned treated share, when there is no sidecar")
    p.add_argument("--alpha", type=float, default=0.001, help="mismatch threshold on the p-value (default 0.001)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("analyze", help="estimate effects from an assignment and outcomes")
    _experiment_args(p)
    p.add_argument("--mapping", choices=list(ANALYSIS_MAPPINGS), default="fraction",
                   help="exposure mapping: fraction (exposure regression on the share of treated neighbours, "
                        "default), as4 (Aronow-Samii 4 levels), q-fractional (needs --q), full-neighbourhood")
    p.add_argument("--hops", type=int, default=1, help="neighbourhood radius of the mapping (default 1)")
    p.add_argument("--q", type=float, default=None, help="threshold share of --mapping q-fractional")
    p.add_argument("--estimators", default=None,
                   help=f"comma-separated, from {','.join(ANALYSIS_ESTIMATORS)} (default: those that apply to the "
                        "design: naive, regression; cluster for cluster assignments; ht,hajek with a level mapping "
                        "and a known design; two-stage for saturation assignments; lin with --covariates)")
    p.add_argument("--probabilities", choices=["exact", "monte-carlo"], default=None,
                   help="exposure probabilities for ht/hajek (default: exact when available)")
    p.add_argument("--draws", default=None,
                   help="CSV/CSV.gz of assignment draws (one row per draw; columns in node order or a header of "
                        "node ids), e.g. another tool's, for Monte Carlo probabilities")
    p.add_argument("--n-draws", type=int, default=10_000, help="Monte Carlo draws (default 10000)")
    p.add_argument("--convention", choices=["netexp", "interference"], default="netexp",
                   help="Monte Carlo estimator of probabilities: count/R or the R package's (count+1)/(R+1)")
    p.add_argument("--covariates", default=None, help="covariates CSV keyed by node id (lin, regression)")
    p.add_argument("--contrast", default=None,
                   help="A,B: exposure levels to compare (default: treated,control; as4: every level vs no_exposure)")
    p.add_argument("--min-probability", type=float, default=None,
                   help="ht/hajek: estimate over the units with at least this probability of both contrast levels "
                        "(positivity); the estimand is then the average effect over those units")
    p.add_argument("--variance", choices=["auto", "abs-young", "aronow-samii", "constant-effects", "max"],
                   default="auto",
                   help="ht/hajek variance: auto (the sharpest valid bound available: abs-young up to 5000 position "
                        "types, 4000 units with Monte Carlo joints; else aronow-samii), abs-young (|M| Young bound), "
                        "aronow-samii (the R package's), constant-effects (not conservative in general), max")
    p.add_argument("--variance-budget", type=float, default=600.0,
                   help="ht/hajek: seconds allowed for the design-based variance, estimated before the work; above "
                        "it the rows give point estimates and say why (default 600; 0 for no limit)")
    p.add_argument("--confidence-level", type=float, default=0.95)
    p.add_argument("--seed", type=int, default=0, help="seed of Monte Carlo probabilities (default 0)")
    p.add_argument("--json", action="store_true", help="print JSON")
    eng = p.add_argument_group("beyond one machine (GRAPH is then an edge table: Parquet files or a glob)")
    eng.add_argument("--engine", default=None,
                     help="run on an engine instead of in memory: duckdb (embedded, out of core), duckdb:PATH or "
                          "spark (local mode; needs Java 17)")
    eng.add_argument("--units", default=None, help="--engine: table of units (id, optional cluster) for --salt")
    eng.add_argument("--salt", default=None, help="--engine: salt of the hashed design (with --units)")
    eng.add_argument("--p", type=float, default=0.5, help="--engine: treated share of the hashed design")
    eng.add_argument("--level", choices=["unit", "cluster"], default="unit", help="--engine: hashed unit or cluster")
    eng.add_argument("--method", choices=["bernoulli", "complete"], default="bernoulli",
                     help="--engine: hashed Bernoulli (threshold) or complete (rank of the hash)")
    for col, default in (("source", "source"), ("target", "target"), ("id", "id"), ("cluster", None),
                         ("treatment", "z")):
        eng.add_argument(f"--{col}-column", dest=f"{col}_column", default=default,
                         help=f"--engine: name of the {col} column" + (f" (default {default})" if default else ""))

    p = sub.add_parser("test", help="randomization inference and tests of interference")
    _experiment_args(p)
    p.add_argument("--interference", choices=["aei", "mixed"], default=None,
                   help="test no interference instead of no effect: aei (Athey-Eckles-Imbens focal units) or "
                        "mixed (unit- vs cluster-randomized arms of --design mixed)")
    p.add_argument("--statistic", default=None,
                   help="randomization: difference-in-means (default), studentized, cluster-difference-in-means; "
                        "aei: has-treated-neighbor (default), edge-contrast, score")
    p.add_argument("--alternative", choices=["two-sided", "greater", "less"], default="two-sided")
    p.add_argument("--n-draws", type=int, default=2000, help="null draws (default 2000)")
    p.add_argument("--focal", type=float, default=0.5, help="aei: share of focal units (default 0.5)")
    p.add_argument("--ci", action="store_true", help="also invert the test into a confidence interval")
    p.add_argument("--confidence-level", type=float, default=0.95)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("simulate", help="outcomes of known truth for an assignment (a dry run of the analysis)")
    _graph_arg(p)
    p.add_argument("--assignment", required=True, help="node_id,treatment CSV covering every node")
    _out_arg(p, "node_id,outcome")
    _model_args(p)
    p.add_argument("--outcome-column", default="outcome", help="name of the outcome column written (default outcome)")
    p.add_argument("--seed", type=int, default=None, help="seed of the potential outcomes (default: fresh, printed)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("diagnose", help="simulate designs x estimators under an outcome model on a graph")
    _graph_arg(p)
    p.add_argument("--designs", default="complete,cluster",
                   help="comma-separated from complete, bernoulli, cluster, saturation (default complete,cluster)")
    p.add_argument("--estimators", default="difference-in-means,cluster,exposure-regression",
                   help="comma-separated from difference-in-means, cluster, cluster-ols, exposure-regression")
    p.add_argument("--clusters", default=None, help="node_id,cluster CSV (default: Leiden clusters, seeded)")
    _model_args(p)
    p.add_argument("--p", type=float, default=0.5, help="treated share (default 0.5)")
    p.add_argument("--n-sims", type=int, default=200, help="simulated experiments per design (default 200)")
    p.add_argument("--jobs", type=int, default=1, help="processes (results identical for any value)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("power", help="closed-form power and minimum detectable effect")
    p.add_argument("--clusters", type=int, default=None, help="number of clusters K")
    p.add_argument("--cluster-size", type=float, default=None, help="mean units per cluster m")
    p.add_argument("--icc", type=float, default=None, help="intracluster correlation")
    p.add_argument("--n", type=int, default=None, help="units, for individual randomization (instead of clusters)")
    p.add_argument("--effect", type=float, default=None, help="true effect (for power)")
    p.add_argument("--sd", type=float, default=1.0, help="outcome standard deviation (default 1)")
    p.add_argument("--p", type=float, default=0.5, help="treated share (default 0.5)")
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--cv", type=float, default=0.0, help="coefficient of variation of cluster sizes (default 0)")
    p.add_argument("--power", type=float, default=None, help="target power: print the minimum detectable effect")
    p.add_argument("--curve", default=None,
                   help="X:V1,V2,... power over a grid, X one of n-clusters, effect, icc, cluster-size (or n)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("card", help="write the experiment design card (Markdown + JSON) beside an assignment")
    p.add_argument("--assignment", required=True, help="assignment CSV with its .design.json sidecar")
    p.add_argument("--graph", default=None, help="graph path or bundled name (default: the one in the sidecar)")
    p.add_argument("--directed", action="store_true")
    p.add_argument("-o", "--output", default=None, help="path stem: writes STEM.md and STEM.json "
                                                       "(default: the assignment's name + .card)")
    p.add_argument("--force", action="store_true", help="overwrite existing card files")
    for flag, field in _CARD_FIELDS.items():
        p.add_argument(f"--{flag}", default=None, help=f"design card field {field}" +
                       (" (comma-separated)" if field in _CARD_LISTS else ""))
    p.add_argument("--mapping", choices=list(ANALYSIS_MAPPINGS), default=None, help="exposure mapping of the analysis")
    p.add_argument("--hops", type=int, default=1)
    p.add_argument("--q", type=float, default=None)
    p.add_argument("--estimators", default=None, help="comma-separated estimators of the analysis plan")
    p.add_argument("--json", action="store_true", help="print the card as JSON")

    p = sub.add_parser("report", help="one self-contained HTML report of an experiment")
    _experiment_args(p)
    p.add_argument("-o", "--output", required=True, help="the HTML report to write")
    p.add_argument("--force", action="store_true", help="overwrite the output file if it exists")
    p.add_argument("--card", default=None,
                   help="design card JSON written by `netexp card` before the experiment: its question heads the "
                        "report, its primary metric and guardrails name the outcome columns")
    p.add_argument("--covariates", default=None, help="covariates CSV keyed by node id (balance section)")
    p.add_argument("--mapping", choices=list(ANALYSIS_MAPPINGS), default="fraction")
    p.add_argument("--hops", type=int, default=1)
    p.add_argument("--q", type=float, default=None)
    p.add_argument("--estimators", default=None, help="as in `netexp analyze`")
    p.add_argument("--n-draws", type=int, default=2000, help="randomization-test draws (default 2000)")
    p.add_argument("--title", default="netexp experiment report")
    p.add_argument("--notes", default=None, help="free text for the notes section")
    p.add_argument("--seed", type=int, default=0)
    return parser


_CARD_FIELDS = {"question": "business_decision", "primary-metric": "primary_outcome", "treatment": "treatment",
                "control": "control", "eligibility": "eligibility", "guardrails": "guardrails",
                "duration": "duration", "estimand": "estimand", "analysis-plan": "analysis_plan",
                "threats": "known_threats", "title": "title"}
_CARD_LISTS = ("guardrails", "known_threats")


def _experiment_args(p):
    from ._analysis import DESIGN_CHOICES

    _graph_arg(p)
    p.add_argument("--assignment", required=p.prog.split()[-1] != "analyze",
                   help="node_id,treatment CSV covering every node (its .design.json sidecar, if any, gives the "
                        "design)")
    p.add_argument("--outcomes", required=True, help="node_id,outcome CSV (a subset of nodes is allowed)")
    p.add_argument("--outcome-column", default=None,
                   help="the outcome column of --outcomes (default: the column named outcome, y or value, or the "
                        "only other column)")
    p.add_argument("--clusters", default=None, help="node_id,cluster CSV used for randomization")
    p.add_argument("--nodes", default=None,
                   help="file whose first column lists every unit of the experiment, including units without edges "
                        "(default: the graph's nodes plus any unit of --assignment without edges, with a warning)")
    p.add_argument("--design", choices=list(DESIGN_CHOICES), default=None,
                   help="the design, for assignments made elsewhere (overrides the sidecar): complete (observed "
                        "count), bernoulli (observed share), cluster / cluster-bernoulli (need --clusters), "
                        "saturation, mixed, graph-cluster; for a k-arm (`arm` column) file complete, bernoulli or "
                        "cluster")
    p.add_argument("--control", default=None,
                   help="k-arm assignments: the reference arm (default the first arm of the sidecar, else the first "
                        "in sorted order)")
    p.add_argument("--comparisons", choices=["vs-control", "all"], default="vs-control",
                   help="k-arm assignments: every arm against the control (default) or every pair of arms")


def _load(args):
    from .graph import read_graph

    g = read_graph(args.graph, directed=getattr(args, "directed", False))
    if getattr(args, "assignment", None) or getattr(args, "nodes", None):
        g = _with_population(args, g)
    return g


def _column(df, names, what, path):
    for n in names:
        if n in df.columns:
            return n
    if df.shape[1] == 2:
        return df.columns[1]
    raise _err(f"{path}: cannot find the {what} column; name it one of {names} (columns are {list(df.columns)}).")


def _err(msg):
    from ._errors import InputError

    return InputError(msg)


def _read_assignment(graph, path):
    df = _assignment_table(path)
    if "arm" in df.columns and not set(df.columns) & {"treatment", "z", "assignment", "treated"}:
        raise _err(f"{path} is a k-arm assignment (an `arm` column, no 0/1 treatment): this command handles two "
                   "arms; netexp analyze, test, report, srm and balance read k-arm files.")
    col = _column(df, ["treatment", "z", "assignment", "treated"], "treatment", path)
    idcol = df.columns[0]
    vals = df[col]
    if vals.isna().any():
        raise _err(f"{path}: {int(vals.isna().sum())} rows have no treatment value; every unit needs 0 or 1.")
    v = vals.to_numpy()
    if v.dtype.kind not in "biuf" or not np.isin(v, (0, 1)).all():
        raise _err(f"{path}: column {col!r} must hold 0/1 values.")
    from ._io_utils import positions_of_every_unit

    pos = positions_of_every_unit(graph, df[idcol].to_numpy(), path, "treatment")
    z = np.zeros(graph.n_nodes, dtype=bool)
    z[pos] = v.astype(bool)
    return z


def _read_outcomes(graph, path, column=None):
    df = _table(path, "outcomes file")
    if column is not None and column not in df.columns:
        raise _err(f"{path}: no column {column!r} (--outcome-column); columns are {list(df.columns)}.")
    col = column or _column(df, ["outcome", "y", "value"], "outcome", path)
    y = pd.to_numeric(df[col], errors="coerce")
    bad = y.isna() | ~np.isfinite(y.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        rows = (np.flatnonzero(bad.to_numpy())[:5] + 2).tolist()
        raise _err(f"{path}: {int(bad.sum())} outcomes are missing or not numbers (file lines {rows}); "
                   "drop or impute them first.")
    pos = graph.index_of(df[df.columns[0]].to_numpy(), what="node ids in the outcomes")
    if np.unique(pos).shape[0] != pos.shape[0]:
        raise _err(f"{path}: some node ids appear more than once.")
    return pos, y.to_numpy(dtype=float)


def cmd_run(args):
    from ._io_utils import check_writable
    from ._pipeline import run_pipeline
    from .graph._examples import DEFAULT_GRAPH

    if args.workers is not None and args.workers < 1:
        raise _err(f"--workers must be at least 1 (the number of worker processes); got {args.workers}. "
                   "Leave it out to run in this process.")
    if args.report:
        check_writable(args.report, overwrite=args.force)   # fail before the work, not after
    with _worker_pool(args.workers) as pool:
        report = run_pipeline(args.graph or DEFAULT_GRAPH, seed=args.seed, baseline=args.baseline, direct=args.direct,
                              spillover=args.spillover, noise_sd=args.noise_sd, p=args.p, cluster_method=args.method,
                              resolution=args.resolution, target_clusters=args.target_clusters, n_reps=args.reps,
                              time_budget=args.time_budget or None, variance_budget=args.variance_budget,
                              progress=None if not args.json else False, stream=None if args.json else sys.stdout,
                              executor=pool)
    if args.json:  # otherwise each stage was printed as it finished
        print(report.to_json())
    if args.report:
        path = report.write_report(args.report, overwrite=args.force)
        if not args.json:
            print(f"\nwrote {path}")


def _ignore_sigint():
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the main process's: it keeps the finished blocks


def _worker_pool(workers):
    """A spawn process pool of ``workers`` processes (fork is unsafe once numba/OpenMP threads exist), or none."""
    import contextlib

    if workers is None:
        return contextlib.nullcontext(None)
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_ignore_sigint)


def cmd_info(args):
    from .graph._examples import bundled_graphs

    if args.list or args.graph is None:
        for k, v in bundled_graphs().items():
            print(f"{k:22s} {v}")
        return
    info = _load(args).info()
    if args.json:
        print(json.dumps(info, indent=2))
        return
    q = info.pop("degree_quantiles")
    width = max(len(k) for k in info)
    for k, v in info.items():
        print(f"{k:{width}s}  {v:.4f}" if isinstance(v, float) else f"{k:{width}s}  {v}")
    print(f"{'degree quantiles':{width}s}  " + "  ".join(f"{k}={v:g}" for k, v in q.items()))


def cmd_cluster(args):
    from ._io_utils import check_writable
    from .clustering import cluster

    out = check_writable(args.output, overwrite=args.force)
    g = _load(args)
    c = cluster(g, args.method, resolution=args.resolution, target_clusters=args.target_clusters, rng=args.seed,
                max_size=args.max_size, min_size=args.min_size)
    from ._files import atomic_path

    with atomic_path(out, overwrite=args.force) as tmp:  # never clobber a file created meanwhile
        c.to_csv(tmp, overwrite=True)
    s = c.summary()
    q = c.quality(p=args.p).to_dict()
    few = _cluster_power_warning(c.labels, args.p, args.icc, args.effect_size)
    if few:
        from ._errors import NetexpWarning, warn

        warn(few, NetexpWarning)
    if args.json:
        print(json.dumps(_jsonable({**s, "quality": _jsonable(q), "power_warning": few}), indent=2))
    else:
        print(f"wrote {out}: {s['n_clusters']} clusters (sizes {s['size_min']}-{s['size_max']}, median "
              f"{s['size_median']:g}), modularity {s['modularity']:.4f}, edges cut {100 * s['cut_fraction']:.1f}%, "
              f"units with whole neighbourhood inside {100 * s['interior_fraction']:.1f}%")
        print(f"distinct clusters per closed neighbourhood: mean {q['distinct_clusters_mean']:.2f}, max "
              f"{q['distinct_clusters_max']}; under cluster-level Bernoulli(p={args.p:g}) a unit is fully exposed to "
              f"treatment with probability {q['p_full_treatment_mean']:.3f} on average "
              f"(min {q['p_full_treatment_min']:.3g}), to control {q['p_full_control_mean']:.3f}")


def _spec_from_args(args) -> dict:
    bins = args.bins
    if bins is not None:
        bins = int(bins) if bins.strip().isdigit() else [float(x) for x in bins.split(",")]
    spec = {"design": args.design, "level": args.level, "p": args.p, "n_treated": args.n_treated,
            "extra": args.extra, "clusters": args.clusters, "covariates": args.covariates,
            "cluster_covariates": args.cluster_covariates, "strata": args.strata, "bins": bins,
            "block_size": args.block_size,
            "balance_on": [c.strip() for c in args.balance_on.split(",")] if args.balance_on else None,
            "criterion": args.criterion, "threshold": args.threshold, "acceptance": args.acceptance,
            "base": args.base, "max_tries": args.max_tries, "distance": args.distance,
            "cluster_design": args.cluster_design, "n_size_strata": args.n_size_strata,
            "saturations": args.saturations, "shares": args.shares, "within": args.within, "stage1": args.stage1,
            "arm_share": args.arm_share, "coloring_method": args.coloring_method,
            "class_probabilities": args.class_probabilities, "max_alters": args.max_alters,
            "min_alters": args.min_alters, "selection_seed": args.selection_seed, "seed": args.seed,
            "arms": [x.strip() for x in args.arms.split(",")] if args.arms is not None else None,
            "probabilities": _numbers(args.probabilities, "--probabilities")}
    return {k: v for k, v in spec.items() if v is not None}


def _numbers(text, flag):
    if text is None:
        return None
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise _err(f"{flag} must be comma-separated numbers (e.g. 0.5,0.25,0.25); got {text!r}.") from None


def cmd_assign(args):
    from ._assign import sidecar_path, write_spec_assignment

    g = _load(args)
    fresh = args.seed is None
    if fresh:  # a new experiment gets its own draw; the seed is printed and recorded to redraw it
        args.seed = int(np.random.SeedSequence().entropy % (2**31))
    df, design = write_spec_assignment(_spec_from_args(args), g, args.graph, args.output, overwrite=args.force)
    if "arm" in df.columns and "treatment" not in df.columns:
        counts = df["arm"].value_counts()
        print(f"wrote {args.output} and {sidecar_path(args.output).name}: "
              + ", ".join(f"{a} {int(counts.get(a, 0))}" for a in design.arms) + f" of {len(df)} units ({design!r}, "
              f"seed {args.seed}{' (fresh; recorded in the sidecar)' if fresh else ''})")
        return
    print(f"wrote {args.output} and {sidecar_path(args.output).name}: {int(df['treatment'].sum())} of {len(df)} "
          f"units treated ({design!r}, seed {args.seed}{' (fresh; recorded in the sidecar)' if fresh else ''})")
    if "cluster" in df.columns:
        few = _cluster_power_warning(df["cluster"].to_numpy(), float(df["treatment"].mean()), args.icc,
                                     args.effect_size)
        if few:
            from ._errors import NetexpWarning, warn

            warn(few, NetexpWarning)


def cmd_verify(args):
    from ._assign import verify_assignment

    res = verify_assignment(args.assignment)
    print(json.dumps(res, indent=2) if args.json else res["message"])
    if not res["ok"]:
        raise SystemExit(1)


def _split(text):
    return [x.strip() for x in text.split(",") if x.strip()] if text else None


def _read_assignment_frame(path):
    return _assignment_table(path)


#: Tables read in this command, by role and path: each input table is read once (stdin can be read only
#: once, and a large outcomes file should not be parsed twice; report needs it for the estimates and the readout).
_TABLES: dict = {}


def _table(path, what):
    """An input table as a frame, read once per command (a copy each call)."""
    from ._io_utils import read_table

    key = (what, str(path))
    if key not in _TABLES:
        _TABLES[key] = read_table(path, what)
    return _TABLES[key].copy()


def _assignment_table(path):
    """The assignment file as a frame, read once per command (a copy each call)."""
    return _table(path, "assignment file")


def _with_population(args, g):
    """The graph plus the experiment's units that have no edges (from --nodes, else from the assignment)."""
    from ._io_utils import read_table

    src = getattr(args, "nodes", None)
    what = "--nodes file" if src else "assignment file"
    path = src or getattr(args, "assignment", None)
    if path is None:
        return g
    ids = (_assignment_table(path) if not src else read_table(path, what)).iloc[:, 0].to_numpy()
    known = pd.Index(g.node_ids)
    if np.asarray(g.node_ids).dtype.kind in "iu":
        num = pd.to_numeric(pd.Series(ids), errors="coerce")
        if num.notna().all() and (num == num.round()).all():
            ids = num.to_numpy().astype(np.int64)
    extra = pd.Index(pd.unique(ids)).difference(known)
    if len(extra) == 0:
        return g
    ex = ", ".join(repr(v.item() if isinstance(v, np.generic) else v) for v in extra[:5])
    if not src:
        from ._errors import NetexpWarning, warn

        warn(f"{len(extra)} units of the assignment have no edges in the graph (e.g. {ex}); they are "
             "analysed as units without neighbours. Pass --nodes FILE to state the population explicitly.",
             NetexpWarning)
    return g.with_isolated_nodes(np.asarray(extra))


def _experiment(args, g):
    """Assignment, outcomes, design and clustering of an analyze / test / report command."""
    from ._analysis import design_for_analysis

    from ._assign import sidecar_path, sidecar_spec

    spec = None
    if args.design is None and sidecar_path(args.assignment).exists():
        spec = sidecar_spec(args.assignment)  # a damaged or edited sidecar: a clear error before it is used
    z = _read_assignment(g, args.assignment)
    pos, y = _read_outcomes(g, args.outcomes, getattr(args, "outcome_column", None))
    frame = _read_assignment_frame(args.assignment)
    design, clustering, source = design_for_analysis(g, z, assignment_path=args.assignment, design=args.design,
                                                     clusters_path=args.clusters, assignment_frame=frame,
                                                     allow_unknown=bool(getattr(args, "draws", None)),
                                                     sidecar=spec)
    if design is not None:
        from ._assign import check_assignment_against_design

        check_assignment_against_design(z, design, where=f"{args.assignment} ({source})")
    return z, pos, y, frame, design, clustering, source


def _frame_column(g, frame, column):
    """A column of the assignment file in node order (None when absent)."""
    if column not in frame.columns:
        return None
    pos = g.index_of(frame[frame.columns[0]].to_numpy(), what="node ids in the assignment")
    out = np.empty(g.n_nodes, dtype=frame[column].to_numpy().dtype)
    out[pos] = frame[column].to_numpy()
    return out


def _analysis_records(args, g, z, pos, y, frame, design, clustering, covariates=None):
    from ._analysis import read_draws, run_analysis

    contrast = _split(getattr(args, "contrast", None))
    if contrast is not None and len(contrast) != 2:
        raise _err(f"--contrast takes two exposure levels A,B; got {args.contrast!r}.")
    draws = read_draws(g, args.draws) if getattr(args, "draws", None) else None
    return run_analysis(g, z, pos, y, estimators=_split(args.estimators), mapping=args.mapping, hops=args.hops,
                        q=args.q, design=design, clustering=clustering,
                        probabilities=getattr(args, "probabilities", None), draws=draws,
                        n_draws=getattr(args, "n_draws", 10_000), convention=getattr(args, "convention", "netexp"),
                        covariates=covariates, contrast=contrast, saturation=_frame_column(g, frame, "saturation"),
                        confidence_level=getattr(args, "confidence_level", 0.95), rng=args.seed,
                        min_probability=getattr(args, "min_probability", None),
                        variance=getattr(args, "variance", "auto"),
                        variance_budget=getattr(args, "variance_budget", 600.0) or None)


def _analyze_on_engine(args):
    """netexp analyze EDGES --engine duckdb|spark: joins and group-bys on the engine, small statistics in numpy."""
    from .designs import HashedDesign
    from .scale import analyze_files

    if args.assignment is None and (args.units is None or args.salt is None):
        raise _err("--engine needs --assignment FILE (id, treatment) or --units FILE with --salt S (a hashed design).")
    design = HashedDesign(args.salt, p=args.p, level=args.level, method=args.method) if args.salt else None
    mapping = {"fraction": "fraction", "full-neighbourhood": "full-neighbourhood", "as4": "as4"}.get(args.mapping)
    if mapping is None:
        raise _err(f"--engine supports --mapping fraction, as4 or full-neighbourhood; got {args.mapping}.")
    if mapping != "fraction":
        from .exposure import get_mapping

        mapping = get_mapping(mapping)
    ests = _split(args.estimators) or (["naive", "regression"] + (["cluster"] if args.cluster_column else []))
    tab = analyze_files(args.graph, args.outcomes, units=args.units, assignment=args.assignment, design=design,
                        engine=args.engine, source=args.source_column, target=args.target_column, id=args.id_column,
                        cluster=args.cluster_column, treatment=args.treatment_column,
                        outcome=args.outcome_column or "y", mapping=mapping, estimators=ests,
                        confidence_level=args.confidence_level)
    df = tab.to_frame()
    if args.json:
        print(json.dumps({"engine": args.engine, "estimates": df.to_dict(orient="records")}, indent=2,
                         default=_json_default))
    else:
        from .estimators._result import _fmt_p

        lvl = int(round(100 * args.confidence_level))
        show = pd.DataFrame({"estimator": df["method"], "estimand": df["estimand"],
                             "estimate": df["estimate"].map("{:.4g}".format),
                             "std_error": df["std_error"].map("{:.4g}".format),
                             f"{lvl}% CI": [f"[{a:.4g}, {b:.4g}]" for a, b in zip(df["ci_low"], df["ci_high"])],
                             "p_value": df["p_value"].map(_fmt_p), "variance": df["variance"], "n": df["n"]})
        print(f"engine {args.engine}: {args.graph}")
        print(show.to_string(index=False))


def _is_multiarm(args) -> bool:
    from ._multiarm_analysis import is_multiarm_assignment

    if getattr(args, "assignment", None) is None:
        return False
    return is_multiarm_assignment(args.assignment, _assignment_table(args.assignment))


def _multiarm_experiment(args, g):
    """Arm codes, outcomes and the k-arm design of an analyze / test / report / srm command."""
    from ._assign import sidecar_path, sidecar_spec
    from ._multiarm_analysis import multiarm_design_for_analysis, read_arms

    if getattr(args, "design", None) is None and sidecar_path(args.assignment).exists():
        sidecar_spec(args.assignment)  # a damaged or edited sidecar: a clear error before it is used
    frame = _assignment_table(args.assignment)
    labels = read_arms(g, frame, args.assignment)
    design, codes, clustering, source = multiarm_design_for_analysis(
        g, labels, assignment_path=args.assignment, design=getattr(args, "design", None),
        clusters_path=getattr(args, "clusters", None), frame=frame, control=getattr(args, "control", None))
    if getattr(args, "outcomes", None):
        pos, y = _read_outcomes(g, args.outcomes, getattr(args, "outcome_column", None))
    else:
        pos, y = np.arange(g.n_nodes), None
    return codes, pos, y, design, clustering, source


def _multiarm_rows(args, g, codes, pos, y, design):
    from ._multiarm_analysis import run_multiarm_analysis

    if getattr(args, "covariates", None) and getattr(args, "estimators", None) and "lin" in args.estimators:
        raise _err("--estimators lin is for two-arm assignments; a k-arm assignment takes naive, cluster, "
                   "regression, ht, hajek.")
    return run_multiarm_analysis(g, codes, pos, y, design, estimators=_split(args.estimators),
                                 control=args.control, comparisons=args.comparisons,
                                 confidence_level=getattr(args, "confidence_level", 0.95), rng=args.seed,
                                 n_draws=getattr(args, "n_draws", 10_000),
                                 probabilities=getattr(args, "probabilities", None),
                                 min_probability=getattr(args, "min_probability", None), q=_arm_share(args))


def _arm_share(args) -> float:
    """k-arm exposure levels: all neighbours in the arm, or at least --q of them with --mapping q-fractional."""
    mapping = getattr(args, "mapping", "fraction")
    if mapping == "q-fractional":
        if args.q is None:
            raise _err("--mapping q-fractional needs --q (a share above 0.5 for a k-arm assignment).")
        return float(args.q)
    if mapping == "as4":
        raise _err("--mapping as4 is a two-arm mapping; a k-arm assignment's levels are own arm and all (or, with "
                   "--mapping q-fractional --q Q, at least Q) of the neighbours in one arm.")
    return 1.0


def _analyze_multiarm(args, g):
    codes, pos, y, design, clustering, source = _multiarm_experiment(args, g)
    rows = [{k: v for k, v in r.items() if k != "_estimate"} for r in _multiarm_rows(args, g, codes, pos, y, design)]
    counts = {a: int((codes == i).sum()) for i, a in enumerate(design.arms)}
    if args.json:
        print(json.dumps({"graph": g.name, "n_units": g.n_nodes, "n_outcomes": int(pos.shape[0]), "arms": counts,
                          "design": repr(design), "design_source": source, "estimates": rows}, indent=2,
                         default=_json_default))
        return
    lvl = int(round(100 * args.confidence_level))
    print(f"{g!r}: arms " + ", ".join(f"{a} {c}" for a, c in counts.items()) + f" of {g.n_nodes}; "
          f"{pos.shape[0]} outcomes; design {design!r} ({source})")
    _print_estimate_rows(rows, lvl, with_contrast=True,
                         footer="(the comparisons share arms: adjust p-values for multiplicity when reading several)")


def _print_estimate_rows(rows, lvl, *, with_contrast=False, footer=None):
    """The analyze table: estimable rows, why each estimator applies, nan standard errors, then the rows that
    could not be estimated with their reasons (shared by the two-arm and k-arm paths)."""
    from .estimators._result import _fmt_p

    ok = [r for r in rows if r["status"] == "ok"]
    if ok:
        df = pd.DataFrame(ok)
        show = pd.DataFrame({
            "estimator": df["estimator"], "contrast": df["contrast"], "estimate": df["estimate"].map("{:.4g}".format),
            "std_error": df["std_error"].map("{:.4g}".format),
            f"{lvl}% CI": [f"[{a:.4g}, {b:.4g}]" for a, b in zip(df["ci_lower"], df["ci_upper"])],
            "p_value": df["p_value"].map(_fmt_p),
            "n": [" / ".join(f"{k} {v}" for k, v in d.items()) for d in df["n_per_level"]],
        })
        print(show.to_string(index=False))
        print("\nwhy each estimator, and what it assumes:")
        for est, why in {r["estimator"]: r["why"] for r in ok}.items():
            print(f"  {est}: {_cli_language(why)}")
        for r in ok:
            if not np.isfinite(r["std_error"]):
                print(f"  note: {r['estimator']} ({r['contrast']}) has no standard error: "
                      f"{_cli_language(r.get('note') or 'the variance is not estimable from this design and sample')}")
        if footer:
            print(f"  {footer}")
    for r in rows:
        if r["status"] != "ok":
            name = f"{r['estimator']} ({r['contrast']})" if with_contrast else r["estimator"]
            print(f"{name}: {_cli_language(r['status'])}")



def _test_multiarm(args, g):
    from ._multiarm_analysis import multiarm_tests
    from .estimators._result import _fmt_p

    if args.interference is not None:
        raise _err("--interference tests two-arm assignments; this assignment has k arms.")
    if args.ci:
        raise _err("--ci inverts a two-arm test; for a k-arm assignment use `netexp analyze` for intervals.")
    if args.statistic not in (None, "difference-in-means"):
        raise _err("a k-arm assignment is tested with the F statistic across arms and the difference in means "
                   "per pair; drop --statistic.")
    codes, pos, y, design, clustering, source = _multiarm_experiment(args, g)
    res = multiarm_tests(codes, pos, y, design, control=args.control, comparisons=args.comparisons,
                         n_draws=args.n_draws, rng=args.seed, alternative=args.alternative)
    out = {"test": "no effect of any arm (Fisher randomization test, null draws from the k-arm design)",
           "design": repr(design), "design_source": source,
           "tests": [{"statistic": r.statistic, "observed": r.observed, "p_value": r.p_value,
                      "alternative": r.alternative, "method": r.method, "n_draws": r.n_draws} for r in res]}
    if pos.shape[0] != g.n_nodes:
        out["note"] = (f"outcomes cover {pos.shape[0]} of {g.n_nodes} units: the null draws are the design's, read at "
                       "those units; valid when which units have outcomes does not depend on the arm")
    if args.json:
        print(json.dumps(out, indent=2, default=_json_default))
        return
    print(out["test"])
    for r in out["tests"]:
        print(f"  {r['statistic']}: p = {_fmt_p(r['p_value'])} ({r['alternative']}; observed {r['observed']:.4g})")
    print(f"method: {res[0].method}")
    print(f"design: {out['design']} ({source})")
    if "note" in out:
        print(f"note: {out['note']}")


def cmd_analyze(args):
    from ._assign import _keyed_frame

    if args.engine:
        return _analyze_on_engine(args)
    if args.assignment is None:
        raise _err("netexp analyze needs --assignment FILE (or --engine with --units and --salt).")
    g = _load(args)
    if _is_multiarm(args):
        return _analyze_multiarm(args, g)
    z, pos, y, frame, design, clustering, source = _experiment(args, g)
    cov = _keyed_frame(g, args.covariates, "covariates file") if args.covariates else None
    rows = [{k: v for k, v in r.items() if k != "_estimate"}
            for r in _analysis_records(args, g, z, pos, y, frame, design, clustering, cov)]
    if args.json:
        print(json.dumps({"graph": g.name, "n_units": g.n_nodes, "n_outcomes": int(pos.shape[0]),
                          "n_treated": int(z.sum()), "design": repr(design) if design is not None else None,
                          "design_source": source, "mapping": args.mapping, "estimates": rows}, indent=2,
                         default=_json_default))
        return
    lvl = int(round(100 * args.confidence_level))
    print(f"{g!r}: {int(z.sum())} of {g.n_nodes} treated; {pos.shape[0]} outcomes"
          + (f"; design {design!r} ({source})" if design is not None else f"; {source}"))
    _print_estimate_rows(rows, lvl)


#: Python argument names in messages of the public API, and the flags that do the same here.
_FLAG_FOR = (("overwrite=True (--force on the command line)", "--force"), ("method='monte-carlo'", "--probabilities monte-carlo"), ('method="monte-carlo"', "--probabilities monte-carlo"),
             ("units=", "--min-probability P"), ("min_probability=", "--min-probability P"), ("n_draws=", "--n-draws"),
             ("confidence_level=", "--confidence-level"), ("covariates=", "--covariates FILE"),
             ("design=", "--design"), ("contrasts=", "--contrast"), ("mapping=", "--mapping"),
             ("clusters=", "--clusters FILE"), ("rng=", "--seed"))


def _cli_language(msg: str) -> str:
    """A message of the Python API with its argument names replaced by this command line's flags."""
    for py, flag in _FLAG_FOR:
        msg = msg.replace(py, flag)
    return msg


def _json_default(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if not np.isfinite(v) else float(v)
    if isinstance(v, np.ndarray):
        return v.tolist()
    return str(v)


def _need_design(design, what):
    if design is None:
        raise _err(f"{what} needs the design: the assignment's .design.json sidecar or --design "
                   "(complete, bernoulli, cluster --clusters FILE, ...).")
    return design


def _all_outcomes(g, pos, y, what):
    if pos.shape[0] != g.n_nodes:
        raise _err(f"{what} needs an outcome for every unit; the outcomes file covers {pos.shape[0]} of "
                   f"{g.n_nodes} nodes.")
    out = np.empty(g.n_nodes)
    out[pos] = y
    return out


def cmd_test(args):
    from .inference import interference_test, mixed_design_test, randomization_confidence_interval, randomization_test

    g = _load(args)
    if _is_multiarm(args):
        return _test_multiarm(args, g)
    z, pos, y, frame, design, clustering, source = _experiment(args, g)
    partial = pos.shape[0] != g.n_nodes
    yy = None if partial and args.interference is None else _all_outcomes(
        g, pos, y, f"netexp test --interference {args.interference}")
    out = {}
    if args.interference == "mixed":
        arm = _frame_column(g, frame, "arm")
        if arm is None or clustering is None:
            raise _err("--interference mixed needs a mixed-design assignment (its `arm` column) and its clusters.")
        res = mixed_design_test(yy, z, clustering.labels, arm == "cluster", confidence_level=args.confidence_level)
        out = {"test": "mixed design (Saveski et al. 2017)", **res.to_dict(), "method": "normal approximation",
               "n_draws": None}
    elif args.interference == "aei":
        _need_design(design, "--interference aei")
        res = interference_test(g, yy, z, design, focal=args.focal,
                                statistic=args.statistic or "has-treated-neighbor", alternative=args.alternative,
                                n_draws=args.n_draws, rng=args.seed)
        out = {"test": "no interference (Athey, Eckles & Imbens 2018)", **res.to_dict()}
    else:
        _need_design(design, "netexp test")
        stat = args.statistic or "difference-in-means"
        clusters = clustering.labels if clustering is not None else None
        if partial:  # the design's own draws, read at the units with outcomes (as analyze and report do)
            from .designs import UnitSubset

            keep = np.sort(pos)
            yy = np.empty(g.n_nodes)
            yy[pos] = y
            yy, z, design = yy[keep], z[keep], UnitSubset(design, keep)
            clusters = clusters[keep] if clusters is not None else None
        res = randomization_test(yy, z, design, statistic=stat, alternative=args.alternative, n_draws=args.n_draws,
                                 rng=args.seed, clusters=clusters if stat == "cluster-difference-in-means" else None)
        out = {"test": "no effect (Fisher randomization test)", **res.to_dict()}
        if args.ci:
            ci = randomization_confidence_interval(yy, z, design, statistic=stat,
                                                   confidence_level=args.confidence_level, n_draws=args.n_draws,
                                                   rng=args.seed,
                                                   clusters=clusters if stat == "cluster-difference-in-means" else None)
            out["ci"] = ci.to_dict()
    out["design"] = repr(design) if design is not None else None
    out["design_source"] = source
    if partial and args.interference is None:
        out["note"] = (f"outcomes cover {pos.shape[0]} of {g.n_nodes} units: the null draws are the design's, read at "
                       "those units; valid when which units have outcomes does not depend on treatment")
    if args.json:
        print(json.dumps(out, indent=2, default=_json_default))
        return
    from .estimators._result import _fmt_p

    print(f"{out['test']}: p = {_fmt_p(out['p_value'])}"
          + (f" ({out.get('alternative')}; statistic {out.get('statistic')}, observed {out['observed']:.4g})"
             if "observed" in out else f" (difference {out['difference']:.4g}, se {out['std_error']:.4g})"))
    print(f"method: {out['method']}" + (f"; {out['n_draws']} draws" if out.get("n_draws") else ""))
    if design is not None:
        print(f"design: {out['design']} ({source})")
    if "ci" in out:
        c = out["ci"]
        print(f"{100 * c['confidence_level']:g}% randomization interval for a constant effect: "
              f"[{c['low']:.4g}, {c['high']:.4g}]")


def _outcome_model(args):
    """The outcome model of --model with the given effects (each model's defaults otherwise)."""
    from .simulate import HeterogeneousPopulation, LinearInMeans, ThresholdContagion

    kw = {k: v for k, v in (("direct", args.direct), ("spillover", args.spillover), ("noise_sd", args.noise_sd))
          if v is not None}
    if args.model == "linear-in-means":
        return LinearInMeans(**kw)
    if args.model == "threshold":
        return ThresholdContagion(threshold=args.threshold, **kw)
    if "direct" in kw:
        kw["effect"] = kw.pop("direct")
    return HeterogeneousPopulation(**kw)


def _model_args(p):
    p.add_argument("--model", choices=["linear-in-means", "threshold", "heterogeneous"], default="linear-in-means")
    p.add_argument("--direct", type=float, default=None, help="direct effect (linear-in-means 0.2, threshold 1, "
                                                            "heterogeneous 1.4)")
    p.add_argument("--spillover", type=float, default=None, help="spillover (linear-in-means 0.1, threshold 1, "
                                                               "heterogeneous 0)")
    p.add_argument("--threshold", type=float, default=0.5, help="threshold model: share of treated neighbours")
    p.add_argument("--noise-sd", type=float, default=None, help="noise standard deviation (model default)")


def cmd_simulate(args):
    """Outcomes with known potential outcomes for an assignment: a dry run of the analysis."""
    from ._files import write_text
    from ._io_utils import check_writable

    out = check_writable(args.output, overwrite=args.force)
    g = _load(args)
    if _is_multiarm(args):
        raise _err(f"{args.assignment} is a k-arm assignment: the outcome models of `netexp simulate` have one "
                   "treatment and a control, so they cannot give k arms their own effects. Instead write the "
                   "outcomes yourself (a node_id,outcome CSV, e.g. outcome = baseline + the effect of the unit's "
                   "arm + noise) and read them with `netexp analyze --assignment ... --outcomes ...`; or draw a "
                   "two-arm assignment (`netexp assign` without --arms) to simulate with these models.")
    z = _read_assignment(g, args.assignment)
    model = _outcome_model(args)
    seed = args.seed if args.seed is not None else int(np.random.SeedSequence().entropy % (2**31))
    po = model.realize(g, rng=seed)
    y = po.outcomes(z)
    df = pd.DataFrame({"node_id": g.node_ids, args.outcome_column: y})
    write_text(out, df.to_csv(index=False), overwrite=args.force)
    truth = {k: float(v) for k, v in po.truth().items()} if hasattr(po, "truth") else {}
    if args.json:
        print(json.dumps({"output": str(out), "model": repr(model), "seed": seed, "truth": truth}, indent=2))
        return
    print(f"wrote {out}: {len(df)} outcomes from {model!r} (seed {seed})")
    for k, v in truth.items():
        print(f"  true {k}: {v:.6g}")


def cmd_diagnose(args):
    from .clustering import Clustering, cluster
    from .designs import Bernoulli, ClusterRandomized, Complete, RandomizedSaturation
    from .diagnostics import diagnose

    g = _load(args)
    names = _split(args.designs) or []
    valid = ("complete", "bernoulli", "cluster", "saturation")
    bad = [d for d in names if d not in valid]
    if bad or not names:
        raise _err(f"--designs must be comma-separated from {', '.join(valid)}; got {args.designs!r}.")
    clustering = None
    if any(d in ("cluster", "saturation") for d in names):
        clustering = (Clustering.read_csv(g, args.clusters) if args.clusters
                      else cluster(g, "leiden", rng=args.seed))
    designs = {}
    for d in names:
        if d == "complete":
            designs[d] = Complete(g.n_nodes, p=args.p)
        elif d == "bernoulli":
            designs[d] = Bernoulli(g.n_nodes, p=args.p)
        elif d == "cluster":
            designs[d] = ClusterRandomized(clustering, p=args.p)
        else:
            designs[d] = RandomizedSaturation(clustering, (0.0, args.p, 1.0))
    model = _outcome_model(args)
    res = diagnose(designs, _split(args.estimators) or [], model, g, n_sims=args.n_sims, rng=args.seed,
                   n_jobs=args.jobs, progress=False if args.json else None)
    if args.json:
        print(json.dumps({"n_sims": res.n_sims, "truth": res.truth, "model": repr(model),
                          "designs": {k: repr(v) for k, v in designs.items()},
                          "table": [_jsonable(r) for r in res.to_frame().to_dict("records")]}, indent=2,
                         default=_json_default))
    else:
        print(res.summary())


_CURVE_X = {"n-clusters": "n_clusters", "effect": "effect", "icc": "icc", "cluster-size": "cluster_size", "n": "n"}


def cmd_power(args):
    from .diagnostics import mde_cluster, mde_individual, power_cluster, power_curve, power_individual

    individual = args.n is not None or (args.curve or "").startswith("n:")
    varied = _CURVE_X.get((args.curve or "").partition(":")[0])
    need = {"n_clusters": args.clusters, "cluster_size": args.cluster_size, "icc": args.icc}
    need.pop(varied, None)
    if not individual and None in need.values():
        raise _err("give --clusters K --cluster-size M --icc R (cluster randomization) or --n N (individual).")
    common = dict(sd=args.sd, p=args.p, alpha=args.alpha)
    ckw = dict(n_clusters=args.clusters, cluster_size=args.cluster_size, icc=args.icc, cluster_size_cv=args.cv)
    if args.curve:
        x, _, vals = args.curve.partition(":")
        if x not in _CURVE_X or not vals:
            raise _err(f"--curve must be X:V1,V2,... with X one of {', '.join(_CURVE_X)}; got {args.curve!r}.")
        try:
            values = [float(v) for v in vals.split(",") if v.strip()]
        except ValueError:
            raise _err(f"--curve values must be numbers; got {vals!r}.") from None
        xx = _CURVE_X[x]
        if xx in ("n_clusters", "n"):
            values = [int(v) for v in values]
        kw = dict(effect=args.effect, **common)
        if individual:
            kw["n"] = args.n
        else:
            kw.update(ckw)
        kw.pop(xx, None)
        if args.effect is None and xx != "effect":
            raise _err("--curve needs --effect D (unless the curve varies the effect).")
        frame = power_curve(xx, values, kind="individual" if individual else "cluster", **kw)
        out = {"curve": xx, "table": frame.to_dict("records")}
        if args.json:
            print(json.dumps(out, indent=2, default=_json_default))
        else:
            print(frame.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        return
    if args.power is not None:
        mde = (mde_individual(n=args.n, power=args.power, **common) if individual
               else mde_cluster(power=args.power, **ckw, **common))
        out = {"power": args.power, "mde": mde}
        text = f"minimum detectable effect at power {args.power:g}: {mde:.4g} (alpha {args.alpha:g}, sd {args.sd:g})"
    else:
        if args.effect is None:
            raise _err("give --effect D (for power) or --power P (for the minimum detectable effect).")
        pw = (power_individual(args.effect, n=args.n, **common) if individual
              else power_cluster(args.effect, **ckw, **common))
        out = {"effect": args.effect, "power": pw}
        text = f"power to detect {args.effect:g}: {pw:.4f} (alpha {args.alpha:g}, sd {args.sd:g})"
    out.update({"design": "individual" if individual else "cluster", **({"n": args.n} if individual else ckw),
                **common})
    print(json.dumps(out, indent=2, default=_json_default) if args.json else text)


def cmd_card(args):
    from pathlib import Path

    from ._analysis import mapping_for
    from ._assign import build_design, load_sidecar, sidecar_path, sidecar_spec
    from ._io_utils import check_writable
    from .diagnostics import DesignCard
    from .graph import read_graph

    side = sidecar_path(args.assignment)
    if not side.exists():
        raise _err(f"{args.assignment} has no design sidecar {side.name}; write the assignment with `netexp assign`.")
    record = load_sidecar(side)
    graph_arg = args.graph
    if graph_arg is None:
        from ._assign import file_sha256

        rec = record.get("graph") or {}
        # only the very file recorded (same sha256) is read: an edited sidecar cannot make netexp parse
        # an arbitrary local file
        graph_arg = rec.get("name") or next((c for c in (rec.get("abs_path"), rec.get("path"))
                                             if c and Path(c).is_file() and file_sha256(c) == rec.get("sha256")), None)
        if graph_arg is None:
            raise _err(f"the graph recorded in {side.name} is missing or changed since the assignment was drawn; "
                       "give --graph.")
    g = read_graph(graph_arg, directed=args.directed)
    design, clustering = build_design(sidecar_spec(side), g)
    from .designs import MultiArmDesign

    karm = isinstance(design, MultiArmDesign)
    if karm and args.mapping not in (None, "fraction"):
        raise _err(f"--mapping {args.mapping} is a two-arm exposure mapping; a k-arm card takes --mapping fraction "
                   "(own arm and the share of neighbours in each arm) or none.")
    stem = Path(args.output) if args.output else Path(args.assignment).with_name(Path(args.assignment).name + ".card")
    for ext in (".md", ".json"):
        check_writable(stem.with_name(stem.name + ext), overwrite=args.force)
    fields = {}
    for flag, field in _CARD_FIELDS.items():
        v = getattr(args, flag.replace("-", "_"))
        if v is not None:
            fields[field] = tuple(_split(v)) if field in _CARD_LISTS else v
    mapping = mapping_for(args.mapping, hops=args.hops, q=args.q) if args.mapping and not karm else None
    if args.mapping == "fraction":
        fields.setdefault("exposure_mapping", "own arm and the share of neighbours in each arm (exposure regression)"
                          if karm else "own treatment and fraction of treated neighbours (exposure regression)")
    card = DesignCard.from_objects(design=design, graph=g, clustering=clustering, mapping=mapping,
                                   estimators=_split(args.estimators),
                                   arm_counts=record.get("arm_counts") if karm else None, **fields)
    md, js = card.write(stem, overwrite=args.force)
    if args.json:
        print(card.to_json())
    else:
        print(f"wrote {md} and {js}")


def cmd_report(args):
    from ._assign import _keyed_frame
    from ._io_utils import check_writable
    from ._report import write_report
    from .diagnostics import DesignCard, balance_table, srm_test
    from .inference import randomization_test

    out = check_writable(args.output, overwrite=args.force)
    g = _load(args)
    if _is_multiarm(args):
        return _report_multiarm(args, g, out)
    written = DesignCard.read(args.card) if args.card else None
    if args.outcome_column is None and written is not None and written.primary_outcome:
        args.outcome_column = written.primary_outcome  # the card names the metric that answers the question
    z, pos, y, frame, design, clustering, source = _experiment(args, g)
    cov = _keyed_frame(g, args.covariates, "covariates file") if args.covariates else None
    rows = _analysis_records(args, g, z, pos, y, frame, design, clustering, cov)
    ests = {f"{r['estimator']}: {r['contrast']}": r["_estimate"] for r in rows if r["status"] == "ok"}
    for r in rows:
        if r["status"] != "ok":
            print(f"{r['estimator']}: {_cli_language(r['status'])}", file=sys.stderr)
    card = DesignCard.from_objects(design=design, graph=g, clustering=clustering) if design is not None else None
    outcomes = _outcome_columns(g, args.outcomes, None if written is not None else args.outcome_column, written)
    bal = balance_table(cov, z, design=design, rng=args.seed) if cov is not None else None
    srm = None
    if design is not None:
        labels = getattr(design, "labels", None)
        srm = srm_test(z[pos], design=design, clusters=None if labels is None else np.asarray(labels)[pos])
    rt = None
    notes = [args.notes] if args.notes else []
    if design is not None:
        from .designs import UnitSubset

        keep = np.sort(pos)
        yy = np.empty(g.n_nodes)
        yy[pos] = y
        sub = design if keep.shape[0] == g.n_nodes else UnitSubset(design, keep)
        rt = randomization_test(yy[keep], z[keep], sub, n_draws=args.n_draws, rng=args.seed)
        if keep.shape[0] != g.n_nodes:
            notes.append(f"Outcomes cover {keep.shape[0]} of {g.n_nodes} units: the randomization test reads the "
                         "design's draws at those units (valid if having an outcome does not depend on treatment).")
    if design is None:
        notes.append("No design known (no sidecar, no --design): design card, SRM and randomization test omitted.")
    path = write_report(out, title=args.title, design_card=None if written is not None else card,
                        card=written, graph=g, clustering=clustering, assignment=z, outcomes=outcomes,
                        balance=bal, srm=srm, estimates=ests, randomization_test=rt, notes=notes or None,
                        overwrite=args.force)
    print(f"wrote {path}")


def _report_multiarm(args, g, out):
    """The report of a k-arm experiment: per-pair estimates, SRM across arms, the design's randomization tests."""
    from ._assign import _keyed_frame
    from ._multiarm_analysis import multiarm_srm, multiarm_tests
    from ._report import write_report
    from .diagnostics import DesignCard, multiarm_balance

    written = DesignCard.read(args.card) if args.card else None
    if args.outcome_column is None and written is not None and written.primary_outcome:
        args.outcome_column = written.primary_outcome  # the card names the metric that answers the question
    codes, pos, y, design, clustering, source = _multiarm_experiment(args, g)
    if written is not None:
        named = [a.split(":")[0].removesuffix(" (control)") for a in written.arms]
        if named != [str(a) for a in design.arms]:
            raise _err(f"--card {args.card} describes arms {named or 'treatment and control'}, but the assignment's "
                       f"arms are {list(design.arms)}; write the card from this assignment with `netexp card`.")
    rows = _multiarm_rows(args, g, codes, pos, y, design)
    ests = {f"{r['estimator']}: {r['contrast']}": r["_estimate"] for r in rows if r["status"] == "ok"}
    for r in rows:
        if r["status"] != "ok":
            print(f"{r['estimator']} ({r['contrast']}): {_cli_language(r['status'])}", file=sys.stderr)
    srm = multiarm_srm(codes, pos, design)
    tests = multiarm_tests(codes, pos, y, design, control=args.control, comparisons=args.comparisons,
                           n_draws=args.n_draws, rng=args.seed)
    notes = [args.notes] if args.notes else []
    notes.append(f"{design.n_arms}-arm experiment ({', '.join(design.arms)}); design {design!r} ({source}). "
                 "Randomization tests, null draws from the k-arm design: "
                 + "; ".join(f"{t.statistic}: p = {t.p_value:.4g}" for t in tests) + ".")
    control = args.control or design.arms[0]
    bal = None
    if args.covariates:
        bal = multiarm_balance(_keyed_frame(g, args.covariates, "covariates file"), codes, arms=design.arms,
                               control=control)
    card = written or DesignCard.from_objects(design=design, graph=g, clustering=clustering)
    path = write_report(out, title=args.title, card=card, graph=g, clustering=clustering, assignment=None,
                        balance=bal, srm=srm, estimates=ests, randomization_test=tests[0], notes=notes,
                        overwrite=args.force, arms=design.arms, control=control)
    print(f"wrote {path}")


def _outcome_columns(graph, path, column, card):
    """Every numeric outcome column of the outcomes file in node order (NaN where missing), for the readout.

    With --outcome-column only that one; the card's primary metric and guardrails must be columns.
    The file is the one the estimates were read from, parsed once per command.
    """
    df = _table(path, "outcomes file")
    ids = df.columns[0]
    cols = [column] if column else [c for c in df.columns[1:] if pd.api.types.is_numeric_dtype(df[c])]
    if card is not None:
        wanted = [card.primary_outcome] + list(card.guardrails or []) if card.primary_outcome else []
        missing = [w for w in wanted if w and w not in df.columns]
        if missing and not column:
            raise _err(f"{path}: the card names metrics {missing} that are not columns of the outcomes file "
                       f"(columns: {list(df.columns[1:])}); name the columns as the card does, or use --outcome-column.")
    pos = graph.index_of(df[ids].to_numpy(), what="node ids in the outcomes")
    out = {}
    for c in cols:
        y = np.full(graph.n_nodes, np.nan)
        y[pos] = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
        out[c] = y
    return out


def _design_from_sidecar(graph, assignment_path):
    """The design recorded beside an assignment file, or None."""
    from ._assign import build_design, sidecar_path, sidecar_spec

    side = sidecar_path(assignment_path)
    if not side.exists():
        return None
    spec = sidecar_spec(side)
    return build_design(spec, graph)[0]


def _jsonable(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, np.ndarray):
            v = v.tolist()
        elif isinstance(v, (np.floating, np.integer, np.bool_)):
            v = v.item()
        out[k] = v
    return out


def cmd_balance(args):
    from ._assign import _keyed_frame
    from .diagnostics import balance_table

    g = _load(args)
    if _is_multiarm(args):
        from .diagnostics import multiarm_balance

        codes, _, _, design, _, _ = _multiarm_experiment(args, g)
        cov = _keyed_frame(g, args.covariates, "covariates file")
        if args.columns:
            cov = cov[[c.strip() for c in args.columns.split(",")]]
        tab = multiarm_balance(cov, codes, arms=design.arms)
        print(json.dumps([_jsonable(r) for r in tab.to_dict("records")], indent=2, default=str) if args.json
              else tab.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        return
    z = _read_assignment(g, args.assignment)
    cov = _keyed_frame(g, args.covariates, "covariates file")
    cols = [c.strip() for c in args.columns.split(",")] if args.columns else None
    design = _design_from_sidecar(g, args.assignment)
    bt = balance_table(cov, z, cols, design=design, n_draws=args.draws, rng=args.seed)
    if args.json:
        print(json.dumps({"verdict": bt.verdict, "design": repr(design) if design is not None else None,
                          "mahalanobis": float(bt.mahalanobis),
                          "table": [_jsonable(r) for r in bt.to_frame().to_dict("records")]}, indent=2, default=str))
    else:
        if design is None:
            print("(no design sidecar found: p-values use the chi-square reference of complete randomization)")
        print(bt.summary())


def cmd_srm(args):
    from .diagnostics import srm_test

    g = _load(args)
    if _is_multiarm(args):
        from ._multiarm_analysis import multiarm_srm

        if args.expected is not None:
            raise _err("--expected is the planned treated share of a two-arm design; a k-arm assignment takes the "
                       "planned shares from its sidecar (or --design with --arms/--probabilities at assign time).")
        codes, pos, _, design, _, source = _multiarm_experiment(args, g)
        res = multiarm_srm(codes, pos, design, alpha=args.alpha)
        if args.json:
            print(json.dumps({"arms": list(res.arms), "observed": list(res.observed), "expected": list(res.expected),
                              "chi2": res.chi2, "df": res.df, "p_value": res.p_value, "mismatch": res.mismatch,
                              "message": res.message}, indent=2, default=_json_default))
        else:
            print(res.summary())
        if res.mismatch:
            raise SystemExit(1)
        return
    z = _read_assignment(g, args.assignment)
    design = _design_from_sidecar(g, args.assignment)
    if design is None and args.expected is None:
        raise _err(f"{args.assignment} has no design sidecar; give the planned treated share with --expected.")
    units = np.arange(g.n_nodes)
    if args.outcomes:
        units, _ = _read_outcomes(g, args.outcomes, getattr(args, "outcome_column", None))
    res = srm_test(z[units], design=design if args.expected is None else None, expected=args.expected,
                   clusters=(design.labels[units] if hasattr(design, "labels") and args.expected is None else None),
                   alpha=args.alpha)
    if args.json:
        print(json.dumps(_jsonable(res.to_frame().iloc[0].to_dict()) | {"message": res.message}, indent=2, default=str))
    else:
        print(res.message)
    if res.mismatch:
        raise SystemExit(1)


COMMANDS = {"run": cmd_run, "info": cmd_info, "cluster": cmd_cluster, "assign": cmd_assign, "verify": cmd_verify,
            "balance": cmd_balance, "srm": cmd_srm, "analyze": cmd_analyze, "test": cmd_test,
            "diagnose": cmd_diagnose, "power": cmd_power, "card": cmd_card, "report": cmd_report, "simulate": cmd_simulate}


# upper limits on work-size flags, checked before anything is allocated: (minimum, maximum, why)
_LIMITS = {
    "reps": (0, 100_000, "each repetition re-runs every estimator; 10^5 gives coverage to +-0.002"),
    "n_draws": (1, 10_000_000, "10^7 draws give a p-value to +-0.0002 and already take minutes on large graphs"),
    "draws": (1, 10_000_000, "10^7 draws pin the randomization reference far beyond its sampling error"),
    "n_sims": (1, 1_000_000, "10^6 simulated experiments per design already take hours"),
    "max_tries": (1, 10_000_000, "more tries run for hours; loosen the threshold or raise the acceptance instead"),
    "jobs": (1, 1024, "more processes than that cannot help"),
    "hops": (1, 10, "exposure beyond 10 hops covers almost every unit of any real network"),
    "n": (2, 10 ** 12, "beyond 10^12 units the normal approximation is exact to every printed digit"),
}


def _check_limits(args) -> None:
    for attr, v in vars(args).items():
        if isinstance(v, float) and not (np.isfinite(v) and abs(v) <= 1e100):
            raise _err(f"--{attr.replace('_', '-')} must be a finite number of magnitude at most 1e100; got {v:g}.")
    for attr, (low, high, why) in _LIMITS.items():
        v = getattr(args, attr, None)
        if isinstance(v, int) and not low <= v <= high:
            raise _err(f"--{attr.replace('_', '-')} must be in [{low:,}, {high:,}]; got {v:,}"
                       + (f" ({why})." if v > high else "."))


def _one_line(message: str) -> str:
    """An error message as netexp prints it: numpy scalars as plain numbers, one line."""
    import re

    message = re.sub(r"np\.(?:u?int\d*|float\d*|bool_?|str_)\(([^()]*)\)", r"\1", str(message))
    return " ".join(message.split())


def main(argv=None) -> int:
    import os

    from ._errors import NetexpError, NetexpWarning

    parser = build_parser()
    args = parser.parse_args(argv)
    _TABLES.clear()
    if args.command is None:
        parser.print_help()
        return 0
    cmd = f"netexp {args.command}"

    def show_warning(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, NetexpWarning):
            print(f"netexp: warning: {_cli_language(str(message))}", file=sys.stderr)
        else:
            print(f"netexp: warning: {category.__name__}: {message}", file=sys.stderr)

    warnings.showwarning = show_warning
    try:
        _check_limits(args)
        COMMANDS[args.command](args)
    except NetexpError as exc:
        print(f"{cmd}: error: {_cli_language(_one_line(exc))}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `netexp ... | head`: the reader left, nothing to report
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except OSError as exc:
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"{cmd}: error: cannot access{where}: {exc.strerror or exc}; check the path and its permissions "
              "(and free disk space for outputs).", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"{cmd}: error: out of memory: this job needs more memory than is available (the inputs were read "
              "fine); use fewer draws, repetitions or units, or a machine with more memory.", file=sys.stderr)
        return 2
    except UnicodeDecodeError as exc:
        print(f"{cmd}: error: an input file is not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); save tables as "
              "UTF-8 CSV (gzip is fine) or Parquet with a .parquet name.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("netexp: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not a user mistake: one line, the traceback on request
        if os.environ.get("NETEXP_DEBUG"):
            raise
        print(f"{cmd}: internal error: {type(exc).__name__}: {_one_line(exc)} (a bug in netexp: please report it "
              "with the command line; NETEXP_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 2
    finally:
        _TABLES.clear()  # the command's input tables are not kept alive after it (main called in-process)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
