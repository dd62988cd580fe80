"""What a run stage is, and the one registry the runner, the report, the gate and the budgets file read.

A stage adds one measurement to every model of a run, after its profile. It is declared once, by the decorator
`stage(...)` over its run function, in the module that owns it (the built-in ones in `benchbench/stages/`):

    @stage("sparsity", record=Sparsity, section=sparsity_section, order=85, suites=("default",),
           budgets={"zero_fraction_min": BudgetMetric(lambda p: p.sparsity and p.sparsity.zero_fraction, "min")})
    def sparsity_stage(target, result, ctx) -> Sparsity: ...

and from then on:
- `benchbench.runs.jobs.run_job` runs it (in `order`) for runs whose settings list its name, and its record is
  `result.stages[name]`, also readable as `result.<name>`;
- the schema layer writes the record under the key `name` of the profile in results.json and validates it
  against `record` on load;
- the run report places `section(run)` (a `benchbench.report.document.Section` or None) at `order` among its
  fixed sections;
- the budgets file accepts each key of `budgets`, and the gate checks it with its metric and direction;
- the built-in suites named in `suites` run it unless they list their stages themselves;
- `latencies(record)`, when given, lists the latencies it timed, which the run's noise verdict weighs.

This module names no higher layer: a stage's callables are typed loosely here and precisely where they are
defined. Third-party stages register the same way; see `benchbench/runs/ADD_STAGE.md`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchbench.core.registry import Registry

DIRECTIONS = ("max", "min")  # "max": the value may be at most the limit; "min": at least the limit


@dataclass
class StageContext:
    """What a stage gets besides the target: where the run writes files and on what device."""

    out_dir: Path
    device: str
    dtype: str = "float32"


@dataclass(frozen=True)
class BudgetVerdict:
    """A custom budget check's verdict (for limits that are not one number against one value)."""

    value: float | None
    budget: float | None
    passed: bool
    margin: str = ""
    note: str = ""


@dataclass(frozen=True)
class BudgetMetric:
    """One budget key of a stage: how to read its value from a profile and which way the limit goes.

    extract(profile) -> float | None (None: not measured). `types` are the TOML value types the budgets file
    accepts for the key; `validate(where, key, value)` raises BadInputError for a value of the right type that
    is still wrong. `ci(profile) -> [lo, hi] | None` is the value's 95% CI, and `timing` marks a figure that
    load can move: the gate then says when a verdict rests on noise. `check(profile, limit) -> BudgetVerdict`
    replaces the plain comparison for limits that are not a single number (a table, a flag); `fmt` prints a
    value that is not a plain number.
    """

    extract: Callable[[Any], float | None] | None
    direction: str = "max"
    types: tuple[type, ...] = (int, float)
    validate: Callable[[str, str, Any], None] | None = None
    ci: Callable[[Any], list[float] | None] | None = None
    timing: bool = False
    check: Callable[[Any, Any], BudgetVerdict] | None = None
    fmt: Callable[[float], str] | None = None  # how the gate prints its value (default: a number)

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"budget direction {self.direction!r}; allowed: {', '.join(DIRECTIONS)}")
        if self.extract is None and self.check is None:
            raise ValueError("a budget metric needs an extractor or a check")


@dataclass(frozen=True)
class StageSpec:
    """Everything the run, the schema, the report and the gate need to know of one stage (see the module doc)."""

    name: str  # also the key of its record in each profile of results.json
    record: type  # the dataclass its run function returns
    run: Callable[[Any, Any, StageContext], Any]  # (target, profile so far, context) -> record
    section: Callable[[Any], Any] | None = None  # (run) -> Section | None
    section_id: str | None = None  # the report section's id (default: the stage's name)
    budgets: dict[str, BudgetMetric] = field(default_factory=dict)
    suites: tuple[str, ...] = ()  # built-in suites that run it by default
    order: int = 1000  # run order, and the report section's place among the report's own (10, 20, ...)
    latencies: Callable[[Any], list[Any]] | None = (
        None  # record -> the LatencyStats it timed (the noise verdict)
    )

    @property
    def module(self) -> str:
        """The module that registered it (a run's workers import it before their first job)."""
        return self.run.__module__


STAGES: Registry[StageSpec] = Registry("stage")


def stage(
    name: str,
    *,
    record: type,
    section: Callable[[Any], Any] | None = None,
    section_id: str | None = None,
    budgets: dict[str, BudgetMetric] | None = None,
    suites: tuple[str, ...] = (),
    order: int = 1000,
    latencies: Callable[[Any], list[Any]] | None = None,
) -> Callable[[Callable], Callable]:
    """Decorator registering the run function below it as the stage `name` (see the module doc)."""

    def decorate(fn: Callable) -> Callable:
        taken = {k for s in STAGES.values() for k in s.budgets} & set(budgets or {})
        if taken:
            raise ValueError(f"stage {name!r}: budget key {sorted(taken)[0]!r} is already another stage's")
        spec = StageSpec(
            name, record, fn, section, section_id, dict(budgets or {}), tuple(suites), order, latencies
        )
        STAGES.add(name, spec)
        return fn

    return decorate


def ordered_stages() -> list[StageSpec]:
    """Every registered stage in run order."""
    return sorted(STAGES.values(), key=lambda s: s.order)


def suite_stages(suite: str) -> tuple[str, ...]:
    """The stages a built-in suite runs by default, in run order."""
    return tuple(s.name for s in ordered_stages() if suite in s.suites)


def stage_budgets() -> dict[str, BudgetMetric]:
    """Every stage's budget keys."""
    return {k: m for s in ordered_stages() for k, m in s.budgets.items()}


def selected_stages(patterns: list[str] | tuple[str, ...]) -> list[StageSpec]:
    """The registered stages whose names match one of the shell-style `patterns`, in run order."""
    return [s for s in ordered_stages() if any(fnmatch.fnmatchcase(s.name, p) for p in patterns)]


def stage_plugins(patterns: list[str] | tuple[str, ...]) -> list[str]:
    """The modules outside benchbench that registered the selected stages (a run's workers import them)."""
    return sorted({s.module for s in selected_stages(patterns) if not s.module.startswith("benchbench.")})
