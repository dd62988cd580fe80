"""The card shows what serving measured on this machine and the roofline estimate for a table device, each under
its own label, never in one figure."""

from __future__ import annotations

import copy

import pytest

from benchbench.core.schema import write
from benchbench.report.card import build_card, write_card
from benchbench.serve.cost import attach_costs
from benchbench.serve.scenarios import ServeConfig, serve_target
from benchbench.sources.target import load_target


@pytest.fixture(scope="module")
def served():
    r = serve_target(load_target("mlp", "tiny", 1), ["eager"], ServeConfig(scenario="single", queries=60))
    return attach_costs(r, price_per_hour=0.5)


def test_measured_cost_is_price_over_rate(served):
    c = served.backends[0].cost
    rate = 1000.0 / served.backends[0].single.latency.p50_ms
    assert c.qps == pytest.approx(rate)
    assert c.cost_per_million_usd == pytest.approx(0.5 / (rate * 3600) * 1e6)
    assert c.price_source == "--price-per-hour" and c.label == "measured"
    unpriced = attach_costs(copy.deepcopy(served), None).backends[0].cost  # no price: none is invented
    assert unpriced.cost_per_million_usd is None and unpriced.price_source.startswith("no price")


def test_card_labels_measured_and_estimated_apart(served, tmp_path):
    sections, p = build_card("mlp", size="tiny", hardware="h100-sxm", with_scaling=False, serving=served)
    md = write_card(sections, p, tmp_path / "c.md").read_text()
    compute = md[md.index("## Compute estimate") :]
    measured, estimated = (
        compute.index("**Measured on local CPU"),
        compute.index("**Estimated for NVIDIA H100"),
    )
    assert measured < estimated
    assert f"${served.backends[0].cost.cost_per_million_usd:,.4g}" in compute[:estimated]
    assert "$ per 1M (estimated)" in compute[estimated:] and "estimated: roofline" in compute[estimated:]


def test_card_cli_refuses_a_serve_file_of_another_model(served, tmp_path, capsys):
    from benchbench.cli import main

    f = write(tmp_path / "s.json", served)
    assert (
        main(["card", "resnet18", "--size", "tiny", "--serving", str(f), "--out", str(tmp_path / "c.md")])
        == 2
    )
    assert "holds 'mlp'" in capsys.readouterr().err
