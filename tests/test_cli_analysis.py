"""CLI commands analyze (mappings, designs, draws), test, diagnose, power, card, report: numbers equal
to the Python API called directly; one-line errors with exit code 2; no overwrite without --force."""

import json
import warnings
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

import netexp as ne
from netexp.cli import main


def run(capsys, *args):
    rc = main([str(a) for a in args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def one_line_error(rc, err, match):
    assert rc == 2 and match in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


@pytest.fixture
def karate_bernoulli(tmp_path, capsys):
    """A Bernoulli assignment on karate (exact probabilities with joints), outcomes and covariates."""
    a, y, x = tmp_path / "a.csv", tmp_path / "y.csv", tmp_path / "x.csv"
    assert run(capsys, "assign", "karate", "-o", a, "--design", "bernoulli", "--seed", 3)[0] == 0
    z = pd.read_csv(a)["treatment"].to_numpy()
    rng = np.random.default_rng(0)
    pd.DataFrame({"node_id": range(34), "outcome": rng.normal(size=34) + z}).to_csv(y, index=False)
    pd.DataFrame({"node_id": range(34), "x": rng.normal(size=34)}).to_csv(x, index=False)
    return a, y, x, z.astype(bool), pd.read_csv(y)["outcome"].to_numpy(), pd.read_csv(x)[["x"]]


def test_analyze_as4_ht_hajek_lin_match_api(capsys, karate_bernoulli):
    from netexp.estimators._lin import lin_estimator

    a, y, x, z, yy, cov = karate_bernoulli
    rc, out, err = run(capsys, "analyze", "karate", "--assignment", a, "--outcomes", y, "--mapping", "as4",
                       "--covariates", x, "--estimators", "naive,ht,hajek,lin", "--json")
    assert rc == 0, err
    res = json.loads(out)
    g = ne.load_graph("karate")
    m = ne.AronowSamii()
    pr = ne.exposure_probabilities(g, ne.Bernoulli(34, p=0.5), m, method="exact")
    codes = m.map(g, z)
    pairs = [(lev, "no_exposure") for lev in m.levels if lev != "no_exposure"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ht = ne.horvitz_thompson(yy, codes, pr, contrasts=pairs)
        hj = ne.hajek(yy, codes, pr, contrasts=pairs)
    recs = {(r["estimator"].split(" (")[0], r["contrast"]): r for r in res["estimates"]}
    for (lev, ref), e_ht, e_hj in zip(pairs, ht, hj):
        for name, e in (("Horvitz-Thompson", e_ht), ("Hajek", e_hj)):
            r = recs[(name, f"{lev} - {ref}")]
            assert r["estimate"] == pytest.approx(e.estimate, rel=1e-12)
            # nan_ok: one unit at no_exposure leaves Hajek's variance of that level unestimable (nan, both ways)
            assert r["std_error"] == pytest.approx(e.std_error, rel=1e-12, nan_ok=True)
            assert (r["ci_lower"], r["ci_upper"]) == pytest.approx(e.ci, rel=1e-12, nan_ok=True)
            assert r["n_per_level"][lev] == int((codes == m.levels.index(lev)).sum())
    lin = lin_estimator(yy, z, cov)
    assert recs[("Lin", "treated - control")]["estimate"] == pytest.approx(lin.estimate, rel=1e-12)
    naive = recs[("difference in means", "treated - control")]
    assert naive["estimate"] == pytest.approx(yy[z].mean() - yy[~z].mean(), abs=1e-12)
    assert naive["n_per_level"] == {"treated": int(z.sum()), "control": int((~z).sum())}
    assert res["design_source"].startswith("sidecar")


def test_analyze_draws_file_and_design_flag(tmp_path, capsys, karate_bernoulli):
    a, y, x, z, yy, cov = karate_bernoulli
    g = ne.load_graph("karate")
    Z = ne.Bernoulli(34, p=0.5).sample_many(400, rng=9)
    draws = tmp_path / "draws.csv.gz"
    cols = np.random.default_rng(1).permutation(34)        # header of node ids, shuffled order
    pd.DataFrame(Z[:, cols].astype(int), columns=[str(c) for c in cols]).to_csv(draws, index=False)
    bare = tmp_path / "bare.csv"                           # no sidecar: the design must come from elsewhere
    pd.read_csv(a).to_csv(bare, index=False)
    rc, out, err = run(capsys, "analyze", "karate", "--assignment", bare, "--outcomes", y, "--mapping", "as4",
                       "--estimators", "hajek", "--draws", draws, "--convention", "interference",
                       "--contrast", "indirect,no_exposure", "--json")
    assert rc == 0, err
    r = json.loads(out)["estimates"][0]
    m = ne.AronowSamii()
    pr = ne.exposure_probabilities(g, None, m, draws=Z, convention="interference")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ne.EstimationWarning)   # one unit at no_exposure: nan SE, warned
        ref = ne.hajek(yy, m.map(g, z), pr, contrasts=[("indirect", "no_exposure")])[0]
    assert r["contrast"] == "indirect - no_exposure"
    assert r["estimate"] == pytest.approx(ref.estimate, rel=1e-12)
    assert r["std_error"] == pytest.approx(ref.std_error, rel=1e-12, nan_ok=True)
    # without sidecar or --design or draws, design-based estimators say what is missing
    rc, _, err = run(capsys, "analyze", "karate", "--assignment", bare, "--outcomes", y, "--mapping", "as4",
                     "--estimators", "ht")
    one_line_error(rc, err, "--design")
    # --design bernoulli: p is the observed share
    rc, out, err = run(capsys, "analyze", "karate", "--assignment", bare, "--outcomes", y, "--mapping", "as4",
                       "--estimators", "ht", "--design", "bernoulli", "--json")
    assert rc == 0, err
    pr = ne.exposure_probabilities(g, ne.Bernoulli(34, p=z.mean()), m, method="exact")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = ne.horvitz_thompson(yy, m.map(g, z), pr)
    got = {r["contrast"]: r["estimate"] for r in json.loads(out)["estimates"]}
    assert got["indirect - no_exposure"] == pytest.approx(ref["Y(indirect) - Y(no_exposure)"].estimate, rel=1e-12)


def test_analyze_positivity_and_option_errors(capsys, karate_bernoulli, tmp_path):
    a, y, *_ = karate_bernoulli
    c = tmp_path / "c.csv"
    run(capsys, "cluster", "karate", "-o", c, "--seed", 1)
    ac = tmp_path / "ac.csv"
    run(capsys, "assign", "karate", "-o", ac, "--design", "cluster", "--clusters", c, "--seed", 2)
    rc, out, err = run(capsys, "analyze", "karate", "--assignment", ac, "--outcomes", y, "--mapping",
                       "full-neighbourhood", "--probabilities", "exact")
    # the design-based rows say why they cannot be estimated; the other estimators still report
    assert rc == 0, err
    assert "Horvitz-Thompson: not estimable" in out and "positivity fails" in out and "Traceback" not in err
    assert "cluster means difference" in out and "(--min-probability P)" in out
    rc, _, err = run(capsys, "analyze", "karate", "--assignment", ac, "--outcomes", y, "--mapping",
                     "full-neighbourhood", "--probabilities", "exact", "--estimators", "ht")
    one_line_error(rc, err, "positivity fails")
    rc, _, err = run(capsys, "analyze", "karate", "--assignment", a, "--outcomes", y, "--mapping", "q-fractional")
    one_line_error(rc, err, "--q")
    rc, _, err = run(capsys, "analyze", "karate", "--assignment", a, "--outcomes", y, "--estimators", "naive,magic")
    one_line_error(rc, err, "magic")
    rc, _, err = run(capsys, "analyze", "karate", "--assignment", a, "--outcomes", y, "--estimators", "lin")
    one_line_error(rc, err, "--covariates")
    rc, _, err = run(capsys, "analyze", "karate", "--assignment", a, "--outcomes", y, "--design", "cluster")
    one_line_error(rc, err, "--clusters")


def test_analyze_saturation_two_stage(tmp_path, capsys):
    from netexp.estimators._two_stage import two_stage_estimates

    c, a, y = tmp_path / "c.csv", tmp_path / "a.csv", tmp_path / "y.csv"
    run(capsys, "cluster", "social", "-o", c, "--seed", 1)
    rc, _, err = run(capsys, "assign", "social", "-o", a, "--design", "saturation", "--clusters", c, "--seed", 5)
    assert rc == 0, err
    df = pd.read_csv(a)
    rng = np.random.default_rng(2)
    yy = rng.normal(size=len(df)) + df["treatment"].to_numpy()
    pd.DataFrame({"node_id": df["node_id"], "outcome": yy}).to_csv(y, index=False)
    rc, out, err = run(capsys, "analyze", "social", "--assignment", a, "--outcomes", y, "--estimators", "two-stage",
                       "--json")
    assert rc == 0, err
    got = {r["contrast"]: r["estimate"] for r in json.loads(out)["estimates"]}
    g = ne.load_graph("social")
    labels = ne.Clustering.read_csv(g, c).labels
    ref = two_stage_estimates(yy, df["treatment"].to_numpy(), labels, df["saturation"].to_numpy(), alpha=0.5,
                              alpha_prime=0.0)
    for e in ref:
        assert got[e.estimand] == pytest.approx(e.estimate, rel=1e-12)


def test_test_command_randomization_and_aei(capsys, karate_bernoulli):
    a, y, x, z, yy, cov = karate_bernoulli
    g = ne.load_graph("karate")
    d = ne.Bernoulli(34, p=0.5)
    rc, out, err = run(capsys, "test", "karate", "--assignment", a, "--outcomes", y, "--n-draws", 300, "--seed", 4,
                       "--statistic", "studentized", "--ci", "--json")
    assert rc == 0, err
    res = json.loads(out)
    ref = ne.randomization_test(yy, z, d, statistic="studentized", n_draws=300, rng=4)
    assert res["p_value"] == ref.p_value and res["observed"] == pytest.approx(ref.observed, rel=1e-12)
    ci = ne.randomization_confidence_interval(yy, z, d, statistic="studentized", n_draws=300, rng=4)
    assert (res["ci"]["low"], res["ci"]["high"]) == pytest.approx((ci.low, ci.high), rel=1e-12)
    rc, out, err = run(capsys, "test", "karate", "--assignment", a, "--outcomes", y, "--interference", "aei",
                       "--statistic", "score", "--n-draws", 300, "--seed", 4)
    assert rc == 0, err
    ref = ne.interference_test(g, yy, z, d, statistic="score", n_draws=300, rng=4)
    assert f"p = {ref.p_value:.4g}" in out and "300 draws" in out


def test_test_mixed_design(tmp_path, capsys):
    c, a, y = tmp_path / "c.csv", tmp_path / "a.csv", tmp_path / "y.csv"
    run(capsys, "cluster", "social", "-o", c, "--seed", 1)
    run(capsys, "assign", "social", "-o", a, "--design", "mixed", "--clusters", c, "--seed", 5)
    df = pd.read_csv(a)
    yy = np.random.default_rng(3).normal(size=len(df)) + df["treatment"].to_numpy()
    pd.DataFrame({"node_id": df["node_id"], "outcome": yy}).to_csv(y, index=False)
    rc, out, err = run(capsys, "test", "social", "--assignment", a, "--outcomes", y, "--interference", "mixed",
                       "--json")
    assert rc == 0, err
    g = ne.load_graph("social")
    labels = ne.Clustering.read_csv(g, c).labels
    ref = ne.mixed_design_test(yy, df["treatment"].to_numpy(), labels, (df["arm"] == "cluster").to_numpy())
    assert json.loads(out)["p_value"] == pytest.approx(ref.p_value, rel=1e-12)


def test_test_needs_design_and_all_outcomes(tmp_path, capsys, karate_bernoulli):
    a, y, *_ = karate_bernoulli
    bare = tmp_path / "bare.csv"
    pd.read_csv(a).to_csv(bare, index=False)
    rc, _, err = run(capsys, "test", "karate", "--assignment", bare, "--outcomes", y)
    one_line_error(rc, err, "--design")
    # partial outcomes: the design's draws read at the 12 units with outcomes (as analyze and report do);
    # truth: the exact p-value by enumerating all 2^12 Bernoulli(1/2) assignments of those units
    import itertools

    part = tmp_path / "part.csv"
    yf = pd.read_csv(y).iloc[[3, 0, 7, 1, 30, 12, 5, 22, 9, 17, 28, 2]]
    yf.to_csv(part, index=False)
    rc, out, err = run(capsys, "test", "karate", "--assignment", a, "--outcomes", part, "--n-draws", 20000,
                       "--seed", 1, "--json")
    assert rc == 0, err
    res = json.loads(out)
    assert "12 of 34 units" in res["note"]
    keep = np.sort(yf["node_id"].to_numpy())
    zz = pd.read_csv(a).set_index("node_id")["treatment"].loc[keep].to_numpy().astype(bool)
    yy = yf.set_index("node_id")["outcome"].loc[keep].to_numpy()
    Z = np.array(list(itertools.product((0, 1), repeat=12)), dtype=bool)
    n1 = Z.sum(1)
    ok = (n1 > 0) & (n1 < 12)
    T = np.where(ok, (Z * yy).sum(1) / np.maximum(n1, 1) - (~Z * yy).sum(1) / np.maximum(12 - n1, 1), np.nan)
    t_obs = yy[zz].mean() - yy[~zz].mean()
    exact = float(np.mean(np.abs(T[ok]) >= abs(t_obs) - 1e-12))
    assert abs(res["p_value"] - exact) < 4 * np.sqrt(exact * (1 - exact) / 20000) + 1e-3
    rc, _, err = run(capsys, "test", "karate", "--assignment", a, "--outcomes", part, "--interference", "aei")
    one_line_error(rc, err, "every unit")


def test_diagnose_matches_api(tmp_path, capsys):
    c = tmp_path / "c.csv"
    run(capsys, "cluster", "karate", "-o", c, "--seed", 1)
    rc, out, err = run(capsys, "diagnose", "karate", "--designs", "complete,cluster", "--clusters", c,
                       "--estimators", "difference-in-means,exposure-regression", "--direct", 0.3, "--n-sims", 30,
                       "--seed", 7, "--json")
    assert rc == 0, err
    g = ne.load_graph("karate")
    cl = ne.Clustering.read_csv(g, c)
    ref = ne.diagnose({"complete": ne.Complete(34, p=0.5), "cluster": ne.ClusterRandomized(cl, p=0.5)},
                      ["difference-in-means", "exposure-regression"], ne.LinearInMeans(direct=0.3), g, n_sims=30,
                      rng=7).to_frame()
    got = pd.DataFrame(json.loads(out)["table"])
    assert np.allclose(got["rmse"].to_numpy(float), ref["rmse"].to_numpy(float), rtol=1e-12, equal_nan=True)
    assert got["design"].tolist() == ref["design"].tolist()
    rc, _, err = run(capsys, "diagnose", "karate", "--designs", "complete,zigzag")
    one_line_error(rc, err, "zigzag")


def test_power_matches_api(capsys):
    rc, out, _ = run(capsys, "power", "--clusters", 40, "--cluster-size", 20, "--icc", 0.05, "--effect", 0.2, "--json")
    assert rc == 0
    assert json.loads(out)["power"] == pytest.approx(ne.power_cluster(0.2, n_clusters=40, cluster_size=20, icc=0.05))
    rc, out, _ = run(capsys, "power", "--clusters", 40, "--cluster-size", 20, "--icc", 0.05, "--power", 0.8, "--json")
    assert json.loads(out)["mde"] == pytest.approx(ne.mde_cluster(n_clusters=40, cluster_size=20, icc=0.05))
    rc, out, _ = run(capsys, "power", "--cluster-size", 20, "--icc", 0.05, "--effect", 0.2,
                     "--curve", "n-clusters:10,20,40", "--json")
    ref = ne.power_curve("n_clusters", [10, 20, 40], effect=0.2, cluster_size=20, icc=0.05)
    assert [r["power"] for r in json.loads(out)["table"]] == pytest.approx(ref["power"].tolist())
    rc, out, _ = run(capsys, "power", "--n", 1000, "--effect", 0.2)
    assert rc == 0 and f"{ne.power_individual(0.2, n=1000):.4f}" in out
    rc, _, err = run(capsys, "power", "--effect", 0.2)
    one_line_error(rc, err, "--clusters")


def test_card_writes_and_refuses_overwrite(tmp_path, capsys, karate_bernoulli):
    a, *_ = karate_bernoulli
    stem = tmp_path / "card"
    rc, out, err = run(capsys, "card", "--assignment", a, "--question", "Ship the banner?", "--primary-metric",
                       "clicks", "--guardrails", "latency,churn", "--mapping", "as4", "-o", stem)
    assert rc == 0, err
    card = ne.DesignCard.read(tmp_path / "card.json")
    assert card.business_decision == "Ship the banner?" and card.guardrails == ("latency", "churn")
    assert card.design == ne.Bernoulli(34, p=0.5).declaration() if hasattr(ne.Bernoulli(34), "declaration") else True
    before = (tmp_path / "card.md").read_text()
    rc, _, err = run(capsys, "card", "--assignment", a, "--question", "other", "-o", stem)
    one_line_error(rc, err, "already exists")
    assert (tmp_path / "card.md").read_text() == before
    assert run(capsys, "card", "--assignment", a, "--question", "other", "-o", stem, "--force")[0] == 0


class _Sections(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = []

    def handle_starttag(self, tag, attrs):
        if tag == "section":
            self.ids.append(dict(attrs).get("id"))


def test_report_command(tmp_path, capsys, karate_bernoulli):
    from netexp._report import SECTIONS

    a, y, x, *_ = karate_bernoulli
    out = tmp_path / "r.html"
    rc, _, err = run(capsys, "report", "karate", "--assignment", a, "--outcomes", y, "--covariates", x,
                     "--mapping", "as4", "--n-draws", 200, "-o", out)
    assert rc == 0, err
    p = _Sections()
    p.feed(out.read_text())
    assert set(SECTIONS) <= set(p.ids)
    text = out.read_text()
    assert "not provided" not in text.split('id="estimates"')[1].split("</section>")[0]
    rc, _, err = run(capsys, "report", "karate", "--assignment", a, "--outcomes", y, "-o", out)
    one_line_error(rc, err, "already exists")


def test_analyze_min_probability_restricts_the_estimand(capsys, karate_bernoulli):
    a, y, x, z, yy, cov = karate_bernoulli
    rc, out, err = run(capsys, "analyze", "karate", "--assignment", a, "--outcomes", y, "--mapping",
                       "full-neighbourhood", "--estimators", "ht", "--min-probability", "0.01", "--json")
    assert rc == 0, err
    rec = json.loads(out)["estimates"][0]
    g = ne.load_graph("karate")
    m = ne.FullNeighborhood()
    pr = ne.exposure_probabilities(g, ne.Bernoulli(34, p=0.5), m, method="exact")
    keep = (pr.marginal[:, m.levels.index("treated")] >= 0.01) & (pr.marginal[:, m.levels.index("control")] >= 0.01)
    assert 0 < keep.sum() < 34                                   # karate's hubs are dropped
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = ne.horvitz_thompson(yy, m.map(g, z), pr, contrasts=[("treated", "control")], units=keep)[0]
    assert rec["estimate"] == pytest.approx(e.estimate, rel=1e-12)
    assert rec["std_error"] == pytest.approx(e.std_error, rel=1e-12)
    rc, _, err = run(capsys, "analyze", "karate", "--assignment", a, "--outcomes", y, "--mapping",
                     "full-neighbourhood", "--estimators", "ht", "--min-probability", "0.9")
    one_line_error(rc, err, "--min-probability")
