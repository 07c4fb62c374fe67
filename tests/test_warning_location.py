"""Warnings point at the caller's line, not at netexp's source.

A public function taking per-unit data runs inside the ``@aligned`` wrapper (netexp/_align.py), so a
warning raised with a fixed ``stacklevel`` was reported at ``netexp/_align.py`` (or another netexp
file) instead of the user's line: in Jupyter the user saw a warning attributed to netexp internals,
and the "default" filter (once per location) merged the same warning from different user lines.
``netexp._errors.warn`` attributes every warning to the first frame outside the package.

The truth here is the interpreter's own: ``__file__`` of this module and the line numbers of the calls
below, read with ``inspect``; the code under test does not produce them.
"""

from __future__ import annotations

import ast
import inspect
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import netexp as ne
from netexp import _errors

PACKAGE = Path(ne.__file__).resolve().parent

# Files still calling warnings.warn(..., stacklevel=N) directly: they were being edited by other
# helpers when the call sites were converted. Converting one is mechanical (see _errors.warn); then
# remove it from this set (test_every_package_warning_goes_through_the_helper fails until you do).
PENDING: set = set()


def _record(fn):
    """Run ``fn`` with every warning recorded; return the records."""
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        fn()
    return rec


def _assert_here(rec, category, match, line=None):
    hits = [w for w in rec if issubclass(w.category, category) and match in str(w.message)]
    assert hits, f"no {category.__name__} matching {match!r}; got {[str(w.message)[:80] for w in rec]}"
    for w in hits:
        assert w.filename == __file__, f"{match!r} attributed to {w.filename}:{w.lineno}"
        if line is not None:
            assert w.lineno == line


def _line_of(fn) -> int:
    """Line number of a one-line lambda: the line the warning must name."""
    return inspect.getsourcelines(fn)[1]


@pytest.fixture(scope="module")
def karate():
    g = ne.load_graph("karate")
    n = g.n_nodes
    z = np.arange(n) % 2 == 0
    return g, n, z


@pytest.fixture(scope="module")
def ht_setup(karate):
    g, n, _ = karate
    cl = ne.leiden(g, rng=0)
    design = ne.ClusterRandomized(cl, ne.Bernoulli(cl.n_clusters, p=0.5))
    z = design.sample(rng=3)
    mapping = ne.FullNeighborhood()
    probs = ne.exposure_probabilities(g, design, mapping, method="exact")
    return g, n, mapping.map(g, z), probs


# --------------------------------------------------------------------------- the helper itself
def test_warn_names_the_callers_line():
    call = lambda: _errors.warn("direct", ne.EstimationWarning)  # noqa: E731
    rec = _record(call)
    _assert_here(rec, ne.EstimationWarning, "direct", line=_line_of(call))


def test_warn_default_category_is_netexp_warning():
    with pytest.warns(ne.NetexpWarning, match="plain") as rec:
        _errors.warn("plain")
    assert rec[0].category is ne.NetexpWarning and rec[0].filename == __file__


# --------------------------------------------------------------------------- public functions, numpy and pandas
def test_difference_in_means_zero_se_numpy_and_pandas(karate):
    """Zero standard error (constant outcomes within arms) warns at the caller's line on both paths
    (numpy: the wrapper calls straight through; pandas: the wrapper aligns first)."""
    _, n, z = karate
    y = np.where(z, 2.0, 1.0)
    f1 = lambda: ne.difference_in_means(y, z)  # noqa: E731
    _assert_here(_record(f1), ne.EstimationWarning, "standard error", line=_line_of(f1))
    ys, zs = pd.Series(y), pd.Series(z)
    f2 = lambda: ne.difference_in_means(ys.iloc[::-1], zs)  # noqa: E731
    _assert_here(_record(f2), ne.EstimationWarning, "standard error", line=_line_of(f2))


def test_exposure_regression_isolated_warning(karate):
    g, n, z = karate
    expo = ne.exposure(g, z)
    y = np.random.default_rng(0).normal(size=n) + z
    f = lambda: ne.exposure_regression(y, z, expo.fraction)  # noqa: E731
    _assert_here(_record(f), ne.EstimationWarning, "isolated= not given", line=_line_of(f))


def test_experiment_analyze_few_clusters(karate):
    """An Experiment method (Experiment.analyze -> run_analysis -> the few-clusters warning: three
    netexp frames deep, none of them decorated) names the line calling analyze."""
    g, n, _ = karate
    cl = ne.leiden(g, rng=0)
    ex = ne.Experiment(g, ne.ClusterRandomized(cl, p=0.5), seed=7)
    y = pd.Series(np.random.default_rng(1).normal(size=n) + ex.assignment, index=g.node_ids)
    ex = ex.with_outcomes(y)
    f = lambda: ex.analyze(estimators=["cluster"])  # noqa: E731
    _assert_here(_record(f), ne.EstimationWarning, "clusters (fewer than", line=_line_of(f))


def test_read_edgelist_self_loop_warning(tmp_path):
    """Reading a file (no CLI): the self-loop GraphWarning names the read_edgelist line."""
    p = tmp_path / "edges.txt"
    p.write_text("a b\nb c\nc c\n")
    f = lambda: ne.read_edgelist(p)  # noqa: E731
    _assert_here(_record(f), ne.GraphWarning, "self-loop", line=_line_of(f))


def test_user_callback_gets_the_warnings_of_what_it_calls(karate):
    """A netexp function called from a user callback that netexp itself calls (an estimator handed to
    diagnose) names the user's line inside the callback, not diagnose's frames around it."""
    g, n, _ = karate

    def mine(ctx):
        return ne.difference_in_means(np.where(ctx.z, 2.0, 1.0), ctx.z)

    mine.estimand = "direct effect"
    line = inspect.getsourcelines(mine)[1] + 1
    rec = _record(lambda: ne.diagnose(ne.Complete(n, n_treated=17), {"mine": mine}, ne.LinearInMeans(direct=1.0),
                                      g, n_sims=2, rng=0))
    _assert_here(rec, ne.EstimationWarning, "standard error", line=line)


def test_horvitz_thompson_zero_variance(ht_setup):
    g, n, levels, probs = ht_setup
    f = lambda: ne.horvitz_thompson(np.zeros(n), levels, probs, contrasts=[("treated", "control")])  # noqa: E731
    _assert_here(_record(f), ne.EstimationWarning, "variance estimate", line=_line_of(f))


def test_hajek_single_group(ht_setup):
    g, n, levels, probs = ht_setup
    f = lambda: ne.hajek(np.ones(n), levels, probs, contrasts=[("treated", "control")])  # noqa: E731
    _assert_here(_record(f), ne.EstimationWarning, "single group", line=_line_of(f))


# --------------------------------------------------------------------------- filters still work
def test_error_filter_still_raises(karate):
    _, n, z = karate
    y = np.where(z, 2.0, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ne.EstimationWarning)
        with pytest.raises(ne.EstimationWarning, match="standard error"):
            ne.difference_in_means(y, z)
        with pytest.raises(ne.EstimationWarning, match="standard error"):
            ne.difference_in_means(pd.Series(y), pd.Series(z))


def test_default_filter_is_once_per_user_line(karate):
    """"default" shows a warning once per location: the same warning from two user lines is shown
    twice (it was merged into one at netexp/_align.py), from one line in a loop once."""
    _, n, z = karate
    y = np.where(z, 2.0, 1.0)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("default")
        for _ in range(3):
            ne.difference_in_means(y, z)
        ne.difference_in_means(y, z)
    assert len(rec) == 2
    assert all(w.filename == __file__ for w in rec) and rec[0].lineno != rec[1].lineno


def test_pytest_warns_and_ignore_filter(karate):
    _, n, z = karate
    y = np.where(z, 2.0, 1.0)
    with pytest.warns(ne.EstimationWarning, match="standard error") as rec:
        ne.difference_in_means(y, z)
    assert rec[0].filename == __file__
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=ne.EstimationWarning, module=__name__)
        ne.difference_in_means(y, z)  # a module filter on the user's module now matches
    assert not [w for w in rec if issubclass(w.category, ne.EstimationWarning)]


# --------------------------------------------------------------------------- no new fixed stacklevels
def _raw_warn_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "warn"
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "warnings"):
            out.append(node.lineno)
    return out


def test_every_package_warning_goes_through_the_helper():
    """A direct ``warnings.warn`` in netexp needs a stacklevel that is right on one call path only;
    netexp._errors.warn is right on all of them."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel == "_errors.py":
            continue
        lines = _raw_warn_calls(path)
        if lines:
            found[rel] = lines
    new = {k: v for k, v in found.items() if k not in PENDING}
    assert not new, (f"warnings.warn called directly in {new}: use netexp._errors.warn(message, category) "
                     "(attributed to the caller's line on every call path)")
    done = PENDING - set(found)
    assert not done, f"{sorted(done)} no longer call warnings.warn directly: remove them from PENDING"


def test_helper_does_not_depend_on_the_current_directory():
    """The package prefix is absolute, as the frames' file names are."""
    assert Path(_errors._PACKAGE_DIR).is_absolute()
    assert inspect.getsourcefile(ne.difference_in_means).startswith(_errors._PACKAGE_DIR)
    assert sys.modules["netexp._align"].__file__.startswith(_errors._PACKAGE_DIR)
