"""Bipartite (marketplace) experiments: treatment on one side, outcomes on the other.

Interventions (sellers, items, ads) are randomized; outcome units (buyers) are affected through
the interventions they interact with. An outcome unit's exposure is the treated share of its
interventions (Zigler & Papadogeorgou 2021; Harshaw et al. 2023). The global contrast "all of a
unit's interventions treated" against "none treated" is estimated by Horvitz-Thompson or Hajek
with exact exposure probabilities under Bernoulli and complete designs over interventions or over
clusters of interventions (Brennan et al. 2022), with the Aronow-Samii variance.
"""

from __future__ import annotations

import dataclasses
from math import lgamma
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._unit_align import aligns_itself
from .._errors import EstimationError, InputError
from .._validation import check_confidence_level, check_option, check_rng
from ._result import Estimate

__all__ = ["BipartiteGraph", "bipartite_exposure", "BipartiteProbabilities", "bipartite_exposure_probabilities",
           "bipartite_horvitz_thompson"]

_DENSE_MAX = 20_000


@dataclasses.dataclass(frozen=True, eq=False)
class BipartiteGraph:
    """Outcome units on one side, intervention units on the other; edges are interactions.

    Build with :meth:`from_edges`. ``incidence`` is a ``csr_array`` of shape
    ``(n_outcome, n_intervention)`` whose row ``i`` holds the weights of outcome unit ``i``'s
    interventions (1 when unweighted).
    """

    incidence: sp.csr_array
    outcome_ids: np.ndarray
    intervention_ids: np.ndarray

    @classmethod
    def from_edges(cls, outcome: Any, intervention: Any, *, weights: Any = None, outcome_nodes: Any = None,
                   intervention_nodes: Any = None) -> "BipartiteGraph":
        """From two equal-length sequences of ids (one edge per position), optional positive weights.

        ``outcome_nodes`` / ``intervention_nodes`` list every id of each side (so units with no
        edge are kept); by default the ids seen, sorted. Repeated edges add their weights.

        Examples
        --------
        >>> import netexp as ne
        >>> bg = ne.BipartiteGraph.from_edges(["b1", "b1", "b2"], ["s1", "s2", "s2"])
        >>> bg.n_outcome, bg.n_intervention, bg.degree.tolist()
        (2, 2, [2, 1])
        """
        o, v = np.asarray(outcome), np.asarray(intervention)
        if o.ndim != 1 or o.shape != v.shape:
            raise InputError(f"outcome and intervention must be 1-D and of equal length; got {o.shape} and {v.shape}.")
        w = np.ones(o.shape[0]) if weights is None else np.asarray(weights, dtype=float)
        if w.shape != o.shape or not np.isfinite(w).all() or (w <= 0).any():
            raise InputError("weights must be one positive finite number per edge.")
        oi = pd.Index(np.unique(o) if outcome_nodes is None else pd.unique(np.asarray(outcome_nodes)))
        vi = pd.Index(np.unique(v) if intervention_nodes is None else pd.unique(np.asarray(intervention_nodes)))
        ro, rv = oi.get_indexer(o), vi.get_indexer(v)
        if (ro < 0).any() or (rv < 0).any():
            raise InputError(f"{int((ro < 0).sum() + (rv < 0).sum())} edge endpoints are not among the given nodes.")
        B = sp.csr_array((w, (ro, rv)), shape=(len(oi), len(vi)))
        B.sum_duplicates()
        return cls(B, oi.to_numpy(), vi.to_numpy())

    @property
    def n_outcome(self) -> int:
        return int(self.incidence.shape[0])

    @property
    def n_intervention(self) -> int:
        return int(self.incidence.shape[1])

    @property
    def degree(self) -> np.ndarray:
        """Number of interventions of every outcome unit."""
        return np.diff(self.incidence.indptr)

    def projection(self):
        """The interventions' graph: two interventions are linked when an outcome unit interacts with both.

        Cluster it (e.g. ``ne.leiden(bg.projection())``) and randomize the clusters with
        ``ne.ClusterRandomized`` for a one-sided bipartite cluster design (Brennan et al. 2022).
        """
        from ..graph import Graph

        P = (self.incidence.T != 0).astype(float) @ (self.incidence != 0).astype(float)
        P = sp.coo_array(sp.triu(P, k=1))
        return Graph.from_edges(self.intervention_ids[P.row], self.intervention_ids[P.col],
                                nodes=self.intervention_ids)


def _intervention_vector(bg: BipartiteGraph, z: Any) -> np.ndarray:
    if isinstance(z, pd.Series):
        idx = pd.Index(bg.intervention_ids)
        if set(z.index) != set(idx) or not z.index.is_unique:
            raise InputError("z is a Series whose index is not the intervention ids; give one entry per intervention.")
        z = z.reindex(idx).to_numpy()
    zz = np.asarray(z)
    if zz.ndim != 1 or zz.shape[0] != bg.n_intervention:
        raise InputError(f"z must have one 0/1 entry per intervention ({bg.n_intervention}); got shape {zz.shape}.")
    if not np.isin(zz, (0, 1)).all():
        raise InputError("z must contain only 0/1 (or True/False).")
    return zz.astype(bool)


@aligns_itself("z")
def bipartite_exposure(bg: BipartiteGraph, z: Any) -> pd.DataFrame:
    r"""Treated share of every outcome unit's interventions, and its exposure level.

    Returns a DataFrame indexed by outcome id with ``share`` :math:`\sum_j w_{ij} Z_j / \sum_j w_{ij}`
    and ``level``: ``"treated"`` (share 1), ``"control"`` (share 0) or ``"partial"``
    (NaN share and level ``"none"`` for units without interventions).

    Examples
    --------
    >>> import netexp as ne
    >>> bg = ne.BipartiteGraph.from_edges(["b1", "b1", "b2"], ["s1", "s2", "s2"])
    >>> ne.bipartite_exposure(bg, [1, 0])["level"].tolist()
    ['partial', 'control']
    """
    zb = _intervention_vector(bg, z)
    B = bg.incidence
    tot = np.asarray(B.sum(1)).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        share = (B @ zb.astype(float)) / tot
    level = np.where(tot == 0, "none", np.where(share >= 1 - 1e-12, "treated",
                                                 np.where(share <= 1e-12, "control", "partial")))
    return pd.DataFrame({"share": share, "level": level}, index=pd.Index(bg.outcome_ids, name="outcome_id"))


@dataclasses.dataclass(frozen=True, eq=False)
class BipartiteProbabilities:
    """Probabilities that each outcome unit is fully treated / fully untreated, with pair joints.

    Attributes
    ----------
    treated, control : ndarray, shape (n_outcome,)
        :math:`\\pi_i(T)`, :math:`\\pi_i(C)`.
    joint : dict
        ``("treated", "treated")``, ``("control", "control")``, ``("treated", "control")``:
        dense ``(n, n)`` arrays of :math:`\\pi_{ij}(a, b)` (diagonal: the marginal when
        ``a == b``, else 0).
    exact : bool
    method : str
    """

    treated: np.ndarray
    control: np.ndarray
    joint: dict
    exact: bool
    method: str


def _log_ff(a: float, k: np.ndarray) -> np.ndarray:
    """log of the falling factorial a (a-1) ... (a-k+1); -inf when k > a."""
    k = np.asarray(k, dtype=float)
    out = np.full(k.shape, -np.inf)
    ok = k <= a
    out[ok] = lgamma(a + 1) - np.vectorize(lgamma)(a - k[ok] + 1)
    return out


def bipartite_exposure_probabilities(bg: BipartiteGraph, design: Any, *, method: str = "auto",
                                     n_draws: int = 10_000, rng=None) -> BipartiteProbabilities:
    r"""Exact (or Monte Carlo) probabilities that an outcome unit's interventions are all / none treated.

    Parameters
    ----------
    bg : BipartiteGraph
    design : Design
        Over the interventions, in ``bg.intervention_ids`` order: ``Bernoulli``, ``Complete``
        (fixed count) or ``ClusterRandomized`` over either (exact), any other design by Monte Carlo.
    method : {"auto", "exact", "monte-carlo"}
    n_draws : int, default 10000
    rng : None, int, SeedSequence or Generator

    Notes
    -----
    Let :math:`S_i` be the randomization units (interventions, or their clusters) touching
    outcome unit :math:`i`, :math:`d_i = |S_i|`, :math:`o_{ij} = |S_i \cap S_j|`. Independent units
    with probabilities :math:`p_r`: :math:`\pi_i(T) = \prod_{r \in S_i} p_r`,
    :math:`\pi_{ij}(T,T) = \prod_{r \in S_i \cup S_j} p_r` (and with :math:`1-p_r` for control).
    Complete, :math:`m` of :math:`M` treated, with :math:`(a)_k` the falling factorial:
    :math:`\pi_i(T) = (m)_{d_i}/(M)_{d_i}`, :math:`\pi_{ij}(T,T) = (m)_{u}/(M)_{u}` with
    :math:`u = d_i + d_j - o_{ij}`, :math:`\pi_{ij}(T,C) = (m)_{d_i}(M-m)_{d_j}/(M)_{d_i+d_j}` if
    :math:`o_{ij} = 0`, else 0.
    """
    from ..designs import Bernoulli, ClusterRandomized, Complete

    method = check_option("method", method, ("auto", "exact", "monte-carlo"))
    if getattr(design, "n_units", None) != bg.n_intervention:
        raise InputError(f"design assigns {getattr(design, 'n_units', None)} units but there are "
                         f"{bg.n_intervention} interventions; declare it over the interventions, in "
                         "bg.intervention_ids order.")
    n = bg.n_outcome
    if n > _DENSE_MAX:
        raise InputError(f"{n} outcome units: the pair joints are dense here (at most {_DENSE_MAX}).")
    inner, labels = design, np.arange(bg.n_intervention)
    if isinstance(design, ClusterRandomized):
        inner, labels = design.cluster_design, np.asarray(design.labels)
    kind = None
    if method != "monte-carlo":
        if type(inner) is Bernoulli:
            kind = "independent"
        elif type(inner) is Complete:
            try:
                m = inner.n_treated
                kind = "complete"
            except Exception:
                kind = None
        if kind is None and method == "exact":
            raise InputError(f"no closed form under {type(design).__name__} over {type(inner).__name__}; use "
                             "method='monte-carlo'.")
    tot = np.asarray(bg.incidence.sum(1)).ravel()
    if (tot == 0).any():
        raise InputError(f"{int((tot == 0).sum())} outcome units have no intervention; drop them (their exposure is "
                         "undefined).")
    if kind is None:
        return _monte_carlo(bg, design, n_draws, check_rng(rng))
    R = int(labels.max()) + 1
    Bu = (bg.incidence != 0).astype(float)
    S = sp.csr_array(Bu @ sp.csr_array((np.ones(labels.shape[0]), (np.arange(labels.shape[0]), labels)),
                                       shape=(labels.shape[0], R)))
    S.data[:] = 1.0                                     # membership of randomization units
    d = np.asarray(S.sum(1)).ravel()
    O = (S @ S.T).toarray()
    J = {}
    if kind == "independent":
        p = np.asarray(inner.probabilities, dtype=float)
        with np.errstate(divide="ignore"):
            lp, lq = np.log(p), np.log1p(-p)
        lT, lC = S @ lp, S @ lq
        ST = (S @ sp.diags_array(lp) @ S.T).toarray()
        SC = (S @ sp.diags_array(lq) @ S.T).toarray()
        piT, piC = np.exp(lT), np.exp(lC)
        J["treated", "treated"] = np.exp(lT[:, None] + lT[None, :] - ST)
        J["control", "control"] = np.exp(lC[:, None] + lC[None, :] - SC)
        J["treated", "control"] = np.where(O > 0, 0.0, np.outer(piT, piC))
        label = "exact: independent randomization units"
    else:
        M = R
        lMd = _log_ff(M, d)
        piT, piC = np.exp(_log_ff(m, d) - lMd), np.exp(_log_ff(M - m, d) - lMd)
        u = d[:, None] + d[None, :] - O
        uf = u.ravel()
        J["treated", "treated"] = np.exp(_log_ff(m, uf) - _log_ff(M, uf)).reshape(n, n)
        J["control", "control"] = np.exp(_log_ff(M - m, uf) - _log_ff(M, uf)).reshape(n, n)
        s = (d[:, None] + d[None, :]).ravel()
        num = np.add.outer(_log_ff(m, d), _log_ff(M - m, d)).ravel()
        den = _log_ff(M, s)
        ok = np.isfinite(num) & np.isfinite(den)
        tc = np.where(ok, np.exp(np.where(ok, num - np.where(ok, den, 0.0), -np.inf)), 0.0).reshape(n, n)
        J["treated", "control"] = np.where(O > 0, 0.0, tc)
        label = f"exact: complete randomization of {m} of {M} units"
    np.fill_diagonal(J["treated", "treated"], piT)
    np.fill_diagonal(J["control", "control"], piC)
    np.fill_diagonal(J["treated", "control"], 0.0)
    return BipartiteProbabilities(piT, piC, J, True, label)


def _monte_carlo(bg, design, n_draws, gen):
    n = bg.n_outcome
    IT = np.zeros((n, n))
    IC = np.zeros((n, n))
    ITC = np.zeros((n, n))
    done = 0
    while done < n_draws:
        b = min(2000, n_draws - done)
        Z = design.sample_many(b, rng=gen).astype(float)
        share = (bg.incidence @ Z.T) / np.asarray(bg.incidence.sum(1)).reshape(-1, 1)
        T = (share >= 1 - 1e-12).astype(float)
        C = (share <= 1e-12).astype(float)
        IT += T @ T.T
        IC += C @ C.T
        ITC += T @ C.T
        done += b
    J = {("treated", "treated"): IT / n_draws, ("control", "control"): IC / n_draws,
         ("treated", "control"): ITC / n_draws}
    return BipartiteProbabilities(np.diag(J["treated", "treated"]).copy(), np.diag(J["control", "control"]).copy(),
                                  J, False, f"Monte Carlo over {n_draws} draws of the design")


def _as_parts(v_t, v_c, It, Ic, pr):
    """Aronow-Samii Var(Y_T(T)), Var(Y_T(C)) and Cov for weighted values v = I y / pi (0 off-level)."""
    out = []
    for v, I, pi, key in ((v_t, It, pr.treated, ("treated", "treated")), (v_c, Ic, pr.control,
                                                                           ("control", "control"))):
        Jk = pr.joint[key]
        pos = Jk > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            R = np.where(pos, (Jk - np.outer(pi, pi)) / np.where(pos, Jk, 1.0), 0.0)
        np.fill_diagonal(R, 0.0)
        var = float(np.sum(I * (1 - pi) * v**2) + v @ R @ v)
        zero = ~pos
        np.fill_diagonal(zero, False)
        a = I * v**2 * pi / 2                               # I_i y_i^2 / (2 pi_i) = v^2 pi / 2
        var += float(a @ zero.sum(1) + zero.sum(0) @ a)
        out.append(var)
    Jtc = pr.joint["treated", "control"]
    pos = Jtc > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        R = np.where(pos, (Jtc - np.outer(pr.treated, pr.control)) / np.where(pos, Jtc, 1.0), 0.0)
    cov = float(v_t @ R @ v_c)
    zero = ~pos                                             # includes i == j
    at, ac = It * v_t**2 * pr.treated / 2, Ic * v_c**2 * pr.control / 2
    cov -= float(at @ zero.sum(1) + zero.sum(0) @ ac)
    return out[0], out[1], cov


@aligns_itself("y", "z")
def bipartite_horvitz_thompson(y: Any, bg: BipartiteGraph, z: Any, probabilities: BipartiteProbabilities, *,
                               estimator: Literal["horvitz-thompson", "hajek"] = "horvitz-thompson",
                               confidence_level: float = 0.95) -> Estimate:
    r"""Global effect on outcome units of treating all versus none of their interventions.

    Parameters
    ----------
    y : array-like or Series
        Outcome of every outcome unit (a Series is matched to ``bg.outcome_ids``).
    bg : BipartiteGraph
    z : array-like or Series
        Assignment of the interventions (a Series is matched to ``bg.intervention_ids``).
    probabilities : BipartiteProbabilities
        From :func:`bipartite_exposure_probabilities` for the design that drew ``z``.
    estimator : {"horvitz-thompson", "hajek"}
    confidence_level : float, default 0.95

    Returns
    -------
    Estimate
        Estimand ``"Y(treated) - Y(control)"``, normal interval.

    Notes
    -----
    **Estimand**: :math:`\frac1N\sum_i [Y_i(\text{all of } i\text{'s interventions treated}) -
    Y_i(\text{none treated})]`, valid when an outcome unit's outcome depends on the assignment only
    through its own interventions' treatments and is the same whenever they are all treated (or
    all untreated). Horvitz-Thompson: :math:`\frac1N\sum_i [I_i(T) y_i/\pi_i(T) - I_i(C) y_i/\pi_i(C)]`,
    unbiased when every :math:`\pi_i(T), \pi_i(C) > 0`; Hajek: the difference of the weighted
    means. Variance: Aronow & Samii (2017) (conservative; Young's bound for pairs never jointly
    observed; for Hajek on the residuals :math:`y_i - \hat\mu(k_i)`), as in
    :func:`~netexp.horvitz_thompson`.

    References
    ----------
    Aronow, P. M., & Samii, C. (2017). Annals of Applied Statistics 11(4), 1912-1947.
    Zigler, C. M., & Papadogeorgou, G. (2021). Bipartite causal inference with interference.
    Statistical Science 36(1), 109-123.
    Harshaw, C., Savje, F., Eisenstat, D., Mirrokni, V., & Pouget-Abadie, J. (2023). Design and
    analysis of bipartite experiments under a linear exposure-response model. Electronic Journal of
    Statistics 17(1), 464-518.
    Brennan, J., Mirrokni, V., & Pouget-Abadie, J. (2022). Cluster randomized designs for one-sided
    bipartite experiments. NeurIPS 2022.

    Examples
    --------
    >>> import numpy as np, netexp as ne
    >>> gen = np.random.default_rng(0)
    >>> buyers, sellers = gen.integers(0, 200, 400), gen.integers(0, 60, 400)
    >>> bg = ne.BipartiteGraph.from_edges(buyers, sellers, outcome_nodes=np.unique(buyers))
    >>> design = ne.Bernoulli(bg.n_intervention, p=0.5)
    >>> pr = ne.bipartite_exposure_probabilities(bg, design)
    >>> z = design.sample(rng=1)
    >>> share = ne.bipartite_exposure(bg, z)["share"].to_numpy()
    >>> y = 1.0 + 2.0 * share + gen.normal(scale=0.1, size=bg.n_outcome)
    >>> e = ne.bipartite_horvitz_thompson(y, bg, z, pr, estimator="hajek")
    >>> round(e.estimate, 2)
    1.99
    """
    level = check_confidence_level(confidence_level)
    estimator = check_option("estimator", estimator, ("horvitz-thompson", "hajek"))
    if isinstance(y, pd.Series):
        idx = pd.Index(bg.outcome_ids)
        if set(y.index) != set(idx) or not y.index.is_unique:
            raise InputError("y is a Series whose index is not the outcome ids; give one outcome per outcome unit.")
        y = y.reindex(idx).to_numpy()
    yv = np.asarray(y, dtype=float)
    if yv.shape != (bg.n_outcome,) or not np.isfinite(yv).all():
        raise InputError(f"y must be {bg.n_outcome} finite outcomes, one per outcome unit; got shape {yv.shape}.")
    lv = bipartite_exposure(bg, z)["level"].to_numpy()
    It, Ic = (lv == "treated").astype(float), (lv == "control").astype(float)
    pt, pc = probabilities.treated, probabilities.control
    if (pt <= 0).any() or (pc <= 0).any():
        bad = int(((pt <= 0) | (pc <= 0)).sum())
        raise EstimationError(f"{bad} outcome units can never be fully treated or fully untreated under this design "
                              "(positivity fails); use a cluster design over the interventions or drop them.")
    N = yv.shape[0]
    wt, wc = It / pt, Ic / pc
    if estimator == "hajek":
        if wt.sum() == 0 or wc.sum() == 0:
            raise EstimationError("no outcome unit is fully treated (or fully untreated) in this assignment; the "
                                  "Hajek means are undefined.")
        mt, mc = wt @ yv / wt.sum(), wc @ yv / wc.sum()
        est = mt - mc
        vt, vc = wt * (yv - mt), wc * (yv - mc)
    else:
        est = (wt @ yv - wc @ yv) / N
        vt, vc = wt * yv, wc * yv
    var_t, var_c, cov = _as_parts(vt, vc, It, Ic, probabilities)
    v = (var_t + var_c - 2 * cov) / N**2
    v = max(v, 0.0)
    return Estimate.from_se(estimand="Y(treated) - Y(control)", estimate=float(est), std_error=float(np.sqrt(v)),
                            n=N, method="bipartite " + ("Hajek" if estimator == "hajek" else "Horvitz-Thompson"),
                            variance="Aronow-Samii (conservative)" + (", linearized" if estimator == "hajek" else ""),
                            confidence_level=level,
                            note=f"outcome units' exposure: treated share of their interventions; {probabilities.method}")
