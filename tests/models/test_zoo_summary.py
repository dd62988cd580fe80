"""Every zoo model's parameters and MACs at `tiny`, batch 1 (the default run's configuration), equal a summary
stored before the layout change (tests/data/zoo_tiny_summary.json): refactors must not move a figure."""

import json
from pathlib import Path

import pytest

from benchbench.measure.flops import count_flops
from benchbench.measure.params import count_params
from benchbench.models.registry import list_models
from benchbench.sources.target import load_target

SUMMARY = json.loads((Path(__file__).resolve().parents[1] / "data" / "zoo_tiny_summary.json").read_text())[
    "models"
]


def test_the_summary_covers_the_zoo():
    assert set(SUMMARY) == set(list_models())


@pytest.mark.parametrize("name", sorted(SUMMARY))
def test_params_and_macs_are_unchanged(name):
    t = load_target(name, "tiny", 1)
    assert count_params(t.model).total == SUMMARY[name]["params"]
    assert count_flops(t.model.eval(), t.inputs, check=False).macs == SUMMARY[name]["macs"]
