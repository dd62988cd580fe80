"""`cli(argv)`: run the benchbench command in this process, as a user would, and return (exit code, stdout, stderr);
it checks the error contract on the way: no traceback, and at most one line on stderr when the command fails."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from benchbench.cli import main


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
