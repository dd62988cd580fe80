"""The records of the LLM serving scenario: per request, per probe (one arrival rate), and the goodput search.

A request's TTFT runs from its scheduled arrival to its first token (queueing and prefill included); its TPOT is
(last token − first token) / (output tokens − 1), the mean gap between its later tokens; inter-token latencies
are every such gap. A request meets the SLO when its TTFT ≤ the TTFT budget and its TPOT ≤ the TPOT budget (a
one-token output has no TPOT and meets that half). Goodput (DistServe, Zhong et al., OSDI 2024) is the highest
arrival rate at which at least `goodput_share` of the requests meet the SLO.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from benchbench.serve.records import EndToEndLatency


@dataclass
class RequestRecord:
    """One request: when it was due, when its tokens came (perf_counter seconds), what it asked for."""

    due: float
    prompt_tokens: int
    output_tokens: int  # asked for
    token_times: list[float] = field(default_factory=list)
    error: str | None = None
    server_tokens: int | None = None  # an endpoint's own count (usage.completion_tokens), when it sends one

    @property
    def done(self) -> bool:
        return self.error is None and len(self.token_times) >= self.output_tokens

    @property
    def ttft_ms(self) -> float | None:
        return (self.token_times[0] - self.due) * 1e3 if self.token_times else None

    @property
    def tpot_ms(self) -> float | None:
        n = len(self.token_times)
        return (self.token_times[-1] - self.token_times[0]) / (n - 1) * 1e3 if n > 1 else None

    def gaps_ms(self) -> list[float]:
        t = self.token_times
        return [(b - a) * 1e3 for a, b in itertools.pairwise(t)]


@dataclass(frozen=True)
class Slo:
    """The service-level objective a request must meet, and the share of requests that must meet it."""

    ttft_ms: float
    tpot_ms: float
    share: float = 0.9

    def met(self, r: RequestRecord) -> bool:
        if not r.done:
            return False
        tpot = r.tpot_ms
        return (r.ttft_ms or 0.0) <= self.ttft_ms and (tpot is None or tpot <= self.tpot_ms)


@dataclass
class Energy:
    """Energy over a probe from a hardware counter; `joules` None with the reason when there is none."""

    source: str  # "nvml", "rapl", or "not measured: <why>"
    joules: float | None = None
    joules_per_output_token: float | None = None
    joules_per_request: float | None = None


@dataclass
class LlmProbe:
    """Poisson arrivals at `target_qps` requests per second, `requests` of them, served to the end or a cap."""

    target_qps: float
    requests: int
    answered: int
    ttft: EndToEndLatency | None
    tpot: EndToEndLatency | None  # per request
    itl: EndToEndLatency | None  # every inter-token gap
    slo_share: float  # share of the requests (unanswered count as missing) that met the SLO
    within_budget: bool | None  # slo_share >= the SLO's share and every request answered
    input_tokens: int
    output_tokens: int
    output_tokens_per_s: float
    requests_per_s: float
    mean_batch: float  # sequences per decode step (0 for an endpoint: the server batches)
    elapsed_s: float
    stop_reason: str  # "done", "over_budget" (too many missed to reach the share), "time_cap"
    errors: dict[str, int] = field(default_factory=dict)
    energy: Energy | None = None


@dataclass
class LlmCost:
    """Measured $ per 1M tokens at the goodput rate on the device measured: price / (tokens per s × 3600) × 1e6."""

    device: str
    price_per_hour: float | None
    price_source: str
    input_tokens_per_s: float | None
    output_tokens_per_s: float | None
    usd_per_million_input: float | None  # all of the device's time charged to input, then to output
    usd_per_million_output: float | None


@dataclass
class LlmServeResult:
    """`benchbench serve --scenario llm`: the settings, every probe, the goodput found, its cost."""

    model: str
    target: str  # "in-process decoder (...)" or the endpoint URL
    measured_on: str
    settings: dict[str, Any]
    slo: Slo
    probes: list[LlmProbe]
    goodput_qps: float | None
    at: LlmProbe | None
    above: LlmProbe | None
    lowest_failing_qps: float | None
    stop_reason: str
    cost: LlmCost | None = None
    notes: list[str] = field(default_factory=list)
    kind: str = "llm_serve"
