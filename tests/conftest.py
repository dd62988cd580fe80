"""Test session set-up: Triton runs in its CPU interpreter unless a GPU is present."""

import os
from collections.abc import Callable

import pytest
import torch

# Must be set before triton is first imported anywhere in the session.
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

from benchbench.cli import main  # after TRITON_INTERPRET is set (the parser imports no triton)

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "gpu" in item.keywords and not torch.cuda.is_available():
            item.add_marker(pytest.mark.skip(reason="gpu test: no CUDA device on this machine"))


@pytest.fixture(autouse=True)
def _history_in_tmp(tmp_path, monkeypatch):
    """`benchbench run` appends to results/history.sqlite under the working directory by default: tests keep
    theirs in their own temporary folder."""
    monkeypatch.setenv("BENCHBENCH_HISTORY", str(tmp_path / "history.sqlite"))


# ---- `cli(argv)`: the benchbench command run in this process, as a user would, returning (exit code, stdout,
# stderr), with the error contract checked on the way: no traceback, at most one line on stderr on failure.


def run_cli(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as e:  # argparse exits by itself on usage errors
        code = e.code if isinstance(e.code, int) else 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, err
    if code != 0:
        assert err.strip().count("\n") == 0, f"more than one line on stderr: {err!r}"
    return code, out, err


@pytest.fixture
def cli(capsys) -> Callable[[list[str]], tuple[int, str, str]]:
    return lambda argv: run_cli(argv, capsys)
