"""The lent GPU machine installs benchbench without a registry: `pip install --no-deps --no-build-isolation -e .`
with whatever setuptools its image has. The license is declared in the table form, which setuptools 64-76 accept
(the bare SPDX string needs >= 77) and later ones accept with a deprecation warning."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_pyproject_uses_a_license_form_old_setuptools_accept():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == {"text": "Apache-2.0"}
    assert "setuptools>=64" in project["build-system"]["requires"]  # 64: PEP 660 editable installs


@pytest.mark.slow
def test_editable_install_without_build_isolation_on_an_old_setuptools(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=300
    )
    py = venv / "bin" / "python"
    # setuptools < 70.1 builds wheels through the `wheel` package, which the lent machine's image has too
    got = subprocess.run([py, "-m", "pip", "install", "-q", "setuptools<70", "wheel"], capture_output=True,
                         text=True, timeout=600)  # fmt: skip
    if got.returncode:
        pytest.skip(f"could not install an old setuptools from the package index: {got.stderr[-300:]}")
    version = subprocess.run([py, "-c", "import setuptools; print(setuptools.__version__)"], capture_output=True,
                             text=True, check=True).stdout.strip()  # fmt: skip
    assert int(version.split(".")[0]) < 70, version
    install = subprocess.run([py, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "-e", str(ROOT)],
                             capture_output=True, text=True, timeout=600)  # fmt: skip
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-2000:]
    helped = subprocess.run(
        [venv / "bin" / "benchbench", "--help"], capture_output=True, text=True, timeout=120
    )
    assert helped.returncode == 0 and "gpu-check" in helped.stdout, helped.stderr[-2000:]
    # the fallback the README documents: the checkout itself, no install
    direct = subprocess.run([sys.executable, "-m", "benchbench", "--help"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert direct.returncode == 0 and "gpu-check" in direct.stdout
