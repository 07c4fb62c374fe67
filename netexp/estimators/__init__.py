"""Estimators: one frozen result type for every estimate."""

from ._estimators import cluster_difference_in_means, cluster_ols, difference_in_means, exposure_regression
from ._estimators import EXPOSURE_COVARIANCE_TYPES, ExposureRegressionFit, exposure_regression_fit
from ._horvitz_thompson import difference_in_means_by_exposure, hajek, horvitz_thompson
from ._hac import HAC_KERNELS, network_hac_bandwidth
from ._lin import lin_estimator
from ._two_stage import saturation_regression, two_stage_estimates
from ._ols import COVARIANCE_TYPES, OLSFit, ols
from ._adjusted import adjusted_exposure_contrasts
from ._bipartite import (BipartiteGraph, BipartiteProbabilities, bipartite_exposure,
                         bipartite_exposure_probabilities, bipartite_horvitz_thompson)
from ._multiarm import multiarm_difference_in_means
from ._paired import paired_difference_in_means
from ._recentred import (ExpectedExposure, RecentredExposureRegression, expected_exposure,
                         recentred_exposure_regression)
from ._result import Estimate, EstimateTable

__all__ = ["Estimate", "EstimateTable", "difference_in_means", "cluster_difference_in_means", "cluster_ols",
           "exposure_regression", "ols", "OLSFit", "COVARIANCE_TYPES",
           "lin_estimator", "exposure_regression_fit", "ExposureRegressionFit", "EXPOSURE_COVARIANCE_TYPES",
           "network_hac_bandwidth", "HAC_KERNELS", "two_stage_estimates", "saturation_regression",
           "horvitz_thompson", "hajek", "difference_in_means_by_exposure", "paired_difference_in_means",
           "expected_exposure", "ExpectedExposure", "recentred_exposure_regression", "RecentredExposureRegression",
           "multiarm_difference_in_means", "adjusted_exposure_contrasts",
           "BipartiteGraph", "BipartiteProbabilities", "bipartite_exposure", "bipartite_exposure_probabilities",
           "bipartite_horvitz_thompson"]
