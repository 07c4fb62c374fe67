"""Each input file is read once per command.

`netexp report` read the outcomes file twice (once for the estimates, once for the readout of every
outcome column): twice the parse time on a large file, and two reads that could disagree if the file
changed in between. The count here comes from the interpreter (every ``open`` of the file), compared
with the opens of one ``read_table`` of the same file measured in the same test.
"""

from __future__ import annotations

import builtins
import collections
import json
import os

import numpy as np
import pandas as pd
import pytest

from netexp import cli
from netexp._io_utils import read_table
from netexp.cli import main


@pytest.fixture
def files(tmp_path, capsys):
    a, y = tmp_path / "a.csv", tmp_path / "y.csv"
    assert main(["assign", "karate", "-o", str(a), "--design", "bernoulli", "--seed", "3"]) == 0
    z = pd.read_csv(a)["treatment"].to_numpy()
    rng = np.random.default_rng(0)
    pd.DataFrame({"node_id": range(34), "outcome": rng.normal(size=34) + z,
                  "guardrail": rng.normal(size=34)}).to_csv(y, index=False)
    capsys.readouterr()
    return tmp_path, a, y


@pytest.fixture
def opens(monkeypatch):
    """Counter of the files opened (by base name) while it is active."""
    count = collections.Counter()
    real = builtins.open

    def counting(file, *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)):
            count[os.path.basename(os.fsdecode(file))] += 1
        return real(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting)
    return count


def _one_read(opens, path) -> int:
    opens.clear()
    read_table(path, "outcomes file")
    k = opens[path.name]
    assert k >= 1  # the counter sees pandas' opens of the file (else the test below could not fail)
    opens.clear()
    return k


@pytest.mark.parametrize("extra", [[], ["--outcome-column", "outcome"]])
def test_report_reads_the_outcomes_once(files, opens, capsys, extra):
    tmp, a, y = files
    k = _one_read(opens, y)
    out = tmp / "r.html"
    rc = main(["report", "karate", "--assignment", str(a), "--outcomes", str(y), "-o", str(out), "--n-draws", "50",
               *extra])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert opens[y.name] == k, f"{y.name} opened {opens[y.name]} times; one read opens it {k} times"
    assert opens[a.name] == k  # the assignment too (same reader)
    if not extra:  # the readout still lists every numeric outcome column
        assert "guardrail" in out.read_text()


def test_analyze_reads_the_outcomes_once(files, opens, capsys):
    tmp, a, y = files
    k = _one_read(opens, y)
    rc = main(["analyze", "karate", "--assignment", str(a), "--outcomes", str(y), "--outcome-column", "outcome"])
    assert rc == 0, capsys.readouterr().err
    assert opens[y.name] == k and opens[a.name] == k


def test_tables_are_not_kept_after_the_command(files, capsys):
    tmp, a, y = files
    assert main(["analyze", "karate", "--assignment", str(a), "--outcomes", str(y), "--outcome-column",
                 "outcome"]) == 0
    assert not cli._TABLES
    assert main(["analyze", "karate", "--assignment", str(a), "--outcomes", str(tmp / "missing.csv")]) == 2
    assert not cli._TABLES


def test_a_changed_file_is_read_again_by_the_next_command(files, capsys):
    """The once-per-command cache must not serve the previous command's table (same path, new content)."""
    tmp, a, y = files
    assert main(["analyze", "karate", "--assignment", str(a), "--outcomes", str(y), "--outcome-column", "outcome",
                 "--estimators", "naive", "--json"]) == 0
    first = capsys.readouterr().out
    df = pd.read_csv(y)
    df["outcome"] = df["outcome"] * 2
    df.to_csv(y, index=False)
    assert main(["analyze", "karate", "--assignment", str(a), "--outcomes", str(y), "--outcome-column", "outcome",
                 "--estimators", "naive", "--json"]) == 0
    second = capsys.readouterr().out
    e1, e2 = (json.loads(t)["estimates"][0]["estimate"] for t in (first, second))
    assert e2 == pytest.approx(2 * e1, rel=1e-12)



_AUDIT = {"on": False, "count": collections.Counter()}


def _audit(event, args):
    if _AUDIT["on"] and event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        _AUDIT["count"][os.path.basename(os.fsdecode(args[0]))] += 1


@pytest.fixture
def all_opens():
    """Every open of a file by name (the interpreter's audit event: also pathlib's and io's opens)."""
    if not _AUDIT.get("hooked"):
        import sys

        sys.addaudithook(_audit)
        _AUDIT["hooked"] = True
    _AUDIT["count"].clear()
    _AUDIT["on"] = True
    yield _AUDIT["count"]
    _AUDIT["on"] = False


def test_analyze_checks_the_sidecar_and_its_inputs_once(tmp_path, all_opens, capsys):
    """The clusters file a sidecar names is hashed once: `design_for_analysis` takes the declaration `_experiment`
    already checked (it checked the sidecar again, hashing the clusters file a second time; on a large clusters
    file that is a second full read)."""
    from netexp._assign import file_sha256, sidecar_spec

    c, a, y = tmp_path / "c.csv", tmp_path / "a.csv", tmp_path / "y.csv"
    assert main(["cluster", "karate", "-o", str(c), "--method", "leiden", "--seed", "1"]) == 0
    assert main(["assign", "karate", "-o", str(a), "--design", "cluster", "--clusters", str(c), "--seed", "3"]) == 0
    z = pd.read_csv(a)["treatment"].to_numpy()
    pd.DataFrame({"node_id": range(34), "outcome": np.random.default_rng(0).normal(size=34) + z}).to_csv(y, index=False)
    side = next(p for p in tmp_path.iterdir() if p.name.startswith("a.csv") and p.name.endswith(".json"))
    capsys.readouterr()
    # what one check of the sidecar opens (the sidecar, and the clusters file for its sha256)
    all_opens.clear()
    sidecar_spec(a)
    one_side, one_hash = all_opens[side.name], all_opens[c.name]
    assert one_side >= 1 and one_hash >= 1  # the counter sees these opens (else the asserts below could not fail)
    all_opens.clear()
    file_sha256(c)
    assert all_opens[c.name] == one_hash
    all_opens.clear()
    rc = main(["analyze", "karate", "--assignment", str(a), "--outcomes", str(y), "--estimators", "naive"])
    assert rc == 0, capsys.readouterr().err
    assert all_opens[side.name] >= one_side
    parse = all_opens[c.name] - one_hash   # the rest: building the design from the clusters file
    all_opens.clear()
    from netexp._assign import build_design

    import netexp as ne
    build_design(sidecar_spec(a), ne.load_graph("karate"))
    assert parse == all_opens[c.name] - one_hash, "the clusters file was hashed more than once"
