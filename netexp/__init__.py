"""netexp: design and analysis of randomized experiments under network interference."""
from ._errors import *  # noqa: F401,F403
from .graph import Graph, read_edgelist, read_graph, write_edgelist

__version__ = "0.1.0"
