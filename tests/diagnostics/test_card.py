"""DesignCard: filled from objects, JSON round trip, files, refusal to overwrite."""

import json

import pytest

import netexp as ne
from netexp.diagnostics import DesignCard


@pytest.fixture(scope="module")
def card():
    g = ne.load_graph("karate")
    c = ne.leiden(g, rng=0)
    return DesignCard.from_objects(design=ne.ClusterRandomized(c, p=0.5), graph=g, clustering=c,
                                   estimators=["cluster", "exposure-regression"],
                                   business_decision="Launch the referral banner?", guardrails=["latency", "refunds"],
                                   estimand="global effect")


def test_from_objects_fills_network_fields(card):
    assert card.graph["n_nodes"] == 34 and card.graph["n_edges"] == 78
    assert card.unit_of_randomization.startswith(f"cluster ({card.clustering['n_clusters']} clusters")
    assert card.assignment_probability == "0.5 for every unit"
    assert card.estimators == ("cluster", "exposure-regression")
    assert any("cross cluster boundaries" in t for t in card.threats_to_validity)
    assert card.design.startswith("ClusterRandomized(")


def test_json_round_trip_and_immutability(card):
    again = DesignCard.from_json(card.to_json())
    assert again == card
    assert json.loads(card.to_json())["guardrails"] == ["latency", "refunds"]
    with pytest.raises(Exception):
        card.treatment = "x"
    with pytest.raises(TypeError):
        card.graph["n_nodes"] = 3


def test_markdown_lists_every_field(card):
    md = card.to_markdown()
    for label in ("Business decision", "Unit of randomization", "Known threats", "Clustering", "Threats to validity"):
        assert f"| {label} |" in md
    assert "*to decide:*" in md  # treatment was not given
    assert card._repr_markdown_() == md


def test_write_read_and_refuse_overwrite(card, tmp_path):
    md, js = card.write(tmp_path / "card")
    assert md.name == "card.md" and js.name == "card.json"
    assert DesignCard.read(js) == card
    assert DesignCard.read(tmp_path / "card.md") == card
    with pytest.raises(ne.OutputExistsError):
        card.write(tmp_path / "card")
    card.write(tmp_path / "card", overwrite=True)
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(ne.OutputExistsError):
        card.write(tmp_path / "other")
    assert not (tmp_path / "other.md").exists()  # nothing written when one file is refused


def test_unknown_field_is_an_error():
    with pytest.raises(ne.InputError, match="unknown field"):
        DesignCard.from_objects(buisness_decision="typo")
