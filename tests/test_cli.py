import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from netexp.cli import main
from tests.conftest import shared_file


def run(capsys, *args):
    rc = main([str(a) for a in args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_end_to_end_facebook(tmp_path, capsys):
    fb = shared_file("networks", "facebook_combined.txt.gz")
    rc, out, _ = run(capsys, "info", fb)
    assert rc == 0 and "88234" in out
    c, a, y = tmp_path / "c.csv", tmp_path / "a.csv", tmp_path / "y.csv"
    rc, out, _ = run(capsys, "cluster", fb, "-o", c, "--seed", 1)
    assert rc == 0 and "modularity" in out
    rc, out, _ = run(capsys, "assign", fb, "-o", a, "--design", "cluster", "--clusters", c, "--seed", 2)
    assert rc == 0
    assign = pd.read_csv(a)
    assert len(assign) == 4039 and set(assign["treatment"]) == {0, 1}
    rng = np.random.default_rng(0)
    pd.DataFrame({"node_id": assign["node_id"], "outcome": rng.normal(size=4039) + assign["treatment"]}).to_csv(
        y, index=False)
    rc, out, _ = run(capsys, "analyze", fb, "--assignment", a, "--outcomes", y, "--clusters", c, "--json")
    assert rc == 0
    res = json.loads(out)
    ests = {(e["estimator"], e["estimand"]) for e in res["estimates"]}
    assert ("cluster means difference", "global effect") in ests
    naive = [e for e in res["estimates"] if e["estimator"].startswith("difference in means (")][0]
    t = assign["treatment"].to_numpy() == 1
    yy = pd.read_csv(y)["outcome"].to_numpy()
    assert naive["estimate"] == pytest.approx(yy[t].mean() - yy[~t].mean(), abs=1e-12)


def test_string_ids_keyed_outputs(tmp_path, capsys):
    c = tmp_path / "c.csv"
    rc, _, _ = run(capsys, "cluster", "les-miserables", "-o", c)
    assert rc == 0
    assert "Valjean" in set(pd.read_csv(c)["node_id"])


def test_no_overwrite_without_force(tmp_path, capsys):
    out = tmp_path / "a.csv"
    out.write_text("precious\n")
    rc, _, err = run(capsys, "assign", "karate", "-o", out, "--design", "complete")
    assert rc == 2 and "already exists" in err and "--force" in err
    assert out.read_text() == "precious\n"
    rc, _, _ = run(capsys, "assign", "karate", "-o", out, "--design", "complete", "--force")
    assert rc == 0 and "node_id" in out.read_text()


@pytest.mark.parametrize("content,match", [
    ("1 2\n2 3 x y\n", "line 2"),
    ("# only a comment\n", "no edges"),
])
def test_bad_graph_one_line_error(tmp_path, capsys, content, match):
    p = tmp_path / "g.txt"
    p.write_text(content)
    rc, _, err = run(capsys, "info", p)
    assert rc == 2 and match in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_missing_file_and_unknown_ids(tmp_path, capsys):
    rc, _, err = run(capsys, "info", tmp_path / "missing.txt")
    assert rc == 2 and "No such file" in err
    a = tmp_path / "a.csv"
    pd.DataFrame({"node_id": list(range(33)) + [99], "treatment": [0, 1] * 17}).to_csv(a, index=False)
    y = tmp_path / "y.csv"
    pd.DataFrame({"node_id": range(34), "outcome": 1.0}).to_csv(y, index=False)
    rc, _, err = run(capsys, "analyze", "karate", "--assignment", a, "--outcomes", y)
    # an id without edges joins as a unit without neighbours (with a warning that counts it); node 33 then has
    # no treatment, which is an error naming it
    assert rc == 2 and "1 units of the assignment have no edges" in err and "99" in err
    assert "have no treatment (e.g. 33)" in err


def test_nan_outcomes(tmp_path, capsys):
    a, y = tmp_path / "a.csv", tmp_path / "y.csv"
    run(capsys, "assign", "karate", "-o", a, "--design", "bernoulli")
    pd.DataFrame({"node_id": range(34), "outcome": [1.0] * 33 + [np.nan]}).to_csv(y, index=False)
    rc, _, err = run(capsys, "analyze", "karate", "--assignment", a, "--outcomes", y)
    assert rc == 2 and "1 outcomes are missing" in err


def test_run_json_subprocess():
    p = subprocess.run([sys.executable, "-m", "netexp", "run", "--graph", "karate", "--json"], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["truth"]["direct_effect"] == pytest.approx(0.2)
    assert len(d["estimates"]) >= 6


@pytest.fixture
def covfile(tmp_path):
    rng = np.random.default_rng(0)
    p = tmp_path / "cov.csv"
    # "NA" is a region code here, not a missing value
    pd.DataFrame({"node_id": range(34), "age": rng.integers(18, 70, 34), "region": rng.choice(["NA", "EU"], 34),
                  "score": rng.normal(size=34)}).to_csv(p, index=False)
    return p


@pytest.mark.parametrize("extra", [
    ["--design", "stratified", "--strata", "region"],
    ["--design", "stratified", "--strata", "age", "--bins", "3"],
    ["--design", "blocked", "--block-size", "4"],
    ["--design", "stratified-blocked", "--strata", "region", "--block-size", "4"],
    ["--design", "rerandomized", "--balance-on", "age,score", "--acceptance", "0.2"],
    ["--design", "rerandomized", "--criterion", "mean-difference", "--balance-on", "age", "--threshold", "3"],
    ["--design", "complete", "--n-treated", "10", "--extra", "control"],
])
def test_assign_designs_and_verify(tmp_path, capsys, covfile, extra):
    out = tmp_path / "a.csv"
    rc, msg, err = run(capsys, "assign", "karate", "-o", out, "--covariates", covfile, "--seed", 4, *extra)
    assert rc == 0, err
    side = tmp_path / "a.csv.design.json"
    assert side.exists()
    rc, msg, _ = run(capsys, "verify", out)
    assert rc == 0 and msg.startswith("verified")
    df = pd.read_csv(out)
    cov = pd.read_csv(covfile, keep_default_na=False)
    if "region" in extra and "stratified" in extra:
        t = df["treatment"].to_numpy()
        for r in ("NA", "EU"):
            m = (cov["region"] == r).to_numpy()
            assert abs(t[m].sum() - m.sum() / 2) <= 0.5 + (2 if "stratified-blocked" in extra else 0)


def test_verify_detects_edits(tmp_path, capsys, covfile):
    out = tmp_path / "a.csv"
    run(capsys, "assign", "karate", "-o", out, "--design", "complete")
    df = pd.read_csv(out)
    df.loc[3, "treatment"] = 1 - df.loc[3, "treatment"]
    df.to_csv(out, index=False)
    with pytest.raises(SystemExit) as exc:
        main(["verify", str(out)])
    assert exc.value.code == 1
    assert "NOT verified" in capsys.readouterr().out


def test_cluster_level_designs(tmp_path, capsys, covfile):
    c = tmp_path / "c.csv"
    run(capsys, "cluster", "les-miserables", "-o", c, "--seed", 1)
    out = tmp_path / "a.csv"
    rc, _, err = run(capsys, "assign", "les-miserables", "-o", out, "--design", "stratified", "--level", "cluster",
                     "--clusters", c, "--strata", "size", "--bins", "2")
    assert rc == 0, err
    df = pd.read_csv(out)
    # constant within clusters
    assert (df.groupby("cluster")["treatment"].nunique() == 1).all()


def test_assign_refuses_to_overwrite_sidecar(tmp_path, capsys):
    out = tmp_path / "a.csv"
    (tmp_path / "a.csv.design.json").write_text("{}")
    rc, _, err = run(capsys, "assign", "karate", "-o", out, "--design", "complete")
    assert rc == 2 and "design.json already exists" in err and not out.exists()


def test_balance_and_srm_commands(tmp_path, capsys, covfile):
    from scipy import stats

    out = tmp_path / "a.csv"
    run(capsys, "assign", "karate", "-o", out, "--design", "complete", "--seed", 1)
    rc, msg, err = run(capsys, "balance", "karate", "--assignment", out, "--covariates", covfile, "--json")
    assert rc == 0, err
    res = json.loads(msg)
    a = pd.read_csv(out)["treatment"].to_numpy() == 1
    age = pd.read_csv(covfile)["age"].to_numpy(dtype=float)
    row = [r for r in res["table"] if r["covariate"] == "age"][0]
    pooled = np.sqrt((age[a].var(ddof=1) + age[~a].var(ddof=1)) / 2)
    assert row["std_difference"] == pytest.approx((age[a].mean() - age[~a].mean()) / pooled, rel=1e-12)
    rc, msg, _ = run(capsys, "srm", "karate", "--assignment", out)
    assert rc == 0 and msg.startswith("No sample ratio mismatch")
    # outcomes only for control units and 2 treated: a mismatch, exit code 1
    y = tmp_path / "y.csv"
    keep = np.flatnonzero(~a).tolist() + np.flatnonzero(a)[:2].tolist()
    pd.DataFrame({"node_id": keep, "outcome": 1.0}).to_csv(y, index=False)
    with pytest.raises(SystemExit) as exc:
        main(["srm", "karate", "--assignment", str(out), "--outcomes", str(y)])
    assert exc.value.code == 1 and "Sample ratio mismatch" in capsys.readouterr().out
    # without a sidecar the planned share must be given; then the plain chi-square (scipy) applies
    bare = tmp_path / "bare.csv"
    pd.read_csv(out).to_csv(bare, index=False)
    rc, _, err = run(capsys, "srm", "karate", "--assignment", bare)
    assert rc == 2 and "--expected" in err
    rc, msg, _ = run(capsys, "srm", "karate", "--assignment", bare, "--expected", "0.3", "--json")
    ref = stats.chisquare([(~a).sum(), a.sum()], [0.7 * 34, 0.3 * 34])
    assert json.loads(msg)["p_value"] == pytest.approx(ref.pvalue, rel=1e-10)


@pytest.mark.parametrize("method", ["3-net", "1-hop-max"])
def test_cluster_network_methods_and_size_cap(tmp_path, capsys, method):
    out = tmp_path / "c.csv"
    code, text, _ = run(capsys, "cluster", "karate", "-o", str(out), "--method", method, "--max-size", "6", "--json")
    assert code == 0
    rep = json.loads(text)
    sizes = pd.read_csv(out).groupby("cluster").size()
    assert sizes.max() <= 6 and rep["n_clusters"] == sizes.shape[0]
    assert 0 < rep["quality"]["p_full_treatment_mean"] < 1
    code, _, err = run(capsys, "cluster", "karate", "-o", str(tmp_path / "d.csv"), "--method", method,
                       "--resolution", "1")
    assert code == 2 and "no resolution" in err


@pytest.mark.parametrize("design,extra,column", [
    ("graph-cluster", ["--cluster-design", "bernoulli"], "cluster"),
    ("independent-set", [], "eligible"),
    ("coloring", ["--class-probabilities", "size"], "color"),
    ("saturation", ["--saturations", "0,0.5,1", "--within", "complete"], "saturation"),
    ("ego-cluster", ["--max-alters", "20"], "role"),
    ("mixed", ["--arm-share", "0.5"], "arm"),
])
def test_assign_network_designs_keep_structure_and_verify(tmp_path, capsys, design, extra, column):
    import netexp as ne

    clusters = tmp_path / "c.csv"
    assert run(capsys, "cluster", "social", "-o", str(clusters), "--seed", "1")[0] == 0
    out = tmp_path / "a.csv"
    code, text, err = run(capsys, "assign", "social", "-o", str(out), "--design", design, "--clusters", str(clusters),
                     "--seed", "5", *extra)
    assert code == 0, err
    df = pd.read_csv(out)
    side = json.loads((tmp_path / "a.csv.design.json").read_text())
    assert column in df.columns
    if design != "graph-cluster":                   # graph-cluster is a ClusterRandomized: repr only
        assert side["declaration"]["type"]
    assert run(capsys, "verify", str(out))[0] == 0
    g = ne.load_graph("social")
    z = df["treatment"].to_numpy().astype(bool)
    A = g.adjacency
    if design in ("independent-set", "coloring"):   # no two treated units are neighbours
        assert (A @ z.astype(float))[z].max() == 0
    if design == "saturation":                      # each cluster's treated share is its saturation
        share = df.groupby("cluster").agg(t=("treatment", "sum"), n=("treatment", "size"), s=("saturation", "first"))
        assert ((share.t - share.s * share.n).abs() < 1).all()
    if design == "mixed":                           # cluster arm: constant within cluster
        cl = df[df.arm == "cluster"].groupby("cluster").treatment.nunique()
        assert (cl == 1).all()
    if design == "ego-cluster":                     # egos always treated, outsiders never
        assert df[df.role == "ego"].treatment.all() and not df[df.role == "outside"].treatment.any()


def test_saturation_needs_clusters(tmp_path, capsys):
    code, _, err = run(capsys, "assign", "social", "-o", str(tmp_path / "a.csv"), "--design", "saturation")
    assert code == 2 and "--clusters" in err


def test_run_report_writes_html_and_refuses_overwrite(tmp_path, capsys):
    from html.parser import HTMLParser

    from netexp._report import SECTIONS

    out = tmp_path / "run.html"
    rc, text, err = run(capsys, "run", "--graph", "karate", "--reps", 10, "--report", out)
    assert rc == 0, err
    assert "Horvitz-Thompson (full neighbourhood)" in text and "randomization test" in text

    class Sections(HTMLParser):
        ids = []

        def handle_starttag(self, tag, attrs):
            if tag == "section":
                self.ids.append(dict(attrs).get("id"))

    p = Sections()
    p.feed(out.read_text(encoding="utf-8"))
    assert set(SECTIONS) <= set(p.ids)
    before = out.read_text(encoding="utf-8")
    rc, _, err = run(capsys, "run", "--graph", "karate", "--reps", 0, "--report", out)
    assert rc == 2 and "already exists" in err and len(err.strip().splitlines()) == 1
    assert out.read_text(encoding="utf-8") == before
    assert run(capsys, "run", "--graph", "karate", "--reps", 0, "--report", out, "--force")[0] == 0
