"""netexp: design and analysis of randomized experiments under network interference.

The layers, in the order data flows through them::

    graph -> clustering -> designs -> exposure -> estimators -> report

>>> import netexp as ne
>>> g = ne.load_graph("karate")
>>> clusters = ne.leiden(g, rng=0)
>>> z = ne.ClusterRandomized(clusters).sample(rng=1)
>>> e = ne.exposure(g, z)
"""

from ._errors import (ClusteringError, DesignError, EstimationError, EstimationWarning, ExposureError, GraphError,
                      GraphFormatError, GraphWarning, InputError, NetexpError, NetexpWarning, OutputExistsError)
from ._pipeline import PipelineReport, analyze, run_pipeline
from .clustering import (ClusterQuality, Clustering, cluster, cluster_quality, distinct_clusters_in_neighborhood,
                         find_resolution, full_exposure_probability, greedy_modularity, label_propagation, leiden,
                         louvain, modularity, one_hop_max, resize_clusters, size_tradeoff, three_net)
from ._covariates import cluster_covariates, covariate_matrix
from .designs import (Bernoulli, Blocked, ClusterRandomized, Complete, Design, MatchedPairs, RerandomizationDraws,
                      Rerandomized,
                      Stratified, StratifiedBlocked, mahalanobis_balance)
from .diagnostics import (BalanceTable, DesignCard, Diagnosis, EstimatorContext, RepeatedRandomization, SimulatedPower,
                          SRMResult, balance_table, blocking_precision, design_effect, diagnose, mde_cluster,
                          mde_individual, power_cluster, power_curve, power_individual, register_diagnosand,
                          regression_adjustment_comparison, repeated_randomization, segment_effects, simulate_power,
                          srm_test, targeted_vs_randomized)
from .diagnostics._lessons import stratified_difference_in_means
from .estimators import (Estimate, EstimateTable, cluster_difference_in_means, cluster_ols, difference_in_means,
                         exposure_regression, ols)
from .designs import (ColoringDesign, EgoClusterDesign, IndependentSetDesign, MixedInterferenceDesign,
                      RandomizedSaturation, SaturationRecommendation, graph_cluster_randomized, greedy_coloring,
                      recommend_saturations)
from .designs._randomized_clusters import FullExposureProbabilities, RandomizedGraphCluster
from .estimators import (ExposureRegressionFit, difference_in_means_by_exposure, exposure_regression_fit, hajek,
                         horvitz_thompson, lin_estimator, network_hac_bandwidth, saturation_regression,
                         two_stage_estimates)
from .estimators._regression import regression
from .inference import (InterferenceTestResult, MixedDesignTestResult, RandomizationInterval, RandomizationTestResult,
                        adjust_pvalues, interference_test, mixed_design_test, randomization_confidence_interval,
                        randomization_test)
from .exposure import (AronowSamii, CustomMapping, ExposureMapping, ExposureProbabilities, FractionalExposure,
                       FractionBins, FullNeighborhood, NeighborhoodExposure, OwnTreatment, PackedDraws,
                       ProbabilityCost, estimate_cost, exposure, exposure_probabilities, fraction_treated_neighbors,
                       get_mapping, khop_graph, pack_draws, treated_neighbor_counts)
from .graph import (Graph, barabasi_albert, erdos_renyi, read_edgelist, read_graph, social_network,
                    stochastic_block_model, watts_strogatz, write_edgelist)
from .graph._examples import DEFAULT_GRAPH, bundled_graphs, load_graph, load_node_table
from ._report import render_report, write_report
from .simulate import CustomOutcomes, HeterogeneousPopulation, LinearInMeans, PotentialOutcomes, ThresholdContagion

__version__ = "0.1.0"


def __getattr__(name):
    # ``ne.plots`` without importing matplotlib at ``import netexp``
    if name == "plots":
        import importlib

        return importlib.import_module(".plots", __name__)
    raise AttributeError(f"module 'netexp' has no attribute {name!r}")

__all__ = [
    "__version__",
    # errors
    "NetexpError", "InputError", "GraphError", "GraphFormatError", "ClusteringError", "DesignError",
    "ExposureError", "EstimationError", "OutputExistsError", "NetexpWarning", "GraphWarning", "EstimationWarning",
    # graph
    "Graph", "read_graph", "read_edgelist", "write_edgelist", "load_graph", "load_node_table", "bundled_graphs",
    "DEFAULT_GRAPH", "erdos_renyi", "stochastic_block_model", "watts_strogatz", "barabasi_albert", "social_network",
    # clustering
    "Clustering", "cluster", "leiden", "louvain", "greedy_modularity", "label_propagation", "find_resolution",
    "modularity", "three_net", "one_hop_max", "resize_clusters", "size_tradeoff", "cluster_quality", "ClusterQuality",
    "distinct_clusters_in_neighborhood", "full_exposure_probability",
    # designs
    "Design", "Bernoulli", "Complete", "Stratified", "Blocked", "StratifiedBlocked", "ClusterRandomized",
    "Rerandomized", "RerandomizationDraws", "mahalanobis_balance", "MatchedPairs", "RandomizedGraphCluster",
    "FullExposureProbabilities", "graph_cluster_randomized", "greedy_coloring", "IndependentSetDesign", "ColoringDesign",
    "RandomizedSaturation", "recommend_saturations", "SaturationRecommendation", "EgoClusterDesign",
    "MixedInterferenceDesign", "cluster_covariates", "covariate_matrix",
    # exposure
    "NeighborhoodExposure", "exposure", "treated_neighbor_counts", "fraction_treated_neighbors",
    "ExposureMapping", "AronowSamii", "FractionalExposure", "FullNeighborhood", "FractionBins", "OwnTreatment",
    "CustomMapping", "get_mapping", "khop_graph", "pack_draws", "PackedDraws", "exposure_probabilities",
    "ExposureProbabilities", "estimate_cost", "ProbabilityCost",
    # simulation
    "LinearInMeans", "PotentialOutcomes", "HeterogeneousPopulation", "ThresholdContagion", "CustomOutcomes",
    # estimators
    "Estimate", "EstimateTable", "difference_in_means", "cluster_difference_in_means", "cluster_ols",
    "exposure_regression", "ols", "regression", "horvitz_thompson", "hajek", "difference_in_means_by_exposure",
    "lin_estimator", "exposure_regression_fit", "ExposureRegressionFit", "network_hac_bandwidth",
    "two_stage_estimates", "saturation_regression",
    # inference
    "randomization_test", "randomization_confidence_interval", "interference_test", "mixed_design_test",
    "adjust_pvalues", "RandomizationTestResult", "RandomizationInterval", "InterferenceTestResult",
    "MixedDesignTestResult",
    # diagnostics
    "balance_table", "BalanceTable", "srm_test", "SRMResult", "diagnose", "Diagnosis", "EstimatorContext",
    "register_diagnosand", "power_cluster", "mde_cluster", "power_individual", "mde_individual", "design_effect",
    "simulate_power", "SimulatedPower", "power_curve", "repeated_randomization", "RepeatedRandomization",
    "targeted_vs_randomized", "segment_effects", "stratified_difference_in_means", "regression_adjustment_comparison", "blocking_precision",
    "DesignCard",
    # pipeline and report
    "render_report", "write_report",
    "run_pipeline", "analyze", "PipelineReport",
]
