#!/usr/bin/env python3
"""Build the notebooks from their sources in notebooks/src/ (percent format) and execute them.

    python notebooks/build.py                 # every notebook
    python notebooks/build.py 04              # those whose name starts with 04

The sources are plain Python files, reviewable in diffs: ``# %% [markdown]`` starts a Markdown
cell (its lines are comments), ``# %%`` starts a code cell. Executing needs the dev tools
``nbclient`` and ``ipykernel`` (``pip install nbclient ipykernel``); the test suite does not:
tests/test_notebooks.py runs the code cells directly.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def split_cells(src: str) -> list[tuple[str, str]]:
    """``[(kind, text), ...]`` with kind ``"markdown"`` or ``"code"``, from a percent-format source."""
    cells, kind, buf = [], None, []

    def flush():
        if kind is None:
            return
        text = "\n".join(buf).strip("\n")
        if kind == "markdown":
            text = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in text.splitlines())
            cells.append(("markdown", text))
        elif text:
            cells.append(("code", text))

    for line in src.splitlines():
        if line.startswith("# %% [markdown]"):
            flush()
            kind, buf = "markdown", []
        elif line.startswith("# %%"):
            flush()
            kind, buf = "code", []
        else:
            buf.append(line)
    flush()
    return cells


def parse(src: str):
    import nbformat

    cells = [nbformat.v4.new_markdown_cell(t) if k == "markdown" else nbformat.v4.new_code_cell(t)
             for k, t in split_cells(src)]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def build(path: Path) -> Path:
    import nbformat
    from nbclient import NotebookClient

    nb = parse(path.read_text())
    out = HERE / (path.stem + ".ipynb")
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(nb, out)
    return out


if __name__ == "__main__":
    prefixes = sys.argv[1:]
    for src in sorted((HERE / "src").glob("*.py")):
        if not prefixes or any(src.stem.startswith(p) for p in prefixes):
            print("built", build(src))
