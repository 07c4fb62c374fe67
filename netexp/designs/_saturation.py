"""Randomized saturation (two-stage) designs: clusters draw a treatment saturation, then units are
treated within each cluster at that saturation."""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Literal, Sequence

import numpy as np
from numba import njit

from .._errors import DesignError, InputError
from .._validation import check_int, check_option, check_positive, check_probability, check_rng, dense_codes
from ._base import Design

__all__ = ["RandomizedSaturation", "recommend_saturations", "SaturationRecommendation"]

_TOL = 1e-9


# ----------------------------------------------------------------------------- shared helpers
def _cluster_labels(clusters, where):
    """Dense int64 cluster codes of every unit and the number of clusters (at least 2)."""
    from ..clustering import Clustering

    if isinstance(clusters, Clustering):
        labels = np.asarray(clusters.labels).astype(np.int64)
    else:
        raw = np.asarray(clusters)
        if raw.ndim != 1 or raw.size == 0:
            raise InputError(f"{where}: clusters must be a Clustering or a 1-D array with one cluster label per "
                             f"unit; got shape {raw.shape}.")
        labels = dense_codes(raw)[1]
    k = int(labels.max()) + 1
    if k < 2:
        raise DesignError(f"{where}: need at least 2 clusters to randomize; got {k}.")
    labels.flags.writeable = False
    return labels, k


def _split_count(expected):
    """``(floor, fractional part)`` of expected counts: the count is floor + 1 with probability frac."""
    expected = np.asarray(expected, dtype=float)
    lo = np.floor(expected + _TOL).astype(np.int64)
    fr = expected - lo
    fr[np.abs(fr) < _TOL] = 0.0
    return lo, fr


def _random_round(rng, expected):
    """Counts ``floor(x)`` or ``floor(x) + 1`` (the latter with probability ``x - floor(x)``), elementwise."""
    lo, fr = _split_count(expected)
    return lo + (rng.random(lo.shape) < fr)


@njit(cache=True)
def _fill_groups(gen, order, offsets, targets, codes, thresh, rbytes, out):
    """Treat exactly ``targets[r, g]`` units of group g in draw r, every subset of that size equally likely.

    Group g holds units ``order[offsets[g]:offsets[g+1]]``. Units start treated when their random
    byte is below ``thresh[codes[r, g]]`` (a Bernoulli start near the target share, exchangeable
    within the group); the count is then corrected to the target by flipping units chosen
    uniformly at random among the group (rejection on their current state). Every step treats the
    group's units symmetrically, so the final set is a uniformly random subset of the target size.
    """
    n_draws = out.shape[0]
    n_groups = offsets.shape[0] - 1
    for r in range(n_draws):
        row = out[r]
        rb = rbytes[r]
        for g in range(n_groups):
            a = offsets[g]
            m = offsets[g + 1] - a
            target = targets[r, g]
            if target == 0:
                continue
            if target == m:
                for j in range(a, a + m):
                    row[order[j]] = True
                continue
            t = thresh[codes[r, g]]
            c = 0
            for j in range(a, a + m):
                v = rb[j] < t
                row[order[j]] = v
                c += v
            while c > target:
                u = order[a + gen.integers(0, m)]
                if row[u]:
                    row[u] = False
                    c -= 1
            while c < target:
                u = order[a + gen.integers(0, m)]
                if not row[u]:
                    row[u] = True
                    c += 1


def _byte_threshold(share):
    return np.clip(np.round(np.asarray(share, dtype=float) * 256), 0, 256).astype(np.int64)


def _row_chunk(n_units):
    return max(1, 2**24 // max(n_units, 1))


class _GroupSampler:
    """Exact-count draws over fixed groups (units sorted by group once)."""

    def __init__(self, labels, n_groups):
        sizes = np.bincount(labels, minlength=n_groups)
        self.order = np.argsort(labels, kind="stable").astype(np.int64)
        self.offsets = np.zeros(n_groups + 1, dtype=np.int64)
        np.cumsum(sizes, out=self.offsets[1:])
        self.sizes = sizes

    def draw(self, rng, targets, codes, thresh, n_units):
        n_draws = targets.shape[0]
        out = np.zeros((n_draws, n_units), dtype=bool)
        chunk = _row_chunk(n_units)
        for start in range(0, n_draws, chunk):
            stop = min(n_draws, start + chunk)
            rbytes = np.frombuffer(rng.bytes((stop - start) * n_units), dtype=np.uint8).reshape(stop - start, n_units)
            _fill_groups(rng, self.order, self.offsets, targets[start:stop], codes[start:stop], thresh, rbytes,
                         out[start:stop])
        return out


# ----------------------------------------------------------------------------- the design
class RandomizedSaturation(Design):
    """Two-stage randomized saturation design (Hudgens & Halloran 2008; Baird et al. 2018).

    **Stage 1.** Every cluster receives a saturation :math:`s` from ``saturations`` (0 = pure
    control cluster), cluster ``c`` getting level :math:`s_l` with probability ``share_l``.
    **Stage 2.** Within a cluster at saturation :math:`s`, units are treated at share :math:`s`.
    Comparing untreated units across saturations measures spillovers; treated units in treated
    clusters against pure controls measure the total effect (Baird et al.'s ITT / TUT / SNT).

    Parameters
    ----------
    clusters : Clustering or array-like
        The cluster of every unit.
    saturations : sequence of float in [0, 1], default (0.0, 0.5, 1.0)
        Distinct saturation levels, at least one positive.
    shares : sequence of float, optional
        Probability that a cluster receives each level, in the order of ``saturations``
        (positive, summing to 1). Default: equal shares.
    within : {"complete", "fixed", "bernoulli"}
        ``"complete"``: a cluster of :math:`n_c` units at saturation :math:`s` treats
        :math:`\\lfloor s n_c \\rfloor` units, plus one more with probability equal to the
        fractional part :math:`s n_c - \\lfloor s n_c \\rfloor`, every subset of that size equally
        likely (so :math:`P(Z_i=1 \\mid s) = s` exactly, like ``Complete``'s ``extra="random"``).
        ``"fixed"``: exactly :math:`\\text{round}(s n_c)` units (halves rounded up), every subset
        of that size equally likely; then :math:`P(Z_i=1 \\mid s) = \\text{round}(s n_c)/n_c`,
        stated exactly by :meth:`unit_probability_given_saturation`. The count is fixed, which
        the Hudgens-Halloran two-stage estimators need to be unbiased.
        ``"bernoulli"``: each unit independently with probability :math:`s`.
    stage1 : {"complete", "bernoulli"}
        ``"complete"``: level ``l`` goes to :math:`\\lfloor K\\,\\text{share}_l \\rfloor` of the
        :math:`K` clusters; the :math:`L = K - \\sum_l \\lfloor K\\,\\text{share}_l \\rfloor`
        leftover clusters take one level each, level ``l`` being among them with probability equal
        to its fractional part :math:`f_l` (systematic sampling on the cumulated :math:`f_l` with
        one uniform start, which selects exactly ``L`` distinct levels); the resulting multiset of
        levels is then assigned to clusters by a uniformly random permutation. Each cluster
        therefore receives level ``l`` with probability exactly :math:`\\text{share}_l`.
        ``"bernoulli"``: clusters draw their levels independently with probabilities ``shares``.

    Notes
    -----
    With :math:`\\pi_l` the share of level :math:`s_l`:
    :math:`P(Z_i = 1 \\mid S_{c(i)} = s_l) = s_l` and :math:`P(Z_i = 1) = \\sum_l \\pi_l s_l`.
    For :math:`i \\ne j` in the same cluster :math:`c` of size :math:`n`,
    :math:`P(Z_i Z_j = 1) = \\sum_l \\pi_l\\, \\rho_{lc}` with :math:`\\rho_{lc} = s_l^2` (Bernoulli)
    or :math:`E[T(T-1)]/(n(n-1))` over the count :math:`T \\in \\{\\lfloor s_l n \\rfloor,
    \\lfloor s_l n \\rfloor + 1\\}` (complete). For units of different clusters
    :math:`P(Z_i Z_j = 1) = \\sum_{l,m} P(S_a = s_l, S_b = s_m)\\, s_l s_m` with
    :math:`P(S_a = s_l, S_b = s_m) = \\pi_l \\pi_m` (Bernoulli stage 1) or
    :math:`(E[N_l N_m] - 1[l=m] E[N_l]) / (K(K-1))` for the level counts :math:`N` of the
    complete stage 1 (their distribution is exact: finitely many systematic-sampling outcomes).

    References
    ----------
    Hudgens, M. G., & Halloran, M. E. (2008). Toward causal inference with interference.
    Journal of the American Statistical Association 103(482), 832-842.
    Baird, S., Bohren, J. A., McIntosh, C., & Özler, B. (2018). Optimal design of experiments in
    the presence of interference. Review of Economics and Statistics 100(5), 844-860.

    Examples
    --------
    >>> from netexp.designs import RandomizedSaturation
    >>> d = RandomizedSaturation([0] * 4 + [1] * 4 + [2] * 4, saturations=(0.0, 0.5, 1.0))
    >>> Z, S = d.sample_with_saturations(1, rng=0)
    >>> [d.saturation_levels[s] for s in S[0]], Z[0].astype(int).tolist()
    ([1.0, 0.0, 0.5], [1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0])
    >>> round(float(d.probabilities[0]), 6)
    0.5
    """

    def __init__(self, clusters, saturations: Sequence[float] = (0.0, 0.5, 1.0), shares: Sequence[float] | None = None,
                 *, within: Literal["complete", "fixed", "bernoulli"] = "complete",
                 stage1: Literal["complete", "bernoulli"] = "complete"):
        where = "RandomizedSaturation"
        labels, K = _cluster_labels(clusters, where)
        within = check_option(f"{where}: within", within, ("complete", "fixed", "bernoulli"))
        stage1 = check_option(f"{where}: stage1", stage1, ("complete", "bernoulli"))
        sat = np.asarray(saturations, dtype=float).ravel()
        if sat.size == 0:
            raise DesignError(f"{where}: saturations is empty; give levels in [0, 1] such as (0.0, 0.5, 1.0).")
        for s in sat:
            check_probability(f"{where}: each saturation", float(s), open_interval=False)
        if np.unique(sat).size != sat.size:
            raise DesignError(f"{where}: saturations must be distinct; got {sat.tolist()}.")
        if not (sat > 0).any():
            raise DesignError(f"{where}: every saturation is 0, so nobody is ever treated; add a positive level.")
        if shares is None:
            sh = np.full(sat.size, 1.0 / sat.size)
        else:
            sh = np.asarray(shares, dtype=float).ravel()
            if sh.shape != sat.shape:
                raise DesignError(f"{where}: shares must give one probability per saturation ({sat.size}); "
                                  f"got {sh.size}.")
            if not np.isfinite(sh).all() or (sh <= 0).any() or abs(sh.sum() - 1) > 1e-8:
                raise DesignError(f"{where}: shares must be positive and sum to 1; got {sh.tolist()} "
                                  f"(sum {sh.sum():.6g}). Drop a level rather than giving it share 0.")
            sh = sh / sh.sum()
        order = np.argsort(sat)
        levels, sh = sat[order], sh[order]
        sizes = np.bincount(labels, minlength=K)
        # stage 2 counts per (level, cluster)
        lo2, fr2 = _split_count(levels[:, None] * sizes[None, :])
        if within == "fixed":  # round half up, no randomness: a fixed count per (level, cluster)
            lo2 = np.floor(levels[:, None] * sizes[None, :] + 0.5 + _TOL).astype(np.int64)
            fr2 = np.zeros_like(fr2)
        # stage 1 plan
        lo1, fr1 = _split_count(K * sh)
        n_left = int(K - lo1.sum())
        cum = np.concatenate([[0.0], np.cumsum(fr1)])
        if n_left > 0:
            cum *= n_left / cum[-1]
            cum[-1] = n_left
        arrays = dict(_labels=labels, _levels=levels, _shares=sh, _sizes=sizes, _lo2=lo2, _fr2=fr2, _lo1=lo1,
                      _fr1=fr1, _cum1=cum)
        for name, arr in arrays.items():
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)
        self._K = K
        self._n_left = n_left
        self._within = within
        self._stage1 = stage1
        self._sampler = _GroupSampler(labels, K)
        self._freeze()

    # ------------------------------------------------------------------ attributes
    @property
    def n_units(self) -> int:
        return int(self._labels.shape[0])

    @property
    def labels(self) -> np.ndarray:
        """Cluster code of every unit (int64, read-only)."""
        return self._labels

    @property
    def n_clusters(self) -> int:
        return self._K

    @property
    def saturation_levels(self) -> tuple:
        """The saturation levels, sorted increasingly."""
        return tuple(float(s) for s in self._levels)

    @property
    def cluster_shares(self) -> tuple:
        """Probability that a cluster receives each level (aligned with ``saturation_levels``)."""
        return tuple(float(s) for s in self._shares)

    @property
    def within(self) -> str:
        return self._within

    @property
    def stage1(self) -> str:
        return self._stage1

    @property
    def cluster_sizes(self) -> np.ndarray:
        return self._sizes

    # ------------------------------------------------------------------ sampling
    def sample_saturations(self, n_draws: int, *, rng=None) -> np.ndarray:
        """Stage-1 draws: int codes into ``saturation_levels``, shape ``(n_draws, n_clusters)``."""
        n_draws = check_int("n_draws", n_draws, low=1)
        return self._draw_levels(n_draws, check_rng(rng))

    def sample_with_saturations(self, n_draws: int, *, rng=None) -> tuple[np.ndarray, np.ndarray]:
        """Assignments and the saturation codes they were drawn under: ``(Z, S)``.

        ``Z`` is bool ``(n_draws, n_units)``, ``S`` int ``(n_draws, n_clusters)``; the same ``rng``
        gives the same ``Z`` as ``sample_many``.
        """
        n_draws = check_int("n_draws", n_draws, low=1)
        return self._draw(n_draws, check_rng(rng))

    def _draw_levels(self, n_draws, rng):
        K, L = self._K, self._levels.shape[0]
        if self._stage1 == "bernoulli":
            cum = np.cumsum(self._shares)
            cum[-1] = 1.0
            return np.searchsorted(cum, rng.random((n_draws, K)), side="right").astype(np.int64)
        fixed = np.repeat(np.arange(L, dtype=np.int64), self._lo1)
        S = np.empty((n_draws, K), dtype=np.int64)
        S[:, :fixed.shape[0]] = fixed
        if self._n_left:
            u = rng.random(n_draws)
            pts = u[:, None] + np.arange(self._n_left)[None, :]
            S[:, fixed.shape[0]:] = np.searchsorted(self._cum1, pts, side="right") - 1
        return rng.permuted(S, axis=1)

    def _draw(self, n_draws, rng):
        S = self._draw_levels(n_draws, rng)
        n = self.n_units
        cidx = np.arange(self._K)[None, :]
        if self._within in ("complete", "fixed"):
            targets = self._lo2[S, cidx] + (rng.random(S.shape) < self._fr2[S, cidx])
        else:
            # independent Bernoulli(s) units = a Binomial(n_c, s) count, then a uniformly random
            # subset of that size (exact, and one binomial per cluster instead of a float per unit)
            targets = rng.binomial(self._sizes[None, :], self._levels[S]).astype(np.int64)
        Z = self._sampler.draw(rng, targets, S, _byte_threshold(self._levels), n)
        return Z, S

    def _sample_many(self, n_draws, rng):
        return self._draw(n_draws, rng)[0]

    # ------------------------------------------------------------------ probabilities
    def unit_probability_given_saturation(self) -> np.ndarray:
        """``P(Z_i = 1 | S_{c(i)} = s_l)``, shape ``(n_units, n_levels)`` (equal to ``s_l`` exactly)."""
        if self._within in ("complete", "fixed"):
            per = (self._lo2 + self._fr2) / np.maximum(self._sizes, 1)[None, :]
            out = per.T[self._labels]
        else:
            out = np.tile(self._levels, (self.n_units, 1))
        out.flags.writeable = False
        return out

    def _probabilities(self):
        return self.unit_probability_given_saturation() @ self._shares

    def _count_distribution(self):
        """Stage-1 level counts ``N`` with their probabilities (complete stage 1): list of (N, prob)."""
        if self._n_left == 0:
            return [(self._lo1.copy(), 1.0)]
        brk = np.unique(np.concatenate([[0.0, 1.0], np.mod(self._cum1, 1.0)]))
        out = {}
        for a, b in zip(brk[:-1], brk[1:]):
            if b - a <= 0:
                continue
            u = 0.5 * (a + b)
            sel = np.searchsorted(self._cum1, u + np.arange(self._n_left), side="right") - 1
            N = self._lo1 + np.bincount(sel, minlength=self._lo1.shape[0])
            key = tuple(N.tolist())
            out[key] = out.get(key, 0.0) + (b - a)
        return [(np.array(k), w) for k, w in out.items()]

    def _pair_level_probabilities(self):
        """``P(S_a = s_l, S_b = s_m)`` for two distinct clusters, shape ``(L, L)``."""
        if self._stage1 == "bernoulli":
            return np.outer(self._shares, self._shares)
        K = self._K
        M = np.zeros((self._levels.shape[0],) * 2)
        for N, w in self._count_distribution():
            M += w * (np.outer(N, N) - np.diag(N))
        return M / (K * (K - 1))

    def _within_pair(self):
        """``P(Z_i Z_j = 1 | level l)`` for two distinct units of cluster c, shape ``(L, K)``."""
        if self._within == "bernoulli":
            return np.repeat((self._levels**2)[:, None], self._K, axis=1)
        n = self._sizes.astype(float)[None, :]
        lo, fr = self._lo2.astype(float), self._fr2
        ekk = (1 - fr) * lo * (lo - 1) + fr * (lo + 1) * lo
        return np.where(n > 1, ekk / np.maximum(n * (n - 1), 1), 0.0)

    def _joint_probabilities(self):
        c = self._labels
        P = self.unit_probability_given_saturation()
        PL = self._pair_level_probabilities()
        J = P @ PL @ P.T
        same = c[:, None] == c[None, :]
        wp = self._shares @ self._within_pair()  # (K,)
        J[same] = wp[c][np.nonzero(same)[0]]
        np.fill_diagonal(J, self.probabilities)
        return J

    def _pmf(self, z):
        L, K = self._levels.shape[0], self._K
        if L**K > 2**16:
            raise DesignError("RandomizedSaturation: too many saturation patterns to enumerate.")
        counts = {tuple(N.tolist()): w for N, w in self._count_distribution()} if self._stage1 == "complete" else None
        zc = [z[self._labels == c] for c in range(K)]
        total = 0.0
        for v in itertools.product(range(L), repeat=K):
            v = np.array(v)
            N = np.bincount(v, minlength=L)
            if counts is not None:
                pv = counts.get(tuple(N.tolist()), 0.0)
                if pv == 0:
                    continue
                pv /= math.factorial(K) / np.prod([math.factorial(int(x)) for x in N])
            else:
                pv = float(np.prod(self._shares[v]))
            for c in range(K):
                k, m, s = int(zc[c].sum()), int(self._sizes[c]), self._levels[v[c]]
                if self._within == "bernoulli":
                    pv *= s**k * (1 - s) ** (m - k)
                else:
                    lo, fr = int(self._lo2[v[c], c]), float(self._fr2[v[c], c])
                    pk = (1 - fr) if k == lo else (fr if k == lo + 1 else 0.0)
                    pv *= pk / math.comb(m, k)
                if pv == 0:
                    break
            total += pv
        return total

    # ------------------------------------------------------------------ description
    def summary(self) -> dict:
        """Levels, shares, expected clusters per level and the expected numbers treated."""
        exp_clusters = (self._K * self._shares).tolist()
        return {"design": "RandomizedSaturation", "n_units": self.n_units, "n_clusters": self._K,
                "saturation_levels": list(self.saturation_levels), "cluster_shares": list(self.cluster_shares),
                "expected_clusters_per_level": exp_clusters, "within": self._within, "stage1": self._stage1,
                "expected_treated": float(self.probabilities.sum()),
                "expected_pure_control_units": float(self.n_units * self._shares[self._levels == 0].sum())}

    def declaration(self) -> dict:
        """JSON-able type and parameters (the cluster labels are data, stored with the assignment)."""
        return {"type": "RandomizedSaturation", "n_units": self.n_units, "n_clusters": self._K,
                "saturations": list(self.saturation_levels), "shares": list(self.cluster_shares),
                "within": self._within, "stage1": self._stage1}

    def _repr_params(self):
        return {"n_units": self.n_units, "n_clusters": self._K, "saturations": self.saturation_levels,
                "shares": tuple(round(s, 6) for s in self.cluster_shares), "within": self._within,
                "stage1": self._stage1}


# ----------------------------------------------------------------------------- choosing saturations
@dataclasses.dataclass(frozen=True)
class SaturationRecommendation:
    """Recommended saturation levels and cluster shares for pooled treatment and spillover effects."""

    saturations: tuple
    shares: tuple
    control_share: float
    treated_saturation: float
    n_control_clusters: int
    variance_treatment: float
    variance_spillover: float
    mde_treatment: float
    mde_spillover: float
    icc: float
    n_clusters: int
    cluster_size: float

    def design(self, clusters, **kw) -> RandomizedSaturation:
        """The :class:`RandomizedSaturation` with these levels and shares over ``clusters``."""
        return RandomizedSaturation(clusters, self.saturations, self.shares, **kw)


def _pooled_variances(icc, n_clusters, cluster_size, control_share, saturation):
    """Variances (in units of the outcome's total variance) of the pooled treatment and spillover contrasts."""
    tau2, sig2 = icc, 1.0 - icc
    K, n, psi, pi = n_clusters, cluster_size, control_share, saturation
    ctrl = (tau2 + sig2 / n) / (psi * K)
    v_t = (tau2 + sig2 / (pi * n)) / ((1 - psi) * K) + ctrl
    v_s = (tau2 + sig2 / ((1 - pi) * n)) / ((1 - psi) * K) + ctrl
    return v_t, v_s


def recommend_saturations(icc: float, *, n_clusters: int, cluster_size: float, weights: Sequence[float] = (1.0, 1.0),
                          alpha: float = 0.05, power: float = 0.8) -> SaturationRecommendation:
    """Saturation and share of pure-control clusters minimizing the variance of pooled effects.

    For a design with a share :math:`\\psi` of pure-control clusters and one saturation
    :math:`\\pi` in the others, returns the :math:`(\\psi, \\pi)` minimizing the weighted sum of the
    variances of the pooled treatment effect (treated units in treated clusters vs pure
    controls; Baird et al.'s TUT) and the pooled spillover effect (untreated units in treated
    clusters vs pure controls; their SNT).

    Parameters
    ----------
    icc : float in [0, 1)
        Intra-cluster correlation of the outcome, :math:`\\rho = \\tau^2 / (\\tau^2 + \\sigma^2)`.
    n_clusters : int
        Number of clusters :math:`K` (at least 2).
    cluster_size : float
        Units per cluster :math:`n` (at least 2; a typical size when sizes vary).
    weights : (float, float)
        Weights :math:`(w_T, w_S)` of the treatment and spillover variances in the objective.
    alpha, power : float
        Two-sided test level and power for the minimum detectable effects reported.

    Returns
    -------
    SaturationRecommendation
        ``saturations = (0.0, pi)``, ``shares = (psi, 1 - psi)``, the variances and minimum
        detectable effects (in standard deviations of the outcome); ``.design(clusters)`` builds
        the :class:`RandomizedSaturation`.

    Notes
    -----
    **This is a derivation**, in the random-effects model Baird et al. (2018) use
    (:math:`Y_{ic} = \\beta' x_{ic} + c_c + e_{ic}`, :math:`\\operatorname{var} c = \\tau^2`,
    :math:`\\operatorname{var} e = \\sigma^2`, :math:`\\tau^2 + \\sigma^2 = 1`,
    :math:`\\rho = \\tau^2`), not a transcription of their theorems. With equal cluster sizes,
    a group mean over :math:`k` clusters with :math:`m` units each has variance
    :math:`(\\tau^2 + \\sigma^2/m)/k`, so

    .. math::
        V_T = \\frac{\\tau^2 + \\sigma^2/(\\pi n)}{(1-\\psi)K} + \\frac{\\tau^2 + \\sigma^2/n}{\\psi K},\\qquad
        V_S = \\frac{\\tau^2 + \\sigma^2/((1-\\pi) n)}{(1-\\psi)K} + \\frac{\\tau^2 + \\sigma^2/n}{\\psi K}.

    Minimizing :math:`w_T V_T + w_S V_S` over :math:`\\pi` (only the first terms depend on it)
    gives :math:`w_T/\\pi^2 = w_S/(1-\\pi)^2`, i.e.

    .. math:: \\pi^* = \\frac{\\sqrt{w_T}}{\\sqrt{w_T} + \\sqrt{w_S}},

    independent of :math:`\\rho`. Writing the objective as :math:`A/(1-\\psi) + B/\\psi` with
    :math:`A = (w_T + w_S)\\tau^2 + (\\sigma^2/n)(w_T/\\pi^* + w_S/(1-\\pi^*))` and
    :math:`B = (w_T + w_S)(\\tau^2 + \\sigma^2/n)`, the optimum is

    .. math:: \\psi^* = \\frac{\\sqrt{B}}{\\sqrt{A} + \\sqrt{B}}.

    With equal weights, :math:`\\psi^*` rises from :math:`1/(1+\\sqrt2) \\approx 0.414` at
    :math:`\\rho = 0` towards 1/2 as :math:`\\rho \\to 1`: when outcomes are strongly clustered, the
    pure-control arm needs as many clusters as the treated arm, while with little clustering it
    can be smaller because each treated cluster splits its units between the two contrasts.
    This agrees with Baird et al.'s qualitative result that the optimal pure-control share grows
    with the ICC, and that saturation variation (more than one positive level) buys slope
    (dose-response) estimates at the cost of power for the pooled effects considered here. The
    minimum detectable effect is :math:`(z_{1-\\alpha/2} + z_{\\text{power}})\\sqrt{V}`.

    References
    ----------
    Baird, S., Bohren, J. A., McIntosh, C., & Özler, B. (2018). Optimal design of experiments in
    the presence of interference. Review of Economics and Statistics 100(5), 844-860.

    Examples
    --------
    >>> from netexp.designs import recommend_saturations
    >>> r = recommend_saturations(0.0, n_clusters=100, cluster_size=20)
    >>> r.saturations, round(r.control_share, 4)
    ((0.0, 0.5), 0.4142)
    """
    from scipy import stats  # lazy: scipy.stats takes ~0.4 s to import
    rho = float(icc)
    if not (0.0 <= rho < 1.0) or not np.isfinite(rho):
        raise InputError(f"recommend_saturations: icc must be in [0, 1); got {icc!r}.")
    K = check_int("recommend_saturations: n_clusters", n_clusters, low=2)
    n = check_positive("recommend_saturations: cluster_size", cluster_size)
    if n < 2:
        raise InputError(f"recommend_saturations: cluster_size must be at least 2 (treated and untreated units "
                         f"per cluster); got {cluster_size!r}.")
    w = np.asarray(weights, dtype=float)
    if w.shape != (2,) or not np.isfinite(w).all() or (w <= 0).any():
        raise InputError(f"recommend_saturations: weights must be two positive numbers (treatment, spillover); "
                         f"got {weights!r}.")
    alpha = check_probability("recommend_saturations: alpha", alpha)
    power = check_probability("recommend_saturations: power", power)
    wt, ws = w
    tau2, sig2 = rho, 1.0 - rho
    pi = math.sqrt(wt) / (math.sqrt(wt) + math.sqrt(ws))
    A = (wt + ws) * tau2 + sig2 / n * (wt / pi + ws / (1 - pi))
    B = (wt + ws) * (tau2 + sig2 / n)
    psi = math.sqrt(B) / (math.sqrt(A) + math.sqrt(B))
    v_t, v_s = _pooled_variances(rho, K, n, psi, pi)
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return SaturationRecommendation(saturations=(0.0, pi), shares=(psi, 1 - psi), control_share=psi,
                                    treated_saturation=pi, n_control_clusters=int(round(psi * K)),
                                    variance_treatment=float(v_t), variance_spillover=float(v_s),
                                    mde_treatment=float(z * math.sqrt(v_t)), mde_spillover=float(z * math.sqrt(v_s)),
                                    icc=rho, n_clusters=K, cluster_size=float(n))
