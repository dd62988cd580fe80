"""Test session set-up: Triton runs in its CPU interpreter unless a GPU is present."""

import os

import pytest
import torch

# Must be set before triton is first imported anywhere in the session.
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

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
