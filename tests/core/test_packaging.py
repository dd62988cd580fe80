"""The built wheel carries models/ and kernels/ as benchbench.models and benchbench.kernels, and nothing top-level."""

import subprocess
import sys
import sysconfig
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
    """The wheel, installed into a new venv that sees this interpreter's packages (torch, ...) through a .pth
    file, whether this interpreter is a venv or not, imports from its own copy, not the checkout."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    py = env_dir / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()  # fmt: skip
    here = sysconfig.get_paths()
    Path(site, "parent_packages.pth").write_text(
        "\n".join(dict.fromkeys([here["purelib"], here["platlib"]])) + "\n"
    )
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", site, str(wheel)],
                   check=True)  # fmt: skip
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
