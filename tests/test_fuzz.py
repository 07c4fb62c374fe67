"""Fuzzing the command line and the Python API with generated bad input.

Every generated case runs ``netexp.cli.main([...])`` in-process (stdout / stderr captured, an
alarm against hangs) or one public function, and is classified:

* ``ok``      exit 0 (or the documented exit 1 of ``verify`` / ``srm``), and the result matches the
              truth when the generator knows it;
* ``clean``   exit 2 with a one-line ``netexp <command>: error: ...`` (or argparse's usage error);
* ``traceback`` an exception escaped ``main`` or it printed an internal error;
* ``hang``    the alarm fired;
* ``wrong``   a success where the generator knows the input is invalid, or a result that differs
              from the independently computed truth (node and edge counts from the written
              pairs, the number of outcome rows, a secret file's content in the output).

The default run is a seeded slice (``N_DEFAULT`` cases); the full corpus (>= 10,000 inputs) is
behind ``@pytest.mark.slow``. ``python tests/test_fuzz.py N SEED`` prints the figures as JSON.

Figures when this fuzzer was written (in-process, 2 shared cores):

=====================================  =====  =====  =======  =========  ====  =====
corpus                                 ok     clean  refused  traceback  hang  wrong
=====================================  =====  =====  =======  =========  ====  =====
1,000 CLI inputs, seed 12, before       244    434     62       152        8    100
1,000 CLI inputs, seed 12, after        318    682      0         0        0      0
10,000 CLI inputs, seed 1, after       2983   7017      0         0        0      0
=====================================  =====  =====  =======  =========  ====  =====

"before" is the code this fuzzer was written against, with a 30 s hang budget (its hangs: huge
``--reps`` / ``--n-draws``, ``max_tries: 10**12`` sidecars, one slow ``run``); "refused" there
is mostly ``-`` (stdin) not being supported. Python API, 28 listed + 2,000 generated calls:
before 566 silently wrong and 1 obscure error, after 0 and 0.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import signal
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

N_DEFAULT = 150
CASE_TIMEOUT = int(os.environ.get("NETEXP_FUZZ_TIMEOUT", "20"))  # seconds before a case counts as a hang
SECRET = "SECRET-MARKER-7f3a9"


class _Hang(BaseException):
    pass


def _alarm(signum, frame):
    raise _Hang()


# ---------------------------------------------------------------- running one CLI case
def run_cli(argv, stdin: bytes | None = None, timeout: int = CASE_TIMEOUT):
    """``(status, rc, stdout, stderr)`` of ``netexp.cli.main(argv)`` run in-process."""
    from netexp.cli import main

    out, err = io.StringIO(), io.StringIO()
    old_stdin, old_show = sys.stdin, warnings.showwarning
    if stdin is not None:
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    old_handler = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(timeout)
    rc = None
    status = None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
            warnings.simplefilter("default")
            try:
                rc = main([str(a) for a in argv])
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except _Hang:
        status = "hang"
    except Exception as exc:  # noqa: BLE001 - an escaped exception is exactly what we count
        status = "traceback"
        err.write(f"{type(exc).__name__}: {exc}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old_handler)
        sys.stdin, warnings.showwarning = old_stdin, old_show
    o, e = out.getvalue(), err.getvalue()
    if status is None:
        errors = [ln for ln in e.splitlines() if ": error: " in ln or "internal error" in ln]
        if "internal error" in e or "Traceback" in e:
            status = "traceback"
        elif rc == 0 or (rc == 1 and argv and argv[0] in ("verify", "srm")):
            status = "ok"
        elif rc == 2 and len(errors) == 1:
            status = "clean"
        else:
            status = "traceback"
    return status, rc, o, e


# ---------------------------------------------------------------- generators
def _pairs(rng, style):
    n = int(rng.integers(3, 25))
    m = int(rng.integers(2, 40))
    a = rng.integers(0, n, m)
    b = rng.integers(0, n, m)
    if style == "int":
        name = str
    elif style == "negative":
        def name(i):
            return str(int(i) - n // 2)
    elif style == "padded":
        def name(i):
            return f"{int(i):03d}"
    elif style == "mixed-padded":  # 7 and 007 both present: distinct nodes
        def name(i):
            return f"{int(i):03d}" if i % 3 == 0 else str(i)
    elif style == "huge":
        def name(i):
            return str(2 ** 63 + int(i) * 977)
    elif style == "missing-words":
        words = ["nan", "NA", "inf", "-inf", "None", "null"]

        def name(i):
            return words[int(i)] if i < len(words) else str(i)
    elif style == "text":
        def name(i):
            return f"user{chr(97 + int(i) % 26)}{int(i)}"
    else:  # unicode
        def name(i):
            return f"é{int(i)}ü"
    return [(name(x), name(y)) for x, y in zip(a, b)]


def _truth(pairs):
    nodes = {x for p in pairs for x in p}
    edges = {frozenset(p) for p in pairs if p[0] != p[1]}
    return len(nodes), len(edges)


def gen_edgelist_case(rng, folder: Path, k: int):
    """An edge-list file (or stdin) and ``info --json``; the truth when the file is valid."""
    style = str(rng.choice(["int", "int", "negative", "padded", "mixed-padded", "huge", "missing-words", "text",
                            "unicode"]))
    pairs = _pairs(rng, style)
    delim = str(rng.choice([" ", "\t", ",", "  "]))
    header = str(rng.choice(["", "", "", "source{d}target", "u{d}v", "from{d}to", "user_id{d}friend_id"]))
    lines = [f"{a}{delim}{b}" for a, b in pairs]
    if rng.random() < 0.3:
        lines = [ln + f"{delim}{rng.random():.3f}" for ln in lines]  # weight column
        if header:
            header += "{d}weight"
    if rng.random() < 0.3:
        lines.insert(int(rng.integers(0, len(lines) + 1)), "# a comment")
    if rng.random() < 0.2:
        lines.insert(int(rng.integers(1, len(lines) + 1)), "")
    if header:
        lines.insert(0, header.format(d=delim))
        if rng.random() < 0.3:  # concatenated files: the header repeated inside
            lines.insert(int(rng.integers(2, len(lines) + 1)), header.format(d=delim))
    eol = "\r\n" if rng.random() < 0.15 else "\n"
    text = eol.join(lines) + eol
    data = text.encode("utf-8")
    if rng.random() < 0.2:
        data = b"\xef\xbb\xbf" + data
    expect = ("graph",) + _truth(pairs)
    corrupt = str(rng.choice(["none"] * 6 + ["missing-endpoint", "latin1", "truncated-gz", "fake-gz", "empty",
                                             "comments-only", "garbage", "parquet-empty", "parquet-garbage"]))
    name = f"e{k}.txt"
    if corrupt == "missing-endpoint":
        i = int(rng.integers(0, len(pairs)))
        bad = [f"{a}{delim}{b}" for a, b in pairs]
        bad[i] = pairs[i][0] + (delim if delim != " " and delim != "  " else "")
        data = ("\n".join(bad) + "\n").encode()
        expect = "error"
    elif corrupt == "latin1":
        data = data.replace(pairs[0][0].encode(), pairs[0][0].encode() + b"\xe9", 1)
        expect = "error"
    elif corrupt == "truncated-gz":
        z = gzip.compress(data)
        data = z[: max(11, len(z) // 2)]
        name += ".gz"
        expect = "error"
    elif corrupt == "fake-gz":
        name += ".gz"
        expect = "error"
    elif corrupt == "empty":
        data = b""
        expect = "error"
    elif corrupt == "comments-only":
        data = b"# nothing here\n# really\n"
        expect = "error"
    elif corrupt == "garbage":
        data = bytes(rng.integers(0, 256, int(rng.integers(1, 400)), dtype=np.uint8))
        expect = None
    elif corrupt == "parquet-empty":
        data, name, expect = b"", f"e{k}.parquet", "error"
    elif corrupt == "parquet-garbage":
        data, name, expect = b"PAR1" + bytes(rng.integers(0, 256, 50, dtype=np.uint8)), f"e{k}.parquet", "error"
    elif rng.random() < 0.2:
        data = gzip.compress(data)
        name += ".gz" if rng.random() < 0.7 else ""
    elif rng.random() < 0.1 and style in ("int", "text"):
        df = pd.DataFrame({"source": [a for a, _ in pairs], "target": [b for _, b in pairs]})
        if style == "int":
            df = df.astype(np.int64)
        name = f"e{k}.parquet"
        df.to_parquet(folder / name)
        data = None
    if data is not None and rng.random() < 0.15 and not name.endswith((".parquet", ".gz")):
        return {"argv": ["info", "-", "--json"], "stdin": data, "expect": expect, "kind": f"edges/{style}/{corrupt}"}
    if data is not None:
        (folder / name).write_bytes(data)
    return {"argv": ["info", str(folder / name), "--json"], "expect": expect, "kind": f"edges/{style}/{corrupt}"}


class Experiment:
    """A small valid experiment on disk: graph, clusters, assignment + sidecar, outcomes, covariates."""

    def __init__(self, folder: Path):
        import netexp as ne
        from netexp.cli import main

        self.folder = folder
        g = ne.load_graph("karate")
        self.n = g.n_nodes
        self.graph = folder / "g.txt"
        u, v = g.edges()
        self.graph.write_text("".join(f"{a} {b}\n" for a, b in zip(g.node_ids[u], g.node_ids[v])))
        self.ids = list(g.node_ids)
        self.clusters = folder / "c.csv"
        pd.DataFrame({"node_id": self.ids, "cluster": [i % 5 for i in range(self.n)]}).to_csv(self.clusters,
                                                                                           index=False)
        self.covariates = folder / "x.csv"
        rng = np.random.default_rng(0)
        pd.DataFrame({"node_id": self.ids, "age": rng.normal(40, 10, self.n).round(1),
                      "region": rng.choice(["NA", "EU"], self.n)}).to_csv(self.covariates, index=False)
        self.assignment = folder / "a.csv"
        with contextlib.redirect_stdout(io.StringIO()):
            rc = main(["assign", str(self.graph), "-o", str(self.assignment), "--design", "complete",
                       "--n-treated", "17", "--seed", "3"])
        assert rc == 0
        self.sidecar = folder / "a.csv.design.json"
        self.record = json.loads(self.sidecar.read_text())
        z = pd.read_csv(self.assignment)["treatment"].to_numpy()
        self.outcomes = folder / "y.csv"
        pd.DataFrame({"node_id": self.ids, "outcome": (rng.normal(size=self.n) + 0.5 * z).round(4)}).to_csv(
            self.outcomes, index=False)
        self.fifo = folder / "fifo"  # nobody ever writes to it: reading must not hang
        os.mkfifo(self.fifo)
        self.secret = folder / "private.txt"
        self.secret.write_text(f"{SECRET} line one\n{SECRET} line two\n")


def _copy_assignment(exp: Experiment, folder: Path, k: int, sidecar: dict | bytes | None, table: bytes | None = None):
    a = folder / f"a{k}.csv"
    a.write_bytes(table if table is not None else exp.assignment.read_bytes())
    if sidecar is not None:
        (folder / f"a{k}.csv.design.json").write_bytes(sidecar if isinstance(sidecar, bytes)
                                                       else json.dumps(sidecar).encode())
    return a


def gen_sidecar_case(rng, exp: Experiment, folder: Path, k: int):
    rec = json.loads(json.dumps(exp.record))
    spec = rec["spec"]
    how = str(rng.choice(["broken-json", "not-object", "spec-list", "wrong-type", "drop-key", "huge-max-tries",
                          "secret-graph", "secret-clusters", "n-treated", "unknown-design", "nested", "null-graph",
                          "big-number", "valid"]))
    expect = None
    side: dict | bytes = rec
    if how == "broken-json":
        raw = json.dumps(rec).encode()
        side = raw[: int(rng.integers(0, len(raw)))]
    elif how == "not-object":
        side = json.dumps([[1, 2], "spec", 3, None][int(rng.integers(0, 4))]).encode()
    elif how == "spec-list":
        rec["spec"] = [spec]
    elif how == "wrong-type":
        key = str(rng.choice(["p", "n_treated", "seed", "design", "max_tries", "block_size", "extra", "level"]))
        values = ["abc", "5", 1.5, -3, True, {"x": 1}, [1, [2]], 1e308, 10 ** 40]
        spec[key] = values[int(rng.integers(0, len(values)))]
    elif how == "drop-key":
        for key in rng.choice(list(rec), size=int(rng.integers(1, 3)), replace=False):
            rec.pop(str(key), None)
    elif how == "huge-max-tries":
        spec.update({"design": "rerandomized", "covariates": str(exp.covariates), "balance_on": ["age"],
                     "max_tries": 10 ** 12, "threshold": 1e-12})
        rec["inputs"] = {"covariates": {"path": str(exp.covariates), "abs_path": str(exp.covariates),
                                        "sha256": hashlib.sha256(exp.covariates.read_bytes()).hexdigest()}}
    elif how == "secret-graph":
        rec["graph"] = {"path": str(exp.secret), "abs_path": str(exp.secret), "sha256": "0" * 64}
    elif how == "secret-clusters":
        spec.update({"design": "cluster", "clusters": str(exp.secret)})
    elif how == "n-treated":
        rec["n_treated"] = int(rec["n_treated"]) + int(rng.choice([-3, -1, 1, 5]))
        expect = "not-verified"
    elif how == "unknown-design":
        spec["design"] = "telepathy"
    elif how == "nested":
        side = ("[" * 100_000 + "]" * 100_000).encode()
    elif how == "null-graph":
        rec["graph"] = None
    elif how == "big-number":
        spec["seed"] = 10 ** 30
    a = _copy_assignment(exp, folder, k, side)
    cmd = str(rng.choice(["verify", "analyze", "test", "card", "srm", "balance", "report"]))
    if cmd == "verify":
        argv = ["verify", a]
    elif cmd == "analyze":
        argv = ["analyze", exp.graph, "--assignment", a, "--outcomes", exp.outcomes, "--json"]
    elif cmd == "test":
        argv = ["test", exp.graph, "--assignment", a, "--outcomes", exp.outcomes, "--n-draws", "50"]
    elif cmd == "card":
        argv = ["card", "--assignment", a, "--graph", exp.graph, "-o", folder / f"card{k}"]
    elif cmd == "srm":
        argv = ["srm", exp.graph, "--assignment", a]
    elif cmd == "balance":
        argv = ["balance", exp.graph, "--assignment", a, "--covariates", exp.covariates, "--columns", "age",
                "--draws", "50"]
    else:
        argv = ["report", exp.graph, "--assignment", a, "--outcomes", exp.outcomes, "-o", folder / f"r{k}.html",
                "--n-draws", "50"]
    if expect == "not-verified" and cmd != "verify":
        expect = None
    return {"argv": argv, "expect": expect, "kind": f"sidecar/{how}/{cmd}", "secret": True}


def gen_table_case(rng, exp: Experiment, folder: Path, k: int):
    """Assignment and outcome tables with odd encodings, headers, values; some known truths."""
    how = str(rng.choice(["outcomes-headerless", "outcomes-gz", "outcomes-latin1", "outcomes-empty",
                          "outcomes-parquet-empty", "outcomes-nan", "impossible-count", "no-treatment-column",
                          "treatment-2", "duplicate-ids", "padded-ids", "assignment-gz-named-csv"]))
    a = _copy_assignment(exp, folder, k, exp.sidecar.read_bytes())
    y = folder / f"y{k}.csv"
    y.write_bytes(exp.outcomes.read_bytes())
    expect = None
    df_y = pd.read_csv(exp.outcomes)
    df_a = pd.read_csv(exp.assignment)
    if how == "outcomes-headerless":
        y.write_text(df_y.to_csv(index=False, header=False))
        expect = ("n_outcomes", exp.n)
    elif how == "outcomes-gz":
        y.write_bytes(gzip.compress(exp.outcomes.read_bytes()))
        expect = ("n_outcomes", exp.n)
    elif how == "outcomes-latin1":
        y.write_bytes(b"node_id,outcome\n\xe9\xe9,1\n")
        expect = "error"
    elif how == "outcomes-empty":
        y.write_bytes(b"")
        expect = "error"
    elif how == "outcomes-parquet-empty":
        y = folder / f"y{k}.parquet"
        y.write_bytes(b"")
        expect = "error"
    elif how == "outcomes-nan":
        df_y.loc[int(rng.integers(0, exp.n)), "outcome"] = np.nan
        df_y.to_csv(y, index=False)
        expect = "error"
    elif how == "impossible-count":  # the sidecar says Complete(34, 17): 20 treated cannot happen
        t = df_a["treatment"].to_numpy().copy()
        zeros = np.flatnonzero(t == 0)
        t[rng.choice(zeros, size=int(rng.integers(1, 5)), replace=False)] = 1
        df_a["treatment"] = t
        df_a.to_csv(a, index=False)
        expect = "error"
    elif how == "no-treatment-column":
        df_a.rename(columns={"treatment": "arm_flag"}).assign(extra=1).to_csv(a, index=False)
        (folder / f"a{k}.csv.design.json").unlink()
        expect = "error"
    elif how == "treatment-2":
        df_a.loc[0, "treatment"] = 2
        df_a.to_csv(a, index=False)
        expect = "error"
    elif how == "duplicate-ids":
        pd.concat([df_a, df_a.iloc[:1]]).to_csv(a, index=False)
        expect = "error"
    elif how == "padded-ids":  # "007" is not node 7: the ids do not match the graph
        df_y["node_id"] = [f"{int(i):03d}" for i in df_y["node_id"]]
        df_y.to_csv(y, index=False)
        expect = "error"
    else:
        a.write_bytes(gzip.compress(exp.assignment.read_bytes()))
        (folder / f"a{k}.csv.design.json").unlink()
        expect = None
    cmd = str(rng.choice(["analyze", "test", "verify"] if how.startswith(("impossible", "no-treatment",
                                                                              "assignment")) else ["analyze"]))
    if cmd == "analyze":
        argv = ["analyze", exp.graph, "--assignment", a, "--outcomes", y, "--json", "--estimators", "naive"]
    elif cmd == "test":
        argv = ["test", exp.graph, "--assignment", a, "--outcomes", y, "--n-draws", "50"]
    else:
        argv = ["verify", a]
        if how == "impossible-count":
            expect = "not-verified"
    if isinstance(expect, tuple) and cmd != "analyze":
        expect = None
    return {"argv": argv, "expect": expect, "kind": f"table/{how}/{cmd}"}


_BAD_VALUES = ["-1", "0", "nan", "inf", "-inf", "1e308", "10000000000000", "abc", "", "1.5", "99999999999999999999"]


def gen_flag_case(rng, exp: Experiment, folder: Path, k: int):
    """Bad flag values on every subcommand; known-impossible work sizes must be refused."""
    base = {
        "run": ["run", "--graph", exp.graph, "--reps", "2"],
        "info": ["info", exp.graph],
        "cluster": ["cluster", exp.graph, "-o", folder / f"c{k}.csv"],
        "assign": ["assign", exp.graph, "-o", folder / f"as{k}.csv", "--design", "complete"],
        "analyze": ["analyze", exp.graph, "--assignment", exp.assignment, "--outcomes", exp.outcomes,
                    "--estimators", "naive"],
        "test": ["test", exp.graph, "--assignment", exp.assignment, "--outcomes", exp.outcomes, "--n-draws", "50"],
        "diagnose": ["diagnose", exp.graph, "--designs", "complete", "--n-sims", "3", "--estimators",
                     "difference-in-means"],
        "power": ["power", "--n", "100", "--effect", "0.2"],
        "balance": ["balance", exp.graph, "--assignment", exp.assignment, "--covariates", exp.covariates,
                    "--draws", "50"],
        "srm": ["srm", exp.graph, "--assignment", exp.assignment],
    }
    flags = {
        "run": ["--reps", "--seed", "--p", "--noise-sd", "--target-clusters", "--resolution"],
        "info": [],
        "cluster": ["--resolution", "--target-clusters", "--max-size", "--min-size", "--p", "--seed"],
        "assign": ["--p", "--n-treated", "--seed", "--block-size", "--max-tries"],
        "analyze": ["--hops", "--q", "--confidence-level", "--min-probability", "--n-draws", "--seed"],
        "test": ["--n-draws", "--focal", "--confidence-level", "--seed"],
        "diagnose": ["--n-sims", "--p", "--jobs", "--seed", "--threshold", "--noise-sd"],
        "power": ["--n", "--effect", "--sd", "--p", "--alpha", "--power", "--icc"],
        "balance": ["--draws", "--seed"],
        "srm": ["--alpha", "--expected"],
    }
    cmd = str(rng.choice(list(base)))
    argv = list(base[cmd])
    expect = None
    if cmd == "run" and rng.random() < 0.3:
        argv[argv.index("--reps") + 1] = str(10 ** 12)
        return {"argv": argv, "expect": "error", "kind": "flags/run-reps-huge"}
    if cmd == "test" and rng.random() < 0.3:
        argv[argv.index("--n-draws") + 1] = str(10 ** 11)
        return {"argv": argv, "expect": "error", "kind": "flags/test-n-draws-huge"}
    if cmd == "info":
        argv = ["info", str(rng.choice(["-", folder, folder / "nope.txt", "/dev/null", "karate", "no-such-graph",
                                        exp.fifo]))]
        return {"argv": argv, "expect": None, "kind": "flags/info-paths", "stdin": b""}
    for _ in range(int(rng.integers(1, 3))):
        f = str(rng.choice(flags[cmd]))
        v = str(rng.choice(_BAD_VALUES))
        if f in argv:
            argv[argv.index(f) + 1] = v
        else:
            argv += [f, v]
    return {"argv": argv, "expect": expect, "kind": f"flags/{cmd}"}


def gen_output_case(rng, exp: Experiment, folder: Path, k: int):
    """Outputs at symlinks, existing files, directories, missing folders: nothing overwritten unasked."""
    target = folder / f"keep{k}.txt"
    target.write_text("precious\n")
    where = str(rng.choice(["symlink", "dangling", "exists", "dir", "missing-folder"]))
    out = folder / f"out{k}.csv"
    if where == "symlink":
        out.symlink_to(target)
    elif where == "dangling":
        out.symlink_to(folder / f"nowhere{k}.csv")
    elif where == "exists":
        out.write_text("old\n")
    elif where == "dir":
        out.mkdir()
    else:
        out = folder / f"nofolder{k}" / "x.csv"
    force = ["--force"] if rng.random() < 0.5 else []
    cmd = str(rng.choice(["cluster", "assign"]))
    argv = (["cluster", exp.graph, "-o", out] if cmd == "cluster" else
            ["assign", exp.graph, "-o", out, "--design", "complete"]) + force
    return {"argv": argv, "expect": "error" if where != "exists" or not force else None,
            "kind": f"output/{where}/{cmd}{'/force' if force else ''}", "precious": target,
            "dangling": folder / f"nowhere{k}.csv" if where == "dangling" else None}


GENERATORS = [(gen_edgelist_case, 0.45), (gen_sidecar_case, 0.2), (gen_table_case, 0.15), (gen_flag_case, 0.12),
              (gen_output_case, 0.08)]


def judge(case, status, rc, out, err):
    """The final class of a case: status refined by its known truth."""
    if status in ("traceback", "hang"):
        return status
    text = out + err
    if case.get("secret") and SECRET in text:
        return "wrong"
    precious = case.get("precious")
    if precious is not None and precious.read_text() != "precious\n":
        return "wrong"
    dangling = case.get("dangling")
    if dangling is not None and dangling.exists():
        return "wrong"
    expect = case.get("expect")
    if expect == "error":
        return "wrong" if status == "ok" and rc == 0 else status
    if expect == "not-verified":
        return "wrong" if rc == 0 else status
    if isinstance(expect, tuple) and status == "ok":
        try:
            res = json.loads(out)
        except ValueError:
            return "wrong"
        if expect[0] == "graph":
            return "ok" if (res.get("n_nodes"), res.get("n_edges")) == expect[1:] else "wrong"
        if expect[0] == "n_outcomes":
            return "ok" if res.get("n_outcomes") == expect[1] else "wrong"
    if isinstance(expect, tuple) and status == "clean":
        return "refused"  # a valid input refused: not silent, but counted
    return status


def run_corpus(n: int, seed: int, folder: Path | None = None, *, keep_examples: int = 3):
    """Generate and run ``n`` CLI cases; return counts per class and examples of the bad ones."""
    rng = np.random.default_rng(seed)
    from netexp.graph import _io

    old_timeout = getattr(_io, "PIPE_TIMEOUT", None)
    _io.PIPE_TIMEOUT = 0.5  # a FIFO without a writer is an error after this long
    try:
        return _run_corpus(n, rng, folder, keep_examples)
    finally:
        _io.PIPE_TIMEOUT = old_timeout


def _run_corpus(n, rng, folder, keep_examples):
    ctx = tempfile.TemporaryDirectory() if folder is None else contextlib.nullcontext(str(folder))
    with ctx as d:
        folder = Path(d)
        exp = Experiment(folder)
        counts = {"inputs": 0, "ok": 0, "clean": 0, "refused": 0, "traceback": 0, "hang": 0, "wrong": 0}
        examples: dict[str, list] = {"traceback": [], "hang": [], "wrong": [], "refused": []}
        by_kind: dict[str, int] = {}
        gens, weights = zip(*GENERATORS)
        weights = np.asarray(weights) / sum(weights)
        for k in range(n):
            gen = gens[int(rng.choice(len(gens), p=weights))]
            case = gen(rng, folder, k) if gen is gen_edgelist_case else gen(rng, exp, folder, k)
            status, rc, out, err = run_cli(case["argv"], stdin=case.get("stdin"))
            verdict = judge(case, status, rc, out, err)
            counts["inputs"] += 1
            counts[verdict] += 1
            if verdict in examples:
                key = f"{verdict}: {case['kind']}"
                by_kind[key] = by_kind.get(key, 0) + 1
            if verdict in examples and len(examples[verdict]) < keep_examples:
                examples[verdict].append({"kind": case["kind"], "argv": [str(a) for a in case["argv"]],
                                          "rc": rc, "stderr": err.strip().splitlines()[-1:] if err else []})
    examples["by_kind"] = dict(sorted(by_kind.items()))
    return counts, examples


# ---------------------------------------------------------------- Python API cases
def api_cases():
    """``(name, thunk, truth)``: truth "error" (a NetexpError is expected) or a check of the result."""
    import netexp as ne

    def nodes(n):
        return lambda g: g.n_nodes == n

    pdf = pd.DataFrame
    return [
        ("nan id", lambda: ne.Graph.from_edges([1.0, np.nan], [2.0, 3.0]), "error"),
        ("None id", lambda: ne.Graph.from_edges(["a", None], ["b", "c"]), "error"),
        ("inf id", lambda: ne.Graph.from_edges([1.0, np.inf], [2.0, 3.0]), "error"),
        ("-inf id", lambda: ne.Graph.from_edges(np.array([-np.inf, 1.0]), np.array([2.0, 3.0])), "error"),
        ("pd.NA id", lambda: ne.Graph.from_edges(pd.array([1, None], dtype="Int64"), [2, 3]), "error"),
        ("1 and '1'", lambda: ne.Graph.from_edges([1, "1"], [2, 3]), "error"),
        ("'2' and 2 across columns", lambda: ne.Graph.from_edges(np.array(["1", "2"]), np.array([2, 3])), "error"),
        ("from_pandas NaN", lambda: ne.Graph.from_pandas(pdf({"a": [1, None], "b": [2, 3]})), "error"),
        ("from_pandas None str", lambda: ne.Graph.from_pandas(pdf({"a": ["x", None], "b": ["y", "z"]})), "error"),
        ("from_pandas mixed", lambda: ne.Graph.from_pandas(pdf({"a": [1, "1"], "b": [2, 3]})), "error"),
        ("from_pandas nodes missing", lambda: ne.Graph.from_pandas(pdf({"a": [1, 2], "b": [2, 9]}), nodes=[1, 2]),
         "error"),
        ("from_pandas nodes opt-in", lambda: ne.Graph.from_pandas(pdf({"a": [1, 2], "b": [2, 9]}), nodes=[1, 2, 5],
                                                                  add_missing_nodes=True), nodes(4)),
        ("from_pandas nodes complete", lambda: ne.Graph.from_pandas(pdf({"a": [1, 2], "b": [2, 9]}),
                                                                    nodes=[1, 2, 9, 5]), nodes(4)),
        ("huge uint ids", lambda: ne.Graph.from_edges(np.array([2 ** 64 - 1, 2 ** 63], dtype=np.uint64),
                                                      np.array([1, 2], dtype=np.uint64)),
         lambda g: set(g.node_ids) == {str(2 ** 64 - 1), str(2 ** 63), "1", "2"}),
        ("huge python ints", lambda: ne.Graph.from_edges([2 ** 70, 1], [2, 3]),
         lambda g: str(2 ** 70) in set(map(str, g.node_ids)) and g.n_nodes == 4),
        ("007 and 7 strings", lambda: ne.Graph.from_edges(["007", "7"], ["7", "8"]), nodes(3)),
        ("whole floats", lambda: ne.Graph.from_edges(np.array([1.0, 2.0]), np.array([2.0, 3.0])),
         lambda g: g.node_ids.dtype.kind == "i" and g.n_nodes == 3),
        ("ragged", lambda: ne.Graph.from_edges([1, 2, 3], [1, 2]), "error"),
        ("2-d", lambda: ne.Graph.from_edges(np.ones((2, 2)), np.ones((2, 2))), "error"),
        ("not a frame", lambda: ne.Graph.from_pandas([[1, 2]]), "error"),
        ("unknown column", lambda: ne.Graph.from_pandas(pdf({"a": [1], "b": [2]}), "a", "c"), "error"),
        ("read_graph int", lambda: ne.read_graph(42), "error"),
        ("read_graph missing", lambda: ne.read_graph("/no/such/file.txt"), "error"),
        ("networkx NaN node", lambda: ne.Graph.from_networkx(_nx_graph([(float("nan"), 1), (1, 2)])), "error"),
        ("networkx 1 and '1'", lambda: ne.Graph.from_networkx(_nx_graph([(1, "1"), ("1", 2)])), "error"),
        ("networkx tuples", lambda: ne.Graph.from_networkx(_nx_graph([((0, 1), (1, 1))])), nodes(2)),
        ("index_of 007", lambda: ne.Graph.from_edges([7, 8], [8, 9]).index_of(["007"]), "error"),
        ("index_of text float", lambda: ne.Graph.from_edges([7, 8], [8, 9]).index_of(["7.0"]),
         lambda pos: pos.tolist() == [0]),
    ]


def generated_api_cases(n: int, seed: int):
    """Random id columns for ``Graph.from_edges`` / ``from_pandas`` with a known truth:
    the number of distinct ids, or an error (missing/infinite ids, ``1`` next to ``"1"``)."""
    import netexp as ne

    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        m = int(rng.integers(1, 12))
        kind = str(rng.choice(["int", "huge", "str", "int+missing", "int+str-clash", "int+str-disjoint",
                               "float-whole"]))
        base = rng.integers(-5, 20, 2 * m)
        if kind == "int":
            vals = [int(x) for x in base]
        elif kind == "huge":
            vals = [int(x) + 2 ** 63 if x % 2 else int(x) for x in base]
        elif kind == "str":
            vals = [f"n{int(x)}" for x in base]
        elif kind == "int+missing":
            vals = [int(x) for x in base]
            vals[int(rng.integers(0, 2 * m))] = [None, float("nan"), float("inf"), -float("inf"), pd.NA][
                int(rng.integers(0, 5))]
        elif kind == "int+str-clash":
            vals = [int(x) for x in base]
            i, j = rng.choice(2 * m, size=2, replace=False) if 2 * m > 1 else (0, 0)
            vals[int(j)] = str(vals[int(i)])
        elif kind == "int+str-disjoint":
            vals = [int(x) if x % 2 else f"s{int(x)}" for x in base]
        else:
            vals = [float(x) for x in base]
        src, dst = vals[:m], vals[m:]
        if kind == "int+str-clash" and (len(set(map(str, vals))) == len(set(vals)) or 2 * m == 1):
            kind = "int+str-disjoint"  # the two picks were equal strings already: no clash
        if kind in ("int+missing", "int+str-clash"):
            truth = "error"
        else:
            n_ids = len({(str(int(v)) if isinstance(v, float) else str(v)) for v in vals})
            truth = (lambda n_: lambda g: g.n_nodes == n_)(n_ids)
        box = str(rng.choice(["list", "object-array", "series", "frame"]))
        if box == "list":
            thunk = (lambda s, d: lambda: ne.Graph.from_edges(s, d))(src, dst)
        elif box == "object-array":
            thunk = (lambda s, d: lambda: ne.Graph.from_edges(np.array(s, dtype=object), np.array(d, dtype=object)))(
                src, dst)
        elif box == "series":
            thunk = (lambda s, d: lambda: ne.Graph.from_edges(pd.Series(s, dtype=object), pd.Series(d, dtype=object)))(
                src, dst)
        else:
            thunk = (lambda s, d: lambda: ne.Graph.from_pandas(pd.DataFrame({"a": pd.Series(s, dtype=object),
                                                                             "b": pd.Series(d, dtype=object)})))(src, dst)
        out.append((f"generated/{kind}/{box}/{k}", thunk, truth))
    return out


def _nx_graph(edges):
    import networkx as nx

    G = nx.Graph()
    G.add_edges_from(edges)
    return G


def run_api(n_generated: int = 60, seed: int = 0):
    import netexp as ne

    counts = {"calls": 0, "ok": 0, "netexp_error": 0, "obscure": 0, "wrong": 0}
    bad = []
    for name, thunk, truth in api_cases() + generated_api_cases(n_generated, seed):
        counts["calls"] += 1
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = thunk()
        except ne.NetexpError:
            counts["netexp_error" if truth == "error" else "wrong"] += 1
            if truth != "error":
                bad.append(name)
            continue
        except Exception as exc:  # noqa: BLE001
            counts["obscure"] += 1
            bad.append(f"{name}: {type(exc).__name__}")
            continue
        if truth == "error" or not truth(res):
            counts["wrong"] += 1
            bad.append(name)
        else:
            counts["ok"] += 1
    return counts, bad


# ---------------------------------------------------------------- tests
def _assert_clean(counts, examples):
    assert counts["traceback"] == 0, examples["traceback"]
    assert counts["hang"] == 0, examples["hang"]
    assert counts["wrong"] == 0, examples["wrong"]


def test_fuzz_cli_seeded_slice(tmp_path):
    counts, examples = run_corpus(N_DEFAULT, seed=20261207, folder=tmp_path)
    _assert_clean(counts, examples)
    assert counts["ok"] + counts["clean"] + counts["refused"] == N_DEFAULT


def test_fuzz_python_api():
    counts, bad = run_api()
    assert counts["obscure"] == 0 and counts["wrong"] == 0, bad


@pytest.mark.slow
def test_fuzz_cli_full_corpus(tmp_path):
    counts, examples = run_corpus(10_000, seed=1, folder=tmp_path)
    _assert_clean(counts, examples)
    api, bad = run_api(2000, seed=1)
    assert api["obscure"] == 0 and api["wrong"] == 0, bad


# ---------------------------------------------------------------- targeted regressions (issue 11)
@pytest.fixture
def exp(tmp_path):
    return Experiment(tmp_path)


def test_verify_catches_edited_n_treated(exp):
    rec = json.loads(exp.sidecar.read_text())
    rec["n_treated"] += 3
    exp.sidecar.write_text(json.dumps(rec))
    status, rc, out, _ = run_cli(["verify", exp.assignment])
    assert rc == 1 and "sidecar says 20 treated" in out


def test_impossible_assignment_refused_by_analyze_and_test(exp):
    df = pd.read_csv(exp.assignment)
    df.loc[df["treatment"] == 0, "treatment"] = [1, 1, 1] + [0] * int((df["treatment"] == 0).sum() - 3)
    df.to_csv(exp.assignment, index=False)
    for cmd in (["analyze", "--estimators", "naive"], ["test", "--n-draws", "50"]):
        status, rc, out, err = run_cli([cmd[0], exp.graph, "--assignment", exp.assignment, "--outcomes",
                                        exp.outcomes, *cmd[1:]])
        assert rc == 2 and "it treats 20 of 34 units; the design treats 17" in err, err


def test_check_assignment_against_design_exact():
    import netexp as ne
    from netexp._assign import check_assignment_against_design

    z = np.zeros(60, dtype=bool)
    z[:40] = True
    with pytest.raises(ne.InputError, match="it treats 40 of 60 units; the design treats 30"):
        check_assignment_against_design(z, ne.Complete(60, 30))
    z[30:40] = False
    check_assignment_against_design(z, ne.Complete(60, 30))
    check_assignment_against_design(z, ne.Bernoulli(60, p=0.5))
    labels = np.repeat(np.arange(6), 10)
    g = ne.Graph.from_edges(np.arange(59), np.arange(1, 60))
    cl = ne.Clustering(g, labels) if hasattr(ne, "Clustering") else None
    if cl is not None:
        d = ne.ClusterRandomized(cl, p=0.5)
        with pytest.raises(ne.InputError, match="treatment varies inside"):
            check_assignment_against_design(np.arange(60) < 25, d)
        check_assignment_against_design(labels < 3, d)
        with pytest.raises(ne.InputError, match="at the cluster level"):
            check_assignment_against_design(labels < 4, d)


def test_hostile_sidecar_never_prints_local_files(exp):
    for rec_change in ({"graph": {"path": str(exp.secret), "abs_path": str(exp.secret), "sha256": "0" * 64}},
                       {"spec": {**exp.record["spec"], "design": "cluster", "clusters": str(exp.secret)}}):
        rec = {**exp.record, **rec_change}
        exp.sidecar.write_text(json.dumps(rec))
        for argv in (["verify", exp.assignment], ["card", "--assignment", exp.assignment, "-o", exp.folder / "k"],
                     ["analyze", exp.graph, "--assignment", exp.assignment, "--outcomes", exp.outcomes]):
            status, rc, out, err = run_cli(argv)
            assert SECRET not in out + err and status in ("ok", "clean"), (argv, err)


def test_huge_max_tries_refused_fast(exp):
    rec = json.loads(exp.sidecar.read_text())
    rec["spec"].update({"design": "rerandomized", "max_tries": 10 ** 12})
    exp.sidecar.write_text(json.dumps(rec))
    status, rc, out, err = run_cli(["verify", exp.assignment], timeout=20)
    assert status == "clean" and "max_tries" in err


@pytest.mark.parametrize("argv,flag", [(["run", "--reps", str(10 ** 12)], "--reps"),
                                       (["test", "G", "--assignment", "A", "--outcomes", "Y", "--n-draws",
                                         str(10 ** 11)], "--n-draws")])
def test_work_size_limits(argv, flag):
    status, rc, out, err = run_cli(argv, timeout=10)
    assert status == "clean" and f"{flag} must be in" in err


def test_outcomes_without_header_keep_first_row(exp):
    y = exp.folder / "yh.csv"
    y.write_text(pd.read_csv(exp.outcomes).to_csv(index=False, header=False))
    status, rc, out, err = run_cli(["analyze", exp.graph, "--assignment", exp.assignment, "--outcomes", y,
                                    "--json", "--estimators", "naive"])
    assert status == "ok", err
    assert json.loads(out)["n_outcomes"] == exp.n


def test_full_disk_on_output_is_one_line(exp, monkeypatch):
    import errno

    def full(self, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    out = exp.folder / "c_full.csv"
    status, rc, _, err = run_cli(["cluster", exp.graph, "-o", out])
    assert status == "clean" and "no space left" in err and not out.exists()
    assert not [p for p in exp.folder.iterdir() if p.name.startswith(".tmp-")]


def test_numpy_reprs_are_not_printed(exp):
    status, rc, out, err = run_cli(["analyze", exp.graph, "--assignment", exp.assignment, "--outcomes",
                                    exp.outcomes, "--estimators", "nope"])
    assert "np.int64(" not in err and "np.float64(" not in err


if __name__ == "__main__":  # figures for the record: python tests/test_fuzz.py N SEED
    n = int(sys.argv[1]) if len(sys.argv) > 1 else N_DEFAULT
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 20261207
    import time

    t = time.perf_counter()
    counts, examples = run_corpus(n, seed)
    api, bad = run_api(max(60, n // 10), seed)
    print(json.dumps({"cli": counts, "seconds": round(time.perf_counter() - t, 1), "api": api, "api_bad": bad,
                      "examples": examples}, indent=1, default=str))
