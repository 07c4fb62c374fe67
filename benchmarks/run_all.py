"""Run every benchmark in sequence (what `python3 dev.py bench` does).

    python benchmarks/run_all.py            # full size (about 30 minutes, ~14 GB peak for the scipy baseline)
    python benchmarks/run_all.py --quick    # smaller sizes, a few minutes
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv):
    quick = "--quick" in argv
    runs = [
        ["bench_scale.py"] + (["--quick"] if quick else []),
        ["bench_scale_engines.py"] + (["--edges", "100000"] if quick else []),
        ["bench_scale_executor.py"] + (["--quick"] if quick else []),
        ["bench_generators.py"] + (["--n", "200000", "--nx-n", "20000"] if quick else []),
        ["bench_matched_pairs.py"],
        ["bench_clustering.py"] + (["--quick"] if quick else []),
        ["bench_designs.py"] + (["--quick"] if quick else []),
        ["bench_exposure.py"] + (["--quick"] if quick else []),
        ["bench_ht.py"] + (["--quick"] if quick else []),
        ["bench_inference.py"] + (["--n", "20000", "--draws", "200"] if quick else []),
        ["bench_diagnose.py"] + (["--n", "2000", "--sims", "100"] if quick else []),
    ]
    status = 0
    for args in runs:
        print(f"\n=== {' '.join(args)} ===", flush=True)
        status |= subprocess.call([sys.executable, str(HERE / args[0]), *args[1:]])
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
