"""The blocked Monte Carlo pair sums (``exposure/_mc_pairs.py``) against the dense joint blocks
(``_dense_mc_pair_terms`` / ``_dense_mc_cov_terms``, which build every pair's joint frequency from the codes):
several levels, rare levels with zero-joint pairs, a ``units=`` mask, inactive units, many blocks with the
cyclic ownership of pair counts, both tests of a zero count (listed draws and words), Hajek after HT (the
cached Young's counts), and the same numbers on one thread and two."""

import dataclasses

import numba
import numpy as np
import pytest

import netexp as ne
from netexp import _parallel
from netexp.exposure import _mc_pairs
from netexp.exposure._probabilities import exposure_probabilities


@pytest.fixture(scope="module")
def setup():
    g = ne.social_network(360, mean_degree=6, community_size=(20, 60), rng=4)
    d = ne.Complete(360, p=0.5)
    mp = ne.AronowSamii()
    out = {}
    for conv in ("netexp", "interference"):
        out[conv] = exposure_probabilities(g, d, mp, method="monte-carlo", n_draws=150, rng=7, convention=conv)
    z = d.sample(rng=3)
    y = ne.LinearInMeans(direct=0.2, spillover=0.1).realize(g, rng=2).outcomes(z)
    return g, d, mp, out, np.asarray(mp.map(g, z)).astype(np.int64), y


def _dense(pr):
    cls = type(pr)
    Dense = type("DenseMC", (cls,), {"_pair_terms": cls._dense_mc_pair_terms, "_cov_terms": cls._dense_mc_cov_terms})
    return Dense(**{f.name: getattr(pr, f.name) for f in dataclasses.fields(pr)})


@pytest.mark.parametrize("block,sparse", [(256, 48), (7, 0), (16, 10**6), (33, 3)])
@pytest.mark.parametrize("conv", ["netexp", "interference"])
def test_pair_sums_equal_dense_blocks(setup, monkeypatch, block, sparse, conv):
    """S to 1e-12 and the Young's counts of every active unit exactly, for any block size (odd and even
    numbers of blocks, blocks of one unit) and any split between listed-draw and word tests."""
    _, _, _, prs, codes, _ = setup
    pr = prs[conv]
    monkeypatch.setattr(_mc_pairs, "BLOCK", block)
    monkeypatch.setattr(_mc_pairs, "SPARSE", sparse)
    _mc_pairs._ZC_CACHE.clear()
    n, L = pr.marginal.shape
    rng = np.random.default_rng(block)
    mask = rng.random(n) < 0.8
    U = rng.normal(size=(n, 2))
    U[rng.random(n) < 0.25] = 0.0  # inactive units: their Young's counts are not needed
    S, zc = pr._pair_terms(codes, U, mask)
    Sd, zcd = pr._dense_mc_pair_terms(codes, np.where(mask[:, None], U, 0.0), mask)
    np.testing.assert_allclose(S, Sd, rtol=1e-12, atol=1e-9 * np.abs(Sd).max())
    act = mask & (U != 0).any(1)
    np.testing.assert_array_equal(zc[act], zcd[act])
    assert not zc[~act].any()
    # the rare levels give zero joints beyond the pair (i, i): the Young's term is exercised
    assert (zcd[act] - (np.arange(L)[None, :] != codes[act, None])).sum() > 100
    assert len(set(codes[act])) == L


@pytest.mark.parametrize("conv", ["netexp", "interference"])
def test_standard_errors_equal_dense_ht_and_hajek(setup, conv):
    """HT then Hajek (the second call reuses the Young's counts), AS and constant-effects variances, two
    contrasts over all four levels, on a units= subset: SEs equal the dense path's to 1e-12."""
    _, _, mp, prs, codes, y = setup
    pr = prs[conv]
    lv = np.asarray(mp.levels, dtype=object)[codes]
    contrasts = [("direct_indirect", "no_exposure"), ("isolated_direct", "indirect")]
    ok = (pr.marginal > 0).all(1) & (np.arange(pr.n_units) % 5 != 0)
    dense = _dense(pr)
    _mc_pairs._ZC_CACHE.clear()
    for f in (ne.horvitz_thompson, ne.hajek, ne.horvitz_thompson):
        for v in ("aronow-samii", "constant-effects"):
            a = f(y, lv, pr, contrasts=contrasts, units=ok, variance=v)
            b = f(y, lv, dense, contrasts=contrasts, units=ok, variance=v)
            for ea, eb in zip(a, b):
                assert np.isfinite(ea.std_error)
                np.testing.assert_allclose(ea.std_error, eb.std_error, rtol=1e-12)


def test_cached_young_counts_follow_mask_and_active_units(setup):
    """The Young's counts are reused only for the same codes, mask and active units: a second call with
    other outcomes reuses them, a call with another mask or other active units recomputes."""
    _, _, _, prs, codes, _ = setup
    pr = prs["netexp"]
    n = pr.n_units
    rng = np.random.default_rng(11)
    _mc_pairs._ZC_CACHE.clear()
    m1 = rng.random(n) < 0.7
    m2 = rng.random(n) < 0.7
    U1 = rng.normal(size=(n, 1))
    U2 = U1 * rng.normal(size=(n, 1))
    U3 = np.where(rng.random((n, 1)) < 0.5, U1, 0.0)
    cases = [(m1, U1), (m1, U2), (m2, U2), (m2, U3), (m1, U1)]
    for mask, U in cases:
        S, zc = pr._pair_terms(codes, U, mask)
        Sd, zcd = pr._dense_mc_pair_terms(codes, np.where(mask[:, None], U, 0.0), mask)
        act = mask & (U != 0).any(1)
        np.testing.assert_array_equal(zc[act], zcd[act])
        np.testing.assert_allclose(S, Sd, rtol=1e-12, atol=1e-9 * np.abs(Sd).max())
    codes2 = codes.copy()
    codes2[:40] = (codes2[:40] + 2) % 4  # other observed levels, same everything else
    codes2 = np.where(pr.marginal[np.arange(n), codes2] > 0, codes2, codes)
    S, zc = pr._pair_terms(codes2, U1, m1)
    _, zcd = pr._dense_mc_pair_terms(codes2, np.where(m1[:, None], U1, 0.0), m1)
    act = m1 & (U1 != 0).any(1)
    np.testing.assert_array_equal(zc[act], zcd[act])


def test_same_numbers_on_one_and_two_threads(setup, monkeypatch):
    """Bit for bit: repeated runs, and one thread against two (the per-block sums are added in block order)."""
    _, _, _, prs, codes, _ = setup
    pr = prs["netexp"]
    n = pr.n_units
    rng = np.random.default_rng(5)
    mask = rng.random(n) < 0.9
    U = rng.normal(size=(n, 3))
    V = rng.normal(size=(n, 4))
    monkeypatch.setattr(_mc_pairs, "BLOCK", 32)
    monkeypatch.setattr(_parallel, "WORK_PER_THREAD", 1)  # every kernel on all threads
    runs = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS, 1):
        prev = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            _mc_pairs._ZC_CACHE.clear()
            S, zc = pr._pair_terms(codes, U, mask)
            runs.append((S, zc, pr._cov_terms(V, mask)))
        finally:
            numba.set_num_threads(prev)
    for S, zc, T in runs[1:]:
        assert np.array_equal(S, runs[0][0]) and np.array_equal(zc, runs[0][1]) and np.array_equal(T, runs[0][2])


@pytest.mark.parametrize("levels", [[0, 3], [1], [2, 0, 1]])
def test_young_counts_of_the_requested_levels_only(setup, levels):
    """With ``levels`` the requested columns of zc equal the dense blocks' and the others are 0; S is the
    same; a call for all levels after it does not reuse the partial counts."""
    _, _, _, prs, codes, _ = setup
    pr = prs["netexp"]
    n, L = pr.marginal.shape
    rng = np.random.default_rng(len(levels))
    mask = rng.random(n) < 0.85
    U = np.where(rng.random((n, 1)) < 0.7, rng.normal(size=(n, 1)), 0.0)
    _mc_pairs._ZC_CACHE.clear()
    Sd, zcd = pr._dense_mc_pair_terms(codes, np.where(mask[:, None], U, 0.0), mask)
    act = mask & (U != 0).any(1)
    S, zc = pr._pair_terms(codes, U, mask, levels=levels)
    np.testing.assert_allclose(S, Sd, rtol=1e-12, atol=1e-9 * np.abs(Sd).max())
    np.testing.assert_array_equal(zc[act][:, levels], zcd[act][:, levels])
    other = np.setdiff1d(np.arange(L), levels)
    assert not zc[:, other].any()
    S, zc = pr._pair_terms(codes, U, mask)
    np.testing.assert_array_equal(zc[act], zcd[act])
