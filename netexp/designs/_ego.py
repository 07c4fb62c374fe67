"""Ego-cluster design (LinkedIn): egos with disjoint 2-hop neighbourhoods, randomized between
"ego and all alters treated" and "ego treated alone"."""

from __future__ import annotations

from typing import Literal

import numpy as np
from numba import njit

from .._errors import DesignError
from .._validation import check_int, check_option, check_probability, check_rng
from ._base import Design
from ._coloring import _check_graph, _mask_digest, _seed_of
from ._stratified import Complete
from ._unit import Bernoulli

__all__ = ["EgoClusterDesign"]


@njit(cache=True)
def _select_egos(indptr, indices, order, eligible):
    """Greedy egos in the given order, keeping one only if its 2-hop ball misses every chosen ego's 2-hop ball."""
    n = indptr.shape[0] - 1
    covered = np.zeros(n, np.bool_)
    chosen = np.zeros(n, np.bool_)
    for t in range(order.shape[0]):
        v = order[t]
        if not eligible[v] or covered[v]:
            continue
        conflict = False
        for e in range(indptr[v], indptr[v + 1]):
            w = indices[e]
            if covered[w]:
                conflict = True
                break
            for f in range(indptr[w], indptr[w + 1]):
                if covered[indices[f]]:
                    conflict = True
                    break
            if conflict:
                break
        if conflict:
            continue
        chosen[v] = True
        covered[v] = True
        for e in range(indptr[v], indptr[v + 1]):
            w = indices[e]
            covered[w] = True
            for f in range(indptr[w], indptr[w + 1]):
                covered[indices[f]] = True
    return chosen


class EgoClusterDesign(Design):
    """Ego-clusters (Saint-Jacques et al. 2019): does treating one's alters change one's outcome?

    **Selection** (at construction, stored as data). Units are visited in a random order (from
    ``rng_selection``); a unit with between ``min_alters`` and ``max_alters`` neighbours becomes an
    ego when its 2-hop neighbourhood (itself, its alters and theirs) is disjoint from the 2-hop
    neighbourhood of every ego already chosen, i.e. when it is at distance at least 5 from
    them. The result is maximal: every eligible unit left out is within distance 4 of a chosen
    ego. An ego-cluster is an ego plus its alters (1-hop neighbours); ego-clusters are disjoint
    and no edge joins two of them.

    **Randomization.** Ego-clusters are randomized (complete with share ``p``, or Bernoulli) to
    the treatment arm, where the ego and all its alters are treated, or to the control arm, where
    the ego alone is treated. Egos are treated in both arms; units outside the ego-clusters are
    never treated.

    **Estimand.** The network effect on egos of treating all of their alters, given that they
    are treated themselves: :math:`\\frac1E\\sum_{e} [Y_e(z_e = 1, z_{N(e)} = 1) - Y_e(z_e = 1,
    z_{N(e)} = 0)]` over the chosen egos (compare egos' outcomes across arms); it concerns the
    egos only, a non-random subset favouring units with few neighbours-of-neighbours.

    **Units used.** ``n_egos`` egos carry the estimand; ``n_units_used`` units (egos and alters)
    are ever treated.

    Parameters
    ----------
    graph : Graph
        Directed graphs are treated as undirected (alters: neighbours in either direction).
    p : float in (0, 1), default 0.5
        Share (complete) or probability (Bernoulli) of ego-clusters in the treatment arm.
    assignment : {"complete", "bernoulli"}
        How ego-clusters are randomized; ``"complete"`` uses :class:`Complete` over ego-clusters
        (random extra cluster, so every cluster's probability is exactly ``p``).
    max_alters : int, optional
        Units with more alters are not used as egos.
    min_alters : int, default 1
        Units with fewer alters are not used as egos.
    rng_selection : None, int, SeedSequence or Generator
        The random visiting order of the greedy selection.

    Notes
    -----
    With :math:`A_k` the arm of ego-cluster :math:`k` (1 = treatment) and :math:`q_k = P(A_k = 1)`:
    :math:`P(Z_i = 1) = 1` for egos, :math:`q_{k(i)}` for alters and 0 elsewhere;
    :math:`P(Z_i Z_j = 1)` is 1 for two egos, :math:`q_k` for an ego or alter with an alter of
    cluster k, :math:`P(A_k A_l = 1)` for alters of clusters :math:`k \\ne l`, and 0 when either
    unit is outside the ego-clusters.

    References
    ----------
    Saint-Jacques, G., Varshney, M., Simpson, J., & Xu, Y. (2019). Using ego-clusters to measure
    network effects at LinkedIn. arXiv:1903.08755.

    Examples
    --------
    >>> import netexp as ne
    >>> from netexp.designs import EgoClusterDesign
    >>> d = EgoClusterDesign(ne.load_graph("social"), rng_selection=0)
    >>> d.n_egos, d.n_units_used, bool(d.sample(rng=0)[d.egos].all())
    (18, 100, True)
    """

    def __init__(self, graph, *, p: float = 0.5, assignment: Literal["complete", "bernoulli"] = "complete",
                 max_alters: int | None = None, min_alters: int = 1, rng_selection=None):
        where = "EgoClusterDesign"
        graph = _check_graph(graph, where)
        n = graph.n_nodes
        p = check_probability(f"{where}: p", p)
        assignment = check_option(f"{where}: assignment", assignment, ("complete", "bernoulli"))
        min_alters = check_int(f"{where}: min_alters", min_alters, low=1)
        if max_alters is not None:
            max_alters = check_int(f"{where}: max_alters", max_alters, low=min_alters)
        indptr, indices = graph._undirected
        deg = np.diff(indptr)
        eligible = deg >= min_alters
        if max_alters is not None:
            eligible &= deg <= max_alters
        order = check_rng(rng_selection).permutation(n).astype(np.int64)
        chosen = _select_egos(indptr, indices, order, eligible)
        egos = np.flatnonzero(chosen).astype(np.int64)
        E = egos.shape[0]
        if E < 2:
            raise DesignError(f"{where}: only {E} ego-cluster(s) could be formed ({int(eligible.sum())} units have "
                              f"between {min_alters} and {max_alters if max_alters is not None else 'any'} alters); "
                              "need at least 2 to randomize. Relax max_alters / min_alters or use a larger graph.")
        # ego-cluster labels: ego k and its alters get k, everyone else -1
        lens = deg[egos]
        pos = np.repeat(indptr[egos] - np.r_[0, np.cumsum(lens)[:-1]], lens) + np.arange(lens.sum())
        labels = np.full(n, -1, dtype=np.int64)
        labels[indices[pos]] = np.repeat(np.arange(E), lens)
        labels[egos] = np.arange(E)
        # role codes into a per-draw table [arm of cluster 0..E-1, never (E), always (E+1)]
        codes = np.where(labels >= 0, labels, E)
        codes[egos] = E + 1
        arm = Complete(E, p=p) if assignment == "complete" else Bernoulli(E, p=p)
        for arr in (egos, labels, codes):
            arr.flags.writeable = False
        self._n, self._egos, self._labels, self._codes, self._arm = n, egos, labels, codes, arm
        self._p, self._assignment = p, assignment
        self._min_alters, self._max_alters = min_alters, max_alters
        self._seed = _seed_of(rng_selection)
        self._n_eligible = int(eligible.sum())
        self._freeze()

    @property
    def n_units(self) -> int:
        return self._n

    @property
    def egos(self) -> np.ndarray:
        """Indices of the chosen egos (increasing); ego-cluster k is the one of ``egos[k]``."""
        return self._egos

    @property
    def n_egos(self) -> int:
        return int(self._egos.shape[0])

    @property
    def ego_cluster_labels(self) -> np.ndarray:
        """Ego-cluster of every unit (0..n_egos-1), -1 outside every ego-cluster."""
        return self._labels

    @property
    def n_units_used(self) -> int:
        """Units ever treated: egos and their alters."""
        return int((self._labels >= 0).sum())

    @property
    def arm_design(self) -> Design:
        """The design over ego-clusters (1 = ego and alters treated)."""
        return self._arm

    @property
    def estimand(self) -> str:
        return (f"network effect on the {self.n_egos} egos of treating all of their alters (egos treated in both "
                "arms): mean ego outcome in treatment-arm ego-clusters minus control-arm ego-clusters")

    def sample_arms(self, n_draws: int, *, rng=None) -> np.ndarray:
        """Arm of every ego-cluster, bool ``(n_draws, n_egos)`` (True = alters treated)."""
        return self._arm.sample_many(n_draws, rng=rng)

    def _table(self, A):
        R, E = A.shape
        t = np.zeros((R, E + 2), dtype=bool)
        t[:, :E] = A
        t[:, E + 1] = True
        return t

    def _sample_many(self, n_draws, rng):
        A = self._arm._sample_many(n_draws, rng)
        return np.take(self._table(A), self._codes, axis=1)

    def _probabilities(self):
        q = np.r_[self._arm.probabilities, 0.0, 1.0]
        return q[self._codes]

    def _joint_probabilities(self):
        E = self.n_egos
        Jc = self._arm.joint_probabilities()
        q = self._arm.probabilities
        T = np.zeros((E + 2, E + 2))
        T[:E, :E] = Jc
        T[:E, E + 1] = T[E + 1, :E] = q
        T[E + 1, E + 1] = 1.0
        return T[np.ix_(self._codes, self._codes)]

    def _enumerate(self):
        A, w = self._arm.enumerate()
        return np.take(self._table(A), self._codes, axis=1), w

    def summary(self) -> dict:
        """Egos, units used and the alters per ego."""
        alters = np.bincount(self._labels[self._labels >= 0], minlength=self.n_egos) - 1
        return {"design": "EgoClusterDesign", "n_units": self._n, "n_egos": self.n_egos,
                "n_eligible_egos": self._n_eligible, "n_units_used": self.n_units_used,
                "share_units_used": self.n_units_used / self._n, "mean_alters": float(alters.mean()),
                "max_alters_chosen": int(alters.max()), "p": self._p, "assignment": self._assignment}

    def declaration(self) -> dict:
        """JSON-able type and parameters (the ego selection by rule and seed, plus a fingerprint)."""
        mask = np.zeros(self._n, dtype=bool)
        mask[self._egos] = True
        return {"type": "EgoClusterDesign", "n_units": self._n, "p": self._p, "assignment": self._assignment,
                "min_alters": self._min_alters, "max_alters": self._max_alters, "selection_seed": self._seed,
                "n_egos": self.n_egos, "egos_sha256": _mask_digest(mask)}

    def _repr_params(self):
        return {"n_units": self._n, "n_egos": self.n_egos, "n_units_used": self.n_units_used, "p": self._p,
                "assignment": self._assignment}
