"""Line up per-unit inputs for the issue-16 analyses: pandas objects by index, arrays by position.

Used by the estimators added for issue 16 (paired, recentred, multi-arm, ICC). A pandas input is
never used by position: it is reindexed to the reference order and a missing or extra label is
an error naming how many and the first few.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._align import align_to_ids
from ._errors import InputError

__all__ = ["align_units"]


def _is_pandas(x) -> bool:
    return isinstance(x, (pd.Series, pd.Index)) or (isinstance(x, pd.DataFrame) and x.shape[1] == 1)


def _as_series(name: str, x) -> pd.Series:
    if isinstance(x, pd.DataFrame):
        x = x.iloc[:, 0]
    if isinstance(x, pd.Index):
        raise InputError(f"{name} is a pandas Index; pass a Series (values indexed by unit) or an array.")
    if not x.index.is_unique:
        dup = x.index[x.index.duplicated()].unique()[:5].tolist()
        raise InputError(f"{name}: its index has duplicated unit labels (first {dup}); give one entry per unit.")
    return x


def align_units(inputs: dict[str, Any], *, order: Any = None, order_name: str = "the graph's node ids"
                ) -> tuple[dict[str, np.ndarray], pd.Index | None]:
    """Return the inputs as numpy arrays in one common unit order.

    Parameters
    ----------
    inputs : dict name -> array-like or pandas Series (``None`` values are passed through)
    order : sequence of unit labels, optional
        The reference order (e.g. a graph's node ids, or ``range(n)`` for design positions). When
        given, every pandas input is reindexed to it. When absent, the first pandas input's index
        is the reference and the other pandas inputs are reindexed to it.

    Returns
    -------
    arrays : dict name -> ndarray (positional, all of one length)
    index : pandas Index or None
        The unit labels of the common order (None when every input was a plain array and no
        ``order`` was given).
    """
    series = {k: _as_series(k, v) for k, v in inputs.items() if v is not None and _is_pandas(v)}
    ref = None
    ref_name = order_name
    if order is not None:
        ref = pd.Index(order)
    elif series:
        ref_name, first = next(iter(series.items()))
        ref = first.index
    out: dict[str, np.ndarray] = {}
    for k, v in inputs.items():
        if v is None:
            out[k] = None
            continue
        if k in series:
            s = series[k]
            # one rule for every public function: the shared aligner (refuses missing / unknown labels)
            out[k] = s.to_numpy() if ref is None or s.index.equals(ref) else np.asarray(
                align_to_ids(s, ref, name=k, against=ref_name if order is not None else f"the index of {ref_name}"))
        else:
            out[k] = np.asarray(v)
    n = None if ref is None else len(ref)
    for k, a in out.items():
        if a is None:
            continue
        if a.ndim != 1:
            raise InputError(f"{k} must be one value per unit (1-D); got shape {a.shape}.")
        if n is None:
            n, ref_name = a.shape[0], k
        elif a.shape[0] != n:
            raise InputError(f"{k} has {a.shape[0]} entries but {ref_name} has {n}; give one entry per unit "
                             "(arrays are matched by position, pandas Series by index).")
    return out, ref


def aligns_itself(*names: str):
    """Mark a public function that aligns the named per-unit arguments by id in its own body.

    For functions whose ids are not a graph's node ids (a bipartite graph's two sides, a
    Clustering's graph), which the shared :func:`netexp._align.aligned` decorator cannot see. The
    marker is what the structural test over ``ne.__all__`` reads.
    """

    def deco(func):
        func.__wrapped_aligned__ = tuple(names)
        return func

    return deco
