"""File helpers shared by the API and the CLI: never overwrite without being asked."""

from __future__ import annotations

import os
from pathlib import Path

from ._errors import InputError, OutputExistsError


def check_writable(path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(
            f"{path} already exists; refusing to overwrite it. Choose another name or pass "
            "overwrite=True (--force on the command line)."
        )
    if path.is_dir():
        raise InputError(f"{path} is a directory; give a file name.")
    if not path.parent.exists():
        raise InputError(f"The folder {path.parent} does not exist; create it first.")
    return path
