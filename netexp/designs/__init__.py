"""Designs: declared distributions over treatment assignments with exact probabilities."""

from ._base import Design
from ._cluster import ClusterRandomized
from ._matched import MatchedPairs
from ._rerandomized import RerandomizationDraws, Rerandomized, mahalanobis_balance
from ._stratified import Blocked, Complete, Stratified, StratifiedBlocked
from ._unit import Bernoulli

__all__ = ["Design", "Bernoulli", "Complete", "Stratified", "Blocked", "StratifiedBlocked", "ClusterRandomized",
           "Rerandomized", "RerandomizationDraws", "mahalanobis_balance", "MatchedPairs"]
