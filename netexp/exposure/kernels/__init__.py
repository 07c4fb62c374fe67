"""Compiled kernels of exact exposure probabilities, one room per design family.

Room map (design family -> module -> kernels). Every kernel takes the *incidence* of the design: row i
(``row_ptr[i]:row_ptr[i + 1]``) lists the randomization units (units, or clusters) touching unit i's
closed k-hop neighbourhood, ``row_unit`` which unit, ``row_weight`` how many of i's k-hop neighbours
follow it, ``own_unit[i]`` the one that sets i's own treatment; ``unit_row_ptr`` / ``unit_rows`` is the
transpose (the rows touching each randomization unit). A count-based level is
``level_table[level_offset[d] + z * (d + 1) + c]`` for own treatment z and c treated among d = ``n_nbrs[i]``.

=============================================  =========================  ==============================================
design family                                  module                     kernels (marginals; pair joints; pair sums)
=============================================  =========================  ==============================================
Bernoulli over units or clusters (independent  :mod:`.bernoulli`          ``independent_marginals``;
randomization units, any probabilities)                                   ``independent_joint_entries``;
                                                                          ``independent_as_pair_sums``,
                                                                          ``independent_cov_pair_sums``
unit-level Bernoulli(p), one p                 :mod:`.unit_bernoulli`     (marginals: ``independent_marginals``);
                                                                          ``binom_table``, ``tail_tables``;
                                                                          ``unit_bernoulli_pair_sums``
threshold mapping (level depends on c only     :mod:`.threshold`          ``threshold_joint_entries``;
via [c = 0], [c = d]) over independent                                    ``threshold_pair_sums``
clusters with one p
Complete over units (and the type machinery    :mod:`.complete`           ``unit_complete_marginals``;
shared with Complete over clusters)                                       ``unit_type_levels``, ``type_pair_tables``;
                                                                          ``complete_near_pair_sums``
Complete over clusters                         :mod:`.cluster_complete`   ``cluster_complete_marginals``;
                                                                          ``cluster_type_levels``,
                                                                          ``row_profile_hash``; (pair sums:
                                                                          ``complete_near_pair_sums``; with a
                                                                          threshold mapping the profile route,
                                                                          ``_cluster_profiles.profile_pair_sums``)
randomized saturation (stage 1 independent     :mod:`.saturation`         ``saturation_marginals``;
or exchangeable levels)                                                   ``saturation_joint_entries``,
                                                                          ``saturation_type_levels``,
                                                                          ``saturation_type_pair_tables``,
                                                                          ``saturation_profile_hash``;
                                                                          ``saturation_near_pair_sums``
randomized saturation, independent levels,     :mod:`.saturation_threshold`  ``all_or_none_tables``;
threshold mapping                                                         ``saturation_threshold_joint_entries``;
                                                                          ``saturation_threshold_pair_sums``
shared numba helpers                           :mod:`.common`             ``log_binom``, ``log_factorials``,
                                                                          ``log_binom_lf``, ``split_pair_parts``
=============================================  =========================  ==============================================

The pair-sum kernels run in one of three modes, named in :mod:`.modes` (``AS_PAIR_SUMS``,
``COV_PAIR_SUMS``, ``JOINT_AT_LEVELS``). :mod:`.dispatch` is the only caller: given the pair structure
that ``exposure/_probabilities.py`` built, it picks the room and runs its kernel in a named mode.

Kernels are compiled by numba on first use and cached on disk (``cache=True``, see ``netexp/_jit.py``).
The submodules are imported where they are used, so importing this package compiles nothing. numba
invalidates a cached kernel when *its own* file changes, not when a kernel it calls from another module
does: after editing :mod:`.common` (or any module whose kernels others call), delete this package's
``__pycache__/*.nbi`` and ``*.nbc`` files before measuring or testing.
"""
