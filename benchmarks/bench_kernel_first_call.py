"""Import + first call of exact exposure probabilities (every kernel room), cold and warm numba caches.

Each measurement runs in a fresh process: import netexp, then for every design family exact probabilities,
the Aronow-Samii and covariance pair sums and one joint on a 30-node graph. "cold" first deletes the
compiled-kernel caches under ``netexp/exposure`` of that checkout (the kernels are recompiled); "warm"
runs again with the caches just written. With ``--baseline PATH`` (another checkout's root, e.g. made with
``git archive <commit> netexp | tar -x -C PATH``) both are measured in the same run, alternating, and the
ratio new / baseline is printed.

Run: .venv/bin/python benchmarks/bench_kernel_first_call.py [--baseline PATH] [--case NAME] [--warm-only]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
import warnings
t0 = time.perf_counter()
import numpy as np
import netexp as ne
from netexp.exposure._probabilities import exposure_probabilities
t1 = time.perf_counter()
warnings.simplefilter("ignore")
u = np.r_[np.arange(30), np.arange(29)]
v = np.r_[(np.arange(30) * 7 + 3) % 30, np.arange(1, 30)]
g = ne.Graph.from_edges(u, v)
n = g.n_nodes
lab = np.arange(n) % 6
designs = {
    "unit-bernoulli": (ne.Bernoulli(n, p=0.3), ne.AronowSamii()),
    "unit-complete": (ne.Complete(n, n_treated=10), ne.AronowSamii()),
    "cluster-bernoulli": (ne.ClusterRandomized(lab, ne.Bernoulli(6, p=0.4)), ne.FullNeighborhood()),
    "cluster-complete": (ne.ClusterRandomized(lab, ne.Complete(6, n_treated=3)), ne.AronowSamii()),
    "saturation": (ne.RandomizedSaturation(lab, saturations=(0.0, 0.5), shares=(0.5, 0.5)), ne.AronowSamii()),
}
case = sys.argv[1]
for c in (list(designs) if case == "all" else [case]):
    d, mp = designs[c]
    pr = exposure_probabilities(g, d, mp, method="exact")
    codes = np.asarray(mp.map_many(g, d.sample(rng=1)[None, :]))[0].astype(np.int64)
    mask = np.ones(n, bool)
    pr._pair_terms(codes, np.ones((n, 1)), mask)
    pr._cov_terms(np.ones((n, len(mp.levels))), mask)
    pr.joint(0, 0)
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first_calls": t2 - t1, "total": t2 - t0}))
"""


def _clear_caches(root: Path) -> None:
    for pat in ("*.nbi", "*.nbc"):
        for f in (root / "netexp" / "exposure").rglob(pat):
            f.unlink()


def _run(root: Path, case: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(root), NETEXP_QUIET="1")
    out = subprocess.run([sys.executable, "-c", CHILD, case], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=Path, default=None)
    ap.add_argument("--case", default="all")
    ap.add_argument("--warm-only", action="store_true", help="skip the cold runs (no cache deleted)")
    args = ap.parse_args(argv)
    roots = {"new": ROOT} | ({"baseline": args.baseline} if args.baseline else {})
    res = {}
    for phase in (("warm",) if args.warm_only else ("cold", "warm")):
        for name, root in roots.items():
            if phase == "cold":
                _clear_caches(root)
            t = time.perf_counter()
            r = _run(root, args.case)
            res[(name, phase)] = r
            print(f"{name:8s} {phase}: import {r['import']:.2f} s, first calls {r['first_calls']:.2f} s "
                  f"(process {time.perf_counter() - t:.1f} s)", flush=True)
    if args.baseline:
        for phase in {p for _, p in res}:
            ratio = res[("new", phase)]["total"] / res[("baseline", phase)]["total"]
            print(f"{phase}: new / baseline total = {ratio:.2f}")


if __name__ == "__main__":
    main()
