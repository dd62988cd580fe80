"""Repeated requests into per-token figures: TTFT, TPOT (overall and by context position), tokens/s, end-to-end
latency, each a median with its 95% CI and sample count, and the peak memory of one request."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from benchbench.core.stats import median_ci_ranks, percentile
from benchbench.generate.decoder import Decoder, cache_bytes
from benchbench.generate.records import Estimate, GenerationPoint, PositionTPOT
from benchbench.generate.request import RequestTrace, run_request, synchronizer

POSITION_BINS = 4  # TPOT is reported for this many equal spans of context positions


def estimate(values: Sequence[float], unit: str, scale: float = 1.0) -> Estimate:
    """Median and 95% CI of `values` × scale."""
    s = sorted(v * scale for v in values)
    lo, hi, coverage = median_ci_ranks(len(s))
    return Estimate(percentile(s, 50), [s[lo], s[hi]], len(s), unit, round(coverage, 4))


def rate(latency: Estimate, items: int, unit: str) -> Estimate:
    """items per second from a latency in ms: a monotone map, so the median's CI maps to the rate's (swapped)."""
    lo, hi = latency.ci95
    return Estimate(1e3 * items / latency.median, [1e3 * items / hi, 1e3 * items / lo], latency.n, unit,
                    latency.coverage)  # fmt: skip


def random_prompt(vocab: int, batch_size: int, prompt_len: int, seed: int, device: str) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab, (batch_size, prompt_len), generator=g).to(device)


def peak_request_bytes(decoder: Decoder, prompt: torch.Tensor, gen_len: int) -> tuple[int, str]:
    """Peak bytes of one request beyond the weights: CUDA's allocator peak, or on the CPU the live tensor storages
    created while it runs (measure.memory's tracker)."""
    if prompt.device.type == "cuda":
        torch.cuda.synchronize(prompt.device)
        base = torch.cuda.memory_allocated(prompt.device)
        torch.cuda.reset_peak_memory_stats(prompt.device)
        run_request(decoder, prompt, gen_len)
        return torch.cuda.max_memory_allocated(
            prompt.device
        ) - base, "torch.cuda.max_memory_allocated above the weights"
    from benchbench.measure.memory import LiveBytesTracker

    with LiveBytesTracker() as tracker:
        run_request(decoder, prompt, gen_len)
    return tracker.peak, "peak of live tensor storages created during one request (CPU, dispatch tracker)"


def _by_position(traces: list[RequestTrace]) -> list[PositionTPOT]:
    steps = [(ctx, dt) for tr in traces for ctx, dt in zip(tr.contexts[1:], tr.tpot_s)]
    if not steps:
        return []
    first, last = min(c for c, _ in steps), max(c for c, _ in steps) + 1
    width = max(1, -(-(last - first) // POSITION_BINS))
    out = []
    for start in range(first, last, width):
        inside = [dt for c, dt in steps if start <= c < start + width]
        if inside:
            out.append(PositionTPOT(start, min(start + width, last), estimate(inside, "ms", 1e3)))
    return out


def measure_point(
    decoder: Decoder, *, backend: str, batch_size: int, prompt_len: int, gen_len: int, repeats: int,
    device: str, seed: int = 0, memory: bool = True,
) -> GenerationPoint:  # fmt: skip
    """`repeats` timed requests (after one warm-up) of a fresh random prompt each."""
    sync = synchronizer(device)
    run_request(
        decoder, random_prompt(decoder.vocab_size, batch_size, prompt_len, seed, device), gen_len, sync=sync
    )
    traces = [
        run_request(
            decoder,
            random_prompt(decoder.vocab_size, batch_size, prompt_len, seed + 1 + i, device),
            gen_len,
            sync=sync,
        )
        for i in range(repeats)
    ]
    ttft = estimate([t.ttft_s for t in traces], "ms", 1e3)
    steps = [dt for t in traces for dt in t.tpot_s]
    tpot = estimate(steps, "ms", 1e3) if steps else None
    peak, method = (None, "not measured")
    if memory:
        peak, method = peak_request_bytes(
            decoder, random_prompt(decoder.vocab_size, batch_size, prompt_len, seed, device), gen_len
        )
    return GenerationPoint(
        backend=backend, batch_size=batch_size, prompt_len=prompt_len, gen_len=gen_len, repeats=repeats,
        ttft_ms=ttft, tpot_ms=tpot, e2e_ms=estimate([t.e2e_s for t in traces], "ms", 1e3),
        prefill_tokens_per_s=rate(ttft, batch_size * prompt_len, "tokens/s"),
        decode_tokens_per_s=rate(tpot, batch_size, "tokens/s") if tpot else None,
        tpot_by_position=_by_position(traces), peak_bytes=peak, peak_memory_method=method,
        cache_bytes_end=cache_bytes(traces[-1].cache),
    )  # fmt: skip
