"""Randomized graph cluster randomization (Ugander & Yin 2023): a fresh random clustering
(randomized 3-net or 1-hop-max) with every assignment, then independent cluster coins."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from numba import njit

from .._parallel import threads_for
from .._errors import DesignError, InputError
from .._validation import check_int, check_option, check_probability, check_rng, readonly
from ..clustering._quality import _distinct_many
from ..clustering._threenet import _one_hop_max_many, _three_net_many
from ..graph import Graph
from ._base import Design

__all__ = ["RandomizedGraphCluster", "FullExposureProbabilities"]

CLUSTERINGS = ("3-net", "1-hop-max")
_WORK_BYTES = 2**26  # bound on the per-batch work space (orders, labels, coins)


@njit(cache=True)
def _one_hop_max_exact(indptr_e, indices_e, indptr_u, indices_u, units, p, max_k, out, exact):
    """Exact full-exposure probabilities under 1-hop-max + cluster Bernoulli(p) for every unit
    in ``units`` whose closed (exposure) neighbourhood has at most ``max_k`` units.

    For unit i with closed neighbourhood S (k units, bit b for the b-th), every candidate centre
    v (a unit of some U_1(j), j in S, U_1 the undirected closed ball) gets the mask
    N_v = {j in S : v in U_1(j)}. Visiting candidates from the largest weight down, v becomes the
    centre of the still-unclaimed units of N_v. With claimed set C, every candidate with
    N_v not inside C is still unseen, so the next one to claim is uniform among them:
    f(C) = q * mean_{v : N_v not in C} f(C | N_v), f(S) = 1, and P = f(empty). Each claim is
    one more distinct cluster, hence the factor q = p (treatment) or 1 - p (control).
    """
    n = indptr_u.shape[0] - 1
    mask = np.zeros(n, dtype=np.int64)
    cand = np.empty(n, dtype=np.int64)
    for t in range(units.shape[0]):
        i = units[t]
        k = indptr_e[i + 1] - indptr_e[i] + 1
        if k > max_k:
            exact[t] = False
            continue
        exact[t] = True
        n_cand = 0
        for b in range(k):
            j = i if b == 0 else indices_e[indptr_e[i] + b - 1]
            if mask[j] == 0:
                cand[n_cand] = j
                n_cand += 1
            mask[j] |= 1 << b
            for a in range(indptr_u[j], indptr_u[j + 1]):
                v = indices_u[a]
                if mask[v] == 0:
                    cand[n_cand] = v
                    n_cand += 1
                mask[v] |= 1 << b
        # distinct masks with multiplicities
        ms = np.empty(n_cand, dtype=np.int64)
        for c in range(n_cand):
            ms[c] = mask[cand[c]]
            mask[cand[c]] = 0
        ms = np.sort(ms)
        um = np.empty(n_cand, dtype=np.int64)
        cnt = np.empty(n_cand, dtype=np.int64)
        n_u = 0
        for c in range(n_cand):
            if n_u > 0 and um[n_u - 1] == ms[c]:
                cnt[n_u - 1] += 1
            else:
                um[n_u] = ms[c]
                cnt[n_u] = 1
                n_u += 1
        full = (1 << k) - 1
        ft = np.zeros(full + 1)
        fc = np.zeros(full + 1)
        ft[full] = 1.0
        fc[full] = 1.0
        for s in range(full - 1, -1, -1):
            tot = 0
            acc_t = 0.0
            acc_c = 0.0
            for c in range(n_u):
                m = um[c]
                if (m & ~s) != 0:
                    tot += cnt[c]
                    acc_t += cnt[c] * ft[s | m]
                    acc_c += cnt[c] * fc[s | m]
            ft[s] = p * acc_t / tot
            fc[s] = (1.0 - p) * acc_c / tot
        out[t, 0] = ft[0]
        out[t, 1] = fc[0]


@dataclass(frozen=True, eq=False)
class FullExposureProbabilities:
    """Probabilities that each unit's closed neighbourhood is entirely in one arm.

    Attributes
    ----------
    probabilities : ndarray, shape (n_units, 2)
        Column 0: all treated; column 1: all control.
    std_error : ndarray, shape (n_units, 2)
        Monte Carlo standard errors (0 where the value is exact).
    exact : ndarray of bool, shape (n_units,)
        Where the value is exact rather than estimated.
    n_draws : int
        Clustering draws behind the Monte Carlo values (0 if every value is exact).
    node_ids : ndarray
    """

    probabilities: np.ndarray = field(repr=False)
    std_error: np.ndarray = field(repr=False)
    exact: np.ndarray = field(repr=False)
    n_draws: int
    node_ids: np.ndarray = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({
            "node_id": self.node_ids,
            "p_full_treatment": self.probabilities[:, 0],
            "std_error_treatment": self.std_error[:, 0],
            "p_full_control": self.probabilities[:, 1],
            "std_error_control": self.std_error[:, 1],
            "exact": self.exact,
        })


class RandomizedGraphCluster(Design):
    r"""Randomized graph cluster randomization: a new random clustering for every assignment.

    Each draw clusters the graph afresh (randomized 3-net or 1-hop-max), then treats every
    cluster independently with probability ``p`` (cluster-level Bernoulli). Averaging over
    clusterings spreads the "unlucky" units of any single clustering, whose neighbourhoods
    straddle many clusters, over many draws (Ugander & Yin 2023).

    Parameters
    ----------
    graph : Graph
        Clusterings use distances in its undirected version; exposure neighbourhoods use its
        rows (in-neighbours of a directed graph).
    p : float in (0, 1), default 0.5
        Probability that a cluster is treated.
    clustering : {"3-net", "1-hop-max"}
        ``"3-net"``: :func:`netexp.clustering.three_net` with a fresh uniform order per draw.
        ``"1-hop-max"``: :func:`netexp.clustering.one_hop_max` with fresh weights per draw.
    cluster_design : {"bernoulli"}
        Cluster-level design; only independent coins for now (the number of clusters changes
        from draw to draw).

    Notes
    -----
    Marginals are exact: :math:`P(Z_i = 1) = p` whatever the clustering. For a pair,

    .. math:: P(Z_i = 1, Z_j = 1) = p\,\pi_{ij} + p^2 (1 - \pi_{ij}),

    with :math:`\pi_{ij}` the probability that i and j share a cluster. Under 1-hop-max,
    :math:`\pi_{ij} = |B_1(i) \cap B_1(j)| / |B_1(i) \cup B_1(j)|` exactly (the largest weight
    of the union must fall in the intersection), so :meth:`joint_probabilities` is exact. Under
    randomized 3-net :math:`\pi_{ij}` has no simple closed form: :meth:`joint_probabilities`
    raises :class:`netexp.DesignError` and :meth:`co_clustering_probabilities` estimates it
    by Monte Carlo with standard errors.

    The probability that unit i's closed neighbourhood is fully treated is
    :math:`E[p^{D_i}]`, :math:`D_i` the (random) number of clusters it spans.
    :meth:`full_exposure_probabilities` estimates it by averaging :math:`p^{D_i}` over
    clustering draws (the coins are integrated out exactly, which removes their share of the
    Monte Carlo variance); under 1-hop-max it is exact for units with small neighbourhoods
    (a recursion over subsets of the neighbourhood, see the method).

    Draws are vectorized: a batch of random orders is drawn in numpy (one uniform permutation
    per draw), clustered in one compiled call (draws in parallel), and the cluster coins
    (one uniform per potential centre) are broadcast to units by indexing.

    References
    ----------
    Ugander, J., & Yin, H. (2023). Randomized graph cluster randomization. Journal of Causal
    Inference 11(1), 20220014.

    Ugander, J., Karrer, B., Backstrom, L., & Kleinberg, J. (2013). Graph cluster randomization:
    network exposure to multiple universes. Proceedings of KDD 2013, 329-337.

    Examples
    --------
    >>> import netexp as ne
    >>> from netexp.designs._randomized_clusters import RandomizedGraphCluster
    >>> d = RandomizedGraphCluster(ne.load_graph("karate"), p=0.5)
    >>> Z, labels = d.sample_with_clusters(3, rng=0)
    >>> Z.shape, labels.shape
    ((3, 34), (3, 34))
    """

    def __init__(self, graph: Graph, *, p: float = 0.5,
                 clustering: Literal["3-net", "1-hop-max"] = "3-net",
                 cluster_design: Literal["bernoulli"] = "bernoulli"):
        if not isinstance(graph, Graph):
            raise InputError(f"RandomizedGraphCluster: graph must be a netexp Graph; got {type(graph).__name__}.")
        self._graph = graph
        self._p = check_probability("RandomizedGraphCluster: p", p)
        self._clustering = check_option("RandomizedGraphCluster: clustering", clustering, CLUSTERINGS)
        self._cluster_design = check_option("RandomizedGraphCluster: cluster_design", cluster_design,
                                            ("bernoulli",))
        indptr, indices = graph._undirected
        self._u_indptr = readonly(np.array(indptr, dtype=np.int64))
        self._u_indices = readonly(np.array(indices, dtype=np.int32))
        self._freeze()

    # ------------------------------------------------------------------ contract
    @property
    def n_units(self) -> int:
        return self._graph.n_nodes

    @property
    def p(self) -> float:
        return self._p

    @property
    def clustering(self) -> str:
        return self._clustering

    @property
    def graph(self) -> Graph:
        return self._graph

    def _batch(self) -> int:
        return max(1, _WORK_BYTES // (17 * self.n_units))

    def _cluster_batch(self, b: int, rng: np.random.Generator) -> np.ndarray:
        """``b`` independent clusterings: (b, n) int64, the centre unit naming each unit's cluster."""
        n = self.n_units
        orders = rng.permuted(np.broadcast_to(np.arange(n, dtype=np.int32), (b, n)), axis=1)
        labels = np.empty((b, n), dtype=np.int64)
        kernel = _three_net_many if self._clustering == "3-net" else _one_hop_max_many
        with threads_for(b * (n + self._u_indices.shape[0])):
            kernel(self._u_indptr, self._u_indices, orders, labels)
        return labels

    def _draw(self, n_draws: int, rng: np.random.Generator, keep_labels: bool):
        n = self.n_units
        Z = np.empty((n_draws, n), dtype=bool)
        L = np.empty((n_draws, n), dtype=np.int64) if keep_labels else None
        step = self._batch()
        for start in range(0, n_draws, step):
            b = min(step, n_draws - start)
            labels = self._cluster_batch(b, rng)
            coins = rng.random((b, n)) < self._p  # one coin per potential centre (unit)
            Z[start:start + b] = np.take_along_axis(coins, labels, axis=1)
            if keep_labels:
                L[start:start + b] = labels
        return Z, L

    def _sample_many(self, n_draws, rng):
        return self._draw(n_draws, rng, keep_labels=False)[0]

    def sample_with_clusters(self, n_draws: int = 1, *, rng=None) -> tuple[np.ndarray, np.ndarray]:
        """Assignments and the clustering each was drawn with.

        Returns
        -------
        Z : ndarray of bool, shape (n_draws, n_units)
            The same draws as ``sample_many(n_draws, rng=rng)``.
        labels : ndarray of int64, shape (n_draws, n_units)
            ``labels[r, i]`` is the unit (internal index) naming i's cluster in draw r: its 3-net
            centre, or its 1-hop-max maximum. Units with equal labels share a cluster and an arm.
        """
        n_draws = check_int("n_draws", n_draws, low=1)
        return self._draw(n_draws, check_rng(rng), keep_labels=True)

    def sample_clusterings(self, n_draws: int = 1, *, rng=None) -> np.ndarray:
        """Only the clusterings: ``labels`` as in :meth:`sample_with_clusters` (no coins drawn)."""
        n_draws = check_int("n_draws", n_draws, low=1)
        g = check_rng(rng)
        out = np.empty((n_draws, self.n_units), dtype=np.int64)
        step = self._batch()
        for start in range(0, n_draws, step):
            b = min(step, n_draws - start)
            out[start:start + b] = self._cluster_batch(b, g)
        return out

    def _probabilities(self):
        return np.full(self.n_units, self._p)

    # ------------------------------------------------------------------ pairs
    def _closed_balls(self):
        import scipy.sparse as sp

        n = self.n_units
        data = np.ones(self._u_indices.shape[0], dtype=np.float64)
        a = sp.csr_array((data, self._u_indices, self._u_indptr), shape=(n, n))
        return (a + sp.eye_array(n, format="csr")).tocsr()

    def _jaccard(self, i, j):
        b = self._closed_balls()
        inter = np.asarray(b[i].multiply(b[j]).sum(axis=1)).ravel()
        size = np.asarray(b.sum(axis=1)).ravel()
        return inter / (size[i] + size[j] - inter)

    def _joint_probabilities(self):
        if self._clustering == "3-net":
            raise DesignError(
                "RandomizedGraphCluster(clustering='3-net'): P(Z_i=1, Z_j=1) = p*pi_ij + p^2*(1-pi_ij) needs "
                "the co-clustering probability pi_ij, which has no closed form for randomized 3-nets; "
                "estimate it with co_clustering_probabilities(pairs, n_draws=..., rng=...), or use "
                "clustering='1-hop-max' (exact).")
        n = self.n_units
        b = self._closed_balls()
        inter = (b @ b.T).toarray()
        size = np.diff(b.indptr).astype(float)
        pi = inter / (size[:, None] + size[None, :] - inter)
        j = self._p * pi + self._p**2 * (1.0 - pi)
        j[np.arange(n), np.arange(n)] = self._p
        return j

    def _pairs(self, pairs):
        if isinstance(pairs, str):
            check_option("pairs", pairs, ("edges",))
            return self._graph.edges()
        arr = np.asarray(pairs)
        if arr.ndim != 2 or arr.shape[1] != 2 or arr.dtype.kind not in "iu":
            raise InputError(f"pairs must be 'edges' or an integer array of shape (n_pairs, 2) of internal unit "
                             f"indices; got shape {arr.shape} and dtype {arr.dtype}.")
        if arr.size and (arr.min() < 0 or arr.max() >= self.n_units):
            raise InputError(f"pairs must hold unit indices in [0, {self.n_units - 1}]; got values in "
                             f"[{arr.min()}, {arr.max()}].")
        return arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64)

    def co_clustering_probabilities(self, pairs="edges", *, n_draws: int = 1000, rng=None,
                                    method: Literal["auto", "monte-carlo", "exact"] = "auto") -> pd.DataFrame:
        r"""Probability :math:`\pi_{ij}` that units i and j fall in the same cluster.

        Parameters
        ----------
        pairs : "edges" or int array of shape (n_pairs, 2)
            The graph's edges (each once), or pairs of internal unit indices.
        n_draws : int
            Clustering draws for the Monte Carlo estimate.
        rng : None, int, SeedSequence or Generator
        method : {"auto", "monte-carlo", "exact"}
            ``"exact"`` (1-hop-max only): the Jaccard index of the closed neighbourhoods.
            ``"auto"``: exact where available, Monte Carlo otherwise.

        Returns
        -------
        DataFrame
            ``i, j, p_same, std_error, joint_treated`` with ``std_error`` the binomial standard
            error :math:`\sqrt{\hat\pi(1-\hat\pi)/R}` (0 when exact) and ``joint_treated``
            :math:`= p\hat\pi + p^2 (1 - \hat\pi)`.
        """
        method = check_option("method", method, ("auto", "monte-carlo", "exact"))
        i, j = self._pairs(pairs)
        exact = method == "exact" or (method == "auto" and self._clustering == "1-hop-max")
        if exact:
            if self._clustering != "1-hop-max":
                raise DesignError("co-clustering probabilities are exact for clustering='1-hop-max' only; use "
                                  "method='monte-carlo' for randomized 3-nets.")
            pi = self._jaccard(i, j) if i.size else np.zeros(0)
            se = np.zeros_like(pi)
        else:
            n_draws = check_int("n_draws", n_draws, low=2)
            g = check_rng(rng)
            hits = np.zeros(i.shape[0])
            step = self._batch()
            for start in range(0, n_draws, step):
                lab = self._cluster_batch(min(step, n_draws - start), g)
                hits += (lab[:, i] == lab[:, j]).sum(axis=0)
            pi = hits / n_draws
            se = np.sqrt(pi * (1.0 - pi) / n_draws)
        return pd.DataFrame({"i": i, "j": j, "p_same": pi, "std_error": se,
                             "joint_treated": self._p * pi + self._p**2 * (1.0 - pi)})

    # ------------------------------------------------------------------ exposure
    def full_exposure_probabilities(self, *, n_draws: int = 1000, rng=None,
                                    max_exact_size: int = 12) -> FullExposureProbabilities:
        r"""Probability that each unit and all its neighbours are treated (and, all in control).

        Parameters
        ----------
        n_draws : int
            Clustering draws for the Monte Carlo part.
        rng : None, int, SeedSequence or Generator
        max_exact_size : int, default 12
            Under 1-hop-max, units whose closed neighbourhood has at most this many units get the
            exact value (cost :math:`2^k` times the number of candidate centres per unit); the
            others, and every unit under 3-net, are estimated. 0 turns the exact path off.

        Returns
        -------
        FullExposureProbabilities

        Notes
        -----
        Conditional on the clustering of a draw, unit i's closed neighbourhood spans
        :math:`D_i` clusters and is fully treated with probability :math:`p^{D_i}` (fully in
        control: :math:`(1-p)^{D_i}`). The estimate is the mean of these over ``n_draws``
        clusterings (Rao-Blackwellized: no coin noise), with standard error
        :math:`s/\sqrt{R}`, :math:`s` the sample standard deviation across draws.

        Exact 1-hop-max value: order the candidate centres (units of some :math:`B_1(j)`,
        :math:`j \in B_1(i)`) by decreasing weight; candidate v claims the still-unclaimed
        :math:`j` with :math:`v \in B_1(j)`, and each claim opens one new cluster. With claimed
        set :math:`C`, every candidate able to claim something is still unseen, so by
        exchangeability the next claimer is uniform among them:
        :math:`f(C) = q \cdot \mathrm{mean}_{v: N_v \not\subseteq C} f(C \cup N_v)`,
        :math:`f(B_1(i)) = 1`, probability :math:`f(\emptyset)`, with :math:`q = p` or
        :math:`1-p`.
        """
        n = self.n_units
        g = self._graph
        max_exact_size = check_int("max_exact_size", max_exact_size, low=0, high=20)
        prob = np.zeros((n, 2))
        se = np.zeros((n, 2))
        exact = np.zeros(n, dtype=bool)
        if self._clustering == "1-hop-max" and max_exact_size > 0:
            units = np.arange(n, dtype=np.int64)
            out = np.zeros((n, 2))
            _one_hop_max_exact(g.indptr, g.indices, self._u_indptr, self._u_indices, units, self._p,
                               max_exact_size, out, exact)
            prob[exact] = out[exact]
        rest = np.flatnonzero(~exact)
        used = 0
        if rest.size:
            n_draws = check_int("n_draws", n_draws, low=2)
            used = n_draws
            gen = check_rng(rng)
            s1 = np.zeros((n, 2))
            s2 = np.zeros((n, 2))
            step = self._batch()
            q = np.array([self._p, 1.0 - self._p])
            for start in range(0, n_draws, step):
                lab = self._cluster_batch(min(step, n_draws - start), gen)
                d = np.empty_like(lab)
                with threads_for(lab.shape[0] * (n + g.indices.shape[0])):
                    _distinct_many(g.indptr, g.indices, lab, n, d)
                for col in range(2):
                    x = q[col] ** d
                    s1[:, col] += x.sum(axis=0)
                    s2[:, col] += (x * x).sum(axis=0)
            mean = s1 / n_draws
            var = np.clip(s2 / n_draws - mean**2, 0.0, None) * n_draws / (n_draws - 1)
            prob[rest] = mean[rest]
            se[rest] = np.sqrt(var[rest] / n_draws)
        return FullExposureProbabilities(probabilities=readonly(prob), std_error=readonly(se),
                                         exact=readonly(exact), n_draws=used, node_ids=g.node_ids)

    def _repr_params(self):
        return {"n_units": self.n_units, "p": self._p, "clustering": self._clustering,
                "cluster_design": self._cluster_design}
