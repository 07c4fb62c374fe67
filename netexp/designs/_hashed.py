"""Hashed designs: the assignment is a pure function of (salt, unit or cluster id).

The hash is the one every engine can compute (see :func:`hash_uniform`), so an assignment made in a
warehouse (DuckDB, Spark) is the same as the one made here, and can be analysed here, or the reverse.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any, Literal

import numpy as np

from .._errors import DesignError, InputError
from .._validation import check_option, check_probability
from ._cluster import ClusterRandomized
from ._stratified import Complete
from ._unit import Bernoulli

__all__ = ["HashedDesign", "HashedAssignmentDesign", "hash_uniform", "hash_integers", "HASH_BITS"]

#: Bits of the md5 digest kept: 52, so the integer is exact in a float64 and in a signed 64-bit integer.
HASH_BITS = 52
_SCALE = 2.0 ** -HASH_BITS


def _id_strings(ids: Any) -> list[str]:
    arr = np.asarray(ids)
    if arr.ndim != 1:
        raise InputError(f"ids must be a 1-D array of unit or cluster ids; got shape {arr.shape}.")
    if arr.dtype.kind in "iu":
        return [str(int(v)) for v in arr.tolist()]
    if arr.dtype.kind in "UO" or arr.dtype.kind == "S":
        out = []
        for v in arr.tolist():
            if isinstance(v, bytes):
                v = v.decode()
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (str, int, np.integer)):
                raise InputError(f"ids must be integers or strings (the hash reads their decimal or text form); "
                                 f"got a {type(v).__name__} ({v!r}).")
            out.append(str(int(v)) if not isinstance(v, str) else v)
        return out
    raise InputError(f"ids must be integers or strings (the hash reads their decimal or text form); got dtype "
                     f"{arr.dtype}. Floating ids are ambiguous (1 vs 1.0): cast them to integers first.")


def hash_integers(salt: str, ids: Any) -> np.ndarray:
    """The 52-bit integers behind :func:`hash_uniform`, as int64."""
    if not isinstance(salt, str) or not salt:
        raise InputError(f"salt must be a non-empty string; got {salt!r}.")
    prefix = (salt + ":").encode()
    return np.array([int(hashlib.md5(prefix + s.encode()).hexdigest()[:13], 16) for s in _id_strings(ids)],
                    dtype=np.int64)


def hash_uniform(salt: str, ids: Any) -> np.ndarray:
    r"""The documented hash of (salt, id) to a uniform number in [0, 1).

    .. math:: u(\text{salt}, \text{id}) = \lfloor \text{md5}(\text{salt} \,\|\, \texttt{":"} \,\|\,
              \text{str}(\text{id})) / 2^{76} \rfloor \cdot 2^{-52}

    that is: the UTF-8 bytes of ``salt + ":" + str(id)`` (an integer id in decimal, a string id as
    it is), their md5 digest, its first 13 hex digits (52 bits, big-endian) read as an unsigned
    integer ``k``, and ``u = k / 2**52``. ``k`` is exact in a float64 and in a signed 64-bit
    integer, so every SQL engine computes it with integer arithmetic (DuckDB:
    ``CAST('0x' || substr(md5(s), 1, 13) AS BIGINT)``; Spark: ``CAST(conv(substr(md5(s), 1, 13), 16, 10)
    AS BIGINT)``) and gets the same number, bit for bit.

    Examples
    --------
    >>> from netexp.designs import hash_uniform
    >>> hash_uniform("exp-1", [1, 2, "a"]).round(6).tolist()
    [0.270492, 0.069079, 0.573404]
    """
    return hash_integers(salt, ids).astype(np.float64) * _SCALE


def bernoulli_threshold(p: float) -> int:
    """The integer ``T`` with ``k < T`` exactly when ``k / 2**52 < p`` (for every 52-bit ``k``)."""
    return int(math.ceil(p * 2.0 ** HASH_BITS))


class HashedDesign:
    """A design whose assignment is a pure function of a salt and each unit's (or cluster's) id.

    Parameters
    ----------
    salt : str
        The experiment's salt. Same salt + same id -> same arm, in numpy and in every engine.
    p : float in (0, 1), default 0.5
        Probability of treatment (``method="bernoulli"``) or share treated (``"complete"``).
    level : {"unit", "cluster"}
        Hash unit ids, or cluster ids (every unit follows its cluster).
    method : {"bernoulli", "complete"}
        ``"bernoulli"``: treated when :func:`hash_uniform` ``< p`` (independent coin flips, as
        ``Bernoulli``). ``"complete"``: the ``n_treated`` units (clusters) with the smallest hash,
        ties broken by the id's text, are treated (a uniformly random set of that size, as
        ``Complete``).
    n_treated : int, optional
        For ``"complete"``: how many to treat; default ``floor(p * n)``.

    Notes
    -----
    As a distribution (over a salt drawn at random) the hashed Bernoulli design is
    ``Bernoulli(n, p)`` and the hashed complete design ``Complete(n, n_treated)`` (over clusters
    with ``level="cluster"``), so their exact probabilities are those designs':
    :meth:`bind` returns that declared design with the hashed assignment attached.

    Examples
    --------
    >>> import netexp as ne
    >>> d = ne.HashedDesign("exp-2026-12-feed", p=0.5)
    >>> d.assign([10, 11, 12, 13]).astype(int).tolist()
    [1, 1, 1, 0]
    """

    def __init__(self, salt: str, p: float = 0.5, *, level: Literal["unit", "cluster"] = "unit",
                 method: Literal["bernoulli", "complete"] = "bernoulli", n_treated: int | None = None):
        if not isinstance(salt, str) or not salt:
            raise InputError(f"HashedDesign: salt must be a non-empty string; got {salt!r}.")
        self.salt = salt
        self.p = check_probability("HashedDesign: p", p)
        self.level = check_option("HashedDesign: level", level, ("unit", "cluster"))
        self.method = check_option("HashedDesign: method", method, ("bernoulli", "complete"))
        if n_treated is not None and self.method != "complete":
            raise DesignError("HashedDesign: n_treated applies to method='complete' only.")
        if n_treated is not None and (isinstance(n_treated, bool) or int(n_treated) != n_treated or n_treated < 1):
            raise DesignError(f"HashedDesign: n_treated must be a positive integer; got {n_treated!r}.")
        self.n_treated = None if n_treated is None else int(n_treated)
        self._frozen = True

    def __setattr__(self, key, value):
        if getattr(self, "_frozen", False):
            raise AttributeError("HashedDesign is immutable; declare a new design instead.")
        object.__setattr__(self, key, value)

    def __repr__(self) -> str:
        extra = f", n_treated={self.n_treated}" if self.n_treated is not None else ""
        return (f"HashedDesign(salt={self.salt!r}, p={self.p!r}, level={self.level!r}, "
                f"method={self.method!r}{extra})")

    @property
    def threshold(self) -> int:
        """Integer threshold on the 52-bit hash for ``method="bernoulli"`` (treated iff ``k < threshold``)."""
        return bernoulli_threshold(self.p)

    def count_treated(self, n: int) -> int:
        """Number treated among ``n`` randomization units under ``method="complete"``."""
        k = self.n_treated if self.n_treated is not None else int(math.floor(self.p * n))
        if not 1 <= k <= n - 1:
            raise DesignError(f"HashedDesign: complete randomization of {n} {self.level}s treats {k}; both arms "
                              "need at least one. Choose p or n_treated accordingly.")
        return k

    def assign_ids(self, ids: Any) -> np.ndarray:
        """Treatment of each randomization unit (unit or cluster) given its id: bool array."""
        k = hash_integers(self.salt, ids)
        if self.method == "bernoulli":
            return k < self.threshold
        strings = np.array(_id_strings(ids), dtype=object)
        if len(set(strings.tolist())) != strings.shape[0]:
            raise InputError("HashedDesign: ids must be distinct for complete randomization.")
        order = np.lexsort((strings, k))  # by hash, ties by the id's text
        z = np.zeros(k.shape[0], dtype=bool)
        z[order[:self.count_treated(k.shape[0])]] = True
        return z

    def assign(self, ids: Any, clusters: Any = None) -> np.ndarray:
        """Treatment of every unit: bool array in the order of ``ids``.

        ``clusters`` (one cluster id per unit) is required with ``level="cluster"``.
        """
        if self.level == "unit":
            return self.assign_ids(ids)
        cl = self._cluster_arg(ids, clusters)
        uniq, inv = np.unique(cl, return_inverse=True)
        return self.assign_ids(uniq)[inv]

    def _cluster_arg(self, ids, clusters):
        if clusters is None:
            raise InputError("HashedDesign(level='cluster') needs clusters= (the cluster id of every unit).")
        cl = np.asarray(clusters)
        if cl.ndim != 1 or cl.shape[0] != np.shape(ids)[0]:
            raise InputError(f"clusters must have one id per unit ({np.shape(ids)[0]}); got shape {cl.shape}.")
        return cl

    def bind(self, ids: Any, clusters: Any = None) -> "HashedAssignmentDesign":
        """The declared in-memory design for these units, carrying the hashed assignment.

        Its ``probabilities`` and joint probabilities are exact, so exposure probabilities,
        Horvitz-Thompson and Hajek estimates work with it in memory; ``assignment`` is the hashed
        draw (``sample(rng=)`` draws other assignments from the same distribution, e.g. for
        randomization tests).
        """
        return HashedAssignmentDesign(self, ids, clusters)


class HashedAssignmentDesign(ClusterRandomized):
    """A :class:`HashedDesign` bound to its units: the declared design plus the hashed assignment.

    A unit-level design is represented as cluster randomization of one-unit clusters, which has the
    same distribution (``Bernoulli(n, p)`` or ``Complete(n, n_treated)``) and the same exact
    probabilities.
    """

    def __init__(self, hashed: HashedDesign, ids: Any, clusters: Any = None):
        if not isinstance(hashed, HashedDesign):
            raise InputError(f"hashed must be a HashedDesign; got {type(hashed).__name__}.")
        ids = np.asarray(ids)
        n = ids.shape[0] if ids.ndim == 1 else 0
        if n < 2:
            raise InputError("HashedDesign.bind: need the ids of at least 2 units.")
        if hashed.level == "unit":
            labels = np.arange(n, dtype=np.int64)
            rid = ids
        else:
            cl = hashed._cluster_arg(ids, clusters)
            rid, labels = np.unique(cl, return_inverse=True)
        K = rid.shape[0]
        inner = Bernoulli(K, p=hashed.p) if hashed.method == "bernoulli" else \
            Complete(K, n_treated=hashed.count_treated(K))
        super().__init__(labels, inner)
        zr = hashed.assign_ids(rid)
        z = zr[np.asarray(self.labels)]
        z.flags.writeable = False
        object.__setattr__(self, "_hashed", hashed)
        object.__setattr__(self, "_assignment", z)

    @property
    def hashed(self) -> HashedDesign:
        return self._hashed

    @property
    def assignment(self) -> np.ndarray:
        """The hashed assignment of every unit (bool, read-only)."""
        return self._assignment

    def _repr_params(self):
        return {"hashed": self._hashed, "n_units": self.n_units, "n_clusters": self.n_clusters}
