"""File helpers shared by the API and the CLI: never overwrite without being asked."""

from __future__ import annotations

import os
from pathlib import Path

from ._errors import InputError, OutputExistsError


def check_writable(path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    from ._files import check_output

    return check_output(path, overwrite=overwrite)


def read_table(path: str | os.PathLike, what: str = "file"):
    """Read a CSV / TSV / Parquet table with a header row; clear errors for missing or empty files."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise InputError(f"{what} not found: {path}.")
    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    sep = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    try:
        # only empty fields are missing: pandas' default would read region codes such as "NA"
        # (North America) or "null" as NaN
        df = pd.read_csv(path, sep=sep, comment="#", keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        raise InputError(f"{what} {path} is empty.") from None
    except pd.errors.ParserError as exc:
        raise InputError(f"{what} {path} is malformed: {exc}") from None
    if df.shape[1] < 2:
        raise InputError(f"{what} {path} needs at least two columns (node id and a value); "
                         f"found {list(df.columns)}.")
    return df
