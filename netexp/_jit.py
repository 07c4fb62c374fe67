"""A one-line note when netexp's compiled kernels are about to be compiled (numba caches cold).

netexp's numerical kernels are compiled by numba on first use and cached on disk (``cache=True``),
next to the modules when that directory is writable, else in numba's per-user cache directory
(or ``NUMBA_CACHE_DIR``). The first run after an install compiles them (a minute or two); later
runs load them in milliseconds. This module says so once, on stderr, when no cached kernel of
netexp is found; it never imports numba itself.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_noted = False


def _cache_dirs() -> list[Path]:
    dirs = [_PACKAGE]
    env = os.environ.get("NUMBA_CACHE_DIR")
    if env:
        dirs.append(Path(env))
    home = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "numba"
    dirs.append(home)
    return dirs


def caches_warm() -> bool:
    """Whether any compiled-kernel index of netexp exists on disk."""
    for d in _cache_dirs():
        try:
            if not d.is_dir():
                continue
            pattern = "**/*.nbi" if d == _PACKAGE else "**/*netexp*/**/*.nbi"
            if d == _PACKAGE:
                if any(True for pat in ("__pycache__/*.nbi", "*/__pycache__/*.nbi", "*/*/__pycache__/*.nbi")
                       for _ in d.glob(pat)):  # subpackages too (exposure/kernels)
                    return True
            elif any(True for _ in d.glob(pattern)):
                return True
        except OSError:
            continue
    return False


def note_if_cold(stream=None) -> bool:
    """Print the one-line first-use note on ``stream`` (stderr) if the kernel caches are cold; once per process.

    Returns whether the note was printed. Silenced by ``NETEXP_QUIET=1``.
    """
    global _noted
    if _noted or os.environ.get("NETEXP_QUIET"):
        return False
    _noted = True
    if caches_warm():
        return False
    print("netexp: compiling numerical kernels on first use (once per installation, 1-3 minutes; later runs "
          "reuse the cache)", file=stream or sys.stderr, flush=True)
    return True
