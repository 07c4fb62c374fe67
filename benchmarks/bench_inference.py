"""Time 1000-draw randomization tests on a 10^5-unit network: an exposure-weighted statistic and
the design-based Horvitz-Thompson statistic.

Case 1 (exposure statistic, Bernoulli(1/2)): the difference in mean outcome between units with and
without a treated neighbour, computed for a whole batch of design draws with one call of
``ne.treated_neighbor_counts``. Baseline, measured in the same run: a per-draw Python loop that
draws one assignment and calls the single-assignment path (``counts_one``) -- on fewer draws,
reported per draw. Also times ``interference_test`` (Athey-Eckles-Imbens, 1000 draws).

Case 2 (Horvitz-Thompson, cluster Bernoulli(1/2) over 3-net clusters, full-neighbourhood
exposure): ``randomization_test(statistic="horvitz-thompson")``, whose null values come from the
batched exposure kernel (``map_many``) and one compiled weighted-sum pass per batch. Baseline,
same run: a per-draw loop of ``design.sample`` + ``mapping.map`` + ``ne.horvitz_thompson`` (point
estimate only: probabilities without joints) on fewer draws, reported per draw. The one-off
exact exposure probabilities are timed separately (both paths need them).

Usage::

    python benchmarks/bench_inference.py                 # n = 10^5, mean degree 10, 1000 draws
    python benchmarks/bench_inference.py --n 20000 --draws 200 --baseline-draws 20
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import netexp as ne
from netexp.inference import interference_test, randomization_test


def exposure_statistic_case(g, args):
    design = ne.Bernoulli(g.n_nodes, p=0.5)
    z = design.sample(rng=1)
    y = z + 0.5 * ne.fraction_treated_neighbors(g, z) + np.random.default_rng(2).normal(size=g.n_nodes)

    def has_treated_neighbor_contrast(Z, yy):
        H = ne.treated_neighbor_counts(g, Z) > 0                  # (R, n) for a batch, (n,) for one draw
        Hf = H.astype(np.float64)
        n1 = Hf.sum(-1)
        s1 = Hf @ yy
        return s1 / n1 - (yy.sum() - s1) / (yy.shape[0] - n1)

    # warm the numba caches
    randomization_test(y[:200], z[:200], ne.Bernoulli(200), n_draws=10, rng=0)
    has_treated_neighbor_contrast(design.sample_many(2, rng=0), y)

    t0 = time.perf_counter()
    res = randomization_test(y, z, design, statistic=has_treated_neighbor_contrast, n_draws=args.draws, rng=3)
    t_batch = time.perf_counter() - t0

    def one_draw(zz):
        """The single-assignment path: 1-D z, so treated_neighbor_counts uses its one-draw kernel."""
        H = ne.treated_neighbor_counts(g, zz) > 0
        return y[H].mean() - y[~H].mean()

    gen = np.random.default_rng(3)
    t0 = time.perf_counter()
    vals = [one_draw(design.sample(rng=gen)) for _ in range(args.baseline_draws)]
    t_loop = (time.perf_counter() - t0) / args.baseline_draws
    assert np.isfinite(vals).all()

    t0 = time.perf_counter()
    it = interference_test(g, y, z, design, n_draws=args.draws, rng=4)
    t_int = time.perf_counter() - t0

    per_batch = t_batch / args.draws
    print("-- exposure statistic (has a treated neighbour), Bernoulli(1/2)")
    print(f"randomization_test, {args.draws} draws, batched exposure: {t_batch:.2f} s "
          f"({1e3 * per_batch:.2f} ms/draw), p = {res.p_value:.4g}")
    print(f"per-draw loop (single-assignment path), {args.baseline_draws} draws: {1e3 * t_loop:.2f} ms/draw "
          f"-> {args.draws} draws would take {t_loop * args.draws:.1f} s")
    print(f"speed-up batched / loop: {t_loop / per_batch:.1f}x")
    print(f"interference_test (has-treated-neighbor, focal 0.5), {args.draws} draws: {t_int:.2f} s, "
          f"p = {it.p_value:.4g}")


def horvitz_thompson_case(g, args):
    clusters = ne.three_net(g, rng=0)
    design = ne.ClusterRandomized(clusters, p=0.5)
    mapping = ne.FullNeighborhood()
    z = design.sample(rng=1)
    y = 1.0 + z + np.random.default_rng(2).normal(size=g.n_nodes)

    # warm the numba caches (small graph)
    gs = ne.erdos_renyi(500, mean_degree=4, rng=0)
    ds = ne.ClusterRandomized(ne.three_net(gs, rng=0), p=0.5)
    randomization_test(y[:500], ds.sample(rng=0), ds, statistic="horvitz-thompson", graph=gs, mapping=mapping,
                       n_draws=70, rng=0)

    t0 = time.perf_counter()
    probs = ne.exposure_probabilities(g, design, mapping, method="auto", joint=False)
    t_probs = time.perf_counter() - t0

    t0 = time.perf_counter()
    res = randomization_test(y, z, design, statistic="horvitz-thompson", graph=g, mapping=mapping,
                             probabilities=probs, n_draws=args.draws, rng=3)
    t_batch = time.perf_counter() - t0

    t0 = time.perf_counter()
    res_own = randomization_test(y, z, design, statistic="horvitz-thompson", graph=g, mapping=mapping,
                                 n_draws=args.draws, rng=3)
    t_with_probs = time.perf_counter() - t0
    assert res_own.p_value == res.p_value

    gen = np.random.default_rng(3)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ne.EstimationWarning)     # "no joint probabilities: std errors nan"
        vals = [ne.horvitz_thompson(y, mapping.map(g, design.sample(rng=gen)), probs,
                                    contrasts=[("treated", "control")])[0].estimate
                for _ in range(args.baseline_draws)]
    t_loop = (time.perf_counter() - t0) / args.baseline_draws
    assert np.isfinite(vals).all()

    per_batch = t_batch / args.draws
    print(f"-- Horvitz-Thompson, cluster Bernoulli(1/2) over {clusters.n_clusters} 3-net clusters, "
          "full-neighbourhood exposure")
    print(f"exact exposure probabilities (once): {t_probs:.2f} s")
    print(f"randomization_test(statistic='horvitz-thompson'), {args.draws} draws, probabilities given: "
          f"{t_batch:.2f} s ({1e3 * per_batch:.2f} ms/draw), p = {res.p_value:.4g}")
    print(f"  same, probabilities computed inside: {t_with_probs:.2f} s")
    print(f"per-draw loop (sample + map + ne.horvitz_thompson), {args.baseline_draws} draws: "
          f"{1e3 * t_loop:.2f} ms/draw -> {args.draws} draws would take {t_loop * args.draws:.1f} s")
    print(f"speed-up batched / loop: {t_loop / per_batch:.1f}x")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--mean-degree", type=float, default=10.0)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--baseline-draws", type=int, default=20)
    ap.add_argument("--case", choices=("all", "exposure", "ht"), default="all")
    args = ap.parse_args(argv)

    g = ne.erdos_renyi(args.n, mean_degree=args.mean_degree, rng=0)
    print(f"graph: {g.n_nodes} units, {g.indices.shape[0] // 2} edges")
    if args.case in ("all", "exposure"):
        exposure_statistic_case(g, args)
    if args.case in ("all", "ht"):
        horvitz_thompson_case(g, args)


if __name__ == "__main__":
    main()
