"""The gate: check results against budgets (and optionally a baseline run) and say pass or fail per check.

A latency regression against a baseline counts only when the median grew by more than the threshold
AND a Mann-Whitney U test on the raw samples says the change is significant, so runner noise passes; the
ratio is shown with its bootstrap 95% CI.

The gate also says when a verdict rests on a noisy measurement: a latency check is marked `noisy` when its
budget lies inside the p50's (or the speed-up's) 95% CI, pass or fail (the measurement cannot tell which side
of the budget the median is on), or when it failed on a run whose noise verdict (`benchbench.core.noise`) is
noisy or unusable (load slows calls down, so the fail may be the load's; a pass with the whole CI inside the
budget stands).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchbench.ci.budgets import Budget
from benchbench.core import inert
from benchbench.core.errors import BadInputError
from benchbench.core.files import read_json
from benchbench.core.inert import xml_text
from benchbench.core.noise import run_noise
from benchbench.core.results import NoiseVerdict
from benchbench.core.schema import is_pytest_benchmark, load_pytest_benchmark
from benchbench.core.stage import BudgetMetric, stage_budgets
from benchbench.core.stats import (
    DEFAULT_ALPHA,
    Comparison,
    compare_samples,
    median_ci,
    percentile,
    tukey_outliers,
)
from benchbench.measure.records import LatencyStats, ProfileResult
from benchbench.record.run import RunResult, load_run
from benchbench.report.document import Table
from benchbench.report.markdown import markdown_table


@dataclass
class Check:
    """One verdict: `metric` of `model` against `budget` (a limit, or a baseline-relative threshold)."""

    model: str
    metric: str
    value: float | None
    budget: float | None
    passed: bool
    margin: str = ""
    note: str = ""
    config: str = ""
    noisy: bool = False  # the verdict rests on a noisy measurement (see the module doc)


def profile_key(p: ProfileResult) -> tuple:
    return (p.model, p.size, p.batch_size, p.device, p.dtype)


def _config(p: ProfileResult) -> str:
    return f"{p.size}/bs{p.batch_size}/{p.device}/{p.dtype}"


# ---- loading ---------------------------------------------------------------------------------------


def from_pytest_benchmark(d: Any, source: str) -> RunResult:
    """Convert pytest-benchmark's `--benchmark-json` output (seconds) into a RunResult (milliseconds)."""
    f = load_pytest_benchmark(d, source)
    profiles = []
    for b in f.benchmarks:
        s, extra = b.stats, b.extra_info
        data = sorted(x * 1e3 for x in s.data)
        p50 = s.median * 1e3
        lat = LatencyStats(
            n=s.rounds if s.rounds is not None else len(data), mean_ms=s.mean * 1e3, stdev_ms=s.stddev * 1e3,
            min_ms=s.min * 1e3, p50_ms=p50, p90_ms=percentile(data, 90) if data else None,
            p99_ms=percentile(data, 99) if data else None, max_ms=s.max * 1e3, batch_size=extra.batch_size,
            throughput_per_s=extra.batch_size * 1e3 / p50 if p50 > 0 else None, device=extra.device, threads=0,
            samples_ms=[x * 1e3 for x in s.data], ci95_ms=list(median_ci(data)) if data else None,
            cv=s.stddev / s.mean if s.mean > 0 else None,
            outliers=tukey_outliers(data) if data else None, stop_reason="external",
        )  # fmt: skip
        profiles.append(ProfileResult(
            model=extra.model or b.name, modality=extra.modality, size=extra.size, batch_size=extra.batch_size,
            device=extra.device, dtype=extra.dtype, latency=lat,
            env={"pytest_benchmark": f.version, "machine_info": f.machine_info, "fullname": b.fullname or b.name},
        ))  # fmt: skip
    return RunResult(suite="pytest-benchmark", device=profiles[0].device if profiles else "cpu",
                     profiles=profiles, env={"source": source}, created_at=f.datetime)  # fmt: skip


def load_results(path: str | Path) -> RunResult:
    """A run folder, a results.json, a profile JSON or pytest-benchmark JSON, as one RunResult."""
    path = Path(path)
    if path.is_file():
        d = read_json(path)
        if is_pytest_benchmark(d):
            return from_pytest_benchmark(d, str(path))
    elif not path.is_dir():
        raise BadInputError(f"no such results file or run folder: {path}")
    return load_run(path)


# ---- checks ----------------------------------------------------------------------------------------


def _memory_mb(p: ProfileResult) -> float | None:
    peak = p.memory.peak_bytes_inference if p.memory else None
    return None if peak is None else peak / 2**20


def _p50_ci(p: ProfileResult) -> list[float] | None:
    return p.latency.ci95_ms if p.latency else None


# The profile's own budget keys; each registered stage adds its own (`StageSpec.budgets`).
PROFILE_METRICS: dict[str, BudgetMetric] = {
    "p50_ms": BudgetMetric(lambda p: p.latency.p50_ms if p.latency else None, ci=_p50_ci, timing=True),
    "p90_ms": BudgetMetric(lambda p: p.latency.p90_ms if p.latency else None, timing=True),
    "p99_ms": BudgetMetric(lambda p: p.latency.p99_ms if p.latency else None, timing=True),
    "peak_memory_mb": BudgetMetric(_memory_mb),
    "params_max": BudgetMetric(lambda p: p.params.total if p.params else None, types=(int,)),
    "macs_max": BudgetMetric(lambda p: p.flops.macs if p.flops else None, types=(int,)),
}


def metrics() -> dict[str, BudgetMetric]:
    """Every budget key the gate checks: the profile's own and the registered stages'."""
    return {**PROFILE_METRICS, **stage_budgets()}


def _mark_noise(c: Check, p: ProfileResult, metric: BudgetMetric, noise: NoiseVerdict | None) -> Check:
    """Mark a timing check whose verdict the measurement's noise could have decided."""
    if not metric.timing or c.value is None:
        return c
    why = []
    ci = metric.ci(p) if metric.ci else None
    if ci is not None and ci[0] <= c.budget <= ci[1]:
        what = "p50's" if metric.direction == "max" else "speed-up's"
        fmt = ".4g" if metric.direction == "max" else ".3g"
        why.append(f"budget inside the {what} 95% CI [{ci[0]:{fmt}}, {ci[1]:{fmt}}]")
    if (
        not c.passed and noise is not None and noise.verdict != "quiet"
    ):  # load slows calls down: a fail may be its doing
        why.append(f"failed on a {noise.verdict} machine")
    if why:
        c.noisy = True
        c.note = "; ".join([x for x in (c.note, "noisy: " + ", ".join(why)) if x])
    return c


def check_limit(p: ProfileResult, key: str, limit: Any, noise: NoiseVerdict | None = None) -> Check:
    """One budget key of `p` against its limit, marked noisy where the measurement cannot decide."""
    metric = metrics()[key]
    return _mark_noise(_check_limit(p, key, limit, metric), p, metric, noise)


def _check_limit(p: ProfileResult, key: str, limit: Any, metric: BudgetMetric) -> Check:
    if metric.check is not None:
        v = metric.check(p, limit)
        return Check(model=p.model, metric=key, value=v.value, budget=v.budget, passed=v.passed, margin=v.margin,
                     note=v.note, config=_config(p))  # fmt: skip
    value = metric.extract(p)
    c = Check(model=p.model, metric=key, value=value, budget=limit, passed=False, config=_config(p))
    if value is None:
        c.note = "not measured"
        return c
    if metric.direction == "min":
        c.passed = value >= limit
        c.margin = f"{(value - limit) / limit:+.1%}"
        return c
    c.passed = value <= limit
    c.margin = f"{(limit - value) / limit:+.1%}"
    return c


def run_noise_of(run: RunResult) -> NoiseVerdict:
    """The run's recorded noise verdict, or one judged now from its env snapshot and its latencies' CIs."""
    return run.noise if run.noise is not None else run_noise(run)


def check_budgets(run: RunResult, budgets: list[Budget]) -> list[Check]:
    noise = run_noise_of(run)
    checks = []
    for p in run.profiles:
        for b in budgets:
            if b.matches(p):
                checks += [check_limit(p, key, limit, noise) for key, limit in b.limits.items()]
    return checks


def regressed(comp: Comparison, max_regression_pct: float, alpha: float = DEFAULT_ALPHA) -> bool:
    """The gate's verdict on a baseline comparison: slower by more than the threshold AND significant."""
    return comp.ratio > 1 + max_regression_pct / 100 and comp.significant(alpha)


def check_regressions(
    run: RunResult, baseline: RunResult, max_regression_pct: float, alpha: float = DEFAULT_ALPHA
) -> list[Check]:
    """p50 of every model in both runs: fails only when over the threshold and significant."""
    base = {profile_key(p): p for p in baseline.profiles}
    checks = []
    for p in run.profiles:
        b = base.get(profile_key(p))
        new_s = p.latency.samples_ms if p.latency else []
        old_s = b.latency.samples_ms if b is not None and b.latency else []
        if b is None or len(new_s) < 3 or len(old_s) < 3:
            continue
        comp = compare_samples(old_s, new_s)
        limit = 1 + max_regression_pct / 100
        sig = comp.significant(alpha)
        ci = comp.ratio_ci95
        ci_text = f", 95% CI [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""
        checks.append(
            Check(
                model=p.model, metric="p50 vs baseline", value=comp.ratio, budget=limit,
                passed=not regressed(comp, max_regression_pct, alpha), margin=f"{(limit - comp.ratio) / limit:+.1%}", config=_config(p),
                note=f"p={comp.p_value:.2g}" + (" significant" if sig else " not significant") + ci_text,
                noisy=ci is not None and ci[0] <= limit <= ci[1],
            )
        )  # fmt: skip
    return checks


# ---- output ----------------------------------------------------------------------------------------


def fmt_value(c: Check, v: float | None) -> str:
    if v is None:
        return "—"
    metric = metrics().get(c.metric)
    if metric is not None and metric.fmt is not None:
        return metric.fmt(v)
    if c.metric == "p50 vs baseline":
        return f"×{v:.3f}"
    if isinstance(v, float) and not float(v).is_integer():
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return f"{int(v):,}" if math.isfinite(v) else str(v)


def render_table(checks: list[Check], title: str = "benchbench gate"):
    from rich.table import Table
    from rich.text import Text

    t = Table(title=title)
    for col in ("model", "config", "metric", "value", "budget", "margin", "result", "note"):
        t.add_column(col)
    for c in checks:
        verdict = Text("pass", style="green") if c.passed else Text("FAIL", style="red")
        if c.noisy:
            verdict.append(" (noisy)", style="yellow")
        t.add_row(
            c.model,
            c.config,
            c.metric,
            fmt_value(c, c.value),
            fmt_value(c, c.budget),
            c.margin,
            verdict,
            c.note,
        )
    return t


def render_summary(checks: list[Check], noise: NoiseVerdict | None = None) -> str:
    """A Markdown job summary: model names and notes shown as text, never as Markdown or HTML."""
    failed = [c for c in checks if not c.passed]
    head = f"## benchbench gate: {'FAILED' if failed else 'passed'} ({len(checks) - len(failed)}/{len(checks)} checks pass)\n\n"
    if noise is not None:
        head += (
            f"Measurement noise: **{noise.verdict}**: {'; '.join(noise.reasons) or 'no sign of noise'}.\n\n"
        )
    noisy = [c for c in checks if c.noisy]
    if noisy:
        head += (f"{len(noisy)} verdict(s) rest on a noisy measurement (marked noisy): re-run them on a quieter "
                 "machine before trusting a pass or a fail.\n\n")  # fmt: skip
    table = Table(["model", "config", "metric", "value", "budget", "margin", "result", "note"], [
        [c.model, c.config, c.metric, fmt_value(c, c.value), fmt_value(c, c.budget), c.margin,
         ("pass" if c.passed else "FAIL") + (" (noisy)" if c.noisy else ""), c.note] for c in checks])  # fmt: skip
    return inert.visible(head + markdown_table(table) + "\n")


def render_junit(checks: list[Check]) -> str:
    """JUnit XML through a real XML writer, so any model name or note gives a well-formed file."""
    failures = sum(not c.passed for c in checks)
    suite = ET.Element(
        "testsuite", name="benchbench-gate", tests=str(len(checks)), failures=str(failures), errors="0"
    )
    for c in checks:
        case = ET.SubElement(
            suite, "testcase", classname=xml_text(c.model), name=xml_text(f"{c.metric} [{c.config}]")
        )
        if not c.passed:
            msg = xml_text(
                f"{c.metric} = {fmt_value(c, c.value)} exceeds budget {fmt_value(c, c.budget)} {c.note}".strip()
            )
            ET.SubElement(case, "failure", message=msg).text = msg
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


# ---- orchestration ---------------------------------------------------------------------------------

Remeasure = Callable[[ProfileResult], ProfileResult]


def remeasure_profile(p: ProfileResult) -> ProfileResult:
    """Profile the same configuration again (the retry of a failing model)."""
    from benchbench.measure.profile import profile

    return profile(
        p.model, size=p.size, batch_size=p.batch_size, seq_len=p.seq_len, device=p.device, dtype=p.dtype
    )


def evaluate(
    run: RunResult,
    budgets: list[Budget],
    *,
    baseline: RunResult | None = None,
    max_regression_pct: float = 10.0,
    alpha: float = DEFAULT_ALPHA,
    retry: int = 0,
    remeasure: Remeasure = remeasure_profile,
    log: Callable[[str], None] = lambda _msg: None,
) -> list[Check]:
    """All checks of `run`; a model failing one is re-measured up to `retry` times before its verdict stands."""

    def checks_for(r: RunResult) -> list[Check]:
        out = check_budgets(r, budgets)
        if baseline is not None:
            out += check_regressions(r, baseline, max_regression_pct, alpha)
        return out

    checks = checks_for(run)
    for attempt in range(1, retry + 1):
        failing = {(c.model, c.config) for c in checks if not c.passed}
        if not failing:
            break
        for i, p in enumerate(run.profiles):
            if (p.model, _config(p)) not in failing:
                continue
            log(f"retry {attempt}/{retry}: re-measuring {p.model} ({_config(p)})")
            try:
                run.profiles[i] = remeasure(p)
            except Exception as exc:  # a result that cannot be re-measured keeps its first verdict
                log(f"  cannot re-measure {p.model}: {type(exc).__name__}: {exc}")
        checks = checks_for(run)
    return checks
