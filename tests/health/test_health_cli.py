"""`benchbench health` end to end: exit codes, the JSON record, and the calls the issue names."""

import json
from pathlib import Path

import pytest

from benchbench.cli import main
from benchbench.core.schema import load

BROKEN = Path(__file__).with_name("broken_models.py")


def health_json(argv: list[str], capsys) -> tuple[int, dict]:
    code = main(["health", *argv, "--json", "-"])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("factory", ["plain_mlp_20", "scaled_down_mlp_20"])
def test_a_plain_20_layer_mlp_and_one_scaled_by_1e_4_are_flagged_exit_1(factory, capsys):
    code, data = health_json([f"{BROKEN}:{factory}"], capsys)
    assert code == 1
    assert any(f["rule"] == "deep-plain-stack" for f in data["health"]["lint"])
    if factory == "scaled_down_mlp_20":
        probe = data["health"]["probe"]
        assert probe["verdict"] == "unhealthy" and probe["vanishing"]
        assert probe["flags"][0]["layer"] == "0" and probe["flags"][0]["ratio"] < 1e-10


def test_a_shallow_dead_relu_stack_is_caught_by_the_probe_alone(capsys):
    code, data = health_json([f"{BROKEN}:dead_relu_mlp_6"], capsys)
    assert code == 1 and not [f for f in data["health"]["lint"] if f["severity"] != "info"]
    assert data["health"]["probe"]["verdict"] == "unhealthy"


def test_a_healthy_zoo_model_exits_0_and_records_loss_and_rate(capsys):
    code, data = health_json(["resnet18", "--batch-size", "16"], capsys)
    probe = data["health"]["probe"]
    assert code == 0 and probe["verdict"] == "healthy" and probe["flags"] == []
    assert (
        probe["loss"] == "cross-entropy" and probe["lr"] in probe["ladder"] and probe["attempts"][-1]["fell"]
    )
    assert probe["shrunk"] == "batch 16 → 4" and probe["seconds"] <= probe["budget_s"] + 30
    record = load(data, "health.json", kinds=("health",))  # the versioned record reads back, typed
    assert record.health.probe.attempts[-1].fell and record.health.probe.verdict == "healthy"


@pytest.mark.slow
@pytest.mark.parametrize("model", ["hf:gpt2", "timm:convnext_tiny"])
def test_library_models_known_to_train_get_no_trainability_flag(model, capsys):
    """Issue 21: both were called unhealthy by the old probe (a regression loss, 1e-3 without warm-up)."""
    code, data = health_json([model], capsys)
    probe = data["health"]["probe"]
    assert probe["flags"] == [] and probe["verdict"] != "unhealthy", probe["notes"]
    assert code == 0
