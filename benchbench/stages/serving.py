"""The `serving` stage: each model's max QPS within a p99 budget relative to its own speed (`serve`), its report
section (measured cost, probes, load curve) and the budgets `max_p99_ms_at_qps` and `min_qps_at_p99`.

The p99 budget is SERVING_P99_FACTOR × the model's batch-1 p50 on the serving threads (at least
SERVING_P99_FLOOR_MS), so every model has a knee to find, in short probes (the minimum 368 queries each, at most
SERVING_MAX_PROBES of them and SERVING_PROBE_S each, so no rate below 368 / SERVING_PROBE_S is probed). It takes
tens of seconds per model on two cores, so no built-in CPU suite runs it; a suite file lists it in `stages`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from benchbench.core.errors import BadInputError
from benchbench.core.stage import BudgetMetric, BudgetVerdict, StageContext, stage
from benchbench.measure.records import ProfileResult
from benchbench.record.run import RunResult
from benchbench.report.document import NOT_MEASURED, Block, Section
from benchbench.report.run_report import model_label
from benchbench.report.serving import serving_blocks
from benchbench.serve.records import ServeResult, ServerProbe

if TYPE_CHECKING:
    from benchbench.sources.target import Target

SERVING_P99_FACTOR = 5.0
SERVING_P99_FLOOR_MS = 20.0
SERVING_MAX_PROBES = 6
SERVING_PROBE_S = 20.0

# The budgets are inline tables of two positive numbers:
#   max_p99_ms_at_qps = { qps = 100, p99_ms = 20 }   at 100 queries/s offered, the p99 is at most 20 ms
#   min_qps_at_p99 = { p99_ms = 20, qps = 100 }      with the p99 at most 20 ms, at least 100 queries/s
SERVING_KEYS = ("qps", "p99_ms")


def serving_section(run: RunResult) -> Section:
    """What the serving stage measured per model: the measured cost, the probes, the load curve."""
    blocks: list[Block] = []
    for i, p in enumerate(run.profiles):
        if p.serving is not None:
            blocks += [f"**{model_label(p)}**", *serving_blocks(p.serving, f"serving_load_{i}")]
    return Section("serving", "Serving (measured)", blocks or [
        f"Serving scenarios: {NOT_MEASURED} (add the `serving` stage to a suite file, or run `benchbench serve`)."])  # fmt: skip


def serving_probes(p: ProfileResult) -> list[ServerProbe]:
    """The serving stage's server probes of its first backend that ran (its search, the check above, one rate)."""
    b = next((b for b in (p.serving.backends if p.serving else []) if b.skipped is None), None)
    if b is None:
        return []
    probes = (
        list(b.search.probes) + ([b.search.above] if b.search and b.search.above else []) if b.search else []
    )
    return probes + ([b.server] if b.server is not None else [])


def check_table(where: str, key: str, value: dict[str, Any]) -> None:
    """A serving budget is a table of exactly qps and p99_ms, both finite and > 0."""
    if set(value) != set(SERVING_KEYS):
        raise BadInputError(f"{where}: key {key!r} must be a table of exactly qps and p99_ms, "
                            f"e.g. {key} = {{ qps = 100, p99_ms = 20 }}; got keys {sorted(value)}")  # fmt: skip
    for k, v in value.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v > 0):
            raise BadInputError(f"{where}: {key}.{k} must be a finite number > 0, got {v!r}")


def max_p99_at_qps(p: ProfileResult, limit: dict[str, float]) -> BudgetVerdict:
    """The p99 of the lowest probed rate at or above `qps` (latency grows with load, so it bounds the p99 at
    `qps` from above)."""
    at = min((q for q in serving_probes(p) if q.target_qps >= limit["qps"]), key=lambda q: q.target_qps,
             default=None)  # fmt: skip
    if at is None:
        return BudgetVerdict(
            None,
            limit["p99_ms"],
            False,
            note=f"not measured: no serving probe at or above {limit['qps']:g} QPS",
        )
    value = at.latency.p99_ms
    passed = at.unanswered == 0 and at.stop_reason == "done" and value <= limit["p99_ms"]
    note = f"p99 at {at.target_qps:,.1f} QPS offered (>= {limit['qps']:g})" + (
        "" if at.stop_reason == "done" else f", probe stopped: {at.stop_reason}")  # fmt: skip
    return BudgetVerdict(
        value, limit["p99_ms"], passed, f"{(limit['p99_ms'] - value) / limit['p99_ms']:+.1%}", note
    )


def min_qps_at_p99(p: ProfileResult, limit: dict[str, float]) -> BudgetVerdict:
    """The highest probed rate whose p99 met `p99_ms` with every query answered (a rate measured to hold it)."""
    probes = serving_probes(p)
    if not probes:
        return BudgetVerdict(None, limit["qps"], False, note="not measured: no serving stage")
    held = [q.target_qps for q in probes
            if q.unanswered == 0 and q.stop_reason == "done" and q.latency.p99_ms <= limit["p99_ms"]]  # fmt: skip
    value = max(held, default=0.0)
    return BudgetVerdict(value, limit["qps"], value >= limit["qps"], f"{(value - limit['qps']) / limit['qps']:+.1%}",
                         f"highest probed rate with p99 <= {limit['p99_ms']:g} ms")  # fmt: skip


def serving_p99_budget_ms(target: Target) -> float:
    """SERVING_P99_FACTOR × the batch-1 p50 timed here on the threads serving uses (not the profile's, which ran
    on the run's threads), at least SERVING_P99_FLOOR_MS."""
    import torch

    from benchbench.core.forward import forward_fn
    from benchbench.measure.sweep import num_threads
    from benchbench.measure.timing import TimingConfig, measure
    from benchbench.serve.scenarios import default_threads, query_pool

    query = query_pool(target, 1)[0]
    device = next((p.device for p in target.model.parameters()), torch.device("cpu"))
    with num_threads(default_threads()):
        stats = measure(forward_fn(target.model.eval(), query, device, torch.float32), device=device,
                        config=TimingConfig(warmup=2, min_repeats=10, max_repeats=200, min_time_s=0.1, max_time_s=0.5))  # fmt: skip
    return max(SERVING_P99_FLOOR_MS, SERVING_P99_FACTOR * stats.p50_ms)


_TABLE = {"extract": None, "types": (dict,), "validate": check_table}


@stage("serving", record=ServeResult, section=serving_section, order=80,
       budgets={"max_p99_ms_at_qps": BudgetMetric(**_TABLE, direction="max", check=max_p99_at_qps),
                "min_qps_at_p99": BudgetMetric(**_TABLE, direction="min", check=min_qps_at_p99)})  # fmt: skip
def serving_stage(target: Target, result: ProfileResult, ctx: StageContext) -> ServeResult:
    """Eager serving of `target`: the max QPS within `serving_p99_budget_ms`, its probes (the load curve the
    report plots) and the measured cost (no price on a CPU: the hardware table prices GPUs only)."""
    from benchbench.serve.cost import attach_costs
    from benchbench.serve.scenarios import ServeConfig, default_threads, serve_target
    from benchbench.serve.search import MIN_QUERIES

    cfg = ServeConfig(scenario="server", find_max=True, p99_budget_ms=serving_p99_budget_ms(target),
                      queries=MIN_QUERIES, min_duration_s=0.5, max_duration_s=SERVING_PROBE_S, max_probes=SERVING_MAX_PROBES,
                      tolerance=0.1, threads=default_threads())  # fmt: skip
    return attach_costs(serve_target(target, ["eager"], cfg, device=ctx.device))
