"""`benchbench run --executor ray` on a real local Ray instance gives the records the local executor gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchbench.cli import main
from benchbench.record.run import load_run

ray = pytest.importorskip("ray", reason="the Ray extra is not installed: pip install 'benchbench[ray]'")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _records(out: Path) -> dict[str, tuple]:
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    return {p.model: (p.status, p.params.total if p.params else None, p.flops.macs if p.flops else None)
            for p in load_run(run_dir).profiles}  # fmt: skip


def test_ray_executor_gives_the_same_records_as_the_local_one(local_ray, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # the Ray workers import the user model from the driver's working directory
    models = "mlp,resnet18,tests.runs.crashing_models:segfault"
    ray_code = main(
        ["run", "--suite", "smoke", "--models", models, "--executor", "ray", "--out", str(tmp_path / "r")]
    )
    local_code = main(["run", "--suite", "smoke", "--models", "mlp,resnet18", "--out", str(tmp_path / "l")])
    assert (ray_code, local_code) == (1, 0)  # the segfaulting model is a failed model on Ray too
    on_ray, local = _records(tmp_path / "r"), _records(tmp_path / "l")
    assert {m: on_ray[m] for m in local} == local
    assert on_ray["tests.runs.crashing_models:segfault"][0] == "crashed"


def test_ray_address_needs_the_ray_executor(tmp_path, capsys):
    assert main(["run", "--ray-address", "127.0.0.1:6379", "--out", str(tmp_path)]) == 2
    assert "--ray-address needs --executor ray" in capsys.readouterr().err
