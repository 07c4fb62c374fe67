"""Reading and writing edge lists (text, gzip, Parquet) and resolving bundled graph names."""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import GraphError, GraphFormatError, InputError
from ._graph import Graph

__all__ = ["read_graph", "read_edgelist", "write_edgelist"]

_HEADER_WORDS = {"source", "target", "src", "dst", "from", "to", "u", "v", "node1", "node2", "i", "j",
                 "id1", "id2", "head", "tail", "nominator", "named", "ego", "alter"}
_PARQUET_EXT = (".parquet", ".pq", ".parq")


def read_graph(graph: Any, *, directed: bool = False, **kwargs) -> Graph:
    """Return a :class:`Graph` from a Graph, a path, a bundled graph name, a DataFrame,
    a networkx graph or an igraph graph.

    Strings are tried first as paths, then as names of bundled graphs
    (:func:`netexp.bundled_graphs` lists them).
    """
    if isinstance(graph, Graph):
        return graph
    if isinstance(graph, pd.DataFrame):
        return Graph.from_pandas(graph, directed=directed, **kwargs)
    mod = type(graph).__module__
    if mod.startswith("networkx"):
        return Graph.from_networkx(graph)
    if mod.startswith("igraph"):
        return Graph.from_igraph(graph)
    if isinstance(graph, (str, os.PathLike)):
        path = Path(graph)
        if path.exists():
            return read_edgelist(path, directed=directed, **kwargs)
        from ._examples import bundled_graphs, load_graph as _load

        name = str(graph)
        if name in bundled_graphs():
            return _load(name)
        raise GraphError(
            f"No such file or bundled graph: {name!r}. Give a path to an edge list, or one of the "
            f"bundled graphs: {', '.join(bundled_graphs())}."
        )
    raise InputError(f"Cannot make a graph from {type(graph).__name__}; give a path, a name, a DataFrame, "
                     "a networkx or igraph graph.")


def _open_text(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, "rt", encoding="utf-8", errors="replace")


def _sniff(path: Path, comment: str):
    """Look at the first data lines: delimiter and whether the first line is a header."""
    lines = []
    with _open_text(path) as fh:
        for raw in fh:
            s = raw.strip()
            if not s or s.startswith(comment):
                continue
            lines.append(s)
            if len(lines) >= 20:
                break
    if not lines:
        raise GraphError(f"{path}: the file has no edges (empty, or only comments); nothing to load.")
    first = lines[0]
    if "," in first:
        delim = ","
    elif "\t" in first:
        delim = "\t"
    else:
        delim = None  # any whitespace
    def fields(s):
        return [f.strip().strip('"') for f in (s.split(delim) if delim else s.split())]
    f0 = fields(first)
    numeric = re.compile(r"^-?\d+(\.0+)?$")
    header = False
    if f0 and f0[0].lower() in _HEADER_WORDS or (len(f0) > 1 and f0[1].lower() in _HEADER_WORDS):
        header = True
    elif len(lines) > 1:
        f1 = fields(lines[1])
        if (not all(numeric.match(x) for x in f0[:2])) and len(f1) >= 2 and all(numeric.match(x) for x in f1[:2]):
            header = True
    return delim, header


def _find_bad_line(path: Path, comment: str, delim, header: bool, ncols: int):
    with _open_text(path) as fh:
        seen_header = not header
        for lineno, raw in enumerate(fh, start=1):
            s = raw.strip()
            if not s or s.startswith(comment):
                continue
            if not seen_header:
                seen_header = True
                continue
            parts = [p for p in (s.split(delim) if delim else s.split())]
            if len(parts) != ncols or any(p.strip() == "" for p in parts[:2]):
                return lineno, s
    return None, None


def read_edgelist(
    path: str | os.PathLike,
    *,
    directed: bool = False,
    source: str | int | None = None,
    target: str | int | None = None,
    header: bool | None = None,
    comment: str = "#",
    name: str | None = None,
) -> Graph:
    """Read an edge list file into a :class:`Graph`.

    Supported: whitespace-, comma- or tab-separated text (optionally ``.gz``), with or without
    a header line, ``#`` comment lines; Parquet (``.parquet``/``.pq``) with two id columns.
    The first two columns are the endpoints unless ``source``/``target`` name others (by
    column name or 0-based position); extra columns (weights) are ignored.

    Raises
    ------
    GraphFormatError
        For a malformed line, naming the file and the line number.
    GraphError
        For a missing or empty file.
    """
    path = Path(path)
    if not path.exists():
        raise GraphError(f"Graph file not found: {path}. Check the path, or use a bundled graph name.")
    if path.is_dir():
        raise GraphError(f"{path} is a directory; give the edge-list file inside it.")
    label = name or path.name.split(".")[0]
    if path.suffix.lower() in _PARQUET_EXT:
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many types
            raise GraphFormatError(f"{path}: cannot read as Parquet ({exc}).") from None
        if df.shape[1] < 2:
            raise GraphFormatError(f"{path}: a Parquet edge list needs two id columns; found {list(df.columns)}.")
        s = df.columns[0] if source is None else (df.columns[source] if isinstance(source, int) else source)
        t = df.columns[1] if target is None else (df.columns[target] if isinstance(target, int) else target)
        if len(df) == 0:
            raise GraphError(f"{path}: the file has no edges; nothing to load.")
        return Graph.from_pandas(df, s, t, directed=directed, name=label)

    delim, sniffed_header = _sniff(path, comment)
    header = sniffed_header if header is None else header
    sep = delim if delim is not None else r"\s+"
    try:
        df = pd.read_csv(path, sep=sep, comment=comment, header=0 if header else None,
                         skip_blank_lines=True, engine="c", dtype=None, skipinitialspace=True,
                         compression="gzip" if path.suffix == ".gz" else None, low_memory=False)
    except pd.errors.ParserError as exc:
        msg = str(exc)
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
        lineno, text = _find_bad_line(path, comment, delim, header, int(m.group(1)) if m else 2)
        where = f"line {lineno}: {text!r}" if lineno else msg
        raise GraphFormatError(f"{path}: malformed edge list at {where}; every line needs the same "
                               f"number of fields (source and target ids).") from None
    except pd.errors.EmptyDataError:
        raise GraphError(f"{path}: the file has no edges; nothing to load.") from None
    except UnicodeDecodeError:
        raise GraphFormatError(f"{path}: not a text edge list (cannot decode); Parquet files need a .parquet suffix.") from None
    if df.shape[1] < 2:
        lineno, text = _find_bad_line(path, comment, delim, header, 2)
        raise GraphFormatError(f"{path}: line {lineno}: {text!r} has one field; each line needs a source and a target id.")
    s_col = df.columns[0] if source is None else (df.columns[source] if isinstance(source, int) else source)
    t_col = df.columns[1] if target is None else (df.columns[target] if isinstance(target, int) else target)
    for c in (s_col, t_col):
        if c not in df.columns:
            raise InputError(f"{path}: no column {c!r}; columns are {list(df.columns)}.")
    s, t = df[s_col], df[t_col]
    bad = s.isna().to_numpy() | t.isna().to_numpy()
    if bad.any():
        lineno, text = _find_bad_line(path, comment, delim, header, df.shape[1])
        raise GraphFormatError(f"{path}: line {lineno}: {text!r} is missing an endpoint; each line needs a "
                               "source and a target id.")
    s = _clean_col(s)
    t = _clean_col(t)
    if s.dtype.kind != t.dtype.kind:
        s, t = s.astype(str), t.astype(str)
    return Graph.from_edges(s, t, directed=directed, name=label)


def _clean_col(col: pd.Series) -> np.ndarray:
    arr = col.to_numpy()
    if arr.dtype.kind in "iu":
        return arr
    if arr.dtype.kind == "f":
        if np.all(arr == np.round(arr)):
            return arr.astype(np.int64)
        return arr.astype(str)
    return np.asarray(col.astype(str).str.strip().to_numpy(), dtype=object)


def write_edgelist(graph: Graph, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``source,target`` CSV (gzip if the name ends in .gz; Parquet for .parquet)."""
    from .._io_utils import check_writable

    path = check_writable(path, overwrite=overwrite)
    from .._files import atomic_path

    df = graph.to_pandas()
    with atomic_path(path, overwrite=overwrite) as tmp:
        if path.suffix.lower() in _PARQUET_EXT:
            df.to_parquet(tmp, index=False)
        else:
            df.to_csv(tmp, index=False, compression="gzip" if path.suffix == ".gz" else None)
    return path
