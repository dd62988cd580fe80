"""The built wheel carries models/ and kernels/ as benchbench.models and benchbench.kernels, and nothing top-level."""

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
    )
    (whl,) = out.glob("benchbench-*.whl")
    return whl


def test_wheel_layout(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "benchbench/models/resnet.py" in names and "benchbench/kernels/registry.py" in names
    assert "benchbench/cli/__init__.py" in names and "benchbench/data/hardware.toml" in names
    tops = {n.split("/", 1)[0] for n in names}
    assert "models" not in tops and "kernels" not in tops and "tests" not in tops
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "benchbench = benchbench.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


@pytest.mark.slow
def test_wheel_imports_in_a_fresh_venv(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=True)  # torch etc. from the system
    py = env_dir / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True)
    code = (
        "import benchbench, benchbench.models, benchbench.kernels, pathlib;"
        "print(pathlib.Path(benchbench.models.__file__).resolve());"
        "print(benchbench.models.list_models())"
    )
    out = subprocess.run(
        [str(py), "-c", code], check=True, capture_output=True, text=True, cwd=tmp_path
    ).stdout
    path, names = out.splitlines()[:2]
    assert str(env_dir.resolve()) in path  # the wheel's copy, not the editable checkout
    assert "resnet18" in names
