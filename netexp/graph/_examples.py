"""Small real graphs and the default network, bundled in the repository's ``graphs/`` folder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .._errors import GraphError

__all__ = ["bundled_graphs", "load_graph", "load_node_table", "graphs_dir", "DEFAULT_GRAPH"]

DEFAULT_GRAPH = "social"

# name -> (edge file, node attribute file or None, one-line description)
_BUNDLED = {
    "social": ("social.csv.gz", "social_nodes.csv.gz",
               "default network: seeded social network, 3000 people, planted communities, heavy-tailed degrees"),
    "karate": ("karate.csv", "karate_nodes.csv", "Zachary's karate club (34 members, 78 ties) with its two factions"),
    "les-miserables": ("les_miserables.csv", None, "Les Miserables character co-appearances (77 nodes, 254 edges)"),
    "florentine-families": ("florentine_families.csv", None,
                            "Padgett's Florentine families marriage ties (15 nodes, 20 edges)"),
}


def graphs_dir() -> Path:
    """Folder holding the bundled graphs (the source tree's ``graphs/`` or its installed copy)."""
    here = Path(__file__).resolve().parents[2] / "graphs"
    if (here / "karate.csv").exists():
        return here
    try:
        from importlib.resources import files

        return Path(str(files("netexp._graphs")))
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - broken install
        raise GraphError("The bundled graphs folder is missing from this installation; reinstall netexp.") from None


def bundled_graphs() -> dict[str, str]:
    """Names of the bundled graphs with a one-line description of each."""
    return {k: v[2] for k, v in _BUNDLED.items()}


def _entry(name: str):
    if name not in _BUNDLED:
        raise GraphError(f"No bundled graph named {name!r}; available: {', '.join(_BUNDLED)}.")
    return _BUNDLED[name]


def load_graph(name: str = DEFAULT_GRAPH):
    """Load a bundled graph by name (see :func:`bundled_graphs`).

    Examples
    --------
    >>> import netexp as ne
    >>> ne.load_graph("karate")
    Graph('karate', n_nodes=34, n_edges=78, directed=False)
    """
    from ._graph import Graph

    edges, nodes, _ = _entry(name)
    d = graphs_dir()
    df = pd.read_csv(d / edges)
    node_ids = None if nodes is None else pd.read_csv(d / nodes)["node_id"].to_numpy()
    return Graph.from_edges(df["source"].to_numpy(), df["target"].to_numpy(), nodes=node_ids, name=name)


def load_node_table(name: str) -> pd.DataFrame:
    """Node attributes of a bundled graph (karate: ``faction``; social: planted ``community``)."""
    _, nodes, _ = _entry(name)
    if nodes is None:
        raise GraphError(f"The bundled graph {name!r} has no node attribute table.")
    return pd.read_csv(graphs_dir() / nodes)
