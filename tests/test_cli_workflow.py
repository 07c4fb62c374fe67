"""The command-line workflow of a dry run: assign (fresh seed), simulate, analyze a named outcome column."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import netexp as ne
from netexp.cli import main


def run(capsys, *args):
    rc = main([str(a) for a in args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_assign_without_seed_draws_fresh_recorded_seeds(tmp_path, capsys):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    for f in (a, b):
        rc, out, err = run(capsys, "assign", "karate", "-o", f, "--design", "complete")
        assert rc == 0 and "fresh" in out, err
    seeds = [json.loads((tmp_path / f"{f.name}.design.json").read_text())["spec"]["seed"] for f in (a, b)]
    assert seeds[0] != seeds[1]
    za, zb = (pd.read_csv(f)["treatment"].to_numpy() for f in (a, b))
    # the recorded seed redraws the file bit for bit (truth: the design drawn directly with that seed)
    assert np.array_equal(za, ne.Complete(34, p=0.5).sample(rng=seeds[0]).astype(int))
    assert run(capsys, "verify", a)[0] == 0


def test_simulate_then_analyze_recovers_the_known_truth(tmp_path, capsys):
    a, y = tmp_path / "a.csv", tmp_path / "y.csv"
    assert run(capsys, "assign", "social", "-o", a, "--design", "bernoulli", "--seed", 1)[0] == 0
    rc, out, err = run(capsys, "simulate", "social", "--assignment", a, "-o", y, "--direct", 0.4, "--spillover", 0.3,
                       "--noise-sd", 0.0001, "--seed", 2, "--outcome-column", "sales", "--json")
    assert rc == 0, err
    res = json.loads(out)
    # linear in means: global = direct + spillover x share of units with neighbours, direct = direct
    gr = ne.load_graph("social")
    share = float(np.mean(np.diff(gr.indptr) > 0))
    assert res["truth"]["global_effect"] == pytest.approx(0.4 + 0.3 * share, abs=1e-12)
    assert res["truth"]["direct_effect"] == pytest.approx(0.4, abs=1e-12)
    assert list(pd.read_csv(y).columns) == ["node_id", "sales"]
    rc, out, err = run(capsys, "analyze", "social", "--assignment", a, "--outcomes", y, "--outcome-column", "sales",
                       "--estimators", "regression", "--json")
    assert rc == 0, err
    est = {r["contrast"]: r for r in json.loads(out)["estimates"]}
    g = est["global effect"]
    truth = 0.4 + 0.3 * share
    assert g["ci_lower"] < truth < g["ci_upper"] and abs(g["estimate"] - truth) < 0.02
    rc, _, err = run(capsys, "analyze", "social", "--assignment", a, "--outcomes", y, "--outcome-column", "clicks")
    assert rc == 2 and "--outcome-column" in err and "clicks" in err
    rc, _, err = run(capsys, "simulate", "social", "--assignment", a, "-o", y)
    assert rc == 2 and "--force" in err and "overwrite=True" not in err


def test_cluster_warns_when_clusters_are_too_few(tmp_path, capsys):
    c = tmp_path / "c.csv"
    rc, out, err = run(capsys, "cluster", "karate", "-o", c, "--seed", 1)
    assert rc == 0
    # karate gives a handful of clusters: power is low and the message says how many would be needed
    assert "clusters of this size are needed for 80% power" in err and "fewer than 30 clusters" in err
    from netexp.diagnostics import power_cluster

    labels = pd.read_csv(c)["cluster"].to_numpy()
    sizes = np.bincount(pd.factorize(labels)[0])
    need = int(err.split("about ")[1].split(" clusters")[0])
    kw = dict(cluster_size=sizes.mean(), icc=0.05, cluster_size_cv=sizes.std() / sizes.mean())
    assert power_cluster(0.1, n_clusters=need, **kw) >= 0.8 > power_cluster(0.1, n_clusters=need - 1, **kw)


def test_report_reads_the_card_and_every_outcome_column(tmp_path, capsys):
    c, a, y, card, r = (tmp_path / n for n in ("c.csv", "a.csv", "y.csv", "card", "r.html"))
    assert run(capsys, "cluster", "social", "-o", c, "--seed", 1)[0] == 0
    assert run(capsys, "assign", "social", "-o", a, "--design", "cluster", "--clusters", c, "--seed", 3)[0] == 0
    df = pd.read_csv(a)
    rng = np.random.default_rng(0)
    sessions = rng.normal(size=len(df)) + 0.5 * df["treatment"]
    pd.DataFrame({"node_id": df["node_id"], "sessions": sessions,
                  "latency_ms": 200 + rng.normal(size=len(df))}).to_csv(y, index=False)
    assert run(capsys, "card", "--assignment", a, "-o", card, "--question", "Ship the new ranking?",
               "--primary-metric", "sessions", "--guardrails", "latency_ms")[0] == 0
    rc, out, err = run(capsys, "report", "social", "--assignment", a, "--outcomes", y, "--card",
                       tmp_path / "card.json", "-o", r)
    assert rc == 0, err
    html = r.read_text()
    head = html[:html.index('id="card"') if 'id="card"' in html else len(html)]
    assert "Ship the new ranking?" in head and "sessions" in head and "latency_ms" in head
    # the headline effect is the CR2 difference in means by the randomized clusters (truth: cluster_ols)
    ref = ne.cluster_ols(sessions.to_numpy(), df["treatment"].to_numpy(), df["cluster"].to_numpy())
    assert f"{ref.estimate:+.4g}" in head


def test_matched_pairs_are_analysed_as_pairs(tmp_path, capsys):
    """analyze uses the paired estimator for a matched-pairs design; truth: the mean of the within-pair
    differences and the textbook variance of a mean of J differences (scipy's one-sample t)."""
    from scipy import stats

    g = ne.load_graph("social")
    n = g.n_nodes
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"x": rng.normal(size=n)}, index=g.node_ids)
    design = ne.MatchedPairs(x)
    ex = ne.Experiment(g, design, seed=4)
    y = 3 * x["x"].to_numpy() + 0.3 * ex.assignment + rng.normal(scale=0.2, size=n)
    res = ex.with_outcomes(y).analyze(estimators=["naive"], mapping="fraction")
    row = res.rows[0]
    assert row["estimator"] == "paired difference in means"
    pairs = np.asarray(design.pairs)
    zz = ex.assignment
    d = np.where(zz[pairs[:, 0]], y[pairs[:, 0]] - y[pairs[:, 1]], y[pairs[:, 1]] - y[pairs[:, 0]])
    t = stats.ttest_1samp(d, 0.0)
    assert row["estimate"] == pytest.approx(d.mean(), rel=1e-12)
    assert row["std_error"] == pytest.approx(d.std(ddof=1) / np.sqrt(len(d)), rel=1e-10)
    assert row["p_value"] == pytest.approx(t.pvalue, rel=1e-8)
    unpaired = ne.difference_in_means(y, zz)
    assert row["std_error"] < 0.5 * unpaired.std_error
