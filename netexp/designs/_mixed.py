"""Mixed design to detect interference: clusters split at random between a unit-randomized arm and
a cluster-randomized arm (Saveski et al. 2017; Pouget-Abadie et al. 2019)."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numba import njit

from .._errors import InputError
from .._validation import check_int, check_option, check_probability, check_rng
from ._base import Design
from ._coloring import _coins
from ._saturation import _byte_threshold, _cluster_labels, _random_round, _row_chunk, _split_count
from ._stratified import Blocked, Complete

__all__ = ["MixedInterferenceDesign"]


@njit(cache=True)
def _fill_mixed(gen, labels, cluster_arm, zc, targets, thresh, rbytes, out):
    """Units of cluster-arm clusters copy their cluster's draw; exactly ``targets[r]`` units of the
    unit arm are treated, a uniformly random subset (Bernoulli start from random bytes, then
    uniformly chosen flips among unit-arm units, as in ``_fill_groups``)."""
    n_draws, n = out.shape
    for r in range(n_draws):
        row = out[r]
        rb = rbytes[r]
        arm = cluster_arm[r]
        z = zc[r]
        c = 0
        for u in range(n):  # branchless: arms and coins defeat branch prediction
            g = labels[u]
            a = np.uint8(arm[g])
            v = np.uint8(rb[u] < thresh)
            row[u] = (a & np.uint8(z[g])) | ((1 - a) & v)
            c += (1 - a) & v
        target = targets[r]
        while c > target:
            u = gen.integers(0, n)
            if not arm[labels[u]] and row[u]:
                row[u] = False
                c -= 1
        while c < target:
            u = gen.integers(0, n)
            if not arm[labels[u]] and not row[u]:
                row[u] = True
                c += 1


def _count_pmf(k, expected):
    """P(count = k) under the random-rounding rule for an expected count."""
    lo, fr = _split_count(np.array([expected]))
    lo, fr = int(lo[0]), float(fr[0])
    return (1 - fr) if k == lo else (fr if k == lo + 1 else 0.0)


class MixedInterferenceDesign(Design):
    """Randomize over randomized experiments to detect interference.

    **Stage 1.** The clusters are split at random into a cluster-randomized arm (a share
    ``arm_share`` of them) and a unit-randomized arm: complete randomization over clusters
    (:class:`Complete` with ``p=arm_share``: :math:`\\lfloor aK \\rfloor` clusters, one more with
    probability equal to the fractional part, so every cluster is in the cluster arm with
    probability exactly :math:`a`), or with ``stratify_clusters_by_size=True`` within pairs of
    clusters of adjacent size (:class:`Blocked` over clusters ordered by size; for
    :math:`a = 1/2` one cluster of each pair per arm).

    **Stage 2.** In the cluster arm, clusters are completely randomized with share ``p``
    (:math:`\\lfloor p\\,m \\rfloor` of the :math:`m` arm clusters, one more with the fractional
    probability). In the unit arm, its :math:`N` units are completely randomized with share
    ``p`` (same rounding rule; or Bernoulli(p) with ``unit_design="bernoulli"``).

    **Estimand / use.** Under no interference (SUTVA) the difference-in-means estimands of both
    arms equal the average treatment effect; a significant difference between the arm-wise
    estimates is evidence of interference (Saveski et al. 2017). The design also yields the
    cluster-arm estimate, less biased under interference.

    **Units used.** All units; a share :math:`a` of clusters per draw feeds the cluster-arm
    estimate and the rest the unit-arm estimate.

    Parameters
    ----------
    clusters : Clustering or array-like
    arm_share : float in (0, 1), default 0.5
        Share of clusters in the cluster-randomized arm.
    p : float in (0, 1), default 0.5
        Treated share in each arm.
    unit_design : {"complete", "bernoulli"}
    stratify_clusters_by_size : bool
        Split clusters between arms within pairs of adjacent size.

    Notes
    -----
    Every unit: :math:`P(Z_i = 1) = a\\,p + (1-a)\\,p = p` exactly (given its arm, the random
    rounding makes the conditional probability :math:`p`). Joint probabilities depend on the
    distribution of the number of units in the unit arm (a sum over subsets of cluster sizes)
    and are computed by exact enumeration for tiny designs only.

    References
    ----------
    Saveski, M., Pouget-Abadie, J., Saint-Jacques, G., Duan, W., Ghosh, S., Xu, Y., & Airoldi,
    E. M. (2017). Detecting network effects: randomizing over randomized experiments. KDD 2017.
    Pouget-Abadie, J., Saint-Jacques, G., Saveski, M., Duan, W., Ghosh, S., Xu, Y., & Airoldi,
    E. M. (2019). Testing for arbitrary interference on experimentation platforms. Biometrika
    106(4), 929-940.

    Examples
    --------
    >>> from netexp.designs import MixedInterferenceDesign
    >>> d = MixedInterferenceDesign([0, 0, 1, 1, 2, 2, 3, 3], arm_share=0.5)
    >>> Z, arm = d.sample_with_arms(1, rng=0)
    >>> int(arm.sum()), d.probabilities.tolist()[:2]
    (2, [0.5, 0.5])
    """

    def __init__(self, clusters, *, arm_share: float = 0.5, p: float = 0.5,
                 unit_design: Literal["complete", "bernoulli"] = "complete", stratify_clusters_by_size: bool = False):
        where = "MixedInterferenceDesign"
        labels, K = _cluster_labels(clusters, where)
        a = check_probability(f"{where}: arm_share", arm_share)
        p = check_probability(f"{where}: p", p)
        unit_design = check_option(f"{where}: unit_design", unit_design, ("complete", "bernoulli"))
        if not isinstance(stratify_clusters_by_size, (bool, np.bool_)):
            raise InputError(f"{where}: stratify_clusters_by_size must be True or False; got "
                             f"{stratify_clusters_by_size!r}.")
        sizes = np.bincount(labels, minlength=K)
        if stratify_clusters_by_size:
            stage1 = Blocked(K, block_size=2, p=a, order=sizes)
        else:
            stage1 = Complete(K, p=a)
        sizes.flags.writeable = False
        self._labels, self._K, self._sizes, self._a, self._p = labels, K, sizes, a, p
        self._unit_design, self._stratify, self._stage1 = unit_design, bool(stratify_clusters_by_size), stage1
        self._freeze()

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
    def arm_share(self) -> float:
        return self._a

    @property
    def p(self) -> float:
        return self._p

    @property
    def arm_design(self) -> Design:
        """The stage-1 design over clusters (True = cluster-randomized arm)."""
        return self._stage1

    def unit_arm(self, cluster_arm) -> np.ndarray:
        """Per-unit bool, True for units in the unit-randomized arm, from ``cluster_arm`` (per cluster, or rows)."""
        ca = np.asarray(cluster_arm, dtype=bool)
        if ca.shape[-1] != self._K or ca.ndim not in (1, 2):
            raise InputError(f"MixedInterferenceDesign.unit_arm: cluster_arm must have shape (n_clusters,) or "
                             f"(n_draws, n_clusters) with n_clusters={self._K}; got {ca.shape}.")
        return ~ca[..., self._labels]

    def sample_with_arms(self, n_draws: int, *, rng=None) -> tuple[np.ndarray, np.ndarray]:
        """``(Z, cluster_arm)``: assignments (n_draws, n_units) and arms (n_draws, n_clusters), True = cluster arm.

        The same ``rng`` gives the same ``Z`` as ``sample_many``.
        """
        n_draws = check_int("n_draws", n_draws, low=1)
        return self._draw(n_draws, check_rng(rng))

    def _draw(self, n_draws, rng):
        K, n = self._K, self.n_units
        arm = self._stage1._sample_many(n_draws, rng)
        # cluster arm: a uniformly random t_r of its m_r clusters, via a random order of all clusters
        m = arm.sum(1)
        t = _random_round(rng, self._p * m)
        perm = rng.permuted(np.broadcast_to(np.arange(K), (n_draws, K)), axis=1)
        in_arm = np.take_along_axis(arm, perm, axis=1)
        chosen = in_arm & (np.cumsum(in_arm, axis=1) <= t[:, None])
        zc = np.empty((n_draws, K), dtype=bool)
        np.put_along_axis(zc, perm, chosen, axis=1)
        if self._unit_design == "bernoulli":
            Z = np.empty((n_draws, n), dtype=bool)
            for r in range(n_draws):  # a loop over draws, vectorized over units
                Z[r] = np.where(arm[r, self._labels], zc[r, self._labels], _coins(rng, n, self._p))
            return Z, arm
        n_unit_arm = (~arm).astype(np.int64) @ self._sizes
        targets = _random_round(rng, self._p * n_unit_arm)
        thresh = int(_byte_threshold(self._p))
        Z = np.zeros((n_draws, n), dtype=bool)
        chunk = _row_chunk(n)
        for start in range(0, n_draws, chunk):
            stop = min(n_draws, start + chunk)
            rbytes = np.frombuffer(rng.bytes((stop - start) * n), dtype=np.uint8).reshape(stop - start, n)
            _fill_mixed(rng, self._labels, arm[start:stop], zc[start:stop], targets[start:stop], thresh, rbytes,
                        Z[start:stop])
        return Z, arm

    def _sample_many(self, n_draws, rng):
        return self._draw(n_draws, rng)[0]

    def _probabilities(self):
        return np.full(self.n_units, self._p)

    def _pmf(self, z):
        A, w = self._stage1.enumerate()
        total = 0.0
        for arm, wa in zip(A, w):
            ca = arm[self._labels]
            zc_units = z[ca]
            lab = self._labels[ca]
            # the cluster arm: z must be constant within each of its clusters
            zc = np.zeros(self._K, dtype=np.int64)
            np.maximum.at(zc, lab, zc_units.astype(np.int64))
            if (zc[lab] != zc_units).any():
                continue
            m, tc = int(arm.sum()), int(zc[arm].sum())
            pr = _count_pmf(tc, self._p * m) / math.comb(m, tc) if m else 1.0
            N, k = int((~ca).sum()), int(z[~ca].sum())
            if self._unit_design == "bernoulli":
                pr *= self._p**k * (1 - self._p) ** (N - k)
            elif N:
                pr *= _count_pmf(k, self._p * N) / math.comb(N, k)
            total += wa * pr
        return total

    def summary(self) -> dict:
        """Arms, clusters and units used."""
        return {"design": "MixedInterferenceDesign", "n_units": self.n_units, "n_clusters": self._K,
                "arm_share": self._a, "p": self._p, "expected_clusters_in_cluster_arm": self._a * self._K,
                "expected_units_in_unit_arm": (1 - self._a) * self.n_units, "unit_design": self._unit_design,
                "stratify_clusters_by_size": self._stratify}

    def declaration(self) -> dict:
        """JSON-able type and parameters (the cluster labels are data, stored with the assignment)."""
        return {"type": "MixedInterferenceDesign", "n_units": self.n_units, "n_clusters": self._K,
                "arm_share": self._a, "p": self._p, "unit_design": self._unit_design,
                "stratify_clusters_by_size": self._stratify}

    def _repr_params(self):
        return {"n_units": self.n_units, "n_clusters": self._K, "arm_share": self._a, "p": self._p,
                "unit_design": self._unit_design, "stratify_clusters_by_size": self._stratify}
