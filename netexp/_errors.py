"""Exception and warning tree.

Every error netexp raises for a user mistake derives from :class:`NetexpError` and from the
built-in exception it specializes, so ``except ValueError`` keeps working for callers who do
not know netexp.

Warnings go through :func:`warn`, which attributes each one to the caller's line rather than to
the netexp line that raised it.
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = [
    "NetexpError",
    "InputError",
    "GraphError",
    "GraphFormatError",
    "ClusteringError",
    "DesignError",
    "ExposureError",
    "EstimationError",
    "OutputExistsError",
    "NetexpWarning",
    "GraphWarning",
    "EstimationWarning",
]


class NetexpError(Exception):
    """Base class of every error raised by netexp."""


class InputError(NetexpError, ValueError):
    """An argument has the wrong type, shape or value."""


class GraphError(NetexpError, ValueError):
    """A graph cannot be built or used as given (empty, malformed adjacency, unknown node ids)."""


class GraphFormatError(GraphError):
    """A graph file cannot be parsed; the message names the file and the line."""


class ClusteringError(NetexpError, ValueError):
    """A clustering cannot be built or does not match its graph."""


class DesignError(NetexpError, ValueError):
    """A design is declared with impossible parameters."""


class ExposureError(NetexpError, ValueError):
    """Exposure cannot be computed for the given graph and assignment."""


class EstimationError(NetexpError, ValueError):
    """An estimator cannot be computed from the data (empty arm, NaN outcomes, singular design)."""


class OutputExistsError(NetexpError, FileExistsError):
    """Refusing to overwrite an existing output file."""


class NetexpWarning(UserWarning):
    """Base class of every warning emitted by netexp."""


class GraphWarning(NetexpWarning):
    """Input graph was altered while loading (self-loops dropped, duplicate edges merged)."""


class EstimationWarning(NetexpWarning):
    """An estimate is computable but should be read with care (few clusters, isolated units)."""


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn(message: str, category: type[Warning] = NetexpWarning) -> None:
    """``warnings.warn(message, category)`` attributed to the first frame outside the netexp package.

    A fixed ``stacklevel`` is right for one call path only: the ``@aligned`` wrapper of a public
    function, a private helper in between, or a public function calling another all add frames,
    and the warning then points at netexp's own source (``netexp/_align.py``) instead of the line
    the user wrote. Walking the stack to the first frame whose code is not in the package gives the
    user's line on every path (nested public calls included; a user callback that netexp calls,
    e.g. an estimator handed to ``diagnose``, gets the warnings of the netexp functions it calls).
    Nothing else changes: the warning still goes through ``warnings.warn``, so filters
    ("error", "once", "ignore"), ``catch_warnings`` and ``pytest.warns`` behave as usual, and no
    global state is touched (safe in threads). Python 3.12's ``skip_file_prefixes`` does the same;
    this works on 3.11.
    """
    frame = sys._getframe(1)
    level = 2  # warnings.warn(stacklevel=2) names this function's caller, i.e. sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
