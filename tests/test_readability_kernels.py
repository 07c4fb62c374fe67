"""The rooms of the exact-probability kernels stay readable: one module per design family, a room map,
a docstring on every kernel, parameter names that say what they hold, pair-sum modes named, not numbered."""

import ast
import importlib
from pathlib import Path

import pytest

KERNELS = Path(__file__).resolve().parents[1] / "netexp" / "exposure" / "kernels"
PROBABILITIES = KERNELS.parent / "_probabilities.py"
FAMILY_MODULES = ["bernoulli", "unit_bernoulli", "complete", "cluster_complete", "threshold", "saturation",
                  "saturation_threshold", "common"]
# the names the kernels had before the rooms: none may come back as a kernel parameter
CRYPTIC = {"ptr", "col", "wt", "own", "p", "d", "loff", "ltab", "L", "ka", "kb", "U", "S", "zc", "tptr", "tidx",
           "kptr", "kidx", "nR", "ks", "kw", "lf", "rend", "typ", "Jt", "pit", "D", "P", "marg", "mask", "Qt",
           "lev", "lab", "G", "goff", "gM", "Nsup", "Nw", "Kc", "lo2", "fr2"}


def _tree(path):
    return ast.parse(path.read_text(), filename=str(path))


def _kernels(tree):
    """Functions decorated with numba's njit."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            for dec in node.decorator_list:
                target = dec.func if isinstance(dec, ast.Call) else dec
                if isinstance(target, ast.Name) and target.id == "njit":
                    yield node


def test_package_has_one_module_per_family_and_a_room_map():
    present = {p.stem for p in KERNELS.glob("*.py")}
    assert set(FAMILY_MODULES) | {"__init__", "dispatch", "modes"} == present
    room_map = ast.get_docstring(_tree(KERNELS / "__init__.py"))
    for mod in FAMILY_MODULES:
        assert f":mod:`.{mod}`" in room_map, f"the room map does not place {mod}"
    with pytest.raises(ImportError):
        importlib.import_module("netexp.exposure._prob_kernels")  # the old single file is gone


@pytest.mark.parametrize("mod", FAMILY_MODULES)
def test_every_kernel_has_a_docstring_and_named_parameters(mod):
    tree = _tree(KERNELS / f"{mod}.py")
    assert ast.get_docstring(tree), f"{mod}.py has no module docstring"
    kernels = list(_kernels(tree))
    assert kernels, f"{mod}.py holds no kernel"
    for fn in kernels:
        assert ast.get_docstring(fn), f"kernel {mod}.{fn.name} has no docstring"
        cryptic = CRYPTIC & {a.arg for a in fn.args.args}
        assert not cryptic, f"kernel {mod}.{fn.name} has parameters {sorted(cryptic)}; name what they hold"


def _mode_literals(tree):
    """Integer literals compared with ``mode`` or passed as the mode of the pair-sum dispatchers."""
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and isinstance(node.left, ast.Name) and node.left.id == "mode":
            bad += [node.lineno for c in node.comparators if isinstance(c, ast.Constant)]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in (
                "near_pair_sums", "profile_sums") and len(node.args) > 1 and isinstance(node.args[1], ast.Constant):
            bad.append(node.lineno)
    return bad


@pytest.mark.parametrize("path", [*(KERNELS / f"{m}.py" for m in FAMILY_MODULES), KERNELS / "dispatch.py",
                                  PROBABILITIES], ids=lambda p: p.name)
def test_pair_sum_modes_are_named_not_numbered(path):
    assert _mode_literals(_tree(path)) == [], f"{path.name}: integer pair-sum modes on these lines"


def test_mode_guard_catches_a_numbered_mode():
    """The guard above can fail: a numbered mode in a comparison and in a dispatcher call is caught."""
    src = "def f(mode, st):\n    if mode == 2:\n        near_pair_sums(st, 0, 1)\n"
    assert _mode_literals(ast.parse(src)) == [2, 3]


def test_modes_are_distinct_and_the_dispatcher_refuses_unknown_ones():
    import numpy as np

    from netexp.exposure.kernels import modes
    from netexp.exposure.kernels.dispatch import near_pair_sums

    values = [modes.AS_PAIR_SUMS, modes.COV_PAIR_SUMS, modes.JOINT_AT_LEVELS]
    assert len(set(values)) == 3
    with pytest.raises(ValueError, match="mode"):
        near_pair_sums({}, 7, np.zeros((1, 1)), np.zeros(1, np.int64), np.ones(1, bool), np.zeros((1, 1)),
                       np.zeros((1, 1, 1)), np.zeros((1, 1), np.int64))


def test_first_use_note_sees_cached_kernels_of_the_kernels_subpackage(monkeypatch, tmp_path):
    from netexp import _jit

    monkeypatch.setattr(_jit, "_PACKAGE", tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    assert not _jit.caches_warm()
    cache = tmp_path / "exposure" / "kernels" / "__pycache__"
    cache.mkdir(parents=True)
    (cache / "complete.type_pair_tables-80.py311.nbi").write_bytes(b"")
    assert _jit.caches_warm()
