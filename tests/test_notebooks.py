"""Every notebook runs top to bottom with the current API (code cells executed in order, no Jupyter needed)."""

import json
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(path.parent)
    nb = json.loads(path.read_text())
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    if any("shared/data" in src for src in code) and not SHARED_DATA.exists():
        pytest.skip(f"{path.name} reads {SHARED_DATA}, which is absent here")
    ns: dict = {}
    for i, src in enumerate(code):
        exec(compile(src, f"{path.name}[code cell {i}]", "exec"), ns)
    import matplotlib.pyplot as plt

    plt.close("all")


def test_sources_and_notebooks_agree():
    """A notebook built from notebooks/src/<name>.py (python notebooks/build.py) has exactly its code cells."""
    import importlib.util

    here = Path(__file__).resolve().parents[1] / "notebooks"
    spec = importlib.util.spec_from_file_location("nb_build", here / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    checked = 0
    for src in sorted((here / "src").glob("*.py")):
        nb_path = here / (src.stem + ".ipynb")
        assert nb_path.exists(), f"{src.name} has no built notebook; run python notebooks/build.py {src.stem[:2]}"
        nb = json.loads(nb_path.read_text())
        built = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
        wanted = [t for k, t in build.split_cells(src.read_text()) if k == "code"]
        assert built == wanted, f"{nb_path.name} is stale; rebuild it with python notebooks/build.py {src.stem[:2]}"
        checked += 1
    assert checked >= 1
