"""netexp run's cluster design and full-neighbourhood contrast, repeated: the setting of the seeded coverage tests."""

from __future__ import annotations

import numpy as np

import netexp as ne


def pipeline_experiments(graph, cluster_design, *, reps: int, seed: int, target_clusters=None):
    """``(fn, Y, codes)`` for ``reps`` experiments of the main job's cluster design on ``graph``.

    Leiden clusters and the outcome model (LinearInMeans, baseline 0.05, direct 0.2, spillover 0.1, noise sd 0.01)
    seeded as ``run_pipeline`` seeds them; ``cluster_design(n_clusters)`` the cluster-level design (e.g.
    ``lambda G: ne.Bernoulli(G, p=0.5)``). ``fn``: the pipeline's full-neighbourhood pieces (probabilities, units
    mask, mapping, truth); ``Y`` (reps, n): outcomes with fresh noise per experiment; ``codes``: observed levels.
    """
    from netexp._pipeline import _full_neighbourhood
    from netexp.clustering import cluster

    s_cluster, s_noise, *_ = np.random.SeedSequence(2026).spawn(6)
    cl = cluster(graph, "leiden", rng=s_cluster, target_clusters=target_clusters)
    design = ne.ClusterRandomized(cl, cluster_design=cluster_design(cl.n_clusters))
    po = ne.LinearInMeans(baseline=0.05, direct=0.2, spillover=0.1, noise_sd=0.01).realize(graph, rng=s_noise)
    fn = _full_neighbourhood(graph, design, po, 0.2)
    rng = np.random.default_rng(seed)
    Z = design.sample_many(reps, rng=rng)
    Y = po.outcomes(Z) - po.noise + rng.normal(0.0, 0.01, Z.shape)
    return fn, Y, fn["mapping"].map_many(graph, Z)
