"""Designs that join the contract battery in test_designs.py (name -> zero-argument factory).

Names starting with ``mc_`` have no exact joint probabilities.
"""

import netexp as ne
from netexp.designs._randomized_clusters import RandomizedGraphCluster


def _small_graph():
    return ne.erdos_renyi(14, 0.2, rng=5)


RANDOMIZED_CLUSTER_DESIGNS = {
    # randomized 3-net: co-clustering has no closed form, joint_probabilities() raises
    "mc_randomized_3net": lambda: RandomizedGraphCluster(_small_graph(), p=0.4),
    # 1-hop-max: exact joints (Jaccard of closed neighbourhoods)
    "randomized_1hop_max": lambda: RandomizedGraphCluster(_small_graph(), p=0.3, clustering="1-hop-max"),
    "randomized_1hop_max_karate": lambda: RandomizedGraphCluster(ne.load_graph("karate"), clustering="1-hop-max"),
}
