"""An LLM serving result in lines for people: each probe's TTFT, TPOT and SLO share, the goodput, its cost."""

from __future__ import annotations

from benchbench.serve.llm_records import LlmProbe, LlmServeResult
from benchbench.serve.records import EndToEndLatency


def _dist(name: str, d: EndToEndLatency | None) -> str:
    return (
        f"{name} —"
        if d is None
        else f"{name} p50 {d.p50_ms:.3g} / p90 {d.p90_ms:.3g} / p99 {d.p99_ms:.3g} ms"
    )


def probe_line(p: LlmProbe) -> str:
    verdict = "meets the SLO" if p.within_budget else "misses the SLO"
    energy = ""
    if p.energy is not None:
        e = p.energy
        energy = (f"; energy {e.joules:.3g} J, {e.joules_per_output_token:.3g} J/token ({e.source})"
                  if e.joules is not None and e.joules_per_output_token is not None else f"; energy {e.source}")  # fmt: skip
    return (f"{p.target_qps:,.2f} req/s offered: {p.answered}/{p.requests} answered, {_dist('TTFT', p.ttft)}, "
            f"{_dist('TPOT', p.tpot)}, {_dist('ITL', p.itl)}; {p.slo_share:.0%} within SLO, {verdict}; "
            f"{p.output_tokens_per_s:,.1f} output tok/s, mean batch {p.mean_batch:.2f}, stop {p.stop_reason}"
            f"{energy}")  # fmt: skip


def llm_lines(r: LlmServeResult) -> list[str]:
    s, slo = r.settings, r.slo
    lines = [f"{r.model} LLM serving ({r.target}), measured on {r.measured_on}: prompts {s['prompt']} tokens, "
             f"outputs {s['output']} tokens, {s['requests']} requests per probe, {s['batching']}; SLO TTFT <= "
             f"{slo.ttft_ms:g} ms and TPOT <= {slo.tpot_ms:g} ms for {slo.share:.0%} of requests"]  # fmt: skip
    lines += [f"  probe {i}: {probe_line(p)}" for i, p in enumerate(r.probes, 1)]
    if r.above is not None:
        lines.append(f"  check: {probe_line(r.above)}")
        if r.above.within_budget:
            lines.append("  knee NOT bracketed: the check above the goodput met the SLO too (noise near the knee, "
                         "or budgets the machine meets at any rate it reaches); the goodput is a lower bound")  # fmt: skip
    if r.goodput_qps is None:
        lines.append(f"  goodput: none found ({r.stop_reason})")
    else:
        lines.append(f"  goodput: {r.goodput_qps:,.2f} requests/s (search {r.stop_reason}; lowest failing rate "
                     f"{'—' if r.lowest_failing_qps is None else f'{r.lowest_failing_qps:,.2f}'})")  # fmt: skip
    c = r.cost
    if c is not None:
        if c.usd_per_million_output is None:
            lines.append(f"  cost, measured on {c.device}: {c.price_source}")
        else:
            lines.append(f"  cost, measured on {c.device} at ${c.price_per_hour:g}/h ({c.price_source}): "
                         f"${c.usd_per_million_input:,.4g} per 1M input tokens, ${c.usd_per_million_output:,.4g} per "
                         "1M output tokens (the device's whole time charged to each)")  # fmt: skip
    return lines
