import json
import subprocess
import sys

import pytest

from benchbench.cli import main
from benchbench.record.run import load_run


def test_list_json_names_models_with_references(capsys):
    assert main(["list", "--json"]) == 0
    models = {m["name"]: m for m in json.loads(capsys.readouterr().out)["models"]}
    assert models["resnet18"]["reference_params"] == 11_689_512
    for name in ("mlp", "resnet18", "bert"):
        assert models[name]["modality"] and "tiny" in models[name]["sizes"] and models[name]["paper"]


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["profile", "nosuchmodel"], "unknown model: 'nosuchmodel'; allowed:"),
        (["profile", "mlp", "--size", "huge"], "allowed: base, tiny"),
        (["profile", "mlp", "--device", "tpu"], "allowed: cpu, cuda"),
        (["profile", "mlp", "--dtype", "float8"], "bfloat16, float16, float32"),
        (["run", "--suite", "nightly"], "unknown suite"),
        (["run", "--shard", "3/2"], "--shard"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv, needle, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err


def test_profile_nosuchmodel_as_a_process():
    out = subprocess.run(
        [sys.executable, "-m", "benchbench", "profile", "nosuchmodel"], capture_output=True, text=True
    )
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1


def test_profile_json(tmp_path):
    path = tmp_path / "p.json"
    assert main(["profile", "mlp", "--batch-size", "3", "--json", str(path)]) == 0
    d = json.loads(path.read_text())
    assert d["model"] == "mlp" and d["batch_size"] == 3 and d["params"]["total"] == 6115
    assert d["latency"]["n"] >= 1 and d["flops"]["macs"] > 0


def test_run_smoke_suite_writes_results_and_report(tmp_path):
    assert main(["run", "--suite", "smoke", "--out", str(tmp_path)]) == 0
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    run = load_run(run_dir)
    assert {p.model for p in run.profiles} == {"mlp", "resnet18", "bert"}
    assert all(p.ok for p in run.profiles)
    assert "| resnet18 |" in (run_dir / "report.md").read_text()


@pytest.mark.parametrize(
    "argv, kind",
    [
        (["profile", "mlp", "--no-memory"], "profile"),
        (["export", "mlp", "--no-quantize"], "export"),
        (["swap", "bert", "--ops", "attention", "--impl", "eager", "--rounds", "1"], "swap"),
        (["kernels", "compare", "softmax", "--impl", "eager", "--shapes", "M=3,N=17"], "kernel_compare"),
        (["health", "mlp", "--no-probe"], "health"),
        (["estimate", "mlp", "--size", "tiny", "--hardware", "l4"], None),
    ],
)
def test_json_dash_writes_only_json_to_stdout(argv, kind, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # export writes its .onnx files under the working directory
    assert main([*argv, "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)  # the tables went to stderr
    if kind is not None:
        assert data["kind"] == kind and data["schema_version"] >= 2
    else:
        assert data["model"] == "mlp" and data["inference"]


def test_help_and_version_are_fast_and_say_what_they_should():
    out = subprocess.run(
        [sys.executable, "-m", "benchbench", "--version"], capture_output=True, text=True, check=True
    )
    from benchbench import __version__

    assert out.stdout.strip() == f"benchbench {__version__}"
    out = subprocess.run(
        [sys.executable, "-m", "benchbench", "--help"], capture_output=True, text=True, check=True
    )
    for command in ("list", "profile", "export", "swap", "kernels", "estimate", "card", "health", "run", "report",
                    "gate", "history", "compare", "merge"):  # fmt: skip
        assert command in out.stdout
