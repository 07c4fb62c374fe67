"""k-arm experiments through the command line, and the Python writer of assignment files.

Numbers are checked against what the CLI did not compute: scipy (Welch t, chi-square), the design's
exact arm sizes, byte equality of files written by the two entry points.
"""

import filecmp
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import netexp as ne
from netexp.cli import main

ARMS = ("control", "a", "b")


def run(capsys, *args):
    try:
        rc = main([str(a) for a in args])
    except SystemExit as exc:   # verify / srm exit 1 on a failed check
        rc = exc.code
    out = capsys.readouterr()
    return rc, out.out, out.err


def _outcomes(tmp_path, assignment, effects=(0.0, 0.5, 1.0), seed=0, name="y.csv"):
    a = pd.read_csv(assignment)
    eff = dict(zip(ARMS, effects))
    y = a["arm"].map(eff).to_numpy() + np.random.default_rng(seed).normal(size=len(a))
    path = tmp_path / name
    pd.DataFrame({"node_id": a["node_id"], "outcome": y}).to_csv(path, index=False)
    return path, a, y


@pytest.fixture()
def karm(tmp_path, capsys):
    out = tmp_path / "a.csv"
    rc, text, err = run(capsys, "assign", "karate", "-o", out, "--design", "complete", "--arms", ",".join(ARMS),
                        "--probabilities", "0.5,0.25,0.25", "--seed", 3)
    assert rc == 0, err
    return out, text


def test_assign_writes_an_arm_column_and_a_sidecar_with_arms_and_probabilities(karm):
    out, text = karm
    df = pd.read_csv(out)
    assert list(df.columns) == ["node_id", "arm"]
    counts = df["arm"].value_counts().to_dict()
    # complete k-arm design on 34 units, shares (.5, .25, .25): 17 control, and 8 + 1 random extra over a/b
    assert counts["control"] == 17 and counts["a"] + counts["b"] == 17 and {counts["a"], counts["b"]} == {8, 9}
    side = json.loads((out.parent / "a.csv.design.json").read_text())
    assert side["arms"] == list(ARMS) and side["probabilities"] == [0.5, 0.25, 0.25]
    assert side["arm_counts"] == counts and "n_treated" not in side
    assert side["spec"]["arms"] == list(ARMS) and side["spec"]["seed"] == 3
    assert "control 17" in text


def test_assign_same_seed_same_file_and_verify(tmp_path, karm, capsys):
    out, _ = karm
    again = tmp_path / "again.csv"
    run(capsys, "assign", "karate", "-o", again, "--design", "complete", "--arms", ",".join(ARMS),
        "--probabilities", "0.5,0.25,0.25", "--seed", 3)
    assert filecmp.cmp(out, again, shallow=False)
    rc, text, _ = run(capsys, "verify", out)
    assert rc == 0 and text.startswith("verified")
    df = pd.read_csv(out)
    df.loc[0, "arm"] = "b" if df.loc[0, "arm"] != "b" else "a"
    df.to_csv(out, index=False)
    rc, text, _ = run(capsys, "verify", out)
    assert rc == 1 and "1 units differ" in text


@pytest.mark.parametrize("flags, message", [
    (["--arms", "control,a,b", "--probabilities", "0.5,0.3,0.3"], "--probabilities must sum to 1"),
    (["--arms", "control,a,b", "--probabilities", "0.5,0.5"], "gives 2 values but --arms names 3 arms"),
    (["--arms", "control,a,a"], "names each arm once"),
    (["--arms", "control,a,b", "--probabilities", "0.5,0.5,0"], "would never be assigned"),
    (["--probabilities", "0.5,0.5"], "name the arms with --arms"),
    (["--arms", "control,a", "--p", "0.3"], "--p does not apply to a k-arm design"),
    (["--arms", "control,,b"], "empty arm name"),
    (["--arms", "control,a,b", "--probabilities", "0.5,x,0.5"], "--probabilities must be comma-separated numbers"),
])
def test_assign_refuses_bad_arm_declarations(tmp_path, capsys, flags, message):
    out = tmp_path / "bad.csv"
    rc, _, err = run(capsys, "assign", "karate", "-o", out, "--design", "complete", *flags, "--seed", 1)
    assert rc == 2 and message in err
    assert not out.exists()


def test_assign_refuses_a_draw_that_leaves_an_arm_empty(tmp_path, capsys):
    out = tmp_path / "bad.csv"
    rc, _, err = run(capsys, "assign", "karate", "-o", out, "--design", "bernoulli", "--arms", "c,a,b",
                     "--probabilities", "0.96,0.02,0.02", "--seed", 0)
    assert rc == 2 and "got no unit" in err and not out.exists()
    rc, _, err = run(capsys, "assign", "karate", "-o", out, "--design", "blocked", "--block-size", 4,
                     "--arms", "c,a", "--seed", 0)
    assert rc == 2 and "two arms only" in err


def test_analyze_gives_each_arm_against_control_matching_welch(tmp_path, capsys, karm):
    out, _ = karm
    y_path, a, y = _outcomes(tmp_path, out)
    rc, text, err = run(capsys, "analyze", "karate", "--assignment", out, "--outcomes", y_path, "--json")
    assert rc == 0, err
    res = json.loads(text)
    naive = [e for e in res["estimates"] if e["estimator"].startswith("difference in means")]
    assert [e["contrast"] for e in naive] == ["a - control", "b - control"]
    for e, arm in zip(naive, ("a", "b")):
        yb, yc = y[a["arm"] == arm], y[a["arm"] == "control"]
        assert e["estimate"] == pytest.approx(yb.mean() - yc.mean(), abs=1e-12)
        t = stats.ttest_ind(yb, yc, equal_var=False)
        assert e["std_error"] == pytest.approx((yb.mean() - yc.mean()) / t.statistic, rel=1e-10)
        assert e["p_value"] == pytest.approx(t.pvalue, rel=1e-8)
    assert res["arms"] == a["arm"].value_counts().reindex(list(ARMS)).to_dict()
    recentred = [e for e in res["estimates"] if "recentred" in e["estimator"]]
    assert [e["contrast"] for e in recentred] == ["direct effect a - control", "direct effect b - control",
                                                  "spillover share[a]", "spillover share[b]"]
    # all pairs, and another control
    rc, text, _ = run(capsys, "analyze", "karate", "--assignment", out, "--outcomes", y_path, "--json",
                      "--estimators", "naive", "--comparisons", "all")
    assert [e["contrast"] for e in json.loads(text)["estimates"]] == ["a - control", "b - control", "b - a"]
    rc, text, _ = run(capsys, "analyze", "karate", "--assignment", out, "--outcomes", y_path, "--json",
                      "--estimators", "naive", "--control", "b")
    assert [e["contrast"] for e in json.loads(text)["estimates"]] == ["control - b", "a - b"]


def test_test_command_draws_the_k_arm_design(tmp_path, capsys, karm):
    """The F test's observed value is scipy's one-way ANOVA F; p-values use the design's own draws
    (Monte Carlo here) and detect a 1 SD effect of arm b."""
    out, _ = karm
    y_path, a, y = _outcomes(tmp_path, out)
    rc, text, err = run(capsys, "test", "karate", "--assignment", out, "--outcomes", y_path, "--n-draws", 400,
                        "--json")
    assert rc == 0, err
    res = json.loads(text)
    F = stats.f_oneway(*[y[a["arm"] == arm] for arm in ARMS]).statistic
    assert res["tests"][0]["observed"] == pytest.approx(F, rel=1e-10)
    assert [t["statistic"] for t in res["tests"]][1:] == ["difference in means a - control",
                                                           "difference in means b - control"]
    assert res["tests"][2]["p_value"] < 0.05 and "400 design draws" in res["tests"][0]["method"]


def test_cluster_arms_enumerated_and_srm_counts_clusters(tmp_path, capsys):
    g = ne.load_graph("karate")
    clusters = tmp_path / "cl.csv"
    pd.DataFrame({"node_id": g.node_ids, "cluster": np.arange(g.n_nodes) // 5}).to_csv(clusters, index=False)
    out = tmp_path / "c.csv"
    rc, _, err = run(capsys, "assign", "karate", "-o", out, "--design", "cluster", "--clusters", clusters,
                     "--arms", ",".join(ARMS), "--probabilities", "0.4,0.3,0.3", "--seed", 1)
    assert rc == 0, err
    df = pd.read_csv(out)
    assert (df.groupby("cluster")["arm"].nunique() == 1).all()
    y_path, a, y = _outcomes(tmp_path, out)
    rc, text, err = run(capsys, "analyze", "karate", "--assignment", out, "--outcomes", y_path, "--json")
    assert rc == 0, err
    est = json.loads(text)["estimates"]
    assert est[0]["estimator"] == "difference in means, CR2 clustered" and est[0]["n_clusters"] is not None
    rc, text, _ = run(capsys, "test", "karate", "--assignment", out, "--outcomes", y_path, "--json")
    # 7 clusters, complete k-arm over clusters: the support is enumerated exactly
    m = json.loads(text)["tests"][0]["method"]
    assert m.startswith("exact enumeration")
    from math import factorial
    # 7 clusters at shares (.4,.3,.3): sizes (2,2,2) plus one random extra -> 3 * 7!/(3!2!2!) assignments
    assert f"over {3 * factorial(7) // (factorial(3) * 2 * 2)} assignments" in m
    rc, text, _ = run(capsys, "srm", "karate", "--assignment", out, "--json")
    res = json.loads(text)
    assert sum(res["observed"]) == 7 and "counted in clusters" in res["message"]


def test_srm_across_arms_matches_scipy_chisquare(tmp_path, capsys, karm):
    out, _ = karm
    a = pd.read_csv(out)
    keep = a[~((a["arm"] == "a") & (a.index % 2 == 0))]          # lose half of arm a after assignment
    y = tmp_path / "y.csv"
    pd.DataFrame({"node_id": keep["node_id"], "outcome": 0.0}).to_csv(y, index=False)
    rc, text, _ = run(capsys, "srm", "karate", "--assignment", out, "--outcomes", y, "--json")
    res = json.loads(text)
    obs = keep["arm"].value_counts().reindex(list(ARMS)).to_numpy()
    ref = stats.chisquare(obs, len(keep) * np.array([0.5, 0.25, 0.25]))
    assert res["observed"] == obs.tolist() and res["p_value"] == pytest.approx(ref.pvalue, rel=1e-10)


def test_arm_column_without_sidecar_needs_design_and_rebuilds_it(tmp_path, capsys, karm):
    out, _ = karm
    bare = tmp_path / "bare.csv"
    pd.read_csv(out).to_csv(bare, index=False)
    y_path, a, y = _outcomes(tmp_path, out)
    rc, _, err = run(capsys, "analyze", "karate", "--assignment", bare, "--outcomes", y_path)
    assert rc == 2 and "--design complete" in err
    rc, text, err = run(capsys, "analyze", "karate", "--assignment", bare, "--outcomes", y_path, "--design",
                        "complete", "--control", "control", "--estimators", "naive", "--json")
    assert rc == 0, err
    res = json.loads(text)
    assert res["design_source"] == "observed arm sizes"
    assert [e["contrast"] for e in res["estimates"]] == ["a - control", "b - control"]


def test_an_arm_of_the_sidecar_never_assigned_is_an_error(tmp_path, capsys, karm):
    out, _ = karm
    df = pd.read_csv(out)
    side = out.parent / "a.csv.design.json"
    rec = json.loads(side.read_text())
    df["arm"] = df["arm"].replace({"b": "a"})            # the file no longer has arm b
    edited = tmp_path / "e.csv"
    df.to_csv(edited, index=False)
    (tmp_path / "e.csv.design.json").write_text(json.dumps(rec))
    y_path, _, _ = _outcomes(tmp_path, out)
    rc, _, err = run(capsys, "analyze", "karate", "--assignment", edited, "--outcomes", y_path)
    assert rc == 2 and "never assigned" in err and "'b'" in err
    df["arm"] = df["arm"].replace({"a": "z"})
    df.to_csv(edited, index=False)
    rc, _, err = run(capsys, "analyze", "karate", "--assignment", edited, "--outcomes", y_path)
    assert rc == 2 and "not arms of the design" in err


def test_report_of_a_k_arm_experiment(tmp_path, capsys, karm):
    out, _ = karm
    y_path, _, _ = _outcomes(tmp_path, out)
    html = tmp_path / "r.html"
    rc, text, err = run(capsys, "report", "karate", "--assignment", out, "--outcomes", y_path, "-o", html,
                        "--n-draws", 200)
    assert rc == 0, err
    page = html.read_text()
    assert "a - control" in page and "b - control" in page and "F across 3 arms" in page


# ------------------------------------------------------------------ the Python writer

def test_python_writer_writes_the_cli_file_byte_for_byte(tmp_path, capsys, karm):
    out, _ = karm
    g = ne.load_graph("karate")
    d = ne.MultiArmComplete(g.n_nodes, prob_each=(0.5, 0.25, 0.25), arms=ARMS)
    py = tmp_path / "py.csv"
    ne.write_assignment(py, g, d, seed=3)
    assert filecmp.cmp(out, py, shallow=False)
    with pytest.raises(ne.OutputExistsError):
        ne.write_assignment(py, g, d, seed=3)
    ne.write_assignment(py, g, d, seed=4, overwrite=True)
    assert not filecmp.cmp(out, py, shallow=False)


@pytest.mark.parametrize("kind", ["complete", "cluster", "cluster-arms"])
def test_python_writer_round_trip_gives_the_cli_numbers(tmp_path, capsys, kind):
    """Written from Python, read by `netexp analyze`: the same rows as the file `netexp assign` wrote."""
    g = ne.load_graph("karate")
    clusters = tmp_path / "cl.csv"
    labels = np.arange(g.n_nodes) // 4
    pd.DataFrame({"node_id": g.node_ids, "cluster": labels}).to_csv(clusters, index=False)
    cli_out = tmp_path / "cli.csv"
    if kind == "complete":
        flags = ["--design", "complete", "--p", "0.5"]
        design = ne.Complete(g.n_nodes, p=0.5)
    elif kind == "cluster":
        flags = ["--design", "cluster", "--clusters", clusters, "--p", "0.5"]
        design = ne.ClusterRandomized(labels, cluster_design=ne.Complete(9, p=0.5))
    else:
        flags = ["--design", "cluster", "--clusters", clusters, "--arms", ",".join(ARMS)]
        design = ne.MultiArmCluster(labels, ne.MultiArmComplete(9, num_arms=3, arms=ARMS))
    rc, _, err = run(capsys, "assign", "karate", "-o", cli_out, *flags, "--seed", 7)
    assert rc == 0, err
    py_out = tmp_path / "py.csv"
    df = ne.write_assignment(py_out, g, design, seed=7)
    pd.testing.assert_frame_equal(df, pd.read_csv(py_out), check_dtype=False)
    assert filecmp.cmp(cli_out, py_out, shallow=False)      # same draw, same writer
    y = tmp_path / "y.csv"
    pd.DataFrame({"node_id": g.node_ids, "outcome": np.random.default_rng(0).normal(size=g.n_nodes)}).to_csv(
        y, index=False)
    res = []
    for f in (cli_out, py_out):
        rc, text, err = run(capsys, "analyze", "karate", "--assignment", f, "--outcomes", y, "--json")
        assert rc == 0, err
        res.append(json.loads(text))
    assert res[0]["design"] == res[1]["design"]
    key = ["estimator", "contrast", "estimate", "std_error", "p_value"]
    assert [[e[k] for k in key] for e in res[0]["estimates"]] == [[e[k] for k in key] for e in res[1]["estimates"]]
    rc, text, _ = run(capsys, "verify", py_out)
    assert rc == 0 and text.startswith("verified")


def test_python_writer_with_a_given_assignment(tmp_path, capsys):
    g = ne.load_graph("karate")
    d = ne.MultiArmBernoulli(g.n_nodes, prob_each=(0.4, 0.3, 0.3), arms=ARMS)
    z = d.sample(rng=11)
    out = tmp_path / "z.csv"
    ne.write_assignment(out, g, d, assignment=d.labels(z))         # drawn elsewhere: no seed recorded
    assert (pd.read_csv(out)["arm"].to_numpy() == d.labels(z)).all()
    rc, text, _ = run(capsys, "verify", out)
    assert rc == 1 and "records no seed" in text
    with pytest.raises(ne.InputError, match="not the draw of this design with seed=12"):
        ne.write_assignment(tmp_path / "s.csv", g, d, assignment=z, seed=12)
    ne.write_assignment(tmp_path / "s.csv", g, d, assignment=z, seed=11)
    cd = ne.MultiArmComplete(g.n_nodes, m_each=(14, 10, 10), arms=ARMS)
    with pytest.raises(ne.InputError, match="cannot come from the declared design"):
        ne.write_assignment(tmp_path / "c.csv", g, cd, assignment=np.zeros(g.n_nodes, dtype=int))
    assert not (tmp_path / "c.csv").exists()
    with pytest.raises(ne.InputError, match="no `netexp assign` declaration"):
        ne.write_assignment(tmp_path / "s2.csv", g, ne.Blocked(g.n_nodes, 2), seed=1)
    ids = [f"u{i}" for i in range(10)]
    df = ne.write_assignment(tmp_path / "ids.csv", ids, ne.Complete(10, n_treated=4), seed=0)
    assert df["node_id"].tolist() == ids and df["treatment"].sum() == 4
    series = pd.Series(np.asarray(z)[::-1], index=g.node_ids[::-1])    # a Series is matched by node id
    ne.write_assignment(tmp_path / "ser.csv", g, d, assignment=series, seed=11)
    assert filecmp.cmp(tmp_path / "ser.csv", tmp_path / "s.csv", shallow=False)


def test_simulate_refuses_a_k_arm_file_and_says_what_to_do(tmp_path, capsys, karm):
    out, _ = karm
    rc, _, err = run(capsys, "simulate", "karate", "--assignment", out, "-o", tmp_path / "y.csv", "--seed", 1)
    assert rc == 2 and "k-arm assignment" in err and not (tmp_path / "y.csv").exists()
    assert "netexp analyze" in err and "without --arms" in err


def test_card_of_a_k_arm_file_lists_arms_probabilities_and_counts(tmp_path, capsys, karm):
    out, _ = karm
    rc, text, err = run(capsys, "card", "--assignment", out, "--question", "Which banner?", "--json")
    assert rc == 0, err
    card = json.loads(text)
    drawn = pd.read_csv(out)["arm"].value_counts().to_dict()
    # the design's probabilities (0.5, .25, .25 of 34 units: 17, 8.5, 8.5 expected) and the drawn counts
    assert card["arms"] == [f"control (control): probability 0.5, 17 units expected, {drawn['control']} units drawn",
                            f"a: probability 0.25, 8.5 units expected, {drawn['a']} units drawn",
                            f"b: probability 0.25, 8.5 units expected, {drawn['b']} units drawn"]
    assert card["assignment_probability"] == "control 0.5, a 0.25, b 0.25 for every unit"
    assert card["unit_of_randomization"] == "unit (34 units)"
    assert any("multiplicity" in t for t in card["threats_to_validity"])
    md = (out.parent / "a.csv.card.md").read_text()
    assert "| Arms | control (control): probability 0.5" in md
    # a report read with this card: its question heads the page; a two-arm card is refused
    y_path, _, _ = _outcomes(tmp_path, out)
    html = tmp_path / "r.html"
    rc, _, err = run(capsys, "report", "karate", "--assignment", out, "--outcomes", y_path, "-o", html,
                     "--card", out.parent / "a.csv.card.json", "--n-draws", 100)
    assert rc == 0, err
    page = html.read_text()
    assert '<p class="question">Which banner?</p>' in page and "arm a vs control" in page
    two = tmp_path / "two.csv"
    assert run(capsys, "assign", "karate", "-o", two, "--design", "complete", "--p", 0.5, "--seed", 1)[0] == 0
    assert run(capsys, "card", "--assignment", two)[0] == 0
    rc, _, err = run(capsys, "report", "karate", "--assignment", out, "--outcomes", y_path, "-o", tmp_path / "s.html",
                     "--card", tmp_path / "two.csv.card.json", "--n-draws", 100)
    assert rc == 2 and "treatment and control" in err and not (tmp_path / "s.html").exists()


def test_card_of_a_k_arm_cluster_design_counts_clusters():
    g = ne.load_graph("karate")
    labels = np.arange(34) % 6
    d = ne.MultiArmCluster(labels, ne.MultiArmComplete(6, arms=ARMS, m_each=np.array([2, 2, 2])))
    card = ne.DesignCard.from_objects(design=d, graph=g)
    # m_each fixed: exactly 2 clusters per arm; probability 2/6 each (exact, per unit = per cluster)
    assert card.arms == ("control (control): probability 0.333, 2 clusters", "a: probability 0.333, 2 clusters",
                         "b: probability 0.333, 2 clusters")
    assert card.unit_of_randomization == "cluster (6 clusters of 5-6 units)"
    assert not any("randomized individually" in t for t in card.threats_to_validity)
    assert ne.DesignCard.from_json(card.to_json()) == card
    with pytest.raises(ne.InputError, match="not arms of the design"):
        ne.DesignCard.from_objects(design=d, arm_counts={"zz": 3})
    for bad in ([1, 2, 3], {"a": "x"}, {"a": -1}, {"a": 1.5}):    # e.g. from an edited sidecar
        with pytest.raises(ne.InputError, match="arm_counts must map"):
            ne.DesignCard.from_objects(design=d, arm_counts=bad)
    with pytest.raises(ne.InputError, match="k-arm designs"):
        ne.DesignCard.from_objects(design=ne.Complete(34, p=0.5), arm_counts={"a": 3})


def test_analyze_k_arm_design_based_rows(tmp_path, capsys):
    """ht / hajek on a k-arm cluster design of a ring: one row per arm against control, exact
    probabilities for "all", Monte Carlo for a share threshold (--mapping q-fractional --q)."""
    g = ne.watts_strogatz(60, 2, 0.0, rng=0)
    ids = pd.Series(g.node_ids)
    clusters = tmp_path / "cl.csv"
    edges = tmp_path / "ring.csv"
    pd.DataFrame({"source": np.arange(60), "target": (np.arange(60) + 1) % 60}).to_csv(edges, index=False)
    pd.DataFrame({"node_id": ids, "cluster": np.arange(60) // 3}).to_csv(clusters, index=False)
    out = tmp_path / "a.csv"
    rc, _, err = run(capsys, "assign", edges, "-o", out, "--design", "cluster", "--clusters", clusters,
                     "--arms", ",".join(ARMS), "--probabilities", "0.4,0.3,0.3", "--seed", 2)
    assert rc == 0, err
    y_path, _, _ = _outcomes(tmp_path, out)
    rc, text, err = run(capsys, "analyze", edges, "--assignment", out, "--outcomes", y_path, "--estimators",
                        "ht,hajek", "--json")
    assert rc == 0, err
    rows = json.loads(text)["estimates"]
    assert [r["contrast"] for r in rows] == ["all a - all control", "all b - all control"] * 2
    assert all(r["status"] == "ok" and "exact" in r["why"] for r in rows)
    rc, text, err = run(capsys, "analyze", edges, "--assignment", out, "--outcomes", y_path, "--estimators", "hajek",
                        "--mapping", "q-fractional", "--q", "0.75", "--n-draws", 500, "--json")
    assert rc == 0, err
    rows = json.loads(text)["estimates"]
    assert all("Monte Carlo over 500 draws" in r["why"] for r in rows)
    rc, _, err = run(capsys, "analyze", edges, "--assignment", out, "--outcomes", y_path, "--mapping", "as4")
    assert rc == 2 and "two-arm mapping" in err


def test_python_writer_records_the_graph_file_for_verify(tmp_path, capsys):
    edges = tmp_path / "edges.csv"
    pd.DataFrame({"s": [0, 1, 2, 3, 4], "t": [1, 2, 3, 4, 5]}).to_csv(edges, index=False)
    g = ne.read_graph(edges)
    d = ne.MultiArmComplete(g.n_nodes, num_arms=3, arms=ARMS)
    ne.write_assignment(tmp_path / "p.csv", g, d, seed=1, graph_path=edges)
    rc, text, _ = run(capsys, "verify", tmp_path / "p.csv")
    assert rc == 0 and text.startswith("verified")
    ne.write_assignment(tmp_path / "q.csv", g, d, seed=1)          # no graph_path: verify says why it cannot
    rc, _, err = run(capsys, "verify", tmp_path / "q.csv")
    assert rc == 2 and "without graph_path=" in err
