"""The README's Python examples run as written (from the repository root)."""

import re
from pathlib import Path


from tests.conftest import shared_file

ROOT = Path(__file__).resolve().parents[1]


def test_readme_python_blocks_run(monkeypatch, capsys, tmp_path):
    shared_file("networks", "facebook_combined.txt.gz")  # the quickstart reads it
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "the README has no Python example"
    # run where a reader would (beside ../shared), but in a scratch folder so files the examples write
    # (ex.save("assignment.csv")) land there and not in the repository
    work = tmp_path / "repo"
    work.mkdir()
    (tmp_path / "shared").symlink_to(ROOT.parent / "shared")
    for name in ("graphs",):
        (work / name).symlink_to(ROOT / name)
    monkeypatch.chdir(work)
    ns: dict = {}  # later blocks build on the quickstart's names, as a reader's session would
    for i, src in enumerate(blocks):
        exec(compile(src, f"README.md python block {i}", "exec"), ns)
    out = capsys.readouterr().out
    assert "global effect" in out or "estimate" in out
