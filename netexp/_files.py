"""Safe output files: nothing overwritten without being asked, nothing half-written that looks complete.

Every file netexp writes goes through :func:`atomic_path` (for writers that want a path, such as
``DataFrame.to_parquet``) or :func:`atomic_write` (for a file object). Both write a temporary file
in the output's own folder, flush and ``fsync`` it, and only then move it into place:

* without ``overwrite`` the move is ``os.link`` (which fails if the name exists), so a file that
  someone else created while netexp was working is never clobbered;
* with ``overwrite`` it is ``os.replace``: readers see the old file or the new one, never a mix;
* a symbolic link at the output path (dangling or not) is refused unless ``follow_symlinks=True``,
  so ``--force`` cannot overwrite whatever the link points at;
* on any failure (full disk, interrupted, an exception in the writer) the temporary file is
  removed and the old file, if any, is left as it was.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from pathlib import Path
from typing import Iterator

from ._errors import InputError, NetexpError, OutputExistsError

__all__ = ["WriteError", "check_output", "atomic_path", "atomic_write", "write_text"]


class WriteError(NetexpError, OSError):
    """An output file could not be written (full disk, permissions, ...); nothing was left half-written."""


def check_output(path: str | os.PathLike, *, overwrite: bool = False, follow_symlinks: bool = False) -> Path:
    """Check that ``path`` may be written; return it as a :class:`~pathlib.Path`.

    Refuses an existing file unless ``overwrite``, a symbolic link unless ``follow_symlinks``,
    a directory, and a folder that does not exist.
    """
    path = Path(path)
    if os.path.islink(path) and not follow_symlinks:
        target = os.readlink(path)
        state = "" if path.exists() else " (dangling)"
        raise OutputExistsError(
            f"{path} is a symbolic link{state} to {target}; refusing to write through it. Remove the link "
            "or write to the target's own path."
        )
    if path.is_dir():
        raise InputError(f"{path} is a directory; give a file name.")
    if path.exists() and not overwrite:
        raise OutputExistsError(
            f"{path} already exists; refusing to overwrite it. Choose another name or pass "
            "overwrite=True (--force on the command line)."
        )
    parent = path.parent
    if not parent.exists():
        raise InputError(f"The folder {parent} does not exist; create it first.")
    if not parent.is_dir():
        raise InputError(f"{parent} is not a folder; cannot write {path.name} inside it.")
    return path


def _write_error(path: Path, exc: OSError) -> WriteError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        why = "no space left on the device"
        fix = "free some space or write to another disk"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = "permission denied" if exc.errno != errno.EROFS else "read-only file system"
        fix = "choose a folder you can write to"
    else:
        why = exc.strerror or type(exc).__name__
        fix = "check the folder and try again"
    return WriteError(exc.errno or errno.EIO,
                      f"cannot write {path}: {why}; nothing was written (an existing file is unchanged). "
                      f"{fix[0].upper()}{fix[1:]}.")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _commit(tmp: Path, path: Path, *, overwrite: bool, follow_symlinks: bool) -> None:
    dest = Path(os.path.realpath(path)) if (follow_symlinks and os.path.islink(path)) else path
    if overwrite:
        os.replace(tmp, dest)
        return
    try:
        os.link(tmp, dest)  # atomic and refuses an existing name: a file created meanwhile survives
    except FileExistsError:
        raise OutputExistsError(
            f"{dest} was created by someone else while netexp was working; it was left untouched. "
            "Choose another name or pass overwrite=True (--force on the command line)."
        ) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        # file systems without hard links: check, then rename (a small window remains)
        if os.path.lexists(dest):
            raise OutputExistsError(f"{dest} was created by someone else while netexp was working; it was "
                                    "left untouched.") from None
        os.replace(tmp, dest)
        return
    os.unlink(tmp)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, overwrite: bool = False, follow_symlinks: bool = False) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder (same suffixes); move it into place on success.

    The temporary name keeps the output's suffixes (``.csv.gz``, ``.parquet``) so writers that infer
    the format from the name behave the same.
    """
    path = check_output(path, overwrite=overwrite, follow_symlinks=follow_symlinks)
    tmp = path.with_name(f".tmp-{secrets.token_hex(4)}-{path.name}")
    try:
        yield tmp
        if not tmp.exists():
            raise WriteError(errno.EIO, f"cannot write {path}: the writer produced no file.")
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        _commit(tmp, path, overwrite=overwrite, follow_symlinks=follow_symlinks)
        _fsync_dir(path.parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, NetexpError):
            raise
        raise _write_error(path, exc) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", *, overwrite: bool = False, follow_symlinks: bool = False,
                 encoding: str | None = "utf-8", newline: str | None = None):
    """Open a temporary file for writing; on success it replaces ``path`` atomically (see the module)."""
    if "b" in mode:
        encoding = None
    with atomic_path(path, overwrite=overwrite, follow_symlinks=follow_symlinks) as tmp:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(tmp, flags, 0o666)
        with open(fd, mode, encoding=encoding, newline=newline) as fh:
            yield fh
            fh.flush()


def write_text(path: str | os.PathLike, text: str, *, overwrite: bool = False, follow_symlinks: bool = False) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; return the path."""
    with atomic_write(path, overwrite=overwrite, follow_symlinks=follow_symlinks) as fh:
        fh.write(text)
    return Path(path)
