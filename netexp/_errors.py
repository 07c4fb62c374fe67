"""Exception and warning tree.

Every error netexp raises for a user mistake derives from :class:`NetexpError` and from the
built-in exception it specializes, so ``except ValueError`` keeps working for callers who do
not know netexp.
"""

from __future__ import annotations

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
