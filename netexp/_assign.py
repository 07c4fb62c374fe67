"""Assignments from a declaration: a JSON-able spec -> Design -> assignment table, plus the
sidecar that lets anyone re-draw an assignment bit for bit and check a file was not edited."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._align import aligned
from ._errors import InputError, NetexpError
from ._io_utils import check_writable, read_table

__all__ = ["DESIGN_NAMES", "build_design", "draw_assignment", "write_spec_assignment", "write_assignment",
           "verify_assignment", "sidecar_path", "load_sidecar", "sidecar_spec", "check_spec",
           "check_assignment_against_design", "is_multiarm_spec"]

DESIGN_NAMES = ("bernoulli", "complete", "cluster", "blocked", "stratified", "stratified-blocked", "rerandomized",
                "matched-pairs", "graph-cluster", "independent-set", "coloring", "saturation", "ego-cluster", "mixed")
# network designs: they carry their own structure (clusters, colours, egos), so no --level
NETWORK_DESIGNS = ("graph-cluster", "independent-set", "coloring", "saturation", "ego-cluster", "mixed")
_NEEDS_CLUSTERS = ("graph-cluster", "saturation", "mixed")
SIDECAR_SUFFIX = ".design.json"


# re-randomization gives up after this many tries at most: 10^7 Mahalanobis checks already take minutes
MAX_TRIES_LIMIT = 10_000_000

# the type of every key a design declaration may hold (a sidecar is untrusted input)
_NUM = (int, float)
_SPEC_TYPES = {
    "design": str, "level": str, "p": _NUM, "n_treated": int, "extra": str, "clusters": str, "covariates": str,
    "cluster_covariates": str, "strata": str, "bins": (int, list), "block_size": int, "balance_on": list,
    "criterion": str, "threshold": _NUM, "acceptance": _NUM, "base": str, "max_tries": int, "distance": str,
    "cluster_design": str, "n_size_strata": int, "saturations": (str, list), "shares": (str, list), "within": str,
    "stage1": str, "arm_share": _NUM, "coloring_method": str, "class_probabilities": str, "max_alters": int,
    "min_alters": int, "selection_seed": int, "seed": int, "arms": list, "probabilities": list,
}
# the designs that take --arms (k-arm versions of complete / Bernoulli, over units or clusters)
MULTIARM_DESIGNS = ("complete", "bernoulli", "cluster")
_FLAG = {"balance_on": "--balance-on", "n_treated": "--n-treated", "max_tries": "--max-tries"}


def check_spec(spec, where: str = "the design declaration") -> dict:
    """Check the keys and value types of a design declaration; return it as a dict.

    A sidecar is a file anyone can edit: wrong types and absurd limits are refused here with a
    message naming the key, instead of failing deep inside a design (or running
    for days on ``max_tries: 10**12``).
    """
    if not isinstance(spec, dict):
        raise InputError(f"{where}: the design declaration must be a JSON object; got {type(spec).__name__}.")
    for k, v in spec.items():
        if v is None or k not in _SPEC_TYPES:  # keys this version does not read are left alone
            continue
        t = _SPEC_TYPES[k]
        ok = isinstance(v, t) and not isinstance(v, bool)
        if ok and isinstance(v, list):
            ok = all(isinstance(x, (str, int, float)) and not isinstance(x, bool) for x in v) and len(v) <= 10_000
        if ok and isinstance(v, float) and not np.isfinite(v):
            ok = False
        if ok and isinstance(v, str) and (len(v) > 4096 or "\0" in v):
            ok = False
        if not ok:
            want = " or ".join(x.__name__ for x in (t if isinstance(t, tuple) else (t,)))
            shown = repr(v) if len(repr(v)) <= 40 else repr(v)[:37] + "..."
            raise InputError(f"{where}: {k!r} must be {want}; got {shown}.")
    if isinstance(spec.get("seed"), int) and not 0 <= spec["seed"] < 2 ** 63:
        raise InputError(f"{where}: 'seed' must be in [0, 2^63); got {spec['seed']}.")
    mt = spec.get("max_tries")
    if mt is not None and not 1 <= mt <= MAX_TRIES_LIMIT:
        raise InputError(f"{where}: max_tries (--max-tries) must be in [1, {MAX_TRIES_LIMIT:,}]; got {mt:,}. More "
                         "tries than that run for hours: loosen the threshold or raise the acceptance instead.")
    for k in ("n_treated", "block_size", "n_size_strata", "max_alters", "min_alters", "selection_seed"):
        v = spec.get(k)
        if isinstance(v, int) and not 0 <= v < 2 ** 62:
            raise InputError(f"{where}: {k!r} must be a non-negative integer; got {v}.")
    return dict(spec)


def load_sidecar(path: str | os.PathLike) -> dict:
    """Read and check an assignment's ``.design.json`` sidecar (give the sidecar or the assignment).

    Returns the record with its ``spec`` checked by :func:`check_spec`. A sidecar that is not
    JSON, not an object, or has fields of the wrong type is an :class:`InputError` naming the
    field; file contents named by the sidecar are never echoed.
    """
    side = Path(path)
    if not side.name.endswith(SIDECAR_SUFFIX):
        side = sidecar_path(side)
    try:
        raw = side.read_bytes()
    except FileNotFoundError:
        raise InputError(f"no design sidecar {side}; only assignments written by `netexp assign` have one.") from None
    if len(raw) > 10 * 2 ** 20:
        raise InputError(f"{side}: {len(raw):,} bytes is far too large for a design sidecar; the file is damaged.")
    try:
        record = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"{side}: not a valid design sidecar (broken JSON: {type(exc).__name__}); write the "
                         "assignment again with `netexp assign`, or remove the sidecar and pass --design.") from None
    if not isinstance(record, dict) or not isinstance(record.get("spec"), dict):
        raise InputError(f"{side}: not a valid design sidecar (no 'spec' object); write the assignment again with "
                         "`netexp assign`, or remove the sidecar and pass --design.")
    record["spec"] = check_spec(record["spec"], side.name)
    for key in ("graph",):
        rec = record.get(key)
        if rec is not None and not _valid_input_record(rec):
            raise InputError(f"{side.name}: the {key!r} entry is damaged (needs a name, or a path with its sha256).")
    inputs = record.get("inputs", {})
    if not isinstance(inputs, dict) or not all(_valid_input_record(v) for v in inputs.values() if v is not None):
        raise InputError(f"{side.name}: the 'inputs' entry is damaged (each input needs a path and its sha256).")
    for key, t in (("n_units", int), ("n_treated", int), ("assignment_sha256", str), ("netexp_version", str),
                   ("arm_counts", dict)):
        if key in record and not (isinstance(record[key], t) and not isinstance(record[key], bool)):
            raise InputError(f"{side.name}: {key!r} must be {t.__name__}; got {record[key]!r:.40}.")
    if isinstance(record.get("arm_counts"), dict) and not all(
            isinstance(v, int) and not isinstance(v, bool) for v in record["arm_counts"].values()):
        raise InputError(f"{side.name}: 'arm_counts' must map each arm to an integer count.")
    return record


def sidecar_spec(path: str | os.PathLike) -> dict:
    """The design declaration of an assignment's sidecar, with its input files located and checked.

    Every file the declaration reads (clusters, covariates) must be one recorded in the sidecar
    with the same sha256: a changed input means another design, and a sidecar edited to point at
    an arbitrary local file must not get that file parsed (its lines could reach messages).
    """
    side = Path(path)
    if not side.name.endswith(SIDECAR_SUFFIX):
        side = sidecar_path(side)
    record = load_sidecar(side)
    spec = dict(record["spec"])
    inputs = record.get("inputs") or {}
    for k in ("clusters", "covariates", "cluster_covariates"):
        if not spec.get(k):
            continue
        rec = inputs.get(k)
        if not rec or "path" not in rec:
            raise InputError(f"{side.name}: the declaration reads a {k} file that is not among the recorded inputs; "
                             "the sidecar was edited. Write the assignment again with `netexp assign`.")
        cands = [spec[k], rec.get("abs_path"), side.parent / rec["path"], rec["path"],
                 side.parent / Path(rec["path"]).name]
        found = next((str(c) for c in cands if c and Path(c).is_file() and file_sha256(c) == rec["sha256"]), None)
        if found is None:
            raise InputError(f"{side.name}: the {k} file {rec['path']} recorded there is missing or changed since the "
                             "assignment was drawn (sha256 differs); restore it, or pass the design with --design.")
        spec[k] = found
    return spec


def _valid_input_record(rec) -> bool:
    if not isinstance(rec, dict):
        return False
    if "path" in rec:
        return (isinstance(rec["path"], str) and isinstance(rec.get("sha256"), str)
                and isinstance(rec.get("abs_path", ""), str))
    return isinstance(rec.get("name"), str)


def check_assignment_against_design(z, design, *, where: str = "the assignment") -> None:
    """Refuse an assignment ``z`` that ``design`` cannot produce.

    Exact checks (no sampling): a unit treated with probability 0 or untreated with probability
    1; a fixed-count design (``Complete``, ``Blocked``, ``Stratified``...) with another number
    treated overall or in a block / stratum; a cluster design with treatment varying inside a
    cluster; matched pairs not split one-one. Analysing such an assignment as if it came from the
    design gives p-values and standard errors of a different experiment.

    Raises
    ------
    InputError
        Naming what is impossible, with the observed and the possible counts.
    """
    from .designs import ClusterRandomized, MatchedPairs, Rerandomized
    from .designs._stratified import Complete, _StrataDesign

    z = np.asarray(z).astype(bool)
    if z.shape != (design.n_units,):
        raise InputError(f"{where} has {z.shape[0]} units; the design {design!r} has {design.n_units}.")
    inner = design.base if isinstance(design, Rerandomized) else design
    if isinstance(inner, ClusterRandomized):
        labels = np.asarray(inner.labels)
        k = int(labels.max()) + 1
        tc = np.bincount(labels, weights=z, minlength=k)
        size = np.bincount(labels, minlength=k)
        mixed = np.flatnonzero((tc > 0) & (tc < size))
        if mixed.shape[0]:
            raise InputError(f"{where} cannot come from the declared cluster design: treatment varies inside "
                             f"{mixed.shape[0]} of {k} clusters; the design treats whole clusters. Use the "
                             "assignment that was drawn, or declare the design that was used (design=).")
        check_assignment_against_design(tc > 0, inner.cluster_design, where=f"{where} (at the cluster level)")
        return
    prob = np.asarray(design.probabilities, dtype=float)
    never = np.flatnonzero(z & (prob <= 0))
    always = np.flatnonzero(~z & (prob >= 1))
    if never.shape[0] or always.shape[0]:
        bits = []
        if never.shape[0]:
            bits.append(f"{never.shape[0]} treated units have probability 0 of treatment")
        if always.shape[0]:
            bits.append(f"{always.shape[0]} untreated units have probability 1 of treatment")
        raise InputError(f"{where} cannot come from the declared design {design!r}: {'; '.join(bits)}. Use the "
                         "assignment that was drawn, or declare the design that was used (design=).")
    if isinstance(inner, _StrataDesign):
        codes = np.asarray(inner.strata)
        lo = np.asarray(inner._k_low)
        hi = lo + (np.asarray(inner._frac) > 0)
        got = np.bincount(codes, weights=z, minlength=lo.shape[0]).astype(np.int64)
        bad = np.flatnonzero((got < lo) | (got > hi))
        if bad.shape[0]:
            def span(a, b):
                return f"{a}" if a == b else f"{a} or {b}"
            if isinstance(inner, Complete) or lo.shape[0] == 1:
                what = f"it treats {int(got[0])} of {z.shape[0]} units; the design treats {span(lo[0], hi[0])}"
            else:
                s = int(bad[0])
                what = (f"{bad.shape[0]} of {lo.shape[0]} strata/blocks have another number treated (e.g. "
                        f"stratum {s}: {int(got[s])} treated; the design treats {span(int(lo[s]), int(hi[s]))})")
            raise InputError(f"{where} cannot come from the declared design {design!r}: {what}. Use the "
                             "assignment that was drawn (check the file and its sidecar), or declare the design "
                             "that was used (--design).")
    if isinstance(inner, MatchedPairs):
        pairs = np.asarray(inner.pairs)
        split = z[pairs[:, 0]] != z[pairs[:, 1]]
        if not split.all():
            raise InputError(f"{where} cannot come from the declared matched-pairs design: "
                             f"{int((~split).sum())} of {pairs.shape[0]} pairs are not split one treated, one "
                             "control.")


def sidecar_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _keyed_frame(graph, path, what):
    """A table keyed by node id (first column), reordered to the graph's units."""
    df = read_table(path, what)
    pos = graph.index_of(df.iloc[:, 0].to_numpy(), what=f"node ids in the {what}")
    if np.unique(pos).shape[0] != pos.shape[0]:
        raise InputError(f"{what} {path}: some node ids appear more than once.")
    if pos.shape[0] != graph.n_nodes:
        raise InputError(f"{what} {path}: covers {pos.shape[0]} of the graph's {graph.n_nodes} nodes; "
                         "give one row per node.")
    out = df.iloc[:, 1:].copy()
    out.index = pos
    return out.sort_index().reset_index(drop=True)


def build_design(spec: dict, graph):
    """Return ``(design, clustering or None)`` for a declaration ``spec`` on ``graph``.

    ``spec`` keys: ``design`` (one of :data:`DESIGN_NAMES`), ``level`` ("unit" or "cluster"),
    ``p``, ``n_treated``, ``extra``, ``clusters`` (path), ``covariates`` (path, keyed by node id),
    ``cluster_covariates`` (path, keyed by cluster id), ``strata`` (column), ``bins``,
    ``block_size``, ``balance_on`` (columns), ``criterion``, ``threshold``, ``acceptance``,
    ``base`` ("complete" or "bernoulli"), ``max_tries``, ``distance``.
    """
    from ._covariates import cluster_covariates
    from .designs import (Bernoulli, Blocked, ClusterRandomized, Complete, Rerandomized, Stratified,
                          StratifiedBlocked)

    spec = check_spec(spec)
    name = spec.get("design")
    if name not in DESIGN_NAMES:
        raise InputError(f"design must be one of {', '.join(DESIGN_NAMES)}; got {name!r}.")
    if spec.get("arms") is not None or spec.get("probabilities") is not None:
        return _build_multiarm_design(name, spec, graph)
    if name in NETWORK_DESIGNS:
        return _build_network_design(name, spec, graph)
    level, clustering, n = _design_level(name, spec, graph)

    def covariates():
        if level == "unit":
            if not spec.get("covariates"):
                raise InputError(f"--design {name} needs --covariates FILE (node id first column).")
            return _keyed_frame(graph, spec["covariates"], "covariates file")
        if spec.get("cluster_covariates"):
            df = read_table(spec["cluster_covariates"], "cluster covariates file", ids_as_text=False)
            ids = df.iloc[:, 0].to_numpy()
            labels = clustering._original_labels
            idx = pd.Index(labels).get_indexer(ids)
            if (idx < 0).any() or np.unique(idx).shape[0] != clustering.n_clusters:
                raise InputError("cluster covariates file must have exactly one row per cluster id of the clusters file.")
            out = df.iloc[:, 1:].copy()
            out.index = idx
            return out.sort_index().reset_index(drop=True)
        unit = _keyed_frame(graph, spec["covariates"], "covariates file") if spec.get("covariates") else None
        return cluster_covariates(clustering, unit).reset_index(drop=True)

    p, k, extra = spec.get("p"), spec.get("n_treated"), spec.get("extra") or "random"
    if name in ("complete", "cluster"):
        d = Complete(n, n_treated=k, p=p, extra=extra)
    elif name == "bernoulli":
        if k is not None:
            raise InputError("--design bernoulli takes --p; for a fixed number treated use --design complete.")
        d = Bernoulli(n, p=0.5 if p is None else p)
    elif name == "blocked":
        if not spec.get("block_size"):
            raise InputError("--design blocked needs --block-size K.")
        d = Blocked(n, spec["block_size"], p=0.5 if p is None else p, extra=extra)
    elif name in ("stratified", "stratified-blocked"):
        col = spec.get("strata")
        if not col:
            raise InputError(f"--design {name} needs --strata COLUMN (a column of the covariates file).")
        cov = covariates()
        bins = spec.get("bins")
        if name == "stratified":
            d = Stratified.from_covariate(cov, col, bins=bins, p=p, n_treated=k, extra=extra)
        else:
            if not spec.get("block_size"):
                raise InputError("--design stratified-blocked needs --block-size K.")
            strata = Stratified.from_covariate(cov, col, bins=bins).strata
            d = StratifiedBlocked(strata, spec["block_size"], p=0.5 if p is None else p, extra=extra)
    elif name == "rerandomized":
        cov = covariates()
        base = Bernoulli(n, p=0.5 if p is None else p) if spec.get("base") == "bernoulli" else \
            Complete(n, n_treated=k, p=p, extra=extra)
        cols = spec.get("balance_on") or None
        d = Rerandomized(base, cov, cols, criterion=(spec.get("criterion") or "mahalanobis").replace("-", "_"),
                         threshold=spec.get("threshold"), acceptance=spec.get("acceptance"),
                         max_tries=spec.get("max_tries") or 1_000_000)
    else:  # matched-pairs
        from .designs import MatchedPairs

        cov = covariates()
        d = MatchedPairs(cov, spec.get("balance_on") or None, distance=spec.get("distance") or "mahalanobis")
    if level == "cluster":
        d = ClusterRandomized(clustering, cluster_design=d)
    return d, clustering


def is_multiarm_spec(spec: dict) -> bool:
    """True when a declaration names arms (``--arms``): a k-arm design with an ``arm`` column."""
    return bool(spec) and (spec.get("arms") is not None or spec.get("probabilities") is not None)


def multiarm_arms(spec: dict) -> tuple[list, list]:
    """``(arm names, probabilities)`` of a k-arm declaration, checked; errors name the flags."""
    arms = spec.get("arms")
    if arms is None:
        raise InputError("--probabilities gives each arm's share of a k-arm design: name the arms with --arms "
                         "(e.g. --arms control,a,b --probabilities 0.5,0.25,0.25).")
    arms = [str(a).strip() for a in arms]
    if len(arms) < 2:
        raise InputError(f"--arms needs at least 2 comma-separated arm names (the first is the control); got {arms}.")
    if any(not a for a in arms):
        raise InputError(f"--arms has an empty arm name: {spec.get('arms')}; give each arm a name.")
    dup = sorted({a for a in arms if arms.count(a) > 1})
    if dup:
        raise InputError(f"--arms names each arm once; {dup} appear more than once in {arms}.")
    probs = spec.get("probabilities")
    if probs is None:
        probs = [1.0 / len(arms)] * len(arms)
    try:
        probs = [float(x) for x in probs]
    except (TypeError, ValueError):
        raise InputError(f"--probabilities must be comma-separated numbers; got {probs!r}.") from None
    if len(probs) != len(arms):
        raise InputError(f"--probabilities gives {len(probs)} values but --arms names {len(arms)} arms ({arms}); "
                         "give one probability per arm, in the same order.")
    if any(not np.isfinite(x) or x < 0 for x in probs):
        raise InputError(f"--probabilities must be non-negative numbers; got {probs}.")
    total = float(sum(probs))
    if abs(total - 1.0) > 1e-9:
        raise InputError(f"--probabilities must sum to 1; got {' + '.join(f'{x:g}' for x in probs)} = {total:g}.")
    zero = [a for a, x in zip(arms, probs) if x == 0]
    if zero:
        raise InputError(f"arm(s) {zero} have probability 0 in --probabilities, so they would never be assigned; "
                         "drop them from --arms (and --probabilities).")
    return arms, probs


def _design_level(name, spec, graph):
    """``(level, clustering, n)``: randomize units or the clusters of ``--clusters``, and how many of them."""
    from .clustering import Clustering

    level = spec.get("level") or ("cluster" if name == "cluster" else "unit")
    if level not in ("unit", "cluster"):
        raise InputError(f"level must be 'unit' or 'cluster'; got {level!r}.")
    clustering = None
    if level == "cluster":
        if not spec.get("clusters"):
            raise InputError("cluster-level designs need --clusters clusters.csv (make one with `netexp cluster`).")
        clustering = Clustering.read_csv(graph, spec["clusters"])
    return level, clustering, graph.n_nodes if level == "unit" else clustering.n_clusters


def _build_multiarm_design(name, spec, graph):
    """A k-arm design (complete / Bernoulli over units or clusters) from ``--arms`` / ``--probabilities``."""
    from .designs import MultiArmBernoulli, MultiArmCluster, MultiArmComplete

    arms, probs = multiarm_arms(spec)
    if name not in MULTIARM_DESIGNS:
        raise InputError(f"--arms works with --design {', '.join(MULTIARM_DESIGNS)} (at --level unit or cluster); "
                         f"--design {name} has two arms only.")
    for key, flag in (("n_treated", "--n-treated"), ("p", "--p"), ("strata", "--strata"),
                      ("block_size", "--block-size"), ("balance_on", "--balance-on"), ("extra", "--extra")):
        if spec.get(key) is not None:
            raise InputError(f"{flag} does not apply to a k-arm design: give each arm's share with --probabilities.")
    level, clustering, n = _design_level(name, spec, graph)
    if name == "bernoulli":
        d = MultiArmBernoulli(n, prob_each=probs, arms=arms)
    else:
        d = MultiArmComplete(n, prob_each=probs, arms=arms)
    if level == "cluster":
        d = MultiArmCluster(clustering, d)
    return d, clustering


def _floats(value, what):
    if value is None or isinstance(value, (list, tuple)):
        return value
    try:
        return [float(x) for x in str(value).split(",") if x.strip()]
    except ValueError:
        raise InputError(f"{what} must be comma-separated numbers (e.g. 0,0.5,1); got {value!r}.") from None


def _build_network_design(name: str, spec: dict, graph):
    """The network designs of :data:`NETWORK_DESIGNS` from a spec; ``(design, clustering or None)``."""
    from .clustering import Clustering
    from .designs import (ColoringDesign, EgoClusterDesign, IndependentSetDesign, MixedInterferenceDesign,
                          RandomizedSaturation, graph_cluster_randomized)

    clustering = None
    if name in _NEEDS_CLUSTERS:
        if not spec.get("clusters"):
            raise InputError(f"--design {name} needs --clusters clusters.csv (make one with `netexp cluster`).")
        clustering = Clustering.read_csv(graph, spec["clusters"])
    p = spec.get("p")
    p = 0.5 if p is None else p
    if name == "graph-cluster":
        cov = _keyed_frame(graph, spec["covariates"], "covariates file") if spec.get("covariates") else None
        kw = {"n_size_strata": spec["n_size_strata"]} if spec.get("n_size_strata") else {}
        if spec.get("acceptance") is not None:
            kw["acceptance"] = spec["acceptance"]
        d = graph_cluster_randomized(clustering, cluster_design=spec.get("cluster_design") or "complete", p=p,
                                     n_treated=spec.get("n_treated"), covariates=cov,
                                     columns=spec.get("balance_on") or None, **kw)
    elif name == "independent-set":
        d = IndependentSetDesign(graph, p=p, n_treated=spec.get("n_treated"), rng=int(spec.get("selection_seed", 0)))
    elif name == "coloring":
        d = ColoringDesign(graph, method=spec.get("coloring_method") or "largest-first", p=p,
                           class_probabilities=spec.get("class_probabilities") or None)
    elif name == "saturation":
        sats = _floats(spec.get("saturations"), "--saturations") or [0.0, 0.5, 1.0]
        shares = _floats(spec.get("shares"), "--shares")
        d = RandomizedSaturation(clustering, sats, shares, within=spec.get("within") or "fixed",
                                 stage1=spec.get("stage1") or "complete")
    elif name == "ego-cluster":
        d = EgoClusterDesign(graph, p=p, max_alters=spec.get("max_alters"), min_alters=spec.get("min_alters") or 1,
                             rng_selection=int(spec.get("selection_seed", 0)))
    else:  # mixed
        d = MixedInterferenceDesign(clustering, arm_share=spec.get("arm_share") or 0.5, p=p)
    return d, clustering


def draw_assignment(spec: dict, graph) -> tuple[pd.DataFrame, Any]:
    """Draw the assignment declared by ``spec`` (its ``seed``); a table keyed by node id.

    Besides ``node_id`` and ``treatment``, the table keeps what the analysis needs: ``cluster``
    for cluster-based designs, ``saturation`` (the cluster's drawn saturation) for randomized
    saturation, ``arm`` ("unit" or "cluster" randomized) for the mixed design, ``ego_cluster`` and
    ``role`` for ego-clusters, ``eligible`` / ``color`` for independent-set and colouring designs.
    """
    design, clustering = build_design(spec, graph)
    seed = int(spec.get("seed", 0))
    name = spec.get("design")
    if is_multiarm_spec(spec):
        z = design.sample(rng=seed)
        empty = [a for a, c in zip(design.arms, np.bincount(z, minlength=design.n_arms)) if c == 0]
        if empty:
            raise InputError(f"arm(s) {empty} got no unit in this draw (seed {seed}): they would never be assigned. "
                             "Use --design complete (fixed arm sizes), larger --probabilities for them, or another "
                             "--seed.")
        return _assignment_frame(graph, design, clustering, z), design
    extra = {}
    if name == "saturation":
        Z, S = design.sample_with_saturations(1, rng=seed)
        z = Z[0]
        extra["saturation"] = np.asarray(design.saturation_levels)[S[0]][design.labels]
    elif name == "mixed":
        Z, arm = design.sample_with_arms(1, rng=seed)
        z = Z[0]
        extra["arm"] = np.where(design.unit_arm(arm[0]), "unit", "cluster")
    else:
        z = design.sample(rng=seed)
    if name == "ego-cluster":
        lab = np.asarray(design.ego_cluster_labels)
        extra["ego_cluster"] = lab
        role = np.full(graph.n_nodes, "outside", dtype=object)
        role[lab >= 0] = "alter"
        role[np.asarray(design.egos)] = "ego"
        extra["role"] = role
    elif name == "independent-set":
        extra["eligible"] = np.asarray(design.independent_set).astype(np.int8)
    elif name == "coloring":
        extra["color"] = np.asarray(design.colors)
    return _assignment_frame(graph, design, clustering, z, extra), design


def _assignment_frame(graph, design, clustering, z, extra=None) -> pd.DataFrame:
    """The assignment table: ``node_id`` then ``treatment`` (0/1) or, for a k-arm design, ``arm`` (names)."""
    from .designs import MultiArmDesign

    if isinstance(design, MultiArmDesign):
        df = pd.DataFrame({"node_id": graph.node_ids, "arm": design.labels(np.asarray(z, dtype=np.int64))})
    else:
        df = pd.DataFrame({"node_id": graph.node_ids, "treatment": np.asarray(z).astype(np.int8)})
    if clustering is not None:
        df["cluster"] = clustering._original_labels[clustering.labels]
    for k, v in (extra or {}).items():
        df[k] = v
    return df


def _input_record(value):
    if value is None:
        return None
    p = Path(value)
    if p.exists():
        return {"path": str(p), "abs_path": str(p.resolve()), "sha256": file_sha256(p)}
    return {"name": str(value)}


def _locate(rec: dict, base: Path) -> str | None:
    """Find a recorded input again: its absolute path, else relative to the sidecar, else as given."""
    for cand in (rec.get("abs_path"), base / rec["path"], rec["path"]):
        if cand and Path(cand).exists():
            return str(cand)
    return None


def write_spec_assignment(spec: dict, graph, graph_arg: str, output, *,
                          overwrite: bool = False) -> tuple[pd.DataFrame, Any]:
    """Draw, write ``output`` (CSV) and its sidecar ``output.design.json``; refuse to overwrite either.

    What ``netexp assign`` does; :func:`write_assignment` is the Python entry (a design object).
    """
    out = check_writable(output, overwrite=overwrite)
    check_writable(sidecar_path(out), overwrite=overwrite)
    df, design = draw_assignment(spec, graph)
    _write_files(out, df, design, spec, _input_record(graph_arg), overwrite=overwrite)
    return df, design


def _write_files(out: Path, df: pd.DataFrame, design, spec: dict, graph_record, *, overwrite: bool,
                 extra_inputs: dict | None = None) -> None:
    """Write the assignment table and its sidecar: the one writer of both formats.

    Both files are written to temporary names and moved into place, the table first: an
    interruption never leaves a truncated table, nor a new sidecar beside an old table.
    """
    from . import __version__
    from ._files import atomic_path, write_text

    side = sidecar_path(out)
    with atomic_path(out, overwrite=overwrite) as tmp:
        df.to_csv(tmp, index=False)
        digest = file_sha256(tmp)
    inputs = {k: _input_record(spec.get(k)) for k in ("clusters", "covariates", "cluster_covariates")
              if spec.get(k)}
    inputs.update(extra_inputs or {})
    record = {
        "netexp_version": __version__,
        "spec": spec,
        "design": repr(design),
        "declaration": design.declaration() if hasattr(design, "declaration") else None,
        "graph": graph_record,
        "inputs": inputs,
        "n_units": int(len(df)),
        "assignment_sha256": digest,
    }
    if "arm" in df.columns and "treatment" not in df.columns:
        counts = df["arm"].value_counts()
        record["arms"] = list(design.arms)
        record["probabilities"] = multiarm_arms(spec)[1]
        record["arm_counts"] = {str(a): int(counts.get(a, 0)) for a in design.arms}
    else:
        record["n_treated"] = int(df["treatment"].sum())
    write_text(side, json.dumps(record, indent=2) + "\n", overwrite=overwrite)


def _spec_of_design(design, graph) -> tuple[dict, Any]:
    """The ``netexp assign`` declaration that rebuilds ``design`` exactly, and the clustering it randomizes."""
    from .clustering import Clustering
    from .designs import (Bernoulli, ClusterRandomized, Complete, MultiArmBernoulli, MultiArmCluster,
                          MultiArmComplete)

    def unit_spec(d, where):
        if isinstance(d, MultiArmComplete) or isinstance(d, MultiArmBernoulli):
            return {"design": "complete" if isinstance(d, MultiArmComplete) else "bernoulli",
                    "arms": [str(a) for a in d.arms], "probabilities": [float(x) for x in d.prob_each]}
        if type(d) is Bernoulli:
            return {"design": "bernoulli", "p": float(d.p)}
        if type(d) is Complete:
            frac = float(d._frac[0])
            if frac == 0:
                return {"design": "complete", "n_treated": int(d._k_low[0])}
            return {"design": "complete", "p": float(d.expected_treated[0]) / d.n_units, "extra": d._extra}
        raise InputError(f"write_assignment: {where} {type(d).__name__} has no `netexp assign` declaration; it "
                         "writes Complete, Bernoulli, MultiArmComplete and MultiArmBernoulli designs, over units "
                         "or (ClusterRandomized / MultiArmCluster) over clusters. Save other designs with "
                         "ne.Experiment(...).save().")

    if isinstance(design, (ClusterRandomized, MultiArmCluster)):
        labels = np.asarray(design.labels if isinstance(design, ClusterRandomized) else design.labels_of_units)
        spec = unit_spec(design.cluster_design, "the cluster design")
        spec["level"] = "cluster"
        frame = pd.DataFrame({"node_id": graph.node_ids, "cluster": labels.astype(np.int64)})
        return spec, Clustering.from_frame(graph, frame, node_column="node_id", cluster_column="cluster")
    return unit_spec(design, "the design"), None


@aligned("assignment", graph=("graph_or_ids",))
def write_assignment(path: str | os.PathLike, graph_or_ids: Any, design: Any, *, seed: int | None = None,
                     assignment: Any = None, graph_path: str | os.PathLike | None = None,
                     overwrite: bool = False) -> pd.DataFrame:
    """Write a reproducible assignment file and its ``.design.json`` sidecar, as ``netexp assign`` does.

    Parameters
    ----------
    path : str or path
        The assignment CSV: ``node_id`` then ``treatment`` (0/1) or, for a k-arm design, ``arm``
        (arm names), plus ``cluster`` for cluster designs. The sidecar is ``path + ".design.json"``;
        a cluster design also writes the clusters it randomizes to ``path + ".clusters.csv"``
        (recorded in the sidecar with its sha256, as ``netexp assign --clusters`` records its input).
    graph_or_ids : Graph or sequence of node ids
        The units, in the design's order. A bundled graph is recorded by name so ``netexp verify``
        can re-draw; for a graph read from a file give ``graph_path``.
    design : Complete, Bernoulli, ClusterRandomized over either, MultiArmComplete,
        MultiArmBernoulli or MultiArmCluster
        Recorded as the declaration ``netexp assign`` would write, so ``netexp analyze`` rebuilds
        the same design from the sidecar.
    seed : int, optional
        Seed of the draw. Without ``assignment``: the assignment is ``design.sample(rng=seed)``, bit
        for bit the file ``netexp assign ... --seed SEED`` writes (a fresh seed is drawn and recorded
        when None). With ``assignment``: checked to be that draw.
    assignment : array-like or pandas Series, optional
        An assignment already drawn (0/1, or arm names / codes for a k-arm design); a Series is
        matched to the graph's node ids. Without ``seed`` the sidecar records no seed: analysis reads
        the design from it, but ``netexp verify`` cannot re-draw it.
    graph_path : str or path, optional
        The edge-list file ``graph_or_ids`` was read from: recorded with its sha256, as ``netexp
        assign GRAPH`` records it, so ``netexp verify`` can re-read it and re-draw.
    overwrite : bool, default False
        Replace existing files; otherwise an existing file is an error (nothing is written).

    Returns
    -------
    DataFrame
        The table written.

    Notes
    -----
    One implementation with ``netexp assign``: the design is turned into that command's
    declaration, drawn by the same code and written by the same writer (atomic: temporary files
    moved into place, table first).

    Examples
    --------
    >>> import netexp as ne, tempfile, os
    >>> g = ne.load_graph("karate")
    >>> d = ne.MultiArmComplete(g.n_nodes, prob_each=(0.5, 0.25, 0.25), arms=("control", "a", "b"))
    >>> out = os.path.join(tempfile.mkdtemp(), "assignment.csv")
    >>> ne.write_assignment(out, g, d, seed=1)["arm"].value_counts().to_dict()
    {'control': 17, 'a': 9, 'b': 8}
    """
    from .designs import MultiArmDesign
    from .designs._multiarm import arm_codes
    from .graph import Graph

    if isinstance(graph_or_ids, Graph):
        from .graph._examples import bundled_graphs

        graph = graph_or_ids
        if graph_path is not None:
            if not Path(graph_path).is_file():
                raise InputError(f"graph_path {str(graph_path)!r} is not a file; give the edge list the graph was "
                                 "read from.")
            graph_record = _input_record(graph_path)
        elif graph.name in bundled_graphs():
            graph_record = {"name": graph.name}
        else:
            graph_record = {"name": f"{graph.name or 'graph'} (given in Python)", "in_python": True}
    else:
        ids = np.asarray(list(graph_or_ids) if not isinstance(graph_or_ids, np.ndarray) else graph_or_ids)
        if ids.ndim != 1 or ids.shape[0] == 0:
            raise InputError("graph_or_ids must be a netexp Graph or a 1-D sequence of node ids.")
        if pd.Index(ids).has_duplicates:
            raise InputError("graph_or_ids: node ids must be distinct.")
        graph = _graph_of_ids(ids)
        graph_record = {"name": "(node ids given in Python)", "in_python": True}
    if getattr(design, "n_units", None) != graph.n_nodes:
        raise InputError(f"write_assignment: the design assigns {getattr(design, 'n_units', None)} units but "
                         f"graph_or_ids has {graph.n_nodes}; declare the design over these units, in this order.")
    out = check_writable(path, overwrite=overwrite)
    check_writable(sidecar_path(out), overwrite=overwrite)
    spec, clustering = _spec_of_design(design, graph)
    extra_inputs = None
    if clustering is not None:
        cpath = check_writable(out.with_name(out.name + ".clusters.csv"), overwrite=overwrite)
        from ._files import atomic_path

        with atomic_path(cpath, overwrite=overwrite) as tmp:
            clustering.to_frame().to_csv(tmp, index=False)
        spec["clusters"] = str(cpath)
    if seed is not None:
        from ._validation import check_int

        spec["seed"] = check_int("seed", seed, low=0)
    elif assignment is None:
        spec["seed"] = int(np.random.SeedSequence().entropy % (2**31))
    rebuilt, cl = build_design(spec, graph)
    multi = isinstance(rebuilt, MultiArmDesign)
    if assignment is None:
        z = rebuilt.sample(rng=spec["seed"])
    else:
        if multi:
            z = arm_codes(np.asarray(assignment), rebuilt.arms)[0]
        else:
            zz = np.asarray(assignment)
            if zz.shape != (graph.n_nodes,) or not np.isin(zz, (0, 1, True, False)).all():
                raise InputError(f"assignment must be 0/1 for each of the {graph.n_nodes} units.")
            z = zz.astype(bool)
        if z.shape != (graph.n_nodes,):
            raise InputError(f"assignment has {z.shape[0]} units; graph_or_ids has {graph.n_nodes}.")
        if multi:
            check_multiarm_assignment(z, rebuilt, where="assignment")
        else:
            check_assignment_against_design(z, rebuilt, where="assignment")
        if seed is not None and not np.array_equal(np.asarray(rebuilt.sample(rng=spec["seed"])).astype(np.int64),
                                                   z.astype(np.int64)):
            raise InputError(f"assignment is not the draw of this design with seed={seed}; pass the seed that drew "
                             "it, or seed=None to record an assignment drawn elsewhere (no re-draw possible).")
    df = _assignment_frame(graph, rebuilt, cl, z)
    _write_files(out, df, rebuilt, spec, graph_record, overwrite=overwrite)
    return df


def _graph_of_ids(ids):
    from .graph import Graph

    return Graph(np.zeros(ids.shape[0] + 1, dtype=np.int64), np.zeros(0, dtype=np.int32), ids)


def check_multiarm_assignment(codes, design, *, where: str = "the assignment") -> None:
    """Refuse arm codes a k-arm design cannot produce: arms varying inside a cluster, or arm sizes
    outside those of a complete design."""
    from .designs import MultiArmCluster, MultiArmComplete

    codes = np.asarray(codes, dtype=np.int64)
    if codes.shape != (design.n_units,):
        raise InputError(f"{where} has {codes.shape[0]} units; the design {design!r} has {design.n_units}.")
    if isinstance(design, MultiArmCluster):
        lab = np.asarray(design.labels_of_units)
        K = design.n_clusters
        first = np.full(K, -1, dtype=np.int64)
        first[lab[::-1]] = codes[::-1]
        mixed = np.unique(lab[codes != first[lab]])
        if mixed.shape[0]:
            raise InputError(f"{where} cannot come from the declared k-arm cluster design: the arm varies inside "
                             f"{mixed.shape[0]} of {K} clusters; the design assigns whole clusters.")
        check_multiarm_assignment(first, design.cluster_design, where=f"{where} (at the cluster level)")
        return
    if isinstance(design, MultiArmComplete):
        got = np.bincount(codes, minlength=design.n_arms)
        lo = design._f
        hi = lo + np.where(design._q > 0, design._r, 0)
        bad = np.flatnonzero((got < lo) | (got > hi))
        if bad.shape[0]:
            a = int(bad[0])
            span = f"{lo[a]}" if lo[a] == hi[a] else f"{lo[a]} to {hi[a]}"
            raise InputError(f"{where} cannot come from the declared design {design!r}: arm {design.arms[a]!r} has "
                             f"{got[a]} units; the design puts {span} there. Use the assignment that was drawn, or "
                             "declare the design that was used.")


def _not_verified(path, problem: str) -> dict:
    return {"ok": False, "message": f"NOT verified: {path}: {problem}", "file_edited": None,
            "n_units_differing": None, "problems": [problem]}


def verify_assignment(path: str | os.PathLike) -> dict:
    """Re-draw an assignment from its sidecar and compare with the file.

    Returns a dict with ``ok`` (bool), ``message`` and details: whether the inputs still have the
    recorded hashes, whether the file still has its recorded hash, and how many units differ from
    a fresh draw.
    """
    from . import __version__
    from .graph import read_graph

    path = Path(path)
    side = sidecar_path(path)
    if not side.exists():
        raise InputError(f"{path} has no sidecar {side.name}; only assignments written by `netexp assign` can be "
                         "verified.")
    record = load_sidecar(side)
    multi = is_multiarm_spec(record["spec"])
    for key in ("graph", "assignment_sha256", "arm_counts" if multi else "n_treated", "n_units"):
        if record.get(key) is None:
            raise InputError(f"{side.name}: the sidecar has no {key!r} entry; it is damaged or not written by "
                             "`netexp assign`.")
    base = side.parent
    problems = []
    g_rec = record["graph"]
    if "path" in g_rec:
        graph_arg = _locate(g_rec, base)
        if graph_arg is None:
            raise InputError(f"the graph file {g_rec['path']} recorded in {side.name} is missing; cannot re-draw.")
        if file_sha256(graph_arg) != g_rec["sha256"]:
            # never parse a file the sidecar did not record: its lines could end up in messages
            return _not_verified(path, f"the graph file {graph_arg} changed since the assignment was drawn (or the "
                                 f"sidecar was edited): its sha256 differs from the one recorded in {side.name}, so "
                                 "the draw cannot be repeated")
    elif g_rec.get("in_python"):
        raise InputError(f"{side.name} was written by ne.write_assignment from a graph (or node ids) given in Python "
                         "without graph_path=, so there is no graph file to re-draw on; write it again with "
                         "graph_path= (the edge list), or check it in Python against design.sample(rng=seed).")
    else:
        graph_arg = g_rec["name"]
    spec = dict(record["spec"])
    for k, rec in record.get("inputs", {}).items():
        if k not in ("clusters", "covariates", "cluster_covariates"):
            raise InputError(f"{side.name}: unknown input {k!r}; the sidecar is damaged.")
        found = _locate(rec, base) if rec and "path" in rec else None
        if found is None:
            raise InputError(f"the {k} file {rec.get('path') if rec else None} recorded in {side.name} is missing; "
                             "cannot re-draw.")
        if file_sha256(found) != rec["sha256"]:
            return _not_verified(path, f"the {k} file {found} changed since the assignment was drawn (or the "
                                 f"sidecar was edited): its sha256 differs from the one recorded in {side.name}, so "
                                 "the draw cannot be repeated")
        spec[k] = found
    for k in ("clusters", "covariates", "cluster_covariates"):
        if spec.get(k) and k not in record.get("inputs", {}):
            raise InputError(f"{side.name}: the spec names a {k} file that is not among the recorded inputs; the "
                             "sidecar was edited.")
    file_edited = file_sha256(path) != record["assignment_sha256"]
    if record["spec"].get("seed") is None:
        return {"ok": False, "file_edited": file_edited, "n_units_differing": None,
                "problems": ["no seed recorded"],
                "message": f"NOT verified: {path}: {side.name} records no seed (the assignment was drawn elsewhere and "
                           "written with ne.write_assignment(..., assignment=z)), so the draw cannot be repeated; "
                           + ("the file was edited after it was written" if file_edited else
                              "the file is unchanged since it was written")}
    graph = read_graph(graph_arg)
    fresh, _ = draw_assignment(spec, graph)
    try:
        current = read_table(path, "assignment file")
    except InputError:
        current = None
    n_diff = None
    col = "arm" if multi else "treatment"
    if current is not None and len(current) == len(fresh) and col in current.columns:
        try:
            pos = graph.index_of(current.iloc[:, 0].to_numpy(), what="node ids in the assignment")
            if multi:
                cur = np.full(graph.n_nodes, None, dtype=object)
                cur[pos] = current[col].astype(str).to_numpy()
                want = fresh[col].astype(str).to_numpy()
            else:
                cur = np.zeros(graph.n_nodes, dtype=np.int64)
                cur[pos] = pd.to_numeric(current[col], errors="coerce").fillna(-1).to_numpy()
                want = fresh[col].to_numpy()
            if np.unique(pos).shape[0] == pos.shape[0]:
                n_diff = int((cur != want).sum())
        except (NetexpError, TypeError, ValueError):
            n_diff = None
    if multi:
        counts = fresh[col].value_counts()
        fresh_counts = {str(a): int(counts.get(a, 0)) for a in record["spec"]["arms"]}
        if record["arm_counts"] != fresh_counts:
            problems.append(f"the sidecar says arm counts {record['arm_counts']} but its declared design draws "
                            f"{fresh_counts} (the sidecar was edited)")
    else:
        fresh_treated = int(fresh["treatment"].sum())
        if record["n_treated"] != fresh_treated:
            problems.append(f"the sidecar says {record['n_treated']} treated but its declared design draws "
                            f"{fresh_treated} (the sidecar was edited)")
    if record["n_units"] != len(fresh):
        problems.append(f"the sidecar says {record['n_units']} units but the graph has {len(fresh)}")
    ok = not file_edited and n_diff == 0 and not problems
    if ok:
        msg = f"verified: {path} is exactly the draw declared in {side.name} (seed {record['spec'].get('seed')})"
    else:
        bits = []
        if file_edited:
            bits.append("the file was edited after it was written")
        if n_diff:
            bits.append(f"{n_diff} units differ from a fresh draw of the declared design")
        if n_diff is None:
            bits.append(f"the file no longer has a {col} column" if current is not None
                        and col not in current.columns else "the file no longer has one row per unit")
        bits += problems
        if record.get("netexp_version") != __version__:
            bits.append(f"drawn with netexp {record.get('netexp_version')}, verified with {__version__}")
        msg = f"NOT verified: {path}: " + "; ".join(bits)
    return {"ok": ok, "message": msg, "file_edited": file_edited, "n_units_differing": n_diff, "problems": problems}
