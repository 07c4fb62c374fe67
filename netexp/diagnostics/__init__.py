"""Diagnostics: covariate balance against the design's chance imbalance, sample ratio mismatch."""

from ._balance import BalanceTable, balance_table
from ._srm import SRMResult, srm_test

__all__ = ["BalanceTable", "balance_table", "SRMResult", "srm_test"]
