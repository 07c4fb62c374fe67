"""Regenerate graphs/social.csv.gz, the default network of `netexp run` (deterministic, gzip mtime 0).

    python benchmarks/make_default_graph.py [--force]
"""

import argparse
import gzip
import io
from pathlib import Path

import pandas as pd

import netexp as ne

PARAMS = dict(mean_degree=12, mixing=0.15, degree_exponent=2.5, community_size=(20, 150), rng=20261123)
N = 3000


def write_gz(df: pd.DataFrame, path: Path) -> None:
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as fh:
        fh.write(buf.getvalue().encode())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--force", action="store_true", help="overwrite the existing files")
    args = ap.parse_args()
    out = Path(__file__).resolve().parents[1] / "graphs"
    edges, nodes = out / "social.csv.gz", out / "social_nodes.csv.gz"
    if (edges.exists() or nodes.exists()) and not args.force:
        raise SystemExit(f"{edges} exists; pass --force to regenerate it.")
    g, labels = ne.social_network(N, return_labels=True, **PARAMS)
    write_gz(g.to_pandas(), edges)
    write_gz(pd.DataFrame({"node_id": g.node_ids, "community": labels}), nodes)
    print(f"wrote {edges} and {nodes}: {g}")


if __name__ == "__main__":
    main()
