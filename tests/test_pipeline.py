"""run_pipeline's design-based rows, randomization test and HTML report, against the API called directly."""

import warnings
from html.parser import HTMLParser

import numpy as np
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
        assert row["n_reps"] == 30 and row["n_reps_se"] == 5
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
    assert "mean_se and coverage over the first 2" in str(rep)


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
