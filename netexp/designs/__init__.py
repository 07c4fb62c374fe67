"""Designs: declared distributions over treatment assignments with exact probabilities."""

from ._base import Design
from ._cluster import ClusterRandomized
from ._unit import Bernoulli, Complete

__all__ = ["Design", "Bernoulli", "Complete", "ClusterRandomized"]
