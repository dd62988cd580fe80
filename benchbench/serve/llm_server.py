"""Continuous (iteration-level) batching of a `Decoder`, fed Poisson arrivals in real time; one probe's summary.

The loop runs in the calling thread while `serve.loadgen`'s generator thread issues requests at their scheduled
times. Each iteration, in the manner of Orca (Yu et al., OSDI 2022) and vLLM's scheduler without chunked prefill:
1. admit waiting requests while fewer than `max_batch` sequences run, prefilling each (its first token);
2. run one decode step over every running sequence together, one token each;
3. retire the sequences that have their output length, so a waiting request takes the freed slot at once.
A request's times are read from `time.perf_counter` when its token exists; its TTFT counts from its scheduled
arrival, so a late generator or a queue counts against the server. The probe stops when every request is done,
when so many have missed the SLO that the share can no longer be met ("over_budget"), or at the time cap.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections import deque

import numpy as np

from benchbench.serve.decoder import Decoder, Sequence
from benchbench.serve.energy import EnergyMeter
from benchbench.serve.llm_records import Energy, LlmProbe, RequestRecord, Slo
from benchbench.serve.llm_workload import Request
from benchbench.serve.loadgen import LoadGenerator
from benchbench.serve.records import EndToEndLatency
from benchbench.serve.server import LEAD_S


def _dist(values: list[float]) -> EndToEndLatency | None:
    return EndToEndLatency.from_samples(values) if values else None


def summarize(records: list[RequestRecord], rate: float, slo: Slo, *, elapsed_s: float, stop_reason: str,
              mean_batch: float = 0.0, energy: Energy | None = None) -> LlmProbe:  # fmt: skip
    """The probe's distributions, SLO share, token counts and rates from its request records."""
    done = [r for r in records if r.done]
    met = sum(slo.met(r) for r in records)
    share = met / len(records) if records else 0.0
    out_tokens = sum(len(r.token_times) for r in records)
    errors: dict[str, int] = {}
    for r in records:
        if r.error:
            errors[r.error] = errors.get(r.error, 0) + 1
    if energy is not None and energy.joules is not None:
        energy.joules_per_output_token = energy.joules / out_tokens if out_tokens else None
        energy.joules_per_request = energy.joules / len(done) if done else None
    return LlmProbe(
        target_qps=rate, requests=len(records), answered=len(done),
        ttft=_dist([r.ttft_ms for r in records if r.ttft_ms is not None]),
        tpot=_dist([r.tpot_ms for r in done if r.tpot_ms is not None]),
        itl=_dist([g for r in records for g in r.gaps_ms()]), slo_share=share,
        within_budget=stop_reason == "done" and len(done) == len(records) and share >= slo.share,
        input_tokens=sum(r.prompt_tokens for r in done), output_tokens=out_tokens,
        output_tokens_per_s=out_tokens / elapsed_s if elapsed_s > 0 else 0.0,
        requests_per_s=len(done) / elapsed_s if elapsed_s > 0 else 0.0, mean_batch=mean_batch,
        elapsed_s=elapsed_s, stop_reason=stop_reason, errors=errors, energy=energy,
    )  # fmt: skip


def allowed_misses(n: int, share: float) -> int:
    """How many of `n` requests may miss the SLO while `share` of them can still meet it."""
    return n - math.ceil(share * n - 1e-9)


class _Batch:
    """The running sequences and their records; admits, steps and retires."""

    def __init__(self, decoder: Decoder, requests: list[Request], records: list[RequestRecord]) -> None:
        self.decoder, self.requests, self.records = decoder, requests, records
        self.running: list[tuple[int, Sequence]] = []
        self.finished = 0

    def admit(self, i: int) -> None:
        seq = self.decoder.prefill(self.requests[i].prompt)
        self.records[i].token_times.append(time.perf_counter())
        self._keep_or_retire(i, seq)

    def _keep_or_retire(self, i: int, seq: Sequence) -> None:
        if seq.generated >= self.requests[i].output_tokens:
            self.finished += 1
        else:
            self.running.append((i, seq))

    def step(self) -> None:
        batch, self.running = self.running, []
        self.decoder.step([s for _, s in batch])
        now = time.perf_counter()
        for i, seq in batch:
            self.records[i].token_times.append(now)
            self._keep_or_retire(i, seq)


def serve_decoder(
    decoder: Decoder, requests: list[Request], rate: float, slo: Slo, *, max_batch: int = 8,
    max_duration_s: float = 60.0, meter: EnergyMeter | None = None,
) -> LlmProbe:  # fmt: skip
    """One probe: `requests` (offsets already at `rate`) served with continuous batching of at most `max_batch`."""
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    stop = threading.Event()
    clock = time.perf_counter
    start = clock() + LEAD_S
    offsets = np.array([r.offset_s for r in requests])
    records = [RequestRecord(start + r.offset_s, len(r.prompt), r.output_tokens) for r in requests]
    gen = LoadGenerator(start, offsets, inbox, stop)
    waiting: deque[int] = deque()
    batch = _Batch(decoder, requests, records)
    sizes: list[int] = []
    misses_allowed, reason = allowed_misses(len(requests), slo.share), "done"
    if meter is not None:
        meter.start()
    gen.start()
    try:
        while batch.finished < len(requests):
            if clock() - start > max_duration_s:
                reason = "time_cap"
                break
            if not _drain(inbox, waiting, block=not batch.running and not waiting):
                continue
            while waiting and len(batch.running) < max_batch:
                batch.admit(waiting.popleft())
            if batch.running:
                sizes.append(len(batch.running))
                batch.step()
            if _missed(records, slo, clock()) > misses_allowed:
                reason = "over_budget"
                break
    finally:
        stop.set()
        gen.join(timeout=5.0)
    elapsed = clock() - start
    energy = meter.stop() if meter is not None else None
    return summarize(records, rate, slo, elapsed_s=elapsed, stop_reason=reason,
                     mean_batch=float(np.mean(sizes)) if sizes else 0.0, energy=energy)  # fmt: skip


def _drain(inbox: queue.SimpleQueue, waiting: deque[int], *, block: bool) -> bool:
    """Move every issued request to `waiting`; with `block`, wait up to 50 ms for one. False if none came."""
    if block:
        try:
            waiting.append(inbox.get(timeout=0.05)[0])
        except queue.Empty:
            return False
    while True:
        try:
            waiting.append(inbox.get_nowait()[0])
        except queue.Empty:
            return True


def _missed(records: list[RequestRecord], slo: Slo, now: float) -> int:
    """Requests already sure to miss: no first token within the TTFT budget, or finished over the TPOT budget."""
    n = 0
    for r in records:
        if now < r.due:
            continue
        first = r.token_times[0] if r.token_times else now
        late = (first - r.due) * 1e3 > slo.ttft_ms
        slow = r.done and len(r.token_times) > 1 and (r.tpot_ms or 0.0) > slo.tpot_ms
        n += late or slow
    return n
