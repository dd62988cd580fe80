"""The server loop: dynamic batching of queued queries, bounded in time and in query count.

The loop takes the oldest waiting query, then keeps collecting until the batch holds `max_batch` queries or the
oldest has waited `max_delay_ms` (a batching window, as inference servers offer: Triton's
`max_queue_delay_microseconds`, TorchServe's `max_batch_delay`), runs the batch, and stamps every query of it
answered. It runs in the calling thread; the load generator (`serve.loadgen`) in another. It stops by itself:
when every query is answered; when so many answers already exceed the p99 budget that the probe's p99 cannot meet
it whatever comes next ("over_budget"); or at `max_duration_s` ("time_cap"). Queries issued but not answered
then enter the percentiles with the time they had waited (lower bounds).
"""

from __future__ import annotations

import math
import queue
import sys
import threading
import time
from dataclasses import dataclass

import numpy as np

from benchbench.core.stats import percentile
from benchbench.serve.backends import Runner
from benchbench.serve.loadgen import LoadGenerator, poisson_offsets
from benchbench.serve.records import EndToEndLatency, ServerProbe

LEAD_S = 0.02  # the schedule starts this long after the generator thread, so that its first query is on time
# While a probe runs, a thread waiting for the GIL asks for it after this long (Python's default is 5 ms, which
# would make the load generator up to 5 ms late whenever the model's Python code holds the GIL).
SWITCH_INTERVAL_S = 0.0002


@dataclass(frozen=True)
class Batching:
    """Dynamic batching: at most `max_batch` queries per batch, the oldest waiting at most `max_delay_ms`."""

    max_batch: int = 8
    max_delay_ms: float = 2.0

    def __post_init__(self) -> None:
        if self.max_batch < 1 or not (math.isfinite(self.max_delay_ms) and self.max_delay_ms >= 0):
            raise ValueError(f"bad batching {self}: need max_batch >= 1 and a finite max_delay_ms >= 0")


def must_fail_count(n: int, q: float = 0.99) -> int:
    """How many of `n` latencies above a bound make the q-percentile (linear interpolation) exceed it for sure:
    the percentile lies at or above the sorted value at floor((n - 1)·q), which is over the bound once that many
    values are."""
    return n - math.floor((n - 1) * q)


def serve_poisson(
    runner: Runner,
    payloads: list,
    *,
    rate: float,
    queries: int,
    batching: Batching,
    budget_ms: float | None = None,
    max_duration_s: float = 30.0,
    seed: int = 0,
) -> ServerProbe:
    """Serve `queries` Poisson arrivals at `rate` per second (query i carries payload i mod len(payloads))."""
    offsets = poisson_offsets(rate, queries, seed)
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    stop = threading.Event()
    clock = time.perf_counter
    start = clock() + LEAD_S
    gen = LoadGenerator(start, offsets, inbox, stop)
    latency_ms: list[float] = []
    waited_ms: list[float] = []
    batches: list[int] = []
    fail_at = must_fail_count(queries) if budget_ms is not None else None
    over = 0
    pending: list[tuple[int, float]] = []
    reason = "done"
    max_delay = batching.max_delay_ms / 1e3
    switch = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    gen.start()
    try:
        while len(latency_ms) < queries:
            if clock() - start > max_duration_s:
                reason = "time_cap"
                break
            if not pending:
                try:
                    pending.append(inbox.get(timeout=0.05))
                except queue.Empty:
                    continue
            deadline = pending[0][1] + max_delay
            while len(pending) < batching.max_batch:
                try:
                    pending.append(inbox.get_nowait())
                    continue
                except queue.Empty:
                    pass
                wait = deadline - clock()
                if wait <= 0:
                    break
                try:
                    pending.append(inbox.get(timeout=wait))
                except queue.Empty:
                    break
            batch, pending = pending[: batching.max_batch], pending[batching.max_batch :]
            began = clock()
            runner.run(runner.stack([payloads[i % len(payloads)] for i, _ in batch]))
            done = clock()
            batches.append(len(batch))
            for _, due in batch:
                ms = (done - due) * 1e3
                latency_ms.append(ms)
                waited_ms.append((began - due) * 1e3)
                if budget_ms is not None and ms > budget_ms:
                    over += 1
            if fail_at is not None and over >= fail_at:
                reason = "over_budget"
                break
    finally:
        stop.set()
        gen.join(timeout=5.0)
        sys.setswitchinterval(switch)
    ended = clock()
    while True:  # issued, never answered: they count with the time they waited so far
        try:
            pending.append(inbox.get_nowait())
        except queue.Empty:
            break
    answered = len(latency_ms)
    censored = [(ended - due) * 1e3 for _, due in pending]
    every = latency_ms + censored
    if not every:  # stopped before the first arrival: nothing was measured, and nothing is made up
        raise RuntimeError(f"the probe at {rate:g} QPS stopped ({reason}) before any query was issued")
    lat = EndToEndLatency.from_samples(every)
    first = start + float(offsets[0])
    achieved = float(answered / max(ended - first, 1e-9)) if answered else 0.0
    within = None if budget_ms is None else (reason == "done" and lat.p99_ms <= budget_ms)
    return ServerProbe(
        target_qps=rate, queries=queries, answered=answered, unanswered=len(censored), latency=lat,
        achieved_qps=achieved, mean_batch=float(np.mean(batches)) if batches else 0.0,
        queue_p99_ms=percentile(sorted(waited_ms), 99) if waited_ms else 0.0,
        issue_lag_p99_ms=percentile(sorted(gen.lag_ms), 99) if gen.lag_ms else 0.0,
        elapsed_s=ended - start, stop_reason=reason, budget_ms=budget_ms, within_budget=within,
    )  # fmt: skip
