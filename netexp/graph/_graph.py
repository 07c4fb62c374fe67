"""The immutable Graph type: CSR adjacency over units 0..n-1 plus the user's node ids."""

from __future__ import annotations

from functools import cached_property
from typing import Any, Iterable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .. import _errors
from .._errors import GraphError, GraphWarning, InputError
from .._validation import readonly
from ._csr import build_csr

__all__ = ["Graph"]


def _as_str_ids(values) -> np.ndarray:
    """Ids as a 1-D object array of str, converted in C (no per-node Python loop).

    ``np.fromiter`` keeps tuple-valued ids (networkx allows them) as single elements.
    """
    if isinstance(values, np.ndarray) and values.ndim == 1:
        arr = values
    else:
        seq = list(values)
        arr = np.fromiter(seq, dtype=object, count=len(seq))
    try:
        return arr.astype(str).astype(object)
    except ValueError:  # non-scalar ids (tuples): numpy cannot cast them, str() each one
        out = np.empty(arr.shape[0], dtype=object)
        out[:] = [str(x) for x in arr]
        return out


_MISSING_TEXT = ("nan", "inf", "-inf", "None", "<NA>", "NaT")
_INT64_MAX = np.iinfo(np.int64).max


def _examples(values, k: int = 5) -> str:
    return ", ".join(repr(x.item() if isinstance(x, np.generic) else x) for x in list(values)[:k])


def _as_id_array(values, what: str, info: dict | None = None) -> np.ndarray:
    """Node ids as a 1-D array: int64 when every id is an integer, else the values as given (object).

    Missing (None, NaN, pd.NA) and infinite ids are an error naming ``what``; floats that are
    whole numbers become integers; unsigned ids beyond int64 stay exact as text.
    """
    if isinstance(values, (pd.Series, pd.Index)):
        arr = values.to_numpy()
    elif isinstance(values, np.ndarray):
        arr = values
    else:
        seq = list(values)
        arr = np.fromiter(seq, dtype=object, count=len(seq))  # lists keep each id's own type
    if arr.ndim != 1:
        return arr
    kind = arr.dtype.kind
    if kind == "u" and arr.size and int(arr.max()) > _INT64_MAX:
        if info is not None:
            info["overflow"] = True
        return _as_str_ids(arr)  # ids >= 2^63 must not wrap
    if kind in "iu":
        return arr.astype(np.int64, copy=False)
    if kind == "O" and arr.size:
        inferred = pd.api.types.infer_dtype(arr, skipna=False)
        if inferred == "integer":
            try:
                return arr.astype(np.int64)
            except OverflowError:  # Python ints beyond int64: exact as text
                if info is not None:
                    info["overflow"] = True
                return _as_str_ids(arr)
        if inferred in ("floating", "mixed-integer-float", "decimal"):
            try:
                arr = arr.astype(np.float64)
                kind = "f"
            except (TypeError, ValueError):
                pass
    if kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            raise InputError(f"{what}: {int(bad.sum())} node ids are missing (NaN) or infinite (e.g. "
                             f"{_examples(arr[bad], 3)}, at positions {np.flatnonzero(bad)[:5].tolist()}); drop "
                             "those edges first (df.dropna()).")
        if np.all(arr == np.round(arr)) and (arr.size == 0 or np.abs(arr).max() <= 2 ** 53):
            return arr.astype(np.int64)
        return _as_str_ids(arr)
    if kind == "O" and arr.size:
        strs = _as_str_ids(arr)
        cand = np.flatnonzero(np.isin(strs, _MISSING_TEXT))
        bad = [i for i in cand.tolist() if not isinstance(arr[i], str)]
        if bad:
            raise InputError(f"{what}: {len(bad)} node ids are missing or infinite (None, NaN, pd.NA or inf; e.g. "
                             f"{_examples(arr[bad], 3)}, at positions {bad[:5]}); drop those edges first "
                             "(df.dropna()).")
    return arr


def _check_no_merge(orig: np.ndarray, strs: np.ndarray) -> None:
    """Ids of different types whose text is the same (``1`` and ``"1"``) must not become one node."""
    if orig.dtype != object or pd.api.types.infer_dtype(orig, skipna=False) in ("string", "empty"):
        return
    codes_s, _ = pd.factorize(strs)
    codes_o, uniq_o = pd.factorize(orig)
    if codes_o.max(initial=-1) == codes_s.max(initial=-1):
        return
    pairs = pd.DataFrame({"s": codes_s, "o": codes_o}).drop_duplicates()
    clash = pairs[pairs["s"].duplicated(keep=False)]
    first = clash[clash["s"] == clash["s"].iloc[0]]["o"].to_numpy()
    vals = [uniq_o[i] for i in first[:3]]
    shown = " and ".join(f"{v!r} ({type(v).__name__})" for v in vals)
    raise InputError(f"node ids {shown} would become the same node; give ids of one type (for example "
                     "all strings: df[col].astype(str), or all integers).")


def _normalize_ids(ids: np.ndarray) -> np.ndarray:
    """Integer ids stay int64; anything else becomes an object array of str."""
    arr = np.asarray(ids)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "f" and arr.size and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        return arr.astype(np.int64)
    return _as_str_ids(arr)


class Graph:
    """An immutable graph of experimental units.

    Units are numbered ``0..n_nodes-1`` internally; :attr:`node_ids` keeps the ids the user
    gave (integers or strings) and every table netexp writes is keyed by them.

    **Orientation.** Row ``i`` of :attr:`adjacency` lists the units whose treatment can affect
    unit ``i`` (its in-neighbours). For an undirected graph the matrix is symmetric. For a
    directed graph built from pairs ``(source, target)``, the pair means *source's treatment
    can reach target*, so it sets ``adjacency[target, source] = 1``; exposure of a unit then
    counts its treated in-neighbours.

    The adjacency is binary, has no self-loops and no repeated entries; rows are sorted. The
    constructor is private to the package: build graphs with :meth:`from_edges`,
    :meth:`from_pandas`, :meth:`from_networkx`, :meth:`from_igraph`, :func:`netexp.read_graph`
    or a generator.

    Examples
    --------
    >>> import netexp as ne
    >>> g = ne.Graph.from_edges(["a", "b", "c"], ["b", "c", "a"])
    >>> g
    Graph(n_nodes=3, n_edges=3, directed=False)
    >>> g.degree.tolist()
    [2, 2, 2]
    """

    __slots__ = ("_indptr", "_indices", "_node_ids", "_directed", "_name", "__dict__")

    def __init__(self, indptr, indices, node_ids, *, directed: bool = False, name: str | None = None):
        indptr = np.asarray(indptr, dtype=np.int64)
        indices = np.asarray(indices, dtype=np.int32)
        node_ids = _normalize_ids(node_ids)
        n = node_ids.shape[0]
        if n == 0:
            raise GraphError("The graph is empty (no nodes); check the input file or edge arrays.")
        if indptr.shape != (n + 1,) or indptr[0] != 0 or indptr[-1] != indices.shape[0]:
            raise GraphError("Internal CSR arrays are inconsistent with the number of node ids.")
        if pd.Index(node_ids).has_duplicates:
            raise GraphError("node_ids must be unique.")
        self._indptr = readonly(indptr)
        self._indices = readonly(indices)
        self._node_ids = readonly(node_ids)
        self._directed = bool(directed)
        self._name = name

    def with_isolated_nodes(self, node_ids: Iterable[Any]) -> "Graph":
        """A new graph with ``node_ids`` added as units without edges (after the existing ones).

        For experiments whose population includes units with no edges: an edge list cannot
        mention them. Ids already in the graph are an error (nothing is silently merged).
        """
        new = _normalize_ids(np.asarray(list(node_ids) if not isinstance(node_ids, np.ndarray) else node_ids))
        if new.shape[0] == 0:
            return self
        clash = pd.Index(new).intersection(pd.Index(self._node_ids))
        if len(clash):
            raise GraphError(f"with_isolated_nodes: {len(clash)} ids are already nodes (e.g. {list(clash[:5])}).")
        if (new.dtype.kind in "iu") != (self._node_ids.dtype.kind in "iu"):
            kind = "integers" if self._node_ids.dtype.kind in "iu" else "text"
            raise GraphError(f"with_isolated_nodes: the graph's node ids are {kind}, the new ids are not (e.g. "
                             f"{new[:3].tolist()}); give ids of the same kind.")
        ids = np.concatenate([self._node_ids, new])
        indptr = np.concatenate([self._indptr, np.full(new.shape[0], self._indptr[-1], dtype=np.int64)])
        return Graph(indptr, self._indices, ids, directed=self._directed, name=self._name)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_edges(
        cls,
        source: Iterable[Any],
        target: Iterable[Any],
        *,
        directed: bool = False,
        nodes: Iterable[Any] | None = None,
        name: str | None = None,
    ) -> "Graph":
        """Build a graph from two equal-length sequences of node ids.

        Parameters
        ----------
        source, target : array-like
            Endpoints of each edge. Ids may be integers or strings.
        directed : bool, default False
            If True, ``(source, target)`` means source's treatment can reach target.
            Otherwise each pair is an undirected tie.
        nodes : array-like, optional
            Extra node ids to include (isolated units, which no edge can name). Their order
            comes first; ids only seen in edges follow in order of first appearance, or in
            increasing order when all ids are integers.
        name : str, optional
            A label shown in reports.

        Raises
        ------
        InputError
            For missing (None, NaN, pd.NA) or infinite ids, and for ids of different types that
            would become one node (``1`` and ``"1"``). Whole-number floats become integers;
            integers beyond int64 are kept exactly, as text.

        Warns
        -----
        GraphWarning
            When self-loops are dropped or repeated edges merged, with their counts.
        """
        info: dict = {}
        src = _as_id_array(source, "source", info)
        dst = _as_id_array(target, "target", info)
        if src.ndim != 1 or src.shape != dst.shape:
            raise InputError(
                f"source and target must be 1-D and of equal length; got shapes {src.shape} and {dst.shape}."
            )
        extra = None if nodes is None else _as_id_array(nodes, "nodes", info)
        if info.get("overflow"):  # integers beyond int64 are text: then every integer id is text
            src, dst = (_as_str_ids(a) if a.dtype.kind in "iu" else a for a in (src, dst))
            if extra is not None and extra.dtype.kind in "iu":
                extra = _as_str_ids(extra)
        ids, codes = _factorize_ids(src, dst, extra)
        n = ids.shape[0]
        if n == 0:
            raise GraphError("The graph is empty (no edges and no nodes); check the input.")
        m = src.shape[0]
        u = codes[:m]
        v = codes[m:]
        return cls._from_codes(n, u, v, ids, directed=directed, name=name)

    @classmethod
    def _from_codes(cls, n, u, v, ids, *, directed=False, name=None, warn=True) -> "Graph":
        loops = u == v
        n_loops = int(loops.sum())
        if n_loops:
            u = u[~loops]
            v = v[~loops]
            if warn:
                _errors.warn(f"Dropped {n_loops} self-loop(s): a unit cannot be its own neighbour.",
                             GraphWarning)
        if directed:
            indptr, indices = build_csr(n, v, u, symmetric=False)
            n_dups = u.shape[0] - indices.shape[0]
        else:
            indptr, indices = build_csr(n, u, v, symmetric=True)
            n_dups = u.shape[0] - indices.shape[0] // 2
        if n_dups and warn:
            what = "arc(s)" if directed else "edge(s) (u-v and v-u count as the same edge)"
            _errors.warn(f"Merged {n_dups} duplicate {what}.", GraphWarning)
        return cls(indptr, indices, ids, directed=directed, name=name)

    @classmethod
    def from_csr(cls, matrix, node_ids=None, *, directed: bool | None = None, name: str | None = None) -> "Graph":
        """Build a graph from a square sparse (or dense) matrix; nonzeros are edges.

        ``matrix[i, j] != 0`` means j's treatment can affect i. If ``directed`` is None it is
        inferred (False when the pattern is symmetric). Weights and the diagonal are dropped.
        """
        a = sp.csr_array(matrix)
        if a.ndim != 2 or a.shape[0] != a.shape[1]:
            raise InputError(f"matrix must be square; got shape {a.shape}.")
        a.eliminate_zeros()
        coo = a.tocoo()
        n = a.shape[0]
        if directed is None:
            pattern = sp.csr_array((np.ones(coo.nnz), (coo.row, coo.col)), shape=a.shape)
            directed = (pattern != pattern.T).nnz > 0
        ids = np.arange(n) if node_ids is None else np.asarray(node_ids)
        if ids.shape[0] != n:
            raise InputError(f"node_ids must have {n} entries; got {ids.shape[0]}.")
        rows, cols = coo.row.astype(np.int64), coo.col.astype(np.int64)
        if directed:
            # entry (i, j) = j -> i
            return cls._from_codes(n, cols, rows, ids, directed=True, name=name)
        keep = rows < cols
        upper_missing = (rows > cols)
        rows_all = np.concatenate([rows[keep], cols[upper_missing]])
        cols_all = np.concatenate([cols[keep], rows[upper_missing]])
        return cls._from_codes(n, rows_all, cols_all, ids, directed=False, name=name, warn=False)

    @classmethod
    def from_pandas(cls, df: pd.DataFrame, source: str | None = None, target: str | None = None,
                    *, directed: bool = False, nodes=None, add_missing_nodes: bool = False,
                    name: str | None = None) -> "Graph":
        """Build a graph from a DataFrame of edges (default: its first two columns).

        Parameters
        ----------
        df : DataFrame
            One row per edge.
        source, target : str, optional
            The endpoint columns (default: the first two columns).
        directed : bool, default False
            As in :meth:`from_edges`.
        nodes : array-like, optional
            Every unit of the experiment, including those without edges (their order comes
            first). An edge endpoint missing from ``nodes`` is an error, unless
            ``add_missing_nodes=True``: a node table that lacks some units usually means the two
            tables do not match.
        add_missing_nodes : bool, default False
            Add edge endpoints missing from ``nodes`` as units instead of refusing.
        name : str, optional
            A label shown in reports.
        """
        if not isinstance(df, pd.DataFrame):
            raise InputError(f"df must be a pandas DataFrame; got {type(df).__name__}.")
        cols = list(df.columns)
        if source is None and target is None:
            if len(cols) < 2:
                raise InputError(f"df needs two id columns; got columns {cols}.")
            source, target = cols[0], cols[1]
        for c in (source, target):
            if c not in df.columns:
                raise InputError(f"column {c!r} is not in the DataFrame; available: {cols}.")
        s, t = df[source], df[target]
        if s.isna().any() or t.isna().any():
            bad = int(s.isna().sum() + t.isna().sum())
            raise InputError(f"{bad} edge endpoints are missing (NaN); drop those rows first.")
        g = cls.from_edges(s, t, directed=directed, nodes=nodes, name=name)
        if nodes is not None and not add_missing_nodes:
            listed = _as_id_array(nodes, "nodes")
            if g.node_ids.dtype == object:
                listed = _as_str_ids(listed)
            missing = ~pd.Series(g.node_ids).isin(pd.Series(listed, dtype=g.node_ids.dtype)).to_numpy()
            if missing.any():
                raise GraphError(
                    f"{int(missing.sum())} edge endpoints are not in nodes (e.g. {_examples(g.node_ids[missing])}); "
                    "nodes= must list every unit. Add them to nodes, drop those edges, or pass "
                    "add_missing_nodes=True to add them as units."
                )
        return g

    @classmethod
    def from_networkx(cls, G, *, name: str | None = None) -> "Graph":
        """Build from a networkx (Di)Graph; node labels become node ids, isolates are kept."""
        import networkx as nx

        if not isinstance(G, nx.Graph):
            raise InputError(f"expected a networkx graph; got {type(G).__name__}.")
        nodes = list(G.nodes)
        _as_id_array(nodes, "networkx node labels")  # NaN / inf labels are an error, not a node "nan"
        index = {v: i for i, v in enumerate(nodes)}
        edges = np.array([(index[a], index[b]) for a, b in G.edges()], dtype=np.int64).reshape(-1, 2)
        ids = np.asarray(nodes) if _all_int(nodes) else _as_str_ids(nodes)
        return cls._from_codes(len(nodes), edges[:, 0], edges[:, 1], ids, directed=G.is_directed(),
                               name=name or (G.name or None))

    @classmethod
    def from_igraph(cls, G, *, id_attribute: str = "name", name: str | None = None) -> "Graph":
        """Build from an igraph Graph; vertex attribute ``id_attribute`` (if present) gives node ids."""
        import igraph as ig

        if not isinstance(G, ig.Graph):
            raise InputError(f"expected an igraph Graph; got {type(G).__name__}.")
        n = G.vcount()
        ids = G.vs[id_attribute] if id_attribute in G.vs.attributes() else list(range(n))
        e = np.array(G.get_edgelist(), dtype=np.int64).reshape(-1, 2)
        _as_id_array(ids, f"igraph vertex attribute {id_attribute!r}")
        ids = np.asarray(ids) if _all_int(ids) else _as_str_ids(ids)
        return cls._from_codes(n, e[:, 0], e[:, 1], ids, directed=G.is_directed(), name=name)

    # ------------------------------------------------------------------ basic properties
    @property
    def n_nodes(self) -> int:
        """Number of units."""
        return int(self._node_ids.shape[0])

    def __len__(self) -> int:
        return self.n_nodes

    @property
    def n_edges(self) -> int:
        """Number of edges (undirected) or arcs (directed)."""
        nnz = int(self._indices.shape[0])
        return nnz if self._directed else nnz // 2

    @property
    def directed(self) -> bool:
        return self._directed

    @property
    def name(self) -> str | None:
        return self._name

    @property
    def node_ids(self) -> np.ndarray:
        """The user's node ids, position ``i`` naming unit ``i`` (read-only)."""
        return self._node_ids

    @property
    def indptr(self) -> np.ndarray:
        """CSR row pointer (int64, read-only)."""
        return self._indptr

    @property
    def indices(self) -> np.ndarray:
        """CSR column indices (int32, read-only); row i lists i's in-neighbours, sorted."""
        return self._indices

    @cached_property
    def degree(self) -> "DegreeArray":
        """Number of units that can affect each unit (in-degree; the degree if undirected).

        A read-only integer array by internal index (``g.degree[i]``, ``g.degree.max()``) that can
        also be called as in networkx and igraph: ``g.degree()`` gives the array,
        ``g.degree(node_id)`` one node's degree (an int), ``g.degree([id, ...])`` an array.

        >>> import netexp as ne
        >>> g = ne.Graph.from_edges([1, 2], [2, 3])
        >>> g.degree().tolist(), g.degree(2), g.degree([3, 1]).tolist(), int(g.degree[0])
        ([1, 2, 1], 2, [1, 1], 1)
        """
        d = readonly(np.diff(self._indptr)).view(DegreeArray)
        d._graph_index_of = self.index_of
        return d

    @cached_property
    def adjacency(self) -> sp.csr_array:
        """The adjacency as a ``scipy.sparse.csr_array`` of float64 ones (row i = in-neighbours of i)."""
        data = np.ones(self._indices.shape[0], dtype=np.float64)
        a = sp.csr_array((data, self._indices, self._indptr), shape=(self.n_nodes, self.n_nodes))
        a.has_sorted_indices = True
        return a

    @cached_property
    def _id_index(self) -> pd.Index:
        return pd.Index(self._node_ids)

    def index_of(self, ids: Iterable[Any], *, what: str = "node ids") -> np.ndarray:
        """Internal positions of the given node ids; unknown ids raise :class:`GraphError`."""
        arr = np.asarray(ids, dtype=object) if isinstance(ids, (list, tuple)) else np.asarray(ids)
        if arr.ndim == 0:
            arr = arr[None]
        if self._node_ids.dtype == object:
            arr = _as_str_ids(arr)
            pos = self._id_index.get_indexer(arr)
        elif arr.dtype.kind in "iu":
            pos = self._id_index.get_indexer(arr.astype(np.int64))
        else:
            # integer graph, ids given as strings/floats/mixed (e.g. read from a CSV): match the
            # entries that are whole numbers, the rest are unknown
            # text must be a plain integer ("7", or "7.0" as pandas writes floats): "007" is another id
            ser = pd.Series(arr, dtype=object)
            text = ser.astype(str).str.strip()
            plain = text.str.fullmatch(r"-?(0|[1-9][0-9]*)(\.0+)?").to_numpy(dtype=bool)
            kind = pd.api.types.infer_dtype(ser, skipna=False)
            is_str = (np.ones(len(ser), dtype=bool) if kind == "string"
                      else ser.map(lambda x: isinstance(x, str)).to_numpy(dtype=bool))
            num = pd.to_numeric(ser.where(~is_str | plain), errors="coerce").to_numpy(dtype=float)
            ok = np.isfinite(num) & (num == np.round(num)) & (np.abs(num) < 2 ** 63)
            pos = np.full(arr.shape[0], -1, dtype=np.int64)
            pos[ok] = self._id_index.get_indexer(num[ok].astype(np.int64))
        missing = pos < 0
        if missing.any():
            examples = _examples(arr[missing])
            raise GraphError(
                f"{int(missing.sum())} {what} are not nodes of the graph (e.g. {examples}); "
                "check that the file belongs to this graph and uses the same ids."
            )
        return pos.astype(np.int64)

    def neighbors(self, node) -> np.ndarray:
        """Ids of the units whose treatment can affect ``node``."""
        i = int(self.index_of([node])[0])
        return self._node_ids[self._indices[self._indptr[i]:self._indptr[i + 1]]]

    def edges(self) -> tuple[np.ndarray, np.ndarray]:
        """Internal edge endpoints ``(u, v)``: each undirected edge once with u < v; arcs as source, target."""
        rows = np.repeat(np.arange(self.n_nodes, dtype=np.int64), np.diff(self._indptr))
        cols = self._indices.astype(np.int64)
        if self._directed:
            return cols, rows
        keep = cols < rows
        return cols[keep], rows[keep]

    def to_pandas(self) -> pd.DataFrame:
        """Edge table keyed by node ids (columns ``source``, ``target``)."""
        u, v = self.edges()
        return pd.DataFrame({"source": self._node_ids[u], "target": self._node_ids[v]})

    # ------------------------------------------------------------------ conversions
    def to_networkx(self):
        """A networkx Graph (or DiGraph) with the user's node ids as labels."""
        import networkx as nx

        G = nx.DiGraph() if self._directed else nx.Graph()
        ids = self._node_ids.tolist()
        G.add_nodes_from(ids)
        u, v = self.edges()
        G.add_edges_from(zip(self._node_ids[u].tolist(), self._node_ids[v].tolist()))
        return G

    def to_igraph(self):
        """An igraph Graph with vertex attribute ``name`` holding the node ids."""

        G = self._igraph_plain()
        G.vs["name"] = self._node_ids.tolist()
        return G

    @cached_property
    def _undirected(self) -> tuple[np.ndarray, np.ndarray]:
        """``(indptr int64, indices int32)`` with every edge in both directions (the pattern of
        :math:`A + A^T` for a directed graph; the graph's own arrays otherwise). For algorithms on
        path distance, which ignores orientation: 3-nets, colourings, ego selection, network HAC."""
        if not self._directed:
            return self._indptr, self._indices
        a = self.adjacency
        s = sp.csr_array((a + a.T) != 0)
        s.sort_indices()
        return readonly(s.indptr.astype(np.int64)), readonly(s.indices.astype(np.int32))

    def _igraph_plain(self):
        """igraph Graph over internal indices, no attributes (what community detection needs).

        ``add_edges`` with a numpy array is ~4x faster than the ``edges=`` constructor argument.
        """
        import igraph as ig

        u, v = self.edges()
        G = ig.Graph(n=self.n_nodes, directed=self._directed)
        G.add_edges(np.column_stack([u, v]))
        return G

    # ------------------------------------------------------------------ structure
    def connected_components(self) -> np.ndarray:
        """Component label of every unit (weak components for directed graphs), largest first."""
        from scipy.sparse.csgraph import connected_components

        _, labels = connected_components(self.adjacency, directed=self._directed, connection="weak")
        sizes = np.bincount(labels)
        order = np.argsort(-sizes, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.shape[0])
        return rank[labels]

    def info(self, *, clustering_coefficient: bool = True) -> dict:
        """Summary statistics: nodes, edges, isolates, components, degree quantiles, clustering.

        ``average_clustering`` is the mean local clustering coefficient with zero for units of
        degree < 2 (networkx's ``average_clustering`` convention); ``transitivity`` is the global
        ratio 3 x triangles / connected triples. Both treat the graph as undirected.
        """
        deg = np.asarray(self.degree)
        comp = self.connected_components()
        sizes = np.bincount(comp)
        q = np.quantile(deg, [0.0, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0])
        out = {
            "name": self._name,
            "directed": self._directed,
            "n_nodes": self.n_nodes,
            "n_edges": self.n_edges,
            "n_isolates": int((deg == 0).sum()) if not self._directed else int(
                ((deg == 0) & (np.bincount(self._indices, minlength=self.n_nodes) == 0)).sum()),
            "n_components": int(sizes.shape[0]),
            "largest_component": int(sizes.max()),
            "mean_degree": float(deg.mean()),
            "degree_quantiles": {k: float(x) for k, x in zip(["min", "25%", "50%", "75%", "90%", "99%", "max"], q)},
        }
        if clustering_coefficient:
            ig_graph = self._igraph_plain()
            if self._directed:
                ig_graph = ig_graph.as_undirected(mode="collapse")
            local = np.asarray(ig_graph.transitivity_local_undirected(mode="zero"), dtype=float)
            d = np.asarray(ig_graph.degree(), dtype=float)
            out["n_triangles"] = int(round(float((local * d * (d - 1) / 2).sum()) / 3))
            out["average_clustering"] = float(local.mean())
            out["transitivity"] = float(ig_graph.transitivity_undirected())
        return out

    # ------------------------------------------------------------------ dunder
    def __repr__(self) -> str:
        label = f"{self._name!r}, " if self._name else ""
        return f"Graph({label}n_nodes={self.n_nodes}, n_edges={self.n_edges}, directed={self._directed})"

    def __setattr__(self, key, value):
        if key in Graph.__slots__ and hasattr(self, key):
            raise AttributeError("Graph is immutable")
        object.__setattr__(self, key, value)

    def __eq__(self, other) -> bool:
        if not isinstance(other, Graph):
            return NotImplemented
        return (self._directed == other._directed and self.n_nodes == other.n_nodes
                and np.array_equal(self._node_ids, other._node_ids)
                and np.array_equal(self._indptr, other._indptr)
                and np.array_equal(self._indices, other._indices))

    __hash__ = None  # type: ignore[assignment]


def _all_int(values) -> bool:
    return all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in values)


def _factorize_ids(src: np.ndarray, dst: np.ndarray, extra: np.ndarray | None):
    """Map ids to 0..n-1. Returns (ids, codes of concatenated [src, dst])."""
    all_int = src.dtype.kind in "iu" and dst.dtype.kind in "iu" and (extra is None or extra.dtype.kind in "iu")
    if all_int:
        s = src.astype(np.int64, copy=False)
        d = dst.astype(np.int64, copy=False)
        parts = [s, d] if extra is None else [s, d, extra.astype(np.int64)]
        lo = min(int(p.min()) for p in parts if p.size) if any(p.size for p in parts) else 0
        hi = max(int(p.max()) for p in parts if p.size) if any(p.size for p in parts) else -1
        span = hi - lo + 1
        total = sum(p.size for p in parts)
        if span <= max(4 * total, 1024):
            # O(m) fast path for compact integer ids: presence table, ids sorted ascending
            present = np.zeros(max(span, 0), dtype=bool)
            for p in parts:
                present[p - lo] = True
            ids = np.flatnonzero(present).astype(np.int64) + lo
            remap = np.cumsum(present, dtype=np.int64) - 1
            codes = remap[np.concatenate([s, d]) - lo]
            return ids, codes
        # sparse ids (e.g. 62-bit user ids): hash-factorize, then sort only the distinct ids and
        # remap the codes (3x faster than np.unique(return_inverse=True) on 2*10^7 ids)
        allv = np.concatenate(parts)
        codes, uniq = pd.factorize(allv)
        del allv
        order = np.argsort(uniq, kind="stable")
        rank = np.empty(order.shape[0], dtype=np.int64)
        rank[order] = np.arange(order.shape[0])
        codes = codes[: s.size + d.size]
        np.take(rank, codes, out=codes)  # remap in place: no more 10^7-sized temporaries
        return np.asarray(uniq)[order].astype(np.int64), codes
    # strings (or mixed): keep order of first appearance, extra nodes first
    orig = [extra] if extra is not None else []
    orig += [src, dst]
    parts = [_as_str_ids(p) for p in orig]
    allv = np.concatenate(parts)
    if any(p.dtype == object for p in orig) or len({p.dtype.kind for p in orig}) > 1:
        _check_no_merge(np.concatenate([np.asarray(p, dtype=object) for p in orig]), allv)
    codes, uniques = pd.factorize(allv)
    offset = 0 if extra is None else extra.shape[0]
    return np.asarray(uniques, dtype=object), codes[offset:].astype(np.int64)


class DegreeArray(np.ndarray):
    """The degrees of a :class:`Graph` by internal index, callable like networkx's and igraph's ``degree()``."""

    _graph_index_of = None

    def __array_finalize__(self, obj):
        # slices and arithmetic of the degrees are plain numbers, not tied to the graph's node ids
        self._graph_index_of = None

    def __call__(self, nodes: Any = None):
        base = np.asarray(self)
        if nodes is None:
            return base
        if self._graph_index_of is None:
            raise TypeError("only Graph.degree itself is callable with node ids; index this array by position.")
        scalar = np.ndim(nodes) == 0 and not isinstance(nodes, (list, tuple))
        pos = self._graph_index_of([nodes] if scalar else nodes, what="node ids given to degree()")
        return int(base[pos[0]]) if scalar else base[pos]

    def __reduce__(self):  # pickles as a plain array
        return np.asarray(self).__reduce__()
