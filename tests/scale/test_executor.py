"""Monte Carlo on any executor: executor=None, a serial executor, a spawn process pool and a 2-worker Dask
LocalCluster agree bit for bit (one block plan, one code path), and the blocked draws are right
(checked against exact enumeration and closed forms, which the block machinery does not produce)."""

from __future__ import annotations

import math
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from itertools import combinations

import numpy as np
import pytest

import netexp as ne
from netexp._executor import SerialExecutor, block_plan, design_draws
from netexp.inference import randomization_confidence_interval


@pytest.fixture(scope="module")
def problem():
    n = 3000
    design = ne.ClusterRandomized(np.arange(n) // 10, ne.Bernoulli(n // 10, p=0.5))
    z = design.sample(rng=1)
    y = 0.1 * z + np.random.default_rng(2).normal(size=n)
    return y, z, design


def _run(problem, executor, statistic, **kw):
    y, z, design = problem
    return ne.randomization_test(y, z, design, statistic=statistic, n_draws=2500, rng=7, executor=executor, **kw)


def test_blocks_depend_on_the_problem_only():
    assert block_plan(2500, 3000) == [1000, 1000, 500]
    assert block_plan(10, 10**7) == [1] * 10
    assert block_plan(3000, 4039, max_block=1024, multiple=64) == [1024, 1024, 952]


@pytest.fixture(scope="module")
def executors():
    """A spawn process pool and a 2-worker Dask LocalCluster (spawned processes), started once for the module."""
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed")
    import dask

    with dask.config.set({"distributed.worker.multiprocessing-method": "spawn"}), \
            ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool, \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     dashboard_address=None) as lc, distributed.Client(lc) as client:
        out = {"serial executor": SerialExecutor(), "process pool (spawn)": pool,
               "dask LocalCluster(2)": client.get_executor()}
        for ex in out.values():       # import netexp in every worker once, here, not inside the first test
            [f.result() for f in [ex.submit(_warm) for _ in range(4)]]
        yield out


def _warm():
    import netexp.exposure._mc_blocks  # noqa: F401
    import netexp.inference._interference  # noqa: F401
    import netexp.inference._multiarm  # noqa: F401
    import netexp.inference._randomization  # noqa: F401



@pytest.mark.parametrize("statistic", ["difference-in-means",
                                       pytest.param("studentized", marks=pytest.mark.slow)])
def test_randomization_test_is_bit_identical_with_and_without_executors(problem, executors, statistic):
    ref = _run(problem, None, statistic)
    for name, ex in executors.items():
        got = _run(problem, ex, statistic)
        assert np.array_equal(ref.null_distribution, got.null_distribution), name
        assert ref.p_value == got.p_value, name
    # batch_size no longer touches Monte Carlo draws
    assert np.array_equal(_run(problem, None, statistic, batch_size=7).null_distribution, ref.null_distribution)


def test_vector_null_and_interval_on_executors(problem, executors):
    """Unit-effect nulls (refused with an executor before) and the test-inversion interval."""
    y, z, design = problem
    tau = np.linspace(0.0, 0.2, z.shape[0])
    kw = dict(null_effect=tau, n_draws=300, rng=5)
    ref = ne.randomization_test(y, z, design, **kw)
    ci_ref = randomization_confidence_interval(y, z, design, n_draws=300, rng=5)
    for name, ex in executors.items():
        got = ne.randomization_test(y, z, design, executor=ex, **kw)
        assert np.array_equal(ref.null_distribution, got.null_distribution) and ref.p_value == got.p_value, name
        ci = randomization_confidence_interval(y, z, design, n_draws=300, rng=5, executor=ex)
        assert (ci.low, ci.high) == (ci_ref.low, ci_ref.high), name


def test_blocked_draws_are_the_design_and_the_p_value_is_right():
    """The blocked null draws reproduce the exact randomization p-value (enumeration of all C(12, 6))."""
    design = ne.Complete(12, n_treated=6)
    z = np.zeros(12, dtype=bool)
    z[[0, 2, 3, 5, 8, 11]] = True
    y = np.random.default_rng(0).normal(size=12) + 0.8 * z
    obs = y[z].mean() - y[~z].mean()
    diffs = []
    for idx in combinations(range(12), 6):
        w = np.zeros(12, dtype=bool)
        w[list(idx)] = True
        diffs.append(y[w].mean() - y[~w].mean())
    diffs = np.array(diffs)
    p_exact = float(np.mean(diffs >= obs - 1e-12))
    R = 20_000
    res = ne.randomization_test(y, z, design, alternative="greater", n_draws=R, rng=3, exact=False)
    assert abs(res.p_value - p_exact) < 4 * math.sqrt(p_exact * (1 - p_exact) / R)
    Z = design_draws(design, R, 3)
    assert (Z.sum(axis=1) == 6).all()                                  # every draw is in the design's support
    assert np.abs(Z.mean(axis=0) - 0.5).max() < 4 * math.sqrt(0.25 / R)


def test_monte_carlo_exposure_probabilities_on_executors(executors):
    g = ne.erdos_renyi(300, mean_degree=4, rng=0)
    design = ne.Bernoulli(300, p=0.3)
    mp = ne.FullNeighborhood()
    kw = dict(method="monte-carlo", n_draws=3000, rng=11)
    ref = ne.exposure_probabilities(g, design, mp, **kw)
    for name, ex in executors.items():
        got = ne.exposure_probabilities(g, design, mp, executor=ex, **kw)
        assert np.array_equal(ref.marginal, got.marginal), name
        assert np.array_equal(ref.joint(0, 1), got.joint(0, 1)), name
    # and the frequencies are the design's: closed form p^(1+d) for "treated" (independent of the draws)
    d = np.asarray(g.degree())
    k = ref.level_code("treated")
    want = 0.3 ** (1 + d)
    assert np.all(np.abs(ref.marginal[:, k] - want) <= 4.5 * np.sqrt(want * (1 - want) / 3000) + 1e-12)


def test_diagnose_and_simulate_power_on_executors(executors):
    """diagnose / simulate_power: the same table with executor=None and on every executor."""
    g = ne.erdos_renyi(200, mean_degree=4, rng=0)
    cl = ne.three_net(g, rng=0)
    design = ne.ClusterRandomized(cl, ne.Bernoulli(cl.n_clusters, p=0.5))
    model = ne.LinearInMeans(direct=0.2, spillover=0.1)

    def dx(ex):
        return ne.diagnose({"cluster": design}, ["difference-in-means", "exposure-regression"], model, g, n_sims=40,
                           rng=3, executor=ex).to_frame()

    def pw(ex):
        r = ne.simulate_power(design, "difference-in-means", model, effect=0.2, n_sims=40, graph=g, rng=4,
                              executor=ex)
        return r.power, r.mc_se

    ref, p_ref = dx(None), pw(None)
    for name, ex in executors.items():
        assert dx(ex).equals(ref), name
        assert pw(ex) == p_ref, name


class _Counting(SerialExecutor):
    """A serial executor that counts the blocks submitted to it (the draws really go to the executor)."""

    def __init__(self):
        self.n = 0

    def submit(self, fn, /, *args, **kwargs):
        self.n += 1
        return super().submit(fn, *args, **kwargs)


@pytest.mark.parametrize("cluster", [False, True])
def test_interference_test_is_bit_identical_with_and_without_executors(executors, cluster):
    """Bernoulli (independent redraws) and cluster-over-Complete (within-stratum permutations) samplers;
    focal units drawn from rng first, then 3 blocks of draws."""
    n = 600
    g = ne.erdos_renyi(n, mean_degree=5, rng=0)
    design = (ne.ClusterRandomized(np.arange(n) // 6, ne.Complete(n // 6, n_treated=n // 12)) if cluster
              else ne.Bernoulli(n, p=0.5))
    z = design.sample(rng=1)
    y = z + 0.5 * ne.fraction_treated_neighbors(g, z) + np.random.default_rng(2).normal(size=n)

    def run(ex, **kw):
        return ne.interference_test(g, y, z, design, statistic="score", n_draws=2500, rng=3, executor=ex, **kw)

    ref = run(None)
    assert block_plan(2500, n) == [1000, 1000, 500]
    counting = _Counting()
    assert np.array_equal(run(counting).null_distribution, ref.null_distribution) and counting.n == 3
    for name, ex in executors.items():
        got = run(ex)
        assert np.array_equal(ref.null_distribution, got.null_distribution), name
        assert ref.p_value == got.p_value and np.array_equal(ref.focal, got.focal), name
    # batch_size slices the exposure kernel only, not the draws
    assert np.array_equal(run(None, batch_size=7).null_distribution, ref.null_distribution)


def test_multiarm_randomization_test_is_bit_identical_with_and_without_executors(executors):
    n = 3000
    design = ne.MultiArmCluster(np.arange(n) // 10, ne.MultiArmBernoulli(n // 10, prob_each=(0.5, 0.25, 0.25)))
    z = design.sample(rng=1)
    y = 0.1 * (z == 2) + np.random.default_rng(2).normal(size=n)
    for statistic in ("F", (0, 2)):
        ref = ne.multiarm_randomization_test(y, z, design, statistic=statistic, n_draws=2500, rng=7)
        assert ref.n_draws == 2500 and not ref.exact
        counting = _Counting()
        got = ne.multiarm_randomization_test(y, z, design, statistic=statistic, n_draws=2500, rng=7, executor=counting)
        assert counting.n == len(block_plan(2500, n)) == 3 and np.array_equal(got.null_distribution,
                                                                              ref.null_distribution)
        for name, ex in executors.items():
            got = ne.multiarm_randomization_test(y, z, design, statistic=statistic, n_draws=2500, rng=7, executor=ex)
            assert np.array_equal(ref.null_distribution, got.null_distribution), (name, statistic)
            assert ref.p_value == got.p_value, (name, statistic)


def test_executor_must_submit(problem):
    with pytest.raises(ne.InputError, match="executor must be a concurrent.futures.Executor"):
        _run(problem, object(), "difference-in-means")
    g = ne.erdos_renyi(30, mean_degree=3, rng=0)
    with pytest.raises(ne.InputError, match="executor must be a concurrent.futures.Executor"):
        ne.exposure_probabilities(g, ne.Bernoulli(30, p=0.5), ne.FullNeighborhood(), method="monte-carlo",
                                  n_draws=10, executor="dask")
    with pytest.raises(ne.InputError, match="executor must be a concurrent.futures.Executor"):
        ne.interference_test(g, np.zeros(30), np.arange(30) % 2, ne.Bernoulli(30, p=0.5), n_draws=10, executor=1)
    d3 = ne.MultiArmComplete(30, num_arms=3)
    with pytest.raises(ne.InputError, match="executor must be a concurrent.futures.Executor"):
        ne.multiarm_randomization_test(np.zeros(30), d3.sample(rng=0), d3, n_draws=10, executor=1)


def _ints(n, rng, k):
    return rng.integers(0, k, n)


def test_windowed_submission_keeps_block_order():
    """Many more blocks than the in-flight window (8 at 10^7 units): the same sequence as executor=None."""
    from netexp._executor import _window, map_blocks

    assert _window(10**7) == 8 and _window(3000) == 256
    ref = map_blocks(None, _ints, (1000,), 40, 10**7, np.random.default_rng(5))
    got = map_blocks(SerialExecutor(), _ints, (1000,), 40, 10**7, np.random.default_rng(5))
    assert len(ref) == 40 and all(np.array_equal(a, b) for a, b in zip(ref, got))
    assert not all(np.array_equal(ref[0], r) for r in ref[1:])     # the blocks are not one repeated stream


def test_run_pipeline_repeated_table_is_bit_identical_with_and_without_executors(executors):
    """run_pipeline's repeated experiments (3 blocks, the last ragged; design-based standard errors in the
    first 13 repetitions, across a block boundary) give the same table, bit for bit, on every executor."""
    import pandas as pd

    def run(ex):
        return ne.run_pipeline("karate", seed=6, n_reps=23, n_reps_se=13, time_budget=None,
                               n_randomization_draws=20, progress=False, executor=ex)

    ref = run(None)
    assert ref.settings["n_reps"] == 23 and ref.settings["n_reps_se"] == 13
    assert (ref.repeated.dropna(subset=["coverage"])["n_reps_se"] == 23).sum() > 0
    assert (ref.repeated["n_reps_se"] == 13).sum() == 2          # the Horvitz-Thompson and Hajek rows
    for name, ex in executors.items():
        pd.testing.assert_frame_equal(ref.repeated, run(ex).repeated, check_exact=True, obj=name)
