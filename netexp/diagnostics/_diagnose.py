"""Design diagnosis by simulation: bias, spread, RMSE, coverage and power of estimators under designs.

The DeclareDesign idea (Blair, Cooper, Coppock & Humphreys 2019) for networks: declare the
outcome model (with known potential outcomes), the designs and the estimators; draw many
experiments; summarize each (design, estimator) pair with diagnosands, each defined once in
:data:`DIAGNOSANDS`.
"""

from __future__ import annotations

import dataclasses
import functools
import html
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from .._errors import EstimationWarning, InputError, NetexpError, warn
from .._validation import check_confidence_level, check_int, check_option, check_rng, dense_codes
from ..designs import Design
from ..estimators import (Estimate, EstimateTable, cluster_difference_in_means, cluster_ols, difference_in_means,
                          exposure_regression)
from ..estimators._result import _html_table
from ..exposure import treated_neighbor_counts
from ..graph import Graph

__all__ = ["diagnose", "Diagnosis", "EstimatorContext", "Diagnosand", "DIAGNOSANDS", "BUILTIN_ESTIMATORS",
           "register_diagnosand", "builtin_estimator"]

#: Elements of one (draws x units) float work matrix per chunk: 2^23 float64 = 64 MB.
_CHUNK_ELEMENTS = 2**23
#: Chunks per diagnosis aimed at (chunks are the unit of work sent to processes), and the
#: smallest chunk: batched kernels have a fixed cost per call.
_TARGET_CHUNKS = 8
_MIN_CHUNK = 25
#: Spawn key of the stream that realizes the outcome model (chunks use (chunk, design)).
_REALIZE_KEY = (2**32 - 1,)


# ------------------------------------------------------------------------------ estimator contract
@dataclasses.dataclass(frozen=True, eq=False)
class EstimatorContext:
    """Everything an estimator may use for one simulated experiment.

    An estimator given to :func:`diagnose` is any callable ``f(ctx) -> Estimate`` (or an
    :class:`~netexp.EstimateTable`, from which the entry whose ``estimand`` is the target is
    taken). Give the callable an ``estimand`` attribute (e.g. ``f.estimand = "global effect"``)
    to declare its target; otherwise the estimate's own ``estimand`` is the target. Raise a
    :class:`~netexp.NetexpError` (e.g. ``EstimationError``) when the estimate cannot be computed for
    this draw: the draw is counted in ``n_failed`` and left out of the diagnosands.

    Attributes
    ----------
    graph : Graph or None
    design : Design
        The design that drew ``z``.
    z : ndarray of bool, shape (n_units,)
        The assignment (read-only).
    y : ndarray of float, shape (n_units,)
        Observed outcomes under ``z`` (read-only).
    clusters : ndarray of int or None
        The design's cluster label of every unit (``design.labels``) when it has one.
    covariates : DataFrame or None
        Pre-treatment covariates of the outcome model (shared between draws: do not modify).
    confidence_level : float
    treated_neighbors : ndarray of int or None
        Number of treated neighbours of every unit under ``z`` (computed in batches).
    rng : numpy Generator
        A stream of its own for every (design, estimator, draw), for estimators that draw
        (randomization tests, bootstraps); reproducible for a given diagnose ``rng``.
    """

    graph: Graph | None
    design: Design
    z: np.ndarray
    y: np.ndarray
    clusters: np.ndarray | None
    covariates: pd.DataFrame | None
    confidence_level: float
    treated_neighbors: np.ndarray | None
    _seed: np.random.SeedSequence = dataclasses.field(repr=False)
    _prepared: Any = dataclasses.field(default=None, repr=False)

    @functools.cached_property
    def rng(self) -> np.random.Generator:
        return np.random.default_rng(self._seed)

    @property
    def fraction(self) -> np.ndarray:
        """Fraction of each unit's neighbours treated (0 for isolated units)."""
        if self.graph is None:
            raise InputError("this estimator needs the fraction of treated neighbours: pass graph= to diagnose.")
        deg = np.asarray(self.graph.degree, dtype=float)
        return np.divide(self.treated_neighbors, deg, out=np.zeros(deg.shape), where=deg > 0)

    @property
    def isolated(self) -> np.ndarray:
        """Units without neighbours."""
        return np.asarray(self.graph.degree) == 0


@dataclasses.dataclass(frozen=True)
class BuiltinEstimator:
    """A named estimator of netexp wrapped for :func:`diagnose` (see :data:`BUILTIN_ESTIMATORS`)."""

    name: str
    estimand: str
    func: Callable
    needs_clusters: bool = False
    description: str = ""
    #: ``prepare(design, graph, potential_outcomes, rng) -> (state, truth)``, run once per design:
    #: ``state`` reaches the estimator as ``ctx._prepared``; ``truth`` replaces the outcome model's
    #: value of ``estimand`` for that design (estimands whose units depend on the design).
    prepare: Callable | None = None

    def __call__(self, ctx: EstimatorContext):
        return self.func(ctx)


def _dim(ctx):
    return difference_in_means(ctx.y, ctx.z, estimand="global effect", confidence_level=ctx.confidence_level)


def _cluster(ctx):
    return cluster_difference_in_means(ctx.y, ctx.z, ctx.clusters, confidence_level=ctx.confidence_level)


def _cluster_ols(ctx):
    return cluster_ols(ctx.y, ctx.z, ctx.clusters, confidence_level=ctx.confidence_level)


def _exposure_regression(ctx):
    return exposure_regression(ctx.y, ctx.z, ctx.fraction, clusters=ctx.clusters, isolated=ctx.isolated,
                               confidence_level=ctx.confidence_level)


#: Smallest probability of both full-neighbourhood conditions for a unit to enter the estimand of
#: the built-in "horvitz-thompson" and "hajek" estimators (units below are left out, as in run_pipeline).
HT_MIN_PROBABILITY = 0.05
_HT_ESTIMAND = "Y(treated) - Y(control)"


def _prepare_exposure(design, graph, po, rng):
    r"""Full-neighbourhood probabilities (once per design), the units of the estimand and its truth.

    Exact probabilities when the design has a closed form (joints included), else Monte Carlo
    (10,000 draws). The units are those with probability >= :data:`HT_MIN_PROBABILITY` of both
    "treated" and "control"; the truth is the mean of :math:`Y_i(\mathbf 1) - Y_i(\mathbf 0)`
    over them (outcomes under all units treated minus none treated).
    """
    from ..exposure import FullNeighborhood, exposure_probabilities

    if graph is None:
        raise InputError("'horvitz-thompson' and 'hajek' need the graph: pass graph= to diagnose.")
    m = FullNeighborhood()
    pr = exposure_probabilities(graph, design, m, rng=rng)
    P = pr.marginal
    mask = np.minimum(P[:, m.levels.index("treated")], P[:, m.levels.index("control")]) >= HT_MIN_PROBABILITY
    n = design.n_units
    y1 = np.asarray(po.outcomes(np.ones(n, dtype=bool)), dtype=float)
    y0 = np.asarray(po.outcomes(np.zeros(n, dtype=bool)), dtype=float)
    truth = float(np.mean((y1 - y0)[mask])) if mask.any() else float("nan")
    return {"mapping": m, "probabilities": pr, "mask": mask}, truth


def _design_based(kind, ctx):
    from ..estimators import hajek, horvitz_thompson

    from .._errors import EstimationError

    st = ctx._prepared
    if st is None:
        raise EstimationError("the exposure probabilities of this design were not prepared (call through diagnose).")
    if not st["mask"].any():
        raise EstimationError(f"no unit has probability >= {HT_MIN_PROBABILITY:g} of both full-neighbourhood "
                              "conditions under this design; use larger clusters or a custom estimator with "
                              "another threshold.")
    f = horvitz_thompson if kind == "ht" else hajek
    codes = st["mapping"].map(ctx.graph, ctx.z)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EstimationWarning)  # negative variance -> 0, unobserved level -> nan
        tab = f(ctx.y, codes, st["probabilities"], contrasts=[("treated", "control")], units=st["mask"],
                confidence_level=ctx.confidence_level)
    return tab[0]


def _ht(ctx):
    return _design_based("ht", ctx)


def _hajek(ctx):
    return _design_based("hajek", ctx)


#: Estimators chosen by name in :func:`diagnose`.
BUILTIN_ESTIMATORS: dict[str, BuiltinEstimator] = {
    e.name: e for e in (
        BuiltinEstimator("difference-in-means", "global effect", _dim,
                         description="difference_in_means (Neyman SE); ignores interference"),
        BuiltinEstimator("cluster", "global effect", _cluster, True,
                         description="cluster_difference_in_means over the design's clusters (clusters weighted "
                                     "equally)"),
        BuiltinEstimator("cluster-ols", "global effect", _cluster_ols, True,
                         description="cluster_ols, CR2 over the design's clusters"),
        BuiltinEstimator("exposure-regression", "global effect", _exposure_regression,
                         description="exposure_regression on own treatment and fraction of treated neighbours; "
                                     "CR2 under a cluster design, HC1 otherwise"),
        BuiltinEstimator("horvitz-thompson", _HT_ESTIMAND, _ht, prepare=_prepare_exposure,
                         description="horvitz_thompson of full-neighbourhood treated vs control (Aronow-Samii SE) "
                                     "over units with probability >= HT_MIN_PROBABILITY of both; probabilities "
                                     "computed once per design (exact when available)"),
        BuiltinEstimator("hajek", _HT_ESTIMAND, _hajek, prepare=_prepare_exposure,
                         description="hajek of full-neighbourhood treated vs control (linearized Aronow-Samii SE), "
                                     "same units and probabilities as horvitz-thompson"),
    )
}


_NO_EXPOSURE = tuple(BUILTIN_ESTIMATORS[k] for k in ("difference-in-means", "cluster", "cluster-ols",
                                                     "horvitz-thompson", "hajek"))
#: Spawn key of the stream of Monte Carlo exposure probabilities in prepare (one per design: (key, d)).
_PREPARE_KEY = 2**32 - 2


def builtin_estimator(name: str) -> BuiltinEstimator:
    """The built-in estimator called ``name``; an unknown name lists the valid ones."""
    return BUILTIN_ESTIMATORS[check_option("estimator", name, BUILTIN_ESTIMATORS)]


# ------------------------------------------------------------------------------ diagnosands
@dataclasses.dataclass(frozen=True)
class Diagnosand:
    """A summary of the simulated sampling distribution of an estimator.

    ``func(estimates, std_errors, ci_low, ci_high, p_values, estimand) -> float`` over the
    successful draws (arrays of equal length; ``estimand`` holds the true value of every draw);
    ``mc_se`` (same signature) its Monte Carlo standard error, where one is known.
    """

    name: str
    func: Callable
    mc_se: Callable | None = None
    description: str = ""


def _significant(lo, hi):
    return (lo > 0) | (hi < 0)


def _nanmean(x):
    return float(np.mean(x)) if len(x) else float("nan")


def _bias(e, s, lo, hi, p, t):
    return _nanmean(e - t)


def _bias_se(e, s, lo, hi, p, t):
    return float(np.std(e - t, ddof=1) / np.sqrt(len(e))) if len(e) > 1 else float("nan")


def _sd(e, s, lo, hi, p, t):
    return float(np.std(e, ddof=1)) if len(e) > 1 else float("nan")


def _sd_se(e, s, lo, hi, p, t):
    return float(np.std(e, ddof=1) / np.sqrt(2 * (len(e) - 1))) if len(e) > 1 else float("nan")


def _rmse(e, s, lo, hi, p, t):
    return float(np.sqrt(np.mean((e - t) ** 2))) if len(e) else float("nan")


def _mean_se(e, s, lo, hi, p, t):
    return _nanmean(s)


def _mean_se_se(e, s, lo, hi, p, t):
    return float(np.std(s, ddof=1) / np.sqrt(len(s))) if len(s) > 1 else float("nan")


def _has_ci(lo, hi):
    # an estimator that returned no interval (NaN SE) is not a miss: it is left out of coverage and power
    return np.isfinite(lo) & np.isfinite(hi)


def _coverage(e, s, lo, hi, p, t):
    ok = _has_ci(lo, hi)
    return float(np.mean((lo[ok] <= t[ok]) & (t[ok] <= hi[ok]))) if ok.any() else float("nan")


def _coverage_se(e, s, lo, hi, p, t):
    c, k = _coverage(e, s, lo, hi, p, t), int(_has_ci(lo, hi).sum())
    return float(np.sqrt(c * (1 - c) / k)) if k else float("nan")


def _power(e, s, lo, hi, p, t):
    ok = _has_ci(lo, hi)
    return float(np.mean(_significant(lo[ok], hi[ok]))) if ok.any() else float("nan")


def _power_se(e, s, lo, hi, p, t):
    w, k = _power(e, s, lo, hi, p, t), int(_has_ci(lo, hi).sum())
    return float(np.sqrt(w * (1 - w) / k)) if k else float("nan")


def _type_s(e, s, lo, hi, p, t):
    sig = _significant(lo, hi) & (t != 0)
    if not sig.any():
        return float("nan")
    return float(np.mean(np.sign(e[sig]) != np.sign(t[sig])))


def _type_s_se(e, s, lo, hi, p, t):
    sig = _significant(lo, hi) & (t != 0)
    k = int(sig.sum())
    if k == 0:
        return float("nan")
    r = _type_s(e, s, lo, hi, p, t)
    return float(np.sqrt(r * (1 - r) / k))


#: Diagnosands chosen by name in :func:`diagnose` (Notes there give the definitions).
DIAGNOSANDS: dict[str, Diagnosand] = {}


def register_diagnosand(name: str, func: Callable, *, mc_se: Callable | None = None, description: str = "") -> None:
    """Add a diagnosand to :data:`DIAGNOSANDS` so that it can be chosen by name."""
    if not isinstance(name, str) or not name:
        raise InputError(f"diagnosand name must be a non-empty string; got {name!r}.")
    if not callable(func):
        raise InputError(f"diagnosand {name!r}: func must be callable; got {type(func).__name__}.")
    DIAGNOSANDS[name] = Diagnosand(name, func, mc_se, description)


for _d in (
    Diagnosand("bias", _bias, _bias_se, "mean of estimate - estimand"),
    Diagnosand("sd", _sd, _sd_se, "standard deviation of the estimates"),
    Diagnosand("rmse", _rmse, None, "root mean squared error against the estimand"),
    Diagnosand("mean_se", _mean_se, _mean_se_se, "mean estimated standard error"),
    Diagnosand("coverage", _coverage, _coverage_se, "share of intervals containing the estimand"),
    Diagnosand("power", _power, _power_se, "share of intervals excluding 0 (rejections of no effect)"),
    Diagnosand("type_s", _type_s, _type_s_se, "share of significant estimates with the wrong sign"),
):
    DIAGNOSANDS[_d.name] = _d


def _resolve_diagnosands(diagnosands) -> list[Diagnosand]:
    if isinstance(diagnosands, str) or callable(diagnosands):
        diagnosands = (diagnosands,)
    out = []
    for d in diagnosands:
        if isinstance(d, Diagnosand):
            out.append(d)
        elif isinstance(d, str):
            out.append(DIAGNOSANDS[check_option("diagnosand", d, DIAGNOSANDS)])
        elif callable(d):
            out.append(Diagnosand(getattr(d, "__name__", "diagnosand"), d))
        else:
            raise InputError(f"diagnosands must be names from {sorted(DIAGNOSANDS)} or callables "
                             f"f(estimates, std_errors, ci_low, ci_high, p_values, estimand); got {d!r}.")
    names = [d.name for d in out]
    if len(set(names)) != len(names):
        raise InputError(f"diagnosands must have distinct names; got {names}.")
    return out


# ------------------------------------------------------------------------------ outcome model glue
def truth_of(potential_outcomes) -> dict:
    """The named estimands of realized potential outcomes (``truth`` attribute or method), names with spaces."""
    t = potential_outcomes.truth
    if callable(t):
        t = t()
    return {str(k).replace("_", " "): float(v) for k, v in dict(t).items()}


def _covariates_of(po):
    cov = getattr(po, "covariates", None)
    if callable(cov):
        cov = cov()
    return cov


def _draw_outcomes(po, Z, noise, rng):
    if noise == "fixed":
        return np.asarray(po.outcomes(Z), dtype=float)
    if hasattr(po, "outcomes_redrawn"):
        return np.asarray(po.outcomes_redrawn(Z, rng=rng), dtype=float)
    model = getattr(po, "model", None)
    if hasattr(po, "noise") and hasattr(model, "noise_sd"):  # LinearInMeans' PotentialOutcomes
        Y = np.asarray(po.outcomes(Z), dtype=float) - po.noise
        return Y + rng.normal(0.0, float(model.noise_sd), Z.shape) if model.noise_sd > 0 else Y
    raise InputError(f"noise='redraw' needs potential outcomes that can redraw their noise "
                     f"({type(po).__name__} cannot); use noise='fixed'.")


def _realize(outcome_model, graph, n_units, rng):
    if hasattr(outcome_model, "realize"):
        return outcome_model.realize(graph if graph is not None else n_units, rng=rng)
    if hasattr(outcome_model, "outcomes") and hasattr(outcome_model, "truth"):
        return outcome_model
    raise InputError(f"outcome_model must be an outcome model with realize(graph, rng=) (e.g. ne.LinearInMeans()) "
                     f"or realized potential outcomes with outcomes(z) and truth; got {type(outcome_model).__name__}.")


# ------------------------------------------------------------------------------ simulation
@dataclasses.dataclass(frozen=True)
class _Cell:
    name: str
    estimator: Callable
    target: str | None


_STATE: dict = {}


def _init_worker(state):
    _STATE.clear()
    _STATE.update(state)


def _chunk_worker(args):
    from .._executor import _blas_one_thread

    with _blas_one_thread():      # as on every executor: summation order cannot depend on the worker
        return _run_chunk(_STATE, *args)


def _run_chunk(state, chunk: int, start: int, size: int):
    """Simulate draws ``start .. start+size-1`` for every design; one stream per (chunk, design)."""
    po, graph, cov = state["po"], state["graph"], state["covariates"]
    entropy, level, noise = state["entropy"], state["confidence_level"], state["noise"]
    n_est = len(state["estimators"])
    out = []
    for d, (dname, design, clusters) in enumerate(state["designs"]):
        g = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(chunk, d)))
        Z = design.sample_many(size, rng=g)
        Y = _draw_outcomes(po, Z, noise, g)
        counts = treated_neighbor_counts(graph, Z) if graph is not None and state["needs_exposure"] else None
        res = np.full((n_est, size, 5), np.nan)
        failures = [[0, ""] for _ in range(n_est)]
        for r in range(size):
            z = Z[r]
            y = Y[r]
            z.flags.writeable = False
            y.flags.writeable = False
            for e, cell in enumerate(state["estimators"]):
                if state["skip"][d][e]:
                    continue
                ctx = EstimatorContext(graph, design, z, y, clusters, cov, level,
                                       None if counts is None else counts[r],
                                       np.random.SeedSequence(entropy, spawn_key=(chunk, d, r, e)),
                                       state["prepared"][d][e])
                try:
                    est = _pick(cell.estimator(ctx), cell.target, cell.name)
                except NetexpError as exc:
                    failures[e][0] += 1
                    failures[e][1] = failures[e][1] or str(exc)
                    continue
                res[e, r] = (est.estimate, est.std_error, est.ci[0], est.ci[1], est.p_value)
                if state["targets"][d][e] is None:
                    state["targets"][d][e] = est.estimand
        out.append((res, failures, [state["targets"][d][e] for e in range(n_est)]))
    return chunk, out


def _pick(result, target, name) -> Estimate:
    if isinstance(result, Estimate):
        return result
    if isinstance(result, (EstimateTable, tuple, list)):
        if target is None:
            return result[0]
        for est in result:
            if est.estimand == target:
                return est
        raise InputError(f"estimator {name!r} returned no estimate of {target!r}; it returned "
                         f"{[e.estimand for e in result]}.")
    raise InputError(f"estimator {name!r} must return a netexp Estimate or EstimateTable; got "
                     f"{type(result).__name__}.")


def _hashable(x) -> bool:
    try:
        hash(x)
    except TypeError:
        return False
    return True


def _public_estimators() -> dict:
    """netexp's public estimator functions -> the name of the built-in that calls them on each draw."""
    from ..estimators import (cluster_difference_in_means, cluster_ols, difference_in_means, exposure_regression,
                              hajek, horvitz_thompson)

    return {difference_in_means: "difference-in-means", cluster_difference_in_means: "cluster",
            cluster_ols: "cluster-ols", exposure_regression: "exposure-regression",
            horvitz_thompson: "horvitz-thompson", hajek: "hajek"}


def _resolve_estimators(estimators) -> list[_Cell]:
    if isinstance(estimators, str) or callable(estimators):
        estimators = [estimators]
    items = list(estimators.items()) if isinstance(estimators, Mapping) else [(None, e) for e in estimators]
    if not items:
        raise InputError("estimators is empty; give at least one (e.g. ['difference-in-means']).")
    cells = []
    public = _public_estimators()
    for name, est in items:
        if isinstance(est, str):
            est = builtin_estimator(est)
        elif callable(est) and not isinstance(est, BuiltinEstimator) and _hashable(est) and est in public:
            # ne.difference_in_means, ne.cluster_ols, ...: the public function means its built-in wrapper
            est = BUILTIN_ESTIMATORS[public[est]]
        elif callable(est) and (getattr(est, "__module__", None) or "").startswith("netexp.estimators"):
            fname = getattr(est, "__name__", repr(est))
            raise InputError(f"estimator {fname!r} is a netexp function of data, not of an EstimatorContext; pass "
                             f"a built-in name ({', '.join(BUILTIN_ESTIMATORS)}) or wrap it, e.g. "
                             f"lambda ctx: ne.{fname}(ctx.y, ctx.z, ...).")
        if not callable(est):
            raise InputError(f"estimator {name!r} must be a built-in name ({', '.join(BUILTIN_ESTIMATORS)}) or a "
                             f"callable f(ctx) -> Estimate; got {type(est).__name__}.")
        if name is None:
            name = getattr(est, "name", None) or getattr(est, "__name__", f"estimator {len(cells)}")
        cells.append(_Cell(str(name), est, getattr(est, "estimand", None)))
    names = [c.name for c in cells]
    if len(set(names)) != len(names):
        raise InputError(f"estimator names must be distinct; got {names}. Pass a dict name -> estimator.")
    return cells


def _resolve_designs(designs, n_units) -> list[tuple[str, Design, np.ndarray | None]]:
    if isinstance(designs, Design):
        designs = {type(designs).__name__: designs}
    if not isinstance(designs, Mapping) or not designs:
        raise InputError(f"designs must be a non-empty dict name -> Design; got {type(designs).__name__}.")
    out = []
    for name, d in designs.items():
        if not isinstance(d, Design):
            raise InputError(f"designs[{name!r}] must be a netexp Design; got {type(d).__name__}.")
        if n_units is not None and d.n_units != n_units:
            raise InputError(f"designs[{name!r}] assigns {d.n_units} units but the graph has {n_units}; declare "
                             "the design over the graph's units.")
        labels = getattr(d, "labels", None)
        clusters = None if labels is None else dense_codes(np.asarray(labels))[1]
        out.append((str(name), d, clusters))
    return out


def _entropy(rng) -> int:
    return int(check_rng(rng).integers(0, 2**63 - 1))


def _chunks(n_sims: int, n_units: int) -> list[tuple[int, int, int]]:
    """Chunks of draws; their size depends on n_sims and n_units only, never on n_jobs."""
    want = max(_MIN_CHUNK, -(-n_sims // _TARGET_CHUNKS))
    size = int(max(1, min(want, _CHUNK_ELEMENTS // max(n_units, 1))))
    return [(c, s, min(size, n_sims - s)) for c, s in enumerate(range(0, n_sims, size))]


def diagnose(designs: Mapping[str, Design] | Design, estimators: Mapping[str, Any] | Sequence[Any],
             outcome_model: Any, graph: Graph | None = None, *, n_sims: int = 500, rng=None, n_jobs: int = 1,
             executor=None,
             progress: bool | None = None,
             diagnosands: Sequence[Any] = ("bias", "sd", "rmse", "mean_se", "coverage", "power", "type_s"),
             confidence_level: float = 0.95, noise: str = "redraw", estimand: str | None = None) -> "Diagnosis":
    r"""Diagnose designs and estimators by simulating many experiments with known potential outcomes.

    For every design: draw ``n_sims`` assignments, compute the outcomes under the outcome model,
    run every estimator on every draw, and summarize each (design, estimator) pair against the
    true value of its estimand.

    Parameters
    ----------
    designs : dict of name -> Design, or one Design
        Designs over the graph's units (``design.n_units == graph.n_nodes``).
    estimators : dict of name -> estimator, or list of estimators
        An estimator is a built-in name (:data:`BUILTIN_ESTIMATORS`: ``"difference-in-means"``,
        ``"cluster"``, ``"cluster-ols"``, ``"exposure-regression"``, ``"horvitz-thompson"``,
        ``"hajek"``; ``_`` may replace ``-``), one of the public functions they call
        (``ne.difference_in_means``, ``ne.cluster_difference_in_means``, ``ne.cluster_ols``,
        ``ne.exposure_regression``, ``ne.horvitz_thompson``, ``ne.hajek``: the same built-in), or
        a callable ``f(ctx) -> Estimate`` taking an :class:`EstimatorContext` (its attributes: ``graph``,
        ``design``, ``z``, ``y``, ``clusters``, ``covariates``, ``confidence_level``,
        ``treated_neighbors``, ``fraction``, ``rng``). The cluster estimators need a design with
        ``labels`` (a :class:`~netexp.ClusterRandomized`); under other designs their rows are
        NaN with a note.
    outcome_model : outcome model or realized potential outcomes
        Anything with ``realize(graph_or_n_units, rng=)`` (:class:`~netexp.LinearInMeans`,
        :class:`~netexp.simulate.HeterogeneousPopulation`, ...), realized once per diagnosis;
        or potential outcomes already realized (``outcomes(z)`` and ``truth``).
    graph : Graph, optional
        The network (needed for exposure-based estimators and models with spillover).
    n_sims : int, default 500
        Simulated experiments per design.
    rng : None, int, SeedSequence or Generator
    n_jobs : int, default 1
        Processes. Results are identical for every ``n_jobs`` (each chunk of draws has its own
        stream from ``SeedSequence(entropy, spawn_key=(chunk, design))``); estimators must then
        be picklable (module-level functions, not lambdas).
    executor : concurrent.futures.Executor, optional
        Run the chunks as tasks on it instead (a spawn process pool, a Dask client's
        ``get_executor()``...), each with one BLAS thread. ``executor=None`` and ``n_jobs`` run
        the same chunks with one BLAS thread too: the same seed gives the same table, bit for bit,
        with or without an executor.
    progress : bool, optional
        Progress bar over chunks (default: only on a terminal).
    diagnosands : sequence of str or callables
        Names from :data:`DIAGNOSANDS` or callables
        ``f(estimates, std_errors, ci_low, ci_high, p_values, estimand) -> float``.
    confidence_level : float, default 0.95
        Level of every interval (coverage, power and type-S use them).
    noise : {"redraw", "fixed"}, default "redraw"
        ``"fixed"``: outcomes noise drawn once (the finite-population view: only the assignment
        varies; the design-based variances target this). ``"redraw"``: fresh unit noise in every
        simulated experiment (a new sample of the same population model; model-based variances
        such as the exposure regression's target this).
    estimand : str, optional
        Compare every estimator with this entry of the outcome model's ``truth`` (e.g.
        ``"direct effect"``); default: each estimator's declared target (``"global effect"``
        for the built-ins).

    Returns
    -------
    Diagnosis

    Notes
    -----
    With estimates :math:`\hat\tau_r`, standard errors :math:`\hat s_r`, intervals
    :math:`[l_r, u_r]` and estimand :math:`\tau` over the :math:`R` successful draws:

    - bias :math:`= \frac1R\sum_r(\hat\tau_r - \tau)`, Monte Carlo SE
      :math:`\mathrm{sd}(\hat\tau - \tau)/\sqrt R`;
    - sd :math:`= \mathrm{sd}(\hat\tau_r)` (ddof 1), MC SE :math:`\mathrm{sd}/\sqrt{2(R-1)}`;
    - rmse :math:`= \sqrt{\frac1R\sum_r(\hat\tau_r - \tau)^2}`;
    - mean_se :math:`= \frac1R\sum_r \hat s_r` (compare with sd: a good variance estimator has
      mean_se close to, or for conservative ones above, sd);
    - coverage :math:`= \frac1R\sum_r 1\{l_r \le \tau \le u_r\}`, MC SE
      :math:`\sqrt{c(1-c)/R}`;
    - power :math:`= \frac1R\sum_r 1\{0 \notin [l_r, u_r]\}` (rejection rate of no effect at
      level :math:`1 - ` ``confidence_level``);
    - type_s :math:`=` share of significant estimates whose sign differs from :math:`\tau`'s
      (Gelman & Carlin 2014).

    The design-based built-ins ``"horvitz-thompson"`` and ``"hajek"`` estimate the
    full-neighbourhood contrast ``Y(treated) - Y(control)`` over the units :math:`U_d` whose
    probability of both conditions under design :math:`d` is at least
    :data:`HT_MIN_PROBABILITY`; their exposure probabilities are computed once per design (exact
    when the design has a closed form, else 10,000 Monte Carlo draws) and reused by every draw.
    Their truth is design-specific, :math:`|U_d|^{-1}\sum_{i \in U_d} [Y_i(\mathbf 1) -
    Y_i(\mathbf 0)]`, from the outcomes with every unit treated and with none treated.

    References
    ----------
    Blair, G., Cooper, J., Coppock, A., & Humphreys, M. (2019). Declaring and diagnosing research
    designs. *American Political Science Review*, 113(3), 838-859.

    Gelman, A., & Carlin, J. (2014). Beyond power calculations: assessing type S (sign) and type
    M (magnitude) errors. *Perspectives on Psychological Science*, 9(6), 641-651.

    Examples
    --------
    >>> import netexp as ne
    >>> from netexp.diagnostics import diagnose
    >>> g = ne.load_graph("karate")
    >>> dx = diagnose({"complete": ne.Complete(34, p=0.5)}, ["difference-in-means"],
    ...               ne.LinearInMeans(), g, n_sims=200, rng=0)
    >>> row = dx.to_frame().iloc[0]
    >>> round(float(row["mean_estimand"]), 2), bool(row["bias"] < 0)
    (0.3, True)
    """
    confidence_level = check_confidence_level(confidence_level)
    n_sims = check_int("n_sims", n_sims, low=2)
    n_jobs = check_int("n_jobs", n_jobs, low=1)
    noise = check_option("noise", noise, ("redraw", "fixed"))
    if graph is not None and not isinstance(graph, Graph):
        raise InputError(f"graph must be a netexp Graph or None; got {type(graph).__name__}.")
    if estimand is not None and not isinstance(estimand, str):
        raise InputError(f"estimand must be a name from the outcome model's truth (e.g. 'global effect'); got "
                         f"{estimand!r}.")
    ds = _resolve_diagnosands(diagnosands)
    cells = _resolve_estimators(estimators)
    if estimand is not None:
        cells = [_Cell(c.name, c.estimator, estimand) for c in cells]
    n_units = graph.n_nodes if graph is not None else None
    dlist = _resolve_designs(designs, n_units)
    if n_units is None:
        n_units = dlist[0][1].n_units
        if any(d.n_units != n_units for _, d, _ in dlist):
            raise InputError("designs assign different numbers of units; declare them over the same units.")
    entropy = _entropy(rng)
    po = _realize(outcome_model, graph, n_units,
                  np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=_REALIZE_KEY)))
    if graph is None:
        graph = getattr(po, "graph", None)
    truth = truth_of(po)
    prepared, truth_over = _prepare_all(dlist, cells, graph, po, entropy)
    for c in cells:
        if getattr(c.estimator, "prepare", None) is not None and c.target == getattr(c.estimator, "estimand", None):
            continue  # its truth comes from prepare, design by design
        if c.target is not None and c.target not in truth:
            raise InputError(f"estimator {c.name!r} targets {c.target!r}, which the outcome model does not define; "
                             f"its truth has {sorted(truth)}.")
    if graph is None and any(c.estimator is BUILTIN_ESTIMATORS["exposure-regression"] for c in cells):
        raise InputError("'exposure-regression' needs the graph: pass graph= to diagnose.")
    skip = [[bool(getattr(c.estimator, "needs_clusters", False) and cl is None) for c in cells]
            for _, _, cl in dlist]
    state = {"po": po, "graph": graph, "covariates": _covariates_of(po), "entropy": entropy,
             "confidence_level": confidence_level, "noise": noise, "designs": dlist, "estimators": cells,
             "skip": skip, "needs_exposure": any(c.estimator not in _NO_EXPOSURE for c in cells),
             "targets": [[c.target for c in cells] for _ in dlist], "prepared": prepared, "truth_over": truth_over}
    chunks = _chunks(n_sims, n_units)
    if executor is not None:
        from .._executor import check_executor, map_items

        results = map_items(check_executor(executor), _run_chunk, state, chunks)
    else:
        results = _run_all(state, chunks, n_jobs, progress)
    return _summarize(results, chunks, state, truth, ds, n_sims)


def _prepare_all(dlist, cells, graph, po, entropy):
    """Run every estimator's ``prepare`` once per design (shared between estimators with the same one).

    Returns ``prepared[d][e]`` (state or None) and ``truth_over[d][e]`` (design-specific truth or None).
    """
    prepared = [[None] * len(cells) for _ in dlist]
    truth_over = [[None] * len(cells) for _ in dlist]
    for d, (_, design, _) in enumerate(dlist):
        cache = {}
        for e, c in enumerate(cells):
            prep = getattr(c.estimator, "prepare", None)
            if prep is None:
                continue
            if prep not in cache:
                g = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(_PREPARE_KEY, d)))
                cache[prep] = prep(design, graph, po, g)
            st, tv = cache[prep]
            prepared[d][e] = st
            if c.target == getattr(c.estimator, "estimand", None):
                truth_over[d][e] = tv
    return prepared, truth_over


def _run_all(state, chunks, n_jobs, progress):
    from tqdm import tqdm

    bar = dict(desc="diagnose", unit="chunk", total=len(chunks), disable=None if progress is None else not progress,
               leave=False)
    if n_jobs == 1 or len(chunks) == 1:
        from .._executor import _blas_one_thread

        with _blas_one_thread():  # the chunks as any executor runs them (one BLAS thread): bit-identical
            return [_run_chunk(state, *c) for c in tqdm(chunks, **bar)]
    import concurrent.futures as cf
    import multiprocessing as mp
    import pickle

    try:
        pickle.dumps(state["estimators"])
    except Exception as exc:  # lambdas and local functions cannot go to another process
        raise InputError(f"n_jobs > 1 needs picklable estimators (module-level functions or built-in names); "
                         f"{exc}. Use n_jobs=1.") from None
    ctx = mp.get_context("spawn")  # fork is unsafe once numba/OpenMP threads exist
    with cf.ProcessPoolExecutor(max_workers=n_jobs, mp_context=ctx, initializer=_init_worker,
                                initargs=(state,)) as ex:
        return list(tqdm(ex.map(_chunk_worker, chunks), **bar))


def _summarize(results, chunks, state, truth, ds, n_sims):
    results = sorted(results, key=lambda t: t[0])
    dlist, cells = state["designs"], state["estimators"]
    rows, sims = [], []
    for d, (dname, design, _) in enumerate(dlist):
        for e, cell in enumerate(cells):
            arr = np.concatenate([res[d][0][e] for _, res in results], axis=0)
            n_failed = sum(res[d][1][e][0] for _, res in results)
            msg = next((res[d][1][e][1] for _, res in results if res[d][1][e][1]), "")
            target = next((res[d][2][e] for _, res in results if res[d][2][e] is not None), cell.target)
            row = {"design": dname, "estimator": cell.name, "estimand": target}
            if state["skip"][d][e]:
                note = "not applicable: the design has no cluster labels"
                tval = truth.get(target, np.nan) if target else np.nan
                ok = np.zeros(arr.shape[0], dtype=bool)
                n_failed = 0
            elif state["truth_over"][d][e] is not None:
                tval = state["truth_over"][d][e]
                ok = np.isfinite(arr[:, 0])
                note = f"{n_failed} of {n_sims} draws failed: {msg}" if n_failed else ""
            else:
                if target not in truth:
                    raise InputError(f"estimator {cell.name!r} estimates {target!r}, which the outcome model does "
                                     f"not define (its truth has {sorted(truth)}); declare the target with "
                                     "estimand= or an estimand attribute on the estimator.")
                tval = truth[target]
                ok = np.isfinite(arr[:, 0])
                note = f"{n_failed} of {n_sims} draws failed: {msg}" if n_failed else ""
            est, se, lo, hi, p = (arr[ok, j] for j in range(5))
            t = np.full(est.shape, tval)
            row.update(n_sims=int(ok.sum()), n_failed=int(n_failed), mean_estimand=float(tval),
                       mean_estimate=_nanmean(est))
            for dg in ds:
                row[dg.name] = float(dg.func(est, se, lo, hi, p, t)) if len(est) else float("nan")
            for dg in ds:
                if dg.mc_se is not None and dg.name in ("bias", "coverage", "sd", "power"):
                    row[f"{dg.name}_mc_se"] = float(dg.mc_se(est, se, lo, hi, p, t)) if len(est) else float("nan")
            row["note"] = note
            rows.append(row)
            if not state["skip"][d][e]:
                sims.append(pd.DataFrame({"design": dname, "estimator": cell.name, "sim": np.arange(arr.shape[0]),
                                          "estimate": arr[:, 0], "std_error": arr[:, 1], "ci_low": arr[:, 2],
                                          "ci_high": arr[:, 3], "p_value": arr[:, 4], "estimand": tval}))
    frame = pd.DataFrame(rows)
    simulations = pd.concat(sims, ignore_index=True) if sims else pd.DataFrame()
    if (frame["n_failed"] > 0).any():
        bad = frame.loc[frame["n_failed"] > 0, ["design", "estimator", "n_failed"]]
        warn("some estimators failed on some draws (left out of the diagnosands): "
             + "; ".join(f"{r.estimator} under {r.design}: {r.n_failed}" for r in bad.itertuples()),
             EstimationWarning)
    return Diagnosis(frame, simulations, int(n_sims), float(state["confidence_level"]), state["noise"],
                     tuple(d.name for d in ds), dict(truth))


# ------------------------------------------------------------------------------ result
@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class Diagnosis:
    """Result of :func:`diagnose`: one row per (design, estimator).

    Attributes
    ----------
    n_sims : int
    confidence_level : float
    noise : {"redraw", "fixed"}
    diagnosands : tuple of str
    truth : dict
        The outcome model's estimands.
    """

    _frame: pd.DataFrame
    _simulations: pd.DataFrame
    n_sims: int
    confidence_level: float
    noise: str
    diagnosands: tuple
    truth: dict

    def to_frame(self) -> pd.DataFrame:
        """Tidy table (a copy): design, estimator, estimand, n_sims, n_failed, mean_estimand,
        mean_estimate, the diagnosands, their Monte Carlo SEs (``bias_mc_se``, ``sd_mc_se``,
        ``coverage_mc_se``, ``power_mc_se``) and a note."""
        return self._frame.copy()

    def simulations(self) -> pd.DataFrame:
        """Every simulated estimate (a copy): design, estimator, sim, estimate, std_error, ci_low,
        ci_high, p_value, estimand (NaN estimate where the estimator failed)."""
        return self._simulations.copy()

    def compare(self, diagnosand: str = "rmse") -> pd.DataFrame:
        """Design x estimator table of one diagnosand (or any numeric column of :meth:`to_frame`)."""
        cols = [c for c in self._frame.columns if c not in ("design", "estimator", "estimand", "note")]
        diagnosand = check_option("diagnosand", diagnosand, cols)
        f = self._frame
        out = f.pivot(index="design", columns="estimator", values=diagnosand)
        return out.loc[list(dict.fromkeys(f["design"])), list(dict.fromkeys(f["estimator"]))]

    def plot(self, diagnosand: str = "rmse", ax=None):
        """Bar chart of one diagnosand by design and estimator (``netexp.plots.plot_diagnosis``)."""
        from ..plots import plot_diagnosis

        return plot_diagnosis(self.to_frame(), diagnosand=diagnosand, ax=ax)

    def summary(self) -> str:
        lvl = int(round(100 * self.confidence_level))
        truth = ", ".join(f"{k} {v:.4g}" for k, v in self.truth.items())
        head = (f"Design diagnosis: {self.n_sims:,} simulated experiments per design, noise {self.noise}, "
                f"{lvl}% intervals\n  truth: {truth}")
        cols = ["design", "estimator", "estimand", "mean_estimate"] + [d for d in self.diagnosands]
        table = self._frame[cols].to_string(index=False, float_format=lambda x: f"{x:.4g}", na_rep="nan")
        notes = [f"note ({r.design}, {r.estimator}): {r.note}" for r in self._frame.itertuples() if r.note]
        return "\n".join([head, "", table] + ([""] + notes if notes else []))

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        d = self._frame["design"].nunique()
        e = self._frame["estimator"].nunique()
        return f"Diagnosis(designs={d}, estimators={e}, n_sims={self.n_sims}, noise={self.noise!r})"

    def _repr_html_(self) -> str:
        return _html_table(self._frame, title=html.escape(f"Design diagnosis ({self.n_sims:,} simulations)"),
                           note=f"noise: {self.noise}; truth: {self.truth}")
