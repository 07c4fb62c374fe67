"""Diagnostics: covariate balance, sample ratio mismatch, design diagnosis by simulation, power,
the teaching notebook's lessons as functions, and the experiment design card."""

from ._balance import BalanceTable, balance_table
from ._card import DesignCard
from ._diagnose import (BUILTIN_ESTIMATORS, DIAGNOSANDS, Diagnosand, Diagnosis, EstimatorContext, diagnose,
                        register_diagnosand)
from ._icc import ICCResult, intra_cluster_correlation
from ._multiarm import MultiArmSRMResult, multiarm_balance, multiarm_srm_test
from ._lessons import (RepeatedRandomization, blocking_precision, regression_adjustment_comparison,
                       repeated_randomization, segment_effects, targeted_vs_randomized)
from ._power import (SimulatedPower, design_effect, mde_cluster, mde_individual, plot_power_curve, power_cluster,
                     power_curve, power_individual, simulate_power)
from ._srm import SRMResult, srm_test

__all__ = ["BalanceTable", "balance_table", "SRMResult", "srm_test",
           "diagnose", "Diagnosis", "EstimatorContext", "Diagnosand", "DIAGNOSANDS", "BUILTIN_ESTIMATORS",
           "register_diagnosand",
           "power_cluster", "mde_cluster", "power_individual", "mde_individual", "design_effect", "simulate_power",
           "SimulatedPower", "power_curve", "plot_power_curve",
           "repeated_randomization", "RepeatedRandomization", "targeted_vs_randomized", "segment_effects",
           "regression_adjustment_comparison", "blocking_precision",
           "DesignCard", "intra_cluster_correlation", "ICCResult",
           "multiarm_srm_test", "MultiArmSRMResult", "multiarm_balance"]
