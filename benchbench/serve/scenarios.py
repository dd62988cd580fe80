"""The three scenarios, per backend, and the max-QPS search, assembled into a `ServeResult`.

- single: one query at a time, the next issued when the previous is answered; the p90 with its 95% CI. At least
  `SINGLE_MIN_QUERIES` = 36 queries (the fewest whose largest latency bounds the p90 from above at 97.5%).
- offline: whole batches back to back at each batch size that fits in the memory free now (weights + batch ×
  the per-sample peak of one forward pass at batch 1, against 90% of the free memory); throughput =
  batch × 1000 / p50, the best batch the one with the largest.
- server: Poisson arrivals at `--qps` with dynamic batching (`serve.server`), or with `find_max_qps` the highest
  rate within the p99 budget (`serve.search`).

Every backend serves the same queries: `POOL` distinct batch-1 samples from the model's input maker (another
seed than export's), cycled.
"""

from __future__ import annotations

import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from benchbench.core.device import available_memory_bytes
from benchbench.core.errors import BadInputError, one_line
from benchbench.core.stats import min_samples_for_quantile_ci
from benchbench.measure.memory import forward_bytes
from benchbench.measure.timing import TimingConfig, measure
from benchbench.serve.backends import BackendSkipped, Runner, make_runner
from benchbench.serve.records import (
    BackendServing,
    EndToEndLatency,
    Offline,
    OfflinePoint,
    ServeResult,
    ServeSettings,
    SingleStream,
)
from benchbench.serve.search import MIN_QUERIES, find_max_qps
from benchbench.serve.server import Batching, serve_poisson
from benchbench.sources.target import Target

SCENARIOS = ("single", "offline", "server")
POOL = 32
SINGLE_MIN_QUERIES = min_samples_for_quantile_ci(0.90)  # 36
USABLE_FREE_MEMORY = 0.9
OFFLINE_TIMING = TimingConfig(warmup=2, min_repeats=8, max_repeats=500, min_time_s=0.3, max_time_s=2.0)
DEFAULT_OFFLINE_BATCHES = (1, 2, 4, 8, 16, 32, 64)
BUDGET_SPANS = (
    20  # a probe issues for at least this many p99 budgets: it then passes at most 5% above capacity
)
ISSUE_SHARE = 0.8  # of a probe's time cap, for issuing; the rest is for answering what is queued


@dataclass(frozen=True)
class ServeConfig:
    """What to run and for how long; `queries` is per probe (server) or the single-stream count."""

    scenario: str = "server"
    batching: Batching = field(default_factory=Batching)
    queries: int = 1024
    min_duration_s: float = 1.0
    max_duration_s: float = 30.0
    qps: float | None = None  # server at one rate
    p99_budget_ms: float | None = None  # with find_max: the search's budget
    find_max: bool = False
    max_probes: int = 12
    tolerance: float = 0.05
    batch_sizes: tuple[int, ...] = DEFAULT_OFFLINE_BATCHES
    offline_timing: TimingConfig = OFFLINE_TIMING
    seed: int = 0
    threads: int = 1

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIOS:
            raise BadInputError(f"unknown scenario {self.scenario!r}; allowed: {', '.join(SCENARIOS)}")
        if self.scenario == "server":
            if self.find_max and self.p99_budget_ms is None:
                raise BadInputError("--find-max-qps needs --p99-ms, the p99 latency budget in ms")
            if not self.find_max and self.qps is None:
                raise BadInputError("--scenario server needs --qps RATE, or --find-max-qps --p99-ms BUDGET")
            if self.queries < MIN_QUERIES:
                raise BadInputError(f"--queries {self.queries} is too few for a p99: a server probe needs at least "
                                    f"{MIN_QUERIES} (the fewest whose largest latency bounds the p99 at 97.5%)")  # fmt: skip
        elif self.find_max:
            raise BadInputError(f"--find-max-qps applies to --scenario server, not {self.scenario}")
        if self.scenario == "single" and self.queries < SINGLE_MIN_QUERIES:
            raise BadInputError(
                f"--queries {self.queries} is too few for a p90: single stream needs at least {SINGLE_MIN_QUERIES}"
            )
        for name in ("min_duration_s", "max_duration_s"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise BadInputError(f"{name} must be a finite number > 0, got {v}")
        if self.min_duration_s > self.max_duration_s:
            raise BadInputError(
                f"min duration {self.min_duration_s} s exceeds max duration {self.max_duration_s} s"
            )

    def probe_span_s(self) -> float:
        """How long a probe issues queries: `min_duration_s`, and at least BUDGET_SPANS p99 budgets (a probe of
        duration T passes up to (1 + budget / T) × the sustainable rate), within ISSUE_SHARE of the time cap."""
        budget_s = (self.p99_budget_ms or 0.0) / 1e3
        return min(max(self.min_duration_s, BUDGET_SPANS * budget_s), ISSUE_SHARE * self.max_duration_s)

    def probe_queries(self, rate: float) -> int:
        """Queries of a probe at `rate`: `queries`, more if they arrive faster than `probe_span_s`. A probe whose
        arrivals alone would outlast ISSUE_SHARE of `max_duration_s` is refused (it could end only at the cap)."""
        n = max(self.queries, math.ceil(rate * self.probe_span_s()))
        if n / rate > ISSUE_SHARE * self.max_duration_s:
            raise BadInputError(f"a probe at {rate:.3g} QPS needs {n} queries over {n / rate:.0f} s, more than "
                                f"--max-duration-s {self.max_duration_s:g}; raise it (a slow model needs long probes)")  # fmt: skip
        return n


def default_threads() -> int:
    """Intra-op threads for serving: the CPU count less one, leaving a core to the load generator and the batcher
    (which share the machine with the model; oversubscribed OpenMP threads spin and stall)."""
    import os

    return max(1, (os.cpu_count() or 1) - 1)


def query_pool(target: Target, n: int = POOL) -> list[tuple]:
    """`n` distinct batch-1 queries from the target's inputs at batch n (seeded apart from export's inputs)."""
    if target.input_maker is None:
        return [target.inputs]
    torch.manual_seed(4242)
    batch = target.input_maker(n, target.seq_len)
    return [
        tuple(x[i : i + 1] if isinstance(x, torch.Tensor) and x.dim() else x for x in batch) for i in range(n)
    ]


def single_stream(runner: Runner, payloads: list, queries: int, max_duration_s: float) -> SingleStream:
    """One query at a time: until `queries` are answered or `max_duration_s` (but at least SINGLE_MIN_QUERIES)."""
    for p in payloads[:3]:
        runner.run(runner.stack([p]))
    clock, samples = time.perf_counter, []
    start = clock()
    while len(samples) < queries and (clock() - start < max_duration_s or len(samples) < SINGLE_MIN_QUERIES):
        t0 = clock()
        runner.run(runner.stack([payloads[len(samples) % len(payloads)]]))
        samples.append((clock() - t0) * 1e3)
    return SingleStream(EndToEndLatency.from_samples(samples), clock() - start)


def offline(runner: Runner, target: Target, batch_sizes: tuple[int, ...], device: str,
            timing: TimingConfig = OFFLINE_TIMING) -> Offline:  # fmt: skip
    """Throughput at each batch size that fits in memory; the best batch is the one with the largest."""
    free = available_memory_bytes(device)
    skipped: dict[str, str] = {}
    try:
        weights, per_sample = forward_bytes(
            target.model.eval(),
            target.input_maker(1, target.seq_len) if target.input_maker else target.inputs,
        )
    except Exception as exc:  # the fit check is a guard; without it the batches still run
        weights, per_sample = 0, 0
        skipped["fit"] = f"memory per sample not measured ({one_line(exc)})"
    points = []
    pool = query_pool(target, max(batch_sizes))
    payloads = [runner.prepare(q) for q in pool]
    for b in sorted(set(batch_sizes)):
        need = weights + per_sample * b
        if free and b > 1 and need > USABLE_FREE_MEMORY * free:
            skipped[str(b)] = (
                f"needs about {need / 2**30:.2f} GiB, more than 90% of the {free / 2**30:.2f} GiB free"
            )
            continue
        if b > len(payloads):
            skipped[str(b)] = "the model's inputs come at one batch size only"
            continue
        batch = runner.stack(payloads[:b])
        stats = measure(
            lambda batch=batch: runner.run(batch), batch_size=b, config=OFFLINE_TIMING
        ).without_samples()
        thr = b * 1000.0 / stats.p50_ms
        ci = (
            [b * 1000.0 / stats.ci95_ms[1], b * 1000.0 / stats.ci95_ms[0]]
            if stats.ci95_ms and stats.ci95_ms[0] > 0
            else None
        )
        points.append(OfflinePoint(b, stats, thr, ci))
    if not points:
        raise BadInputError(f"no offline batch size fits in memory: {skipped}")
    best = max(points, key=lambda p: p.throughput_per_s)
    return Offline(points, best.batch_size, best.throughput_per_s, skipped)


def start_rate(runner: Runner, payloads: list, max_batch: int) -> float:
    """Where the bracket starts: half the rate that full batches back to back would sustain
    (max_batch × 1000 / median ms of a full batch, over a few batches)."""
    batch = runner.stack([payloads[i % len(payloads)] for i in range(max_batch)])
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        runner.run(batch)
        times.append(time.perf_counter() - t0)
    times.sort()
    return 0.5 * max_batch / max(times[len(times) // 2], 1e-6)


def serve_backend(name: str, target: Target, cfg: ServeConfig, work_dir: Path, device: str) -> BackendServing:
    """One backend through the configured scenario; skipped with the reason where it does not run."""
    out = BackendServing(backend=name)
    try:
        runner = make_runner(name, target, work_dir, cfg.threads)
    except BackendSkipped as exc:
        out.skipped = str(exc)
        return out
    out.notes.extend(runner.notes)
    payloads = [runner.prepare(q) for q in query_pool(target)]
    for b in range(1, cfg.batching.max_batch + 1):  # warm up (and compile) every batch the server may form
        runner.run(runner.stack([payloads[i % len(payloads)] for i in range(b)]))
    if cfg.scenario == "single":
        out.single = single_stream(runner, payloads, cfg.queries, cfg.max_duration_s)
    elif cfg.scenario == "offline":
        out.offline = offline(runner, target, cfg.batch_sizes, device, cfg.offline_timing)
    elif cfg.find_max:
        assert cfg.p99_budget_ms is not None

        def probe(rate: float):
            return serve_poisson(runner, payloads, rate=rate, queries=cfg.probe_queries(rate), batching=cfg.batching,
                                 budget_ms=cfg.p99_budget_ms, max_duration_s=cfg.max_duration_s, seed=cfg.seed)  # fmt: skip

        out.search = find_max_qps(probe, start_rate(runner, payloads, cfg.batching.max_batch), cfg.p99_budget_ms, max_probes=cfg.max_probes,
                                  tolerance=cfg.tolerance, min_rate=cfg.queries / (ISSUE_SHARE * cfg.max_duration_s))  # fmt: skip
    else:
        assert cfg.qps is not None
        out.server = serve_poisson(runner, payloads, rate=cfg.qps, queries=cfg.probe_queries(cfg.qps), batching=cfg.batching,
                                   budget_ms=cfg.p99_budget_ms, max_duration_s=cfg.max_duration_s, seed=cfg.seed)  # fmt: skip
    return out


def measured_on(device: str, threads: int) -> str:
    """The device in words: the GPU's name, or the local CPU with the threads the model ran on."""
    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    import platform

    return f"local CPU ({platform.processor() or platform.machine()}, {threads} threads)"


def serve_target(target: Target, backends: list[str], cfg: ServeConfig, *, device: str = "cpu",
                 work_dir: str | Path | None = None) -> ServeResult:  # fmt: skip
    """Every backend through `cfg`'s scenario, on `cfg.threads` intra-op threads."""
    previous = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    try:
        with tempfile.TemporaryDirectory(prefix="benchbench-serve-") as tmp:
            folder = Path(work_dir) if work_dir is not None else Path(tmp)
            results = [serve_backend(b, target, cfg, folder / b, device) for b in backends]
    finally:
        torch.set_num_threads(previous)
    settings = ServeSettings(
        scenario=cfg.scenario, max_batch=cfg.batching.max_batch, max_delay_ms=cfg.batching.max_delay_ms,
        queries=cfg.queries, min_duration_s=cfg.min_duration_s, max_duration_s=cfg.max_duration_s, seed=cfg.seed,
        threads=cfg.threads, target_qps=cfg.qps, p99_budget_ms=cfg.p99_budget_ms, batch_sizes=list(cfg.batch_sizes),
    )  # fmt: skip
    return ServeResult(model=target.name, size=target.size, device=device, measured_on=measured_on(device, cfg.threads),
                       settings=settings, backends=results)  # fmt: skip
