"""`benchbench export`: exit codes and the JSON it writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchbench.cli import main

MODELS_FILE = str(Path(__file__).with_name("onnx_models.py"))


def test_export_writes_json_with_parity_and_ratio(tmp_path):
    out = tmp_path / "r.json"
    code = main(
        [
            "export",
            "mlp",
            "--size",
            "tiny",
            "--out",
            str(tmp_path / "onnx"),
            "--json",
            str(out),
            "--no-quantize",
        ]
    )
    assert code == 0
    d = json.loads(out.read_text())["export"]
    assert d["verdict"] == "ready"
    assert [c["batch_size"] for c in d["parity"]["cases"]] == [1, 5]
    assert all(o["verdict"] == "ok" and o["tol"]["rel"] == 1e-4 for o in d["parity"]["outputs"])
    assert all(0 <= o["rel_err"] <= 1e-4 and o["ref_rms"] > 1e-3 for o in d["parity"]["outputs"])
    assert d["ratio"] > 0
    assert Path(d["file"]).is_file() and Path(d["optimized_file"]).is_file()


def test_not_ready_exits_1(tmp_path):
    code = main(["export", f"{MODELS_FILE}:unexportable", "--out", str(tmp_path), "--no-quantize"])
    assert code == 1


@pytest.mark.parametrize(
    "argv, message",
    [
        (["export", "resnet19"], "unknown model"),
        (["export", "mlp", "--size", "huge"], "unknown size"),
        (["export", "mlp", "--batch-size", "1"], "--batch-size must be >= 2"),
    ],
)
def test_bad_input_exits_2(argv, message, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
