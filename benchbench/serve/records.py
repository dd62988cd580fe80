"""The records of serving scenarios (`benchbench serve` and the run's `serving` stage)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from benchbench.core.results import now_iso
from benchbench.core.schema import record_kind
from benchbench.core.stats import percentile
from benchbench.measure.records import LatencyStats


@dataclass
class EndToEndLatency:
    """Percentiles of end-to-end query latency (arrival to answer, queueing included) in ms over `n` queries,
    with the distribution-free 95% CI of the p90 and the p99 (`core.stats.quantile_ci`; a bound is None where
    `n` is too small to give it: the p99 needs 368 queries for an upper bound)."""

    n: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    p90_ci95_ms: list[float | None]
    p99_ci95_ms: list[float | None]

    @classmethod
    def from_samples(cls, samples_ms: list[float]) -> EndToEndLatency:
        from benchbench.core.stats import quantile_ci

        if not samples_ms:
            raise ValueError("no latency samples")
        s = sorted(samples_ms)
        return cls(n=len(s), p50_ms=percentile(s, 50), p90_ms=percentile(s, 90), p99_ms=percentile(s, 99),
                   max_ms=s[-1], mean_ms=statistics.fmean(s), p90_ci95_ms=list(quantile_ci(s, 0.90, presorted=True)),
                   p99_ci95_ms=list(quantile_ci(s, 0.99, presorted=True)))  # fmt: skip


@dataclass
class SingleStream:
    """One query at a time, the next issued when the previous is answered (MLPerf's SingleStream): the p90."""

    latency: EndToEndLatency
    elapsed_s: float


@dataclass
class OfflinePoint:
    """Throughput at one batch size: `latency` of whole batches; throughput = batch × 1000 / p50, with the
    interval that the p50's 95% CI gives it."""

    batch_size: int
    latency: LatencyStats
    throughput_per_s: float
    throughput_ci95: list[float] | None = None


@dataclass
class Offline:
    """Every query available at once (MLPerf's Offline): the largest throughput over the batch sizes that fit."""

    points: list[OfflinePoint]
    best_batch_size: int
    best_throughput_per_s: float
    skipped_batches: dict[str, str] = field(default_factory=dict)  # batch size -> why it was not run


@dataclass
class ServerProbe:
    """Poisson arrivals at `target_qps` for `queries` queries, served with dynamic batching.

    `latency` is end to end (queueing included) over the queries answered; `unanswered` queries were still
    waiting when the probe stopped and enter the percentiles with their waiting time so far (a lower bound, so a
    p99 with `unanswered` above 1% of the queries is itself a lower bound). `within_budget` is None when no p99
    budget was given. `stop_reason`: "done" (all answered), "over_budget" (so many queries had already exceeded
    the budget that the p99 could no longer meet it), "time_cap"."""

    target_qps: float
    queries: int
    answered: int
    unanswered: int
    latency: EndToEndLatency
    achieved_qps: float  # answered / (last answer - first arrival)
    mean_batch: float
    queue_p99_ms: float  # waiting before the batch started, p99
    issue_lag_p99_ms: float  # how late the load generator issued queries against the Poisson schedule
    elapsed_s: float
    stop_reason: str
    budget_ms: float | None = None
    within_budget: bool | None = None


@dataclass
class MaxQpsSearch:
    """The highest Poisson rate whose p99 stays within `budget_ms`: bracket (rates ×2 or ÷2) then bisect, at
    most `max_probes` probes. `max_qps` is the highest passing rate (None: none passed); `at` is its probe and
    `above` the confirming probe at `check_factor` × `max_qps`."""

    budget_ms: float
    probes: list[ServerProbe]
    max_qps: float | None
    at: ServerProbe | None
    above: ServerProbe | None
    lowest_failing_qps: float | None
    stop_reason: (
        str  # "resolved" (bracket within the tolerance), "max_probes", "none_passed", "no_failure_found"
    )
    tolerance: float
    max_probes: int
    check_factor: float = 1.2
    min_queries: int = 368


@dataclass
class ServingCost:
    """Cost per 1M queries from a measured rate: price_per_hour / (qps × 3600) × 1e6, on the device measured.
    `cost_per_million_usd` is None when there is no price ("no price"): benchbench never assumes one."""

    device: str  # what was measured: "local CPU (...)" or a GPU's name
    qps: float | None
    qps_source: str  # "max QPS with p99 <= 20 ms (server)", "best offline throughput (batch 32)"
    price_per_hour: float | None
    price_source: str
    cost_per_million_usd: float | None
    label: str = "measured"


@dataclass
class BackendServing:
    """One backend's scenarios; `skipped` says why it did not run (e.g. torch.compile without a compiler)."""

    backend: str
    skipped: str | None = None
    single: SingleStream | None = None
    offline: Offline | None = None
    server: ServerProbe | None = None
    search: MaxQpsSearch | None = None
    cost: ServingCost | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class ServeSettings:
    """How the scenarios ran: dynamic batching, queries per probe, the load generator's seed, threads."""

    scenario: str
    max_batch: int
    max_delay_ms: float
    queries: int
    min_duration_s: float
    max_duration_s: float
    seed: int
    threads: int
    target_qps: float | None = None
    p99_budget_ms: float | None = None
    batch_sizes: list[int] = field(default_factory=list)


@record_kind("serve")
@dataclass
class ServeResult:
    """`benchbench serve --json` and the run's `serving` stage: one model's scenarios per backend."""

    model: str
    size: str
    device: str
    measured_on: str  # the device in words ("local CPU (x86_64, 1 threads)")
    settings: ServeSettings
    backends: list[BackendServing]
    env: dict[str, Any] = field(default_factory=dict)
    created_at: str = field(default_factory=now_iso)
