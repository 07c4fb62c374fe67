"""Designs that join the contract battery in test_designs.py (name -> zero-argument factory).

Names starting with ``mc_`` have no exact joint probabilities.
"""

RANDOMIZED_CLUSTER_DESIGNS = {}
