"""Monte Carlo on any executor: serial, a spawn process pool and a 2-worker Dask LocalCluster agree bit for bit."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

import netexp as ne
from netexp._executor import SerialExecutor, block_plan


@pytest.fixture(scope="module")
def problem():
    n = 3000
    design = ne.ClusterRandomized(np.arange(n) // 10, ne.Bernoulli(n // 10, p=0.5))
    z = design.sample(rng=1)
    y = 0.1 * z + np.random.default_rng(2).normal(size=n)
    return y, z, design


def _run(problem, executor, statistic):
    y, z, design = problem
    return ne.randomization_test(y, z, design, statistic=statistic, n_draws=2500, rng=7, executor=executor)


def test_blocks_depend_on_the_problem_only():
    assert block_plan(2500, 3000) == [1000, 1000, 500]
    assert block_plan(10, 10**7) == [1] * 10


@pytest.fixture(scope="module")
def executors():
    """A spawn process pool and a 2-worker Dask LocalCluster, started once for the module."""
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed")
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool, \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     dashboard_address=None) as lc, distributed.Client(lc) as client:
        yield {"process pool (spawn)": pool, "dask LocalCluster(2)": client.get_executor()}


@pytest.mark.parametrize("statistic", ["difference-in-means",
                                       pytest.param("studentized", marks=pytest.mark.slow)])
def test_serial_process_pool_and_dask_are_bit_identical(problem, executors, statistic):
    ref = _run(problem, SerialExecutor(), statistic)
    for name, ex in executors.items():
        got = _run(problem, ex, statistic)
        assert np.array_equal(ref.null_distribution, got.null_distribution), name
        assert ref.p_value == got.p_value, name
    # the same distribution as the single-stream serial run, up to Monte Carlo error
    base = _run(problem, None, statistic)
    assert abs(base.p_value - ref.p_value) < 0.05


def test_executor_must_submit(problem):
    with pytest.raises(ne.InputError, match="executor must be a concurrent.futures.Executor"):
        _run(problem, object(), "difference-in-means")


@pytest.mark.slow
def test_diagnose_and_simulate_power_on_executors(executors):
    """diagnose / simulate_power: the same table on a serial, a process-pool and a Dask executor."""
    g = ne.erdos_renyi(400, mean_degree=4, rng=0)
    design = ne.ClusterRandomized(ne.three_net(g, rng=0), ne.Bernoulli(ne.three_net(g, rng=0).n_clusters, p=0.5))
    model = ne.LinearInMeans(direct=0.2, spillover=0.1)

    def dx(ex):
        return ne.diagnose({"cluster": design}, ["difference-in-means", "exposure-regression"], model, g, n_sims=60,
                           rng=3, executor=ex).to_frame()

    ref = dx(SerialExecutor())
    for name, ex in executors.items():
        got = dx(ex)
        assert got.equals(ref), name
    p_ref = ne.simulate_power(design, "difference-in-means", model, effect=0.2, n_sims=60, graph=g, rng=4,
                              executor=SerialExecutor())
    p_dask = ne.simulate_power(design, "difference-in-means", model, effect=0.2, n_sims=60, graph=g, rng=4,
                               executor=executors["dask LocalCluster(2)"])
    assert (p_ref.power, p_ref.mc_se) == (p_dask.power, p_dask.mc_se)
