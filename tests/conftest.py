import warnings
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_file(*parts) -> Path:
    """Path inside ../shared/data, skipping the test with a reason when it is absent."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"needs {p} (the shared real-data folder beside the repository); absent here")
    return p


@pytest.fixture
def facebook():
    import netexp as ne

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ne.GraphWarning)
        return ne.read_graph(shared_file("networks", "facebook_combined.txt.gz"))


def random_graph(n, m, seed, isolates=0):
    """A small random multigraph-with-loops edge list turned into a Graph (dedupe/loops exercised)."""
    import netexp as ne

    rng = np.random.default_rng(seed)
    u = rng.integers(0, n, m)
    v = rng.integers(0, n, m)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ne.GraphWarning)
        return ne.Graph.from_edges(u, v, nodes=np.arange(n + isolates))
