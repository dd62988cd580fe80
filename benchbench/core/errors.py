"""Errors the CLI turns into exit codes: bad input (2) and failed checks (1)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class BadInputError(ValueError):
    """A name, option or file the user gave is wrong; the message says what is allowed. Exit code 2."""


class CheckFailedError(RuntimeError):
    """A gate or check ran and failed. Exit code 1."""


def unknown_name(kind: str, name: str, allowed: Iterable[str]) -> BadInputError:
    """Build the one-line error for an unknown `kind` called `name`, naming the allowed values and close ones."""
    allowed = sorted(allowed)
    close = difflib.get_close_matches(name, allowed, n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return BadInputError(f"unknown {kind}: {name!r}; allowed: {', '.join(allowed)}.{hint}")
