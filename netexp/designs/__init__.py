"""Designs: declared distributions over treatment assignments with exact probabilities."""

from ._base import Design
from ._cluster import ClusterRandomized
from ._coloring import ColoringDesign, IndependentSetDesign, greedy_coloring
from ._ego import EgoClusterDesign
from ._graph_cluster import graph_cluster_randomized
from ._hashed import HashedAssignmentDesign, HashedDesign, hash_uniform
from ._matched import MatchedPairs
from ._mixed import MixedInterferenceDesign
from ._multiarm import MultiArmBernoulli, MultiArmCluster, MultiArmComplete, MultiArmDesign
from ._rerandomized import RerandomizationDraws, Rerandomized, mahalanobis_balance
from ._saturation import RandomizedSaturation, SaturationRecommendation, recommend_saturations
from ._stratified import Blocked, Complete, Stratified, StratifiedBlocked
from ._subset import UnitSubset
from ._unit import Bernoulli

__all__ = ["Design", "Bernoulli", "Complete", "Stratified", "Blocked", "StratifiedBlocked", "ClusterRandomized",
           "Rerandomized", "RerandomizationDraws", "mahalanobis_balance", "MatchedPairs",
           "graph_cluster_randomized", "greedy_coloring", "IndependentSetDesign", "ColoringDesign",
           "RandomizedSaturation", "recommend_saturations", "SaturationRecommendation", "EgoClusterDesign",
           "MixedInterferenceDesign", "UnitSubset", "MultiArmDesign", "MultiArmComplete", "MultiArmBernoulli",
           "MultiArmCluster", "HashedDesign", "HashedAssignmentDesign", "hash_uniform"]
