"""Per-unit inputs aligned by id, never by position.

A pandas ``Series`` / ``DataFrame`` carries its unit ids in its index; using it by position
silently pairs one unit's outcome with another unit's treatment as soon as the rows are in a
different order (a merge, a sort, a shuffle). statsmodels refuses misaligned indices; so does
netexp. The rule, applied by :func:`aligned` at the boundary of every public function that
takes per-unit data:

* **With a graph** (an argument that is a :class:`~netexp.Graph`, or an object carrying
  ``node_ids`` such as :class:`~netexp.ExposureProbabilities`): each pandas input is reordered
  to the graph's node ids. Its index must hold every node id exactly once and nothing else;
  otherwise the call fails naming the missing and unknown ids.
* **Without a graph**: the first pandas input's index is the reference order; every other
  pandas input must carry the same set of labels (each once) and is reordered to it. When the
  function also takes a design (which numbers units by position only), reordering could pair a
  unit with another unit's draw: the pandas inputs must then share one index in one order.
* **A design object and no graph**: a design numbers its units 0..n-1 and carries no ids, so a
  pandas index other than those positions (0..n-1 in order, e.g. the default ``RangeIndex``)
  cannot be matched to the design's units: used by position it would silently pair a unit's
  outcome with another unit's draw, cluster or pair whenever the rows are not in the design's
  order. Such an input is refused, naming the fix (a numpy array in the design's unit order).
  A graph, where the function uses one, translates the ids (first rule).
* **numpy arrays, lists** are positional: in node order with a graph, in the reference order
  otherwise. Their lengths are checked by the function itself.

Nothing else changes: a numpy caller sees exactly the old behaviour.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Sequence

import numpy as np

from ._errors import InputError

__all__ = ["aligned", "align_to_ids", "is_pandas"]


def is_pandas(value: Any) -> bool:
    import pandas as pd

    return isinstance(value, (pd.Series, pd.DataFrame))


def _fmt_ids(values, k: int = 5) -> str:
    vals = list(values[:k])
    out = ", ".join(repr(v.item() if isinstance(v, np.generic) else v) for v in vals)
    return out + (", ..." if len(values) > k else "")


def _index_of(value):
    return value.index


def align_to_ids(value, ids, *, name: str, against: str = "the graph's node ids"):
    """``value`` (a pandas Series / DataFrame) reordered to ``ids``; refuse unless the labels match exactly.

    Returns a numpy array for a Series and a DataFrame (with ``ids`` as its index) for a DataFrame.
    """
    import pandas as pd

    idx = value.index
    if idx.has_duplicates:
        dup = idx[idx.duplicated()].unique()
        raise InputError(f"{name}: its index repeats {len(dup)} label(s) ({_fmt_ids(dup)}); each unit must appear "
                         "once.")
    target = pd.Index(ids)
    if idx.equals(target):
        out = value
    else:
        if idx.dtype != target.dtype and (idx.dtype.kind in "iu") != (target.dtype.kind in "iu"):
            # e.g. string labels against integer node ids: no label can match; say so plainly
            raise InputError(f"{name}: its index does not match {against}: it holds {idx.dtype} labels, they are "
                             f"{target.dtype}; convert the index (e.g. `.index.astype(...)`) or pass a numpy array in "
                             "that order.")
        missing = target.difference(idx)
        extra = idx.difference(target)
        if len(missing) or len(extra):
            parts = []
            if len(missing):
                parts.append(f"{len(missing)} of {against} are missing from it ({_fmt_ids(missing)})")
            if len(extra):
                parts.append(f"{len(extra)} label(s) are not among them ({_fmt_ids(extra)})")
            raise InputError(f"{name} is a pandas {type(value).__name__} aligned by its index, and the index does "
                             f"not match {against}: " + "; ".join(parts) + ". Align it first (e.g. "
                             "`.reindex(...)`), or pass a numpy array in that order.")
        out = value.reindex(target)
    if isinstance(out, pd.Series):
        return out.to_numpy()
    return out


def _graph_ids(bound: inspect.BoundArguments, graph_params: Sequence[str]):
    for g in graph_params:
        obj = bound.arguments.get(g)
        if obj is None:
            continue
        ids = getattr(obj, "node_ids", None)
        if ids is not None:
            what = "the graph's node ids" if type(obj).__name__ == "Graph" else f"the node ids of {g}"
            return np.asarray(ids), what
    return None, None


def _is_design(obj) -> bool:
    """A design object (numbers units 0..n-1, no ids), as opposed to per-unit labels given in its place."""
    return obj is not None and hasattr(obj, "n_units") and not is_pandas(obj) and not isinstance(obj, np.ndarray)


def _refuse_unpositioned(name: str, val, pos: str) -> None:
    """Refuse a pandas input beside a design (no graph) unless its labels are the design's positions 0..n-1."""
    import pandas as pd

    idx = val.index
    if idx.equals(pd.RangeIndex(len(idx))):
        return  # labels 0..n-1 in order: by id and by position are the same reading
    raise InputError(f"{name} is a pandas {type(val).__name__} indexed by ids ({_fmt_ids(idx)}), but the {pos} numbers "
                     f"units by position (0..{len(idx) - 1}) and carries no ids: netexp cannot tell which of the "
                     f"{pos}'s units each row is, and used by position a row out of the {pos}'s order would be paired "
                     f"with another unit's draw. Put the rows in the {pos}'s unit order and pass `{name}.to_numpy()` "
                     "(or drop the ids with `.reset_index(drop=True)`).")


def aligned(*per_unit: str, graph: Sequence[str] | str = ("graph",), positional: Sequence[str] = ("design",)
            ) -> Callable:
    """Decorator: align the named per-unit arguments of a public function by id (see the module notes).

    Parameters
    ----------
    *per_unit : str
        Names of the arguments that hold one entry per unit (outcomes, assignment, clusters,
        covariate frames...).
    graph : str or sequence of str
        Names of arguments whose ``node_ids`` define the unit order, tried in turn.
    positional : sequence of str
        Arguments (a design) that number the units by position without knowing their ids. When
        one is given and no graph fixes the ids, pandas inputs cannot be reordered safely (the
        design's unit ``i`` is row ``i``): they must share one index in one order, else an error;
        beside a design object that index must also be the positions 0..n-1 (a design has no ids).
    """
    graph_params = (graph,) if isinstance(graph, str) else tuple(graph)

    def deco(func):
        sig = inspect.signature(func)
        names = [p for p in per_unit if p in sig.parameters]
        missing = set(per_unit) - set(names)
        if missing:  # a typo here would silently skip alignment: fail at import instead
            raise TypeError(f"aligned({func.__qualname__}): no parameter(s) {sorted(missing)}")

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            if not any(is_pandas(a) for a in args) and not any(is_pandas(v) for v in kwargs.values()):
                return func(*args, **kwargs)
            try:
                bound = sig.bind(*args, **kwargs)
            except TypeError:
                return func(*args, **kwargs)  # let Python raise its own message
            ids, against = _graph_ids(bound, graph_params)
            strict = ids is None and any(bound.arguments.get(p) is not None for p in positional)
            design = next((p for p in positional if _is_design(bound.arguments.get(p))), None) if strict else None
            ref_name = None
            for name in names:
                val = bound.arguments.get(name)
                if not is_pandas(val):
                    continue
                if ids is None:
                    if ref_name is None:
                        ref_name, ref_val = name, val
                        ref = val.index
                        if ref.has_duplicates:
                            align_to_ids(val, ref.unique(), name=name)  # raises on the duplicates
                        ids_ref = np.asarray(ref)
                        bound.arguments[name] = val.to_numpy() if val.ndim == 1 else val
                        continue
                    if strict and not val.index.equals(ref):
                        pos = [p for p in positional if bound.arguments.get(p) is not None][0]
                        raise InputError(f"{name} and {ref_name} are pandas objects whose indexes differ (in labels "
                                         f"or order), and {pos} numbers units by position, so netexp cannot tell "
                                         f"which order is the {pos}'s. Put both in the {pos}'s unit order (e.g. "
                                         f"`.reindex(graph.node_ids)`), or pass numpy arrays in that order.")
                    bound.arguments[name] = align_to_ids(val, ids_ref, name=name,
                                                         against=f"the index of {ref_name}")
                else:
                    bound.arguments[name] = align_to_ids(val, ids, name=name, against=against)
            if design is not None and ref_name is not None:  # the pandas inputs share one index: is it positions?
                _refuse_unpositioned(ref_name, ref_val, design)
            return func(*bound.args, **bound.kwargs)

        wrapper.__wrapped_aligned__ = tuple(names)
        return wrapper

    return deco
