"""netexp: design and analysis of randomized experiments under network interference.

The layers, in the order data flows through them::

    graph -> clustering -> designs -> exposure -> estimators -> report

>>> import netexp as ne
>>> g = ne.load_graph("karate")
>>> clusters = ne.leiden(g, rng=0)
>>> z = ne.ClusterRandomized(clusters).sample(rng=1)
>>> e = ne.exposure(g, z)
"""

# ``import netexp`` is light (well under 0.5 s): only the error classes are imported here; every
# other public name is imported from its module on first use (PEP 562), so ``ne.read_graph`` pulls
# in the graph layer and ``ne.diagnose`` scipy.stats, but nothing pays for what it does not use.
import importlib as _importlib
import sys as _sys
import types as _types
from typing import TYPE_CHECKING

from ._errors import (ClusteringError, DesignError, EstimationError, EstimationWarning, ExposureError, GraphError,
                      GraphFormatError, GraphWarning, InputError, NetexpError, NetexpWarning, OutputExistsError)

if TYPE_CHECKING:  # static analysers and IDEs see the eager imports
    from ._pipeline import PipelineReport, analyze, run_pipeline
    from ._experiment import AnalysisResult, Experiment
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
                           exposure, exposure_probabilities, fraction_treated_neighbors, get_mapping, khop_graph,
                           pack_draws, treated_neighbor_counts)
    from .graph import (Graph, barabasi_albert, erdos_renyi, read_edgelist, read_graph, social_network,
                        stochastic_block_model, watts_strogatz, write_edgelist)
    from .graph._examples import DEFAULT_GRAPH, bundled_graphs, load_graph, load_node_table
    from ._report import render_report, write_report
    from .simulate import CustomOutcomes, HeterogeneousPopulation, LinearInMeans, PotentialOutcomes, ThresholdContagion
    from .designs import MultiArmBernoulli, MultiArmCluster, MultiArmComplete, MultiArmDesign
    from .diagnostics import ICCResult, MultiArmSRMResult, intra_cluster_correlation, multiarm_balance, multiarm_srm_test
    from .estimators import (BipartiteGraph, BipartiteProbabilities, ExpectedExposure, RecentredExposureRegression,
                             adjusted_exposure_contrasts, bipartite_exposure, bipartite_exposure_probabilities,
                             bipartite_horvitz_thompson, expected_exposure, multiarm_difference_in_means,
                             paired_difference_in_means, recentred_exposure_regression)
    from .exposure import ProbabilityCost, arm_shares, estimate_cost, expected_arm_shares
    from .inference import multiarm_randomization_test
    from .designs import HashedAssignmentDesign, HashedDesign, hash_uniform

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    **dict.fromkeys(["PipelineReport", "analyze", "run_pipeline"], "._pipeline"),
    **dict.fromkeys(["AnalysisResult", "Experiment"], "._experiment"),
    **dict.fromkeys([
        "ClusterQuality", "Clustering", "cluster", "cluster_quality", "distinct_clusters_in_neighborhood",
        "find_resolution", "full_exposure_probability", "greedy_modularity", "label_propagation", "leiden", "louvain",
        "modularity", "one_hop_max", "resize_clusters", "size_tradeoff", "three_net"
    ], ".clustering"),
    **dict.fromkeys(["cluster_covariates", "covariate_matrix"], "._covariates"),
    **dict.fromkeys([
        "Bernoulli", "Blocked", "ClusterRandomized", "Complete", "Design", "MatchedPairs", "RerandomizationDraws",
        "Rerandomized", "Stratified", "StratifiedBlocked", "mahalanobis_balance", "ColoringDesign",
        "EgoClusterDesign", "IndependentSetDesign", "MixedInterferenceDesign", "RandomizedSaturation",
        "SaturationRecommendation", "graph_cluster_randomized", "greedy_coloring", "recommend_saturations"
    ], ".designs"),
    **dict.fromkeys([
        "BalanceTable", "DesignCard", "Diagnosis", "EstimatorContext", "RepeatedRandomization", "SimulatedPower",
        "SRMResult", "balance_table", "blocking_precision", "design_effect", "diagnose", "mde_cluster",
        "mde_individual", "power_cluster", "power_curve", "power_individual", "register_diagnosand",
        "regression_adjustment_comparison", "repeated_randomization", "segment_effects", "simulate_power", "srm_test",
        "targeted_vs_randomized"
    ], ".diagnostics"),
    **dict.fromkeys(["stratified_difference_in_means"], ".diagnostics._lessons"),
    **dict.fromkeys([
        "Estimate", "EstimateTable", "cluster_difference_in_means", "cluster_ols", "difference_in_means",
        "exposure_regression", "ols", "ExposureRegressionFit", "difference_in_means_by_exposure",
        "exposure_regression_fit", "hajek", "horvitz_thompson", "lin_estimator", "network_hac_bandwidth",
        "saturation_regression", "two_stage_estimates"
    ], ".estimators"),
    **dict.fromkeys(["FullExposureProbabilities", "RandomizedGraphCluster"], ".designs._randomized_clusters"),
    **dict.fromkeys(["regression"], ".estimators._regression"),
    **dict.fromkeys([
        "InterferenceTestResult", "MixedDesignTestResult", "RandomizationInterval", "RandomizationTestResult",
        "adjust_pvalues", "interference_test", "mixed_design_test", "randomization_confidence_interval",
        "randomization_test"
    ], ".inference"),
    **dict.fromkeys([
        "AronowSamii", "CustomMapping", "ExposureMapping", "ExposureProbabilities", "FractionalExposure",
        "FractionBins", "FullNeighborhood", "NeighborhoodExposure", "OwnTreatment", "PackedDraws", "exposure",
        "exposure_probabilities", "fraction_treated_neighbors", "get_mapping", "khop_graph", "pack_draws",
        "treated_neighbor_counts"
    ], ".exposure"),
    **dict.fromkeys([
        "Graph", "barabasi_albert", "erdos_renyi", "read_edgelist", "read_graph", "social_network",
        "stochastic_block_model", "watts_strogatz", "write_edgelist"
    ], ".graph"),
    **dict.fromkeys(["DEFAULT_GRAPH", "bundled_graphs", "load_graph", "load_node_table"], ".graph._examples"),
    **dict.fromkeys(["render_report", "write_report"], "._report"),
    **dict.fromkeys([
        "CustomOutcomes", "HeterogeneousPopulation", "LinearInMeans", "PotentialOutcomes", "ThresholdContagion"
    ], ".simulate"),
}

# issue 16: paired, recentred, covariate-adjusted, multi-arm and bipartite analyses, ICC
_ISSUE16: dict[str, list[str]] = {
    ".designs": ["MultiArmDesign", "MultiArmComplete", "MultiArmBernoulli", "MultiArmCluster"],
    ".estimators": ["paired_difference_in_means", "expected_exposure", "ExpectedExposure",
                    "recentred_exposure_regression", "RecentredExposureRegression", "multiarm_difference_in_means",
                    "adjusted_exposure_contrasts", "BipartiteGraph", "BipartiteProbabilities", "bipartite_exposure",
                    "bipartite_exposure_probabilities", "bipartite_horvitz_thompson"],
    ".exposure": ["arm_shares", "expected_arm_shares"],
    ".inference": ["multiarm_randomization_test"],
    ".diagnostics": ["intra_cluster_correlation", "ICCResult", "multiarm_srm_test", "MultiArmSRMResult",
                     "multiarm_balance"],
}
_LAZY.update(dict.fromkeys(["HashedDesign", "HashedAssignmentDesign", "hash_uniform"], ".designs._hashed"))
_LAZY.update(dict.fromkeys(["estimate_cost", "ProbabilityCost"], ".exposure"))
# issue 16, multi-arm end to end: the k-arm exposure-level estimators, k-arm recentring, the assignment writer
_ISSUE16.update({
    ".exposure._multiarm": ["multiarm_exposure_probabilities", "MultiArmExposureProbabilities"],
    ".estimators._multiarm": ["multiarm_exposure_contrasts"],
    ".estimators._recentred": ["multiarm_recentred_regression", "MultiArmRecentredRegression"],
    "._assign": ["write_assignment"],
})
for _mod, _names in _ISSUE16.items():
    _LAZY.update(dict.fromkeys(_names, _mod))


def __getattr__(name):
    mod = _LAZY.get(name)
    if mod is None:
        if name in ("plots", "scale"):  # matplotlib / the engine layer (DuckDB, Spark): on first use only
            return _importlib.import_module("." + name, __name__)
        raise AttributeError(f"module 'netexp' has no attribute {name!r}")
    _jit_note()
    value = getattr(_importlib.import_module(mod, __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


def _jit_note():
    global _jit_note
    from ._jit import note_if_cold

    note_if_cold()
    _jit_note = lambda: None  # noqa: E731 - once per process


class _NetexpModule(_types.ModuleType):
    # The subpackage ``netexp.exposure`` and the function ``ne.exposure`` share a name; importing the
    # subpackage must not replace the function (as the eager ``from .exposure import exposure`` did not).
    def __setattr__(self, name, value):
        if name == "exposure" and isinstance(value, _types.ModuleType):
            return
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _NetexpModule

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
    "MixedInterferenceDesign", "cluster_covariates", "covariate_matrix", "HashedDesign", "HashedAssignmentDesign",
    "hash_uniform",
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
    "run_pipeline", "analyze", "PipelineReport", "Experiment", "AnalysisResult",
]
__all__ += [_n for _names in _ISSUE16.values() for _n in _names]
