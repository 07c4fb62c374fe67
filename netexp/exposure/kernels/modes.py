"""What a pair-sum kernel computes: its ``mode`` argument, named.

The streamed pair kernels (``*_pair_sums``) share one loop over the dependent (near) pairs and differ only
in what each pair adds. The mode is a compile-time integer for numba; callers and kernels use these names,
never the numbers.
"""

from __future__ import annotations

#: Aronow-Samii sums: for observed levels ``a_i``, ``a_j`` and weight columns ``q``,
#: ``sums[q, a_i, a_j] += (pi_ij - pi_i pi_j) / pi_ij * weights[i, q] * weights[j, q]`` (0 where the
#: joint is 0), and ``zero_count[i, l]`` counts the partners j with ``P(level_i = a_i, level_j = l) = 0``.
AS_PAIR_SUMS = 0

#: Covariance sums over every pair of levels:
#: ``sums[0, k, l] += (pi_ij(k, l) - pi_i(k) pi_j(l)) * weights[i, k] * weights[j, l]``.
COV_PAIR_SUMS = 1

#: The joint at two given levels: ``dense_joint[i, j] = P(level_i = level_a, level_j = level_b)`` for
#: every near pair (dense output, Complete-type designs).
JOINT_AT_LEVELS = 2

