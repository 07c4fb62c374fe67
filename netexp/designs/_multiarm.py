"""Designs with k arms: complete (``m_each`` / ``prob_each``), Bernoulli (``prob_each``) and cluster versions.

The boolean designs stay as they are; a k-arm design returns integer arm codes ``0..k-1`` and
exact per-arm probabilities ``(n_units, k)`` and pairwise joints. Arm names follow randomizr's
convention by default (``T1``, ``T2``, ...).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import itertools
from math import factorial
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .._errors import DesignError, InputError
from .._validation import check_int, check_rng, dense_codes

__all__ = ["MultiArmDesign", "MultiArmComplete", "MultiArmBernoulli", "MultiArmCluster", "MultiArmSubset", "arm_codes"]

_MAX_ENUMERATE = 2**20


def _arm_names(arms, k) -> tuple:
    if arms is None:
        return tuple(f"T{a + 1}" for a in range(k))
    arms = tuple(arms)
    if len(arms) != k:
        raise DesignError(f"arms must name each of the {k} arms; got {len(arms)} names ({list(arms)}).")
    if len(set(arms)) != k:
        raise DesignError(f"arms must be distinct; got {list(arms)}.")
    return arms


def _prob_each(prob_each, where) -> np.ndarray:
    p = np.asarray(prob_each, dtype=float)
    if p.ndim != 1 or p.shape[0] < 2:
        raise DesignError(f"{where}: prob_each must give a probability for each of at least 2 arms; got {prob_each!r}.")
    if not np.isfinite(p).all() or (p < 0).any() or abs(p.sum() - 1) > 1e-9:
        raise DesignError(f"{where}: prob_each must be non-negative and sum to 1; got {p.tolist()} (sum {p.sum():g}).")
    return p / p.sum()


def arm_codes(z: Any, arms: Sequence | None = None) -> tuple[np.ndarray, tuple]:
    """``(codes 0..k-1, arm names)`` from arm labels or integer codes.

    ``arms`` gives the names in order (a :class:`~netexp.MultiArmDesign`'s ``arms`` for codes it
    drew); without it the sorted distinct values of ``z`` are the arms.
    """
    zz = np.asarray(z)
    if zz.ndim != 1:
        raise InputError(f"z must be one assignment vector (1-D arm labels or codes); got shape {zz.shape}.")
    if pd.isna(pd.Series(zz)).any():
        raise InputError("z has missing arm labels; give every unit an arm.")
    if arms is None:
        names, codes = np.unique(zz, return_inverse=True)
        return codes.astype(np.int64), tuple(names.tolist())
    arms = tuple(arms)
    lookup = {a: i for i, a in enumerate(arms)}
    vals = pd.Series(zz)
    if vals.isin(arms).all():
        return vals.map(lookup).to_numpy(dtype=np.int64), arms
    if zz.dtype.kind in "iu" and zz.size and zz.min() >= 0 and zz.max() < len(arms):
        return zz.astype(np.int64), arms
    bad = sorted(set(vals[~vals.isin(arms)].tolist()), key=str)[:5]
    raise InputError(f"z has values that are not arms {list(arms)} (nor codes 0..{len(arms) - 1}): {bad}.")



class MultiArmDesign(ABC):
    """Base of the k-arm designs: a declared distribution over vectors of arm codes ``0..k-1``.

    Subclasses implement ``_sample_many(n_draws, rng) -> int array (n_draws, n_units)``,
    ``_probabilities() -> (n_units, k)``, ``_joint(a, b) -> (n_units, n_units)`` and ``_pmf(z)``.
    """

    arms: tuple

    @property
    @abstractmethod
    def n_units(self) -> int:
        """Number of units the design assigns."""

    @property
    def n_arms(self) -> int:
        return len(self.arms)

    def sample(self, *, rng=None) -> np.ndarray:
        """One assignment: arm code of every unit, shape ``(n_units,)``."""
        return self.sample_many(1, rng=rng)[0]

    def sample_many(self, n_draws: int, *, rng=None) -> np.ndarray:
        """``n_draws`` independent assignments, int8 codes of shape ``(n_draws, n_units)``."""
        n_draws = check_int("n_draws", n_draws, low=1)
        return self._sample_many(n_draws, check_rng(rng)).astype(np.int8, copy=False)

    def labels(self, z: Any) -> np.ndarray:
        """Arm names of codes ``z`` (any shape)."""
        return np.asarray(self.arms, dtype=object)[np.asarray(z)]

    @property
    def probabilities(self) -> np.ndarray:
        """Exact ``P(Z_i = a)``, shape ``(n_units, n_arms)``, columns in the order of ``arms``."""
        p = np.asarray(self._probabilities(), dtype=float)
        p.flags.writeable = False
        return p

    def joint_probabilities(self, a: Any, b: Any) -> np.ndarray:
        """Exact ``P(Z_i = a, Z_j = b)`` for every pair of units, shape ``(n_units, n_units)``.

        ``a`` and ``b`` are arm names or codes. The diagonal is ``P(Z_i = a)`` when ``a == b`` and 0
        otherwise.
        """
        ia, ib = self.arm_code(a), self.arm_code(b)
        J = np.array(self._joint(ia, ib), dtype=float)
        np.fill_diagonal(J, self.probabilities[:, ia] if ia == ib else 0.0)
        return J

    def arm_code(self, arm: Any) -> int:
        if arm in self.arms:
            return self.arms.index(arm)
        if isinstance(arm, (int, np.integer)) and 0 <= int(arm) < self.n_arms:
            return int(arm)
        raise InputError(f"unknown arm {arm!r}; arms are {list(self.arms)}.")

    def enumerate(self) -> tuple[np.ndarray, np.ndarray]:
        """Every assignment with positive probability and its probability (tiny designs only)."""
        n, k = self.n_units, self.n_arms
        if k**n > _MAX_ENUMERATE:
            raise DesignError(f"{type(self).__name__}: cannot enumerate {k}^{n} assignments; enumeration is for "
                              "tiny designs.")
        Z = np.array(list(itertools.product(range(k), repeat=n)), dtype=np.int8).reshape(-1, n)
        w = np.array([self._pmf(z) for z in Z])
        keep = w > 0
        return Z[keep], w[keep]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_units={self.n_units}, arms={list(self.arms)})"


class _UnitArms(MultiArmDesign):
    """k-arm designs over units: ``_n`` units, each in arm ``l`` with probability ``_p[l]``."""

    _n: int
    _p: np.ndarray

    @property
    def n_units(self) -> int:
        return self._n

    @property
    def prob_each(self) -> np.ndarray:
        """Probability of each arm, the same for every unit."""
        return self._p.copy()


class MultiArmComplete(_UnitArms):
    r"""Complete random assignment to k arms: fixed arm sizes (randomizr's ``complete_ra``).

    Parameters
    ----------
    n_units : int
    m_each : sequence of int, optional
        Units in each arm; must sum to ``n_units``.
    prob_each : sequence of float, optional
        Share of each arm (sums to 1). ``floor(n * prob_each)`` units go to each arm and the
        ``r`` remaining units are assigned by simple random assignment with second-stage
        probabilities :math:`(n p_a - \lfloor n p_a \rfloor)/r`, so every unit's probability is
        exactly ``prob_each`` (randomizr's documented procedure).
    num_arms : int, optional
        Equal shares ``1/num_arms`` (default 2 arms when nothing is given).
    arms : sequence of str, optional
        Arm names; default ``T1, ..., Tk``.

    Notes
    -----
    With arm sizes :math:`m` (fixed, or :math:`m = f + X` with :math:`X \sim
    \mathrm{Multinomial}(r, q)` for the remaining units), and the units then allocated uniformly,
    :math:`P(Z_i=a) = E[m_a]/n` and, for :math:`i \ne j`,
    :math:`P(Z_i=a, Z_j=b) = E[m_a(m_b - 1[a=b])]/(n(n-1))`, computed from the multinomial moments
    :math:`E X_a = r q_a`, :math:`\mathrm{Var} X_a = r q_a(1-q_a)`,
    :math:`\mathrm{Cov}(X_a, X_b) = -r q_a q_b`.

    Examples
    --------
    >>> import netexp as ne
    >>> d = ne.MultiArmComplete(10, prob_each=(0.2, 0.3, 0.5), arms=("control", "a", "b"))
    >>> d.sample(rng=0).tolist()
    [2, 2, 1, 1, 0, 2, 0, 1, 2, 2]
    >>> d.probabilities[0].round(3).tolist()
    [0.2, 0.3, 0.5]
    """

    def __init__(self, n_units: int, *, m_each: Sequence[int] | None = None, prob_each: Sequence[float] | None = None,
                 num_arms: int | None = None, arms: Sequence[str] | None = None):
        where = "MultiArmComplete"
        n = check_int(f"{where}: n_units", n_units, low=2)
        given = sum(x is not None for x in (m_each, prob_each, num_arms))
        if given > 1:
            raise DesignError(f"{where}: give one of m_each, prob_each, num_arms; got {given}.")
        if m_each is not None:
            m = np.asarray(m_each)
            if m.ndim != 1 or m.shape[0] < 2 or m.dtype.kind not in "iu" or (m < 0).any() or m.sum() != n:
                raise DesignError(f"{where}: m_each must be non-negative integers, one per arm (at least 2), summing "
                                  f"to n_units={n}; got {list(np.atleast_1d(m_each))}.")
            f, r, q = m.astype(np.int64), 0, np.zeros(m.shape[0])
            p = m / n
        else:
            if prob_each is None:
                k = 2 if num_arms is None else check_int(f"{where}: num_arms", num_arms, low=2)
                prob_each = np.full(k, 1.0 / k)
            p = _prob_each(prob_each, where)
            exact = n * p
            f = np.floor(exact + 1e-9).astype(np.int64)
            r = int(n - f.sum())
            frac = np.clip(exact - f, 0, None)
            q = frac / frac.sum() if r > 0 else np.zeros_like(p)
        self.arms = _arm_names(arms, f.shape[0])
        self._n, self._f, self._r, self._q, self._p = n, f, r, q, p


    def declaration(self) -> dict:
        """JSON-able type and parameters (enough to rebuild the design)."""
        out = {"type": "MultiArmComplete", "n_units": self._n, "arms": list(self.arms)}
        if self._r == 0 and np.allclose(self._f / self._n, self._p):
            out["m_each"] = self._f.tolist()
        else:
            out["prob_each"] = self._p.tolist()
        return out

    def _sample_many(self, n_draws, rng):
        k, n = self.n_arms, self._n
        if self._r:
            sizes = self._f[None, :] + rng.multinomial(self._r, self._q, size=n_draws)
        else:
            sizes = np.broadcast_to(self._f, (n_draws, k))
        out = np.empty((n_draws, n), dtype=np.int8)
        for d in range(n_draws):
            out[d, rng.permutation(n)] = np.repeat(np.arange(k, dtype=np.int8), sizes[d])
        return out

    def _moments(self):
        """E[m] and E[m m'] of the arm sizes."""
        r, q, f = self._r, self._q, self._f.astype(float)
        Em = f + r * q
        cov = r * (np.diag(q) - np.outer(q, q))
        return Em, np.outer(Em, Em) + cov

    def _probabilities(self):
        Em, _ = self._moments()
        return np.broadcast_to(Em / self._n, (self._n, self.n_arms)).copy()

    def _joint(self, a, b):
        Em, Emm = self._moments()
        n = self._n
        val = (Emm[a, b] - (Em[a] if a == b else 0.0)) / (n * (n - 1))
        return np.full((n, n), val)

    def _pmf(self, z):
        m = np.bincount(z, minlength=self.n_arms)
        x = m - self._f
        if (x < 0).any():
            return 0.0
        if self._r == 0:
            p_sizes = float((x == 0).all())
        else:
            p_sizes = factorial(self._r) * np.prod([self._q[a] ** x[a] / factorial(int(x[a]))
                                                    for a in range(self.n_arms)])
        ways = factorial(self._n) / np.prod([factorial(int(c)) for c in m])
        return float(p_sizes / ways)


class MultiArmBernoulli(_UnitArms):
    """Simple random assignment to k arms: each unit independently (randomizr's ``simple_ra``).

    Parameters
    ----------
    n_units : int
    prob_each : sequence of float, optional
        Probability of each arm (sums to 1); default equal over ``num_arms`` (default 2).
    num_arms : int, optional
    arms : sequence of str, optional

    Notes
    -----
    :math:`P(Z_i=a) = p_a`; :math:`P(Z_i=a, Z_j=b) = p_a p_b` for :math:`i \\ne j`. Arm sizes
    vary from draw to draw.

    Examples
    --------
    >>> import netexp as ne
    >>> ne.MultiArmBernoulli(6, prob_each=(0.2, 0.2, 0.6)).sample(rng=0).tolist()
    [2, 1, 0, 0, 2, 2]
    """

    def __init__(self, n_units: int, *, prob_each: Sequence[float] | None = None, num_arms: int | None = None,
                 arms: Sequence[str] | None = None):
        where = "MultiArmBernoulli"
        n = check_int(f"{where}: n_units", n_units, low=1)
        if prob_each is not None and num_arms is not None:
            raise DesignError(f"{where}: give prob_each or num_arms, not both.")
        if prob_each is None:
            k = 2 if num_arms is None else check_int(f"{where}: num_arms", num_arms, low=2)
            prob_each = np.full(k, 1.0 / k)
        self._p = _prob_each(prob_each, where)
        self.arms = _arm_names(arms, self._p.shape[0])
        self._n = n


    def declaration(self) -> dict:
        """JSON-able type and parameters (enough to rebuild the design)."""
        return {"type": "MultiArmBernoulli", "n_units": self._n, "arms": list(self.arms), "prob_each": self._p.tolist()}

    def _sample_many(self, n_draws, rng):
        cum = np.cumsum(self._p)
        cum[-1] = 1.0
        return np.searchsorted(cum, rng.random((n_draws, self._n)), side="right").astype(np.int8)

    def _probabilities(self):
        return np.broadcast_to(self._p, (self._n, self.n_arms)).copy()

    def _joint(self, a, b):
        return np.full((self._n, self._n), self._p[a] * self._p[b])

    def _pmf(self, z):
        return float(np.prod(self._p[np.asarray(z)]))


class MultiArmCluster(MultiArmDesign):
    """A k-arm design over clusters, broadcast to their units.

    Parameters
    ----------
    clusters : Clustering or array-like of labels
        Cluster of every unit.
    cluster_design : MultiArmDesign
        Over the clusters (in the order of the sorted distinct labels, or the Clustering's
        labels ``0..K-1``).

    Notes
    -----
    :math:`P(Z_i=a) = P(W_{c(i)}=a)` and :math:`P(Z_i=a, Z_j=b) = P(W_{c(i)}=a, W_{c(j)}=b)`
    (the cluster design's joint; for two units of one cluster, :math:`P(W_c=a)1[a=b]`).

    Examples
    --------
    >>> import netexp as ne
    >>> d = ne.MultiArmCluster([0, 0, 1, 1, 2, 2], ne.MultiArmComplete(3, num_arms=3))
    >>> d.sample(rng=0).tolist()
    [1, 1, 2, 2, 0, 0]
    """

    def __init__(self, clusters: Any, cluster_design: MultiArmDesign):
        from ..clustering import Clustering

        if isinstance(clusters, Clustering):
            labels = np.asarray(clusters.labels, dtype=np.int64)
        else:
            raw = np.asarray(clusters)
            if raw.ndim != 1 or raw.size == 0:
                raise InputError("MultiArmCluster: clusters must be a Clustering or a 1-D array of labels.")
            labels = dense_codes(raw)[1]
        if not isinstance(cluster_design, MultiArmDesign):
            raise InputError(f"MultiArmCluster: cluster_design must be a MultiArmDesign; got "
                             f"{type(cluster_design).__name__}.")
        K = int(labels.max()) + 1
        if cluster_design.n_units != K:
            raise DesignError(f"MultiArmCluster: cluster_design assigns {cluster_design.n_units} units but there are "
                              f"{K} clusters.")
        labels.flags.writeable = False
        self._labels, self._inner, self.arms = labels, cluster_design, cluster_design.arms

    @property
    def n_units(self) -> int:
        return int(self._labels.shape[0])

    @property
    def n_clusters(self) -> int:
        return self._inner.n_units

    @property
    def labels_of_units(self) -> np.ndarray:
        """Cluster code of every unit."""
        return self._labels

    @property
    def cluster_design(self) -> MultiArmDesign:
        return self._inner

    def declaration(self) -> dict:
        """JSON-able type and parameters; the cluster labels by a fingerprint (store them beside it)."""
        import hashlib

        return {"type": "MultiArmCluster", "n_units": self.n_units, "n_clusters": self.n_clusters,
                "cluster_design": self._inner.declaration(),
                "labels_sha256": hashlib.sha256(self._labels.astype(np.int64).tobytes()).hexdigest()[:16]}

    def _sample_many(self, n_draws, rng):
        return self._inner._sample_many(n_draws, rng)[:, self._labels]

    def _probabilities(self):
        return self._inner.probabilities[self._labels]

    def _joint(self, a, b):
        Jc = np.array(self._inner._joint(a, b), dtype=float)
        np.fill_diagonal(Jc, self._inner.probabilities[:, a] if a == b else 0.0)
        return Jc[np.ix_(self._labels, self._labels)]

    def joint_probabilities(self, a: Any, b: Any) -> np.ndarray:
        ia, ib = self.arm_code(a), self.arm_code(b)
        return self._joint(ia, ib)          # same-cluster pairs keep P(W_c = a) 1[a = b] off the diagonal

    def enumerate(self):
        Zc, w = self._inner.enumerate()
        return Zc[:, self._labels], w


class MultiArmSubset(MultiArmDesign):
    """The assignments of a k-arm ``design`` read at ``units`` only (their marginal distribution).

    For analyses over the units that have outcomes: the full design is drawn and the kept units'
    columns read, so null draws are exactly the design's (clusters, arm sizes) restricted to them.
    Valid under the sharp null when which units have outcomes does not depend on the arm.

    Examples
    --------
    >>> import netexp as ne
    >>> from netexp.designs._multiarm import MultiArmSubset
    >>> d = ne.MultiArmComplete(6, num_arms=3)
    >>> MultiArmSubset(d, [0, 4]).sample_many(2, rng=0).tolist() == d.sample_many(2, rng=0)[:, [0, 4]].tolist()
    True
    """

    def __init__(self, design: MultiArmDesign, units: Any):
        idx = np.asarray(units, dtype=np.int64).ravel()
        if not isinstance(design, MultiArmDesign):
            raise InputError(f"MultiArmSubset: design must be a MultiArmDesign; got {type(design).__name__}.")
        if idx.size == 0 or idx.min() < 0 or idx.max() >= design.n_units or np.unique(idx).size != idx.size:
            raise DesignError(f"MultiArmSubset: units must be distinct positions in 0..{design.n_units - 1}.")
        idx.flags.writeable = False
        self._design, self._idx, self.arms = design, idx, design.arms

    @property
    def n_units(self) -> int:
        return int(self._idx.shape[0])

    @property
    def base(self) -> MultiArmDesign:
        return self._design

    @property
    def n_clusters(self) -> int:
        """Size of the base design's randomization (for the enumeration rule of the tests)."""
        return getattr(self._design, "n_clusters", self._design.n_units)

    def _sample_many(self, n_draws, rng):
        return self._design._sample_many(n_draws, rng)[:, self._idx]

    def _probabilities(self):
        return self._design.probabilities[self._idx]

    def _joint(self, a, b):
        return self._design.joint_probabilities(a, b)[np.ix_(self._idx, self._idx)]

    def joint_probabilities(self, a: Any, b: Any) -> np.ndarray:
        return self._joint(self.arm_code(a), self.arm_code(b))

    def enumerate(self):
        Z, w = self._design.enumerate()
        return Z[:, self._idx], w

    def __repr__(self) -> str:
        return f"MultiArmSubset({self._design!r}, {self.n_units} units)"
