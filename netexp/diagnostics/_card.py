"""The experiment design card: the decisions to write down before an experiment starts."""

from __future__ import annotations

import dataclasses
import json
import os
import types
from pathlib import Path
from collections.abc import Mapping
from typing import Any

import numpy as np

from .._errors import InputError
from .._io_utils import check_writable

__all__ = ["DesignCard", "CARD_FIELDS"]

#: (field, label, question) in card order: the seed notebook's section 13, then the network fields.
CARD_FIELDS = (
    ("business_decision", "Business decision", "What decision will this experiment inform?"),
    ("unit_of_randomization", "Unit of randomization", "User, account, session, store, market, seller, or cluster?"),
    ("treatment", "Treatment", "What exactly changes for treated units?"),
    ("control", "Control", "What exactly happens for control units?"),
    ("arms", "Arms", "k-arm experiments: every arm, the control first, with its probability and size."),
    ("eligibility", "Eligibility", "Who can enter the experiment?"),
    ("primary_outcome", "Primary outcome", "What metric answers the decision question?"),
    ("guardrails", "Guardrails", "What metrics must not degrade?"),
    ("assignment_probability", "Assignment probability", "What fraction is treated? Is it equal across strata?"),
    ("duration", "Duration", "When does the experiment start and stop?"),
    ("estimand", "Estimand", "Global effect, direct effect, ITT of assignment, or another contrast?"),
    ("analysis_plan", "Analysis plan", "Estimators, variance estimators, covariate adjustment?"),
    ("known_threats", "Known threats", "Noncompliance, attrition, novelty effects, logging risk?"),
    ("design", "Design", "The declared randomization design."),
    ("graph", "Graph", "The network along which interference runs."),
    ("clustering", "Clustering", "Clusters randomized, and how many edges they cut."),
    ("exposure_mapping", "Exposure mapping", "How a unit's outcome depends on others' treatment."),
    ("estimators", "Estimators", "Estimators pre-specified for the estimand."),
    ("threats_to_validity", "Threats to validity", "Interference-specific risks found from the objects."),
)
_NAMES = tuple(f for f, _, _ in CARD_FIELDS)
#: fields that hold a tuple of strings
_LISTS = ("guardrails", "arms", "known_threats", "estimators", "threats_to_validity")


def _freeze(v):
    """JSON-like values made immutable: dicts -> mappingproxy, lists -> tuples, numpy scalars -> Python."""
    if isinstance(v, (dict, types.MappingProxyType)):
        return types.MappingProxyType({str(k): _freeze(x) for k, x in v.items()})
    if isinstance(v, (list, tuple)):
        return tuple(_freeze(x) for x in v)
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return tuple(_freeze(x) for x in v.tolist())
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


def _thaw(v):
    if isinstance(v, types.MappingProxyType):
        return {k: _thaw(x) for k, x in v.items()}
    if isinstance(v, tuple):
        return [_thaw(x) for x in v]
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def _fmt(v) -> str:
    if v is None or v == "" or v == ():
        return ""
    if isinstance(v, types.MappingProxyType):
        parts = []
        for k, x in v.items():
            if isinstance(x, types.MappingProxyType):
                x = ", ".join(f"{a} {_num(b)}" for a, b in x.items())
            parts.append(f"{k}: {_num(x)}")
        return "; ".join(parts)
    if isinstance(v, tuple):
        return "; ".join(_fmt(x) for x in v)
    return _num(v)


def _num(x) -> str:
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def _md_cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def _unit_labels(design):
    """Cluster label of every unit of a cluster design, else None (k-arm designs: ``labels_of_units``)."""
    from ..designs import MultiArmCluster, MultiArmDesign

    if isinstance(design, MultiArmCluster):
        return design.labels_of_units
    if isinstance(design, MultiArmDesign):
        return None              # its .labels is the method naming arm codes
    return getattr(design, "labels", None)


def _karm_fields(design, arm_counts) -> dict:
    """``arms`` and ``assignment_probability`` of a k-arm design, from its exact per-arm probabilities."""
    from ..designs import MultiArmCluster

    inner = design.cluster_design if isinstance(design, MultiArmCluster) else design
    what = "clusters" if inner is not design else "units"
    decl = inner.declaration() if callable(getattr(inner, "declaration", None)) else {}
    fixed = decl.get("m_each") if decl.get("type") == "MultiArmComplete" else None
    probs = np.asarray(inner.probabilities, dtype=float)          # (units or clusters, arms)
    if arm_counts is not None:
        bad = not isinstance(arm_counts, Mapping) or any(
            isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0 for v in arm_counts.values())
        if bad:
            raise InputError("DesignCard.from_objects: arm_counts must map each arm to its number of units drawn "
                             f"(non-negative integers); got {str(arm_counts)[:200]}.")
        arm_counts = {str(k): int(v) for k, v in arm_counts.items()}
        unknown = sorted(set(arm_counts) - {str(a) for a in design.arms})
        if unknown:
            raise InputError(f"DesignCard.from_objects: arm_counts names {unknown}, which are not arms of the design "
                             f"({list(design.arms)}).")
    arms, prob_text = [], []
    for j, a in enumerate(design.arms):
        lo, hi = float(probs[:, j].min()), float(probs[:, j].max())
        p = f"{lo:.3g}" if np.isclose(lo, hi) else f"{lo:.3g} to {hi:.3g}"
        size = (f"{int(fixed[j])} {what}" if fixed is not None
                else f"{probs[:, j].sum():.4g} {what} expected")
        entry = f"{a}{' (control)' if j == 0 else ''}: probability {p}, {size}"
        if arm_counts is not None:
            entry += f", {int(arm_counts.get(str(a), 0))} units drawn"
        arms.append(entry)
        prob_text.append(f"{a} {p}")
    same = all(np.isclose(probs[:, j].min(), probs[:, j].max()) for j in range(probs.shape[1]))
    return {"arms": tuple(arms),
            "assignment_probability": ", ".join(prob_text) + (f" for every {what[:-1]}" if same else
                                                              f" (ranges across {what}: weight by it)")}


@dataclasses.dataclass(frozen=True)
class DesignCard:
    """A one-page record of an experiment's design, written before outcomes are seen.

    The fields of the seed notebook's section 13 (business decision to known threats) plus the
    network fields: the declared design, graph summary, clustering summary, exposure mapping,
    estimators and the threats to validity that interference creates. Text fields are strings;
    ``guardrails``, ``arms`` (k-arm designs), ``known_threats``, ``estimators`` and
    ``threats_to_validity`` are tuples of strings; ``graph`` and ``clustering`` are read-only
    mappings (from ``Graph.info()`` and ``Clustering.summary()``).

    Build one from the objects with :meth:`from_objects`, write it with :meth:`write` (Markdown
    for people, JSON for machines) and read it back with :meth:`read`.

    Examples
    --------
    >>> import netexp as ne
    >>> from netexp.diagnostics import DesignCard
    >>> g = ne.load_graph("karate")
    >>> c = ne.leiden(g, rng=0)
    >>> card = DesignCard.from_objects(design=ne.ClusterRandomized(c, p=0.5), graph=g, clustering=c,
    ...                                estimators=["cluster", "exposure-regression"],
    ...                                business_decision="Launch the referral banner?")
    >>> card.unit_of_randomization
    'cluster (4 clusters of 5-12 units)'
    >>> DesignCard.from_json(card.to_json()) == card
    True
    """

    business_decision: str = ""
    unit_of_randomization: str = ""
    treatment: str = ""
    control: str = ""
    eligibility: str = ""
    primary_outcome: str = ""
    guardrails: tuple = ()
    arms: tuple = ()
    assignment_probability: str = ""
    duration: str = ""
    estimand: str = ""
    analysis_plan: str = ""
    known_threats: tuple = ()
    design: str = ""
    graph: Any = None
    clustering: Any = None
    exposure_mapping: str = ""
    estimators: tuple = ()
    threats_to_validity: tuple = ()
    title: str = "Experiment design card"

    def __post_init__(self):
        for name in _LISTS:
            v = getattr(self, name)
            if isinstance(v, str):
                v = (v,) if v else ()
            object.__setattr__(self, name, tuple(str(x) for x in (v or ())))
        for name in ("graph", "clustering"):
            v = getattr(self, name)
            if v is not None and not isinstance(v, (dict, types.MappingProxyType)):
                raise InputError(f"DesignCard: {name} must be a mapping (e.g. graph.info()) or None; got "
                                 f"{type(v).__name__}.")
            object.__setattr__(self, name, None if v is None else _freeze(v))
        for f in dataclasses.fields(self):
            if f.name not in (*_LISTS, "graph", "clustering"):
                v = getattr(self, f.name)
                if not isinstance(v, str):
                    raise InputError(f"DesignCard: {f.name} must be text; got {type(v).__name__} ({v!r}).")

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_objects(cls, design=None, graph=None, clustering=None, mapping=None, estimators=None,
                     arm_counts=None, **fields) -> "DesignCard":
        """Fill what the objects tell; ``fields`` give (or override) any other field.

        - ``design``: ``design.declaration()`` when it has one, else ``repr(design)``; the unit of
          randomization (cluster designs: clusters and their sizes) and the assignment
          probability (its range over units);
        - ``graph``: ``graph.info(clustering_coefficient=False)``;
        - ``clustering``: ``clustering.summary()`` (taken from a cluster design when not given);
        - ``mapping``: its ``describe()`` when it has one, else ``repr``;
        - ``estimators``: names (strings kept, callables by ``name`` / ``__name__``);
        - ``threats_to_validity``: interference risks derived from the objects (edges cut by the
          clusters, unit-level randomization on a network, isolated units), unless given.

        A k-arm design (:class:`~netexp.MultiArmDesign`) also fills ``arms``: each arm (the
        design's order, its first arm being the control of the analyses) with its probability and
        planned size (fixed for complete designs, expected otherwise; clusters for cluster designs),
        and ``arm_counts`` (a mapping arm -> units drawn, e.g. the sidecar's) adds the drawn sizes.
        ``assignment_probability`` then gives every arm's probability.
        """
        unknown = sorted(set(fields) - set(_NAMES) - {"title"})
        if unknown:
            raise InputError(f"DesignCard.from_objects: unknown field(s) {unknown}; valid: {list(_NAMES)}.")
        auto: dict[str, Any] = {}
        threats = []
        from ..designs import MultiArmDesign

        karm = isinstance(design, MultiArmDesign)
        if clustering is None and design is not None and not karm and hasattr(design, "labels"):
            clustering = getattr(design, "clustering", None)
        if karm:
            auto.update(_karm_fields(design, arm_counts))
            threats.append(f"{design.n_arms - 1} arms are each compared with the control arm {design.arms[0]}: the "
                           "comparisons share the control, so their p-values need a multiplicity adjustment (Holm)")
        elif arm_counts is not None:
            raise InputError("DesignCard.from_objects: arm_counts is for k-arm designs (MultiArmDesign); this design "
                             "has a treatment and a control.")
        if design is not None:
            decl = getattr(design, "declaration", None)
            auto["design"] = str(decl() if callable(decl) else repr(design))
            if not karm:
                probs = np.asarray(design.probabilities, dtype=float)
                lo, hi = float(probs.min()), float(probs.max())
                auto["assignment_probability"] = (f"{lo:.3g} for every unit" if np.isclose(lo, hi)
                                                  else f"{lo:.3g} to {hi:.3g} across units (unequal: weight by it)")
            labels = _unit_labels(design)
            if labels is not None:
                sizes = np.bincount(np.unique(np.asarray(labels), return_inverse=True)[1])
                auto["unit_of_randomization"] = (f"cluster ({sizes.shape[0]} clusters of {sizes.min()}-{sizes.max()} "
                                                 "units)")
            else:
                auto["unit_of_randomization"] = f"unit ({design.n_units} units)"
        if graph is not None:
            info = graph.info(clustering_coefficient=False)
            auto["graph"] = info
            if design is not None and _unit_labels(design) is None and info.get("n_edges", 0) > 0:
                threats.append("units are randomized individually on a network: "
                               + ("units of different arms" if karm else "treated and control units")
                               + " are neighbours, so the difference in means estimates a direct effect, not the "
                               "global effect")
            if info.get("n_isolates", 0):
                threats.append(f"{info['n_isolates']} isolated units cannot receive spillovers; estimands that "
                               "average spillovers over units are diluted by them")
        if clustering is not None:
            summ = clustering.summary() if hasattr(clustering, "summary") else dict(clustering)
            auto["clustering"] = summ
            cut = summ.get("cut_fraction")
            if cut is not None and cut > 0:
                threats.append(f"{cut:.0%} of edges cross cluster boundaries: treatment leaks between arms and "
                               "cluster-level estimates are biased toward the direct effect")
            nc = summ.get("n_clusters")
            if nc is not None and nc < 40:
                threats.append(f"only {nc} clusters: cluster-robust standard errors are unreliable with few "
                               "clusters; use CR2 with small-sample df or randomization inference")
        if mapping is not None:
            desc = getattr(mapping, "describe", None)
            auto["exposure_mapping"] = str(desc() if callable(desc) else repr(mapping))
        if estimators is not None:
            if isinstance(estimators, str) or callable(estimators):
                estimators = [estimators]
            if isinstance(estimators, dict):
                names = list(estimators)
            else:
                names = [e if isinstance(e, str) else getattr(e, "name", None) or getattr(e, "__name__", repr(e))
                         for e in estimators]
            auto["estimators"] = tuple(str(n) for n in names)
        if threats:
            auto["threats_to_validity"] = tuple(threats)
        auto.update(fields)
        return cls(**auto)

    # ------------------------------------------------------------------ views
    def to_dict(self) -> dict:
        """Plain (JSON-ready) dict of every field."""
        return {f.name: _thaw(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def to_json(self, *, indent: int = 2) -> str:
        return json.dumps({"netexp_design_card": 1, **self.to_dict()}, indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, d: dict) -> "DesignCard":
        d = {k: v for k, v in dict(d).items() if k != "netexp_design_card"}
        unknown = sorted(set(d) - set(_NAMES) - {"title"})
        if unknown:
            raise InputError(f"DesignCard: unknown field(s) {unknown}; valid: {list(_NAMES)}.")
        return cls(**d)

    @classmethod
    def from_json(cls, text: str) -> "DesignCard":
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"DesignCard: not valid JSON ({exc}).") from None
        if not isinstance(d, dict):
            raise InputError("DesignCard: the JSON must be an object of fields.")
        return cls.from_dict(d)

    def to_markdown(self) -> str:
        """The card as a Markdown table: field, entry (empty entries shown as *to decide*)."""
        lines = [f"# {self.title}", "", "| Field | Entry |", "|---|---|"]
        for name, label, question in CARD_FIELDS:
            text = _fmt(getattr(self, name))
            if name == "arms" and not text:
                continue        # a two-arm card: treatment and control say it
            lines.append(f"| {label} | {_md_cell(text) if text else '*to decide:* ' + _md_cell(question)} |")
        return "\n".join(lines) + "\n"

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __str__(self) -> str:
        return self.to_markdown()

    # ------------------------------------------------------------------ files
    def write(self, path_stem: str | os.PathLike, *, overwrite: bool = False) -> tuple[Path, Path]:
        """Write ``<stem>.md`` and ``<stem>.json``; refuses to overwrite either unless ``overwrite``.

        Both paths are checked before anything is written.
        """
        stem = Path(path_stem)
        if stem.suffix.lower() in (".md", ".json"):
            stem = stem.with_suffix("")
        md = check_writable(stem.with_name(stem.name + ".md"), overwrite=overwrite)
        js = check_writable(stem.with_name(stem.name + ".json"), overwrite=overwrite)
        from .._files import write_text

        write_text(md, self.to_markdown(), overwrite=overwrite)
        write_text(js, self.to_json() + "\n", overwrite=overwrite)
        return md, js

    @classmethod
    def read(cls, path: str | os.PathLike) -> "DesignCard":
        """Read a card written by :meth:`write` (give the ``.json``, the ``.md`` or the stem)."""
        p = Path(path)
        if p.suffix.lower() != ".json":
            p = p.with_name((p.stem if p.suffix.lower() == ".md" else p.name) + ".json")
        if not p.exists():
            raise InputError(f"DesignCard.read: {p} not found (the card's JSON file, written by DesignCard.write).")
        return cls.from_json(p.read_text(encoding="utf-8"))
