"""The small in-memory statistics after the engine's aggregation: OLS from per-cluster blocks.

Mirrors :func:`netexp.estimators._ols.ols` operation for operation, with the sums over units
replaced by sums the engine computed: :math:`B_g = X_g'X_g` and :math:`X_g'y_g` per cluster (for the
coefficients and CR2's leverage adjustment), then :math:`X_g'e_g` per cluster (CR) or
:math:`\\sum_i e_i^2 x_i x_i'` (HC) in a second pass with the coefficients as literals.
"""

from __future__ import annotations

import numpy as np

from .._errors import EstimationError
from ..estimators._ols import OLSFit, bread, cr2_adjust_blocks


def solve_blocks(XtX: np.ndarray, Xty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(M, beta)`` with the same checks as the in-memory OLS."""
    M = bread(XtX)
    return M, M @ Xty


def fit_hc(M, beta, meat, n, cov_type) -> OLSFit:
    k = beta.shape[0]
    V = M @ meat @ M
    if cov_type == "HC1":
        V *= n / (n - k)
    V = 0.5 * (V + V.T)
    return OLSFit(beta, V, float(n - k), n, None, cov_type, None)


def fit_cr(M, beta, scores, B, n, cov_type) -> OLSFit:
    """CR0/CR1/CR2 from per-cluster score sums ``scores`` (G, k) and blocks ``B`` (G, k, k)."""
    G, k = scores.shape
    if G < 2:
        raise EstimationError("Cluster-robust variance needs at least 2 clusters.")
    cr2 = None
    if cov_type == "CR2":
        scores, cr2 = cr2_adjust_blocks(B, M, scores)
    meat = scores.T @ scores
    V = M @ meat @ M
    if cov_type == "CR1":
        V *= (G / (G - 1)) * ((n - 1) / (n - k))
    V = 0.5 * (V + V.T)
    return OLSFit(beta, V, float(G - 1), n, G, cov_type, cr2)


