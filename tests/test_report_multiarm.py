"""The HTML report of a k-arm experiment: each arm named against the shared control, p-values adjusted
across the comparisons, the k-arm balance table in the balance section, no two-arm wording.

Numbers are checked against what the report did not compute: scipy's Welch t test per pair of arms,
the Holm step-down adjustment written out by hand, scipy's one-way ANOVA.
"""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import netexp as ne
from netexp._report import render_report
from netexp.cli import main

ARMS = ("control", "a", "b")
TWO_ARM_WORDING = ("treatment raised", "treatment lowered", "<th>treatment</th>", "relative to control)",
                   "treated and", "Arm means need")


def _section(page, sid):
    start = page.index(f'<section id="{sid}">')
    return page[start:page.index("</section>", start)]


def _holm(p):
    """Holm's step-down adjusted p-values (Holm 1979), written out."""
    p = np.asarray(p, dtype=float)
    order = np.argsort(p)
    m = p.size
    adj = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adj[i] = running
    return adj


def _p(p):
    """A p-value as the page writes it (HTML)."""
    return "&lt; 0.001" if p < 0.001 else f"= {p:.3f}"


def _run(capsys, *args):
    rc = main([str(a) for a in args])
    err = capsys.readouterr().err
    return rc, err


@pytest.fixture()
def experiment(tmp_path, capsys):
    out = tmp_path / "a.csv"
    rc, err = _run(capsys, "assign", "karate", "-o", out, "--design", "complete", "--arms", ",".join(ARMS),
                   "--probabilities", "0.5,0.25,0.25", "--seed", 3)
    assert rc == 0, err
    a = pd.read_csv(out)
    rng = np.random.default_rng(0)
    y = a["arm"].map({"control": 0.0, "a": 0.5, "b": 1.5}).to_numpy() + rng.normal(size=len(a))
    pd.DataFrame({"node_id": a["node_id"], "outcome": y}).to_csv(tmp_path / "y.csv", index=False)
    cov = pd.DataFrame({"node_id": a["node_id"], "age": rng.normal(40, 10, len(a)), "x": rng.normal(size=len(a))})
    cov.to_csv(tmp_path / "cov.csv", index=False)
    return out, a, y, cov


def test_cli_report_names_each_arm_against_control_with_holm_adjustment(tmp_path, capsys, experiment):
    out, a, y, cov = experiment
    html = tmp_path / "r.html"
    rc, err = _run(capsys, "report", "karate", "--assignment", out, "--outcomes", tmp_path / "y.csv",
                   "--covariates", tmp_path / "cov.csv", "-o", html, "--n-draws", 200, "--seed", 1)
    assert rc == 0, err
    page = html.read_text()
    head = _section(page, "headline")
    for w in TWO_ARM_WORDING:
        assert w not in page, w
    arm = a["arm"].to_numpy()
    pvals = []
    for b in ("a", "b"):
        welch = stats.ttest_ind(y[arm == b], y[arm == "control"], equal_var=False)
        diff = y[arm == b].mean() - y[arm == "control"].mean()
        assert f"arm {b} vs control: {diff:+.4g}</strong>" in head
        pvals.append(welch.pvalue)
    # the Neyman SE of a difference in means is Welch's, so its p-value is Welch's; Holm by hand
    for b, raw, q in zip(("a", "b"), pvals, _holm(pvals)):
        line = head.split(f"arm {b} vs control:")[1].split("<br>")[0]
        assert f"p {_p(raw)}, holm-adjusted over 2 comparisons p {_p(q)}" in line
    assert "2 comparisons share the control arm control" in head
    # the k-arm balance table sits in the balance section (not in the notes), with scipy's ANOVA p
    bal = _section(page, "balance")
    assert "std_diff[a]" in bal and "std_diff[b]" in bal and "std_diff" not in _section(page, "notes")
    f_age = stats.f_oneway(*[cov["age"].to_numpy()[arm == k] for k in ARMS]).pvalue
    f_x = stats.f_oneway(*[cov["x"].to_numpy()[arm == k] for k in ARMS]).pvalue
    assert f"<td class=\"num\">{f_age:.3f}</td>" in bal and f"<td class=\"num\">{f_x:.3f}</td>" in bal
    bonf = min(1.0, 2 * min(f_age, f_x))
    assert f"(Bonferroni p {bonf:.3f})" in head


def test_render_report_k_arm_holm_against_hand_computation():
    """Hand-made estimates with known p-values: the adjusted p-values are Holm's, the verdicts follow them."""
    ests = {}
    for arm, est, se in (("a", 0.5, 0.2), ("b", 0.45, 0.2), ("c", 0.1, 0.2)):
        ests[f"dim: {arm} - ctl"] = ne.Estimate.from_se(estimand=f"{arm} - ctl", estimate=est, std_error=se, n=100,
                                                         method="difference in means", variance="Neyman")
    p = np.array([e.p_value for e in ests.values()])
    adj = _holm(p)
    page = render_report(estimates=ests, arms=["ctl", "a", "b", "c"], alpha=0.05)
    head = _section(page, "headline")
    for arm, e, q in zip("abc", ests.values(), adj):
        assert f"arm {arm} vs ctl: {e.estimate:+.4g}</strong>" in head
        assert f"holm-adjusted over 3 comparisons p {_p(q)}" in head
        line = head.split(f"arm {arm} vs ctl")[1].split("<br>")[0]
        assert ("significant at 0.05 after adjustment" in line) == (q < 0.05)
    assert "3 comparisons share the control arm ctl" in head
    for w in TWO_ARM_WORDING:
        assert w not in page


def test_render_report_k_arm_refuses_two_arm_inputs_and_names_a_missing_comparison():
    e = ne.Estimate.from_se(estimand="a - ctl", estimate=0.5, std_error=0.2, n=100, method="dim", variance="Neyman")
    with pytest.raises(ne.InputError, match="two-arm readout"):
        render_report(estimates={"x": e}, arms=["ctl", "a"], outcomes={"y": np.zeros(3)})
    with pytest.raises(ne.InputError, match="not one of arms"):
        render_report(estimates={"x": e}, arms=["ctl", "a"], control="zz")
    page = render_report(estimates={"x": e}, arms=["ctl", "a", "b"])
    assert "no estimate of b - ctl was given" in page
    assert "No estimate of any arm" in render_report(estimates={"x": e}, arms=["ctl", "b"])


def test_render_report_k_arm_flips_a_comparison_given_the_other_way():
    """--comparisons all with a control that is not the first arm gives "control - b": shown as b vs control."""
    e = ne.Estimate.from_se(estimand="ctl - b", estimate=0.7, std_error=0.2, n=100, method="dim", variance="Neyman")
    head = _section(render_report(estimates={"dim: ctl - b": e}, arms=["b", "ctl"], control="ctl"), "headline")
    lo, hi = e.ci
    assert f"arm b vs ctl: {-0.7:+.4g}</strong> (95% CI [{-hi:.4g}, {-lo:.4g}]; p {_p(e.p_value)})" in head
    assert "sign flipped from ctl - b" in head
