"""The built-in run stages, one module each, and the loading of third-party ones.

Importing this package registers every built-in stage (`export`, `deploy_matrix`, `health`, `generation`, `swap`, `serving`, `trace`) in
`benchbench.core.stage.STAGES`, and those of installed distributions. Stages of other packages are registered by importing their module: those an
installed distribution names in the entry-point group `benchbench.stages`, and those named on the command line
(`benchbench --plugin MODULE ...`) or recorded in a run's settings. See `benchbench/runs/ADD_STAGE.md`.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from benchbench.core.errors import BadInputError, one_line
from benchbench.stages import (  # noqa: F401  (registers the built-in stages)
    deploy_matrix,
    export,
    generation,
    health,
    serving,
    swap,
    trace,
)

ENTRY_POINT_GROUP = "benchbench.stages"
_loaded: set[str] = set()


def load_plugins(modules: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Import the stage modules of installed distributions (once) and `modules` (names as `import` takes them);
    a module that cannot be imported is one BadInputError line. Returns the modules imported now or before."""
    if ENTRY_POINT_GROUP not in _loaded:
        _loaded.add(ENTRY_POINT_GROUP)
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            _import(ep.value.split(":")[0], f"entry point {ep.name!r}")
    for name in modules:
        _import(name, "--plugin")
    return sorted(_loaded - {ENTRY_POINT_GROUP})


def _import(name: str, what: str) -> None:
    if name in _loaded:
        return
    try:
        importlib.import_module(name)
    except Exception as exc:
        raise BadInputError(f"{what}: cannot import stage module {name!r}: {one_line(exc)}") from None
    _loaded.add(name)


load_plugins()  # the installed distributions' stages are there whenever the built-in ones are
