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
    assert rc == 2 and "not nodes of the graph" in err and "99" in err


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
