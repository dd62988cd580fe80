"""`serve --scenario llm`: goodput of a decoder, in this process or behind an OpenAI-compatible endpoint.

A probe offers `requests` Poisson arrivals at one rate (`serve.llm_workload`), served by continuous batching
(`serve.llm_server`) or streamed from an endpoint (`serve.openai_client`); it passes when at least the SLO's share
of its requests met both budgets and every request was answered. Goodput is the highest passing rate, found by
the server scenario's search (`serve.search.bracket_rate`: double or halve, bisect to the tolerance, check once
above). Measured cost: the device's price per hour over the goodput probe's tokens per second.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from benchbench.core.errors import BadInputError
from benchbench.estimate.cost import device_price
from benchbench.serve.decoder import Decoder
from benchbench.serve.energy import EnergyMeter
from benchbench.serve.llm_records import LlmCost, LlmProbe, LlmServeResult, Slo
from benchbench.serve.llm_server import serve_decoder
from benchbench.serve.llm_workload import Lengths, draw_requests
from benchbench.serve.scenarios import BUDGET_SPANS
from benchbench.serve.search import bracket_rate

MIN_REQUESTS = 20


@dataclass(frozen=True)
class LlmConfig:
    """What a probe asks for and how the search runs."""

    slo: Slo
    prompt: Lengths = field(default_factory=lambda: Lengths(32, 128))
    output: Lengths = field(default_factory=lambda: Lengths(16, 64))
    requests: int = 100
    max_batch: int = 8
    max_duration_s: float = 60.0
    max_probes: int = 10
    tolerance: float = 0.1
    qps: float | None = None  # one probe at this rate instead of the search
    seed: int = 0

    def __post_init__(self) -> None:
        if self.requests < MIN_REQUESTS:
            raise BadInputError(f"--requests must be at least {MIN_REQUESTS} per probe, got {self.requests}")
        if not 0 < self.slo.share <= 1:
            raise BadInputError(f"--goodput-share must be in (0, 1], got {self.slo.share}")
        if self.max_probes < 2:
            raise BadInputError(
                f"--max-probes must be >= 2 (a bracket needs two rates), got {self.max_probes}"
            )

    def probe_requests(self, rate: float) -> int:
        """`requests`, more when they would arrive within BUDGET_SPANS TTFT budgets: a probe of duration T can pass
        up to (1 + budget / T) × the sustainable rate, as in the server scenario."""
        return max(self.requests, math.ceil(rate * BUDGET_SPANS * self.slo.ttft_ms / 1e3))

    def settings(self) -> dict[str, Any]:
        return {**asdict(self), "prompt": self.prompt.describe(), "output": self.output.describe(),
                "arrivals": "Poisson, conditioned on the count (serve.loadgen), seeded",
                "batching": f"continuous, at most {self.max_batch} sequences per decode step"}  # fmt: skip


def decoder_start_rate(decoder: Decoder, cfg: LlmConfig) -> float:
    """Half of what full batches would sustain: max_batch / (mean output × one full step + max_batch × a prefill),
    each timed once on mean-length requests."""
    prompt = [1] * round(cfg.prompt.mean)
    t0 = time.perf_counter()
    seqs = [decoder.prefill(prompt) for _ in range(cfg.max_batch)]
    prefill_s = (time.perf_counter() - t0) / cfg.max_batch
    decoder.step(seqs)  # warm
    t0 = time.perf_counter()
    decoder.step(seqs)
    step_s = time.perf_counter() - t0
    per_request_s = cfg.output.mean * step_s / cfg.max_batch + prefill_s
    return 0.5 / max(per_request_s, 1e-6)


def _cost(probe: LlmProbe | None, device: str, measured_on: str, price: float | None) -> LlmCost:
    price_per_hour, source = (
        device_price(device, price) if device != "endpoint" else (price, "--price-per-hour")
    )
    if price_per_hour is None and device == "endpoint":
        source = "no price: pass --price-per-hour for the endpoint's device"
    tin = probe.input_tokens / probe.elapsed_s if probe and probe.elapsed_s > 0 else None
    tout = probe.output_tokens_per_s if probe else None

    def per_million(rate: float | None) -> float | None:
        return price_per_hour / (rate * 3600) * 1e6 if price_per_hour is not None and rate else None

    return LlmCost(measured_on, price_per_hour, source, tin, tout, per_million(tin), per_million(tout))


def run_llm(
    probe_at: Any, start_rate: float, cfg: LlmConfig, *, model: str, target: str, measured_on: str, device: str,
    price_per_hour: float | None = None,
) -> LlmServeResult:  # fmt: skip
    """One probe at `cfg.qps`, or the goodput search from `start_rate`; `probe_at(rate) -> LlmProbe`."""
    if cfg.qps is not None:
        p = probe_at(cfg.qps)
        probes, best, above, low, reason = [p], (p if p.within_budget else None), None, None, "one rate"
    else:
        min_rate = cfg.requests / (0.8 * cfg.max_duration_s)
        b = bracket_rate(
            probe_at, start_rate, max_probes=cfg.max_probes, tolerance=cfg.tolerance, min_rate=min_rate
        )
        probes, best, above, low, reason = b.probes, b.best, b.above, b.lowest_failing_qps, b.stop_reason
    return LlmServeResult(
        model=model, target=target, measured_on=measured_on, settings=cfg.settings(), slo=cfg.slo, probes=probes,
        goodput_qps=best.target_qps if best else None, at=best, above=above, lowest_failing_qps=low,
        stop_reason=reason, cost=_cost(best, device, measured_on, price_per_hour),
    )  # fmt: skip


def serve_llm_decoder(
    decoder: Decoder, cfg: LlmConfig, *, model: str, measured_on: str, device: str = "cpu",
    price_per_hour: float | None = None, meter_factory: Any = None,
) -> LlmServeResult:  # fmt: skip
    """Goodput of an in-process decoder."""
    if decoder.max_positions is not None and cfg.prompt.hi + cfg.output.hi > decoder.max_positions:
        raise BadInputError(f"prompt {cfg.prompt.hi} + output {cfg.output.hi} tokens exceed the model's "
                            f"{decoder.max_positions} positions; give shorter --prompt-tokens/--output-tokens")  # fmt: skip

    def probe_at(rate: float) -> LlmProbe:
        reqs = draw_requests(
            cfg.probe_requests(rate), rate, cfg.prompt, cfg.output, decoder.vocab_size, cfg.seed
        )
        meter: EnergyMeter | None = meter_factory() if meter_factory else None
        return serve_decoder(decoder, reqs, rate, cfg.slo, max_batch=cfg.max_batch,
                             max_duration_s=cfg.max_duration_s, meter=meter)  # fmt: skip

    return run_llm(probe_at, decoder_start_rate(decoder, cfg), cfg, model=model,
                   target=f"in-process {type(decoder).__name__}", measured_on=measured_on, device=device,
                   price_per_hour=price_per_hour)  # fmt: skip
