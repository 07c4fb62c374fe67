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
