"""Designs that join the contract battery in test_designs.py (name -> zero-argument factory).

Names starting with ``mc_`` have no exact joint probabilities.
"""

import numpy as np

import netexp as ne
from netexp.designs import (ColoringDesign, EgoClusterDesign, IndependentSetDesign, MixedInterferenceDesign,
                            RandomizedSaturation, graph_cluster_randomized)

# 12 units: a 10-cycle with chords plus a pendant pair (colours, independent sets)
_U = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 2, 10])
_V = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 5, 7, 11])
SMALL_GRAPH = ne.Graph.from_edges(_U, _V, nodes=np.arange(12))
# a path of 14 units: room for 2-3 ego-clusters with disjoint 2-hop neighbourhoods
PATH_GRAPH = ne.Graph.from_edges(np.arange(13), np.arange(1, 14), nodes=np.arange(14))
SIZES_LABELS = np.repeat(np.arange(5), [2, 3, 1, 4, 2])  # 12 units in 5 clusters of unequal size
MIXED_LABELS = np.repeat(np.arange(4), [2, 3, 2, 3])     # 10 units (exact joint by enumeration)

NETWORK_DESIGNS = {
    "graph_cluster_size_strata": lambda: graph_cluster_randomized(
        np.repeat(np.arange(6), [1, 1, 2, 3, 3, 2]), cluster_design="stratified-by-size", n_size_strata=2),
    "graph_cluster_bernoulli": lambda: graph_cluster_randomized(SIZES_LABELS, cluster_design="bernoulli", p=0.3),
    "mc_graph_cluster_rerandomized": lambda: graph_cluster_randomized(
        np.repeat(np.arange(6), [1, 2, 3, 4, 5, 6]), cluster_design="rerandomized", acceptance=0.5),
    "independent_set_bernoulli": lambda: IndependentSetDesign(SMALL_GRAPH, p=0.4, rng=0),
    "independent_set_complete": lambda: IndependentSetDesign(SMALL_GRAPH, n_treated=2, rng=1),
    "coloring_uniform_half": lambda: ColoringDesign(SMALL_GRAPH, p=0.5),
    "coloring_size_full": lambda: ColoringDesign(SMALL_GRAPH, p=1.0, class_probabilities="size", method="dsatur"),
    "saturation_complete": lambda: RandomizedSaturation(SIZES_LABELS, (0.0, 0.5, 1.0)),
    "saturation_fractional_counts": lambda: RandomizedSaturation(SIZES_LABELS, (0.0, 1 / 3), (0.4, 0.6)),
    "saturation_bernoulli_stages": lambda: RandomizedSaturation(SIZES_LABELS, (0.8, 0.0, 0.3), (0.3, 0.2, 0.5),
                                                                within="bernoulli", stage1="bernoulli"),
    "ego_complete": lambda: EgoClusterDesign(PATH_GRAPH, rng_selection=3),
    "ego_bernoulli": lambda: EgoClusterDesign(PATH_GRAPH, p=0.3, assignment="bernoulli", rng_selection=4),
    "mixed_complete": lambda: MixedInterferenceDesign(MIXED_LABELS),
    "mixed_bernoulli_pairs": lambda: MixedInterferenceDesign(np.repeat(np.arange(5), [2, 1, 3, 2, 2]), arm_share=0.4,
                                                             p=0.3, unit_design="bernoulli",
                                                             stratify_clusters_by_size=True),
}
