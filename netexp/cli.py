"""Command-line interface: parse, call the public API, write files. Nothing else lives here.

    netexp run                      the full pipeline on the bundled default network
    netexp info GRAPH               summary statistics
    netexp cluster GRAPH -o clusters.csv
    netexp assign GRAPH -o assignment.csv --design bernoulli|complete|cluster
    netexp analyze GRAPH --assignment assignment.csv --outcomes outcomes.csv
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
                   help="edge-list file (.txt/.csv/.tsv, optionally .gz, or .parquet) or a bundled graph name "
                        "(see `netexp info --list`)")
    p.add_argument("--directed", action="store_true",
                   help="read edges as directed: `source target` means source's treatment can reach target")


def _out_arg(p, what):
    p.add_argument("-o", "--output", required=True, help=f"{what} CSV to write (keyed by node id)")
    p.add_argument("--force", action="store_true", help="overwrite the output file if it exists")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
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
                   help="repeat the experiment N times for bias, RMSE and coverage (default 500; 0 to skip)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")

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
    net.add_argument("--within", choices=["complete", "bernoulli"], default=None,
                     help="saturation: exact count or Bernoulli within a cluster (default complete)")
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
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")

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
    p.add_argument("--expected", type=float, default=None, help="planned treated share, when there is no sidecar")
    p.add_argument("--alpha", type=float, default=0.001, help="mismatch threshold on the p-value (default 0.001)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("analyze", help="estimate effects from an assignment and outcomes")
    _graph_arg(p)
    p.add_argument("--assignment", required=True, help="node_id,treatment CSV covering every node")
    p.add_argument("--outcomes", required=True, help="node_id,outcome CSV (a subset of nodes is allowed)")
    p.add_argument("--clusters", default=None, help="node_id,cluster CSV used for randomization")
    p.add_argument("--confidence-level", type=float, default=0.95)
    p.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _load(args):
    from .graph import read_graph

    return read_graph(args.graph, directed=getattr(args, "directed", False))


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
    from ._io_utils import read_table

    df = read_table(path, "assignment file")
    col = _column(df, ["treatment", "z", "assignment", "treated"], "treatment", path)
    idcol = df.columns[0]
    vals = df[col]
    if vals.isna().any():
        raise _err(f"{path}: {int(vals.isna().sum())} rows have no treatment value; every unit needs 0 or 1.")
    v = vals.to_numpy()
    if v.dtype.kind not in "biuf" or not np.isin(v, (0, 1)).all():
        raise _err(f"{path}: column {col!r} must hold 0/1 values.")
    pos = graph.index_of(df[idcol].to_numpy(), what="node ids in the assignment")
    if np.unique(pos).shape[0] != pos.shape[0]:
        raise _err(f"{path}: some node ids appear more than once.")
    if pos.shape[0] != graph.n_nodes:
        missing = np.setdiff1d(np.arange(graph.n_nodes), pos)
        ex = ", ".join(repr(x) for x in graph.node_ids[missing[:5]])
        raise _err(f"{path}: {missing.shape[0]} nodes of the graph have no treatment (e.g. {ex}); exposure needs "
                   "every unit's assignment.")
    z = np.zeros(graph.n_nodes, dtype=bool)
    z[pos] = v.astype(bool)
    return z


def _read_outcomes(graph, path):
    from ._io_utils import read_table

    df = read_table(path, "outcomes file")
    col = _column(df, ["outcome", "y", "value"], "outcome", path)
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
    from ._pipeline import run_pipeline
    from .graph._examples import DEFAULT_GRAPH

    report = run_pipeline(args.graph or DEFAULT_GRAPH, seed=args.seed, baseline=args.baseline, direct=args.direct,
                          spillover=args.spillover, noise_sd=args.noise_sd, p=args.p, cluster_method=args.method,
                          resolution=args.resolution, target_clusters=args.target_clusters, n_reps=args.reps,
                          progress=None if not args.json else False)
    print(report.to_json() if args.json else report)


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
    c.to_csv(out, overwrite=True)
    s = c.summary()
    q = c.quality(p=args.p).to_dict()
    if args.json:
        print(json.dumps(_jsonable({**s, "quality": _jsonable(q)}), indent=2))
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
            "min_alters": args.min_alters, "selection_seed": args.selection_seed, "seed": args.seed}
    return {k: v for k, v in spec.items() if v is not None}


def cmd_assign(args):
    from ._assign import sidecar_path, write_assignment

    g = _load(args)
    df, design = write_assignment(_spec_from_args(args), g, args.graph, args.output, overwrite=args.force)
    print(f"wrote {args.output} and {sidecar_path(args.output).name}: {int(df['treatment'].sum())} of {len(df)} "
          f"units treated ({design!r}, seed {args.seed})")


def cmd_verify(args):
    from ._assign import verify_assignment

    res = verify_assignment(args.assignment)
    print(json.dumps(res, indent=2) if args.json else res["message"])
    if not res["ok"]:
        raise SystemExit(1)


def cmd_analyze(args):
    from ._pipeline import analyze
    from .estimators._result import _fmt_p
    from .clustering import Clustering

    g = _load(args)
    z = _read_assignment(g, args.assignment)
    pos, y = _read_outcomes(g, args.outcomes)
    clusters = Clustering.read_csv(g, args.clusters).labels if args.clusters else None
    res = analyze(g, z, y, clusters=clusters, units=pos, confidence_level=args.confidence_level)
    rows = [{"estimator": label, **e.to_dict()} for label, e in res]
    if args.json:
        print(json.dumps({"graph": g.name, "n_units": g.n_nodes, "n_outcomes": int(pos.shape[0]),
                          "n_treated": int(z.sum()), "estimates": rows}, indent=2, default=float))
        return
    df = pd.DataFrame(rows)
    lvl = int(round(100 * args.confidence_level))
    show = pd.DataFrame({
        "estimator": df["estimator"], "estimand": df["estimand"], "estimate": df["estimate"].map("{:.4g}".format),
        "std_error": df["std_error"].map("{:.4g}".format),
        f"{lvl}% CI": [f"[{a:.4g}, {b:.4g}]" for a, b in zip(df["ci_low"], df["ci_high"])],
        "p_value": df["p_value"].map(_fmt_p), "variance": df["variance"],
    })
    print(f"{g!r}: {int(z.sum())} of {g.n_nodes} treated; {pos.shape[0]} outcomes")
    print(show.to_string(index=False))


def _design_from_sidecar(graph, assignment_path):
    """The design recorded beside an assignment file, or None."""
    from ._assign import build_design, sidecar_path

    side = sidecar_path(assignment_path)
    if not side.exists():
        return None
    spec = json.loads(side.read_text())["spec"]
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
    z = _read_assignment(g, args.assignment)
    design = _design_from_sidecar(g, args.assignment)
    if design is None and args.expected is None:
        raise _err(f"{args.assignment} has no design sidecar; give the planned treated share with --expected.")
    units = np.arange(g.n_nodes)
    if args.outcomes:
        units, _ = _read_outcomes(g, args.outcomes)
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
            "balance": cmd_balance, "srm": cmd_srm, "analyze": cmd_analyze}


def main(argv=None) -> int:
    from ._errors import NetexpError, NetexpWarning

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0

    def show_warning(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, NetexpWarning):
            print(f"netexp: warning: {message}", file=sys.stderr)
        else:
            print(f"netexp: warning: {category.__name__}: {message}", file=sys.stderr)

    warnings.showwarning = show_warning
    try:
        COMMANDS[args.command](args)
    except (NetexpError, FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        print(f"netexp {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("netexp: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
