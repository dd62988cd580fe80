"""`benchbench deploy` refuses every wrong input with one line (exit 2) before it builds anything."""

from __future__ import annotations

import pytest

import benchbench.matrix.matrix as matrix_module

NASTY = [
    "nan",
    "inf",
    "-1",
    "0",
    "1e400",
    "",
    " ",
    "[red]x[/]",
    "<script>",
    "abc",
    "1,,x",
    "a:b",
    "../..",
    "%s",
]
OPTIONS = ["--runtimes", "--precisions", "--batch-size", "--threads", "--samples", "--max-quality-drop", "--eval",
           "--seq-len", "--size"]  # fmt: skip


class Reached(BaseException):
    pass


@pytest.fixture
def no_work(monkeypatch):
    def reached(*a, **k):
        raise Reached

    monkeypatch.setattr(matrix_module, "run_matrix", reached)


@pytest.mark.parametrize("option", OPTIONS)
@pytest.mark.parametrize("value", NASTY)
def test_wrong_values_are_one_line_errors(cli, no_work, tmp_path, option, value):
    try:
        code, _, err = cli(["deploy", "mlp", option, value, "--out", str(tmp_path / "o")])
    except Reached:  # a value that is fine for this option: the command got as far as building the matrix
        return
    assert code == 2, (option, value, err)
    assert err.startswith("benchbench") and err.strip().count("\n") == 0
