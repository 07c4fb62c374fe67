r"""Design-based variance of the exposure regression under a cluster design: the scores as a function of the
clusters' draws.

Under a cluster design every regressor of the exposure regression is a linear function of the clusters'
treatment draws :math:`Z_1, \dots, Z_G`: own treatment :math:`z_i = Z_{c(i)}` and the fraction of treated
neighbours :math:`f_i = \sum_g W_{ig} Z_g`, :math:`W_{ig}` the share of unit i's neighbours in cluster g. With
the errors :math:`e_i` of the linear model fixed (the finite-population view: fixed potential outcomes; any
noise independent of the assignment is part of them), the score is linear in the draws,

.. math:: \sum_i x_i e_i = \text{const} + \sum_g Z_g a_g, \qquad
          a_g = \sum_i e_i\, \partial x_i / \partial Z_g = \big(0,\ \textstyle\sum_{i \in g} e_i,\
          \sum_i W_{ig} e_i,\ 0 \dots\big)',

so its variance over the design is :math:`A' \Sigma_Z A` with :math:`\Sigma_Z = \mathrm{Cov}(Z)` from the cluster
design's exact joint probabilities (Bernoulli: :math:`\mathrm{diag}(p_g(1-p_g))`). The variance of a contrast
:math:`c'\hat\beta` is, to first order, that of :math:`c' M \sum_g Z_g a_g` with :math:`M = (X'X)^{-1}`:
:math:`t' \Sigma_Z t` with :math:`t_g = a_g' M c`. Residuals stand in for :math:`e`.

Why not CR2: a cluster's summed score :math:`\sum_{i \in g} x_i e_i` depends on the draws of every cluster
bordering g (through :math:`f_i`), so cluster scores are not independent across clusters; here each score is
attributed to the draw that moves it, and the draws are independent (or have known covariance).
Small-sample: as for the network HAC, the contrast's variance is multiplied by :math:`\nu/(\nu-k)` and the
reference is t on :math:`\nu`, the Satterthwaite df of the quadratic form under independent homoskedastic
errors (:math:`\nu = \mathrm{tr}(\Omega)^2 / \mathrm{tr}(\Omega^2)`,
:math:`\Omega = \Sigma_Z^{1/2} H'(I - P) H \Sigma_Z^{1/2}`, :math:`t = H'e`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._errors import InputError
from ._result import Estimate, EstimateTable

__all__ = ["cluster_draw_estimates", "cluster_draw_cov", "MAX_CLUSTERS"]

#: Most clusters for the dense (G, G) draw covariance.
MAX_CLUSTERS = 5000

VARIANCE_LABEL = "design-based over the cluster draws (linearized; nu/(nu-k), t on the Satterthwaite df nu)"


def _draw_structure(graph, labels: np.ndarray, G: int) -> dict:
    """The design-only pieces for ``labels`` on ``graph``, kept with the graph (as the network HAC's): ``C``, ``W``
    (sparse (n, G): z = C Z, f = W Z) and the dense (G, G) products C'C, C'W, W'W."""
    import hashlib

    cache = graph.__dict__.setdefault("_netexp_draw_cache", {})
    key = (G, hashlib.sha1(np.ascontiguousarray(labels, dtype=np.int64).tobytes()).hexdigest())
    if key not in cache:
        C, W = _draw_matrices(graph, labels, G)
        cache.clear()   # one clustering at a time: a run has one
        cache[key] = {"C": C, "W": W, "CtC": (C.T @ C).toarray(), "CtW": (C.T @ W).toarray(),
                      "WtW": (W.T @ W).toarray()}
    return cache[key]


def _draw_matrices(graph, labels: np.ndarray, G: int):
    """``(C, W)``: sparse (n, G) with z = C Z and f = W Z (the fraction of treated in-neighbours)."""
    n = graph.n_nodes
    C = sp.csr_array((np.ones(n), (np.arange(n), labels)), shape=(n, G))
    indptr, indices = np.asarray(graph.indptr), np.asarray(graph.indices)
    deg = np.diff(indptr).astype(float)
    inv = np.divide(1.0, deg, out=np.zeros_like(deg), where=deg > 0)
    A = sp.csr_array((np.repeat(inv, np.diff(indptr)), indices, indptr), shape=(n, n))
    W = (A @ C).tocsc()
    return C.tocsc(), W


def _score_derivatives(st: dict, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Rows of :math:`a_g = \partial (X'e) / \partial Z_g` for own treatment (:math:`\sum_{i \in g} e_i`) and
    fraction (:math:`\sum_i W_{ig} e_i`); the intercept's (and covariates') are 0."""
    return st["C"].T @ e, st["W"].T @ e


_FIX = "use cov_type='CR2' with clusters= (the randomized clusters' labels)"


def _checked(fit, graph, design) -> tuple[dict, int, np.ndarray]:
    """``(structure, G, Cov(Z))`` once ``design``'s cluster draws are shown to set the fit's regressors; else an
    InputError naming the problem and the fix."""
    from .._errors import DesignError
    from ..designs import ClusterRandomized

    if graph is None:
        raise InputError("cov_type='cluster-draws' needs graph= (the network whose fraction of treated neighbours "
                         "is the regressor) and design= (the cluster design that drew z).")
    if not isinstance(design, ClusterRandomized):
        got = "no design" if design is None else type(design).__name__
        raise InputError("the design-based draw variance (cov_type='cluster-draws') needs design= the cluster design "
                         f"(ClusterRandomized) whose cluster draws set every unit's treatment; got {got}. Under a "
                         "unit design use cov_type='network-HAC' with graph=; under another cluster design "
                         f"{_FIX}.")
    if fit.weighted:
        raise InputError("the design-based draw variance (cov_type='cluster-draws') is for the unweighted exposure "
                         "regression: weights that depend on the assignment move with the draws too. Drop weights= "
                         f"or {_FIX}.")
    labels = np.asarray(design.labels)
    G = int(design.n_clusters)
    if G > MAX_CLUSTERS:
        raise InputError(f"the design-based draw variance forms a ({G}, {G}) covariance of the cluster draws; at "
                         f"most {MAX_CLUSTERS} clusters. Instead {_FIX}.")
    X = fit._X
    n = X.shape[0]
    if graph.n_nodes != n or labels.shape[0] != n:
        raise InputError(f"graph and design must have one node per unit ({n}); got {graph.n_nodes} and "
                         f"{labels.shape[0]}. With outcomes on a subset of the units, {_FIX}.")
    st = _draw_structure(graph, labels, G)
    z, f = X[:, 1], X[:, 2]
    Zc = np.bincount(labels, weights=z, minlength=G) / np.maximum(np.bincount(labels, minlength=G), 1)
    if not (np.array_equal(st["C"] @ Zc, z) and np.allclose(st["W"] @ Zc, f, rtol=0, atol=1e-9)):
        raise InputError("the regression's treatment is not constant within the design's clusters, or its fraction "
                         "is not the fraction of treated neighbours in graph: the draws do not determine the "
                         "regressors as this variance assumes. Pass the graph and design of the experiment, or "
                         f"{_FIX}.")
    cd = design.cluster_design
    try:
        P = np.asarray(cd.joint_probabilities(), dtype=float)
        p = np.asarray(cd.probabilities, dtype=float)
    except DesignError as exc:
        raise InputError(f"the design-based draw variance needs the exact joint probabilities of the cluster-level "
                         f"design ({type(cd).__name__}): {str(exc).rstrip('.')}. Instead {_FIX}.") from None
    return st, G, P - np.outer(p, p)                          # Cov(Z) of the cluster draws


def cluster_draw_cov(fit, graph, design) -> np.ndarray:
    r"""The linearized design covariance of ``fit.params`` over ``design``'s cluster draws,
    :math:`M A' \Sigma_Z A M` (no small-sample factor; :func:`cluster_draw_estimates` applies
    :math:`\nu/(\nu-k)` per contrast). Same refusals as :func:`cluster_draw_estimates`."""
    st, G, Sz = _checked(fit, graph, design)
    X, y = fit._X, fit._y
    M = np.linalg.inv(X.T @ X)
    a1, a2 = _score_derivatives(st, y - X @ fit.params)
    A = np.zeros((G, X.shape[1]))
    A[:, 1], A[:, 2] = a1, a2
    V = M @ (A.T @ Sz @ A) @ M
    return 0.5 * (V + V.T)


def cluster_draw_estimates(fit, graph, design, *, confidence_level: float = 0.95) -> EstimateTable:
    """Direct, spillover and global effects of an exposure regression fit (:func:`exposure_regression_fit`,
    unweighted, fraction = fraction of treated neighbours in ``graph``) with the design-based variance over the
    draws of ``design``'s clusters (module docstring). ``design``: a ClusterRandomized whose cluster-level
    design has exact joint probabilities (Bernoulli, complete randomization, ...). The engine of
    ``exposure_regression(..., cov_type="cluster-draws", graph=, design=)``.

    Refuses (InputError, naming cov_type='CR2' with clusters= as the fix) a design that is not a
    ClusterRandomized, a fit whose own treatment or fraction is not what ``design``'s clusters and ``graph`` give
    (the draw-to-regressor map would be wrong; also outcomes on a subset of the units), a weighted fit (weights
    that depend on the assignment move with the draws too), a cluster-level design without exact joint
    probabilities, and more than ``MAX_CLUSTERS`` clusters.
    """
    st, G, Sz = _checked(fit, graph, design)
    C, W = st["C"], st["W"]
    X, y = fit._X, fit._y
    n = X.shape[0]
    M = np.linalg.inv(X.T @ X)
    e = y - X @ fit.params
    a1, a2 = _score_derivatives(st, e)                        # d score / d Z_g: own-treatment and fraction rows
    CX, WX = C.T @ X, W.T @ X
    k = X.shape[1]
    vals, vecs = np.linalg.eigh(0.5 * (Sz + Sz.T))
    root = (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T  # Sigma_Z^{1/2}
    out = []
    for name, head in (("direct effect", [0, 1, 0]), ("spillover effect", [0, 0, fit.share]),
                       ("global effect", [0, 1, fit.share])):
        c = np.zeros(k)
        c[:3] = head
        u = M @ c
        t = u[1] * a1 + u[2] * a2
        v = float(t @ Sz @ t)
        # Satterthwaite df: t = H'e with H = u1 C + u2 W, e = (I - P) eps, eps iid (working model)
        u1, u2 = u[1], u[2]
        HtH = u1 * u1 * st["CtC"] + u1 * u2 * (st["CtW"] + st["CtW"].T) + u2 * u2 * st["WtW"]   # H = u1 C + u2 W
        Q = u1 * CX + u2 * WX                                 # H'X, (G, k)
        B = HtH - Q @ M @ Q.T                                 # H'(I - P)H
        Om = root @ B @ root
        nu = float(np.trace(Om) ** 2 / np.sum(Om * Om)) if np.sum(Om * Om) > 0 else float("nan")
        note = "model-based point estimate (linear exposure); design-based variance"
        if nu > k + 1:
            se = float(np.sqrt(max(v, 0.0) * nu / (nu - k)))
        else:
            se = float("nan")
            note += (f"; no standard error: the variance rests on about {nu:.1f} independent draws, too few for "
                     f"{k} coefficients")
        out.append(Estimate.from_se(estimand=name, estimate=float(c @ fit.params), std_error=se, n=n, n_clusters=G,
                                    method="exposure regression", variance=VARIANCE_LABEL,
                                    df=nu if np.isfinite(nu) else None, confidence_level=confidence_level, note=note))
    return EstimateTable(out)
