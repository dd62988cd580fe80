"""The one registry idiom: a decorator (or `add`) filling a typed, ordered dict of named entries.

Stages, executors, serving backends, CLI commands, kernels and model sources each keep one `Registry`. A name
registered twice is an error (two plug-ins must not silently replace each other); a name that is not registered
is one `BadInputError` line listing the known names and the close ones, which is also what `--help` and the
validation of suite and budgets files print.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from benchbench.core.errors import unknown_name

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one kind (`kind` is the word used in error messages: "stage", "executor", ...)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T) -> T:
        """Register `entry` as `name`; a name already taken raises ValueError (a programming error, not input)."""
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = entry
        return entry

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: `@REGISTRY.register("name")` over the entry (a function or a class)."""

        def decorate(entry: T) -> T:
            return self.add(name, entry)

        return decorate

    def remove(self, name: str) -> None:
        """Forget `name` (tests that register a temporary entry clean up with this)."""
        self._entries.pop(name, None)

    def get(self, name: str) -> T:
        """The entry called `name`, or one BadInputError line listing the known names and the close ones."""
        try:
            return self._entries[name]
        except KeyError:
            raise unknown_name(self.kind, name, self._entries) from None

    def names(self) -> list[str]:
        """Every registered name, in registration order."""
        return list(self._entries)

    def list(self, pattern: str = "*") -> list[str]:
        """Registered names matching the shell-style `pattern`, in registration order."""
        return [n for n in self._entries if fnmatch.fnmatchcase(n, pattern)]

    def items(self) -> list[tuple[str, T]]:
        """(name, entry) pairs, in registration order."""
        return list(self._entries.items())

    def values(self) -> list[T]:
        """Every entry, in registration order."""
        return list(self._entries.values())

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, name: str) -> T:
        return self._entries[name]
