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


def one_line(exc: BaseException, *, with_type: bool = True, limit: int = 300) -> str:
    """The one line that says what went wrong: the root cause's first meaningful line, shortened.

    An exception that knows its own summary (a `summary` attribute, e.g. both exporters' reasons) gives that.
    The chain is followed to its root (`__cause__`, else an unsuppressed `__context__`): the error that started
    it says most.
    """
    summary = getattr(exc, "summary", None)
    if isinstance(summary, str) and summary:
        return summary if len(summary) <= 2 * limit else summary[: 2 * limit - 1] + "…"
    root, seen = exc, {id(exc)}
    while (nxt := _cause(root)) is not None and id(nxt) not in seen:
        root = nxt
        seen.add(id(root))
    for e in (root, exc):
        lines = [
            ln.strip() for ln in str(e).splitlines() if ln.strip() and not set(ln.strip()) <= set("#-=~ ")
        ]
        if lines:
            text = lines[0].lstrip("# ").strip()
            text = f"{type(e).__name__}: {text}" if with_type else text
            return text if len(text) <= limit else text[: limit - 1] + "…"
    return type(exc).__name__ if with_type else repr(exc)


def _cause(exc: BaseException) -> BaseException | None:
    if exc.__cause__ is not None:
        return exc.__cause__
    return None if exc.__suppress_context__ else exc.__context__


def chain_text(exc: BaseException) -> str:
    """The texts of an exception and of every exception in its chain (causes and contexts), one per line."""
    parts, seen, e = [], set(), exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        parts.append(f"{type(e).__name__}: {e}")
        e = e.__cause__ or e.__context__
    return "\n".join(parts)
