"""Clustering layer: partitions of a graph into randomization clusters and their quality."""

from ._clustering import Clustering, modularity
from ._methods import METHODS, cluster, find_resolution, greedy_modularity, label_propagation, leiden, louvain

__all__ = ["Clustering", "modularity", "cluster", "find_resolution", "leiden", "louvain",
           "greedy_modularity", "label_propagation", "METHODS"]
