"""File helpers shared by the API and the CLI: never overwrite without being asked."""

from __future__ import annotations

import os
from pathlib import Path

from ._errors import InputError


def check_writable(path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    from ._files import check_output

    return check_output(path, overwrite=overwrite)


def _looks_headerless(columns) -> bool:
    """A "header" whose names after the first are all numbers is a data row (no header line)."""
    import re

    names = [str(c).strip() for c in columns]
    num = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?(\.\d+)?$")  # pandas may append .1 to repeats
    return len(names) >= 2 and all(num.match(x) for x in names[1:])


def read_table(path: str | os.PathLike, what: str = "file", *, ids_as_text: bool = True):
    """Read a CSV / TSV / Parquet table with a header row; clear errors for missing or empty files.

    Gzip is recognised by its content; a table whose first row is all numbers after the id column
    (``1,0.53``) has no header line and is read as data (columns ``node_id, value...``). With
    ``ids_as_text`` the first column (node ids) is kept as text, so ``007`` is not read as ``7``.
    """
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise InputError(f"{what} not found: {path}.")
    if path.is_dir():
        raise InputError(f"{what} {path} is a directory; give the file inside it.")
    with open(path, "rb") as fh:
        head = fh.read(4)
    if path.suffix.lower() in (".parquet", ".pq") or head == b"PAR1":
        try:
            return pd.read_parquet(path)
        except MemoryError:
            raise
        except Exception as exc:  # pyarrow: ArrowInvalid for 0-byte or truncated files, OSError, ...
            raise InputError(f"{what} {path} cannot be read as Parquet ({type(exc).__name__}); check that the file "
                             "is complete, or give CSV files a .csv name.") from None
    sep = "\t" if path.suffix.lower() in (".tsv", ".tab") or path.name.lower().endswith((".tsv.gz", ".tab.gz")) else ","
    kw = dict(sep=sep, comment="#", keep_default_na=False, na_values=[""], encoding="utf-8",
              compression="gzip" if head[:2] == b"\x1f\x8b" else None)
    try:
        # only empty fields are missing: pandas' default would read region codes such as "NA"
        # (North America) or "null" as NaN
        cols = pd.read_csv(path, nrows=0, **kw).columns
        headerless = _looks_headerless(cols)
        if ids_as_text and len(cols):
            kw["dtype"] = {0 if headerless else cols[0]: str}
        if not headerless:
            df = pd.read_csv(path, **kw)
        else:
            df = pd.read_csv(path, header=None, **kw)
            df.columns = ["node_id"] + [f"value{i}" if i > 1 else "value" for i in range(1, df.shape[1])]
    except pd.errors.EmptyDataError:
        raise InputError(f"{what} {path} is empty.") from None
    except pd.errors.ParserError as exc:
        if "out of memory" in str(exc).lower():
            raise MemoryError(str(exc)) from None
        raise InputError(f"{what} {path} is malformed: {' '.join(str(exc).split())}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} {path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); save it as UTF-8 "
                         "CSV (gzip is fine), or Parquet with a .parquet name.") from None
    except (EOFError, OSError) as exc:  # truncated or broken gzip
        if isinstance(exc, (FileNotFoundError, PermissionError)):
            raise
        raise InputError(f"{what} {path} is a broken or truncated gzip file ({type(exc).__name__}); get a complete "
                         "copy.") from None
    if df.shape[1] < 2:
        raise InputError(f"{what} {path} needs at least two columns (node id and a value); "
                         f"found {list(df.columns)}.")
    return df


def positions_of_every_unit(graph, ids, path, what: str):
    """Internal positions of the assignment file's ``ids``: each node of ``graph`` exactly once, or an error
    naming the file, the repeated ids or the nodes without ``what`` (exposure needs every unit's assignment)."""
    import numpy as np

    pos = graph.index_of(ids, what="node ids in the assignment")
    if np.unique(pos).shape[0] != pos.shape[0]:
        raise InputError(f"{path}: some node ids appear more than once.")
    if pos.shape[0] != graph.n_nodes:
        missing = np.setdiff1d(np.arange(graph.n_nodes), pos)
        ex = ", ".join(repr(x) for x in graph.node_ids[missing[:5]].tolist())
        raise InputError(f"{path}: {missing.shape[0]} nodes of the graph have no {what} (e.g. {ex}); exposure "
                         "needs every unit's assignment.")
    return pos
