"""Graph layer: the immutable :class:`Graph`, file I/O, generators and bundled graphs."""

from .._jit import note_if_cold as _note_if_cold

_note_if_cold()  # every compiled kernel sits behind this layer: one stderr line if the caches are cold

from ._generators import barabasi_albert, erdos_renyi, social_network, stochastic_block_model, watts_strogatz
from ._graph import Graph
from ._io import read_edgelist, read_graph, write_edgelist

__all__ = ["Graph", "read_edgelist", "read_graph", "write_edgelist", "erdos_renyi", "stochastic_block_model",
           "watts_strogatz", "barabasi_albert", "social_network"]
