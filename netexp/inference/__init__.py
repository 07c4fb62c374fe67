"""Inference: randomization tests with null draws from the design, intervals by test inversion,
tests for interference, and multiple-comparison adjustments."""

from ._interference import (INTERFERENCE_STATISTICS, InterferenceTestResult, MixedDesignTestResult,
                            interference_test, mixed_design_test)
from ._multiarm import multiarm_randomization_test
from ._multiple import ADJUST_METHODS, adjust_pvalues
from ._randomization import (RandomizationInterval, RandomizationTestResult, randomization_confidence_interval,
                             randomization_test)
from ._statistics import STATISTICS

__all__ = ["randomization_test", "randomization_confidence_interval", "RandomizationTestResult",
           "RandomizationInterval", "interference_test", "InterferenceTestResult", "mixed_design_test",
           "MixedDesignTestResult", "adjust_pvalues", "STATISTICS", "INTERFERENCE_STATISTICS", "ADJUST_METHODS",
           "multiarm_randomization_test"]
