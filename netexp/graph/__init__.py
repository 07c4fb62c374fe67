"""Graph layer: the immutable :class:`Graph`, file I/O, generators and bundled graphs."""

from ._graph import Graph
from ._io import read_edgelist, read_graph, write_edgelist

__all__ = ["Graph", "read_edgelist", "read_graph", "write_edgelist"]
