"""run_pipeline's design-based rows, randomization test and HTML report, against the API called directly."""

import warnings
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

import netexp as ne


@pytest.fixture(scope="module")
def karate_run():
    return ne.run_pipeline("karate", seed=5, n_reps=30, n_reps_se=5, n_randomization_draws=200)


def test_design_based_rows_match_api(karate_run):
    rep = karate_run
    g = ne.load_graph("karate")
    ss = np.random.SeedSequence(5)
    s_cluster, s_noise, _, s_cl, _, s_rt = ss.spawn(6)
    cl = ne.cluster(g, "leiden", rng=s_cluster)
    assert cl.n_clusters < 20                     # few clusters: complete randomization of clusters
    design = ne.ClusterRandomized(cl, p=0.5)
    po = ne.LinearInMeans().realize(g, rng=s_noise)
    z = design.sample(rng=s_cl)
    y = po.outcomes(z)
    m = ne.FullNeighborhood()
    pr = ne.exposure_probabilities(g, design, m, method="exact")
    mask = np.minimum(pr.marginal[:, 0], pr.marginal[:, 1]) >= 0.2
    truth = float(np.mean((po.y1 - po.y0)[mask]))
    assert rep.truth["full_neighbourhood_effect"] == pytest.approx(truth, rel=1e-12)
    # under linear-in-means, every non-isolated unit's full-neighbourhood effect is direct + spillover
    assert truth == pytest.approx(0.2 + 0.1 * (np.asarray(g.degree)[mask] > 0).mean(), rel=1e-12)
    est = rep.estimates.set_index(["design", "estimator"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, f in (("Horvitz-Thompson (full neighbourhood)", ne.horvitz_thompson),
                        ("Hajek (full neighbourhood)", ne.hajek)):
            ref = f(y, m.map(g, z), pr, contrasts=[("treated", "control")], units=mask)[0]
            row = est.loc[("cluster", name)]
            assert row["estimate"] == pytest.approx(ref.estimate, rel=1e-12)
            np.testing.assert_allclose(row["std_error"], ref.std_error, rtol=1e-12, equal_nan=True)
            assert row["truth"] == pytest.approx(truth, rel=1e-12)
    rt = ne.randomization_test(y, z, design, n_draws=200, rng=s_rt)
    assert rep.randomization_test["p_value"] == rt.p_value
    assert rep.randomization_test["observed"] == pytest.approx(rt.observed, rel=1e-12)


def test_repeated_table_has_design_based_rows(karate_run):
    r = karate_run.repeated.set_index(["design", "estimator"])
    for name in ("Horvitz-Thompson (full neighbourhood)", "Hajek (full neighbourhood)"):
        row = r.loc[("cluster", name)]
        # karate's few clusters keep the fixed-count cluster design, whose exact joints now give SEs
        assert row["n_reps"] == 30 and row["n_reps_se"] == 5 and row["failed_draws"] == 0
        assert np.isfinite(row["bias"]) and np.isfinite(row["rmse"]) and 0 <= row["coverage"] <= 1
        assert row["rmse"] >= abs(row["bias"])
    d = karate_run.to_dict()
    assert d["randomization_test"]["p_value"] == karate_run.randomization_test["p_value"]


def test_bernoulli_clusters_give_standard_errors_and_coverage():
    rep = ne.run_pipeline("social", seed=2, n_reps=6, n_reps_se=2, n_randomization_draws=100)
    assert "Bernoulli" in rep.settings["cluster_design"]
    row = rep.repeated.set_index(["design", "estimator"]).loc[("cluster", "Hajek (full neighbourhood)")]
    assert row["n_reps_se"] == 2 and 0 <= row["coverage"] <= 1 and row["mean_std_error"] > 0
    est = rep.estimates.set_index(["design", "estimator"]).loc[("cluster", "Hajek (full neighbourhood)")]
    assert est["std_error"] > 0
    text = str(rep)
    assert "mean_se and coverage over fewer repetitions" in text and "reps (coverage)" in text


def test_time_budget_stops_between_chunks_and_says_so():
    rep = ne.run_pipeline("karate", seed=3, n_reps=500, time_budget=1e-6, n_randomization_draws=50)
    s = rep.settings
    assert s["n_reps_requested"] == 500 and s["n_reps"] == 10 and not s["interrupted"]
    assert (rep.repeated["n_reps"] <= 10).all()
    assert "500 requested, stopped by the time budget" in str(rep)
    # the Monte Carlo SE of each coverage is the binomial one over the repetitions it used
    r = rep.repeated.dropna(subset=["coverage"])
    n = r["n_reps_se"]
    pt = (r["coverage"] * n + 2) / (n + 4)      # Agresti-Coull
    np.testing.assert_allclose(r["coverage_mc_se"], np.sqrt(pt * (1 - pt) / (n + 4)))


def test_same_seed_same_repetitions_whatever_the_budget():
    a = ne.run_pipeline("karate", seed=4, n_reps=20, time_budget=None, n_randomization_draws=50)
    b = ne.run_pipeline("karate", seed=4, n_reps=20, time_budget=1e-6, n_randomization_draws=50)
    c = ne.run_pipeline("karate", seed=4, n_reps=10, time_budget=None, n_randomization_draws=50)
    # repetitions are drawn in chunks of 10: a run stopped by its budget after one chunk is the
    # 10-repetition run, draw for draw
    assert a.settings["n_reps"] == 20 and b.settings["n_reps"] == 10 and c.settings["n_reps"] == 10
    pd.testing.assert_frame_equal(b.repeated, c.repeated)
    assert not a.repeated["bias"].equals(b.repeated["bias"])


def test_stages_are_printed_in_order_as_they_finish():
    import io

    buf = io.StringIO()
    rep = ne.run_pipeline("karate", seed=5, n_reps=10, n_randomization_draws=50, stream=buf)
    text = buf.getvalue()
    order = [text.index(k) for k in ("clusters (leiden", "one experiment", "randomization test", "over 10 repeated")]
    assert order == sorted(order)
    assert "one experiment" in str(rep)


def test_ctrl_c_keeps_finished_repetitions(monkeypatch):
    from netexp import _pipeline

    calls = {"n": 0}
    real = _pipeline._one_rep

    def flaky(*a, **k):
        calls["n"] += 1
        if calls["n"] == 15:          # the individual design of repetition 8
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(_pipeline, "_one_rep", flaky)
    rep = ne.run_pipeline("karate", seed=5, n_reps=50, time_budget=None, n_randomization_draws=50)
    assert rep.settings["interrupted"] and rep.settings["n_reps"] == 7
    assert (rep.repeated["n_reps"] <= 7).all()
    assert "stopped by Ctrl-C" in str(rep)


def test_variance_over_budget_is_skipped_with_a_reason():
    rep = ne.run_pipeline("karate", seed=5, n_reps=0, variance_budget=0.0, n_randomization_draws=50)
    est = rep.estimates.set_index(["design", "estimator"])
    row = est.loc[("cluster", "Hajek (full neighbourhood)")]
    assert np.isfinite(row["estimate"]) and np.isnan(row["std_error"])
    assert any("design-based standard errors skipped" in n for n in rep.settings["notes"])
    assert "n/a" in str(rep)


def test_costly_complete_joints_switch_to_bernoulli_clusters(monkeypatch):
    from netexp import _pipeline

    # make complete randomization's joints look costly and Bernoulli's free
    def fake_cost(g, design, mapping, mask):
        return 1e6, (0.0 if "Bernoulli" in repr(design.cluster_design) else 1e6)

    monkeypatch.setattr(_pipeline, "_variance_cost", fake_cost)
    rep = ne.run_pipeline("social", seed=1, target_clusters=14, n_reps=0, variance_budget=1.0,
                          n_randomization_draws=50)
    K = rep.clusters["n_clusters"]
    assert 10 <= K < 20
    assert "Bernoulli" in rep.settings["cluster_design"]
    assert any("instead of complete randomization" in n for n in rep.settings["notes"])
    row = rep.estimates.set_index(["design", "estimator"]).loc[("cluster", "Hajek (full neighbourhood)")]
    assert row["std_error"] > 0


def test_ht_unbiased_over_repetitions():
    # exact probabilities: the Horvitz-Thompson estimate is unbiased; its Monte Carlo bias over 300
    # repetitions is within 4 standard errors of 0 (noise sd 0.01 so the design variance dominates)
    rep = ne.run_pipeline("les-miserables", seed=1, n_reps=300, n_reps_se=3, n_randomization_draws=100)
    row = rep.repeated.set_index(["design", "estimator"]).loc[("cluster", "Horvitz-Thompson (full neighbourhood)")]
    assert abs(row["bias"]) < 4 * row["sd_estimate"] / np.sqrt(300)


class _Sections(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = []

    def handle_starttag(self, tag, attrs):
        if tag == "section":
            self.ids.append(dict(attrs).get("id"))


def test_write_report_sections_and_no_overwrite(karate_run, tmp_path):
    from netexp._report import SECTIONS

    path = karate_run.write_report(tmp_path / "run.html")
    p = _Sections()
    p.feed(path.read_text(encoding="utf-8"))
    assert set(SECTIONS) <= set(p.ids)
    with pytest.raises(ne.OutputExistsError):
        karate_run.write_report(tmp_path / "run.html")
    karate_run.write_report(tmp_path / "run.html", overwrite=True)


@pytest.mark.slow
def test_ego_facebook_main_job_within_two_minutes():
    import time

    from tests.conftest import shared_file

    path = shared_file("networks", "facebook_combined.txt.gz")
    t = time.perf_counter()
    rep = ne.run_pipeline(str(path), n_reps=500)
    assert time.perf_counter() - t < 120
    assert rep.settings["n_reps"] >= 10
    row = rep.estimates.set_index(["design", "estimator"]).loc[("cluster", "Hajek (full neighbourhood)")]
    assert row["std_error"] > 0          # the design-based variance fits its budget (Bernoulli clusters if needed)


@pytest.mark.slow
def test_generated_1e5_graph_main_job_within_ten_minutes():
    import time

    g = ne.social_network(100_000, rng=1)
    t = time.perf_counter()
    rep = ne.run_pipeline(g, n_reps=500)
    assert time.perf_counter() - t < 600
    assert rep.settings["n_reps"] >= 10 and rep.repeated is not None


def test_repetitions_are_drawn_in_seeded_blocks_from_their_own_seeds():
    """Block b of the repeated experiments draws designs, then noise, from the b-th child of the reps seed
    (the 5th child of SeedSequence(seed)). Recomputed by hand from those draws (y from the model's formula,
    neighbour fractions from the CSR arrays), the individual difference in means over the second block (the
    last, ragged one) is the table's, and the first block is the 10-repetition run."""
    import scipy.sparse as sp

    rep = ne.run_pipeline("karate", seed=4, n_reps=13, time_budget=None, n_randomization_draws=50)
    g, design = rep._objects["graph"], rep._objects["design"]
    n = g.n_nodes
    A = sp.csr_array((np.ones(g.indices.shape[0]), g.indices, g.indptr), shape=(n, n))
    deg = np.diff(g.indptr)
    diffs = []
    for b, k in enumerate([10, 3]):
        rng = np.random.default_rng(np.random.SeedSequence(4).spawn(6)[4].spawn(2)[b])
        Zi = ne.Complete(n, p=0.5).sample_many(k, rng=rng)
        design.sample_many(k, rng=rng)                        # the cluster design's draws come next
        noise = rng.normal(0.0, 0.01, Zi.shape)
        Y = 0.05 + 0.2 * Zi + 0.1 * (A @ Zi.T).T / deg + noise
        diffs += [Y[r][Zi[r] == 1].mean() - Y[r][Zi[r] == 0].mean() for r in range(k)]
    row = rep.repeated.set_index(["design", "estimator"]).loc[("individual",
                                                               "difference in means (ignores interference)")]
    assert row["n_reps"] == 13
    np.testing.assert_allclose(row["mean_estimate"], np.mean(diffs), rtol=1e-12)
    np.testing.assert_allclose(row["sd_estimate"], np.std(diffs, ddof=1), rtol=1e-9)
    first = ne.run_pipeline("karate", seed=4, n_reps=10, time_budget=None, n_randomization_draws=50).repeated
    row10 = first.set_index(["design", "estimator"]).loc[("individual", "difference in means (ignores interference)")]
    np.testing.assert_allclose(row10["mean_estimate"], np.mean(diffs[:10]), rtol=1e-12)


def test_workers_give_the_same_json_as_none(capsys):
    """netexp run --workers 2 (a spawn pool) prints the same --json, character for character, as no workers;
    --workers 0 is refused with the flag's name."""
    from netexp.cli import main

    args = ["run", "--graph", "karate", "--seed", "1", "--reps", "12", "--time-budget", "0", "--json"]
    assert main(args) == 0
    ref = capsys.readouterr().out
    assert main(args + ["--workers", "2"]) == 0
    got = capsys.readouterr().out
    assert got == ref and '"n_reps": 12' in ref
    assert main(args + ["--workers", "0"]) == 2
    assert "--workers must be at least 1" in capsys.readouterr().err
