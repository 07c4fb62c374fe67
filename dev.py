#!/usr/bin/env python3
"""Set-up-free entry point: creates ./.venv, installs netexp with pinned dependencies, runs a task.

    python3 dev.py demo     # the main job: `netexp run` on the bundled default network
    python3 dev.py test     # the test suite (what CI runs)
    python3 dev.py bench    # the benchmarks in benchmarks/ (minutes; 10^6-node graphs)

Needs only python3 (3.10+) with venv and pip, and access to PyPI. The environment is rebuilt
when pyproject.toml or constraints.txt change. Extra arguments are passed on
(`python3 dev.py test -k exposure`, `python3 dev.py demo --json`).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".netexp-installed"


def _fingerprint() -> str:
    h = hashlib.sha256()
    for name in ("pyproject.toml", "constraints.txt"):
        h.update((ROOT / name).read_bytes())
    return h.hexdigest()


def ensure_env() -> None:
    if sys.version_info < (3, 10):
        sys.exit(f"netexp needs Python 3.10 or newer; this is {sys.version.split()[0]}.")
    fp = _fingerprint()
    if PY.exists() and STAMP.exists() and STAMP.read_text() == fp:
        return
    if not PY.exists():
        print(f"[dev] creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    print("[dev] installing netexp and its pinned dependencies (first run only)", flush=True)
    pip = [str(PY), "-m", "pip", "--disable-pip-version-check", "install", "-q"]
    subprocess.run(pip + ["--upgrade", "pip"], check=True, cwd=ROOT)
    subprocess.run(pip + ["-c", "constraints.txt", "-e", ".[test]"], check=True, cwd=ROOT)
    STAMP.write_text(fp)


def main(argv: list[str]) -> int:
    tasks = {"demo", "test", "bench"}
    if not argv or argv[0] not in tasks:
        print(__doc__)
        return 2
    task, rest = argv[0], argv[1:]
    ensure_env()
    env = dict(os.environ, PYTHONHASHSEED="0")
    if task == "demo":
        cmd = [str(PY), "-m", "netexp", "run", *rest]
    elif task == "test":
        cmd = [str(PY), "-m", "pytest", "-q", *rest]
    else:
        cmd = [str(PY), str(ROOT / "benchmarks" / "run_all.py"), *rest]
    return subprocess.call(cmd, cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
