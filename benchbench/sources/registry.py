"""Model libraries by prefix: `torchvision:NAME`, `timm:NAME`, `hf:NAME` each build a `Target` offline.

A source registers with `@register_source(prefix, ...)` on its builder
`build(name, batch_size, seq_len, seed, task) -> Target`. `load_target` looks the prefix up here; the library
itself is imported only when a name of it is built, so a missing optional extra costs nothing until then.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass

from benchbench.core.errors import BadInputError
from benchbench.core.registry import Registry
from benchbench.sources.base import Target

Builder = Callable[[str, int, "int | None", int, "str | None"], Target]


@dataclass(frozen=True)
class LibrarySource:
    """One model library: its name prefix, the pip extra that installs it, and how it builds a name."""

    prefix: str
    package: str  # the import name that must be installed
    extra: str  # benchbench[EXTRA]
    build: Builder
    example: str
    tasks: tuple[str, ...] = ()  # task heads `--task` may pick; empty: the library has no task option

    def __post_init__(self) -> None:
        if not self.prefix.isidentifier():
            raise ValueError(f"source prefix {self.prefix!r} must be an identifier")

    def require(self) -> None:
        """BadInputError naming the extra to install when the library is missing."""
        if importlib.util.find_spec(self.package) is None:
            raise BadInputError(
                f"model names {self.prefix}:NAME need {self.package}, which is not installed: "
                f"pip install 'benchbench[{self.extra}]'"
            )


SOURCES: Registry[LibrarySource] = Registry("model source")


def register_source(
    prefix: str, *, package: str, extra: str, example: str, tasks: tuple[str, ...] = ()
) -> Callable[[Builder], Builder]:
    """File `build` as the source of `prefix:NAME` model names."""

    def wrap(build: Builder) -> Builder:
        SOURCES.add(prefix, LibrarySource(prefix, package, extra, build, example, tasks))
        return build

    return wrap


def source_of(model: str) -> tuple[LibrarySource, str] | None:
    """(source, name) when `model` is `PREFIX:NAME` for a registered prefix, else None."""
    prefix, sep, name = model.partition(":")
    if not sep or prefix not in SOURCES:
        return None
    if not name:
        raise BadInputError(f"model {model!r}: give a name after {prefix}:, e.g. {SOURCES[prefix].example}")
    return SOURCES[prefix], name
