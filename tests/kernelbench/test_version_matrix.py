"""The version matrix: every Triton kernel compiled for sm_90 with the lent H200's Triton (3.6, in a side
virtualenv under /tmp, installed from the package index) and with this environment's. Slow: it installs Triton
once (then reuses the virtualenv) and compiles every kernel twice."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchbench.kernelbench.gpu_compile import toolchain_problem

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.skipif(toolchain_problem() is not None, reason="Triton cannot compile for CUDA here")
def test_every_kernel_compiles_with_triton_36_and_our_own():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "triton_version_matrix.py"), "--versions", "3.6.*",
                           "--target", "sm_90", "--subset", "ci"], capture_output=True, text=True, timeout=3000)  # fmt: skip
    if proc.returncode and "pip" in proc.stderr and "triton==" in proc.stderr:
        pytest.skip(f"could not install Triton 3.6 from the package index: {proc.stderr[-300:]}")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert any(line.startswith("triton 3.6") and "exit 0, 0 failures" in line for line in lines)
    assert any(line.startswith("triton 3.9") and "exit 0, 0 failures" in line for line in lines)
    fwd = lines[lines.index("attention/_attn_fwd sm_90") + 1 : lines.index("attention/_attn_fwd sm_90") + 3]
    assert all("HGMMA" in row and "TMA 0" not in row for row in fwd), (
        fwd
    )  # both versions: wgmma and TMA loads
