"""Clustering layer: partitions of a graph into randomization clusters and their quality."""

from ._clustering import Clustering, modularity
from ._methods import METHODS, cluster, find_resolution, greedy_modularity, label_propagation, leiden, louvain
from ._quality import ClusterQuality, cluster_quality, distinct_clusters_in_neighborhood, full_exposure_probability
from ._size import resize_clusters, size_tradeoff
from ._threenet import one_hop_max, three_net

__all__ = ["Clustering", "modularity", "cluster", "find_resolution", "leiden", "louvain",
           "greedy_modularity", "label_propagation", "METHODS", "three_net", "one_hop_max",
           "resize_clusters", "size_tradeoff", "cluster_quality", "ClusterQuality",
           "distinct_clusters_in_neighborhood", "full_exposure_probability"]
