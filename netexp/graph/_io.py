"""Reading and writing edge lists (text, gzip, Parquet) and resolving bundled graph names."""

from __future__ import annotations

import gzip
import io
import os
import re
import stat
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import GraphError, GraphFormatError, GraphWarning, InputError, warn
from ._graph import Graph

__all__ = ["read_graph", "read_edgelist", "write_edgelist"]

_HEADER_WORDS = {"source", "target", "src", "dst", "from", "to", "u", "v", "node1", "node2", "i", "j",
                 "id1", "id2", "head", "tail", "nominator", "named", "ego", "alter"}
_PARQUET_EXT = (".parquet", ".pq", ".parq")


def read_graph(graph: Any, *, directed: bool = False, **kwargs) -> Graph:
    """Return a :class:`Graph` from a Graph, a path, a bundled graph name, a DataFrame,
    a networkx graph or an igraph graph.

    Strings are tried first as paths (``"-"`` is standard input), then as names of bundled
    graphs (:func:`netexp.bundled_graphs` lists them). See :func:`read_edgelist` for the file
    formats and how node ids are read.
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
        if _is_stdin(graph) or path.exists():
            return read_edgelist(graph if _is_stdin(graph) else path, directed=directed, **kwargs)
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


# seconds to wait for the first bytes (and then between bytes) on a pipe or FIFO before giving up
PIPE_TIMEOUT = 30.0
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"
_CANONICAL_INT = r"^(0|-?[1-9][0-9]*)$"
_MISSING_WORDS = {"nan", "na", "n/a", "none", "null", "nil", "inf", "-inf", "+inf", "infinity", "-infinity", "<na>",
                  "nat", ""}
_NAME_LIKE = re.compile(r"^[A-Za-z_][A-Za-z0-9_ .\-]*$")
_NUMBER_LIKE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _is_stdin(path) -> bool:
    return str(path) == "-"


def _read_pipe(path: Path, label: str) -> bytes:
    """Read a pipe, FIFO or character device to its end without hanging when nobody writes."""
    import select

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    chunks = []
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], PIPE_TIMEOUT)
            if not ready:
                what = "no data arrived" if not chunks else "the writer stopped sending data"
                raise GraphError(f"{label}: {what} for {PIPE_TIMEOUT:g} s on this pipe/FIFO; start the program "
                                 "that writes to it first, or give a regular file.")
            try:
                b = os.read(fd, 1 << 20)
            except BlockingIOError:
                continue
            if not b:
                break
            chunks.append(b)
    finally:
        os.close(fd)
    return b"".join(chunks)


def _gunzip(data: bytes | None, path: Path | None, label: str) -> bytes:
    import zlib

    try:
        if data is not None:
            return gzip.decompress(data)
        with gzip.open(path, "rb") as fh:
            return fh.read()
    except EOFError:
        raise GraphFormatError(f"{label}: the gzip stream is truncated (the file was cut short while copying or "
                               "downloading); get a complete copy.") from None
    except (gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise GraphFormatError(f"{label}: not a valid gzip file ({exc}); check the file, or remove the .gz "
                               "suffix if it is plain text.") from None


def _load_source(path, label: str):
    """``(path or None, bytes or None, is_parquet)``: regular plain files are read by path; stdin, pipes,
    FIFOs and gzip data are buffered in memory so that sniffing does not consume what the parser needs."""
    if _is_stdin(path):
        stream = sys.stdin
        buf = getattr(stream, "buffer", None)
        data = buf.read() if buf is not None else stream.read().encode("utf-8")
        p = None
    else:
        p = Path(path)
        try:
            st = os.stat(p)
        except FileNotFoundError:
            raise GraphError(f"Graph file not found: {p}. Check the path, or use a bundled graph name.") from None
        if stat.S_ISDIR(st.st_mode):
            raise GraphError(f"{p} is a directory; give the edge-list file inside it.")
        data = None if stat.S_ISREG(st.st_mode) else _read_pipe(p, label)
    if data is not None:
        head = data[:4]
    else:
        with open(p, "rb") as fh:
            head = fh.read(4)
    suffix = p.suffix.lower() if p is not None else ""
    if head[:2] == _GZIP_MAGIC:
        data = _gunzip(data, p, label)
        head = data[:4]
    elif suffix == ".gz":
        if not head:
            raise GraphError(f"{label}: the file is empty (0 bytes); nothing to load.")
        raise GraphFormatError(f"{label}: named .gz but not gzip-compressed; rename it without .gz if it is plain "
                               "text, or compress it with gzip.")
    is_parquet = head == _PARQUET_MAGIC or (p is not None and suffix in _PARQUET_EXT)
    return (p if data is None else None), data, is_parquet


def _text_lines(p: Path | None, data: bytes | None, limit: int | None = None):
    """Decoded lines (BOM removed) of the source, with their 1-based line numbers."""
    fh = io.BytesIO(data) if data is not None else open(p, "rb")
    with fh:
        for lineno, raw in enumerate(fh, start=1):
            if limit is not None and lineno > limit:
                return
            line = raw.decode("utf-8", errors="replace")
            if lineno == 1:
                line = line.lstrip("\ufeff")
            yield lineno, line


def _split(s: str, delim):
    return [f.strip().strip('"').strip() for f in (s.split(delim) if delim else s.split())]


def _sniff(p, data, comment: str, label: str):
    """Look at the first data lines: delimiter and whether the first line is a header.

    The first line is a header only when it clearly is one: its endpoint fields are column names
    (a known word such as ``source``/``target``, or name-like while every id below is a number).
    A first line with ids of the same kind as the rest is an edge.
    """
    lines = []
    for _, raw in _text_lines(p, data, limit=100_000):
        s = raw.strip()
        if not s or s.startswith(comment):
            continue
        lines.append(s)
        if len(lines) >= 50:
            break
    if not lines:
        raise GraphError(f"{label}: the file has no edges (empty, or only comments); nothing to load.")
    first = lines[0]
    if "," in first:
        delim = ","
    elif "\t" in first:
        delim = "\t"
    else:
        delim = None  # any whitespace
    f0 = _split(first, delim)[:2]
    if len(f0) < 2:
        return delim, False
    known = sum(x.lower() in _HEADER_WORDS or x.lower().endswith(("_id", " id", "id1", "id2")) for x in f0)
    if not all(_NAME_LIKE.match(x) for x in f0) or any(x.lower() in _MISSING_WORDS for x in f0):
        return delim, False
    if known:
        return delim, True
    rest = [x for line in lines[1:] for x in _split(line, delim)[:2]]
    return delim, bool(rest) and all(_NUMBER_LIKE.match(x) for x in rest)


def _suspicious_bytes(a: np.ndarray, at_start: bool) -> bool:
    if (a == 43).any():  # '+'
        return True
    sep = (a == 32) | (a == 9) | (a == 44) | (a == 10) | (a == 13)
    zero = a == 48
    minus = a == 45
    digit = (a >= 48) & (a <= 57)
    start = np.empty_like(sep)
    start[0] = at_start
    start[1:] = sep[:-1]
    z0 = zero & start                        # '0' opening a token
    zm = np.zeros_like(sep)                  # '0' right after a token-opening '-'
    zm[1:] = zero[1:] & minus[:-1] & start[:-1]
    nxt_digit = np.zeros_like(sep)
    nxt_digit[:-1] = digit[1:]
    nxt_end = np.ones_like(sep)
    nxt_end[:-1] = sep[1:]
    return bool(((z0 | zm) & nxt_digit).any() or (zm & nxt_end).any())


def _suspicious_tokens(p, data) -> bool:
    """Does any token start like a non-canonical integer (``+7``, ``007``, ``-0``)? A vectorized pass
    over the bytes in blocks; weights or comments may give false alarms, which only send the file
    to the exact text path."""
    block = 1 << 24
    if data is not None:
        buf = np.frombuffer(data, dtype=np.uint8)
        return any(_suspicious_bytes(buf[max(0, i - 2):i + block + 1], i == 0) for i in range(0, buf.shape[0], block))
    with open(p, "rb") as fh:
        prev = b""
        first = True
        while True:
            chunk = fh.read(block)
            if not chunk:
                return False
            buf = np.frombuffer(prev + chunk, dtype=np.uint8)
            nxt = fh.peek(1)[:1] if hasattr(fh, "peek") else b""
            if nxt:
                buf = np.frombuffer(prev + chunk + nxt, dtype=np.uint8)
            if _suspicious_bytes(buf, first):
                return True
            first = False
            prev = chunk[-2:]


def _first_ids_canonical(p, data, comment, delim, header) -> bool:
    """Are the endpoint ids of the first data lines all canonical integers?"""
    canon = re.compile(_CANONICAL_INT)
    seen = 0
    skip = header
    for _, raw in _text_lines(p, data, limit=1000):
        s = raw.strip()
        if not s or s.startswith(comment):
            continue
        if skip:
            skip = False
            continue
        if not all(canon.match(x) for x in _split(s, delim)[:2]):
            return False
        seen += 1
        if seen >= 50:
            break
    return seen > 0


def _read_table(p, data, sep, comment, header, dtype):
    return pd.read_csv(p if data is None else io.BytesIO(data), sep=sep, comment=comment,
                       header=0 if header else None, skip_blank_lines=True, engine="c", dtype=dtype,
                       keep_default_na=False, na_values=[""], skipinitialspace=True, encoding="utf-8",
                       low_memory=False)


def _bad_line(p, data, comment: str, delim, header: bool, ncols: int | None):
    """First data line with the wrong number of fields or an empty endpoint: ``(lineno, text)``."""
    seen_header = not header
    for lineno, raw in _text_lines(p, data):
        s = raw.strip()
        if not s or s.startswith(comment):
            continue
        if not seen_header:
            seen_header = True
            continue
        parts = s.split(delim) if delim else s.split()
        if ncols is None:
            ncols = len(parts)
        if len(parts) != ncols or len(parts) < 2 or any(x.strip() == "" for x in parts[:2]):
            return lineno, s
    return None, None


def _decode_error(label: str, exc: UnicodeDecodeError) -> GraphFormatError:
    return GraphFormatError(
        f"{label}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} cannot be decoded); save the file as UTF-8 "
        "(e.g. iconv -f latin1 -t utf-8), or give a Parquet file a .parquet name."
    )


def _ids_from_text(s: np.ndarray, t: np.ndarray, label: str):
    """Endpoints read as text -> int64 ids when every id is a canonical integer, else text.

    A canonical integer has no sign other than ``-``, no leading zeros and fits in int64, so
    ``007`` and ``7`` stay two nodes and ids >= 2^63 never wrap.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    n = s.shape[0]
    allv = pa.array(np.concatenate([s, t]), type=pa.string())
    allv = pc.utf8_trim_whitespace(allv)
    canon = pc.match_substring_regex(allv, _CANONICAL_INT)
    n_canon = pc.sum(canon).as_py() or 0
    if n_canon == len(allv):
        try:
            ids = pc.cast(allv, pa.int64()).to_numpy(zero_copy_only=False)
            return ids[:n], ids[n:]
        except pa.ArrowInvalid:  # beyond int64: exact, as text
            pass
    text = np.asarray(allv.to_numpy(zero_copy_only=False), dtype=object)
    if n_canon:
        odd = pd.unique(text[~canon.to_numpy(zero_copy_only=False)])
        numeric = [x for x in odd[:10_000] if _NUMBER_LIKE.match(x) or x.lower() in _MISSING_WORDS]
        if numeric:
            warn(
       f"{label}: node ids kept as text because not every id is a plain integer (e.g. "
       f"{', '.join(repr(x) for x in numeric[:4])}); '7' and '007' are different nodes, and ids such "
       "as 'nan' or 'NA' are node names. Fix the ids in the file if that is not intended.",
       GraphWarning)
    else:
        missing = [x for x in pd.unique(text)[:10_000] if x.lower() in _MISSING_WORDS]
        if missing:
            warn(f"{label}: ids {', '.join(repr(x) for x in missing[:4])} look like missing values; "
                 "they are kept as node names (text).", GraphWarning)
    return text[:n], text[n:]


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

    Supported: whitespace-, comma- or tab-separated text (gzip-compressed or not, detected from
    the content), with or without a header line, ``#`` comment lines; Parquet (``.parquet`` /
    ``.pq``) with two id columns. ``"-"`` reads standard input; pipes, FIFOs, ``/dev/stdin`` and
    ``<(...)`` process substitutions are read to their end first. The first two columns are the
    endpoints unless ``source``/``target`` name others (by column name or 0-based position);
    extra columns (weights) are ignored.

    Node ids are integers only when every id in the file is a canonical integer (``7``, ``-3``;
    not ``007``, ``+7`` or ``7.0``) that fits in int64; otherwise every id is kept as text, so
    ``007`` and ``7`` are two nodes and ids >= 2^63 are exact.

    Raises
    ------
    GraphFormatError
        For a malformed line (naming the file and the line number), a broken gzip stream or
        text that is not UTF-8.
    GraphError
        For a missing or empty file.
    """
    label = "<stdin>" if _is_stdin(path) else str(path)
    p, data, is_parquet = _load_source(path, label)
    if name is None:
        name = "stdin" if _is_stdin(path) else Path(path).name.split(".")[0]
    if is_parquet:
        return _read_parquet_edges(p if data is None else io.BytesIO(data), label, source, target, directed, name)

    delim, sniffed_header = _sniff(p, data, comment, label)
    header = sniffed_header if header is None else header
    sep = delim if delim is not None else r"\s+"
    # fast path: when no token anywhere in the file could be a non-canonical integer (leading zero,
    # '+', '-0'), pandas' own integer parsing is exact; any other outcome is re-read as text
    fast = _first_ids_canonical(p, data, comment, delim, header) and not _suspicious_tokens(p, data)
    try:
        df = None
        if fast:
            df = _read_table(p, data, sep, comment, header, None)
            if not all(df[c].dtype.kind == "i" for c in _endpoint_columns(df, source, target, label)):
                df = None
        if df is None:
            df = _read_table(p, data, sep, comment, header, str)
    except pd.errors.ParserError as exc:
        if "out of memory" in str(exc).lower():
            raise MemoryError(str(exc)) from None  # not the file's fault
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        lineno, text = _bad_line(p, data, comment, delim, header, int(m.group(1)) if m else None)
        where = f"line {lineno}: {text!r}" if lineno else str(exc)
        raise GraphFormatError(f"{label}: malformed edge list at {where}; every line needs the same "
                               f"number of fields (source and target ids).") from None
    except pd.errors.EmptyDataError:
        raise GraphError(f"{label}: the file has no edges; nothing to load.") from None
    except UnicodeDecodeError as exc:
        raise _decode_error(label, exc) from None
    if df.shape[1] < 2:
        lineno, text = _bad_line(p, data, comment, delim, header, 2)
        raise GraphFormatError(f"{label}: line {lineno}: {text!r} has one field; each line needs a source and a "
                               "target id.")
    if len(df) == 0:
        raise GraphError(f"{label}: the file has a header but no edges; nothing to load.")
    s_col, t_col = _endpoint_columns(df, source, target, label)
    s, t = df[s_col], df[t_col]
    bad = s.isna().to_numpy() | t.isna().to_numpy()
    if bad.any():
        lineno, text = _bad_line(p, data, comment, delim, header, df.shape[1])
        raise GraphFormatError(f"{label}: line {lineno}: {text!r} is missing an endpoint; each line needs a "
                               "source and a target id.")
    if s.dtype.kind == "i" and t.dtype.kind == "i":
        return Graph.from_edges(s.to_numpy(), t.to_numpy(), directed=directed, name=name)
    s = s.to_numpy(dtype=object)
    t = t.to_numpy(dtype=object)
    # a header line repeated inside (concatenated files) is not an edge
    names = {str(s_col).strip(), str(t_col).strip()} if header else set()
    words = list({v for w in (_HEADER_WORDS | names) for v in (w, w.lower(), w.upper(), w.title())})
    rep = (pd.Series(s).isin(words).to_numpy() & pd.Series(t).isin(words).to_numpy())
    if rep.any() and not rep.all():
        warn(f"{label}: skipped {int(rep.sum())} repeated header line(s) inside the edge list (e.g. "
             f"{s[rep][0]!r} {t[rep][0]!r}); they are not edges.", GraphWarning)
        s, t = s[~rep], t[~rep]
    s, t = _ids_from_text(s, t, label)
    return Graph.from_edges(s, t, directed=directed, name=name)


def _endpoint_columns(df, source, target, label):
    def pick(spec, default):
        if spec is None:
            return df.columns[default]
        if isinstance(spec, int) and spec not in df.columns:
            if not -df.shape[1] <= spec < df.shape[1]:
                raise InputError(f"{label}: column position {spec} is out of range; the file has {df.shape[1]} "
                                 "columns.")
            return df.columns[spec]
        if spec not in df.columns:
            raise InputError(f"{label}: no column {spec!r}; columns are {list(df.columns)}.")
        return spec

    return pick(source, 0), pick(target, 1)


#: Rows per record batch of the streaming Parquet reader (two int64 columns: 16 MB per batch).
_PARQUET_BATCH = 1 << 20


class _Columns:
    """Just enough of a DataFrame (``columns``, ``shape``) for :func:`_endpoint_columns`."""

    def __init__(self, names):
        self.columns = pd.Index(names)
        self.shape = (0, len(names))


def _read_parquet_edges(src, label, source, target, directed, name):
    """A Parquet edge list -> Graph. Integer id columns are streamed by record batches straight
    into the id factorization and the CSR build, so memory is one batch plus the int32 endpoint
    codes and the CSR (never a DataFrame of the file); other id types go through pandas. Both give
    the same Graph (nodes sorted ascending for integer ids, as :meth:`Graph.from_edges`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(src)
        schema = pf.schema_arrow
    except MemoryError:
        raise
    except Exception as exc:  # pyarrow raises many types (ArrowInvalid for a 0-byte or broken file)
        raise GraphFormatError(f"{label}: cannot read as Parquet ({type(exc).__name__}: {exc}); check that "
                               "the file is complete, or give text edge lists a .txt/.csv name.") from None
    if len(schema.names) < 2:
        raise GraphFormatError(f"{label}: a Parquet edge list needs two id columns; found {list(schema.names)}.")
    if pf.metadata.num_rows == 0:
        raise GraphError(f"{label}: the file has no edges; nothing to load.")
    s_col, t_col = _endpoint_columns(_Columns(schema.names), source, target, label)
    types = [schema.field(c).type for c in (s_col, t_col)]
    if s_col == t_col or not all(pa.types.is_integer(t) and t != pa.uint64() for t in types):
        if hasattr(src, "seek"):
            src.seek(0)
        return _read_parquet_edges_pandas(src, label, source, target, directed, name)
    return _stream_int_parquet(pf, label, s_col, t_col, directed, name)


def _int_batches(pf, s_col, t_col):
    for b in pf.iter_batches(batch_size=_PARQUET_BATCH, columns=[s_col, t_col], use_threads=True):
        yield b.column(0), b.column(1)


def _stats_range(pf, cols):
    """(lo, hi) over ``cols`` from the row groups' statistics, or None when any is missing."""
    lo, hi = None, None
    names = pf.schema_arrow.names
    md = pf.metadata
    for r in range(md.num_row_groups):
        rg = md.row_group(r)
        for c in cols:
            st = rg.column(names.index(c)).statistics
            if st is None or not st.has_min_max:
                return None
            lo = st.min if lo is None else min(lo, st.min)
            hi = st.max if hi is None else max(hi, st.max)
    return None if lo is None else (int(lo), int(hi))


def _stream_int_parquet(pf, label, s_col, t_col, directed, name):
    """Record batches -> int32 endpoint codes -> Graph (counting sort in Graph._from_codes).

    One pass over the batches either way. Compact ids (span of the ids, from the row-group
    statistics, at most 8x the endpoints): mark a presence table and keep ``id - lo``, then one
    cumulative sum maps them to codes. Sparse ids (62-bit user ids): factorize each batch (codes local
    to the batch, plus its distinct ids), then map each batch's distinct ids to the sorted global ids.
    Either way ids end sorted ascending, as in :meth:`Graph.from_edges`."""
    m = pf.metadata.num_rows
    rng_ = _stats_range(pf, (s_col, t_col))
    compact = rng_ is not None and rng_[1] - rng_[0] + 1 <= min(max(8 * m, 1024), 2**31 - 1)
    u = np.empty(m, dtype=np.int32 if compact or m < 2**31 else np.int64)
    v = np.empty_like(u)
    n_bad, first_bad, row, seen, held = 0, None, 0, [], 0
    if compact:
        lo = rng_[0]
        present = np.zeros(rng_[1] - lo + 1, dtype=bool)
    for a, b in _int_batches(pf, s_col, t_col):
        k = len(a)
        if a.null_count or b.null_count:
            bad = np.flatnonzero(a.is_null().to_numpy(zero_copy_only=False) | b.is_null().to_numpy(zero_copy_only=False))
            n_bad += bad.shape[0]
            first_bad = row + int(bad[0]) if first_bad is None else first_bad
        elif not n_bad:
            x, y = (c.to_numpy().astype(np.int64, copy=False) for c in (a, b))
            if compact:
                for src, out in ((x, u), (y, v)):
                    off = src - lo
                    if off.size and (off.min() < 0 or off.max() >= present.shape[0]):
                        raise GraphFormatError(f"{label}: ids outside the range its statistics state; the file "
                                               "is inconsistent (rewrite it).")
                    present[off] = True
                    out[row:row + k] = off
            else:                # batch-local codes now, mapped to the global (sorted) ids at the end
                codes, uq = pd.factorize(np.concatenate([x, y]))
                u[row:row + k] = codes[:k]
                v[row:row + k] = codes[k:]
                seen.append((row, k, uq))
        row += k
    if n_bad:
        raise GraphFormatError(f"{label}: {n_bad} rows miss an endpoint (first at row {first_bad}); drop "
                               "them first.")
    if row != m:   # the file changed under us
        raise GraphFormatError(f"{label}: read {row} rows but the footer says {m}; the file changed while read.")
    if compact:
        remap = np.cumsum(present, dtype=np.int32) - 1
        ids = np.flatnonzero(present).astype(np.int64) + lo
        del present
        np.take(remap, u, out=u)
        np.take(remap, v, out=v)
        del remap
        return Graph._from_codes(ids.shape[0], u, v, ids, directed=directed, name=name)
    ids = np.sort(pd.unique(np.concatenate([uq for _, _, uq in seen])))
    index = pd.Index(ids)
    for r0, k, uq in seen:      # one hash pass over the file in all; here one lookup per batch-distinct id
        to_global = index.get_indexer(uq).astype(u.dtype)
        for out in (u, v):
            np.take(to_global, out[r0:r0 + k], out=out[r0:r0 + k])
    del seen
    return Graph._from_codes(ids.shape[0], u, v, ids, directed=directed, name=name)


def _read_parquet_edges_pandas(src, label, source, target, directed, name):
    try:
        df = pd.read_parquet(src)
    except MemoryError:
        raise
    except Exception as exc:  # pyarrow raises many types (ArrowInvalid for a 0-byte or broken file)
        raise GraphFormatError(f"{label}: cannot read as Parquet ({type(exc).__name__}: {exc}); check that "
                               "the file is complete, or give text edge lists a .txt/.csv name.") from None
    if df.shape[1] < 2:
        raise GraphFormatError(f"{label}: a Parquet edge list needs two id columns; found {list(df.columns)}.")
    if len(df) == 0:
        raise GraphError(f"{label}: the file has no edges; nothing to load.")
    s_col, t_col = _endpoint_columns(df, source, target, label)
    s, t = df[s_col], df[t_col]
    if s.isna().any() or t.isna().any():
        bad = np.flatnonzero((s.isna() | t.isna()).to_numpy())
        raise GraphFormatError(f"{label}: {bad.shape[0]} rows miss an endpoint (first at row {bad[0]}); drop "
                               "them first.")
    if s.dtype.kind in "OSU" or t.dtype.kind in "OSU" or str(s.dtype).startswith("string"):
        s, t = _ids_from_text(s.astype(str).to_numpy(dtype=object), t.astype(str).to_numpy(dtype=object), label)
    else:
        s, t = s.to_numpy(), t.to_numpy()
    return Graph.from_edges(s, t, directed=directed, name=name)


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
