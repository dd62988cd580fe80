"""Budgets files: validation names the file, the key and what is allowed; bad files exit 2."""

from __future__ import annotations

import pytest

from benchbench.ci.budgets import load_budgets
from benchbench.cli import main
from benchbench.core.errors import BadInputError

GOOD = """
[[budget]]
model = "resnet*"
size = "tiny"
batch_size = 1
device = "cpu"
dtype = "float32"
p50_ms = 25.0
p99_ms = 40
peak_memory_mb = 300
params_max = 1_000_000
onnx_ready = true
"""


def test_valid_budgets_parse(tmp_path) -> None:
    f = tmp_path / "b.toml"
    f.write_text(GOOD)
    (b,) = load_budgets(f)
    assert b.selectors == {
        "model": "resnet*",
        "size": "tiny",
        "batch_size": 1,
        "device": "cpu",
        "dtype": "float32",
    }
    assert b.limits["p99_ms"] == 40 and b.limits["onnx_ready"] is True


@pytest.mark.parametrize(
    "body, key, allowed",
    [
        ("[[budget]]\np50_msec = 3.0\n", "'p50_msec'", "p50_ms"),  # unknown key (a typo)
        ("[[budget]]\np50_ms = 'fast'\n", "'p50_ms'", "number"),  # wrong type
        ("[[budget]]\nbatch_size = 1.5\np50_ms = 3.0\n", "'batch_size'", "int"),
        ("[[budget]]\nparams_max = true\n", "'params_max'", "int"),  # a bool is not an int here
        ("[[budget]]\nonnx_ready = false\n", "'onnx_ready'", "true"),
        ("[[budget]]\np50_ms = -1.0\n", "'p50_ms'", "> 0"),
        ("[[budget]]\nmodel = 'mlp'\n", "limit", "p50_ms"),  # selects but limits nothing
        ("[budget]\np50_ms = 3.0\n", "[[budget]]", "[[budget]]"),  # a table, not an array of tables
        ("[[budget]\np50_ms = 3.0\n", "TOML", "TOML"),
    ],
)
def test_malformed_budgets_name_the_key(tmp_path, body: str, key: str, allowed: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(body)
    with pytest.raises(BadInputError) as err:
        load_budgets(f)
    msg = str(err.value)
    assert str(f) in msg and key in msg and allowed in msg


def test_malformed_budgets_exit_2_via_cli(tmp_path, write_run, capsys) -> None:
    run = write_run("r", {"mlp": (2.0, 0.02)})
    f = tmp_path / "bad.toml"
    f.write_text("[[budget]]\nmodel = 'mlp'\np95_ms = 3.0\n")
    assert main(["gate", str(run), "--budgets", str(f)]) == 2
    err = capsys.readouterr().err
    assert "p95_ms" in err and "allowed" in err and "p99_ms" in err


def test_budget_matching_no_result_exits_2(tmp_path, write_run, capsys) -> None:
    run = write_run("r", {"mlp": (2.0, 0.02)})
    f = tmp_path / "b.toml"
    f.write_text("[[budget]]\nmodel = 'resnt*'\np50_ms = 3.0\n")
    assert main(["gate", str(run), "--budgets", str(f)]) == 2
    err = capsys.readouterr().err
    assert "matches no result" in err and "model=resnt*" in err and "mlp/tiny" in err


def test_budget_for_absent_device_is_not_applicable(tmp_path, write_run, capsys) -> None:
    run = write_run("r", {"mlp": (2.0, 0.02)})
    f = tmp_path / "b.toml"
    f.write_text("[[budget]]\np50_ms = 100.0\n[[budget]]\ndevice = 'cuda'\np50_ms = 0.001\n")
    assert main(["gate", str(run), "--budgets", str(f)]) == 0
    assert "not applicable" in capsys.readouterr().out


def test_missing_budgets_file_exits_2(write_run, tmp_path) -> None:
    run = write_run("r", {"mlp": (2.0, 0.02)})
    assert main(["gate", str(run), "--budgets", str(tmp_path / "nope.toml")]) == 2


def test_example_budgets_file_is_valid() -> None:
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "examples" / "budgets.toml"
    budgets = load_budgets(example)
    assert len(budgets) >= 2 and any(b.selectors.get("model") == "resnet*" for b in budgets)
