"""Estimators: one frozen result type for every estimate."""

from ._estimators import cluster_difference_in_means, cluster_ols, difference_in_means, exposure_regression
from ._ols import COVARIANCE_TYPES, OLSFit, ols
from ._result import Estimate, EstimateTable

__all__ = ["Estimate", "EstimateTable", "difference_in_means", "cluster_difference_in_means", "cluster_ols",
           "exposure_regression", "ols", "OLSFit", "COVARIANCE_TYPES"]
