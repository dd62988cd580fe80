"""`cli(argv)` for the serve tests: the command in this process, with the error contract checked (no traceback,
one line on stderr when it fails)."""

from __future__ import annotations

import pytest

from benchbench.cli import main


@pytest.fixture
def cli(capsys):
    def run(argv: list[str]) -> tuple[int, str, str]:
        try:
            code = main(argv)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 2
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err, err
        if code != 0:
            assert err.strip().count("\n") == 0, f"more than one line on stderr: {err!r}"
        return code, out, err

    return run
