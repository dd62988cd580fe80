"""An hf:DIR folder's own Python never runs unless --trust-remote-code is given, and nothing asks on stdin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("transformers")

from benchbench.cli.common import TRUST_ENV as CLI_TRUST_ENV
from benchbench.sources.hf import TRUST_ENV, TRUST_FLAG

EVIL = """
import pathlib
pathlib.Path({marker!r}).write_text("the folder's code ran")
from transformers import PretrainedConfig
class EvilConfig(PretrainedConfig):
    model_type = "evilthing"
"""


def _evil_folder(tmp_path: Path) -> tuple[Path, Path]:
    folder, marker = tmp_path / "evil", tmp_path / "RAN"
    folder.mkdir()
    auto_map = {"AutoConfig": "evil.EvilConfig", "AutoModel": "evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps({"model_type": "evilthing", "auto_map": auto_map}))
    (folder / "evil.py").write_text(EVIL.format(marker=str(marker)))
    return folder, marker


def _benchbench(argv: list[str], tmp_path: Path, stdin: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != TRUST_ENV}
    env["HF_MODULES_CACHE"] = str(tmp_path / "modules")  # where transformers would copy the folder's code
    return subprocess.run([sys.executable, "-m", "benchbench", *argv], input=stdin, capture_output=True,
                          text=True, env=env, timeout=300, cwd=tmp_path)  # fmt: skip


def test_the_flag_and_its_variable_are_one_name():
    assert CLI_TRUST_ENV == TRUST_ENV and TRUST_FLAG == "--trust-remote-code"


def test_a_folder_with_its_own_code_is_refused_even_when_stdin_says_yes(tmp_path):
    folder, marker = _evil_folder(tmp_path)
    r = _benchbench(["profile", f"hf:{folder}"], tmp_path, stdin="y\ny\ny\n")
    assert r.returncode == 2, r.stderr
    assert not marker.exists()
    assert not (tmp_path / "modules").exists()  # not even copied into transformers' module cache
    assert r.stderr.count("\n") == 1 and "--trust-remote-code" in r.stderr, r.stderr
    assert "[y/N]" not in r.stdout + r.stderr  # nothing asked on standard input


def test_an_unknown_model_type_is_refused_without_asking(tmp_path, cli, monkeypatch):
    monkeypatch.setattr("sys.stdin", None)  # a prompt would fail loudly rather than wait
    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "evilthing"}))
    code, _, err = cli(["estimate", f"hf:{folder}", "--hardware", "l4"])
    assert code == 2 and "'evilthing' is not a transformers model type" in err


def test_the_folder_code_is_never_imported_in_process(tmp_path, monkeypatch):
    from benchbench.core.errors import BadInputError
    from benchbench.sources.target import load_target

    monkeypatch.delenv(TRUST_ENV, raising=False)
    monkeypatch.setenv("HF_MODULES_CACHE", str(tmp_path / "modules"))
    monkeypatch.setattr("sys.stdin", None)  # a prompt would fail loudly rather than wait
    folder, marker = _evil_folder(tmp_path)
    with pytest.raises(BadInputError, match="--trust-remote-code"):
        load_target(f"hf:{folder}", None, 1)
    assert not marker.exists()


def test_with_the_flag_the_folder_code_runs(tmp_path, monkeypatch):
    """The opt-in really opts in: transformers imports the folder's module (which here writes the marker)."""
    from benchbench.sources.target import load_target

    monkeypatch.setenv(TRUST_ENV, "1")
    monkeypatch.setenv("HF_MODULES_CACHE", str(tmp_path / "modules"))
    folder, marker = _evil_folder(tmp_path)
    with pytest.raises(Exception):  # noqa: B017 - the folder defines no EvilModel; its import is what counts
        load_target(f"hf:{folder}", None, 1)
    assert marker.exists()
