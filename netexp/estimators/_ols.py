"""Least squares with heteroskedasticity- and cluster-robust covariance matrices.

A numpy sandwich: measured 6x faster than statsmodels on 10^6 rows with 10^4 clusters and
equal to it to 1e-14 (PERFORMANCE.md). The tests compare every covariance type with
statsmodels or with a dense textbook computation.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .._align import aligned
from .._errors import EstimationError, warn
from .._validation import check_option, dense_codes

__all__ = ["OLSFit", "ols", "COVARIANCE_TYPES"]

COVARIANCE_TYPES = ("HC0", "HC1", "HC2", "HC3", "CR0", "CR1", "CR2", "CR3")


@dataclasses.dataclass(frozen=True, eq=False)
class OLSFit:
    params: np.ndarray
    cov: np.ndarray
    df: float
    n: int
    n_clusters: int | None
    cov_type: str
    _cr2: tuple | None = None  # (M, S, B, V, lam) kept for the Bell-McCaffrey df
    _hac: tuple | None = None  # (graph, X M, bandwidth, kernel, df cache) for the network-HAC Satterthwaite df

    def contrast(self, c) -> tuple[float, float]:
        """Estimate and standard error of ``c @ params``.

        Network HAC: the variance is also multiplied by :math:`\\nu / (\\nu - k)`, :math:`\\nu` the contrast's
        Satterthwaite df (:meth:`contrast_df`): the residuals' k fitted coefficients take k of the about
        :math:`\\nu` independent neighbourhoods the variance is estimated from (CR1's G/(G-1) in spirit);
        nan when :math:`\\nu \\le k + 1`.
        """
        c = np.asarray(c, dtype=float)
        v = max(c @ self.cov @ c, 0.0)
        if self._hac is not None:
            nu, k = self.contrast_df(c), self.params.shape[0]
            if nu > k + 1:
                v = v * nu / (nu - k)
            else:
                from .._errors import EstimationWarning

                warn(f"network HAC: the variance of this contrast is estimated from about {nu:.1f} "
                     f"independent neighbourhoods, too few for {k} coefficients; standard error reported "
                     "as nan (a smaller bandwidth or more units).", EstimationWarning)
                v = float("nan")
        return float(c @ self.params), float(np.sqrt(v))

    def contrast_df(self, c) -> float:
        r"""Degrees of freedom for the t reference of ``c @ params``.

        For CR2, the Bell & McCaffrey (2002) Satterthwaite approximation under a homoskedastic
        working model (Imbens & Kolesar 2016): :math:`(\sum \lambda)^2 / \sum \lambda^2` over the
        eigenvalues of :math:`G'G`, column g of G being
        :math:`(I - H)_{\cdot g} (I - H_{gg})^{-1/2} X_g M c`. Computed without n x n matrices:
        :math:`G'G = \mathrm{diag}(d) - P M P'` with :math:`P_g = B_g r_g`,
        :math:`d_g = r_g' B_g r_g`, :math:`r_g = q + S V \mathrm{diag}(f/\lambda) V' S B_g q`,
        :math:`q = M c`. Network HAC: the Satterthwaite df of :func:`netexp.estimators._hac.network_hac_df`.
        Other covariance types: ``self.df``.
        """
        if self._hac is not None:
            from ._hac import network_hac_df

            graph, XM, b, kernel, cache = self._hac
            c = np.asarray(c, dtype=float)
            key = c.tobytes()
            if key not in cache:
                cache[key] = network_hac_df(graph, XM @ c, b, kernel)
            return cache[key]
        if self._cr2 is None:
            return self.df
        M, S, B, V, g = self._cr2
        q = M @ np.asarray(c, dtype=float)
        t = np.einsum("gij,j->gi", B, q)                  # B_g q
        t = np.einsum("ij,gj->gi", S, t)                  # S B_g q
        t = np.einsum("gji,gj->gi", V, t) * g             # diag(f/lambda) V' S B_g q
        t = np.einsum("gij,gj->gi", V, t)
        r = q[None, :] + np.einsum("ij,gj->gi", S, t)     # r_g
        P = np.einsum("gij,gj->gi", B, r)                 # P_g = B_g r_g = X_g' v_g
        d = np.einsum("gi,gi->g", r, P)                   # v_g' v_g
        pmp = np.einsum("gi,ij,gj->g", P, M, P)           # diagonal of P M P'
        Q = P.T @ P
        tr = d.sum() - pmp.sum()
        fro2 = (d**2).sum() - 2 * (d * pmp).sum() + np.trace(M @ Q @ M @ Q)
        return float(tr * tr / fro2) if fro2 > 0 else self.df


def bread(XtX: np.ndarray) -> np.ndarray:
    """``(X'X)^-1``, refusing singular or nearly collinear designs (shared by the in-memory and engine fits)."""
    try:
        M = np.linalg.inv(XtX)
    except np.linalg.LinAlgError:
        raise EstimationError("The regressors are collinear (X'X is singular): e.g. every unit has the same "
                              "treatment or exposure. Check the assignment.") from None
    if np.linalg.cond(XtX) > 1e12:
        raise EstimationError("The regressors are (nearly) collinear; the coefficients are not identified. "
                              "Check that treatment and exposure vary across units.")
    return M


def _sqrt_psd(m):
    w, v = np.linalg.eigh(m)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


@aligned("X", "y", "clusters", "weights")
def ols(X: np.ndarray, y: np.ndarray, *, cov_type: str = "HC1", clusters: np.ndarray | None = None,
        weights: np.ndarray | None = None) -> OLSFit:
    r"""OLS of ``y`` on ``X`` (which must include the intercept column) with a robust covariance.

    Covariance types (:math:`M = (X'X)^{-1}`, residuals :math:`e`, :math:`n` rows, :math:`k`
    columns, :math:`G` clusters):

    - ``HC0``: :math:`M (\sum_i e_i^2 x_i x_i') M`; ``HC1``: HC0 times :math:`n/(n-k)`;
      ``HC2``: :math:`e_i^2/(1-h_{ii})` in place of :math:`e_i^2` (unbiased under homoskedasticity;
      for a regression on a treatment dummy it equals the Neyman variance); ``HC3``:
      :math:`e_i^2/(1-h_{ii})^2` (MacKinnon & White 1985).
    - ``CR0``: :math:`M (\sum_g X_g' e_g e_g' X_g) M`; ``CR1``: CR0 times
      :math:`\frac{G}{G-1}\frac{n-1}{n-k}` (Stata's and statsmodels' convention);
      ``CR2`` (Bell & McCaffrey 2002): :math:`e_g` replaced by :math:`(I - H_{gg})^{-1/2} e_g`,
      computed through the rank-:math:`k` structure of :math:`H_{gg}` so a cluster of
      thousands of units costs :math:`O(n_g k^2)`, not :math:`O(n_g^3)`; ``CR3``: :math:`e_g` replaced by
      :math:`(I - H_{gg})^{-1} e_g` and the sum times :math:`(G-1)/G`, i.e. the leave-one-cluster-out
      jackknife around :math:`\hat\beta` (MacKinnon, Nielsen & Webb 2023), computed by refitting
      without each cluster from cluster cross-product sums.

    Degrees of freedom (``df``): :math:`n-k` for HC types, :math:`G-1` for CR types; for CR2 use
    :meth:`OLSFit.contrast_df`, the Bell-McCaffrey Satterthwaite df of a given contrast.

    ``weights`` (positive, e.g. inverse probabilities) gives weighted least squares: the formulas
    above applied to :math:`\sqrt{w_i} x_i` and :math:`\sqrt{w_i} y_i`, so the scores are
    :math:`x_i w_i e_i` and the leverages those of the weighted design (statsmodels' WLS convention).
    """
    cov_type = check_option("cov_type", cov_type, COVARIANCE_TYPES)
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if weights is not None:
        w = np.asarray(weights, dtype=float)
        if w.shape != y.shape or not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise EstimationError("weights must be one positive finite number per observation.")
        sw = np.sqrt(w)
        X = X * sw[:, None]
        y = y * sw
    n, k = X.shape
    if n <= k:
        raise EstimationError(f"Need more observations than parameters: n={n}, k={k}.")
    XtX = X.T @ X
    M = bread(XtX)
    beta = M @ (X.T @ y)
    e = y - X @ beta
    G = None
    cr2 = None
    if cov_type.startswith("HC"):
        if cov_type in ("HC2", "HC3"):
            h = np.einsum("ij,jk,ik->i", X, M, X)
            w = e**2 / np.clip(1 - h, 1e-12, None) ** (1 if cov_type == "HC2" else 2)
        else:
            w = e**2
        meat = (X * w[:, None]).T @ X
        V = M @ meat @ M
        if cov_type == "HC1":
            V *= n / (n - k)
        df = float(n - k)
    else:
        if clusters is None:
            raise EstimationError(f"{cov_type} needs cluster labels.")
        _, cl = dense_codes(clusters)
        G = int(cl.max()) + 1
        if G < 2:
            raise EstimationError("Cluster-robust variance needs at least 2 clusters.")
        S = X * e[:, None]
        scores = np.stack([np.bincount(cl, weights=S[:, j], minlength=G) for j in range(k)], axis=1)
        cr2 = None
        if cov_type == "CR2":
            scores, cr2 = _cr2_adjust(X, cl, G, M, scores)
        if cov_type == "CR3":  # jackknife: beta - beta_(-g) = M X_g'(I - H_gg)^{-1} e_g, by refitting
            D = _leave_one_cluster_out(X, y, cl, G, beta)
            V = (G - 1) / G * (D.T @ D)
        else:
            meat = scores.T @ scores
            V = M @ meat @ M
        if cov_type == "CR1":
            V *= (G / (G - 1)) * ((n - 1) / (n - k))
        df = float(G - 1)
    V = 0.5 * (V + V.T)
    if float(e @ e) <= 1e-24 * float(y @ y):  # an exact fit: the covariance is 0 to rounding, say so as 0
        V = np.zeros_like(V)                  # (Estimate.from_se turns a zero SE into nan, with a warning)
    return OLSFit(beta, V, df, n, G, cov_type, cr2 if cov_type == "CR2" else None)


def _leave_one_cluster_out(X, y, cl, G, beta):
    """Rows beta - beta_(-g): the fit without cluster g, from cluster cross-product sums (k x k solves)."""
    n, k = X.shape
    XX = np.einsum("ij,il->ijl", X, X).reshape(n, k * k)
    XXg = np.stack([np.bincount(cl, weights=XX[:, q], minlength=G) for q in range(k * k)], axis=1).reshape(G, k, k)
    Xyg = np.stack([np.bincount(cl, weights=X[:, q] * y, minlength=G) for q in range(k)], axis=1)
    A = XXg.sum(0)[None] - XXg
    b = (X.T @ y)[None] - Xyg
    try:
        bg = np.linalg.solve(A, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        raise EstimationError("CR3: dropping one cluster leaves the regressors collinear (e.g. the only treated "
                              "cluster); use CR2.") from None
    return beta[None] - bg


def _cr2_adjust(X, cl, G, M, scores):
    r"""Scores :math:`X_g' (I - H_{gg})^{-1/2} e_g` for every cluster, without n_g x n_g matrices.

    With :math:`S = M^{1/2}`, :math:`B_g = X_g'X_g` and :math:`S B_g S = V \Lambda V'`, the
    nonzero eigenpairs of :math:`H_{gg} = X_g M X_g'` are :math:`\Lambda` and
    :math:`U = X_g S V \Lambda^{-1/2}`, hence
    :math:`X_g'(I-H_{gg})^{-1/2} e_g = s_g + B_g S V \,\mathrm{diag}(f(\lambda)/\lambda)\, V' S s_g`
    with :math:`f(\lambda) = (1-\lambda)^{-1/2} - 1` and :math:`s_g = X_g'e_g`. An eigenvalue of 1
    (a cluster that alone identifies a coefficient) uses the Moore-Penrose inverse square root
    (:math:`f = -1`), as R's clubSandwich and estimatr do.
    """
    n, k = X.shape
    B = np.zeros((G, k, k))
    for a in range(k):
        for b in range(a, k):
            col = np.bincount(cl, weights=X[:, a] * X[:, b], minlength=G)
            B[:, a, b] = col
            B[:, b, a] = col
    return cr2_adjust_blocks(B, M, scores)


def cr2_adjust_blocks(B, M, scores):
    """:func:`_cr2_adjust` from the per-cluster blocks :math:`B_g = X_g'X_g` (computed here, or by an engine)."""
    S = _sqrt_psd(M)
    C = S @ B @ S
    lam, V = np.linalg.eigh(C)
    lam = np.clip(lam, 0.0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(lam >= 1 - 1e-10, -1.0, 1.0 / np.sqrt(np.clip(1 - lam, 1e-300, None)) - 1.0)
        g = np.where(lam > 1e-12, f / np.where(lam > 1e-12, lam, 1.0), 0.0)
    t = np.einsum("ij,gj->gi", S, scores)            # S s_g
    t = np.einsum("gji,gj->gi", V, t)                 # V' S s_g
    t = t * g                                         # diag(f/lambda)
    t = np.einsum("gij,gj->gi", V, t)                 # V ...
    t = np.einsum("ij,gj->gi", S, t)                  # S V ...
    t = np.einsum("gij,gj->gi", B, t)                 # B_g S V ...
    return scores + t, (M, S, B, V, g)
