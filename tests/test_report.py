"""netexp._report: the HTML report is one self-contained file with every section, embedded PNGs and
no external asset, parsed with the standard library's html.parser and rendered in headless Chromium
(Debian's ``chromium``; the rendering test skips with a reason where it is absent)."""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
from html.parser import HTMLParser
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

import netexp as ne  # noqa: E402
from netexp._report import SECTIONS, render_report, write_report  # noqa: E402

CARD = """# Design card
Cluster-randomized test of the **new feed** on `karate`.

| field | value |
|---|---|
| clusters | leiden, resolution 1 |
| treated share | 0.5 |

- primary estimand: global effect
- alpha: 0.05
"""


class _Doc(HTMLParser):
    """Sections, images, links and forbidden tags of a document."""

    def __init__(self):
        super().__init__()
        self.sections, self.imgs, self.hrefs, self.tags = [], [], [], []
        self.text = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "section":
            self.sections.append(a.get("id"))
        if tag == "img":
            self.imgs.append(a.get("src", ""))
        if "href" in a:
            self.hrefs.append(a["href"])
        if tag != "img" and "src" in a:
            self.hrefs.append(a["src"])

    def handle_data(self, data):
        self.text.append(data)


def _parse(doc: str) -> _Doc:
    p = _Doc()
    p.feed(doc)
    p.close()
    return p


@pytest.fixture(scope="module")
def inputs():
    g = ne.load_graph("karate")
    cl = ne.leiden(g, rng=0)
    design = ne.ClusterRandomized(cl, p=0.5)
    z = design.sample(rng=1)
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"age": rng.normal(40, 10, g.n_nodes), "plan": rng.choice(["free", "pro"], g.n_nodes)})
    y = rng.normal(size=g.n_nodes) + z
    est = ne.EstimateTable([ne.difference_in_means(y, z), ne.cluster_difference_in_means(y, z, cl.labels)])
    rt = SimpleNamespace(null_distribution=rng.normal(size=500), observed=1.8, p_value=0.07,
                         alternative="two-sided", statistic="difference in means")
    return dict(title="Feed test <pilot>", design_card=CARD, graph=g, clustering=cl, assignment=z,
                balance=ne.balance_table(X, z, design=design, n_draws=200, rng=0), srm=ne.srm_test(z, design=design),
                estimates=est, truth=1.0, randomization_test=rt, notes=["Seeded run.", "Outcome simulated."])


@pytest.fixture(scope="module")
def full(inputs):
    return render_report(**inputs)


def test_every_section_in_order_with_its_title(full):
    doc = _parse(full)
    assert doc.sections == list(SECTIONS)
    text = " ".join(doc.text)
    for title in SECTIONS.values():
        assert title in text
    assert "Feed test &lt;pilot&gt;" in full  # title escaped
    assert "not provided" not in text


def test_images_are_embedded_pngs(full):
    doc = _parse(full)
    # cluster sizes, network, balance, forest, randomization test
    assert len(doc.imgs) == 5
    for src in doc.imgs:
        assert src.startswith("data:image/png;base64,")
        im = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        assert im.format == "PNG" and im.size[0] >= 400
        assert len(np.unique(np.asarray(im.convert("L")))) > 2  # not blank


def test_self_contained_no_script_no_external_asset(full):
    doc = _parse(full)
    assert not {"script", "link", "iframe", "object", "embed"} & set(doc.tags)
    assert all(h.startswith("#") for h in doc.hrefs)  # only in-page anchors
    assert "http://" not in full and "https://" not in full and "url(" not in full


def test_section_contents(full, inputs):
    # design card Markdown: heading, table, list
    assert "<th>field</th>" in full and "<td>treated share</td>" in full
    assert "<strong>new feed</strong>" in full and "<code>karate</code>" in full
    assert "<li>alpha: 0.05</li>" in full
    # graph info, clustering summary, assignment counts
    z = inputs["assignment"]
    assert f"{int(z.sum())} treated and {int((~z.astype(bool)).sum())} control units" in full
    assert "<th>modularity</th>" in full and "<th>n_edges</th><td>78</td>" in full
    # balance verdict, SRM badge, estimates table with truth, randomization p-value
    assert inputs["balance"].verdict.split(";")[0] in full
    assert "no mismatch" in full
    est = inputs["estimates"]
    for e in est:
        assert f"{e.estimate:.4g}" in full
    assert "<th>truth</th>" in full
    assert "p = 0.07" in full
    assert "<li>Seeded run.</li>" in full


def test_missing_inputs_say_not_provided_and_render_no_image():
    doc = render_report()
    p = _parse(doc)
    assert p.sections == list(SECTIONS)
    assert p.imgs == []
    for what in ("Design card", "Graph", "Covariate balance", "Sample ratio test", "Estimates",
                 "Randomization test", "Notes"):
        assert f"{what}: not provided." in doc


def test_design_card_duck_types():
    md = SimpleNamespace(to_markdown=lambda: "| a | b |\n|---|---|\n| 1 | x \\| y |")
    assert "<th>a</th>" in render_report(design_card=md) and "<td>x | y</td>" in render_report(design_card=md)
    dct = SimpleNamespace(to_dict=lambda: {"design": "Bernoulli", "p": 0.3})
    assert "<th>design</th><td>Bernoulli</td>" in render_report(design_card=dct)
    assert "<th>n_units</th><td>1,000</td>" in render_report(design_card={"n_units": 1000})


def test_same_inputs_give_the_same_document(inputs, full):
    assert render_report(**inputs) == full


def test_a_plot_that_fails_leaves_a_note_and_a_warning():
    bad = SimpleNamespace(null_distribution=np.full(5, np.nan), observed=1.0, p_value=0.5, alternative="greater")
    with pytest.warns(ne.NetexpWarning, match="randomization test could not be drawn"):
        doc = render_report(randomization_test=bad)
    assert 'class="warn"' in doc and "p = 0.5" in doc


def test_write_report_refuses_to_overwrite(tmp_path):
    path = tmp_path / "r.html"
    out = write_report(path, notes="first")
    assert out == path and "first" in path.read_text(encoding="utf-8")
    with pytest.raises(ne.OutputExistsError, match="overwrite=True"):
        write_report(path, notes="second")
    write_report(path, notes="second", overwrite=True)
    assert "second" in path.read_text(encoding="utf-8")
    with pytest.raises(ne.InputError, match="does not exist"):
        write_report(tmp_path / "missing" / "r.html")


def test_assignment_is_checked(inputs):
    with pytest.raises(ne.InputError, match="assignment"):
        render_report(graph=inputs["graph"], assignment=np.zeros(5))


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="needs Debian's chromium for headless rendering (apt-get install -y chromium)")
def test_renders_in_headless_chromium(inputs, tmp_path):
    path = write_report(tmp_path / "report.html", **inputs)
    shot = tmp_path / "shot.png"
    # one launch writes the screenshot and prints the DOM after layout
    run = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                          f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--dump-dom",
                          "--window-size=1200,4000", path.as_uri()],
                         capture_output=True, timeout=120, text=True, check=False)
    assert shot.exists(), f"chromium wrote no screenshot: {run.stderr[-2000:]}"
    im = np.asarray(Image.open(shot).convert("RGB"))
    assert im.shape[:2] == (4000, 1200)
    assert len(np.unique(im.reshape(-1, 3), axis=0)) > 50  # text, tables and figures, not one colour
    dom = run.stdout
    for sid, title in SECTIONS.items():
        assert f'id="{sid}"' in dom and title in dom
    assert dom.count("data:image/png;base64,") == 5


# ----------------------------------------------------------------------------- the readout headline
@pytest.fixture(scope="module")
def readout():
    g = ne.load_graph("social")
    cl = ne.leiden(g, rng=0)
    design = ne.ClusterRandomized(cl, p=0.5)
    z = design.sample(rng=3)
    rng = np.random.default_rng(1)
    clicks = 1.0 + 0.3 * z + rng.normal(0, 0.5, g.n_nodes)
    latency = 2.0 + 0.4 * z + rng.normal(0, 0.2, g.n_nodes)        # worse when higher
    churn = 0.1 + rng.normal(0, 0.05, g.n_nodes)
    clicks[::97] = np.nan                                         # missing outcomes are left out
    card = ne.DesignCard.from_objects(design=design, graph=g, clustering=cl, business_decision="Ship the new feed?",
                                      primary_outcome="clicks", guardrails=["latency", "churn"])
    outcomes = {"clicks": clicks, "latency": {"y": latency, "higher_is_better": False}, "churn": churn}
    return dict(g=g, cl=cl, design=design, z=z, card=card, outcomes=outcomes,
                ys={"clicks": clicks, "latency": latency, "churn": churn})


class _Table(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.rows[-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def _metric_table(doc: str) -> pd.DataFrame:
    start = doc.index('<table class="metrics">')
    t = _Table()
    t.feed(doc[start:doc.index("</table>", start) + 8])
    return pd.DataFrame(t.rows[1:], columns=t.rows[0])


def test_headline_first_with_question_badges_and_verdict(readout, tmp_path):
    r = readout
    _, js = r["card"].write(tmp_path / "card")
    doc = render_report(card=js, outcomes=r["outcomes"], assignment=r["z"], clustering=r["cl"],
                        srm=ne.srm_test(r["z"], design=r["design"], clusters=r["design"].labels))
    p = _parse(doc)
    assert p.sections[0] == "headline" and p.sections[1] == "design"
    head = doc[doc.index('id="headline"'):doc.index('id="design"')]
    assert "Ship the new feed?" in head and "SRM ok" in head and "balance: not checked" in head
    assert "clicks: treatment raised it" in head and "significantly worse: latency" in head
    assert "<img" not in head


def test_metric_rows_against_independent_computation(readout):
    r = readout
    z, labels = r["z"], np.asarray(r["cl"].labels)
    doc = render_report(card=r["card"], outcomes=r["outcomes"], assignment=z, clustering=r["cl"])
    tab = _metric_table(doc).set_index("metric")
    assert list(tab.index) == ["clicks", "latency", "churn"]
    assert list(tab["role"]) == ["primary", "guardrail", "guardrail"]
    smm = pytest.importorskip("statsmodels.api")
    from statsmodels.stats.multitest import multipletests

    pvals = {}
    for name, y in r["ys"].items():
        ok = np.isfinite(y)
        mc, mt = y[ok & ~z].mean(), y[ok & z].mean()
        assert f"{mc:.4g} (n = {int((ok & ~z).sum()):,}" in tab.loc[name, "control"]
        assert f"{mt:.4g} (n = {int((ok & z).sum()):,}" in tab.loc[name, "treatment"]
        # the effect: OLS of y on treatment with cluster-robust errors (CR2 in netexp; the estimate is OLS's)
        fit = smm.OLS(y[ok], smm.add_constant(z[ok].astype(float))).fit(cov_type="cluster",
                                                                         cov_kwds={"groups": labels[ok]})
        eff = fit.params[1]
        assert tab.loc[name, "effect [95% CI]"].startswith(f"{eff:+.4g}")
        assert tab.loc[name, "relative lift [95% CI]"].startswith(f"{eff / mc:+.1%}")
        e = ne.cluster_ols(y[ok], z[ok], labels[ok])
        pvals[name] = e.p_value
    # Holm over the two guardrails, by statsmodels
    adj = multipletests([pvals["latency"], pvals["churn"]], method="holm")[1]
    for name, a in zip(("latency", "churn"), adj):
        want = "< 0.001" if a < 0.001 else f"{a:.3f}"
        assert str(tab.loc[name, "adjusted p"]) == want
    assert tab.loc["clicks", "adjusted p"] == "(one test)"


def test_headline_from_estimates_picks_the_cluster_robust_global_effect(readout):
    r = readout
    y = np.nan_to_num(r["ys"]["clicks"])
    ests = {"naive": ne.difference_in_means(y, r["z"], estimand="global effect"),
            "CR2 clustered": ne.cluster_ols(y, r["z"], r["cl"].labels)}
    doc = render_report(estimates=ests, assignment=r["z"], clustering=r["cl"])
    head = doc[doc.index('id="headline"'):doc.index('id="design"')]
    assert "Headline estimate: CR2 clustered, the cluster-robust estimate" in head
    assert f"{ests['CR2 clustered'].estimate:+.4g}" in head
    assert "Question: not stated" in head
    doc = render_report(estimates=ests, primary="naive", assignment=r["z"])
    assert "Headline estimate: naive, chosen as the primary" in doc
    with pytest.raises(ne.InputError, match="not a key"):
        render_report(estimates=ests, primary="nope")


def test_p_values_never_print_as_zero_or_exponent(readout):
    import re

    r = readout
    y = np.nan_to_num(r["ys"]["clicks"])
    doc = render_report(outcomes={"clicks": r["ys"]["clicks"]}, assignment=r["z"], clustering=r["cl"],
                        estimates={"cr2": ne.cluster_ols(y, r["z"], r["cl"].labels),
                                   "dim": ne.difference_in_means(y, r["z"])})
    body = doc[doc.index("<main>"):]
    assert not re.search(r"\d(\.\d+)?e-\d", body)
    assert "&lt; 0.001" in body


def test_bad_card_and_outcome_inputs_are_clear(readout, tmp_path):
    r = readout
    with pytest.raises(ne.InputError, match="give the design card once"):
        render_report(card=r["card"], design_card="x")
    with pytest.raises(ne.InputError, match="not found"):
        render_report(card=tmp_path / "nope.json")
    with pytest.raises(ne.InputError, match="one outcome per unit"):
        render_report(outcomes={"clicks": [1.0, 2.0]}, assignment=r["z"])
    with pytest.raises(ne.InputError, match="role"):
        render_report(outcomes={"clicks": {"y": r["ys"]["clicks"], "role": "main"}}, assignment=r["z"])


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="needs Debian's chromium for headless rendering (apt-get install -y chromium)")
def test_answer_is_on_the_first_screen_at_1280px(readout, tmp_path):
    r = readout
    path = write_report(tmp_path / "readout.html", card=r["card"], outcomes=r["outcomes"], assignment=r["z"],
                        clustering=r["cl"], graph=r["g"], srm=ne.srm_test(r["z"], design=r["design"],
                                                                          clusters=r["design"].labels))
    shot = tmp_path / "first-screen.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1280,800",
                    path.as_uri()], capture_output=True, timeout=120, text=True, check=False)
    im = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert im.shape[:2] == (800, 1280)

    def has(rgb, tol=6):
        return bool((np.abs(im - np.array(rgb)).max(axis=2) <= tol).sum() > 200)

    assert has((0, 158, 115))          # the green SRM badge
    assert has((244, 248, 251))        # the verdict box
    assert has((227, 244, 236)) and has((251, 230, 220))   # a better (clicks) and a worse (latency) cell
